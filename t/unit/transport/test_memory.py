"""The in-memory transport."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from kombu import Connection
from kombu.transport import memory


@pytest.fixture
def names(unique_name):
    return lambda suffix: f'{unique_name}.{suffix}'


def test_transport_attributes():
    transport = Connection('memory://').transport
    assert isinstance(transport, memory.Transport)
    assert transport.driver_type == transport.driver_name == 'memory'
    assert transport.implements.exchange_type == frozenset(
        {'direct', 'topic', 'fanout', 'headers'})
    assert transport.implements.asynchronous is False
    assert memory.Channel.do_restore is False
    assert memory.Channel.supports_fanout is True
    assert transport.polling_interval == 1.0


def test_two_connections_share_queues_and_exchanges(names):
    ex, q = names('ex'), names('q')
    with Connection('memory://') as c1, Connection('memory://') as c2:
        ch1, ch2 = c1.channel(), c2.channel()
        ch1.exchange_declare(ex, 'direct')
        ch1.queue_declare(q)
        ch1.queue_bind(q, ex, 'k')
        ch2.basic_publish(ch2.prepare_message(b'shared'), ex, 'k')
        assert ch1.basic_get(q, no_ack=True).body == b'shared'
        assert c1.transport.state is c2.transport.state


def test_publish_from_other_thread_wakes_consumer_at_once(names):
    q = names('q')
    conn = Connection('memory://', transport_options={'polling_interval': 5})
    ch = conn.channel()
    ch.queue_declare(q)
    received = []
    ch.basic_consume(q, True, received.append, 'ctag')

    def produce():
        time.sleep(0.05)
        with Connection('memory://') as other, other.channel() as pch:
            pch.basic_publish(pch.prepare_message(b'wake'), '', q)

    thread = threading.Thread(target=produce)
    started = time.monotonic()
    thread.start()
    conn.drain_events(timeout=3)
    elapsed = time.monotonic() - started
    thread.join()
    assert [m.body for m in received] == [b'wake']
    assert elapsed < 1.0
    conn.close()


def test_idle_drain_blocks_instead_of_spinning(names):
    q = names('q')
    conn = Connection('memory://')
    ch = conn.channel()
    ch.queue_declare(q)
    ch.basic_consume(q, True, lambda m: None, 'ctag')
    cpu = time.process_time()
    with pytest.raises(socket.timeout):
        conn.drain_events(timeout=0.3)
    assert time.process_time() - cpu < 0.1
    conn.close()


def test_threads_consume_each_message_exactly_once(names):
    q = names('q')
    total = 2000
    with Connection('memory://') as conn, conn.channel() as ch:
        ch.queue_declare(q)
        for i in range(total):
            ch.basic_publish(ch.prepare_message(str(i).encode()), '', q)
    seen = []
    lock = threading.Lock()

    def consume():
        with Connection('memory://') as conn:
            ch = conn.channel()
            ch.basic_qos(0, 10, False)

            def on_message(message):
                with lock:
                    seen.append(message.body)
                message.ack()

            ch.basic_consume(q, False, on_message, 'c')
            while True:
                try:
                    conn.drain_events(timeout=0.2)
                except socket.timeout:
                    return

    threads = [threading.Thread(target=consume) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == total
    assert set(seen) == {str(i).encode() for i in range(total)}


def test_connection_close_restores_unacked(names):
    q = names('q')
    conn = Connection('memory://')
    ch = conn.channel()
    ch.queue_declare(q)
    for body in (b'1', b'2'):
        ch.basic_publish(ch.prepare_message(body), '', q)
    received = []
    ch.basic_consume(q, False, received.append, 'ctag')
    while len(received) < 2:
        conn.drain_events(timeout=1)
    conn.close()
    with Connection('memory://') as conn2, conn2.channel() as ch2:
        assert [ch2.basic_get(q, no_ack=True).body for _ in range(2)] == [b'1', b'2']


def test_bodies_are_stored_without_encoding(names):
    q = names('q')
    with Connection('memory://') as conn, conn.channel() as ch:
        ch.queue_declare(q)
        ch.basic_publish(ch.prepare_message('text'), '', q)
        raw = memory.Channel.queues[q][0]
        assert raw['body'] == 'text'
        assert 'body_encoding' not in raw['properties']
        assert isinstance(raw['properties']['delivery_tag'], str)
        assert ch.basic_get(q, no_ack=True).body == b'text'


def test_body_encoding_transport_option_is_honoured(names):
    q = names('q')
    conn = Connection('memory://', transport_options={'body_encoding': 'base64'})
    with conn, conn.channel() as ch:
        ch.queue_declare(q)
        ch.basic_publish(ch.prepare_message(b'abc'), '', q)
        assert memory.Channel.queues[q][0]['body'] == 'YWJj'
        assert ch.basic_get(q, no_ack=True).body == b'abc'


def test_simple_queue_round_trip(names):
    with Connection('memory://') as conn:
        queue = conn.SimpleQueue(names('simple'))
        queue.put({'hello': 'world'})
        message = queue.get(timeout=1)
        assert message.payload == {'hello': 'world'}
        message.ack()
        queue.close()


def test_channel_events_are_per_channel():
    assert memory.Channel.events == {}
    with Connection('memory://') as conn:
        ch1, ch2 = conn.channel(), conn.channel()
        ch1.events['basic_return'].add(print)
        assert ch1.events == {'basic_return': {print}}
        assert ch2.events['basic_return'] == set()
        assert memory.Channel.events == {}


def test_after_reply_message_received_keeps_the_queue(names):
    q = names('q')
    with Connection('memory://') as conn, conn.channel() as ch:
        ch.queue_declare(q)
        ch.basic_publish(ch.prepare_message(b'x'), '', q)
        assert ch.after_reply_message_received(q) is None
        assert ch.queue_declare(q, passive=True).message_count == 1
        ch.queue_delete(q)
