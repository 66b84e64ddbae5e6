"""kombu.mixins: ConsumerMixin run loop, hooks, reconnects; ConsumerProducerMixin."""
from __future__ import annotations

import socket
import time
from contextlib import contextmanager

import pytest

from kombu import Producer, Queue
from kombu.mixins import ConsumerMixin, ConsumerProducerMixin, _RestartLimit


def publish(conn, queue, body, **kwargs):
    kwargs.setdefault('serializer', 'json')
    with Producer(conn) as producer:
        producer.publish(body, exchange=queue.exchange, routing_key=queue.routing_key,
                         declare=[queue], **kwargs)


class Worker(ConsumerMixin):
    """Consumes until `stop_after` messages arrived, recording every hook."""

    def __init__(self, connection, queue, stop_after=1):
        self.connection = connection
        self.queue = queue
        self.stop_after = stop_after
        self.bodies = []
        self.events = []
        self.deadline = time.monotonic() + 10  # never hang the test run

    def get_consumers(self, Consumer, channel):
        return [Consumer(queues=[self.queue], callbacks=[self.on_message], accept=['json'])]

    def on_message(self, body, message):
        self.bodies.append(body)
        message.ack()
        if len(self.bodies) >= self.stop_after:
            self.should_stop = True

    def on_connection_revived(self):
        self.events.append('revived')

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.events.append(('ready', len(consumers), kwargs))

    def on_consume_end(self, connection, channel):
        self.events.append('end')

    def on_iteration(self):
        if time.monotonic() > self.deadline:
            self.should_stop = True
        if 'iteration' not in self.events:
            self.events.append('iteration')

    @contextmanager
    def extra_context(self, connection, channel):
        self.events.append('extra-enter')
        yield
        self.events.append('extra-exit')


def test_run_consumes_until_should_stop(conn, queue):
    for i in range(3):
        publish(conn, queue, i)
    worker = Worker(conn, queue, stop_after=3)
    worker.run(safety_interval=0.1)
    assert worker.bodies == [0, 1, 2]


def test_hooks_are_called_in_order(conn, queue):
    publish(conn, queue, 'x')
    worker = Worker(conn, queue)
    worker.run(safety_interval=0.1, marker=1)
    assert worker.events == ['revived', 'extra-enter', ('ready', 1, {'marker': 1}),
                             'iteration', 'extra-exit', 'end']


def test_consume_yields_per_event_and_honours_limit(conn, queue):
    publish(conn, queue, 'a')
    publish(conn, queue, 'b')
    worker = Worker(conn, queue, stop_after=100)
    for _ in worker.consume(limit=2, safety_interval=0.5):
        pass
    assert worker.bodies == ['a', 'b']


def test_consume_raises_timeout_when_idle_too_long(conn, queue):
    worker = Worker(conn, queue)
    with pytest.raises(socket.timeout):
        for _ in worker.consume(timeout=0.1, safety_interval=0.05):
            pass


def test_run_reconnects_after_connection_loss(conn, queue):
    class Flaky(Worker):
        failures = 0

        def get_consumers(self, Consumer, channel):
            if not self.failures:
                self.failures += 1
                raise self.connection_errors[0]('connection lost')
            return super().get_consumers(Consumer, channel)

    publish(conn, queue, 'after-reconnect')
    worker = Flaky(conn, queue)
    worker.restart_limit = _RestartLimit(0.01)
    worker.run(safety_interval=0.1)
    assert worker.bodies == ['after-reconnect']
    assert worker.events.count('revived') == 2


def test_restart_limit_spaces_out_restarts():
    now = [100.0]
    limit = _RestartLimit(1.0, clock=lambda: now[0])
    assert limit.can_consume()
    assert not limit.can_consume()
    assert limit.expected_time() == pytest.approx(1.0)
    now[0] += 1.0
    assert limit.can_consume()


def test_undecodable_message_is_logged_and_acked(conn, queue, caplog):
    publish(conn, queue, '{not json', content_type='application/json',
            content_encoding='utf-8')
    publish(conn, queue, 'good', serializer='json')
    worker = Worker(conn, queue)
    with caplog.at_level('ERROR', logger='kombu.mixins'):
        worker.run(safety_interval=0.1)
    assert worker.bodies == ['good']
    assert "Can't decode message body" in caplog.text
    with conn.channel() as channel:
        assert queue(channel).get() is None


def test_create_connection_is_a_clone(conn, queue):
    worker = Worker(conn, queue)
    clone = worker.create_connection()
    assert clone is not conn
    assert clone.as_uri() == conn.as_uri()
    clone.release()


def test_error_tuples_come_from_the_connection(conn, queue):
    worker = Worker(conn, queue)
    assert worker.connection_errors == tuple(conn.connection_errors)
    assert worker.channel_errors == tuple(conn.channel_errors)


def test_maybe_conn_error_ignores_connection_errors(conn, queue):
    worker = Worker(conn, queue)

    def lost():
        raise conn.connection_errors[0]('x')

    assert worker.maybe_conn_error(lost) is None
    assert worker.maybe_conn_error(lambda: 5) == 5
    # like kombu.common.ignore_errors: without fun, a context manager
    with worker.maybe_conn_error(None):
        lost()


def test_default_restart_limit_is_a_token_bucket(conn, queue):
    from kombu.utils.limits import TokenBucket
    limit = Worker(conn, queue).restart_limit
    assert isinstance(limit, TokenBucket)
    assert (limit.fill_rate, limit.capacity) == (1.0, 1.0)
    assert limit.can_consume(1)
    assert not limit.can_consume(1)
    assert 0 < limit.expected_time(1) <= 1


def test_get_consumers_must_be_implemented(conn):
    class Bare(ConsumerMixin):
        connection = conn

    with pytest.raises(NotImplementedError):
        Bare().get_consumers(None, None)


def test_default_on_connection_error_logs_a_warning(caplog, conn, queue):
    with caplog.at_level('WARNING', logger='kombu.mixins'):
        Worker(conn, queue).on_connection_error(OSError('down'), 2)
    assert 'trying again in 2 seconds' in caplog.text


class RpcWorker(ConsumerProducerMixin):
    def __init__(self, connection, queue):
        self.connection = connection
        self.queue = queue

    def get_consumers(self, Consumer, channel):
        return [Consumer(queues=[self.queue], on_message=self.on_request,
                         accept={'application/json'}, prefetch_count=1)]

    def on_request(self, message):
        self.producer.publish(
            {'result': message.payload['n'] * 2}, exchange='',
            routing_key=message.properties['reply_to'],
            correlation_id=message.properties['correlation_id'],
            serializer='json', retry=True)
        message.ack()
        self.seen_producer_conn = self.producer_connection
        self.should_stop = True


def test_consumer_producer_mixin_replies_on_a_separate_connection(conn, queue, unique_name):
    reply = Queue(unique_name + '.reply', routing_key=unique_name + '.reply')
    with conn.channel() as channel:
        reply(channel).declare()
    publish(conn, queue, {'n': 21}, serializer='json', reply_to=reply.name,
            correlation_id='abc')
    worker = RpcWorker(conn, queue)
    worker.run(safety_interval=0.1)
    assert worker.seen_producer_conn is not conn
    assert worker._producer_connection is None  # closed at consume end
    with conn.channel() as channel:
        message = reply(channel).get(no_ack=True)
    assert message.payload == {'result': 42}
    assert message.properties['correlation_id'] == 'abc'


def test_producer_connection_is_created_once(conn, queue):
    worker = RpcWorker(conn, queue)
    first = worker.producer_connection
    assert worker.producer_connection is first
    assert worker.producer is worker.producer
    worker.on_consume_end(None, None)
    assert worker._producer_connection is None
