"""Redis transport: data layout, routing, reliability and faults, on real servers.

Tests on the shared Redis (6379) isolate themselves with a unique
``global_keyprefix`` and delete every key under it.  Tests that restart,
kill or reconfigure a server start their own throwaway ``redis-server``.
"""
from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError

sys.path.insert(0, str(Path(__file__).parent))
from redis_sentinel import RedisServer, free_port, sentinel_config  # noqa: E402
from reference_kombu import REFERENCE_PYTHON, require_reference, run_reference  # noqa: E402

redis = pytest.importorskip('redis')

SEP = '\x06\x16'
pytestmark = pytest.mark.services


# -- fixtures ------------------------------------------------------------------

@pytest.fixture
def prefix(redis_url):
    """A unique key prefix; every key under it is deleted afterwards."""
    value = f'kt.{uuid.uuid4().hex[:10]}.'
    yield value
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=value.replace('[', '\\[') + '*', count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def raw(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_conn(redis_url, prefix):
    made = []

    def factory(url=None, **options):
        options.setdefault('global_keyprefix', prefix)
        conn = Connection(url or redis_url, transport_options=options)
        made.append(conn)
        return conn

    yield factory
    for conn in made:
        conn.close()


@pytest.fixture
def server(tmp_path):
    """A throwaway redis-server (persisting to an append-only file)."""
    srv = RedisServer(tmp_path / 'srv', '--appendonly', 'yes', '--appendfsync', 'always')
    srv.start()
    yield srv
    srv.stop()


def drain(conn, timeout=0.3, until=None):
    """Drain events until ``until()`` is true or nothing came for ``timeout``."""
    while until is None or not until():
        try:
            conn.drain_events(timeout=timeout)
        except socket.timeout:
            return


def consume(conn, queue, n=None, ack=True, prefetch=None, timeout=0.5, channel=None,
            **kwargs):
    got = []

    def on_message(body, message):
        got.append((body, message))
        if ack:
            message.ack()

    channel = channel or conn.channel()
    with conn.Consumer([queue], channel=channel, callbacks=[on_message],
                       prefetch_count=prefetch, **kwargs):
        drain(conn, timeout=timeout, until=(lambda: len(got) >= n) if n else None)
    return got, channel


# -- data layout ---------------------------------------------------------------

def test_keys_and_formats_are_kombu_compatible(make_conn, prefix, raw):
    conn = make_conn()
    exchange = Exchange('x', 'direct')
    queue = Queue('q', exchange, 'rk')
    with conn.channel() as channel:
        queue(channel).declare()
        producer = conn.Producer(channel)
        producer.publish({'n': 0}, exchange=exchange, routing_key='rk')
        producer.publish({'n': 5}, exchange=exchange, routing_key='rk', priority=5)
        assert raw.smembers(f'{prefix}_kombu.binding.x') == {f'rk{SEP}{SEP}q'.encode()}
        assert raw.llen(f'{prefix}q') == 1
        assert raw.llen(f'{prefix}q{SEP}3') == 1
        stored = json.loads(raw.lindex(f'{prefix}q', 0))
        assert set(stored) == {'body', 'content-encoding', 'content-type', 'headers',
                               'properties'}
        props = stored['properties']
        assert props['body_encoding'] == 'base64'
        assert props['delivery_info'] == {'exchange': 'x', 'routing_key': 'rk'}
        assert isinstance(props['delivery_tag'], str)

    got, channel = consume(conn, queue, n=2, ack=False, prefetch=10)
    assert [body for body, _ in got] == [{'n': 0}, {'n': 5}]
    entries = raw.hgetall(f'{prefix}unacked')
    index = dict(raw.zrange(f'{prefix}unacked_index', 0, -1, withscores=True))
    assert set(entries) == set(index) and len(entries) == 2
    now = float(raw.time()[0])
    for tag, value in entries.items():
        message, ex, rk = json.loads(value)
        assert (ex, rk) == ('x', 'rk')
        assert message['properties']['delivery_tag'] == tag.decode()
        assert abs(index[tag] - now) < 10
    assert {m.properties['delivery_tag'] for _, m in got} == {t.decode() for t in entries}
    for _, message in got:
        message.ack()
    channel.close()
    assert raw.hlen(f'{prefix}unacked') == 0
    assert raw.zcard(f'{prefix}unacked_index') == 0


def test_priority_steps_consumed_lowest_step_first(make_conn):
    conn = make_conn(priority_steps=list(range(10)))
    queue = Queue('prio', Exchange('prio'), 'prio')
    channel = conn.channel()
    assert channel.priority(4) == 4 and channel.priority(42) == 9
    default = make_conn().channel()
    assert [default.priority(n) for n in (0, 2, 3, 5, 6, 9, 10)] == [0, 0, 3, 3, 6, 9, 9]
    queue(channel).declare()
    producer = conn.Producer(channel)
    for pri in (7, 2, 9, 0, 4):
        producer.publish({'p': pri}, exchange=queue.exchange, routing_key='prio',
                         priority=pri)
    assert queue(channel).queue_declare(passive=True).message_count == 5
    got, _ = consume(conn, queue, n=5, prefetch=1)
    assert [body['p'] for body, _ in got] == [0, 2, 4, 7, 9]


@pytest.mark.parametrize('strategy,expected', [
    # spec: round_robin gives each queue an equal opportunity, message by message
    ('round_robin', ['a0', 'b0', 'c0', 'a1', 'b1', 'c1', 'a2', 'a3']),
    # priority/sorted drain in queue order
    ('priority', ['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'c0', 'c1']),
])
def test_queue_order_strategy_within_one_batched_fetch(make_conn, strategy, expected):
    conn = make_conn(queue_order_strategy=strategy)
    exchange = Exchange('rr')
    queues = [Queue(f'rr{name}', exchange, f'rr{name}') for name in 'abc']
    channel = conn.channel()
    producer = conn.Producer(channel)
    for queue in queues:
        queue(channel).declare()
    for name, n in (('a', 4), ('b', 2), ('c', 2)):
        for i in range(n):
            producer.publish(f'{name}{i}', exchange=exchange, routing_key=f'rr{name}')
    got = []
    with conn.Consumer(queues, channel=channel, prefetch_count=100,
                       callbacks=[lambda body, message: (got.append(body), message.ack())]):
        deadline = time.monotonic() + 5
        while len(got) < 8 and time.monotonic() < deadline:
            conn.drain_events(timeout=1)
    assert got == expected


def test_virtual_host_selects_the_database(redis_url, prefix):
    base = redis_url.rsplit('/', 1)[0]
    conn = Connection(f'{base}/3', transport_options={'global_keyprefix': prefix})
    try:
        conn.SimpleQueue('vh').put({'db': 3})
        client = redis.Redis.from_url(f'{base}/3')
        try:
            assert client.llen(f'{prefix}vh') == 1
            assert redis.Redis.from_url(f'{base}/0').llen(f'{prefix}vh') == 0
        finally:
            client.delete(*client.keys(f'{prefix}*'))
    finally:
        conn.close()


# -- routing ---------------------------------------------------------------------

def test_publish_is_one_round_trip_and_follows_bindings_changed_elsewhere(
        make_conn, prefix, raw):
    conn = make_conn(publish_window=1)
    exchange = Exchange('ex', 'direct')
    queue = Queue('a', exchange, 'k')
    channel = conn.channel()
    queue(channel).declare()
    producer = conn.Producer(channel)
    producer.publish({'n': 1}, exchange=exchange, routing_key='k')
    # another process binds queue 'b' (straight in Redis, as it would)
    raw.sadd(f'{prefix}_kombu.binding.ex', f'k{SEP}{SEP}b')
    sent = []
    pool = channel.pool
    original = pool.get_connection

    def counting(*args, **kwargs):
        c = original(*args, **kwargs)
        send = c.send_command

        def spy(*command, **kw):
            sent.append(command[0])
            return send(*command, **kw)
        c.send_command = spy
        return c
    channel._publisher = None
    pool.get_connection = counting
    try:
        producer.publish({'n': 2}, exchange=exchange, routing_key='k')
    finally:
        pool.get_connection = original
    assert [c for c in sent if c != 'SCRIPT'] == ['EVALSHA']   # + LOAD once per connection
    assert raw.llen(f'{prefix}a') == 2 and raw.llen(f'{prefix}b') == 1
    raw.srem(f'{prefix}_kombu.binding.ex', f'k{SEP}{SEP}b')
    producer.publish({'n': 3}, exchange=exchange, routing_key='k')
    assert raw.llen(f'{prefix}a') == 3 and raw.llen(f'{prefix}b') == 1


def test_pipelined_publishes_survive_idle_health_checks(make_conn, prefix, raw):
    conn = make_conn(health_check_interval=0.05)
    queue = Queue('hc', Exchange('hc'), 'hc')
    channel = conn.channel()
    queue(channel).declare()
    producer = conn.Producer(channel)
    for _round in range(3):
        for i in range(5):
            producer.publish({'i': i}, exchange=queue.exchange, routing_key='hc')
        time.sleep(0.1)                     # replies unread, health check due
    assert channel.queue_declare('hc', passive=True).message_count == 15
    assert raw.llen(f'{prefix}hc') == 15


def test_undeclared_exchange_routes_by_stored_bindings(make_conn, prefix, raw):
    conn = make_conn()
    channel = conn.channel()
    Queue('t1', Exchange('top', 'topic'), 'a.*.c')(channel).declare()
    Queue('d1', Exchange('dir', 'direct'), 'a.b.c')(channel).declare()
    other = make_conn()
    other.transport.state = type(conn.transport.state)()   # knows no exchanges
    other_channel = other.channel()
    other.Producer(other_channel).publish({'n': 1}, exchange='top', routing_key='a.x.c')
    other.Producer(other_channel).publish({'n': 2}, exchange='dir', routing_key='a.b.c')
    other_channel.close()
    assert raw.llen(f'{prefix}t1') == 1 and raw.llen(f'{prefix}d1') == 1


TOPIC_CASES = [(b, r) for b in ('#', '*', 'a.#', '#.c', 'a.*', 'a.*.c', 'a.#.c', '*.b.*',
                                 'a.b.c', '#.#', 'a.#.#.c', '*.#', '#.*', '', 'a..c')
               for r in ('', 'a', 'a.b', 'a.b.c', 'a.x.y.c', 'c', 'b.c', 'a.c', 'x.b.y',
                         'a..c', '.')]


def test_server_side_topic_matching_agrees_with_engine(make_conn, raw):
    from kombu.transport import _redis_scripts
    from kombu.transport.virtual.exchange import TopicExchange
    conn = make_conn()
    channel = conn.channel()
    engine = TopicExchange(channel)
    script = raw.register_script(
        _redis_scripts.COMMON + 'return topic_match(ARGV[1], ARGV[2]) and 1 or 0')
    pipe = raw.pipeline()
    for binding, key in TOPIC_CASES:
        script(args=[binding, key], client=pipe)
    results = pipe.execute()
    for (binding, key), got in zip(TOPIC_CASES, results):
        table = [(binding, engine.key_to_pattern(binding), 'q')]
        expected = engine.lookup(table, 'x', key, None) == {'q'}
        assert bool(got) == expected, (binding, key)


def test_fanout_uses_pubsub_with_documented_prefix(make_conn, prefix, raw):
    conn = make_conn()
    exchange = Exchange('bcast', 'fanout')
    queues = [Queue(f'f{i}', exchange) for i in range(2)]
    watcher = raw.pubsub()
    watcher.psubscribe(f'{prefix}/0.bcast*')
    watcher.get_message(timeout=1)
    got = {q.name: [] for q in queues}
    channels = []
    for q in queues:
        channel = conn.channel()
        channels.append(channel)
        consumer = conn.Consumer([q], channel=channel,
                                 callbacks=[lambda b, m, q=q: (got[q.name].append(b), m.ack())])
        consumer.consume()
    publisher = make_conn()
    publisher.Producer(publisher.channel()).publish({'hi': 1}, exchange=exchange,
                                                    routing_key='any.key')
    drain(conn, until=lambda: all(got.values()))
    assert got == {'f0': [{'hi': 1}], 'f1': [{'hi': 1}]}
    message = watcher.get_message(timeout=1)
    assert message['channel'].decode() == f'{prefix}/0.bcast/any.key'
    watcher.close()


def test_fanout_patterns_filter_on_binding_key(make_conn):
    conn = make_conn()
    exchange = Exchange('pat', 'fanout')
    queue = Queue('pq', exchange, routing_key='a.*')
    got = []
    channel = conn.channel()
    with conn.Consumer([queue], channel=channel, callbacks=[lambda b, m: got.append(b)]):
        producer = make_conn().Producer()
        for key in ('a.b', 'b.c', 'a.c'):
            producer.publish({'k': key}, exchange=exchange, routing_key=key)
        drain(conn, until=lambda: len(got) >= 2)
    assert got == [{'k': 'a.b'}, {'k': 'a.c'}]


# -- consuming, acks and restores ------------------------------------------------

def test_prefetch_batches_and_acks_share_round_trips(make_conn, prefix, raw):
    conn = make_conn()
    queue = Queue('batch', Exchange('batch'), 'batch')
    channel = conn.channel()
    queue(channel).declare()
    producer = conn.Producer(channel)
    for i in range(300):
        producer.publish({'i': i}, exchange=queue.exchange, routing_key='batch')
    calls = []
    consumer_channel = conn.channel()
    fetch = consumer_channel._fetch

    def spy(pairs, count, no_ack=None, round_size=1):
        result = fetch(pairs, count, no_ack, round_size)
        calls.append((count, len(result)))
        return result
    consumer_channel._fetch = spy
    got, _ = consume(conn, queue, n=300, prefetch=100, channel=consumer_channel)
    assert [b['i'] for b, _ in got] == list(range(300))
    assert calls[0] == (100, 100) and len([c for c in calls if c[1]]) == 3
    drain(conn, timeout=0.05)
    assert raw.hlen(f'{prefix}unacked') == 0


def test_acks_are_flushed_when_idle_without_close(make_conn, prefix, raw):
    conn = make_conn()
    queue = Queue('idle', Exchange('idle'), 'idle')
    channel = conn.channel()
    queue(channel).declare()
    conn.Producer(channel).publish({'x': 1}, exchange=queue.exchange, routing_key='idle')
    got = []
    consumer = conn.Consumer([queue], channel=channel,
                             callbacks=[lambda b, m: (got.append(b), m.ack())])
    consumer.consume()
    drain(conn, timeout=0.2, until=lambda: got)
    with pytest.raises(socket.timeout):
        conn.drain_events(timeout=0.05)
    assert raw.hlen(f'{prefix}unacked') == 0 and raw.zcard(f'{prefix}unacked_index') == 0


def test_unacked_restored_in_order_when_channel_closes(make_conn, prefix, raw):
    conn = make_conn()
    queue = Queue('rc', Exchange('rc'), 'rc')
    channel = conn.channel()
    queue(channel).declare()
    producer = conn.Producer(channel)
    for i in range(5):
        producer.publish({'i': i}, exchange=queue.exchange, routing_key='rc')
    got, consumer_channel = consume(conn, queue, n=3, ack=False, prefetch=3)
    got[0][1].ack()
    consumer_channel.close()
    assert raw.hlen(f'{prefix}unacked') == 0
    again, _ = consume(conn, queue, n=4, prefetch=10)
    assert [b['i'] for b, _ in again] == [1, 2, 3, 4]
    assert [m.delivery_info['redelivered'] for _, m in again] == [True, True, False, False]


def test_reject_requeue_and_reject_drop(make_conn, prefix, raw):
    conn = make_conn()
    queue = Queue('rj', Exchange('rj'), 'rj')
    simple = conn.SimpleQueue(queue)
    simple.put({'n': 1})
    message = simple.get(timeout=1)
    message.requeue()
    again = simple.get(timeout=1)
    assert again.payload == {'n': 1} and again.delivery_info['redelivered']
    again.reject()
    with pytest.raises(simple.Empty):
        simple.get(timeout=0.2)
    simple.close()
    assert raw.hlen(f'{prefix}unacked') == 0 and raw.llen(f'{prefix}rj') == 0


def test_ack_multiple_removes_every_settled_message_from_the_unacked_hash(
        make_conn, prefix, raw):
    conn = make_conn()
    queue = Queue('am', Exchange('am'), 'am')
    channel = conn.channel()
    bound = queue(channel)
    bound.declare()
    producer = conn.Producer(channel)
    for i in range(3):
        producer.publish({'i': i}, exchange=queue.exchange, routing_key='am')
    got = [bound.get() for _ in range(3)]
    assert raw.hlen(f'{prefix}unacked') == 3
    channel.basic_ack(got[1].delivery_tag, multiple=True)
    channel._flush_acks()
    assert raw.hlen(f'{prefix}unacked') == 1
    channel.close()                      # the third goes back to the queue
    assert raw.hlen(f'{prefix}unacked') == 0 and raw.llen(f'{prefix}am') == 1


def test_without_ack_emulation_nothing_is_tracked(make_conn, prefix, raw):
    conn = make_conn(ack_emulation=False)
    queue = Queue('noemu', Exchange('noemu'), 'noemu')
    simple = conn.SimpleQueue(queue)
    simple.put({'n': 1})
    message = simple.get(timeout=1)
    assert message.payload == {'n': 1}
    assert raw.hlen(f'{prefix}unacked') == 0
    simple.close()                       # at-most-once: nothing to restore
    assert raw.llen(f'{prefix}noemu') == 0


def test_basic_get_with_and_without_ack(make_conn, prefix, raw):
    conn = make_conn()
    queue = Queue('bg', Exchange('bg'), 'bg')
    channel = conn.channel()
    bound = queue(channel)
    bound.declare()
    producer = conn.Producer(channel)
    producer.publish({'n': 1}, exchange=queue.exchange, routing_key='bg')
    producer.publish({'n': 2}, exchange=queue.exchange, routing_key='bg')
    first = bound.get(no_ack=True)
    assert first.payload == {'n': 1} and raw.hlen(f'{prefix}unacked') == 0
    second = bound.get()
    assert second.payload == {'n': 2} and raw.hlen(f'{prefix}unacked') == 1
    second.ack()
    assert bound.get() is None
    assert raw.hlen(f'{prefix}unacked') == 0


def test_queue_admin_operations(make_conn, prefix, raw):
    conn = make_conn()
    exchange = Exchange('adm', 'direct')
    queue = Queue('adm', exchange, 'adm')
    channel = conn.channel()
    bound = queue(channel)
    bound.declare()
    assert channel.get_table('adm') == [('adm', '', 'adm')]
    producer = conn.Producer(channel)
    for pri in (0, 4, 9):
        producer.publish({'p': pri}, exchange=exchange, routing_key='adm', priority=pri)
    assert bound.queue_declare(passive=True).message_count == 3
    assert bound.purge() == 3
    producer.publish({'p': 1}, exchange=exchange, routing_key='adm')
    bound.delete()
    assert raw.keys(f'{prefix}adm*') == []
    with pytest.raises(conn.channel_errors):
        bound.queue_declare(passive=True)


def test_non_kombu_data_is_logged_skipped_and_kept(make_conn, prefix, raw, caplog):
    conn = make_conn()
    queue = Queue('junk', Exchange('junk'), 'junk')
    channel = conn.channel()
    queue(channel).declare()
    raw.lpush(f'{prefix}junk', b'\xff not json', json.dumps({'no': 'properties'}))
    conn.Producer(channel).publish({'ok': True}, exchange=queue.exchange, routing_key='junk')
    with caplog.at_level(logging.ERROR, logger='kombu.transport.redis'):
        got, consumer_channel = consume(conn, queue, n=1, prefetch=10)
    consumer_channel.close()
    assert [b for b, _ in got] == [{'ok': True}]
    assert len([r for r in caplog.records if 'not a Kombu message' in r.getMessage()]) == 2
    assert raw.llen(f'{prefix}_kombu.invalid.{prefix}junk') == 2
    assert raw.hlen(f'{prefix}unacked') == 0


# -- visibility timeout ----------------------------------------------------------

def test_restore_visible_only_after_timeout_and_exactly_once(make_conn, prefix, raw):
    conn = make_conn(visibility_timeout=1, unacked_restore_interval=0.001)
    queue = Queue('vt', Exchange('vt'), 'vt')
    channel = conn.channel()
    queue(channel).declare()
    producer = conn.Producer(channel)
    for i in range(200):
        producer.publish({'i': i}, exchange=queue.exchange, routing_key='vt')
    # take them as a consumer that then hangs (never acks, never closes)
    hung = channel._fetch(channel._pairs(['vt']), 200)
    assert len(hung) == 200 and raw.hlen(f'{prefix}unacked') == 200
    assert channel.qos.restore_visible() == 0          # owner still within its timeout
    time.sleep(1.05)
    restorers = [make_conn(visibility_timeout=1, unacked_restore_interval=0.001)
                 for _ in range(4)]
    counts = []
    barrier = threading.Barrier(len(restorers))

    def run(c):
        ch = c.channel()
        barrier.wait()
        counts.append(ch.qos.restore_visible())
        ch.close()
    threads = [threading.Thread(target=run, args=(c,)) for c in restorers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 200
    assert raw.llen(f'{prefix}vt') == 200 and raw.hlen(f'{prefix}unacked') == 0
    got, _ = consume(make_conn(), queue, n=200, prefetch=50)
    assert sorted(b['i'] for b, _ in got) == list(range(200))
    assert all(m.delivery_info['redelivered'] for _, m in got)
    # the hung consumer's late acks don't touch the new deliveries
    channel._qos = None
    channel._pending_acks = [tag for _, _, tag in hung]
    channel._flush_acks()


def test_restore_cadence_is_shared_between_consumers(make_conn, prefix, raw):
    conn = make_conn(visibility_timeout=0.1, unacked_restore_interval=5)
    channel = conn.channel()
    assert channel.unacked_restore_interval == 5
    assert channel.qos.restore_visible() == 0
    assert raw.pttl(f'{prefix}unacked_mutex') > 4000
    other = make_conn(visibility_timeout=0.1, unacked_restore_interval=5).channel()
    assert other._restore_visible() == 0                   # gate closed for 5 s
    default = make_conn(visibility_timeout=60).channel()
    assert default.unacked_restore_interval == 10.0
    assert make_conn(visibility_timeout=2).channel().unacked_restore_interval == 0.5


CRASHING_CONSUMER = textwrap.dedent('''
    import sys, time
    from kombu import Connection, Exchange, Queue
    url, prefix = sys.argv[1], sys.argv[2]
    conn = Connection(url, transport_options={'global_keyprefix': prefix,
                                              'visibility_timeout': 1})
    queue = Queue('crash', Exchange('crash'), 'crash')
    acked = []
    def on_message(body, message):
        if body['i'] % 3 == 0:
            message.ack()
            acked.append(body['i'])
    with conn.Consumer([queue], callbacks=[on_message], prefetch_count=20):
        while len(acked) < 5:
            conn.drain_events(timeout=5)
        conn.default_channel._flush_acks()
        print(' '.join(map(str, acked)), flush=True)
        time.sleep(60)
''')


def test_consumer_killed_with_messages_in_flight_loses_nothing(redis_url, make_conn,
                                                              prefix, raw, tmp_path):
    conn = make_conn(visibility_timeout=1, unacked_restore_interval=0.2)
    queue = Queue('crash', Exchange('crash'), 'crash')
    channel = conn.channel()
    queue(channel).declare()
    producer = conn.Producer(channel)
    for i in range(40):
        producer.publish({'i': i}, exchange=queue.exchange, routing_key='crash')
    producer.channel._publisher.confirm()
    script = tmp_path / 'consumer.py'
    script.write_text(CRASHING_CONSUMER)
    proc = subprocess.Popen([sys.executable, str(script), redis_url, prefix],
                            stdout=subprocess.PIPE, text=True)
    try:
        acked = [int(x) for x in proc.stdout.readline().split()]
        assert len(acked) >= 5
        in_flight = raw.hlen(f'{prefix}unacked')
        assert in_flight > 0
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # nothing comes back before the visibility timeout...
    assert channel.qos.restore_visible() == 0
    got = []
    deadline = time.monotonic() + 10
    with conn.Consumer([queue], channel=conn.channel(), prefetch_count=50,
                       callbacks=[lambda b, m: (got.append(b['i']), m.ack())]):
        while len(set(got) | set(acked)) < 40 and time.monotonic() < deadline:
            drain(conn, timeout=0.3)
    assert set(got) | set(acked) == set(range(40))
    assert not set(got) & set(acked)          # acked ones are not redelivered
    assert raw.hlen(f'{prefix}unacked') == 0


# -- faults ----------------------------------------------------------------------

def test_redis_down_at_start_raises_and_ensure_connection_retries(tmp_path):
    port = free_port()
    conn = Connection(f'redis://127.0.0.1:{port}/0')
    with pytest.raises(conn.connection_errors) as excinfo:
        conn.connect()
    assert str(port) in str(excinfo.value)
    with pytest.raises(OperationalError):
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    srv = RedisServer(tmp_path / 'late', port=port)
    starter = threading.Timer(0.5, srv.start)
    starter.start()
    try:
        conn.ensure_connection(max_retries=20, interval_start=0.2, interval_step=0.1,
                               interval_max=0.3)
        assert conn.connected
        simple = conn.SimpleQueue('late')
        simple.put({'ok': 1})
        assert simple.get(timeout=1).payload == {'ok': 1}
    finally:
        starter.join()
        conn.close()
        srv.stop()


def test_wrong_password_and_wrong_db(tmp_path):
    srv = RedisServer(tmp_path / 'auth', '--requirepass', 's3cret').start()
    try:
        bad = Connection(f'redis://:wrong@127.0.0.1:{srv.port}/0')
        with pytest.raises(OperationalError) as excinfo:
            bad.ensure_connection(max_retries=1, interval_start=0)
        assert 'pass' in str(excinfo.value).lower() or 'auth' in str(excinfo.value).lower()
        good = Connection(f'redis://:s3cret@127.0.0.1:{srv.port}/0')
        good.SimpleQueue('auth').put({'ok': 1})
        assert good.SimpleQueue('auth').get(timeout=1).payload == {'ok': 1}
        good.close()
        nodb = Connection(f'redis://:s3cret@127.0.0.1:{srv.port}/99')
        with pytest.raises(OperationalError) as excinfo:
            nodb.connect()
        assert '99' in str(excinfo.value)
    finally:
        srv.stop()


def test_unix_socket_url(tmp_path):
    path = tmp_path / 'redis.sock'
    srv = RedisServer(tmp_path / 'unix', '--unixsocket', str(path),
                      '--unixsocketperm', '700').start()
    try:
        with Connection(f'redis+socket://{path}') as conn:
            simple = conn.SimpleQueue('unix')
            simple.put({'via': 'socket'})
            assert simple.get(timeout=1).payload == {'via': 'socket'}
            params = conn.default_channel.pool.connection_kwargs
            assert params['path'] == str(path)
    finally:
        srv.stop()


def _recovering_consume(conn, queue, want, timeout=15):
    """Consume like a ConsumerMixin would: reconnect and go on after errors."""
    got = []
    deadline = time.monotonic() + timeout
    while len(set(got)) < want and time.monotonic() < deadline:
        try:
            conn.ensure_connection(max_retries=50, interval_start=0.1, interval_step=0.1,
                                   interval_max=0.2)
            with conn.Consumer([queue], channel=conn.channel(), prefetch_count=10,
                               callbacks=[lambda b, m: (got.append(b['i']), m.ack())]):
                while len(set(got)) < want and time.monotonic() < deadline:
                    drain(conn, timeout=0.3)
        except conn.connection_errors:
            conn.close()
    return got


def test_redis_restart_mid_consume(server):
    conn = Connection(server.url, transport_options={'visibility_timeout': 1,
                                                     'unacked_restore_interval': 0.2})
    queue = Queue('rs', Exchange('rs'), 'rs')
    producer_conn = Connection(server.url)
    producer = producer_conn.Producer()
    for i in range(30):
        producer.publish({'i': i}, exchange=queue.exchange, routing_key='rs',
                         declare=[queue])
    producer_conn.close()
    held = []
    channel = conn.channel()
    consumer = conn.Consumer([queue], channel=channel, prefetch_count=10,
                             callbacks=[lambda b, m: held.append(b['i'])])
    consumer.consume()
    drain(conn, until=lambda: len(held) >= 10)
    assert len(held) == 10                         # in flight, unacked
    server.restart()
    got = _recovering_consume(conn, queue, 30)
    conn.close()
    assert set(got) == set(range(30))


def test_client_kill_of_consumer_connections(server):
    conn = Connection(server.url)
    queue = Queue('ck', Exchange('ck'), 'ck')
    producer = Connection(server.url)
    publish = producer.Producer().publish
    got = []
    channel = conn.channel()
    with conn.Consumer([queue], channel=channel, prefetch_count=10,
                       callbacks=[lambda b, m: (got.append(b['i']), m.ack())]):
        publish({'i': 0}, exchange=queue.exchange, routing_key='ck', declare=[queue])
        drain(conn, until=lambda: got)
        admin = redis.Redis(port=server.port)
        killed = admin.client_kill_filter(_type='normal', skipme=True)
        killed += admin.client_kill_filter(_type='pubsub', skipme=True)
        assert killed >= 2
        producer = Connection(server.url)
        publish = producer.Producer().publish
        for i in range(1, 5):
            publish({'i': i}, exchange=queue.exchange, routing_key='ck')
        deadline = time.monotonic() + 10
        while len(got) < 5 and time.monotonic() < deadline:
            try:
                drain(conn, until=lambda: len(got) >= 5)
            except conn.connection_errors:
                pass
    producer.close()
    conn.close()
    assert sorted(set(got)) == list(range(5))


def test_publish_with_retry_waits_for_a_restarting_server(server):
    conn = Connection(server.url)
    queue = Queue('pr', Exchange('pr'), 'pr')
    producer = conn.Producer()
    producer.publish({'n': 'before'}, exchange=queue.exchange, routing_key='pr',
                     declare=[queue])
    producer.channel._publisher.confirm()
    server.stop()
    starter = threading.Timer(0.5, server.start)
    starter.start()
    errors = []
    try:
        producer.publish({'n': 'after'}, exchange=queue.exchange, routing_key='pr',
                         retry=True, retry_policy={
                             'max_retries': 30, 'interval_start': 0.1, 'interval_step': 0.1,
                             'interval_max': 0.2,
                             'errback': lambda exc, interval: errors.append(exc)})
    finally:
        starter.join()
    # either the publish saw the failure and was retried, or it went into the
    # dying socket and is sent again when its reply is found missing
    got, _ = consume(conn, queue, timeout=0.3)
    conn.close()
    assert [b['n'] for b, _ in got] == ['before', 'after']


def test_publish_window_resends_after_connection_loss(server):
    conn = Connection(server.url, transport_options={'publish_window': 1000})
    queue = Queue('pw', Exchange('pw'), 'pw')
    channel = conn.channel()
    queue(channel).declare()
    producer = conn.Producer(channel)
    for i in range(50):
        producer.publish({'i': i}, exchange=queue.exchange, routing_key='pw')
    admin = redis.Redis(port=server.port)
    admin.client_kill_filter(_type='normal', skipme=True)
    for i in range(50, 100):
        producer.publish({'i': i}, exchange=queue.exchange, routing_key='pw')
    channel._publisher.confirm()
    # the unconfirmed ones were sent again: at least once, maybe twice
    assert 100 <= channel.queue_declare('pw', passive=True).message_count <= 150
    got, _ = consume(conn, queue, prefetch=100, timeout=0.3)
    conn.close()
    assert set(b['i'] for b, _ in got) == set(range(100))


# -- other connection kinds ------------------------------------------------------

def test_sentinel_url_with_several_sentinels(tmp_path, redis_url, prefix, raw):
    master_port = int(redis_url.rsplit(':', 1)[1].split('/')[0])
    name = f'kombu-{uuid.uuid4().hex[:6]}'
    sentinel = RedisServer(tmp_path / 'sentinel',
                           sentinel_conf=sentinel_config(master_port, name)).start()
    try:
        dead = free_port()
        url = f'sentinel://127.0.0.1:{dead};sentinel://127.0.0.1:{sentinel.port}'
        with Connection(url, transport_options={'master_name': name,
                                                'global_keyprefix': prefix}) as conn:
            assert type(conn.transport).__name__ == 'SentinelTransport'
            simple = conn.SimpleQueue('sentinel')
            simple.put({'via': 'sentinel'})
            assert raw.llen(f'{prefix}sentinel') == 1
            assert simple.get(timeout=1).payload == {'via': 'sentinel'}
        with pytest.raises(ValueError):
            Connection(url).channel()
    finally:
        sentinel.stop()


def _make_cert(folder):
    key, cert = folder / 'key.pem', folder / 'cert.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
                    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(key), '-out', str(cert)],
                   check=True, capture_output=True)
    return key, cert


def test_rediss_tls_with_ssl_options(tmp_path):
    folder = tmp_path / 'tls'
    folder.mkdir()
    key, cert = _make_cert(folder)
    port = free_port()
    srv = RedisServer(folder, '--port', '0', '--tls-port', str(port), '--tls-cert-file',
                      str(cert), '--tls-key-file', str(key), '--tls-ca-cert-file', str(cert),
                      '--tls-auth-clients', 'no', port=port).start()
    try:
        url = f'rediss://127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={cert}'
        with Connection(url, transport_options={'max_retries': 1}) as conn:
            simple = conn.SimpleQueue('tls')
            simple.put({'via': 'tls'})
            assert simple.get(timeout=1).payload == {'via': 'tls'}
            kwargs = conn.default_channel.pool.connection_kwargs
            assert kwargs['ssl_ca_certs'] == str(cert)
        with Connection(f'redis://127.0.0.1:{port}/0',
                        transport_options={'socket_timeout': 1}) as plain:
            with pytest.raises(plain.connection_errors):
                plain.connect()
    finally:
        srv.stop()


def test_connection_options_reach_redis_py(make_conn):
    conn = make_conn(socket_timeout=4, socket_connect_timeout=2, socket_keepalive=True,
                     health_check_interval=7, retry_on_timeout=True, max_connections=5)
    kwargs = conn.default_channel.pool.connection_kwargs
    assert kwargs['socket_timeout'] == 4 and kwargs['socket_connect_timeout'] == 2
    assert kwargs['socket_keepalive'] is True and kwargs['health_check_interval'] == 7
    assert kwargs['retry_on_timeout'] is True
    assert conn.default_channel.pool.max_connections == 5


def test_event_loop_consumption(make_conn):
    from kombu.asynchronous import Hub
    conn = make_conn()
    queue = Queue('hub', Exchange('hub'), 'hub')
    fan = Queue('hubfan', Exchange('hubfan', 'fanout'))
    channel = conn.channel()
    got = []
    hub = Hub()
    conn.register_with_event_loop(hub)
    try:
        with conn.Consumer([queue, fan], channel=channel, prefetch_count=20,
                           callbacks=[lambda b, m: (got.append(b), m.ack())]):
            producer = make_conn().Producer()
            for i in range(50):
                producer.publish({'i': i}, exchange=queue.exchange, routing_key='hub',
                                 declare=[queue])
            producer.publish({'fan': 1}, exchange=fan.exchange, routing_key='')
            deadline = time.monotonic() + 5
            while len(got) < 51 and time.monotonic() < deadline:
                hub.run_once()
    finally:
        hub.close()
    assert {'fan': 1} in got
    assert sorted(b['i'] for b in got if 'i' in b) == list(range(50))


def test_reference_kombu_consumes_what_we_publish(redis_url):
    require_reference('redis')
    name = f'kt.ref.{uuid.uuid4().hex[:8]}'
    with Connection(redis_url) as conn:
        queue = Queue(name, Exchange(name), name)
        conn.Producer().publish({'from': 'us'}, exchange=queue.exchange, routing_key=name,
                                declare=[queue])
        code = textwrap.dedent(f'''
            from kombu import Connection, Exchange, Queue
            with Connection({redis_url!r}) as c:
                q = Queue({name!r}, Exchange({name!r}), {name!r})
                m = q(c.default_channel).get()
                print(m.payload); m.ack()
                c.Producer().publish({{'from': 'ref'}}, exchange=q.exchange,
                                     routing_key={name!r})
        ''')
        assert run_reference(code, timeout=30).strip() == "{'from': 'us'}"
        bound = queue(conn.default_channel)
        message = bound.get()
        assert message.payload == {'from': 'ref'}
        message.ack()
        bound.delete()
    raw = redis.Redis.from_url(redis_url)
    assert raw.llen(name) == 0
    raw.delete(f'_kombu.binding.{name}')


def test_exit_confirmation_of_pipelined_publishes_is_bounded_by_its_timeout(redis_url):
    # A relay in front of the real Redis stops forwarding (a stalled network):
    # the exit-time confirmation must give up after its timeout and report the
    # unconfirmed publish, never hang the exiting process.
    import socket
    import threading
    import time
    from urllib.parse import urlsplit

    import redis

    from kombu.transport._redis_publish import PublishWindow

    upstream = urlsplit(redis_url)
    frozen = threading.Event()
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(4)

    def pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    return
                while frozen.is_set():
                    time.sleep(0.05)
                dst.sendall(data)
        except OSError:
            pass

    def accept():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection((upstream.hostname, upstream.port or 6379))
            threading.Thread(target=pipe, args=(client, server), daemon=True).start()
            threading.Thread(target=pipe, args=(server, client), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    pool = redis.ConnectionPool(host='127.0.0.1', port=listener.getsockname()[1])

    class Script:
        sha = 'f' * 40
        script = 'return 1'

    window = PublishWindow(pool, window=100, errors=(redis.ConnectionError, redis.TimeoutError))
    window._connection().connect()   # handshake through the relay while it forwards
    window._loaded.add(Script.sha)
    frozen.set()
    window.send(Script, ['k'], ['v'])
    failures = []
    t0 = time.monotonic()
    window.close(on_error=lambda exc, n: failures.append(n), timeout=0.3)
    assert time.monotonic() - t0 < 5
    assert failures == [1]   # the unconfirmed publish is reported, not dropped silently
    listener.close()


# -- mixed deployments with Kombu 4.6.7 (the reference, in a subprocess) --------

@pytest.fixture
def reference_python():
    """The reference (Kombu 4.6.7 with redis) interpreter, or skip."""
    return require_reference('redis')


#: Skips the test unless the reference interpreter is usable.
needs_reference = pytest.mark.usefixtures('reference_python')


def _run_python(python, code, cwd, background=False):
    args = [python, '-c', textwrap.dedent(code)]
    if background:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=str(cwd))
        assert proc.stdout.readline().strip() == 'READY', proc.stderr.read()
        return proc
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=str(cwd))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def mixed(redis_url, tmp_path):
    """(url of db 9, unique name, transport options); deletes the name's keys after."""
    url = redis_url.rsplit('/', 1)[0] + '/9'
    name = f'kt.mix.{uuid.uuid4().hex[:8]}'
    options = {'unacked_key': f'{name}.unacked', 'unacked_index_key': f'{name}.uidx',
               'unacked_mutex_key': f'{name}.umx', 'visibility_timeout': 1}
    yield url, name, options
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f'*{name}*', count=1000))
    if keys:
        client.delete(*keys)
    client.close()


_DECLARE = '''
    import json, os, socket
    from kombu import Connection, Exchange, Queue
    conn = Connection({url!r}, transport_options={options!r})
    exchange = Exchange({name!r}, {xtype!r})
    queue = Queue({name!r} + '.q', exchange, {binding!r}, max_priority=10)
    channel = conn.channel()
'''


def _script(body, **params):
    return textwrap.dedent(_DECLARE).format(**params) + textwrap.dedent(body)


@needs_reference
@pytest.mark.parametrize('producer', ['reference', 'ours'])
def test_mixed_versions_route_by_each_others_bindings_in_priority_order(
        mixed, tmp_path, producer):
    url, name, options = mixed
    params = dict(url=url, name=name, options=options, xtype='topic', binding='a.*')
    publish = _script('''
        exchange(channel).declare()
        producer = conn.Producer(channel)
        for p in (9, 0, 5, 0, 3):
            producer.publish({'p': p}, exchange=exchange, routing_key='a.b', priority=p,
                             headers={'h': p})
        conn.close()
    ''', **params)
    consume = _script('''
        got = []
        def on_message(body, message):
            got.append([body['p'], message.headers['h'], message.properties['priority'],
                        message.delivery_info['exchange'], message.delivery_info['routing_key']])
            message.ack()
        with conn.Consumer([queue], channel=channel, callbacks=[on_message],
                           prefetch_count=1):
            while len(got) < 5:
                conn.drain_events(timeout=10)
        print(json.dumps(got))
        conn.close()
    ''', **params)
    consumer_python = sys.executable if producer == 'reference' else REFERENCE_PYTHON
    producer_python = REFERENCE_PYTHON if producer == 'reference' else sys.executable
    # the consumer declares the queue and its binding, the producer only the exchange
    _run_python(consumer_python, _script('queue(channel).declare()', **params), tmp_path)
    _run_python(producer_python, publish, tmp_path)
    out = _run_python(consumer_python, consume, tmp_path)
    # lowest step first (Kombu's Redis convention), FIFO within a step
    assert json.loads(out) == [[p, p, p, name, 'a.b'] for p in (0, 0, 5, 3, 9)]


@needs_reference
@pytest.mark.parametrize('producer', ['reference', 'ours'])
def test_mixed_versions_fanout(mixed, tmp_path, producer):
    url, name, options = mixed
    params = dict(url=url, name=name, options={}, xtype='fanout', binding='')
    publish = _script('''
        exchange(channel).declare()
        conn.Producer(channel).publish({'f': 1}, exchange=exchange, routing_key='')
        conn.close()
    ''', **params)
    consume = _script('''
        got = []
        with conn.Consumer([queue], channel=channel,
                           callbacks=[lambda body, message: got.append(body)]):
            try:
                conn.drain_events(timeout=0.5)     # subscribes
            except socket.timeout:
                pass
            print('READY', flush=True)
            conn.drain_events(timeout=10)
        print(json.dumps(got))
        conn.close()
    ''', **params)
    consumer_python = sys.executable if producer == 'reference' else REFERENCE_PYTHON
    producer_python = REFERENCE_PYTHON if producer == 'reference' else sys.executable
    proc = _run_python(consumer_python, consume, tmp_path, background=True)
    time.sleep(0.2)
    _run_python(producer_python, publish, tmp_path)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out) == [{'f': 1}]


@needs_reference
@pytest.mark.parametrize('deliverer', ['reference', 'ours'])
def test_mixed_versions_restore_each_others_unacked_messages(mixed, tmp_path, deliverer):
    # A consumer of one version dies holding two unacked messages; after
    # visibility_timeout the other version's restore puts them back and its
    # consumer gets them again, marked as redelivered.
    url, name, options = mixed
    params = dict(url=url, name=name, options=options, xtype='direct', binding='k')
    deliver_and_die = _script('''
        queue(channel).declare()
        producer = conn.Producer(channel)
        for p in (0, 9):
            producer.publish({'p': p}, exchange=exchange, routing_key='k', priority=p)
        got = []
        def on_message(body, message):
            got.append(body)
            if len(got) == 2:
                os._exit(0)      # killed: no ack, no restore at close
        with conn.Consumer([queue], channel=channel, callbacks=[on_message],
                           prefetch_count=10):
            while True:
                conn.drain_events(timeout=10)
    ''', **params)
    restore_and_consume = _script('''
        import time
        time.sleep(1.2)
        channel.qos.restore_visible()
        got = []
        def on_message(body, message):
            got.append([body['p'], bool(message.delivery_info.get('redelivered') or
                                        message.headers.get('redelivered'))])
            message.ack()
        with conn.Consumer([queue], channel=channel, callbacks=[on_message]):
            while len(got) < 2:
                conn.drain_events(timeout=10)
        print(json.dumps(got))
        conn.close()
    ''', **params)
    deliverer_python = REFERENCE_PYTHON if deliverer == 'reference' else sys.executable
    restorer_python = sys.executable if deliverer == 'reference' else REFERENCE_PYTHON
    _run_python(deliverer_python, deliver_and_die, tmp_path)
    client = redis.Redis.from_url(url)
    assert client.hlen(options['unacked_key']) == 2
    assert client.zcard(options['unacked_index_key']) == 2
    assert json.loads(_run_python(restorer_python, restore_and_consume, tmp_path)) == [
        [0, True], [9, True]]
    assert client.hlen(options['unacked_key']) == 0
    assert client.zcard(options['unacked_index_key']) == 0
    if deliverer == 'ours':
        # Kombu 4.6.7 restored without our queues hash: our next restore run
        # sweeps the entries left there (Kombu 4.6.7 keeps its mutex 300 s)
        assert client.hlen(f"{options['unacked_key']}.queues") == 2
        client.delete(options['unacked_mutex_key'])
        with Connection(url, transport_options=options) as conn:
            assert conn.channel().qos.restore_visible() == 0
        assert client.hlen(f"{options['unacked_key']}.queues") == 0
    client.close()


@needs_reference
def test_we_mark_messages_restored_by_the_reference_as_redelivered(mixed, tmp_path):
    url, name, options = mixed
    params = dict(url=url, name=name, options=options, xtype='direct', binding='k')
    _run_python(REFERENCE_PYTHON, _script('''
        queue(channel).declare()
        conn.Producer(channel).publish({'n': 1}, exchange=exchange, routing_key='k')
        message = queue(channel).get()
        channel.qos.restore_by_tag(message.delivery_tag)
        print(message.delivery_tag)
    ''', **params), tmp_path)
    with Connection(url, transport_options=options) as conn:
        message = Queue(f'{name}.q', Exchange(name), 'k')(conn.channel()).get()
        assert message.payload == {'n': 1}
        assert message.headers == {'redelivered': True}
        assert message.delivery_info['redelivered'] is True
        message.ack()


@needs_reference
@pytest.mark.parametrize('writer', ['reference', 'ours'])
def test_mixed_versions_queue_admin_and_simple_queue(mixed, tmp_path, writer):
    url, name, options = mixed
    params = dict(url=url, name=name, options=options, xtype='direct', binding='k')
    write = _script('''
        queue(channel).declare()
        producer = conn.Producer(channel)
        for p in (0, 4, 9):
            producer.publish({'p': p}, exchange=exchange, routing_key='k', priority=p)
        simple = conn.SimpleQueue({name!r} + '.simple')
        for p in (9, 0, 5):
            simple.put({'p': p}, priority=p)
        conn.close()
    '''.replace('{name!r}', repr(name)), **params)
    read = _script('''
        bound = queue(channel)
        out = [bound.queue_declare(passive=True).message_count,
               sorted(map(list, channel.get_table({name!r}))), bound.purge()]
        simple = conn.SimpleQueue({name!r} + '.simple')
        out.append(len(simple))
        for _ in range(3):
            message = simple.get(timeout=5)
            out.append(message.payload['p'])
            message.ack()
        print(json.dumps(out))
        conn.close()
    '''.replace('{name!r}', repr(name)), **params)
    writer_python = REFERENCE_PYTHON if writer == 'reference' else sys.executable
    reader_python = sys.executable if writer == 'reference' else REFERENCE_PYTHON
    _run_python(writer_python, write, tmp_path)
    assert json.loads(_run_python(reader_python, read, tmp_path)) == [
        3, [['k', '', f'{name}.q']], 3, 3, 0, 5, 9]


@pytest.mark.parametrize('headers_json,expected', [
    ('{}', {'redelivered': True}),
    ('{"redelivered": false}', {'redelivered': True}),
    ('{"redelivered": true}', {'redelivered': True}),
    ('{"a": {"headers": {}}, "b": [1, {"c": "}\\"]"}], "n": 12345678901234567890, '
     '"f": 0.12345678901234567891}',
     {'a': {'headers': {}}, 'b': [1, {'c': '}"]'}], 'n': 12345678901234567890,
      'f': 0.12345678901234567891, 'redelivered': True}),
])
def test_restore_marks_the_headers_without_re_encoding_the_message(
        make_conn, prefix, raw, headers_json, expected):
    # As Kombu 4.x does, a restored message carries "redelivered": true in its
    # headers; the rest of the stored text is kept byte for byte.
    conn = make_conn()
    channel = conn.channel()
    text = ('{"properties": {"headers": {"x": 1}, "delivery_tag": "T", "body_encoding": "base64",'
            ' "delivery_info": {"exchange": "", "routing_key": "mq"}}, '
            '"body": "eyJoZWFkZXJzIjogewp9", "content-type": "x\\"headers\\": {", '
            f'"headers": {headers_json}, "content-encoding": "binary"}}')
    raw.hset(f'{prefix}unacked', 'T', f'[{text}, "", "mq"]')
    raw.zadd(f'{prefix}unacked_index', {'T': 1})
    channel.qos.restore_by_tag('T')
    restored = raw.lpop(f'{prefix}mq').decode()
    message = json.loads(restored)
    assert message['headers'] == expected
    assert message['properties']['headers'] == {'x': 1}
    assert message['content-type'] == 'x"headers": {'
    assert restored.startswith(text[:text.index('"headers": {', 20)])
    assert restored.endswith(', "content-encoding": "binary"}')
    assert raw.hlen(f'{prefix}unacked') == 0
    # consumed again: redelivered (and under a new tag)
    raw.rpush(f'{prefix}mq', restored)
    again = Queue('mq', Exchange('mq'), 'mq')(channel).get(no_ack=False)
    assert again.delivery_info['redelivered'] is True
    assert again.properties['delivery_tag'].startswith('T.')
    again.ack()
    channel.close()
    assert raw.hlen(f'{prefix}unacked') == 0
