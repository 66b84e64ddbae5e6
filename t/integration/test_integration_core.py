"""Transport-generic core suite: every transport must pass these.

The tests live on :class:`TransportSuite`; :class:`TestCore` runs them with the
``connection`` fixture of ``t/integration/conftest.py`` (memory, filesystem,
pyamqp, redis).  Another transport reuses the suite by subclassing it in its
own test module and providing ``connection`` / ``connection_factory`` /
``transport_name`` fixtures::

    from test_integration_core import TransportSuite

    class TestSQLAlchemyCore(TransportSuite):
        @pytest.fixture
        def transport_name(self): return 'sqlalchemy'
        ...
"""
from __future__ import annotations

import socket
import time
from queue import Empty

import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue, binding
from kombu.exceptions import ContentDisallowed

#: Transports that honour message priorities (given ``max_priority`` on the queue),
#: with the order in which priorities 1, 9, 5 come out: AMQP delivers the highest
#: number first, the Redis transport the lowest (0 is its highest priority).
PRIORITY_TRANSPORTS = {'pyamqp': [9, 5, 1], 'redis': [1, 5, 9], 'mongodb': [9, 5, 1],
                       'zookeeper': [9, 5, 1]}


def drain_until(conn: Connection, predicate, timeout: float = 5.0) -> None:
    """Drain events until ``predicate()`` is true (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError('timed out waiting for messages')
        try:
            conn.drain_events(timeout=min(remaining, 0.5))
        except socket.timeout:
            pass


def drain_quiet(conn: Connection, quiet: float = 0.3) -> None:
    """Drain until nothing arrives for ``quiet`` seconds."""
    while True:
        try:
            conn.drain_events(timeout=quiet)
        except socket.timeout:
            return


def get_message(queue, timeout: float = 5.0, **kwargs):
    """Poll ``queue.get`` (bound) until a message arrives."""
    deadline = time.monotonic() + timeout
    while True:
        m = queue.get(**kwargs)
        if m is not None or time.monotonic() > deadline:
            return m
        time.sleep(0.02)


class TransportSuite:
    """The core behaviours; subclasses supply the ``connection`` fixture."""

    @pytest.fixture
    def declared(self, connection):
        """Queues/exchanges to delete after the test (list of bound-able entities)."""
        entities: list = []
        yield entities
        channel = connection.default_channel
        for entity in reversed(entities):
            try:
                entity(channel).delete()
            except Exception:
                pass

    @pytest.fixture
    def queue(self, connection, unique_name, declared):
        q = Queue(unique_name, Exchange(unique_name, 'direct'), routing_key=unique_name)
        q(connection.default_channel).declare()
        declared.extend([q, q.exchange])
        return q

    # -- publish / consume -------------------------------------------------

    def test_publish_consume_ack(self, connection, queue):
        producer = connection.Producer()
        bodies = [{'n': i, 'text': 'héllo'} for i in range(5)]
        for body in bodies:
            producer.publish(body, exchange=queue.exchange, routing_key=queue.routing_key)
        got = []
        with connection.Consumer([queue], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            drain_until(connection, lambda: len(got) == 5)
        assert got == bodies
        assert queue(connection.default_channel).get() is None

    def test_message_attributes(self, connection, queue):
        connection.Producer().publish(
            {'a': 1}, exchange=queue.exchange, routing_key=queue.routing_key,
            headers={'h1': 'v1'}, correlation_id='c-1', reply_to='r-q', priority=3)
        m = get_message(queue(connection.default_channel))
        assert m.payload == {'a': 1}
        assert m.content_type == 'application/json'
        assert m.headers['h1'] == 'v1'
        assert m.properties['correlation_id'] == 'c-1'
        assert m.properties['reply_to'] == 'r-q'
        assert m.delivery_info['routing_key'] == queue.routing_key
        assert m.delivery_tag is not None
        m.ack()

    def test_anon_exchange(self, connection, queue):
        connection.Producer().publish('direct to queue', exchange='', routing_key=queue.name)
        m = get_message(queue(connection.default_channel))
        assert m.payload == 'direct to queue'
        m.ack()

    def test_reject_discards(self, connection, queue):
        connection.Producer().publish('bad', exchange=queue.exchange,
                                      routing_key=queue.routing_key)
        m = get_message(queue(connection.default_channel))
        m.reject()
        assert m.acknowledged
        time.sleep(0.05)
        assert queue(connection.default_channel).get() is None

    def test_requeue_redelivers(self, connection, queue):
        connection.Producer().publish('again', exchange=queue.exchange,
                                      routing_key=queue.routing_key)
        seen = []

        def on_message(body, message):
            seen.append(body)
            if len(seen) == 1:
                message.requeue()
            else:
                message.ack()
        with connection.Consumer([queue], callbacks=[on_message]):
            drain_until(connection, lambda: len(seen) == 2)
        assert seen == ['again', 'again']

    def test_unacked_restored_when_connection_closes(self, connection_factory, queue):
        c1 = connection_factory()
        c1.Producer().publish('survivor', exchange=queue.exchange,
                              routing_key=queue.routing_key)
        got = []
        with c1.Consumer([queue], callbacks=[lambda b, m: got.append(m)]):
            drain_until(c1, lambda: got)
        c1.release()
        c2 = connection_factory()
        m = get_message(queue(c2.default_channel))
        assert m is not None and m.payload == 'survivor'
        m.ack()

    def test_prefetch_window(self, connection, queue):
        producer = connection.Producer()
        for i in range(6):
            producer.publish(i, exchange=queue.exchange, routing_key=queue.routing_key)
        got = []
        with connection.Consumer([queue], callbacks=[lambda b, m: got.append(m)],
                                 prefetch_count=2):
            drain_until(connection, lambda: len(got) >= 2)
            drain_quiet(connection, 0.2)
            assert len(got) == 2
            for m in list(got):
                m.ack()
            drain_until(connection, lambda: len(got) >= 4)
            for m in got[2:]:
                m.ack()
            drain_until(connection, lambda: len(got) == 6)
            for m in got[4:]:
                m.ack()
        assert sorted(m.payload for m in got) == list(range(6))

    def test_no_ack_consumer(self, connection, queue):
        got = []
        with connection.Consumer([queue], no_ack=True, callbacks=[lambda b, m: got.append(m)]):
            connection.Producer().publish('fire and forget', exchange=queue.exchange,
                                          routing_key=queue.routing_key)
            drain_until(connection, lambda: got)
            got[0].ack()  # auto-acked by the broker: nothing to settle, must not fail
        assert queue(connection.default_channel).get() is None

    def test_consume_several_queues(self, connection, unique_name, declared):
        ex = Exchange(unique_name, 'direct')
        qs = [Queue(f'{unique_name}.{k}', ex, routing_key=k) for k in ('a', 'b', 'c')]
        declared.extend([*qs, ex])
        got = []
        with connection.Consumer(qs, callbacks=[lambda b, m: (got.append(b), m.ack())]):
            p = connection.Producer()
            for k in ('a', 'b', 'c'):
                p.publish(k, exchange=ex, routing_key=k)
            drain_until(connection, lambda: len(got) == 3)
        assert sorted(got) == ['a', 'b', 'c']

    def test_two_consumers_on_two_channels(self, connection, unique_name, declared):
        q1, q2 = Queue(f'{unique_name}.1'), Queue(f'{unique_name}.2')
        declared.extend([q1, q2])
        ch1, ch2 = connection.channel(), connection.channel()
        got = []
        try:
            with Consumer(ch1, [q1], callbacks=[lambda b, m: (got.append(b), m.ack())]), \
                    Consumer(ch2, [q2], callbacks=[lambda b, m: (got.append(b), m.ack())]):
                p = Producer(connection.default_channel)
                p.publish('one', routing_key=q1.name)
                p.publish('two', routing_key=q2.name)
                drain_until(connection, lambda: len(got) == 2)
        finally:
            ch1.close()
            ch2.close()
        assert sorted(got) == ['one', 'two']

    # -- routing -----------------------------------------------------------

    def test_topic_exchange(self, connection, unique_name, declared):
        ex = Exchange(unique_name, 'topic')
        stock = Queue(f'{unique_name}.stock', ex, routing_key='*.stock.#')
        everything = Queue(f'{unique_name}.all', ex, routing_key='#')
        declared.extend([stock, everything, ex])
        p = connection.Producer()
        for key in ('usd.stock', 'eur.stock.db', 'stock.nasdaq'):
            p.publish(key, exchange=ex, routing_key=key, declare=[stock, everything])
        ch = connection.default_channel
        got_stock = [get_message(stock(ch), no_ack=True).payload for _ in range(2)]
        assert sorted(got_stock) == ['eur.stock.db', 'usd.stock']
        time.sleep(0.05)
        assert stock(ch).get() is None
        got_all = [get_message(everything(ch), no_ack=True).payload for _ in range(3)]
        assert sorted(got_all) == ['eur.stock.db', 'stock.nasdaq', 'usd.stock']

    def test_fanout_exchange(self, connection, unique_name, declared):
        if not connection.supports_exchange_type('fanout'):
            pytest.skip('transport has no fanout exchange')
        ex = Exchange(unique_name, 'fanout')
        qs = [Queue(f'{unique_name}.{i}', ex) for i in range(3)]
        declared.extend([*qs, ex])
        got = []
        # one channel per queue, as broadcast consumers would be (the redis
        # transport delivers a PUB/SUB message to one queue per channel)
        channels = [connection.channel() for _ in qs]
        consumers = [Consumer(ch, [q], callbacks=[lambda b, m: (got.append(b), m.ack())])
                     for ch, q in zip(channels, qs)]
        try:
            for consumer in consumers:
                consumer.consume()
            # PUB/SUB based fanout (redis) only delivers to active subscriptions
            drain_quiet(connection, 0.2)
            connection.Producer().publish({'to': 'all'}, exchange=ex, routing_key='ignored')
            drain_until(connection, lambda: len(got) == 3)
        finally:
            for consumer in consumers:
                consumer.cancel()
            for ch in channels:
                ch.close()
        assert got == [{'to': 'all'}] * 3

    def test_headers_exchange(self, connection, unique_name, declared):
        if not connection.supports_exchange_type('headers'):
            pytest.skip('transport has no headers exchange')
        ex = Exchange(unique_name, 'headers')
        q_all = Queue(f'{unique_name}.all', ex,
                      binding_arguments={'x-match': 'all', 'a': '1', 'b': '2'})
        q_any = Queue(f'{unique_name}.any', ex,
                      binding_arguments={'x-match': 'any', 'a': '1', 'b': '2'})
        declared.extend([q_all, q_any, ex])
        p = connection.Producer()
        p.publish('both', exchange=ex, headers={'a': '1', 'b': '2'}, declare=[q_all, q_any])
        p.publish('only a', exchange=ex, headers={'a': '1'})
        ch = connection.default_channel
        assert get_message(q_all(ch), no_ack=True).payload == 'both'
        time.sleep(0.05)
        assert q_all(ch).get() is None
        got_any = sorted(get_message(q_any(ch), no_ack=True).payload for _ in range(2))
        assert got_any == ['both', 'only a']

    def test_queue_bindings(self, connection, unique_name, declared):
        e1, e2 = Exchange(f'{unique_name}.e1'), Exchange(f'{unique_name}.e2', 'topic')
        q = Queue(unique_name, bindings=[binding(e1, 'k1'), binding(e2, 'x.*')])
        declared.extend([q, e1, e2])
        p = connection.Producer()
        p.publish('via e1', exchange=e1, routing_key='k1', declare=[q])
        p.publish('via e2', exchange=e2, routing_key='x.y')
        ch = connection.default_channel
        got = sorted(get_message(q(ch), no_ack=True).payload for _ in range(2))
        assert got == ['via e1', 'via e2']

    def test_priority(self, connection, transport_name, unique_name, declared):
        if transport_name not in PRIORITY_TRANSPORTS:
            pytest.skip(f'{transport_name} does not order by priority')
        q = Queue(unique_name, Exchange(unique_name), unique_name, max_priority=10)
        declared.extend([q, q.exchange])
        q(connection.default_channel).declare()
        p = connection.Producer()
        for prio in (1, 9, 5):
            p.publish(prio, exchange=q.exchange, routing_key=unique_name, priority=prio)
        time.sleep(0.1)
        ch = connection.default_channel
        got = [get_message(q(ch), no_ack=True).payload for _ in range(3)]
        assert got == PRIORITY_TRANSPORTS[transport_name]

    # -- payloads --------------------------------------------------------------

    @pytest.mark.parametrize('serializer,body', [
        ('json', {'list': [1, 2.5, None, True], 'text': 'ünïcode'}),
        ('pickle', {'set': {1, 2}, 'tuple': (1, 'a'), 'bytes': b'\x00\xff'}),
        ('yaml', {'a': [1, 2], 'b': 'c'}),
        ('msgpack', {'a': [1, 2], 'b': 'c'}),
    ])
    def test_serializers(self, connection, queue, serializer, body):
        from kombu.serialization import registry
        if serializer not in registry._encoders:
            pytest.skip(f'{serializer} not installed')
        connection.Producer(serializer=serializer).publish(
            body, exchange=queue.exchange, routing_key=queue.routing_key)
        m = get_message(queue(connection.default_channel), accept=[serializer])
        assert m.payload == body
        m.ack()

    def test_raw_bytes_and_text(self, connection, queue):
        p = connection.Producer()
        p.publish(b'\x00\x01\xfe\xff', exchange=queue.exchange, routing_key=queue.routing_key,
                  content_type='application/octet-stream', content_encoding='binary')
        p.publish('plain', exchange=queue.exchange, routing_key=queue.routing_key,
                  content_type='text/plain', content_encoding='utf-8')
        ch = connection.default_channel
        m1, m2 = get_message(queue(ch)), get_message(queue(ch))
        assert m1.body == b'\x00\x01\xfe\xff' and m1.payload == b'\x00\x01\xfe\xff'
        assert m2.payload == 'plain'
        m1.ack()
        m2.ack()

    def test_untrusted_content_refused(self, connection, queue):
        connection.Producer(serializer='pickle').publish(
            {'x': 1}, exchange=queue.exchange, routing_key=queue.routing_key)
        errors = []
        with connection.Consumer([queue], accept=['json'], callbacks=[lambda b, m: None],
                                 on_decode_error=lambda m, e: (errors.append(e), m.ack())):
            drain_until(connection, lambda: errors)
        assert isinstance(errors[0], ContentDisallowed)

    @pytest.mark.parametrize('method', ['zlib', 'bzip2', 'gzip', 'lzma', 'brotli', 'zstd'])
    def test_compression(self, connection, queue, method):
        from kombu import compression
        if method not in compression._aliases and method not in compression.encoders():
            pytest.skip(f'{method} compression not available')
        body = {'data': 'compress me ' * 200}
        try:
            connection.Producer().publish(body, exchange=queue.exchange,
                                          routing_key=queue.routing_key, compression=method)
        except ImportError as exc:
            pytest.skip(f'{method}: {exc}')
        m = get_message(queue(connection.default_channel))
        assert m.headers.get('compression')
        assert m.payload == body
        m.ack()

    def test_large_message(self, connection, queue):
        body = {'blob': 'x' * (512 * 1024)}
        connection.Producer().publish(body, exchange=queue.exchange,
                                      routing_key=queue.routing_key)
        m = get_message(queue(connection.default_channel))
        assert m.payload == body
        m.ack()

    # -- simple interface ----------------------------------------------------

    def test_simple_queue(self, connection, unique_name, declared):
        with connection.SimpleQueue(unique_name) as sq:
            declared.append(sq.queue)
            sq.put({'hello': 'world'})
            sq.put('second')
            m = sq.get(block=True, timeout=5)
            assert m.payload == {'hello': 'world'}
            m.ack()
            m = sq.get(timeout=5)
            assert m.payload == 'second'
            m.ack()
            with pytest.raises(Empty):
                sq.get(timeout=0.2)
            assert sq.qsize() == 0

    def test_simple_buffer(self, connection, unique_name, declared):
        with connection.SimpleBuffer(unique_name) as sb:
            declared.append(sb.queue)
            sb.put('transient')
            m = sb.get(timeout=5)
            assert m.payload == 'transient'
            assert m.properties.get('delivery_mode') in (1, None)

    def test_simple_queue_get_nowait_and_clear(self, connection, unique_name, declared):
        sq = connection.SimpleQueue(unique_name)
        declared.append(sq.queue)
        with pytest.raises(Empty):
            sq.get_nowait()
        for i in range(3):
            sq.put(i)
        deadline = time.monotonic() + 5
        while sq.qsize() < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sq.qsize() == 3
        assert sq.clear() == 3
        assert sq.qsize() == 0
        sq.close()

    # -- queue operations / ensure -------------------------------------------

    def test_purge_and_message_count(self, connection, queue):
        p = connection.Producer()
        for _ in range(4):
            p.publish('x', exchange=queue.exchange, routing_key=queue.routing_key)
        bound = queue(connection.default_channel)
        deadline = time.monotonic() + 5
        while bound.queue_declare(passive=True).message_count < 4:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert bound.purge() == 4
        assert bound.queue_declare(passive=True).message_count == 0

    def test_ensure_publish(self, connection, queue):
        producer = connection.Producer()
        errors = []
        publish = connection.ensure(producer, producer.publish, max_retries=3,
                                    errback=lambda exc, interval: errors.append(exc))
        publish({'ensured': True}, exchange=queue.exchange, routing_key=queue.routing_key)
        producer.publish({'retry': True}, exchange=queue.exchange,
                         routing_key=queue.routing_key, retry=True,
                         retry_policy={'max_retries': 3, 'interval_start': 0})
        ch = connection.default_channel
        assert get_message(queue(ch), no_ack=True).payload == {'ensured': True}
        assert get_message(queue(ch), no_ack=True).payload == {'retry': True}
        assert errors == []

    def test_publish_retry_recovers_lost_connection(self, connection, transport_name, queue):
        if transport_name != 'pyamqp':
            pytest.skip('needs a socket to break')
        producer = connection.Producer()
        producer.publish('before', exchange=queue.exchange, routing_key=queue.routing_key)
        connection.connection.transport.sock.shutdown(socket.SHUT_RDWR)  # broker "goes away"
        errors = []
        producer.publish('after', exchange=queue.exchange, routing_key=queue.routing_key,
                         declare=[queue], retry=True,
                         retry_policy={'max_retries': 3, 'interval_start': 0,
                                       'errback': lambda exc, interval: errors.append(exc)})
        assert len(errors) == 1
        ch = connection.default_channel
        got = [get_message(queue(ch), no_ack=True).payload for _ in range(2)]
        assert got == ['before', 'after']

    def test_ensure_connection(self, connection):
        assert connection.ensure_connection(max_retries=1) is connection
        assert connection.connected
        connection.close()
        assert not connection.connected
        connection.connect()
        assert connection.connected

    def test_drain_events_timeout(self, connection, queue):
        with connection.Consumer([queue], callbacks=[lambda b, m: None]):
            t0 = time.monotonic()
            with pytest.raises(socket.timeout):
                connection.drain_events(timeout=0.2)
            assert time.monotonic() - t0 < 3


class TestCore(TransportSuite):
    """The suite on memory, filesystem, pyamqp and redis."""
