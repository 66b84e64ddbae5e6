"""Channel contract of the virtual engine, bound to the memory and filesystem backends."""
from __future__ import annotations

import socket

import pytest
from amqp.exceptions import ChannelError, NotFound

from kombu import Connection
from kombu.transport.virtual import NotEquivalentError, UndeliverableWarning


@pytest.fixture
def channel(conn):
    ch = conn.channel()
    yield ch
    ch.close()


@pytest.fixture
def names(unique_name):
    return lambda suffix: f'{unique_name}.{suffix}'


def publish(channel, body, exchange='', routing_key='', **kwargs):
    channel.basic_publish(channel.prepare_message(body, **kwargs), exchange, routing_key)


def drain_bodies(channel, queue):
    bodies = []
    while True:
        message = channel.basic_get(queue, no_ack=True)
        if message is None:
            return bodies
        bodies.append(message.body)


def test_declared_queue_reports_its_size(channel, names):
    q = names('q')
    assert channel.queue_declare(q).message_count == 0
    publish(channel, b'a', '', q)
    publish(channel, b'b', '', q)
    ok = channel.queue_declare(q)
    assert (ok.queue, ok.message_count) == (q, 2)
    assert channel._size(q) == 2


def test_queue_declare_without_name_generates_one(channel):
    ok = channel.queue_declare('')
    assert ok.queue.startswith('amq.gen-')
    channel.queue_delete(ok.queue)


def test_basic_get_returns_messages_in_publish_order(channel, names):
    q = names('q')
    channel.queue_declare(q)
    for i in range(5):
        publish(channel, f'm{i}'.encode(), '', q, content_type='text/plain',
                content_encoding='utf-8', headers={'h': i})
    message = channel.basic_get(q)
    assert message.body == b'm0'
    assert message.content_type == 'text/plain'
    assert message.headers == {'h': 0}
    assert message.delivery_info['routing_key'] == q
    assert isinstance(message.delivery_tag, int)
    message.ack()
    assert drain_bodies(channel, q) == [b'm1', b'm2', b'm3', b'm4']
    assert channel.basic_get(q) is None


def test_body_survives_as_bytes_for_binary_payload(channel, names):
    q = names('q')
    channel.queue_declare(q)
    publish(channel, b'\x00\xff\x10', '', q)
    assert channel.basic_get(q, no_ack=True).body == b'\x00\xff\x10'


def test_direct_exchange_routes_by_exact_key(channel, names):
    ex, q1, q2 = names('ex'), names('q1'), names('q2')
    channel.exchange_declare(ex, 'direct')
    channel.queue_declare(q1)
    channel.queue_declare(q2)
    channel.queue_bind(q1, ex, 'one')
    channel.queue_bind(q2, ex, 'two')
    publish(channel, b'1', ex, 'one')
    publish(channel, b'2', ex, 'two')
    publish(channel, b'x', ex, 'three')
    assert drain_bodies(channel, q1) == [b'1']
    assert drain_bodies(channel, q2) == [b'2']


def test_topic_exchange_matches_words(channel, names):
    ex = names('topic')
    queues = {key: names(f'q{i}') for i, key in enumerate(['a.*', 'a.#', '#.z', '*'])}
    channel.exchange_declare(ex, 'topic')
    for key, q in queues.items():
        channel.queue_declare(q)
        channel.queue_bind(q, ex, key)
    for rkey in ['a', 'a.b', 'a.b.c', 'z', 'y.z']:
        publish(channel, rkey.encode(), ex, rkey)
    got = {key: drain_bodies(channel, q) for key, q in queues.items()}
    assert got['a.*'] == [b'a.b']
    assert got['a.#'] == [b'a', b'a.b', b'a.b.c']
    assert got['#.z'] == [b'z', b'y.z']
    assert got['*'] == [b'a', b'z']


def test_fanout_exchange_copies_to_every_bound_queue(channel, names):
    ex, q1, q2 = names('fan'), names('q1'), names('q2')
    channel.exchange_declare(ex, 'fanout')
    for q, key in ((q1, ''), (q2, 'ignored')):
        channel.queue_declare(q)
        channel.queue_bind(q, ex, key)
    publish(channel, b'hello', ex, 'anything')
    m1 = channel.basic_get(q1, no_ack=True)
    m2 = channel.basic_get(q2, no_ack=True)
    assert m1.body == m2.body == b'hello'
    assert m1.delivery_info is not m2.delivery_info


def test_binding_twice_delivers_once(channel, names):
    ex, q = names('ex'), names('q')
    channel.exchange_declare(ex, 'topic')
    channel.queue_declare(q)
    channel.queue_bind(q, ex, 'a.*')
    channel.queue_bind(q, ex, 'a.*')
    channel.queue_bind(q, ex, '#')
    publish(channel, b'x', ex, 'a.b')
    assert drain_bodies(channel, q) == [b'x']


def test_route_cache_follows_bind_and_unbind(channel, names):
    ex, q1, q2 = names('ex'), names('q1'), names('q2')
    channel.exchange_declare(ex, 'direct')
    channel.queue_declare(q1)
    channel.queue_declare(q2)
    channel.queue_bind(q1, ex, 'k')
    publish(channel, b'1', ex, 'k')
    channel.queue_bind(q2, ex, 'k')
    publish(channel, b'2', ex, 'k')
    channel.queue_unbind(q1, ex, 'k')
    publish(channel, b'3', ex, 'k')
    assert drain_bodies(channel, q1) == [b'1', b'2']
    assert drain_bodies(channel, q2) == [b'2', b'3']


def test_bindings_change_seen_by_other_channel(conn, channel, names):
    other = conn.channel()
    ex, q = names('ex'), names('q')
    channel.exchange_declare(ex, 'direct')
    channel.queue_declare(q)
    publish(other, b'dropped', ex, 'k')
    channel.queue_bind(q, ex, 'k')
    publish(other, b'routed', ex, 'k')
    other.close()
    assert drain_bodies(channel, q) == [b'routed']


def test_exchange_delete_removes_its_bindings(channel, names):
    ex, q = names('ex'), names('q')
    channel.exchange_declare(ex, 'direct')
    channel.queue_declare(q)
    channel.queue_bind(q, ex, 'k')
    publish(channel, b'1', ex, 'k')
    channel.exchange_delete(ex)
    assert ex not in channel.get_exchanges()
    with pytest.raises(NotFound):
        publish(channel, b'2', ex, 'k')
    assert drain_bodies(channel, q) == [b'1']
    assert not channel.state.has_binding(q, ex, 'k')


def test_exchange_delete_if_unused_refuses_when_bound(channel, names):
    ex, q = names('ex'), names('q')
    channel.exchange_declare(ex, 'direct')
    channel.queue_declare(q)
    channel.queue_bind(q, ex, 'k')
    with pytest.raises(ChannelError):
        channel.exchange_delete(ex, if_unused=True)


def test_publish_to_undeclared_exchange_is_a_channel_error(channel, names):
    q = names('q')
    channel.queue_declare(q)
    missing = names('nosuchexchange')
    with pytest.raises(NotFound, match=missing):
        publish(channel, b'x', missing, q)
    assert channel._size(q) == 0
    assert issubclass(NotFound, tuple(channel.connection.client.channel_errors))


def test_unroutable_message_goes_to_deadletter_queue(channel, names):
    ex, dlq = names('ex'), names('dlq')
    channel.deadletter_queue = dlq
    channel.exchange_declare(ex, 'direct')
    with pytest.warns(UndeliverableWarning):
        publish(channel, b'lost', ex, 'nobody')
    assert drain_bodies(channel, dlq) == [b'lost']


def test_bind_to_undeclared_exchange_is_a_channel_error(channel, names):
    q = names('q')
    channel.queue_declare(q)
    with pytest.raises(NotFound) as excinfo:
        channel.queue_bind(q, names('nosuchexchange'), 'k')
    assert 'nosuchexchange' in str(excinfo.value)
    assert isinstance(excinfo.value, tuple(channel.connection.client.channel_errors))


def test_passive_declare_of_missing_exchange_raises(channel, names):
    with pytest.raises(NotFound):
        channel.exchange_declare(names('missing'), passive=True)


def test_memory_passive_declare_of_missing_queue_raises(names):
    conn = Connection('memory://')
    with conn.channel() as ch:
        with pytest.raises(NotFound):
            ch.queue_declare(names('missing'), passive=True)


def test_redeclare_with_other_type_is_not_equivalent(channel, names):
    ex = names('ex')
    channel.exchange_declare(ex, 'direct')
    channel.exchange_declare(ex, 'direct')
    with pytest.raises(NotEquivalentError):
        channel.exchange_declare(ex, 'topic')


def test_default_amq_exchanges_are_declared_on_bind(channel, names):
    q = names('q')
    channel.queue_declare(q)
    channel.queue_bind(q, 'amq.topic', 'x.#')
    publish(channel, b'm', 'amq.topic', 'x.y')
    assert drain_bodies(channel, q) == [b'm']


def test_purge_returns_number_removed(channel, names):
    q = names('q')
    channel.queue_declare(q)
    for _ in range(3):
        publish(channel, b'x', '', q)
    assert channel.queue_purge(q) == 3
    assert channel.queue_purge(q) == 0
    assert channel.basic_get(q) is None


def test_queue_delete_drops_messages_and_bindings(channel, names):
    ex, q = names('ex'), names('q')
    channel.exchange_declare(ex, 'direct')
    channel.queue_declare(q)
    channel.queue_bind(q, ex, 'k')
    publish(channel, b'x', ex, 'k')
    assert channel.queue_delete(q) == 1
    assert list(channel.state.queue_bindings(q)) == []
    assert all(queue != q for _, _, queue in channel.get_table(ex))


def test_queue_delete_if_empty_keeps_non_empty_queue(channel, names):
    q = names('q')
    channel.queue_declare(q)
    publish(channel, b'x', '', q)
    channel.queue_delete(q, if_empty=True)
    assert channel._size(q) == 1


def test_reject_with_requeue_puts_message_back_first(channel, names):
    q = names('q')
    channel.queue_declare(q)
    for body in (b'1', b'2', b'3'):
        publish(channel, body, '', q)
    message = channel.basic_get(q)
    message.requeue()
    again = channel.basic_get(q)
    assert again.body == b'1'
    assert again.delivery_info['redelivered'] is True
    again.reject()
    assert drain_bodies(channel, q) == [b'2', b'3']


def test_basic_recover_restores_unacked_in_order(channel, names):
    q = names('q')
    channel.queue_declare(q)
    for body in (b'1', b'2', b'3'):
        publish(channel, body, '', q)
    channel.basic_get(q)
    channel.basic_get(q)
    channel.basic_recover(requeue=True)
    assert drain_bodies(channel, q) == [b'1', b'2', b'3']
    with pytest.raises(NotImplementedError):
        channel.basic_recover(requeue=False)


def test_close_restores_unacked_messages(conn, names):
    q = names('q')
    ch = conn.channel()
    ch.queue_declare(q)
    for body in (b'1', b'2', b'3'):
        publish(ch, body, '', q)
    first = ch.basic_get(q)
    ch.basic_get(q)
    first.ack()
    ch.close()
    with conn.channel() as ch2:
        assert drain_bodies(ch2, q) == [b'2', b'3']


def test_ack_multiple_acks_all_up_to_tag(channel, names):
    q = names('q')
    channel.queue_declare(q)
    for body in (b'1', b'2', b'3'):
        publish(channel, body, '', q)
    messages = [channel.basic_get(q) for _ in range(3)]
    channel.basic_ack(messages[1].delivery_tag, multiple=True)
    assert list(channel.qos._delivered) == [messages[2].delivery_tag]


def record_settlements(channel):
    """Make `channel` record the settlement hooks' calls (as bodies)."""
    calls = []
    channel._on_ack = lambda messages: calls.append(('ack', [m.body for m in messages]))
    channel._on_reject = lambda messages, requeue: calls.append(
        ('reject', [m.body for m in messages], requeue))
    return calls


def test_settlement_hooks_receive_the_settled_messages(channel, names):
    q = names('q')
    channel.queue_declare(q)
    for body in (b'1', b'2', b'3', b'4', b'5'):
        publish(channel, body, '', q)
    calls = record_settlements(channel)
    messages = [channel.basic_get(q) for _ in range(5)]
    messages[0].ack()
    channel.basic_ack(messages[2].delivery_tag, multiple=True)
    messages[3].reject()
    messages[4].requeue()
    channel.basic_ack(messages[0].delivery_tag)      # settled already: no call
    assert calls == [('ack', [b'1']), ('ack', [b'2', b'3']),
                     ('reject', [b'4'], False), ('reject', [b'5'], True)]
    assert drain_bodies(channel, q) == [b'5']


def test_settlement_hooks_are_not_called_for_no_ack_or_restore(conn, names):
    q = names('q')
    ch = conn.channel()
    ch.queue_declare(q)
    publish(ch, b'1', '', q)
    publish(ch, b'2', '', q)
    calls = record_settlements(ch)
    ch.basic_get(q, no_ack=True)
    ch.basic_get(q)
    ch.basic_recover(requeue=True)
    ch.close()
    assert calls == []


def drain_until(conn, received, count, timeout=2):
    while len(received) < count:
        conn.drain_events(timeout=timeout)


def test_drain_events_delivers_one_message_per_call(conn, channel, names):
    q = names('q')
    channel.queue_declare(q)
    for i in range(3):
        publish(channel, str(i).encode(), '', q)
    received = []
    channel.basic_consume(q, False, received.append, 'ctag')
    conn.drain_events(timeout=1)
    assert [m.body for m in received] == [b'0']
    assert received[0].delivery_info['consumer_tag'] == 'ctag'


def test_drain_batch_size_option_delivers_several_per_call(tmp_path, names):
    conn = Connection('memory://', transport_options={'drain_batch_size': 10})
    with conn, conn.channel() as channel:
        q = names('q')
        channel.queue_declare(q)
        for i in range(5):
            publish(channel, str(i).encode(), '', q)
        channel.basic_qos(0, 3, False)
        received = []
        channel.basic_consume(q, False, received.append, 'ctag')
        conn.drain_events(timeout=1)
        assert [m.body for m in received] == [b'0', b'1', b'2']


def test_consume_respects_prefetch_window(conn, channel, names):
    q = names('q')
    channel.queue_declare(q)
    for i in range(10):
        publish(channel, str(i).encode(), '', q)
    channel.basic_qos(0, 3, False)
    received = []
    channel.basic_consume(q, False, received.append, 'ctag')
    drain_until(conn, received, 3)
    assert [m.body for m in received] == [b'0', b'1', b'2']
    assert not channel.qos.can_consume()
    with pytest.raises(socket.timeout):
        conn.drain_events(timeout=0.05)
    for message in received:
        message.ack()
    drain_until(conn, received, 6)
    assert [m.body for m in received[3:]] == [b'3', b'4', b'5']


def test_drain_events_times_out_when_idle(conn, channel, names):
    q = names('q')
    channel.queue_declare(q)
    channel.basic_consume(q, True, lambda m: None, 'ctag')
    with pytest.raises(socket.timeout):
        conn.drain_events(timeout=0.05)


def test_no_ack_consumer_leaves_nothing_unacked(conn, channel, names):
    q = names('q')
    channel.queue_declare(q)
    publish(channel, b'x', '', q)
    received = []
    channel.basic_consume(q, True, received.append, 'noack')
    conn.drain_events(timeout=1)
    assert [m.body for m in received] == [b'x']
    assert not channel.qos._delivered
    received[0].ack()  # no-op for no_ack consumers


def test_cancel_stops_delivery(conn, channel, names):
    q = names('q')
    channel.queue_declare(q)
    received = []
    channel.basic_consume(q, False, received.append, 'ctag')
    channel.basic_cancel('ctag')
    publish(channel, b'x', '', q)
    with pytest.raises(socket.timeout):
        conn.drain_events(timeout=0.05)
    assert received == []
    assert channel._size(q) == 1


def test_consuming_several_queues_is_fair(conn, channel, names):
    q1, q2 = names('q1'), names('q2')
    for q in (q1, q2):
        channel.queue_declare(q)
        for i in range(3):
            publish(channel, f'{q[-2:]}-{i}'.encode(), '', q)
    received = []
    channel.basic_qos(0, 2, False)
    channel.basic_consume(q1, False, received.append, 't1')
    channel.basic_consume(q2, False, received.append, 't2')
    drain_until(conn, received, 2)
    assert sorted(m.body for m in received) == [b'q1-0', b'q2-0']


def test_get_bindings_lists_declared_bindings(channel, names):
    ex, q = names('ex'), names('q')
    channel.exchange_declare(ex, 'direct')
    channel.queue_declare(q)
    channel.queue_bind(q, ex, 'k')
    assert {'destination': q, 'source': ex, 'routing_key': 'k',
            'destination_type': 'queue'} in channel.get_bindings()


def test_message_to_python_keeps_delivered_messages(channel, names):
    q = names('q')
    channel.queue_declare(q)
    publish(channel, b'x', '', q)
    message = channel.basic_get(q)
    assert channel.message_to_python(message) is message


def test_flow_is_not_supported(channel):
    with pytest.raises(NotImplementedError):
        channel.flow(False)


def test_producer_and_consumer_round_trip(conn, names):
    from kombu import Consumer, Exchange, Producer, Queue
    exchange = Exchange(names('ex'), 'topic')
    queue = Queue(names('q'), exchange, 'a.#')
    with conn.channel() as ch:
        producer = Producer(ch, exchange=exchange)
        queue(ch).declare()
        for i in range(5):
            producer.publish({'i': i}, routing_key='a.b')
        received = []

        def on_message(body, message):
            received.append(body['i'])
            message.ack()

        with Consumer(ch, [queue], callbacks=[on_message], accept=['json']):
            while len(received) < 5:
                conn.drain_events(timeout=1)
    assert received == [0, 1, 2, 3, 4]


def test_unsupported_exchange_type_is_refused_at_declare(channel, names):
    with pytest.raises(NotImplementedError, match='x-unknown'):
        channel.exchange_declare(names('h'), 'x-unknown')


# -- Kombu 4.6.7 parity ------------------------------------------------------

def test_lookup_returns_the_set_of_matching_queues(channel, names):
    ex, q1, q2 = names('ex'), names('q1'), names('q2')
    channel.exchange_declare(ex, 'direct')
    channel.queue_bind(q1, ex, 'k')
    channel.queue_bind(q2, ex, 'k')
    assert channel._lookup(ex, 'k') == {q1, q2}
    assert channel._lookup(ex, 'nomatch') == []
    assert channel._lookup('', q1) == [q1]


def test_lookup_default_is_the_deadletter_fallback(channel, names):
    ex, dlq = names('ex'), names('dlq')
    channel.exchange_declare(ex, 'direct')
    with pytest.warns(UndeliverableWarning):
        assert channel._lookup(ex, 'nomatch', default=dlq) == [dlq]
    assert channel.queue_declare(dlq, passive=True).queue == dlq
    # an undeclared exchange routes nowhere: with a default it is dead-lettered too
    with pytest.warns(UndeliverableWarning):
        assert channel._lookup(names('undeclared'), 'k', dlq) == [dlq]
    channel.deadletter_queue = dlq
    with pytest.warns(UndeliverableWarning):
        publish(channel, b'lost', names('undeclared'), 'k')
    assert drain_bodies(channel, dlq) == [b'lost']
    channel.queue_delete(dlq)


def test_lookup_of_undeclared_exchange_without_default_is_not_found(channel, names):
    with pytest.raises(NotFound):
        channel._lookup(names('undeclared'), 'k')


def test_exchange_bind_signature_and_refusal(channel):
    with pytest.raises(NotImplementedError):
        channel.exchange_bind('dest', source='src', routing_key='k', nowait=False,
                              arguments=None)
    with pytest.raises(NotImplementedError):
        channel.exchange_unbind('dest', 'src', 'k', False, None)
