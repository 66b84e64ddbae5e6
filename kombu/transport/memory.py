"""In-memory transport.

Queues live in process-global deques shared by every ``memory://``
connection in the process (thread-safe), so a producer and a consumer on
two :class:`~kombu.Connection` objects see the same queues.  Message
bodies are kept as they are (no base64 step).  A consumer waiting in
``drain_events`` is woken as soon as a message is published.
"""
from __future__ import annotations

import threading
from collections import defaultdict, deque
from typing import Any

from . import virtual
from .virtual.base import Empty
from .virtual.exchange import STANDARD_EXCHANGE_TYPES, HeadersExchange

__all__ = ('Channel', 'Transport')


class _Signal:
    """Wakes up consumers blocked in ``drain_events`` when a message is put."""

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.waiters = 0

    def notify(self) -> None:
        with self.cond:
            self.cond.notify_all()


_signal = _Signal()


class Channel(virtual.Channel):
    """In-memory Channel."""

    #: Queue name -> :class:`collections.deque` of message dicts (process-global).
    queues: dict[str, deque] = {}
    #: Event name -> set of handlers (e.g. ``basic_return``); each channel
    #: gets its own (a ``defaultdict(set)``), so handlers never leak between
    #: channels.
    events: dict = {}
    do_restore = False
    supports_fanout = True
    body_encoding = None
    restore_to_head = True
    #: The in-process binding table can hold the headers exchange's arguments.
    exchange_types = dict(STANDARD_EXCHANGE_TYPES, headers=HeadersExchange)

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self.events = defaultdict(set)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return queue in self.queues

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        if queue not in self.queues:
            self.queues.setdefault(queue, deque())

    def _queue_for(self, queue: str) -> deque:
        try:
            return self.queues[queue]
        except KeyError:
            return self.queues.setdefault(queue, deque())

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        try:
            return self.queues[queue].popleft()
        except (KeyError, IndexError):
            raise Empty()

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        try:
            self.queues[queue].append(message)
        except KeyError:
            self._queue_for(queue).append(message)
        if _signal.waiters:
            _signal.notify()

    def _put_fanout(self, exchange: str, message: dict, routing_key: str,
                    **kwargs: Any) -> None:
        queues = self._lookup(exchange, routing_key)
        for i, queue in enumerate(queues):
            self._put(queue, message if i == 0 else self._copy_message(message))

    def _restore_at_beginning(self, message: Any) -> None:
        queue = getattr(message, '_queue', None)
        if queue is None:
            return self._restore(message)
        self._queue_for(queue).appendleft(self._redelivered(message))
        if _signal.waiters:
            _signal.notify()
        return None

    def _size(self, queue: str) -> int:
        try:
            return len(self.queues[queue])
        except KeyError:
            return 0

    def _purge(self, queue: str) -> int:
        q = self.queues.get(queue)
        if q is None:
            return 0
        count = 0
        try:
            while True:
                q.popleft()
                count += 1
        except IndexError:
            pass
        return count

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self.queues.pop(queue, None)

    def after_reply_message_received(self, queue: str) -> None:
        """Callback called after RPC reply received.

        Notes:
            Reply queue semantics: can be used to delete the queue
            after transient reply message received.
        """

    def close(self) -> None:
        """Close channel.

        Cancel all consumers, and requeue unacked messages.
        """
        super().close()


class Transport(virtual.Transport):
    """In-memory Transport."""

    Channel = Channel

    #: memory backend state is global.
    state = virtual.BrokerState()

    implements = virtual.Transport.implements.extend(
        exchange_type=frozenset({'direct', 'topic', 'fanout', 'headers'}),
    )
    driver_type = 'memory'
    driver_name = 'memory'

    def _has_ready(self) -> bool:
        """True if some consuming channel has a message it may take now."""
        queues = Channel.queues
        for channel in self.channels:
            active = channel._active_queues
            if active and channel.qos.can_consume():
                for name in active:
                    if queues.get(name):
                        return True
        return False

    def _wait_for_messages(self, timeout: float) -> None:
        """Block until a message is put or `timeout` seconds pass."""
        if timeout <= 0:
            return
        cond = _signal.cond
        with cond:
            _signal.waiters += 1
            try:
                if not self._has_ready():
                    cond.wait(timeout)
            finally:
                _signal.waiters -= 1

    def driver_version(self) -> str:
        return 'N/A'
