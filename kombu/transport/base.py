"""Base transport interface.

:class:`Transport` is what :class:`kombu.Connection` talks to; a transport
hands out channels that follow the :class:`StdChannel` (AMQP-shaped) API.
"""
from __future__ import annotations

import errno
import socket
from typing import Any, Callable

from amqp.exceptions import ChannelError, ConnectionError, RecoverableConnectionError

from kombu.message import Message
from kombu.utils.functional import dictfilter
from kombu.utils.objects import cached_property

__all__ = ('Message', 'StdChannel', 'Management', 'Transport', 'Implements',
           'default_transport_capabilities', 'RABBITMQ_QUEUE_ARGUMENTS',
           'to_rabbitmq_queue_arguments', 'ChannelError', 'ConnectionError',
           'RecoverableConnectionError')


def maybe_s_to_ms(v: float | None) -> int | None:
    """Convert seconds to milliseconds (``None`` stays ``None``)."""
    return int(float(v) * 1000.0) if v is not None else v


#: Queue argument name -> (RabbitMQ ``x-`` argument, conversion).
RABBITMQ_QUEUE_ARGUMENTS: dict[str, tuple[str, Callable]] = {
    'expires': ('x-expires', maybe_s_to_ms),
    'message_ttl': ('x-message-ttl', maybe_s_to_ms),
    'max_length': ('x-max-length', int),
    'max_length_bytes': ('x-max-length-bytes', int),
    'max_priority': ('x-max-priority', int),
}


def to_rabbitmq_queue_arguments(arguments: dict | None, **options: Any) -> dict | None:
    """Merge kombu queue options (``expires=1.5``, ...) into RabbitMQ ``x-`` arguments.

    Durations are given in seconds and sent in milliseconds; options whose
    value is ``None`` are left out.  Returns ``arguments`` itself when there
    is nothing to add.
    """
    prepared = dictfilter(dict(
        _to_rabbitmq_queue_argument(key, value) for key, value in options.items()))
    return dict(arguments or {}, **prepared) if prepared else arguments


def _to_rabbitmq_queue_argument(key: str, value: Any) -> tuple[str, Any]:
    opt, typ = RABBITMQ_QUEUE_ARGUMENTS[key]
    return opt, typ(value) if value is not None else value


def _not_implemented(obj: Any, method: str) -> str:
    cls = type(obj)
    return f'Transport {cls.__module__}.{cls.__name__} does not implement {method}'


class Implements(dict):
    """Helper class used to define transport features (attribute access to a dict)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key)

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def extend(self, **kwargs: Any) -> Implements:
        """Return a copy with the given features changed."""
        return self.__class__(self, **kwargs)


default_transport_capabilities = Implements(
    asynchronous=False,
    exchange_type=frozenset({'direct', 'topic', 'fanout', 'headers'}),
    heartbeats=False,
)


class StdChannel:
    """Standard channel base class (the AMQP-shaped API Producer/Consumer use)."""

    #: Set of consumer tags consuming with ``no_ack=True`` (or ``None``).
    no_ack_consumers: set | None = None

    def Consumer(self, *args: Any, **kwargs: Any) -> Any:
        """Create a :class:`kombu.Consumer` using this channel."""
        from kombu.messaging import Consumer
        return Consumer(self, *args, **kwargs)

    def Producer(self, *args: Any, **kwargs: Any) -> Any:
        """Create a :class:`kombu.Producer` using this channel."""
        from kombu.messaging import Producer
        return Producer(self, *args, **kwargs)

    def get_bindings(self) -> list:
        """Return the list of bindings (not supported by this transport)."""
        raise NotImplementedError(_not_implemented(self, 'get_bindings'))

    def after_reply_message_received(self, queue: str) -> None:
        """Callback called after RPC reply received.

        Notes:
            Reply queue semantics: can be used to delete the queue
            after transient reply message received.
        """

    def prepare_queue_arguments(self, arguments: dict | None, **kwargs: Any) -> dict | None:
        """Translate queue options into transport queue arguments (identity here)."""
        return arguments

    def __enter__(self) -> StdChannel:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - overridden by channels
        """Close channel."""


class Management:
    """AMQP Management API (incomplete)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def get_bindings(self) -> list:
        """Return the list of bindings known to the broker."""
        raise NotImplementedError(_not_implemented(self, 'get_bindings'))


class Transport:
    """Base class for transports.

    Subclasses implement :meth:`establish_connection`,
    :meth:`close_connection`, :meth:`create_channel`,
    :meth:`close_channel` and :meth:`drain_events`.
    """

    Management = Management

    #: The :class:`~kombu.Connection` owning this instance.
    client: Any = None

    #: Set to True if :class:`~kombu.Connection` should pass the URL
    #: unmodified.
    can_parse_url = False

    #: Default port used when no port has been specified.
    default_port: int | None = None

    #: Tuple of errors that can happen due to connection failure.
    connection_errors: tuple = (ConnectionError,)

    #: Tuple of errors that can happen due to channel/method failure.
    channel_errors: tuple = (ChannelError,)

    #: Type of driver, can be used to separate transports
    #: using the AMQP protocol (driver_type: 'amqp'),
    #: Redis (driver_type: 'redis'), etc...
    driver_type = 'N/A'

    #: Name of driver library (e.g. 'py-amqp', 'redis').
    driver_name = 'N/A'

    #: Seconds between polls for transports without native blocking reads.
    polling_interval: float | None = None

    #: Features of this transport (``asynchronous``, ``exchange_type``, ``heartbeats``).
    implements = default_transport_capabilities.extend()

    __reader: Callable | None = None

    def __init__(self, client: Any, **kwargs: Any) -> None:
        self.client = client

    @property
    def recoverable_connection_errors(self) -> tuple:
        """Errors recoverable by closing and re-establishing the connection.

        If not defined by the subclass then all :attr:`connection_errors`
        and :attr:`channel_errors` are regarded as recoverable, but needing
        to close the connection first.
        """
        return tuple(self.connection_errors) + tuple(self.channel_errors)

    @property
    def recoverable_channel_errors(self) -> tuple:
        """Channel errors recoverable without re-establishing the connection."""
        return ()

    @property
    def default_connection_params(self) -> dict:
        """Connection parameters used when the :class:`~kombu.Connection` sets none."""
        return {}

    @property
    def supports_heartbeats(self) -> bool:
        """True if this transport sends/receives heartbeats (``implements.heartbeats``)."""
        return bool(self.implements.heartbeats)

    @property
    def supports_ev(self) -> bool:
        """True if the transport can be used with an event loop (``kombu.asynchronous``)."""
        return bool(self.implements.asynchronous)

    def establish_connection(self) -> Any:
        """Connect and return the transport-level connection object."""
        raise NotImplementedError(_not_implemented(self, 'establish_connection'))

    def close_connection(self, connection: Any) -> None:
        """Close the transport-level connection (safe to call twice)."""
        raise NotImplementedError(_not_implemented(self, 'close_connection'))

    def create_channel(self, connection: Any) -> Any:
        """Return a new channel for ``connection``."""
        raise NotImplementedError(_not_implemented(self, 'create_channel'))

    def close_channel(self, connection: Any) -> None:
        """Close one channel."""
        raise NotImplementedError(_not_implemented(self, 'close_channel'))

    def drain_events(self, connection: Any, **kwargs: Any) -> Any:
        """Deliver pending events; raise :exc:`socket.timeout` when ``timeout`` passes."""
        raise NotImplementedError(_not_implemented(self, 'drain_events'))

    def heartbeat_check(self, connection: Any, rate: int = 2) -> None:
        """Send/check heartbeats (no-op unless the transport supports them)."""

    def driver_version(self) -> str:
        """Version of the driver library."""
        return 'N/A'

    def get_heartbeat_interval(self, connection: Any) -> float:
        """Negotiated heartbeat interval in seconds (0 when heartbeats are off)."""
        return 0

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        """Register the connection's file descriptors with the event loop ``loop``."""

    def unregister_from_event_loop(self, connection: Any, loop: Any) -> None:
        """Undo :meth:`register_with_event_loop`."""

    def verify_connection(self, connection: Any) -> bool:
        """Return true if the connection is still usable."""
        return True

    def _make_reader(self, connection: Any, timeout: type = socket.timeout,
                     error: type = OSError,
                     _unavail: tuple = (errno.EAGAIN, errno.EINTR)) -> Callable:
        drain_events = connection.drain_events

        def _read(loop: Any) -> None:
            if not connection.connected:
                raise RecoverableConnectionError('Socket was disconnected')
            try:
                drain_events(timeout=0)
            except timeout:
                return
            except error as exc:
                if exc.errno in _unavail:
                    return
                raise
            loop.call_soon(_read, loop)
        return _read

    def qos_semantics_matches_spec(self, connection: Any) -> bool:
        """Return true if ``basic_qos(prefetch_count)`` is per-consumer as in AMQP."""
        return True

    def on_readable(self, connection: Any, loop: Any) -> None:
        """Event-loop callback: the connection's socket is readable."""
        reader = self.__reader
        if reader is None:
            reader = self.__reader = self._make_reader(connection)
        reader(loop)

    def as_uri(self, uri: str, include_password: bool = False, mask: str = '**') -> str:
        """Customize how :meth:`kombu.Connection.as_uri` renders the URL (identity)."""
        return uri

    def get_manager(self, *args: Any, **kwargs: Any) -> Any:
        """Return a management helper for the broker (see :attr:`Management`)."""
        return self.Management(self)

    @cached_property
    def manager(self) -> Any:
        """The cached :meth:`get_manager` result."""
        return self.get_manager()

