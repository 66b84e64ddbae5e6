from __future__ import annotations

import sys
import types

import pytest

from kombu.utils.amq_manager import get_manager


class Client:
    hostname = 'broker'
    userid = 'me'
    password = 'secret'
    transport_options = {'manager_port': 1234}


def test_missing_pyrabbit_raises_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pyrabbit', None)
    with pytest.raises(ImportError, match='pyrabbit'):
        get_manager(Client())


def test_builds_pyrabbit_client_from_connection(monkeypatch):
    created = []
    fake = types.ModuleType('pyrabbit')
    fake.Client = lambda *args: created.append(args) or 'manager'
    monkeypatch.setitem(sys.modules, 'pyrabbit', fake)
    assert get_manager(Client()) == 'manager'
    assert created == [('broker:1234', 'me', 'secret')]
    get_manager(Client(), hostname='h', port=1, userid='u', password='p')
    assert created[-1] == ('h:1', 'u', 'p')
