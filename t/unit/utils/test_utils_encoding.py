from __future__ import annotations

import io
import sys

from kombu.utils import encoding as enc


def test_str_to_bytes_encodes_str_and_passes_others():
    assert enc.str_to_bytes('é') == 'é'.encode()
    assert enc.str_to_bytes(b'x') == b'x'
    assert enc.str_to_bytes(3) == 3
    assert enc.ensure_bytes('a') == b'a'


def test_bytes_to_str_decodes_with_replacement():
    assert enc.bytes_to_str(b'abc') == 'abc'
    assert enc.bytes_to_str(b'\xffa') == '\ufffda'
    assert enc.bytes_to_str('s') == 's'
    assert enc.bytes_to_str(None) is None


def test_noop_helpers_return_argument():
    obj = object()
    assert enc.from_utf8(obj) is obj
    assert enc.default_encode(obj) is obj


def test_safe_str_of_non_strings_and_bytes():
    assert enc.safe_str(1) == '1'
    assert enc.safe_str(None) == 'None'
    assert enc.safe_str(b'\xff\xfeab') == '\ufffd\ufffdab'
    assert enc.safe_str([1, 'a']) == "[1, 'a']"


class Broken:
    def __repr__(self):
        raise ValueError('boom')

    __str__ = __repr__


def test_safe_str_and_safe_repr_never_raise():
    assert enc.safe_str(Broken()).startswith("<Unrepresentable <class ")
    assert 'boom' in enc.safe_repr(Broken())


def test_safe_repr_is_repr():
    assert enc.safe_repr(b'x') == "b'x'"


def test_default_encoding_file_roundtrip():
    prev = enc.get_default_encoding_file()
    f = io.TextIOWrapper(io.BytesIO(), encoding='latin-1')
    try:
        enc.set_default_encoding_file(f)
        assert enc.get_default_encoding_file() is f
        assert enc.default_encoding() == 'latin-1'
    finally:
        enc.set_default_encoding_file(prev)


def test_default_encoding_falls_back_to_filesystem_encoding():
    assert enc.default_encoding(object()) == sys.getfilesystemencoding()
