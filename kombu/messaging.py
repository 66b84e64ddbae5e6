"""Sending and receiving messages: :class:`Producer` and :class:`Consumer`."""
from __future__ import annotations

from itertools import count
from typing import Any, Callable, Sequence

from .entity import Exchange, Queue, maybe_delivery_mode
from .exceptions import ContentDisallowed, EncodeError
from .utils.functional import ChannelPromise, maybe_list

__all__ = ('Exchange', 'Queue', 'Producer', 'Consumer')

#: Consumer tags are unique within this process.
_consumer_tags = count(1)


class _BodyNotSerialized(EncodeError, TypeError):
    """publish() got ``content_type`` but a body that is not str/bytes."""


def _is_connection(obj: Any) -> bool:
    from .connection import Connection
    return isinstance(obj, Connection)


def _dumps(body: Any, serializer: str | None) -> tuple:
    global _dumps
    from .serialization import dumps
    _dumps = dumps
    return dumps(body, serializer)


def _compress(body: Any, method: str) -> tuple:
    from .compression import compress
    return compress(body, method)


class Producer:
    """Message Producer.

    Arguments:
        channel (kombu.Connection, ChannelT): Connection or channel.
        exchange (kombu.entity.Exchange, str): Optional default exchange.
        routing_key (str): Optional default routing key.
        serializer (str): Default serializer. Default is `"json"`.
        compression (str): Default compression method. Default is no compression.
        auto_declare (bool): Declare the default exchange (if named) when publishing.
        on_return (Callable): Callback for undeliverable messages (mandatory/immediate):
            ``(exception, exchange, routing_key, message)``.
    """

    #: Default exchange
    exchange = None
    #: Default routing key.
    routing_key = ''
    #: Default serializer to use. Default is JSON.
    serializer = None
    #: Default compression method.  Disabled by default.
    compression = None
    #: Declare the default exchange (when it has a name) before publishing.
    auto_declare = True
    #: Basic return callback.
    on_return = None

    #: Set if channel argument was a Connection instance (using default_channel).
    __connection__ = None

    def __init__(self, channel: Any, exchange: Any = None, routing_key: str | None = None,
                 serializer: str | None = None, auto_declare: bool | None = None,
                 compression: str | None = None, on_return: Callable | None = None) -> None:
        self._channel = channel
        self.exchange = exchange
        self.routing_key = routing_key or self.routing_key
        self.serializer = serializer or self.serializer
        self.compression = compression or self.compression
        self.on_return = on_return or self.on_return
        self._channel_promise = None
        if self.exchange is None:
            self.exchange = Exchange('')
        elif isinstance(self.exchange, str):
            self.exchange = Exchange(self.exchange)
        if auto_declare is not None:
            self.auto_declare = auto_declare
        if self._channel:
            self.revive(self._channel)

    def __repr__(self) -> str:
        return f'<Producer: {self._channel!r}>'

    def __reduce__(self) -> tuple:
        return self.__class__, self.__reduce_args__()

    def __reduce_args__(self) -> tuple:
        return (None, self.exchange, self.routing_key, self.serializer,
                self.auto_declare, self.compression)

    def declare(self) -> None:
        """Declare the exchange (only if it has a name)."""
        if self.exchange.name:
            if self._channel_promise is not None:
                self._get_channel()  # resolves the channel and binds the exchange
            self.exchange.declare()

    def maybe_declare(self, entity: Any, retry: bool = False, **retry_policy: Any) -> bool:
        """Declare ``entity`` (exchange or queue) unless already declared this session."""
        if entity:
            return _maybe_declare(entity, self.channel, retry, **retry_policy)
        return False

    def publish(self, body: Any, routing_key: str | None = None, delivery_mode: Any = None,
                mandatory: bool = False, immediate: bool = False, priority: int = 0,
                content_type: str | None = None, content_encoding: str | None = None,
                serializer: str | None = None, headers: dict | None = None,
                compression: str | None = None, exchange: Any = None, retry: bool = False,
                retry_policy: dict | None = None, declare: Sequence | None = None,
                expiration: float | None = None, **properties: Any) -> Any:
        """Publish message to the specified exchange.

        Arguments:
            body (Any): Message body.
            routing_key (str): Message routing key.
            delivery_mode (enum): See :attr:`Exchange.delivery_mode`.
            mandatory (bool): Currently not supported.
            immediate (bool): Currently not supported.
            priority (int): Message priority. A number between 0 and 9.
            content_type (str): Content type. Default is auto-detect.
            content_encoding (str): Content encoding. Default is auto-detect.
            serializer (str): Serializer to use. Default is auto-detect.
            compression (str): Compression method to use.  Default is none.
            headers (Dict): Mapping of arbitrary headers to pass along with the body.
            exchange (kombu.entity.Exchange, str): Override the exchange.
            declare (Sequence[EntityT]): Entities to declare (via :meth:`maybe_declare`)
                before publishing.
            retry (bool): Retry publishing, or declaring entities, if the connection is lost.
            retry_policy (Dict): Retry configuration: the keywords of
                :meth:`~kombu.Connection.ensure`.
            expiration (float): A TTL in seconds for this message.
            **properties (Any): Additional message properties, see AMQP spec.
        """
        headers = {} if headers is None else headers
        if routing_key is None:
            routing_key = self.routing_key
        if compression is None:
            compression = self.compression
        if exchange is None:
            exchange = self.exchange
        if isinstance(exchange, Exchange):
            exchange_name = exchange.name
            mode = delivery_mode or exchange.delivery_mode
        else:
            exchange_name = exchange
            mode = delivery_mode or self.exchange.delivery_mode
        properties['delivery_mode'] = 2 if mode is None else maybe_delivery_mode(mode)
        if expiration is not None:
            properties['expiration'] = str(int(float(expiration) * 1000))

        # serialize (unless the caller already did: content_type given)
        if not content_type:
            content_type, content_encoding, body = _dumps(
                body, serializer or self.serializer)
        elif isinstance(body, str):
            if not content_encoding:
                content_encoding = 'utf-8'
            body = body.encode(content_encoding)
        elif not isinstance(body, (bytes, bytearray, memoryview)):
            raise _BodyNotSerialized(
                f'content_type={content_type!r} given: the body must be already '
                f'serialized (str or bytes), not {type(body).__name__}')
        elif not content_encoding:
            content_encoding = 'binary'
        if compression:
            body, headers['compression'] = _compress(body, compression)

        if self.auto_declare and self.exchange.name:
            declare = [self.exchange] if not declare else [*declare, self.exchange]

        if retry:
            _publish = self.connection.ensure(self, self._publish, **(retry_policy or {}))
            return _publish(body, priority, content_type, content_encoding, headers,
                            properties, routing_key, mandatory, immediate, exchange_name,
                            declare)
        # the hot path, inlined: no ensure() wrapper when not retrying
        channel = self._channel
        if self._channel_promise is not None:
            channel = self.channel
        message = channel.prepare_message(body, priority, content_type, content_encoding,
                                          headers, properties)
        if declare:
            for entity in declare:
                if entity:
                    _maybe_declare(entity, channel)
        return channel.basic_publish(message, exchange=exchange_name, routing_key=routing_key,
                                     mandatory=mandatory, immediate=immediate)

    def _publish(self, body: Any, priority: int, content_type: str | None,
                 content_encoding: str | None, headers: dict, properties: dict,
                 routing_key: str, mandatory: bool, immediate: bool, exchange: str,
                 declare: Sequence | None) -> Any:
        channel = self._channel
        if self._channel_promise is not None:
            channel = self.channel
        message = channel.prepare_message(body, priority, content_type, content_encoding,
                                          headers, properties)
        if declare:
            for entity in declare:
                if entity:
                    _maybe_declare(entity, channel)
        return channel.basic_publish(message, exchange=exchange, routing_key=routing_key,
                                     mandatory=mandatory, immediate=immediate)

    def _get_channel(self) -> Any:
        channel = self._channel
        if isinstance(channel, ChannelPromise):
            channel = self._channel = channel()
            self._channel_promise = None
            self.exchange = self.exchange(channel)
            if self.on_return:
                _add_return_callback(channel, self.on_return)
        return channel

    def _set_channel(self, channel: Any) -> None:
        self._channel = channel

    channel = property(_get_channel, _set_channel)

    def revive(self, channel: Any) -> None:
        """Revive the producer after connection loss."""
        if _is_connection(channel):
            connection = channel
            self.__connection__ = connection
            channel = ChannelPromise(lambda: connection.default_channel)
        if isinstance(channel, ChannelPromise):
            self._channel = channel
            self._channel_promise = channel
        else:
            self._channel = channel
            self._channel_promise = None
            if self.on_return:
                _add_return_callback(channel, self.on_return)
            self.exchange = self.exchange(channel)

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.release()

    def release(self) -> None:
        """Release resources (nothing to do for a plain producer)."""

    close = release

    def _get_connection(self) -> Any:
        try:
            return self.__connection__ or self.channel.connection.client
        except AttributeError:
            return None

    @property
    def connection(self) -> Any:
        """The :class:`kombu.Connection` this producer publishes through."""
        return self._get_connection()


def _add_return_callback(channel: Any, callback: Callable) -> None:
    events = getattr(channel, 'events', None)
    if events is not None:
        try:
            handlers = events['basic_return']
        except KeyError:
            handlers = events['basic_return'] = set()
        except TypeError:
            return
        handlers.add(callback)


def _maybe_declare(entity: Any, channel: Any, retry: bool = False,
                   **retry_policy: Any) -> bool:
    """Declare ``entity`` on ``channel`` unless the connection already did."""
    if not entity.is_bound:
        if channel is None:
            from .exceptions import NotBoundError
            raise NotBoundError(f'Cannot declare {entity!r}: no channel')
        entity = entity.bind(channel)
    elif channel is None:
        channel = entity.channel
    declared = ident = None
    connection = getattr(channel, 'connection', None)
    client = getattr(connection, 'client', None)
    if client is not None and entity.can_cache_declaration:
        declared = client.declared_entities
        ident = hash(entity)
        if ident in declared:
            return False
    if not channel.connection:
        from .exceptions import NotBoundError
        raise NotBoundError(f'channel of {entity!r} is closed')
    if retry:
        client.ensure(entity, entity.declare, **retry_policy)()
    else:
        entity.declare(channel=channel)
    if declared is not None:
        declared.add(ident)
    return True


class Consumer:
    """Message consumer.

    Arguments:
        channel (kombu.Connection, ChannelT): see :attr:`channel`.
        queues (Sequence[kombu.Queue]): see :attr:`queues`.
        no_ack (bool): see :attr:`no_ack`.
        auto_declare (bool): see :attr:`auto_declare`
        callbacks (Sequence[Callable]): see :attr:`callbacks`.
        on_message (Callable): See :attr:`on_message`
        on_decode_error (Callable): see :attr:`on_decode_error`.
        prefetch_count (int): see :attr:`prefetch_count`.
        accept (Sequence[str]): content types (or serializer names) to accept.
        tag_prefix (str): prefix for the consumer tags this consumer creates.
    """

    ContentDisallowed = ContentDisallowed

    #: The connection/channel to use for this consumer.
    channel = None
    #: Flag for automatic message acknowledgment (disabled by default).
    no_ack = None
    #: By default all entities will be declared at instantiation.
    auto_declare = True
    #: List of callbacks called in order when a message is received: ``(body, message)``.
    callbacks = None
    #: Optional function called with the Message instead of :meth:`receive`.
    on_message = None
    #: Callback called when a message can't be decoded: ``(message, exc)``.
    on_decode_error = None
    #: List of accepted content-types (None: the trusted defaults).
    accept = None
    #: Initial prefetch count (applied with :meth:`qos` when consuming starts).
    prefetch_count = None
    #: Prefix for consumer tags.
    tag_prefix = None

    def __init__(self, channel: Any, queues: Any = None, no_ack: bool | None = None,
                 auto_declare: bool | None = None, callbacks: Sequence | None = None,
                 on_decode_error: Callable | None = None, on_message: Callable | None = None,
                 accept: Any = None, prefetch_count: int | None = None,
                 tag_prefix: str | None = None) -> None:
        self.channel = channel
        self._queues = list(maybe_list(queues) or [])
        self.no_ack = self.no_ack if no_ack is None else no_ack
        self.callbacks = (self.callbacks or []) if callbacks is None else list(callbacks)
        self.on_message = on_message
        self.tag_prefix = tag_prefix
        self._active_tags: dict = {}
        if auto_declare is not None:
            self.auto_declare = auto_declare
        if on_decode_error is not None:
            self.on_decode_error = on_decode_error
        if accept is not None:
            from .serialization import prepare_accept_content
            accept = prepare_accept_content(accept)
        self.accept = accept
        self.prefetch_count = prefetch_count
        if self.channel:
            self.revive(self.channel)

    @property
    def queues(self) -> list:
        """The list of queues to consume from."""
        return self._queues

    @queues.setter
    def queues(self, queues: Any) -> None:
        self._queues = list(maybe_list(queues) or [])

    def revive(self, channel: Any) -> None:
        """Revive consumer after connection loss."""
        self._active_tags.clear()
        if _is_connection(channel):
            channel = channel.default_channel
        elif isinstance(channel, ChannelPromise):
            channel = channel()
        self.channel = channel
        self._queues = [queue(channel) for queue in self._queues]
        if self.auto_declare:
            self.declare()
        if self.prefetch_count is not None:
            self.qos(prefetch_count=self.prefetch_count)

    def declare(self) -> None:
        """Declare queues, exchanges and bindings."""
        for queue in self._queues:
            queue.declare()

    def register_callback(self, callback: Callable) -> None:
        """Register a new callback called with ``(body, message)`` on each message."""
        self.callbacks.append(callback)

    def __enter__(self) -> Consumer:
        self.consume()
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if self.channel and getattr(self.channel, 'connection', None):
            conn_errors = self.channel.connection.client.connection_errors
            if not isinstance(exc_val, conn_errors):
                try:
                    self.cancel()
                except Exception:
                    pass

    def add_queue(self, queue: Any) -> Queue:
        """Add a queue to consume from (start with :meth:`consume`)."""
        queue = queue(self.channel)
        if self.auto_declare:
            queue.declare()
        self._queues.append(queue)
        return queue

    def consume(self, no_ack: bool | None = None) -> None:
        """Start consuming messages (from queues not consumed from yet)."""
        queues = [q for q in self._queues if q.name not in self._active_tags]
        if queues:
            no_ack = self.no_ack if no_ack is None else no_ack
            last = len(queues) - 1
            for i, queue in enumerate(queues):
                self._basic_consume(queue, no_ack=no_ack, nowait=i < last)

    def cancel(self) -> None:
        """End all active queue consumers (already delivered messages stay)."""
        cancel = self.channel.basic_cancel
        for tag in self._active_tags.values():
            cancel(tag)
        self._active_tags.clear()

    close = cancel

    def cancel_by_queue(self, queue: Any) -> None:
        """Cancel consumer by queue name."""
        qname = queue.name if isinstance(queue, Queue) else queue
        try:
            tag = self._active_tags.pop(qname)
        except KeyError:
            pass
        else:
            self.channel.basic_cancel(tag)
        finally:
            self._queues[:] = [q for q in self._queues if q.name != qname]

    def consuming_from(self, queue: Any) -> bool:
        """Return :const:`True` if currently consuming from queue'."""
        name = queue.name if isinstance(queue, Queue) else queue
        return name in self._active_tags

    def purge(self) -> int:
        """Purge messages from all queues (no undo); return the number removed."""
        return sum(queue.purge() or 0 for queue in self._queues)

    def flow(self, active: bool) -> Any:
        """Enable/disable flow from peer."""
        return self.channel.flow(active)

    def qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
            apply_global: bool = False) -> Any:
        """Specify quality of service (prefetch window in octets and/or messages)."""
        return self.channel.basic_qos(prefetch_size, prefetch_count, apply_global)

    def recover(self, requeue: bool = False) -> Any:
        """Redeliver unacknowledged messages."""
        return self.channel.basic_recover(requeue=requeue)

    def receive(self, body: Any, message: Any) -> None:
        """Dispatch a received message to the registered callbacks.

        Raises:
            NotImplementedError: If no consumer callbacks have been registered.
        """
        callbacks = self.callbacks
        if not callbacks:
            raise NotImplementedError('Consumer does not have any callbacks')
        for callback in callbacks:
            callback(body, message)

    def _basic_consume(self, queue: Queue, consumer_tag: str | None = None,
                       no_ack: bool | None = None, nowait: bool = True) -> str:
        tag = self._active_tags.get(queue.name)
        if tag is None:
            tag = self._add_tag(queue, consumer_tag)
            queue.consume(tag, self._receive_callback, no_ack=no_ack, nowait=nowait)
        return tag

    def _add_tag(self, queue: Queue, consumer_tag: str | None = None) -> str:
        tag = consumer_tag or f'{self.tag_prefix or ""}{next(_consumer_tags)}'
        self._active_tags[queue.name] = tag
        return tag

    def _receive_callback(self, message: Any) -> Any:
        on_m = self.on_message
        try:
            cls = message.__class__
            if cls not in _message_classes:
                if isinstance(message, _Message):
                    _message_classes.add(cls)
                else:
                    message = self.channel.message_to_python(message)
            accept = self.accept
            if accept is not None:
                message.accept = accept
            if message.errors:
                return message._reraise_error(self.on_decode_error)
            decoded = None if on_m else message.decode()
        except Exception as exc:
            if not self.on_decode_error:
                raise
            return self.on_decode_error(message, exc)
        if on_m:
            return on_m(message)
        callbacks = self.callbacks
        if not callbacks:
            raise NotImplementedError('Consumer does not have any callbacks')
        for callback in callbacks:
            callback(decoded, message)

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {self._queues}>'

    @property
    def connection(self) -> Any:
        """The :class:`kombu.Connection` of this consumer's channel."""
        try:
            return self.channel.connection.client
        except AttributeError:
            return None


from .message import Message as _Message  # noqa: E402

#: Classes seen to be kombu Messages already (no message_to_python needed).
_message_classes = {_Message}
