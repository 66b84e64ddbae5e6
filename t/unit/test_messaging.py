"""kombu.messaging: Producer and Consumer over memory://."""
from __future__ import annotations

import pickle
import socket

import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.exceptions import ContentDisallowed, NotBoundError


@pytest.fixture
def conn():
    with Connection('memory://') as c:
        yield c


@pytest.fixture
def queue(conn, unique_name):
    q = Queue(unique_name, Exchange(unique_name), routing_key=unique_name)
    q(conn.default_channel).declare()
    yield q
    try:
        q(conn.default_channel).delete()
    except Exception:
        pass


def drain_all(conn, timeout=0.05):
    """Drain until nothing arrives for ``timeout`` seconds."""
    n = 0
    while True:
        try:
            conn.drain_events(timeout=timeout)
        except socket.timeout:
            return n
        n += 1


def get(conn, queue, **kwargs):
    return queue(conn.default_channel).get(**kwargs)


class TestProducer:
    def test_defaults(self, conn):
        p = Producer(conn)
        assert p.exchange == Exchange('')
        assert p.routing_key == '' and p.serializer is None and p.compression is None
        assert p.auto_declare is True and p.on_return is None
        assert p.connection is conn

    def test_connection_channel_is_lazy(self):
        c = Connection('memory://')
        p = c.Producer()
        assert not c.connected  # nothing happened yet
        p.publish({'x': 1}, routing_key='t.lazy.nowhere')
        assert c.connected
        assert p.channel is c.default_channel
        c.close()

    def test_publish_json_default(self, conn, queue):
        conn.Producer().publish({'hello': 'world'}, exchange=queue.exchange,
                                routing_key=queue.routing_key)
        m = get(conn, queue)
        assert m.payload == {'hello': 'world'}
        assert m.content_type == 'application/json' and m.content_encoding == 'utf-8'
        assert m.properties['delivery_mode'] == 2
        assert m.delivery_info['exchange'] == queue.exchange.name
        assert m.delivery_info['routing_key'] == queue.routing_key
        m.ack()

    def test_publish_options(self, conn, queue):
        conn.Producer().publish(
            {'n': 1}, exchange=queue.exchange, routing_key=queue.routing_key,
            headers={'h': 'v'}, priority=5, expiration=10, correlation_id='cid',
            reply_to='rq', delivery_mode='transient', serializer='json')
        m = get(conn, queue)
        assert m.headers['h'] == 'v'
        assert m.properties['priority'] == 5
        assert m.properties['expiration'] == '10000'
        assert m.properties['correlation_id'] == 'cid'
        assert m.properties['reply_to'] == 'rq'
        assert m.properties['delivery_mode'] == 1
        m.ack()

    def test_exchange_delivery_mode_is_default(self, conn, queue, unique_name):
        ex = Exchange(f'{unique_name}.t', delivery_mode='transient')
        q = Queue(f'{unique_name}.t', ex, 'k')
        p = conn.Producer()
        p.publish('x', exchange=ex, routing_key='k', declare=[q])
        m = get(conn, q)
        assert m.properties['delivery_mode'] == 1
        m.ack()

    def test_content_type_given_skips_serialization(self, conn, queue):
        p = conn.Producer()
        p.publish(b'\x00\x01raw', exchange=queue.exchange, routing_key=queue.routing_key,
                  content_type='application/data', content_encoding='binary')
        p.publish('text', exchange=queue.exchange, routing_key=queue.routing_key,
                  content_type='text/plain')
        m1, m2 = get(conn, queue), get(conn, queue)
        assert m1.body == b'\x00\x01raw' and m1.content_type == 'application/data'
        assert m2.body == b'text' and m2.content_encoding == 'utf-8'
        assert m2.payload == 'text'
        m1.ack()
        m2.ack()

    @pytest.mark.parametrize('compression', ['zlib', 'bzip2', 'gzip'])
    def test_compression(self, conn, queue, compression):
        body = {'data': 'z' * 500}
        conn.Producer(compression=compression).publish(
            body, exchange=queue.exchange, routing_key=queue.routing_key)
        m = get(conn, queue)
        assert 'compression' in m.headers
        assert m.payload == body
        m.ack()

    def test_serializer_pickle_needs_accept(self, conn, queue):
        conn.Producer(serializer='pickle').publish(
            {'s': {1, 2}}, exchange=queue.exchange, routing_key=queue.routing_key)
        m = get(conn, queue, accept=['pickle'])
        assert m.payload == {'s': {1, 2}}
        m.ack()

    def test_default_exchange_and_routing_key(self, conn, queue):
        p = conn.Producer(exchange=queue.exchange, routing_key=queue.routing_key)
        p.publish('hi')
        assert get(conn, queue, no_ack=True).payload == 'hi'

    def test_anon_exchange_routes_to_queue_name(self, conn, queue):
        conn.Producer().publish({'a': 1}, exchange='', routing_key=queue.name)
        assert get(conn, queue, no_ack=True).payload == {'a': 1}

    def test_declare_argument_and_cache(self, conn, unique_name):
        q = Queue(unique_name, Exchange(unique_name), unique_name)
        p = conn.Producer()
        p.publish('x', exchange=q.exchange, routing_key=q.routing_key, declare=[q])
        assert hash(q) in conn.declared_entities
        assert get(conn, q, no_ack=True).payload == 'x'
        assert p.maybe_declare(q) is False  # cached
        conn.declared_entities.clear()
        assert p.maybe_declare(q) is True
        q(conn.default_channel).delete()

    def test_auto_declare_default_exchange(self, conn, unique_name):
        ex = Exchange(unique_name, 'fanout')
        p = conn.Producer(exchange=ex)
        assert hash(ex) not in conn.declared_entities
        p.publish('x')
        assert hash(ex) in conn.declared_entities
        p2 = conn.Producer(exchange=Exchange(f'{unique_name}.2'), auto_declare=False)
        p2.publish('y', exchange='', routing_key='nowhere')
        assert hash(p2.exchange) not in conn.declared_entities

    def test_retry_publish(self, conn, queue):
        conn.Producer().publish({'r': 1}, exchange=queue.exchange,
                                routing_key=queue.routing_key, retry=True,
                                retry_policy={'max_retries': 2, 'interval_start': 0})
        assert get(conn, queue, no_ack=True).payload == {'r': 1}

    def test_context_manager_and_release(self, conn):
        with conn.Producer() as p:
            assert isinstance(p, Producer)
        p.release()
        p.close()

    def test_revive(self, conn):
        p = Producer(conn.default_channel, exchange=Exchange('e'))
        new = conn.channel()
        p.revive(new)
        assert p.channel is new and p.exchange.channel is new
        new.close()

    def test_pickle(self, conn):
        p = Producer(conn, exchange=Exchange('e'), routing_key='rk', serializer='json')
        p2 = pickle.loads(pickle.dumps(p))
        assert p2.exchange == Exchange('e') and p2.routing_key == 'rk'
        assert p2.serializer == 'json'


class TestConsumer:
    def test_defaults(self, conn, queue):
        c = Consumer(conn, [queue])
        assert c.no_ack is None or c.no_ack is False
        assert c.auto_declare is True and c.callbacks == []
        assert c.on_message is None and c.on_decode_error is None
        assert c.accept is None and c.prefetch_count is None
        assert c.ContentDisallowed is ContentDisallowed
        assert c.channel is conn.default_channel
        assert [q.name for q in c.queues] == [queue.name]
        assert c.queues[0].is_bound

    def test_single_queue_argument(self, conn, queue):
        assert [q.name for q in Consumer(conn, queue).queues] == [queue.name]

    def test_receive_callbacks(self, conn, queue):
        got = []
        with conn.Consumer([queue], callbacks=[lambda b, m: got.append(('a', b))]) as c:
            c.register_callback(lambda b, m: (got.append(('b', b)), m.ack()))
            conn.Producer().publish({'n': 1}, exchange=queue.exchange,
                                    routing_key=queue.routing_key)
            conn.drain_events(timeout=1)
        assert got == [('a', {'n': 1}), ('b', {'n': 1})]

    def test_receive_without_callbacks_raises(self, conn, queue):
        with pytest.raises(NotImplementedError):
            Consumer(conn, [queue]).receive({}, None)

    def test_on_message_gets_undecoded_message(self, conn, queue):
        got = []
        with conn.Consumer([queue], on_message=got.append,
                           callbacks=[lambda b, m: got.append('callback!')]):
            conn.Producer().publish({'x': 1}, exchange=queue.exchange,
                                    routing_key=queue.routing_key, compression='zlib')
            conn.drain_events(timeout=1)
        assert len(got) == 1
        m = got[0]
        assert m.body == b'{"x": 1}'  # decompressed, not decoded
        assert m._decoded_cache is not None and m.payload == {'x': 1}
        m.ack()

    def test_accept_refused_calls_on_decode_error(self, conn, queue):
        errors, got = [], []
        with conn.Consumer([queue], accept=['json'], callbacks=[lambda b, m: got.append(b)],
                           on_decode_error=lambda m, exc: (errors.append((m, exc)),
                                                           m.reject())):
            conn.Producer().publish({'a': 1}, exchange=queue.exchange,
                                    routing_key=queue.routing_key, serializer='pickle')
            conn.drain_events(timeout=1)
        assert got == []
        assert len(errors) == 1 and isinstance(errors[0][1], ContentDisallowed)
        assert errors[0][0].acknowledged

    def test_accept_refused_without_handler_raises_and_keeps_message(self, unique_name):
        c1 = Connection('memory://')
        q = Queue(unique_name, Exchange(unique_name), unique_name)
        c1.Producer().publish({'a': 1}, exchange=q.exchange, routing_key=unique_name,
                              declare=[q], serializer='pickle')
        with pytest.raises(ContentDisallowed):
            with c1.Consumer([q], accept=['json'], callbacks=[lambda b, m: None]):
                c1.drain_events(timeout=1)
        c1.close()  # unacked: restored to the queue, not lost
        with Connection('memory://') as c2:
            m = q(c2.default_channel).get(accept=['pickle'])
            assert m is not None and m.payload == {'a': 1}
            m.ack()
            q(c2.default_channel).delete()

    def test_accept_accepts_listed(self, conn, queue):
        got = []
        with conn.Consumer([queue], accept=['pickle', 'application/json'],
                           callbacks=[lambda b, m: (got.append(b), m.ack())]):
            p = conn.Producer()
            p.publish({'p': 1}, exchange=queue.exchange, routing_key=queue.routing_key,
                      serializer='pickle')
            p.publish({'j': 1}, exchange=queue.exchange, routing_key=queue.routing_key)
            drain_all(conn)
        assert got == [{'p': 1}, {'j': 1}]

    def test_decompression_error_goes_to_on_decode_error(self, conn, queue):
        errors = []
        with conn.Consumer([queue], on_decode_error=lambda m, e: errors.append(e),
                           callbacks=[lambda b, m: None]):
            conn.Producer().publish(b'garbage', exchange=queue.exchange,
                                    routing_key=queue.routing_key,
                                    content_type='application/data',
                                    headers={'compression': 'application/x-gzip'})
            conn.drain_events(timeout=1)
        assert len(errors) == 1

    def test_ack_removes_and_unacked_is_restored(self, unique_name):
        q = Queue(unique_name, Exchange(unique_name), unique_name)
        c1 = Connection('memory://')
        p = c1.Producer()
        for i in range(2):
            p.publish(i, exchange=q.exchange, routing_key=unique_name, declare=[q])
        msgs = []
        with c1.Consumer([q], callbacks=[lambda b, m: msgs.append(m)]):
            drain_all(c1)
        assert [m.payload for m in msgs] == [0, 1]
        msgs[0].ack()
        c1.close()
        with Connection('memory://') as c2:
            m = q(c2.default_channel).get()
            assert m.payload == 1
            m.ack()
            assert q(c2.default_channel).get() is None
            q(c2.default_channel).delete()

    def test_reject_requeue(self, conn, queue):
        seen = []

        def on_message(body, message):
            seen.append(body)
            if len(seen) == 1:
                message.requeue()
            else:
                message.ack()
        with conn.Consumer([queue], callbacks=[on_message]):
            conn.Producer().publish('again', exchange=queue.exchange,
                                    routing_key=queue.routing_key)
            drain_all(conn)
        assert seen == ['again', 'again']

    def test_prefetch_count_limits_unacked(self, conn, queue):
        p = conn.Producer()
        for i in range(5):
            p.publish(i, exchange=queue.exchange, routing_key=queue.routing_key)
        got = []
        with conn.Consumer([queue], callbacks=[lambda b, m: got.append(m)],
                           prefetch_count=2):
            drain_all(conn)
            assert len(got) == 2
            for m in got:
                m.ack()
            drain_all(conn)
            assert len(got) == 4
        for m in got[2:]:
            m.ack()

    def test_qos(self, conn, queue):
        c = conn.Consumer([queue])
        c.qos(prefetch_count=3)
        assert conn.default_channel.qos.prefetch_count == 3

    def test_no_ack(self, conn, queue):
        got = []
        with conn.Consumer([queue], no_ack=True, callbacks=[lambda b, m: got.append(m)]):
            conn.Producer().publish('x', exchange=queue.exchange, routing_key=queue.routing_key)
            conn.drain_events(timeout=1)
        got[0].ack()  # a no-op or an error-free settle: nothing is pending
        assert not conn.default_channel.qos._delivered

    def test_consume_cancel_consuming_from(self, conn, queue, unique_name):
        q2 = Queue(f'{unique_name}.2')
        c = conn.Consumer([queue, q2], tag_prefix='pre-')
        assert not c.consuming_from(queue)
        c.consume()
        assert c.consuming_from(queue) and c.consuming_from(q2.name)
        assert all(tag.startswith('pre-') for tag in c._active_tags.values())
        c.cancel_by_queue(queue.name)
        assert not c.consuming_from(queue)
        assert [q.name for q in c.queues] == [q2.name]
        c.cancel()
        assert not c.consuming_from(q2)

    def test_add_queue_then_consume(self, conn, queue, unique_name):
        got = []
        c = conn.Consumer([queue], callbacks=[lambda b, m: (got.append(b), m.ack())])
        c.consume()
        new = c.add_queue(Queue(f'{unique_name}.added'))
        assert not c.consuming_from(new)
        c.consume()
        assert c.consuming_from(new)
        conn.Producer().publish('to new', routing_key=new.name)
        drain_all(conn)
        assert got == ['to new']
        c.cancel()
        new.delete()

    def test_purge(self, conn, queue):
        p = conn.Producer()
        for _ in range(3):
            p.publish('x', exchange=queue.exchange, routing_key=queue.routing_key)
        assert conn.Consumer([queue]).purge() == 3

    def test_auto_declare_false(self, conn, unique_name):
        Consumer(conn, [Queue(unique_name)], auto_declare=False)
        assert not conn.default_channel._has_queue(unique_name)
        c = Consumer(conn, [Queue(unique_name)])
        assert conn.default_channel._has_queue(unique_name)
        c.queues[0].delete()

    def test_recover(self, conn, queue):
        got = []
        with conn.Consumer([queue], callbacks=[lambda b, m: got.append(m)]) as c:
            conn.Producer().publish('r', exchange=queue.exchange, routing_key=queue.routing_key)
            drain_all(conn)
            c.recover(requeue=True)
            drain_all(conn)
        assert [m.payload for m in got] == ['r', 'r']
        got[-1].ack()

    def test_revive_new_channel(self, conn, queue):
        c = conn.Consumer([queue])
        c.consume()
        ch = conn.channel()
        c.revive(ch)
        assert c.channel is ch and c.queues[0].channel is ch
        assert not c._active_tags
        ch.close()

    def test_repr(self, conn, queue):
        assert repr(Consumer(conn, [queue])).startswith('<Consumer: [')


class TestGuideExamples:
    def test_quick_overview(self, unique_name):
        """Getting Started, "Quick overview", on memory://."""
        media_exchange = Exchange(f'{unique_name}.media', 'direct', durable=True)
        video_queue = Queue(f'{unique_name}.video', exchange=media_exchange,
                            routing_key='video')
        seen = []

        def process_media(body, message):
            seen.append(body)
            message.ack()

        with Connection('memory://') as conn:
            producer = conn.Producer(serializer='json')
            producer.publish({'name': '/tmp/lolcat1.avi', 'size': 1301013},
                             exchange=media_exchange, routing_key='video',
                             declare=[video_queue])
            with conn.Consumer(video_queue, callbacks=[process_media]):
                conn.drain_events(timeout=1)
            assert seen == [{'name': '/tmp/lolcat1.avi', 'size': 1301013}]

            bound_exchange = media_exchange(conn)
            video_queue(conn).delete()
            bound_exchange.delete()  # the original stays unbound:
            with pytest.raises(NotBoundError):
                media_exchange.delete()

    def test_rpc_worker_with_on_message(self, unique_name):
        """Consumers guide: on_message + reply_to/correlation_id RPC pattern."""
        rpc_queue = Queue(unique_name)
        reply_queue = Queue(f'{unique_name}.reply', exclusive=True)
        with Connection('memory://') as conn:
            worker_producer = conn.Producer()

            def on_request(message):
                n = message.payload['n']
                worker_producer.publish(
                    {'result': n * 2}, exchange='',
                    routing_key=message.properties['reply_to'],
                    correlation_id=message.properties['correlation_id'],
                    serializer='json', retry=True)
                message.ack()

            worker = conn.Consumer(queues=[rpc_queue], on_message=on_request,
                                   accept={'application/json'}, prefetch_count=1)
            replies = []
            client = conn.Consumer([reply_queue], callbacks=[
                lambda body, m: (replies.append((body, m.properties['correlation_id'])),
                                 m.ack())])
            with worker, client:
                conn.Producer().publish({'n': 21}, exchange='', routing_key=rpc_queue.name,
                                        reply_to=reply_queue.name, correlation_id='abc')
                drain_all(conn)
            assert replies == [({'result': 42}, 'abc')]
            rpc_queue(conn).delete()


def test_producer_declare_through_lazy_connection(unique_name):
    with Connection('memory://') as conn:
        p = Producer(conn, exchange=Exchange(unique_name, 'topic'))
        p.declare()
        assert p.exchange.is_bound and p.exchange.channel is conn.default_channel
        conn.default_channel.exchange_declare(unique_name, 'topic', passive=True)  # exists
        with pytest.raises(conn.channel_errors):
            conn.default_channel.exchange_declare(f'{unique_name}.nope', passive=True)


# -- parity with Kombu 4.6.7 (differential sweep) -------------------------

def test_expiration_accepts_numeric_strings_and_floats(conn, queue):
    p = Producer(conn.default_channel)
    p.publish('a', exchange=queue.exchange, routing_key=queue.routing_key, expiration='10')
    p.publish('b', exchange=queue.exchange, routing_key=queue.routing_key, expiration=1.5)
    p.publish('c', exchange=queue.exchange, routing_key=queue.routing_key, expiration=0)
    got = [queue(conn.default_channel).get(no_ack=True).properties['expiration']
           for _ in range(3)]
    assert got == ['10000', '1500', '0']


def test_publish_with_content_type_needs_serialized_body(conn, queue):
    from kombu.exceptions import EncodeError
    p = Producer(conn.default_channel)
    with pytest.raises(EncodeError) as exc_info:
        p.publish({'a': 1}, exchange=queue.exchange, routing_key=queue.routing_key,
                  content_type='application/json')
    assert isinstance(exc_info.value, TypeError)  # as in Kombu 4.6.7
    assert queue(conn.default_channel).get(no_ack=True) is None  # nothing published
    p.publish(b'{"a": 1}', exchange=queue.exchange, routing_key=queue.routing_key,
              content_type='application/json', content_encoding='utf-8')
    assert queue(conn.default_channel).get(no_ack=True).payload == {'a': 1}


def test_on_return_is_registered_on_the_channel_events(conn):
    def on_return(exc, exchange, routing_key, message):
        pass

    channel = conn.channel()
    try:
        Producer(channel, on_return=on_return)
        assert on_return in channel.events['basic_return']
        lazy = Producer(conn, on_return=on_return)
        assert lazy.channel is conn.default_channel  # resolving it registers on_return
        assert on_return in conn.default_channel.events['basic_return']
    finally:
        channel.close()


def test_publish_argument_mapping_to_received_message(conn, queue):
    p = Producer(conn.default_channel, exchange=queue.exchange, routing_key=queue.routing_key)
    p.publish('x', priority=5, delivery_mode='transient', headers={'h': 1},
              reply_to='rq', correlation_id='cid', compression='zlib',
              message_id='mid', app_id='app')
    m = queue(conn.default_channel).get(no_ack=True)
    assert (m.content_type, m.content_encoding, m.payload) == ('text/plain', 'utf-8', 'x')
    assert m.headers == {'h': 1, 'compression': 'application/x-gzip'}
    props = m.properties
    assert (props['priority'], props['delivery_mode']) == (5, 1)
    assert (props['reply_to'], props['correlation_id']) == ('rq', 'cid')
    assert (props['message_id'], props['app_id']) == ('mid', 'app')
    assert 'expiration' not in props
    assert m.delivery_info['exchange'] == queue.exchange.name
    assert m.delivery_info['routing_key'] == queue.routing_key


def test_consumer_and_producer_defaults():
    p = Producer(None)
    assert (p.exchange.name, p.routing_key, p.serializer, p.compression,
            p.auto_declare, p.on_return, p.channel) == ('', '', None, None, True, None, None)
    assert repr(p) == '<Producer: None>'
    c = Consumer(None)
    assert (c.no_ack, c.auto_declare, c.callbacks, c.on_message, c.on_decode_error,
            c.accept, c.prefetch_count, c.queues) == (None, True, [], None, None, None, None, [])
    assert repr(c) == '<Consumer: []>'
    with pytest.raises(NotImplementedError):
        c.receive('body', None)
