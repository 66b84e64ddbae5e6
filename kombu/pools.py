"""Public resource pools: the global ``connections`` and ``producers`` groups.

A *pool group* maps a :class:`~kombu.Connection` (by its connection
parameters, so equal connections share a pool) to a pool created on first
use.  :data:`connections` hands out :class:`~kombu.connection.ConnectionPool`
instances and :data:`producers` hands out :class:`ProducerPool` instances
whose producers borrow their connection from the matching connection pool.
"""
from __future__ import annotations

import os
import threading
from itertools import chain
from typing import Any, Callable, Iterator

from kombu.messaging import Producer
from kombu.resource import Resource
from kombu.utils.collections import eqhash
from kombu.utils.functional import lazy

__all__ = (
    'ProducerPool', 'PoolGroup', 'register_group',
    'connections', 'producers', 'get_limit', 'set_limit', 'reset',
    'Connections', 'Producers', 'use_global_limit', 'use_default_limit',
)

#: Pass as ``limit`` to a :class:`PoolGroup` to follow :func:`set_limit`.
use_global_limit = object()
#: The user guide's spelling of :data:`use_global_limit`.
use_default_limit = use_global_limit

#: Default limit of every pool, per the guide ("a limit of 200 connections").
DEFAULT_LIMIT = 200

_MISSING = object()
_limit = [DEFAULT_LIMIT]
_groups: list = []
_limit_lock = threading.Lock()


class ProducerPool(Resource):
    """Pool of :class:`kombu.Producer` instances.

    Each producer holds a connection taken from ``connections`` (a
    :class:`~kombu.connection.ConnectionPool`) while it is acquired and gives
    it back when released, so both pools share one limit.
    """

    Producer = Producer
    close_after_fork = True

    def __init__(self, connections: Any, *args: Any, **kwargs: Any) -> None:
        self.connections = connections
        self.Producer = kwargs.pop('Producer', None) or self.Producer
        self._held: set = set()
        self._held_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _acquire_connection(self) -> Any:
        return self.connections.acquire(block=True)

    def create_producer(self) -> Any:
        """Create a producer bound to a connection from the connection pool."""
        conn = self._acquire_connection()
        try:
            producer = self.Producer(conn)
        except BaseException:
            conn.release()
            raise
        producer._pool_connection = conn
        return producer

    def new(self) -> Any:
        """Return a lazy producer: it is created (and connected) on first acquire."""
        return lazy(self.create_producer)

    def setup(self) -> None:
        """Fill the pool with lazy producers up to ``limit`` (also after a resize)."""
        if self.limit:
            missing = self.limit - self._resource.qsize() - len(self._dirty)
            for _ in range(max(missing, 0)):
                self._resource.put_nowait(self.new())

    def close_resource(self, resource: Any) -> None:
        """Producers hold no resource of their own (connections are pooled)."""

    def force_close_all(self) -> None:
        """Forget every producer; ones still held are not taken back on release."""
        with self._held_lock:
            self._held.clear()
        super().force_close_all()

    def prepare(self, p: Any) -> Any:
        """Evaluate a lazy producer, or give an idle one a fresh connection."""
        if isinstance(p, lazy):
            p = p()
        if getattr(p, '_pool_connection', None) is None:
            conn = self._acquire_connection()
            try:
                p.revive(conn)
            except BaseException:
                conn.release()
                raise
            p._pool_connection = conn
        with self._held_lock:
            self._held.add(id(p))
        return p

    def release(self, resource: Any) -> None:
        """Give the producer's connection back, then the producer (idempotent)."""
        with self._held_lock:
            held = id(resource) in self._held
            self._held.discard(id(resource))
            conn = getattr(resource, '_pool_connection', None)
            resource._pool_connection = None
        if conn is not None:
            conn.release()
        if not held:
            return  # released twice, or held across a reset: not taken back
        try:
            resource.channel = None
        except AttributeError:  # pragma: no cover - Producer without setter
            pass
        super().release(resource)


class PoolGroup(dict):
    """Collection of resource pools, keyed by connection parameters."""

    def __init__(self, limit: Any = None, close_after_fork: bool = True) -> None:
        super().__init__()
        self.limit = limit
        self.close_after_fork = close_after_fork
        self._lock = threading.RLock()

    def create(self, resource: Any, limit: Any) -> Any:
        """Create the pool for *resource* (implemented by subclasses)."""
        raise NotImplementedError(f'{type(self).__name__}.create')

    def _effective_limit(self) -> Any:
        return get_limit() if self.limit is use_global_limit else self.limit

    def __getitem__(self, resource: Any) -> Any:
        key = _pool_key(resource)
        pool = dict.get(self, key, _MISSING)
        if pool is _MISSING:
            with self._lock:
                pool = dict.get(self, key, _MISSING)
                if pool is _MISSING:
                    pool = self.__missing__(resource)
        return pool

    def __setitem__(self, resource: Any, pool: Any) -> None:
        dict.__setitem__(self, _pool_key(resource), pool)

    def __contains__(self, resource: Any) -> bool:
        return dict.__contains__(self, _pool_key(resource))

    def __delitem__(self, resource: Any) -> None:
        dict.__delitem__(self, _pool_key(resource))

    def __missing__(self, resource: Any) -> Any:
        pool = self.create(resource, self._effective_limit())
        dict.__setitem__(self, _pool_key(resource), pool)
        return pool


def _pool_key(resource: Any) -> Any:
    """Key equal connections (same parameters) to the same pool."""
    return eqhash(resource)


def register_group(group: PoolGroup) -> PoolGroup:
    """Register group (can be used as decorator)."""
    _groups.append(group)
    return group


class Connections(PoolGroup):
    """Collection of connection pools."""

    def create(self, connection: Any, limit: Any) -> Any:
        return connection.Pool(limit=limit)


connections = register_group(Connections(limit=use_global_limit))


class Producers(PoolGroup):
    """Collection of producer pools."""

    def create(self, connection: Any, limit: Any) -> Any:
        return ProducerPool(connections[connection], limit=limit)


producers = register_group(Producers(limit=use_global_limit))


def _all_pools(global_only: bool = False) -> Iterator[Any]:
    groups = [g for g in _groups if not global_only or g.limit is use_global_limit]
    return chain.from_iterable(list(g.values()) for g in groups)


def get_limit() -> int:
    """Get current connection pool limit."""
    return _limit[0]


def set_limit(limit: int, force: bool = False, reset_after: bool = False,
              ignore_errors: bool = False) -> int:
    """Set new connection pool limit.

    Existing pools of groups that use the global limit are resized; shrinking
    a pool with resources in use needs ``force=True``.
    """
    with _limit_lock:
        if limit != _limit[0] or force:
            for pool in _all_pools(global_only=True):
                pool.resize(limit, force=force, ignore_errors=ignore_errors,
                            reset=reset_after)
            _limit[0] = limit
    return limit


def reset(*args: Any, **kwargs: Any) -> None:
    """Reset all pools by closing open resources."""
    for pool in _all_pools():
        try:
            pool.force_close_all()
        except Exception:  # noqa: BLE001 - best effort, sockets may be dead
            pass
    for group in _groups:
        group.clear()


def _after_fork_in_child() -> None:
    """Drop every pool in a forked child so it never reuses a parent's socket.

    No resource is closed here: closing would talk to the broker over the
    socket the parent still uses.  The child simply forgets them.
    """
    for group in _groups:
        group._lock = threading.RLock()  # the parent may have held it
        if group.close_after_fork:
            dict.clear(group)


_register_at_fork: Callable | None = getattr(os, 'register_at_fork', None)
if _register_at_fork is not None:
    _register_at_fork(after_in_child=_after_fork_in_child)
