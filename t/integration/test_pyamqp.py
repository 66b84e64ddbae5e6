"""The py-amqp transport against the real RabbitMQ broker on 127.0.0.1:5672.

Every test uses its own uniquely named queues/exchanges and deletes them
afterwards.  Server-side connection closes go through ``rabbitmqctl
close_connection`` for the one connection under test (never all of them:
the broker is shared), and TLS goes through a local TLS-terminating relay
(``rabbitmq_tls.TLSProxy``) because the broker has no TLS listener and must
not be restarted.
"""
from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import amqp
import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.transport import pyamqp

sys.path.insert(0, str(Path(__file__).parent))
from rabbitmq_tls import TLSProxy, make_self_signed_cert  # noqa: E402

pytestmark = pytest.mark.services

ALL_PROPERTIES = {
    'delivery_mode': 2,
    'correlation_id': 'cid-1',
    'reply_to': 'reply.queue',
    'message_id': 'mid-1',
    'timestamp': 1700000000,
    'type': 'order.created',
    'user_id': 'guest',        # RabbitMQ checks it against the login
    'app_id': 'kombu-tests',
}


# -- helpers & fixtures -------------------------------------------------------

def _pyamqp(url: str) -> str:
    return 'pyamqp://' + url.split('://', 1)[1]


@pytest.fixture
def url(rabbitmq_url):
    return _pyamqp(rabbitmq_url)


@pytest.fixture
def cleanup(url):
    """Register queue/exchange names; they are deleted after the test."""
    names = {'queues': [], 'exchanges': []}
    yield names
    with Connection(url) as conn:
        for kind, delete in (('queues', 'queue_delete'), ('exchanges', 'exchange_delete')):
            for name in names[kind]:
                channel = conn.channel()
                try:
                    getattr(channel, delete)(name)
                except conn.channel_errors:
                    pass        # never created, or already gone
                finally:
                    if channel.is_open:
                        channel.close()


@pytest.fixture
def conn(url):
    with Connection(url) as connection:
        yield connection


@pytest.fixture
def queue_name(unique_name, cleanup):
    cleanup['queues'].append(unique_name)
    return unique_name


def _declare(channel, name, **kwargs):
    kwargs.setdefault('auto_delete', False)
    return channel.queue_declare(name, **kwargs)


def _message_count(channel, queue, expected, timeout=3.0):
    """Queue depth once it reaches ``expected`` (publishes and acks settle asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        count = channel.queue_declare(queue, passive=True).message_count
        if count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


def _collect(conn, count, queue, timeout=5.0, no_ack=False, **consumer_kwargs):
    """Consume ``count`` messages from ``queue`` with a kombu Consumer."""
    received = []
    consumer = Consumer(conn.channel(), [queue], no_ack=no_ack,
                        callbacks=[lambda body, message: received.append(message)],
                        accept=['json', 'text/plain', 'application/data'],
                        **consumer_kwargs)
    deadline = time.monotonic() + timeout
    with consumer:
        while len(received) < count and time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=max(deadline - time.monotonic(), 0.01))
            except socket.timeout:
                break
    return received


def _rabbitmqctl(*args: str) -> str:
    if shutil.which('rabbitmqctl') is None:
        pytest.skip('rabbitmqctl is not available to close connections server-side')
    result = subprocess.run(['rabbitmqctl', '-q', *args], capture_output=True,
                            text=True, timeout=60)
    if result.returncode:
        pytest.skip(f'rabbitmqctl {args[0]} failed: {result.stderr.strip()}')
    return result.stdout


def close_server_side(amqp_connection) -> None:
    """Have the broker close this one connection (found by its client port)."""
    port = str(amqp_connection.sock.getsockname()[1])
    listing = _rabbitmqctl('list_connections', '--no-table-headers', 'pid', 'peer_port')
    pids = [line.split()[0] for line in listing.splitlines() if line.split()[1:] == [port]]
    if not pids:
        pytest.skip(f'connection from port {port} not listed by rabbitmqctl')
    _rabbitmqctl('close_connection', pids[0], 'closed by kombu integration test')


# -- basics -------------------------------------------------------------------

def test_transport_is_pyamqp(conn):
    conn.connect()
    assert isinstance(conn.transport, pyamqp.Transport)
    assert isinstance(conn.connection, pyamqp.Connection)
    assert isinstance(conn.default_channel, pyamqp.Channel)
    assert conn.transport.verify_connection(conn.connection)
    assert conn.connection.server_properties['product'] == 'RabbitMQ'
    # RabbitMQ >= 3.3 applies basic_qos(global=True) per connection, not per channel
    assert conn.transport.qos_semantics_matches_spec(conn.connection) is False


def test_channel_roundtrip_carries_every_property(conn, queue_name):
    channel = conn.channel()
    _declare(channel, queue_name)
    message = channel.prepare_message(b'payload', 3, 'application/data', 'binary',
                                      {'h1': 'v', 'n': 7}, dict(ALL_PROPERTIES,
                                                                expiration='60000'))
    channel.basic_publish(message, exchange='', routing_key=queue_name)
    raw = channel.basic_get(queue_name)
    assert raw is not None
    got = channel.message_to_python(raw)
    assert isinstance(got, pyamqp.Message)
    assert got.body == b'payload'
    assert got.content_type == 'application/data'
    assert got.content_encoding == 'binary'
    assert got.headers == {'h1': 'v', 'n': 7}
    for key, value in ALL_PROPERTIES.items():
        assert got.properties[key] == value, key
    assert got.properties['priority'] == 3
    assert got.properties['expiration'] == '60000'
    assert got.delivery_info['routing_key'] == queue_name
    assert got.delivery_info['redelivered'] is False
    got.ack()
    assert got.acknowledged
    assert _message_count(channel, queue_name, 0) == 0


def test_producer_consumer_roundtrip_with_properties(conn, unique_name, cleanup):
    exchange = Exchange(unique_name, 'direct', durable=False)
    queue = Queue(unique_name, exchange, routing_key='rk', durable=False)
    cleanup['queues'].append(unique_name)
    cleanup['exchanges'].append(unique_name)
    producer = Producer(conn.channel())
    producer.publish({'hello': 'world'}, exchange=exchange, routing_key='rk',
                     declare=[queue], serializer='json', headers={'h': 'v'},
                     priority=4, expiration=60, **ALL_PROPERTIES)
    [message] = _collect(conn, 1, queue)
    assert message.payload == {'hello': 'world'}
    assert message.content_type == 'application/json'
    assert message.headers['h'] == 'v'
    assert message.properties['priority'] == 4
    assert message.properties['expiration'] == '60000'
    for key, value in ALL_PROPERTIES.items():
        assert message.properties[key] == value, key
    assert message.delivery_info['exchange'] == unique_name
    assert message.delivery_info['routing_key'] == 'rk'
    message.ack()


def test_topic_fanout_and_headers_exchanges_route(conn, unique_name, cleanup):
    channel = conn.channel()
    for kind, bind_key, bind_args, publish_key, headers in (
            ('topic', 'a.*.c', None, 'a.b.c', None),
            ('fanout', '', None, 'ignored', None),
            ('headers', '', {'x-match': 'all', 'k': 'v'}, '', {'k': 'v'})):
        name = f'{unique_name}.{kind}'
        cleanup['exchanges'].append(name)
        cleanup['queues'].append(name)
        channel.exchange_declare(name, kind, durable=False, auto_delete=False)
        _declare(channel, name)
        channel.queue_bind(name, name, bind_key, arguments=bind_args)
        channel.basic_publish(channel.prepare_message(kind.encode(), headers=headers),
                              exchange=name, routing_key=publish_key)
        raw = channel.basic_get(name, no_ack=True)
        assert raw is not None and raw.body == kind.encode(), kind


def test_queue_and_purge_and_delete_counts(conn, queue_name):
    channel = conn.channel()
    _declare(channel, queue_name)
    for i in range(3):
        channel.basic_publish(channel.prepare_message(b'%d' % i), '', queue_name)
    assert _message_count(channel, queue_name, 3) == 3
    assert channel.queue_purge(queue_name) == 3
    channel.basic_publish(channel.prepare_message(b'x'), '', queue_name)
    assert channel.queue_delete(queue_name) == 1


def test_basic_qos_limits_unacked_deliveries(conn, queue_name):
    channel = conn.channel()
    _declare(channel, queue_name)
    for i in range(5):
        channel.basic_publish(channel.prepare_message(b'%d' % i), '', queue_name)
    channel.basic_qos(prefetch_count=2, apply_global=False)
    seen = []
    channel.basic_consume(queue_name, consumer_tag=None, callback=seen.append)
    with pytest.raises(socket.timeout):
        while True:
            conn.drain_events(timeout=0.5)
    assert len(seen) == 2
    channel.basic_ack(seen[-1].delivery_tag, multiple=True)
    with pytest.raises(socket.timeout):
        while True:
            conn.drain_events(timeout=0.5)
    assert len(seen) == 4


# -- received messages (values observed with the original Kombu 4.6.7) --------

def _get(channel_queue, attempts=50):
    for _ in range(attempts):
        message = channel_queue.get()
        if message is not None:
            return message
        time.sleep(0.02)
    raise AssertionError('no message arrived')


@pytest.fixture
def bound_queue(conn, unique_name, cleanup):
    exchange = Exchange(unique_name, 'direct', durable=False)
    queue = Queue(unique_name, exchange, routing_key='rk', durable=False, auto_delete=False)
    cleanup['queues'].append(unique_name)
    cleanup['exchanges'].append(unique_name)
    channel = conn.channel()
    bound = queue(channel)
    bound.declare()
    return bound, Producer(channel, exchange, routing_key='rk')


@pytest.mark.parametrize('kwargs,body,content_type,content_encoding,decoded', [
    ({'body': {'a': 1}}, '{"a": 1}', 'application/json', 'utf-8', {'a': 1}),
    ({'body': 'h\u00e9llo'}, 'h\u00e9llo', 'text/plain', 'utf-8', 'h\u00e9llo'),
    ({'body': b'\x00raw'}, b'\x00raw', 'application/data', 'binary', b'\x00raw'),
    ({'body': b'<x/>', 'content_type': 'application/xml', 'content_encoding': 'binary'},
     b'<x/>', 'application/xml', 'binary', b'<x/>'),
    ({'body': 'text', 'content_type': 'text/plain'}, 'text', 'text/plain', 'utf-8', 'text'),
])
def test_received_message_attributes(bound_queue, kwargs, body, content_type,
                                     content_encoding, decoded):
    bound, producer = bound_queue
    producer.publish(**kwargs)
    message = _get(bound)
    assert type(message) is pyamqp.Message
    assert message.body == body
    assert (message.content_type, message.content_encoding) == (content_type,
                                                                content_encoding)
    assert message.decode() == decoded
    assert message.headers == {}
    assert message.properties == {
        'application_headers': {}, 'content_encoding': content_encoding,
        'content_type': content_type, 'delivery_mode': 2, 'priority': 0}
    assert type(message.delivery_tag) is int
    assert message.delivery_info == {
        'delivery_tag': message.delivery_tag, 'exchange': bound.exchange.name,
        'message_count': 0, 'redelivered': False, 'routing_key': 'rk'}
    assert message.accept is None
    assert message.errors == []
    assert not message.acknowledged
    message.ack()


def test_received_headers_and_properties(bound_queue):
    bound, producer = bound_queue
    headers = {'h1': 1, 'h2': 'v', 'h3': [1, 'a'], 'h4': {'n': True}, 'h5': None, 'h6': 1.5}
    producer.publish('x', headers=headers, priority=5, expiration=60,
                     correlation_id='cid', reply_to='rt', message_id='mid',
                     delivery_mode='transient', type='T', app_id='app',
                     user_id='guest', timestamp=1700000000)
    message = _get(bound)
    assert message.headers == headers
    assert message.properties == {
        'app_id': 'app', 'application_headers': headers, 'content_encoding': 'utf-8',
        'content_type': 'text/plain', 'correlation_id': 'cid', 'delivery_mode': 1,
        'expiration': '60000', 'message_id': 'mid', 'priority': 5, 'reply_to': 'rt',
        'timestamp': 1700000000, 'type': 'T', 'user_id': 'guest'}
    message.ack()


def test_compression_header_and_requeued_redelivery(bound_queue):
    bound, producer = bound_queue
    producer.publish({'a': 1}, compression='zlib')
    message = _get(bound)
    assert message.headers == {'compression': 'application/x-gzip'}
    assert message.decode() == {'a': 1}
    message.requeue()
    again = _get(bound)
    assert again.delivery_info['redelivered'] is True
    assert again.decode() == {'a': 1}
    again.ack()


def test_consumed_message_delivery_info(conn, bound_queue):
    bound, producer = bound_queue
    producer.publish({'c': 1})
    [message] = _collect(conn, 1, bound)
    assert sorted(message.delivery_info) == [
        'consumer_tag', 'delivery_tag', 'exchange', 'redelivered', 'routing_key']
    assert message.accept == {'application/json', 'text/plain', 'application/data'}
    message.ack()


def test_raw_str_body_without_content_encoding_is_published_as_utf8(conn, queue_name):
    channel = conn.channel()
    _declare(channel, queue_name)
    channel.basic_publish(channel.prepare_message('h\u00e9'), '', queue_name)
    raw = None
    for _ in range(50):
        raw = channel.basic_get(queue_name, no_ack=True)
        if raw is not None:
            break
        time.sleep(0.02)
    assert raw.properties == {'content_encoding': 'utf-8'}
    assert raw.body == 'h\u00e9'      # py-amqp decodes it with that encoding


def test_queue_declare_returns_name_and_counts(conn, queue_name):
    channel = conn.channel()
    ok = _declare(channel, queue_name)
    assert type(ok).__name__ == 'queue_declare_ok_t'
    assert tuple(ok) == (queue_name, 0, 0)
    assert ok._fields == ('queue', 'message_count', 'consumer_count')
    assert channel.queue_purge(queue_name) == 0


def test_localhost_connects_over_ipv4_and_leaves_the_client_as_given(rabbitmq_url):
    with Connection('pyamqp://localhost//') as conn:
        key = conn.__eqhash__()
        conn.connect()
        assert conn.connection.sock.getpeername()[0] == '127.0.0.1'
        assert (conn.hostname, conn.port, conn.userid) == ('localhost', None, None)
        assert conn.as_uri() == 'amqp://guest:**@localhost:5672//'
        assert conn.__eqhash__() == key      # pools keyed on it still find it


@pytest.mark.parametrize('vhost', ['/', '%2F', ''])
def test_default_vhost_spellings(rabbitmq_url, vhost):
    with Connection(f'pyamqp://guest:guest@127.0.0.1:5672/{vhost}') as conn:
        assert conn.virtual_host == '/'
        assert conn.as_uri() == 'amqp://guest:**@127.0.0.1:5672//'
        conn.connect()
        assert conn.connected


def test_client_properties_sent_by_default(conn):
    conn.connect()
    props = conn.connection.client_properties
    assert props['product'] == 'py-amqp'
    assert props['capabilities'] == {'consumer_cancel_notify': True,
                                     'connection.blocked': True,
                                     'authentication_failure_close': True}


# -- RabbitMQ queue features --------------------------------------------------

def test_priority_queue_delivers_highest_priority_first(conn, unique_name, cleanup):
    cleanup['queues'].append(unique_name)
    queue = Queue(unique_name, durable=False, max_priority=10)(conn.channel())
    queue.declare()
    producer = Producer(conn.channel())
    for priority in (1, 9, 5):
        producer.publish({'p': priority}, routing_key=unique_name, priority=priority)
    assert _message_count(queue.channel, unique_name, 3) == 3
    order = [queue.get(no_ack=True).payload['p'] for _ in range(3)]
    assert order == [9, 5, 1]


def test_channel_priority_queue_arguments(conn, queue_name):
    channel = conn.channel()
    args = channel.prepare_queue_arguments({}, max_priority=10)
    _declare(channel, queue_name, arguments=args)
    for priority in (2, 8):
        channel.basic_publish(channel.prepare_message(b'%d' % priority, priority), '',
                              queue_name)
    assert channel.basic_get(queue_name, no_ack=True).body == b'8'


def test_per_message_expiration(conn, queue_name):
    channel = conn.channel()
    _declare(channel, queue_name)
    producer = Producer(channel)
    producer.publish('short', routing_key=queue_name, expiration=0.05)
    producer.publish('long', routing_key=queue_name, expiration=60)
    time.sleep(0.3)
    raw = channel.basic_get(queue_name, no_ack=True)
    assert raw is not None and channel.message_to_python(raw).payload == 'long'
    assert channel.basic_get(queue_name, no_ack=True) is None


def test_per_queue_message_ttl(conn, unique_name, cleanup):
    cleanup['queues'].append(unique_name)
    queue = Queue(unique_name, durable=False, message_ttl=0.05)(conn.channel())
    queue.declare()
    Producer(conn.channel()).publish('soon gone', routing_key=unique_name)
    time.sleep(0.3)
    assert queue.get(no_ack=True) is None


def test_dead_lettering_of_rejected_and_expired_messages(conn, unique_name, cleanup):
    dlq = f'{unique_name}.dead'
    cleanup['queues'] += [unique_name, dlq]
    channel = conn.channel()
    _declare(channel, dlq)
    _declare(channel, unique_name, arguments={
        'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq,
        'x-message-ttl': 60000})
    producer = Producer(channel)
    producer.publish('rejected', routing_key=unique_name)
    producer.publish('expired', routing_key=unique_name, expiration=0.05)

    raw = channel.basic_get(unique_name)
    message = channel.message_to_python(raw)
    assert message.payload == 'rejected'
    message.reject(requeue=False)
    time.sleep(0.3)

    dead = []
    for _ in range(2):
        raw = channel.basic_get(dlq, no_ack=True)
        assert raw is not None
        dead.append(channel.message_to_python(raw))
    reasons = {m.payload: m.headers['x-death'][0]['reason'] for m in dead}
    assert reasons == {'rejected': 'rejected', 'expired': 'expired'}
    assert channel.basic_get(unique_name) is None


# -- publisher confirms and returns -------------------------------------------

def test_confirm_publish_waits_for_the_broker(url, queue_name):
    with Connection(url, transport_options={'confirm_publish': True}) as conn:
        channel = conn.channel()
        _declare(channel, queue_name)
        Producer(channel).publish('confirmed', routing_key=queue_name)
        # the confirm has been received, so the message is already queued
        assert channel.queue_declare(queue_name, passive=True).message_count == 1


def test_confirm_publish_raises_when_the_broker_nacks(url, queue_name):
    with Connection(url, transport_options={'confirm_publish': True}) as conn:
        channel = conn.channel()
        _declare(channel, queue_name, arguments={'x-max-length': 1,
                                                 'x-overflow': 'reject-publish'})
        producer = Producer(channel)
        producer.publish('fits', routing_key=queue_name)
        with pytest.raises(amqp.exceptions.MessageNacked):
            producer.publish('overflows', routing_key=queue_name)


def test_confirm_publish_to_missing_exchange_raises_at_once(url, unique_name):
    with Connection(url, transport_options={'confirm_publish': True}) as conn:
        producer = Producer(conn.channel())
        with pytest.raises(conn.channel_errors) as excinfo:
            producer.publish('lost', exchange=f'{unique_name}.missing', routing_key='x')
        assert excinfo.value.reply_code == 404


@pytest.mark.parametrize('confirm_publish', [False, True])
def test_mandatory_unroutable_message_goes_to_on_return(url, unique_name, confirm_publish):
    returned = []

    def on_return(exc, exchange, routing_key, message):
        returned.append((exc, exchange, routing_key, message))

    with Connection(url, transport_options={'confirm_publish': confirm_publish}) as conn:
        producer = Producer(conn.channel(), on_return=on_return)
        producer.publish('nowhere', exchange='', routing_key=f'{unique_name}.nobody',
                         mandatory=True)
        if not confirm_publish:
            # with confirms the return arrives before the ack, inside publish()
            conn.drain_events(timeout=5)
        [(exc, exchange, routing_key, message)] = returned
        assert exc.reply_code == 312              # NO_ROUTE
        assert routing_key == f'{unique_name}.nobody'
        assert message.body in (b'nowhere', 'nowhere')


# -- heartbeats ---------------------------------------------------------------

def test_heartbeats_keep_an_idle_connection_alive(url, queue_name):
    with Connection(url, heartbeat=2) as conn:
        conn.connect()
        transport = conn.transport
        assert transport.get_heartbeat_interval(conn.connection) == 2
        channel = conn.channel()
        _declare(channel, queue_name)
        first_sent = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=1)
            except socket.timeout:
                pass
            conn.heartbeat_check()
            first_sent = first_sent or conn.connection.last_heartbeat_sent
        assert conn.connection.last_heartbeat_sent > first_sent   # we did send some
        channel.basic_publish(channel.prepare_message(b'alive'), '', queue_name)
        assert channel.basic_get(queue_name, no_ack=True).body == b'alive'


def test_drain_events_timeout_covers_the_whole_call(url):
    """Heartbeat frames arriving meanwhile must not restart the timeout."""
    with Connection(url, heartbeat=2) as conn:
        conn.connect()
        received_before = conn.connection.bytes_recv
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=1.6)      # the broker sends a heartbeat every ~1 s
        elapsed = time.monotonic() - started
        assert conn.connection.bytes_recv > received_before   # a heartbeat came in
        assert 1.5 < elapsed < 2.2


# -- connecting and failing to ------------------------------------------------

def test_failover_ends_on_the_live_broker(rabbitmq_url):
    rest = rabbitmq_url.split('://', 1)[1]
    with Connection(f'pyamqp://guest:guest@localhost:1//;pyamqp://{rest}') as conn:
        conn.ensure_connection(max_retries=3, interval_start=0, interval_step=0.1)
        assert conn.connected
        assert conn.port == 5672
        assert conn.connection.server_properties['product'] == 'RabbitMQ'


def test_wrong_credentials_fail_fast_with_access_refused(rabbitmq_url):
    rest = rabbitmq_url.split('://', 1)[1].split('@', 1)[1]
    attempts = []
    with Connection(f'pyamqp://guest:wrong-password@{rest}') as conn:
        started = time.monotonic()
        with pytest.raises(amqp.exceptions.AccessRefused) as excinfo:
            conn.ensure_connection(errback=lambda exc, interval: attempts.append(exc),
                                   max_retries=5, interval_start=1)
        assert time.monotonic() - started < 3
        assert attempts == []                  # not retried
        assert excinfo.value.reply_code == 403
        assert 'ACCESS_REFUSED' in str(excinfo.value)
        assert not conn.connected


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections but never speaks AMQP."""
    server = socket.create_server(('127.0.0.1', 0), backlog=16)
    yield server.getsockname()[1]
    server.close()


def test_connect_timeout_is_honoured(silent_server):
    with Connection(f'pyamqp://guest:guest@127.0.0.1:{silent_server}//',
                    connect_timeout=1) as conn:
        started = time.monotonic()
        with pytest.raises((socket.timeout, OSError)):
            conn.connect()
        elapsed = time.monotonic() - started
        assert 0.8 < elapsed < 5
        assert not conn.connected


def test_closing_twice_is_safe(url):
    conn = Connection(url)
    conn.connect()
    raw = conn.connection
    conn.transport.close_connection(raw)
    conn.transport.close_connection(raw)
    assert not conn.transport.verify_connection(raw)
    conn.release()


def test_close_channel_and_collect(url):
    with Connection(url) as conn:
        channel = conn.channel()
        conn.transport.close_channel(channel)
        assert not channel.is_open
        assert conn.transport.verify_connection(conn.connection)
        raw = conn.connection
        sock = raw.sock
        conn.collect()                           # e.g. after a fork: drop, don't talk
        assert sock.fileno() == -1
        assert not conn.transport.verify_connection(raw)


# -- errors -------------------------------------------------------------------

def test_missing_exchange_is_a_channel_error_and_connection_survives(conn, unique_name,
                                                                     queue_name):
    channel = conn.channel()
    channel.basic_publish(channel.prepare_message(b'x'),
                          exchange=f'{unique_name}.missing', routing_key='x')
    with pytest.raises(conn.channel_errors) as excinfo:
        # the broker's channel.close arrives asynchronously: the next sync call sees it
        _declare(channel, queue_name)
    assert excinfo.value.reply_code == 404
    # py-amqp reopens a channel the broker closed, so both it and a new one work
    _declare(channel, queue_name)
    fresh = conn.channel()
    _declare(fresh, queue_name)
    fresh.basic_publish(fresh.prepare_message(b'ok'), '', queue_name)
    assert fresh.basic_get(queue_name, no_ack=True).body == b'ok'


def test_queue_declare_with_conflicting_arguments(conn, queue_name):
    _declare(conn.channel(), queue_name)
    channel = conn.channel()
    with pytest.raises(conn.channel_errors) as excinfo:
        _declare(channel, queue_name, arguments={'x-max-priority': 5})
    assert excinfo.value.reply_code == 406      # PRECONDITION_FAILED
    assert isinstance(excinfo.value, amqp.exceptions.PreconditionFailed)
    assert conn.transport.verify_connection(conn.connection)
    assert _declare(conn.channel(), queue_name, passive=True).queue == queue_name


# -- recovery after the broker closes the connection ---------------------------

def test_consumer_recovers_and_unacked_messages_are_redelivered(url, queue_name):
    with Connection(url) as conn:
        channel = conn.channel()
        _declare(channel, queue_name)
        producer = Producer(channel)
        for i in range(3):
            producer.publish({'n': i}, routing_key=queue_name)
        queue = Queue(queue_name, durable=False, auto_delete=False, no_declare=True)

        received = []
        consumer = Consumer(conn.channel(), [queue],
                            callbacks=[lambda body, m: received.append(m)])
        consumer.consume()
        while len(received) < 3:
            conn.drain_events(timeout=5)
        assert not any(m.delivery_info['redelivered'] for m in received)

        close_server_side(conn.connection)
        with pytest.raises(conn.recoverable_connection_errors):
            conn.drain_events(timeout=5)
        assert not conn.connected

        conn.ensure_connection(max_retries=3, interval_start=0)
        assert conn.connected
        received.clear()
        consumer.revive(conn.channel())
        consumer.consume()
        while len(received) < 3:
            conn.drain_events(timeout=5)
        assert sorted(m.payload['n'] for m in received) == [0, 1, 2]
        assert all(m.delivery_info['redelivered'] for m in received)
        for message in received:
            message.ack()
        consumer.cancel()


def test_ensure_recovers_a_publish_across_a_server_side_close(url, queue_name):
    with Connection(url, transport_options={'confirm_publish': True}) as conn:
        _declare(conn.default_channel, queue_name)
        producer = Producer(conn.default_channel)
        revived = []
        publish = conn.ensure(producer, producer.publish, max_retries=3,
                              interval_start=0, on_revive=revived.append)
        publish('before', routing_key=queue_name)

        close_server_side(conn.connection)
        time.sleep(0.2)                         # let the close reach our socket
        publish('after', routing_key=queue_name)

        assert revived                           # it reconnected
        channel = conn.channel()
        bodies = []
        while True:
            raw = channel.basic_get(queue_name, no_ack=True)
            if raw is None:
                break
            bodies.append(channel.message_to_python(raw).payload)
        assert bodies == ['before', 'after']


def test_ensure_recovers_after_the_close_was_already_noticed(url, queue_name):
    with Connection(url) as conn:
        _declare(conn.default_channel, queue_name)
        producer = Producer(conn.default_channel)
        close_server_side(conn.connection)
        with pytest.raises(conn.recoverable_connection_errors):
            conn.drain_events(timeout=5)

        publish = conn.ensure(producer, producer.publish, max_retries=3, interval_start=0)
        publish('after', routing_key=queue_name)
        channel = conn.channel()
        assert _message_count(channel, queue_name, 1) == 1
        raw = channel.basic_get(queue_name, no_ack=True)
        assert raw is not None and raw.body in (b'after', 'after')


# -- event loop ---------------------------------------------------------------

def test_register_with_event_loop_delivers_and_heartbeats(url, queue_name):
    hub_module = pytest.importorskip('kombu.asynchronous.hub')
    hub = hub_module.Hub()
    try:
        with Connection(url, heartbeat=2) as conn:
            conn.connect()
            channel = conn.channel()
            _declare(channel, queue_name)
            received = []
            channel.basic_consume(queue_name, no_ack=True,
                                  callback=lambda m: received.append(m.body))
            conn.transport.register_with_event_loop(conn.connection, hub)
            first_sent = conn.connection.last_heartbeat_sent
            with Connection(url) as publisher:         # no heartbeats of its own
                pchannel = publisher.channel()
                for i in range(20):
                    pchannel.basic_publish(pchannel.prepare_message(b'%d' % i), '',
                                           queue_name)
                # then idle past two heartbeat intervals: only the hub's timer
                # keeps the broker from dropping us
                started, loop = time.monotonic(), hub.create_loop()
                while time.monotonic() - started < 6:
                    next(loop)
                assert received == [b'%d' % i for i in range(20)]
                assert conn.connection.last_heartbeat_sent > first_sent
                pchannel.basic_publish(pchannel.prepare_message(b'late'), '', queue_name)
                deadline = time.monotonic() + 5
                while len(received) < 21 and time.monotonic() < deadline:
                    next(loop)
            assert received[-1] == b'late'

            conn.transport.unregister_from_event_loop(conn.connection, hub)
            assert not hub.readers
            assert not hub.timer.queue              # heartbeat timer cancelled
    finally:
        hub.close()


# -- TLS ------------------------------------------------------------------------

@pytest.fixture(scope='module')
def tls_proxy(tmp_path_factory):
    if shutil.which('openssl') is None:
        pytest.skip('openssl is needed to make a self-signed certificate')
    folder = tmp_path_factory.mktemp('tls')
    cert, key = make_self_signed_cert(folder)
    proxy = TLSProxy(cert, key).start()
    yield proxy, cert
    proxy.close()


def test_ssl_options_dict_verifies_the_certificate(rabbitmq_url, tls_proxy, queue_name):
    proxy, cert = tls_proxy
    sslopts = {'ca_certs': str(cert), 'cert_reqs': ssl.CERT_REQUIRED,
               'server_hostname': 'localhost'}
    with Connection(f'pyamqp://guest:guest@127.0.0.1:{proxy.port}//', ssl=sslopts,
                    connect_timeout=5) as conn:
        conn.connect()
        assert isinstance(conn.connection.sock, ssl.SSLSocket)
        channel = conn.channel()
        _declare(channel, queue_name)
        big = b'x' * 300_000                   # several frames, several TLS records
        channel.basic_publish(channel.prepare_message(big), '', queue_name)
        assert channel.basic_get(queue_name, no_ack=True).body == big


@pytest.mark.parametrize('how', ['options', 'ssl=True', 'url-query'])
def test_ssl_with_an_untrusted_certificate_fails(rabbitmq_url, tls_proxy, how):
    proxy, _ = tls_proxy
    url = f'pyamqp://guest:guest@127.0.0.1:{proxy.port}//'
    kwargs = {
        'options': {'ssl': {'cert_reqs': ssl.CERT_REQUIRED, 'server_hostname': 'localhost'}},
        'ssl=True': {'ssl': True},
        'url-query': {},
    }[how]
    if how == 'url-query':
        url += '?ssl=1'
    with Connection(url, connect_timeout=5, **kwargs) as conn:
        with pytest.raises(ssl.SSLError):
            conn.connect()
        assert not conn.connected


def test_ssl_without_verification_connects(rabbitmq_url, tls_proxy):
    proxy, _ = tls_proxy
    with Connection(f'pyamqp://guest:guest@127.0.0.1:{proxy.port}//',
                    ssl={'cert_reqs': ssl.CERT_NONE}, connect_timeout=5) as conn:
        conn.connect()
        assert conn.connection.sock.version().startswith('TLS')


def test_amqps_transport_over_tls(rabbitmq_url, tls_proxy, queue_name):
    proxy, cert = tls_proxy
    sslopts = {'ca_certs': str(cert), 'cert_reqs': ssl.CERT_REQUIRED,
               'server_hostname': 'localhost'}
    with Connection(f'amqps://guest:guest@127.0.0.1:{proxy.port}//', ssl=sslopts,
                    connect_timeout=5) as conn:
        assert isinstance(conn.transport, pyamqp.SSLTransport)
        queue = Queue(queue_name, durable=False, auto_delete=False)
        Producer(conn.channel()).publish({'tls': True}, routing_key=queue_name,
                                         declare=[queue])
        [message] = _collect(conn, 1, queue)
        assert message.payload == {'tls': True}
        message.ack()


def test_hub_reads_tls_buffered_frames(rabbitmq_url, tls_proxy, queue_name):
    hub_module = pytest.importorskip('kombu.asynchronous.hub')
    proxy, cert = tls_proxy
    sslopts = {'ca_certs': str(cert), 'cert_reqs': ssl.CERT_REQUIRED,
               'server_hostname': 'localhost'}
    hub = hub_module.Hub()
    try:
        with Connection(f'pyamqp://guest:guest@127.0.0.1:{proxy.port}//', ssl=sslopts,
                        connect_timeout=5) as conn:
            conn.connect()
            channel = conn.channel()
            _declare(channel, queue_name)
            for i in range(50):
                channel.basic_publish(channel.prepare_message(b'%d' % i), '', queue_name)
            received = []
            channel.basic_consume(queue_name, no_ack=True,
                                  callback=lambda m: received.append(m.body))
            conn.transport.register_with_event_loop(conn.connection, hub)
            deadline = time.monotonic() + 5
            loop = hub.create_loop()
            while len(received) < 50 and time.monotonic() < deadline:
                next(loop)
            assert len(received) == 50
            conn.transport.unregister_from_event_loop(conn.connection, hub)
    finally:
        hub.close()
