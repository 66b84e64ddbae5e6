from __future__ import annotations

import pickle
from copy import copy

import pytest

from kombu.abstract import MaybeChannelBound, Object
from kombu.exceptions import NotBoundError
from kombu.utils.functional import ChannelPromise


class Point(Object):
    attrs = (('x', int), ('y', None), ('inner', None))


def test_object_sets_attrs_with_types():
    p = Point(x='3', y='a')
    assert p.x == 3
    assert p.y == 'a'
    assert p.inner is None


def test_object_as_dict_and_copy():
    p = Point(x=1, y=2)
    assert p.as_dict() == {'x': 1, 'y': 2, 'inner': None}
    c = copy(p)
    assert c is not p
    assert c.as_dict() == p.as_dict()


def test_object_as_dict_recurse():
    p = Point(x=1, inner=Point(x=2))
    assert p.as_dict(recurse=True)['inner'] == {'x': 2, 'y': None, 'inner': None}
    assert isinstance(p.as_dict()['inner'], Point)


def test_object_pickles():
    p = pickle.loads(pickle.dumps(Point(x=5, y='q')))
    assert (p.x, p.y) == (5, 'q')


class Channel:
    def __init__(self, channel_id=1):
        self.channel_id = channel_id


class Entity(MaybeChannelBound):
    attrs = (('name', None),)

    def __init__(self, name=None, channel=None):
        super().__init__(name=name)
        self.bound_calls = 0
        self.maybe_bind(channel)

    def when_bound(self):
        self.bound_calls += 1


def test_unbound_entity_channel_raises():
    e = Entity('e')
    assert not e.is_bound
    with pytest.raises(NotBoundError, match='Entity'):
        _ = e.channel
    assert repr(e) == '<unbound Entity>'


def test_bind_returns_bound_copy():
    e = Entity('e')
    chan = Channel(7)
    b = e.bind(chan)
    assert b is not e
    assert b.is_bound and not e.is_bound
    assert b.channel is chan
    assert b.name == 'e'
    assert b.bound_calls == 1
    assert repr(b) == '<Entity bound to chan:7>'
    assert e(chan).is_bound


def test_maybe_bind_only_binds_once():
    e = Entity('e')
    c1, c2 = Channel(1), Channel(2)
    assert e.maybe_bind(c1) is e
    e.maybe_bind(c2)
    assert e.channel is c1
    e.maybe_bind(None)
    assert e.channel is c1


def test_revive_switches_channel_of_bound_entity():
    e = Entity('e', channel=Channel(1))
    new = Channel(2)
    e.revive(new)
    assert e.channel is new
    assert e.bound_calls == 2
    unbound = Entity('u')
    unbound.revive(new)
    assert not unbound.is_bound


def test_channel_promise_is_evaluated_on_access():
    chan = Channel(3)
    e = Entity('e', channel=ChannelPromise(lambda: chan))
    assert e.is_bound
    assert e.channel is chan
    assert e._channel is chan


def test_can_cache_declaration_default():
    assert MaybeChannelBound.can_cache_declaration is False
