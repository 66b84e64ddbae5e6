"""Redis transport: documented behaviour (47-kombu.transport.redis) on a real server.

Every test isolates itself with a unique ``global_keyprefix`` and deletes the
keys under it afterwards.
"""
from __future__ import annotations

import socket
import uuid

import pytest

from kombu import Connection, Exchange, Queue

redis = pytest.importorskip('redis')

pytestmark = pytest.mark.services


@pytest.fixture
def prefix(redis_url):
    value = f'h2spec.{uuid.uuid4().hex[:10]}.'
    yield value
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=value + '*', count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def make_conn(redis_url, prefix):
    made = []

    def factory(**options):
        options.setdefault('global_keyprefix', prefix)
        conn = Connection(redis_url, transport_options=options)
        made.append(conn)
        return conn

    yield factory
    for conn in made:
        conn.close()


def drain(conn, until, timeout=0.5):
    while not until():
        try:
            conn.drain_events(timeout=timeout)
        except socket.timeout:
            return


def test_active_queues_excludes_fanout_queues(make_conn):
    # 47: active_queues - "Set of queues being consumed from (excluding fanout queues)."
    conn = make_conn()
    channel = conn.channel()
    direct = Queue('aq.direct', Exchange('aq.dx', 'direct'), 'k')
    fanout = Queue('aq.fanout', Exchange('aq.fx', 'fanout'))
    with conn.Consumer([direct, fanout], channel=channel, callbacks=[]):
        assert channel.active_queues == {'aq.direct'}
    assert channel.active_queues == set()


def _consumption_order(make_conn, strategy, prefetch=None):
    conn = make_conn(queue_order_strategy=strategy)
    names = ['qc', 'qa', 'qb']
    queues = [Queue(f'{strategy}.{n}', Exchange(f'{strategy}.x', 'direct'), n) for n in names]
    channel = conn.channel()
    producer = make_conn().Producer()
    for q in queues:
        q(channel).declare()
        for _ in range(2):
            producer.publish({'q': q.routing_key}, exchange=q.exchange,
                             routing_key=q.routing_key)
    got = []

    def on_message(body, message):
        got.append(body['q'])
        message.ack()

    with conn.Consumer(queues, channel=channel, callbacks=[on_message],
                       prefetch_count=prefetch):
        drain(conn, until=lambda: len(got) >= 6)
    assert channel.queue_order_strategy == strategy
    return got


def test_queue_order_strategy_sorted(make_conn):
    # 47: sorted - "Consume from queues in alphabetical order."
    assert _consumption_order(make_conn, 'sorted') == ['qa', 'qa', 'qb', 'qb', 'qc', 'qc']


def test_queue_order_strategy_priority(make_conn):
    # 47: priority - "Consume from queues in original order, so that if the
    # first queue always contains messages, the rest of the queues in the list
    # will never be consumed from."
    assert _consumption_order(make_conn, 'priority') == ['qc', 'qc', 'qa', 'qa', 'qb', 'qb']


def test_queue_order_strategy_round_robin_is_the_default(make_conn):
    # 47: round_robin - "Make sure each queue has an equal opportunity to be
    # consumed from."; "The default is to consume from queues in round robin."
    assert make_conn().channel().queue_order_strategy == 'round_robin'
    got = _consumption_order(make_conn, 'round_robin', prefetch=1)
    assert got == ['qc', 'qa', 'qb', 'qc', 'qa', 'qb']


def test_fanout_prefix_string_replaces_the_default_prefix(make_conn, prefix, redis_url):
    # 47: fanout_prefix - "Can also be string, in which case it changes the
    # default prefix ('/{db}.') into to something else."
    raw = redis.Redis.from_url(redis_url)
    watcher = raw.pubsub()
    watcher.psubscribe(f'{prefix}/custom.*')
    watcher.get_message(timeout=1)
    try:
        conn = make_conn(fanout_prefix='/custom.')
        exchange = Exchange('fp.x', 'fanout')
        got = []
        with conn.Consumer([Queue('fp.q', exchange)], channel=conn.channel(),
                           callbacks=[lambda body, message: got.append(body)]):
            make_conn(fanout_prefix='/custom.').Producer().publish(
                {'n': 1}, exchange=exchange, routing_key='')
            drain(conn, until=lambda: got)
        assert got == [{'n': 1}]
        message = watcher.get_message(timeout=1)
        assert message['channel'] == f'{prefix}/custom.fp.x'.encode()
    finally:
        watcher.close()
        raw.close()


def test_fanout_patterns_disabled_ignores_binding_keys(make_conn):
    # 47: fanout_patterns - "If enabled the fanout exchange will support
    # patterns in routing and binding keys"; "Disable for backwards
    # compatibility with Kombu 3.x."
    conn = make_conn(fanout_patterns=False)
    exchange = Exchange('np.x', 'fanout')
    got = []
    with conn.Consumer([Queue('np.q', exchange, routing_key='a.*')], channel=conn.channel(),
                       callbacks=[lambda body, message: got.append(body)]):
        producer = make_conn(fanout_patterns=False).Producer()
        for key in ('a.b', 'zz'):
            producer.publish({'k': key}, exchange=exchange, routing_key=key)
        drain(conn, until=lambda: len(got) >= 2)
    assert got == [{'k': 'a.b'}, {'k': 'zz'}]


def test_qos_settings_come_from_transport_options(make_conn):
    # 47: from_transport_options includes unacked_key, unacked_index_key,
    # unacked_mutex_key, unacked_mutex_expire, visibility_timeout
    channel = make_conn(unacked_key='u.k', unacked_index_key='u.i', unacked_mutex_key='u.m',
                        unacked_mutex_expire=12, visibility_timeout=33).channel()
    qos = channel.qos
    assert (qos.unacked_key, qos.unacked_index_key, qos.unacked_mutex_key) == (
        'u.k', 'u.i', 'u.m')
    assert (qos.unacked_mutex_expire, qos.visibility_timeout) == (12, 33)
    defaults = make_conn().channel().qos
    assert (defaults.unacked_key, defaults.unacked_index_key, defaults.unacked_mutex_key,
            defaults.unacked_mutex_expire, defaults.visibility_timeout) == (
        'unacked', 'unacked_index', 'unacked_mutex', 300, 3600)


def test_priority_maps_to_configured_steps(make_conn):
    # 47: priority(n), priority_steps = [0, 3, 6, 9]
    channel = make_conn().channel()
    assert [channel.priority(n) for n in (0, 1, 3, 4, 9, 10)] == [0, 0, 3, 3, 9, 9]
    custom = make_conn(priority_steps=[0, 5]).channel()
    assert [custom.priority(n) for n in (4, 5, 9)] == [0, 5, 5]
