"""High-level API on every transport: pools, common, mixins, pidbox, compat.

Uses the ``connection`` fixture (t/integration/conftest.py), parametrised over
the transport URLs; every test declares uniquely named entities and deletes
them afterwards.
"""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from pidbox_node import start_node_process

from kombu import Consumer, Exchange, Producer, Queue, common, compat, pidbox, pools
from kombu.mixins import ConsumerMixin, ConsumerProducerMixin, _RestartLimit


@pytest.fixture
def cleanup(connection):
    """Register entities to delete after the test."""
    entities = []
    yield entities.append
    channel = connection.channel()
    for entity in reversed(entities):
        try:
            entity(channel).delete()
        except Exception:  # noqa: BLE001 - best effort cleanup
            channel = connection.channel()
    channel.close()


@pytest.fixture
def queue(unique_name, cleanup):
    exchange = Exchange(unique_name, type='direct', durable=False)
    q = Queue(unique_name, exchange, routing_key=unique_name, durable=False)
    cleanup(exchange)
    cleanup(q)
    return q


def drain(connection, queue, expected, timeout=2.0):
    bodies = []

    def on_message(body, message):
        bodies.append(body)
        message.ack()

    channel = connection.channel()
    with Consumer(channel, [queue], callbacks=[on_message], accept=['json'],
                  prefetch_count=500):
        idle_until = time.monotonic() + timeout
        while len(bodies) < expected and time.monotonic() < idle_until:
            try:
                connection.drain_events(timeout=0.5)
                idle_until = time.monotonic() + timeout
            except socket.timeout:
                pass
    channel.close()
    return bodies


def supports_fanout(connection):
    return connection.supports_exchange_type('fanout')


# -- pools -----------------------------------------------------------------------

def test_producer_pool_publish_roundtrip(connection, queue):
    with pools.producers[connection].acquire(block=True, timeout=5) as producer:
        producer.publish({'x': 1}, exchange=queue.exchange, routing_key=queue.routing_key,
                         declare=[queue], serializer='json')
    assert drain(connection, queue, 1) == [{'x': 1}]


def test_fifty_threads_share_producers_and_every_message_arrives_once(connection, queue):
    total, nthreads = 10_000, 50
    per_thread = total // nthreads
    errors = []
    with pools.producers[connection].acquire(block=True) as producer:
        producer.maybe_declare(queue)

    def publisher(t):
        try:
            for i in range(per_thread):
                with pools.producers[connection].acquire(block=True, timeout=30) as p:
                    p.publish(t * per_thread + i, exchange=queue.exchange,
                              routing_key=queue.routing_key, serializer='json')
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publisher, args=(t,)) for t in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    bodies = drain(connection, queue, total)
    assert len(bodies) == total
    assert set(bodies) == set(range(total))
    assert drain(connection, queue, 1, timeout=0.3) == []


# -- common -------------------------------------------------------------------

def test_broadcast_reaches_every_consumer(connection, unique_name, cleanup):
    if not supports_fanout(connection):
        pytest.skip('transport has no fanout exchanges')
    q1, q2 = common.Broadcast(unique_name), common.Broadcast(unique_name)
    cleanup(q1.exchange)
    cleanup(q1)
    cleanup(q2)
    got = {1: [], 2: []}
    ch1, ch2 = connection.channel(), connection.channel()
    with Consumer(ch1, [q1], callbacks=[lambda b, m: got[1].append(b)], no_ack=True), \
            Consumer(ch2, [q2], callbacks=[lambda b, m: got[2].append(b)], no_ack=True):
        with Producer(connection) as producer:
            producer.publish('all', exchange=q1.exchange, declare=[q1.exchange])
        deadline = time.monotonic() + 5
        while (not got[1] or not got[2]) and time.monotonic() < deadline:
            try:
                connection.drain_events(timeout=0.2)
            except socket.timeout:
                pass
    assert got == {1: ['all'], 2: ['all']}


def test_maybe_declare_is_cached_per_connection(connection, queue):
    channel = connection.default_channel
    assert common.maybe_declare(queue, channel) is True
    assert common.maybe_declare(queue, channel, retry=True) is False
    with Producer(connection) as producer:  # routed through the declared binding
        producer.publish('bound', exchange=queue.exchange, routing_key=queue.routing_key,
                         serializer='json')
    assert drain(connection, queue, 1) == ['bound']


def test_send_reply_and_collect_replies(connection, queue, unique_name, cleanup):
    reply = Queue(unique_name + '.reply', Exchange(unique_name + '.rx', durable=False),
                  routing_key=unique_name + '.reply', durable=False)
    cleanup(reply.exchange)
    cleanup(reply)
    common.maybe_declare(reply, connection.default_channel)
    with Producer(connection) as producer:
        producer.publish({'q': 1}, exchange=queue.exchange, routing_key=queue.routing_key,
                         declare=[queue], reply_to=reply.routing_key, correlation_id='id1')
    messages = common.itermessages(connection, connection.default_channel, queue,
                                   limit=10, timeout=1, no_ack=True)
    body, request = next(messages)
    messages.close()
    assert body == {'q': 1}
    with Producer(connection) as producer:
        common.send_reply(reply.exchange, request, {'a': 2}, producer=producer)
    replies = common.collect_replies(connection, connection.default_channel, reply,
                                     limit=10, timeout=1)
    assert next(replies) == {'a': 2}
    replies.close()


def test_insured_runs_with_a_pooled_connection(connection, queue):
    def publish(body, connection=None, channel=None):
        Producer(channel).publish(body, exchange=queue.exchange,
                                  routing_key=queue.routing_key, declare=[queue],
                                  serializer='json')
        return 'done'

    assert common.insured(pools.connections[connection], publish, ('ins',), {}) == 'done'
    assert drain(connection, queue, 1) == ['ins']


# -- mixins ----------------------------------------------------------------------

class Worker(ConsumerMixin):
    def __init__(self, connection, queue, stop_after):
        self.connection = connection
        self.queue = queue
        self.stop_after = stop_after
        self.bodies = []

    def get_consumers(self, Consumer, channel):
        return [Consumer(queues=[self.queue], callbacks=[self.on_message], accept=['json'])]

    def on_message(self, body, message):
        self.bodies.append(body)
        message.ack()
        if len(self.bodies) >= self.stop_after:
            self.should_stop = True


def test_consumer_mixin_consumes_and_stops(connection, queue):
    with Producer(connection) as producer:
        for i in range(5):
            producer.publish(i, exchange=queue.exchange, routing_key=queue.routing_key,
                             declare=[queue])
    worker = Worker(connection, queue, 5)
    worker.restart_limit = _RestartLimit(0.01)
    worker.run(safety_interval=0.2)
    assert sorted(worker.bodies) == [0, 1, 2, 3, 4]


def test_consumer_producer_mixin_rpc(connection, queue, unique_name, cleanup):
    reply = Queue(unique_name + '.rpc', routing_key=unique_name + '.rpc', durable=False)
    cleanup(reply)
    reply(connection.default_channel).declare()

    class Rpc(ConsumerProducerMixin):
        def __init__(self, connection):
            self.connection = connection

        def get_consumers(self, Consumer, channel):
            return [Consumer(queues=[queue], on_message=self.on_request,
                             accept={'application/json'}, prefetch_count=1)]

        def on_request(self, message):
            self.producer.publish({'double': message.payload * 2}, exchange='',
                                  routing_key=message.properties['reply_to'],
                                  correlation_id=message.properties['correlation_id'],
                                  serializer='json', retry=True)
            message.ack()
            self.should_stop = True

    with Producer(connection) as producer:
        producer.publish(21, exchange=queue.exchange, routing_key=queue.routing_key,
                         declare=[queue], reply_to=reply.name, correlation_id='c')
    Rpc(connection).run(safety_interval=0.2)
    message = None
    deadline = time.monotonic() + 5
    while message is None and time.monotonic() < deadline:
        message = reply(connection.default_channel).get(no_ack=True)
    assert message.payload == {'double': 42}
    assert message.properties['correlation_id'] == 'c'


# -- pidbox --------------------------------------------------------------------

def test_pidbox_node_in_another_process_answers(connection, unique_name, cleanup):
    if connection.transport.driver_type == 'memory':
        pytest.skip('memory transport cannot cross processes')
    namespace = unique_name.replace('.', '_')
    mailbox = pidbox.Mailbox(namespace)(connection)
    cleanup(mailbox.exchange)
    cleanup(mailbox.reply_exchange)
    cleanup(mailbox.get_queue('remote'))
    proc = start_node_process(connection.as_uri(include_password=True),
                              connection.transport_options, namespace, 'remote')
    try:
        [reply] = mailbox.call(['remote'], 'ping', {'value': 3}, timeout=10)
        assert reply['remote']['pong'] == 3
        assert reply['remote']['pid'] == proc.pid != os.getpid()
        assert mailbox.call(['remote'], 'fail', timeout=10) == [
            {'remote': {'error': "RuntimeError('boom')"}}]
        assert mailbox.call(['nobody'], 'ping', timeout=0.3) == []
        assert mailbox.call(['remote'], 'shutdown', timeout=10) == [{'remote': 'bye'}]
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        cleanup(mailbox.get_reply_queue())


def test_pidbox_warns_when_a_node_name_is_already_in_use(connection, connection_factory,
                                                         unique_name, cleanup):
    if connection.transport.driver_type != 'amqp':
        pytest.skip('only AMQP reports the consumer count of a declared queue')
    namespace = unique_name.replace('.', '_')
    first_box = pidbox.Mailbox(namespace)(connection)
    cleanup(first_box.exchange)
    cleanup(first_box.get_queue('dup'))
    first = first_box.Node('dup').listen()
    try:
        second_box = pidbox.Mailbox(namespace)(connection_factory())
        with pytest.warns(UserWarning, match='already using this process mailbox'):
            second = second_box.Node('dup').listen()
        second.cancel()
    finally:
        first.cancel()


# -- compat ----------------------------------------------------------------------

def test_compat_publisher_and_consumer_roundtrip(connection, unique_name, cleanup):
    cleanup(Exchange(unique_name))
    cleanup(Queue(unique_name))
    consumer = compat.Consumer(connection, queue=unique_name, exchange=unique_name,
                               routing_key=unique_name, durable=False)
    with compat.Publisher(connection, exchange=unique_name, routing_key=unique_name,
                          durable=False) as publisher:
        publisher.send({'carrot': True})
    message = None
    deadline = time.monotonic() + 5
    while message is None and time.monotonic() < deadline:
        message = consumer.fetch(no_ack=True)
    assert message.payload == {'carrot': True}
    consumer.close()


def test_compat_consumer_set_consumes_from_all_queues(connection, unique_name, cleanup):
    cleanup(Exchange(unique_name))
    cleanup(Queue(unique_name + '.a'))
    cleanup(Queue(unique_name + '.b'))
    options = {unique_name + '.a': {'exchange': unique_name, 'routing_key': 'a',
                                    'durable': False},
               unique_name + '.b': {'exchange': unique_name, 'routing_key': 'b',
                                    'durable': False}}
    got = []
    cset = compat.ConsumerSet(connection, from_dict=options)
    cset.register_callback(lambda body, message: got.append(body))
    with compat.Publisher(connection, exchange=unique_name, durable=False) as publisher:
        publisher.send('A', routing_key='a')
        publisher.send('B', routing_key='b')
    it = cset.iterconsume(no_ack=True)
    deadline = time.monotonic() + 5
    while len(got) < 2 and time.monotonic() < deadline:
        try:
            next(it)
        except socket.timeout:
            pass
    assert sorted(got) == ['A', 'B']
    cset.close()
