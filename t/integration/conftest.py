"""Fixtures for the transport-generic integration suite.

``connection`` is parametrized over every transport the core suite runs on:
``memory://``, ``filesystem://`` (data folders in ``tmp_path``), ``pyamqp://``
(RabbitMQ) and ``redis://``.  A transport whose module cannot be imported yet
is skipped with the import error as the reason; a server transport goes
through ``require_service`` (skipped when the server is down, failed when
``KOMBU_TEST_REQUIRE_SERVICES=1``).
"""
from __future__ import annotations

import importlib

import pytest

from kombu import Connection

#: id -> (transport module, service name for require_service or None)
TRANSPORTS = {
    'memory': ('kombu.transport.memory', None),
    'filesystem': ('kombu.transport.filesystem', None),
    'pyamqp': ('kombu.transport.pyamqp', 'rabbitmq'),
    'redis': ('kombu.transport.redis', 'redis'),
}

#: The URLs used, for reference (service URLs may be overridden by t/conftest.py).
TRANSPORT_URLS = {
    'memory': 'memory://',
    'filesystem': 'filesystem://',
    'pyamqp': 'pyamqp://guest:guest@127.0.0.1:5672//',
    'redis': 'redis://127.0.0.1:6379/0',
}


def _require_transport_module(name: str) -> None:
    module = TRANSPORTS[name][0]
    try:
        importlib.import_module(module)
    except Exception as exc:  # not written yet, or its client library is missing
        pytest.skip(f'transport {name!r}: {module} not importable yet ({exc!r})')


def _service_url(request, name: str) -> str:
    service = TRANSPORTS[name][1]
    # t/conftest.py fixtures call require_service(): skip, or fail in CI
    url = request.getfixturevalue(f'{service}_url')
    if name == 'pyamqp':
        url = 'pyamqp' + url[url.index('://'):]
    return url


def make_connection(request, name: str, tmp_path) -> Connection:
    """A fresh (unconnected) Connection for transport ``name``."""
    _require_transport_module(name)
    options = {}
    if TRANSPORTS[name][1]:
        url = _service_url(request, name)
    else:
        url = TRANSPORT_URLS[name]
    if name == 'filesystem':
        folder = tmp_path / 'kombu-fs'
        folder.mkdir(exist_ok=True)
        options = {'data_folder_in': str(folder), 'data_folder_out': str(folder),
                   'polling_interval': 0.01}
    return Connection(url, transport_options=options)


@pytest.fixture(params=[
    'memory',
    'filesystem',
    pytest.param('pyamqp', marks=pytest.mark.services),
    pytest.param('redis', marks=pytest.mark.services),
])
def transport_name(request) -> str:
    """The id of the transport under test."""
    return request.param


@pytest.fixture
def connection(request, transport_name, tmp_path):
    """A Connection to each transport in turn; released afterwards."""
    conn = make_connection(request, transport_name, tmp_path)
    try:
        yield conn
    finally:
        conn.release()


@pytest.fixture
def connection_factory(request, transport_name, tmp_path):
    """Make more Connections to the same broker/spool (e.g. to simulate a second client)."""
    made = []

    def factory() -> Connection:
        conn = make_connection(request, transport_name, tmp_path)
        made.append(conn)
        return conn
    yield factory
    for conn in made:
        conn.release()
