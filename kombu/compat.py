"""Carrot compatibility interface.

See https://pypi.org/project/carrot/ for documentation.  New code should use
:class:`kombu.Producer` and :class:`kombu.Consumer`.
"""
from __future__ import annotations

from itertools import count
from typing import Any, Iterator

from kombu import messaging
from kombu.entity import Exchange, Queue

__all__ = ('Publisher', 'Consumer', 'ConsumerSet', 'entry_to_queue')


def _iterconsume(connection: Any, consumer: Any, no_ack: bool | None = False,
                 limit: int | None = None) -> Iterator[Any]:
    consumer.consume(no_ack=no_ack)
    for iteration in count(0):
        if limit and iteration >= limit:
            break
        yield connection.drain_events()


def entry_to_queue(queue: str, **options: Any) -> Queue:
    """Create a :class:`~kombu.Queue` from a carrot-style queue name and options."""
    return Queue.from_dict(queue, **options)


class Publisher(messaging.Producer):
    """Carrot compatible producer."""

    exchange: Any = ''
    exchange_type = 'direct'
    routing_key = ''
    durable = True
    auto_delete = False
    _closed = False

    def __init__(self, connection: Any, exchange: Any = None, routing_key: str | None = None,
                 exchange_type: str | None = None, durable: bool | None = None,
                 auto_delete: bool | None = None, channel: Any = None,
                 **kwargs: Any) -> None:
        self._owns_channel = channel is None
        if channel is None:
            channel = connection.channel()
        self.exchange = self.exchange if exchange is None else exchange
        self.routing_key = self.routing_key if routing_key is None else routing_key
        self.exchange_type = exchange_type or self.exchange_type
        self.durable = self.durable if durable is None else durable
        self.auto_delete = self.auto_delete if auto_delete is None else auto_delete
        if not isinstance(self.exchange, Exchange):
            self.exchange = Exchange(self.exchange, type=self.exchange_type,
                                     routing_key=self.routing_key,
                                     durable=self.durable,
                                     auto_delete=self.auto_delete)
        super().__init__(channel, self.exchange, routing_key=self.routing_key, **kwargs)

    def send(self, *args: Any, **kwargs: Any) -> Any:
        """Publish a message (carrot name for :meth:`publish`)."""
        return self.publish(*args, **kwargs)

    def close(self) -> None:
        """Close the producer (and the channel it created)."""
        channel = self._channel if self._owns_channel else None
        super().close()
        if channel is not None and hasattr(channel, 'close'):
            channel.close()
        self._closed = True

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def backend(self) -> Any:
        """The channel (carrot name)."""
        return self.channel


class Consumer(messaging.Consumer):
    """Carrot compatible consumer."""

    queue = ''
    exchange: Any = ''
    routing_key = ''
    exchange_type = 'direct'
    durable = True
    exclusive = False
    auto_delete = False
    _closed = False

    def __init__(self, connection: Any, queue: str | None = None, exchange: Any = None,
                 routing_key: str | None = None, exchange_type: str | None = None,
                 durable: bool | None = None, exclusive: bool | None = None,
                 auto_delete: bool | None = None, **kwargs: Any) -> None:
        self.backend = connection.channel()
        self.queue = self.queue if queue is None else queue
        self.exchange = self.exchange if exchange is None else exchange
        self.routing_key = self.routing_key if routing_key is None else routing_key
        self.exchange_type = exchange_type or self.exchange_type
        self.durable = self.durable if durable is None else durable
        self.exclusive = self.exclusive if exclusive is None else exclusive
        self.auto_delete = self.auto_delete if auto_delete is None else auto_delete
        exch = self.exchange
        if not isinstance(exch, Exchange):
            exch = Exchange(exch, type=self.exchange_type, routing_key=self.routing_key,
                            durable=self.durable, auto_delete=self.auto_delete)
        queue_ = Queue(self.queue, exchange=exch, routing_key=self.routing_key,
                       durable=self.durable, exclusive=self.exclusive,
                       auto_delete=self.auto_delete)
        super().__init__(self.backend, queue_, **kwargs)

    def revive(self, channel: Any) -> None:
        self.backend = channel
        super().revive(channel)

    def close(self) -> None:
        """Cancel consuming and close the channel."""
        self.cancel()
        self.backend.close()
        self._closed = True

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Any]:
        return self.iterqueue(infinite=True)

    def fetch(self, no_ack: bool | None = None, enable_callbacks: bool = False) -> Any:
        """Get one message from the queue (None if empty), optionally running callbacks."""
        if no_ack is None:
            no_ack = self.no_ack
        message = self.queues[0].get(no_ack)
        if message is not None and enable_callbacks:
            self.receive(message.payload, message)
        return message

    def process_next(self) -> None:
        raise NotImplementedError('Use fetch(enable_callbacks=True)')

    def discard_all(self, filterfunc: Any = None) -> int:
        """Purge the queue; returns the number of messages discarded."""
        if filterfunc is not None:
            raise NotImplementedError('discard_all does not implement filters')
        return self.purge()

    def iterconsume(self, limit: int | None = None, no_ack: bool | None = None) -> Iterator[Any]:
        """Consume, yielding after each event (``limit`` times or forever)."""
        return _iterconsume(self.connection, self, no_ack, limit)

    def wait(self, limit: int | None = None) -> list:
        """Consume ``limit`` events (forever if None), delivering to callbacks."""
        return list(self.iterconsume(limit))

    def iterqueue(self, limit: int | None = None, infinite: bool = False) -> Iterator[Any]:
        """Yield fetched messages until the queue is empty (or ``limit`` reached)."""
        for n in count():
            if limit and n >= limit:
                break
            item = self.fetch()
            if item is None and not infinite:
                break
            yield item


class ConsumerSet(messaging.Consumer):
    """Carrot compatible consumer of several queues."""

    def __init__(self, connection: Any, from_dict: dict | None = None,
                 consumers: list | None = None, channel: Any = None,
                 **kwargs: Any) -> None:
        self._provided_channel = channel is not None
        self.backend = channel if channel is not None else connection.channel()
        queues: list = []
        for consumer in consumers or ():
            queues.extend(consumer.queues)
        for name, options in (from_dict or {}).items():
            queues.append(entry_to_queue(name, **options))
        super().__init__(self.backend, queues, **kwargs)

    def iterconsume(self, limit: int | None = None, no_ack: bool = False) -> Iterator[Any]:
        """Consume from all queues, yielding after each event."""
        return _iterconsume(self.connection, self, no_ack, limit)

    def discard_all(self) -> int:
        """Purge all queues; returns the number of messages discarded."""
        return self.purge()

    def add_consumer_from_dict(self, queue: str, **options: Any) -> Queue:
        return self.add_queue(entry_to_queue(queue, **options))

    def add_consumer(self, consumer: Any) -> None:
        for queue in consumer.queues:
            self.add_queue(queue)

    def revive(self, channel: Any) -> None:
        self.backend = channel
        super().revive(channel)

    def close(self) -> None:
        """Cancel consuming; close the channel unless it was provided."""
        self.cancel()
        if not self._provided_channel:
            self.backend.close()
