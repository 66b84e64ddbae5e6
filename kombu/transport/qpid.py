"""Qpid transport (``qpid://``).

A native (non-virtual) transport for an Apache Qpid broker, written against
the :pypi:`qpid-python` client (``qpid.messaging``) for messaging and
:pypi:`qpid-tools` (``qpidtoollibs.BrokerAgent``) for broker management::

    $ pip install kombu[qpid]

Neither library is available for every Python 3 environment.  This module
always imports (so its classes can be referenced), but creating a
:class:`Transport` without them raises :exc:`RuntimeError` naming the
missing library (see :meth:`Transport.verify_runtime_environment`).

SASL mechanism used, unless ``login_method`` names one (or a space
separated list):

==========================================  ============
``qpid://hostname/``                          ANONYMOUS
``qpid://username:password@hostname/``        PLAIN
``qpid://username@hostname/`` (e.g. SSL)      EXTERNAL
==========================================  ============

``transport_options`` are passed to ``qpid.messaging.Connection.establish``
as keyword arguments and override every other option.
"""
from __future__ import annotations

import errno
import fcntl
import os
import socket
import ssl
import uuid
from collections import OrderedDict
from time import monotonic
from typing import Any, Callable

from amqp.protocol import queue_declare_ok_t

from kombu.exceptions import DecodeError, EncodeError
from kombu.log import get_logger

from . import base, virtual

try:
    import qpid.messaging as _messaging
    from qpid.messaging.exceptions import (
        AuthenticationFailure,
        ConnectionError,
        NotFound,
        SessionClosed,
    )
    from qpid.messaging.exceptions import Empty as QpidEmpty
except ImportError:  # the client is not installed (no Python 3 build)
    _messaging = None
    AuthenticationFailure = ConnectionError = NotFound = SessionClosed = None
    QpidEmpty = None

try:
    import qpidtoollibs as _qpidtoollibs
except ImportError:  # qpid-tools is not installed
    _qpidtoollibs = None

__all__ = ('Transport', 'Connection', 'Channel', 'Message', 'QoS')

logger = get_logger(__name__)

#: Text of the broker error raised when declaring an existing object.
OBJECT_ALREADY_EXISTS_STRING = 'object already exists'

#: Messages of the :exc:`RuntimeError` raised when a dependency is missing.
MISSING_QPID_MESSAGING = (
    'The Qpid transport requires the qpid.messaging library (qpid-python), '
    'which is not installed: pip install "kombu[qpid]"')
MISSING_QPIDTOOLLIBS = (
    'The Qpid transport requires the qpidtoollibs library (qpid-tools), '
    'which is not installed: pip install "kombu[qpid]"')

#: kombu queue arguments (as prepared by ``prepare_queue_arguments``)
#: and the Qpid queue options they become.
QUEUE_ARGUMENTS = {
    'x-max-length': 'qpid.max_count',
    'x-max-length-bytes': 'qpid.max_size',
    'x-max-priority': 'qpid.priorities',
}

Message = virtual.Message


def _require_client() -> Any:
    if _messaging is None:
        raise RuntimeError(MISSING_QPID_MESSAGING)
    return _messaging


def _queue_options(queue: str, durable: bool, exclusive: bool, auto_delete: bool,
                   arguments: dict | None) -> dict:
    """Qpid queue-create options for a ``queue_declare``."""
    options: dict[str, Any] = {
        'durable': durable,
        'exclusive': exclusive,
        # An exclusive queue is always deleted with its session.
        'auto-delete': auto_delete or exclusive,
    }
    for key, value in (arguments or {}).items():
        if key == 'x-expires':
            # milliseconds (AMQP) -> whole seconds (Qpid), at least one.
            options['qpid.auto_delete_timeout'] = max(1, -(-int(value) // 1000))
        else:
            options[QUEUE_ARGUMENTS.get(key, key)] = value
    if queue.startswith('celeryev') or queue.endswith('pidbox'):
        # Celery never acks these: a ring buffer keeps them from filling up.
        options['qpid.policy_type'] = 'ring'
    return options


class QoS:
    """Prefetch window and unacked messages of one :class:`Channel`.

    Messages (``qpid.messaging.Message``) are kept in delivery order,
    keyed by delivery tag, until :meth:`ack` or :meth:`reject` settles
    them with ``session``.  ``prefetch_count`` is hard set to 1; setting
    the attribute to 0 afterwards removes the limit.
    """

    def __init__(self, session: Any, prefetch_count: int = 1) -> None:
        self.session = session
        self.prefetch_count = 1
        self._not_yet_acked: OrderedDict = OrderedDict()

    def can_consume(self) -> bool:
        """Return True if another message fits in the prefetch window."""
        return not self.prefetch_count or len(self._not_yet_acked) < self.prefetch_count

    def can_consume_max_estimate(self) -> int:
        """How many more messages fit in the prefetch window (1 without a limit)."""
        if not self.prefetch_count:
            return 1
        return max(0, self.prefetch_count - len(self._not_yet_acked))

    def append(self, message: Any, delivery_tag: Any) -> None:
        """Remember an unacked ``message`` under ``delivery_tag``."""
        self._not_yet_acked[delivery_tag] = message

    def get(self, delivery_tag: Any) -> Any:
        """The unacked message of ``delivery_tag`` (:exc:`KeyError` if unknown)."""
        return self._not_yet_acked[delivery_tag]

    def ack(self, delivery_tag: Any) -> None:
        """Acknowledge the message of ``delivery_tag`` (:exc:`KeyError` if unknown)."""
        message = self._not_yet_acked.pop(delivery_tag)
        self.session.acknowledge(message=message)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        """Reject the message of ``delivery_tag``: released for redelivery
        with ``requeue``, else dropped.  :exc:`KeyError` if unknown."""
        message = self._not_yet_acked[delivery_tag]
        client = _require_client()
        del self._not_yet_acked[delivery_tag]
        outcome = client.RELEASED if requeue else client.REJECTED
        self.session.acknowledge(message=message, disposition=client.Disposition(outcome))


class Channel(base.StdChannel):
    """A channel on a Qpid broker (AMQP-shaped, native: not virtual).

    Arguments:
        connection (Connection): the :class:`Connection` it belongs to.
        transport (Transport): the transport, whose session sends and
            receives for every channel.

    Broker objects are managed through a ``qpidtoollibs.BrokerAgent`` on
    the connection.  Every published message gets a :class:`uuid.UUID`
    delivery tag.  :meth:`basic_get` always acknowledges what it takes
    (an unacked ``qpid.messaging`` message is never released).
    """

    QoS = QoS
    Message = Message

    #: Bodies are sent base64 encoded.
    body_encoding = 'base64'
    codecs = {'base64': virtual.Base64()}

    def __init__(self, connection: Any, transport: Any) -> None:
        self.connection = connection
        self.transport = transport
        if _qpidtoollibs is None:
            raise RuntimeError(MISSING_QPIDTOOLLIBS)
        self._broker = _qpidtoollibs.BrokerAgent(connection.get_qpid_connection())
        self.closed = False
        self._tag_to_queue: dict[Any, str] = {}
        self._receivers: dict[Any, Any] = {}
        self._qos: QoS | None = None

    @property
    def qos(self) -> QoS:
        """:class:`QoS` of this channel (created on first use)."""
        if self._qos is None:
            self._qos = self.QoS(self.transport.session, prefetch_count=1)
        return self._qos

    # -- broker primitives -------------------------------------------------------

    def _get(self, queue: str) -> Any:
        """Fetch one ``qpid.messaging.Message`` from ``queue`` now (raises its Empty)."""
        receiver = self.transport.session.receiver(queue)
        try:
            return receiver.fetch(timeout=0)
        finally:
            receiver.close()

    def _put(self, routing_key: str, message: dict, exchange: str | None = None,
             durable: bool = True, **kwargs: Any) -> None:
        """Send ``message`` to ``exchange`` (or to the queue ``routing_key``)."""
        client = _require_client()
        if exchange:
            address = f'{exchange}/{routing_key}; {{assert: always, node: {{type: topic}}}}'
        else:
            address = f'{routing_key}; {{assert: always, node: {{type: queue}}}}'
        sender = self.transport.session.sender(address)
        try:
            sender.send(client.Message(content=message, durable=durable,
                                       subject=routing_key), sync=True)
        finally:
            sender.close()

    def _queue_values(self, queue: str) -> dict | None:
        found = self._broker.getQueue(queue)
        return None if found is None else found.values

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return self._broker.getQueue(queue) is not None

    def _size(self, queue: str) -> int:
        values = self._queue_values(queue)
        if values is None:
            raise self._not_found('queue', queue)
        return values['msgDepth']

    def _purge(self, queue: str) -> int:
        found = self._broker.getQueue(queue)
        if found is None:
            raise self._not_found('queue', queue)
        count = found.values['msgDepth']
        if count > 0:
            found.purge(count)
        return count

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        for tag, name in list(self._tag_to_queue.items()):
            if name == queue:
                self.basic_cancel(tag)
        self._broker.delQueue(queue)

    @staticmethod
    def _not_found(kind: str, name: str) -> Exception:
        text = f'no {kind} named {name!r}'
        return NotFound(text) if NotFound is not None else KeyError(text)

    # -- entities --------------------------------------------------------------------

    def exchange_declare(self, exchange: str = '', type: str = 'direct',
                         durable: bool = False, **kwargs: Any) -> None:
        """Create an exchange (nothing happens if it exists)."""
        try:
            self._broker.addExchange(type, exchange, {'durable': durable})
        except Exception as exc:
            if OBJECT_ALREADY_EXISTS_STRING not in str(exc):
                raise

    def exchange_delete(self, exchange_name: str, **kwargs: Any) -> None:
        """Delete the exchange ``exchange_name``."""
        self._broker.delExchange(exchange_name)

    def prepare_queue_arguments(self, arguments: dict | None, **kwargs: Any) -> dict | None:
        """:class:`~kombu.Queue` options as ``x-`` arguments (:meth:`queue_declare`
        turns those Qpid knows into Qpid queue options)."""
        return base.to_rabbitmq_queue_arguments(arguments, **kwargs)

    def queue_declare(self, queue: str, passive: bool = False, durable: bool = False,
                      exclusive: bool = False, auto_delete: bool = True,
                      nowait: bool = False, arguments: dict | None = None,
                      ) -> queue_declare_ok_t:
        """Create ``queue`` unless it exists (or only check it with ``passive``).

        Returns ``queue_declare_ok_t(queue, message_count, consumer_count)``;
        a passive declare of a missing queue raises ``NotFound``.
        """
        if not passive:
            options = _queue_options(queue, durable, exclusive, auto_delete, arguments)
            try:
                self._broker.addQueue(queue, options)
            except Exception as exc:
                if OBJECT_ALREADY_EXISTS_STRING not in str(exc):
                    raise
        values = self._queue_values(queue)
        if values is None:
            raise self._not_found('queue', queue)
        return queue_declare_ok_t(queue, values['msgDepth'], values['consumerCount'])

    def queue_delete(self, queue: str, if_unused: bool = False, if_empty: bool = False,
                     **kwargs: Any) -> int:
        """Delete ``queue``; return the number of messages it held.

        Nothing happens (0) if it does not exist, or if ``if_unused`` and it
        has consumers, or if ``if_empty`` and it holds messages.
        """
        values = self._queue_values(queue)
        if values is None:
            return 0
        if (if_empty and values['msgDepth']) or (if_unused and values['consumerCount']):
            return 0
        self._delete(queue)
        return values['msgDepth']

    def queue_bind(self, queue: str, exchange: str, routing_key: str,
                   **kwargs: Any) -> None:
        """Bind ``queue`` to ``exchange`` with the binding key ``routing_key``."""
        self._broker.bind(exchange, queue, routing_key)

    def queue_unbind(self, queue: str, exchange: str, routing_key: str,
                     **kwargs: Any) -> None:
        """Remove the binding of ``queue`` to ``exchange`` with ``routing_key``."""
        self._broker.unbind(exchange, queue, routing_key)

    def queue_purge(self, queue: str, **kwargs: Any) -> int:
        """Ask the broker to purge ``queue``; return how many messages were asked for.

        Raises ``qpid.messaging.exceptions.NotFound`` if the queue does not exist.
        """
        return self._purge(queue)

    def typeof(self, exchange: str, default: str = 'direct') -> str:
        """Type of ``exchange`` (``default`` if it does not exist)."""
        found = self._broker.getExchange(exchange)
        if found is None:
            return default
        return found.values['type']

    # -- messages --------------------------------------------------------------------

    def encode_body(self, body: Any, encoding: str | None = None) -> tuple:
        """Return ``(encoded body, encoding)``; no ``encoding``: ``(body, None)``."""
        if not encoding:
            return body, encoding
        try:
            codec = self.codecs[encoding]
        except KeyError:
            raise EncodeError(f'unknown body encoding: {encoding!r}') from None
        return codec.encode(body), encoding

    def decode_body(self, body: Any, encoding: str | None = None) -> Any:
        """Decode ``body`` with the codec ``encoding`` (unchanged without one)."""
        if not encoding:
            return body
        try:
            codec = self.codecs[encoding]
        except KeyError:
            raise DecodeError(f'unknown body encoding: {encoding!r}') from None
        return codec.decode(body)

    def prepare_message(self, body: Any, priority: int | None = None,
                        content_type: str | None = None,
                        content_encoding: str | None = None,
                        headers: dict | None = None,
                        properties: dict | None = None) -> dict:
        """Build the message dict :meth:`basic_publish` sends."""
        properties = properties or {}
        info = properties.setdefault('delivery_info', {})
        info['priority'] = priority or 0
        return {'body': body,
                'content-encoding': content_encoding,
                'content-type': content_type,
                'headers': headers or {},
                'properties': properties}

    def basic_publish(self, message: dict, exchange: str, routing_key: str,
                      **kwargs: Any) -> None:
        """Encode and send ``message`` (from :meth:`prepare_message`) synchronously."""
        body, body_encoding = self.encode_body(message['body'], self.body_encoding)
        if isinstance(body, str):
            body = body.encode('utf-8')
        message['body'] = body
        properties = message['properties']
        properties['body_encoding'] = body_encoding
        properties.setdefault('delivery_info', {}).update(
            exchange=exchange, routing_key=routing_key)
        properties['delivery_tag'] = uuid.uuid4()
        self._put(routing_key, message, exchange, **kwargs)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        """Take one message from ``queue`` now and acknowledge it (None if empty).

        ``no_ack`` has no effect: the message is always acknowledged.
        """
        try:
            qpid_message = self._get(queue)
        except Exception as exc:
            if QpidEmpty is not None and isinstance(exc, QpidEmpty):
                return None
            raise
        message = self.Message(qpid_message.content, channel=self)
        self.transport.session.acknowledge(message=qpid_message)
        return message

    def basic_consume(self, queue: str, no_ack: bool, callback: Callable,
                      consumer_tag: Any, **kwargs: Any) -> Any:
        """Consume ``queue``: :meth:`Transport.drain_events` calls ``callback(message)``.

        Messages wait in the :class:`QoS` for :meth:`basic_ack` unless
        ``no_ack``, when they are acknowledged on receipt.
        """
        self._tag_to_queue[consumer_tag] = queue

        def _callback(qpid_message: Any) -> Any:
            message = self.Message(qpid_message.content, channel=self)
            delivery_tag = message.delivery_tag
            self.qos.append(qpid_message, delivery_tag)
            if no_ack:
                self.qos.ack(delivery_tag)
            return callback(message)

        self.connection._callbacks[queue] = _callback
        receiver = self.transport.session.receiver(queue)
        receiver.capacity = max(1, self.qos.prefetch_count)
        self._receivers[consumer_tag] = receiver
        return consumer_tag

    def basic_cancel(self, consumer_tag: Any) -> None:
        """Stop the consumer ``consumer_tag`` (its receiver is closed)."""
        receiver = self._receivers.pop(consumer_tag, None)
        if receiver is not None:
            receiver.close()
        queue = self._tag_to_queue.pop(consumer_tag, None)
        if queue is not None and queue not in self._tag_to_queue.values() \
                and self.connection is not None:
            self.connection._callbacks.pop(queue, None)

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        """Acknowledge the message of ``delivery_tag`` (``multiple`` is not supported).

        A message already acknowledged on receipt (:meth:`basic_get`, a
        ``no_ack`` consumer) or already settled is left alone.
        """
        assert multiple is False, 'basic_ack(multiple=True) is not supported by Qpid'
        qos = self.qos
        if delivery_tag in qos._not_yet_acked:
            qos.ack(delivery_tag)

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        """Reject the message of ``delivery_tag``, redelivered with ``requeue``.

        A message already acknowledged on receipt or settled is left alone.
        """
        qos = self.qos
        if delivery_tag in qos._not_yet_acked:
            qos.reject(delivery_tag, requeue=requeue)

    def basic_qos(self, prefetch_count: int, *args: Any) -> None:
        """Set the prefetch window (hard coded to 1: ``prefetch_count`` is ignored)."""
        self.qos.prefetch_count = 1

    def close(self) -> None:
        """Cancel every consumer and close the broker agent's session.

        Unacked messages are released by the broker.
        """
        if self.closed:
            return
        self.closed = True
        for consumer_tag in list(self._receivers):
            self.basic_cancel(consumer_tag)
        if self.connection is not None:
            self.connection.close_channel(self)
        self._broker.close()


class Connection:
    """Holds the ``qpid.messaging`` connection of a :class:`Transport`.

    ``connection_options`` (``host``, ``port``, ``username``,
    ``password``, ``transport`` ('tcp' or 'ssl'), ``timeout``,
    ``sasl_mechanisms``, ``ssl_*``, ...) go to
    ``qpid.messaging.Connection.establish``.  An authentication failure
    (reported by qpid as a ConnectionError) is raised as
    ``AuthenticationFailure``, with the original message.

    The callbacks of the consumers, keyed by queue name, are kept in
    ``_callbacks``.
    """

    Channel = Channel

    def __init__(self, **connection_options: Any) -> None:
        client = _require_client()
        self.connection_options = connection_options
        self.channels: list = []
        self._callbacks: dict[str, Callable] = {}
        self._qpid_conn: Any = None
        options = {key: value for key, value in connection_options.items()
                   if value is not None}
        try:
            self._qpid_conn = client.Connection.establish(**options)
        except ConnectionError as exc:
            text = str(exc)
            if 'authentication' in text.lower() or 'sasl' in text.lower():
                raise AuthenticationFailure(text) from exc
            raise

    def get_qpid_connection(self) -> Any:
        """The ``qpid.messaging.Connection`` (one per instance)."""
        return self._qpid_conn

    def close(self) -> None:
        """Close the qpid connection (and all its sessions, senders and receivers)."""
        qpid_conn, self._qpid_conn = self._qpid_conn, None
        if qpid_conn is not None:
            qpid_conn.close()

    def close_channel(self, channel: Any) -> None:
        """Forget ``channel`` (it no longer refers to this connection)."""
        try:
            self.channels.remove(channel)
        except ValueError:
            pass
        channel.connection = None


if _messaging is not None:
    _connection_errors: tuple = (ConnectionError, OSError)
    _channel_errors: tuple = (NotFound,)
else:
    # The documented values without the client; a Transport cannot be
    # created then, so nothing is ever caught with them.
    _connection_errors = (None, OSError)
    _channel_errors = (None,)


class Transport(base.Transport):
    """Kombu transport for a Qpid broker.

    One :class:`Connection` and one ``qpid.messaging`` session serve every
    channel.  Received messages are read by :meth:`drain_events`; with an
    event loop, a pipe written by the session's message-received handler
    wakes :meth:`on_readable`.
    """

    Connection = Connection
    Channel = Channel
    Message = Message

    driver_type = 'qpid'
    driver_name = 'qpid'
    polling_interval = None

    implements = base.default_transport_capabilities.extend(
        asynchronous=True,
        exchange_type=frozenset(['direct', 'topic', 'fanout']),
        heartbeats=False,
    )

    connection_errors = _connection_errors
    channel_errors = _channel_errors
    recoverable_connection_errors = _connection_errors
    recoverable_channel_errors = _channel_errors

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.verify_runtime_environment()
        super().__init__(*args, **kwargs)
        self.session: Any = None
        self.r: int | None = None
        self._w: int | None = None

    def verify_runtime_environment(self) -> None:
        """Raise :exc:`RuntimeError` unless qpid.messaging and qpidtoollibs import."""
        if _messaging is None:
            raise RuntimeError(MISSING_QPID_MESSAGING)
        if _qpidtoollibs is None:
            raise RuntimeError(MISSING_QPIDTOOLLIBS)

    @property
    def default_connection_params(self) -> dict:
        """Defaults for the options the :class:`kombu.Connection` leaves unset."""
        return {'hostname': 'localhost', 'port': 5672}

    def _connection_options(self) -> dict:
        """``qpid.messaging`` connection options from the kombu Connection."""
        conninfo = self.client
        defaults = self.default_connection_params
        options: dict[str, Any] = {
            'host': conninfo.hostname or defaults['hostname'],
            'port': conninfo.port or defaults['port'],
            'timeout': conninfo.connect_timeout,
            'transport': 'tcp',
        }
        userid, password = conninfo.userid, conninfo.password
        if conninfo.login_method:
            mechanisms = conninfo.login_method
        elif userid and password:
            mechanisms = 'PLAIN'
        elif userid:
            mechanisms = 'EXTERNAL'
        else:
            mechanisms = 'ANONYMOUS'
        options['sasl_mechanisms'] = mechanisms
        if userid:
            options['username'] = userid
        if password and mechanisms != 'ANONYMOUS':
            options['password'] = password
        if conninfo.ssl:
            options['transport'] = 'ssl'
            if isinstance(conninfo.ssl, dict):
                options.update(_ssl_options(conninfo.ssl))
        options.update(conninfo.transport_options or {})
        return options

    def establish_connection(self) -> Connection:
        """Connect; open the session shared by all channels and return the :class:`Connection`."""
        connection = self.Connection(**self._connection_options())
        connection.client = self.client
        if self.r is None:
            self.r, self._w = os.pipe()
            flags = fcntl.fcntl(self.r, fcntl.F_GETFL)
            fcntl.fcntl(self.r, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        qpid_conn = connection.get_qpid_connection()
        self.session = qpid_conn.session()
        self.session.set_message_received_notify_handler(self._qpid_message_ready_handler)
        qpid_conn.set_async_exception_notify_handler(self._qpid_async_exception_notify_handler)
        self.session.set_async_exception_notify_handler(self._qpid_async_exception_notify_handler)
        return connection

    def close_connection(self, connection: Connection) -> None:
        """Close every channel of ``connection``, then the connection (idempotent)."""
        for channel in list(connection.channels):
            channel.close()
        connection.close()
        self.session = None

    def create_channel(self, connection: Connection) -> Channel:
        """Create a :class:`Channel` on ``connection`` and register it there."""
        channel = connection.Channel(connection, self)
        connection.channels.append(channel)
        return channel

    def close_channel(self, channel: Any) -> None:
        """Close ``channel``."""
        channel.close()

    def drain_events(self, connection: Connection, timeout: float | None = 0,
                     **kwargs: Any) -> None:
        """Call the consumers' callbacks for every message ready now.

        Waits up to ``timeout`` seconds (``None``: no limit) for the first;
        :exc:`socket.timeout` if none arrives.
        """
        deadline = None if timeout is None else monotonic() + timeout
        delivered = False
        while True:
            if delivered:
                wait: float | None = 0
            elif deadline is None:
                wait = None
            else:
                wait = max(0.0, deadline - monotonic())
            try:
                receiver = self.session.next_receiver(timeout=wait)
                qpid_message = receiver.fetch(timeout=0)
            except QpidEmpty:
                if delivered:
                    return
                raise socket.timeout()
            connection._callbacks[receiver.source](qpid_message)
            delivered = True

    def register_with_event_loop(self, connection: Connection, loop: Any) -> None:
        """Have ``loop`` call :meth:`on_readable` when a message is ready."""
        loop.add_reader(self.r, self.on_readable, connection, loop)

    def on_readable(self, connection: Connection, loop: Any) -> None:
        """Consume one wake-up byte, then deliver whatever is ready."""
        try:
            os.read(self.r, 1)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                raise
        try:
            self.drain_events(connection)
        except socket.timeout:
            pass

    def _wake(self, symbol: bytes) -> None:
        if self._w is not None:
            os.write(self._w, symbol)

    def _qpid_message_ready_handler(self, session: Any) -> None:
        """Session callback (client thread): a message is ready."""
        self._wake(b'0')

    def _qpid_async_exception_notify_handler(self, obj_with_exception: Any, exc: Any) -> None:
        """Connection/session callback: an asynchronous error happened."""
        logger.warning('Qpid asynchronous error on %r: %r', obj_with_exception, exc)
        self._wake(b'e')


def _ssl_options(config: dict) -> dict:
    """``qpid.messaging`` SSL options from a kombu ``ssl`` dict."""
    options = {}
    for key, option in (('keyfile', 'ssl_keyfile'), ('certfile', 'ssl_certfile'),
                        ('ca_certs', 'ssl_trustfile')):
        if config.get(key):
            options[option] = config[key]
    if 'cert_reqs' in config:
        options['ssl_skip_hostname_check'] = config['cert_reqs'] != ssl.CERT_REQUIRED
    return options
