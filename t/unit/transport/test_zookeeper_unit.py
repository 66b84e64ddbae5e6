"""zookeeper:// transport: pure logic (no server): names, paths, defaults, errors."""
from __future__ import annotations

import subprocess
import sys

import pytest
from amqp.exceptions import ChannelError, ConnectionError

from kombu import Connection
from kombu.transport import resolve_transport
from kombu.transport import zookeeper as zt


def test_alias_resolves():
    assert resolve_transport('zookeeper') is zt.Transport
    assert Connection('zookeeper://localhost/').transport_cls == 'zookeeper'
    assert type(Connection('zookeeper://localhost/').transport) is zt.Transport


def test_documented_attributes():
    t = zt.Transport
    assert t.Channel is zt.Channel
    assert t.default_port == 2181
    assert t.driver_type == 'zookeeper' and t.driver_name == 'kazoo'
    assert t.polling_interval == 1
    assert t.connection_errors == (ConnectionError,)
    assert t.channel_errors == (ChannelError,)
    assert t.implements.exchange_type == frozenset({'direct', 'topic'})
    assert t.implements.asynchronous is False
    assert isinstance(zt.Channel.client, property)
    assert zt.Channel.restore_to_head is True


def test_import_without_kazoo_and_clear_error():
    code = (
        "import sys\n"
        "sys.modules['kazoo'] = None\n"
        "import kombu.transport.zookeeper as zt\n"
        "from kombu import Connection\n"
        "try:\n"
        "    Connection('zookeeper://localhost/').transport\n"
        "except ImportError as exc:\n"
        "    print('ImportError:', exc)\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'pip install "kombu[zookeeper]"' in out.stdout


def test_instance_errors_include_kazoo():
    kazoo = pytest.importorskip('kazoo')
    from kazoo import exceptions as exc
    from kazoo.handlers.threading import KazooTimeoutError
    t = Connection('zookeeper://localhost/').transport
    for error in (exc.ConnectionLoss, exc.SessionExpiredError, exc.ConnectionClosedError,
                  KazooTimeoutError, OSError, ConnectionError):
        assert issubclass(error, t.connection_errors), error
    for error in (exc.NoNodeError, exc.BadArgumentsError, ChannelError):
        assert issubclass(error, t.channel_errors), error
    assert t.driver_version() == kazoo.__version__


@pytest.mark.parametrize('name,expected', [
    ('celery', 'celery'),
    ('t.a-b_c@d:e', 't.a-b_c@d:e'),
    ('a/b', 'a%2Fb'),
    ('100%', '100%25'),
    # kept as Kombu 4.6.7 stored them (messages already stored stay readable)
    ('é', 'é'),
    ('q café', 'q café'),
    ('a\x01b', 'a%01b'),          # ZooKeeper refuses control characters
    ('\ud800', '%ED%A0%80'),
    ('.', '%2E'),
    ('..', '%2E%2E'),
    ('zookeeper', '%7Aookeeper'),
])
def test_znode_names(name, expected):
    assert zt.znode_name(name) == expected


def test_empty_queue_name_is_refused():
    with pytest.raises(ValueError, match='empty'):
        zt.znode_name('')


@pytest.mark.parametrize('url,path', [
    ('zookeeper://localhost/', '/q'),
    ('zookeeper://localhost', '/q'),
    ('zookeeper://localhost/myvhost', '/myvhost/q'),
    ('zookeeper://localhost//nested/vhost/', '/nested/vhost/q'),
])
def test_vhost_is_the_base_znode(url, path):
    pytest.importorskip('kazoo')
    conn = Connection(url)
    channel = conn.transport.create_channel(conn.transport)   # no server contact yet
    try:
        assert channel._queue_path('q') == path
    finally:
        channel.closed = True


@pytest.mark.parametrize('url,hosts', [
    ('zookeeper://localhost/', 'localhost:2181'),
    ('zookeeper://zk1:2182/v', 'zk1:2182'),
])
def test_hosts(url, hosts):
    pytest.importorskip('kazoo')
    assert Connection(url).transport._hosts() == hosts


def test_several_hosts_keyword():
    pytest.importorskip('kazoo')
    conn = Connection(transport='zookeeper', hostname='zk1:2181,zk2,zk3:2183', port=2190)
    assert conn.transport._hosts() == 'zk1:2181,zk2:2190,zk3:2183'


def test_priority_becomes_znode_prefix_order():
    pytest.importorskip('kazoo')
    conn = Connection('zookeeper://localhost/')
    channel = conn.transport.create_channel(conn.transport)
    try:
        prio = [channel._get_message_priority({'properties': {'priority': p}}, reverse=True)
                for p in (0, 5, 9, 42, None)]
        assert prio == [9, 4, 0, 0, 9]
    finally:
        channel.closed = True


def test_message_size_limit():
    pytest.importorskip('kazoo')
    conn = Connection('zookeeper://localhost/')
    channel = conn.transport.create_channel(conn.transport)
    try:
        assert channel._encode('q', {'body': 'x'}) == b'{"body": "x"}'
        with pytest.raises(ChannelError, match="'q'.*too large"):
            channel._encode('q', {'body': 'x' * zt.MAX_MESSAGE_SIZE})
    finally:
        channel.closed = True
