from __future__ import annotations

import pickle
import threading
from itertools import islice

import pytest

from kombu.utils import functional as fn
from kombu.utils.functional import (
    ChannelPromise,
    LRUCache,
    accepts_argument,
    dictfilter,
    fxrange,
    fxrangemax,
    is_list,
    lazy,
    maybe_evaluate,
    maybe_list,
    memoize,
    reprcall,
    reprkwargs,
    retry_over_time,
    shufflecycle,
)


class TestLRUCache:

    def test_evicts_least_recently_used(self):
        c = LRUCache(limit=2)
        c['a'] = 1
        c['b'] = 2
        assert c['a'] == 1  # touch a: b is now least recently used
        c['c'] = 3
        assert list(c.keys()) == ['a', 'c']
        assert 'b' not in c

    def test_update_trims_to_limit(self):
        c = LRUCache(limit=3)
        c.update({i: i for i in range(10)})
        assert c.keys() == [7, 8, 9]
        assert c.values() == [7, 8, 9]
        assert c.items() == [(7, 7), (8, 8), (9, 9)]

    def test_iter_variants(self):
        c = LRUCache()
        c.update(a=1, b=2)
        assert list(c.iterkeys()) == ['a', 'b']
        assert list(c.itervalues()) == [1, 2]
        assert list(c.iteritems()) == [('a', 1), ('b', 2)]
        assert sorted(c) == ['a', 'b']
        assert len(c) == 2

    def test_popitem_removes_a_pair(self):
        c = LRUCache()
        c['x'] = 1
        assert c.popitem() == ('x', 1)
        with pytest.raises(KeyError):
            c.popitem()

    def test_popitem_is_last_in_first_out(self):
        c = LRUCache(limit=3)
        c.update(a=1, b=2, c=3)
        assert c['a'] == 1  # a is now the most recently used
        assert c.popitem() == ('a', 1)
        assert c.popitem() == ('c', 3)
        assert list(c.keys()) == ['b']

    def test_missing_key_raises(self):
        with pytest.raises(KeyError):
            LRUCache()['nope']

    def test_incr_stores_string_and_returns_int(self):
        c = LRUCache()
        c['n'] = '5'
        assert c.incr('n') == 6
        assert c.incr('n', 10) == 16
        assert c['n'] == '16'

    def test_no_limit_keeps_everything(self):
        c = LRUCache()
        for i in range(1000):
            c[i] = i
        assert len(c) == 1000

    def test_pickle_roundtrip(self):
        c = LRUCache(limit=4)
        c.update(a=1)
        c2 = pickle.loads(pickle.dumps(c))
        assert c2.limit == 4
        assert c2['a'] == 1
        c2['b'] = 2  # has a working lock

    def test_concurrent_writers_respect_limit(self):
        c = LRUCache(limit=50)

        def writer(base):
            for i in range(2000):
                c[(base, i)] = i
                c.get((base, i - 1))

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(c) == 50
        assert len(c.items()) == 50


class TestMemoize:

    def test_caches_by_args_and_kwargs(self):
        calls = []

        @memoize(maxsize=10)
        def add(a, b=0):
            calls.append((a, b))
            return a + b

        assert add(1, b=2) == 3
        assert add(1, b=2) == 3
        assert add(1) == 1
        assert calls == [(1, 2), (1, 0)]
        assert add.hits == 1
        assert add.misses == 2
        add.clear()
        assert add.hits == add.misses == 0
        add(1, b=2)
        assert len(calls) == 3

    def test_keyfun(self):
        @memoize(keyfun=lambda args, kwargs: args[0] % 2)
        def parity(x):
            return x % 2

        assert parity(1) == 1
        assert parity(3) == 1
        assert parity.hits == 1

    def test_maxsize_evicts(self):
        @memoize(maxsize=1)
        def ident(x):
            return x

        ident(1)
        ident(2)
        ident(1)
        assert ident.misses == 3


class TestLazy:

    def test_evaluates_on_every_call(self):
        counter = iter(range(10))
        p = lazy(lambda: next(counter))
        assert p() == 0
        assert p.evaluate() == 1

    def test_passes_arguments(self):
        p = lazy(lambda a, b=1: a + b, 1, b=2)
        assert p() == 3
        assert str(p) == '3'
        assert repr(p) == '3'
        assert p == 3
        assert p != 4

    def test_maybe_evaluate(self):
        assert maybe_evaluate(lazy(lambda: 5)) == 5
        assert maybe_evaluate(5) == 5

    def test_pickle(self):
        p = pickle.loads(pickle.dumps(lazy(max, 1, 2)))
        assert p() == 2


def test_is_list():
    assert is_list([1])
    assert is_list((1,))
    assert is_list(iter([]))
    assert not is_list('abc')
    assert not is_list({'a': 1})
    assert not is_list(1)


def test_maybe_list():
    assert maybe_list(None) is None
    assert maybe_list(1) == [1]
    assert maybe_list('ab') == ['ab']
    assert maybe_list({'a': 1}) == [{'a': 1}]
    lst = [1]
    assert maybe_list(lst) is lst
    assert maybe_list((1,)) == (1,)


def test_dictfilter():
    assert dictfilter({'a': 1, 'b': None}) == {'a': 1}
    assert dictfilter(a=1, b=None) == {'a': 1}
    assert dictfilter({'a': None}, b=2) == {'b': 2}
    assert dictfilter() == {}


def test_fxrange():
    assert list(fxrange(1.0, 3.0, 1.0)) == [1.0, 2.0, 3.0]
    assert list(islice(fxrange(1.0, 3.0, 1.0, repeatlast=True), 5)) == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert list(islice(fxrange(1.0, None, 0.5), 3)) == [1.0, 1.5, 2.0]


def test_fxrangemax():
    assert list(fxrangemax(1.0, 3.0, 1.0, 10.0)) == [1.0, 2.0, 3.0, 3.0]
    assert sum(fxrangemax(1.0, None, 1.0, 100.0)) >= 100.0 - 14


def test_shufflecycle_yields_members():
    it = shufflecycle([1, 2, 3])
    assert {next(it) for _ in range(50)} <= {1, 2, 3}


def test_reprkwargs_and_reprcall():
    assert reprkwargs({'a': 1, 'b': 'x'}) == "a=1, b='x'"
    assert reprcall('f', (1, 'a'), {'b': 2}) == "f(1, 'a', b=2)"
    assert reprcall('f') == 'f()'
    assert reprcall('f', kwargs={'k': None}) == 'f(k=None)'


def test_accepts_argument():
    def f(a, *args, b=1, **kwargs):
        pass
    assert accepts_argument(f, 'a')
    assert accepts_argument(f, 'b')
    assert not accepts_argument(f, 'c')
    assert not accepts_argument(f, 'args')
    assert not accepts_argument(f, 'kwargs')
    assert not accepts_argument(1, 'a')


def test_channel_promise_evaluates_once():
    calls = []

    def contract():
        calls.append(1)
        return 'chan'

    p = ChannelPromise(contract)
    assert repr(p).startswith('<promise: 0x')
    assert p() == 'chan'
    assert p() == 'chan'
    assert calls == [1]
    assert repr(p) == "'chan'"


class Flaky:
    def __init__(self, failures, exc=KeyError):
        self.failures = failures
        self.exc = exc
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc('fail')
        return args, kwargs


class TestRetryOverTime:

    def test_returns_after_failures(self):
        fun = Flaky(2)
        errors = []

        def errback(exc, intervals, retries):
            errors.append((type(exc), retries))
            return 0.001

        assert retry_over_time(fun, KeyError, (1,), {'x': 2}, errback=errback,
                               max_retries=5) == ((1,), {'x': 2})
        assert fun.calls == 3
        assert errors == [(KeyError, 0), (KeyError, 1)]

    def test_reraises_after_max_retries(self):
        fun = Flaky(10)
        with pytest.raises(KeyError):
            retry_over_time(fun, KeyError, max_retries=2, interval_start=0.001,
                            interval_step=0.001, interval_max=0.002)
        assert fun.calls == 3

    def test_max_retries_zero_means_no_retry(self):
        fun = Flaky(1)
        with pytest.raises(KeyError):
            retry_over_time(fun, KeyError, max_retries=0)
        assert fun.calls == 1

    def test_uncaught_error_propagates_immediately(self):
        fun = Flaky(1, exc=ValueError)
        with pytest.raises(ValueError):
            retry_over_time(fun, KeyError, max_retries=5)
        assert fun.calls == 1

    def test_callback_called_before_each_retry(self):
        fun = Flaky(3)
        ticks = []
        retry_over_time(fun, (KeyError,), max_retries=5, callback=lambda: ticks.append(1),
                        interval_start=0, interval_step=0, interval_max=0)
        assert len(ticks) == 3

    def test_timeout_gives_up(self):
        fun = Flaky(10 ** 6)
        with pytest.raises(KeyError):
            retry_over_time(fun, KeyError, timeout=0.05, interval_start=0.01,
                            interval_step=0, interval_max=0.01)
        assert 2 <= fun.calls < 50

    def test_intervals_come_from_fxrange(self):
        seen = []

        def errback(exc, intervals, retries):
            seen.append(next(intervals))
            return 0

        retry_over_time(Flaky(4), KeyError, errback=errback, interval_start=2,
                        interval_step=2, interval_max=5)
        assert seen == [2.0, 4.0, 6.0, 6.0]

    def test_sleeps_fractional_interval(self, monkeypatch):
        slept = []
        monkeypatch.setattr(fn, 'sleep', slept.append)
        retry_over_time(Flaky(1), KeyError, interval_start=2.5, callback=lambda: None)
        assert slept == [1.0, 1.0, 0.5]


def test_fxrange_and_fxrangemax_values():
    assert list(islice(fxrange(), 3)) == [1.0, 2.0, 3.0]
    assert list(fxrange(1.0, 3.0, 0.5)) == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert list(fxrange(0, 2)) == [0.0, 1.0, 2.0]
    assert list(fxrange(2, 1)) == []
    assert list(fxrangemax(0, 5, 2, max=20)) == [0.0, 2.0, 4.0, 5, 5]
    assert list(fxrangemax(2, None, 2, max=11)) == [2.0, 4.0, 6.0]
    assert list(fxrangemax(1, 3, 1, 0)) == []


def test_retry_over_time_sleeps_each_interval_in_seconds(monkeypatch):
    slept, calls, callbacks = [], [], []
    monkeypatch.setattr(fn, 'sleep', slept.append)

    def fail_three_times():
        calls.append(1)
        if len(calls) <= 3:
            raise KeyError('x')
        return 'ok'

    assert retry_over_time(fail_three_times, KeyError, interval_start=1, interval_step=2,
                           interval_max=4, callback=lambda: callbacks.append(1)) == 'ok'
    # intervals 1, 3, 5 slept one second at a time, callback before each retry and second
    assert [s for s in slept if s] == [1.0] * 9
    assert len(callbacks) == 3 + 9
