"""azureservicebus:// with a fake Service Bus at the SDK boundary.

Azure Service Bus cannot run here: its only emulator needs Docker (and a SQL
Server container), so there is no real server for integration tests.  These
tests replace the azure-servicebus SDK's clients (``ServiceBusClient`` and
``ServiceBusAdministrationClient``, made with ``from_connection_string``)
by an in-memory fake that keeps queues, receive modes and peek-locks the way
the service does, and check what the transport asks of the SDK: connection
strings, queue names and lock durations, receive modes and wait times,
complete/abandon settlement, purge/size/delete, options and their
defaults, error classes and bad input.  The real SDK types
(``ServiceBusMessage``, ``ServiceBusReceiveMode``, exceptions) are used.
"""
from __future__ import annotations

import json
import socket
import sys
from collections import deque
from types import SimpleNamespace

import pytest

pytest.importorskip('azure.servicebus')

from azure.core import exceptions as azexc  # noqa: E402
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError  # noqa: E402
from azure.servicebus import ServiceBusReceiveMode  # noqa: E402
from azure.servicebus import exceptions as sbexc  # noqa: E402

from kombu import Connection, Consumer, Exchange, Producer, Queue  # noqa: E402
from kombu.transport import azureservicebus as asb  # noqa: E402
from kombu.transport import resolve_transport  # noqa: E402

URL = 'azureservicebus://policy:s3cr%2Fet@mynamespace'


class FakeReceived:
    """What ``receive_messages`` returns (a ServiceBusReceivedMessage stand-in)."""

    def __init__(self, text: str, seq: int, delivery_count: int = 0) -> None:
        self.text, self.sequence_number, self.delivery_count = text, seq, delivery_count

    @property
    def body(self):
        return iter([self.text.encode('utf-8')])


class FakeBus:
    """An in-memory Service Bus namespace."""

    def __init__(self) -> None:
        self.queues: dict[str, dict] = {}
        self.seq = 0
        self.calls: list = []
        self.fail_sends: list = []
        self.namespace_error: Exception | None = None

    def queue(self, name: str) -> dict:
        try:
            return self.queues[name]
        except KeyError:
            raise sbexc.MessagingEntityNotFoundError(message=f'no queue {name}')


class FakeSender:
    def __init__(self, bus: FakeBus, name: str) -> None:
        self.bus, self.name, self.closed = bus, name, False

    def send_messages(self, message) -> None:
        if self.bus.fail_sends:
            raise self.bus.fail_sends.pop(0)
        q = self.bus.queue(self.name)
        self.bus.seq += 1
        q['ready'].append(FakeReceived(str(message), self.bus.seq))

    def close(self) -> None:
        self.closed = True


class FakeReceiver:
    def __init__(self, bus: FakeBus, name: str, receive_mode, max_wait_time) -> None:
        self.bus, self.name = bus, name
        self.receive_mode, self.max_wait_time = receive_mode, max_wait_time
        self.waits: list = []
        self.closed = False

    def receive_messages(self, max_message_count=1, max_wait_time=None):
        self.waits.append(max_wait_time)
        q = self.bus.queue(self.name)
        out = []
        while q['ready'] and len(out) < max_message_count:
            m = q['ready'].popleft()
            if self.receive_mode == ServiceBusReceiveMode.PEEK_LOCK:
                q['locked'][m.sequence_number] = m
            out.append(m)
        return out

    def _unlock(self, m):
        q = self.bus.queue(self.name)
        if q['locked'].pop(m.sequence_number, None) is None:
            raise sbexc.MessageAlreadySettled(action='settle')

    def complete_message(self, m) -> None:
        self.bus.calls.append(('complete', m.sequence_number))
        self._unlock(m)

    def abandon_message(self, m) -> None:
        self.bus.calls.append(('abandon', m.sequence_number))
        self._unlock(m)
        m.delivery_count += 1
        self.bus.queue(self.name)['ready'].appendleft(m)

    def close(self) -> None:
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakeClient:
    def __init__(self, bus: FakeBus, conn_str: str, **kwargs) -> None:
        self.bus, self.conn_str, self.kwargs = bus, conn_str, kwargs
        self.receivers: list = []
        self.closed = False

    def get_queue_sender(self, queue_name):
        return FakeSender(self.bus, queue_name)

    def get_queue_receiver(self, queue_name, receive_mode=ServiceBusReceiveMode.PEEK_LOCK,
                           max_wait_time=None, **kwargs):
        r = FakeReceiver(self.bus, queue_name, receive_mode, max_wait_time)
        self.receivers.append(r)
        return r

    def close(self) -> None:
        self.closed = True


class FakeAdmin:
    def __init__(self, bus: FakeBus, conn_str: str) -> None:
        self.bus, self.conn_str = bus, conn_str

    def create_queue(self, queue_name, **kwargs):
        if queue_name in self.bus.queues:
            raise ResourceExistsError(f'{queue_name} exists')
        self.bus.queues[queue_name] = {'ready': deque(), 'locked': {}, 'props': kwargs}

    def get_queue(self, queue_name):
        if queue_name not in self.bus.queues:
            raise ResourceNotFoundError(f'{queue_name} not found')
        return SimpleNamespace(name=queue_name)

    def get_queue_runtime_properties(self, queue_name):
        q = self.get_queue(queue_name) and self.bus.queues[queue_name]
        return SimpleNamespace(active_message_count=len(q['ready']))

    def delete_queue(self, queue_name):
        if self.bus.queues.pop(queue_name, None) is None:
            raise ResourceNotFoundError(f'{queue_name} not found')

    def get_namespace_properties(self):
        if self.bus.namespace_error is not None:
            raise self.bus.namespace_error
        return SimpleNamespace(name='mynamespace')

    def close(self):
        pass


class FakeRenewer:
    instances: list = []

    def __init__(self, max_lock_renewal_duration=None) -> None:
        self.max_lock_renewal_duration = max_lock_renewal_duration
        self.registered: list = []
        self.closed = False
        FakeRenewer.instances.append(self)

    def register(self, receiver, message):
        self.registered.append(message)

    def close(self):
        self.closed = True


@pytest.fixture
def bus(monkeypatch) -> FakeBus:
    import azure.servicebus as sdk
    import azure.servicebus.management as mgmt
    bus = FakeBus()
    bus.clients = []

    def make_client(conn_str, **kwargs):
        client = FakeClient(bus, conn_str, **kwargs)
        bus.clients.append(client)
        return client
    monkeypatch.setattr(sdk.ServiceBusClient, 'from_connection_string',
                        staticmethod(make_client))
    bus.admin_kwargs = []

    def make_admin(conn_str, **kwargs):
        bus.admin_kwargs.append(kwargs)
        return FakeAdmin(bus, conn_str)
    monkeypatch.setattr(mgmt.ServiceBusAdministrationClient, 'from_connection_string',
                        staticmethod(make_admin))
    monkeypatch.setattr(sdk, 'AutoLockRenewer', FakeRenewer)
    FakeRenewer.instances = []
    return bus


def conn(**options) -> Connection:
    return Connection(URL, transport_options={'polling_interval': 0.01,
                                              'wait_time_seconds': 0.1, **options})


@pytest.fixture
def name(unique_name) -> str:
    return unique_name


# -- names, options, defaults ----------------------------------------------------


def test_alias_resolves_and_documented_defaults():
    assert resolve_transport('azureservicebus') is asb.Transport
    assert asb.Transport.Channel is asb.Channel
    assert asb.Transport.polling_interval == 1 and asb.Transport.default_port is None
    ch = asb.Channel
    assert ch.default_peek_lock is False
    assert ch.default_visibility_timeout == 1800
    assert ch.default_wait_time_seconds == 5
    assert ch.domain_format == 'kombu%(vhost)s'
    for prop in ('peek_lock', 'queue_name_prefix', 'visibility_timeout', 'wait_time_seconds',
                 'queue_service', 'conninfo', 'transport_options'):
        assert hasattr(ch, prop)


def test_entity_name_table():
    table = asb.CHARS_REPLACE_TABLE
    assert ord('_') not in table
    assert all(v == ord('_') for v in table.values())
    assert asb.Channel.entity_name(None, 'a.b-c:d/e*f_g') == 'a_b_c_d_e_f_g'


def test_option_defaults_on_channel(bus):
    with conn() as c:
        ch = c.default_channel
        assert ch.peek_lock is False
        assert ch.visibility_timeout == 1800
        assert ch.queue_name_prefix == ''
        assert ch.wait_time_seconds == 0.1
        assert ch.conninfo is c
        assert ch.transport_options['wait_time_seconds'] == 0.1
    with Connection(URL) as c:
        assert c.default_channel.wait_time_seconds == 5
        assert c.transport.polling_interval == 1


def test_options_override(bus):
    with conn(peek_lock=True, visibility_timeout=60, queue_name_prefix='pfx-',
              wait_time_seconds=2, polling_interval=0.5) as c:
        ch = c.default_channel
        assert (ch.peek_lock, ch.visibility_timeout, ch.queue_name_prefix,
                ch.wait_time_seconds) == (True, 60, 'pfx-', 2)
        assert c.transport.polling_interval == 0.5


@pytest.mark.parametrize('option,value', [
    ('visibility_timeout', 0), ('visibility_timeout', 'soon'), ('wait_time_seconds', -1),
])
def test_bad_option_values(bus, option, value):
    with conn(**{option: value}) as c:
        with pytest.raises(ValueError, match=option):
            getattr(c.default_channel, option)


def test_connection_string_from_url(bus):
    with conn(client_options={'retry_total': 0}) as c:
        client = c.default_channel.queue_service
        assert client.conn_str == ('Endpoint=sb://mynamespace.servicebus.windows.net/;'
                                   'SharedAccessKeyName=policy;SharedAccessKey=s3cr/et')
        assert client.kwargs == {'retry_total': 0}
        assert c.default_channel.queue_mgmt_service.conn_str == client.conn_str
    with Connection('azureservicebus://p:k@ns.example.net') as c:
        assert 'Endpoint=sb://ns.example.net/;' in c.default_channel.queue_service.conn_str


def test_connection_string_option_wins(bus):
    cs = 'Endpoint=sb://other.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=b'
    with Connection('azureservicebus://', transport_options={'connection_string': cs}) as c:
        assert c.default_channel.queue_service.conn_str == cs


@pytest.mark.parametrize('url', ['azureservicebus://', 'azureservicebus://policy@ns',
                                 'azureservicebus://:key@ns', 'azureservicebus://p:k@'])
def test_missing_url_parts(bus, url):
    with Connection(url) as c:
        with pytest.raises(ValueError, match='SAS_POLICY_NAME'):
            c.default_channel  # noqa: B018


def test_missing_sdk_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, 'azure.servicebus', None)
    with pytest.raises(ImportError, match=r'kombu\[azureservicebus\]'):
        asb.Transport(Connection(URL))


def test_error_classes():
    t = asb.Transport(Connection(URL))
    for exc in (sbexc.ServiceBusConnectionError, sbexc.ServiceBusCommunicationError,
                sbexc.OperationTimeoutError, sbexc.ServiceBusServerBusyError):
        assert exc in t.recoverable_connection_errors and exc in t.connection_errors
    for exc in (sbexc.ServiceBusAuthenticationError, sbexc.ServiceBusAuthorizationError):
        assert exc in t.connection_errors and exc not in t.recoverable_connection_errors
    assert sbexc.ServiceBusError in t.channel_errors
    assert issubclass(sbexc.MessagingEntityNotFoundError, t.channel_errors)
    assert t.recoverable_channel_errors == ()
    assert t.driver_version() != 'N/A'


# -- queues -------------------------------------------------------------------------


def test_declare_creates_prefixed_queue_with_lock_duration(bus, name):
    with conn(queue_name_prefix='pfx-', visibility_timeout=45) as c:
        Queue(name)(c.default_channel).declare()
        azname = 'pfx-' + name.replace('.', '_')
        assert azname in bus.queues
        assert bus.queues[azname]['props']['lock_duration'].total_seconds() == 45
        Queue(name)(c.default_channel).declare()        # idempotent
    with conn() as c:
        Queue('long.lock')(c.default_channel).declare()
        assert bus.queues['long_lock']['props']['lock_duration'].total_seconds() == 300


def test_passive_declare_of_missing_queue(bus, name):
    with conn() as c:
        with pytest.raises(c.channel_errors):
            Queue(name)(c.default_channel).queue_declare(passive=True)


def test_size_purge_delete(bus, name):
    with conn() as c:
        bound = Queue(name)(c.default_channel)
        bound.declare()
        p = c.Producer()
        for i in range(5):
            p.publish(i, routing_key=name)
        assert bound.queue_declare(passive=True).message_count == 5
        assert bound.purge() == 5
        assert bound.queue_declare(passive=True).message_count == 0
        bound.delete()
        assert name.replace('.', '_') not in bus.queues
        assert c.default_channel._purge(name) == 0 and c.default_channel._size(name) == 0


def test_stored_format_is_json_message_dict(bus, name):
    with conn() as c:
        Queue(name)(c.default_channel).declare()
        c.Producer().publish({'x': 1}, routing_key=name, headers={'h': 'v'})
        stored = json.loads(bus.queues[name.replace('.', '_')]['ready'][0].text)
        assert stored['headers'] == {'h': 'v'}
        assert stored['properties']['delivery_info']['routing_key'] == name


def test_publish_recreates_deleted_queue(bus, name):
    with conn() as c:
        sq = c.SimpleQueue(name)
        sq.put(1)
        bus.queues.clear()                           # deleted behind our back
        sq.put(2)
        assert sq.get(timeout=1).payload == 2


# -- receive-and-delete (default) --------------------------------------------------


def test_get_consume_ack_receive_and_delete(bus, name):
    with conn() as c:
        sq = c.SimpleQueue(name)
        sq.put({'a': 1})
        m = sq.get(timeout=1)
        assert m.payload == {'a': 1}
        m.ack()
        receiver = c.default_channel._receivers[name]
        assert receiver.receive_mode == ServiceBusReceiveMode.RECEIVE_AND_DELETE
        assert receiver.waits[0] == 0.1              # wait_time_seconds
        sq.close()
        got = []
        q = Queue(name)
        with Consumer(c, [q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            Producer(c).publish('x', routing_key=name)
            c.drain_events(timeout=2)
        assert got == ['x']
        assert bus.calls == []                        # nothing to settle in this mode


def test_unacked_sent_back_on_close_in_receive_and_delete(bus, name):
    with conn() as c:
        sq = c.SimpleQueue(name)
        sq.put('keep')
        m = sq.get(timeout=1)
        assert m.payload == 'keep'
    with conn() as c:
        m = c.SimpleQueue(name).get(timeout=1)
        assert m.payload == 'keep' and m.delivery_info['redelivered']


def test_requeue_receive_and_delete(bus, name):
    with conn() as c:
        sq = c.SimpleQueue(name)
        sq.put('again')
        sq.get(timeout=1).requeue()
        m = sq.get(timeout=1)
        assert m.payload == 'again'
        m.ack()
        assert sq.qsize() == 0


def test_drain_timeout(bus, name):
    with conn() as c:
        with Consumer(c, [Queue(name)], callbacks=[lambda b, m: None]):
            with pytest.raises(socket.timeout):
                c.drain_events(timeout=0.2)


# -- peek-lock ------------------------------------------------------------------------


def _queue(bus, name):
    return bus.queues[name.replace('.', '_')]


def test_peek_lock_ack_completes(bus, name):
    with conn(peek_lock=True) as c:
        sq = c.SimpleQueue(name)
        sq.put('locked')
        m = sq.get(timeout=1)
        q = _queue(bus, name)
        assert len(q['locked']) == 1 and not q['ready']  # invisible, not deleted
        receiver = c.default_channel._receivers[name]
        assert receiver.receive_mode == ServiceBusReceiveMode.PEEK_LOCK
        m.ack()
        assert not q['locked'] and bus.calls == [('complete', 1)]


def test_peek_lock_reject_completes_and_requeue_abandons(bus, name):
    with conn(peek_lock=True) as c:
        sq = c.SimpleQueue(name)
        sq.put('a')
        m = sq.get(timeout=1)
        m.requeue()
        assert bus.calls == [('abandon', 1)]
        q = _queue(bus, name)
        assert len(q['ready']) == 1 and q['ready'][0].delivery_count == 1
        m = sq.get(timeout=1)
        assert m.payload == 'a'
        m.reject()
        assert bus.calls[-1] == ('complete', 1)
        assert not q['ready'] and not q['locked']


def test_peek_lock_unacked_abandoned_on_close(bus, name):
    with conn(peek_lock=True) as c:
        sq = c.SimpleQueue(name)
        sq.put(1)
        sq.put(2)
        got = [sq.get(timeout=1), sq.get(timeout=1)]
        assert [m.payload for m in got] == [1, 2]
    assert sorted(bus.calls) == [('abandon', 1), ('abandon', 2)]
    q = _queue(bus, name)
    assert [json.loads(m.text)['body'] for m in q['ready']] and not q['locked']
    with conn(peek_lock=True) as c:
        sq = c.SimpleQueue(name)
        assert sorted([sq.get(timeout=1).payload, sq.get(timeout=1).payload]) == [1, 2]


def test_peek_lock_no_ack_consumer_and_get_complete_at_once(bus, name):
    with conn(peek_lock=True) as c:
        q = Queue(name)
        q(c.default_channel).declare()
        got = []
        with Consumer(c, [q], no_ack=True, callbacks=[lambda b, m: got.append(b)]):
            Producer(c).publish('n', routing_key=name)
            c.drain_events(timeout=2)
        assert got == ['n'] and bus.calls == [('complete', 1)]
        Producer(c).publish('g', routing_key=name)
        m = q(c.default_channel).get(no_ack=True)
        assert m.payload == 'g' and bus.calls[-1] == ('complete', 2)
        assert not _queue(bus, name)['locked']


def test_peek_lock_ack_multiple(bus, name):
    with conn(peek_lock=True) as c:
        ch = c.default_channel
        q = Queue(name)
        q(ch).declare()
        for i in range(3):
            Producer(c).publish(i, routing_key=name)
        msgs = [q(ch).get() for _ in range(3)]
        ch.basic_ack(msgs[1].delivery_tag, multiple=True)
        assert sorted(bus.calls) == [('complete', 1), ('complete', 2)]
        msgs[2].ack()
        assert not _queue(bus, name)['locked']


def test_long_visibility_timeout_renews_locks(bus, name):
    with conn(peek_lock=True, visibility_timeout=1200) as c:
        sq = c.SimpleQueue(name)
        sq.put('long job')
        m = sq.get(timeout=1)
        (renewer,) = FakeRenewer.instances
        assert renewer.max_lock_renewal_duration == 1200
        assert len(renewer.registered) == 1
        m.ack()
    assert renewer.closed
    with conn(peek_lock=True, visibility_timeout=100) as c:
        sq = c.SimpleQueue(name + 'x')
        sq.put(1)
        sq.get(timeout=1).ack()
        assert len(FakeRenewer.instances) == 1       # within the queue's lock: no renewer


# -- errors / ensure ------------------------------------------------------------------


def test_ensure_recovers_from_connection_error(bus, name):
    with conn() as c:
        Queue(name)(c.default_channel).declare()
        bus.fail_sends.append(sbexc.ServiceBusConnectionError(message='link detached'))
        producer = c.Producer()
        publish = c.ensure(producer, producer.publish, max_retries=2, interval_start=0,
                           interval_step=0)
        publish('after error', routing_key=name)
        assert not bus.fail_sends
        assert Queue(name)(c.default_channel).get().payload == 'after error'


def test_connect_checks_namespace(bus):
    with conn() as c:
        c.connect()
        assert bus.admin_kwargs[-1]['retry_total'] == 3
    bus.namespace_error = azexc.ClientAuthenticationError('bad SAS key')
    with conn(client_options={'retry_total': 0}) as c:
        with pytest.raises(c.connection_errors, match='bad SAS key'):
            c.transport.establish_connection()
        assert bus.admin_kwargs[-1]['retry_total'] == 0
    bus.namespace_error = azexc.ServiceRequestError('unreachable')
    with conn() as c:
        with pytest.raises(c.connection_errors):
            c.connect()


def test_zero_wait_time_is_minimal_not_forever(bus, name):
    with conn(wait_time_seconds=0) as c:
        ch = c.default_channel
        ch._new_queue(name)
        with pytest.raises(asb.Empty):
            ch._get(name)
        receiver = ch._receivers[name]
        assert receiver.max_wait_time == asb.MIN_WAIT and receiver.waits == [asb.MIN_WAIT]


def test_close_closes_sdk_handles(bus, name):
    c = conn()
    sq = c.SimpleQueue(name)
    sq.put(1)
    sq.get(timeout=1).ack()
    client = c.default_channel.queue_service
    receivers = list(client.receivers)
    c.release()
    assert client.closed and all(r.closed for r in receivers)


def test_topic_exchange_routing(bus, name):
    ex = Exchange(name + '.t', 'topic')
    qa, qb = Queue(name + '.a', ex, routing_key='a.#'), Queue(name + '.b', ex, routing_key='b.#')
    with conn() as c:
        for q in (qa, qb):
            q(c.default_channel).declare()
        Producer(c).publish('to a', exchange=ex, routing_key='a.x.y')
        assert qa(c.default_channel).get().payload == 'to a'
        assert qb(c.default_channel).get() is None
