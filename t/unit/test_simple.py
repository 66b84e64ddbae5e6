"""kombu.simple: SimpleQueue and SimpleBuffer on memory://."""
from __future__ import annotations

import time
from queue import Empty

import pytest

from kombu import Connection, Exchange, Queue
from kombu.simple import SimpleBuffer, SimpleQueue


@pytest.fixture
def conn():
    with Connection('memory://') as c:
        yield c


def test_put_get_ack(conn, unique_name):
    with conn.SimpleQueue(unique_name) as q:
        q.put({'hello': 'world'})
        m = q.get(block=True, timeout=1)
        assert m.payload == {'hello': 'world'}
        assert m.properties['delivery_mode'] == 2
        m.ack()
        assert q.qsize() == 0 and len(q) == 0


def test_defaults(conn, unique_name):
    q = conn.SimpleQueue(unique_name)
    assert isinstance(q, SimpleQueue)
    assert q.no_ack is False
    assert q.queue.name == unique_name and q.queue.routing_key == unique_name
    assert q.queue.exchange == Exchange(unique_name, 'direct')
    assert q.queue.durable and not q.queue.auto_delete
    assert q.producer.exchange.name == unique_name
    assert q.channel is conn.default_channel
    assert q.Empty is Empty
    q.close()


def test_buffer_defaults(conn, unique_name):
    b = conn.SimpleBuffer(unique_name)
    assert isinstance(b, SimpleBuffer)
    assert b.no_ack is True
    assert b.queue.durable is False and b.queue.auto_delete is True
    ex = b.queue.exchange
    assert ex.durable is False and ex.auto_delete is True and ex.delivery_mode == 1
    b.put('transient')
    m = b.get(timeout=1)
    assert m.payload == 'transient' and m.properties['delivery_mode'] == 1
    b.close()


def test_empty_on_timeout(conn, unique_name):
    q = conn.SimpleQueue(unique_name)
    t0 = time.monotonic()
    with pytest.raises(Empty):
        q.get(timeout=0.1)
    assert time.monotonic() - t0 < 1.5
    with pytest.raises(q.Empty):
        q.get_nowait()
    with pytest.raises(Empty):
        q.get(block=False)
    q.close()


def test_get_nowait(conn, unique_name):
    q = conn.SimpleQueue(unique_name)
    q.put('a')
    m = q.get_nowait()
    assert m.payload == 'a'
    m.ack()
    q.close()


def test_order_qsize_clear(conn, unique_name):
    q = conn.SimpleQueue(unique_name)
    for i in range(5):
        q.put(i)
    assert q.qsize() == 5 and len(q) == 5
    first = q.get(timeout=1)
    assert first.payload == 0
    first.ack()
    assert q.clear() == 4
    assert q.qsize() == 0
    q.close()


def test_serializer_compression_headers(conn, unique_name):
    q = conn.SimpleQueue(unique_name, serializer='pickle', compression='zlib')
    q.put({'x': {1, 2}}, headers={'h': 1})
    m = q.get_nowait()
    assert m.content_type == 'application/x-python-serialize'
    assert m.headers['h'] == 1 and 'compression' in m.headers
    m.accept = None
    from kombu.serialization import loads
    assert loads(m.body, m.content_type, m.content_encoding,
                 accept=['application/x-python-serialize']) == {'x': {1, 2}}
    m.ack()
    q.put('json anyway', serializer='json', compression=None)
    m = q.get(timeout=1)
    assert m.payload == 'json anyway'
    m.ack()
    q.close()


def test_queue_opts_and_args(conn, unique_name):
    q = conn.SimpleQueue(unique_name, queue_opts={'durable': False},
                         queue_args={'x-max-length': 10},
                         exchange_opts={'type': 'topic'})
    assert q.queue.durable is False
    assert q.queue.queue_arguments == {'x-max-length': 10}
    assert q.queue.exchange.type == 'topic'
    q.close()


def test_queue_object_as_name(conn, unique_name):
    queue = Queue(unique_name, Exchange(f'{unique_name}.ex', 'topic'), routing_key='a.b')
    q = conn.SimpleQueue(queue)
    assert q.queue.name == unique_name
    q.put('routed')
    m = q.get(timeout=1)
    assert m.payload == 'routed' and m.delivery_info['routing_key'] == 'a.b'
    m.ack()
    q.close()


def test_explicit_channel(conn, unique_name):
    channel = conn.channel()
    q = SimpleQueue(channel, unique_name)
    assert q.channel is channel
    q.put('c')
    m = q.get(timeout=1)
    assert m.payload == 'c'
    m.ack()
    q.close()
    channel.close()


def test_no_ack(conn, unique_name):
    q = conn.SimpleQueue(unique_name, no_ack=True)
    q.put('n')
    m = q.get(timeout=1)
    assert m.payload == 'n'
    q.close()
    assert q.qsize() == 0


def test_unacked_message_survives_close(unique_name):
    c1 = Connection('memory://')
    q1 = c1.SimpleQueue(unique_name)
    q1.put('keep me')
    assert q1.get(timeout=1).payload == 'keep me'  # not acked
    q1.close()
    c1.close()
    with Connection('memory://') as c2:
        q2 = c2.SimpleQueue(unique_name)
        m = q2.get(timeout=1)
        assert m.payload == 'keep me'
        m.ack()
        q2.close()


def test_guide_logger_example(conn, unique_name):
    """The Simple Interface chapter's logging example, as written."""
    import socket as _socket
    from contextlib import closing

    class Logger:
        def __init__(self, connection, queue_name=unique_name, serializer='json',
                     compression=None):
            self.queue = connection.SimpleQueue(queue_name)
            self.serializer = serializer
            self.compression = compression

        def log(self, message, level='INFO', context=None):
            self.queue.put({'message': message, 'level': level, 'context': context or {},
                            'hostname': _socket.gethostname(), 'timestamp': time.time()},
                           serializer=self.serializer, compression=self.compression)

        def process(self, callback, n=1, timeout=1):
            for _ in range(n):
                log_message = self.queue.get(block=True, timeout=1)
                callback(log_message.payload)
                log_message.ack()

        def close(self):
            self.queue.close()

    entries = []
    with closing(Logger(conn, compression='zlib')) as logger:
        logger.log('Error happened while encoding video', level='ERROR',
                   context={'filename': 'cutekitten.mpg'})
        logger.process(entries.append, n=1)
    assert entries[0]['level'] == 'ERROR'
    assert entries[0]['context'] == {'filename': 'cutekitten.mpg'}
