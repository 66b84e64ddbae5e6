"""etcd:// transport: pure logic (no server): names, keys, defaults, options, errors."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from amqp.exceptions import ChannelError, ConnectionError

from kombu import Connection
from kombu.transport import etcd as et
from kombu.transport import resolve_transport


def channel_for(url='etcd://localhost', **options):
    pytest.importorskip('etcd')
    conn = Connection(url, transport_options=options)
    return conn.transport.create_channel(conn.transport)   # no server contact


def test_alias_resolves():
    assert resolve_transport('etcd') is et.Transport
    assert type(Connection('etcd://localhost').transport) is et.Transport


def test_documented_attributes():
    t, c = et.Transport, et.Channel
    assert t.Channel is c
    assert t.default_port == 2379
    assert t.driver_type == 'etcd' and t.driver_name == 'python-etcd'
    assert t.polling_interval == 3
    assert t.implements.asynchronous is False
    assert t.implements.exchange_type == frozenset({'direct'})
    assert t.implements.heartbeats is False
    assert (c.index, c.lock_ttl, c.prefix, c.session_ttl, c.timeout) == (
        None, 10, 'kombu', 30, 10)
    assert isinstance(c.lock_value, property) and isinstance(c.client, property)
    assert c.restore_to_head is True


def test_import_without_client_and_clear_error():
    code = (
        "import sys\n"
        "sys.modules['etcd'] = None\n"
        "import kombu.transport.etcd\n"
        "from kombu import Connection\n"
        "try:\n"
        "    Connection('etcd://localhost').transport\n"
        "except ImportError as exc:\n"
        "    print('ImportError:', exc)\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'pip install "kombu[etcd]"' in out.stdout


def test_instance_errors_include_python_etcd():
    etcd = pytest.importorskip('etcd')
    t = Connection('etcd://localhost').transport
    for error in (etcd.EtcdConnectionFailed, etcd.EtcdWatchTimedOut, OSError,
                  ConnectionError):
        assert issubclass(error, t.connection_errors), error
    for error in (etcd.EtcdKeyNotFound, etcd.EtcdCompareFailed, etcd.EtcdException,
                  ChannelError):
        assert issubclass(error, t.channel_errors), error
    assert t.driver_version() == '0.4.5' or t.driver_version()[0].isdigit()


@pytest.mark.parametrize('name,expected', [
    ('celery', 'celery'),
    ('a/b', 'a%2Fb'),
    ('100%', '100%25'),
    ('q?x #y', 'q?x #y'),
    ('é', 'é'),
    ('.', '%2E'),
    ('..', '%2E%2E'),
])
def test_key_names(name, expected):
    assert et.key_name(name) == expected


def test_key_url_escapes_for_the_http_path():
    assert et.key_url('/kombu/a%2Fb?c #é') == '/kombu/a%252Fb%3Fc%20%23%C3%A9'


def test_empty_queue_name_is_refused():
    with pytest.raises(ValueError, match='empty'):
        et.key_name('')


def test_keys_and_lock_value():
    channel = channel_for()
    try:
        assert channel._key('q') == '/kombu/q'
        assert channel._lock_key('q') == '/kombu_locks/q'
        # documented value as in Kombu 4.6.7: '<hostname>.<pid>'
        assert channel.lock_value == f'{socket.gethostname()}.{os.getpid()}'
        value, ident = channel._lock_token.rsplit('.', 1)
        assert value == channel.lock_value and ident == f'{id(channel):x}'
        assert channel_for()._lock_token != channel._lock_token   # one per channel
    finally:
        channel.closed = True


def test_transport_options():
    channel = channel_for(prefix='/app/', lock_ttl=5, timeout=2)
    try:
        assert (channel.prefix, channel.lock_ttl, channel.timeout) == ('app', 5, 2)
        assert channel._key('q') == '/app/q'
        assert channel.client.read_timeout == 2
    finally:
        channel.closed = True
    with pytest.raises(ValueError, match='prefix'):
        channel_for(prefix='/')


def test_client_settings():
    pytest.importorskip('etcd')
    conn = Connection('etcd://user:secret@etcd.example:4001')
    client = conn.transport._get_client()
    assert (client.host, client.port) == ('etcd.example', 4001)
    assert client.username == 'user' and client.password == 'secret'
    assert conn.transport._get_client() is client
    assert Connection('etcd://').transport._get_client().port == 2379
