"""Pure-Python amqp transport.

The AMQP 0-9-1 transport built on :pypi:`amqp` (py-amqp).  The broker does
the routing, queueing and acknowledgement bookkeeping, so this module is a
thin adapter: :class:`Channel` *is* an :class:`amqp.Channel` (with the
:class:`~kombu.transport.base.StdChannel` helpers mixed in) and
:class:`Connection` *is* an :class:`amqp.Connection` that opens such channels.

Transport options (``Connection(transport_options={...})``) are passed to
:class:`amqp.Connection` as keyword arguments, e.g. ``confirm_publish``,
``read_timeout``, ``write_timeout``, ``client_properties``,
``socket_settings``, ``on_blocked``, ``on_unblocked``, ``channel_max``,
``frame_max``, ``locale``.
"""
from __future__ import annotations

import socket
from time import monotonic
from typing import Any

import amqp

from kombu.log import get_logger
from kombu.message import Message as _BaseMessage
from kombu.utils.text import version_string_as_tuple

from . import base

__all__ = ('Message', 'Channel', 'Connection', 'Transport', 'SSLTransport')

logger = get_logger(__name__)

DEFAULT_PORT = 5672
DEFAULT_SSL_PORT = 5671

#: The event-loop callback handles at most this many methods (deliveries,
#: replies) that have already arrived before yielding back to the loop.
_MAX_READS_PER_EVENT = 64

#: The properties :meth:`Channel.prepare_message` sets for a plain publish.
_PLAIN_PROPERTIES = frozenset({'content_type', 'content_encoding', 'application_headers',
                               'delivery_mode', 'priority'})
#: Encoded property blocks of plain messages, by the values that decide them.
_encoded_properties: dict = {}
_MAX_ENCODED_PROPERTIES = 256


class _CachingMessage(amqp.Message):
    """A message to publish (what :meth:`Channel.prepare_message` returns).

    A producer sends the same few property combinations over and over, so the
    encoded property block of a *plain* message (only the properties above,
    no application headers) is computed once by py-amqp and then reused; any
    other message is encoded as usual.
    """

    __slots__ = ()

    def _serialize_properties(self, _serialize: Any = getattr(
                                  amqp.Message, '_serialize_properties', None),
                              _plain: frozenset = _PLAIN_PROPERTIES,
                              _cache: dict = _encoded_properties) -> bytes:
        props = self.properties
        headers = props.get('application_headers')
        if headers or not props.keys() <= _plain or (
                headers is not None and headers.__class__ is not dict):
            return _serialize(self)
        mode = props.get('delivery_mode')
        priority = props.get('priority')
        # (the value classes keep e.g. 2 and 2.0 apart: py-amqp rejects a float)
        key = (props.get('content_type'), props.get('content_encoding'), headers is None,
               mode, mode.__class__, priority, priority.__class__)
        try:
            encoded = _cache.get(key)
        except TypeError:                   # an unhashable value: not cacheable
            return _serialize(self)
        if encoded is None:
            encoded = _serialize(self)
            if len(_cache) >= _MAX_ENCODED_PROPERTIES:
                _cache.clear()
            _cache[key] = encoded
        return encoded


#: py-amqp encodes properties through this (private) method; should a later
#: release drop it, messages are simply encoded as py-amqp does by default.
_OutgoingMessage = (_CachingMessage if callable(
    getattr(amqp.Message, '_serialize_properties', None)) else amqp.Message)


class Message(_BaseMessage):
    """AMQP Message (documented attributes inherited from kombu.message.Message)."""

    def __init__(self, msg: amqp.Message, channel: Any = None, **kwargs: Any) -> None:
        props = msg.properties
        delivery_info = msg.delivery_info
        headers = props.get('application_headers') or {}
        if kwargs or delivery_info is None or 'compression' in headers \
                or self.errors is not None:
            super().__init__(
                body=msg.body,
                channel=channel,
                delivery_tag=msg.delivery_tag,
                content_type=props.get('content_type'),
                content_encoding=props.get('content_encoding'),
                delivery_info=delivery_info,
                properties=props,
                headers=headers,
                **kwargs)
            return
        # hot path (every delivery): what the base class would set, without
        # re-packing keyword arguments or looking anything up twice
        self.errors = []
        self.channel = channel
        self.delivery_tag = delivery_info.get('delivery_tag')
        self.content_type = props.get('content_type')
        self.content_encoding = props.get('content_encoding')
        self.delivery_info = delivery_info
        self.properties = props
        self.headers = headers
        self.body = msg.body


class Channel(amqp.Channel, base.StdChannel):
    """AMQP Channel."""

    Message = Message

    def prepare_message(self, body: Any, priority: int | None = None,
                        content_type: str | None = None,
                        content_encoding: str | None = None,
                        headers: dict | None = None, properties: dict | None = None,
                        _Message: type = _OutgoingMessage) -> amqp.Message:
        """Prepare message so that it can be sent using this transport.

        ``properties`` holds the other AMQP basic properties
        (``delivery_mode``, ``correlation_id``, ``reply_to``, ``expiration``,
        ``message_id``, ``timestamp``, ``type``, ``user_id``, ``app_id``, ...);
        an explicit ``priority`` wins over ``properties['priority']``.
        """
        message = _Message(body, **properties) if properties else _Message(body)
        props = message.properties          # a fresh dict owned by the message
        if content_encoding is None and isinstance(body, str):
            content_encoding = 'utf-8'      # how py-amqp will encode a str body
        props['content_type'] = content_type
        props['content_encoding'] = content_encoding
        props['application_headers'] = headers
        if priority is not None or 'priority' not in props:
            props['priority'] = priority    # unset (None) values stay off the wire
        return message

    def prepare_queue_arguments(self, arguments: dict | None, **kwargs: Any) -> dict | None:
        """Translate :class:`~kombu.Queue` options into RabbitMQ queue arguments."""
        return base.to_rabbitmq_queue_arguments(arguments, **kwargs)

    def message_to_python(self, raw_message: amqp.Message) -> Message:
        """Convert encoded message body back to a Python value."""
        return self.Message(raw_message, channel=self)

    # -- tolerate the StdChannel calling conventions of other transports --

    def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                  a_global: bool = False, argsig: str = 'lBb',
                  apply_global: bool | None = None) -> Any:
        """Specify quality of service (``apply_global`` is an alias of ``a_global``)."""
        if apply_global is not None:
            a_global = apply_global
        return super().basic_qos(prefetch_size or 0, prefetch_count or 0, a_global,
                                 argsig=argsig)

    def basic_consume(self, queue: str = '', consumer_tag: str | None = '',
                      *args: Any, **kwargs: Any) -> str:
        """Start a queue consumer (``consumer_tag=None`` lets the broker pick one)."""
        return super().basic_consume(queue, consumer_tag or '', *args, **kwargs)

    def basic_reject(self, delivery_tag: int, requeue: bool = False,
                     argsig: str = 'Lb') -> Any:
        """Reject a message, requeueing it if ``requeue``."""
        return super().basic_reject(delivery_tag, requeue, argsig=argsig)

    def basic_get(self, queue: str = '', no_ack: bool = False,
                  argsig: str = 'Bsb', accept: Any = None) -> amqp.Message | None:
        """Direct access to a queue: a raw message or ``None`` if it is empty."""
        return super().basic_get(queue, no_ack, argsig=argsig)


class Connection(amqp.Connection):
    """AMQP Connection."""

    Channel = Channel
    Message = Message


def _log_blocked(reason: str) -> None:
    logger.warning('The broker blocked this connection from publishing: %s', reason)


def _log_unblocked() -> None:
    logger.warning('The broker unblocked this connection')


def _reraise(exc: BaseException) -> None:
    raise exc


def _format_host(hostname: str, port: int) -> str:
    if ':' in hostname and not hostname.startswith('['):
        hostname = f'[{hostname}]'        # bare IPv6 address
    return f'{hostname}:{port}'


class Transport(base.Transport):
    """AMQP Transport."""

    Connection = Connection
    Channel = Channel
    Message = Message

    default_port = DEFAULT_PORT
    default_ssl_port = DEFAULT_SSL_PORT

    # py-amqp's own classification (socket errors count as connection errors)
    connection_errors = amqp.Connection.connection_errors
    channel_errors = amqp.Connection.channel_errors
    recoverable_connection_errors = amqp.Connection.recoverable_connection_errors
    recoverable_channel_errors = amqp.Connection.recoverable_channel_errors

    driver_name = 'py-amqp'
    driver_type = 'amqp'

    implements = base.Transport.implements.extend(
        asynchronous=True,
        heartbeats=True,
    )

    def __init__(self, client: Any, default_port: int | None = None,
                 default_ssl_port: int | None = None, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.default_port = default_port or self.default_port
        self.default_ssl_port = default_ssl_port or self.default_ssl_port

    def driver_version(self) -> str:
        return amqp.__version__

    def create_channel(self, connection: Connection) -> Channel:
        return connection.channel()

    def close_channel(self, channel: Channel) -> None:
        """Close one channel (the connection stays open)."""
        channel.close()

    def drain_events(self, connection: Connection, timeout: float | None = None,
                     **kwargs: Any) -> None:
        """Handle incoming frames until one completes a method (e.g. a delivery).

        Unlike :meth:`amqp.Connection.drain_events`, ``timeout`` bounds the
        whole call: frames that complete nothing (heartbeats, the first parts
        of a message) do not restart it.

        Raises:
            socket.timeout: if ``timeout`` seconds pass first.
        """
        blocking_read = connection.blocking_read
        if timeout is None:
            while not blocking_read(None):
                pass
            return
        deadline = monotonic() + timeout
        if blocking_read(timeout):
            return
        while True:
            # past the deadline reads turn non-blocking: whatever has already
            # arrived is still handled, then socket.timeout ends the call
            remaining = deadline - monotonic()
            if blocking_read(remaining if remaining > 0 else 0):
                return

    def _collect(self, connection: Connection | None) -> None:
        if connection is not None:
            connection.collect()

    @property
    def default_connection_params(self) -> dict:
        ssl = getattr(self.client, 'ssl', None)
        return {
            'userid': 'guest',
            'password': 'guest',
            'port': self.default_ssl_port if ssl else self.default_port,
            'hostname': 'localhost',
            'login_method': 'AMQPLAIN',
        }

    def _connection_options(self) -> dict:
        """Keyword arguments for :class:`amqp.Connection`, from the client's settings."""
        conninfo = self.client
        # Settings left unset take the defaults.  The client's own attributes
        # are left as given: they key connection pools (``__eqhash__``).
        defaults = self.default_connection_params
        hostname = conninfo.hostname or defaults['hostname']
        if hostname == 'localhost' and not conninfo.ssl:
            # the IPv4 loopback: brokers seldom listen on ::1 (with TLS the
            # name is kept, the certificate may be checked against it)
            hostname = '127.0.0.1'
        opts = {
            'host': _format_host(hostname, conninfo.port or defaults['port']),
            'userid': conninfo.userid or defaults['userid'],
            'password': conninfo.password if conninfo.password is not None
            else defaults['password'],           # (an explicit '' is kept)
            'login_method': conninfo.login_method or defaults['login_method'],
            'virtual_host': conninfo.virtual_host or '/',
            'ssl': conninfo.ssl or False,
            'connect_timeout': conninfo.connect_timeout,
            'heartbeat': conninfo.heartbeat or 0,
            'insist': conninfo.insist,
            'on_blocked': _log_blocked,
            'on_unblocked': _log_unblocked,
        }
        opts.update(conninfo.transport_options or {})
        return opts

    def establish_connection(self) -> Connection:
        """Establish connection to the AMQP broker."""
        conn = self.Connection(**self._connection_options())
        conn.client = self.client
        conn.connect()
        return conn

    def verify_connection(self, connection: Connection) -> bool:
        return bool(connection.connected)

    def close_connection(self, connection: Connection) -> None:
        """Close the AMQP broker connection."""
        connection.client = None
        try:                                   # returns at once if already closed
            connection.close()
        except self.connection_errors:
            connection.collect()

    def get_heartbeat_interval(self, connection: Connection) -> float:
        return connection.heartbeat or 0

    def heartbeat_check(self, connection: Connection, rate: int = 2) -> None:
        return connection.heartbeat_tick(rate=rate)

    def register_with_event_loop(self, connection: Connection, loop: Any) -> None:
        """Read from the socket when the hub reports it readable; tick heartbeats."""
        connection.transport.raise_on_initial_eintr = True
        sock = connection.sock
        loop.add_reader(sock, self.on_readable, connection, loop)
        if self._has_buffered_input(connection):
            # (TLS) frames read ahead by an earlier call won't wake the poller
            loop.call_soon(self.on_readable, connection, loop)
        timer = None
        interval = self.get_heartbeat_interval(connection)
        if interval:
            # heartbeat_tick() sends every interval/2 s; look twice as often
            timer = loop.call_repeatedly(interval / 4.0, self._loop_heartbeat,
                                         connection, loop)
        connection._kombu_loop_registration = (sock, timer)

    def unregister_from_event_loop(self, connection: Connection, loop: Any) -> None:
        """Undo :meth:`register_with_event_loop`."""
        sock, timer = getattr(connection, '_kombu_loop_registration', (None, None))
        connection._kombu_loop_registration = (None, None)
        if timer is not None:
            timer.cancel()
        if sock is not None:
            loop.remove(sock)

    def _loop_heartbeat(self, connection: Connection, loop: Any) -> None:
        if connection._transport is None:      # closed: stop ticking
            self.unregister_from_event_loop(connection, loop)
            return
        try:
            self.heartbeat_check(connection, rate=2)
        except self.connection_errors as exc:
            # e.g. 'Too many heartbeats missed': the connection is dead, so
            # drop the socket (a close handshake would wait forever).  The
            # loop only logs timer errors, so raise it from a ready callback,
            # which comes out of the loop's run_once like a socket error.
            self.unregister_from_event_loop(connection, loop)
            connection.collect()
            loop.call_soon(_reraise, exc)

    def on_readable(self, connection: Connection, loop: Any) -> None:
        """Handle what has arrived on the socket, without blocking.

        Up to :data:`_MAX_READS_PER_EVENT` methods are handled per call,
        then control goes back to the event loop (which calls again soon if
        TLS holds data the poller can't see).  A connection error removes the
        socket (and the heartbeat timer) from the loop and is raised, so it
        comes out of the loop's ``run_once``.
        """
        if connection._transport is None:
            self.unregister_from_event_loop(connection, loop)
            raise amqp.exceptions.RecoverableConnectionError('Socket was disconnected')
        drain = self.drain_events
        try:
            for _ in range(_MAX_READS_PER_EVENT):
                drain(connection, timeout=0)
        except socket.timeout:
            return
        except self.connection_errors:
            # the connection is gone: stop watching its socket, tell the owner
            self.unregister_from_event_loop(connection, loop)
            raise
        if self._has_buffered_input(connection):
            loop.call_soon(self.on_readable, connection, loop)

    @staticmethod
    def _has_buffered_input(connection: Connection) -> bool:
        """True if bytes were read off the socket but not yet handled (TLS)."""
        transport = connection._transport
        if transport is None:
            return False
        if getattr(transport, '_read_buffer', None):
            return True
        pending = getattr(transport.sock, 'pending', None)
        return bool(pending and pending())

    def qos_semantics_matches_spec(self, connection: Connection) -> bool:
        """False for RabbitMQ 3.3+, where ``basic_qos(global)`` is per-connection."""
        props = connection.server_properties
        if props.get('product') == 'RabbitMQ':
            return version_string_as_tuple(props.get('version') or '0')[:3] < (3, 3)
        return True

    def get_manager(self, *args: Any, **kwargs: Any) -> Any:
        from kombu.utils.amq_manager import get_manager
        return get_manager(self.client, *args, **kwargs)


class SSLTransport(Transport):
    """AMQP SSL Transport (``amqps://``): like :class:`Transport` with ``ssl`` on."""

    default_port = DEFAULT_SSL_PORT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.client.ssl:
            self.client.ssl = True
