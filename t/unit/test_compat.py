"""kombu.compat: carrot-compatible Publisher, Consumer and ConsumerSet."""
from __future__ import annotations

import pytest

from kombu import Queue, compat


@pytest.fixture
def name(unique_name):
    return unique_name


def make_consumer(conn, name, **kwargs):
    return compat.Consumer(conn, queue=name, exchange=name, routing_key=name, **kwargs)


def send(conn, name, *bodies):
    with compat.Publisher(conn, exchange=name, routing_key=name) as publisher:
        for body in bodies:
            publisher.send(body, serializer='json')


def test_publisher_builds_exchange_from_carrot_arguments(conn, name):
    publisher = compat.Publisher(conn, exchange=name, routing_key='rk',
                                 exchange_type='topic', durable=False, auto_delete=True)
    assert publisher.exchange.name == name
    assert publisher.exchange.type == 'topic'
    assert (publisher.exchange.durable, publisher.exchange.auto_delete) == (False, True)
    assert publisher.routing_key == 'rk'
    assert publisher.backend is publisher.channel
    publisher.close()
    assert publisher._closed


def test_publisher_class_defaults():
    assert (compat.Publisher.exchange_type, compat.Publisher.durable,
            compat.Publisher.auto_delete, compat.Publisher.routing_key) == (
        'direct', True, False, '')


def test_sent_message_is_fetched_by_consumer(conn, name):
    consumer = make_consumer(conn, name)
    send(conn, name, {'hello': 'world'})
    message = consumer.fetch()
    assert message.payload == {'hello': 'world'}
    message.ack()
    assert consumer.fetch() is None
    consumer.close()


def test_consumer_builds_queue_from_carrot_arguments(conn, name):
    consumer = compat.Consumer(conn, queue=name, exchange=name + '.x', routing_key='rk',
                               exchange_type='topic', durable=False, auto_delete=True)
    [queue] = consumer.queues
    assert (queue.name, queue.routing_key, queue.durable, queue.auto_delete) == (
        name, 'rk', False, True)
    assert (queue.exchange.name, queue.exchange.type) == (name + '.x', 'topic')
    consumer.close()
    assert consumer._closed


def test_fetch_with_callbacks_runs_them(conn, name):
    got = []
    consumer = make_consumer(conn, name)
    consumer.register_callback(lambda body, message: got.append(body))
    send(conn, name, 'a')
    message = consumer.fetch(no_ack=True, enable_callbacks=True)
    assert message.payload == 'a'
    assert got == ['a']
    consumer.close()


def test_process_next_is_not_implemented(conn, name):
    consumer = make_consumer(conn, name)
    with pytest.raises(NotImplementedError):
        consumer.process_next()
    consumer.close()


def test_discard_all_purges_and_rejects_filters(conn, name):
    consumer = make_consumer(conn, name)
    send(conn, name, 1, 2, 3)
    with pytest.raises(NotImplementedError):
        consumer.discard_all(filterfunc=lambda m: True)
    assert consumer.discard_all() == 3
    assert consumer.fetch() is None
    consumer.close()


def test_iterqueue_stops_when_empty_or_at_limit(conn, name):
    consumer = make_consumer(conn, name, no_ack=True)
    send(conn, name, 1, 2, 3)
    assert [m.payload for m in consumer.iterqueue(limit=2)] == [1, 2]
    assert [m.payload for m in consumer.iterqueue()] == [3]
    consumer.close()


def test_iterating_a_consumer_yields_none_when_empty(conn, name):
    consumer = make_consumer(conn, name, no_ack=True)
    send(conn, name, 'only')
    it = iter(consumer)
    assert next(it).payload == 'only'
    assert next(it) is None
    consumer.close()


def test_wait_consumes_limit_events_through_callbacks(conn, name):
    got = []
    consumer = make_consumer(conn, name)

    def on_message(body, message):
        got.append(body)
        message.ack()

    consumer.register_callback(on_message)
    send(conn, name, 'x')
    assert consumer.wait(limit=1) == [None]
    assert got == ['x']
    consumer.close()


def test_iterconsume_yields_once_per_event(conn, name):
    got = []
    consumer = make_consumer(conn, name)
    consumer.register_callback(lambda b, m: got.append(b))
    send(conn, name, 'x')
    assert len(list(consumer.iterconsume(limit=1, no_ack=True))) == 1
    assert got == ['x']
    consumer.close()


def test_consumer_revive_switches_channel(conn, name):
    consumer = make_consumer(conn, name)
    channel = conn.channel()
    consumer.revive(channel)
    assert consumer.backend is channel
    assert consumer.channel is channel
    consumer.close()


def test_consumer_context_manager_closes(conn, name):
    with make_consumer(conn, name) as consumer:
        pass
    assert consumer._closed


def test_entry_to_queue_maps_carrot_options():
    queue = compat.entry_to_queue('q', exchange='ex', routing_key='rk',
                                  exchange_type='topic', durable=False)
    assert isinstance(queue, Queue)
    assert (queue.name, queue.routing_key, queue.durable) == ('q', 'rk', False)
    assert (queue.exchange.name, queue.exchange.type, queue.exchange.durable) == (
        'ex', 'topic', False)


def consumer_set_options(name):
    return {name + '.a': {'exchange': name, 'routing_key': 'a'},
            name + '.b': {'exchange': name, 'routing_key': 'b'}}


def test_consumer_set_from_dict_consumes_all_queues(conn, name):
    got = []
    cset = compat.ConsumerSet(conn, from_dict=consumer_set_options(name))
    cset.register_callback(lambda body, message: got.append(body))
    with compat.Publisher(conn, exchange=name) as publisher:
        publisher.send('to-a', routing_key='a')
        publisher.send('to-b', routing_key='b')
    it = cset.iterconsume(no_ack=True)
    while len(got) < 2:  # one event may deliver both messages
        next(it)
    assert sorted(got) == ['to-a', 'to-b']
    cset.close()


def test_consumer_set_adds_consumers_and_queues(conn, name):
    single = make_consumer(conn, name)
    cset = compat.ConsumerSet(conn, consumers=[single])
    assert [q.name for q in cset.queues] == [name]
    cset.add_consumer_from_dict(name + '.c', exchange=name, routing_key='c')
    other = make_consumer(conn, name + '.d')
    cset.add_consumer(other)
    cset.add_queue(Queue(name + '.e', routing_key='e'))
    assert [q.name for q in cset.queues] == [name, name + '.c', name + '.d', name + '.e']
    send(conn, name, 1)
    assert cset.discard_all() == 1
    cset.qos(prefetch_count=10)
    cset.recover(requeue=True)
    cset.close()
    single.close()
    other.close()


def test_consumer_set_keeps_a_provided_channel_open(conn, name):
    channel = conn.channel()
    cset = compat.ConsumerSet(conn, from_dict=consumer_set_options(name), channel=channel)
    cset.close()
    assert cset.backend is channel
    # still usable
    Queue(name + '.x')(channel).declare()
    channel.close()


def test_consumer_set_revive(conn, name):
    cset = compat.ConsumerSet(conn, from_dict=consumer_set_options(name))
    channel = conn.channel()
    cset.revive(channel)
    assert cset.backend is channel and cset.channel is channel
    cset.close()
