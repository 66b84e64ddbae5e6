"""Building blocks of the virtual engine: state, QoS, codecs, messages, transport."""
from __future__ import annotations

import io

import pytest

from kombu import Connection
from kombu.transport import virtual
from kombu.transport.virtual import base as vbase


@pytest.fixture
def names(unique_name):
    return lambda suffix: f'{unique_name}.{suffix}'


def test_base64_round_trip():
    codec = virtual.Base64()
    assert codec.encode(b'abc') == 'YWJj'
    assert codec.encode('abc') == 'YWJj'
    assert codec.decode('YWJj') == b'abc'


def test_exported_names():
    assert virtual.Empty is vbase.Empty
    assert issubclass(virtual.UndeliverableWarning, UserWarning)
    assert issubclass(virtual.NotEquivalentError, Exception)
    assert virtual.binding_key_t._fields == ('queue', 'exchange', 'routing_key')
    assert virtual.queue_binding_t._fields == ('exchange', 'routing_key', 'arguments')


def test_broker_state_tracks_bindings_per_queue():
    state = virtual.BrokerState()
    state.binding_declare('q', 'ex', 'k', {'a': 1})
    state.binding_declare('q', 'ex2', 'k2', None)
    assert state.has_binding('q', 'ex', 'k')
    assert sorted(state.queue_bindings('q')) == [
        ('ex', 'k', {'a': 1}), ('ex2', 'k2', None)]
    state.binding_delete('q', 'ex', 'k')
    assert not state.has_binding('q', 'ex', 'k')
    state.queue_bindings_delete('q')
    assert state.bindings == {} and state.queue_index == {}


def test_broker_state_route_cache_is_dropped_on_change():
    state = virtual.BrokerState()
    generation = state.routes_generation
    state.cache_route(('ex', 'k'), ('q',), generation)
    assert state.routes == {('ex', 'k'): ('q',)}
    state.binding_declare('q2', 'ex', 'k', None)
    assert state.routes == {}
    state.cache_route(('ex', 'k'), ('q',), generation)  # stale: ignored
    assert state.routes == {}


def test_broker_state_clear():
    state = virtual.BrokerState({'ex': {}})
    state.binding_declare('q', 'ex', 'k', None)
    state.clear()
    assert state.exchanges == {} and state.bindings == {}


class FakeChannel:
    do_restore = False
    restore_to_head = True

    def __init__(self):
        self.restored = []
        self.settled = []

    def _restore_at_beginning(self, message):
        self.restored.insert(0, message)

    def _restore(self, message):
        self.restored.append(message)

    def _on_ack(self, messages):
        self.settled.append(('ack', messages))

    def _on_reject(self, messages, requeue):
        self.settled.append(('reject', messages, requeue, list(self.restored)))


def test_qos_prefetch_window():
    qos = virtual.QoS(FakeChannel(), prefetch_count=2)
    assert qos.can_consume() and qos.can_consume_max_estimate() == 2
    qos.append('m1', 1)
    qos.append('m2', 2)
    assert not qos.can_consume() and qos.can_consume_max_estimate() == 0
    qos.ack(1)
    assert qos.can_consume() and qos.get(2) == 'm2'
    qos.prefetch_count = 0
    assert qos.can_consume() and qos.can_consume_max_estimate() is None


def test_qos_reject_requeues_only_when_asked():
    channel = FakeChannel()
    qos = virtual.QoS(channel)
    qos.append('m1', 1)
    qos.append('m2', 2)
    qos.reject(1)
    qos.reject(2, requeue=True)
    assert channel.restored == ['m2']
    assert not qos._delivered


def test_qos_ack_tells_the_channel_which_message_was_settled():
    channel = FakeChannel()
    qos = virtual.QoS(channel)
    qos.append('m1', 1)
    qos.ack(1)
    qos.ack(1)                         # already settled: no second call
    assert channel.settled == [('ack', ['m1'])]


def test_qos_ack_multiple_settles_all_up_to_the_tag_in_one_call():
    channel = FakeChannel()
    qos = virtual.QoS(channel)
    for tag, message in enumerate(['a', 'b', 'c'], 1):
        qos.append(message, tag)
    qos.ack_multiple(2)
    assert channel.settled == [('ack', ['a', 'b'])]
    assert qos.take_all() == ['c']


def test_qos_reject_hook_runs_after_the_requeue():
    channel = FakeChannel()
    qos = virtual.QoS(channel)
    qos.append('m1', 1)
    qos.append('m2', 2)
    qos.reject(1)
    qos.reject(2, requeue=True)
    qos.reject(3)                      # unknown tag: no call
    assert channel.settled == [('reject', ['m1'], False, []),
                               ('reject', ['m2'], True, ['m2'])]


def test_qos_take_removes_without_settling():
    channel = FakeChannel()
    qos = virtual.QoS(channel)
    for tag, message in enumerate(['a', 'b', 'c'], 1):
        qos.append(message, tag)
    assert qos.take(2) == ['b'] and qos.take(2) == []
    assert qos.take(3, multiple=True) == ['a', 'c']
    assert qos.take_all() == [] and channel.settled == []


def test_settle_each_tries_every_message_then_raises_the_first_error():
    seen = []

    def settle(message):
        seen.append(message)
        if message in ('b', 'c'):
            raise RuntimeError(message)

    with pytest.raises(RuntimeError, match='b'):
        virtual.Channel._settle_each(['a', 'b', 'c', 'd'], settle)
    assert seen == ['a', 'b', 'c', 'd']
    virtual.Channel._settle_each([], settle)


def test_qos_restore_unacked_keeps_order():
    channel = FakeChannel()
    qos = virtual.QoS(channel)
    for tag, message in enumerate(['a', 'b', 'c'], 1):
        qos.append(message, tag)
    assert qos.restore_unacked() == []
    assert channel.restored == ['a', 'b', 'c']
    channel.restore_to_head = False
    channel.restored.clear()
    qos.append('x', 4)
    qos.append('y', 5)
    qos.restore_unacked()
    assert channel.restored == ['x', 'y']


def test_qos_restore_unacked_once_runs_once_and_reports_errors():
    class Failing(FakeChannel):
        def _restore_at_beginning(self, message):
            raise RuntimeError('disk full')

    qos = virtual.QoS(Failing())
    qos.append('m', 1)
    stderr = io.StringIO()
    qos.restore_unacked_once(stderr=stderr)
    assert 'UNABLE TO RESTORE 1 MESSAGES' in stderr.getvalue()
    qos.append('m2', 2)
    qos.restore_unacked_once(stderr=stderr)
    assert qos._delivered == {2: 'm2'}


def test_qos_restore_at_shutdown_can_be_disabled():
    channel = FakeChannel()
    qos = virtual.QoS(channel)
    qos.restore_at_shutdown = False
    qos.append('m', 1)
    qos.restore_unacked_once()
    assert channel.restored == []


def test_abstract_primitives_raise_naming_the_class():
    class Incomplete(virtual.AbstractChannel):
        pass

    channel = Incomplete()
    for call in (lambda: channel._get('q'), lambda: channel._put('q', {}),
                 lambda: channel._purge('q'), lambda: channel._size('q')):
        with pytest.raises(NotImplementedError, match='Incomplete'):
            call()
    assert channel._has_queue('q') is True
    assert channel._new_queue('q') is None


def test_channel_defaults():
    channel_cls = virtual.Channel
    assert channel_cls.do_restore is True
    assert channel_cls.body_encoding == 'base64'
    assert channel_cls.deadletter_queue is None
    assert channel_cls.from_transport_options == ('body_encoding', 'deadletter_queue')
    assert (channel_cls.default_priority, channel_cls.min_priority,
            channel_cls.max_priority) == (0, 0, 9)
    assert set(channel_cls.exchange_types) == {'direct', 'topic', 'fanout'}
    assert virtual.Transport.polling_interval == 1.0
    assert virtual.Transport.default_port is None


def test_message_priority_is_clamped():
    with Connection('memory://') as conn, conn.channel() as ch:
        def message(priority):
            return {'properties': {'priority': priority}}
        assert ch._get_message_priority(message(5)) == 5
        assert ch._get_message_priority(message(50)) == 9
        assert ch._get_message_priority(message(-1)) == 0
        assert ch._get_message_priority(message('x')) == 0
        assert ch._get_message_priority(message(2), reverse=True) == 7


def test_prepare_message_layout():
    with Connection('memory://') as conn, conn.channel() as ch:
        message = ch.prepare_message('b', priority=3, content_type='text/plain',
                                     content_encoding='utf-8', headers={'h': 1},
                                     properties={'reply_to': 'r'})
        assert message == {
            'body': 'b', 'content-type': 'text/plain', 'content-encoding': 'utf-8',
            'headers': {'h': 1},
            'properties': {'reply_to': 'r', 'priority': 3, 'delivery_info': {}}}


def test_published_messages_get_unique_ids(names):
    q = names('q')
    with Connection('memory://') as conn, conn.channel() as ch:
        ch.queue_declare(q)
        for _ in range(3):
            ch.basic_publish(ch.prepare_message(b'x'), '', q)
        ids = {ch.basic_get(q).properties['delivery_tag'] for _ in range(3)}
        assert len(ids) == 3


def test_delivery_tags_are_increasing_ints_per_channel(names):
    q = names('q')
    with Connection('memory://') as conn, conn.channel() as ch:
        ch.queue_declare(q)
        for _ in range(3):
            ch.basic_publish(ch.prepare_message(b'x'), '', q)
        tags = [ch.basic_get(q).delivery_tag for _ in range(3)]
        assert tags == sorted(tags) and len(set(tags)) == 3
        assert all(isinstance(t, int) for t in tags)


def test_message_serializable_gives_stored_dict(names):
    q = names('q')
    conn = Connection('memory://', transport_options={'body_encoding': 'base64'})
    with conn, conn.channel() as ch:
        ch.queue_declare(q)
        ch.basic_publish(ch.prepare_message(b'abc', headers={'h': 1}), '', q)
        message = ch.basic_get(q)
        data = message.serializable()
        assert data['body'] == 'YWJj' and data['headers'] == {'h': 1}
        assert data['properties']['body_encoding'] == 'base64'
        assert message.body == b'abc'


def test_transport_reuses_channel_ids_and_closes_channels():
    conn = Connection('memory://')
    transport = conn.transport
    c1 = conn.channel()
    c2 = conn.channel()
    assert c1.channel_id != c2.channel_id
    freed = c1.channel_id
    c1.close()
    assert c1 not in transport.channels and not c1.is_open
    c3 = conn.channel()
    assert c3.channel_id == freed
    conn.close()
    assert transport.channels == []
    assert c2.closed and c3.closed


def test_transport_connection_is_itself():
    conn = Connection('memory://')
    assert conn.connection is conn.transport
    assert conn.default_channel.connection.client is conn
    conn.close()


def test_polling_interval_transport_option():
    conn = Connection('memory://', transport_options={'polling_interval': 0.25})
    assert conn.transport.polling_interval == 0.25


def test_management_lists_bindings(names):
    ex, q = names('ex'), names('q')
    conn = Connection('memory://')
    with conn.channel() as ch:
        ch.exchange_declare(ex)
        ch.queue_declare(q)
        ch.queue_bind(q, ex, 'k')
    manager = conn.transport.get_manager()
    assert {'destination': q, 'source': ex, 'routing_key': 'k',
            'destination_type': 'queue'} in manager.get_bindings()
    manager.close()
    conn.close()


def test_deliver_for_native_pollers_uses_registered_callback(names):
    q = names('q')
    conn = Connection('memory://')
    ch = conn.channel()
    ch.queue_declare(q)
    received = []
    ch.basic_consume(q, True, received.append, 'ctag')
    conn.transport._deliver({'body': b'x', 'properties': {}}, q)
    assert [m.body for m in received] == [b'x']
    ch.basic_cancel('ctag')
    conn.transport._deliver({'body': b'y', 'properties': {}}, q)
    assert ch._size(q) == 1
    conn.close()


def test_basic_get_passes_accept_to_message(names):
    q = names('q')
    with Connection('memory://') as conn, conn.channel() as ch:
        ch.queue_declare(q)
        ch.basic_publish(ch.prepare_message(b'{}', content_type='application/json'), '', q)
        message = ch.basic_get(q, no_ack=True, accept={'application/json'})
        assert message.accept == {'application/json'}
        assert message.decode() == {}


# -- Kombu 4.6.7 parity ------------------------------------------------------

def test_prepare_message_defaults():
    with Connection('memory://') as conn, conn.channel() as ch:
        assert ch.prepare_message('body') == {
            'body': 'body', 'content-encoding': None, 'content-type': None,
            'headers': {}, 'properties': {'delivery_info': {}, 'priority': 0}}
        # an explicit priority property wins over the argument
        assert ch.prepare_message('b', 5, properties={'priority': 7})['properties'] == {
            'priority': 7, 'delivery_info': {}}


def test_message_from_payload_dict_keeps_its_stored_id_and_decodes_base64():
    payload = {
        'body': 'aGVsbG8=', 'content-type': 'text/plain', 'content-encoding': 'utf-8',
        'headers': {'h': 1},
        'properties': {'body_encoding': 'base64', 'priority': 3, 'delivery_tag': 'tag1',
                       'delivery_info': {'exchange': 'e', 'routing_key': 'r', 'priority': 3}},
    }
    with Connection('memory://') as conn, conn.channel() as ch:
        message = virtual.Message(payload, channel=ch)
        assert message.body == b'hello'
        assert message.payload == 'hello'
        assert message.delivery_tag == 'tag1'
        info = message.delivery_info
        assert (info['exchange'], info['routing_key'], info['priority']) == ('e', 'r', 3)
        assert (message.content_type, message.content_encoding, message.headers) == (
            'text/plain', 'utf-8', {'h': 1})
        assert message.serializable() == payload
        assert virtual.Message(payload, channel=ch, delivery_tag=7).delivery_tag == 7
        assert ch.message_to_python(payload).delivery_tag == 'tag1'
        # without a stored id the channel numbers it
        bare = {'body': 'x', 'properties': {}}
        assert isinstance(virtual.Message(bare, channel=ch).delivery_tag, int)


def test_broker_state_queue_index_is_a_set_per_queue():
    state = virtual.BrokerState()
    assert state.queue_index['unknown'] == set()
    state.binding_declare('q', 'x', 'rk', {'a': 1})
    state.binding_declare('q', 'x', 'rk', {'b': 1})   # first declaration wins
    assert state.bindings == {('q', 'x', 'rk'): {'a': 1}}
    assert state.queue_index['q'] == {('q', 'x', 'rk')}
    assert list(state.queue_bindings('q')) == [('x', 'rk', {'a': 1})]
    state.queue_bindings_delete('q')
    assert (state.bindings, dict(state.queue_index)) == ({}, {'unknown': set()})


def test_restore_unacked_once_reports_on_stderr(names):
    import io
    q = names('q')
    with Connection('memory://') as conn:
        ch = conn.channel()
        ch.do_restore = True
        for body in (b'a', b'b'):
            ch.basic_publish(ch.prepare_message(body), '', q)
        assert ch.basic_get(q) is not None and ch.basic_get(q) is not None
        out = io.StringIO()
        ch.qos.restore_unacked_once(stderr=out)
        assert out.getvalue() == 'Restoring 2 unacknowledged message(s)\n'
        assert ch._size(q) == 2
        ch.qos.restore_unacked_once(stderr=out)   # only once
        assert out.getvalue() == 'Restoring 2 unacknowledged message(s)\n'
        ch.queue_delete(q)
        ch.close()
