"""kombu.common: Broadcast, maybe_declare, event loops, replies, insured, QoS."""
from __future__ import annotations

import socket
import threading

import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue, common
from kombu.exceptions import NotBoundError


def publish(conn, queue, body, **kwargs):
    with Producer(conn) as producer:
        producer.publish(body, exchange=queue.exchange, routing_key=queue.routing_key,
                         declare=[queue], serializer='json', **kwargs)


# -- Broadcast ---------------------------------------------------------------

def test_broadcast_queue_gets_unique_name_and_fanout_exchange():
    a, b = common.Broadcast('news'), common.Broadcast('news')
    assert a.name != b.name
    assert a.name.startswith('bcast.')
    assert a.exchange.name == 'news'
    assert a.exchange.type == 'fanout'
    assert a.auto_delete is True
    assert a.alias == 'news'


def test_broadcast_with_queue_name_uses_it_unless_unique():
    assert common.Broadcast('news', queue='mine').name == 'mine'
    unique = common.Broadcast('news', queue='mine', unique=True).name
    assert unique.startswith('mine.') and len(unique) > len('mine.')


def test_broadcast_accepts_custom_exchange_alias_and_queue_arguments():
    b = common.Broadcast('news', exchange=Exchange('ex', type='topic'), alias='al',
                         routing_key='rk', queue_arguments={'x-max-length': 3},
                         auto_delete=False)
    assert b.exchange.name == 'ex' and b.exchange.type == 'topic'
    assert (b.alias, b.routing_key, b.auto_delete) == ('al', 'rk', False)
    assert b.queue_arguments == {'x-max-length': 3}
    assert ('queue', None) in common.Broadcast.attrs


def test_every_broadcast_consumer_receives_every_message(unique_name):
    conn = Connection('memory://')
    received = {1: [], 2: []}
    q1, q2 = common.Broadcast(unique_name), common.Broadcast(unique_name)
    with conn.channel() as ch1, conn.channel() as ch2:
        with Consumer(ch1, [q1], callbacks=[lambda b, m: received[1].append(b)]), \
                Consumer(ch2, [q2], callbacks=[lambda b, m: received[2].append(b)]):
            with Producer(conn) as producer:
                producer.publish('hi', exchange=q1.exchange, declare=[q1.exchange])
            for _ in range(4):
                try:
                    conn.drain_events(timeout=0.2)
                except socket.timeout:
                    break
    assert received == {1: ['hi'], 2: ['hi']}


# -- maybe_declare -------------------------------------------------------------

def test_maybe_declare_declares_once_per_connection(conn, queue):
    channel = conn.channel()
    assert common.maybe_declare(queue, channel) is True
    assert common.declaration_cached(queue, channel)
    assert common.maybe_declare(queue, channel) is False
    assert queue(channel).queue_declare(passive=True).queue == queue.name
    channel.close()


def test_maybe_declare_uses_the_bound_channel(conn, queue):
    bound = queue(conn.default_channel)
    assert common.maybe_declare(bound) is True
    assert common.maybe_declare(bound) is False


def test_maybe_declare_unbound_entity_without_channel_fails(queue):
    with pytest.raises((ValueError, NotBoundError)):
        common.maybe_declare(queue)


def test_maybe_declare_never_caches_auto_delete_entities(conn, unique_name):
    q = Queue(unique_name, auto_delete=True)
    assert common.maybe_declare(q, conn.default_channel) is True
    assert common.maybe_declare(q, conn.default_channel) is True


def test_maybe_declare_with_retry(conn, queue):
    assert common.maybe_declare(queue, conn.default_channel, retry=True,
                                max_retries=1) is True
    assert common.maybe_declare(queue, conn.default_channel, retry=True) is False


# -- eventloop / itermessages / drain_consumer --------------------------------

def test_eventloop_propagates_timeouts_by_default(conn, queue):
    common.maybe_declare(queue, conn.default_channel)
    with Consumer(conn.default_channel, [queue], callbacks=[lambda b, m: None]):
        with pytest.raises(socket.timeout):
            next(common.eventloop(conn, timeout=0.05))


def test_eventloop_can_ignore_timeouts_and_honours_limit(conn, queue):
    common.maybe_declare(queue, conn.default_channel)
    with Consumer(conn.default_channel, [queue], callbacks=[lambda b, m: None]):
        # three timed-out drains: nothing is raised, and each one yields (spec 11:
        # ``next(it)  # one event consumed, or timed out.``)
        assert list(common.eventloop(conn, limit=3, timeout=0.01,
                                     ignore_timeouts=True)) == [None, None, None]


def test_eventloop_delivers_events(conn, queue):
    got = []
    publish(conn, queue, 'x')
    with Consumer(conn.default_channel, [queue], callbacks=[lambda b, m: got.append(b)],
                  no_ack=True):
        for _ in common.eventloop(conn, limit=1, timeout=2):
            pass
    assert got == ['x']


def test_itermessages_yields_body_and_message(conn, queue):
    publish(conn, queue, {'a': 1})
    publish(conn, queue, {'a': 2})
    seen = []
    for body, message in common.itermessages(conn, conn.default_channel, queue,
                                             limit=4, timeout=0.2, no_ack=True):
        seen.append(body)
        assert message.payload == body
    assert seen == [{'a': 1}, {'a': 2}]


def test_drain_consumer_also_runs_extra_callbacks(conn, queue):
    publish(conn, queue, 'y')
    extra = []
    consumer = Consumer(conn.default_channel, [queue], no_ack=True)
    out = list(common.drain_consumer(consumer, limit=1, timeout=2,
                                     callbacks=[lambda b, m: extra.append(b)]))
    assert [b for b, _ in out] == ['y']
    assert extra == ['y']


# -- send_reply / collect_replies ----------------------------------------------

def test_send_reply_routes_to_reply_to_with_correlation_id(conn, queue, unique_name):
    reply_queue = Queue(unique_name + '.reply', Exchange(unique_name + '.rx'),
                        routing_key=unique_name + '.reply')
    common.maybe_declare(reply_queue, conn.default_channel)
    publish(conn, queue, {'ask': 1}, reply_to=reply_queue.routing_key, correlation_id='c1')
    request = queue(conn.default_channel).get(no_ack=True)
    with Producer(conn) as producer:
        common.send_reply(reply_queue.exchange, request, {'answer': 2}, producer=producer)
    replies = list(common.collect_replies(conn, conn.default_channel, reply_queue,
                                          limit=2, timeout=0.3))
    assert replies == [{'answer': 2}]


def test_send_reply_without_producer_uses_the_pool(conn, queue, unique_name):
    reply_queue = Queue(unique_name + '.r2', Exchange(unique_name + '.rx2'),
                        routing_key=unique_name + '.r2')
    common.maybe_declare(reply_queue, conn.default_channel)
    publish(conn, queue, 'q', reply_to=reply_queue.routing_key, correlation_id='c2')
    request = queue(conn.default_channel).get(no_ack=True)
    common.send_reply(reply_queue.exchange, request, 'r')
    message = reply_queue(conn.default_channel).get(no_ack=True)
    assert message.payload == 'r'
    assert message.properties['correlation_id'] == 'c2'


def test_send_reply_to_request_without_reply_to_fails(conn, queue):
    publish(conn, queue, 'q')
    request = queue(conn.default_channel).get(no_ack=True)
    with pytest.raises(ValueError):
        common.send_reply('ex', request, 'r', producer=Producer(conn))
    with pytest.raises(KeyError) as exc_info:  # what Kombu 4.6.7 raised
        common.send_reply('ex', request, 'r', producer=Producer(conn))
    assert str(exc_info.value).startswith('send_reply: request has no reply_to')


def test_collect_replies_acks_when_no_ack_is_false(conn, queue):
    publish(conn, queue, 1)
    out = list(common.collect_replies(conn, conn.default_channel, queue,
                                      limit=2, timeout=0.2, no_ack=False))
    assert out == [1]
    assert queue(conn.default_channel).get() is None


# -- insured / ignore_errors ----------------------------------------------------

def test_insured_passes_connection_and_retries_after_connection_error(conn):
    from kombu.pools import connections
    calls, revived, errbacks = [], [], []
    error = conn.connection_errors[0]

    def fun(x, connection=None, channel=None):
        calls.append((x, connection, channel))
        if len(calls) == 1:
            raise error('lost')
        return x * 2

    result = common.insured(connections[conn], fun, (21,), {},
                            errback=lambda exc, interval: errbacks.append(exc),
                            on_revive=revived.append, interval_start=0, max_retries=3)
    assert result == 42
    assert len(calls) == 2
    assert calls[1][1] is not None and calls[1][2] is not None
    assert len(revived) == 1


def test_ignore_errors_swallows_connection_errors_only(conn):
    error = conn.connection_errors[0]

    def lost():
        raise error('gone')

    assert common.ignore_errors(conn, lost) is None
    assert common.ignore_errors(conn, lambda x: x + 1, 1) == 2
    with common.ignore_errors(conn):
        lost()
    with pytest.raises(ZeroDivisionError):
        common.ignore_errors(conn, lambda: 1 / 0)


# -- oids / uuid ----------------------------------------------------------------

def test_oid_from_is_stable_per_instance_and_differs_between_instances():
    a, b = object(), object()
    assert common.oid_from(a) == common.oid_from(a)
    assert common.oid_from(a) != common.oid_from(b)


def test_oid_from_depends_on_thread_unless_disabled():
    obj = object()
    out = {}
    t = threading.Thread(target=lambda: out.update(
        threaded=common.oid_from(obj), plain=common.oid_from(obj, threads=False)))
    t.start()
    t.join()
    assert out['threaded'] != common.oid_from(obj)
    assert out['plain'] == common.oid_from(obj, threads=False)


def test_uuid_is_a_unique_string():
    assert common.uuid() != common.uuid()
    assert len(common.uuid()) == 36


# -- QoS ----------------------------------------------------------------------

def test_qos_changes_apply_on_update():
    applied = []
    qos = common.QoS(lambda prefetch_count: applied.append(prefetch_count), 10)
    assert qos.increment_eventually() == 11
    assert applied == []
    assert qos.update() == 11
    assert applied == [11] and qos.prev == 11
    qos.decrement_eventually(3)
    qos.update()
    assert applied == [11, 8]
    qos.update()
    assert applied == [11, 8]  # unchanged value is not re-applied


def test_qos_decrement_never_goes_below_one():
    qos = common.QoS(lambda prefetch_count: None, 1)
    assert qos.decrement_eventually(5) == 1


def test_qos_zero_means_unlimited_and_stays_zero():
    applied = []
    qos = common.QoS(lambda prefetch_count: applied.append(prefetch_count), 0)
    qos.increment_eventually()
    qos.decrement_eventually()
    assert qos.value == 0
    qos.update()
    assert applied == [0]


def test_qos_set_above_max_disables_prefetch_limit():
    applied = []
    qos = common.QoS(lambda prefetch_count: applied.append(prefetch_count), 1)
    assert qos.set(common.PREFETCH_COUNT_MAX + 1) == common.PREFETCH_COUNT_MAX + 1
    assert applied == [0]


def test_qos_is_thread_safe():
    qos = common.QoS(lambda prefetch_count: None, 1)

    def bump():
        for _ in range(1000):
            qos.increment_eventually()

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert qos.value == 8001


# -- parity with Kombu 4.6.7 (differential sweep) -------------------------

def test_all_lists_the_documented_api():
    assert sorted(common.__all__) == [
        'Broadcast', 'collect_replies', 'drain_consumer', 'eventloop', 'insured',
        'itermessages', 'maybe_declare', 'send_reply', 'uuid']
    # the undocumented helpers stay importable by name
    from kombu.common import QoS, ignore_errors, oid_from  # noqa: F401


def test_eventloop_limit_zero_means_no_limit(conn, queue):
    got = []
    for i in range(3):
        publish(conn, queue, i)
    with Consumer(conn.default_channel, [queue], callbacks=[lambda b, m: got.append(b)],
                  no_ack=True):
        with pytest.raises(socket.timeout):  # runs until nothing more arrives
            for _ in common.eventloop(conn, limit=0, timeout=0.2):
                pass
    assert got == [0, 1, 2]


def test_common_logger_has_a_null_handler():
    import logging
    handlers = logging.getLogger('kombu.common').handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_qos_semantics():
    applied = []
    qos = common.QoS(lambda prefetch_count: applied.append(prefetch_count), 10)
    assert (qos.value, qos.prev) == (10, None)
    assert qos.increment_eventually() == 11
    assert qos.increment_eventually(3) == 14
    assert qos.decrement_eventually() == 13
    assert qos.decrement_eventually(100) == 1  # never below 1
    assert applied == []
    assert qos.update() == 1
    assert qos.set(1) == 1  # unchanged: not applied again
    assert qos.set(common.PREFETCH_COUNT_MAX + 1) == common.PREFETCH_COUNT_MAX + 1
    assert applied == [1, 0]  # over the maximum means unlimited
    unlimited = common.QoS(lambda prefetch_count: None, 0)
    assert unlimited.increment_eventually() == 0
    assert unlimited.decrement_eventually() == 0
