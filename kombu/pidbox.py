"""Generic process mailbox: broadcast commands to nodes and collect replies.

A :class:`Mailbox` publishes command messages to the ``<namespace>.pidbox``
exchange; every :class:`Node` listens on its own ``<hostname>.<namespace>.pidbox``
queue, runs the handler named by the command and, for calls, publishes the
reply to ``reply.<namespace>.pidbox`` with the caller's ticket.

Command body: ``{'method', 'arguments', 'destination', 'pattern', 'matcher'}``
plus ``'ticket'`` and ``'reply_to': {'exchange', 'routing_key'}`` for calls.
Reply body: ``{hostname: result}``, or ``{hostname: {'error': repr(exc)}}``.
"""
from __future__ import annotations

import re
import socket
import threading
import warnings
from contextlib import contextmanager
from copy import copy
from fnmatch import fnmatch
from time import monotonic, time
from typing import Any, Callable, Iterator

from kombu.common import maybe_declare, oid_from
from kombu.entity import Exchange, Queue
from kombu.exceptions import InconsistencyError
from kombu.log import get_logger
from kombu.messaging import Consumer, Producer
from kombu.utils.functional import maybe_evaluate
from kombu.utils.uuid import uuid

__all__ = ('Node', 'Mailbox')

logger = get_logger(__name__)

REPLY_QUEUE_EXPIRES = 10

W_PIDBOX_IN_USE = """\
A node named {node.hostname} is already using this process mailbox!

Maybe you forgot to shutdown the other node or did not do so properly?
Or if you meant to start multiple nodes on the same host please make sure
you give each node a unique node name!
"""


class _Clock:
    """Minimal Lamport clock used when :mod:`kombu.clocks` is unavailable."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def adjust(self, other: int) -> int:
        with self._lock:
            self.value = max(self.value, other) + 1
            return self.value

    def forward(self) -> int:
        with self._lock:
            self.value += 1
            return self.value


def _new_clock() -> Any:
    try:
        from kombu.clocks import LamportClock
    except ImportError:
        return _Clock()
    return LamportClock()


def _match(hostname: str, pattern: str, matcher: str) -> bool:
    try:
        from kombu.matcher import match
    except ImportError:
        if matcher == 'glob':
            return fnmatch(hostname, pattern)
        if matcher == 'pcre':
            return re.search(pattern, hostname) is not None
        raise
    return bool(match(hostname, pattern, matcher))


class Node:
    """Mailbox node: serves commands sent to ``hostname``."""

    #: hostname of the node.
    hostname: str | None = None

    #: the Mailbox this is a node for.
    mailbox: Mailbox | None = None

    #: map of method name/handlers.
    handlers: dict | None = None

    #: current context (passed on to handlers)
    state: Any = None

    #: current channel.
    channel: Any = None

    def __init__(self, hostname: str, state: Any = None, channel: Any = None,
                 handlers: dict | None = None, mailbox: Mailbox | None = None) -> None:
        self.hostname = hostname
        self.state = state
        self.channel = channel
        self.mailbox = mailbox
        if handlers is None:
            handlers = dict(getattr(mailbox, 'handlers', None) or {})
        self.handlers = handlers

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {self.hostname}>'

    def adjust_clock(self, value: int) -> Any:
        """Synchronise the mailbox clock with a received clock value."""
        return self.mailbox.clock.adjust(value)

    def _channel(self, channel: Any = None) -> Any:
        channel = channel or self.channel
        if channel is None:
            channel = self.channel = self.mailbox.connection.default_channel
        return channel

    def Consumer(self, channel: Any = None, no_ack: bool = True, accept: Any = None,
                 **options: Any) -> Consumer:
        """Return a consumer for this node's queue (not yet consuming)."""
        queue = self.mailbox.get_queue(self.hostname)

        def verify_exclusive(name: str, messages: int, consumers: int) -> None:
            if consumers:
                warnings.warn(W_PIDBOX_IN_USE.format(node=self), stacklevel=2)
        queue.on_declared = verify_exclusive

        return Consumer(
            self._channel(channel), [queue], no_ack=no_ack,
            accept=self.mailbox.accept if accept is None else accept,
            **options)

    def handler(self, fun: Callable) -> Callable:
        """Register ``fun`` as the handler of the command named like it."""
        self.handlers[fun.__name__] = fun
        return fun

    def on_decode_error(self, message: Any, exc: BaseException) -> None:
        logger.error('Cannot decode message: %r', exc, exc_info=True)

    def listen(self, channel: Any = None, callback: Callable | None = None) -> Consumer:
        """Start consuming commands; returns the consumer (cancel it to stop)."""
        consumer = self.Consumer(
            channel=channel, callbacks=[callback or self.handle_message],
            on_decode_error=self.on_decode_error)
        consumer.consume()
        return consumer

    def dispatch(self, method: str, arguments: dict | None = None,
                 reply_to: dict | None = None, ticket: str | None = None,
                 **kwargs: Any) -> Any:
        """Run the handler for ``method``; reply if ``reply_to`` is set.

        A failing (or unknown) handler yields ``{'error': repr(exc)}``.
        """
        arguments = arguments or {}
        logger.debug('pidbox received method %s(%r) [reply_to:%s ticket:%s]',
                     method, arguments, reply_to, ticket)
        handle = self.handle_call if reply_to else self.handle_cast
        try:
            reply = handle(method, arguments)
        except SystemExit:
            raise
        except Exception as exc:
            logger.error('pidbox command error: %r', exc, exc_info=True)
            reply = {'error': repr(exc)}
        if reply_to:
            self.reply({self.hostname: reply},
                       exchange=reply_to['exchange'],
                       routing_key=reply_to['routing_key'],
                       ticket=ticket)
        return reply

    def handle(self, method: str, arguments: dict | None = None) -> Any:
        return self.handlers[method](self.state, **(arguments or {}))

    def handle_call(self, method: str, arguments: dict) -> Any:
        return self.handle(method, arguments)

    def handle_cast(self, method: str, arguments: dict) -> Any:
        return self.handle(method, arguments)

    def _is_for_me(self, body: dict) -> bool:
        destination = body.get('destination')
        if destination:
            return self.hostname in destination
        pattern, matcher = body.get('pattern'), body.get('matcher')
        if pattern and matcher:
            return _match(self.hostname, pattern, matcher)
        return True

    def handle_message(self, body: dict, message: Any = None) -> Any:
        """Dispatch a command message if it is addressed to this node and not expired."""
        if message is not None:
            headers = message.headers or {}
            self.adjust_clock(headers.get('clock') or 0)
            expires = headers.get('expires')
            if expires and time() > expires:
                logger.debug('pidbox: skipping expired command %r', body.get('method'))
                return None
        if not isinstance(body, dict) or not self._is_for_me(body):
            return None
        return self.dispatch(**body)

    dispatch_from_message = handle_message

    def reply(self, data: Any, exchange: str, routing_key: str, ticket: str,
              **kwargs: Any) -> None:
        """Publish ``data`` as the reply for ``ticket``."""
        self.mailbox._publish_reply(data, exchange, routing_key, ticket,
                                    channel=self._channel(),
                                    serializer=self.mailbox.serializer, **kwargs)


class Mailbox:
    """Process Mailbox."""

    node_cls = Node
    exchange_fmt = '%s.pidbox'
    reply_exchange_fmt = 'reply.%s.pidbox'

    #: Name of application.
    namespace: str | None = None

    #: Connection (if bound).
    connection: Any = None

    #: Exchange type (usually direct, or fanout for broadcast).
    type = 'direct'

    #: mailbox exchange (init by constructor).
    exchange: Exchange | None = None

    #: exchange to send replies to.
    reply_exchange: Exchange | None = None

    #: Content types (or serializer names) accepted for replies.
    accept: Any = ['json']

    #: Serializer for commands and replies (None: the default, json).
    serializer: str | None = None

    #: Optional :class:`~kombu.pools.ProducerPool` to publish with.
    producer_pool: Any = None

    def __init__(self, namespace: str, type: str = 'direct', connection: Any = None,
                 clock: Any = None, accept: Any = None, serializer: str | None = None,
                 producer_pool: Any = None, queue_ttl: float | None = None,
                 queue_expires: float | None = None, reply_queue_ttl: float | None = None,
                 reply_queue_expires: float | None = 10.0) -> None:
        self.namespace = namespace
        self.connection = connection
        self.type = type
        self.clock = _new_clock() if clock is None else clock
        self.exchange = self._get_exchange(self.namespace, self.type)
        self.reply_exchange = self._get_reply_exchange(self.namespace)
        self.accept = ['json'] if accept is None else accept
        self.serializer = serializer
        self.producer_pool = producer_pool
        self.queue_ttl = queue_ttl
        self.queue_expires = queue_expires
        self.reply_queue_ttl = reply_queue_ttl
        self.reply_queue_expires = reply_queue_expires
        self.handlers: dict = {}
        self._tls = threading.local()

    def __call__(self, connection: Any) -> Mailbox:
        """Return a copy of this mailbox bound to ``connection``."""
        bound = copy(self)
        bound.connection = connection
        bound._tls = threading.local()
        return bound

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {self.namespace} type={self.type}>'

    def handler(self, fun: Callable) -> Callable:
        """Register a default handler for the nodes of this mailbox."""
        self.handlers[fun.__name__] = fun
        return fun

    def Node(self, hostname: str | None = None, state: Any = None, channel: Any = None,
             handlers: dict | None = None) -> Node:
        return self.node_cls(hostname or socket.gethostname(), state, channel,
                             handlers, mailbox=self)

    def call(self, destination: list, command: str, kwargs: dict | None = None,
             timeout: float | None = None, callback: Callable | None = None,
             channel: Any = None) -> list:
        """Send ``command`` to ``destination`` nodes and return their replies."""
        return self._broadcast(command, kwargs, destination, reply=True,
                               timeout=timeout, callback=callback, channel=channel)

    def cast(self, destination: list, command: str, kwargs: dict | None = None) -> None:
        """Send ``command`` to ``destination`` nodes without waiting for replies."""
        return self._broadcast(command, kwargs, destination, reply=False)

    def abcast(self, command: str, kwargs: dict | None = None) -> None:
        """Send ``command`` to all nodes without waiting for replies."""
        return self._broadcast(command, kwargs, reply=False)

    def multi_call(self, command: str, kwargs: dict | None = None, timeout: float = 1,
                   limit: int | None = None, callback: Callable | None = None,
                   channel: Any = None) -> list:
        """Send ``command`` to all nodes and collect replies for ``timeout`` seconds."""
        return self._broadcast(command, kwargs, reply=True, timeout=timeout,
                               limit=limit, callback=callback, channel=channel)

    def get_reply_queue(self) -> Queue:
        oid = self.oid
        return Queue(
            f'{oid}.{self.reply_exchange.name}',
            exchange=self.reply_exchange,
            routing_key=oid,
            durable=False,
            auto_delete=True,
            expires=self.reply_queue_expires,
            message_ttl=self.reply_queue_ttl,
        )

    @property
    def reply_queue(self) -> Queue:
        return self.get_reply_queue()

    def get_queue(self, hostname: str) -> Queue:
        return Queue(
            f'{hostname}.{self.exchange.name}',
            exchange=self.exchange,
            durable=False,
            auto_delete=True,
            expires=self.queue_expires,
            message_ttl=self.queue_ttl,
        )

    @property
    def oid(self) -> str:
        """Id of this mailbox in this thread (names the reply queue)."""
        try:
            return self._tls.oid
        except AttributeError:
            oid = self._tls.oid = oid_from(self)
            return oid

    @contextmanager
    def producer_or_acquire(self, producer: Any = None, channel: Any = None) -> Iterator[Any]:
        if producer is not None:
            yield producer
        elif self.producer_pool is not None:
            # Celery passes a lazy() pool: evaluate it once, on first use.
            pool = self.producer_pool = maybe_evaluate(self.producer_pool)
            with pool.acquire(block=True) as producer:
                yield producer
        else:
            yield Producer(channel, auto_declare=False)

    def _get_exchange(self, namespace: str, type: str) -> Exchange:
        return Exchange(self.exchange_fmt % namespace, type=type, durable=False,
                        delivery_mode='transient')

    def _get_reply_exchange(self, namespace: str) -> Exchange:
        return Exchange(self.reply_exchange_fmt % namespace, type='direct',
                        durable=False, delivery_mode='transient')

    def _publish_reply(self, reply: Any, exchange: str, routing_key: str, ticket: str,
                       channel: Any = None, producer: Any = None, **opts: Any) -> None:
        chan = channel or self.connection.default_channel
        exchange = Exchange(exchange, type='direct', delivery_mode='transient',
                            durable=False)
        with self.producer_or_acquire(producer, chan) as producer:
            try:
                producer.publish(
                    reply, exchange=exchange, routing_key=routing_key,
                    declare=[exchange],
                    headers={'ticket': ticket, 'clock': self.clock.forward()},
                    retry=True, **opts)
            except InconsistencyError:
                pass  # the reply queue is gone: nobody waits for this reply

    def _publish(self, type: str, arguments: dict, destination: list | None = None,
                 reply_ticket: str | None = None, channel: Any = None,
                 timeout: float | None = None, serializer: str | None = None,
                 producer: Any = None, pattern: str | None = None,
                 matcher: str | None = None) -> None:
        message = {'method': type, 'arguments': arguments, 'destination': destination,
                   'pattern': pattern, 'matcher': matcher}
        chan = channel or self.connection.default_channel
        if reply_ticket:
            # the reply queue must exist before any node can answer
            self.get_reply_queue()(chan).declare()
            message.update(ticket=reply_ticket,
                           reply_to={'exchange': self.reply_exchange.name,
                                     'routing_key': self.oid})
        with self.producer_or_acquire(producer, chan) as producer:
            maybe_declare(self.exchange(producer.channel))
            producer.publish(
                message, exchange=self.exchange.name,
                headers={'clock': self.clock.forward(),
                         'expires': time() + timeout if timeout else 0},
                serializer=serializer or self.serializer, retry=True)

    def _broadcast(self, command: str, arguments: dict | None = None,
                   destination: list | None = None, reply: bool = False,
                   timeout: float | None = 1, limit: int | None = None,
                   callback: Callable | None = None, channel: Any = None,
                   serializer: str | None = None, pattern: str | None = None,
                   matcher: str | None = None) -> list | None:
        if destination is not None and not isinstance(destination, (list, tuple)):
            raise ValueError(
                f'destination must be a list/tuple not {type(destination).__name__}: '
                f'{destination!r}')
        if pattern is not None and matcher is None:
            raise ValueError(f'pattern {pattern!r} given without a matcher')
        arguments = arguments or {}
        reply_ticket = uuid() if reply else None
        chan = channel or self.connection.default_channel
        if limit is None and destination:
            limit = len(destination)
        self._publish(command, arguments, destination=destination,
                      reply_ticket=reply_ticket, channel=chan, timeout=timeout,
                      serializer=serializer, pattern=pattern, matcher=matcher)
        if reply_ticket:
            return self._collect(reply_ticket, limit=limit, timeout=timeout,
                                 callback=callback, channel=chan)
        return None

    def _collect(self, ticket: str, limit: int | None = None, timeout: float | None = 1,
                 callback: Callable | None = None, channel: Any = None,
                 accept: Any = None) -> list:
        """Collect replies for ``ticket`` until ``limit`` arrived or ``timeout`` passed."""
        chan = channel or self.connection.default_channel
        queue = self.get_reply_queue()
        consumer = Consumer(chan, [queue], accept=self.accept if accept is None else accept,
                            no_ack=True)
        responses: list = []

        def on_message(body: Any, message: Any) -> None:
            headers = message.headers or {}
            self.clock.adjust(headers.get('clock') or 0)
            if headers.get('ticket', ticket) != ticket:
                logger.debug('pidbox: dropping reply for another ticket')
                return
            if callback:
                callback(body)
            responses.append(body)

        consumer.register_callback(on_message)
        conn = chan.connection.client
        deadline = None if timeout is None else monotonic() + timeout
        try:
            with consumer:
                while limit is None or len(responses) < limit:
                    remaining = None if deadline is None else deadline - monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    try:
                        conn.drain_events(timeout=remaining)
                    except socket.timeout:
                        break
            return responses
        finally:
            after = getattr(chan, 'after_reply_message_received', None)
            if after is not None:
                after(queue.name)
