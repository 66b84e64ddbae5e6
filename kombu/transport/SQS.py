"""Amazon SQS Transport.

A virtual transport on Amazon SQS (boto3 for the synchronous calls; the
asynchronous client in :mod:`kombu.asynchronous.aws.sqs` on an event loop).

* Connection URL: ``sqs://aws_access_key_id:aws_secret_access_key@``; with no
  credentials boto3's default chain applies (environment, config files, IAM role).
  A host in the URL (``sqs://key:secret@localhost:4566``) is the endpoint,
  over ``http`` unless the ``is_secure`` transport option is true.
* Queue names are made SQS-safe by :meth:`Channel.entity_name`: ``.`` becomes
  ``-`` and other punctuation ``_`` (a ``.fifo`` suffix is kept); the
  ``queue_name_prefix`` transport option is prepended.
* Message dicts travel as base64-encoded JSON in the SQS message body.
* Long polling: ``wait_time_seconds`` (default 10, at most 20) is how long one
  ReceiveMessage call may wait while the transport waits for messages; a
  consumed queue is fetched up to 10 messages per call (within the prefetch
  window) and handed to the engine one at a time.
* Ack deletes the SQS message; ``reject(requeue=True)``, ``recover`` and
  closing a channel with unacked messages make them visible again at once
  (ChangeMessageVisibility 0); ``reject()`` without requeue deletes it.
* FIFO queues (names ending in ``.fifo``) get ``MessageGroupId`` (message
  property ``MessageGroupId``, default ``'default'``) and
  ``MessageDeduplicationId`` (property ``MessageDeduplicationId``, default a
  fresh uuid).

Transport options: ``region`` (default ``us-east-1``), ``endpoint_url``,
``is_secure``, ``port``, ``visibility_timeout`` (given to queues the transport
creates; default 1800), ``wait_time_seconds``, ``polling_interval``,
``queue_name_prefix``, ``client-config`` (a :class:`botocore.config.Config`
or its keyword arguments, e.g. retries/timeouts), ``aws_session_token``,
``predefined_queues`` (``{name: {'url': ...}}``: only these queues are used,
none is created), ``sqs-creation-attributes`` (extra CreateQueue attributes),
``regioninfo`` (kept for compatibility, unused).

SQS has no fanout: ``supports_fanout`` is False and bindings live in this
process only (``implements.exchange_type`` is ``{'direct'}``).
"""
from __future__ import annotations

import base64
import binascii
import socket
import uuid
from collections import deque
from time import monotonic, sleep
from typing import Any

from amqp.exceptions import ChannelError, ConnectionError

from kombu.asynchronous.aws.ext import BotoCoreError, ClientError, require_boto3
from kombu.log import get_logger
from kombu.utils.encoding import bytes_to_str, safe_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

from . import virtual
from .virtual.base import BrokerState, Empty, _not_found

__all__ = ('Channel', 'Transport', 'CHARS_REPLACE_TABLE')

logger = get_logger(__name__)

# dots are replaced by dash, all other punctuation replaced by underscore.
CHARS_REPLACE_TABLE = {
    ord(c): 0x5f for c in '!"#$%&\'()*+,/:;<=>?@[\\]^`{|}~'
}
CHARS_REPLACE_TABLE[ord('.')] = 0x2d

#: Most messages one ReceiveMessage call can return.
SQS_MAX_MESSAGES = 10
#: Longest long-poll SQS accepts (seconds).
SQS_MAX_WAIT = 20

_QUEUE_MISSING = ('AWS.SimpleQueueService.NonExistentQueue', 'QueueDoesNotExist',
                  'NonExistentQueue')


def _error_code(exc: Exception) -> str:
    return (getattr(exc, 'response', None) or {}).get('Error', {}).get('Code', '') or ''


def _queue_missing(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and _error_code(exc) in _QUEUE_MISSING


class Channel(virtual.Channel):
    """SQS Channel."""

    default_region = 'us-east-1'
    default_visibility_timeout = 1800  # 30 minutes.
    default_wait_time_seconds = 10  # up to 20 seconds max
    domain_format = 'kombu%(vhost)s'

    _asynsqs: Any = None
    _sqs: Any = None
    #: Set while the event loop delivers: ``_get`` takes from the buffer only.
    _buffer_only = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        require_boto3()
        super().__init__(*args, **kwargs)
        #: SQS queue name -> queue URL.
        self._queue_cache: dict[str, str] = {}
        #: Kombu queue names consumed with no_ack (messages deleted on receipt).
        self._noack_queues: set = set()
        #: Kombu queue name -> deque of fetched, not yet delivered message dicts.
        self._buffers: dict[str, deque] = {}
        if self.predefined_queues:
            for name, options in self.predefined_queues.items():
                try:
                    self._queue_cache[self.entity_name(name)] = options['url']
                except (KeyError, TypeError):
                    raise ValueError(
                        f'predefined_queues[{name!r}] must be a dict with a "url" key, '
                        f'got {options!r}') from None

    # -- names -------------------------------------------------------------

    def entity_name(self, name: str, table: dict = CHARS_REPLACE_TABLE) -> str:
        """Format AMQP queue name into a legal SQS queue name."""
        name = safe_str(name)
        if name.endswith('.fifo'):
            return name[:-5].translate(table) + '.fifo'
        return name.translate(table)

    def canonical_queue_name(self, queue_name: str) -> str:
        return self.entity_name(self.queue_name_prefix + queue_name)

    # -- queue URLs --------------------------------------------------------

    def _queue_url(self, queue: str, create: bool = True) -> str:
        """The URL of kombu queue ``queue`` (created when missing and ``create``)."""
        name = self.canonical_queue_name(queue)
        try:
            return self._queue_cache[name]
        except KeyError:
            pass
        if self.predefined_queues:
            raise _not_found('queue', queue, 'Channel.queue_declare') from None
        try:
            url = self.sqs.get_queue_url(QueueName=name)['QueueUrl']
        except ClientError as exc:
            if not (create and _queue_missing(exc)):
                if _queue_missing(exc):
                    raise _not_found('queue', queue, 'Channel.queue_declare') from exc
                raise
            url = self._create_queue(name)
        self._queue_cache[name] = url
        return url

    def _create_queue(self, name: str) -> str:
        attributes = {'VisibilityTimeout': str(self.visibility_timeout)}
        if name.endswith('.fifo'):
            attributes['FifoQueue'] = 'true'
        for key, value in (self.transport_options.get('sqs-creation-attributes')
                           or {}).items():
            attributes[key] = str(value)
        return self.sqs.create_queue(QueueName=name, Attributes=attributes)['QueueUrl']

    def _new_queue(self, queue: str, **kwargs: Any) -> str:
        """Ensure the SQS queue exists; return its URL."""
        return self._queue_url(queue)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        try:
            self._queue_url(queue, create=False)
        except ChannelError:
            return False
        return True

    # -- messages ------------------------------------------------------------

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        """Send the message dict to the SQS queue (base64 JSON body)."""
        url = self._new_queue(queue)
        params: dict = {
            'QueueUrl': url,
            'MessageBody': bytes_to_str(base64.b64encode(str_to_bytes(dumps(message)))),
        }
        if url.endswith('.fifo'):
            props = message.get('properties') or {}
            params['MessageGroupId'] = str(props.get('MessageGroupId') or 'default')
            params['MessageDeduplicationId'] = str(
                props.get('MessageDeduplicationId') or uuid.uuid4().hex)
        self.sqs.send_message(**params)

    def _decode_sqs(self, sqs_message: dict, queue: str, url: str) -> dict:
        """The kombu message dict carried by one received SQS message."""
        body = sqs_message.get('Body') or ''
        try:
            payload = loads(bytes_to_str(base64.b64decode(str_to_bytes(body),
                                                          validate=True)))
        except (ValueError, TypeError, binascii.Error):
            try:
                payload = loads(body)
            except (ValueError, TypeError):
                payload = None
        if not isinstance(payload, dict) or 'properties' not in payload:
            # Not sent by kombu: deliver the raw body as it is.
            payload = {'body': body, 'content-type': None, 'content-encoding': None,
                       'headers': {}, 'properties': {}}
        props = dict(payload.get('properties') or {})
        info = dict(props.get('delivery_info') or {})
        info['sqs_message'] = {
            'MessageId': sqs_message.get('MessageId'),
            'ReceiptHandle': sqs_message.get('ReceiptHandle'),
            'Attributes': sqs_message.get('Attributes') or {},
        }
        info['sqs_queue'] = url
        try:
            if int((sqs_message.get('Attributes') or {})['ApproximateReceiveCount']) > 1:
                info['redelivered'] = True
        except (KeyError, TypeError, ValueError):
            pass
        props['delivery_info'] = info
        payload['properties'] = props
        return payload

    def _receive(self, queue: str, max_messages: int, wait: int = 0) -> int:
        """ReceiveMessage into the queue's buffer; return how many arrived."""
        url = self._new_queue(queue)
        response = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=max(1, min(max_messages, SQS_MAX_MESSAGES)),
            WaitTimeSeconds=max(0, min(int(wait), SQS_MAX_WAIT)),
            AttributeNames=['ApproximateReceiveCount'])
        messages = response.get('Messages') or []
        if not messages:
            return 0
        if queue in self._noack_queues:
            self._delete_many(url, [m['ReceiptHandle'] for m in messages])
        buffer = self._buffers.setdefault(queue, deque())
        buffer.extend(self._decode_sqs(m, queue, url) for m in messages)
        return len(messages)

    def _fetch_count(self, queue: str) -> int:
        """How many messages the next ReceiveMessage of ``queue`` may take."""
        if queue not in self._active_queues:
            return 1          # basic_get: take only what is asked for
        qos = self._qos or self.qos
        estimate = qos.can_consume_max_estimate()
        return SQS_MAX_MESSAGES if estimate is None else max(1, min(estimate,
                                                                    SQS_MAX_MESSAGES))

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        """Next message of ``queue`` (from the buffer, else one short ReceiveMessage)."""
        buffer = self._buffers.get(queue)
        if buffer:
            return buffer.popleft()
        if self._buffer_only:
            raise Empty()
        if self._receive(queue, self._fetch_count(queue)):
            return self._buffers[queue].popleft()
        raise Empty()

    def _long_poll(self, queue: str, wait: float) -> int:
        """Wait up to ``wait`` seconds (whole seconds, ``wait_time_seconds`` at most)."""
        if self._buffers.get(queue):
            return len(self._buffers[queue])
        seconds = min(int(wait), int(self.wait_time_seconds or 0))
        return self._receive(queue, self._fetch_count(queue), wait=max(seconds, 0))

    def _delete_many(self, url: str, handles: list) -> None:
        for i in range(0, len(handles), SQS_MAX_MESSAGES):
            chunk = handles[i:i + SQS_MAX_MESSAGES]
            self.sqs.delete_message_batch(QueueUrl=url, Entries=[
                {'Id': str(n), 'ReceiptHandle': h} for n, h in enumerate(chunk)])

    def _release(self, url: str, handles: list) -> None:
        """Make in-flight messages visible again now."""
        for i in range(0, len(handles), SQS_MAX_MESSAGES):
            chunk = handles[i:i + SQS_MAX_MESSAGES]
            self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {'Id': str(n), 'ReceiptHandle': h, 'VisibilityTimeout': 0}
                for n, h in enumerate(chunk)])

    def _release_buffer(self, queue: str) -> None:
        """Give fetched but undelivered messages of ``queue`` back to SQS."""
        buffer = self._buffers.pop(queue, None)
        if not buffer or queue in self._noack_queues:
            return
        by_url: dict[str, list] = {}
        for payload in buffer:
            info = payload['properties']['delivery_info']
            by_url.setdefault(info['sqs_queue'], []).append(
                info['sqs_message']['ReceiptHandle'])
        for url, handles in by_url.items():
            try:
                self._release(url, handles)
            except Exception as exc:  # they come back after the visibility timeout
                logger.warning('SQS: could not release %d message(s) of %r: %r',
                               len(handles), queue, exc)

    @staticmethod
    def _sqs_info(message: Any) -> tuple[str | None, str | None]:
        info = getattr(message, 'delivery_info', None) or {}
        sqs_message = info.get('sqs_message') or {}
        return info.get('sqs_queue'), sqs_message.get('ReceiptHandle')

    def _size(self, queue: str) -> int:
        """ApproximateNumberOfMessages of the queue (plus fetched, undelivered ones)."""
        url = self._new_queue(queue)
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=['ApproximateNumberOfMessages'])['Attributes']
        return int(attrs['ApproximateNumberOfMessages']) + len(self._buffers.get(queue) or ())

    def _purge(self, queue: str) -> int:
        """PurgeQueue; return the number of messages it held."""
        size = self._size(queue)
        self._buffers.pop(queue, None)
        self.sqs.purge_queue(QueueUrl=self._new_queue(queue))
        return size

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        """DeleteQueue (a queue that is already gone is fine)."""
        self._buffers.pop(queue, None)
        name = self.canonical_queue_name(queue)
        try:
            url = self._queue_url(queue, create=False)
        except ChannelError:
            return
        self._queue_cache.pop(name, None)
        try:
            self.sqs.delete_queue(QueueUrl=url)
        except ClientError as exc:
            if not _queue_missing(exc):
                raise

    # -- consuming / acknowledging -------------------------------------------

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> str:
        """Consume from queue."""
        if no_ack:
            self._noack_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def basic_cancel(self, consumer_tag: str) -> None:
        """Cancel consumer by consumer tag."""
        queue = self._tag_to_queue.get(consumer_tag)
        super().basic_cancel(consumer_tag)
        if queue is not None and queue not in self._active_queues:
            self._release_buffer(queue)
            self._noack_queues.discard(queue)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        """Get one message; with ``no_ack`` it is deleted from SQS at once."""
        message = super().basic_get(queue, no_ack, **kwargs)
        if message is not None and no_ack and queue not in self._noack_queues:
            self._delete_received(message)
        return message

    def _on_ack(self, messages: list) -> None:
        """Acked: delete the messages from SQS (one not deleted comes back later)."""
        self._settle_each(messages, self._delete_received)

    def _delete_received(self, message: Any) -> None:
        """DeleteMessage of a received message (no-op without a receipt handle)."""
        url, handle = self._sqs_info(message)
        if handle:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)

    def _on_reject(self, messages: list, requeue: bool) -> None:
        """Rejected: deleted like acked ones (a requeue was made visible by :meth:`_restore`)."""
        if not requeue:
            self._on_ack(messages)

    def _restore(self, message: Any) -> None:
        """Make an unacked message visible again (ChangeMessageVisibility 0)."""
        url, handle = self._sqs_info(message)
        if not handle:
            return super()._restore(message)
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle,
                                           VisibilityTimeout=0)
        return None

    def close(self) -> None:
        """Close channel.

        Cancel all consumers, and requeue unacked messages.
        """
        if self.closed:
            return
        try:
            super().close()
        finally:
            for queue in list(self._buffers):
                self._release_buffer(queue)
            self._close_async()

    def _close_async(self) -> None:
        self._asynsqs = None

    def drain_events(self, timeout: float | None = None, callback: Any = None,
                     **kwargs: Any) -> int:
        """Return a single payload message from one of our queues.

        Raises:
            Queue.Empty: if no messages available.
        """
        return super().drain_events(timeout=timeout, callback=callback)

    # -- the event loop (asynchronous receive) --------------------------------

    def _hub_deliver(self) -> int:
        """Deliver buffered messages (no SQS call) within the prefetch window."""
        if self.closed or not self._active_queues:
            return 0
        self._buffer_only = True
        try:
            return self._drain_batch(limit=1 << 30)
        finally:
            self._buffer_only = False

    def _async_receive(self, queue: str, state: dict) -> None:
        """Start one asynchronous (long-polling) ReceiveMessage for ``queue``."""
        from vine import promise
        key = (self, queue)
        if (not state['active'] or self.closed or key in state['inflight'] or
                queue not in self._active_queues or self._buffers.get(queue)):
            return
        qos = self._qos or self.qos
        if qos.prefetch_count and not qos.can_consume():
            return
        url = self._new_queue(queue)
        state['inflight'].add(key)

        def on_messages(messages: list) -> None:
            state['inflight'].discard(key)
            self._on_async_messages(queue, url, messages, state)

        def on_error(exc: Exception | None = None, *args: Any) -> None:
            state['inflight'].discard(key)
            logger.warning('SQS: ReceiveMessage of %r failed: %r', queue, exc)

        self.asynsqs.receive_message(
            url, self._fetch_count(queue), attributes=['ApproximateReceiveCount'],
            wait_time_seconds=self.wait_time_seconds,
            callback=promise(on_messages, on_error=on_error))

    def _on_async_messages(self, queue: str, url: str, messages: list,
                           state: dict) -> None:
        raw = [{'Body': m.body, 'ReceiptHandle': m.receipt_handle, 'MessageId': m.id,
                'Attributes': m.attributes} for m in messages]
        if raw:
            handles = [m['ReceiptHandle'] for m in raw]
            if not state['active'] or self.closed or queue not in self._active_queues:
                try:
                    self._release(url, handles)   # nobody wants them: visible again
                except Exception as exc:
                    logger.warning('SQS: could not release %d message(s) of %r: %r',
                                   len(handles), queue, exc)
                return
            if queue in self._noack_queues:
                self._delete_many(url, handles)
            self._buffers.setdefault(queue, deque()).extend(
                self._decode_sqs(m, queue, url) for m in raw)
            self._hub_deliver()
        if state['active'] and not self.closed:
            state['loop'].call_soon(self._async_receive, queue, state)

    # -- clients -------------------------------------------------------------

    def _new_sqs_client(self) -> Any:
        from kombu.asynchronous.aws.ext import boto3
        session = boto3.session.Session(
            region_name=self.region,
            aws_access_key_id=self.conninfo.userid,
            aws_secret_access_key=self.conninfo.password,
        )
        is_secure = self.is_secure if self.is_secure is not None else True
        kwargs: dict = {'use_ssl': is_secure}
        if self.endpoint_url is not None:
            kwargs['endpoint_url'] = self.endpoint_url
        if self.transport_options.get('aws_session_token'):
            kwargs['aws_session_token'] = self.transport_options['aws_session_token']
        config = self.transport_options.get('client-config')
        if config is not None:
            if isinstance(config, dict):
                from botocore.config import Config
                config = Config(**config)
            kwargs['config'] = config
        return session.client('sqs', **kwargs)

    @property
    def sqs(self) -> Any:
        """The boto3 SQS client (created on first use)."""
        if self._sqs is None:
            self._sqs = self._new_sqs_client()
        return self._sqs

    @property
    def asynsqs(self) -> Any:
        """The :class:`~kombu.asynchronous.aws.sqs.connection.AsyncSQSConnection`."""
        if self._asynsqs is None:
            from kombu.asynchronous.aws.sqs.connection import AsyncSQSConnection
            hub = getattr(self.connection, '_hub', None)
            http_client = None
            if hub is not None:
                from kombu.asynchronous.http import get_client
                http_client = get_client(hub)
            self._asynsqs = AsyncSQSConnection(sqs_connection=self.sqs,
                                               region=self.region,
                                               http_client=http_client)
        return self._asynsqs

    @cached_property
    def visibility_timeout(self) -> int:
        return int(self.transport_options.get('visibility_timeout')
                   or self.default_visibility_timeout)

    @cached_property
    def predefined_queues(self) -> dict:
        """``{queue_name: {'url': ...}}`` from the transport options (or empty)."""
        return self.transport_options.get('predefined_queues') or {}

    @cached_property
    def queue_name_prefix(self) -> str:
        return self.transport_options.get('queue_name_prefix', '') or ''

    @cached_property
    def supports_fanout(self) -> bool:
        return False

    @cached_property
    def region(self) -> str:
        return (self.transport_options.get('region')
                or self.transport_options.get('region_name')
                or self.default_region)

    @cached_property
    def regioninfo(self) -> Any:
        return self.transport_options.get('regioninfo')

    @cached_property
    def is_secure(self) -> bool | None:
        return self.transport_options.get('is_secure')

    @cached_property
    def port(self) -> int | None:
        """The ``port`` transport option (the URL's port is used first by :attr:`endpoint_url`)."""
        return self.transport_options.get('port')

    @cached_property
    def endpoint_url(self) -> str | None:
        """``endpoint_url`` option, else built from the URL's host (and port), else None.

        As in Kombu 4.6, the scheme of a URL with a host is ``https`` only
        when the ``is_secure`` option is true (``sqs://key:secret@localhost:4566``
        is ``http://localhost:4566``); the port is the URL's, else the
        ``port`` option.
        """
        url = self.transport_options.get('endpoint_url')
        if url:
            return url
        host = self.conninfo.hostname
        if not host:
            return None
        scheme = 'https' if self.is_secure else 'http'
        port = self.conninfo.port or self.port
        return f'{scheme}://{host}:{port}' if port else f'{scheme}://{host}'

    @cached_property
    def wait_time_seconds(self) -> int:
        value = self.transport_options.get('wait_time_seconds')
        value = int(self.default_wait_time_seconds if value is None else value)
        if not 0 <= value <= SQS_MAX_WAIT:
            raise ValueError(f'wait_time_seconds must be 0..{SQS_MAX_WAIT}, got {value!r}')
        return value


class Transport(virtual.Transport):
    """SQS Transport.

    Additional queue attributes can be supplied to SQS during queue
    creation by passing an ``sqs-creation-attributes`` key in
    transport_options (a dict of CreateQueue ``Attributes``, e.g.
    ``{'KmsMasterKeyId': 'alias/aws/sqs'}``).
    """

    Channel = Channel

    state = BrokerState()

    polling_interval = 1
    wait_time_seconds = 0
    default_port = None
    connection_errors = (ConnectionError, BotoCoreError, socket.error)
    #: As documented, plus ``ClientError``: errors the SQS API returns.
    channel_errors = (ChannelError, BotoCoreError, ClientError)
    driver_type = 'sqs'
    driver_name = 'sqs'

    implements = virtual.Transport.implements.extend(
        asynchronous=True,
        exchange_type=frozenset(['direct']),
    )

    _lp_rr = 0

    @property
    def default_connection_params(self) -> dict:
        return {'port': self.default_port}

    def driver_version(self) -> str:
        try:
            import boto3
        except ImportError:  # pragma: no cover
            return 'N/A'
        return boto3.__version__

    def establish_connection(self) -> Transport:
        require_boto3()
        return super().establish_connection()

    _async_state: dict | None = None
    _hub: Any = None

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        """Consume from the event loop with asynchronous long polls (curl).

        Each consumed queue has one ReceiveMessage in flight
        (``wait_time_seconds``); what arrives is delivered at once, within the
        prefetch window.  A timer (``polling_interval``) delivers what the
        window held back and starts polls for new consumers.  Without pycurl
        the engine's synchronous polling is used instead.
        """
        try:
            import pycurl  # noqa: F401
        except ImportError:
            return super().register_with_event_loop(connection, loop)
        self.unregister_from_event_loop(connection, loop)
        self._hub = loop
        for channel in self.channels:
            channel._asynsqs = None            # bind the async client to this loop
        state = self._async_state = {'loop': loop, 'inflight': set(), 'active': True}

        def tick() -> None:
            if not state['active']:
                return
            for channel in list(self.channels):
                if channel.closed or not channel._active_queues:
                    continue
                channel._hub_deliver()
                for queue in list(channel._active_queues):
                    channel._async_receive(queue, state)

        self._loop_entry = loop.call_repeatedly(
            max(float(self.polling_interval or 1), 0.01), tick)
        loop.call_soon(tick)

    def unregister_from_event_loop(self, connection: Any, loop: Any) -> None:
        """Stop consuming from the event loop (polls in flight are released)."""
        if self._async_state is not None:
            self._async_state['active'] = False
            self._async_state = None
        super().unregister_from_event_loop(connection, loop)

    def close_connection(self, connection: Any) -> None:
        if self._async_state is not None:
            self._async_state['active'] = False
            self._async_state = None
        super().close_connection(connection)

    _deadline: float | None = None
    _draining = False

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        """Deliver ready messages (the engine's loop; long polls wait for the rest).

        Raises:
            socket.timeout: if `timeout` seconds passed with nothing delivered.
        """
        self._deadline = None if timeout is None else monotonic() + timeout
        self._draining = True
        try:
            return super().drain_events(connection, timeout)
        finally:
            self._draining = False
            self._deadline = None

    def _wait_for_messages(self, timeout: float) -> None:
        """Long-poll one consumed queue (channels and queues take turns).

        One ReceiveMessage waits whole seconds, up to the channel's
        ``wait_time_seconds`` and the time left of ``drain_events``' timeout
        (not just one ``polling_interval``), and returns as soon as messages
        arrive.  Less than a second left: one short poll, then sleep.
        """
        pairs = [(channel, queue) for channel in self.channels
                 if not channel.closed for queue in channel._active_queues]
        if not pairs:
            return super()._wait_for_messages(timeout)
        channel, queue = pairs[self._lp_rr % len(pairs)]
        self._lp_rr += 1
        started = monotonic()
        if self._draining:
            left = SQS_MAX_WAIT if self._deadline is None else self._deadline - started
        else:
            left = timeout or SQS_MAX_WAIT
        if int(left) < 1 or not channel.wait_time_seconds:
            if not channel._long_poll(queue, 0) and timeout:
                remaining = min(timeout, left) - (monotonic() - started)
                if remaining > 0:
                    sleep(remaining)
            return
        channel._long_poll(queue, left)
