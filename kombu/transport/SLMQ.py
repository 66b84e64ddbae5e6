"""SoftLayer Message Queue transport.

A virtual transport on the SoftLayer Message Queue service, through the
``softlayer_messaging`` client (``pip install "kombu[slmq]"``).

* Connection URL: ``slmq://USERNAME:API_KEY@ENDPOINT_HOST[:PORT]/ACCOUNT``:
  the user id is the SoftLayer user name, the password its API key, the host
  (and port) the queue endpoint and the virtual host the message queue
  account id.  What the URL leaves out is taken from the environment:
  ``SL_USERNAME``, ``SL_API_KEY``, ``SLMQ_ACCOUNT``, ``SLMQ_HOST`` and
  ``SLMQ_PORT`` (the port only with ``SLMQ_HOST``); with no host at all the
  client's default endpoint is used.
  The endpoint is ``https`` unless ``transport_options['secure']`` is false.
* Queue names are made SLMQ-safe by :meth:`Channel.entity_name` (punctuation
  other than ``_`` becomes ``_``) after the ``queue_name_prefix`` transport
  option is prepended.
* A queue the transport creates gets ``visibility_interval`` =
  :attr:`Channel.visibility_timeout` (``transport_options['visibility_timeout']``,
  default 1800 seconds): how long a popped message stays invisible while it
  waits for its acknowledgement.  A consumer that dies before acking loses
  nothing: the message reappears when that time is up.
* Message dicts travel as JSON in the SLMQ message body.

Acknowledgement (at-least-once): ``ack()`` and ``reject()`` delete the SLMQ
message.  SLMQ cannot make a popped message visible again, so ``requeue()``,
``basic_recover(requeue=True)`` and closing a channel with unacked messages
push a copy (marked redelivered) and then delete the original.  Consumers
with ``no_ack=True`` and ``basic_get(no_ack=True)`` delete it on receipt.
The id of the SLMQ message is in ``delivery_info['slmq_message_id']`` (and
its queue in ``delivery_info['slmq_queue_name']``).

SLMQ has no fanout: exchanges are direct and topic, bindings live in this
process only.
"""
from __future__ import annotations

import os
import socket
import string
from typing import Any

from kombu.utils.encoding import safe_str
from kombu.utils.imports import import_extra
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

from . import virtual
from .virtual.base import BrokerState, Empty

try:
    import softlayer_messaging
    from softlayer_messaging import ResponseError
except ImportError:  # pragma: no cover - depends on the environment
    softlayer_messaging = None
    ResponseError = None

__all__ = ('Channel', 'Transport', 'CHARS_REPLACE_TABLE')

#: All punctuation except ``_`` becomes ``_``.
CHARS_REPLACE_TABLE = {ord(c): 0x5f for c in string.punctuation if c != '_'}

#: Keys of ``delivery_info`` naming the SLMQ message a received message came from.
_SLMQ_KEYS = frozenset({'slmq_message_id', 'slmq_queue_name'})

#: How many messages one pop of :meth:`Channel._purge` takes.
PURGE_BATCH = 10


def _import_client() -> Any:
    """The ``softlayer_messaging`` module, or a clear :exc:`ImportError`."""
    if softlayer_messaging is not None:
        return softlayer_messaging
    return import_extra('softlayer_messaging', 'slmq', 'SLMQ transport')


def _not_found(exc: Exception) -> bool:
    """True if ``exc`` is the client's error for a 404 response."""
    return (ResponseError is not None and isinstance(exc, ResponseError)
            and str(exc.args[0] if exc.args else '').startswith('404'))


class Channel(virtual.Channel):
    """SLMQ Channel."""

    default_visibility_timeout = 1800  # 30 minutes.
    domain_format = 'kombu%(vhost)s'

    _slmq: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _import_client()
        super().__init__(*args, **kwargs)
        #: SLMQ names of the queues this channel has created.
        self._queue_cache: set[str] = set()

    # -- names ---------------------------------------------------------------

    def entity_name(self, name: str, table: dict = CHARS_REPLACE_TABLE) -> str:
        """Format AMQP queue name into a valid SLQS queue name."""
        return safe_str(name).translate(table)

    def _slmq_name(self, queue: str) -> str:
        return self.entity_name(self.queue_name_prefix + queue)

    # -- queues ----------------------------------------------------------------

    def _new_queue(self, queue: str, **kwargs: Any) -> Any:
        """Ensure the SLMQ queue exists (created once per channel); return it."""
        name = self._slmq_name(queue)
        if name not in self._queue_cache:
            self.slmq.create_queue(name, visibility_interval=self.visibility_timeout)
            self._queue_cache.add(name)
        return self.slmq.queue(name)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        try:
            self.slmq.queue(self._slmq_name(queue)).detail()
        except Exception as exc:
            if _not_found(exc):
                return False
            raise
        return True

    def _size(self, queue: str) -> int:
        """Messages ready in the queue (not those waiting for an ack)."""
        detail = self._new_queue(queue).detail() or {}
        count = detail.get('visible_message_count')
        if count is None:
            count = detail.get('message_count')
        return int(count or 0)

    def _purge(self, queue: str) -> int:
        """Pop and delete every ready message; return how many."""
        q = self._new_queue(queue)
        count = 0
        while True:
            items = (q.pop(PURGE_BATCH) or {}).get('items') or ()
            if not items:
                return count
            for item in items:
                q.message(item['id']).delete()
                count += 1

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        """Delete the SLMQ queue with its messages (one already gone is fine)."""
        name = self._slmq_name(queue)
        self._queue_cache.discard(name)
        try:
            self.slmq.queue(name).delete(force=True)
        except Exception as exc:
            if not _not_found(exc):
                raise

    # -- messages --------------------------------------------------------------

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        """Push the message dict (JSON) to the SLMQ queue.

        A message that was received from SLMQ (restored, requeued) is pushed
        as a new message, then the original is deleted: SLMQ cannot make a
        popped message visible again.
        """
        info = message['properties'].get('delivery_info')
        received = info.get('slmq_message_id') if info else None
        if received is None:
            self._new_queue(queue).push(dumps(message))
            return
        props = dict(message['properties'])
        props['delivery_info'] = {k: v for k, v in info.items() if k not in _SLMQ_KEYS}
        self._new_queue(queue).push(dumps({**message, 'properties': props}))
        self._forget(info.get('slmq_queue_name'), received)

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        """Pop the next message of ``queue`` or raise :exc:`Empty`."""
        q = self._new_queue(queue)
        items = (q.pop(1) or {}).get('items')
        if not items:
            raise Empty()
        item = items[0]
        payload = self._decode(item.get('body'))
        props = payload['properties'] = dict(payload.get('properties') or {})
        props['delivery_info'] = {**(props.get('delivery_info') or {}),
                                  'slmq_message_id': item['id'],
                                  'slmq_queue_name': q.name}
        return payload

    @staticmethod
    def _decode(body: Any) -> dict:
        """The kombu message dict in an SLMQ body (a foreign body is delivered as is)."""
        try:
            payload = loads(body)
        except (TypeError, ValueError):
            payload = None
        if isinstance(payload, dict) and 'properties' in payload:
            return payload
        return {'body': body, 'content-type': None, 'content-encoding': None,
                'headers': {}, 'properties': {}}

    def delete_message(self, queue: str, message_id: str) -> bool:
        """Delete message ``message_id`` of (kombu) queue ``queue`` from SLMQ."""
        return self.slmq.queue(self._slmq_name(queue)).message(message_id).delete()

    def _forget(self, name: str | None, message_id: str) -> None:
        """Delete a received message from SLMQ queue ``name`` (gone already is fine)."""
        if not name:
            return
        try:
            self.slmq.queue(name).message(message_id).delete()
        except Exception as exc:
            if not _not_found(exc):
                raise

    def _delete_received(self, message: Any) -> None:
        """Delete a received message from SLMQ (no-op if it has no SLMQ id)."""
        info = getattr(message, 'delivery_info', None) or {}
        message_id = info.get('slmq_message_id')
        if message_id is not None:
            self._forget(info.get('slmq_queue_name'), message_id)

    # -- settlement ------------------------------------------------------------

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        """Acknowledge message."""
        super().basic_ack(delivery_tag, multiple)

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> str:
        """Consume from queue."""
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def basic_cancel(self, consumer_tag: str) -> None:
        """Cancel consumer by consumer tag."""
        super().basic_cancel(consumer_tag)

    def _on_ack(self, messages: list) -> None:
        """Acked: delete them from SLMQ (one not deleted comes back after the timeout)."""
        self._settle_each(messages, self._delete_received)

    def _on_reject(self, messages: list, requeue: bool) -> None:
        """Rejected: deleted (a requeued one was already replaced by its copy)."""
        if not requeue:
            self._settle_each(messages, self._delete_received)

    def _on_no_ack(self, message: Any) -> None:
        """Taken without acknowledgement: delete it from SLMQ now."""
        self._delete_received(message)

    # -- settings and the client ---------------------------------------------

    @property
    def slmq(self) -> Any:
        """The authenticated ``softlayer_messaging`` client (created on first use)."""
        if self._slmq is None:
            self._slmq = self._new_client()
        return self._slmq

    def _new_client(self) -> Any:
        client_module = _import_client()
        conninfo = self.conninfo
        env = os.environ
        account = (conninfo.virtual_host or '').strip('/') or env.get('SLMQ_ACCOUNT')
        if not account:
            raise ValueError(
                'SLMQ transport: no message queue account: give it as the URL\'s '
                'virtual host (slmq://USERNAME:API_KEY@HOST/ACCOUNT) or set SLMQ_ACCOUNT')
        if conninfo.hostname:
            host, port = conninfo.hostname, conninfo.port
        else:
            host, port = env.get('SLMQ_HOST'), env.get('SLMQ_PORT')
        endpoint = None
        if host:
            scheme = 'https' if self.transport_options.get('secure', True) else 'http'
            endpoint = f'{scheme}://{host}:{port}' if port else f'{scheme}://{host}'
        client = client_module.get_client(account, endpoint=endpoint)
        client.authenticate(conninfo.userid or env.get('SL_USERNAME'),
                            conninfo.password or env.get('SL_API_KEY'))
        return client

    @cached_property
    def visibility_timeout(self) -> int:
        """Seconds a popped, unacked message stays invisible (``transport_options``)."""
        value = self.transport_options.get('visibility_timeout')
        if not value:
            return self.default_visibility_timeout
        try:
            seconds = int(value)
        except (TypeError, ValueError):
            seconds = 0
        if seconds < 1:
            raise ValueError('SLMQ transport: visibility_timeout must be a positive '
                             f'number of seconds, got {value!r}')
        return seconds

    @cached_property
    def queue_name_prefix(self) -> str:
        return self.transport_options.get('queue_name_prefix', '') or ''


class Transport(virtual.Transport):
    """SLMQ Transport."""

    Channel = Channel

    state = BrokerState()

    polling_interval = 1
    default_port = None
    connection_errors = (
        virtual.Transport.connection_errors
        + ((ResponseError,) if ResponseError is not None else ())
        + (socket.error,)
    )
    channel_errors = virtual.Transport.channel_errors

    def establish_connection(self) -> Transport:
        _import_client()
        return super().establish_connection()
