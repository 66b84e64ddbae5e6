"""Selector utilities: one small poller interface over epoll, kqueue, poll and select.

Every poller returned by :func:`poll` has the same surface::

    p = poll()
    p.register(fd, READ | ERR)      # fd: an int or an object with fileno()
    p.unregister(fd)                # never raises for unknown or closed fds
    p.poll(timeout)                 # seconds (None blocks) -> [(fd, mask), ...]
    p.close()

Masks use the module constants :const:`READ`, :const:`WRITE` and :const:`ERR`
(``ERR`` covers both "error" (8) and "hang-up" (16)); a descriptor that turned
out to be invalid (closed behind the poller's back) is reported once with the
whole :const:`ERR` mask and forgotten.  The best implementation for the
platform is chosen once, at import; :func:`poll` falls back to ``select`` when
eventlet or gevent has patched the socket module.
"""
from __future__ import annotations

import errno
import math
import select
import time
from numbers import Integral
from typing import Any

__all__ = ('poll',)

#: Flag set if reading from an fd will not block.
READ = POLL_READ = 0x001
#: Flag set if writing to an fd will not block.
WRITE = POLL_WRITE = 0x004
#: Error condition (bit 0x008) or hang-up (bit 0x010): read the fd as soon as possible.
ERR = POLL_ERR = 0x008 | 0x010

_ERROR_BIT = 0x008
_HUP_BIT = 0x010

#: errno values meaning "this descriptor is not (or no longer) registered/valid".
_GONE_ERRNOS = frozenset({errno.EBADF, errno.ENOENT, errno.EINVAL, errno.EPERM})
SELECT_BAD_FD = frozenset({errno.EBADF})


def _to_fd(fd: Any) -> int:
    """Return the integer descriptor of ``fd`` (an int or an object with ``fileno()``)."""
    if isinstance(fd, Integral):
        return int(fd)
    return int(fd.fileno())


def _timeout_or_none(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    return max(float(timeout), 0.0)


class _BasePoller:
    """Shared bookkeeping: the registered masks, keyed by integer fd.

    Subclasses implement ``_add(fd, mask, known)``, ``_remove(fd, mask)``,
    ``_poll(timeout)`` and ``_close()``.
    """

    def __init__(self) -> None:
        #: fd -> mask registered
        self._fds: dict[int, int] = {}
        #: fd -> the object it was registered as (to unregister closed objects)
        self._owners: dict[int, Any] = {}
        self._closed = False

    def _resolve(self, fd: Any) -> int | None:
        """Map ``fd`` to an int, also for objects that are already closed."""
        try:
            number = _to_fd(fd)
        except (AttributeError, TypeError, ValueError, OSError):
            number = -1
        if number >= 0:
            return number
        for known, owner in self._owners.items():
            if owner is fd:
                return known
        return None

    def register(self, fd: Any, events: int) -> Any:
        """Watch ``fd`` for ``events`` (replaces the mask of an fd already registered)."""
        number = _to_fd(fd)
        if number < 0:
            raise OSError(errno.EBADF, f'cannot register closed file object {fd!r}')
        known = number in self._fds
        self._add(number, events, known)
        self._fds[number] = events
        if not isinstance(fd, Integral):
            self._owners[number] = fd
        else:
            self._owners.pop(number, None)
        return fd

    def unregister(self, fd: Any) -> None:
        """Stop watching ``fd``; silently ignores unknown and already closed fds."""
        number = self._resolve(fd)
        if number is None:
            return
        mask = self._fds.pop(number, None)
        self._owners.pop(number, None)
        if self._closed:
            return
        try:
            self._remove(number, mask)
        except (OSError, ValueError, KeyError):
            pass

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` seconds; return ``[(fd, mask), ...]`` of ready fds."""
        try:
            return self._poll(_timeout_or_none(timeout))
        except InterruptedError:
            return []

    def close(self) -> None:
        """Release the OS resources; the poller cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            self._fds.clear()
            self._owners.clear()
            self._close()

    def _forget(self, fd: int) -> None:
        self._fds.pop(fd, None)
        self._owners.pop(fd, None)

    # -- implemented by each backend -------------------------------------

    def _add(self, fd: int, events: int, known: bool) -> None:
        raise NotImplementedError(f'{type(self).__name__} must implement _add')

    def _remove(self, fd: int, mask: int | None) -> None:
        raise NotImplementedError(f'{type(self).__name__} must implement _remove')

    def _poll(self, timeout: float | None) -> list[tuple[int, int]]:
        raise NotImplementedError(f'{type(self).__name__} must implement _poll')

    def _close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {len(self._fds)} fds>'


class _epoll(_BasePoller):
    """Linux ``epoll`` (level-triggered)."""

    def __init__(self) -> None:
        super().__init__()
        self._epoll = select.epoll()

    def _native(self, events: int) -> int:
        mask = 0
        if events & READ:
            mask |= select.EPOLLIN | select.EPOLLPRI
        if events & WRITE:
            mask |= select.EPOLLOUT
        if events & ERR:
            mask |= select.EPOLLERR | select.EPOLLHUP
        return mask

    def _add(self, fd: int, events: int, known: bool) -> None:
        mask = self._native(events)
        # epoll drops closed fds on its own, so the bookkeeping can be stale in
        # either direction: fall back to the other call when the first fails.
        if known:
            try:
                self._epoll.modify(fd, mask)
            except FileNotFoundError:
                self._epoll.register(fd, mask)
        else:
            try:
                self._epoll.register(fd, mask)
            except FileExistsError:
                self._epoll.modify(fd, mask)

    def _remove(self, fd: int, mask: int | None) -> None:
        self._epoll.unregister(fd)

    def _poll(self, timeout: float | None) -> list[tuple[int, int]]:
        events = self._epoll.poll(-1 if timeout is None else timeout)
        out = []
        for fd, ev in events:
            mask = 0
            if ev & (select.EPOLLIN | select.EPOLLPRI):
                mask |= READ
            if ev & select.EPOLLOUT:
                mask |= WRITE
            if ev & select.EPOLLERR:
                mask |= _ERROR_BIT
            if ev & select.EPOLLHUP:
                mask |= _HUP_BIT
            out.append((fd, mask))
        return out

    def _close(self) -> None:
        self._epoll.close()


class _kqueue(_BasePoller):
    """BSD / macOS ``kqueue``."""

    def __init__(self) -> None:
        super().__init__()
        self._kqueue = select.kqueue()

    def _control(self, fd: int, kfilter: int, flags: int) -> None:
        self._kqueue.control([select.kevent(fd, filter=kfilter, flags=flags)], 0)

    def _add(self, fd: int, events: int, known: bool) -> None:
        old = self._fds.get(fd, 0) if known else 0
        for flag, kfilter in ((READ, select.KQ_FILTER_READ), (WRITE, select.KQ_FILTER_WRITE)):
            if events & flag:
                self._control(fd, kfilter, select.KQ_EV_ADD | select.KQ_EV_ENABLE)
            elif old & flag:
                try:
                    self._control(fd, kfilter, select.KQ_EV_DELETE)
                except OSError:
                    pass

    def _remove(self, fd: int, mask: int | None) -> None:
        mask = READ | WRITE if mask is None else mask
        for flag, kfilter in ((READ, select.KQ_FILTER_READ), (WRITE, select.KQ_FILTER_WRITE)):
            if mask & flag:
                try:
                    self._control(fd, kfilter, select.KQ_EV_DELETE)
                except OSError:
                    pass

    def _poll(self, timeout: float | None) -> list[tuple[int, int]]:
        kevents = self._kqueue.control(None, max(len(self._fds), 1) * 2, timeout)
        merged: dict[int, int] = {}
        for k in kevents:
            fd = k.ident
            mask = 0
            if k.filter == select.KQ_FILTER_READ:
                mask |= READ
            elif k.filter == select.KQ_FILTER_WRITE:
                mask |= WRITE
            if k.flags & select.KQ_EV_EOF:
                mask |= _HUP_BIT
            if k.flags & select.KQ_EV_ERROR:
                mask |= _ERROR_BIT
            merged[fd] = merged.get(fd, 0) | mask
        return list(merged.items())

    def _close(self) -> None:
        self._kqueue.close()


class _poll(_BasePoller):
    """POSIX ``poll(2)``."""

    def __init__(self) -> None:
        super().__init__()
        self._poller = select.poll()

    def _add(self, fd: int, events: int, known: bool) -> None:
        mask = 0
        if events & READ:
            mask |= select.POLLIN | select.POLLPRI
        if events & WRITE:
            mask |= select.POLLOUT
        if events & ERR:
            mask |= select.POLLERR | select.POLLHUP
        if known:
            self._poller.modify(fd, mask)
        else:
            self._poller.register(fd, mask)

    def _remove(self, fd: int, mask: int | None) -> None:
        self._poller.unregister(fd)

    def _poll(self, timeout: float | None) -> list[tuple[int, int]]:
        ms = None if timeout is None else math.ceil(timeout * 1000.0)
        out = []
        for fd, ev in self._poller.poll(ms):
            if ev & select.POLLNVAL:
                # invalid descriptor (closed): report it once and forget it
                self.unregister(fd)
                out.append((fd, ERR))
                continue
            mask = 0
            if ev & (select.POLLIN | select.POLLPRI):
                mask |= READ
            if ev & select.POLLOUT:
                mask |= WRITE
            if ev & select.POLLERR:
                mask |= _ERROR_BIT
            if ev & select.POLLHUP:
                mask |= _HUP_BIT
            out.append((fd, mask))
        return out


class _select(_BasePoller):
    """Portable ``select(2)`` fallback."""

    def _add(self, fd: int, events: int, known: bool) -> None:
        pass  # the bookkeeping in self._fds is all select needs

    def _remove(self, fd: int, mask: int | None) -> None:
        pass

    def _sets(self) -> tuple[list[int], list[int], list[int]]:
        readers = [fd for fd, m in self._fds.items() if m & READ]
        writers = [fd for fd, m in self._fds.items() if m & WRITE]
        errors = [fd for fd, m in self._fds.items() if m & ERR]
        return readers, writers, errors

    def _bad_fds(self) -> list[int]:
        bad = []
        for fd in list(self._fds):
            try:
                select.select([fd], [], [], 0)
            except (OSError, ValueError):
                bad.append(fd)
        return bad

    def _poll(self, timeout: float | None) -> list[tuple[int, int]]:
        readers, writers, errors = self._sets()
        if not (readers or writers or errors):
            # select() with empty sets is not portable: just wait.
            if timeout:
                time.sleep(timeout)
            return []
        try:
            r, w, x = select.select(readers, writers, errors, timeout)
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno not in SELECT_BAD_FD:
                raise
            out = []
            for fd in self._bad_fds():
                self._forget(fd)
                out.append((fd, ERR))
            return out
        events: dict[int, int] = {}
        for fd in r:
            events[fd] = events.get(fd, 0) | READ
        for fd in w:
            events[fd] = events.get(fd, 0) | WRITE
        for fd in x:
            events[fd] = events.get(fd, 0) | _ERROR_BIT
        return list(events.items())


def _best_poller() -> type[_BasePoller]:
    if hasattr(select, 'epoll'):
        return _epoll
    if hasattr(select, 'kqueue'):
        return _kqueue
    if hasattr(select, 'poll'):
        return _poll
    return _select


#: The implementation chosen for this platform (at import).
_DEFAULT_POLLER = _best_poller()


def _get_poller() -> type[_BasePoller]:
    """Return the poller class to use now (``select`` under eventlet/gevent)."""
    try:
        from kombu.utils.compat import detect_environment
    except ImportError:  # pragma: no cover - compat is part of the package
        return _DEFAULT_POLLER
    if detect_environment() != 'default':
        return _select
    return _DEFAULT_POLLER


def poll(*args: Any, **kwargs: Any) -> _BasePoller:
    """Create new poller instance."""
    return _get_poller()(*args, **kwargs)
