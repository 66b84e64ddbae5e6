"""Event-loop debugging tools."""
from __future__ import annotations

from functools import partial
from typing import Any

from vine import promise

from kombu.utils.eventio import ERR, READ, WRITE
from kombu.utils.functional import reprcall

__all__ = ('callback_for', 'repr_active', 'repr_events', 'repr_flag',
           'repr_readers', 'repr_writers')


#: How many wrappers (partial, promise) :func:`_rcb` looks through.
_MAX_UNWRAP = 8


def repr_flag(flag: int) -> str:
    """Return description of event loop flag (``R``, ``W`` and ``!`` for errors)."""
    return '{}{}{}'.format('R' if flag & READ else '',
                           'W' if flag & WRITE else '',
                           '!' if flag & ERR else '')


def _rcb(obj: Any) -> str:
    """Return a short description of a callback (or of a ``(callback, args)`` pair)."""
    if obj is None:
        return '<missing>'
    if isinstance(obj, str):
        return obj
    if isinstance(obj, tuple) and len(obj) == 2:
        cb, args = obj
        return reprcall(_rcb(cb), args)
    for _ in range(_MAX_UNWRAP):
        name = getattr(obj, '__name__', None)
        if isinstance(name, str) and name:
            return name
        if isinstance(obj, partial):
            obj = obj.func
        elif isinstance(obj, promise) and obj.fun is not None:
            obj = obj.fun
        else:
            break
    return repr(obj)


def repr_active(h: Any) -> str:
    """Return description of active readers and writers."""
    return ', '.join(repr_readers(h) + repr_writers(h))


def repr_events(h: Any, events: Any) -> str:
    """Return description of events returned by poll."""
    return ', '.join(
        '{}({})->{}'.format(_rcb(callback_for(h, fd, fl, '(GONE)')), fd, repr_flag(fl))
        for fd, fl in events
    )


def repr_readers(h: Any) -> list[str]:
    """Return description of pending readers."""
    return [f'({fd}){_rcb(cb)}->{repr_flag(READ | ERR)}' for fd, cb in h.readers.items()]


def repr_writers(h: Any) -> list[str]:
    """Return description of pending writers."""
    return [f'({fd}){_rcb(cb)}->{repr_flag(WRITE)}' for fd, cb in h.writers.items()]


def callback_for(h: Any, fd: int, flag: int, *default: Any) -> Any:
    """Return the callback used for hub+fd+flag.

    That is the ``(callback, args)`` pair of the reader of ``fd`` for
    ``READ``, of its writer for ``WRITE`` (or the hub's
    ``consolidate_callback`` for a consolidated fd), and of whichever is
    there for ``ERR``.  Raises :exc:`KeyError` unless a default is given.
    """
    try:
        if flag & READ:
            return h.readers[fd]
        if flag & WRITE:
            if fd in h.consolidate:
                return h.consolidate_callback
            return h.writers[fd]
        if flag & ERR:
            if fd in h.readers:
                return h.readers[fd]
            return h.writers[fd]
        raise KeyError(fd)
    except KeyError:
        if default:
            return default[0]
        raise
