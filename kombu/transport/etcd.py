"""Etcd Transport.

It uses Etcd as a store to transport messages in Queues.

It uses python-etcd for talking to Etcd's HTTP API (the v2 keys API: start
etcd 3.x with ``--enable-v2=true``).  Requires ``pip install "kombu[etcd]"``.

URL: ``etcd://host:port`` (default port 2379).  ``userid``/``password`` are
passed to etcd's basic auth.

Layout (``prefix`` defaults to ``kombu``):

* queue ``q`` is the directory ``/<prefix>/<q>``; each message is an
  in-order key in it (``POST``, named after etcd's index, so keys sort in
  publish order) holding the message dict as JSON;
* the lock of queue ``q`` is the key ``/<prefix>_locks/<q>``, created with
  ``prevExist=false``, ``ttl=lock_ttl`` and value ``<lock_value>.<channel id>``
  (:attr:`Channel.lock_value` is ``<hostname>.<pid>``).

A consumer holds the queue's lock while it takes a message, and deletes the
message key with ``prevIndex`` (compare-and-delete), so two consumers never
get the same message even if a lock expired meanwhile.  Unacked messages
are put back when rejected with ``requeue=True``, recovered, or when the
channel closes (ahead of the other messages); a consumer process that dies
loses its unacked messages.

A waiting consumer watches ``/<prefix>`` (etcd's ``wait``, from
:attr:`Channel.index`), so a publish wakes it at once; ``polling_interval``
(default 3 s) is only the longest one watch lasts.

Attributes that ``transport_options`` may override: ``prefix``,
``lock_ttl``, ``timeout`` (HTTP read timeout, seconds) and
``polling_interval``.  Exchanges and bindings are kept in memory (declare
them in every client); only direct exchanges are advertised.
"""
from __future__ import annotations

import json
import os
import socket
from contextlib import contextmanager
from itertools import count
from time import monotonic, sleep, time_ns
from typing import Any, Iterator
from urllib.parse import quote

from kombu.transport import virtual
from kombu.transport.virtual.base import Empty
from kombu.utils.imports import import_extra

__all__ = ('Channel', 'Transport')

DEFAULT_PORT = 2379
DEFAULT_HOST = 'localhost'

#: Seconds ``_get``/``_purge`` wait for a queue lock held by another client.
LOCK_WAIT = 0.5

#: Characters of a key left as they are in request URLs (RFC 3986 path characters).
_URL_SAFE = "/!$&'()*+,;=:@-._~"
_restore_counter = count(1)


def _import_etcd() -> Any:
    return import_extra('etcd', 'etcd', 'The etcd transport', library='python-etcd')


def _error_classes() -> tuple[tuple, tuple]:
    """``(connection_errors, channel_errors)`` including python-etcd's exceptions."""
    etcd = _import_etcd()
    connection_errors = virtual.Transport.connection_errors + (
        etcd.EtcdConnectionFailed, etcd.EtcdWatchTimedOut,
        etcd.EtcdLeaderElectionInProgress, etcd.EtcdClusterIdChanged, OSError,
    )
    channel_errors = virtual.Transport.channel_errors + (etcd.EtcdException,)
    return connection_errors, channel_errors


def key_name(name: str) -> str:
    """The key segment of queue ``name`` (``%`` and ``/`` escaped, so it is one segment)."""
    if not name:
        raise ValueError('Queue name must not be empty for the etcd transport')
    escaped = name.replace('%', '%25').replace('/', '%2F')
    if escaped in ('.', '..'):
        escaped = escaped.replace('.', '%2E')
    return escaped


def key_url(key: str) -> str:
    """``key`` as python-etcd must send it (etcd %-decodes request paths)."""
    return quote(key, safe=_URL_SAFE)


class Channel(virtual.Channel):
    """Etcd Channel class which talks to the Etcd."""

    #: Keys live under ``/<prefix>/``.
    prefix = 'kombu'
    #: The etcd index seen by the last read of this channel.
    index: int | None = None
    #: Seconds a queue lock lives unless released (a dead holder's lock expires).
    lock_ttl = 10
    #: Kept for compatibility (etcd's v2 API has no sessions).
    session_ttl = 30
    #: HTTP read timeout of requests to etcd, in seconds.
    timeout = 10

    restore_to_head = True

    from_transport_options = virtual.Channel.from_transport_options + (
        'prefix', 'lock_ttl', 'timeout',
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = str(self.prefix).strip('/')
        if not self.prefix:
            raise ValueError('etcd transport option prefix must not be empty')
        self._pending: dict[str, list] = {}

    @property
    def lock_value(self) -> str:
        """This process in the locks it holds: ``'<hostname>.<pid>'`` (as Kombu 4.x)."""
        return f'{socket.gethostname()}.{os.getpid()}'

    @property
    def _lock_token(self) -> str:
        """Value written into this channel's locks: :attr:`lock_value` and the channel."""
        return f'{self.lock_value}.{id(self):x}'

    @property
    def client(self) -> Any:
        """The :class:`etcd.Client` of this connection."""
        return self.connection._get_client()

    # -- keys and locks ---------------------------------------------------------

    def _key(self, queue: str) -> str:
        return key_url(f'/{self.prefix}/{key_name(queue)}')

    def _lock_key(self, queue: str) -> str:
        return key_url(f'/{self.prefix}_locks/{key_name(queue)}')

    def _acquire_lock(self, queue: str, wait: float = LOCK_WAIT) -> bool:
        """Take the lock of ``queue``; False if another client holds it for ``wait`` s."""
        etcd = _import_etcd()
        key = self._lock_key(queue)
        deadline = monotonic() + wait
        delay = 0.002
        while True:
            try:
                self.client.write(key, self._lock_token, ttl=self.lock_ttl, prevExist=False)
                return True
            except etcd.EtcdAlreadyExist:
                if monotonic() >= deadline:
                    return False
                sleep(delay)
                delay = min(delay * 2, 0.05)

    def _release_lock(self, queue: str) -> None:
        """Release the lock of ``queue`` if this channel still holds it."""
        etcd = _import_etcd()
        try:
            self.client.delete(self._lock_key(queue), prevValue=self._lock_token)
        except (etcd.EtcdKeyNotFound, etcd.EtcdCompareFailed):
            pass  # expired (lock_ttl) and maybe taken by another client since

    @contextmanager
    def _locked(self, queue: str) -> Iterator[bool]:
        acquired = self._acquire_lock(queue)
        try:
            yield acquired
        finally:
            if acquired:
                self._release_lock(queue)

    def _read_dir(self, queue: str) -> list:
        """The message nodes of ``queue`` in order (empty if it does not exist)."""
        etcd = _import_etcd()
        try:
            result = self.client.read(self._key(queue), sorted=True)
        except etcd.EtcdKeyNotFound:
            return []
        self.index = result.etcd_index
        if not result.dir:
            return []
        return [node for node in result.leaves if not node.dir and node.key != result.key]

    def _take(self, node: Any) -> bool:
        """Delete message ``node`` if nobody did yet; True if we did."""
        etcd = _import_etcd()
        try:
            self.client.delete(key_url(node.key), prevIndex=node.modifiedIndex)
        except (etcd.EtcdKeyNotFound, etcd.EtcdCompareFailed):
            return False
        return True

    # -- storage primitives -------------------------------------------------------

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        etcd = _import_etcd()
        try:
            self.client.write(self._key(queue), None, dir=True, prevExist=False)
        except etcd.EtcdAlreadyExist:
            pass

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        etcd = _import_etcd()
        try:
            self.client.read(self._key(queue))
        except etcd.EtcdKeyNotFound:
            return False
        return True

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        self.client.write(self._key(queue), json.dumps(message), append=True)
        self._pending.pop(queue, None)

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        with self._locked(queue) as acquired:
            if not acquired:
                raise Empty()
            pending = self._pending.get(queue)
            while pending:                      # nodes seen by our last read
                node = pending.pop(0)
                if self._take(node):
                    return json.loads(node.value)
            pending = self._pending[queue] = self._read_dir(queue)
            while pending:
                node = pending.pop(0)
                if self._take(node):
                    return json.loads(node.value)
            raise Empty()

    def _size(self, queue: str) -> int:
        return len(self._read_dir(queue))

    def _purge(self, queue: str) -> int:
        self._pending.pop(queue, None)
        with self._locked(queue):
            return sum(1 for node in self._read_dir(queue) if self._take(node))

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        etcd = _import_etcd()
        self._pending.pop(queue, None)
        for key in (self._key(queue), self._lock_key(queue)):
            try:
                self.client.delete(key, recursive=True)
            except etcd.EtcdKeyNotFound:
                pass

    def _restore_at_beginning(self, message: Any) -> None:
        """Put the message back ahead of every message of its queue."""
        queue = getattr(message, '_queue', None)
        if queue is None:
            return self._restore(message)
        # In-order keys are 20 digits; '.' sorts before digits, and a later
        # restore sorts before an earlier one.
        name = (f'.{10 ** 19 - time_ns():019d}{10 ** 9 - next(_restore_counter):09d}'
                f'.{os.getpid()}.{id(self):x}')
        self.client.write(f'{self._key(queue)}/{key_url(name)}',
                          json.dumps(self._redelivered(message)))
        self._pending.pop(queue, None)
        return None


class Transport(virtual.Transport):
    """Etcd storage Transport for Kombu."""

    Channel = Channel

    #: Exchanges and bindings of etcd connections in this process.
    state = virtual.BrokerState()

    default_port = DEFAULT_PORT
    driver_type = 'etcd'
    driver_name = 'python-etcd'
    polling_interval = 3

    implements = virtual.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({'direct'}),
        heartbeats=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _import_etcd()
        super().__init__(*args, **kwargs)
        self.connection_errors, self.channel_errors = _error_classes()
        self._client: Any = None

    def _get_client(self) -> Any:
        """The :class:`etcd.Client` shared by this connection's channels."""
        client = self._client
        if client is None:
            etcd = _import_etcd()
            conninfo = self.client
            topts = getattr(conninfo, 'transport_options', None) or {}
            timeout = topts.get('timeout', self.Channel.timeout)
            kwargs: dict = {}
            if conninfo.userid:
                kwargs.update(username=conninfo.userid, password=conninfo.password)
            client = self._client = etcd.Client(
                host=conninfo.hostname or DEFAULT_HOST,
                port=int(conninfo.port or self.default_port),
                read_timeout=timeout, **kwargs)
        return client

    def _wait_for_messages(self, timeout: float) -> None:
        """Block until a key under the channels' prefix changes, or ``timeout`` passes.

        Watches ``/<prefix>`` (recursively) from the etcd index of the last
        read, so a message published meanwhile wakes the consumer at once.
        """
        if timeout <= 0:
            return
        channel = next((ch for ch in self.channels
                        if ch._active_queues and ch.index is not None), None)
        if channel is None:
            return super()._wait_for_messages(timeout)
        etcd = _import_etcd()
        try:
            result = channel.client.read(
                key_url(f'/{channel.prefix}'), wait=True, recursive=True,
                waitIndex=channel.index + 1, timeout=timeout)
        except etcd.EtcdWatchTimedOut:
            return
        except etcd.EtcdEventIndexCleared:
            channel.index = None      # too old: the next read sets a fresh one
            return
        index = getattr(result, 'modifiedIndex', None)
        if index is not None and index > channel.index:
            channel.index = index

    def verify_connection(self, connection: Any) -> bool:
        """Verify the connection works."""
        try:
            self._get_client().api_execute('/v2/keys/', 'GET')
        except Exception:
            return False
        return True

    def establish_connection(self) -> Any:
        """Check that etcd answers on its v2 keys API, return the transport."""
        etcd = _import_etcd()
        client = self._get_client()
        try:
            client.read('/')
        except etcd.EtcdException as exc:
            if isinstance(exc, self.connection_errors):
                raise
            raise etcd.EtcdConnectionFailed(
                f'etcd at {client.host}:{client.port} does not serve the v2 keys API '
                f'(start etcd with --enable-v2=true): {exc}') from exc
        return super().establish_connection()

    def close_connection(self, connection: Any) -> None:
        """Close the channels and the HTTP connection pool (safe to call twice)."""
        try:
            super().close_connection(connection)
        finally:
            client, self._client = self._client, None
            pool = getattr(client, 'http', None)
            if pool is not None:
                pool.clear()

    def driver_version(self) -> str:
        """Return the version of the etcd library.

        .. note::
            python-etcd has no __version__. This is a workaround.
        """
        try:
            from importlib.metadata import version
            return version('python-etcd')
        except Exception:  # pragma: no cover - not installed as a distribution
            return 'N/A'
