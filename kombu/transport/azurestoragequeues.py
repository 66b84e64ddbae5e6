"""Azure Storage Queues transport.

The transport can be enabled by setting the broker URL to::

    azurestoragequeues://:{Storage Account Access Key}@{Storage Account Name}

The access key is the URL's password; URL-quote it (``/`` is ``%2F``, ``+``
is ``%2B``, ``=`` is ``%3D``) or regenerate a key without a slash.  The
account's queue endpoint is ``https://{account}.queue.core.windows.net``.

Needs the ``azure-storage-queue`` client (v12 SDK):
``pip install "kombu[azurestoragequeues]"``.

Transport options:

* ``queue_name_prefix`` (default ``''``): prepended to every queue name.
* ``polling_interval`` (default ``1``): seconds to wait between polls of
  empty queues.
* ``visibility_timeout`` (default ``1800``, :attr:`Channel.default_visibility_timeout`):
  seconds a received message stays invisible to other consumers while it
  waits for its acknowledgement (whole seconds, 1 to 604800; a fraction is
  rounded up).  If a consumer dies without acking, its messages are not
  lost: they reappear in the queue when this time is up.  A message not
  acked within this time is delivered again (maybe to another consumer).
* ``queue_service_url``: the queue endpoint to use instead of the public
  one, e.g. an emulator: ``'http://127.0.0.1:10001/devstoreaccount1'``
  (Azurite).  The account key from the URL is the credential.
* ``connection_string``: a complete Azure Storage connection string
  (``DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...;
  QueueEndpoint=...``); when given, the URL's account and key are not used.
* ``client_options`` (default ``{}``): extra keyword arguments for the
  SDK's ``QueueServiceClient`` (e.g. ``{'retry_total': 0}``,
  ``{'retry_policy': ...}``, ``{'read_timeout': 30}``).  By default the SDK
  retries 3 times, 1 second apart (kombu's ``Connection.ensure`` does the
  longer retrying); ``Connection(connect_timeout=...)`` sets its
  ``connection_timeout``.
* ``credential``: any credential object the SDK accepts (e.g. an
  ``azure.identity`` token credential or a SAS string), used instead of
  the URL's account key.

How messages are stored: each message dict is JSON-encoded, then XML-escaped
(``&``, ``<``, ``>`` become ``&amp;``, ``&lt;``, ``&gt;``, as the older SDK
used by Kombu 4.x did), into the text of one Storage Queue message, so
messages stored by either version are read by the other.  AMQP queue names
become Storage Queue names through :meth:`Channel.entity_name` (punctuation
becomes ``-``), lower-cased, with runs of ``-`` collapsed, because Azure
accepts only ``[a-z0-9-]``, 3 to 63 characters; longer names are shortened
with a hash suffix.
Storage Queues have no fanout: exchanges are direct and topic.

Acknowledgement (at-least-once): a message is received with the
``visibility_timeout`` and stays in Azure, hidden, until it is settled.  Its
id and pop receipt travel with the delivered message.  ``ack()`` and
``reject()`` delete it from Azure; ``requeue()``, ``basic_recover(requeue=True)``
and closing the channel with it unacked make it visible again at once (and if
that call fails, it reappears when the timeout lapses).  A consumer that
crashes before acking loses nothing: the message comes back after the
timeout.  Consumers with ``no_ack=True`` and ``basic_get(no_ack=True)`` delete
it when it is received (at-most-once, as asked).  ``delivery_info['redelivered']``
is true when Azure has handed the message out before (its dequeue count).
An ack that comes after the timeout has lapsed and the message was received
again (pop receipt no longer valid) is logged and ignored: the message stays
and is processed again.  A Storage Queue message that is not a kombu message
(not JSON) is logged and left in the queue.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import string
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import unescape as xml_unescape

from kombu.log import get_logger
from kombu.utils.imports import import_extra
from kombu.utils.objects import cached_property

from . import virtual
from .virtual.base import Empty

__all__ = ('Channel', 'Transport')

logger = get_logger(__name__)

#: Punctuation -> '-' (Storage Queue names are ``[a-z0-9-]``).
CHARS_REPLACE_TABLE = {ord(c): ord('-') for c in string.punctuation}

_MAX_NAME = 63
_MIN_NAME = 3
_DASHES = re.compile('-{2,}')
_INVALID = re.compile('[^a-z0-9-]')


#: Longest visibility timeout Azure accepts (seconds, 7 days).
MAX_VISIBILITY_TIMEOUT = 7 * 24 * 3600

#: Key of a received message dict that holds ``(queue, message id, pop receipt)``
#: of the Azure message (not part of the stored message).
_RECEIPT_KEY = '_azurestoragequeues_receipt'

W_ACK_LATE = ('azurestoragequeues: could not delete message %s from queue %r: %s '
              '(its visibility_timeout of %ss lapsed before the ack, so it was '
              'received again, or it is gone); it may be processed again')
W_RELEASE = ('azurestoragequeues: could not make message %s of queue %r visible '
             'again: %r; it reappears when its visibility timeout lapses')


def _decode_text(content: str) -> str:
    """The JSON text of a stored message (stored XML-escaped, see the module docs)."""
    return xml_unescape(content) if '&' in content else content


def _import_sdk() -> Any:
    return import_extra('azure.storage.queue', 'azurestoragequeues',
                        'The azurestoragequeues transport', library='azure-storage-queue')


def get_azure_error_classes() -> tuple[tuple, tuple, tuple]:
    """``(connection_errors, channel_errors, recoverable_connection_errors)`` for the SDK."""
    base_conn, base_chan = virtual.Transport.connection_errors, virtual.Transport.channel_errors
    try:
        from azure.core import exceptions as azexc
    except ImportError:  # pragma: no cover - depends on the environment
        return base_conn, base_chan, base_conn
    recoverable = base_conn + (azexc.ServiceRequestError, azexc.ServiceResponseError,
                               ConnectionError, TimeoutError)
    connection_errors = recoverable + (azexc.ClientAuthenticationError,)
    channel_errors = base_chan + (azexc.HttpResponseError,)
    return connection_errors, channel_errors, recoverable


def _error_code(exc: Exception) -> str:
    """The Azure error code of an SDK error (its class name if it has none)."""
    code = getattr(exc, 'error_code', None)
    return str(getattr(code, 'value', code) or type(exc).__name__)


class Channel(virtual.Channel):
    """Azure Storage Queues channel."""

    domain_format = 'kombu%(vhost)s'

    #: The documented value, kept for compatibility.  The engine does not read
    #: it: messages stay in Azure (invisible) until acked; see the module docs.
    no_ack = True

    #: Default of ``transport_options['visibility_timeout']`` (seconds).
    default_visibility_timeout: int = 1800

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue_clients: dict[str, Any] = {}
        self._known_queues: set[str] = set()
        self.queue_service  # noqa: B018 - validate settings, create the client now
        self.visibility_timeout  # noqa: B018 - validate it now

    # -- options ------------------------------------------------------------

    @cached_property
    def queue_name_prefix(self) -> str:
        """Prefix added to every queue name (``transport_options['queue_name_prefix']``)."""
        return self.transport_options.get('queue_name_prefix', '')

    @cached_property
    def visibility_timeout(self) -> int:
        """Seconds a received, unacked message stays hidden (``transport_options``)."""
        raw = self.transport_options.get('visibility_timeout')
        if raw is None:
            return self.default_visibility_timeout
        try:
            value = math.ceil(float(raw)) if not isinstance(raw, bool) else 0
        except (TypeError, ValueError, OverflowError):
            value = 0
        if not 1 <= value <= MAX_VISIBILITY_TIMEOUT:
            raise ValueError(
                'azurestoragequeues: visibility_timeout must be a number of seconds '
                f'from 1 to {MAX_VISIBILITY_TIMEOUT}, got {raw!r}')
        return value

    @cached_property
    def queue_service(self) -> Any:
        """The SDK's ``QueueServiceClient`` for the account."""
        sdk = _import_sdk()
        options = self.transport_options
        client_options = self._client_options(sdk)
        conn_str = options.get('connection_string')
        if conn_str:
            return sdk.QueueServiceClient.from_connection_string(conn_str, **client_options)
        account = self.conninfo.hostname
        credential = options.get('credential')
        if credential is None:
            key = self.conninfo.password
            if not account or not key:
                raise ValueError(
                    'azurestoragequeues: the URL must name the account and its key: '
                    'azurestoragequeues://:ACCOUNT_ACCESS_KEY@ACCOUNT_NAME '
                    f'(got account {account!r}, key {"set" if key else "missing"}), or set '
                    "transport_options['connection_string']")
            credential = {'account_name': account, 'account_key': key}
        url = options.get('queue_service_url')
        if not url:
            if not account:
                raise ValueError(
                    'azurestoragequeues: no storage account name in the URL and no '
                    "transport_options['queue_service_url']")
            url = f'https://{account}.queue.core.windows.net'
        return sdk.QueueServiceClient(account_url=url, credential=credential, **client_options)

    def _client_options(self, sdk: Any) -> dict:
        """Keyword arguments for the SDK client (retries, timeouts)."""
        options: dict = {
            'retry_policy': sdk.LinearRetry(backoff=1, random_jitter_range=1, retry_total=3),
        }
        connect_timeout = getattr(self.conninfo, 'connect_timeout', None)
        if connect_timeout:
            options['connection_timeout'] = connect_timeout
        options.update(self.transport_options.get('client_options') or {})
        if 'retry_total' in options and 'retry_policy' not in (
                self.transport_options.get('client_options') or {}):
            total = options.pop('retry_total')
            options['retry_policy'] = sdk.LinearRetry(
                backoff=1, random_jitter_range=1, retry_total=total)
        return options

    # -- names --------------------------------------------------------------

    def entity_name(self, name: str, table: dict = CHARS_REPLACE_TABLE) -> str:
        """Format AMQP queue name into a valid Azure Storage Queue name."""
        return str(name).translate(table)

    def _azure_name(self, queue: str) -> str:
        """The Storage Queue name used for AMQP queue ``queue``.

        :meth:`entity_name` of the prefixed name, lower-cased; when Azure's
        rules (``[a-z0-9-]``, no ``--``, 3-63 characters) need more changes,
        the name is cut and a hash of the original is appended, so that
        different names stay different.
        """
        raw = (self.queue_name_prefix + self.entity_name(queue)).lower()
        name = _DASHES.sub('-', _INVALID.sub('-', raw)).strip('-')
        if name != raw or len(name) > _MAX_NAME or len(name) < _MIN_NAME:
            digest = hashlib.sha1(raw.encode('utf-8')).hexdigest()[:10]
            name = f'{name[:_MAX_NAME - 11].rstrip("-")}-{digest}'.strip('-')
        return name

    def _client(self, queue: str) -> Any:
        client = self._queue_clients.get(queue)
        if client is None:
            client = self.queue_service.get_queue_client(self._azure_name(queue))
            self._queue_clients[queue] = client
        return client

    # -- primitives ---------------------------------------------------------

    def _new_queue(self, queue: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ResourceExistsError
        client = self._client(queue)
        if queue not in self._known_queues:
            try:
                client.create_queue()
            except ResourceExistsError:
                pass
            self._known_queues.add(queue)
        return client

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        from azure.core.exceptions import ResourceNotFoundError
        try:
            self._client(queue).get_queue_properties()
        except ResourceNotFoundError:
            self._known_queues.discard(queue)
            return False
        return True

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        from azure.core.exceptions import ResourceNotFoundError
        if _RECEIPT_KEY in message:
            message = {k: v for k, v in message.items() if k != _RECEIPT_KEY}
        # XML-escaped text, as Kombu 4.x stored it (the old SDK's text_xmlencode)
        data = xml_escape(json.dumps(message))
        try:
            self._client(queue).send_message(data)
        except ResourceNotFoundError:
            # the queue was deleted behind our back: create it again and retry
            self._known_queues.discard(queue)
            self._new_queue(queue).send_message(data)

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        from azure.core.exceptions import ResourceNotFoundError
        client = self._client(queue)
        try:
            message = client.receive_message(visibility_timeout=self.visibility_timeout)
        except ResourceNotFoundError:
            raise Empty()
        if message is None:
            raise Empty()
        try:
            payload = json.loads(_decode_text(message.content))
            if (message.dequeue_count or 0) > 1:
                props = payload['properties']
                props['delivery_info'] = {**(props.get('delivery_info') or {}),
                                          'redelivered': True}
        except Exception:
            # not a kombu message: let it reappear (for other readers) after the timeout
            logger.error('azurestoragequeues: cannot decode message %s of queue %r; '
                         'left in the queue', message.id, queue, exc_info=True)
            raise Empty()
        payload[_RECEIPT_KEY] = (queue, message.id, message.pop_receipt)
        return payload

    def _size(self, queue: str) -> int:
        from azure.core.exceptions import ResourceNotFoundError
        try:
            props = self._client(queue).get_queue_properties()
        except ResourceNotFoundError:
            return 0
        return int(props.approximate_message_count or 0)

    def _purge(self, queue: str) -> int:
        from azure.core.exceptions import ResourceNotFoundError
        size = self._size(queue)
        try:
            self._client(queue).clear_messages()
        except ResourceNotFoundError:
            return 0
        return size

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        from azure.core.exceptions import ResourceNotFoundError
        self._known_queues.discard(queue)
        try:
            self._client(queue).delete_queue()
        except ResourceNotFoundError:
            pass
        self._queue_clients.pop(queue, None)

    # -- consuming ----------------------------------------------------------

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> str:
        """Consume from queue.

        With ``no_ack=False`` a message stays in Azure, hidden for
        ``visibility_timeout`` seconds, until it is acked (deleted) or
        requeued/restored (visible again); with ``no_ack=True`` it is
        deleted from Azure when received.
        """
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    # -- settlement of received messages ------------------------------------

    @staticmethod
    def _pop_receipt(message: Any) -> tuple | None:
        """Take ``(queue, message id, pop receipt)`` off a delivered message (or None)."""
        raw = getattr(message, '_raw', message)
        if isinstance(raw, dict):
            return raw.pop(_RECEIPT_KEY, None)
        return None

    def _delete_received(self, receipt: tuple) -> None:
        """Delete a received message from Azure (its ack).

        A stale pop receipt (the message was received again after its
        visibility timeout) or a message/queue that is gone is logged, not
        raised: the ack cannot be done, and nothing is lost.
        """
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
        queue, message_id, pop_receipt = receipt
        try:
            self._client(queue).delete_message(message_id, pop_receipt)
        except ResourceNotFoundError as exc:
            logger.warning(W_ACK_LATE, message_id, queue, _error_code(exc),
                           self.visibility_timeout)
        except HttpResponseError as exc:
            if 'popreceipt' not in _error_code(exc).replace('_', '').lower():
                raise
            logger.warning(W_ACK_LATE, message_id, queue, _error_code(exc),
                           self.visibility_timeout)

    def _release_received(self, receipt: tuple) -> None:
        """Make a received message visible again now (never raises).

        If Azure cannot be told, the message reappears by itself when its
        visibility timeout lapses.
        """
        queue, message_id, pop_receipt = receipt
        try:
            self._client(queue).update_message(message_id, pop_receipt,
                                               visibility_timeout=0)
        except Exception as exc:
            logger.warning(W_RELEASE, message_id, queue, exc)

    def _settle(self, message: Any, delete: bool) -> None:
        receipt = self._pop_receipt(message)
        if receipt is not None:
            if delete:
                self._delete_received(receipt)
            else:
                self._release_received(receipt)

    def _deliver(self, raw_message: dict, queue: str) -> None:
        tags = self._queue_consumers.get(queue)
        if _RECEIPT_KEY in raw_message:
            if not tags:
                # nobody to hand it to: make it visible again rather than re-send it
                logger.warning('azurestoragequeues: no consumer for queue %r; '
                               'message made visible again', queue)
                self._release_received(raw_message.pop(_RECEIPT_KEY))
                return
            if self._consumer_callbacks[tags[0]][1]:
                # a no_ack consumer: it is acked on receipt
                self._delete_received(raw_message.pop(_RECEIPT_KEY))
        super()._deliver(raw_message, queue)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        """Get one message; with ``no_ack`` it is deleted from Azure at once."""
        message = super().basic_get(queue, no_ack, **kwargs)
        if message is not None and no_ack:
            self._settle(message, delete=True)
        return message

    def _on_ack(self, messages: list) -> None:
        """Acked: delete the messages from Azure (one not deleted comes back later)."""
        self._settle_each(messages, lambda message: self._settle(message, delete=True))

    def _on_reject(self, messages: list, requeue: bool) -> None:
        """Rejected: deleted like acked ones (a requeue was made visible by :meth:`_restore`)."""
        if not requeue:
            self._on_ack(messages)

    def _restore(self, message: Any) -> None:
        """Put an unacked message back: make it visible in Azure again at once."""
        receipt = self._pop_receipt(message)
        if receipt is None:
            super()._restore(message)
        else:
            self._release_received(receipt)

    def close(self) -> None:
        super().close()
        clients, self._queue_clients = self._queue_clients, {}
        service = self.__dict__.pop('queue_service', None)
        for client in [*clients.values(), service]:
            if client is not None:
                try:
                    client.close()
                except Exception:  # pragma: no cover - best effort
                    pass


class Transport(virtual.Transport):
    """Azure Storage Queues transport."""

    Channel = Channel

    polling_interval = 1
    default_port = None

    driver_type = 'azurestoragequeues'
    driver_name = 'azure-storage-queue'

    connection_errors, channel_errors, recoverable_connection_errors = \
        virtual.Transport.connection_errors, virtual.Transport.channel_errors, \
        virtual.Transport.connection_errors
    recoverable_channel_errors: tuple = ()

    def __init__(self, client: Any, **kwargs: Any) -> None:
        _import_sdk()
        super().__init__(client, **kwargs)
        (self.connection_errors, self.channel_errors,
         self.recoverable_connection_errors) = get_azure_error_classes()

    def establish_connection(self) -> Transport:
        """Check that the account answers (raises one of ``connection_errors`` if not)."""
        conn = super().establish_connection()
        channel = self.create_channel(self)
        try:
            next(iter(channel.queue_service.list_queues(results_per_page=1)), None)
        finally:
            self.close_channel(channel)
        return conn

    def driver_version(self) -> str:
        try:
            return _import_sdk().__version__
        except (ImportError, AttributeError):  # pragma: no cover
            return 'N/A'
