"""Generic resource pool implementation.

Subclasses implement :meth:`Resource.setup` (fill ``self._resource``, a
:class:`LifoQueue`, up to ``limit`` items, which may be
:class:`~kombu.utils.functional.lazy` factories), ``new()`` (create one
resource) and optionally :meth:`~Resource.prepare`,
:meth:`~Resource.release_resource`, :meth:`~Resource.close_resource` and
:meth:`~Resource.collect_resource`.  ``self._dirty`` is the set of
resources currently acquired.
"""
from __future__ import annotations

import logging
import os
from collections import deque
from queue import LifoQueue as _LifoQueue
from time import monotonic
from typing import Any

from . import exceptions
from .utils.compat import register_after_fork
from .utils.functional import lazy

__all__ = ('LifoQueue', 'Resource')

logger = logging.getLogger(__name__)


class LifoQueue(_LifoQueue):
    """Last in first out version of Queue.

    Kept in a :class:`~collections.deque` so the least recently used items
    can be dropped from the left.
    """

    def _init(self, maxsize: int) -> None:
        self.queue: deque = deque()  # type: ignore[assignment]


def _after_fork_cleanup_resource(resource: Resource) -> None:
    try:
        resource.force_close_all()
    except Exception as exc:
        logger.warning('after fork raised exception: %r', exc, exc_info=True)


class Resource:
    """Pool of resources."""

    LimitExceeded = exceptions.LimitExceeded

    close_after_fork = False

    def __init__(self, limit: int | None = None, preload: int | None = None,
                 close_after_fork: bool | None = None) -> None:
        self._limit = limit
        self.preload = preload or 0
        self._closed = False
        self.close_after_fork = (
            close_after_fork if close_after_fork is not None else self.close_after_fork)
        self._resource = LifoQueue()
        self._dirty: set = set()
        self._pending = 0  # taken from the pool, not yet prepared
        self._pid = os.getpid()
        if self.close_after_fork:
            register_after_fork(self, _after_fork_cleanup_resource)
        self.setup()

    def setup(self) -> None:
        """Fill the pool (subclass responsibility)."""
        raise NotImplementedError(
            f'{type(self).__name__}.setup() is a subclass responsibility')

    def new(self) -> Any:
        """Create a new resource (subclass responsibility)."""
        raise NotImplementedError(
            f'{type(self).__name__}.new() is a subclass responsibility')

    def _limit_error(self) -> exceptions.LimitExceeded:
        """The error for a full pool; its argument is the limit (``ConnectionLimitExceeded: 2``)."""
        return self.LimitExceeded(self.limit)

    def _take(self, block: bool, timeout: float | None) -> Any:
        """Take a pooled item, or a new one while under the limit; count it as pending."""
        q = self._resource
        deadline = None if timeout is None else monotonic() + timeout
        with q.not_empty:
            while True:
                if q._qsize():
                    self._pending += 1
                    return q._get()
                if len(self._dirty) + self._pending < (self.limit or 0):
                    self._pending += 1
                    break
                if not block:
                    raise self._limit_error()
                remaining = None if deadline is None else deadline - monotonic()
                if remaining is not None and remaining <= 0:
                    raise self._limit_error()
                q.not_empty.wait(remaining)
        try:
            return self.new()
        except BaseException:
            self._untake(None)
            raise

    def _untake(self, R: Any) -> None:
        """Undo :meth:`_take` after a failure (an evaluated resource is released)."""
        q = self._resource
        if R is not None and not isinstance(R, lazy):
            try:
                self.release(R)
            finally:
                with q.not_empty:
                    self._pending -= 1
                    q.not_empty.notify()
            return
        with q.not_empty:
            self._pending -= 1
            if R is not None:  # not evaluated yet: just put it back
                q._put(R)
                q.unfinished_tasks += 1
            q.not_empty.notify()

    def _put_back(self, resource: Any) -> None:
        q = self._resource
        with q.not_empty:
            self._dirty.discard(resource)
            q._put(resource)
            q.unfinished_tasks += 1
            q.not_empty.notify()

    def _check_fork(self) -> None:
        if self.close_after_fork and self._pid != os.getpid():
            self._pid = os.getpid()
            _after_fork_cleanup_resource(self)

    def acquire(self, block: bool = False, timeout: float | None = None) -> Any:
        """Acquire resource.

        Arguments:
            block (bool): If the limit is exceeded,
                then block until there is an available item.
            timeout (float): Timeout to wait
                if ``block`` is true.  Default is :const:`None` (forever).

        Raises:
            LimitExceeded: if block is false and the limit has been exceeded
                (or the timeout passed with nothing released).
        """
        self._check_fork()
        if self._closed:
            raise RuntimeError(f'Acquire on closed pool {self!r}')
        if self.limit:
            R = self._take(block, timeout)
            try:
                R = self.prepare(R)
            except BaseException:
                self._untake(R)
                raise
            with self._resource.mutex:
                self._pending -= 1
                self._dirty.add(R)
        else:
            R = self.prepare(self.new())

        def release() -> None:
            """Release resource so it can be used by another thread."""
            self.release(R)
        R.release = release

        return R

    def prepare(self, resource: Any) -> Any:
        """Turn a pooled item into a usable resource (default: as it is)."""
        return resource

    def close_resource(self, resource: Any) -> None:
        """Close a resource."""
        resource.close()

    def release_resource(self, resource: Any) -> None:
        """Hook called when a resource is returned to the pool."""

    def replace(self, resource: Any) -> None:
        """Replace existing resource with a new instance.

        This can be used in case of defective resources.
        """
        if self.limit:
            q = self._resource
            with q.not_empty:
                self._dirty.discard(resource)
                q.not_empty.notify()  # a waiter may now create a new one
        self.close_resource(resource)

    def release(self, resource: Any) -> None:
        """Return ``resource`` to the pool (close it when there is no limit)."""
        if self.limit:
            self._put_back(resource)
            self.release_resource(resource)
        else:
            self.close_resource(resource)

    def collect_resource(self, resource: Any) -> None:
        """Dispose of a resource when the pool is closed or shrunk."""

    def force_close_all(self) -> None:
        """Close and remove all resources in the pool (also those in use).

        Used to close resources from parent processes after fork
        (e.g. sockets/connections).
        """
        if self._closed:
            return
        self._closed = True
        dirty = self._dirty
        while True:  # acquired
            try:
                dres = dirty.pop()
            except KeyError:
                break
            self._collect_quietly(dres)
        queue = self._resource.queue
        while True:  # available
            try:
                res = queue.pop()
            except IndexError:
                break
            self._collect_quietly(res)

    def _collect_quietly(self, resource: Any) -> None:
        try:
            self.collect_resource(resource)
        except AttributeError:
            pass  # e.g. a lazy item that was never evaluated

    def resize(self, limit: int, force: bool = False, ignore_errors: bool = False,
               reset: bool = False) -> None:
        """Change the limit.

        Shrinking a pool that has resources in use raises
        :exc:`RuntimeError` unless ``force`` (which resets the pool) or
        ``ignore_errors`` is set.
        """
        prev_limit = self._limit
        if (self._dirty and 0 < limit < (self._limit or 0)) and not ignore_errors:
            if not force:
                raise RuntimeError(
                    f"Can't shrink pool when in use: was={self._limit} now={limit}")
            reset = True
        self._limit = limit
        if reset:
            try:
                self.force_close_all()
            except Exception:
                pass
            self._closed = False
        self.setup()
        if limit < (prev_limit or 0):
            self._shrink_down(collect=limit > 0)

    def _shrink_down(self, collect: bool = True) -> None:
        resource = self._resource
        # Items to the left are least recently used: drop those first.
        with resource.mutex:
            while len(resource.queue) > (self.limit or 0):
                R = resource.queue.popleft()
                if collect:
                    self._collect_quietly(R)

    @property
    def limit(self) -> int | None:
        return self._limit

    @limit.setter
    def limit(self, limit: int) -> None:
        self.resize(limit)
