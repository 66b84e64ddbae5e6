"""Python 2/3 compatibility.

Kept for code written against Kombu 4: every name is a thin alias of its
Python 3 equivalent.
"""
from __future__ import annotations

import builtins
import io
import sys
from array import array as _array
from collections import Counter, UserDict, UserList
from collections.abc import Callable, Iterable, Mapping
from importlib import reload
from inspect import getfullargspec
from io import StringIO
from itertools import zip_longest
from queue import Empty, Full, LifoQueue, Queue
from threading import TIMEOUT_MAX as THREAD_TIMEOUT_MAX
from time import monotonic
from typing import Any, Iterator

from .exceptions import reraise

__all__ = (
    'Counter', 'reload', 'UserList', 'UserDict', 'Callable', 'Iterable',
    'Mapping', 'Queue', 'Empty', 'Full', 'LifoQueue', 'array', 'zip_longest',
    'map', 'zip', 'string', 'string_t', 'bytes_t', 'bytes_if_py2', 'long_t',
    'text_t', 'module_name_t', 'range', 'items', 'keys', 'values', 'nextfun',
    'reraise', 'WhateverIO', 'with_metaclass', 'StringIO', 'getfullargspec',
    'format_d', 'monotonic', 'buffer_t', 'python_2_unicode_compatible',
    'PY3', 'PY2', 'THREAD_TIMEOUT_MAX', 'builtins', 'int_types', 'exec_',
)

PY3 = sys.version_info[0] >= 3
PY2 = not PY3

map = map
zip = zip
range = range
string = str
string_t = str
text_t = str
module_name_t = str
bytes_t = bytes
long_t = int
int_types = (int,)
exec_ = builtins.exec


class array(_array):
    """:class:`array.array` with the Python 2 ``fromstring``/``tostring`` names."""

    def fromstring(self, s: bytes) -> None:
        """Alias of :meth:`frombytes`."""
        self.frombytes(s)

    def tostring(self) -> bytes:
        """Alias of :meth:`tobytes`."""
        return self.tobytes()


class buffer_t:
    """Python 3 does not have a buffer type."""


def bytes_if_py2(s: Any) -> Any:
    """Convert str to bytes if running under Python 2 (never: returns ``s``)."""
    return s


def items(d: Mapping) -> Iterator:
    """Iterate over ``(key, value)`` pairs."""
    return iter(d.items())


def keys(d: Mapping) -> Iterator:
    """Iterate over keys."""
    return iter(d.keys())


def values(d: Mapping) -> Iterator:
    """Iterate over values."""
    return iter(d.values())


def nextfun(it: Iterator) -> Any:
    """Get iterator next method."""
    return it.__next__


def format_d(i: int) -> str:
    """Format number with thousands separators (``1,234``)."""
    return f'{i:,}'


def python_2_unicode_compatible(cls: type) -> type:
    """Class decorator to ensure class is compatible with Python 2 (a no-op)."""
    return cls


def with_metaclass(Type: type, skip_attrs: set | None = None) -> Any:
    """Class decorator to set metaclass.

    Copies the class through ``Type`` instead of adding a base class.
    """
    if skip_attrs is None:
        skip_attrs = {'__dict__', '__weakref__'}

    def _clone_with_metaclass(Class: type) -> type:
        attrs = {k: v for k, v in vars(Class).items() if k not in skip_attrs}
        return Type(Class.__name__, Class.__bases__, attrs)
    return _clone_with_metaclass


class WhateverIO(io.StringIO):
    """StringIO that takes bytes or str."""

    def __init__(self, v: Any = None, *a: Any, **kw: Any) -> None:
        if isinstance(v, bytes):
            v = v.decode()
        super().__init__(v, *a, **kw)

    def write(self, data: Any) -> int:
        """Write string to file."""
        if isinstance(data, bytes):
            data = data.decode()
        return super().write(data)
