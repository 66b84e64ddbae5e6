"""Zookeeper transport.

Connects to a zookeeper node as ``zookeeper://<server>:<port>/<vhost>``.
The ``<vhost>`` becomes the base for all the other znodes, so it can be
used like a vhost: queue ``q`` of vhost ``v`` lives at ``/v/q`` (at ``/q``
for the default vhost ``/``).

This uses the built-in kazoo recipe for queues
(:class:`kazoo.recipe.queue.Queue`): a message is a sequential child
znode ``entry-PPP-NNNNNNNNNN`` of the queue's znode, holding the message
dict as JSON.  Consumers take the first child in name order and delete it;
only the consumer whose delete succeeds gets the message, so competing
consumers (in any number of processes) never take the same message.

Priorities are supported: ``PPP`` is ``max_priority - priority`` (0..9), so
a message with a higher priority is taken first, as with AMQP; messages of
one priority come out in publish order.

Rejected (``requeue=True``), recovered and restored messages go back ahead
of the other messages of their priority.  Queue names are used as they
are (as Kombu 4.x did), except that ``/``, ``%`` and the characters
ZooKeeper refuses (control characters, ...) are %-escaped; a stored
message (JSON) must stay under ZooKeeper's 1 MiB znode limit (a larger one
is refused with a :class:`~amqp.exceptions.ChannelError`).

Requires the ``kazoo`` library: ``pip install "kombu[zookeeper]"``.

Limitations:
    This queue does not offer reliable consumption.  An entry is removed
    from the queue prior to being processed.  So if an error occurs, the
    consumer has to re-queue the item or it will be lost.  (Within one
    kombu channel unacked messages are put back when they are rejected
    with ``requeue=True``, recovered, or when the channel is closed; a
    process that dies holding unacked messages loses them.)

    Exchanges and bindings are kept in memory (declare them in every
    client); fanout is not supported.

URL and options:
    * ``zookeeper://host:port/vhost`` (default port 2181).  Several servers
      of one ensemble: ``Connection(transport='zookeeper',
      hostname='h1:2181,h2,h3:2182', virtual_host='vhost')`` (a server
      without a port gets ``port``).
    * ``userid``/``password`` are sent as ZooKeeper ``digest`` auth data.
    * ``connect_timeout`` (default 10 s) bounds the session start.
    * ``transport_options['polling_interval']`` (default 1 s): the longest
      a waiting consumer sleeps; a ZooKeeper child watch on the consumed
      queues wakes it as soon as a message arrives.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import threading
from itertools import count
from time import time_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import virtual
from kombu.transport.virtual.base import Empty
from kombu.utils.imports import import_extra

__all__ = ('Channel', 'Transport')

DEFAULT_PORT = 2181

#: Largest message (JSON bytes) stored; ZooKeeper refuses znodes of 1 MiB or more.
MAX_MESSAGE_SIZE = 1024 * 1024 - 1024

#: Characters %-escaped in znode names: ``/`` and ``%`` (so names stay one
#: segment and the escaping is unambiguous) and those ZooKeeper refuses.
#: Everything else (spaces, non-ASCII) is kept, as Kombu 4.x stored it.
_UNSAFE = re.compile('[%/\x00-\x1f\x7f-\x9f\ud800-\uf8ff\ufff0-\uffff]')

_restore_counter = count(1)

_KAZOO_MODULES = ('kazoo.client', 'kazoo.exceptions', 'kazoo.recipe.queue', 'kazoo.retry')


def _import_kazoo() -> Any:
    for name in _KAZOO_MODULES:
        import_extra(name, 'zookeeper', 'The zookeeper transport')
    return import_extra('kazoo', 'zookeeper', 'The zookeeper transport')


def _error_classes() -> tuple[tuple, tuple]:
    """``(connection_errors, channel_errors)`` including kazoo's exceptions."""
    kazoo = _import_kazoo()
    from kazoo.handlers.threading import KazooTimeoutError
    exc = kazoo.exceptions
    connection_errors = virtual.Transport.connection_errors + (
        exc.ConnectionLoss, exc.ConnectionClosedError, exc.SessionExpiredError,
        exc.OperationTimeoutError, exc.AuthFailedError, exc.CancelledError,
        kazoo.retry.RetryFailedError, KazooTimeoutError, OSError,
    )
    channel_errors = virtual.Transport.channel_errors + (exc.ZookeeperError,)
    return connection_errors, channel_errors


def _escape(match: re.Match) -> str:
    return ''.join(f'%{byte:02X}' for byte in match.group().encode('utf-8', 'surrogatepass'))


def znode_name(name: str) -> str:
    """A valid znode name for queue ``name`` (``/``, ``%`` and invalid characters %-escaped)."""
    if not name:
        raise ValueError('Queue name must not be empty for the zookeeper transport')
    escaped = _UNSAFE.sub(_escape, name)
    if escaped in ('.', '..', 'zookeeper'):
        escaped = escaped.replace('.', '%2E').replace('z', '%7A', 1)
    return escaped


class Channel(virtual.Channel):
    """Zookeeper Channel."""

    restore_to_head = True

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self._queues: dict[str, Any] = {}
        vhost = getattr(connection.client, 'virtual_host', None) or '/'
        self._vhost = '/' + vhost.strip('/') if vhost.strip('/') else ''

    @property
    def client(self) -> Any:
        """The started :class:`kazoo.client.KazooClient` of this connection."""
        return self.connection._get_client()

    # -- helpers ------------------------------------------------------------

    def _queue_path(self, queue: str) -> str:
        return f'{self._vhost}/{znode_name(queue)}'

    def _get_queue(self, queue: str) -> Any:
        """The kazoo :class:`~kazoo.recipe.queue.Queue` recipe object for ``queue``."""
        client = self.client
        q = self._queues.get(queue)
        if q is None or q.client is not client:   # new session: new recipe object
            kazoo = _import_kazoo()
            q = self._queues[queue] = kazoo.recipe.queue.Queue(
                client, self._queue_path(queue))
        return q

    def _forget(self, queue: str) -> None:
        self._queues.pop(queue, None)

    @staticmethod
    def _refresh(q: Any) -> None:
        # The recipe caches the sorted children it saw last; after we add a
        # node ourselves, make the next get look again so priority (and
        # restore-at-head) order is honoured.
        if getattr(q, '_children', None):
            q._children = []

    def _encode(self, queue: str, message: dict) -> bytes:
        data = json.dumps(message).encode('utf-8')
        if len(data) > MAX_MESSAGE_SIZE:
            raise ChannelError(
                f'Message of {len(data)} bytes for queue {queue!r} is too large for '
                f'ZooKeeper (at most {MAX_MESSAGE_SIZE} bytes per znode)')
        return data

    # -- storage primitives --------------------------------------------------

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        self.client.ensure_path(self._queue_path(queue))

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return self.client.exists(self._queue_path(queue)) is not None

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        data = self._encode(queue, message)
        priority = self._get_message_priority(message, reverse=True)
        NoNodeError = _import_kazoo().exceptions.NoNodeError
        q = self._get_queue(queue)
        try:
            q.put(data, priority=priority)
        except NoNodeError:        # queue znode deleted since we last used it
            self._forget(queue)
            q = self._get_queue(queue)
            q.put(data, priority=priority)
        self._refresh(q)

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        kazoo = _import_kazoo()
        q = self._get_queue(queue)
        for _ in range(10):
            try:
                data = q.get()
            except kazoo.exceptions.NoNodeError:
                self._forget(queue)
                raise Empty()
            except kazoo.retry.RetryFailedError:
                # lost the race for the head entry to other consumers several
                # times in a row: look again from scratch.
                q._children = []
                continue
            if data is None:
                raise Empty()
            return json.loads(data)
        raise Empty()

    def _size(self, queue: str) -> int:
        try:
            return len(self.client.get_children(self._queue_path(queue)))
        except _import_kazoo().exceptions.NoNodeError:
            return 0

    def _purge(self, queue: str) -> int:
        NoNodeError = _import_kazoo().exceptions.NoNodeError
        client = self.client
        path = self._queue_path(queue)
        try:
            children = client.get_children(path)
        except NoNodeError:
            return 0
        removed = 0
        for child in children:
            try:
                client.delete(posixpath.join(path, child))
            except NoNodeError:     # taken by a consumer meanwhile
                continue
            removed += 1
        q = self._queues.get(queue)
        if q is not None:
            q._children = []
        return removed

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        kazoo = _import_kazoo()
        self._forget(queue)
        try:
            self.client.delete(self._queue_path(queue), recursive=True)
        except kazoo.exceptions.NoNodeError:
            pass
        except kazoo.exceptions.NotEmptyError:   # a message arrived meanwhile
            self._purge(queue)
            try:
                self.client.delete(self._queue_path(queue), recursive=True)
            except kazoo.exceptions.NoNodeError:
                pass

    def _restore_at_beginning(self, message: Any) -> None:
        """Put the message back ahead of the others of its priority."""
        queue = getattr(message, '_queue', None)
        if queue is None:
            return self._restore(message)
        raw = self._redelivered(message)
        data = self._encode(queue, raw)
        priority = self._get_message_priority(raw, reverse=True)
        # '.' sorts before the digits of the recipe's sequence numbers, and a
        # later restore sorts before an earlier one.
        stamp = 10 ** 19 - time_ns()
        name = (f'entry-{priority:03d}-.{stamp:019d}'
                f'{10 ** 9 - next(_restore_counter):09d}.{os.getpid()}.'
                f'{threading.get_ident() % 10 ** 6}')
        self.client.ensure_path(self._queue_path(queue))
        self.client.create(posixpath.join(self._queue_path(queue), name), data)
        q = self._queues.get(queue)
        if q is not None:
            self._refresh(q)
        return None


class Transport(virtual.Transport):
    """Zookeeper Transport."""

    Channel = Channel

    #: Exchanges and bindings of zookeeper connections in this process.
    state = virtual.BrokerState()

    polling_interval = 1
    default_port = DEFAULT_PORT
    driver_type = 'zookeeper'
    driver_name = 'kazoo'

    implements = virtual.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({'direct', 'topic'}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _import_kazoo()
        super().__init__(*args, **kwargs)
        self.connection_errors, self.channel_errors = _error_classes()
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._wakeup = threading.Event()

    def _hosts(self) -> str:
        conninfo = self.client
        hostname = conninfo.hostname or '127.0.0.1'
        port = conninfo.port or self.default_port
        hosts = []
        for host in hostname.split(','):
            host = host.strip()
            if not host:
                continue
            if host.startswith('[') or host.count(':') == 0:
                hosts.append(f'{host}:{port}')
            else:
                hosts.append(host)
        return ','.join(hosts)

    def _new_client(self) -> Any:
        kazoo = _import_kazoo()
        conninfo = self.client
        auth_data = None
        if conninfo.userid:
            auth_data = [('digest', f'{conninfo.userid}:{conninfo.password or ""}')]
        timeout = conninfo.connect_timeout or 10.0
        client = kazoo.client.KazooClient(
            hosts=self._hosts(), timeout=timeout, auth_data=auth_data,
            connection_retry={'max_tries': 3, 'delay': 0.1, 'max_jitter': 0.1},
            command_retry={'max_tries': 5, 'delay': 0.01, 'backoff': 2,
                           'max_jitter': 0.02, 'max_delay': 1.0})
        try:
            client.start(timeout=timeout)
        except BaseException:
            client.stop()
            client.close()
            raise
        return client

    def _get_client(self) -> Any:
        """Start (once) and return the kazoo client shared by this connection's channels."""
        client = self._client
        if client is not None and client.connected:
            return client
        with self._client_lock:
            client = self._client
            if client is None or not client.connected:
                if client is not None:
                    self._close_client(client)
                client = self._client = self._new_client()
        return client

    @staticmethod
    def _close_client(client: Any) -> None:
        try:
            client.stop()
        finally:
            client.close()

    def establish_connection(self) -> Any:
        """Start the ZooKeeper session (raise one of ``connection_errors`` if down)."""
        self._get_client()
        return super().establish_connection()

    def close_connection(self, connection: Any) -> None:
        """Close the channels and end the ZooKeeper session (safe to call twice)."""
        try:
            super().close_connection(connection)
        finally:
            client, self._client = self._client, None
            if client is not None:
                self._close_client(client)

    def _on_queue_change(self, event: Any) -> None:
        # kazoo keeps child watchers in a set: this one bound method is
        # registered at most once per queue znode.
        self._wakeup.set()

    def _wait_for_messages(self, timeout: float) -> None:
        """Block until a consumed queue's children change, or ``timeout`` passes.

        Sets a ZooKeeper child watch on every queue consumed by a channel
        that may take messages, so a publish wakes the consumer at once.
        """
        if timeout <= 0:
            return
        kazoo = _import_kazoo()
        client = self._client
        if client is None or not client.connected:
            return super()._wait_for_messages(timeout)
        wakeup = self._wakeup
        wakeup.clear()
        watched = False
        for channel in list(self.channels):
            if not channel._active_queues or not channel.qos.can_consume():
                continue
            for queue in list(channel._active_queues):
                try:
                    children = client.get_children(channel._queue_path(queue),
                                                   watch=self._on_queue_change)
                except kazoo.exceptions.NoNodeError:
                    # watch for its creation instead
                    client.exists(channel._queue_path(queue), watch=self._on_queue_change)
                    children = None
                watched = True
                if children:
                    return
        if watched:
            wakeup.wait(timeout)
        else:
            super()._wait_for_messages(timeout)

    def verify_connection(self, connection: Any) -> bool:
        client = self._client
        return client is not None and client.connected

    def driver_version(self) -> str:
        return _import_kazoo().__version__
