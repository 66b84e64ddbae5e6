"""Simple messaging interface: a :class:`queue.Queue`-like API over a broker queue."""
from __future__ import annotations

import socket
from collections import deque
from queue import Empty
from time import monotonic
from typing import Any

from .entity import Exchange, Queue
from .messaging import Consumer, Producer

__all__ = ('SimpleQueue', 'SimpleBuffer')


class SimpleBase:
    """Base class for :class:`SimpleQueue` and :class:`SimpleBuffer`."""

    Empty = Empty
    _consuming = False

    #: Current channel
    channel = None
    #: Producer used to publish messages.
    producer = None
    #: Consumer used to receive messages.
    consumer = None
    #: Queue to consume from (if consuming).
    queue = None

    def __init__(self, channel: Any, producer: Producer, consumer: Consumer,
                 no_ack: bool = False) -> None:
        self.channel = consumer.channel
        self.producer = producer
        self.consumer = consumer
        self.no_ack = no_ack
        self.queue = self.consumer.queues[0]
        self.buffer: deque = deque()
        self.consumer.register_callback(self._receive)

    def __enter__(self) -> SimpleBase:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def get_nowait(self) -> Any:
        """Return a message if one is ready, else raise :exc:`queue.Empty`."""
        if self.buffer:
            return self.buffer.popleft()
        m = self.queue.get(no_ack=self.no_ack, accept=self.consumer.accept)
        if not m:
            raise self.Empty()
        return m

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Return the next message, waiting up to ``timeout`` seconds (None: forever).

        Raises:
            queue.Empty: if no message arrived in time (or none is ready and not ``block``).
        """
        if not block:
            return self.get_nowait()
        self._consume()
        buffer = self.buffer
        if buffer:
            return buffer.popleft()
        drain_events = self.channel.connection.client.drain_events
        deadline = None if timeout is None else monotonic() + timeout
        remaining = timeout
        while True:
            try:
                drain_events(timeout=remaining)
            except socket.timeout:
                raise self.Empty()
            if buffer:
                return buffer.popleft()
            if deadline is not None:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    raise self.Empty()

    def put(self, message: Any, serializer: str | None = None, headers: dict | None = None,
            compression: str | None = None, routing_key: str | None = None,
            **kwargs: Any) -> None:
        """Publish ``message`` to the queue."""
        self.producer.publish(message, serializer=serializer, routing_key=routing_key,
                              headers=headers, compression=compression, **kwargs)

    def clear(self) -> int:
        """Remove all ready messages (also those already buffered); return how many."""
        dropped = 0
        buffer = self.buffer
        while buffer:
            message = buffer.popleft()
            if not self.no_ack and not message.acknowledged:
                message.reject()
            dropped += 1
        return dropped + self.consumer.purge()

    def qsize(self) -> int:
        """Number of messages ready in the queue."""
        _, size, _ = self.queue.queue_declare(passive=True)
        return size

    def close(self) -> None:
        """Stop consuming (the queue and its messages stay)."""
        self.consumer.cancel()
        self._consuming = False

    def _receive(self, message_data: Any, message: Any) -> None:
        self.buffer.append(message)

    def _consume(self) -> None:
        if not self._consuming:
            self.consumer.consume(no_ack=self.no_ack)
            self._consuming = True

    def __len__(self) -> int:
        """`len(self) -> self.qsize()`."""
        return self.qsize()

    def __bool__(self) -> bool:
        return True


class SimpleQueue(SimpleBase):
    """Simple API for persistent queues.

    Arguments:
        channel (kombu.Connection, ChannelT): Connection or channel to use.
        name (str, kombu.Queue): Queue name (also exchange name and routing
            key), or a :class:`~kombu.Queue`.
        no_ack (bool): Disable acknowledgments. Default is false.
        queue_opts (Dict): Extra keyword arguments for the created Queue.
        queue_args (Dict): ``queue_arguments`` for the created Queue.
        exchange_opts (Dict): Extra keyword arguments for the created Exchange.
        serializer (str): Default serializer for :meth:`put`.
        compression (str): Default compression for :meth:`put`.
    """

    no_ack = False
    queue_opts: dict = {}
    queue_args: dict = {}
    exchange_opts: dict = {'type': 'direct'}

    def __init__(self, channel: Any, name: Any, no_ack: bool | None = None,
                 queue_opts: dict | None = None, queue_args: dict | None = None,
                 exchange_opts: dict | None = None, serializer: str | None = None,
                 compression: str | None = None, **kwargs: Any) -> None:
        queue = name
        queue_opts = dict(self.queue_opts, **(queue_opts or {}))
        queue_args = dict(self.queue_args, **(queue_args or {}))
        exchange_opts = dict(self.exchange_opts, **(exchange_opts or {}))
        if no_ack is None:
            no_ack = self.no_ack
        if not isinstance(queue, Queue):
            exchange = Exchange(name, **exchange_opts)
            queue = Queue(name, exchange, name, queue_arguments=queue_args or None,
                          **queue_opts)
            routing_key = name
        else:
            exchange = queue.exchange
            routing_key = queue.routing_key
        consumer = Consumer(channel, queue)
        producer = Producer(consumer.channel, exchange, serializer=serializer,
                            routing_key=routing_key, compression=compression)
        super().__init__(channel, producer, consumer, no_ack, **kwargs)


class SimpleBuffer(SimpleQueue):
    """Simple API for ephemeral queues: transient, auto-deleted, no acks."""

    no_ack = True
    queue_opts = {'durable': False, 'auto_delete': True}
    exchange_opts = {'durable': False, 'delivery_mode': 'transient', 'auto_delete': True}
