"""kombu.entity behaviour pinned against Kombu 4.6.7 (run as a black box) and the spec."""
from __future__ import annotations

import copy
import pickle

import pytest

from kombu import Connection, Exchange, Queue, binding
from kombu.entity import PERSISTENT_DELIVERY_MODE, TRANSIENT_DELIVERY_MODE


@pytest.fixture
def channel():
    with Connection('memory://') as conn:
        yield conn.default_channel


class Recorder:
    """A duck-typed channel recording what the entities send to it."""

    channel_id = 7

    def __init__(self, prepare: bool = True) -> None:
        self.calls: list = []
        if prepare:
            self.prepare_queue_arguments = self._prepare

    def _prepare(self, arguments, **kwargs):
        self.calls.append(('prepare', arguments, kwargs))
        return {'prepared': True}

    def queue_declare(self, **kwargs):
        self.calls.append(('queue_declare', kwargs))
        return (kwargs['queue'], 0, 0)

    def exchange_declare(self, **kwargs):
        self.calls.append(('exchange_declare', kwargs))

    def queue_bind(self, **kwargs):
        self.calls.append(('queue_bind', kwargs))

    def prepare_message(self, body, **kwargs):
        return {'body': body, **kwargs}

    def basic_publish(self, message, **kwargs):
        self.calls.append(('basic_publish', message, kwargs))


class TestBindingText:
    def test_str_and_repr_do_not_quote_empty_names(self):
        assert str(binding(Exchange('a'), 'x')) == 'a->x'
        assert str(binding(Exchange('a'), '')) == 'a->'
        assert repr(binding(Exchange(''), '')) == '<binding: ->>'
        assert repr(Queue('q', bindings=[binding(Exchange('b'))])) == \
            '<unbound Queue q -> [b->]>'

    def test_str_exchange_name_and_missing_exchange(self):
        assert str(binding('bx', 'k')) == 'bx->k'
        assert repr(binding()) == '<binding: ->>'


class TestQueueBindings:
    def test_bindings_is_a_set(self):
        b = binding(Exchange('bx'), 'k')
        assert Queue('q').bindings == set()
        q = Queue('q', bindings=[b, binding(Exchange('bx'), 'k')])
        assert q.bindings == {b}
        assert q.as_dict()['bindings'] == [b]

    def test_bindings_replace_the_exchange(self):
        b = binding(Exchange('bx'), 'k')
        assert Queue('q', bindings=[b]).exchange is None
        assert Queue('q', exchange=Exchange('x'), bindings=[b]).exchange is None
        assert Queue('q', exchange='x', bindings=[b]).exchange is None
        assert Queue.from_dict('q', exchange='x', bindings=[b]).exchange is None
        assert Queue('q', bindings=[]).exchange == Exchange('')

    def test_copy_pickle_and_bind_keep_the_set(self, channel):
        b = binding(Exchange('bx'), 'k')
        q = Queue('q', bindings=[b])
        assert copy.copy(q).bindings == {b}
        assert pickle.loads(pickle.dumps(q)).bindings == {b}
        bound = q(channel)
        assert bound.bindings == {b} and bound.exchange is None
        assert repr(bound) == '<Queue q -> [bx->k] bound to chan:1>'

    def test_declare_with_bindings(self, channel):
        name = 'h-entity-parity-bindings'
        ex = Exchange(f'{name}.x', 'topic')
        q = Queue(name, bindings=[binding(ex, 'a.*')])(channel)
        assert q.declare() == name
        ex(channel).publish('m', routing_key='a.b')
        assert q.get(no_ack=True).body == b'm'
        q.delete()


class TestQueueArguments:
    def test_options_go_through_channel_prepare_queue_arguments(self):
        chan = Recorder()
        q = Queue('q', expires=10, message_ttl=1.5, max_length=3, max_length_bytes=4,
                  max_priority=5, queue_arguments={'a': 1})(chan)
        assert q.queue_declare() == ('q', 0, 0)
        assert chan.calls[0] == ('prepare', {'a': 1}, {
            'expires': 10.0, 'message_ttl': 1.5, 'max_length': 3,
            'max_length_bytes': 4, 'max_priority': 5})
        assert chan.calls[1][1]['arguments'] == {'prepared': True}

    def test_no_queue_arguments_prepares_an_empty_dict(self):
        chan = Recorder()
        Queue('q')(chan).queue_declare()
        assert chan.calls[0] == ('prepare', {}, {
            'expires': None, 'message_ttl': None, 'max_length': None,
            'max_length_bytes': None, 'max_priority': None})

    def test_memory_ignores_the_rabbitmq_extensions(self, channel):
        seen = {}
        declare = channel.queue_declare

        def spy(**kwargs):
            seen.update(kwargs)
            return declare(**kwargs)

        channel.queue_declare = spy
        name = 'h-entity-parity-memargs'
        q = Queue(name, expires=10, max_priority=5, queue_arguments={'a': 1})(channel)
        q.queue_declare()
        assert seen['arguments'] == {'a': 1}
        Queue(name)(channel).queue_declare()
        assert seen['arguments'] == {}
        q.delete()

    def test_channel_without_prepare_gets_rabbitmq_x_arguments(self):
        chan = Recorder(prepare=False)
        Queue('q', expires=0.5, message_ttl=0.0015, max_length='7',
              max_priority=0)(chan).queue_declare()
        assert chan.calls[0][1]['arguments'] == {
            'x-expires': 500, 'x-message-ttl': 1, 'x-max-length': 7, 'x-max-priority': 0}

    def test_queue_declare_return_on_memory(self, channel):
        name = 'h-entity-parity-qd'
        q = Queue(name, Exchange(name), 'rk')(channel)
        q.declare()
        Exchange(name)(channel).publish('x', routing_key='rk')
        ok = q.queue_declare(passive=True)
        assert (ok.queue, ok.message_count, ok.consumer_count) == (name, 1, 0)
        assert tuple(ok) == (name, 1, 0)
        assert q.purge() == 1
        assert q.queue_declare() == (name, 0, 0)
        q.delete()


class TestFromDict:
    def test_exchange_instance_is_used_as_is(self):
        ex = Exchange('x', 'topic', durable=False)
        q = Queue.from_dict('q', exchange=ex, routing_key='rk')
        assert q.exchange is ex
        assert repr(q.exchange) == '<unbound Exchange x(topic)>'
        assert q.routing_key == 'rk'

    def test_documented_keys(self):
        q = Queue.from_dict(
            'q', exchange='e', exchange_type='fanout', binding_key='bk', routing_key='rk',
            durable=False, exchange_durable=True, auto_delete=True,
            queue_auto_delete=False, delivery_mode='transient',
            exchange_arguments={'ea': 1}, queue_arguments={'qa': 1},
            binding_arguments={'ba': 1}, consumer_arguments={'ca': 1}, no_ack=True)
        assert (q.name, q.routing_key, q.durable, q.auto_delete, q.no_ack) == \
            ('q', 'bk', False, False, True)
        assert (q.queue_arguments, q.binding_arguments, q.consumer_arguments) == \
            ({'qa': 1}, {'ba': 1}, {'ca': 1})
        e = q.exchange
        assert (e.name, e.type, e.durable, e.auto_delete, e.delivery_mode, e.arguments) == \
            ('e', 'fanout', True, True, TRANSIENT_DELIVERY_MODE, {'ea': 1})

    def test_no_exchange_is_the_default_exchange(self):
        assert Queue.from_dict('q').exchange == Exchange('')
        assert Queue.from_dict('q', exclusive=True).auto_delete is True


class TestExchangeMessage:
    def test_delivery_mode_argument_overrides_the_exchange_default(self):
        chan = Recorder()
        e = Exchange('e', delivery_mode='transient')(chan)
        modes = [e.Message(b'x', delivery_mode=m)['properties']['delivery_mode']
                 for m in (None, 1, 2, 'persistent', 'transient')]
        assert modes == [1, 1, 2, 2, 1]
        assert Exchange('e')(chan).Message(b'x')['properties'] == {
            'delivery_mode': PERSISTENT_DELIVERY_MODE}

    def test_properties_priority_headers_pass_through(self):
        chan = Recorder()
        m = Exchange('e')(chan).Message(b'x', priority=3, headers={'h': 1},
                                        properties={'p': 1}, content_type='text/plain')
        assert m == {'body': b'x', 'priority': 3, 'headers': {'h': 1},
                     'content_type': 'text/plain',
                     'properties': {'p': 1, 'delivery_mode': 2}}

    def test_attrs_converter_is_an_exchange_lambda(self):
        name, convert = Exchange.attrs[6]
        assert name == 'delivery_mode'
        assert convert.__qualname__ == 'Exchange.<lambda>'
        assert convert('persistent') == 2 and convert('transient') == 1 and convert(1) == 1

    def test_publish_default_exchange(self, channel):
        name = 'h-entity-parity-default'
        q = Queue(name)(channel)
        q.declare()
        assert Exchange('')(channel).declare() is None   # the default exchange is never declared
        Exchange('')(channel).publish('dflt', routing_key=name)
        m = q.get()
        assert m.body == b'dflt'
        assert (m.delivery_info['exchange'], m.delivery_info['routing_key']) == ('', name)
        m.ack()
        q.delete()
