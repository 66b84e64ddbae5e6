"""Azure Service Bus Message Queue transport.

The transport can be enabled by setting the broker URL to::

    azureservicebus://{SAS policy name}:{SAS key}@{Service Bus Namespace}

The namespace is the short name (``mynamespace`` means
``mynamespace.servicebus.windows.net``) or a fully qualified host name.  The
Shared Access Policy needs the Manage, Send and Listen claims, since queues
are created and deleted as needed.  URL-quote a key that contains ``/``
(``%2F``), ``+`` or ``=``, or regenerate it.

Needs the ``azure-servicebus`` client (v7 SDK):
``pip install "kombu[azureservicebus]"``.

Transport options:

* ``queue_name_prefix`` (default ``''``): prepended to every queue name.
* ``peek_lock`` (default ``False``, :attr:`Channel.default_peek_lock`):
  receive in ``PEEK_LOCK`` mode: a message stays locked (invisible) on the
  broker until it is acked (completed), rejected (completed; or abandoned,
  i.e. made available again, with ``requeue=True``), or its lock runs out.
  Without it messages are received in ``RECEIVE_AND_DELETE`` mode and
  kombu itself puts unacked messages back when the channel closes.
* ``visibility_timeout`` (default ``1800`` seconds,
  :attr:`Channel.default_visibility_timeout`): with ``peek_lock``, how long
  a received message stays locked while it waits for its ack.  Queues are
  created with a lock duration of ``min(visibility_timeout, 300)`` (Service
  Bus' maximum) and longer timeouts are reached by renewing the lock
  (``azure.servicebus.AutoLockRenewer``).
* ``wait_time_seconds`` (default ``5``,
  :attr:`Channel.default_wait_time_seconds`): the longest one receive call
  waits for a message to arrive (long polling).  A poll of an empty queue
  takes that long, so keep it small when consuming from many queues; ``0``
  means a minimal wait (0.01 s: the SDK cannot return at once).
* ``polling_interval`` (default ``1``): seconds to wait between polling
  rounds that found nothing.
* ``connection_string``: a complete Service Bus connection string
  (``Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...``);
  when given, the URL's policy, key and namespace are not used.
* ``client_options`` (default ``{}``): extra keyword arguments for the
  SDK's ``ServiceBusClient`` (e.g. ``{'retry_total': 0}``); its
  ``retry_total`` (default 3) also applies to the administration client.

``Connection.connect()`` checks the namespace and credentials by reading the
namespace properties with the administration client (hence the Manage
claim).

How messages are stored: each message dict is JSON-encoded into the body of
one Service Bus message.  AMQP queue names become Service Bus queue names
through :meth:`Channel.entity_name` (punctuation other than ``_`` becomes
``_``; Service Bus allows letters, digits, ``.``, ``-``, ``_`` and ``/``, at
most 260 characters).  Service Bus queues have no fanout here: exchanges
are direct and topic.
"""
from __future__ import annotations

import json
import string
from datetime import timedelta
from typing import Any

from kombu.utils.imports import import_extra
from kombu.utils.objects import cached_property

from . import virtual
from .virtual.base import Empty

__all__ = ('Channel', 'Transport')

#: Punctuation except ``_`` -> ``_``.
PUNCTUATIONS_TO_REPLACE = set(string.punctuation) - {'_'}
CHARS_REPLACE_TABLE = {ord(c): ord('_') for c in PUNCTUATIONS_TO_REPLACE}

#: Longest lock duration Service Bus accepts for a queue (seconds).
MAX_LOCK_DURATION = 300

#: Shortest wait of one receive call (``wait_time_seconds=0`` uses it).
MIN_WAIT = 0.01


#: Key of the returned message dict that holds the received SDK message
#: (peek-lock mode); not part of the stored message.
_LOCK_KEY = '_azureservicebus_lock'


def _import_sdk() -> Any:
    purpose, library = 'The azureservicebus transport', 'azure-servicebus'
    import_extra('azure.servicebus.management', 'azureservicebus', purpose, library)
    return import_extra('azure.servicebus', 'azureservicebus', purpose, library)


def get_servicebus_error_classes() -> tuple[tuple, tuple, tuple]:
    """``(connection_errors, channel_errors, recoverable_connection_errors)`` for the SDK."""
    base_conn, base_chan = virtual.Transport.connection_errors, virtual.Transport.channel_errors
    try:
        from azure.core import exceptions as azexc
        from azure.servicebus import exceptions as sbexc
    except ImportError:  # pragma: no cover - depends on the environment
        return base_conn, base_chan, base_conn
    recoverable = base_conn + (
        sbexc.ServiceBusConnectionError, sbexc.ServiceBusCommunicationError,
        sbexc.OperationTimeoutError, sbexc.ServiceBusServerBusyError,
        azexc.ServiceRequestError, azexc.ServiceResponseError,
        ConnectionError, TimeoutError,
    )
    connection_errors = recoverable + (
        sbexc.ServiceBusAuthenticationError, sbexc.ServiceBusAuthorizationError,
        azexc.ClientAuthenticationError,
    )
    channel_errors = base_chan + (sbexc.ServiceBusError, azexc.HttpResponseError)
    return connection_errors, channel_errors, recoverable


def _body_text(received: Any) -> str:
    """The text of a received message's body (data sections joined)."""
    body = received.body
    if isinstance(body, str):
        return body
    if not isinstance(body, (bytes, bytearray)):
        body = b''.join(body)
    return bytes(body).decode('utf-8')


class Channel(virtual.Channel):
    """Azure Service Bus channel."""

    default_wait_time_seconds: int = 5
    default_peek_lock: bool = False
    default_visibility_timeout: int = 1800

    domain_format = 'kombu%(vhost)s'

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._senders: dict[str, Any] = {}
        self._receivers: dict[str, Any] = {}
        self._known_queues: set[str] = set()
        self._lock_renewer: Any = None
        self.queue_service  # noqa: B018 - validate settings, create the client now

    # -- options ------------------------------------------------------------

    @cached_property
    def queue_name_prefix(self) -> str:
        """Prefix added to every queue name (``transport_options['queue_name_prefix']``)."""
        return self.transport_options.get('queue_name_prefix', '')

    @cached_property
    def peek_lock(self) -> bool:
        """Receive in peek-lock mode (``transport_options['peek_lock']``)."""
        return bool(self.transport_options.get('peek_lock', self.default_peek_lock))

    @cached_property
    def visibility_timeout(self) -> float:
        """Seconds a peek-locked message stays locked awaiting its ack."""
        value = self.transport_options.get('visibility_timeout',
                                           self.default_visibility_timeout)
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = -1
        if value <= 0:
            raise ValueError(
                f'azureservicebus: visibility_timeout must be a positive number of seconds, '
                f'got {self.transport_options.get("visibility_timeout")!r}')
        return value

    @cached_property
    def wait_time_seconds(self) -> float:
        """Longest wait of one receive call (``transport_options['wait_time_seconds']``)."""
        value = self.transport_options.get('wait_time_seconds',
                                           self.default_wait_time_seconds)
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = -1
        if value < 0:
            raise ValueError(
                f'azureservicebus: wait_time_seconds must be >= 0, '
                f'got {self.transport_options.get("wait_time_seconds")!r}')
        return value

    def _connection_string(self) -> str:
        options = self.transport_options
        conn_str = options.get('connection_string')
        if conn_str:
            return conn_str
        client = self.conninfo
        namespace, policy, key = client.hostname, client.userid, client.password
        if not namespace or not policy or not key:
            raise ValueError(
                'azureservicebus: the URL must name the SAS policy, its key and the '
                'namespace: azureservicebus://SAS_POLICY_NAME:SAS_KEY@NAMESPACE (got '
                f'namespace {namespace!r}, policy {policy!r}, key '
                f'{"set" if key else "missing"}), or set '
                "transport_options['connection_string']")
        if '.' not in namespace:
            namespace = f'{namespace}.servicebus.windows.net'
        return (f'Endpoint=sb://{namespace}/;SharedAccessKeyName={policy};'
                f'SharedAccessKey={key}')

    @cached_property
    def queue_service(self) -> Any:
        """The SDK's ``ServiceBusClient`` (send and receive)."""
        sdk = _import_sdk()
        options = dict(self.transport_options.get('client_options') or {})
        return sdk.ServiceBusClient.from_connection_string(self._connection_string(), **options)

    @cached_property
    def queue_mgmt_service(self) -> Any:
        """The SDK's ``ServiceBusAdministrationClient`` (create/delete/size queues)."""
        sdk = _import_sdk()
        options = self.transport_options.get('client_options') or {}
        return sdk.management.ServiceBusAdministrationClient.from_connection_string(
            self._connection_string(), retry_total=options.get('retry_total', 3),
            retry_backoff_max=10)

    # -- names --------------------------------------------------------------

    def entity_name(self, name: str, table: dict = CHARS_REPLACE_TABLE) -> str:
        """Format AMQP queue name into a valid ServiceBus queue name."""
        return str(name).translate(table)

    def _azure_name(self, queue: str) -> str:
        return self.queue_name_prefix + self.entity_name(queue)

    # -- SDK handles --------------------------------------------------------

    def _sender(self, queue: str) -> Any:
        sender = self._senders.get(queue)
        if sender is None:
            sender = self.queue_service.get_queue_sender(self._azure_name(queue))
            self._senders[queue] = sender
        return sender

    def _receiver(self, queue: str) -> Any:
        receiver = self._receivers.get(queue)
        if receiver is None:
            from azure.servicebus import ServiceBusReceiveMode
            mode = (ServiceBusReceiveMode.PEEK_LOCK if self.peek_lock
                    else ServiceBusReceiveMode.RECEIVE_AND_DELETE)
            receiver = self.queue_service.get_queue_receiver(
                self._azure_name(queue), receive_mode=mode,
                max_wait_time=self._receive_wait(self.wait_time_seconds))
            self._receivers[queue] = receiver
        return receiver

    @staticmethod
    def _receive_wait(seconds: float) -> float:
        """The SDK's ``max_wait_time``: it must be > 0 (``None`` waits forever)."""
        return max(float(seconds), MIN_WAIT)

    def _renewer(self) -> Any:
        if self._lock_renewer is None:
            from azure.servicebus import AutoLockRenewer
            self._lock_renewer = AutoLockRenewer(
                max_lock_renewal_duration=self.visibility_timeout)
        return self._lock_renewer

    # -- primitives ---------------------------------------------------------

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        from azure.core.exceptions import ResourceExistsError
        if queue in self._known_queues:
            return
        name = self._azure_name(queue)
        lock = min(self.visibility_timeout, MAX_LOCK_DURATION)
        try:
            self.queue_mgmt_service.create_queue(name, lock_duration=timedelta(seconds=lock))
        except ResourceExistsError:
            pass
        self._known_queues.add(queue)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        from azure.core.exceptions import ResourceNotFoundError
        try:
            self.queue_mgmt_service.get_queue(self._azure_name(queue))
        except ResourceNotFoundError:
            self._known_queues.discard(queue)
            return False
        return True

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        from azure.servicebus import ServiceBusMessage
        from azure.servicebus.exceptions import MessagingEntityNotFoundError
        data = ServiceBusMessage(json.dumps(message))
        try:
            self._sender(queue).send_messages(data)
        except MessagingEntityNotFoundError:
            # the queue was deleted behind our back: create it again and retry
            self._drop_handles(queue)
            self._new_queue(queue)
            self._sender(queue).send_messages(data)

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        from azure.servicebus.exceptions import MessagingEntityNotFoundError
        receiver = self._receiver(queue)
        wait = self._receive_wait(self.wait_time_seconds if timeout is None else timeout)
        try:
            messages = receiver.receive_messages(max_message_count=1, max_wait_time=wait)
        except MessagingEntityNotFoundError:
            self._drop_handles(queue)
            raise Empty()
        if not messages:
            raise Empty()
        received = messages[0]
        payload = json.loads(_body_text(received))
        if self.peek_lock:
            if self.visibility_timeout > MAX_LOCK_DURATION:
                self._renewer().register(receiver, received)
            payload[_LOCK_KEY] = (receiver, received)
        return payload

    def _size(self, queue: str) -> int:
        from azure.core.exceptions import ResourceNotFoundError
        try:
            props = self.queue_mgmt_service.get_queue_runtime_properties(
                self._azure_name(queue))
        except ResourceNotFoundError:
            return 0
        return int(props.active_message_count or 0)

    def _purge(self, queue: str) -> int:
        """Receive-and-delete every message ready in the queue; return how many."""
        from azure.servicebus import ServiceBusReceiveMode
        from azure.servicebus.exceptions import MessagingEntityNotFoundError
        count = 0
        try:
            with self.queue_service.get_queue_receiver(
                    self._azure_name(queue),
                    receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE,
                    max_wait_time=1) as receiver:
                while True:
                    messages = receiver.receive_messages(max_message_count=100,
                                                         max_wait_time=1)
                    if not messages:
                        break
                    count += len(messages)
        except MessagingEntityNotFoundError:
            return 0
        return count

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        from azure.core.exceptions import ResourceNotFoundError
        self._drop_handles(queue)
        try:
            self.queue_mgmt_service.delete_queue(self._azure_name(queue))
        except ResourceNotFoundError:
            pass

    def _drop_handles(self, queue: str) -> None:
        self._known_queues.discard(queue)
        for handles in (self._senders, self._receivers):
            handle = handles.pop(queue, None)
            if handle is not None:
                try:
                    handle.close()
                except Exception:  # pragma: no cover - best effort
                    pass

    # -- peek-lock settlement -----------------------------------------------

    @staticmethod
    def _pop_lock(message: Any) -> Any:
        raw = getattr(message, '_raw', None)
        if isinstance(raw, dict):
            return raw.pop(_LOCK_KEY, None)
        return None

    def _settle(self, message: Any, how: str) -> bool:
        """Complete or abandon a peek-locked message; False if it holds no lock."""
        lock = self._pop_lock(message)
        if lock is None:
            return False
        receiver, received = lock
        if how == 'complete':
            receiver.complete_message(received)
        else:
            receiver.abandon_message(received)
        return True

    def _deliver(self, raw_message: dict, queue: str) -> None:
        tags = self._queue_consumers.get(queue)
        if _LOCK_KEY in raw_message:
            no_ack = bool(tags) and self._consumer_callbacks[tags[0]][1]
            if not tags or no_ack:
                # nobody will ack it: settle on the broker now
                receiver, received = raw_message.pop(_LOCK_KEY)
                if tags:
                    receiver.complete_message(received)
                else:
                    receiver.abandon_message(received)
                    return
        super()._deliver(raw_message, queue)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        message = super().basic_get(queue, no_ack, **kwargs)
        if message is not None and no_ack:
            self._settle(message, 'complete')
        return message

    def _on_ack(self, messages: list) -> None:
        """Acked: complete the peek-locked messages."""
        self._settle_each(messages, lambda message: self._settle(message, 'complete'))

    def _on_reject(self, messages: list, requeue: bool) -> None:
        """Rejected: completed like acked ones (a requeue was abandoned by :meth:`_restore`)."""
        if not requeue:
            self._on_ack(messages)

    def _restore(self, message: Any) -> None:
        """Put an unacked message back: abandon its lock, or re-send it."""
        if not self._settle(message, 'abandon'):
            super()._restore(message)

    # -- cleanup ------------------------------------------------------------

    def close(self) -> None:
        super().close()
        handles = [*self._senders.values(), *self._receivers.values()]
        self._senders, self._receivers = {}, {}
        if self._lock_renewer is not None:
            handles.append(self._lock_renewer)
            self._lock_renewer = None
        for name in ('queue_service', 'queue_mgmt_service'):
            service = self.__dict__.pop(name, None)
            if service is not None:
                handles.append(service)
        for handle in handles:
            try:
                handle.close()
            except Exception:  # pragma: no cover - best effort
                pass


class Transport(virtual.Transport):
    """Azure Service Bus transport."""

    Channel = Channel

    polling_interval = 1
    default_port = None

    driver_type = 'azureservicebus'
    driver_name = 'azure-servicebus'

    connection_errors, channel_errors, recoverable_connection_errors = \
        virtual.Transport.connection_errors, virtual.Transport.channel_errors, \
        virtual.Transport.connection_errors
    recoverable_channel_errors: tuple = ()

    def __init__(self, client: Any, **kwargs: Any) -> None:
        _import_sdk()
        super().__init__(client, **kwargs)
        (self.connection_errors, self.channel_errors,
         self.recoverable_connection_errors) = get_servicebus_error_classes()

    def establish_connection(self) -> Transport:
        """Check the namespace and credentials (raises one of ``connection_errors``)."""
        conn = super().establish_connection()
        channel = self.create_channel(self)
        try:
            channel.queue_mgmt_service.get_namespace_properties()
        finally:
            self.close_channel(channel)
        return conn

    def driver_version(self) -> str:
        try:
            from azure.servicebus import __version__
            return __version__
        except ImportError:  # pragma: no cover
            return 'N/A'
