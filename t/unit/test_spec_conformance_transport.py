"""Spec conformance: one test per documented statement.

Covers the transport base/virtual/memory/filesystem modules, serialization,
compression, exceptions, clocks and the matcher registry.  Each test cites the
spec file (under ``/work/shared/spec``) whose sentence it asserts.
"""
from __future__ import annotations

import io
import re
import socket
import threading
import zlib

import amqp.exceptions
import pytest

from kombu import Connection, clocks, compression, exceptions, matcher, serialization
from kombu.transport import (
    DEFAULT_TRANSPORT,
    TRANSPORT_ALIASES,
    base,
    filesystem,
    get_transport_cls,
    memory,
    resolve_transport,
    virtual,
)
from kombu.transport.virtual import exchange as vexchange
from kombu.utils.scheduling import FairCycle


@pytest.fixture
def names(unique_name):
    return lambda suffix: f'{unique_name}.{suffix}'


@pytest.fixture
def channel():
    conn = Connection('memory://')
    yield conn.channel()
    conn.release()


# -- 40-kombu.transport --------------------------------------------------------

def test_default_transport_is_used_when_none_is_specified():
    # 40: DEFAULT_TRANSPORT - "Default transport used when no transport specified."
    assert DEFAULT_TRANSPORT == 'amqp'
    assert get_transport_cls(None) is get_transport_cls(DEFAULT_TRANSPORT)
    assert Connection().transport_cls == DEFAULT_TRANSPORT


def test_transport_aliases_map_alias_to_class_path():
    # 40: TRANSPORT_ALIASES - "Mapping of transport aliases/class names."
    assert TRANSPORT_ALIASES['memory'] == 'kombu.transport.memory:Transport'
    assert TRANSPORT_ALIASES['redis'] == 'kombu.transport.redis:Transport'
    assert TRANSPORT_ALIASES['filesystem'] == 'kombu.transport.filesystem:Transport'
    assert TRANSPORT_ALIASES['amqp'] == 'kombu.transport.pyamqp:Transport'


def test_get_transport_cls_accepts_full_path():
    # 40: "The transport string is the full path to a transport class"
    assert get_transport_cls('kombu.transport.memory:Transport') is memory.Transport
    assert get_transport_cls('kombu.transport.memory.Transport') is memory.Transport


def test_get_transport_cls_consults_alias_table_for_unqualified_names():
    # 40: "If the name does not include '.' ..., the alias table will be consulted."
    assert get_transport_cls('memory') is memory.Transport
    assert get_transport_cls('filesystem') is filesystem.Transport
    with pytest.raises(KeyError, match='No such transport: h2-nonexistent'):
        get_transport_cls('h2-nonexistent')


def test_resolve_transport_accepts_class_path_or_alias():
    # 40: resolve_transport - "either an actual transport class, or the fully
    # qualified path to a transport class, or the alias of a transport."
    assert resolve_transport(memory.Transport) is memory.Transport
    assert resolve_transport('kombu.transport.memory:Transport') is memory.Transport
    assert resolve_transport('memory') is memory.Transport


# -- 46-kombu.transport.memory ---------------------------------------------------

def test_memory_documented_attributes():
    # 46: driver_name/driver_type = 'memory', implements, do_restore, supports_fanout
    assert memory.Transport.driver_name == 'memory'
    assert memory.Transport.driver_type == 'memory'
    assert memory.Transport.implements == {
        'asynchronous': False,
        'exchange_type': frozenset({'direct', 'fanout', 'headers', 'topic'}),
        'heartbeats': False}
    assert memory.Transport.Channel is memory.Channel
    assert memory.Channel.do_restore is False
    assert memory.Channel.supports_fanout is True
    assert memory.Channel.events == {}
    assert isinstance(memory.Channel.queues, dict)  # the global store, empty at import
    assert Connection('memory://').transport.driver_version() == 'N/A'


def test_memory_state_is_global():
    # 46: state - "memory backend state is global."
    assert isinstance(memory.Transport.state, virtual.BrokerState)
    t1 = Connection('memory://').transport
    t2 = Connection('memory://').transport
    assert t1.state is t2.state is memory.Transport.state


def test_memory_close_requeues_unacked_messages(names):
    # 46: close() - "Cancel all consumers, and requeue unacked messages."
    q = names('q')
    with Connection('memory://') as conn:
        ch = conn.channel()
        ch.queue_declare(q)
        for body in (b'a', b'b'):
            ch.basic_publish(ch.prepare_message(body), '', q)
        got = []
        ch.basic_consume(q, False, got.append, 'ctag')
        conn.drain_events(timeout=1)
        assert len(got) == 1
        ch.close()
        assert not ch._consumers
        other = conn.channel()
        assert other.queue_declare(q, passive=True).message_count == 2
        other.queue_delete(q)


def test_memory_after_reply_message_received_is_a_hook(names):
    # 46: after_reply_message_received(queue) - "Callback called after RPC reply received."
    q = names('q')
    with Connection('memory://') as conn:
        ch = conn.channel()
        ch.queue_declare(q)
        assert ch.after_reply_message_received(q) is None
        ch.queue_delete(q)


# -- 52-kombu.transport.filesystem -----------------------------------------------

def test_filesystem_documented_attributes():
    # 52: default_port = 0, driver_name/driver_type = 'filesystem'
    assert filesystem.Transport.default_port == 0
    assert filesystem.Transport.driver_name == 'filesystem'
    assert filesystem.Transport.driver_type == 'filesystem'
    assert filesystem.Transport.Channel is filesystem.Channel
    assert Connection('filesystem://').transport.driver_version() == 'N/A'


def test_filesystem_channel_options_come_from_transport_options(tmp_path):
    # 52: data_folder_in, data_folder_out, processed_folder, store_processed,
    # transport_options
    opts = {'data_folder_in': str(tmp_path / 'in'), 'data_folder_out': str(tmp_path / 'out'),
            'processed_folder': str(tmp_path / 'done'), 'store_processed': True}
    for folder in ('in', 'out'):
        (tmp_path / folder).mkdir()
    with Connection('filesystem://', transport_options=opts) as conn:
        ch = conn.channel()
        assert ch.transport_options == opts
        assert ch.data_folder_in == opts['data_folder_in']
        assert ch.data_folder_out == opts['data_folder_out']
        assert ch.processed_folder == opts['processed_folder']
        assert ch.store_processed is True


def test_filesystem_store_processed_keeps_consumed_files(tmp_path):
    # 52: store_processed / processed_folder
    folder, done = tmp_path / 'data', tmp_path / 'done'
    folder.mkdir()
    opts = {'data_folder_in': str(folder), 'data_folder_out': str(folder),
            'processed_folder': str(done), 'store_processed': True}
    with Connection('filesystem://', transport_options=opts) as conn:
        ch = conn.channel()
        ch.queue_declare('h2spec.fsq')
        ch.basic_publish(ch.prepare_message(b'x'), '', 'h2spec.fsq')
        message = ch.basic_get('h2spec.fsq')
        assert message.body == b'x'
        message.ack()
        assert len(list(done.iterdir())) == 1


# -- 58-kombu.transport.base -------------------------------------------------------

def test_base_transport_documented_defaults():
    # 58: client = None, default_port = None, connection_errors, channel_errors
    assert base.Transport.client is None
    assert base.Transport.default_port is None
    assert base.Transport.connection_errors == (amqp.exceptions.ConnectionError,)
    assert base.Transport.channel_errors == (amqp.exceptions.ChannelError,)
    conn = Connection('memory://')
    assert base.Transport(conn).client is conn


def test_base_transport_recoverable_errors_default_to_all_errors():
    # 58: "If not defined then all connection_errors and channel_errors will
    # be regarded as recoverable, but needing to close the connection first."
    transport = base.Transport(Connection('memory://'))
    assert set(transport.recoverable_connection_errors) == {
        amqp.exceptions.ConnectionError, amqp.exceptions.ChannelError}
    assert tuple(transport.recoverable_channel_errors) == ()


def test_base_transport_interface_methods_are_abstract():
    # 58: establish_connection/close_connection/create_channel/close_channel/drain_events
    transport = base.Transport(Connection('memory://'))
    for call in (transport.establish_connection, lambda: transport.close_connection(None),
                 lambda: transport.create_channel(None),
                 lambda: transport.close_channel(None),
                 lambda: transport.drain_events(None)):
        with pytest.raises(NotImplementedError):
            call()


def test_base_message_keyword_arguments_and_attributes():
    # 58: Message(body, delivery_tag, content_type, content_encoding,
    # delivery_info, properties, headers, postencode, accept, channel)
    m = base.Message(body=b'{"a": 1}', delivery_tag=7, content_type='application/json',
                     content_encoding='utf-8', delivery_info={'exchange': 'x'},
                     properties={'p': 1}, headers={'h': 2})
    assert (m.body, m.delivery_tag, m.content_type, m.content_encoding) == (
        b'{"a": 1}', 7, 'application/json', 'utf-8')
    assert (m.delivery_info, m.properties, m.headers, m.channel) == (
        {'exchange': 'x'}, {'p': 1}, {'h': 2}, None)
    assert m.acknowledged is False


def test_base_message_payload_is_the_decoded_body():
    # 58: payload - "The decoded message body."
    m = base.Message(body=b'{"a": 1}', content_type='application/json',
                     content_encoding='utf-8')
    assert m.payload == {'a': 1}


def test_base_message_decode_is_memoized():
    # 58: decode() - "The return value is memoized, use _decode to force re-evaluation."
    m = base.Message(body=b'{"a": 1}', content_type='application/json',
                     content_encoding='utf-8')
    first = m.decode()
    assert m.decode() is first
    again = m._decode()
    assert again == first and again is not first


def test_base_message_with_content_type_and_no_serializer_is_returned_raw():
    # 58: content_encoding - "Use 'binary' if sending in raw binary objects."
    m = base.Message(body=b'\x00\x01', content_type='application/data',
                     content_encoding='binary')
    assert m.payload == b'\x00\x01'


@pytest.mark.parametrize('settle', ['ack', 'reject', 'requeue'])
@pytest.mark.parametrize('again', ['ack', 'reject', 'requeue'])
def test_base_message_settling_twice_raises_message_state_error(channel, settle, again):
    # 58: ack/reject/requeue - "Raises MessageStateError - If the message has
    # already been acknowledged/requeued/rejected."
    m = base.Message(body=b'x', channel=channel, delivery_tag=1)
    getattr(m, settle)()
    assert m.acknowledged is True
    with pytest.raises(exceptions.MessageStateError):
        getattr(m, again)()


def test_base_message_acknowledged_is_set_by_ack(channel):
    # 58: acknowledged - "Set to true if the message has been acknowledged."
    m = base.Message(body=b'x', channel=channel, delivery_tag=1)
    assert m.acknowledged is False
    m.ack()
    assert m.acknowledged is True


# -- 59-kombu.transport.virtual ----------------------------------------------------

def test_virtual_transport_documented_class_attributes():
    # 59: Channel, Cycle, polling_interval, default_port, state, cycle
    assert virtual.Transport.Channel is virtual.Channel
    assert virtual.Transport.Cycle is FairCycle
    assert virtual.Transport.polling_interval == 1.0
    assert virtual.Transport.default_port is None
    assert isinstance(virtual.Transport.state, virtual.BrokerState)
    assert virtual.Transport.cycle is None


def test_virtual_transport_cycle_is_set_by_constructor():
    # 59: cycle - "FairCycle instance ... (set by constructor)."
    transport = virtual.Transport(Connection('memory://'))
    assert isinstance(transport.cycle, FairCycle)


def test_virtual_transport_connection_and_channel_management():
    # 59: establish_connection, create_channel, close_channel, close_connection
    transport = memory.Transport(Connection('memory://'))
    connection = transport.establish_connection()
    ch = transport.create_channel(connection)
    assert isinstance(ch, memory.Channel)
    assert ch in transport.channels
    transport.close_channel(ch)
    assert ch not in transport.channels
    transport.create_channel(connection)
    transport.close_connection(connection)
    assert transport.channels == []


def test_virtual_transport_drain_events_times_out():
    # 59: drain_events(connection, timeout=None)
    transport = memory.Transport(Connection('memory://'))
    connection = transport.establish_connection()
    transport.create_channel(connection)
    with pytest.raises(socket.timeout):
        transport.drain_events(connection, timeout=0.01)


def test_virtual_channel_documented_class_attributes():
    # 59: Message, do_restore = True, exchange_types
    assert virtual.Channel.Message is virtual.Message
    assert virtual.Channel.do_restore is True
    assert virtual.Channel.exchange_types == {
        'direct': vexchange.DirectExchange,
        'fanout': vexchange.FanoutExchange,
        'topic': vexchange.TopicExchange}
    assert issubclass(virtual.Channel, virtual.AbstractChannel)


def test_virtual_channel_state_and_qos(channel):
    # 59: state - "Broker state containing exchanges and bindings.";
    # qos - "QoS manager for this channel."
    assert isinstance(channel.state, virtual.BrokerState)
    assert isinstance(channel.qos, virtual.QoS)


def test_virtual_channel_exchange_declare_and_delete(channel, names):
    # 59: exchange_declare(...), exchange_delete - "Delete exchange and all its bindings."
    ex, q = names('ex'), names('q')
    channel.exchange_declare(ex, type='topic', durable=True)
    assert channel.state.exchanges[ex]['type'] == 'topic'
    assert channel.exchange_declare(ex, passive=True) is None
    channel.queue_declare(q)
    channel.queue_bind(q, ex, 'a.*')
    channel.exchange_delete(ex)
    assert ex not in channel.state.exchanges
    assert not channel.state.has_binding(q, ex, 'a.*')
    channel.queue_delete(q)


def test_virtual_channel_passive_declares_of_missing_entities_raise(channel, names):
    # 59: exchange_declare(passive=...) / queue_declare(passive=...)
    with pytest.raises(amqp.exceptions.ChannelError):
        channel.exchange_declare(names('nope-ex'), passive=True)
    with pytest.raises(amqp.exceptions.ChannelError):
        channel.queue_declare(names('nope-q'), passive=True)


def test_virtual_channel_queue_declare_returns_ok_tuple(channel, names):
    # 59: queue_declare(queue=None, passive=False, **kwargs) - "Declare queue."
    q = names('q')
    ok = channel.queue_declare(q)
    assert (ok.queue, ok.message_count, ok.consumer_count) == (q, 0, 0)
    generated = channel.queue_declare()
    assert generated.queue.startswith('amq.gen-')
    channel.queue_delete(q)
    channel.queue_delete(generated.queue)


def test_virtual_channel_queue_bind_purge_delete(channel, names):
    # 59: queue_bind, queue_purge - "Remove all ready messages from queue.", queue_delete
    ex, q = names('ex'), names('q')
    channel.exchange_declare(ex, 'direct')
    channel.queue_declare(q)
    channel.queue_bind(q, ex, 'rk')
    assert channel.get_table(ex) == [('rk', None, q)]
    for _ in range(3):
        channel.basic_publish(channel.prepare_message(b'x'), ex, 'rk')
    assert channel.queue_purge(q) == 3
    assert channel.queue_declare(q, passive=True).message_count == 0
    channel.queue_delete(q)
    with pytest.raises(amqp.exceptions.ChannelError):
        channel.queue_declare(q, passive=True)
    assert channel.get_table(ex) == []


def test_virtual_channel_basic_publish_get_ack(channel, names):
    # 59: basic_publish, basic_get - "Get message by direct access (synchronous).",
    # basic_ack
    q = names('q')
    channel.queue_declare(q)
    channel.basic_publish(channel.prepare_message(b'hello'), '', q)
    message = channel.basic_get(q)
    assert isinstance(message, virtual.Message)
    assert message.body == b'hello'
    assert message.delivery_tag in channel.qos._delivered
    channel.basic_ack(message.delivery_tag)
    assert message.delivery_tag not in channel.qos._delivered
    assert channel.basic_get(q) is None
    channel.queue_delete(q)


def test_virtual_channel_basic_reject_requeue(channel, names):
    # 59: basic_reject(delivery_tag, requeue=False) - "Reject message."
    q = names('q')
    channel.queue_declare(q)
    channel.basic_publish(channel.prepare_message(b'x'), '', q)
    channel.basic_reject(channel.basic_get(q).delivery_tag, requeue=True)
    assert channel.queue_declare(q, passive=True).message_count == 1
    channel.basic_reject(channel.basic_get(q).delivery_tag)
    assert channel.queue_declare(q, passive=True).message_count == 0
    channel.queue_delete(q)


def test_virtual_channel_basic_recover_requeues_unacked(channel, names):
    # 59: basic_recover(requeue=False) - "Recover unacked messages."
    q = names('q')
    channel.queue_declare(q)
    channel.basic_publish(channel.prepare_message(b'x'), '', q)
    channel.basic_get(q)
    channel.basic_recover(requeue=True)
    assert channel.queue_declare(q, passive=True).message_count == 1
    channel.queue_delete(q)


def test_virtual_channel_basic_consume_and_cancel(channel, names):
    # 59: basic_consume(queue, no_ack, callback, consumer_tag), basic_cancel
    q = names('q')
    channel.queue_declare(q)
    channel.basic_publish(channel.prepare_message(b'x'), '', q)
    got = []
    channel.basic_consume(q, True, got.append, 'tag1')
    channel.connection.client.drain_events(timeout=1)
    assert [m.body for m in got] == [b'x']
    channel.basic_cancel('tag1')
    assert 'tag1' not in channel._consumers
    channel.queue_delete(q)


def test_virtual_channel_basic_qos_only_prefetch_count(channel):
    # 59: basic_qos - "Change QoS settings for this channel. Only prefetch_count
    # is supported."
    channel.basic_qos(prefetch_size=1024, prefetch_count=7, apply_global=True)
    assert channel.qos.prefetch_count == 7


def test_virtual_channel_get_table_and_typeof(channel, names):
    # 59: get_table - "Get table of bindings for exchange."; typeof(exchange,
    # default='direct') - "Get the exchange type instance for exchange."
    ex = names('ex')
    channel.exchange_declare(ex, 'fanout')
    assert isinstance(channel.typeof(ex), vexchange.FanoutExchange)
    assert isinstance(channel.typeof(names('undeclared')), vexchange.DirectExchange)
    assert isinstance(channel.typeof(names('undeclared'), default='topic'),
                      vexchange.TopicExchange)
    assert channel.get_table(ex) == []
    channel.exchange_delete(ex)


def test_virtual_channel_prepare_message(channel):
    # 59: prepare_message(body, priority=None, content_type=None,
    # content_encoding=None, headers=None, properties=None) - "Prepare message data."
    assert channel.prepare_message(b'x') == {
        'body': b'x', 'content-encoding': None, 'content-type': None, 'headers': {},
        'properties': {'priority': 0, 'delivery_info': {}}}
    prepared = channel.prepare_message('x', priority=3, content_type='a/b',
                                       content_encoding='utf-8', headers={'h': 1},
                                       properties={'p': 2})
    assert prepared == {
        'body': 'x', 'content-encoding': 'utf-8', 'content-type': 'a/b',
        'headers': {'h': 1}, 'properties': {'p': 2, 'priority': 3, 'delivery_info': {}}}


def test_virtual_channel_message_to_python(channel):
    # 59: message_to_python(raw_message) - "Convert raw message to Message instance."
    message = channel.message_to_python(
        {'body': 'x', 'properties': {'delivery_tag': 'abc'}, 'headers': {'h': 1}})
    assert isinstance(message, virtual.Message)
    assert (message.delivery_tag, message.body, message.headers) == ('abc', b'x', {'h': 1})
    assert message.channel is channel


def test_virtual_channel_flow_is_not_implemented(channel):
    # 59: flow(active=True) - "Raises NotImplementedError"
    with pytest.raises(NotImplementedError):
        channel.flow()
    with pytest.raises(NotImplementedError):
        channel.flow(active=False)


def test_virtual_channel_drain_events_calls_callback(channel, names):
    # 59: Channel.drain_events(timeout=None, callback=None)
    q = names('q')
    channel.queue_declare(q)
    channel.basic_publish(channel.prepare_message(b'x'), '', q)
    channel.basic_consume(q, True, lambda m: None, 'dtag')
    got = []
    channel.drain_events(timeout=0.1, callback=lambda message, queue: got.append(
        (message['body'], queue)))
    assert got == [(b'x', q)]
    channel.basic_cancel('dtag')
    channel.queue_delete(q)


def test_virtual_message_attributes(channel):
    # 59: Message(payload, channel=None, **kwargs): body, channel,
    # content_encoding, content_type, delivery_info, delivery_tag, headers,
    # properties, errors, serializable()
    payload = {'body': 'aGk=', 'content-type': 'text/plain', 'content-encoding': 'utf-8',
               'headers': {'h': 1},
               'properties': {'body_encoding': 'base64', 'delivery_tag': 't1',
                              'delivery_info': {'exchange': 'e', 'routing_key': 'r'}}}
    message = virtual.Message(payload, channel=channel)
    assert message.body == b'hi'
    assert message.payload == 'hi'
    assert message.channel is channel
    assert (message.content_type, message.content_encoding) == ('text/plain', 'utf-8')
    assert message.delivery_tag == 't1'
    assert message.delivery_info['exchange'] == 'e'
    assert message.delivery_info['routing_key'] == 'r'
    assert message.headers == {'h': 1}
    assert message.properties['delivery_tag'] == 't1'
    assert message.serializable() == payload
    assert virtual.Message.errors is None
    assert virtual.Message.MessageStateError is exceptions.MessageStateError


def test_virtual_message_log_error_variants_swallow_listed_errors(channel, caplog):
    # 59: ack_log_error(logger, errors, multiple=False),
    # reject_log_error(logger, errors, requeue=False)
    import logging
    logger = logging.getLogger('h2spec')
    message = base.Message(body=b'x', channel=channel, delivery_tag=1)
    message.ack_log_error(logger, (exceptions.MessageStateError,))
    assert message.acknowledged
    message.ack_log_error(logger, (exceptions.MessageStateError,))
    message.reject_log_error(logger, (exceptions.MessageStateError,))
    assert len([r for r in caplog.records if r.name == 'h2spec']) == 2


def test_qos_defaults_and_constructor():
    # 59: QoS(channel, prefetch_count=0) - "Initial prefetch count (defaults to 0)."
    assert virtual.QoS.prefetch_count == 0
    assert virtual.QoS.restore_at_shutdown is True
    ch = Connection('memory://').channel()
    assert virtual.QoS(ch).prefetch_count == 0
    assert virtual.QoS(ch, prefetch_count=5).prefetch_count == 5
    assert virtual.QoS(ch, 5).channel is ch


def _unacked(channel, qos, queue, n):
    messages = []
    for _ in range(n):
        message = channel.basic_get(queue)
        qos.append(message, message.delivery_tag)
        messages.append(message)
    return messages


@pytest.fixture
def loaded(channel, names):
    q = names('q')
    channel.queue_declare(q)
    for i in range(5):
        channel.basic_publish(channel.prepare_message(f'm{i}'.encode()), '', q)
    yield channel, q
    channel.queue_delete(q)


def test_qos_can_consume_honours_prefetch_limit(loaded):
    # 59: can_consume - "Return true if the channel can be consumed from."
    channel, q = loaded
    qos = virtual.QoS(channel, prefetch_count=2)
    assert qos.can_consume()
    messages = _unacked(channel, qos, q, 2)
    assert not qos.can_consume()
    qos.ack(messages[0].delivery_tag)
    assert qos.can_consume()
    assert virtual.QoS(channel).can_consume()


def test_qos_can_consume_max_estimate(loaded):
    # 59: can_consume_max_estimate - "Return the maximum number of messages
    # allowed to be returned."
    channel, q = loaded
    qos = virtual.QoS(channel, prefetch_count=3)
    assert qos.can_consume_max_estimate() == 3
    _unacked(channel, qos, q, 1)
    assert qos.can_consume_max_estimate() == 2
    assert isinstance(qos.can_consume_max_estimate(), int)


def test_qos_append_get_ack(loaded):
    # 59: append - "Append message to transactional state.", get(delivery_tag),
    # ack - "Acknowledge message and remove from transactional state."
    channel, q = loaded
    qos = virtual.QoS(channel)
    message, = _unacked(channel, qos, q, 1)
    assert qos.get(message.delivery_tag) is message
    qos.ack(message.delivery_tag)
    with pytest.raises(KeyError):
        qos.get(message.delivery_tag)


def test_qos_reject_removes_and_optionally_requeues(loaded):
    # 59: reject(delivery_tag, requeue=False) - "Remove from transactional state
    # and requeue message."
    channel, q = loaded
    qos = virtual.QoS(channel)
    dropped, kept = _unacked(channel, qos, q, 2)
    qos.reject(dropped.delivery_tag)
    assert channel.queue_declare(q, passive=True).message_count == 3
    qos.reject(kept.delivery_tag, requeue=True)
    assert channel.queue_declare(q, passive=True).message_count == 4
    assert not qos._delivered


def test_qos_restore_unacked(loaded):
    # 59: restore_unacked - "Restore all unacknowledged messages."
    channel, q = loaded
    qos = virtual.QoS(channel)
    _unacked(channel, qos, q, 3)
    assert channel.queue_declare(q, passive=True).message_count == 2
    assert qos.restore_unacked() == []
    assert channel.queue_declare(q, passive=True).message_count == 5
    assert not qos._delivered


def test_qos_restore_unacked_once_only_once(loaded):
    # 59: restore_unacked_once(stderr=None) - "Can only be called once for each
    # instance, subsequent calls will be ignored."
    channel, q = loaded
    qos = virtual.QoS(channel)
    _unacked(channel, qos, q, 1)
    qos.restore_unacked_once(stderr=io.StringIO())
    assert channel.queue_declare(q, passive=True).message_count == 5
    _unacked(channel, qos, q, 1)
    qos.restore_unacked_once(stderr=io.StringIO())
    assert channel.queue_declare(q, passive=True).message_count == 4


def test_qos_restore_at_shutdown_disabled_keeps_unacked(loaded):
    # 59: restore_at_shutdown - "If disabled, unacked messages won't be restored
    # at shutdown."
    channel, q = loaded
    qos = virtual.QoS(channel)
    qos.restore_at_shutdown = False
    _unacked(channel, qos, q, 1)
    qos.restore_unacked_once()
    assert channel.queue_declare(q, passive=True).message_count == 4


def test_qos_restore_visible_is_optional_noop(channel):
    # 59: restore_visible(*args, **kwargs) - "This is implementation optional"
    assert virtual.QoS(channel).restore_visible() is None
    assert virtual.QoS(channel).restore_visible(1, 2, interval=3) is None


def test_broker_state_structures():
    # 59: BrokerState(exchanges=None): bindings / queue_index structures
    assert virtual.BrokerState.bindings is None
    assert virtual.BrokerState.exchanges is None
    assert virtual.BrokerState.queue_index is None
    state = virtual.BrokerState()
    assert state.exchanges == {} and state.bindings == {} and not state.queue_index
    assert virtual.BrokerState(exchanges={'x': 1}).exchanges == {'x': 1}
    state.binding_declare('q', 'e', 'rk', {'a': 1})
    assert state.bindings == {('q', 'e', 'rk'): {'a': 1}}
    assert state.queue_index == {'q': {('q', 'e', 'rk')}}


def test_broker_state_binding_operations():
    # 59: has_binding, queue_bindings, binding_delete, queue_bindings_delete, clear
    state = virtual.BrokerState()
    state.binding_declare('q', 'e', 'rk', None)
    state.binding_declare('q', 'e2', 'rk2', {'x': 1})
    assert state.has_binding('q', 'e', 'rk')
    assert not state.has_binding('q', 'e', 'other')
    assert sorted(tuple(b) for b in state.queue_bindings('q')) == [
        ('e', 'rk', None), ('e2', 'rk2', {'x': 1})]
    state.binding_delete('q', 'e', 'rk')
    assert not state.has_binding('q', 'e', 'rk')
    state.binding_delete('q', 'e', 'rk')  # deleting twice is harmless
    state.queue_bindings_delete('q')
    assert state.bindings == {} and list(state.queue_bindings('q')) == []
    state.exchanges['e'] = {'type': 'direct'}
    state.binding_declare('q', 'e', 'rk', None)
    state.clear()
    assert state.exchanges == {} and state.bindings == {} and not state.queue_index


# -- 60-kombu.transport.virtual.exchange -------------------------------------------

def test_exchange_type_names():
    # 60: type = 'direct' / 'topic' / 'fanout' / None
    assert vexchange.DirectExchange.type == 'direct'
    assert vexchange.TopicExchange.type == 'topic'
    assert vexchange.FanoutExchange.type == 'fanout'
    assert vexchange.ExchangeType.type is None
    assert vexchange.ExchangeType('chan').channel == 'chan'


def test_topic_wildcards_documented_mapping():
    # 60: wildcards = {'#': '.*?', '*': '.*?[^\\.]'}
    assert vexchange.TopicExchange.wildcards == {'#': '.*?', '*': '.*?[^\\.]'}


def test_direct_exchange_routes_on_exact_key():
    # 60: "The direct exchange routes based on exact routing keys."
    table = [('rk', None, 'q1'), ('rk', None, 'q2'), ('rk.x', None, 'q3')]
    assert vexchange.DirectExchange(None).lookup(table, 'e', 'rk', None) == {'q1', 'q2'}
    assert vexchange.DirectExchange(None).lookup(table, 'e', 'nope', None) == set()


@pytest.mark.parametrize('binding,key,matched', [
    ('a.*', 'a.b', True),
    ('a.*', 'a.b.c', False),      # '*' is a single word
    ('a.*', 'x.b', False),
    ('*.b', 'a.b', True),
    ('a.#', 'a.b', True),
    ('a.#', 'a.b.c', True),       # '#' spans several words
    ('#', 'a.b.c', True),
    ('a.b', 'a.b', True),
    ('a.b', 'aXb', False),        # '.' is literal
])
def test_topic_exchange_wildcards(binding, key, matched):
    # 60: "routes messages based on words separated by dots, using wildcard
    # characters * (any single word), and # (one or more words)."
    topic = vexchange.TopicExchange(None)
    table = [topic.prepare_bind('q', 'e', binding, None)]
    assert (topic.lookup(table, 'e', key, None) == {'q'}) is matched
    assert (re.match(topic.key_to_pattern(binding), key) is not None) is matched


def test_topic_prepare_bind_returns_key_regex_queue():
    # 60: prepare_bind - "Returns (routing_key, regex, queue)"
    topic = vexchange.TopicExchange(None)
    rkey, regex, queue = topic.prepare_bind('q', 'e', 'a.*', None)
    assert (rkey, queue) == ('a.*', 'q')
    assert regex == topic.key_to_pattern('a.*')
    assert re.match(regex, 'a.b')


def test_base_prepare_bind_has_no_regex():
    # 60: ExchangeType.prepare_bind - "(routing_key, regex, queue)"
    assert vexchange.ExchangeType(None).prepare_bind('q', 'e', 'rk', {}) == ('rk', None, 'q')


def test_fanout_exchange_delivers_to_every_bound_queue(channel, names):
    # 60: "delivering copies of all messages to all queues bound to the exchange."
    ex = names('fan')
    queues = [names('f1'), names('f2')]
    channel.exchange_declare(ex, 'fanout')
    for i, q in enumerate(queues):
        channel.queue_declare(q)
        channel.queue_bind(q, ex, f'ignored{i}')
    channel.basic_publish(channel.prepare_message(b'x'), ex, 'whatever')
    for q in queues:
        assert channel.basic_get(q, no_ack=True).body == b'x'
        channel.queue_delete(q)
    table = [('a', None, 'q1'), ('b', None, 'q2')]
    assert vexchange.FanoutExchange(None).lookup(table, 'e', 'zz', None) == {'q1', 'q2'}
    channel.exchange_delete(ex)


def test_exchange_equivalent():
    # 60: equivalent - "Return true if prev and exchange is equivalent."
    et = vexchange.ExchangeType(None)
    prev = {'type': 'direct', 'durable': False, 'auto_delete': False, 'arguments': {}}
    assert et.equivalent(prev, 'e', 'direct', False, False, {})
    assert et.equivalent(prev, 'e', 'direct', False, False, None)
    assert not et.equivalent(prev, 'e', 'topic', False, False, {})
    assert not et.equivalent(prev, 'e', 'direct', True, False, {})
    assert not et.equivalent(prev, 'e', 'direct', False, True, {})
    assert not et.equivalent(prev, 'e', 'direct', False, False, {'x': 1})


def test_exchange_type_lookup_is_abstract():
    # 60: ExchangeType - "Base class for exchanges."
    with pytest.raises(NotImplementedError):
        vexchange.ExchangeType(None).lookup([], 'e', 'rk', None)


# -- 61-kombu.serialization ------------------------------------------------------

def test_serializer_not_installed_is_the_exceptions_class():
    # 61: exception SerializerNotInstalled
    assert serialization.SerializerNotInstalled is exceptions.SerializerNotInstalled


def test_dumps_defaults_to_json():
    # 61: "If None (default), then json will be used"
    assert serialization.dumps({'a': 1}) == ('application/json', 'utf-8', '{"a": 1}')
    assert serialization.dumps([1, 2]) == ('application/json', 'utf-8', '[1, 2]')


def test_dumps_does_not_serialize_strings_without_serializer():
    # 61: "unless data is a str or unicode object. In this latter case, no
    # serialization occurs"
    assert serialization.dumps('hello') == ('text/plain', 'utf-8', b'hello')
    assert serialization.dumps(b'hello') == ('application/data', 'binary', b'hello')


def test_dumps_with_explicit_serializer_serializes_strings():
    # 61: "if serializer is specified, then that serialization method will be
    # used even if a str or unicode object is passed in."
    assert serialization.dumps('hello', serializer='json') == (
        'application/json', 'utf-8', '"hello"')
    ctype, encoding, _ = serialization.dumps('hello', serializer='pickle')
    assert (ctype, encoding) == ('application/x-python-serialize', 'binary')


def test_dumps_returns_three_item_tuple():
    # 61: "A three-item tuple containing the content type ..., content
    # encoding, ... and a string containing the serialized data."
    result = serialization.dumps({'a': 1}, serializer='yaml')
    assert isinstance(result, tuple) and len(result) == 3
    assert result[:2] == ('application/x-yaml', 'utf-8')


def test_dumps_unknown_serializer_raises_serializer_not_installed():
    # 61: "Raises SerializerNotInstalled - If the serialization method
    # requested is not available."
    with pytest.raises(serialization.SerializerNotInstalled,
                       match='No encoder installed for h2-nonexistent'):
        serialization.dumps({'a': 1}, serializer='h2-nonexistent')


def test_raw_encode_special_case():
    # 61: raw_encode(data) - "Special case serializer."
    assert serialization.raw_encode('x') == ('application/data', 'utf-8', b'x')
    assert serialization.raw_encode(b'x') == ('application/data', 'binary', b'x')


@pytest.mark.parametrize('data', [b'{"a": 1}', '{"a": 1}', bytearray(b'{"a": 1}'),
                                  memoryview(b'{"a": 1}')])
def test_loads_accepts_bytes_buffer_and_str(data):
    # 61: data (bytes, buffer, str) - "The message data to deserialize."
    assert serialization.loads(data, 'application/json', 'utf-8') == {'a': 1}


def test_loads_decodes_by_content_type():
    # 61: "Deserialize a data stream as serialized using dumps based on content_type."
    for name in ('json', 'yaml', 'msgpack', 'pickle'):
        ctype, encoding, data = serialization.dumps({'a': [1, 2]}, serializer=name)
        assert serialization.loads(data, ctype, encoding, accept=[ctype]) == {'a': [1, 2]}


def test_loads_accept_rejects_other_content_types():
    # 61: accept (Set) - "List of content-types to accept."; "Raises
    # ContentDisallowed - If the content-type is not accepted."
    assert serialization.loads(b'{"a": 1}', 'application/json', 'utf-8',
                               accept={'application/json'}) == {'a': 1}
    with pytest.raises(exceptions.ContentDisallowed):
        serialization.loads(b'{"a": 1}', 'application/json', 'utf-8',
                            accept={'application/x-python-serialize'})
    with pytest.raises(exceptions.ContentDisallowed):
        serialization.loads(b'{"a": 1}', 'application/json', 'utf-8', accept=[])


def test_loads_trusted_content_is_always_accepted():
    # 61: _trusted_content=frozenset({'application/data', 'application/text'})
    assert serialization.loads(b'x', 'application/data', 'binary', accept=[]) == b'x'
    assert serialization.loads(b'x', 'application/text', 'utf-8', accept=[]) == 'x'


def test_register_and_unregister_serializer():
    # 61: register(name, encoder, decoder, content_type, content_encoding='utf-8'),
    # unregister(name)
    serialization.register('h2spec', lambda d: f'<{d}>', lambda s: ('decoded', s),
                           'application/x-h2spec')
    try:
        assert serialization.dumps(5, serializer='h2spec') == (
            'application/x-h2spec', 'utf-8', '<5>')
        assert serialization.loads('<5>', 'application/x-h2spec', 'utf-8') == (
            'decoded', '<5>')
    finally:
        serialization.unregister('h2spec')
    with pytest.raises(serialization.SerializerNotInstalled):
        serialization.dumps(5, serializer='h2spec')


def test_register_with_encoder_none_only_decodes():
    # 61: "If None, then only a decoder will be registered. Encoding will not
    # be possible."
    serialization.register('h2spec-dec', None, lambda s: ('decoded', s),
                           'application/x-h2spec-dec', 'binary')
    try:
        with pytest.raises(serialization.SerializerNotInstalled):
            serialization.dumps(5, serializer='h2spec-dec')
        assert serialization.loads(b'x', 'application/x-h2spec-dec', 'binary') == (
            'decoded', b'x')
    finally:
        serialization.unregister('h2spec-dec')


def test_register_with_decoder_none_only_encodes():
    # 61: "If None, then only an encoder will be registered. Decoding will not
    # be possible."
    serialization.register('h2spec-enc', lambda d: 'E', None, 'application/x-h2spec-enc')
    try:
        assert serialization.dumps(5, serializer='h2spec-enc') == (
            'application/x-h2spec-enc', 'utf-8', 'E')
        # no decoder: the data is handed back undecoded
        assert serialization.loads(b'E', 'application/x-h2spec-enc', 'utf-8') == 'E'
    finally:
        serialization.unregister('h2spec-enc')


def test_unregister_unknown_raises_serializer_not_installed():
    # 61: unregister - "Raises SerializerNotInstalled - If a serializer by that
    # name cannot be found."
    with pytest.raises(serialization.SerializerNotInstalled,
                       match='No encoder/decoder installed for h2-nonexistent'):
        serialization.unregister('h2-nonexistent')


def test_global_registry():
    # 61: registry - "Global registry of serializers/deserializers."
    assert type(serialization.registry).__name__ == 'SerializerRegistry'
    assert {'json', 'pickle', 'yaml', 'msgpack'} <= set(serialization.registry._encoders)


# -- 22-kombu.compression ----------------------------------------------------------

def test_compress_returns_body_and_content_type():
    # 22: compress(body, content_type) - "Compress text."
    assert compression.compress(b'hello', 'zlib') == (zlib.compress(b'hello'),
                                                      'application/x-gzip')
    assert compression.compress('hello', 'application/x-gzip')[0] == zlib.compress(b'hello')


@pytest.mark.parametrize('method', ['zlib', 'bzip2', 'lzma'])
def test_decompress_round_trip(method):
    # 22: decompress(body, content_type) - "Decompress compressed text."
    body, ctype = compression.compress(b'hello world', method)
    assert compression.decompress(body, ctype) == b'hello world'


def test_encoders_lists_available_methods():
    # 22: encoders() - "Return a list of available compression methods."
    available = compression.encoders()
    assert isinstance(available, list)
    assert {'application/x-gzip', 'application/x-bz2', 'application/x-lzma'} <= set(available)


def test_get_encoder_and_decoder_by_alias():
    # 22: get_encoder(t)/get_decoder(t) - "Get encoder/decoder by alias name."
    encoder, ctype = compression.get_encoder('gzip')
    assert ctype == 'application/x-gzip' and encoder(b'x') == zlib.compress(b'x')
    assert compression.get_decoder('zlib')(zlib.compress(b'x')) == b'x'
    with pytest.raises(KeyError):
        compression.get_encoder('h2-nonexistent')
    with pytest.raises(KeyError):
        compression.get_decoder('h2-nonexistent')


def test_register_compression_method_with_aliases():
    # 22: register(encoder, decoder, content_type, aliases=None)
    compression.register(lambda b: b'<' + b + b'>', lambda b: b[1:-1],
                         'application/x-h2spec', aliases=['h2spec', 'h2spec2'])
    assert compression.compress(b'hi', 'h2spec') == (b'<hi>', 'application/x-h2spec')
    assert compression.compress(b'hi', 'h2spec2') == (b'<hi>', 'application/x-h2spec')
    assert compression.decompress(b'<hi>', 'application/x-h2spec') == b'hi'
    assert 'application/x-h2spec' in compression.encoders()


# -- 18-kombu.exceptions -----------------------------------------------------------

def test_documented_exceptions():
    # 18: NotBoundError, MessageStateError, TimeoutError, LimitExceeded,
    # ConnectionLimitExceeded, ChannelLimitExceeded
    assert exceptions.TimeoutError is socket.timeout
    assert issubclass(exceptions.NotBoundError, exceptions.KombuError)
    assert issubclass(exceptions.MessageStateError, exceptions.KombuError)
    assert issubclass(exceptions.ConnectionLimitExceeded, exceptions.LimitExceeded)
    assert issubclass(exceptions.ChannelLimitExceeded, exceptions.LimitExceeded)
    assert issubclass(exceptions.LimitExceeded, exceptions.KombuError)
    assert exceptions.NotBoundError.__doc__ == (
        'Trying to call channel dependent method on unbound entity.')
    assert exceptions.MessageStateError.__doc__ == 'The message has already been acknowledged.'
    assert exceptions.LimitExceeded.__doc__ == 'Limit exceeded.'
    assert exceptions.ConnectionLimitExceeded.__doc__ == (
        'Maximum number of simultaneous connections exceeded.')
    assert exceptions.ChannelLimitExceeded.__doc__ == (
        'Maximum number of simultaneous channels exceeded.')


# -- 15-kombu.clocks ---------------------------------------------------------------

def test_lamport_clock_defaults():
    # 15: LamportClock(initial_value=0, Lock=allocate_lock); value = 0
    assert clocks.LamportClock.value == 0
    assert clocks.LamportClock().value == 0
    assert clocks.LamportClock(initial_value=5).value == 5
    assert clocks.LamportClock(3, threading.RLock).forward() == 4


def test_lamport_clock_forward_increments():
    # 15: "When sending a message use forward() to increment the clock"
    clock = clocks.LamportClock()
    assert clock.forward() == 1
    assert clock.forward() == 2
    assert clock.value == 2


def test_lamport_clock_adjust_goes_past_the_maximum():
    # 15: "the receiver process sets its counter to be greater than the maximum
    # of its own value and the received value"
    clock = clocks.LamportClock(initial_value=4)
    assert clock.adjust(10) == 11
    assert clock.adjust(3) == 12
    assert clock.value == 12


def test_sort_heap_returns_latest_event_without_unpacking():
    # 15: sort_heap - "Will return the latest event." ... "The tuple will not be
    # unpacked, so more than two elements can be present."
    clock = clocks.LamportClock()
    assert clock.sort_heap([(1, 'a'), (2, 'b')]) == (1, 'a')
    assert clock.sort_heap([(1, 'a', 'x', 'y'), (3, 'b', 'z')]) == (1, 'a', 'x', 'y')


def test_timetuple_fields():
    # 15: timetuple(clock, timestamp, id, obj) - obj is optional
    t = clocks.timetuple(1, 2.0, 'host:1', 'obj')
    assert (t.clock, t.timestamp, t.id, t.obj) == (1, 2.0, 'host:1', 'obj')
    assert clocks.timetuple(1, 2.0, 'host:1').obj is None
    assert isinstance(t, tuple)


def test_timetuple_orders_as_part_of_a_heap():
    # 15: "Can be used as part of a heap to keep events ordered."
    import heapq
    heap = []
    for event in (clocks.timetuple(3, 1.0, 'a'), clocks.timetuple(1, 5.0, 'b'),
                  clocks.timetuple(2, 0.5, 'c')):
        heapq.heappush(heap, event)
    assert [heapq.heappop(heap).clock for _ in range(3)] == [1, 2, 3]
    assert clocks.timetuple(1, 1.0, 'b') < clocks.timetuple(2, 0.5, 'a')
    assert clocks.timetuple(1, 1.0, 'a') < clocks.timetuple(1, 1.0, 'b')


# -- 12-kombu.matcher --------------------------------------------------------------

def test_matcher_not_installed_exception():
    # 12: exception MatcherNotInstalled / MatcherRegistry.MatcherNotInstalled
    assert matcher.MatcherRegistry.MatcherNotInstalled is matcher.MatcherNotInstalled
    with pytest.raises(matcher.MatcherNotInstalled):
        matcher.match('data', 'pattern', matcher='h2-nonexistent')


def test_match_defaults_to_glob_and_returns_bool():
    # 12: "If None (default), then glob will be used."; "Returns True if data
    # matches pattern, False otherwise."
    assert matcher.match('hello', 'h*') is True
    assert matcher.match('hello', 'x*') is False
    assert matcher.match('hello', 'h?llo', matcher='glob') is True


def test_match_pcre_and_matcher_kwargs():
    # 12: matcher - "(for example, glob or pcre)"; matcher_kwargs - "Additional
    # keyword arguments that will be passed to the specified matcher."
    assert matcher.match('hello', 'h.*o', matcher='pcre') is True
    assert matcher.match('hello', 'e.*', matcher='pcre') is False
    assert matcher.match('hello', 'HELLO', matcher='pcre') is False
    assert matcher.match('hello', 'HELLO', matcher='pcre',
                         matcher_kwargs={'flags': re.IGNORECASE}) is True


def test_matcher_pattern_first():
    # 12: matcher_pattern_first = ['pcre']
    assert matcher.MatcherRegistry.matcher_pattern_first == ['pcre']
    registry = matcher.MatcherRegistry()
    calls = []
    registry.register('pcre', lambda *args: calls.append(('pcre', args)) or True)
    registry.register('mine', lambda *args: calls.append(('mine', args)) or True)
    registry.match('DATA', 'PAT', matcher='pcre')
    registry.match('DATA', 'PAT', matcher='mine')
    assert calls == [('pcre', ('PAT', 'DATA')), ('mine', ('DATA', 'PAT'))]


def test_register_and_unregister_matcher():
    # 12: register(name, matcher) - "A method that will be passed data and
    # pattern."; unregister(name)
    matcher.register('h2spec', lambda data, pattern: data == pattern[::-1])
    try:
        assert matcher.match('abc', 'cba', matcher='h2spec') is True
        assert matcher.match('abc', 'abc', matcher='h2spec') is False
    finally:
        matcher.unregister('h2spec')
    with pytest.raises(matcher.MatcherNotInstalled):
        matcher.match('abc', 'cba', matcher='h2spec')
    with pytest.raises(matcher.MatcherNotInstalled):
        matcher.unregister('h2spec')


def test_register_glob_and_pcre_into_default_registry():
    # 12: register_glob()/register_pcre() - "Register glob/pcre into default registry."
    assert type(matcher.registry).__name__ == 'MatcherRegistry'
    matcher.register_glob()
    matcher.register_pcre()
    assert {'glob', 'pcre'} <= set(matcher.registry._matchers)
