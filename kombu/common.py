"""Common utilities: broadcast queues, cached declarations, event loops, replies."""
from __future__ import annotations

import os
import socket
import threading
from collections import deque
from contextlib import contextmanager
from functools import partial
from itertools import count
from typing import Any, Callable, Iterator
from uuid import NAMESPACE_OID, getnode, uuid3

from kombu.entity import Exchange, Queue
from kombu.exceptions import ChannelError
from kombu.log import get_logger
from kombu.messaging import Consumer
from kombu.utils.uuid import uuid

# The documented API; QoS, ignore_errors, oid_from, ... are importable by name.
__all__ = (
    'Broadcast', 'maybe_declare', 'uuid', 'itermessages', 'send_reply',
    'collect_replies', 'insured', 'drain_consumer', 'eventloop',
)

logger = get_logger(__name__)

#: AMQP's prefetch_count is an unsigned short; larger values mean "no limit".
PREFETCH_COUNT_MAX = 0xFFFF

_node_id: list = []


def get_node_id() -> int:
    """Return a stable integer identifying this machine."""
    if not _node_id:
        _node_id.append(uuid3(NAMESPACE_OID, f'{getnode():x}').int)
    return _node_id[0]


def generate_oid(node_id: Any, process_id: Any, thread_id: Any, instance: Any) -> str:
    """Return a UUID3 naming *instance* in this node/process/thread."""
    ent = f'{node_id}-{process_id}-{thread_id}-{id(instance)}'
    return str(uuid3(NAMESPACE_OID, ent))


def oid_from(instance: Any, threads: bool = True) -> str:
    """Return an object id unique to *instance* (and thread, if ``threads``)."""
    return generate_oid(
        get_node_id(), os.getpid(),
        threading.get_ident() if threads else 0, instance)


class Broadcast(Queue):
    """Broadcast queue.

    Every instance gets a unique queue name (``bcast.<uuid>`` unless ``queue``
    is given), bound to a fanout exchange named ``name``; the queue is
    auto-deleted so each consumer receives its own copy of every message.
    """

    attrs = Queue.attrs + (('queue', None),)

    def __init__(self, name: str | None = None, queue: str | None = None,
                 unique: bool = False, auto_delete: bool = True,
                 exchange: Exchange | str | None = None, alias: str | None = None,
                 **kwargs: Any) -> None:
        if unique:
            queue = f'{queue or "bcast"}.{uuid()}'
        else:
            queue = queue or f'bcast.{uuid()}'
        if exchange is None:
            exchange = Exchange(name, type='fanout')
        super().__init__(
            alias=alias or name,
            queue=queue,
            name=queue,
            auto_delete=auto_delete,
            exchange=exchange,
            **kwargs)


def declaration_cached(entity: Any, channel: Any) -> bool:
    """Return True if *entity* was already declared on *channel*'s connection."""
    declared = channel.connection.client.declared_entities
    return hash(entity) in declared or entity in declared


class _UnboundEntity(ChannelError, ValueError):
    """maybe_declare() of an unbound entity with no channel (a ChannelError, and a ValueError)."""


def _bound(entity: Any, channel: Any) -> Any:
    if channel is not None and (not entity.is_bound or entity.channel is not channel):
        return entity.bind(channel)
    if not entity.is_bound:
        raise _UnboundEntity(f'maybe_declare: {entity!r} is not bound and no channel given')
    return entity


def maybe_declare(entity: Any, channel: Any = None, retry: bool = False,
                  **retry_policy: Any) -> bool:
    """Declare entity (cached).

    Returns True if the entity was declared now, False if this connection had
    already declared it.  With ``retry`` the declaration is retried over
    connection loss according to ``retry_policy`` (see ``Connection.ensure``).
    """
    entity = _bound(entity, channel)
    channel = entity.channel
    client = channel.connection.client
    if retry:
        declare = client.ensure(entity, _declare_once, **retry_policy)
        return declare(entity, client)
    return _declare_once(entity, client)


def _declare_once(entity: Any, client: Any) -> bool:
    # the cache holds hash(entity), like Producer.maybe_declare's
    declared = client.declared_entities
    ident = hash(entity)
    cacheable = getattr(entity, 'can_cache_declaration', True)
    if cacheable and ident in declared:
        return False
    entity.declare(channel=entity.channel)
    if cacheable:
        declared.add(ident)
    return True


def eventloop(conn: Any, limit: int | None = None, timeout: float | None = None,
              ignore_timeouts: bool = False) -> Iterator[Any]:
    """Best practice generator wrapper around ``Connection.drain_events``.

    Yields once per ``drain_events`` call, forever (``limit`` None or 0) or
    ``limit`` times.  ``socket.timeout`` propagates unless ``ignore_timeouts``,
    in which case a timed-out drain yields ``None`` (the spec: ``next(it)`` is
    "one event consumed, or timed out"), so the caller regains control.
    """
    for _ in range(limit) if limit else count():
        try:
            event = conn.drain_events(timeout=timeout)
        except socket.timeout:
            if timeout and not ignore_timeouts:
                raise
            event = None
        yield event


def drain_consumer(consumer: Any, limit: int = 1, timeout: float | None = None,
                   callbacks: list | None = None) -> Iterator[tuple]:
    """Drain messages from consumer instance, yielding ``(body, message)``."""
    received: deque = deque()

    def on_message(body: Any, message: Any) -> None:
        received.append((body, message))

    consumer.callbacks = [on_message] + list(callbacks or [])
    conn = consumer.channel.connection.client
    with consumer:
        for _ in eventloop(conn, limit=limit, timeout=timeout, ignore_timeouts=True):
            while received:
                yield received.popleft()


def itermessages(conn: Any, channel: Any, queue: Any, limit: int = 1,
                 timeout: float | None = None, callbacks: list | None = None,
                 **kwargs: Any) -> Iterator[tuple]:
    """Iterator over messages, as ``(body, message)`` pairs."""
    consumer = Consumer(channel, queues=[queue], **kwargs)
    return drain_consumer(consumer, limit=limit, timeout=timeout, callbacks=callbacks)


class _NoReplyTo(ValueError, KeyError):
    """send_reply() to a request without ``reply_to`` (a ValueError, and a KeyError)."""

    __str__ = ValueError.__str__  # no KeyError quoting


def _reply_serializer(content_type: str | None) -> str | None:
    try:
        from kombu.serialization import registry
        return registry.type_to_name[content_type]
    except (ImportError, AttributeError, KeyError):
        return None


def send_reply(exchange: Any, req: Any, msg: Any, producer: Any = None,
               retry: bool = False, retry_policy: dict | None = None,
               **props: Any) -> Any:
    """Send reply for request.

    The reply goes to ``exchange`` with the request's ``reply_to`` as the
    routing key, the same ``correlation_id``, and the request's serializer.
    """
    reply_to = req.properties.get('reply_to')
    if not reply_to:
        raise _NoReplyTo(f'send_reply: request has no reply_to property: {req!r}')
    options = {
        'routing_key': reply_to,
        'correlation_id': req.properties.get('correlation_id'),
        'serializer': _reply_serializer(req.content_type),
        'content_encoding': req.content_encoding,
    }
    options.update(props)
    if producer is None:
        from kombu.pools import producers
        with producers[req.channel.connection.client].acquire(block=True) as p:
            return p.publish(msg, exchange=exchange, retry=retry,
                             retry_policy=retry_policy, **options)
    return producer.publish(msg, exchange=exchange, retry=retry,
                            retry_policy=retry_policy, **options)


def collect_replies(conn: Any, channel: Any, queue: Any, *args: Any,
                    **kwargs: Any) -> Iterator[Any]:
    """Generator collecting replies (message bodies) from queue."""
    no_ack = kwargs.setdefault('no_ack', True)
    received = False
    try:
        for body, message in itermessages(conn, channel, queue, *args, **kwargs):
            if not no_ack:
                message.ack()
            received = True
            yield body
    finally:
        after = getattr(channel, 'after_reply_message_received', None)
        if received and after is not None:
            after(queue.name)


def _ensure_errback(exc: BaseException, interval: float) -> None:
    logger.error('Connection error: %r. Retry in %ss\n', exc, interval, exc_info=True)


@contextmanager
def _ignore_errors(conn: Any) -> Iterator[None]:
    try:
        yield
    except conn.connection_errors + conn.channel_errors:
        pass


def ignore_errors(conn: Any, fun: Callable | None = None, *args: Any, **kwargs: Any) -> Any:
    """Ignore connection and channel errors.

    With ``fun`` call it and return its result (None on such an error);
    without, return a context manager.
    """
    if fun is not None:
        with _ignore_errors(conn):
            return fun(*args, **kwargs)
        return None
    return _ignore_errors(conn)


def revive_connection(connection: Any, channel: Any, on_revive: Callable | None = None) -> None:
    """Call ``on_revive(channel)`` after the connection was re-established."""
    if on_revive:
        on_revive(channel)


def insured(pool: Any, fun: Callable, args: Any, kwargs: dict,
            errback: Callable | None = None, on_revive: Callable | None = None,
            **opts: Any) -> Any:
    """Function wrapper to handle connection errors.

    Ensures function performing broker commands completes
    despite intermittent connection failures.  ``fun`` is called with
    ``connection=`` and ``channel=`` keyword arguments added.
    """
    errback = errback or _ensure_errback
    with pool.acquire(block=True) as conn:
        conn.ensure_connection(errback=errback)
        channel = conn.default_channel
        revive = partial(revive_connection, conn, on_revive=on_revive)
        retrying = conn.autoretry(fun, channel, errback=errback,
                                  on_revive=revive, **opts)
        retval, _ = retrying(*args, **dict(kwargs, connection=conn))
        return retval


class QoS:
    """Thread safe increment/decrement of a channel's prefetch_count.

    ``callback(prefetch_count=n)`` applies a new value (e.g.
    ``consumer.qos``); ``initial_value`` is the starting prefetch count
    (0 means unlimited and is never changed by increment/decrement).
    """

    prev: int | None = None

    def __init__(self, callback: Callable, initial_value: int) -> None:
        self.callback = callback
        self._mutex = threading.RLock()
        self.value = initial_value or 0

    def increment_eventually(self, n: int = 1) -> int:
        """Increase the value by ``n``, applied at the next :meth:`update`."""
        with self._mutex:
            if self.value:
                self.value += max(n, 0)
        return self.value

    def decrement_eventually(self, n: int = 1) -> int:
        """Decrease the value by ``n`` (never below 1), applied at the next update."""
        with self._mutex:
            if self.value:
                self.value = max(self.value - n, 1)
        return self.value

    def set(self, pcount: int) -> int:
        """Apply ``pcount`` now (values over PREFETCH_COUNT_MAX mean unlimited)."""
        if pcount != self.prev:
            new_value = pcount
            if pcount > PREFETCH_COUNT_MAX:
                logger.warning('QoS: Disabled: prefetch_count exceeds %r', PREFETCH_COUNT_MAX)
                new_value = 0
            logger.debug('basic.qos: prefetch_count->%s', new_value)
            self.callback(prefetch_count=new_value)
            self.prev = pcount
        return pcount

    def update(self) -> int:
        """Apply the value changed by increment/decrement_eventually."""
        with self._mutex:
            return self.set(self.value)

    def __repr__(self) -> str:
        return f'<QoS: value={self.value} prev={self.prev}>'
