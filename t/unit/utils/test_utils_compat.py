from __future__ import annotations

import io
from contextlib import contextmanager

import pytest

from kombu.utils import compat


def test_coro_advances_to_first_yield():
    @compat.coro
    def gen():
        received = yield
        yield received * 2

    g = gen()
    assert g.send(21) == 42


def test_detect_environment_default():
    assert compat.detect_environment() == 'default'


def test_fileno_and_maybe_fileno():
    assert compat.fileno(3) == 3
    with open(__file__) as f:
        assert compat.fileno(f) == f.fileno()
        assert compat.maybe_fileno(f) == f.fileno()
    assert compat.maybe_fileno(object()) is None
    assert compat.maybe_fileno(io.StringIO()) is None
    with pytest.raises(AttributeError):
        compat.fileno(object())


def test_nested_enters_in_order_and_exits_in_reverse():
    events = []

    @contextmanager
    def cm(name):
        events.append(('enter', name))
        yield name
        events.append(('exit', name))

    with compat.nested(cm('a'), cm('b')) as values:
        assert values == ['a', 'b']
    assert events == [('enter', 'a'), ('enter', 'b'), ('exit', 'b'), ('exit', 'a')]


def test_entrypoints_yields_loaded_pairs():
    pairs = list(compat.entrypoints('console_scripts'))
    for ep, loaded in pairs:
        assert callable(loaded)
        assert ep.name
    assert list(compat.entrypoints('kombu.no.such.group')) == []


def test_register_after_fork_accepts_object():
    class Obj:
        pass
    compat.register_after_fork(Obj(), lambda obj: None)
