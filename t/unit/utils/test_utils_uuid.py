from __future__ import annotations

import uuid as stduuid

from kombu.utils.uuid import uuid


def test_uuid_is_unique_uuid4_string():
    a, b = uuid(), uuid()
    assert isinstance(a, str)
    assert a != b
    assert stduuid.UUID(a).version == 4


def test_uuid_uses_given_generator():
    fixed = stduuid.UUID(int=1)
    assert uuid(lambda: fixed) == str(fixed)
