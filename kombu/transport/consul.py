"""Consul Transport.

It uses Consul.io's Key/Value store to transport messages in Queues.

It uses python-consul (``pip install "kombu[consul]"``, the maintained
``python-consul2`` distribution of the ``consul`` module) for talking to
Consul's HTTP API.  URL: ``consul://host[:port]`` (default
``localhost:8500``).

Layout in the K/V store (``prefix`` defaults to ``kombu``; queue names
are used as they are, as Kombu 4.x did, except that ``%`` and ``/`` are
%-escaped so that a name stays one path segment):

* ``<prefix>/<queue>``: the queue's existence marker (``queue_declare``);
* ``<prefix>/<queue>/msg/<time ns>_<uuid>``: one key per message (JSON;
  any key there is a message, so those stored by Kombu 4.x are read too),
  taken in key (= publish) order;
* ``<prefix>/<queue>.lock``: the queue's lock.  A channel takes a message
  while holding the lock with its Consul session (named
  ``<prefix>.<hostname>.<pid>.<n>``; :attr:`Channel.lock_name` is the hostname,
  TTL :attr:`Channel.session_ttl` seconds, renewed while in use, its locks
  released if the client dies) and deletes the key with a check-and-set on
  its index, so two consumers never get the same message.

Exchanges and bindings are kept in this process (like ``memory://``).
While a connection consumes from one queue, ``drain_events`` waits with a
Consul blocking query on the queue's messages (woken as soon as one is
published) instead of sleeping ``polling_interval``.

Transport options: ``prefix``, ``session_ttl``, ``timeout`` (the longest
``wait`` of a blocking query, a Consul duration such as ``'10s'``),
``lock_timeout`` (seconds to wait for a queue lock, default 5),
``polling_interval``.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from itertools import count
from typing import Any

from kombu.exceptions import ChannelError
from kombu.utils.json import dumps, loads

from . import virtual
from .virtual.base import Empty

try:
    import consul
except ImportError:  # pragma: no cover - exercised with the extra missing
    consul = None

__all__ = ('Channel', 'Transport')

DEFAULT_HOST = 'localhost'
DEFAULT_PORT = 8500
_counter = count(1)


def _require_consul() -> Any:
    if consul is None:
        raise ImportError(
            'The Consul transport requires python-consul2: pip install "kombu[consul]"')
    return consul


def _error_classes() -> tuple[tuple, tuple]:
    """``(connection_errors, channel_errors)`` for the installed client."""
    conn = virtual.Transport.connection_errors
    chan = virtual.Transport.channel_errors
    if consul is not None:
        try:
            from requests.exceptions import ConnectionError as _ReqConnError
            from requests.exceptions import Timeout as _ReqTimeout
        except ImportError:  # pragma: no cover - requests comes with python-consul2
            extra: tuple = ()
        else:
            extra = (_ReqConnError, _ReqTimeout)
        conn = conn + (consul.ConsulException, consul.Timeout) + extra
        chan = chan + (consul.ConsulException,)
    return conn, chan


def _duration(value: Any) -> float:
    """Seconds in a Consul duration (``'10s'``, ``'500ms'``, ``'1m'``) or a number."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    for suffix, factor in (('ms', 0.001), ('s', 1.0), ('m', 60.0), ('h', 3600.0)):
        if text.endswith(suffix):
            try:
                return float(text[:-len(suffix)]) * factor
            except ValueError:
                break
    try:
        return float(text)
    except ValueError:
        raise ValueError(f'Invalid Consul duration {value!r} (e.g. "10s")') from None


def key_name(queue: str) -> str:
    """The key segment of ``queue``: the name as it is (as Kombu 4.x stored it),
    ``%`` and ``/`` %-escaped so that it stays one segment."""
    escaped = queue.replace('%', '%25').replace('/', '%2F')
    if escaped in ('.', '..'):
        escaped = escaped.replace('.', '%2E')
    return escaped


class LockTimeout(ChannelError):
    """The queue's lock could not be acquired in time."""


#: Name used by Kombu 4.x for this error.
LockError = LockTimeout


class Channel(virtual.Channel):
    """Consul Channel class which talks to the Consul Key/Value store."""

    prefix = 'kombu'
    #: The Consul index of the last messages listing (blocking queries start from it).
    index = None
    timeout = '10s'
    session_ttl = 30
    #: Seconds to wait for a queue's lock before giving up.
    lock_timeout = 5.0

    from_transport_options = virtual.Channel.from_transport_options + (
        'prefix', 'session_ttl', 'timeout', 'lock_timeout')

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _require_consul()
        super().__init__(*args, **kwargs)
        self.session_ttl = int(self.session_ttl)
        self.lock_timeout = float(self.lock_timeout)
        self.prefix = str(self.prefix).strip('/') or 'kombu'
        self.client = self.connection._new_client()
        self._session_id: str | None = None
        #: Last Consul index seen per queue (for blocking queries).
        self._indexes: dict[str, Any] = {}
        self._session_renewed = 0.0
        self._lock_name = (f'{self.prefix}.{socket.gethostname()}.{os.getpid()}'
                           f'.{next(_counter)}')

    @property
    def lock_name(self) -> str:
        """This host in the locks it holds: the hostname (as Kombu 4.x).

        The channel's Consul session is named ``<prefix>.<hostname>.<pid>.<n>``.
        """
        return socket.gethostname()

    # -- keys ---------------------------------------------------------------

    def _queue_key(self, queue: str) -> str:
        return f'{self.prefix}/{key_name(queue)}'

    def _messages_prefix(self, queue: str) -> str:
        return self._queue_key(queue) + '/msg/'

    def _lock_key(self, queue: str) -> str:
        return self._queue_key(queue) + '.lock'

    # -- sessions and locks -------------------------------------------------

    def _session(self) -> str:
        """This channel's session id (created, or renewed past half its TTL)."""
        now = time.monotonic()
        if self._session_id is None:
            self._session_id = self.client.session.create(
                name=self._lock_name, ttl=self.session_ttl, lock_delay=0,
                behavior='release')
            self._session_renewed = now
        elif now - self._session_renewed > self.session_ttl / 2:
            if not self.client.session.renew(self._session_id):
                self._session_id = None    # expired: make a new one
                return self._session()
            self._session_renewed = now
        return self._session_id

    def _acquire_lock(self, queue: str) -> None:
        key = self._lock_key(queue)
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        while True:
            if self.client.kv.put(key, self._lock_name, acquire=self._session()):
                return
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f'Could not acquire the lock {key!r} of queue {queue!r} '
                    f'within {self.lock_timeout} s')
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _release_lock(self, queue: str) -> None:
        if self._session_id is not None:
            self.client.kv.put(self._lock_key(queue), None, release=self._session_id)

    def _destroy_session(self) -> None:
        session, self._session_id = self._session_id, None
        if session is not None:
            try:
                self.client.session.destroy(session)
            except Exception:  # pragma: no cover - the agent is gone: the TTL will do
                pass

    # -- primitives -----------------------------------------------------------

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        """Write the queue's existence marker."""
        self.client.kv.put(self._queue_key(queue), '')

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        """True if the queue was declared or holds messages."""
        _, marker = self.client.kv.get(self._queue_key(queue))
        return marker is not None or bool(self._message_keys(queue))

    def _message_keys(self, queue: str) -> list[str]:
        index, keys = self.client.kv.get(self._messages_prefix(queue), keys=True)
        self.index = self._indexes[queue] = index
        return sorted(keys or ())

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        """Take the oldest message of ``queue`` (under its lock) or raise Empty."""
        if not self._message_keys(queue):
            raise Empty()
        self._acquire_lock(queue)
        try:
            for key in self._message_keys(queue):
                _, item = self.client.kv.get(key)
                if item is None:
                    continue
                if self.client.kv.delete(key, cas=item['ModifyIndex']):
                    return loads(item['Value'])
            raise Empty()
        finally:
            self._release_lock(queue)

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        """Store ``message`` under a new key of ``queue``."""
        key = f'{self._messages_prefix(queue)}{time.time_ns():020d}_{uuid.uuid4().hex}'
        if not self.client.kv.put(key, dumps(message)):
            raise ChannelError(f'Consul refused to store a message in queue {queue!r}')

    def _size(self, queue: str) -> int:
        """Number of messages in ``queue``."""
        return len(self._message_keys(queue))

    def _purge(self, queue: str) -> int:
        """Remove every message of ``queue`` (under its lock); return how many."""
        self._acquire_lock(queue)
        try:
            size = self._size(queue)
            self.client.kv.delete(self._messages_prefix(queue), recurse=True)
            return size
        finally:
            self._release_lock(queue)

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        """Drop the queue's messages, marker and lock."""
        self._purge(queue)
        self.client.kv.delete(self._queue_key(queue))
        self.client.kv.delete(self._lock_key(queue))

    def _wait_for_change(self, queue: str, seconds: float) -> None:
        """Block until the messages of ``queue`` change or ``seconds`` pass."""
        if queue not in self._indexes:
            self._message_keys(queue)
        wait_ms = int(min(seconds, _duration(self.timeout)) * 1000)
        if wait_ms <= 0:
            return
        index, _ = self.client.kv.get(self._messages_prefix(queue), keys=True,
                                      index=self._indexes[queue], wait=f'{wait_ms}ms')
        if index is not None and index < (self._indexes[queue] or 0):
            index = 0                 # the index went backwards (agent reset): start over
        self.index = self._indexes[queue] = index

    def close(self) -> None:
        """Close the channel and destroy its session."""
        super().close()
        self._destroy_session()


class Transport(virtual.Transport):
    """Consul K/V storage Transport for Kombu."""

    Channel = Channel

    default_port = DEFAULT_PORT
    driver_type = 'consul'
    driver_name = 'consul'
    connection_errors, channel_errors = _error_classes()
    recoverable_connection_errors = connection_errors
    recoverable_channel_errors = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _require_consul()
        super().__init__(*args, **kwargs)
        self._client: Any = None

    def _new_client(self) -> Any:
        """A ``consul.Consul`` client for the Connection's host and port."""
        conninfo = self.client
        options: dict[str, Any] = {}
        if conninfo.password:
            options['token'] = conninfo.password
        if conninfo.ssl:
            options['scheme'] = 'https'
        return _require_consul().Consul(
            host=conninfo.hostname or DEFAULT_HOST,
            port=conninfo.port or self.default_port, **options)

    def establish_connection(self) -> Transport:
        """Check that the agent answers (else raise one of :attr:`connection_errors`)."""
        self._client = self._new_client()
        self._client.status.leader()
        return self

    def _wait_for_messages(self, timeout: float) -> None:
        """A blocking query on the one consumed queue; else sleep ``timeout``."""
        consuming = [(channel, channel._active_queues) for channel in self.channels
                     if channel._active_queues]
        if len(consuming) == 1 and len(consuming[0][1]) == 1:
            channel, (queue,) = consuming[0]
            channel._wait_for_change(queue, timeout)
        else:
            super()._wait_for_messages(timeout)

    def verify_connection(self, connection: Any) -> bool:
        client = self._client or self._new_client()
        try:
            return bool(client.status.leader())
        except self.connection_errors:
            return False

    def driver_version(self) -> str:
        return _require_consul().__version__
