"""Every code example of the user guide and of the core API pages, as a test.

One test per example, named after its section (``test_<page>_<section>``).
An example is run against ``memory://`` and, when the example names a broker,
against the real one too (RabbitMQ for ``amqp://``, Redis for ``redis://``),
through the service fixtures of t/conftest.py.  Queue and exchange names get
a unique suffix; everything declared is deleted afterwards.

Only what must be adapted is: names, timeouts, ``print`` -> a list, Python 2
(``print body``, ``xrange``), endless loops bounded, and a few example slips
noted where they occur.
"""
from __future__ import annotations

import datetime
import pickle
import socket
import ssl
import sys
import threading
import time
from contextlib import closing
from io import BytesIO

import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue, pidbox, pools, serialization
from kombu.exceptions import ChannelLimitExceeded, ConnectionLimitExceeded, NotBoundError

# ids follow t/integration/conftest.py, so ``-k "memory or pyamqp or redis"`` selects them
AMQP = pytest.param('amqp', id='pyamqp', marks=pytest.mark.services)
REDIS = pytest.param('redis', id='redis', marks=pytest.mark.services)


def _url(request, broker: str) -> str:
    if broker == 'memory':
        return 'memory://'
    if broker == 'amqp':
        return request.getfixturevalue('rabbitmq_url')
    return request.getfixturevalue('redis_url')


@pytest.fixture(params=['memory', AMQP])
def amqp_url(request) -> str:
    """The example's ``amqp://guest:guest@localhost:5672//`` (RabbitMQ), or memory://."""
    return _url(request, request.param)


@pytest.fixture(params=['memory', REDIS])
def redis_url_or_memory(request) -> str:
    """The example's ``redis://localhost:6379`` (Redis), or memory://."""
    return _url(request, request.param)


@pytest.fixture
def cleanup():
    """Register ``(url, entity)`` to delete after the test (best effort)."""
    entities = []
    yield lambda url, *items: entities.extend((url, item) for item in items)
    for url, entity in reversed(entities):
        with Connection(url) as conn:
            try:
                entity(conn.default_channel).delete()
            except Exception:  # noqa: BLE001 - already gone
                pass


def get_one(conn, queue, timeout=2.0, accept=None):
    """Poll ``queue`` until a message arrives (the publish may be in flight)."""
    deadline = time.monotonic() + timeout
    bound = queue(conn.default_channel)
    while True:
        message = bound.get(accept=accept)
        if message is not None or time.monotonic() > deadline:
            return message
        time.sleep(0.01)


# --- Getting Started: Quick overview --------------------------------------------

def test_getting_started_quick_overview(amqp_url, unique_name, cleanup):
    media_exchange = Exchange(unique_name + '.media', 'direct', durable=True)
    video_queue = Queue(unique_name + '.video', exchange=media_exchange, routing_key='video')
    cleanup(amqp_url, video_queue, media_exchange)
    received = []

    def process_media(body, message):
        received.append(body)          # was: print body
        message.ack()

    with Connection(amqp_url) as conn:
        producer = conn.Producer(serializer='json')
        producer.publish({'name': '/tmp/lolcat1.avi', 'size': 1301013},
                         exchange=media_exchange, routing_key='video',
                         declare=[video_queue])
        with conn.Consumer(video_queue, callbacks=[process_media]) as consumer:
            assert consumer.queues[0].name == video_queue.name
            while not received:          # was: while True
                conn.drain_events(timeout=2)
    assert received == [{'name': '/tmp/lolcat1.avi', 'size': 1301013}]


def test_getting_started_consume_from_several_queues(amqp_url, unique_name, cleanup):
    media_exchange = Exchange(unique_name + '.media', 'direct', durable=True)
    # The example passes ``key=``: it is accepted (and ignored, as in Kombu 4.6.7).
    Queue('video', exchange=media_exchange, key='video')
    video_queue = Queue(unique_name + '.video', exchange=media_exchange, routing_key='video')
    image_queue = Queue(unique_name + '.image', exchange=media_exchange, routing_key='image')
    cleanup(amqp_url, video_queue, image_queue, media_exchange)
    received = []

    def process_media(body, message):
        received.append(body)
        message.ack()

    with Connection(amqp_url) as connection:
        producer = connection.Producer()
        producer.publish('v', exchange=media_exchange, routing_key='video',
                         declare=[video_queue, image_queue])
        producer.publish('i', exchange=media_exchange, routing_key='image')
        with connection.Consumer([video_queue, image_queue],
                                 callbacks=[process_media]) as consumer:
            assert len(consumer.queues) == 2
            deadline = time.monotonic() + 5
            while len(received) < 2 and time.monotonic() < deadline:
                connection.drain_events(timeout=2)
    assert sorted(received) == ['i', 'v']


def test_getting_started_handle_channels_manually(amqp_url):
    with Connection(amqp_url) as connection:
        with connection.channel() as channel:
            producer = Producer(channel)
            consumer = Producer(channel)      # sic: the example makes two producers
            assert producer.channel is channel and consumer.channel is channel
        assert channel.connection is None or not getattr(channel, 'is_open', False)


def test_getting_started_objects_outside_with(amqp_url, unique_name, cleanup):
    queue = Queue(unique_name, Exchange(unique_name), routing_key='rk')
    cleanup(amqp_url, queue, queue.exchange)
    got = []
    connection = Connection(amqp_url)
    try:
        channel_or_connection = connection
        consumer = Consumer(channel_or_connection, [queue])
        consumer.register_callback(lambda body, message: (got.append(body), message.ack()))
        consumer.consume()
        connection.Producer().publish('hi', exchange=queue.exchange, routing_key='rk')
        connection.drain_events(timeout=2)
        consumer.cancel()
        assert not consumer.consuming_from(queue)
    finally:
        connection.release()
    assert got == ['hi']


def test_getting_started_bound_exchange(amqp_url, unique_name):
    exchange = Exchange(unique_name, 'direct')
    connection = Connection(amqp_url)
    try:
        bound_exchange = exchange(connection)
        bound_exchange.declare()
        bound_exchange.delete()
        assert bound_exchange.is_bound
        # the original exchange is not affected, and stays unbound.
        assert not exchange.is_bound
        with pytest.raises(NotBoundError, match='not bound to a channel'):
            exchange.delete()
    finally:
        connection.release()


# --- Connections and transports --------------------------------------------------

def test_connections_basics(amqp_url):
    connection = Connection(amqp_url)
    assert not connection.connected          # established lazily
    connection.connect()
    assert connection.connected is True
    connection.close()
    assert not connection.connected
    connection.release()                     # safe after close


def test_connections_basics_default_transport():
    connection = Connection('amqp://guest:guest@localhost:5672//')
    assert connection.transport_cls == 'amqp'
    assert not connection.connected


def test_connections_context(amqp_url):
    with Connection(amqp_url) as connection:
        connection.connect()
        assert connection.connected
    assert not connection.connected


@pytest.mark.parametrize('url,expected', [
    ('amqp://', dict(transport='amqp', hostname='localhost', port=5672, userid='guest',
                     password='guest', virtual_host='/')),
    ('redis://localhost:6379/', dict(transport='redis', hostname='localhost', port=6379)),
    ('amqp://localhost//foo', dict(transport='amqp', hostname='localhost',
                                   virtual_host='/foo')),
    ('amqp://localhost/foo', dict(transport='amqp', hostname='localhost',
                                  virtual_host='foo')),
    ('amqp://localhost/myvhost?ssl=1', dict(transport='amqp', virtual_host='myvhost',
                                            port=5671)),
])
def test_connections_urls(url, expected):
    info = Connection(url).info()
    assert {k: info[k] for k in expected} == expected
    if 'ssl=1' in url:
        assert info['ssl']          # the query string value, as given ('1')


@pytest.mark.parametrize('url,hostname,vhost', [
    ('redis+socket:///tmp/redis.sock', None, None),
    ('qpid://localhost/', 'localhost', '/'),
    ('pyro://localhost/kombu.broker', 'localhost', 'kombu.broker'),
])
def test_connections_urls_other_transports(url, hostname, vhost):
    # parsing only: these transports are not loaded here
    conn = Connection(url)
    assert conn.transport_cls == url.split('://')[0].split('+')[0]
    if hostname:
        assert conn.hostname == hostname
        assert conn.virtual_host == vhost
    else:
        assert conn.uri_prefix == 'redis'


def test_connections_default_settings():
    assert Connection().info() == Connection('amqp://guest:guest@localhost:5672//').info()
    assert Connection().as_uri() == 'amqp://guest:**@localhost:5672//'


def test_connections_redis_virtual_host_is_db(redis_url):
    server = redis_url.rsplit('/', 1)[0]            # redis://host:port
    with Connection(server + '/3') as conn:
        assert conn.virtual_host == '3'
        assert conn.default_channel.client.connection_pool.connection_kwargs['db'] == 3


def test_connections_keyword_arguments():
    conn = Connection(hostname='broker', userid='u', password='p', virtual_host='vh',
                      port=1234, transport='redis', connect_timeout=3,
                      transport_options={'visibility_timeout': 10})
    assert conn.as_uri(include_password=True) == 'redis://u:p@broker:1234/vh'
    assert (conn.connect_timeout, conn.transport_options) == (3, {'visibility_timeout': 10})
    assert conn.ssl is False and conn.insist is False
    # hostname/userid/... are defaults for what the URL leaves out
    conn = Connection('amqp://broker', userid='u', password='p', port=99)
    assert conn.as_uri(include_password=True) == 'amqp://u:p@broker:99//'
    # transport given as a path to the class, or as an alias
    from kombu.transport.memory import Transport
    assert Connection(transport='kombu.transport.memory:Transport').get_transport_cls() \
        is Transport
    assert Connection(transport='memory').get_transport_cls() is Transport


def test_connections_amqp_transports():
    from kombu.transport import pyamqp
    # amqp tries librabbitmq but falls back to pyamqp (librabbitmq is not installed)
    assert isinstance(Connection('amqp://').transport, pyamqp.Transport)
    assert isinstance(Connection('pyamqp://').transport, pyamqp.Transport)


# --- Producers -------------------------------------------------------------------

def test_producers_basics(amqp_url):
    with Connection(amqp_url) as connection:
        producer = connection.Producer()
        assert producer.connection is connection
    with Connection(amqp_url) as conn:
        with conn.channel() as channel:
            producer = Producer(channel)
            assert producer.channel is channel


def test_producers_retry_policy(amqp_url, unique_name, cleanup):
    task_queue = Queue(unique_name, Exchange(unique_name), routing_key='tasks')
    cleanup(amqp_url, task_queue, task_queue.exchange)
    with Connection(amqp_url) as connection:
        producer = connection.Producer()
        producer.publish({'hello': 'world'}, exchange=task_queue.exchange,
                         routing_key='tasks', declare=[task_queue], retry=True)
        producer.publish(
            {'hello': 'world'},
            exchange=task_queue.exchange, routing_key='tasks',
            retry=True,
            retry_policy={
                'interval_start': 0,  # First retry immediately,
                'interval_step': 2,   # then increase by 2s for every retry.
                'interval_max': 30,   # but don't exceed 30s between retries.
                'max_retries': 30,    # give up after 30 tries.
            },
        )
        assert get_one(connection, task_queue).payload == {'hello': 'world'}
        assert get_one(connection, task_queue).payload == {'hello': 'world'}


def test_producers_declare_task_queue(amqp_url, unique_name, cleanup):
    task_queue = Queue(unique_name, Exchange(unique_name), routing_key='tasks')
    cleanup(amqp_url, task_queue, task_queue.exchange)
    with Connection(amqp_url) as connection:
        producer = connection.Producer()
        producer.publish(
            {'hello': 'world'},
            retry=True,
            exchange=task_queue.exchange,
            routing_key=task_queue.routing_key,
            declare=[task_queue],  # declares exchange, queue and binds.
        )
        message = get_one(connection, task_queue)
        assert message.payload == {'hello': 'world'}
        assert message.delivery_info['exchange'] == unique_name
        assert message.delivery_info['routing_key'] == 'tasks'


def test_producers_anon_exchange(amqp_url, unique_name, cleanup):
    task_queue = Queue(unique_name, Exchange(unique_name), routing_key='tasks')
    cleanup(amqp_url, task_queue, task_queue.exchange)
    with Connection(amqp_url) as connection:
        task_queue(connection.default_channel).declare()
        producer = connection.Producer()
        producer.publish(
            {'hello': 'world'},
            exchange='',
            routing_key=task_queue.name,
        )
        assert get_one(connection, task_queue).payload == {'hello': 'world'}


def test_producers_serialization(amqp_url, unique_name, cleanup):
    queue = Queue(unique_name, Exchange(unique_name), routing_key='rk')
    cleanup(amqp_url, queue, queue.exchange)
    with Connection(amqp_url) as connection:
        producer = connection.Producer(exchange=queue.exchange, routing_key='rk')
        producer.maybe_declare(queue)
        producer.publish({'hello': 'world'})                       # json by default
        producer.publish({'hello': 'world'}, serializer='pickle')
        first = get_one(connection, queue)
        assert first.content_type == 'application/json'
        second = get_one(connection, queue, accept=['pickle'])
        assert second.content_type == 'application/x-python-serialize'
        assert second.payload == {'hello': 'world'}


# --- Consumers -------------------------------------------------------------------

def test_consumers_accept_argument(amqp_url, unique_name, cleanup):
    queue = Queue(unique_name, Exchange(unique_name), routing_key='rk')
    cleanup(amqp_url, queue, queue.exchange)
    with Connection(amqp_url) as conn:
        consumer = Consumer(conn, accept=['json', 'pickle', 'msgpack', 'yaml'])
        assert consumer.accept == {'application/json', 'application/x-python-serialize',
                                   'application/x-msgpack', 'application/x-yaml'}
        producer = conn.Producer()
        for serializer in ('json', 'pickle', 'msgpack', 'yaml'):
            producer.publish({'s': serializer}, exchange=queue.exchange, routing_key='rk',
                             serializer=serializer, declare=[queue])
        got = []
        consumer.add_queue(queue)
        consumer.register_callback(lambda body, message: (got.append(body), message.ack()))
        with consumer:
            deadline = time.monotonic() + 5
            while len(got) < 4 and time.monotonic() < deadline:
                conn.drain_events(timeout=2)
    assert got == [{'s': 'json'}, {'s': 'pickle'}, {'s': 'msgpack'}, {'s': 'yaml'}]


def test_consumers_draining_single_consumer(amqp_url, unique_name, cleanup):
    queues = [Queue(unique_name, Exchange(unique_name), routing_key='rk')]
    cleanup(amqp_url, queues[0], queues[0].exchange)
    got = []
    with Connection(amqp_url) as connection:
        connection.Producer().publish([1], exchange=queues[0].exchange, routing_key='rk',
                                      declare=queues)
        with Consumer(connection, queues, accept=['json'],
                      callbacks=[lambda body, message: got.append(body)]):
            connection.drain_events(timeout=1)
    assert got == [[1]]


def test_consumers_draining_several_consumers(amqp_url, unique_name, cleanup):
    from kombu.utils.compat import nested
    exchange = Exchange(unique_name)
    queues1 = [Queue(unique_name + '.1', exchange, routing_key='one')]
    queues2 = [Queue(unique_name + '.2', exchange, routing_key='two')]
    cleanup(amqp_url, queues1[0], queues2[0], exchange)
    got = []

    def on_message(body, message):
        got.append(body)
        message.ack()

    with Connection(amqp_url) as connection:
        producer = connection.Producer(exchange=exchange)
        producer.publish(['one'], routing_key='one', declare=queues1 + queues2)
        producer.publish(['two'], routing_key='two')
        # The guide writes ``with connection.channel(), connection.channel() as
        # (channel1, channel2)``, which does not unpack; two ``as`` clauses do.
        with connection.channel() as channel1, connection.channel() as channel2:
            with nested(Consumer(channel1, queues1, accept=['json'], callbacks=[on_message]),
                        Consumer(channel2, queues2, accept=['json'], callbacks=[on_message])):
                deadline = time.monotonic() + 5
                while len(got) < 2 and time.monotonic() < deadline:
                    connection.drain_events(timeout=1)
    assert sorted(got) == [['one'], ['two']]


def test_consumers_consumer_mixin(amqp_url, unique_name, cleanup):
    from kombu.mixins import ConsumerMixin
    queues = [Queue(unique_name, Exchange(unique_name), routing_key='rk')]
    cleanup(amqp_url, queues[0], queues[0].exchange)
    received = []

    class C(ConsumerMixin):

        def __init__(self, connection):
            self.connection = connection

        def get_consumers(self, Consumer, channel):
            return [
                Consumer(queues, callbacks=[self.on_message], accept=['json']),
            ]

        def on_message(self, body, message):
            received.append('RECEIVED MESSAGE: {0!r}'.format(body))
            message.ack()
            self.should_stop = True      # the example runs forever

    with Connection(amqp_url) as connection:
        connection.Producer().publish({'a': 1}, exchange=queues[0].exchange,
                                      routing_key='rk', declare=queues)
        C(connection).run()
    assert received == ["RECEIVED MESSAGE: {'a': 1}"]


def test_consumers_consumer_mixin_multiple_channels(amqp_url, unique_name, cleanup):
    from kombu import Consumer
    from kombu.mixins import ConsumerMixin
    exchange = Exchange(unique_name)
    queues1 = [Queue(unique_name + '.1', exchange, routing_key='one')]
    queues2 = [Queue(unique_name + '.2', exchange, routing_key='two')]
    cleanup(amqp_url, queues1[0], queues2[0], exchange)
    seen = []

    class C(ConsumerMixin):
        channel2 = None

        def __init__(self, connection):
            self.connection = connection

        def get_consumers(self, _, default_channel):
            self.channel2 = default_channel.connection.client.channel()
            return [Consumer(default_channel, queues1,
                             callbacks=[self.on_message],
                             accept=['json']),
                    Consumer(self.channel2, queues2,
                             callbacks=[self.on_special_message],
                             accept=['json'])]

        def on_message(self, body, message):
            seen.append(('normal', body))
            message.ack()
            self.should_stop = len(seen) == 2

        def on_special_message(self, body, message):
            seen.append(('special', body))
            message.ack()
            self.should_stop = len(seen) == 2

        # The guide names this hook ``on_consumer_end``; the mixin calls on_consume_end.
        def on_consume_end(self, connection, default_channel):
            if self.channel2:
                self.channel2.close()

    with Connection(amqp_url) as connection:
        producer = connection.Producer(exchange=exchange)
        producer.publish(1, routing_key='one', declare=queues1 + queues2)
        producer.publish(2, routing_key='two')
        c = C(connection)
        c.run()
        assert sorted(seen) == [('normal', 1), ('special', 2)]
        assert not c.channel2.is_open


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def test_consumers_consumer_producer_mixin(amqp_url, unique_name, cleanup):
    from kombu import Producer, Queue
    from kombu.mixins import ConsumerProducerMixin

    rpc_queue = Queue(unique_name + '.rpc_queue')
    callback_queue = Queue(unique_name + '.callback', routing_key=unique_name + '.callback')
    cleanup(amqp_url, rpc_queue, callback_queue)
    printed = []

    class Worker(ConsumerProducerMixin):

        def __init__(self, connection):
            self.connection = connection

        def get_consumers(self, Consumer, channel):
            return [Consumer(
                queues=[rpc_queue],
                on_message=self.on_request,
                accept={'application/json'},
                prefetch_count=1,
            )]

        def on_request(self, message):
            n = message.payload['n']
            printed.append(' [.] fib({0})'.format(n))
            result = fib(n)

            self.producer.publish(
                {'result': result},
                exchange='', routing_key=message.properties['reply_to'],
                correlation_id=message.properties['correlation_id'],
                serializer='json',
                retry=True,
            )
            message.ack()
            self.should_stop = True

    with Connection(amqp_url) as connection:
        callback_queue(connection.default_channel).declare()
        rpc_queue(connection.default_channel).declare()
        Producer(connection).publish({'n': 10}, exchange='', routing_key=rpc_queue.name,
                                     reply_to=callback_queue.name, correlation_id='abc')
        worker = Worker(connection)
        worker.run()
        assert worker.producer_connection is not connection
        reply = get_one(connection, callback_queue)
        assert reply.payload == {'result': 55}
        assert reply.properties['correlation_id'] == 'abc'
    assert printed == [' [.] fib(10)']


def test_consumers_consumer_priorities(amqp_url, unique_name, cleanup):
    queue = Queue(unique_name, Exchange(unique_name + '.exchange_name', type='direct'),
                  consumer_arguments={'x-priority': 10})
    cleanup(amqp_url, queue, queue.exchange)
    assert queue.consumer_arguments == {'x-priority': 10}
    got = []
    with Connection(amqp_url) as conn:
        conn.Producer().publish('p', exchange=queue.exchange, routing_key='', declare=[queue])
        with conn.Consumer(queue, callbacks=[lambda body, message: got.append(body)]):
            conn.drain_events(timeout=2)
    assert got == ['p']


# --- Examples: Hello World -------------------------------------------------------

def test_examples_hello_world(amqp_url, unique_name, cleanup):
    name = unique_name + '.simple_queue'
    cleanup(amqp_url, Queue(name), Exchange(name))
    with Connection(amqp_url) as conn:       # hello_publisher.py
        simple_queue = conn.SimpleQueue(name)
        message = 'helloworld, sent at {0}'.format(datetime.datetime.today())
        simple_queue.put(message)
        simple_queue.close()
    with Connection(amqp_url) as conn:       # hello_consumer.py
        simple_queue = conn.SimpleQueue(name)
        received = simple_queue.get(block=True, timeout=1)
        assert received.payload == message
        received.ack()
        simple_queue.close()


# --- Examples: Task Queue --------------------------------------------------------

TASK_CALLS = []


def hello_task(who='world'):
    TASK_CALLS.append('Hello {0}'.format(who))


def test_examples_task_queue(amqp_url, unique_name, cleanup, caplog):
    from kombu.log import get_logger
    from kombu.mixins import ConsumerMixin
    from kombu.pools import producers
    from kombu.utils.functional import reprcall

    # queues.py
    task_exchange = Exchange(unique_name + '.tasks', type='direct')
    task_queues = [Queue(unique_name + '.hipri', task_exchange, routing_key='hipri'),
                   Queue(unique_name + '.midpri', task_exchange, routing_key='midpri'),
                   Queue(unique_name + '.lopri', task_exchange, routing_key='lopri')]
    cleanup(amqp_url, *task_queues, task_exchange)

    # worker.py
    logger = get_logger(__name__)

    class Worker(ConsumerMixin):

        def __init__(self, connection):
            self.connection = connection

        def get_consumers(self, Consumer, channel):
            return [Consumer(queues=task_queues,
                             accept=['pickle', 'json'],
                             callbacks=[self.process_task])]

        def process_task(self, body, message):
            fun = body['fun']
            args = body['args']
            kwargs = body['kwargs']
            logger.info('Got task: %s', reprcall(fun.__name__, args, kwargs))
            try:
                fun(*args, **kwargs)
            except Exception as exc:
                logger.error('task raised exception: %r', exc)
            message.ack()
            self.should_stop = True

    # client.py
    priority_to_routing_key = {
        'high': 'hipri',
        'mid': 'midpri',
        'low': 'lopri',
    }

    def send_as_task(connection, fun, args=(), kwargs={}, priority='mid'):  # noqa: B006 - as in the guide
        payload = {'fun': fun, 'args': args, 'kwargs': kwargs}
        routing_key = priority_to_routing_key[priority]

        with producers[connection].acquire(block=True) as producer:
            producer.publish(payload,
                             serializer='pickle',
                             compression='bzip2',
                             exchange=task_exchange,
                             declare=[task_exchange],
                             routing_key=routing_key)

    del TASK_CALLS[:]
    caplog.set_level('INFO')
    with Connection(amqp_url) as conn:
        for queue in task_queues:          # the worker is started first in the example
            queue(conn.default_channel).declare()
    connection = Connection(amqp_url)
    try:
        send_as_task(connection, fun=hello_task, args=('Kombu',), kwargs={},
                     priority='high')
        with Connection(amqp_url) as conn:
            hipri = get_one(conn, task_queues[0], accept=['pickle'])
            assert hipri.headers.get('compression') == 'application/x-bz2'
            assert hipri.payload['args'] == ('Kombu',)     # decompressed, unpickled
            hipri.requeue()
            worker = Worker(conn)
            worker.run()
    finally:
        connection.release()
    assert TASK_CALLS == ['Hello Kombu']
    assert "Got task: hello_task('Kombu')" in caplog.text


# --- Simple interface ------------------------------------------------------------

def test_simple_interface_shortcut(amqp_url, unique_name, cleanup):
    cleanup(amqp_url, Queue(unique_name), Exchange(unique_name))
    with Connection(amqp_url) as connection:
        queue = connection.SimpleQueue(unique_name)
        queue.put('x')
        assert queue.get(timeout=1).payload == 'x'
        queue.close()


def test_simple_interface_equivalent(amqp_url, unique_name, cleanup):
    from kombu.simple import SimpleBuffer, SimpleQueue
    cleanup(amqp_url, Queue(unique_name), Exchange(unique_name))
    with Connection(amqp_url) as connection:
        channel = connection.channel()
        queue = SimpleBuffer(channel, unique_name)   # the guide omits the (required) name
        queue.put({'a': 1})
        message = queue.get(timeout=1)
        assert message.payload == {'a': 1}
        assert message.properties['delivery_mode'] == 1   # transient
        channel.close()
        queue.close()
        assert issubclass(SimpleBuffer, SimpleQueue)


def test_simple_interface_logger(amqp_url, unique_name, cleanup):
    queue_name = unique_name + '.log_queue'
    cleanup(amqp_url, Queue(queue_name), Exchange(queue_name))

    class Logger(object):

        def __init__(self, connection, queue_name='log_queue',
                     serializer='json', compression=None):
            self.queue = connection.SimpleQueue(queue_name)
            self.serializer = serializer
            self.compression = compression

        def log(self, message, level='INFO', context={}):  # noqa: B006 - as in the guide
            self.queue.put({'message': message,
                            'level': level,
                            'context': context,
                            'hostname': socket.gethostname(),
                            'timestamp': time.time()},
                           serializer=self.serializer,
                           compression=self.compression)

        def process(self, callback, n=1, timeout=1):
            for _i in range(n):
                log_message = self.queue.get(block=True, timeout=1)
                entry = log_message.payload  # deserialized data.
                callback(entry)
                log_message.ack()  # remove message from queue

        def close(self):
            self.queue.close()

    printed = []
    with Connection(amqp_url) as conn:
        with closing(Logger(conn, queue_name=queue_name)) as logger:
            logger.log('Error happened while encoding video',
                       level='ERROR',
                       context={'filename': 'cutekitten.mpg'})

            def dump_entry(entry):
                date = datetime.datetime.fromtimestamp(entry['timestamp'])
                printed.append('[%s %s %s] %s %r' % (date,
                                                     entry['hostname'],
                                                     entry['level'],
                                                     entry['message'],
                                                     entry['context']))

            logger.process(dump_entry, n=1)
            assert len(logger.queue) == 0
    assert len(printed) == 1
    assert printed[0].endswith(
        "ERROR] Error happened while encoding video {'filename': 'cutekitten.mpg'}")


# --- Connection and producer pools -----------------------------------------------

def test_pools_connection_pool_group(redis_url_or_memory):
    from kombu.pools import connections
    url = redis_url_or_memory
    first = connections[Connection(url)]
    assert connections[Connection(url)] is first
    assert type(first).__name__ == 'ConnectionPool'


def test_pools_acquire_and_release(redis_url_or_memory):
    from kombu.pools import connections
    connection = Connection(redis_url_or_memory)
    pool = connections[connection]
    with pool.acquire(block=True) as conn:
        uri = connection.as_uri()
        assert conn.as_uri() == uri
        conn.connect()
        assert conn.connected
    # released back into the pool, and handed out again
    with pool.acquire(block=True) as again:
        assert again is conn


def test_pools_blocking_disabled_raises():
    connection = Connection('memory://')
    pool = pools.Connections(limit=1)[connection]
    held = pool.acquire()
    try:
        with pytest.raises(ConnectionLimitExceeded):
            pool.acquire(block=False)
        with pytest.raises(ConnectionLimitExceeded):
            pool.acquire(block=True, timeout=0.05)
    finally:
        held.release()


@pytest.mark.services
def test_pools_multiple_brokers(rabbitmq_url, redis_url):
    from kombu.pools import connections
    c1 = Connection(rabbitmq_url)
    c2 = Connection(redis_url)
    with connections[c1].acquire(block=True) as conn1:
        with connections[c2].acquire(block=True) as conn2:
            conn1.connect()
            conn2.connect()
            assert conn1.transport_cls == 'amqp' and conn2.transport_cls == 'redis'


def test_pools_producer_pool(amqp_url, unique_name, cleanup):
    from kombu.pools import producers

    # The exchange we send our news articles to.
    news_exchange = Exchange(unique_name + '.news')
    domestic = Queue(unique_name + '.domestic', news_exchange, routing_key='domestic')
    cleanup(amqp_url, domestic, news_exchange)

    # The article we want to send
    article = {'title': 'No cellular coverage on the tube for 2012',
               'ingress': 'yadda yadda yadda'}

    # The broker where our exchange is.
    connection = Connection(amqp_url)
    try:
        with Connection(amqp_url) as setup:
            domestic(setup.default_channel).declare()
        with producers[connection].acquire(block=True) as producer:
            producer.publish(
                article,
                exchange=news_exchange,
                routing_key='domestic',
                declare=[news_exchange],
                serializer='json',
                compression='zlib')
        with Connection(amqp_url) as reader:
            message = get_one(reader, domestic)
            assert message.headers['compression'] == 'application/x-gzip'
            assert message.payload == article
    finally:
        connection.release()


def test_pools_setting_limits():
    assert pools.get_limit() == 200          # the documented default
    previous = pools.get_limit()
    try:
        pools.set_limit(previous + 10)       # the guide calls set_limit() without the limit
        assert pools.get_limit() == previous + 10
        assert pools.connections[Connection('memory://limits')].limit == previous + 10
    finally:
        pools.set_limit(previous, force=True)
    assert pools.get_limit() == previous


def test_pools_resetting_all_pools():
    pool = pools.connections[Connection('memory://reset')]
    conn = pool.acquire()
    conn.connect()
    pools.reset()
    assert pools.connections[Connection('memory://reset')] is not pool


def test_pools_custom_pool_groups(amqp_url):
    from kombu import pools

    connections = pools.Connections(limit=100)
    producers = pools.Producers(limit=connections.limit)
    assert producers.limit == 100

    connection = Connection(amqp_url)
    with connections[connection].acquire(block=True) as conn:
        assert connections[connection].limit == 100
        conn.connect()
    with producers[connection].acquire(block=True) as producer:
        assert producer.connection is not None

    connections = pools.Connections(limit=pools.use_default_limit)
    assert connections[Connection('memory://custom')].limit == pools.get_limit()


# --- Serialization ---------------------------------------------------------------

def test_serialization_accept_argument(amqp_url, unique_name, cleanup):
    queue = Queue(unique_name, Exchange(unique_name), routing_key='rk')
    cleanup(amqp_url, queue, queue.exchange)
    with Connection(amqp_url) as conn:
        consumer = Consumer(conn, [queue], accept=['json', 'pickle', 'msgpack'])
        assert 'application/x-msgpack' in consumer.accept
        mime = Consumer(conn, [queue], accept=['application/json'])
        assert mime.accept == {'application/json'}
        consumer.close()
        mime.close()


def test_serialization_json_only_by_default(amqp_url, unique_name, cleanup):
    queue = Queue(unique_name, Exchange(unique_name), routing_key='rk')
    cleanup(amqp_url, queue, queue.exchange)
    from kombu.exceptions import ContentDisallowed
    with Connection(amqp_url) as conn:
        conn.Producer().publish({'p': 1}, exchange=queue.exchange, routing_key='rk',
                                serializer='pickle', declare=[queue])
        message = get_one(conn, queue)
        with pytest.raises(ContentDisallowed):
            message.decode()
        message.ack()


def test_serialization_per_producer_and_per_message(amqp_url, unique_name, cleanup):
    exchange = Exchange(unique_name)
    queue = Queue(unique_name, exchange, routing_key='rkey')
    cleanup(amqp_url, queue, exchange)
    rkey = 'rkey'
    with Connection(amqp_url) as conn:
        channel = conn.default_channel
        queue(channel).declare()
        producer = Producer(channel,
                            exchange=exchange,
                            serializer='yaml')
        message = {'when': 'now', 'n': [1, 2]}
        producer.publish(message, routing_key=rkey)
        producer.publish(message, routing_key=rkey,
                         serializer='pickle')
        first = get_one(conn, queue, accept=['yaml', 'pickle'])
        second = get_one(conn, queue, accept=['yaml', 'pickle'])
        assert first.content_type == 'application/x-yaml'
        assert second.content_type == 'application/x-python-serialize'
        # a Consumer needs no serializer: the content type travels with the message
        assert first.payload == second.payload == message


def test_serialization_raw_data(amqp_url, unique_name, cleanup, tmp_path):
    exchange = Exchange(unique_name)
    queue = Queue(unique_name, exchange, routing_key='rkey')
    cleanup(amqp_url, queue, exchange)
    rkey = 'rkey'
    picture = tmp_path / 'my_picture.jpg'
    picture.write_bytes(b'\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01')
    with Connection(amqp_url) as conn:
        producer = conn.Producer(exchange=exchange)
        producer.maybe_declare(queue)
        with open(picture, 'rb') as fh:
            producer.publish(fh.read(),
                             content_type='image/jpeg',
                             content_encoding='binary',
                             routing_key=rkey)
        message = get_one(conn, queue, accept=['image/jpeg'])
        assert message.content_type == 'image/jpeg'
        assert message.content_encoding == 'binary'
        assert message.body == picture.read_bytes()
        assert message.payload == picture.read_bytes()


def test_serialization_entrypoints(tmp_path, monkeypatch):
    package = tmp_path / 'my_module'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'serializer.py').write_text(
        'def my_encoder(obj):\n    return "<" + str(obj) + ">"\n'
        'def my_decoder(s):\n    return s.strip("<>")\n'
        "register_args = (my_encoder, my_decoder, 'application/x-mimetype', 'utf-8')\n")
    dist = tmp_path / 'my_serializer_pkg-1.0.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: my-serializer-pkg\n'
                                   'Version: 1.0\n')
    (dist / 'entry_points.txt').write_text(
        '[kombu.serializers]\nmy_serializer = my_module.serializer:register_args\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        serialization.registry.load_entrypoints()
        assert serialization.dumps('x', serializer='my_serializer') == \
            ('application/x-mimetype', 'utf-8', '<x>')
        assert serialization.loads('<x>', 'application/x-mimetype', 'utf-8',
                                   accept=['application/x-mimetype']) == 'x'
    finally:
        try:
            serialization.unregister('my_serializer')
        except Exception:  # noqa: BLE001 - not registered
            pass
        sys.modules.pop('my_module.serializer', None)
        sys.modules.pop('my_module', None)


def test_serialization_buffer_objects(amqp_url, unique_name, cleanup):
    def loads(s):
        return pickle.load(BytesIO(s))

    serialization.register(
        'my_pickle', pickle.dumps, loads,
        content_type='application/x-pickle2',
        content_encoding='binary',
    )
    queue = Queue(unique_name, Exchange(unique_name), routing_key='rk')
    cleanup(amqp_url, queue, queue.exchange)
    try:
        with Connection(amqp_url) as conn:
            conn.Producer().publish({'x': (1, 2)}, exchange=queue.exchange, routing_key='rk',
                                    serializer='my_pickle', declare=[queue])
            message = get_one(conn, queue, accept=['my_pickle'])
            assert message.content_type == 'application/x-pickle2'
            assert message.payload == {'x': (1, 2)}
    finally:
        serialization.unregister('my_pickle')


def test_serialization_pickle_protocol():
    assert serialization.pickle_protocol == 2 or 'PICKLE_PROTOCOL' in __import__('os').environ
    content_type, encoding, data = serialization.dumps({'a': 1}, serializer='pickle')
    assert (content_type, encoding) == ('application/x-python-serialize', 'binary')
    assert data[:2] == b'\x80' + bytes([serialization.pickle_protocol])


# --- Frequently asked questions: reject / requeue --------------------------------

def test_faq_message_reject_and_requeue(amqp_url, unique_name, cleanup):
    queue = Queue(unique_name, Exchange(unique_name), routing_key='rk')
    cleanup(amqp_url, queue, queue.exchange)
    with Connection(amqp_url) as conn:
        producer = conn.Producer()
        producer.publish('first', exchange=queue.exchange, routing_key='rk', declare=[queue])
        message = get_one(conn, queue)
        message.requeue()
        again = get_one(conn, queue)
        assert again.payload == 'first'
        assert again.delivery_info['redelivered'] is True
        again.reject()
        assert again.acknowledged
        assert queue(conn.default_channel).get() is None


# --- API reference: kombu.Connection ---------------------------------------------

def test_api_connection_examples():
    conn = Connection('amqp://guest:guest@localhost:5672//')
    assert conn.as_uri() == 'amqp://guest:**@localhost:5672//'
    conn = Connection('amqp://foo;amqp://bar', failover_strategy='round-robin')
    assert conn.hostname == 'foo' and conn.alt == ['amqp://foo', 'amqp://bar']
    conn.maybe_switch_next()
    assert conn.hostname == 'bar'
    conn = Connection('redis://', transport_options={
        'visibility_timeout': 3000,
    })
    assert conn.transport_options == {'visibility_timeout': 3000}
    options = {
        'ca_certs': '/etc/pki/tls/certs/something.crt',
        'keyfile': '/etc/something/system.key',
        'certfile': '/etc/something/system.cert',
        'cert_reqs': ssl.CERT_REQUIRED,
    }
    conn = Connection('amqp://', login_method='EXTERNAL', ssl=options)
    assert conn.login_method == 'EXTERNAL' and conn.ssl == options
    assert conn.info()['port'] == 5671     # SSL selects the amqps port


def test_api_connection_lazy_connect(amqp_url):
    conn = Connection(amqp_url)
    assert conn._connection is None
    conn.connect()
    assert conn.connected
    conn.release()
    assert not conn.connected


def test_api_connection_autoretry(amqp_url, unique_name, cleanup):
    queue = Queue(unique_name, Exchange(unique_name), routing_key='rk')
    cleanup(amqp_url, queue, queue.exchange)

    def publish_messages(n, channel=None):
        producer = Producer(channel, exchange=queue.exchange, routing_key='rk')
        producer.maybe_declare(queue)
        for i in range(n):
            producer.publish(i)
        return n

    with Connection(amqp_url) as connection:
        channel = connection.channel()
        try:
            ret, channel = connection.autoretry(
                publish_messages, channel)(3)
        finally:
            channel.close()
        assert ret == 3
        assert [get_one(connection, queue).payload for _ in range(3)] == [0, 1, 2]


def test_api_connection_ensure(amqp_url, unique_name, cleanup, caplog):
    queue = Queue(unique_name, Exchange(''), routing_key=unique_name)
    cleanup(amqp_url, queue)
    errors = []

    def errback(exc, interval):
        errors.append((exc, interval))

    with Connection(amqp_url) as conn:
        queue(conn.default_channel).declare()
        producer = Producer(conn)
        publish = conn.ensure(producer, producer.publish,
                              errback=errback, max_retries=3)
        publish({'hello': 'world'}, routing_key=queue.name)   # the example's 'dest'
        assert get_one(conn, queue).payload == {'hello': 'world'}
    assert errors == []


def test_api_connection_pool():
    connection = Connection('memory://')
    pool = connection.Pool(2)
    c1 = pool.acquire()
    c2 = pool.acquire()
    with pytest.raises(ConnectionLimitExceeded) as excinfo:
        pool.acquire()
    assert '2' in str(excinfo.value)
    c1.release()
    c3 = pool.acquire()
    assert c3 is c1
    c2.release()
    c3.release()


def test_api_connection_channel_pool(amqp_url):
    connection = Connection(amqp_url)
    try:
        pool = connection.ChannelPool(2)
        c1 = pool.acquire()
        c2 = pool.acquire()
        with pytest.raises(ChannelLimitExceeded) as excinfo:
            pool.acquire()
        assert '2' in str(excinfo.value)
        c1.release()
        c3 = pool.acquire()
        c2.release()
        c3.release()
    finally:
        connection.release()


def test_api_connection_simple_queue_and_buffer(amqp_url, unique_name, cleanup):
    cleanup(amqp_url, Queue(unique_name + '.q'), Exchange(unique_name + '.q'),
            Queue(unique_name + '.b'), Exchange(unique_name + '.b'))
    with Connection(amqp_url) as conn:
        q = conn.SimpleQueue(unique_name + '.q')
        b = conn.SimpleBuffer(unique_name + '.b')
        assert q.queue.durable and q.queue.exchange.durable and not q.no_ack
        assert not b.queue.durable and b.queue.auto_delete and b.no_ack
        assert not b.queue.exchange.durable and b.queue.exchange.auto_delete
        q.close()
        b.close()


# --- API reference: Exchange / Queue ---------------------------------------------

def test_api_exchange_example(amqp_url, unique_name, cleanup):
    news_exchange = Exchange(unique_name + '.news', type='topic')
    science = Queue(unique_name + '.science', news_exchange, routing_key='news.*')
    cleanup(amqp_url, science, news_exchange)
    assert not news_exchange.is_bound
    with Connection(amqp_url) as conn:
        channel = conn.default_channel
        bound_exchange = news_exchange(channel)
        # Declare exchange manually
        bound_exchange.declare()
        science(channel).declare()
        # Publish raw string message using low-level exchange API
        bound_exchange.publish(
            'Cure for cancer found!',
            routing_key='news.science',
        )
        message = get_one(conn, science, accept=['text/plain', 'application/data'])
        assert message.payload == 'Cure for cancer found!'
        assert message.body in (b'Cure for cancer found!', 'Cure for cancer found!')
        science(channel).delete()
        # Delete exchange.
        bound_exchange.delete()


def test_api_queue_example(amqp_url, unique_name, cleanup):
    news_exchange = Exchange(unique_name + '.news', type='topic')
    science_news = Queue(unique_name + '.science_news',
                         exchange=news_exchange,
                         routing_key='news.science')
    cleanup(amqp_url, science_news, news_exchange)
    with Connection(amqp_url) as conn:
        channel = conn.default_channel
        bound_science_news = science_news(channel)
        assert bound_science_news.is_bound and not science_news.is_bound
        bound_science_news.declare()
        conn.Producer().publish('x', exchange=news_exchange, routing_key='news.science')
        deadline = time.monotonic() + 2
        while bound_science_news.queue_declare(passive=True).message_count < 1 \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        assert bound_science_news.purge() == 1
        assert bound_science_news.get() is None
        bound_science_news.delete()


# --- API reference: kombu.common.eventloop ---------------------------------------

def test_api_common_eventloop(amqp_url, unique_name, cleanup):
    from kombu.common import eventloop
    queue = Queue(unique_name, Exchange(unique_name), routing_key='rk')
    cleanup(amqp_url, queue, queue.exchange)
    got = []
    with Connection(amqp_url) as conn:
        producer = conn.Producer(exchange=queue.exchange, routing_key='rk')
        for body in ('e1', 'e2', 'e3'):
            producer.publish(body, declare=[queue])
        with conn.Consumer(queue, callbacks=[lambda body, message: got.append(body)]):
            it = eventloop(conn, timeout=1, ignore_timeouts=True)
            next(it)   # one event consumed, or timed out.
            assert got == ['e1']
            for _ in eventloop(conn, timeout=1, ignore_timeouts=True):
                if len(got) == 3:                # "loop forever", stopped here
                    break
            assert got == ['e1', 'e2', 'e3']
            # timeout errors are propagated by default
            with pytest.raises(socket.timeout):
                for _ in eventloop(conn, limit=1, timeout=0.05):
                    pass


# --- API reference: kombu.mixins -------------------------------------------------

def test_api_mixins_consumer_mixin_example(amqp_url, unique_name, cleanup):
    from kombu.mixins import ConsumerMixin
    printed = []

    class Worker(ConsumerMixin):
        task_queue = Queue(unique_name, Exchange(unique_name), unique_name)

        def __init__(self, connection):
            self.connection = connection     # the example writes ``= None``

        def get_consumers(self, Consumer, channel):
            return [Consumer(queues=[self.task_queue],
                             callbacks=[self.on_task])]

        def on_task(self, body, message):
            printed.append('Got task: {0!r}'.format(body))
            message.ack()
            self.should_stop = True

    cleanup(amqp_url, Worker.task_queue, Worker.task_queue.exchange)
    with Connection(amqp_url) as conn:
        conn.Producer().publish({'t': 1}, exchange=Worker.task_queue.exchange,
                                routing_key=unique_name, declare=[Worker.task_queue])
        Worker(conn).run()
    assert printed == ["Got task: {'t': 1}"]


def test_api_mixins_consumer_producer_mixin_example(amqp_url, unique_name, cleanup):
    from kombu.mixins import ConsumerProducerMixin
    foo = Queue(unique_name + '.foo')
    replies = Queue(unique_name + '.replies')
    cleanup(amqp_url, foo, replies)

    class Worker(ConsumerProducerMixin):

        def __init__(self, connection):
            self.connection = connection

        def get_consumers(self, Consumer, channel):
            return [Consumer(queues=foo,
                             on_message=self.handle_message,
                             accept='application/json',
                             prefetch_count=10)]

        def handle_message(self, message):
            self.producer.publish(
                {'message': 'hello to you'},
                exchange='',
                routing_key=message.properties['reply_to'],
                correlation_id=message.properties['correlation_id'],
                retry=True,
            )
            message.ack()
            self.should_stop = True

    with Connection(amqp_url) as conn:
        replies(conn.default_channel).declare()
        foo(conn.default_channel).declare()
        conn.Producer().publish({'hi': 1}, exchange='', routing_key=foo.name,
                                reply_to=replies.name, correlation_id='c-1')
        Worker(conn).run()
        reply = get_one(conn, replies)
        assert reply.payload == {'message': 'hello to you'}
        assert reply.properties['correlation_id'] == 'c-1'


# --- API reference: kombu.pidbox -------------------------------------------------

def test_api_pidbox_mailbox(amqp_url, unique_name, cleanup):
    namespace = unique_name + '.celerybeat'
    mailbox = pidbox.Mailbox(namespace, type='direct')
    reloads = []

    class Beat:
        def reload_schedule(self):
            reloads.append(True)

    @mailbox.handler
    def reload_schedule(state, **kwargs):
        state['beat'].reload_schedule()

    @mailbox.handler
    def connection_info(state, **kwargs):
        return {'connection': state['connection'].info()['transport']}

    hostname = 'node1.' + unique_name
    cleanup(amqp_url, mailbox.exchange, mailbox.reply_exchange, mailbox.get_queue(hostname))
    stop = threading.Event()
    ready = threading.Event()
    failures = []

    def node_main():
        try:
            with Connection(amqp_url) as connection:
                state = {'beat': Beat(), 'connection': connection}
                consumer = mailbox(connection).Node(hostname, state=state).listen()
                ready.set()
                try:
                    while not stop.is_set():
                        try:
                            connection.drain_events(timeout=0.1)
                        except socket.timeout:
                            pass
                finally:
                    consumer.cancel()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
            ready.set()

    thread = threading.Thread(target=node_main, daemon=True)
    thread.start()
    try:
        assert ready.wait(5)
        with Connection(amqp_url) as client:
            celerybeat = mailbox(client)
            # the example omits the destination: cast/call take it first
            celerybeat.cast([hostname], 'reload_schedule')   # cast is async.
            info = celerybeat.call([hostname], 'connection_info', timeout=3)
    finally:
        stop.set()
        thread.join(5)
    assert not failures
    assert info == [{hostname: {'connection': Connection(amqp_url).info()['transport']}}]
    assert reloads == [True]
