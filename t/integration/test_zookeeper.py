"""zookeeper:// against a real ZooKeeper server (scripts/services/zookeeper.sh).

Runs the transport-generic :class:`TransportSuite` plus ZooKeeper specifics:
znode layout under the vhost, priorities, restore at the head, queue
size/purge/delete, competing consumers in two processes, error mapping.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from reference_kombu import PUBLISH_GET_SCRIPT, require_reference
from reference_kombu import run_reference as run_in_reference
from services_zookeeper import zookeeper_url
from test_integration_core import TransportSuite, drain_until, get_message

from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError

pytestmark = pytest.mark.services

FAST = {'polling_interval': 0.02}


@pytest.fixture(scope='session')
def zk_url() -> str:
    return zookeeper_url()


@pytest.fixture
def vhost() -> str:
    return f'kombu-test-{uuid.uuid4().hex[:10]}'


@pytest.fixture
def vhost_url(zk_url, vhost) -> str:
    return zk_url.rstrip('/') + '/' + vhost


@pytest.fixture
def zk(zk_url, vhost):
    """A raw kazoo client, to look at the znodes; removes the test's vhost afterwards."""
    from kazoo.client import KazooClient
    client = KazooClient(hosts=zk_url.split('://', 1)[1].split('/')[0])
    client.start(timeout=10)
    yield client
    client.delete(f'/{vhost}', recursive=True)
    client.stop()
    client.close()


class TestZookeeperCore(TransportSuite):
    """The shared core suite on zookeeper://."""

    @pytest.fixture
    def transport_name(self) -> str:
        return 'zookeeper'

    @pytest.fixture
    def connection(self, vhost_url, zk):
        conn = Connection(vhost_url, transport_options=FAST)
        yield conn
        conn.release()

    @pytest.fixture
    def connection_factory(self, vhost_url, zk):
        made = []

        def factory() -> Connection:
            conn = Connection(vhost_url, transport_options=FAST)
            made.append(conn)
            return conn
        yield factory
        for conn in made:
            conn.release()

    def test_priority(self, connection, transport_name, unique_name, declared):
        q = Queue(unique_name, Exchange(unique_name), unique_name, max_priority=10)
        declared.extend([q, q.exchange])
        q(connection.default_channel).declare()
        p = connection.Producer()
        for prio in (1, 9, 5, 0, 9):
            p.publish(prio, exchange=q.exchange, routing_key=unique_name, priority=prio)
        ch = connection.default_channel
        got = [get_message(q(ch), no_ack=True).payload for _ in range(5)]
        assert got == [9, 9, 5, 1, 0]


@pytest.fixture
def conn(vhost_url, zk):
    c = Connection(vhost_url, transport_options=FAST)
    yield c
    c.release()


def test_driver_and_connection(conn, zk):
    conn.connect()
    assert conn.connected
    assert conn.transport.driver_name == 'kazoo'
    assert conn.transport.driver_version() == __import__('kazoo').__version__
    assert conn.transport.verify_connection(conn.connection)
    assert conn.default_channel.client is conn.transport._get_client()
    assert conn.default_channel.client.connected
    conn.close()
    assert not conn.transport.verify_connection(conn.connection)


def test_messages_are_znodes_under_vhost(conn, zk, vhost, unique_name):
    q = Queue(unique_name, Exchange(unique_name), unique_name)
    q(conn.default_channel).declare()
    assert zk.exists(f'/{vhost}/{unique_name}') is not None
    conn.Producer().publish({'x': 1}, exchange=q.exchange, routing_key=unique_name,
                            priority=7)
    children = zk.get_children(f'/{vhost}/{unique_name}')
    assert len(children) == 1 and children[0].startswith('entry-002-')
    data, _ = zk.get(f'/{vhost}/{unique_name}/{children[0]}')
    stored = json.loads(data)
    assert stored['properties']['priority'] == 7
    assert stored['properties']['delivery_info']['routing_key'] == unique_name
    assert q(conn.default_channel).get(no_ack=True).payload == {'x': 1}
    assert zk.get_children(f'/{vhost}/{unique_name}') == []


def test_default_vhost_is_root(zk_url, unique_name):
    from kazoo.client import KazooClient
    c = Connection(zk_url, transport_options=FAST)
    try:
        ch = c.default_channel
        q = Queue(unique_name)
        q(ch).declare()
        assert ch.client.exists(f'/{unique_name}') is not None
        q(ch).delete()
        assert ch.client.exists(f'/{unique_name}') is None
    finally:
        c.release()
    assert KazooClient  # client library importable


def test_queue_name_escaping(conn, zk, vhost):
    ch = conn.default_channel
    name = f'a/b%c.{uuid.uuid4().hex[:6]}'
    Queue(name)(ch).declare()
    conn.Producer().publish('odd', routing_key=name)
    assert zk.exists(f'/{vhost}/a%2Fb%25c.{name.rsplit(".", 1)[1]}') is not None
    assert Queue(name)(ch).get(no_ack=True).payload == 'odd'


def test_size_purge_delete_passive(conn, zk, vhost, unique_name):
    ch = conn.default_channel
    q = Queue(unique_name)
    with pytest.raises(ch.connection.channel_errors):
        q(ch).queue_declare(passive=True)
    ch = conn.default_channel  # the NotFound may have closed nothing, still usable
    q(ch).declare()
    p = conn.Producer()
    for i in range(5):
        p.publish(i, routing_key=unique_name)
    assert q(ch).queue_declare(passive=True).message_count == 5
    assert q(ch).purge() == 2 + 3
    assert q(ch).queue_declare(passive=True).message_count == 0
    p.publish('again', routing_key=unique_name)
    assert q(ch).delete() == 1
    assert zk.exists(f'/{vhost}/{unique_name}') is None
    assert ch._size(unique_name) == 0 and ch._purge(unique_name) == 0
    # publishing to a deleted queue recreates it
    p.publish('back', routing_key=unique_name)
    assert q(ch).get(no_ack=True).payload == 'back'


def test_reject_requeue_goes_to_head_of_its_priority(conn, unique_name):
    ch = conn.default_channel
    q = Queue(unique_name, max_priority=10)
    q(ch).declare()
    p = conn.Producer()
    for body in ('first', 'second', 'third'):
        p.publish(body, routing_key=unique_name)
    m1 = q(ch).get()
    m2 = q(ch).get()
    assert (m1.payload, m2.payload) == ('first', 'second')
    m2.requeue()
    m1.requeue()
    got = [q(ch).get() for _ in range(3)]
    assert [m.payload for m in got] == ['first', 'second', 'third']
    assert got[0].delivery_info['redelivered'] is True
    assert got[2].delivery_info['redelivered'] is False
    for m in got:
        m.ack()
    assert q(ch).get() is None


def test_recover_and_close_restore_in_order(conn, vhost_url, unique_name):
    ch = conn.default_channel
    q = Queue(unique_name)
    q(ch).declare()
    p = conn.Producer()
    for i in range(4):
        p.publish(i, routing_key=unique_name)
    taken = [q(ch).get() for _ in range(3)]
    assert [m.payload for m in taken] == [0, 1, 2]
    ch.basic_recover(requeue=True)
    taken = [q(ch).get() for _ in range(2)]
    assert [m.payload for m in taken] == [0, 1]
    conn.release()                           # unacked restored on close
    with Connection(vhost_url, transport_options=FAST) as c2:
        got = [get_message(Queue(unique_name)(c2.default_channel), no_ack=True).payload
               for _ in range(4)]
    assert got == [0, 1, 2, 3]


def test_consumer_and_drain_timeout(conn, unique_name):
    q = Queue(unique_name, Exchange(unique_name), unique_name)
    got = []
    with conn.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
        conn.Producer().publish('hi', exchange=q.exchange, routing_key=unique_name)
        drain_until(conn, lambda: got)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            conn.drain_events(timeout=0.1)
        assert time.monotonic() - t0 < 2
    assert got == ['hi']


def test_too_large_message_is_refused(conn, unique_name):
    q = Queue(unique_name)
    q(conn.default_channel).declare()
    with pytest.raises(conn.channel_errors, match='too large'):
        conn.Producer().publish('x' * (1024 * 1024), routing_key=unique_name)


def test_unreachable_server_is_a_connection_error():
    c = Connection('zookeeper://127.0.0.1:1/', connect_timeout=0.5)
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


def test_ensure_recovers_after_session_loss(conn, unique_name):
    q = Queue(unique_name)
    q(conn.default_channel).declare()
    producer = conn.Producer()
    conn.transport._get_client().stop()      # the ZooKeeper session goes away
    publish = conn.ensure(producer, producer.publish, max_retries=2, interval_start=0)
    publish('after', routing_key=unique_name)
    assert get_message(q(conn.default_channel), no_ack=True).payload == 'after'


CONSUMER = r'''
import json, sys, time
from kombu import Connection, Queue
url, name = sys.argv[1], sys.argv[2]
got = []
with Connection(url, transport_options={'polling_interval': 0.01}) as conn:
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
        time.sleep(0.005)                # "work" on the message
        idle = time.monotonic()
print(json.dumps(got), flush=True)
'''


def test_competing_consumers_in_two_processes(conn, vhost_url, unique_name):
    q = Queue(unique_name)
    q(conn.default_channel).declare()
    n = 200
    producer = conn.Producer()
    for i in range(n):
        producer.publish(i, routing_key=unique_name)
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, '-c', CONSUMER, vhost_url, unique_name],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    for proc in procs:
        assert proc.stdout.readline().strip() == 'ready'
    for proc in procs:                       # start both at once
        proc.stdin.write('go\n')
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        results.append(json.loads(out.strip().splitlines()[-1]))
    a, b = results
    assert not set(a) & set(b), 'a message was taken by both consumers'
    assert sorted(a + b) == list(range(n))
    assert len(a) + len(b) == n
    assert a and b, 'both consumers should have taken some messages'


def test_waiting_consumer_wakes_on_publish(vhost_url, zk, unique_name):
    """With the default polling_interval a publish still wakes the consumer at once."""
    import threading
    q = Queue(unique_name)
    got = []
    with Connection(vhost_url, transport_options={}) as c1, \
            Connection(vhost_url, transport_options={}) as c2:
        q(c1.default_channel).declare()
        assert c1.transport.polling_interval == 1
        with c1.Consumer([q], callbacks=[lambda b, m: (got.append(time.monotonic()), m.ack())]):
            with pytest.raises(TimeoutError):
                c1.drain_events(timeout=0.2)      # now waiting on the server
            sent = []
            timer = threading.Timer(0.2, lambda: (
                sent.append(time.monotonic()), c2.Producer().publish('x', routing_key=unique_name)))
            timer.start()
            c1.drain_events(timeout=5)
            timer.join()
        assert got and got[0] - sent[0] < 0.5 * 1


# -- compatibility with Kombu 4.6.7 ---------------------------------------------

#: A message as Kombu 4.6.7 stored it (payload {"hello": "ref"}, priority 0).
KOMBU4_MESSAGE = (
    '{"body": "eyJoZWxsbyI6ICJyZWYifQ==", "content-encoding": "utf-8", '
    '"content-type": "application/json", "headers": {}, "properties": '
    '{"delivery_mode": 2, "delivery_info": {"exchange": "%s", "routing_key": "%s"}, '
    '"priority": 0, "body_encoding": "base64", '
    '"delivery_tag": "839519c0-cdd3-4b5d-9a3c-3b7a4d0b6a11"}}')

def run_reference(*args: str) -> str:
    """Run PUBLISH_GET_SCRIPT with the original Kombu 4.6.7 (skip if it is missing)."""
    require_reference('kazoo')
    return run_in_reference(PUBLISH_GET_SCRIPT, *args, timeout=60).strip()


@pytest.mark.parametrize('prefix', ['plain', 'with space é'])
def test_reads_messages_stored_by_kombu4(conn, zk, vhost, prefix):
    # Kombu 4.6.7 used the queue name as it is (spaces, non-ASCII) under /<vhost>
    name = f'{prefix}.{uuid.uuid4().hex[:6]}'
    zk.create(f'/{vhost}/{name}/entry-009-0000000000',
              (KOMBU4_MESSAGE % (name, name)).encode(), makepath=True)
    q = Queue(name, Exchange(name), name)
    m = q(conn.default_channel).get(no_ack=True)
    assert m.payload == {'hello': 'ref'}
    q(conn.default_channel).declare()
    conn.Producer().publish('back', exchange=q.exchange, routing_key=name)
    assert len(zk.get_children(f'/{vhost}/{name}')) == 1


def test_interop_with_reference_kombu4(vhost_url, conn, unique_name):
    name = f'{unique_name} é'
    run_reference(vhost_url, name, 'publish')
    q = Queue(name, Exchange(name), name)
    assert q(conn.default_channel).get(no_ack=True).payload == {'from': 'kombu4'}
    q(conn.default_channel).declare()
    conn.Producer().publish({'from': 'ours'}, exchange=name, routing_key=name)
    assert run_reference(vhost_url, name, 'get') == "{'from': 'ours'}"
