"""Consul transport, tested with a fake ``consul.Consul`` at the client boundary.

No Consul agent can be installed on this machine (no Debian package; the
release binaries are downloaded from the internet, which is not reachable),
so :class:`FakeConsul` stands in for python-consul2's client: an in-memory K/V
store with Consul's semantics for what the transport uses (modify indexes,
``cas``, recursive/keys listing, blocking queries with ``index``/``wait``,
sessions with ``acquire``/``release`` locks).  The transport-generic suite
runs on it too.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from unittest import mock

import pytest

from kombu import Connection, Exchange, Queue
from kombu.exceptions import ChannelError
from kombu.transport import consul as kconsul

consul = pytest.importorskip('consul')
requests = pytest.importorskip('requests')

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'integration'))
from test_integration_core import TransportSuite, get_message  # noqa: E402

OPTIONS = {'polling_interval': 0.01}


class FakeServer:
    """The shared state of a fake Consul agent."""

    def __init__(self):
        self.cond = threading.Condition()
        self.index = 1
        self.data: dict[str, dict] = {}
        self.tombstones: dict[str, int] = {}
        self.sessions: dict[str, dict] = {}
        self.clients: list = []
        self.down = False

    def bump(self) -> int:
        self.index += 1
        self.cond.notify_all()
        return self.index

    def prefix_index(self, prefix: str) -> int:
        indexes = [d['ModifyIndex'] for k, d in self.data.items() if k.startswith(prefix)]
        indexes += [i for k, i in self.tombstones.items() if k.startswith(prefix)]
        return max(indexes, default=1)


class FakeKV:
    def __init__(self, server):
        self.s = server

    def get(self, key, index=None, recurse=False, wait=None, token=None, consistency=None,
            keys=False, separator=None, dc=None):
        s = self.s
        with s.cond:
            if index is not None and wait is not None:
                deadline = time.monotonic() + kconsul._duration(wait)
                while s.prefix_index(key) <= index:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    s.cond.wait(remaining)
            found = sorted(k for k in s.data if k.startswith(key))
            if keys:
                return s.prefix_index(key), (found or None)
            if recurse:
                return s.prefix_index(key), ([dict(s.data[k]) for k in found] or None)
            item = s.data.get(key)
            return (item or {}).get('ModifyIndex', s.index), (dict(item) if item else None)

    def put(self, key, value, cas=None, flags=None, acquire=None, release=None, token=None,
            dc=None):
        assert value is None or isinstance(value, (str, bytes)), value
        s = self.s
        with s.cond:
            item = s.data.get(key)
            if cas is not None and (item or {}).get('ModifyIndex', 0) != cas:
                return False
            holder = (item or {}).get('Session')
            if acquire is not None:
                assert acquire in s.sessions, 'acquire with an unknown session'
                if holder not in (None, acquire):
                    return False
            if release is not None and holder != release:
                return False
            index = s.bump()
            new = {'Key': key, 'Value': value.encode() if isinstance(value, str) else value,
                   'ModifyIndex': index, 'CreateIndex': (item or {}).get('CreateIndex', index),
                   'Flags': flags or 0, 'LockIndex': (item or {}).get('LockIndex', 0)}
            if acquire is not None:
                new['Session'] = acquire
                new['LockIndex'] += holder is None
            elif holder is not None and release is None:
                new['Session'] = holder
            s.data[key] = new
            s.tombstones.pop(key, None)
            return True

    def delete(self, key, recurse=None, cas=None, token=None, dc=None):
        s = self.s
        with s.cond:
            if cas is not None:
                item = s.data.get(key)
                if item is None or item['ModifyIndex'] != cas:
                    return False
            doomed = [k for k in s.data if (k.startswith(key) if recurse else k == key)]
            index = s.bump()
            for k in doomed:
                del s.data[k]
                s.tombstones[k] = index
            return True


class FakeSession:
    def __init__(self, server):
        self.s = server

    def create(self, name=None, node=None, checks=None, lock_delay=15, behavior='release',
               ttl=None, dc=None, token=None):
        assert behavior == 'release' and 10 <= ttl <= 86400
        sid = str(uuid.uuid4())
        self.s.sessions[sid] = {'ID': sid, 'Name': name, 'TTL': f'{ttl}s'}
        return sid

    def renew(self, session_id, dc=None, token=None):
        return self.s.sessions.get(session_id)

    def destroy(self, session_id, dc=None, token=None):
        s = self.s
        with s.cond:
            s.sessions.pop(session_id, None)
            for item in s.data.values():
                if item.get('Session') == session_id:
                    del item['Session']
        return True


class FakeStatus:
    def __init__(self, server):
        self.s = server

    def leader(self):
        if self.s.down:
            raise requests.exceptions.ConnectionError('agent down')
        return '127.0.0.1:8300'


class FakeConsul:
    """Stands in for ``consul.Consul`` (what the transport uses of it)."""

    server: FakeServer

    def __init__(self, host='127.0.0.1', port=8500, token=None, scheme='http', **kwargs):
        self.host, self.port, self.token, self.scheme = host, port, token, scheme
        self.kv = FakeKV(self.server)
        self.session = FakeSession(self.server)
        self.status = FakeStatus(self.server)
        self.server.clients.append(self)


@pytest.fixture
def server():
    srv = FakeServer()
    fake = type('FakeConsul', (FakeConsul,), {'server': srv})
    with mock.patch.object(consul, 'Consul', fake):
        kconsul.Transport.state.clear()
        yield srv
        kconsul.Transport.state.clear()


@pytest.fixture
def conn_factory(server):
    made = []

    def factory(url='consul://127.0.0.1:8500', **options):
        c = Connection(url, transport_options=dict(OPTIONS, **options))
        made.append(c)
        return c
    yield factory
    for c in made:
        c.release()


@pytest.fixture
def conn(conn_factory):
    return conn_factory()


class TestConsulCore(TransportSuite):
    """The transport-generic suite on ``consul://`` (FakeConsul)."""

    @pytest.fixture
    def transport_name(self):
        return 'consul'

    @pytest.fixture
    def connection(self, conn):
        return conn

    @pytest.fixture
    def connection_factory(self, conn_factory):
        return conn_factory


# -- names and configuration -------------------------------------------------

def test_documented_defaults():
    C, T = kconsul.Channel, kconsul.Transport
    assert (C.prefix, C.index, C.timeout, C.session_ttl) == ('kombu', None, '10s', 30)
    assert (T.default_port, T.driver_type, T.driver_name) == (8500, 'consul', 'consul')
    assert T.Channel is C
    assert consul.ConsulException in T.connection_errors
    assert requests.exceptions.ConnectionError in T.connection_errors
    assert consul.ConsulException in T.channel_errors
    assert issubclass(kconsul.LockTimeout, T.channel_errors)
    assert T(Connection('consul://')).driver_version() == consul.__version__


def test_alias_resolves():
    from kombu.transport import resolve_transport
    assert resolve_transport('consul') is kconsul.Transport


def test_client_from_url(server):
    c = Connection('consul://:tok@agent:8501/', ssl=True)
    ch = c.channel()
    assert (ch.client.host, ch.client.port, ch.client.token, ch.client.scheme) == (
        'agent', 8501, 'tok', 'https')
    ch = Connection('consul://').channel()
    assert (ch.client.host, ch.client.port, ch.client.token, ch.client.scheme) == (
        'localhost', 8500, None, 'http')                 # as Kombu 4.6.7


def test_transport_options(conn_factory):
    ch = conn_factory(prefix='/apps/', session_ttl='15', timeout='2s',
                      lock_timeout='0.5').channel()
    assert (ch.prefix, ch.session_ttl, ch.timeout, ch.lock_timeout) == (
        'apps', 15, '2s', 0.5)
    assert ch._queue_key('a/b') == 'apps/a%2Fb'


@pytest.mark.parametrize('value,seconds', [
    ('10s', 10.0), ('500ms', 0.5), ('1m', 60.0), ('1h', 3600.0), (3, 3.0), ('2.5', 2.5)])
def test_duration(value, seconds):
    assert kconsul._duration(value) == seconds


def test_bad_duration():
    with pytest.raises(ValueError, match="'soon'"):
        kconsul._duration('soon')


def test_missing_library_message():
    with mock.patch.object(kconsul, 'consul', None):
        with pytest.raises(ImportError, match=r'kombu\[consul\]'):
            assert Connection('consul://').transport is None


def test_connection_errors(server):
    c = Connection('consul://127.0.0.1:8500')
    server.down = True
    with pytest.raises(c.connection_errors):
        c.transport.establish_connection()
    from kombu.exceptions import OperationalError
    with pytest.raises(OperationalError, match='agent down'):
        c.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    assert not c.transport.verify_connection(None)
    server.down = False
    c.connect()
    assert c.transport.verify_connection(c.connection)
    c.release()


# -- storage -------------------------------------------------------------------

def test_key_layout(conn, server):
    ch = conn.channel()
    q = Queue('a/q', Exchange('kx'), 'k')
    q(ch).declare()
    assert server.data['kombu/a%2Fq']['Value'] == b''
    conn.Producer(ch).publish({'n': 1}, exchange='kx', routing_key='k')
    conn.Producer(ch).publish({'n': 2}, exchange='kx', routing_key='k')
    keys = sorted(k for k in server.data if k.startswith('kombu/a%2Fq/msg/'))
    assert len(keys) == 2 and keys == sorted(keys)
    assert q(ch).queue_declare(passive=True).message_count == 2
    m = q(ch).get()
    assert m.payload == {'n': 1}
    lock = server.data['kombu/a%2Fq.lock']
    assert 'Session' not in lock                       # released after the take
    session = server.sessions[ch._session_id]
    assert session['Name'] == ch._lock_name and session['TTL'] == '30s'
    assert ch._lock_name.startswith(f'kombu.{socket.gethostname()}.{os.getpid()}.')
    assert ch.lock_name == socket.gethostname()         # as Kombu 4.6.7
    m.ack()
    assert q(ch).delete() == 1
    assert not [k for k in server.data if k.startswith('kombu/a%2Fq')]
    with pytest.raises(conn.channel_errors):
        ch.queue_declare('a/q', passive=True)


def test_has_queue_with_undeclared_messages(conn):
    ch = conn.channel()
    conn.Producer(ch).publish('x', routing_key='implicit')
    assert ch.queue_declare('implicit', passive=True).message_count == 1


def test_locked_queue_times_out(conn_factory, server):
    c = conn_factory(lock_timeout=0.05)
    ch = c.channel()
    Queue('lq')(ch).declare()
    c.Producer(ch).publish('x', routing_key='lq')
    other = consul.Consul()
    sid = other.session.create(name='other', ttl=10)
    assert other.kv.put('kombu/lq.lock', 'other', acquire=sid)
    with pytest.raises(kconsul.LockTimeout, match="'lq'"):
        ch.basic_get('lq')
    other.session.destroy(sid)                         # lock released with the session
    assert ch.basic_get('lq', no_ack=True).body


def test_lost_race_takes_the_next_message(conn, server):
    ch = conn.channel()
    Queue('rq')(ch).declare()
    for body in ('one', 'two'):
        conn.Producer(ch).publish(body, routing_key='rq')
    first = sorted(k for k in server.data if k.startswith('kombu/rq/msg/'))[0]
    real_get = ch.client.kv.get

    def get(key, **kwargs):
        result = real_get(key, **kwargs)
        if key == first:                               # someone else deletes it first
            server.data[first]['ModifyIndex'] += 1000
        return result
    with mock.patch.object(ch.client.kv, 'get', side_effect=get):
        assert ch.basic_get('rq', no_ack=True).payload == 'two'


def test_session_renewed_and_recreated(conn, server):
    ch = conn.channel()
    sid = ch._session()
    assert ch._session() == sid
    ch._session_renewed -= ch.session_ttl              # past half the TTL: renewed
    with mock.patch.object(ch.client.session, 'renew', wraps=ch.client.session.renew) as r:
        assert ch._session() == sid
    r.assert_called_once_with(sid)
    server.sessions.clear()                            # expired on the agent
    ch._session_renewed -= ch.session_ttl
    new = ch._session()
    assert new != sid and new in server.sessions


def test_close_destroys_the_session(conn, server):
    ch = conn.channel()
    Queue('cq')(ch).declare()
    conn.Producer(ch).publish('x', routing_key='cq')
    ch.basic_get('cq', no_ack=True)
    assert len(server.sessions) == 1
    ch.close()
    assert server.sessions == {}


def test_purge(conn):
    ch = conn.channel()
    Queue('pq')(ch).declare()
    for i in range(3):
        conn.Producer(ch).publish(i, routing_key='pq')
    assert ch.queue_purge('pq') == 3
    assert ch.queue_declare('pq').message_count == 0
    assert ch.queue_purge('pq') == 0


def test_put_refused_is_a_channel_error(conn):
    ch = conn.channel()
    with mock.patch.object(ch.client.kv, 'put', return_value=False):
        with pytest.raises(conn.channel_errors, match="'refused'"):
            conn.Producer(ch).publish('x', routing_key='refused')


def test_blocking_query_wakes_up_on_publish(conn_factory, server):
    consumer_conn = conn_factory(polling_interval=5, timeout='5s')
    producer_conn = conn_factory()
    q = Queue('bq')
    got = []
    with consumer_conn.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
        timer = threading.Timer(0.3, lambda: producer_conn.Producer().publish(
            'wake', routing_key='bq'))
        t0 = time.monotonic()
        timer.start()
        consumer_conn.drain_events(timeout=4)
        elapsed = time.monotonic() - t0
        timer.join()
    assert got == ['wake']
    assert 0.25 < elapsed < 2                          # not a 5 s polling sleep


def test_blocking_query_returns_at_timeout(conn_factory):
    c = conn_factory(polling_interval=5, timeout='5s')
    with c.Consumer([Queue('tq')], callbacks=[lambda b, m: None]):
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            c.drain_events(timeout=0.3)
        assert time.monotonic() - t0 < 1.5


def test_several_queues_poll(conn_factory):
    c = conn_factory()
    qs = [Queue('s1'), Queue('s2')]
    got = []
    with c.Consumer(qs, callbacks=[lambda b, m: (got.append(b), m.ack())]):
        with mock.patch.object(kconsul.Channel, '_wait_for_change') as wait:
            c.Producer().publish('b', routing_key='s2')
            c.drain_events(timeout=2)
        wait.assert_not_called()
    assert got == ['b']


def test_get_message_helper_works(conn):
    q = Queue('gq')
    q(conn.default_channel).declare()
    conn.Producer().publish('g', routing_key='gq')
    assert get_message(q(conn.default_channel), no_ack=True).payload == 'g'


@pytest.mark.parametrize('name,key', [
    ('celery', 'kombu/celery'),
    # used as they are, as Kombu 4.6.7 stored them
    ('celery@host.celery.pidbox', 'kombu/celery@host.celery.pidbox'),
    ('q café:1 x', 'kombu/q café:1 x'),
    ('a/q', 'kombu/a%2Fq'),
    ('100%', 'kombu/100%25'),
    ('..', 'kombu/%2E%2E'),
])
def test_queue_keys(conn, name, key):
    ch = conn.channel()
    assert ch._queue_key(name) == key
    assert ch._lock_key(name) == key + '.lock'
    assert ch._messages_prefix(name) == key + '/msg/'


def test_reads_messages_stored_by_kombu4(conn, server):
    ch = conn.channel()
    name = 'celery@host.celery.pidbox'
    q = Queue(name, Exchange('k4x'), 'k')
    q(ch).declare()
    message = {'body': 'eyJhIjogMX0=', 'content-encoding': 'utf-8',
               'content-type': 'application/json', 'headers': {},
               'properties': {'delivery_mode': 2, 'body_encoding': 'base64',
                              'delivery_info': {'exchange': 'k4x', 'routing_key': 'k'},
                              'priority': 0,
                              'delivery_tag': '466271ba-3fd0-4733-bcae-e6632e867572'}}
    # key and value as Kombu 4.6.7 wrote them
    ch.client.kv.put(f'kombu/{name}/msg/3873005_466271ba-3fd0-4733-bcae-e6632e867572',
                     json.dumps(message))
    assert q(ch).get(no_ack=True).payload == {'a': 1}
    assert q(ch).get(no_ack=True) is None


def test_kombu4_names():
    assert kconsul.DEFAULT_HOST == 'localhost' and kconsul.DEFAULT_PORT == 8500
    assert kconsul.LockError is kconsul.LockTimeout
    assert issubclass(kconsul.LockError, ChannelError)
