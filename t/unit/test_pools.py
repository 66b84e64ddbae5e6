"""kombu.pools: pool groups keyed by connection, producer pools, limits, reset."""
from __future__ import annotations

import os
import threading

import pytest

from kombu import Connection, Consumer, pools
from kombu.exceptions import LimitExceeded


@pytest.fixture
def restore_limit():
    before = pools.get_limit()
    yield
    pools.set_limit(before, force=True)


def drain_all(conn, queue, expected, timeout=5.0):
    """Consume until `expected` bodies arrived (or timeout); return them."""
    bodies = []

    def on_message(body, message):
        bodies.append(body)
        message.ack()

    with conn.channel() as channel:
        with Consumer(channel, [queue], callbacks=[on_message], accept=['json']):
            for _ in range(expected * 4 + 50):
                if len(bodies) >= expected:
                    break
                try:
                    conn.drain_events(timeout=timeout)
                except OSError:
                    break
    return bodies


def test_equal_connections_share_one_connection_pool():
    a = pools.connections[Connection('memory://')]
    b = pools.connections[Connection('memory://')]
    assert a is b


def test_different_connections_get_different_pools(tmp_path):
    a = pools.connections[Connection('memory://')]
    b = pools.connections[Connection('memory://otherhost')]
    assert a is not b


def test_producer_pool_borrows_from_the_connection_pool_group():
    c = Connection('memory://')
    pool = pools.producers[c]
    assert isinstance(pool, pools.ProducerPool)
    assert pool.connections is pools.connections[c]
    assert pools.producers[Connection('memory://')] is pool


def test_published_message_through_producer_pool_arrives(conn, queue):
    with pools.producers[conn].acquire(block=True) as producer:
        producer.publish({'n': 1}, exchange=queue.exchange, routing_key=queue.routing_key,
                         declare=[queue], serializer='json')
    assert drain_all(conn, queue, 1) == [{'n': 1}]


def test_producer_holds_a_pooled_connection_while_acquired(conn):
    group = pools.Connections(limit=1)
    pool = pools.ProducerPool(group[conn], limit=1)
    producer = pool.acquire()
    with pytest.raises(LimitExceeded):
        group[conn].acquire(block=False)
    producer.release()
    group[conn].acquire(block=False).release()


def test_acquire_beyond_limit_without_blocking_raises_limit_exceeded(conn):
    pool = pools.ProducerPool(pools.Connections(limit=2)[conn], limit=2)
    held = [pool.acquire(), pool.acquire()]
    with pytest.raises(LimitExceeded):
        pool.acquire(block=False)
    for p in held:
        p.release()


def test_blocking_acquire_with_timeout_raises_limit_exceeded(conn):
    pool = pools.ProducerPool(pools.Connections(limit=1)[conn], limit=1)
    held = pool.acquire()
    with pytest.raises(LimitExceeded):
        pool.acquire(block=True, timeout=0.05)
    held.release()


def test_blocking_acquire_waits_for_a_release(conn):
    pool = pools.ProducerPool(pools.Connections(limit=1)[conn], limit=1)
    held = pool.acquire()
    timer = threading.Timer(0.05, held.release)
    timer.start()
    again = pool.acquire(block=True, timeout=5)
    assert again is held
    again.release()
    timer.join()


def test_releasing_a_producer_twice_does_not_hand_it_out_twice(conn):
    pool = pools.ProducerPool(pools.Connections(limit=2)[conn], limit=2)
    p = pool.acquire()
    p.release()
    p.release()
    a, b = pool.acquire(), pool.acquire()
    assert a is not b
    with pytest.raises(LimitExceeded):
        pool.acquire(block=False)
    a.release()
    b.release()


def test_released_producer_is_reused_with_a_fresh_connection(conn):
    pool = pools.ProducerPool(pools.Connections(limit=1)[conn], limit=1)
    p = pool.acquire()
    p.release()
    again = pool.acquire()
    assert again is p
    assert again.channel is not None
    again.release()


def test_acquire_from_a_closed_pool_raises(conn):
    pool = pools.ProducerPool(pools.Connections(limit=1)[conn], limit=1)
    pool.force_close_all()
    with pytest.raises(RuntimeError):
        pool.acquire()


def test_pool_group_create_is_a_subclass_responsibility():
    with pytest.raises(NotImplementedError):
        pools.PoolGroup()[Connection('memory://')]


def test_custom_group_uses_its_own_limit():
    group = pools.Connections(limit=3)
    assert group[Connection('memory://')].limit == 3
    assert pools.Producers(limit=4)[Connection('memory://')].limit == 4


def test_use_global_limit_follows_set_limit(restore_limit):
    pools.set_limit(7)
    group = pools.Connections(limit=pools.use_global_limit)
    assert group[Connection('memory://')].limit == 7


def test_set_limit_resizes_existing_global_pools(restore_limit):
    c = Connection('memory://setlimit')
    pool = pools.connections[c]
    ppool = pools.producers[c]
    pools.set_limit(pools.get_limit() + 5)
    assert pools.get_limit() == pool.limit == ppool.limit


def test_set_limit_leaves_custom_limit_groups_alone(restore_limit):
    group = pools.Connections(limit=3)
    pool = group[Connection('memory://')]
    pools.set_limit(pools.get_limit() + 1)
    assert pool.limit == 3


def test_shrinking_a_pool_in_use_needs_force(restore_limit):
    pools.set_limit(4)
    c = Connection('memory://shrink')
    held = pools.connections[c].acquire()
    with pytest.raises(RuntimeError):
        pools.set_limit(2)
    pools.set_limit(2, force=True)
    assert pools.connections[c].limit == 2
    held.release()


def test_reset_drops_all_pools():
    c = Connection('memory://reset')
    before = pools.connections[c]
    pools.reset()
    assert pools.connections[c] is not before


def test_register_group_returns_the_group_and_reset_clears_it():
    group = pools.register_group(pools.Connections(limit=2))
    try:
        group[Connection('memory://')]
        assert len(group) == 1
        pools.reset()
        assert len(group) == 0
    finally:
        pools._groups[:] = [g for g in pools._groups if g is not group]


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')
def test_forked_child_gets_fresh_pools():
    c = Connection('memory://fork')
    parent_pool = pools.connections[c]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            fresh = pools.connections[c] is not parent_pool
            os.write(w, b'1' if fresh else b'0')
        finally:
            os._exit(0)
    os.close(w)
    result = os.read(r, 1)
    os.waitpid(pid, 0)
    os.close(r)
    assert result == b'1'
    assert pools.connections[c] is parent_pool


def test_concurrent_pool_creation_yields_one_pool():
    group = pools.Connections(limit=5)
    seen = []
    barrier = threading.Barrier(20)

    def worker():
        barrier.wait()
        seen.append(group[Connection('memory://')])

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(p) for p in seen}) == 1


def test_fifty_threads_publish_ten_thousand_messages_exactly_once(queue):
    conn = Connection('memory://')
    total, nthreads = 10_000, 50
    per_thread = total // nthreads
    errors = []

    def publisher(t):
        try:
            for i in range(per_thread):
                with pools.producers[conn].acquire(block=True, timeout=10) as producer:
                    producer.publish(t * per_thread + i, exchange=queue.exchange,
                                     routing_key=queue.routing_key, declare=[queue],
                                     serializer='json')
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publisher, args=(t,)) for t in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    bodies = drain_all(conn, queue, total, timeout=1)
    assert len(bodies) == total
    assert set(bodies) == set(range(total))
    with conn.channel() as channel:
        assert queue(channel).queue_declare(passive=True).message_count == 0


def test_unlimited_producer_pool_creates_producers_on_demand(conn, queue):
    pool = pools.ProducerPool(pools.Connections(limit=None)[conn], limit=None)
    a, b = pool.acquire(), pool.acquire()
    assert a is not b
    a.publish('u', exchange=queue.exchange, routing_key=queue.routing_key,
              declare=[queue], serializer='json')
    a.release()
    b.release()
    assert drain_all(conn, queue, 1) == ['u']


def test_producer_pool_accepts_a_custom_producer_class(conn):
    from kombu import Producer

    class MyProducer(Producer):
        pass

    pool = pools.ProducerPool(pools.Connections(limit=1)[conn], limit=1, Producer=MyProducer)
    with pool.acquire() as producer:
        assert isinstance(producer, MyProducer)


def test_producer_released_after_a_reset_is_not_taken_back(conn):
    pool = pools.ProducerPool(pools.Connections(limit=1)[conn], limit=1)
    stale = pool.acquire()
    pool.resize(1, reset=True)
    stale.release()
    fresh = pool.acquire()
    assert fresh is not stale
    fresh.release()


def test_default_limit_is_the_guides_200_and_use_default_limit_follows_it():
    import subprocess
    import sys
    code = ('from kombu import pools; '
            'assert pools.get_limit() == 200, pools.get_limit(); '
            'group = pools.Connections(limit=pools.use_default_limit); '
            'assert group.limit is pools.use_default_limit; '
            'print("ok")')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.stdout.strip() == 'ok', out.stderr
