"""Exchange types of the virtual engine."""
from __future__ import annotations

import re

import pytest

from kombu.transport.virtual.exchange import (
    STANDARD_EXCHANGE_TYPES,
    DirectExchange,
    ExchangeType,
    FanoutExchange,
    TopicExchange,
)


@pytest.mark.parametrize('binding,key,expected', [
    ('a.b', 'a.b', True),
    ('a.b', 'a.bc', False),
    ('a.*', 'a.b', True),
    ('a.*', 'a', False),
    ('a.*', 'a.b.c', False),
    ('*.b', 'x.b', True),
    ('*.b', 'b', False),
    ('a.#', 'a', True),
    ('a.#', 'a.b.c', True),
    ('a.#', 'ab', False),
    ('#', '', True),
    ('#', 'anything.at.all', True),
    ('#.z', 'z', True),
    ('#.z', 'x.y.z', True),
    ('#.z', 'x.yz', False),
    ('a.#.z', 'a.z', True),
    ('a.#.z', 'a.b.c.z', True),
    ('a.#.#.z', 'a.b.z', True),
    ('a.*.#', 'a', False),
    ('a.*.#', 'a.b.c', True),
    ('a+b.(c)', 'a+b.(c)', True),
    ('a+b.(c)', 'aab.c', False),
])
def test_topic_pattern_matches_amqp_semantics(binding, key, expected):
    pattern = TopicExchange(None).key_to_pattern(binding)
    assert (re.match(pattern, key) is not None) is expected


def test_topic_lookup_uses_prepared_patterns():
    topic = TopicExchange(None)
    table = [topic.prepare_bind(q, 'ex', key, None)
             for q, key in (('q1', 'a.*'), ('q2', '#'), ('q1', 'a.b'))]
    assert topic.lookup(table, 'ex', 'a.b', None) == {'q1', 'q2'}
    assert topic.lookup(table, 'ex', 'c', None) == {'q2'}


def test_direct_lookup_matches_exact_key_once_per_queue():
    table = [('k', None, 'q1'), ('k', None, 'q1'), ('other', None, 'q2')]
    assert DirectExchange(None).lookup(table, 'ex', 'k', None) == {'q1'}


def test_fanout_lookup_ignores_routing_key():
    table = [('a', None, 'q1'), ('b', None, 'q2')]
    assert FanoutExchange(None).lookup(table, 'ex', 'zzz', None) == {'q1', 'q2'}


def test_equivalent_compares_declaration():
    prev = {'type': 'direct', 'durable': True, 'auto_delete': False, 'arguments': {}}
    exchange_type = ExchangeType(None)
    assert exchange_type.equivalent(prev, 'ex', 'direct', True, False, None)
    assert not exchange_type.equivalent(prev, 'ex', 'direct', False, False, None)
    assert not exchange_type.equivalent(prev, 'ex', 'topic', True, False, None)


def test_standard_exchange_types():
    assert STANDARD_EXCHANGE_TYPES == {
        'direct': DirectExchange, 'topic': TopicExchange, 'fanout': FanoutExchange}
    assert TopicExchange.wildcards == {'*': r'.*?[^\.]', '#': r'.*?'}
    assert (DirectExchange.type, TopicExchange.type, FanoutExchange.type) == (
        'direct', 'topic', 'fanout')


def test_headers_exchange_routes_on_message_headers_in_memory():
    from kombu import Connection, Exchange, Queue
    with Connection('memory://') as conn:
        ex = Exchange('t.headers.ex', 'headers')
        q_all = Queue('t.headers.all', ex,
                      binding_arguments={'x-match': 'all', 'format': 'pdf', 'type': 'report'})
        q_any = Queue('t.headers.any', ex,
                      binding_arguments={'x-match': 'any', 'format': 'zip', 'type': 'report'})
        q_has = Queue('t.headers.has', ex, binding_arguments={'urgent': None})
        for q in (q_all, q_any, q_has):
            q(conn.default_channel).declare()
        producer = conn.Producer(exchange=ex)
        producer.publish('both', headers={'format': 'pdf', 'type': 'report'})
        producer.publish('zip', headers={'format': 'zip'})
        producer.publish('urgent', headers={'urgent': 0})
        producer.publish('none', headers={'format': 'txt'})
        simple = {q.name: conn.SimpleQueue(q) for q in (q_all, q_any, q_has)}
        got = {name: [] for name in simple}
        for name, sq in simple.items():
            while True:
                try:
                    msg = sq.get(timeout=0.05)
                except sq.Empty:
                    break
                got[name].append(msg.payload)
                msg.ack()
        assert got == {'t.headers.all': ['both'], 't.headers.any': ['both', 'zip'],
                       't.headers.has': ['urgent']}
        for q in (q_all, q_any, q_has):
            q(conn.default_channel).delete()


def test_headers_exchange_matches():
    from kombu.transport.virtual.exchange import HeadersExchange
    m = HeadersExchange.matches
    assert m({}, {'a': 1})  # x-match=all with nothing named matches everything
    assert not m({'x-match': 'any'}, {'a': 1})
    assert m({'a': 1, 'b': 2}, {'a': 1, 'b': 2, 'c': 3})
    assert not m({'a': 1, 'b': 2}, {'a': 1})
    assert m({'x-match': 'any', 'a': 1, 'b': 2}, {'b': 2})
    assert m({'a': None}, {'a': 'anything'})
    assert not m({'a': None}, {})


def test_lookups_return_sets_and_empty_set_when_nothing_matches():
    table = [('a', None, 'q1'), ('a', None, 'q2'), ('b', None, 'q3'), ('a', None, 'q1')]
    assert DirectExchange(None).lookup(table, 'x', 'a', 'dflt') == {'q1', 'q2'}
    assert DirectExchange(None).lookup(table, 'x', 'zz', 'dflt') == set()
    assert FanoutExchange(None).lookup([], 'x', 'a', 'dflt') == set()
    topic = TopicExchange(None)
    ttable = [topic.prepare_bind(q, 'x', key, None)
              for q, key in (('rFoo', 'stock.#'), ('rBar', 'stock.us.*'))]
    assert topic.lookup(ttable, 'x', 'stock.us.nasdaq', None) == {'rFoo', 'rBar'}
    assert topic.lookup(ttable, 'x', 'stock.europe.OSE', None) == {'rFoo'}
    assert topic.lookup(ttable, 'x', 'stockxeuropexOSE', None) == set()
    assert topic.lookup(ttable, 'x', 'candy.schleckpulver.snap_crackle', None) == set()


def test_prepare_bind_shapes():
    assert DirectExchange(None).prepare_bind('q', 'x', 'rk', None) == ('rk', None, 'q')
    assert FanoutExchange(None).prepare_bind('q', 'x', 'rk', None) == ('rk', None, 'q')
    rkey, pattern, queue = TopicExchange(None).prepare_bind('q', 'x', 'a.*', None)
    assert (rkey, queue) == ('a.*', 'q') and re.match(pattern, 'a.b')
    with pytest.raises(NotImplementedError):
        ExchangeType(None).lookup([], 'x', 'rk', None)
