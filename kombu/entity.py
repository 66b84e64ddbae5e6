"""Exchange and Queue declarations."""
from __future__ import annotations

import numbers
from typing import Any, Callable

from .abstract import MaybeChannelBound, Object
from .exceptions import ContentDisallowed

__all__ = ('Exchange', 'Queue', 'binding', 'maybe_delivery_mode',
           'TRANSIENT_DELIVERY_MODE', 'PERSISTENT_DELIVERY_MODE', 'DELIVERY_MODES')

TRANSIENT_DELIVERY_MODE = 1
PERSISTENT_DELIVERY_MODE = 2
#: Delivery mode aliases.
DELIVERY_MODES = {'transient': TRANSIENT_DELIVERY_MODE,
                  'persistent': PERSISTENT_DELIVERY_MODE}

#: ``Queue`` options handed to ``channel.prepare_queue_arguments`` on declare
#: (transports that support them turn them into RabbitMQ ``x-`` arguments).
_QUEUE_DECLARE_OPTIONS = ('expires', 'message_ttl', 'max_length', 'max_length_bytes',
                          'max_priority')


class InvalidDeliveryMode(ValueError, KeyError):
    """Unknown delivery mode alias."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def maybe_delivery_mode(v: Any, modes: dict = DELIVERY_MODES,
                        default: int = PERSISTENT_DELIVERY_MODE) -> int:
    """Return the delivery mode number for ``v`` (an int or alias; default persistent)."""
    if v:
        if isinstance(v, numbers.Integral):
            return v
        try:
            return modes[v]
        except (KeyError, TypeError):
            raise InvalidDeliveryMode(
                f'unknown delivery_mode {v!r}: use 1/2, '
                f'{", ".join(map(repr, modes))}') from None
    return default


def _reprstr(s: str) -> str:
    return s if s else repr(s)


def _channel_id(channel: Any) -> Any:
    return getattr(channel, 'channel_id', None)


def _prepare_accept(accept: Any) -> Any:
    if accept is None:
        return None
    from .serialization import prepare_accept_content
    return prepare_accept_content(accept)


def _to_python(channel: Any, raw: Any) -> Any:
    from .message import Message
    if isinstance(raw, Message):
        return raw
    m2p = getattr(channel, 'message_to_python', None)
    return m2p(raw) if m2p else raw


class _Entity(MaybeChannelBound):
    """Common repr for bound/unbound entities."""

    def _repr_entity(self, item: Any = '') -> str:
        item = item or type(self).__name__
        if self.is_bound:
            return f'<{item} bound to chan:{_channel_id(self._channel)}>'
        return f'<unbound {item}>'


class Exchange(_Entity):
    """An Exchange declaration.

    Arguments:
        name (str): See :attr:`name`.
        type (str): See :attr:`type`.
        channel (kombu.Connection, ChannelT): See :attr:`channel`.
        durable (bool): See :attr:`durable`.
        auto_delete (bool): See :attr:`auto_delete`.
        delivery_mode (enum): See :attr:`delivery_mode`.
        arguments (Dict): See :attr:`arguments`.
        no_declare (bool): See :attr:`no_declare`
    """

    TRANSIENT_DELIVERY_MODE = TRANSIENT_DELIVERY_MODE
    PERSISTENT_DELIVERY_MODE = PERSISTENT_DELIVERY_MODE

    name = ''
    type = 'direct'
    durable = True
    auto_delete = False
    passive = False
    delivery_mode = None
    no_declare = False
    arguments = None

    attrs = (
        ('name', None),
        ('type', None),
        ('arguments', None),
        ('durable', bool),
        ('passive', bool),
        ('auto_delete', bool),
        ('delivery_mode', lambda m: DELIVERY_MODES.get(m) or m if isinstance(m, str) else m),
        ('no_declare', bool),
    )

    def __init__(self, name: str = '', type: str = '', channel: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name or self.name
        self.type = type or self.type
        self.maybe_bind(channel)

    def __hash__(self) -> int:
        return hash(f'E|{self.name}')

    def _can_declare(self) -> bool:
        return not self.no_declare and bool(self.name)

    @property
    def can_cache_declaration(self) -> bool:
        """True unless the exchange is auto-deleted (then it must be re-declared)."""
        return not self.auto_delete

    def declare(self, nowait: bool = False, passive: bool | None = None,
                channel: Any = None) -> Any:
        """Declare the exchange (or, with ``passive``, assert that it exists)."""
        if self._can_declare():
            passive = self.passive if passive is None else passive
            return (channel or self._bound_channel('declare')).exchange_declare(
                exchange=self.name, type=self.type, durable=self.durable,
                auto_delete=self.auto_delete, arguments=self.arguments,
                nowait=nowait, passive=passive)

    def bind_to(self, exchange: Any = '', routing_key: str = '', arguments: dict | None = None,
                nowait: bool = False, channel: Any = None, **kwargs: Any) -> Any:
        """Bind the exchange to another exchange."""
        if isinstance(exchange, Exchange):
            exchange = exchange.name
        return (channel or self._bound_channel('bind_to')).exchange_bind(
            destination=self.name, source=exchange, routing_key=routing_key,
            nowait=nowait, arguments=arguments)

    def unbind_from(self, source: Any = '', routing_key: str = '', nowait: bool = False,
                    arguments: dict | None = None, channel: Any = None) -> Any:
        """Delete previously created exchange binding from the server."""
        if isinstance(source, Exchange):
            source = source.name
        return (channel or self._bound_channel('unbind_from')).exchange_unbind(
            destination=self.name, source=source, routing_key=routing_key,
            nowait=nowait, arguments=arguments)

    def Message(self, body: Any, delivery_mode: Any = None, properties: dict | None = None,
                **kwargs: Any) -> Any:
        """Create message instance to be sent with :meth:`publish`."""
        channel = self._bound_channel('Message')  # NotBoundError before touching the body
        properties = {} if properties is None else properties
        properties['delivery_mode'] = maybe_delivery_mode(delivery_mode or self.delivery_mode)
        if isinstance(body, str):
            if not kwargs.get('content_encoding'):
                kwargs['content_encoding'] = 'utf-8'
            body = body.encode(kwargs['content_encoding'])
        return channel.prepare_message(body, properties=properties, **kwargs)

    def publish(self, message: Any, routing_key: str | None = None, mandatory: bool = False,
                immediate: bool = False, exchange: str | None = None) -> Any:
        """Publish a message (a :meth:`Message`, str or bytes)."""
        channel = self._bound_channel('publish')
        if isinstance(message, (str, bytes)):
            message = self.Message(message)
        exchange = exchange or self.name
        return channel.basic_publish(
            message, exchange=exchange, routing_key=routing_key,
            mandatory=mandatory, immediate=immediate)

    def delete(self, if_unused: bool = False, nowait: bool = False) -> Any:
        """Delete the exchange declaration on server."""
        return self._bound_channel('delete').exchange_delete(
            exchange=self.name, if_unused=if_unused, nowait=nowait)

    def binding(self, routing_key: str = '', arguments: dict | None = None,
                unbind_arguments: dict | None = None) -> binding:
        """Return a :class:`binding` of this exchange with ``routing_key``."""
        return binding(self, routing_key, arguments, unbind_arguments)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Exchange):
            return (self.name == other.name and self.type == other.type and
                    self.arguments == other.arguments and
                    self.durable == other.durable and
                    self.auto_delete == other.auto_delete and
                    self.delivery_mode == other.delivery_mode)
        return NotImplemented

    def __ne__(self, other: Any) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __repr__(self) -> str:
        return self._repr_entity(self)

    def __str__(self) -> str:
        return f'Exchange {_reprstr(self.name)}({self.type})'


class binding(Object):
    """Represents a queue or exchange binding.

    Arguments:
        exchange (Exchange): Exchange to bind to.
        routing_key (str): Routing key used as binding key.
        arguments (Dict): Arguments for bind operation.
        unbind_arguments (Dict): Arguments for unbind operation.
    """

    attrs = (
        ('exchange', None),
        ('routing_key', None),
        ('arguments', None),
        ('unbind_arguments', None),
    )

    def __init__(self, exchange: Exchange | None = None, routing_key: str = '',
                 arguments: dict | None = None, unbind_arguments: dict | None = None) -> None:
        self.exchange = exchange
        self.routing_key = routing_key
        self.arguments = arguments
        self.unbind_arguments = unbind_arguments

    def declare(self, channel: Any, nowait: bool = False) -> None:
        """Declare the bound exchange."""
        if self.exchange and self.exchange.name:
            self.exchange.declare(channel=channel, nowait=nowait)

    def bind(self, entity: Any, nowait: bool = False, channel: Any = None) -> Any:
        """Bind ``entity`` (queue or exchange) to the exchange."""
        return entity.bind_to(exchange=self.exchange, routing_key=self.routing_key,
                              arguments=self.arguments, nowait=nowait, channel=channel)

    def unbind(self, entity: Any, nowait: bool = False, channel: Any = None) -> Any:
        """Unbind ``entity`` from the exchange."""
        return entity.unbind_from(self.exchange, routing_key=self.routing_key,
                                  arguments=self.unbind_arguments, nowait=nowait,
                                  channel=channel)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, binding):
            return (self.exchange == other.exchange and
                    self.routing_key == other.routing_key and
                    self.arguments == other.arguments)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((getattr(self.exchange, 'name', self.exchange), self.routing_key))

    def __repr__(self) -> str:
        return f'<binding: {self}>'

    def __str__(self) -> str:
        return f'{getattr(self.exchange, "name", self.exchange or "")}->{self.routing_key}'


class Queue(_Entity):
    """A Queue declaration.

    Arguments:
        name (str): See :attr:`name`.
        exchange (Exchange, str): See :attr:`exchange`.
        routing_key (str): See :attr:`routing_key`.
        channel (kombu.Connection, ChannelT): See :attr:`channel`.
        durable (bool): See :attr:`durable`.
        exclusive (bool): See :attr:`exclusive` (implies auto_delete).
        auto_delete (bool): See :attr:`auto_delete`.
        queue_arguments (Dict): See :attr:`queue_arguments`.
        binding_arguments (Dict): See :attr:`binding_arguments`.
        consumer_arguments (Dict): See :attr:`consumer_arguments`.
        no_declare (bool): See :attr:`no_declare`.
        on_declared (Callable): See :attr:`on_declared`.
        expires (float): See :attr:`expires` (seconds; sent as ``x-expires``).
        message_ttl (float): See :attr:`message_ttl` (seconds; ``x-message-ttl``).
        max_length (int): See :attr:`max_length` (``x-max-length``).
        max_length_bytes (int): See :attr:`max_length_bytes` (``x-max-length-bytes``).
        max_priority (int): See :attr:`max_priority` (``x-max-priority``).
    """

    ContentDisallowed = ContentDisallowed

    name = ''
    exchange = Exchange('')
    routing_key = ''
    durable = True
    exclusive = False
    auto_delete = False
    no_ack = False
    no_declare = None
    queue_arguments = None
    binding_arguments = None
    consumer_arguments = None
    alias = None
    on_declared = None
    expires = None
    message_ttl = None
    max_length = None
    max_length_bytes = None
    max_priority = None

    attrs = (
        ('name', None),
        ('exchange', None),
        ('routing_key', None),
        ('queue_arguments', None),
        ('binding_arguments', None),
        ('consumer_arguments', None),
        ('durable', bool),
        ('exclusive', bool),
        ('auto_delete', bool),
        ('no_ack', None),
        ('alias', None),
        ('bindings', list),
        ('no_declare', bool),
        ('expires', float),
        ('message_ttl', float),
        ('max_length', int),
        ('max_length_bytes', int),
        ('max_priority', int),
    )

    def __init__(self, name: str = '', exchange: Any = None, routing_key: str = '',
                 channel: Any = None, bindings: Any = None,
                 on_declared: Callable | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name or self.name
        self.bindings = set(bindings or ())
        if self.bindings:
            exchange = None  # the bindings replace the single exchange binding
        elif isinstance(exchange, str):
            exchange = Exchange(exchange)
        elif exchange is None:
            exchange = Exchange('')
        self.exchange = exchange
        self.routing_key = routing_key or self.routing_key
        self.on_declared = on_declared
        if self.exclusive:
            self.auto_delete = True
        self.maybe_bind(channel)

    def bind(self, channel: Any) -> Queue:
        """Create copy of the instance that is bound to a channel."""
        on_declared = self.on_declared
        bound = super().bind(channel)
        bound.on_declared = on_declared
        return bound

    def __hash__(self) -> int:
        return hash(f'Q|{self.name}')

    def when_bound(self) -> None:
        """Callback called when the class is bound: bind the exchange too."""
        if self.exchange:
            self.exchange = self.exchange(self.channel)

    @property
    def can_cache_declaration(self) -> bool:
        """True unless the queue is auto-deleted (then it must be re-declared)."""
        return not self.auto_delete

    def declare(self, nowait: bool = False, channel: Any = None) -> str:
        """Declare queue and exchange then binds queue to exchange."""
        if not self.no_declare:
            if channel is None:
                self._bound_channel('declare')
            self._create_exchange(nowait=nowait, channel=channel)
            self._create_queue(nowait=nowait, channel=channel)
            self._create_bindings(nowait=nowait, channel=channel)
        return self.name

    def _create_exchange(self, nowait: bool = False, channel: Any = None) -> None:
        if self.exchange:
            self.exchange.declare(nowait=nowait, channel=channel)

    def _create_queue(self, nowait: bool = False, channel: Any = None) -> None:
        self.queue_declare(nowait=nowait, passive=False, channel=channel)
        if self.exchange and self.exchange.name:
            self.queue_bind(nowait=nowait, channel=channel)

    def _create_bindings(self, nowait: bool = False, channel: Any = None) -> None:
        for B in self.bindings:
            channel = channel or self._bound_channel('declare')
            B.declare(channel)
            B.bind(self, nowait=nowait, channel=channel)

    def _declare_arguments(self, channel: Any) -> dict | None:
        """The queue arguments, with the RabbitMQ extension options as the channel sees fit."""
        options = {attr: getattr(self, attr) for attr in _QUEUE_DECLARE_OPTIONS}
        prepare = getattr(channel, 'prepare_queue_arguments', None)
        if prepare is None:  # a bare duck-typed channel: send the RabbitMQ x-arguments
            from .transport.base import to_rabbitmq_queue_arguments
            prepare = to_rabbitmq_queue_arguments
        return prepare(self.queue_arguments or {}, **options)

    def queue_declare(self, nowait: bool = False, passive: bool = False,
                      channel: Any = None) -> Any:
        """Declare queue on the server (``passive``: only check that it exists).

        ``expires``, ``message_ttl``, ``max_length``, ``max_length_bytes`` and
        ``max_priority`` go through ``channel.prepare_queue_arguments``, so only
        transports that support them (RabbitMQ) send them as ``x-`` arguments.
        """
        channel = channel or self._bound_channel('queue_declare')
        ret = channel.queue_declare(
            queue=self.name, passive=passive, durable=self.durable,
            exclusive=self.exclusive, auto_delete=self.auto_delete,
            arguments=self._declare_arguments(channel), nowait=nowait)
        if not self.name and ret:
            self.name = ret[0]
        if self.on_declared and ret:
            self.on_declared(*ret)
        return ret

    def queue_bind(self, nowait: bool = False, channel: Any = None) -> Any:
        """Create the queue binding on the server."""
        return self.bind_to(self.exchange, self.routing_key, self.binding_arguments,
                            channel=channel, nowait=nowait)

    def bind_to(self, exchange: Any = '', routing_key: str = '', arguments: dict | None = None,
                nowait: bool = False, channel: Any = None) -> Any:
        """Bind the queue to ``exchange`` with ``routing_key``."""
        if isinstance(exchange, Exchange):
            exchange = exchange.name
        return (channel or self._bound_channel('bind_to')).queue_bind(
            queue=self.name, exchange=exchange, routing_key=routing_key,
            arguments=arguments, nowait=nowait)

    def get(self, no_ack: bool | None = None, accept: Any = None) -> Any:
        """Poll the server for a new message: a Message, or None if the queue is empty.

        Arguments:
            no_ack (bool): If enabled the broker will automatically ack messages.
            accept (Set[str]): Custom list of accepted content types.
        """
        no_ack = self.no_ack if no_ack is None else no_ack
        channel = self._bound_channel('get')
        raw = channel.basic_get(queue=self.name, no_ack=no_ack)
        if raw is None:
            return None
        message = _to_python(channel, raw)
        if getattr(message, 'errors', None):
            message._reraise_error()
        message.accept = _prepare_accept(accept)
        return message

    def purge(self, nowait: bool = False) -> int:
        """Remove all ready messages from the queue; return how many."""
        return self._bound_channel('purge').queue_purge(queue=self.name, nowait=nowait) or 0

    def consume(self, consumer_tag: str = '', callback: Callable | None = None,
                no_ack: bool | None = None, nowait: bool = False) -> Any:
        """Start a queue consumer; ``callback`` gets each delivered message."""
        if no_ack is None:
            no_ack = self.no_ack
        return self._bound_channel('consume').basic_consume(
            queue=self.name, no_ack=no_ack, consumer_tag=consumer_tag or '',
            callback=callback, nowait=nowait, arguments=self.consumer_arguments)

    def cancel(self, consumer_tag: str) -> Any:
        """Cancel a consumer by consumer tag."""
        return self._bound_channel('cancel').basic_cancel(consumer_tag)

    def delete(self, if_unused: bool = False, if_empty: bool = False,
               nowait: bool = False) -> Any:
        """Delete the queue."""
        return self._bound_channel('delete').queue_delete(queue=self.name, if_unused=if_unused,
                                         if_empty=if_empty, nowait=nowait)

    def queue_unbind(self, arguments: dict | None = None, nowait: bool = False,
                     channel: Any = None) -> Any:
        """Remove the binding to :attr:`exchange`."""
        return self.unbind_from(self.exchange, self.routing_key, arguments, nowait, channel)

    def unbind_from(self, exchange: Any = '', routing_key: str = '',
                    arguments: dict | None = None, nowait: bool = False,
                    channel: Any = None) -> Any:
        """Unbind queue by deleting the binding from the server."""
        if isinstance(exchange, Exchange):
            exchange = exchange.name
        return (channel or self._bound_channel('unbind_from')).queue_unbind(
            queue=self.name, exchange=exchange, routing_key=routing_key,
            arguments=arguments, nowait=nowait)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Queue):
            return (self.name == other.name and
                    self.exchange == other.exchange and
                    self.routing_key == other.routing_key and
                    self.queue_arguments == other.queue_arguments and
                    self.binding_arguments == other.binding_arguments and
                    self.consumer_arguments == other.consumer_arguments and
                    self.durable == other.durable and
                    self.exclusive == other.exclusive and
                    self.auto_delete == other.auto_delete)
        return NotImplemented

    def __ne__(self, other: Any) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __repr__(self) -> str:
        if self.bindings:
            bindings = ', '.join(map(str, self.bindings))
            return self._repr_entity(f'Queue {self.name} -> [{bindings}]')
        return self._repr_entity(
            f'Queue {self.name} -> {self.exchange!r} -> {self.routing_key}')

    @classmethod
    def from_dict(cls, queue: str, **options: Any) -> Queue:
        """Create a queue (and its exchange) from a flat dict of options.

        Keys with an ``exchange_`` / ``queue_`` prefix apply to that entity only,
        un-prefixed ``durable`` / ``auto_delete`` to both; ``binding_key`` wins
        over ``routing_key`` for the binding.
        """
        binding_key = options.get('binding_key') or options.get('routing_key')

        def pick(specific: str, common: str) -> Any:
            value = options.get(specific)
            return options.get(common) if value is None else value

        exchange = options.get('exchange')
        if not isinstance(exchange, Exchange):
            exchange = Exchange(
                exchange, type=options.get('exchange_type'),
                delivery_mode=options.get('delivery_mode'),
                routing_key=options.get('routing_key'),
                durable=pick('exchange_durable', 'durable'),
                auto_delete=pick('exchange_auto_delete', 'auto_delete'),
                arguments=options.get('exchange_arguments'),
            )
        return Queue(
            queue, exchange=exchange, routing_key=binding_key,
            durable=pick('queue_durable', 'durable'),
            exclusive=options.get('exclusive'),
            auto_delete=pick('queue_auto_delete', 'auto_delete'),
            no_ack=options.get('no_ack'),
            queue_arguments=options.get('queue_arguments'),
            binding_arguments=options.get('binding_arguments'),
            consumer_arguments=options.get('consumer_arguments'),
            bindings=options.get('bindings'),
            alias=options.get('alias'),
            expires=options.get('expires'),
            message_ttl=options.get('message_ttl'),
            max_length=options.get('max_length'),
            max_length_bytes=options.get('max_length_bytes'),
            max_priority=options.get('max_priority'),
        )

    def as_dict(self, recurse: bool = False) -> dict:
        """Return the declaration as a dict (``recurse``: exchange/bindings as dicts too)."""
        res = super().as_dict(recurse)
        if not recurse:
            return res
        if self.exchange is not None:
            res['exchange'] = self.exchange.as_dict(recurse=True)
        res['bindings'] = [b.as_dict(recurse=True) for b in self.bindings]
        return res
