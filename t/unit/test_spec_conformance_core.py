"""One test per documented statement of the core API (the Kombu 4.6.7 docs are the spec).

Each test cites the spec file (under the project's spec folder) the statement comes from.
Everything runs on ``memory://`` with unique entity names.
"""
from __future__ import annotations

import itertools
import logging
import pickle
import socket
import uuid

import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue, common, compat, pools
from kombu.exceptions import (
    ChannelLimitExceeded,
    ConnectionLimitExceeded,
    ContentDisallowed,
    MessageStateError,
    NotBoundError,
)
from kombu.message import Message
from kombu.mixins import ConsumerMixin, ConsumerProducerMixin
from kombu.simple import SimpleBuffer, SimpleQueue


@pytest.fixture
def name():
    return f'spec-core-{uuid.uuid4().hex[:12]}'


@pytest.fixture
def conn():
    c = Connection('memory://')
    yield c
    c.release()


@pytest.fixture
def queue(name):
    return Queue(name, Exchange(name, 'direct'), routing_key=name)


def _publish(conn, queue, body, **kwargs):
    Producer(conn).publish(body, exchange=queue.exchange, routing_key=queue.routing_key,
                           declare=[queue], **kwargs)


# -- 00-guide-getting-started.txt -------------------------------------------------------

def test_unbound_exchange_delete_raises_not_bound_naming_the_method(conn):
    # 00: ">>> exchange.delete()  raise NotBoundError: Can't call delete on Exchange
    # not bound to a channel." -- and the original exchange stays unbound.
    exchange = Exchange('tasks', 'direct')
    bound = exchange(conn)
    assert bound.is_bound and not exchange.is_bound
    with pytest.raises(NotBoundError,
                       match="Can't call delete on Exchange not bound to a channel"):
        exchange.delete()


@pytest.mark.parametrize('call, method', [
    (lambda: Exchange('x').declare(), 'declare'),
    (lambda: Exchange('x').publish('body'), 'publish'),
    (lambda: Exchange('x').Message('body'), 'Message'),
    (lambda: Queue('x').declare(), 'declare'),
    (lambda: Queue('x').queue_declare(), 'queue_declare'),
    (lambda: Queue('x').get(), 'get'),
    (lambda: Queue('x').purge(), 'purge'),
    (lambda: Queue('x').delete(), 'delete'),
    (lambda: Queue('x').consume(), 'consume'),
])
def test_unbound_entity_operations_raise_not_bound(call, method):
    # 00 / 10 (Exchange, Queue): a declaration must be bound to a channel to perform operations.
    with pytest.raises(NotBoundError, match=f"Can't call {method} on "):
        call()


def test_binding_to_connection_uses_its_default_channel(conn):
    # 00: "Binding exchanges and queues to a connection will make it use that
    # connections default channel."
    assert Exchange('e')(conn).channel is conn.default_channel
    assert Queue('q')(conn).channel is conn.default_channel


def test_exchange_and_queue_are_picklable_declarations(name):
    # 00: "Exchange and Queue are simply declarations that can be pickled".
    exchange = Exchange(name, 'topic', durable=False)
    queue = Queue(name, exchange, routing_key='a.#', message_ttl=3)
    assert pickle.loads(pickle.dumps(exchange)) == exchange
    restored = pickle.loads(pickle.dumps(queue))
    assert restored == queue
    assert restored.message_ttl == 3 and restored.exchange.type == 'topic'


def test_quick_overview_publish_declare_and_consume(conn, name):
    # 00: Quick overview: publish with declare=[queue], then consume with callbacks.
    media = Exchange(name, 'direct', durable=True)
    video = Queue(name, exchange=media, routing_key='video')
    producer = conn.Producer(serializer='json')
    producer.publish({'name': '/tmp/lolcat1.avi', 'size': 1301013},
                     exchange=media, routing_key='video', declare=[video])
    received = []

    def process_media(body, message):
        received.append(body)
        message.ack()

    with conn.Consumer(video, callbacks=[process_media]):
        conn.drain_events(timeout=1)
    assert received == [{'name': '/tmp/lolcat1.avi', 'size': 1301013}]


def test_consumer_outside_with_register_consume_cancel(conn, queue):
    # 00: consumer.register_callback(cb); consumer.consume(); ...; consumer.cancel().
    got = []
    consumer = Consumer(conn, [queue])
    consumer.register_callback(lambda body, message: (got.append(body), message.ack()))
    consumer.consume()
    _publish(conn, queue, {'n': 1})
    conn.drain_events(timeout=1)
    consumer.cancel()
    assert got == [{'n': 1}]
    assert not consumer.consuming_from(queue)


# -- 02-guide-connections-and-transports.txt ------------------------------------------

def test_connection_is_lazy_until_connect():
    # 02: "The connection will not be established yet ... connection.connected True".
    conn = Connection('memory://')
    assert conn.connected is False
    conn.connect()
    assert conn.connected is True
    conn.release()
    assert conn.connected is False


def test_default_transport_is_amqp_with_default_settings():
    # 02: "The default transport is amqp" and a connection without arguments is the same
    # as amqp://guest:guest@localhost:5672//.
    conn = Connection()
    assert conn.transport_cls == 'amqp'
    assert conn.as_uri(include_password=True) == 'amqp://guest:guest@localhost:5672//'
    assert conn.as_uri(include_password=True) == Connection(
        'amqp://guest:guest@localhost:5672//').as_uri(include_password=True)
    info = conn.info()
    assert (info['hostname'], info['port'], info['userid'], info['password'],
            info['virtual_host']) == ('localhost', 5672, 'guest', 'guest', '/')


@pytest.mark.parametrize('url, transport, hostname, port, vhost', [
    ('amqp://', 'amqp', None, None, '/'),
    ('redis://localhost:6379/', 'redis', 'localhost', 6379, '/'),
    ('redis+socket:///tmp/redis.sock', 'redis', 'socket:///tmp/redis.sock', None, '/'),
    ('amqp://localhost//foo', 'amqp', 'localhost', None, '/foo'),
    ('amqp://localhost/foo', 'amqp', 'localhost', None, 'foo'),
    ('qpid://localhost/', 'qpid', 'localhost', None, '/'),
    ('pyro://localhost/kombu.broker', 'pyro', 'localhost', None, 'kombu.broker'),
])
def test_documented_urls_parse(url, transport, hostname, port, vhost):
    # 02: "All of these are valid URLs".
    conn = Connection(url)
    assert (conn.transport_cls, conn.hostname, conn.port, conn.virtual_host) == (
        transport, hostname, port, vhost)


def test_url_query_sets_options():
    # 02: "amqp://localhost/myvhost?ssl=1" -- the query part sets options.
    conn = Connection('amqp://localhost/myvhost?ssl=1')
    assert conn.ssl and conn.virtual_host == 'myvhost'
    assert conn.as_uri() == 'amqp://guest:**@localhost:5671/myvhost'


def test_keyword_arguments_are_defaults_when_not_in_url():
    # 02: hostname/userid/password/virtual_host/port: "Default ... if not provided in the URL".
    conn = Connection('amqp://', userid='u', password='pw', virtual_host='vh', port=1111)
    assert (conn.userid, conn.password, conn.virtual_host, conn.port) == ('u', 'pw', 'vh', 1111)
    conn = Connection('amqp://a:b@h:2/v', userid='u', password='pw', virtual_host='vh', port=1)
    assert (conn.hostname, conn.userid, conn.password, conn.virtual_host, conn.port) == (
        'h', 'a', 'b', 'v', 2)


def test_transport_keyword_is_default_only():
    # 02: transport -- "Default transport if not provided in the URL"; can be a class path.
    assert Connection('localhost', transport='memory').transport_cls == 'memory'
    assert Connection('redis://', transport='memory').transport_cls == 'redis'
    path = Connection(transport='kombu.transport.memory:Transport')
    from kombu.transport.memory import Transport
    assert path.get_transport_cls() is Transport


def test_connection_keyword_defaults():
    # 02 / 10: ssl default False, connect_timeout 5, transport_options a dict.
    conn = Connection('amqp://')
    assert conn.ssl is False
    assert conn.connect_timeout == 5
    assert conn.insist is False
    opts = {'visibility_timeout': 3000}
    assert Connection('redis://', transport_options=opts).transport_options == opts


def test_connection_as_context_manager_releases():
    # 02: "the connection can be used as a context".
    with Connection('memory://') as conn:
        conn.connect()
        assert conn.connected
    assert not conn.connected


# -- 03-guide-producers.txt -----------------------------------------------------------

def test_producer_takes_channel_or_connection(conn):
    # 03: "it takes a channel or a connection as an argument".
    with conn.channel() as channel:
        assert Producer(channel).channel is channel
    assert Producer(conn).channel is conn.default_channel
    assert Producer(conn).connection is conn


def test_producer_defaults(conn):
    # 03: serializer None (json), compression None, auto_declare True, routing_key ''.
    producer = Producer(conn)
    assert producer.serializer is None
    assert producer.compression is None
    assert producer.auto_declare is True
    assert producer.routing_key == ''
    assert producer.on_return is None


def test_publish_with_retry_policy_and_declare(conn, name):
    # 03: publish(..., retry=True, retry_policy={...}, declare=[task_queue]) declares the
    # exchange, the queue and binds them.
    task_queue = Queue(name, Exchange(name), routing_key=name)
    Producer(conn).publish(
        {'hello': 'world'}, retry=True,
        retry_policy={'interval_start': 0, 'interval_step': 2,
                      'interval_max': 30, 'max_retries': 30},
        exchange=task_queue.exchange, routing_key=task_queue.routing_key,
        declare=[task_queue])
    assert task_queue(conn).get().payload == {'hello': 'world'}


def test_publish_to_anon_exchange(conn, queue):
    # 03: "set the exchange parameter to the empty string, and set the routing key to be
    # the name of the queue".
    queue(conn).declare()
    Producer(conn).publish({'hello': 'world'}, exchange='', routing_key=queue.name)
    assert queue(conn).get().payload == {'hello': 'world'}


def test_json_is_default_serializer_and_pickle_on_request(conn, queue):
    # 03 / 08: "Json is the default serializer"; serializer='pickle' selects pickle.
    _publish(conn, queue, {'hello': 'world'})
    message = queue(conn).get()
    assert message.content_type == 'application/json'
    _publish(conn, queue, {'hello': 'world'}, serializer='pickle')
    message = queue(conn).get(accept=['pickle'])
    assert message.content_type == 'application/x-python-serialize'
    assert message.payload == {'hello': 'world'}


def test_publish_expiration_and_priority_properties(conn, queue):
    # 03: expiration -- "A TTL in seconds can be specified per message"; priority 0..9.
    _publish(conn, queue, {'x': 1}, expiration=10, priority=5)
    message = queue(conn).get()
    assert message.properties['expiration'] == '10000'
    assert message.properties['priority'] == 5
    assert message.properties['delivery_mode'] == 2


def test_publish_headers_and_extra_properties(conn, queue):
    # 03: headers mapping; **properties -- additional message properties.
    _publish(conn, queue, {'x': 1}, headers={'h': 1}, reply_to='r', correlation_id='c')
    message = queue(conn).get()
    assert message.headers == {'h': 1}
    assert message.properties['reply_to'] == 'r'
    assert message.properties['correlation_id'] == 'c'


def test_producer_maybe_declare_only_once(conn, name):
    # 03: maybe_declare -- "Declare exchange if not already declared during this session".
    producer = Producer(conn)
    assert producer.maybe_declare(Exchange(name)) is True
    assert producer.maybe_declare(Exchange(name)) is False


# -- 04-guide-consumers.txt -----------------------------------------------------------

def test_consumer_defaults(conn, queue):
    # 04: no_ack None ("Disabled by default"), auto_declare True, accept None,
    # callbacks list, prefetch_count None.
    consumer = Consumer(conn, [queue])
    assert consumer.no_ack is None
    assert consumer.auto_declare is True
    assert consumer.accept is None
    assert consumer.callbacks == []
    assert consumer.on_message is None and consumer.on_decode_error is None
    assert consumer.prefetch_count is None


def test_consumer_refuses_pickle_unless_accepted(conn, queue):
    # 04: "only accept json/binary or text messages by default, to allow deserialization
    # of other formats you have to specify them in the accept argument".
    errors, got = [], []
    _publish(conn, queue, {'x': 1}, serializer='pickle')
    with Consumer(conn, [queue], callbacks=[lambda b, m: got.append(b)],
                  on_decode_error=lambda m, exc: (errors.append(exc), m.ack())):
        conn.drain_events(timeout=1)
    assert got == [] and isinstance(errors[0], ContentDisallowed)
    _publish(conn, queue, {'x': 2}, serializer='pickle')
    with Consumer(conn, [queue], accept=['json', 'pickle'],
                  callbacks=[lambda b, m: (got.append(b), m.ack())]):
        conn.drain_events(timeout=1)
    assert got == [{'x': 2}]


def test_accept_can_be_mime_types(conn, queue):
    # 08: "The accept argument can also include MIME-types."
    assert Consumer(conn, [queue], accept={'application/json'}).accept == {'application/json'}
    _publish(conn, queue, {'x': 1}, serializer='pickle')
    assert queue(conn).get(accept=['application/x-python-serialize']).payload == {'x': 1}


def test_callbacks_called_in_order(conn, queue):
    # 04: callbacks -- "List of callbacks called in order"; register_callback appends.
    got = []
    consumer = Consumer(conn, [queue], callbacks=[lambda b, m: got.append(('first', b))])
    consumer.register_callback(lambda b, m: (got.append(('second', b)), m.ack()))
    _publish(conn, queue, {'n': 1})
    with consumer:
        conn.drain_events(timeout=1)
    assert got == [('first', {'n': 1}), ('second', {'n': 1})]


def test_on_message_replaces_callbacks(conn, queue):
    # 04: on_message -- "called instead of the receive() method, and callbacks will be
    # disabled"; the body is not decoded.
    got = []
    consumer = Consumer(conn, [queue], on_message=lambda m: (got.append(('om', m.body)), m.ack()),
                        callbacks=[lambda b, m: got.append(('cb', b))])
    _publish(conn, queue, {'n': 1})
    with consumer:
        conn.drain_events(timeout=1)
    assert got == [('om', b'{"n": 1}')]


def test_receive_without_callbacks_raises_not_implemented(conn, queue):
    # 04: receive -- "Raises NotImplementedError – If no consumer callbacks have been
    # registered."
    with pytest.raises(NotImplementedError):
        Consumer(conn, [queue]).receive({'a': 1}, None)


def test_add_queue_does_not_start_consuming(conn, queue, name):
    # 04: add_queue -- "This will not start consuming from the queue, for that you will
    # have to call consume() after."; consuming_from; cancel_by_queue.
    other = Queue(name + '-2', queue.exchange, routing_key=name + '-2')
    consumer = Consumer(conn, [queue])
    consumer.consume()
    consumer.add_queue(other)
    assert consumer.consuming_from(queue) and not consumer.consuming_from(other)
    consumer.consume()
    assert consumer.consuming_from(other.name)
    consumer.cancel_by_queue(other.name)
    assert not consumer.consuming_from(other)
    consumer.cancel()
    assert not consumer.consuming_from(queue)


def test_prefetch_count_sets_qos_at_startup(conn, queue):
    # 04: prefetch_count -- "the consumer will set the prefetch_count QoS value at startup".
    consumer = Consumer(conn, [queue], prefetch_count=7)
    assert consumer.prefetch_count == 7
    assert conn.default_channel.qos.prefetch_count == 7


def test_consumer_purge_removes_ready_messages(conn, queue):
    # 04: purge -- "Purge messages from all queues."
    _publish(conn, queue, {'n': 1})
    _publish(conn, queue, {'n': 2})
    assert Consumer(conn, [queue]).purge() == 2
    assert queue(conn).get() is None


def test_queue_consumer_arguments(name):
    # 04: "you can specify this argument on the Queue ... consumer_arguments={'x-priority': 10}".
    queue = Queue(name, Exchange(name, type='direct'), consumer_arguments={'x-priority': 10})
    assert queue.consumer_arguments == {'x-priority': 10}


def test_consumer_mixin_guide_example(conn, queue):
    # 04: ConsumerMixin with get_consumers(Consumer, channel) returning Consumers.
    got = []

    class C(ConsumerMixin):
        def __init__(self, connection):
            self.connection = connection

        def get_consumers(self, Consumer, channel):
            return [Consumer(queue, callbacks=[self.on_message], accept=['json'])]

        def on_message(self, body, message):
            got.append(body)
            message.ack()
            self.should_stop = True

    _publish(conn, queue, {'n': 1})
    C(conn).run()
    assert got == [{'n': 1}]


# -- 06-guide-simple-interface.txt / 14-kombu.simple.txt ------------------------------

def test_simple_queue_name_is_queue_exchange_and_routing_key(conn, name):
    # 06: "The name is used as the queue, exchange and routing key."
    queue = conn.SimpleQueue(name)
    try:
        assert queue.queue.name == queue.queue.exchange.name == queue.queue.routing_key == name
        assert queue.channel is conn.default_channel
    finally:
        queue.close()


def test_simple_queue_accepts_queue_as_name(conn, name):
    # 06: "you can specify a Queue as the name argument instead".
    q = Queue(name, Exchange(name + 'x', type='topic'), routing_key='a.b')
    simple = conn.SimpleQueue(q)
    try:
        assert (simple.queue.name, simple.queue.exchange.name, simple.queue.routing_key) == (
            name, name + 'x', 'a.b')
        simple.put('hi')
        assert simple.get(timeout=1).payload == 'hi'
    finally:
        simple.close()


def test_simple_queue_is_persistent_and_acked(conn, name):
    # 06: SimpleQueue "is used for persistent messages"; no_ack default false.
    simple = conn.SimpleQueue(name)
    try:
        assert simple.no_ack is False
        assert simple.queue.durable is True and simple.queue.auto_delete is False
        simple.put({'a': 1})
        assert len(simple) == simple.qsize() == 1
        message = simple.get(block=True, timeout=1)
        assert message.payload == {'a': 1}
        assert message.properties['delivery_mode'] == 2
        assert message.acknowledged is False
        message.ack()
    finally:
        simple.close()


def test_simple_buffer_is_transient_auto_delete_no_ack(conn, name):
    # 10 (SimpleBuffer): "not durable, also auto delete is enabled. Messages will be
    # transient (not persistent), and acknowledgments are disabled (no_ack)."
    buf = conn.SimpleBuffer(name)
    try:
        assert buf.no_ack is True
        assert buf.queue.durable is False and buf.queue.auto_delete is True
        assert buf.queue.exchange.durable is False and buf.queue.exchange.auto_delete is True
        buf.put({'b': 2})
        message = buf.get(timeout=1)
        assert message.payload == {'b': 2}
        assert message.properties['delivery_mode'] == 1
    finally:
        buf.close()


def test_simple_get_raises_empty(conn, name):
    # 14: get(block=True, timeout=None) / get_nowait() raise Empty when no message.
    import queue as stdqueue
    simple = conn.SimpleQueue(name)
    try:
        with pytest.raises(stdqueue.Empty):
            simple.get(block=True, timeout=0.05)
        with pytest.raises(simple.Empty):
            simple.get_nowait()
    finally:
        simple.close()


def test_simple_clear_returns_count(conn, name):
    # 14: clear() purges the queue.
    simple = conn.SimpleQueue(name)
    try:
        simple.put('x')
        simple.put('y')
        assert simple.clear() == 2
        assert len(simple) == 0
    finally:
        simple.close()


def test_simple_queue_options(conn, name):
    # 10: SimpleQueue(name, no_ack, queue_opts, queue_args, exchange_opts, channel).
    channel = conn.channel()
    simple = conn.SimpleQueue(name, no_ack=True, queue_opts={'durable': False},
                              queue_args={'x-max-length': 5},
                              exchange_opts={'type': 'fanout'}, channel=channel)
    try:
        assert simple.no_ack is True
        assert simple.queue.durable is False
        assert simple.queue.queue_arguments == {'x-max-length': 5}
        assert simple.queue.exchange.type == 'fanout'
        assert simple.channel is channel
    finally:
        simple.close()
        channel.close()


def test_simple_classes_direct_construction(conn, name):
    # 14: SimpleQueue(channel, name, ...) / SimpleBuffer(channel, name, ...).
    sq = SimpleQueue(conn.default_channel, name, serializer='pickle', compression='zlib')
    sb = SimpleBuffer(conn.default_channel, name + '-b')
    try:
        assert sq.producer.serializer == 'pickle' and sq.producer.compression == 'zlib'
        assert sb.queue.auto_delete is True
    finally:
        sq.close()
        sb.close()


# -- 07-guide-connection-and-producer-pools.txt / 23-kombu.pools.txt --------------------

def test_same_connection_parameters_get_same_pool():
    # 07: "All connection instances with the same connection parameters will get the
    # same pool" (a kombu.connection.ConnectionPool).
    a = pools.connections[Connection('redis://localhost:6379')]
    b = pools.connections[Connection('redis://localhost:6379')]
    assert a is b
    assert repr(a).startswith('<kombu.connection.ConnectionPool object at 0x')
    assert pools.connections[Connection('redis://localhost:6380')] is not a


def test_default_pool_limit_is_200():
    # 07: "By default every connection instance has a limit of 200 connections."
    assert pools.get_limit() == 200
    assert pools.connections[Connection('memory://spec-core-limit')].limit == 200


def test_pool_acquire_nonblocking_raises_limit_exceeded(name):
    # 07: "If blocking is disabled and there aren't any connections left in the pool an
    # kombu.exceptions.ConnectionLimitExceeded exception will be raised."
    group = pools.Connections(limit=1)
    pool = group[Connection(f'memory://{name}')]
    with pool.acquire(block=True):
        with pytest.raises(ConnectionLimitExceeded):
            pool.acquire()
        with pytest.raises(ConnectionLimitExceeded):
            pool.acquire(block=True, timeout=0.05)


def test_producer_pool_publish(conn, name):
    # 07: with producers[connection].acquire(block=True) as producer: producer.publish(...).
    news = Exchange(name)
    queue = Queue(name, news, routing_key='domestic')
    queue(conn).declare()
    with pools.producers[conn].acquire(block=True) as producer:
        assert isinstance(producer, Producer)
        producer.publish({'title': 't'}, exchange=news, routing_key='domestic',
                         declare=[news], serializer='json', compression='zlib')
    message = queue(conn).get()
    assert message.payload == {'title': 't'}
    assert message.headers['compression'] == 'application/x-gzip'


def test_custom_pool_groups_and_use_default_limit():
    # 07: pools.Connections(limit=100); pools.Producers(limit=connections.limit);
    # limit=pools.use_default_limit uses the global limit.
    connections = pools.Connections(limit=100)
    producers = pools.Producers(limit=connections.limit)
    assert (connections.limit, producers.limit) == (100, 100)
    assert connections[Connection('memory://spec-core-custom')].limit == 100
    group = pools.Connections(limit=pools.use_default_limit)
    assert group[Connection('memory://spec-core-default')].limit == pools.get_limit()


def test_pool_group_defaults_and_register_group():
    # 23: PoolGroup(limit=None, close_after_fork=True); register_group returns the group.
    group = pools.PoolGroup()
    assert group.limit is None and group.close_after_fork is True
    assert pools.register_group(group) is group


# -- 08-guide-serialization.txt ---------------------------------------------------------

def test_raw_string_with_content_type_is_not_serialized(conn, queue):
    # 08: "If you pass in a plain string ... and a custom content_type, then Kombu will not
    # waste cycles serializing"; the Message has content_type and content_encoding.
    _publish(conn, queue, b'\xff\xd8jpeg', content_type='image/jpeg',
             content_encoding='binary')
    message = queue(conn).get()
    assert message.body == b'\xff\xd8jpeg'
    assert (message.content_type, message.content_encoding) == ('image/jpeg', 'binary')
    assert message.payload == b'\xff\xd8jpeg'


# -- 10-kombu.txt (Connection) / 20-kombu.connection.txt -------------------------------

def test_connection_pool_example():
    # 10: pool = connection.Pool(2); a third acquire raises ConnectionLimitExceeded: 2;
    # after c1.release() acquiring works again.
    connection = Connection('memory://')
    pool = connection.Pool(2)
    c1 = pool.acquire()
    pool.acquire()
    with pytest.raises(ConnectionLimitExceeded) as excinfo:
        pool.acquire()
    assert str(excinfo.value) == '2'
    c1.release()
    assert isinstance(pool.acquire(), Connection)
    assert pool.LimitExceeded is ConnectionLimitExceeded


def test_channel_pool_example():
    # 10: pool = connection.ChannelPool(2); the third acquire raises ChannelLimitExceeded: 2.
    connection = Connection('memory://')
    pool = connection.ChannelPool(2)
    c1 = pool.acquire()
    pool.acquire()
    with pytest.raises(ChannelLimitExceeded) as excinfo:
        pool.acquire()
    assert str(excinfo.value) == '2'
    c1.release()
    assert pool.acquire() is not None
    assert pool.LimitExceeded is ChannelLimitExceeded
    connection.release()


def test_pool_default_limit_is_no_limit(conn):
    # 10: Pool/ChannelPool limit -- "Default is no limit."
    assert conn.Pool().limit is None
    assert conn.ChannelPool().limit is None


def test_drain_events_timeout_raises_socket_timeout(conn):
    # 10: drain_events -- "Raises socket.timeout – if the timeout is exceeded."
    conn.connect()
    with pytest.raises(socket.timeout):
        conn.drain_events(timeout=0.05)


def test_default_channel_is_cached_and_closed_with_connection():
    # 10: default_channel -- "Created upon access and closed when the connection is closed."
    conn = Connection('memory://')
    channel = conn.default_channel
    assert conn.default_channel is channel
    conn.close()
    assert conn._default_channel is None


def test_host_is_hostname_port_pair():
    # 10: host -- "The host as a host name/port pair separated by colon."
    assert Connection('amqp://h:1234//').host == 'h:1234'
    assert Connection('amqp://localhost//').host == 'localhost:5672'


def test_as_uri_masks_password_by_default():
    # 10: as_uri(include_password=False, mask='**').
    conn = Connection('amqp://u:secret@h:1/v')
    assert conn.as_uri() == 'amqp://u:**@h:1/v'
    assert conn.as_uri(include_password=True) == 'amqp://u:secret@h:1/v'
    assert conn.as_uri(mask='XX') == 'amqp://u:XX@h:1/v'


def test_failover_round_robin_and_switch_next():
    # 10: Connection('amqp://foo;amqp://bar', failover_strategy='round-robin');
    # maybe_switch_next switches to the next URL.
    conn = Connection('amqp://foo;amqp://bar', failover_strategy='round-robin')
    assert conn.alt == ['amqp://foo', 'amqp://bar']
    assert conn.hostname == 'foo'
    conn.maybe_switch_next()
    assert conn.hostname == 'bar'
    conn.maybe_switch_next()
    assert conn.hostname == 'foo'
    assert Connection(['amqp://a', 'amqp://b']).alt == ['amqp://a', 'amqp://b']


def test_switch_does_not_reconnect():
    # 10: switch(conn_str) -- a hostname or URL; "Does not reconnect!"
    conn = Connection('amqp://a')
    conn.switch('redis://x:1/3')
    assert (conn.transport_cls, conn.hostname, conn.port, conn.virtual_host) == (
        'redis', 'x', 1, '3')
    assert not conn.connected
    conn.switch('newhost')
    assert conn.hostname == 'newhost'


def test_clone_has_same_settings():
    # 10: clone(**kwargs) -- "Create a copy of the connection with same settings."
    conn = Connection('amqp://u:p@h:1/v', heartbeat=3)
    clone = conn.clone()
    assert clone is not conn
    assert clone.as_uri(include_password=True) == conn.as_uri(include_password=True)
    assert clone.heartbeat == 3
    assert conn.clone(hostname='other').hostname == 'other'


def test_heartbeat_check_is_noop_without_heartbeat_support(conn):
    # 10: heartbeat_check -- "If the current transport does not support heartbeats then
    # this is a noop operation."
    conn.connect()
    assert conn.supports_heartbeats is False
    assert conn.heartbeat_check() is None
    assert conn.heartbeat_check(rate=3) is None


def test_autoretry_returns_retval_and_channel(conn):
    # 10: autoretry -- "The return value will be a tuple of (retval, last_created_channel)."
    channel = conn.channel()

    def publish_messages(x=1, channel=None):
        return ('ok', x, channel)

    ret, chan = conn.autoretry(publish_messages, channel)(x=2)
    assert ret == ('ok', 2, channel) and chan is channel
    ret, chan = conn.autoretry(publish_messages)()
    assert ret[0] == 'ok' and chan is not None


def test_ensure_example(conn, queue):
    # 10: publish = conn.ensure(producer, producer.publish, errback=..., max_retries=3).
    queue(conn).declare()
    producer = Producer(conn)
    publish = conn.ensure(producer, producer.publish,
                          errback=lambda exc, interval: None, max_retries=3)
    publish({'hello': 'world'}, exchange=queue.exchange, routing_key=queue.routing_key)
    assert queue(conn).get().payload == {'hello': 'world'}


def test_ensure_connection_returns_connection(conn):
    # 10: ensure_connection -- "Ensure we have a connection to the server."
    assert conn.ensure_connection(max_retries=1) is conn
    assert conn.connected


def test_completes_cycle():
    # 10: completes_cycle(retries) -- "Return true if the cycle is complete after number
    # of retries."
    conn = Connection('amqp://a;amqp://b')
    assert [conn.completes_cycle(i) for i in range(4)] == [False, True, False, True]


def test_maybe_close_channel_ignores_errors(conn):
    # 10: maybe_close_channel -- "Close given channel, but ignore connection and channel
    # errors."
    closed = []

    class FailingChannel:
        def __init__(self, error):
            self.error = error

        def close(self):
            closed.append(self.error)
            raise self.error('closing failed')

    for error in (conn.connection_errors[0], conn.channel_errors[0]):
        conn.maybe_close_channel(FailingChannel(error))   # ignored
    assert closed == [conn.connection_errors[0], conn.channel_errors[0]]
    with pytest.raises(RuntimeError):                     # other errors are not
        conn.maybe_close_channel(FailingChannel(RuntimeError))


def test_declared_entities_cache_is_per_connection(conn, name):
    # 10: declared_entities -- "The cache of declared entities is per connection".
    exchange = Exchange(name)
    assert common.maybe_declare(exchange, conn.default_channel) is True
    assert common.maybe_declare(exchange, conn.default_channel) is False
    other = Connection('memory://')
    try:
        assert common.maybe_declare(exchange, other.default_channel) is True
    finally:
        other.release()


# -- 10-kombu.txt (Exchange / Queue) -----------------------------------------------------

def test_exchange_declaration_defaults():
    # 10: type 'direct' (default), durable True, auto_delete False, delivery_mode default
    # persistent (2), name '' the default exchange.
    exchange = Exchange('news')
    assert exchange.type == 'direct'
    assert exchange.durable is True and exchange.auto_delete is False
    assert exchange.no_declare is False and exchange.passive is False
    assert Exchange().name == ''


@pytest.mark.parametrize('mode, expected', [
    ('transient', 1), ('persistent', 2), (1, 1), (2, 2)])
def test_exchange_delivery_mode_aliases(conn, name, mode, expected):
    # 10: delivery_mode -- "1 or 'transient'", "2 or 'persistent' (default)".
    exchange = Exchange(name, delivery_mode=mode)
    assert exchange.delivery_mode == expected
    message = exchange(conn).Message('x')
    assert message['properties']['delivery_mode'] == expected


def test_exchange_message_honours_delivery_mode_argument(conn, name):
    # 10: Exchange.Message(delivery_mode=...) -- "Set custom delivery mode. Defaults to
    # delivery_mode."
    bound = Exchange(name)(conn)
    assert bound.Message('x')['properties']['delivery_mode'] == 2
    assert bound.Message('x', delivery_mode='transient')['properties']['delivery_mode'] == 1
    message = bound.Message('x', priority=3, content_type='text/plain', headers={'a': 1})
    assert message['properties']['priority'] == 3
    assert message['content-type'] == 'text/plain' and message['headers'] == {'a': 1}


def test_exchange_example_declare_publish_delete(conn, name):
    # 10: bound_exchange = news_exchange(channel); declare(); publish('Cure for cancer
    # found!', routing_key='news.science'); delete().
    news = Exchange(name, type='topic')
    bound = news(conn.default_channel)
    science = Queue(name, exchange=news, routing_key='news.science')(conn.default_channel)
    bound.declare()
    science.declare()
    bound.publish('Cure for cancer found!', routing_key='news.science')
    message = science.get()
    assert message.body == b'Cure for cancer found!'
    assert science.purge() == 0
    science.delete()
    bound.delete()


def test_exchange_no_declare_does_nothing(conn, name):
    # 10: no_declare -- "Never declare this exchange (declare() does nothing)."
    assert Exchange(name, no_declare=True)(conn).declare() is None
    assert Queue(name, no_declare=True)(conn).declare() == name
    with pytest.raises(conn.channel_errors):
        Queue(name)(conn).queue_declare(passive=True)


def test_queue_declaration_defaults():
    # 10: Queue defaults -- durable True, exclusive False, auto_delete False, routing_key '',
    # exchange <unbound Exchange ''(direct)>, no_ack False.
    queue = Queue('q')
    assert queue.durable is True and queue.exclusive is False and queue.auto_delete is False
    assert queue.routing_key == '' and queue.no_ack is False
    assert repr(queue.exchange) == "<unbound Exchange ''(direct)>"
    assert repr(Queue.exchange) == "<unbound Exchange ''(direct)>"


def test_exclusive_implies_auto_delete():
    # 10: exclusive -- "Setting the 'exclusive' flag always implies 'auto-delete'."
    assert Queue('q', exclusive=True).auto_delete is True


def test_queue_rabbitmq_extension_options_are_kept():
    # 10: expires, message_ttl, max_length, max_length_bytes, max_priority.
    queue = Queue('q', expires=10, message_ttl=1.5, max_length=3, max_length_bytes=4,
                  max_priority=9)
    assert (queue.expires, queue.message_ttl, queue.max_length, queue.max_length_bytes,
            queue.max_priority) == (10, 1.5, 3, 4, 9)


def test_queue_on_declared_callback(conn, name):
    # 10: on_declared -- applied when queue_declare completes, with (name, messages,
    # consumers).
    calls = []
    queue = Queue(name, Exchange(name), name, on_declared=lambda *a: calls.append(a))
    assert queue(conn).declare() == name
    assert calls == [(name, 0, 0)]


def test_queue_get_returns_none_when_empty(conn, queue):
    # 10: Queue.get -- "Returns: if a message was available, or None otherwise."
    queue(conn).declare()
    assert queue(conn).get() is None
    _publish(conn, queue, {'a': 1})
    assert queue(conn).get().payload == {'a': 1}


def test_queue_get_no_ack(conn, queue):
    # 10: Queue.get(no_ack=...) -- "If enabled the broker will automatically ack messages."
    _publish(conn, queue, {'a': 1})
    message = queue(conn).get(no_ack=True)
    assert message.payload == {'a': 1}
    assert queue(conn).get() is None


def test_queue_bind_creates_bound_copy(conn, queue):
    # 10: bind(channel) -- "Create copy of the instance that is bound to a channel."
    bound = queue.bind(conn.default_channel)
    assert bound is not queue and bound.is_bound and not queue.is_bound
    # maybe_bind -- "Bind instance to channel if not already bound."
    assert bound.maybe_bind(conn.channel()) is bound
    assert bound.channel is conn.default_channel


def test_queue_when_bound_called(conn, name):
    # 10: when_bound -- "Callback called when the class is bound."
    calls = []

    class Q(Queue):
        def when_bound(self):
            calls.append(self.name)

    Q(name)(conn.default_channel)
    assert calls == [name]


def test_queue_as_dict_and_from_dict(name):
    # 10: as_dict(recurse=False) / classmethod from_dict(queue, **options).
    queue = Queue(name, Exchange(name, 'topic'), 'a.b')
    assert queue.as_dict()['exchange'] is queue.exchange
    assert queue.as_dict(recurse=True)['exchange']['type'] == 'topic'
    restored = Queue.from_dict(name, exchange=name, exchange_type='topic',
                               routing_key='a.b', durable=False)
    assert restored.exchange.type == 'topic' and restored.durable is False
    assert restored.routing_key == 'a.b'


# -- 21-kombu.message.txt -------------------------------------------------------------

def test_message_ack_twice_raises_message_state_error(conn, queue):
    # 21: ack -- "Raises MessageStateError – If the message has already been acknowledged".
    _publish(conn, queue, {'a': 1})
    message = queue(conn).get()
    assert message.acknowledged is False
    message.ack()
    assert message.acknowledged is True
    for op in (message.ack, message.reject, message.requeue):
        with pytest.raises(MessageStateError):
            op()
    assert Message.MessageStateError is MessageStateError


def test_message_requeue_puts_message_back(conn, queue):
    # 21: requeue -- "Reject this message and put it back on the queue."
    _publish(conn, queue, {'a': 1})
    queue(conn).get().requeue()
    message = queue(conn).get()
    assert message.payload == {'a': 1}
    # reject -- "The message will be discarded by the server."
    message.reject()
    assert queue(conn).get() is None


def test_message_decode_is_memoized():
    # 21: decode -- "The return value is memoized, use _decode to force re-evaluation."
    message = Message(body=b'{"a": 1}', content_type='application/json',
                      content_encoding='utf-8')
    assert message.decode() == {'a': 1} == message.payload
    assert message.decode() is message.decode()
    assert message._decode() == {'a': 1}
    assert message._decode() is not message.decode()


def test_message_defaults():
    # 21: errors = None at class level; a fresh message is not acknowledged.
    message = Message(body=b'x')
    assert message.acknowledged is False
    assert message.delivery_info == {} and message.properties == {} and message.headers == {}


def test_message_ack_log_error(conn, queue):
    # 21: ack_log_error(logger, errors) -- acks, and logs instead of raising.
    records = []

    class Logger:
        def critical(self, *args, **kwargs):
            records.append(args)

        exception = error = critical

    _publish(conn, queue, {'a': 1})
    message = queue(conn).get()
    message.ack_log_error(Logger(), (Exception,))
    assert message.acknowledged
    message.ack_log_error(Logger(), (Exception,))  # already acked: logged, not raised
    assert records


# -- 11-kombu.common.txt --------------------------------------------------------------

def test_broadcast_unique_queue_names_and_fanout_exchange():
    # 11: "Every queue instance will have a unique name"; name is the exchange name.
    a, b = common.Broadcast('spec-core-bcast'), common.Broadcast('spec-core-bcast')
    assert a.name != b.name
    assert a.exchange.name == 'spec-core-bcast' and a.exchange.type == 'fanout'
    assert a.auto_delete is True
    assert a.alias == 'spec-core-bcast'


def test_broadcast_queue_and_unique():
    # 11: queue -- custom queue name; unique -- "Always create a unique queue even if a
    # queue name is supplied."
    assert common.Broadcast('b', queue='myq').name == 'myq'
    unique = common.Broadcast('b', queue='myq', unique=True)
    assert unique.name.startswith('myq.') and unique.name != 'myq'
    assert common.Broadcast('b', alias='al').alias == 'al'
    assert common.Broadcast('b', exclusive=True).exclusive is True


def test_uuid_is_uuid4_string():
    # 11: uuid -- "Generate unique id in UUID4 format."
    value = common.uuid()
    assert isinstance(value, str)
    assert uuid.UUID(value).version == 4


def test_eventloop_limit_and_timeouts(conn):
    # 11: eventloop -- "timeout errors are propagated by default"; ignore_timeouts.
    conn.connect()
    it = common.eventloop(conn, timeout=0.05, ignore_timeouts=True)
    assert next(it) is None
    assert list(common.eventloop(conn, limit=2, timeout=0.05, ignore_timeouts=True)) == [
        None, None]
    with pytest.raises(socket.timeout):
        for _ in common.eventloop(conn, limit=1, timeout=0.05):
            pass


def test_itermessages_and_drain_consumer(conn, queue):
    # 11: itermessages -- "Iterator over messages"; drain_consumer.
    _publish(conn, queue, {'i': 1})
    _publish(conn, queue, {'i': 2})
    bodies = [b for b, m in common.itermessages(conn, conn.default_channel, queue,
                                                 limit=2, timeout=1)]
    assert bodies == [{'i': 1}, {'i': 2}]
    _publish(conn, queue, {'i': 3})
    consumer = Consumer(conn, [queue])
    assert [b for b, m in common.drain_consumer(consumer, limit=1, timeout=1)] == [{'i': 3}]


def test_send_reply_and_collect_replies(conn, name):
    # 11: send_reply(exchange, req, msg, producer) -- reply to req's reply_to, with its
    # correlation_id; collect_replies collects them from a queue.
    reply_queue = Queue(name, Exchange(name), name)
    reply_queue(conn).declare()
    request = Message(body=b'', channel=conn.default_channel,
                      properties={'reply_to': name, 'correlation_id': 'cid1'})
    common.send_reply(Exchange(name), request, {'r': 1}, producer=Producer(conn))
    replies = list(itertools.islice(
        common.collect_replies(conn, conn.default_channel, reply_queue, timeout=1), 1))
    assert replies == [{'r': 1}]


def test_insured_passes_connection_and_channel():
    # 11: insured(pool, fun, args, kwargs) -- "Ensures function performing broker commands
    # completes".
    pool = pools.connections[Connection('memory://')]
    seen = {}

    def fun(a, k=None, connection=None, channel=None):
        seen.update(a=a, k=k, connection=connection, channel=channel)
        return 'done'

    assert common.insured(pool, fun, (1,), {'k': 2}) == 'done'
    assert seen['a'] == 1 and seen['k'] == 2 and seen['channel'] is not None


# -- 13-kombu.mixins.txt ----------------------------------------------------------------

def test_consumer_mixin_defaults():
    # 13: should_stop = False; connect_max_retries = None.
    assert ConsumerMixin.should_stop is False
    assert ConsumerMixin.connect_max_retries is None


def test_consumer_mixin_handlers_and_kwargs_forwarding(conn, queue):
    # 13: extra_context(connection, channel) entered after setup; on_consume_ready gets
    # (connection, channel, consumers) and the keyword arguments to consume;
    # on_consume_end(connection, channel) after the consumers are canceled.
    events = []

    class W(ConsumerMixin):
        def __init__(self, connection):
            self.connection = connection

        def get_consumers(self, Consumer, channel):
            return [Consumer([queue], callbacks=[self.on_task])]

        def on_task(self, body, message):
            events.append(('task', body))
            message.ack()

        def extra_context(self, connection, channel):
            events.append('extra')
            return super().extra_context(connection, channel)

        def on_consume_ready(self, connection, channel, consumers, **kwargs):
            events.append(('ready', len(consumers), kwargs))

        def on_consume_end(self, connection, channel):
            events.append('end')

    _publish(conn, queue, {'n': 1})
    assert list(W(conn).consume(limit=1, timeout=1, foo=1)) == [None]
    assert events == ['extra', ('ready', 1, {'foo': 1}), ('task', {'n': 1}), 'end']


def test_consumer_mixin_on_decode_error_logs_and_acks(conn, queue, caplog):
    # 13: on_decode_error -- "The default handler will log the error and acknowledge the
    # message".
    class W(ConsumerMixin):
        def __init__(self, connection):
            self.connection = connection

        def get_consumers(self, Consumer, channel):
            return [Consumer([queue], callbacks=[lambda b, m: None])]

    _publish(conn, queue, b'{bad', content_type='application/json', content_encoding='utf-8')
    with caplog.at_level(logging.ERROR, logger='kombu.mixins'):
        assert list(W(conn).consume(limit=1, timeout=1)) == [None]
    assert "Can't decode message body" in caplog.text
    assert queue(conn).get() is None


def test_consumer_mixin_logger_is_quiet_without_configuration():
    # kombu only logs through its own loggers: kombu.mixins has a NullHandler, so the
    # default on_connection_error handler does not print through logging.lastResort.
    assert any(isinstance(h, logging.NullHandler)
               for h in logging.getLogger('kombu.mixins').handlers)


def test_consumer_producer_mixin_separate_connection(conn):
    # 13: ConsumerProducerMixin -- "having separate connection for also publishing messages".
    class W(ConsumerProducerMixin):
        def __init__(self, connection):
            self.connection = connection

        def get_consumers(self, Consumer, channel):
            return []

    worker = W(conn)
    assert isinstance(worker.producer, Producer)
    assert worker.producer_connection is not conn
    assert worker.producer_connection.as_uri() == conn.as_uri()
    assert worker.producer.connection is worker.producer_connection
    worker.on_consume_end(conn, conn.default_channel)


# -- 16-kombu.compat.txt ----------------------------------------------------------------

def test_compat_publisher_and_consumer(conn, name):
    # 16: Publisher(connection, exchange, routing_key, exchange_type, durable, auto_delete);
    # send is publish; Consumer.fetch / discard_all / iterqueue.
    publisher = compat.Publisher(conn, exchange=name, routing_key=name)
    assert (publisher.exchange.name, publisher.exchange.type) == (name, 'direct')
    assert publisher.durable is True and publisher.auto_delete is False
    assert publisher.backend is publisher.channel
    consumer = compat.Consumer(conn, queue=name, exchange=name, routing_key=name)
    assert (consumer.queue, consumer.exchange, consumer.routing_key) == (name, name, name)
    assert (consumer.durable, consumer.exclusive, consumer.auto_delete) == (True, False, False)
    publisher.send({'c': 1})
    assert consumer.fetch().payload == {'c': 1}
    assert consumer.fetch() is None
    publisher.send({'c': 2})
    publisher.send({'c': 3})
    assert consumer.discard_all() == 2
    publisher.send({'c': 4})
    publisher.send({'c': 5})
    assert [m.payload for m in consumer.iterqueue(limit=2)] == [{'c': 4}, {'c': 5}]
    consumer.close()
    publisher.close()


def test_compat_consumer_set(conn, name):
    # 16: ConsumerSet(connection, from_dict=...); add_consumer_from_dict; add_consumer.
    cs = compat.ConsumerSet(conn, from_dict={name + '1': {'exchange': name, 'routing_key': 'a'}})
    cs.add_consumer_from_dict(name + '2', exchange=name, routing_key='b')
    cs.add_consumer(compat.Consumer(conn, queue=name + '3', exchange=name, routing_key='c'))
    assert [q.name for q in cs.queues] == [name + '1', name + '2', name + '3']
    cs.close()


# -- 10-kombu.txt (module functions) / 23-kombu.pools.txt -------------------------------

@pytest.fixture
def restore_serializers():
    from kombu.serialization import registry
    saved = set(registry._disabled_content_types)
    yield registry
    registry._disabled_content_types.clear()
    registry._disabled_content_types.update(saved)


def test_enable_disable_insecure_serializers(restore_serializers, conn, queue):
    # 10: enable_insecure_serializers -- "Will enable pickle, yaml and msgpack by default";
    # disable_insecure_serializers -- "Will disable all serializers except json or you can
    # specify a list of deserializers to allow"; "Producers will still be able to
    # serialize data in these formats, but consumers will not accept" them.
    import kombu
    registry = restore_serializers
    kombu.enable_insecure_serializers()
    assert not registry._disabled_content_types
    kombu.disable_insecure_serializers()
    assert registry._disabled_content_types == {
        'application/x-python-serialize', 'application/x-yaml', 'application/x-msgpack'}
    kombu.disable_insecure_serializers(['json', 'pickle'])
    assert 'application/x-python-serialize' not in registry._disabled_content_types
    kombu.disable_insecure_serializers()
    _publish(conn, queue, {'a': 1}, serializer='pickle')
    with pytest.raises(ContentDisallowed):
        queue(conn).get().decode()


def test_producer_pool_acquire_and_release(name):
    # 23: ProducerPool(connections) -- a pool of kombu.Producer instances; release()
    # returns the producer to the pool.
    group = pools.Connections(limit=2)
    pool = pools.ProducerPool(group[Connection(f'memory://{name}')], limit=1)
    assert pool.Producer is Producer
    producer = pool.acquire()
    assert isinstance(producer, Producer) and producer.connection is not None
    with pytest.raises(pool.LimitExceeded):
        pool.acquire()
    producer.release()
    assert pool.acquire() is producer

