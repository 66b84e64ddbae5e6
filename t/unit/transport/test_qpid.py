"""Tests of the Qpid transport (kombu.transport.qpid).

There is no qpidd server to test against here, and the client it is written
for (qpid-python's ``qpid.messaging``, with qpid-tools' ``qpidtoollibs``) has
no Python 3 build.  So the pure-Python parts are tested directly, and the
broker-facing parts against in-test fakes of ``qpid.messaging`` and
``qpidtoollibs`` injected into ``sys.modules`` (a tiny in-memory broker with
direct/fanout routing), with the module reloaded to pick them up.
"""
from __future__ import annotations

import importlib
import os
import socket
import ssl
import sys
import types
import uuid

import pytest

import kombu.transport
import kombu.transport.qpid as qpid_module
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.exceptions import DecodeError, EncodeError
from kombu.transport import resolve_transport, virtual

# -- fake qpid.messaging / qpidtoollibs ------------------------------------------------


class FakeMessagingError(Exception):
    pass


class FakeConnectionError(FakeMessagingError):
    pass


class FakeAuthenticationFailure(FakeConnectionError):
    pass


class FakeSessionError(FakeMessagingError):
    pass


class FakeNotFound(FakeSessionError):
    pass


class FakeSessionClosed(FakeSessionError):
    pass


class FakeEmpty(FakeMessagingError):
    pass


class FakeQpidMessage:
    def __init__(self, content=None, durable=None, subject=None, **kwargs):
        self.content = content
        self.durable = durable
        self.subject = subject


class FakeBroker:
    """In-memory broker shared by the fakes: queues, exchanges, bindings."""

    def __init__(self):
        self.queues = {}          # name -> list of messages
        self.queue_options = {}
        self.consumers = {}       # name -> count of open receivers
        self.exchanges = {'': 'direct'}
        self.bindings = []        # (exchange, queue, key)
        self.acked = []
        self.dispositions = []
        self.sent = []
        self.establish_kwargs = []
        self.fail_establish = None
        self.calls = []

    def route(self, exchange, key, message):
        if exchange not in self.exchanges:
            raise FakeNotFound(exchange)
        kind = self.exchanges[exchange]
        for ex, queue, bkey in self.bindings:
            if ex == exchange and (kind == 'fanout' or bkey == key):
                self.queues[queue].append(message)


BROKER = FakeBroker()


class FakeSender:
    def __init__(self, address):
        self.address = address
        self.closed = False

    def send(self, message, sync=True):
        BROKER.sent.append((self.address, message))
        target = self.address.split(';')[0].strip()
        if '/' in target:
            exchange, _, key = target.partition('/')
            BROKER.route(exchange, key, message)
        else:
            if target not in BROKER.queues:
                raise FakeNotFound(target)
            BROKER.queues[target].append(message)

    def close(self):
        self.closed = True


class FakeReceiver:
    def __init__(self, session, source):
        self.session = session
        self.source = source
        self.capacity = None
        self.closed = False
        BROKER.consumers[source] = BROKER.consumers.get(source, 0) + 1

    def fetch(self, timeout=None):
        pending = BROKER.queues.get(self.source)
        if not pending:
            raise FakeEmpty()
        return pending.pop(0)

    def close(self):
        if not self.closed:
            self.closed = True
            BROKER.consumers[self.source] -= 1
            self.session.receivers.remove(self)


class FakeSession:
    def __init__(self):
        self.receivers = []
        self.notify = None
        self.async_handler = None
        self.waits = []

    def sender(self, address):
        return FakeSender(address)

    def receiver(self, source):
        if source not in BROKER.queues:
            raise FakeNotFound(source)
        receiver = FakeReceiver(self, source)
        self.receivers.append(receiver)
        return receiver

    def next_receiver(self, timeout=None):
        self.waits.append(timeout)
        for receiver in self.receivers:
            if BROKER.queues.get(receiver.source):
                return receiver
        raise FakeEmpty()

    def acknowledge(self, message=None, disposition=None, sync=True):
        if disposition is None:
            BROKER.acked.append(message)
        else:
            BROKER.dispositions.append((message, disposition))

    def set_message_received_notify_handler(self, handler):
        self.notify = handler

    def set_async_exception_notify_handler(self, handler):
        self.async_handler = handler

    def close(self):
        pass


class FakeQpidConnection:
    def __init__(self, **options):
        self.options = options
        self.closed = False
        self.async_handler = None

    @classmethod
    def establish(cls, **options):
        BROKER.establish_kwargs.append(options)
        if BROKER.fail_establish is not None:
            raise BROKER.fail_establish
        return cls(**options)

    def session(self):
        return FakeSession()

    def set_async_exception_notify_handler(self, handler):
        self.async_handler = handler

    def close(self):
        self.closed = True


class FakeBrokerObject:
    def __init__(self, values):
        self.values = values

    def purge(self, count):
        BROKER.calls.append(('purge', count))
        del BROKER.queues[self.values['name']][:count]


class FakeBrokerAgent:
    def __init__(self, connection):
        self.connection = connection
        self.closed = False

    def addExchange(self, exchange_type, name, options=None):
        BROKER.calls.append(('addExchange', exchange_type, name, options))
        if name in BROKER.exchanges:
            raise FakeSessionError(f'object already exists: {name}')
        BROKER.exchanges[name] = exchange_type

    def delExchange(self, name):
        BROKER.exchanges.pop(name, None)
        BROKER.bindings = [b for b in BROKER.bindings if b[0] != name]

    def addQueue(self, name, options=None):
        BROKER.calls.append(('addQueue', name, options))
        if name in BROKER.queues:
            raise FakeSessionError(f'object already exists: {name}')
        BROKER.queues[name] = []
        BROKER.queue_options[name] = options
        BROKER.bindings.append(('', name, name))

    def delQueue(self, name):
        BROKER.calls.append(('delQueue', name))
        BROKER.queues.pop(name)
        BROKER.bindings = [b for b in BROKER.bindings if b[1] != name]

    def bind(self, exchange, queue, key='', options=None):
        BROKER.bindings.append((exchange, queue, key))

    def unbind(self, exchange, queue, key, **kwargs):
        BROKER.bindings.remove((exchange, queue, key))

    def getQueue(self, name):
        if name not in BROKER.queues:
            return None
        return FakeBrokerObject({'name': name, 'msgDepth': len(BROKER.queues[name]),
                                 'consumerCount': BROKER.consumers.get(name, 0)})

    def getExchange(self, name):
        if name not in BROKER.exchanges:
            return None
        return FakeBrokerObject({'name': name, 'type': BROKER.exchanges[name]})

    def close(self):
        self.closed = True


def _fake_modules():
    exceptions = types.ModuleType('qpid.messaging.exceptions')
    names = {'MessagingError': FakeMessagingError, 'ConnectionError': FakeConnectionError,
             'AuthenticationFailure': FakeAuthenticationFailure,
             'SessionError': FakeSessionError, 'NotFound': FakeNotFound,
             'SessionClosed': FakeSessionClosed, 'Empty': FakeEmpty}
    messaging = types.ModuleType('qpid.messaging')
    for name, value in names.items():
        setattr(exceptions, name, value)
        setattr(messaging, name, value)
    messaging.exceptions = exceptions
    messaging.Message = FakeQpidMessage
    messaging.Connection = FakeQpidConnection
    messaging.Disposition = lambda outcome: ('disposition', outcome)
    messaging.RELEASED = 'released'
    messaging.REJECTED = 'rejected'
    qpid = types.ModuleType('qpid')
    qpid.messaging = messaging
    toollibs = types.ModuleType('qpidtoollibs')
    toollibs.BrokerAgent = FakeBrokerAgent
    return {'qpid': qpid, 'qpid.messaging': messaging,
            'qpid.messaging.exceptions': exceptions, 'qpidtoollibs': toollibs}


@pytest.fixture
def q(monkeypatch):
    """kombu.transport.qpid reloaded against the fakes (restored afterwards)."""
    global BROKER
    BROKER = FakeBroker()
    for name, module in _fake_modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    # Aliases resolved before the reload map to the classes built without the client.
    monkeypatch.setattr(kombu.transport, '_transport_cache', {})
    module = importlib.reload(qpid_module)
    yield module
    monkeypatch.undo()
    importlib.reload(qpid_module)


@pytest.fixture
def conn(q):
    connection = Connection('qpid://localhost//')
    yield connection
    connection.close()


@pytest.fixture
def channel(q, conn):
    return conn.default_channel


# -- without the client library ----------------------------------------------------------


class TestWithoutClient:

    def test_module_imports_and_exports(self):
        from kombu.transport.qpid import Channel, Connection, Message, QoS, Transport
        assert Transport.Connection is Connection
        assert Connection.Channel is Channel
        assert Channel.QoS is QoS
        assert Channel.Message is Message is virtual.Message

    def test_alias_resolves(self):
        assert resolve_transport('qpid') is qpid_module.Transport

    def test_transport_raises_runtime_error_naming_library(self):
        with pytest.raises(RuntimeError, match='qpid.messaging'):
            Connection('qpid://localhost//').connect()
        with pytest.raises(RuntimeError, match='qpid.messaging'):
            qpid_module.Transport(Connection('qpid://'))

    def test_documented_class_attributes(self):
        T = qpid_module.Transport
        assert T.driver_type == 'qpid'
        assert T.driver_name == 'qpid'
        assert T.polling_interval is None
        assert T.implements == {'asynchronous': True,
                                'exchange_type': frozenset({'direct', 'fanout', 'topic'}),
                                'heartbeats': False}
        assert T.implements.asynchronous is True
        assert T.connection_errors == (None, OSError)
        assert T.channel_errors == (None,)
        assert T.recoverable_connection_errors == (None, OSError)
        assert T.recoverable_channel_errors == (None,)
        assert T.default_connection_params.fget(None) == {'hostname': 'localhost',
                                                           'port': 5672}

    def test_channel_attributes(self):
        Ch = qpid_module.Channel
        assert Ch.body_encoding == 'base64'
        assert list(Ch.codecs) == ['base64']
        assert isinstance(Ch.codecs['base64'], virtual.Base64)
        assert issubclass(Ch, qpid_module.base.StdChannel)


# -- pure Python parts --------------------------------------------------------------------


class RecordingSession:
    def __init__(self):
        self.acks = []

    def acknowledge(self, **kwargs):
        self.acks.append(kwargs)


class TestQoS:

    def test_prefetch_count_hard_set_to_1(self):
        assert qpid_module.QoS(RecordingSession()).prefetch_count == 1
        assert qpid_module.QoS(RecordingSession(), prefetch_count=10).prefetch_count == 1
        assert qpid_module.QoS(RecordingSession(), prefetch_count=0).prefetch_count == 1

    def test_window(self):
        qos = qpid_module.QoS(RecordingSession())
        assert qos.can_consume() is True
        assert qos.can_consume_max_estimate() == 1
        qos.append('m1', 't1')
        assert qos.can_consume() is False
        assert qos.can_consume_max_estimate() == 0
        qos.append('m2', 't2')
        assert qos.can_consume_max_estimate() == 0

    def test_no_limit(self):
        qos = qpid_module.QoS(RecordingSession())
        qos.prefetch_count = 0
        for i in range(5):
            qos.append(i, i)
        assert qos.can_consume() is True
        assert qos.can_consume_max_estimate() == 1

    def test_append_get_ack(self):
        session = RecordingSession()
        qos = qpid_module.QoS(session)
        tag = uuid.uuid4()
        qos.append('m1', tag)
        assert qos.get(tag) == 'm1'
        qos.ack(tag)
        assert session.acks == [{'message': 'm1'}]
        with pytest.raises(KeyError):
            qos.get(tag)
        with pytest.raises(KeyError):
            qos.ack(tag)
        with pytest.raises(KeyError):
            qos.get('unknown')

    def test_keeps_delivery_order(self):
        qos = qpid_module.QoS(RecordingSession())
        for tag in 'cab':
            qos.append(tag.upper(), tag)
        assert list(qos._not_yet_acked) == ['c', 'a', 'b']

    def test_reject_unknown_tag(self):
        with pytest.raises(KeyError):
            qpid_module.QoS(RecordingSession()).reject('nope')


class TestChannelPure:

    @pytest.fixture
    def ch(self):
        return object.__new__(qpid_module.Channel)

    def test_prepare_message_defaults(self, ch):
        assert ch.prepare_message(b'body') == {
            'body': b'body', 'content-encoding': None, 'content-type': None,
            'headers': {}, 'properties': {'delivery_info': {'priority': 0}}}

    def test_prepare_message_all(self, ch):
        assert ch.prepare_message('body', 3, 'application/json', 'utf-8',
                                  {'h': 1}, {'p': 2}) == {
            'body': 'body', 'content-encoding': 'utf-8',
            'content-type': 'application/json', 'headers': {'h': 1},
            'properties': {'p': 2, 'delivery_info': {'priority': 3}}}

    def test_encode_body(self, ch):
        assert ch.encode_body(b'abc') == (b'abc', None)
        assert ch.encode_body(b'abc', 'base64') == ('YWJj', 'base64')
        assert ch.encode_body('abc', 'base64') == ('YWJj', 'base64')
        with pytest.raises(EncodeError, match='bogus'):
            ch.encode_body('abc', 'bogus')

    def test_decode_body(self, ch):
        assert ch.decode_body('YWJj') == 'YWJj'
        assert ch.decode_body('YWJj', 'base64') == b'abc'
        assert ch.decode_body(b'YWJj', 'base64') == b'abc'
        with pytest.raises(DecodeError, match='bogus'):
            ch.decode_body('abc', 'bogus')

    def test_basic_ack_multiple_not_supported(self, ch):
        with pytest.raises(AssertionError):
            ch.basic_ack(1, multiple=True)

    def test_queue_options(self):
        options = qpid_module._queue_options
        assert options('q', False, False, True, None) == {
            'durable': False, 'exclusive': False, 'auto-delete': True}
        assert options('q', True, True, False, None)['auto-delete'] is True
        assert options('q', True, False, False, {
            'x-max-length': 10, 'x-max-length-bytes': 100, 'x-max-priority': 9,
            'x-expires': 1500, 'other': 'x'}) == {
            'durable': True, 'exclusive': False, 'auto-delete': False,
            'qpid.max_count': 10, 'qpid.max_size': 100, 'qpid.priorities': 9,
            'qpid.auto_delete_timeout': 2, 'other': 'x'}
        assert options('celeryev.abc', False, False, True, None)['qpid.policy_type'] == 'ring'
        assert options('x.pidbox', False, False, True, None)['qpid.policy_type'] == 'ring'
        assert 'qpid.policy_type' not in options('celery', False, False, True, None)

    def test_ssl_options(self):
        assert qpid_module._ssl_options({
            'keyfile': 'k', 'certfile': 'c', 'ca_certs': 'ca',
            'cert_reqs': ssl.CERT_REQUIRED}) == {
            'ssl_keyfile': 'k', 'ssl_certfile': 'c', 'ssl_trustfile': 'ca',
            'ssl_skip_hostname_check': False}
        assert qpid_module._ssl_options({'cert_reqs': ssl.CERT_NONE}) == {
            'ssl_skip_hostname_check': True}
        assert qpid_module._ssl_options({}) == {}


# -- against the fake client ---------------------------------------------------------------


class TestTransportWithFakes:

    def test_errors_are_the_client_classes(self, q):
        assert q.Transport.connection_errors == (FakeConnectionError, OSError)
        assert q.Transport.channel_errors == (FakeNotFound,)
        assert q.Transport.recoverable_connection_errors == (FakeConnectionError, OSError)

    def test_missing_qpidtoollibs(self, q, monkeypatch):
        monkeypatch.setattr(q, '_qpidtoollibs', None)
        with pytest.raises(RuntimeError, match='qpidtoollibs'):
            q.Transport(Connection('qpid://'))

    @pytest.mark.parametrize('url,kwargs,expected', [
        ('qpid://localhost//', {},
         {'host': 'localhost', 'port': 5672, 'transport': 'tcp', 'timeout': 5,
          'sasl_mechanisms': 'ANONYMOUS'}),
        ('qpid://user:pw@broker:5673//', {},
         {'host': 'broker', 'port': 5673, 'transport': 'tcp', 'sasl_mechanisms': 'PLAIN',
          'timeout': 5,
          'username': 'user', 'password': 'pw'}),
        ('qpid://asdf@example.com:5671/', {'ssl': True},
         {'host': 'example.com', 'port': 5671, 'transport': 'ssl', 'timeout': 5,
          'sasl_mechanisms': 'EXTERNAL', 'username': 'asdf'}),
        ('qpid://u:p@h//', {'login_method': 'DIGEST-MD5 PLAIN', 'connect_timeout': 3,
                            'transport_options': {'reconnect': True, 'port': 9}},
         {'host': 'h', 'port': 9, 'transport': 'tcp', 'timeout': 3,
          'sasl_mechanisms': 'DIGEST-MD5 PLAIN', 'username': 'u', 'password': 'p',
          'reconnect': True}),
    ])
    def test_connection_options(self, q, url, kwargs, expected):
        with Connection(url, **kwargs) as connection:
            connection.connect()
            assert BROKER.establish_kwargs[-1] == expected
            assert isinstance(connection.connection, q.Connection)
            assert connection.connection.client is connection

    def test_ssl_dict(self, q):
        ssl_conf = {'keyfile': 'k', 'certfile': 'c', 'ca_certs': 'ca'}
        with Connection('qpid://h//', ssl=ssl_conf) as connection:
            connection.connect()
            assert BROKER.establish_kwargs[-1]['ssl_trustfile'] == 'ca'
            assert BROKER.establish_kwargs[-1]['transport'] == 'ssl'

    def test_authentication_failure_is_not_recoverable(self, q):
        BROKER.fail_establish = FakeConnectionError('Authentication failed: bad user')
        with pytest.raises(FakeAuthenticationFailure, match='Authentication failed'):
            q.Connection(host='h', sasl_mechanisms='PLAIN')
        BROKER.fail_establish = FakeConnectionError('connection refused')
        with pytest.raises(FakeConnectionError) as excinfo:
            q.Connection(host='h', sasl_mechanisms='PLAIN')
        assert type(excinfo.value) is FakeConnectionError

    def test_connection_object(self, q):
        connection = q.Connection(host='h', port=1, sasl_mechanisms='ANONYMOUS',
                                  username=None)
        assert connection.connection_options == {
            'host': 'h', 'port': 1, 'sasl_mechanisms': 'ANONYMOUS', 'username': None}
        assert BROKER.establish_kwargs[-1] == {'host': 'h', 'port': 1,
                                               'sasl_mechanisms': 'ANONYMOUS'}
        qpid_conn = connection.get_qpid_connection()
        assert isinstance(qpid_conn, FakeQpidConnection)
        assert connection.channels == []
        assert connection._callbacks == {}
        connection.close()
        connection.close()
        assert qpid_conn.closed

    def test_channels_and_close(self, q, conn):
        transport = conn.transport
        connection = conn.connection
        ch = transport.create_channel(connection)
        assert isinstance(ch, q.Channel)
        assert ch in connection.channels
        assert ch.transport is transport
        connection.close_channel(ch)
        assert ch not in connection.channels
        assert ch.connection is None
        ch2 = transport.create_channel(connection)
        transport.close_connection(connection)
        transport.close_connection(connection)
        assert ch2.closed
        assert connection.channels == []

    def test_handlers_wake_the_pipe(self, q, conn):
        transport = conn.transport
        conn.connect()
        session = transport.session
        assert session.notify == transport._qpid_message_ready_handler
        assert session.async_handler == transport._qpid_async_exception_notify_handler
        session.notify(session)
        assert os.read(transport.r, 10) == b'0'
        transport._qpid_async_exception_notify_handler(session, Exception('x'))
        assert os.read(transport.r, 10) == b'e'
        with pytest.raises(BlockingIOError):
            os.read(transport.r, 1)

    def test_register_with_event_loop_and_on_readable(self, q, conn, channel):
        transport = conn.transport

        class Loop:
            readers = {}

            def add_reader(self, fd, callback, *args):
                self.readers[fd] = (callback, args)

        loop = Loop()
        transport.register_with_event_loop(conn.connection, loop)
        callback, args = loop.readers[transport.r]
        assert callback == transport.on_readable
        assert args == (conn.connection, loop)
        name = f'qpid-ev-{uuid.uuid4().hex}'
        got = []
        queue = Queue(name, Exchange(name, 'direct'), name)
        with Consumer(channel, [queue], callbacks=[lambda b, m: got.append(b)]):
            Producer(channel).publish('hi', exchange=queue.exchange, routing_key=name)
            transport.session.notify(transport.session)
            callback(*args)
            assert got == ['hi']
            callback(*args)   # nothing left to read or deliver: no error
            assert got == ['hi']

    def test_drain_events_timeout(self, q, conn):
        conn.connect()
        with pytest.raises(socket.timeout):
            conn.transport.drain_events(conn.connection)
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=0.01)
        assert conn.transport.session.waits[-1] <= 0.01


class TestChannelWithFakes:

    def name(self):
        return f'qpid-{uuid.uuid4().hex}'

    def test_qos_property(self, q, channel):
        qos = channel.qos
        assert isinstance(qos, q.QoS)
        assert channel.qos is qos
        assert qos.session is channel.transport.session
        channel.basic_qos(10)
        assert qos.prefetch_count == 1

    def test_exchange_declare_delete_typeof(self, q, channel):
        name = self.name()
        channel.exchange_declare(name, 'topic', durable=True)
        assert BROKER.calls[-1] == ('addExchange', 'topic', name, {'durable': True})
        channel.exchange_declare(name, 'topic')   # exists: no error
        assert channel.typeof(name) == 'topic'
        channel.exchange_delete(name)
        assert channel.typeof(name) == 'direct'
        assert channel.typeof(name, default='fanout') == 'fanout'

    def test_exchange_declare_other_errors_propagate(self, q, channel, monkeypatch):
        def boom(*args):
            raise FakeSessionError('permission denied')
        monkeypatch.setattr(channel._broker, 'addExchange', boom)
        with pytest.raises(FakeSessionError):
            channel.exchange_declare(self.name())

    def test_queue_declare(self, q, channel):
        name = self.name()
        ok = channel.queue_declare(name)
        assert ok == (name, 0, 0)
        assert (ok.queue, ok.message_count, ok.consumer_count) == (name, 0, 0)
        assert BROKER.queue_options[name] == {'durable': False, 'exclusive': False,
                                              'auto-delete': True}
        BROKER.queues[name].append(FakeQpidMessage())
        assert channel.queue_declare(name, durable=True) == (name, 1, 0)
        assert channel.queue_declare(name, passive=True) == (name, 1, 0)
        with pytest.raises(FakeNotFound):
            channel.queue_declare(self.name(), passive=True)
        channel.queue_delete(name)

    def test_queue_declare_via_entity(self, q, channel):
        name = self.name()
        Queue(name, durable=True, auto_delete=False, max_length=5,
              expires=10.0)(channel).declare()
        assert BROKER.queue_options[name] == {
            'durable': True, 'exclusive': False, 'auto-delete': False,
            'qpid.max_count': 5, 'qpid.auto_delete_timeout': 10}
        channel.queue_delete(name)

    def test_bind_unbind_purge_delete(self, q, channel):
        name = self.name()
        channel.exchange_declare(name, 'direct')
        channel.queue_declare(name)
        channel.queue_bind(name, name, 'rk')
        assert (name, name, 'rk') in BROKER.bindings
        for _ in range(3):
            channel.basic_publish(channel.prepare_message(b'x'), name, 'rk')
        assert channel._size(name) == 3
        assert channel._has_queue(name) is True
        assert channel._has_queue(self.name()) is False
        assert channel.queue_purge(name) == 3
        assert channel.queue_purge(name) == 0
        assert ('purge', 3) in BROKER.calls
        with pytest.raises(FakeNotFound):
            channel.queue_purge(self.name())
        channel.queue_unbind(name, name, 'rk')
        assert (name, name, 'rk') not in BROKER.bindings
        channel.basic_publish(channel.prepare_message(b'x'), '', name)
        assert channel.queue_delete(name, if_empty=True) == 0
        assert name in BROKER.queues
        channel.basic_consume(name, False, lambda m: None, 'ctag')
        assert channel.queue_delete(name, if_unused=True) == 0
        assert name in BROKER.queues
        assert channel.queue_delete(name) == 1
        assert name not in BROKER.queues
        assert 'ctag' not in channel._receivers
        assert channel.queue_delete(name) == 0

    def test_basic_publish(self, q, channel):
        name = self.name()
        channel.exchange_declare(name, 'direct')
        channel.queue_declare(name)
        channel.queue_bind(name, name, 'rk')
        message = channel.prepare_message(b'hello', 4, 'text/plain',
                                          properties={'delivery_mode': 2})
        channel.basic_publish(message, name, 'rk')
        address, sent = BROKER.sent[-1]
        assert address == f'{name}/rk; {{assert: always, node: {{type: topic}}}}'
        assert sent.subject == 'rk'
        assert sent.durable is True
        content = sent.content
        assert content['body'] == b'aGVsbG8='
        props = content['properties']
        assert props['body_encoding'] == 'base64'
        assert props['delivery_info'] == {'priority': 4, 'exchange': name, 'routing_key': 'rk'}
        assert isinstance(props['delivery_tag'], uuid.UUID)
        channel.basic_publish(channel.prepare_message(b'x'), '', name)
        assert BROKER.sent[-1][0] == f'{name}; {{assert: always, node: {{type: queue}}}}'
        assert channel._size(name) == 2
        channel.queue_delete(name)

    def test_basic_get(self, q, channel):
        name = self.name()
        channel.queue_declare(name)
        assert channel.basic_get(name) is None
        channel.basic_publish(channel.prepare_message(b'hello', content_type='text/plain',
                                                      headers={'h': 1}), '', name)
        message = channel.basic_get(name, no_ack=False)
        assert isinstance(message, virtual.Message)
        assert message.body == b'hello'
        assert message.headers == {'h': 1}
        assert message.content_type == 'text/plain'
        assert message.delivery_info['routing_key'] == name
        assert isinstance(message.delivery_tag, uuid.UUID)
        assert len(BROKER.acked) == 1            # acked even without no_ack
        assert channel.qos._not_yet_acked == {}
        message.ack()                            # already acked on receipt: no-op
        assert len(BROKER.acked) == 1
        channel.basic_reject(message.delivery_tag, requeue=True)
        assert BROKER.dispositions == []
        assert channel.basic_get(name) is None
        channel.queue_delete(name)

    def test_consume_ack_reject(self, q, conn, channel):
        name = self.name()
        channel.queue_declare(name)
        got = []
        assert channel.basic_consume(name, False, got.append, 'tag1') == 'tag1'
        receiver = channel._receivers['tag1']
        assert receiver.capacity == 1
        assert channel._tag_to_queue == {'tag1': name}
        assert name in conn.connection._callbacks
        for body in (b'a', b'b', b'c'):
            channel.basic_publish(channel.prepare_message(body), '', name)
        conn.drain_events(timeout=0)
        assert [m.body for m in got] == [b'a', b'b', b'c']
        assert all(isinstance(m, virtual.Message) for m in got)
        assert list(channel.qos._not_yet_acked) == [m.delivery_tag for m in got]
        got[0].ack()
        assert len(BROKER.acked) == 1
        got[1].reject()
        assert BROKER.dispositions[-1][1] == ('disposition', 'rejected')
        got[2].requeue()
        assert BROKER.dispositions[-1][1] == ('disposition', 'released')
        assert channel.qos._not_yet_acked == {}
        channel.basic_cancel('tag1')
        assert receiver.closed
        assert channel._receivers == {}
        assert name not in conn.connection._callbacks
        channel.basic_cancel('tag1')     # unknown tag: no error
        channel.queue_delete(name)

    def test_consume_no_ack(self, q, conn, channel):
        name = self.name()
        channel.queue_declare(name)
        got = []
        channel.basic_consume(name, True, got.append, 'tag')
        channel.basic_publish(channel.prepare_message(b'a'), '', name)
        conn.drain_events(timeout=0)
        assert [m.body for m in got] == [b'a']
        assert len(BROKER.acked) == 1
        assert channel.qos._not_yet_acked == {}
        channel.close()

    def test_close(self, q, conn):
        channel = conn.channel()
        name = self.name()
        channel.queue_declare(name)
        channel.basic_consume(name, False, lambda m: None, 't1')
        channel.basic_consume(name, False, lambda m: None, 't2')
        receivers = list(channel._receivers.values())
        broker = channel._broker
        connection = conn.connection
        channel.close()
        assert channel.closed
        assert all(r.closed for r in receivers)
        assert broker.closed
        assert channel not in connection.channels
        assert name not in connection._callbacks
        channel.close()


class TestKombuApiWithFakes:

    def test_publish_consume_fanout(self, q, conn):
        name = f'qpid-{uuid.uuid4().hex}'
        exchange = Exchange(name, 'fanout')
        queues = [Queue(f'{name}-{i}', exchange) for i in range(2)]
        got = []
        with conn.Consumer(queues, callbacks=[lambda body, m: (got.append(body), m.ack())]):
            conn.Producer().publish({'n': 1}, exchange=exchange, serializer='json')
            conn.drain_events(timeout=1)
        assert got == [{'n': 1}, {'n': 1}]
        assert conn.default_channel.qos._not_yet_acked == {}

    def test_simple_queue(self, q, conn):
        name = f'qpid-{uuid.uuid4().hex}'
        with conn.SimpleQueue(name) as queue:
            queue.put({'hello': 'world'})
            message = queue.get(block=False)
            assert message.payload == {'hello': 'world'}
            message.ack()
