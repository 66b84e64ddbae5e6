"""etcd:// against a real etcd server, v2 API (scripts/services/etcd.sh).

Runs the transport-generic :class:`TransportSuite` plus etcd specifics: key
layout under ``prefix``, queue locks (``lock_ttl``, ``lock_value``),
restore at the head, queue size/purge/delete, competing consumers in two
processes, error mapping.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from reference_kombu import PUBLISH_GET_SCRIPT, require_reference
from reference_kombu import run_reference as run_in_reference
from services_etcd import etcd_url
from test_integration_core import TransportSuite, drain_until, get_message

from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError

pytestmark = pytest.mark.services


@pytest.fixture(scope='session')
def e_url() -> str:
    return etcd_url()


@pytest.fixture
def prefix() -> str:
    return f'kombu-test-{uuid.uuid4().hex[:10]}'


@pytest.fixture
def options(prefix) -> dict:
    return {'polling_interval': 0.02, 'prefix': prefix}


@pytest.fixture
def raw(e_url, prefix):
    """A raw python-etcd client; removes the test's keys afterwards."""
    import etcd
    host, port = e_url.split('://', 1)[1].split('/')[0].split(':')
    client = etcd.Client(host=host, port=int(port))
    yield client
    for key in (f'/{prefix}', f'/{prefix}_locks'):
        try:
            client.delete(key, recursive=True)
        except etcd.EtcdKeyNotFound:
            pass


class TestEtcdCore(TransportSuite):
    """The shared core suite on etcd://."""

    @pytest.fixture
    def transport_name(self) -> str:
        return 'etcd'

    @pytest.fixture
    def connection(self, e_url, options, raw):
        conn = Connection(e_url, transport_options=options)
        yield conn
        conn.release()

    @pytest.fixture
    def connection_factory(self, e_url, options, raw):
        made = []

        def factory() -> Connection:
            conn = Connection(e_url, transport_options=options)
            made.append(conn)
            return conn
        yield factory
        for conn in made:
            conn.release()


@pytest.fixture
def conn(e_url, options, raw):
    c = Connection(e_url, transport_options=options)
    yield c
    c.release()


def test_driver_and_connection(conn):
    conn.connect()
    assert conn.connected
    t = conn.transport
    assert (t.driver_type, t.driver_name, t.default_port) == ('etcd', 'python-etcd', 2379)
    assert t.driver_version() == '0.4.5' or t.driver_version()[0].isdigit()
    assert t.verify_connection(conn.connection)
    assert conn.default_channel.client is t._get_client()
    assert not conn.supports_exchange_type('fanout')


def test_messages_are_keys_under_prefix(conn, raw, prefix, unique_name):
    q = Queue(unique_name, Exchange(unique_name), unique_name)
    q(conn.default_channel).declare()
    assert raw.read(f'/{prefix}/{unique_name}').dir
    conn.Producer().publish({'x': 1}, exchange=q.exchange, routing_key=unique_name)
    nodes = [n for n in raw.read(f'/{prefix}/{unique_name}').leaves if not n.dir]
    assert len(nodes) == 1
    stored = json.loads(nodes[0].value)
    assert stored['properties']['delivery_info']['routing_key'] == unique_name
    assert q(conn.default_channel).get(no_ack=True).payload == {'x': 1}
    assert [n for n in raw.read(f'/{prefix}/{unique_name}').leaves if not n.dir] == []
    # the lock was taken and released
    import etcd
    with pytest.raises(etcd.EtcdKeyNotFound):
        raw.read(f'/{prefix}_locks/{unique_name}')


def test_fifo_ignores_priority(conn, unique_name):
    ch = conn.default_channel
    Queue(unique_name)(ch).declare()
    for prio in (1, 9, 5):
        conn.Producer().publish(prio, routing_key=unique_name, priority=prio)
    assert [Queue(unique_name)(ch).get(no_ack=True).payload for _ in range(3)] == [1, 9, 5]


def test_lock_held_by_another_client(conn, raw, prefix, unique_name):
    ch = conn.default_channel
    q = Queue(unique_name)
    q(ch).declare()
    conn.Producer().publish('locked', routing_key=unique_name)
    raw.write(f'/{prefix}_locks/{unique_name}', 'someone-else', ttl=1)
    t0 = time.monotonic()
    assert q(ch).get() is None               # lock busy: nothing now
    assert time.monotonic() - t0 < 2
    # release of our lock never removes someone else's
    ch._release_lock(unique_name)
    assert raw.read(f'/{prefix}_locks/{unique_name}').value == 'someone-else'
    # the foreign lock expires (its ttl), then the message can be taken
    assert get_message(q(ch), timeout=5, no_ack=True).payload == 'locked'


def test_lock_value_ttl_and_release(conn, raw, prefix, unique_name):
    ch = conn.default_channel
    ch.lock_ttl = 7
    assert ch._acquire_lock(unique_name) is True
    node = raw.read(f'/{prefix}_locks/{unique_name}')
    assert node.value == ch._lock_token
    assert node.value.startswith(ch.lock_value + '.')
    assert 0 < node.ttl <= 7
    assert ch._acquire_lock(unique_name, wait=0.05) is False
    ch._release_lock(unique_name)
    assert ch._acquire_lock(unique_name, wait=0) is True
    ch._release_lock(unique_name)


def test_transport_options(e_url, raw, prefix):
    c = Connection(e_url, transport_options={'prefix': f'/{prefix}/', 'lock_ttl': 3,
                                             'timeout': 4, 'polling_interval': 0.5})
    try:
        ch = c.default_channel
        assert (ch.prefix, ch.lock_ttl, ch.timeout) == (prefix, 3, 4)
        assert c.transport.polling_interval == 0.5
        assert ch.client.read_timeout == 4
    finally:
        c.release()


def test_size_purge_delete_passive(conn, raw, prefix, unique_name):
    import etcd
    ch = conn.default_channel
    q = Queue(unique_name)
    with pytest.raises(conn.channel_errors):
        q(ch).queue_declare(passive=True)
    q(ch).declare()
    assert q(ch).queue_declare(passive=True).message_count == 0
    p = conn.Producer()
    for i in range(5):
        p.publish(i, routing_key=unique_name)
    assert q(ch).queue_declare(passive=True).message_count == 5
    assert q(ch).purge() == 5
    assert q(ch).queue_declare(passive=True).message_count == 0
    p.publish('again', routing_key=unique_name)
    assert q(ch).delete() == 1
    with pytest.raises(etcd.EtcdKeyNotFound):
        raw.read(f'/{prefix}/{unique_name}')
    assert ch._size(unique_name) == 0 and ch._purge(unique_name) == 0
    p.publish('back', routing_key=unique_name)
    assert q(ch).get(no_ack=True).payload == 'back'


def test_queue_name_escaping(conn, raw, prefix):
    ch = conn.default_channel
    name = f'a/b%c?d #é.{uuid.uuid4().hex[:6]}'
    Queue(name)(ch).declare()
    conn.Producer().publish('odd', routing_key=name)
    keys = [n.key for n in raw.read(f'/{prefix}').children]
    assert keys == [f'/{prefix}/a%2Fb%25c?d #é.{name.rsplit(".", 1)[1]}']
    assert ch._size(name) == 1
    assert Queue(name)(ch).get(no_ack=True).payload == 'odd'


def test_reject_requeue_goes_to_head(conn, unique_name):
    ch = conn.default_channel
    q = Queue(unique_name)
    q(ch).declare()
    for body in ('first', 'second', 'third'):
        conn.Producer().publish(body, routing_key=unique_name)
    m1, m2 = q(ch).get(), q(ch).get()
    m2.requeue()
    m1.requeue()
    got = [q(ch).get() for _ in range(3)]
    assert [m.payload for m in got] == ['first', 'second', 'third']
    assert got[0].delivery_info['redelivered'] is True
    assert got[2].delivery_info['redelivered'] is False
    for m in got:
        m.ack()
    assert q(ch).get() is None


def test_close_restores_unacked_in_order(conn, e_url, options, unique_name):
    ch = conn.default_channel
    Queue(unique_name)(ch).declare()
    for i in range(4):
        conn.Producer().publish(i, routing_key=unique_name)
    taken = [Queue(unique_name)(ch).get() for _ in range(3)]
    assert [m.payload for m in taken] == [0, 1, 2]
    conn.release()
    with Connection(e_url, transport_options=options) as c2:
        got = [get_message(Queue(unique_name)(c2.default_channel), no_ack=True).payload
               for _ in range(4)]
    assert got == [0, 1, 2, 3]


def test_consumer_and_drain_timeout(conn, unique_name):
    q = Queue(unique_name, Exchange(unique_name), unique_name)
    got = []
    with conn.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
        conn.Producer().publish('hi', exchange=q.exchange, routing_key=unique_name)
        drain_until(conn, lambda: got)
        with pytest.raises(TimeoutError):
            conn.drain_events(timeout=0.1)
    assert got == ['hi']


def test_unreachable_server_is_a_connection_error():
    c = Connection('etcd://127.0.0.1:1')
    try:
        with pytest.raises(c.connection_errors):
            c.connect()
        errors = []
        with pytest.raises(OperationalError):
            c.ensure_connection(max_retries=1, interval_start=0,
                                errback=lambda exc, interval: errors.append(exc))
        assert errors
    finally:
        c.release()


CONSUMER = r'''
import json, sys, time
from kombu import Connection, Queue
url, prefix, name = sys.argv[1], sys.argv[2], sys.argv[3]
got = []
with Connection(url, transport_options={'prefix': prefix}) as conn:
    q = Queue(name)(conn.default_channel)
    print('ready', flush=True)
    sys.stdin.readline()
    idle = time.monotonic()
    while time.monotonic() - idle < 1.5:
        m = q.get()
        if m is None:
            time.sleep(0.01)
            continue
        got.append(m.payload)
        m.ack()
        time.sleep(0.002)                # "work" on the message
        idle = time.monotonic()
print(json.dumps(got), flush=True)
'''


def test_competing_consumers_in_two_processes(conn, e_url, prefix, unique_name):
    q = Queue(unique_name)
    q(conn.default_channel).declare()
    n = 150
    producer = conn.Producer()
    for i in range(n):
        producer.publish(i, routing_key=unique_name)
    procs = [subprocess.Popen([sys.executable, '-c', CONSUMER, e_url, prefix, unique_name],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    for proc in procs:
        assert proc.stdout.readline().strip() == 'ready'
    for proc in procs:
        proc.stdin.write('go\n')
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        results.append(json.loads(out.strip().splitlines()[-1]))
    a, b = results
    assert not set(a) & set(b), 'a message was taken by both consumers'
    assert sorted(a + b) == list(range(n))
    assert a and b, 'both consumers should have taken some messages'


def test_competing_channels_without_lock_never_share(conn, e_url, options, unique_name):
    """Compare-and-delete alone keeps two takers of the same node apart."""
    ch = conn.default_channel
    Queue(unique_name)(ch).declare()
    conn.Producer().publish('only once', routing_key=unique_name)
    with Connection(e_url, transport_options=options) as other:
        ch2 = other.default_channel
        nodes1, nodes2 = ch._read_dir(unique_name), ch2._read_dir(unique_name)
        assert len(nodes1) == len(nodes2) == 1
        assert ch._take(nodes1[0]) is True
        assert ch2._take(nodes2[0]) is False


def test_waiting_consumer_wakes_on_publish(e_url, prefix, raw, unique_name):
    """With the default polling_interval a publish still wakes the consumer at once."""
    import threading
    q = Queue(unique_name)
    got = []
    with Connection(e_url, transport_options={'prefix': prefix}) as c1, \
            Connection(e_url, transport_options={'prefix': prefix}) as c2:
        q(c1.default_channel).declare()
        assert c1.transport.polling_interval == 3
        with c1.Consumer([q], callbacks=[lambda b, m: (got.append(time.monotonic()), m.ack())]):
            with pytest.raises(TimeoutError):
                c1.drain_events(timeout=0.2)      # now waiting on the server
            sent = []
            timer = threading.Timer(0.2, lambda: (
                sent.append(time.monotonic()), c2.Producer().publish('x', routing_key=unique_name)))
            timer.start()
            c1.drain_events(timeout=5)
            timer.join()
        assert got and got[0] - sent[0] < 0.5 * 3


# -- compatibility with Kombu 4.6.7 ---------------------------------------------

def run_reference(*args: str) -> str:
    """Run PUBLISH_GET_SCRIPT with the original Kombu 4.6.7 (skip if it is missing)."""
    require_reference('etcd')
    return run_in_reference(PUBLISH_GET_SCRIPT, *args, timeout=60).strip()


@pytest.fixture
def default_prefix_queue(e_url):
    """A unique queue name under the default prefix ``kombu`` (removed afterwards)."""
    import etcd
    name = f'kombu-test {uuid.uuid4().hex[:8]} é'
    yield name
    client = etcd.Client(host='127.0.0.1', port=int(e_url.rsplit(':', 1)[1].strip('/')))
    for key in (f'/kombu/{name}', f'/kombu_locks/{name}', f'/_locks/{name}'):
        try:
            client.delete(key, recursive=True)
        except etcd.EtcdKeyNotFound:
            pass


def test_interop_with_reference_kombu4(e_url, default_prefix_queue):
    # same key layout (/kombu/<queue>/<in-order key>, JSON), names used as they are
    name = default_prefix_queue
    run_reference(e_url, name, 'publish')
    with Connection(e_url, transport_options={'polling_interval': 0.02}) as conn:
        q = Queue(name, Exchange(name), name)(conn.default_channel)
        assert q.get(no_ack=True).payload == {'from': 'kombu4'}
        q.declare()
        conn.Producer().publish({'from': 'ours'}, exchange=name, routing_key=name)
    assert run_reference(e_url, name, 'get') == "{'from': 'ours'}"
