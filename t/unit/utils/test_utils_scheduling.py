from __future__ import annotations

import pytest

from kombu.utils.scheduling import (
    FairCycle,
    cycle_by_name,
    priority_cycle,
    round_robin_cycle,
    sorted_cycle,
)


class Empty(Exception):
    pass


def make_getter(store):
    def get(resource, callback, **kwargs):
        if not store[resource]:
            raise Empty()
        return resource, store[resource].pop(0), callback
    return get


def test_fair_cycle_rotates_between_resources():
    store = {'a': [1, 2], 'b': [3, 4]}
    cycle = FairCycle(make_getter(store), ['a', 'b'], Empty)
    got = [cycle.get('cb')[:2] for _ in range(4)]
    assert got == [('a', 1), ('b', 3), ('a', 2), ('b', 4)]


def test_fair_cycle_skips_empty_resources():
    store = {'a': [], 'b': [1, 2], 'c': []}
    cycle = FairCycle(make_getter(store), ['a', 'b', 'c'], Empty)
    assert cycle.get(None)[:2] == ('b', 1)
    assert cycle.get(None)[:2] == ('b', 2)


def test_fair_cycle_raises_predicate_when_all_empty():
    cycle = FairCycle(make_getter({'a': [], 'b': []}), ['a', 'b'], Empty)
    with pytest.raises(Empty):
        cycle.get(None)


def test_fair_cycle_raises_predicate_without_resources():
    cycle = FairCycle(make_getter({}), [], Empty)
    with pytest.raises(Empty):
        cycle.get(None)


def test_fair_cycle_passes_kwargs_and_repr():
    seen = {}

    def get(resource, callback, **kwargs):
        seen.update(kwargs)
        return resource

    cycle = FairCycle(get, [1, 2])
    assert cycle.get(None, timeout=3) == 1
    assert seen == {'timeout': 3}
    assert repr(cycle) == '<FairCycle: 1/2 [1, 2]>'
    cycle.close()


def test_round_robin_cycle():
    c = round_robin_cycle([1, 2, 3])
    assert c.consume(2) == [1, 2]
    assert c.rotate(1) == 1
    assert c.items == [2, 3, 1]
    assert c.rotate(99) == 99
    assert c.items == [2, 3, 1]
    c.update([5, 6])
    assert c.items == [5, 6]
    assert round_robin_cycle().items == []


def test_priority_cycle_keeps_order():
    c = priority_cycle([1, 2, 3])
    c.rotate(1)
    assert c.consume(3) == [1, 2, 3]


def test_sorted_cycle_consumes_sorted():
    c = sorted_cycle([3, 1, 2])
    assert c.consume(3) == [1, 2, 3]
    assert c.consume(2) == [1, 3]


def test_cycle_by_name():
    assert cycle_by_name('round_robin') is round_robin_cycle
    assert cycle_by_name('priority') is priority_cycle
    assert cycle_by_name('sorted') is sorted_cycle
    assert cycle_by_name('kombu.utils.scheduling:sorted_cycle') is sorted_cycle
