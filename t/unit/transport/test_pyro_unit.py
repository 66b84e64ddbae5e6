"""Pyro transport without a server: the broker object, the channel primitives
(talking to an in-process :class:`KombuBroker` instead of a Pyro proxy), names,
defaults, errors and the missing-library message.  The real name server and
daemon are exercised in ``t/integration/test_pyro.py``.
"""
from __future__ import annotations

from unittest import mock

import pytest

from kombu import Connection, Exchange, Queue
from kombu.transport import pyro

Pyro4 = pytest.importorskip('Pyro4')


@pytest.fixture
def broker():
    return pyro.KombuBroker()


@pytest.fixture
def conn(broker):
    with mock.patch.object(pyro.Transport, 'shared_queues', broker), \
            mock.patch.object(pyro.Transport, 'establish_connection',
                              lambda self: self):
        c = Connection('pyro://localhost/kombu.broker')
        yield c
        c.release()


def test_documented_names_and_defaults():
    assert pyro.Transport.default_port == 9090
    assert pyro.Transport.driver_type == pyro.Transport.driver_name == 'pyro'
    assert pyro.Transport.Channel is pyro.Channel
    assert isinstance(pyro.Transport.state, pyro.virtual.BrokerState)
    assert Pyro4.errors.CommunicationError in pyro.Transport.connection_errors
    assert Pyro4.errors.NamingError in pyro.Transport.connection_errors
    assert Pyro4.errors.SerializeError in pyro.Transport.channel_errors
    assert pyro.Transport(Connection('pyro://')).driver_version() == Pyro4.__version__


def test_alias_resolves():
    from kombu.transport import resolve_transport
    assert resolve_transport('pyro') is pyro.Transport


def test_url_gives_name_server_and_broker_name():
    c = Connection('pyro://nshost:9999/my.broker')
    t = c.transport
    assert (c.hostname, c.port) == ('nshost', 9999)
    assert t._broker_name() == 'my.broker'
    assert pyro.Transport(Connection('pyro://localhost'))._broker_name() == 'kombu.broker'


def test_lookup_uses_host_port_and_name():
    ns = mock.Mock()
    ns.lookup.return_value = 'PYRO:obj@127.0.0.1:1234'
    with mock.patch.object(Pyro4, 'locateNS', return_value=ns) as locate:
        t = Connection('pyro://nshost:9999/my.broker', connect_timeout=3).transport
        proxy = t.shared_queues
    locate.assert_called_once_with('nshost', 9999)
    ns.lookup.assert_called_once_with('my.broker')
    assert str(proxy._pyroUri) == 'PYRO:obj@127.0.0.1:1234'
    assert proxy._pyroTimeout == 3
    assert t.shared_queues is proxy          # cached for this thread


def test_lookup_errors_name_the_problem():
    t = Connection('pyro://nshost:9999/my.broker').transport
    err = Pyro4.errors.NamingError('Failed to locate the nameserver')
    with mock.patch.object(Pyro4, 'locateNS', side_effect=err):
        with pytest.raises(Pyro4.errors.NamingError, match='nshost:9999'):
            assert t.shared_queues is None
    ns = mock.Mock()
    ns.lookup.side_effect = Pyro4.errors.NamingError('unknown name: my.broker')
    with mock.patch.object(Pyro4, 'locateNS', return_value=ns):
        with pytest.raises(Pyro4.errors.NamingError, match="No broker named 'my.broker'"):
            assert t.shared_queues is None


def test_missing_library_message():
    with mock.patch.object(pyro, 'Pyro4', None):
        with pytest.raises(ImportError, match=r'kombu\[pyro\]'):
            pyro.Transport(Connection('pyro://')).driver_version()


def test_broker_object(broker):
    assert broker.get_queue_names() == []
    assert broker.get('q') is None
    broker.new_queue('q')
    assert broker.has_queue('q') and not broker.has_queue('other')
    broker.put('q', {'n': 1})
    broker.put('q', {'n': 2})
    broker.put_front('q', {'n': 0})
    assert broker.size('q') == 3
    assert broker.get('q') == {'n': 0}
    assert broker.purge('q') == 2
    assert broker.purge('missing') == 0
    assert broker.size('missing') == 0
    broker.delete('q')
    broker.delete('q')
    assert broker.get_queue_names() == []


def test_channel_roundtrip(conn, broker):
    ch = conn.channel()
    q = Queue('pq', Exchange('pe', 'topic'), 'a.#')
    q(ch).declare()
    assert 'pq' in ch.queues()
    p = conn.Producer(ch)
    p.publish({'x': 1}, exchange=q.exchange, routing_key='a.b')
    p.publish('y', exchange=q.exchange, routing_key='nomatch')
    assert broker.size('pq') == 1
    m = q(ch).get()
    assert m.payload == {'x': 1}
    m.requeue()                          # back at the head
    assert broker.queues['pq'][0]['properties']['delivery_info']['redelivered']
    assert q(ch).get(no_ack=True).payload == {'x': 1}
    p.publish('z', exchange=q.exchange, routing_key='a')
    assert q(ch).queue_declare(passive=True).message_count == 1
    assert q(ch).purge() == 1
    assert q(ch).delete() == 0
    assert not broker.has_queue('pq')
    with pytest.raises(conn.channel_errors):
        ch.queue_declare('pq', passive=True)


def test_unacked_restored_on_close(conn, broker):
    ch = conn.channel()
    Queue('rq')(ch).declare()
    conn.Producer(ch).publish('keep', routing_key='rq')
    m = Queue('rq')(ch).get()
    assert m.payload == 'keep' and broker.size('rq') == 0
    ch.close()
    assert broker.size('rq') == 1


def test_close_connection_releases_proxies():
    t = Connection('pyro://').transport
    proxy = mock.Mock()
    t._proxies[1] = proxy
    t.close_connection(t)
    t.close_connection(t)
    proxy._pyroRelease.assert_called_once_with()
    assert t._proxies == {}


def test_verify_connection_false_when_unreachable():
    t = Connection('pyro://').transport
    with mock.patch.object(Pyro4, 'locateNS',
                           side_effect=Pyro4.errors.NamingError('down')):
        assert t.verify_connection(t) is False


def test_main_reports_errors(capsys):
    with mock.patch.object(pyro, 'serve', side_effect=Pyro4.errors.NamingError('no ns')):
        assert pyro.main(['--ns-port', '1']) == 1
    assert 'no ns' in capsys.readouterr().err
    with mock.patch.object(pyro, 'serve') as serve:
        assert pyro.main(['--name', 'x.y', '--host', 'h', '--port', '5']) == 0
    serve.assert_called_once_with('h', 5, None, 9090, 'x.y')


@pytest.mark.parametrize('classname', ['queue.Empty', '_queue.Empty'])
def test_empty_raised_by_a_kombu4_broker_arrives_as_empty(classname):
    # A Kombu 4.x broker raises queue.Empty from get() on an empty queue;
    # Pyro sends it as a dict, which must come back as Empty (not SerializeError).
    from queue import Empty
    exc = Pyro4.util.SerializerBase.dict_to_class(
        {'__class__': classname, '__exception__': True, 'args': (), 'attributes': {}})
    assert isinstance(exc, Empty)


def test_channel_get_with_a_broker_raising_empty(conn, broker):
    from queue import Empty

    def get(queue):
        raise Empty()
    broker.get = get
    channel = conn.channel()
    assert Queue('pyro-k4-empty', Exchange('pyro-k4-empty'), 'k')(channel).get() is None
