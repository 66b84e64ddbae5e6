"""Functional Utilities."""
from __future__ import annotations

import threading
from collections import OrderedDict, UserDict
from collections.abc import Iterable, Iterator, Mapping
from functools import wraps
from itertools import count, repeat
from time import monotonic, sleep
from typing import Any, Callable

from vine import maybe_promise, promise

from .encoding import safe_repr as _safe_repr

__all__ = (
    'LRUCache', 'memoize', 'lazy', 'maybe_evaluate',
    'is_list', 'maybe_list', 'dictfilter',
    'ChannelPromise', 'KEYWORD_MARK', 'accepts_argument',
    'fxrange', 'fxrangemax', 'retry_over_time', 'reprkwargs', 'reprcall',
    'shufflecycle', 'promise', 'maybe_promise',
)

#: Separates positional from keyword arguments in a :func:`memoize` key.
KEYWORD_MARK = object()


class ChannelPromise:
    """Evaluate ``contract()`` on first call and return that value ever after."""

    def __init__(self, contract: Callable[[], Any]) -> None:
        self.__contract__ = contract

    def __call__(self) -> Any:
        try:
            return self.__value__
        except AttributeError:
            value = self.__value__ = self.__contract__()
            return value

    def __repr__(self) -> str:
        try:
            return repr(self.__value__)
        except AttributeError:
            return f'<promise: 0x{id(self.__contract__):x}>'


class LRUCache(UserDict):
    """LRU Cache implementation using a doubly linked list to track access.

    Arguments:
        limit (int): The maximum number of keys to keep in the cache.
            When a new key is inserted and the limit has been exceeded,
            the *Least Recently Used* key will be discarded from the
            cache.

    All operations are protected by a lock, so an instance can be shared
    between threads.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.mutex = threading.RLock()
        self.data: OrderedDict = OrderedDict()

    def __getitem__(self, key: Any) -> Any:
        with self.mutex:
            value = self[key] = self.data.pop(key)
            return value

    def __setitem__(self, key: Any, value: Any) -> None:
        with self.mutex:
            data = self.data
            if key in data:
                data.move_to_end(key)
            data[key] = value
            if self.limit:
                while len(data) > self.limit:
                    data.popitem(last=False)

    def __delitem__(self, key: Any) -> None:
        with self.mutex:
            del self.data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator:
        return iter(list(self.data))

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Update from mapping/iterable and keyword arguments, then trim to ``limit``."""
        with self.mutex:
            self.data.update(*args, **kwargs)
            if self.limit:
                while len(self.data) > self.limit:
                    self.data.popitem(last=False)

    def popitem(self) -> tuple[Any, Any]:
        """Remove and return the most recently used ``(key, value)`` pair.

        Last in, first out, as :meth:`dict.popitem` (``KeyError`` if empty).
        """
        with self.mutex:
            return self.data.popitem()

    def _iterate_items(self) -> Iterator[tuple[Any, Any]]:
        with self.mutex:
            pairs = list(self.data.items())
        return iter(pairs)
    iteritems = _iterate_items

    def _iterate_values(self) -> Iterator[Any]:
        with self.mutex:
            values = list(self.data.values())
        return iter(values)
    itervalues = _iterate_values

    def _iterate_keys(self) -> Iterator[Any]:
        with self.mutex:
            keys = list(self.data)
        return iter(keys)
    iterkeys = _iterate_keys

    def keys(self) -> list:  # type: ignore[override]
        return list(self._iterate_keys())

    def values(self) -> list:  # type: ignore[override]
        return list(self._iterate_values())

    def items(self) -> list:  # type: ignore[override]
        return list(self._iterate_items())

    def incr(self, key: Any, delta: int = 1) -> int:
        """Add ``delta`` to the integer stored (as a string) under ``key``."""
        with self.mutex:
            newval = int(self.data.pop(key)) + delta
            self[key] = str(newval)
            return newval

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop('mutex', None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__ = state
        self.mutex = threading.RLock()

    def __copy__(self) -> LRUCache:
        new = self.__class__(self.limit)
        new.data = OrderedDict(self.data)
        return new
    copy = __copy__


def memoize(maxsize: int | None = None, keyfun: Callable | None = None,
            Cache: type = LRUCache) -> Callable[[Callable], Callable]:
    """Decorator to cache function return value.

    The decorated function gains ``hits``, ``misses``, ``clear()`` and
    ``original_func``.
    """
    def _memoize(fun: Callable) -> Callable:
        mutex = threading.Lock()
        cache = Cache(limit=maxsize)

        @wraps(fun)
        def _M(*args: Any, **kwargs: Any) -> Any:
            if keyfun:
                key = keyfun(args, kwargs)
            else:
                key = args + (KEYWORD_MARK,) + tuple(sorted(kwargs.items())) \
                    if kwargs else args
            try:
                with mutex:
                    value = cache[key]
            except KeyError:
                value = fun(*args, **kwargs)
                _M.misses += 1
                with mutex:
                    cache[key] = value
            else:
                _M.hits += 1
            return value

        def clear() -> None:
            """Clear the cache and reset cache statistics."""
            cache.clear()
            _M.hits = _M.misses = 0

        _M.hits = _M.misses = 0
        _M.clear = clear
        _M.original_func = fun
        _M.cache = cache
        return _M
    return _memoize


class lazy:
    """Holds lazy evaluation.

    Evaluated when called or if the :meth:`evaluate` method is called.
    The function is re-evaluated on every call.

    Overloaded operations that will evaluate the promise:
        :meth:`__str__`, :meth:`__repr__`, :meth:`__cmp__` (the rich
        comparisons ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``).
    """

    def __init__(self, fun: Callable, *args: Any, **kwargs: Any) -> None:
        self._fun = fun
        self._args = args
        self._kwargs = kwargs

    def __call__(self) -> Any:
        return self.evaluate()

    def evaluate(self) -> Any:
        """Call the function and return its value."""
        return self._fun(*self._args, **self._kwargs)

    def __str__(self) -> str:
        return str(self())

    def __repr__(self) -> str:
        return repr(self())

    def __eq__(self, rhs: object) -> bool:
        return self() == rhs

    def __ne__(self, rhs: object) -> bool:
        return self() != rhs

    def __lt__(self, rhs: Any) -> bool:
        return self() < rhs

    def __le__(self, rhs: Any) -> bool:
        return self() <= rhs

    def __gt__(self, rhs: Any) -> bool:
        return self() > rhs

    def __ge__(self, rhs: Any) -> bool:
        return self() >= rhs

    def __cmp__(self, rhs: Any) -> int:
        """Three-way compare the evaluated value: -1, 0 or 1."""
        value = self()
        return (value > rhs) - (value < rhs)

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict) -> Any:
        memo[id(self)] = self
        return self

    def __reduce__(self) -> tuple:
        return (self.__class__, (self._fun,), {'_args': self._args,
                                               '_kwargs': self._kwargs})


def maybe_evaluate(value: Any) -> Any:
    """Evaluate value only if value is a :class:`lazy` instance."""
    if isinstance(value, lazy):
        return value.evaluate()
    return value


def is_list(l: Any, scalars: tuple = (Mapping, str),  # noqa: E741
            iters: tuple = (Iterable,)) -> bool:
    """Return true if the object is iterable.

    Note:
        Returns false if object is a mapping or string.
    """
    return isinstance(l, iters) and not isinstance(l, scalars or ())


def maybe_list(l: Any, scalars: tuple = (Mapping, str)) -> Any:  # noqa: E741
    """Return list of one element if ``l`` is a scalar."""
    return l if l is None or is_list(l, scalars) else [l]


def dictfilter(d: Mapping | None = None, **kw: Any) -> dict:
    """Remove all keys from dict ``d`` whose value is :const:`None`."""
    d = kw if d is None else (dict(d, **kw) if kw else d)
    return {k: v for k, v in d.items() if v is not None}


def shufflecycle(it: Any) -> Iterator:
    """Yield the items of ``it`` forever, reshuffled on each round."""
    import random

    it = list(it)
    for _ in repeat(None):
        random.shuffle(it)
        yield it[0]


def fxrange(start: float = 1.0, stop: float | None = None, step: float = 1.0,
            repeatlast: bool = False) -> Iterator[float]:
    """Float range: ``start``, ``start + step``, ... up to ``stop``.

    With ``repeatlast`` the last value is repeated forever instead of
    stopping.  Without ``stop`` the range is infinite.
    """
    cur = start * 1.0
    while True:
        if not stop or cur <= stop:
            yield cur
            cur += step
        else:
            if not repeatlast:
                break
            yield cur - step


def fxrangemax(start: float = 1.0, stop: float | None = None, step: float = 1.0,
               max: float = 100.0) -> Iterator[float]:
    """Like :func:`fxrange`, capped at ``stop``, ending once the sum reaches ``max``."""
    total, cur = 0.0, start * 1.0
    while True:
        if total >= max:
            break
        yield cur
        if stop:
            cur = min(cur + step, stop)
        else:
            cur += step
        total += cur


def _sleep_with_callback(tts: float, callback: Callable | None) -> None:
    whole = int(tts)
    for _ in range(whole):
        if callback:
            callback()
        sleep(1.0)
    remainder = tts - whole
    if remainder > 0:
        sleep(remainder)


def retry_over_time(fun: Callable, catch: Any, args: Any = None, kwargs: Any = None,
                    errback: Callable | None = None, max_retries: int | None = None,
                    interval_start: float = 2, interval_step: float = 2,
                    interval_max: float = 30, callback: Callable | None = None,
                    timeout: float | None = None) -> Any:
    """Retry the function over and over until max retries is exceeded.

    For each retry we sleep a for a while before we try again, this interval
    is increased for every retry until the max seconds is reached.

    Arguments:
        fun (Callable): The function to try
        catch (Tuple[BaseException]): Exceptions to catch, can be either
            tuple or a single exception class.
        args (Tuple): Positional arguments passed on to the function.
        kwargs (Dict): Keyword arguments passed on to the function.
        errback (Callable): Callback for when an exception in ``catch``
            is raised.  Called as ``errback(exc, interval_range, retries)``;
            its return value is the number of seconds to sleep next.
        max_retries (int): Maximum number of retries before we give up.
            If neither of this and timeout is set, we will retry forever.
            If one of this and timeout is reached, stop.
        interval_start (float): How long (in seconds) we start sleeping
            between retries.
        interval_step (float): By how much the interval is increased for
            each retry.
        interval_max (float): Maximum number of seconds to sleep
            between retries.
        callback (Callable): Called (with no arguments) before each
            retry and once per second while sleeping.
        timeout (int): Maximum seconds waiting before we give up.

    Raises:
        the last exception caught, once retries or time are exhausted.
    """
    kwargs = {} if not kwargs else kwargs
    args = [] if not args else args
    interval_range = fxrange(interval_start, interval_max + interval_start,
                             interval_step, repeatlast=True)
    end = monotonic() + timeout if timeout else None
    for retries in count():
        try:
            return fun(*args, **kwargs)
        except catch as exc:
            if max_retries is not None and retries >= max_retries:
                raise
            if end is not None and monotonic() > end:
                raise
            if callback:
                callback()
            tts = float(errback(exc, interval_range, retries) if errback
                        else next(interval_range))
            if tts:
                _sleep_with_callback(tts, callback)


def reprkwargs(kwargs: Mapping, sep: str = ', ', fmt: str = '{0}={1}') -> str:
    """Format keyword arguments as ``k=repr(v)`` pairs."""
    return sep.join(fmt.format(k, _safe_repr(v)) for k, v in kwargs.items())


def reprcall(name: str, args: Any = (), kwargs: Mapping | None = None,
             sep: str = ', ') -> str:
    """Format a call as ``name(arg1, arg2, k=v)``."""
    kwargs = kwargs or {}
    positional = sep.join(map(_safe_repr, args or ()))
    joiner = sep if (args and kwargs) else ''
    return f'{name}({positional}{joiner}{reprkwargs(kwargs, sep)})'


def accepts_argument(func: Callable, argument_name: str) -> bool:
    """Return true if ``func`` has a named parameter ``argument_name`` (not ``*args``/``**kw``)."""
    import inspect

    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    param = signature.parameters.get(argument_name)
    return param is not None and param.kind not in (
        inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
