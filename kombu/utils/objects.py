"""Object Utilities."""
from __future__ import annotations

from typing import Any, Callable

__all__ = ('cached_property',)

_NOT_SET = object()


class cached_property:
    """Cached property descriptor.

    Caches the return value of the get method on first call.  The value
    lives in the instance ``__dict__`` under the property's name; the
    optional setter prepares a value before it is stored, and the optional
    deleter is called with the cached value (or None) on ``del``.
    """

    def __init__(self, fget: Callable | None = None, fset: Callable | None = None,
                 fdel: Callable | None = None, doc: str | None = None) -> None:
        self.__get = fget
        self.__set = fset
        self.__del = fdel
        self.__doc__ = doc if doc is not None else getattr(fget, '__doc__', None)
        self.__name__ = getattr(fget, '__name__', None)
        self.__module__ = getattr(fget, '__module__', None)
        self.attrname = self.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        if self.attrname is None:
            self.attrname = name

    def __get__(self, obj: Any, type: type | None = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        value = d.get(self.attrname, _NOT_SET)
        if value is _NOT_SET:
            if self.__get is None:
                raise AttributeError(f'unreadable attribute {self.attrname!r}')
            value = d[self.attrname] = self.__get(obj)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        if self.__set is not None:
            value = self.__set(obj, value)
        obj.__dict__[self.attrname] = value

    def __delete__(self, obj: Any, _sentinel: Any = object()) -> None:
        value = obj.__dict__.pop(self.attrname, _sentinel)
        if self.__del is not None and value is not _sentinel:
            self.__del(obj, value)

    def getter(self, fget: Callable) -> cached_property:
        """Return a copy of this property with another get method."""
        return self.__class__(fget, self.__set, self.__del, self.__doc__)

    def setter(self, fset: Callable) -> cached_property:
        """Return a copy of this property with a set method."""
        return self.__class__(self.__get, fset, self.__del, self.__doc__)

    def deleter(self, fdel: Callable) -> cached_property:
        """Return a copy of this property with a delete method."""
        return self.__class__(self.__get, self.__set, fdel, self.__doc__)
