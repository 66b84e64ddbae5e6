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

How messages are stored: each message dict is JSON-encoded into the text of
one Storage Queue message.  AMQP queue names become Storage Queue names
through :meth:`Channel.entity_name` (punctuation becomes ``-``), lower-cased,
with runs of ``-`` collapsed, because Azure accepts only ``[a-z0-9-]``,
3 to 63 characters; longer names are shortened with a hash suffix.  A
message is deleted from Azure as soon as it is received (Storage Queues
have no broker-side acknowledgement here, hence ``Channel.no_ack``); kombu
keeps unacknowledged messages and sends them back to the queue when the
channel closes or when they are rejected with ``requeue=True``.  Storage
Queues have no fanout: exchanges are direct and topic.
"""
from __future__ import annotations

import hashlib
import json
import re
import string
from typing import Any

from kombu.utils.objects import cached_property

from . import virtual
from .virtual.base import Empty

__all__ = ('Channel', 'Transport')

#: Punctuation -> '-' (Storage Queue names are ``[a-z0-9-]``).
CHARS_REPLACE_TABLE = {ord(c): ord('-') for c in string.punctuation}

_MAX_NAME = 63
_MIN_NAME = 3
_DASHES = re.compile('-{2,}')
_INVALID = re.compile('[^a-z0-9-]')

EXTRA_HINT = 'pip install "kombu[azurestoragequeues]"'


def _import_sdk() -> Any:
    try:
        import azure.storage.queue as sdk
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'The azurestoragequeues transport needs the azure-storage-queue library: '
            f'{EXTRA_HINT}') from exc
    return sdk


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


class Channel(virtual.Channel):
    """Azure Storage Queues channel."""

    domain_format = 'kombu%(vhost)s'

    #: Messages are deleted from Azure when received (acks are local).
    no_ack = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue_clients: dict[str, Any] = {}
        self._known_queues: set[str] = set()
        self.queue_service  # noqa: B018 - validate settings, create the client now

    # -- options ------------------------------------------------------------

    @property
    def conninfo(self) -> Any:
        """The :class:`kombu.Connection` this channel belongs to."""
        return self.connection.client

    @property
    def transport_options(self) -> dict:
        return getattr(self.conninfo, 'transport_options', None) or {}

    @cached_property
    def queue_name_prefix(self) -> str:
        """Prefix added to every queue name (``transport_options['queue_name_prefix']``)."""
        return self.transport_options.get('queue_name_prefix', '')

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
        data = json.dumps(message)
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
            message = client.receive_message()
        except ResourceNotFoundError:
            raise Empty()
        if message is None:
            raise Empty()
        client.delete_message(message)
        return json.loads(message.content)

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

        Messages are deleted from Azure when received whatever ``no_ack`` is;
        with ``no_ack=False`` kombu keeps them until acked and sends
        unacked ones back to the queue when the channel closes.
        """
        return super().basic_consume(queue, no_ack, *args, **kwargs)

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
