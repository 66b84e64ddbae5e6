"""slmq:// (SoftLayer Message Queue) through a real kombu Connection.

The SoftLayer Message Queue service no longer exists and no server can be
installed, so these tests replace the ``softlayer_messaging`` client with an
in-test fake (:class:`FakeSLMQ`) that follows the client's API
(``get_client(account, endpoint=...)``, ``authenticate(user, api_key)``,
``create_queue(name, **props)``, ``queue(name)`` with ``push``/``pop``/
``detail``/``delete``/``message(id).delete()``, ``ResponseError`` with a
``"<status>: <message>"`` text) and the service's visibility interval: a popped
message is hidden until it is deleted or its queue's ``visibility_interval``
(seconds, on a fake clock) has passed.
"""
from __future__ import annotations

import inspect
import itertools
import socket
import sys
import uuid

import pytest
from amqp.exceptions import ChannelError, ConnectionError

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.transport import SLMQ, resolve_transport

DOCUMENTED_TABLE = {
    33: 95, 34: 95, 35: 95, 36: 95, 37: 95, 38: 95, 39: 95, 40: 95, 41: 95, 42: 95,
    43: 95, 44: 95, 45: 95, 46: 95, 47: 95, 58: 95, 59: 95, 60: 95, 61: 95, 62: 95,
    63: 95, 64: 95, 91: 95, 92: 95, 93: 95, 94: 95, 96: 95, 123: 95, 124: 95,
    125: 95, 126: 95,
}


class FakeResponseError(Exception):
    """Like softlayer_messaging.ResponseError: ``"<status>: <message>"``."""


class FakeMessage:
    def __init__(self, queue: FakeQueue, message_id: str) -> None:
        self.queue, self.id = queue, message_id

    def delete(self) -> bool:
        service = self.queue.service
        service.calls.append(('message.delete', self.queue.name, self.id))
        store = service.store(self.queue.name)
        if self.id not in store['messages']:
            raise FakeResponseError('404: Message not found')
        del store['messages'][self.id]
        return True


class FakeQueue:
    def __init__(self, service: FakeSLMQ, name: str) -> None:
        self.service, self.name = service, name

    def message(self, message_id: str) -> FakeMessage:
        return FakeMessage(self, message_id)

    def detail(self) -> dict:
        store = self.service.store(self.name)
        visible = len(self.service.visible(self.name))
        return {'name': self.name, 'message_count': len(store['messages']),
                'visible_message_count': visible,
                'visibility_interval': store['visibility_interval'],
                'expiration': 604800, 'tags': []}

    def push(self, body: str, **kwargs) -> dict:
        assert isinstance(body, str)
        service = self.service
        service.calls.append(('push', self.name))
        message_id = f'm{next(service.ids)}'
        service.store(self.name)['messages'][message_id] = {'body': body, 'hidden_until': 0}
        return {'id': message_id, 'body': body}

    def pop(self, count: int = 1) -> dict:
        service = self.service
        service.calls.append(('pop', self.name, count))
        store = service.store(self.name)
        items = []
        for message_id in service.visible(self.name)[:count]:
            message = store['messages'][message_id]
            message['hidden_until'] = service.now + store['visibility_interval']
            items.append({'id': message_id, 'body': message['body'], 'fields': {},
                          'initial_entry_time': 0, 'visibility_delay': 0,
                          'visibility_interval': store['visibility_interval']})
        return {'item_count': len(items), 'items': items}

    def delete(self, force: bool = False) -> bool:
        self.service.calls.append(('queue.delete', self.name, force))
        self.service.store(self.name)
        del self.service.queues[self.name]
        return True


class FakeClient:
    def __init__(self, service: FakeSLMQ, account: str, endpoint: str | None) -> None:
        self.service, self.account, self.endpoint = service, account, endpoint
        self.auth: tuple | None = None

    def authenticate(self, username: str, api_key: str) -> None:
        self.auth = (username, api_key)

    def create_queue(self, name: str, **kwargs) -> dict:
        self.service.calls.append(('create_queue', name, kwargs))
        queue = self.service.queues.setdefault(name, {'messages': {}})
        queue['visibility_interval'] = kwargs.get('visibility_interval', 30)
        return {'name': name, **kwargs}

    def queue(self, name: str) -> FakeQueue:
        return FakeQueue(self.service, name)


class FakeSLMQ:
    """The ``softlayer_messaging`` module and the service behind it."""

    ResponseError = FakeResponseError
    __version__ = '1.0.3'

    def __init__(self) -> None:
        self.queues: dict[str, dict] = {}
        self.clients: list[FakeClient] = []
        self.calls: list[tuple] = []
        self.ids = itertools.count(1)
        self.now = 0.0

    def get_client(self, account: str, endpoint: str | None = None) -> FakeClient:
        client = FakeClient(self, account, endpoint)
        self.clients.append(client)
        return client

    def store(self, name: str) -> dict:
        try:
            return self.queues[name]
        except KeyError:
            raise FakeResponseError('404: Queue not found') from None

    def visible(self, name: str) -> list[str]:
        return [i for i, m in self.store(name)['messages'].items()
                if m['hidden_until'] <= self.now]


@pytest.fixture
def fake(monkeypatch):
    service = FakeSLMQ()
    monkeypatch.setattr(SLMQ, 'softlayer_messaging', service)
    monkeypatch.setattr(SLMQ, 'ResponseError', FakeResponseError)
    for name in ('SL_USERNAME', 'SL_API_KEY', 'SLMQ_ACCOUNT', 'SLMQ_HOST', 'SLMQ_PORT'):
        monkeypatch.delenv(name, raising=False)
    return service


@pytest.fixture
def conn(fake):
    with Connection('slmq://user:key@mq.example.com/acct') as connection:
        yield connection


@pytest.fixture
def name():
    return f'slmq-test.{uuid.uuid4().hex[:8]}'


def _queue(name: str) -> Queue:
    return Queue(name, Exchange(name, 'direct'), routing_key=name)


def _publish(conn: Connection, queue: Queue, *payloads) -> None:
    producer = Producer(conn.default_channel)
    for payload in payloads:
        producer.publish(payload, exchange=queue.exchange, routing_key=queue.routing_key,
                         declare=[queue])


# -- documented attributes --------------------------------------------------------

@pytest.mark.parametrize('alias', ['SLMQ', 'slmq'])
def test_aliases_resolve_to_the_transport(alias):
    assert resolve_transport(alias) is SLMQ.Transport


def test_documented_transport_attributes():
    transport = SLMQ.Transport
    assert transport.Channel is SLMQ.Channel
    assert transport.default_port is None
    assert transport.polling_interval == 1
    assert transport.connection_errors[0] is ConnectionError
    assert transport.connection_errors[-1] is OSError
    assert socket.error in transport.connection_errors
    assert None not in transport.connection_errors
    assert ChannelError in transport.channel_errors


def test_client_errors_are_connection_errors_when_the_library_is_installed():
    sl = pytest.importorskip('softlayer_messaging')
    assert sl.ResponseError in SLMQ.Transport.connection_errors


def test_documented_channel_attributes():
    channel = SLMQ.Channel
    assert channel.default_visibility_timeout == 1800
    assert channel.domain_format == 'kombu%(vhost)s'
    for prop in ('conninfo', 'slmq', 'transport_options'):
        assert isinstance(inspect.getattr_static(channel, prop), property)
    for attr in ('basic_ack', 'basic_cancel', 'basic_consume', 'delete_message',
                 'entity_name', 'queue_name_prefix', 'visibility_timeout'):
        assert hasattr(channel, attr)


def test_entity_name_table_is_the_documented_one():
    assert SLMQ.CHARS_REPLACE_TABLE == DOCUMENTED_TABLE
    assert SLMQ.Channel.entity_name.__defaults__ == (DOCUMENTED_TABLE,)


@pytest.mark.parametrize('given,expected', [
    ('abc', 'abc'),
    ('a.b-c:d_e', 'a_b_c_d_e'),
    ('celery@host.pidbox', 'celery_host_pidbox'),
    ('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~', '_' * 32),
    ('with space', 'with space'),
    (b'by.tes', 'by_tes'),
])
def test_entity_name(given, expected):
    assert SLMQ.Channel.entity_name(None, given) == expected


def test_channel_properties(fake):
    with Connection('slmq://u:k@h/acct',
                    transport_options={'queue_name_prefix': 'pfx-'}) as connection:
        channel = connection.channel()
        assert channel.conninfo is connection
        assert channel.transport_options == {'queue_name_prefix': 'pfx-'}
        assert channel.queue_name_prefix == 'pfx-'
        assert channel.visibility_timeout == 1800
    with Connection('slmq://u:k@h/acct') as connection:
        assert connection.channel().queue_name_prefix == ''


@pytest.mark.parametrize('value,expected', [(None, 1800), (0, 1800), (10, 10), ('60', 60)])
def test_visibility_timeout_option(fake, value, expected):
    options = {} if value is None else {'visibility_timeout': value}
    with Connection('slmq://u:k@h/acct', transport_options=options) as connection:
        assert connection.channel().visibility_timeout == expected


@pytest.mark.parametrize('value', [-5, 'soon'])
def test_bad_visibility_timeout_is_a_clear_error(fake, value):
    with Connection('slmq://u:k@h/acct',
                    transport_options={'visibility_timeout': value}) as connection:
        with pytest.raises(ValueError, match='visibility_timeout'):
            connection.channel().visibility_timeout  # noqa: B018


# -- the client ----------------------------------------------------------------------

def test_url_gives_account_endpoint_and_credentials(fake):
    with Connection('slmq://user:key@mq.example.com:8443/acct') as connection:
        client = connection.default_channel.slmq
        assert connection.default_channel.slmq is client  # created once
    assert (client.account, client.endpoint, client.auth) == (
        'acct', 'https://mq.example.com:8443', ('user', 'key'))


def test_secure_false_uses_http(fake):
    with Connection('slmq://user:key@mq.example.com/acct',
                    transport_options={'secure': False}) as connection:
        assert connection.default_channel.slmq.endpoint == 'http://mq.example.com'


def test_environment_fills_in_what_the_url_leaves_out(fake, monkeypatch):
    monkeypatch.setenv('SL_USERNAME', 'envuser')
    monkeypatch.setenv('SL_API_KEY', 'envkey')
    monkeypatch.setenv('SLMQ_ACCOUNT', 'envacct')
    monkeypatch.setenv('SLMQ_HOST', 'env.example.com')
    monkeypatch.setenv('SLMQ_PORT', '99')
    with Connection('slmq://') as connection:
        client = connection.default_channel.slmq
    assert (client.account, client.endpoint, client.auth) == (
        'envacct', 'https://env.example.com:99', ('envuser', 'envkey'))
    with Connection('slmq://user:key@mq.example.com/acct') as connection:
        client = connection.default_channel.slmq
    assert (client.account, client.endpoint, client.auth) == (
        'acct', 'https://mq.example.com', ('user', 'key'))


def test_no_host_uses_the_clients_default_endpoint(fake, monkeypatch):
    monkeypatch.setenv('SLMQ_ACCOUNT', 'acct')
    with Connection(transport='slmq', userid='u', password='k') as connection:
        connection.hostname = None
        assert connection.default_channel.slmq.endpoint is None


def test_no_account_is_a_clear_error(fake):
    with Connection('slmq://user:key@mq.example.com/') as connection:
        with pytest.raises(ValueError, match='account'):
            connection.default_channel.slmq  # noqa: B018


def test_missing_library_raises_import_error_naming_it(monkeypatch):
    monkeypatch.setattr(SLMQ, 'softlayer_messaging', None)
    monkeypatch.setitem(sys.modules, 'softlayer_messaging', None)
    connection = Connection('slmq://user:key@mq.example.com/acct')
    assert connection.as_uri() == 'slmq://user:**@mq.example.com/acct'
    with pytest.raises(ImportError,
                       match='SLMQ transport requires the softlayer_messaging library') as info:
        connection.channel()
    assert 'kombu[slmq]' in str(info.value)
    with pytest.raises(ImportError, match='softlayer_messaging'):
        Connection('slmq://user:key@mq.example.com/acct').connect()
    with pytest.raises(ImportError, match='softlayer_messaging'):
        SLMQ.Transport(Connection('slmq://user:key@h/acct')).establish_connection()


# -- queues -----------------------------------------------------------------------

def test_declare_creates_the_queue_with_the_visibility_interval(fake, name):
    with Connection('slmq://u:k@h/acct', transport_options={
            'visibility_timeout': 120, 'queue_name_prefix': 'pfx.'}) as connection:
        channel = connection.channel()
        _queue(name)(channel).declare()
        slmq_name = 'pfx_' + name.replace('-', '_').replace('.', '_')
        assert ('create_queue', slmq_name, {'visibility_interval': 120}) in fake.calls
        assert fake.queues[slmq_name]['visibility_interval'] == 120
        # created once per channel
        _queue(name)(channel).declare()
        assert [c[0] for c in fake.calls].count('create_queue') == 1


def test_default_visibility_interval_is_1800(fake, conn, name):
    _queue(name)(conn.default_channel).declare()
    assert fake.queues[SLMQ.Channel.entity_name(None, name)]['visibility_interval'] == 1800


def test_passive_declare_of_a_missing_queue_is_a_channel_error(conn, name):
    with pytest.raises(ChannelError):
        conn.default_channel.queue_declare(name, passive=True)
    _queue(name)(conn.default_channel).declare()
    assert conn.default_channel.queue_declare(name, passive=True).queue == name


def test_size_purge_delete(fake, conn, name):
    queue = _queue(name)
    _publish(conn, queue, *range(25))
    bound = queue(conn.default_channel)
    assert bound.queue_declare().message_count == 25
    assert conn.default_channel._size(name) == 25
    taken = bound.get()                      # in flight: not counted, not purged
    assert conn.default_channel._size(name) == 24
    assert bound.purge() == 24
    assert conn.default_channel._size(name) == 0
    taken.ack()
    slmq_name = SLMQ.Channel.entity_name(None, name)
    assert fake.queues[slmq_name]['messages'] == {}
    _publish(conn, queue, 'x')
    bound.delete()
    assert slmq_name not in fake.queues
    assert ('queue.delete', slmq_name, True) in fake.calls
    conn.default_channel._delete(name)       # already gone: fine
    # declared again: created again
    bound.declare()
    assert slmq_name in fake.queues
    _publish(conn, queue, 'y')
    assert bound.get().payload == 'y'


# -- messages ---------------------------------------------------------------------

def test_publish_get_ack(fake, conn, name):
    queue = _queue(name)
    _publish(conn, queue, {'hello': 'world'})
    slmq_name = SLMQ.Channel.entity_name(None, name)
    (body,) = [m['body'] for m in fake.queues[slmq_name]['messages'].values()]
    assert '"properties"' in body                       # the kombu message dict, as JSON
    message = queue(conn.default_channel).get()
    assert message.payload == {'hello': 'world'}
    assert message.delivery_info['slmq_queue_name'] == slmq_name
    message_id = message.delivery_info['slmq_message_id']
    assert message.delivery_info['redelivered'] is False
    assert queue(conn.default_channel).get() is None     # hidden while unacked
    message.ack()
    assert ('message.delete', slmq_name, message_id) in fake.calls
    assert fake.queues[slmq_name]['messages'] == {}


def test_pop_takes_one_message(fake, conn, name):
    queue = _queue(name)
    _publish(conn, queue, 1, 2)
    queue(conn.default_channel).get().ack()
    assert [c for c in fake.calls if c[0] == 'pop'] == [
        ('pop', SLMQ.Channel.entity_name(None, name), 1)]


def test_reject_deletes(fake, conn, name):
    queue = _queue(name)
    _publish(conn, queue, 'bad')
    message = queue(conn.default_channel).get()
    message.reject()
    assert fake.queues[SLMQ.Channel.entity_name(None, name)]['messages'] == {}
    fake.now += 10_000
    assert queue(conn.default_channel).get() is None


def test_requeue_pushes_a_copy_and_deletes_the_original(fake, conn, name):
    queue = _queue(name)
    _publish(conn, queue, 'again')
    message = queue(conn.default_channel).get()
    first_id = message.delivery_info['slmq_message_id']
    message.requeue()
    again = queue(conn.default_channel).get()            # at once, no timeout to wait
    assert again.payload == 'again'
    assert again.delivery_info['redelivered'] is True
    assert again.delivery_info['slmq_message_id'] != first_id
    again.ack()
    fake.now += 10_000
    assert queue(conn.default_channel).get() is None     # the original is gone too


def test_unacked_message_reappears_after_the_visibility_timeout(fake, name):
    with Connection('slmq://u:k@h/acct',
                    transport_options={'visibility_timeout': 60}) as connection:
        queue = _queue(name)
        _publish(connection, queue, 'keep me')
        assert queue(connection.default_channel).get().payload == 'keep me'
        # the consumer "dies" without acking: the message is not lost
        fake.now += 30
        assert queue(connection.default_channel).get() is None
        fake.now += 31
        message = queue(connection.default_channel).get()
        assert message.payload == 'keep me'
        message.ack()


def test_get_no_ack_deletes_on_receipt(fake, conn, name):
    queue = _queue(name)
    _publish(conn, queue, 'once')
    assert queue(conn.default_channel).get(no_ack=True).payload == 'once'
    assert fake.queues[SLMQ.Channel.entity_name(None, name)]['messages'] == {}


def test_consume_ack_and_no_ack(fake, conn, name):
    queue = _queue(name)
    _publish(conn, queue, 'a', 'b')
    received = []

    def on_message(body, message):
        received.append(body)
        message.ack()

    with Consumer(conn.default_channel, [queue], callbacks=[on_message]):
        conn.drain_events(timeout=1)
        conn.drain_events(timeout=1)
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=0.05)
    assert received == ['a', 'b']
    slmq_name = SLMQ.Channel.entity_name(None, name)
    assert fake.queues[slmq_name]['messages'] == {}

    _publish(conn, queue, 'c')
    got = []
    with Consumer(conn.default_channel, [queue], no_ack=True,
                  callbacks=[lambda body, message: got.append(body)]):
        conn.drain_events(timeout=1)
    assert got == ['c']
    assert fake.queues[slmq_name]['messages'] == {}


def test_close_restores_unacked_messages(fake, name):
    queue = _queue(name)
    with Connection('slmq://u:k@h/acct') as connection:
        _publish(connection, queue, 'pending')
        channel = connection.channel()
        message = queue(channel).get()
        original = message.delivery_info['slmq_message_id']
        channel.close()
        again = queue(connection.default_channel).get()
        assert again.payload == 'pending'
        assert again.delivery_info['redelivered'] is True
        assert again.delivery_info['slmq_message_id'] != original
        again.ack()
    fake.now += 10_000
    assert fake.queues[SLMQ.Channel.entity_name(None, name)]['messages'] == {}


def test_ack_of_a_message_already_gone_is_ignored(fake, conn, name):
    queue = _queue(name)
    _publish(conn, queue, 'x')
    message = queue(conn.default_channel).get()
    fake.queues[SLMQ.Channel.entity_name(None, name)]['messages'].clear()
    message.ack()
    with pytest.raises(FakeResponseError):
        conn.default_channel.delete_message(name, message.delivery_info['slmq_message_id'])


def test_delete_message(fake, conn, name):
    queue = _queue(name)
    _publish(conn, queue, 'x')
    slmq_name = SLMQ.Channel.entity_name(None, name)
    (message_id,) = fake.queues[slmq_name]['messages']
    assert conn.default_channel.delete_message(name, message_id) is True
    assert fake.queues[slmq_name]['messages'] == {}


def test_foreign_body_is_delivered_as_is(fake, conn, name):
    queue = _queue(name)
    queue(conn.default_channel).declare()
    slmq = conn.default_channel.slmq
    slmq.queue(SLMQ.Channel.entity_name(None, name)).push('not kombu')
    message = queue(conn.default_channel).get()
    assert message.body == b'not kombu'
    message.ack()

