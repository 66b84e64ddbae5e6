"""Mixins for consumer programs: ConsumerMixin and ConsumerProducerMixin."""
from __future__ import annotations

import socket
from contextlib import ExitStack, contextmanager
from functools import partial
from itertools import count
from time import sleep
from typing import Any, Callable, Iterator

from kombu.common import ignore_errors
from kombu.log import get_logger
from kombu.messaging import Consumer, Producer
from kombu.utils.encoding import safe_repr
from kombu.utils.limits import TokenBucket
from kombu.utils.objects import cached_property

__all__ = ('ConsumerMixin', 'ConsumerProducerMixin')

logger = get_logger(__name__)

W_CONN_LOST = 'Connection to broker lost, trying to re-establish connection...'
W_CONN_ERROR = 'Broker connection error, trying again in %s seconds: %r.'


class _RestartLimit:
    """Allow one restart per ``interval`` seconds, with an injectable clock.

    The default :attr:`ConsumerMixin.restart_limit` is ``TokenBucket(1)``;
    this is for callers (tests) that want a shorter interval or fake time.
    """

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] | None = None) -> None:
        from time import monotonic
        self.interval = interval
        self.clock = clock or monotonic
        self._next = 0.0

    def can_consume(self, tokens: int = 1) -> bool:
        now = self.clock()
        if now >= self._next:
            self._next = now + self.interval * tokens
            return True
        return False

    def expected_time(self, tokens: int = 1) -> float:
        return max(self._next - self.clock(), 0.0)


class ConsumerMixin:
    """Convenience mixin for implementing consumer programs.

    Subclasses set ``self.connection`` (a :class:`kombu.Connection`) and
    implement :meth:`get_consumers`.  :meth:`run` consumes until
    :attr:`should_stop` is set, re-connecting when the connection is lost.
    """

    #: maximum number of retries trying to re-establish the connection,
    #: if the connection is lost/unavailable.
    connect_max_retries: int | None = None

    #: When this is set to true the consumer should stop consuming
    #: and return, so that it can be joined if it is the implementation
    #: of a thread.
    should_stop = False

    connection: Any = None

    def get_consumers(self, Consumer: Callable, channel: Any) -> list:
        """Return the list of :class:`kombu.Consumer` instances to use."""
        raise NotImplementedError('Subclass responsibility')

    def on_connection_revived(self) -> None:
        """Called as soon as the connection is (re-)established."""

    def on_consume_ready(self, connection: Any, channel: Any, consumers: list,
                         **kwargs: Any) -> None:
        """Called when the consumers are ready to accept messages."""

    def on_consume_end(self, connection: Any, channel: Any) -> None:
        """Called after the consumers are canceled."""

    def on_iteration(self) -> None:
        """Called for every iteration while draining events."""

    def on_decode_error(self, message: Any, exc: BaseException) -> None:
        """Log the undecodable message and acknowledge it."""
        logger.error(
            "Can't decode message body: %r (type:%r encoding:%r raw:%r')",
            exc, message.content_type, message.content_encoding,
            safe_repr(message.body))
        message.ack()

    def on_connection_error(self, exc: BaseException, interval: float) -> None:
        """Called when the connection is lost or unavailable; logs a warning."""
        logger.warning(W_CONN_ERROR, interval, exc, exc_info=True)

    @contextmanager
    def extra_context(self, connection: Any, channel: Any) -> Iterator[None]:
        """Optional extra context entered after the consumers are set up."""
        yield

    def run(self, _tokens: int = 1, **kwargs: Any) -> None:
        """Consume until :attr:`should_stop`, restarting after connection loss."""
        errors = self.connection_errors + self.channel_errors
        limit = self.restart_limit
        while not self.should_stop:
            try:
                if limit.can_consume(_tokens):
                    for _ in self.consume(limit=None, **kwargs):
                        pass
                else:
                    sleep(limit.expected_time(_tokens))
            except errors:
                logger.warning(W_CONN_LOST, exc_info=True)

    @contextmanager
    def consumer_context(self, **kwargs: Any) -> Iterator[tuple]:
        """Context yielding ``(connection, channel, consumers)``, ready to consume."""
        with self.Consumer() as (connection, channel, consumers):
            with self.extra_context(connection, channel):
                self.on_consume_ready(connection, channel, consumers, **kwargs)
                yield connection, channel, consumers

    def consume(self, limit: int | None = None, timeout: float | None = None,
                safety_interval: float = 1, **kwargs: Any) -> Iterator[None]:
        """Generator: yield once per delivered event, ``limit`` times or forever.

        Events are drained with ``safety_interval`` as timeout so that
        :attr:`should_stop` is noticed; ``socket.timeout`` is raised when
        nothing arrived for ``timeout`` seconds.
        """
        idle = 0.0
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers):
            for _ in count() if not limit else range(limit):
                if self.should_stop:
                    break
                self.on_iteration()
                try:
                    conn.drain_events(timeout=safety_interval)
                except socket.timeout:
                    conn.heartbeat_check()
                    idle += safety_interval
                    if timeout and idle >= timeout:
                        raise
                except OSError:
                    if not self.should_stop:
                        raise
                else:
                    idle = 0.0
                    yield

    def maybe_conn_error(self, fun: Callable | None) -> Any:
        """Call ``fun`` ignoring connection errors.

        Use :func:`kombu.common.ignore_errors` instead (like it, without
        ``fun`` this returns a context manager ignoring those errors).
        """
        return ignore_errors(self, fun)

    def create_connection(self) -> Any:
        """Return the connection to consume with (a clone of :attr:`connection`)."""
        return self.connection.clone()

    @contextmanager
    def establish_connection(self) -> Iterator[Any]:
        """Context giving a connected connection, retrying per :attr:`connect_max_retries`."""
        with self.create_connection() as conn:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries)
            yield conn

    @contextmanager
    def Consumer(self) -> Iterator[tuple]:
        """Connect, create the consumers and consume; yield (conn, channel, consumers)."""
        with self.establish_connection() as conn:
            self.on_connection_revived()
            logger.info('Connected to %s', conn.as_uri())
            channel = conn.default_channel
            factory = partial(Consumer, channel, on_decode_error=self.on_decode_error)
            with self._consume_from(*self.get_consumers(factory, channel)) as consumers:
                yield conn, channel, consumers
            logger.debug('Consumers canceled')
            self.on_consume_end(conn, channel)
        logger.debug('Connection closed')

    @contextmanager
    def _consume_from(self, *consumers: Any) -> Iterator[list]:
        with ExitStack() as stack:
            yield [stack.enter_context(c) for c in consumers]

    @cached_property
    def restart_limit(self) -> Any:
        """Rate limit for restarts after connection loss (one per second)."""
        return TokenBucket(1)

    @cached_property
    def connection_errors(self) -> tuple:
        """Errors meaning the connection was lost."""
        return tuple(self.connection.connection_errors)

    @cached_property
    def channel_errors(self) -> tuple:
        """Errors meaning the channel was lost."""
        return tuple(self.connection.channel_errors)


class ConsumerProducerMixin(ConsumerMixin):
    """Consumer and Producer mixin.

    Version of ConsumerMixin having separate connection for also
    publishing messages.
    """

    _producer_connection: Any = None
    _producer: Any = None

    def on_consume_end(self, connection: Any, channel: Any) -> None:
        """Close the producer connection."""
        conn, self._producer_connection, self._producer = (
            self._producer_connection, None, None)
        if conn is not None:
            conn.close()

    @property
    def producer(self) -> Any:
        """A :class:`kombu.Producer` on :attr:`producer_connection`."""
        if self._producer is None:
            self._producer = Producer(self.producer_connection)
        return self._producer

    @property
    def producer_connection(self) -> Any:
        """Separate connection used for publishing (created on first use)."""
        if self._producer_connection is None:
            conn = self.connection.clone()
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries)
            self._producer_connection = conn
        return self._producer_connection
