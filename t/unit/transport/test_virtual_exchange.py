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
    assert topic.lookup(table, 'ex', 'a.b', None) == ['q1', 'q2']
    assert topic.lookup(table, 'ex', 'c', None) == ['q2']


def test_direct_lookup_matches_exact_key_once_per_queue():
    table = [('k', None, 'q1'), ('k', None, 'q1'), ('other', None, 'q2')]
    assert DirectExchange(None).lookup(table, 'ex', 'k', None) == ['q1']


def test_fanout_lookup_ignores_routing_key():
    table = [('a', None, 'q1'), ('b', None, 'q2')]
    assert FanoutExchange(None).lookup(table, 'ex', 'zzz', None) == ['q1', 'q2']


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
