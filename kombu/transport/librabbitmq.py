"""librabbitmq AMQP transport.

Uses the :pypi:`librabbitmq` C extension (a binding to rabbitmq-c).  This
module imports without it, so the names below always resolve, but creating
a :class:`Transport` raises :exc:`ImportError` when the extension is not
installed; use the pure-Python ``pyamqp://`` transport instead (the
``amqp://`` alias falls back to it automatically).
"""
from __future__ import annotations

import socket
from typing import Any

import amqp.exceptions

from kombu.message import Message as _BaseMessage

from . import base

try:
    import librabbitmq as _librabbitmq
except ImportError:  # the optional C extension is not installed
    _librabbitmq = None

__all__ = ('Message', 'Channel', 'Connection', 'Transport', 'NOT_INSTALLED')

DEFAULT_PORT = 5672
DEFAULT_SSL_PORT = 5671

#: Message of the :exc:`ImportError` raised when the extension is missing.
NOT_INSTALLED = (
    'The librabbitmq transport needs the librabbitmq C extension, which is not '
    'installed: pip install librabbitmq, or use the pure-Python "pyamqp://" '
    'transport (the "amqp://" alias picks it automatically).'
)

if _librabbitmq is not None:
    _connection_errors: tuple = (_librabbitmq.ConnectionError, socket.error, IOError, OSError)
    _channel_errors: tuple = (_librabbitmq.ChannelError,)
    _NativeConnection: type = _librabbitmq.Connection
    _channel_bases: tuple = (_librabbitmq.Channel, base.StdChannel)
else:
    _connection_errors = (amqp.exceptions.ConnectionError, socket.error, IOError, OSError)
    _channel_errors = (amqp.exceptions.ChannelError,)
    _NativeConnection = object
    _channel_bases = (base.StdChannel,)


def _require_librabbitmq() -> Any:
    if _librabbitmq is None:
        raise ImportError(NOT_INSTALLED, name='librabbitmq')
    return _librabbitmq


class Message(_BaseMessage):
    """AMQP Message (librabbitmq flavour)."""

    def __init__(self, channel: Any, props: dict, info: dict, body: Any) -> None:
        super().__init__(
            channel=channel,
            body=body,
            delivery_info=info,
            properties=props,
            delivery_tag=info.get('delivery_tag'),
            content_type=props.get('content_type'),
            content_encoding=props.get('content_encoding'),
            headers=props.get('headers'))


class Channel(*_channel_bases):
    """AMQP Channel."""

    Message = Message

    def prepare_message(self, body: Any, priority: int | None = None,
                        content_type: str | None = None,
                        content_encoding: str | None = None,
                        headers: dict | None = None,
                        properties: dict | None = None) -> Any:
        """Return the (body, properties) pair librabbitmq publishes."""
        properties = dict(properties or {})
        properties.update(content_type=content_type, content_encoding=content_encoding,
                          headers=headers)
        if priority is not None:
            properties['priority'] = priority
        return body, properties     # librabbitmq's basic_publish takes the pair

    def prepare_queue_arguments(self, arguments: dict | None, **kwargs: Any) -> dict | None:
        from .base import to_rabbitmq_queue_arguments
        return to_rabbitmq_queue_arguments(arguments, **kwargs)


class Connection(_NativeConnection):
    """AMQP Connection (librabbitmq)."""

    Channel = Channel
    Message = Message


class Transport(base.Transport):
    """AMQP Transport (librabbitmq)."""

    Connection = Connection

    default_port = DEFAULT_PORT
    default_ssl_port = DEFAULT_SSL_PORT

    connection_errors = base.Transport.connection_errors + _connection_errors
    channel_errors = base.Transport.channel_errors + _channel_errors
    driver_type = 'amqp'
    driver_name = 'librabbitmq'

    implements = base.Transport.implements.extend(
        asynchronous=True,
        heartbeats=False,
    )

    def __init__(self, client: Any, default_port: int | None = None,
                 default_ssl_port: int | None = None, **kwargs: Any) -> None:
        _require_librabbitmq()
        super().__init__(client, **kwargs)
        self.client = client
        self.default_port = default_port or self.default_port
        self.default_ssl_port = default_ssl_port or self.default_ssl_port

    def driver_version(self) -> str:
        return _require_librabbitmq().__version__

    def create_channel(self, connection: Any) -> Any:
        return connection.channel()

    def drain_events(self, connection: Any, **kwargs: Any) -> Any:
        return connection.drain_events(**kwargs)

    def establish_connection(self) -> Any:
        """Establish connection to the AMQP broker."""
        conninfo = self.client
        defaults = self.default_connection_params
        if conninfo.ssl:
            raise NotImplementedError('SSL is not supported by librabbitmq; use pyamqp://')
        host = conninfo.hostname or defaults['hostname']
        port = conninfo.port or defaults['port']
        opts = dict({
            'host': f'{host}:{port}',
            'userid': conninfo.userid or defaults['userid'],
            'password': conninfo.password if conninfo.password is not None
            else defaults['password'],
            'virtual_host': conninfo.virtual_host or '/',
            'connect_timeout': conninfo.connect_timeout,
            'heartbeat': conninfo.heartbeat or 0,
        }, **conninfo.transport_options or {})
        conn = self.Connection(**opts)
        conn.client = self.client
        conn.connect()
        return conn

    def close_connection(self, connection: Any) -> None:
        """Close the AMQP broker connection."""
        connection.client = None
        connection.close()

    def _collect(self, connection: Any) -> None:
        if connection is not None:
            for channel in list(getattr(connection, 'channels', {}).values()):
                channel.connection = None
            try:
                connection.close()
            except Exception:  # the socket may already be gone
                pass

    def verify_connection(self, connection: Any) -> bool:
        return bool(connection.connected)

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        loop.add_reader(connection.fileno(), self.on_readable, connection, loop)

    def on_readable(self, connection: Any, loop: Any) -> None:
        try:
            connection.drain_events(timeout=0)
        except socket.timeout:
            pass

    def get_manager(self, *args: Any, **kwargs: Any) -> Any:
        from kombu.utils.amq_manager import get_manager
        return get_manager(self.client, *args, **kwargs)

    def qos_semantics_matches_spec(self, connection: Any) -> bool:
        from kombu.utils.text import version_string_as_tuple
        props = connection.server_properties
        if props.get('product') == 'RabbitMQ':
            return version_string_as_tuple(props.get('version') or '0')[:3] < (3, 3)
        return True

    @property
    def default_connection_params(self) -> dict:
        return {
            'userid': 'guest',
            'password': 'guest',
            'port': self.default_ssl_port if self.client.ssl else self.default_port,
            'hostname': 'localhost',
            'login_method': 'PLAIN',
        }
