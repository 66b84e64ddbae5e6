"""kombu.entity: Exchange, Queue, binding declarations (on memory://)."""
from __future__ import annotations

import pickle

import pytest

from kombu import Connection, Exchange, Queue, binding
from kombu.entity import (
    DELIVERY_MODES,
    PERSISTENT_DELIVERY_MODE,
    TRANSIENT_DELIVERY_MODE,
    maybe_delivery_mode,
)
from kombu.exceptions import NotBoundError


@pytest.fixture
def conn():
    with Connection('memory://') as c:
        yield c


@pytest.fixture
def channel(conn):
    return conn.default_channel


class TestDeliveryMode:
    def test_constants(self):
        assert (TRANSIENT_DELIVERY_MODE, PERSISTENT_DELIVERY_MODE) == (1, 2)
        assert DELIVERY_MODES == {'transient': 1, 'persistent': 2}

    def test_maybe_delivery_mode(self):
        assert maybe_delivery_mode(None) == 2
        assert maybe_delivery_mode('transient') == 1
        assert maybe_delivery_mode('persistent') == 2
        assert maybe_delivery_mode(1) == 1

    def test_unknown_alias_names_the_value(self):
        with pytest.raises(ValueError, match='bogus'):
            maybe_delivery_mode('bogus')
        with pytest.raises(KeyError):
            maybe_delivery_mode('bogus')


class TestExchange:
    def test_defaults(self):
        e = Exchange('e')
        assert (e.name, e.type, e.durable, e.auto_delete, e.passive) == \
            ('e', 'direct', True, False, False)
        assert e.delivery_mode is None and e.arguments is None and e.no_declare is False
        assert Exchange().name == ''

    def test_delivery_mode_alias_converted(self):
        assert Exchange('e', delivery_mode='transient').delivery_mode == 1
        assert Exchange('e', delivery_mode=2).delivery_mode == 2

    def test_repr_and_str(self, channel):
        assert repr(Exchange('e', 'fanout')) == '<unbound Exchange e(fanout)>'
        assert str(Exchange('')) == "Exchange ''(direct)"
        bound = Exchange('e')(channel)
        assert repr(bound).startswith('<Exchange e(direct) bound to chan:')

    def test_eq_and_hash(self):
        assert Exchange('e') == Exchange('e')
        assert Exchange('e') != Exchange('e', 'topic')
        assert Exchange('e') != Exchange('e', durable=False)
        assert Exchange('e') != 'e'
        assert hash(Exchange('e')) == hash(Exchange('e', 'topic'))
        assert len({Exchange('e'), Exchange('e')}) == 1

    def test_pickle_roundtrip(self):
        e = Exchange('e', 'topic', durable=False, auto_delete=True, arguments={'a': 1},
                     delivery_mode=1)
        e2 = pickle.loads(pickle.dumps(e))
        assert e2 == e and e2.auto_delete and e2.arguments == {'a': 1}

    def test_unbound_operations_raise(self):
        with pytest.raises(NotBoundError):
            Exchange('e').declare()
        with pytest.raises(NotBoundError):
            Exchange('e').delete()

    def test_call_binds_a_copy(self, channel):
        e = Exchange('e')
        bound = e(channel)
        assert bound is not e and bound.is_bound and not e.is_bound
        assert bound.channel is channel
        assert e.maybe_bind(channel) is e and e.is_bound

    def test_bind_to_connection_uses_default_channel(self, conn):
        assert Exchange('e')(conn).channel is conn.default_channel

    def test_can_cache_declaration(self):
        assert Exchange('e').can_cache_declaration
        assert not Exchange('e', auto_delete=True).can_cache_declaration

    def test_declare_publish_delete(self, channel, unique_name):
        ex = Exchange(unique_name, 'direct')(channel)
        ex.declare()
        q = Queue(unique_name, ex, 'rk')(channel)
        q.declare()
        ex.publish(ex.Message('hello', content_type='text/plain'), routing_key='rk')
        m = q.get(no_ack=True)
        assert m.body == b'hello' and m.payload == 'hello'
        assert m.properties['delivery_mode'] == 2
        ex.publish('raw string', routing_key='rk')
        assert q.get(no_ack=True).body == b'raw string'
        q.delete()
        ex.delete()

    def test_message_transient(self, channel):
        m = Exchange('e', delivery_mode='transient')(channel).Message(b'x')
        assert m['properties']['delivery_mode'] == 1

    def test_no_declare_and_nameless_do_nothing(self, channel):
        assert Exchange('x', no_declare=True)(channel).declare() is None
        assert Exchange('')(channel).declare() is None

    def test_binding_helper(self):
        e = Exchange('e')
        b = e.binding('rk', arguments={'x': 1})
        assert isinstance(b, binding)
        assert (b.exchange, b.routing_key, b.arguments) == (e, 'rk', {'x': 1})
        assert repr(b) == '<binding: e->rk>'


class TestQueue:
    def test_defaults(self):
        q = Queue('q')
        assert q.name == 'q'
        assert q.exchange == Exchange('')
        assert q.routing_key == ''
        assert q.durable is True and q.exclusive is False and q.auto_delete is False
        assert q.no_ack is False
        assert q.queue_arguments is None and q.binding_arguments is None
        assert q.consumer_arguments is None and q.alias is None
        assert q.bindings == set()

    def test_exchange_given_as_name(self):
        assert Queue('q', 'ex').exchange == Exchange('ex')

    def test_exclusive_implies_auto_delete(self):
        q = Queue('q', exclusive=True)
        assert q.exclusive and q.auto_delete
        assert not q.can_cache_declaration
        assert Queue('q').can_cache_declaration

    def test_repr(self, channel):
        assert repr(Queue('q', Exchange('e'), 'rk')) == \
            '<unbound Queue q -> <unbound Exchange e(direct)> -> rk>'
        b = Queue('bq', bindings=[Exchange('e1').binding('k1'), Exchange('e2').binding('k2')])
        assert repr(b) in ('<unbound Queue bq -> [e1->k1, e2->k2]>',
                           '<unbound Queue bq -> [e2->k2, e1->k1]>')  # a set: any order
        assert 'bound to chan:' in repr(Queue('q')(channel))

    def test_eq_hash_pickle(self):
        q = Queue('q', Exchange('e'), 'rk', queue_arguments={'x-a': 1})
        assert q == Queue('q', Exchange('e'), 'rk', queue_arguments={'x-a': 1})
        assert q != Queue('q', Exchange('e'), 'other')
        assert hash(q) == hash(Queue('q'))
        q2 = pickle.loads(pickle.dumps(q))
        assert q2 == q

    def test_as_dict(self):
        q = Queue('q', Exchange('e', 'topic'), 'rk')
        d = q.as_dict()
        assert d['name'] == 'q' and d['exchange'] == Exchange('e', 'topic')
        r = q.as_dict(recurse=True)
        assert r['exchange']['name'] == 'e' and r['exchange']['type'] == 'topic'

    def test_from_dict(self):
        q = Queue.from_dict('fq', exchange='fe', exchange_type='topic', routing_key='r',
                            binding_key='bk', queue_arguments={'x': 1},
                            exchange_durable=False, durable=True)
        assert q.name == 'fq' and q.routing_key == 'bk'
        assert q.exchange.name == 'fe' and q.exchange.type == 'topic'
        assert q.exchange.durable is False and q.durable is True
        assert q.queue_arguments == {'x': 1}

    def test_x_arguments_go_through_prepare_queue_arguments(self, channel, unique_name):
        seen = {}

        class RabbitSpy:
            """A memory channel that, like py-amqp, turns the options into x-arguments."""

            def __getattr__(self, name):
                return getattr(channel, name)

            def prepare_queue_arguments(self, arguments, **kwargs):
                from kombu.transport.base import to_rabbitmq_queue_arguments
                seen['prepare'] = (arguments, kwargs)
                return to_rabbitmq_queue_arguments(arguments, **kwargs)

            def queue_declare(self, **kwargs):
                seen.update(kwargs)
                return channel.queue_declare(**kwargs)

        q = Queue(unique_name, message_ttl=1.5, expires=2, max_length=10,
                  max_length_bytes=1000, max_priority=5, queue_arguments={'a': 1})
        q.queue_declare(channel=RabbitSpy())
        assert seen['prepare'] == ({'a': 1}, {
            'expires': 2.0, 'message_ttl': 1.5, 'max_length': 10,
            'max_length_bytes': 1000, 'max_priority': 5})
        assert seen['arguments'] == {'a': 1, 'x-message-ttl': 1500, 'x-expires': 2000,
                                     'x-max-length': 10, 'x-max-length-bytes': 1000,
                                     'x-max-priority': 5}
        assert q.queue_arguments == {'a': 1}  # the declaration itself is unchanged
        assert q.message_ttl == 1.5 and q.max_priority == 5
        channel.queue_delete(unique_name)

    def test_declare_bind_get_purge_delete(self, channel, unique_name):
        declared = []
        q = Queue(unique_name, Exchange(unique_name), 'rk',
                  on_declared=lambda *ret: declared.append(ret))(channel)
        assert q.declare() == unique_name
        assert declared and declared[0][0] == unique_name
        producer = channel.connection.client.Producer(channel)
        for i in range(3):
            producer.publish({'i': i}, exchange=q.exchange, routing_key='rk')
        assert q.queue_declare(passive=True).message_count == 3
        m = q.get()
        assert m.payload == {'i': 0}
        m.ack()
        assert q.purge() == 2
        assert q.get() is None
        q.delete()

    def test_get_accept(self, channel, unique_name):
        q = Queue(unique_name)(channel)
        q.declare()
        producer = channel.connection.client.Producer(channel)
        producer.publish({'a': 1}, routing_key=unique_name)
        m = q.get(accept=['pickle'])
        with pytest.raises(q.ContentDisallowed):
            m.decode()
        m.ack()
        q.delete()

    def test_bindings(self, channel, unique_name):
        e1, e2 = Exchange(f'{unique_name}.1'), Exchange(f'{unique_name}.2')
        q = Queue(unique_name, bindings=[binding(e1, 'k1'), binding(e2, 'k2')])(channel)
        q.declare()
        producer = channel.connection.client.Producer(channel)
        producer.publish('one', exchange=e1, routing_key='k1')
        producer.publish('two', exchange=e2, routing_key='k2')
        producer.publish('lost', exchange=e2, routing_key='k1')
        assert [q.get(no_ack=True).payload for _ in range(2)] == ['one', 'two']
        assert q.get() is None
        q.unbind_from(e1, 'k1')
        producer.publish('after unbind', exchange=e1, routing_key='k1')
        assert q.get() is None
        q.delete()

    def test_queue_unbind(self, channel, unique_name):
        ex = Exchange(unique_name)
        q = Queue(unique_name, ex, 'rk')(channel)
        q.declare()
        q.queue_unbind()
        channel.connection.client.Producer(channel).publish('x', exchange=ex, routing_key='rk')
        assert q.get() is None
        q.delete()

    def test_consume_and_cancel(self, conn, channel, unique_name):
        q = Queue(unique_name)(channel)
        q.declare()
        got = []
        tag = q.consume('mytag', callback=got.append, no_ack=True)
        assert tag == 'mytag'
        conn.Producer(channel).publish('x', routing_key=unique_name)
        conn.drain_events(timeout=1)
        assert len(got) == 1
        q.cancel('mytag')
        q.delete()

    def test_no_declare(self, channel, unique_name):
        q = Queue(unique_name, no_declare=True)(channel)
        q.declare()
        assert not channel._has_queue(unique_name)

    def test_anonymous_name_from_server(self, channel):
        q = Queue('', exclusive=True)(channel)
        try:
            q.declare()
        except Exception:  # transports that cannot invent names
            pytest.skip('transport does not generate queue names')
        assert q.name
