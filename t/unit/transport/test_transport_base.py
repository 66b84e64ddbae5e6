"""Transport registry and the base transport/channel classes."""
from __future__ import annotations

import amqp.exceptions
import pytest

from kombu.message import Message as KombuMessage
from kombu.transport import (
    DEFAULT_TRANSPORT,
    TRANSPORT_ALIASES,
    base,
    get_transport_cls,
    resolve_transport,
)
from kombu.transport.memory import Transport as MemoryTransport


@pytest.mark.parametrize('alias', [
    'amqp', 'pyamqp', 'librabbitmq', 'memory', 'redis', 'rediss', 'SQS', 'sqs', 'mongodb',
    'zookeeper', 'sqlalchemy', 'sqla', 'SLMQ', 'slmq', 'filesystem', 'qpid', 'sentinel',
    'consul', 'etcd', 'azurestoragequeues', 'azureservicebus', 'pyro',
])
def test_alias_table_has_documented_aliases(alias):
    assert alias in TRANSPORT_ALIASES


def test_default_transport_is_amqp():
    assert DEFAULT_TRANSPORT == 'amqp'


def test_resolve_alias_returns_class():
    assert resolve_transport('memory') is MemoryTransport
    assert get_transport_cls('memory') is MemoryTransport


@pytest.mark.parametrize('path', [
    'kombu.transport.memory:Transport', 'kombu.transport.memory.Transport'])
def test_resolve_qualified_path(path):
    assert get_transport_cls(path) is MemoryTransport


def test_resolve_class_returns_it():
    assert resolve_transport(MemoryTransport) is MemoryTransport


def test_unknown_alias_raises_key_error_naming_it():
    with pytest.raises(KeyError) as excinfo:
        get_transport_cls('nosuchtransport')
    assert str(excinfo.value) == 'No such transport: nosuchtransport'
    assert excinfo.value.args == ('No such transport: nosuchtransport',)


@pytest.mark.parametrize('alias,suggestion', [
    ('Memory', 'memory'), ('amqplib', 'amqp'), ('redis2', 'redis'), ('zookeper', 'zookeeper'),
])
def test_unknown_alias_suggests_a_close_one(alias, suggestion):
    with pytest.raises(KeyError) as excinfo:
        resolve_transport(alias)
    assert str(excinfo.value) == f'No such transport: {alias}.  Did you mean {suggestion}?'


def test_unimportable_path_raises_import_error():
    with pytest.raises(ImportError):
        resolve_transport('kombu_no_such_module.x:Transport')


def test_amqp_alias_resolves_to_pyamqp_without_librabbitmq():
    from kombu.transport import supports_librabbitmq
    if supports_librabbitmq():
        pytest.skip('librabbitmq installed')
    assert get_transport_cls('amqp') is get_transport_cls('pyamqp')


def test_base_message_is_kombu_message():
    assert base.Message is KombuMessage


def test_implements_gives_attribute_access_and_extend():
    impl = base.Implements(asynchronous=False, exchange_type=frozenset({'direct'}),
                           heartbeats=False)
    extended = impl.extend(asynchronous=True)
    assert extended.asynchronous is True and impl.asynchronous is False
    assert extended.exchange_type == frozenset({'direct'})
    with pytest.raises(AttributeError):
        _ = impl.nosuchfeature


class Client:
    transport_options: dict = {}


def test_base_transport_defaults():
    transport = base.Transport(Client())
    assert transport.connection_errors == (amqp.exceptions.ConnectionError,)
    assert transport.channel_errors == (amqp.exceptions.ChannelError,)
    assert transport.recoverable_channel_errors == ()
    assert set(transport.recoverable_connection_errors) == {
        amqp.exceptions.ConnectionError, amqp.exceptions.ChannelError}
    assert transport.default_connection_params == {}
    assert transport.driver_type == transport.driver_name == 'N/A'
    assert transport.driver_version() == 'N/A'
    assert transport.supports_ev is False
    assert transport.get_heartbeat_interval(None) == 0
    assert transport.verify_connection(None) is True
    assert transport.as_uri('memory://') == 'memory://'
    assert transport.implements.exchange_type == frozenset(
        {'direct', 'topic', 'fanout', 'headers'})


def test_base_transport_requires_subclass_primitives():
    transport = base.Transport(Client())
    with pytest.raises(NotImplementedError):
        transport.establish_connection()
    with pytest.raises(NotImplementedError):
        transport.drain_events(None)


def test_base_manager_is_cached_and_unsupported():
    transport = base.Transport(Client())
    assert transport.manager is transport.manager
    with pytest.raises(NotImplementedError):
        transport.manager.get_bindings()


def test_std_channel_defaults_and_context_manager():
    closed = []

    class Channel(base.StdChannel):
        def close(self):
            closed.append(True)

    with Channel() as channel:
        assert channel.prepare_queue_arguments({'x': 1}) == {'x': 1}
        assert channel.after_reply_message_received('q') is None
        with pytest.raises(NotImplementedError):
            channel.get_bindings()
    assert closed == [True]


def test_to_rabbitmq_queue_arguments_converts_units():
    assert base.to_rabbitmq_queue_arguments({'a': 1}, expires=1.5, max_length=3,
                                            message_ttl=None) == {
        'a': 1, 'x-expires': 1500, 'x-max-length': 3}


def test_std_channel_factories_bind_to_channel():
    from kombu import Connection
    conn = Connection('memory://')
    with conn.channel() as channel:
        producer = channel.Producer()
        consumer = channel.Consumer([])
        assert producer.channel is channel
        assert consumer.channel is channel


def test_to_rabbitmq_queue_arguments_accepts_none_arguments():
    assert base.to_rabbitmq_queue_arguments(None, max_priority=5) == {'x-max-priority': 5}
    assert base.to_rabbitmq_queue_arguments(None, expires=None) is None


@pytest.mark.parametrize('alias,module', [
    ('qpid', 'kombu.transport.qpid'), ('SLMQ', 'kombu.transport.SLMQ'),
    ('slmq', 'kombu.transport.SLMQ'),
])
def test_transports_with_optional_clients_resolve_without_them(alias, module):
    cls = resolve_transport(alias)
    assert (cls.__module__, cls.__name__) == (module, 'Transport')
