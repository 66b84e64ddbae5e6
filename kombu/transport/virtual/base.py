"""Virtual transport implementation.

Emulates the AMQ API for non-AMQ transports.  A backend subclasses
:class:`Channel` and :class:`Transport` and implements only the storage
primitives of :class:`AbstractChannel` (``_new_queue``, ``_has_queue``,
``_put``, ``_get``, ``_size``, ``_purge``, ``_delete``; optionally
``_put_fanout``/``_queue_bind``/``_queue_unbind``/``get_table`` for shared
fanout tables, ``_restore``/``_restore_at_beginning`` for requeueing,
``_on_ack``/``_on_reject`` to settle acked/rejected messages on the backend,
``_on_no_ack`` for messages taken without acknowledgement, and
``Transport._wait_for_messages`` for a blocking wait).  Everything else
lives here: exchange routing with a route cache, the broker state, QoS
(prefetch window, unacked messages, restore), consumers and delivery.

Delivery tags are ints, increasing per channel.  Each published message
also carries a process-unique id in ``properties['delivery_tag']`` that
backends may use to identify it in their own storage.
"""
from __future__ import annotations

import base64
import itertools
import os
import socket
import sys
import threading
import uuid as _uuid
import warnings
import weakref
from collections import defaultdict, namedtuple
from queue import Empty
from time import monotonic, sleep
from typing import Any, Callable, Iterator

from amqp.exceptions import NotFound, PreconditionFailed, ResourceError
from amqp.protocol import queue_declare_ok_t

from kombu.exceptions import ChannelLimitExceeded
from kombu.log import get_logger
from kombu.transport import base
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.scheduling import FairCycle
from kombu.utils.uuid import uuid

from .exchange import STANDARD_EXCHANGE_TYPES, ExchangeType, FanoutExchange

__all__ = ('Base64', 'NotEquivalentError', 'UndeliverableWarning', 'BrokerState',
           'QoS', 'Message', 'AbstractChannel', 'Channel', 'Management', 'Transport',
           'Empty', 'binding_key_t', 'queue_binding_t')

logger = get_logger(__name__)

UNDELIVERABLE_FMT = """\
Message could not be delivered: No queues bound to exchange {exchange!r} \
using binding key {routing_key!r}.
"""
NOT_EQUIVALENT_FMT = """\
Cannot redeclare exchange {0!r} in vhost {1!r} with \
different type, durable, autodelete or arguments value.\
"""
W_NO_CONSUMERS = """\
Requeuing undeliverable message for queue %r: No consumers.\
"""
RESTORING_FMT = 'Restoring {0!r} unacknowledged message(s)'
RESTORE_PANIC_FMT = 'UNABLE TO RESTORE {0} MESSAGES: {1}'

#: Key of a binding in :attr:`BrokerState.bindings`.
binding_key_t = namedtuple('binding_key_t', ('queue', 'exchange', 'routing_key'))

#: A queue's binding as yielded by :meth:`BrokerState.queue_bindings`.
queue_binding_t = namedtuple('queue_binding_t', ('exchange', 'routing_key', 'arguments'))

_ROUTE_CACHE_MAX = 10000


_id_prefix = ''
_id_counter: Iterator[int] = itertools.count(1)


def _reset_message_ids() -> None:
    """New random prefix and counter (at import and in a forked child)."""
    global _id_prefix, _id_counter
    _id_prefix = _uuid.uuid4().hex[:16] + '-'
    _id_counter = itertools.count(1)


def _message_id() -> str:
    """A process-unique message id: random prefix plus a counter."""
    return _id_prefix + str(next(_id_counter))


_reset_message_ids()
if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_reset_message_ids)


class Base64:
    """Base64 codec."""

    def encode(self, s: Any) -> str:
        return bytes_to_str(base64.b64encode(str_to_bytes(s)))

    def decode(self, s: Any) -> bytes:
        return base64.b64decode(str_to_bytes(s))


class NotEquivalentError(Exception):
    """Entity declaration is not equivalent to the previous declaration."""


class UndeliverableWarning(UserWarning):
    """The message could not be delivered to a queue."""


def _not_found(what: str, name: str, method: str) -> NotFound:
    return NotFound(f"NOT_FOUND - no {what} {name!r} in vhost '/'", (50, 10), method)


class BrokerState:
    """Broker state holds exchanges, queues and bindings.

    It also owns the route cache shared by every channel using this state:
    ``(exchange, routing_key) -> tuple of queue names``, cleared whenever a
    binding or exchange changes.
    """

    #: Mapping of exchange name to
    #: :class:`kombu.transport.virtual.exchange.ExchangeType`
    exchanges: dict = None  # type: ignore[assignment]

    #: This is the actual bindings registry, used to store bindings and to
    #: test 'in' relationships in constant time.  It has the following
    #: structure::
    #:
    #:     {
    #:         (queue, exchange, routing_key): arguments,
    #:         # ...,
    #:     }
    bindings: dict = None  # type: ignore[assignment]

    #: The queue index is used to access directly (constant time)
    #: all the bindings of a certain queue.  It has the following structure::
    #:
    #:     {
    #:         queue: {
    #:             (queue, exchange, routing_key),
    #:             # ...,
    #:         },
    #:         # ...,
    #:     }
    queue_index: dict = None  # type: ignore[assignment]

    def __init__(self, exchanges: dict | None = None) -> None:
        self.exchanges = {} if exchanges is None else exchanges
        self.bindings = {}
        self.queue_index = defaultdict(set)
        self.routes: dict = {}
        self.routes_generation = 0
        self._routes_lock = threading.Lock()

    def clear(self) -> None:
        """Forget every exchange and binding."""
        self.exchanges.clear()
        self.bindings.clear()
        self.queue_index.clear()
        self.invalidate_routes()

    def invalidate_routes(self) -> None:
        """Drop the route cache (call after any binding/exchange change)."""
        with self._routes_lock:
            self.routes_generation += 1
            self.routes.clear()

    def cache_route(self, key: tuple, queues: tuple, generation: int) -> None:
        """Store a computed route unless the bindings changed since ``generation``."""
        with self._routes_lock:
            if generation == self.routes_generation:
                if len(self.routes) >= _ROUTE_CACHE_MAX:
                    self.routes.clear()
                self.routes[key] = queues

    def has_binding(self, queue: str, exchange: str, routing_key: str) -> bool:
        return (queue, exchange, routing_key) in self.bindings

    def binding_declare(self, queue: str, exchange: str, routing_key: str,
                        arguments: dict | None) -> None:
        key = binding_key_t(queue, exchange, routing_key)
        self.bindings.setdefault(key, arguments)
        self.queue_index.setdefault(queue, set()).add(key)
        self.invalidate_routes()

    def binding_delete(self, queue: str, exchange: str, routing_key: str) -> None:
        key = binding_key_t(queue, exchange, routing_key)
        self.bindings.pop(key, None)
        keys = self.queue_index.get(queue)
        if keys is not None:
            keys.discard(key)
            if not keys:
                self.queue_index.pop(queue, None)
        self.invalidate_routes()

    def queue_bindings_delete(self, queue: str) -> None:
        for key in self.queue_index.pop(queue, ()):
            self.bindings.pop(key, None)
        self.invalidate_routes()

    def queue_bindings(self, queue: str) -> Iterator[queue_binding_t]:
        return (queue_binding_t(key.exchange, key.routing_key, self.bindings.get(key))
                for key in list(self.queue_index.get(queue, ())))


class QoS:
    """Quality of Service guarantees.

    Only supports `prefetch_count` at this point.  Unacked messages are kept
    in an insertion-ordered dict keyed by delivery tag; :meth:`take` and
    :meth:`take_all` remove and return them.  Settling a message tells the
    channel through its hooks: :meth:`ack`/:meth:`ack_multiple` call
    ``channel._on_ack(messages)`` and :meth:`reject` calls
    ``channel._on_reject(messages, requeue)`` (after ``_restore_at_beginning``
    when requeueing), each after the messages left the unacked state.

    Arguments:
        channel (ChannelT): Connection channel.
        prefetch_count (int): Initial prefetch count (defaults to 0).
    """

    #: current prefetch count value
    prefetch_count = 0

    #: If disabled, unacked messages won't be restored at shutdown.
    restore_at_shutdown = True

    def __init__(self, channel: Any, prefetch_count: int = 0) -> None:
        self.channel = channel
        self.prefetch_count = prefetch_count or 0
        self._delivered: dict = {}
        self._restored_once = False
        self._finalizer = None
        if getattr(channel, 'do_restore', False) and self.restore_at_shutdown:
            # Restore at interpreter exit if the channel is never closed.
            self._finalizer = weakref.finalize(self, self.restore_unacked_once)
            self._finalizer.atexit = True

    def can_consume(self) -> bool:
        """Return true if the channel can be consumed from.

        Used to ensure the client adhers to currently active prefetch limits.
        """
        pcount = self.prefetch_count
        return not pcount or len(self._delivered) < pcount

    def can_consume_max_estimate(self) -> int | None:
        """Return the maximum number of messages allowed to be returned.

        Returns an estimated number of messages that a consumer may be
        allowed to consume at once from the broker (``None`` when there
        is no prefetch limit).
        """
        pcount = self.prefetch_count
        if pcount:
            return max(pcount - len(self._delivered), 0)
        return None

    def append(self, message: Any, delivery_tag: Any) -> None:
        """Append message to transactional state."""
        self._delivered[delivery_tag] = message

    def get(self, delivery_tag: Any) -> Any:
        return self._delivered[delivery_tag]

    def take(self, delivery_tag: Any, multiple: bool = False) -> list:
        """Remove unacked messages from the transactional state and return them.

        Arguments:
            delivery_tag (int): the message's delivery tag.
            multiple (bool): take every unacked message up to and including
                ``delivery_tag`` instead.

        Returns:
            list: the messages taken, in delivery order (empty for an unknown
            or already settled tag).  Settling them is up to the caller.
        """
        delivered = self._delivered
        if multiple:
            return [delivered.pop(tag) for tag in [t for t in delivered if t <= delivery_tag]]
        message = delivered.pop(delivery_tag, None)
        return [] if message is None else [message]

    def take_all(self) -> list:
        """Remove every unacked message and return them, in delivery order."""
        messages = list(self._delivered.values())
        self._delivered.clear()
        return messages

    def ack(self, delivery_tag: Any) -> None:
        """Acknowledge message and remove from transactional state."""
        message = self._delivered.pop(delivery_tag, None)  # hot path: no take()
        if message is not None:
            self.channel._on_ack([message])

    def ack_multiple(self, delivery_tag: Any) -> None:
        """Acknowledge every unacked message up to and including ``delivery_tag``."""
        self._acked(self.take(delivery_tag, multiple=True))

    def _acked(self, messages: list) -> None:
        if messages:
            self.channel._on_ack(messages)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        """Remove from transactional state and requeue message."""
        messages = self.take(delivery_tag)
        if messages:
            if requeue:
                self.channel._restore_at_beginning(messages[0])
            self.channel._on_reject(messages, requeue)

    def restore_unacked(self) -> list:
        """Restore all unacknowledged messages.

        They go back in their original order, ahead of messages not yet
        delivered when the channel can put them back at the head of the queue
        (``Channel.restore_to_head``).

        Returns:
            list: ``(exception, message)`` for each message that could not
            be restored.
        """
        messages = self.take_all()
        if not messages:
            return []
        if self.channel.restore_to_head:
            messages.reverse()
            restore = self.channel._restore_at_beginning
        else:
            restore = self.channel._restore
        errors = []
        for message in messages:
            try:
                restore(message)
            except BaseException as exc:
                errors.append((exc, message))
        return errors

    def restore_unacked_once(self, stderr: Any = None) -> None:
        """Restore all unacknowledged messages at shutdown/gc collect.

        Note:
            Can only be called once for each instance, subsequent
            calls will be ignored.
        """
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._restored_once:
            return
        self._restored_once = True
        if not self.restore_at_shutdown or not self._delivered:
            return
        stderr = sys.stderr if stderr is None else stderr
        if getattr(self.channel, 'do_restore', False):
            print(RESTORING_FMT.format(len(self._delivered)), file=stderr)
        try:
            errors = self.restore_unacked()
        except Exception as exc:  # pragma: no cover - defensive
            errors = [(exc, None)]
        if errors:
            print(RESTORE_PANIC_FMT.format(len(errors), errors), file=stderr)

    def restore_visible(self, *args: Any, **kwargs: Any) -> None:
        """Restore any pending unackwnowledged messages.

        To be filled in for visibility_timeout style implementations.

        Note:
            This is implementation optional, and currently only
            used by the Redis transport.
        """


class Message(base.Message):
    """Message object (built from the message dict a backend stored).

    Arguments:
        payload (dict): the stored message dict (see the module docstring).
        channel (Channel): the channel it was received on.
        delivery_tag (int): delivery tag (default: the channel's next tag).
        consumer_tag (str): tag of the consumer it is delivered to.
        queue (str): the queue it was taken from (used to restore it).
    """

    # Class-level defaults of the attributes set per instance.
    accept: Any = None
    body: Any = None
    channel: Any = None
    content_encoding: str | None = None
    content_type: str | None = None
    delivery_info: dict = {}
    delivery_tag: Any = None
    headers: dict = {}
    properties: dict = {}

    def __init__(self, payload: dict, channel: Any = None, delivery_tag: Any = None,
                 consumer_tag: str | None = None, queue: str | None = None,
                 **kwargs: Any) -> None:
        self._raw = payload
        self._queue = queue
        properties = payload['properties']
        body = payload.get('body')
        if delivery_tag is None:
            # Built from a stored dict: its id, as in Kombu (channels deliver
            # with their own int tags).
            delivery_tag = properties.get('delivery_tag')
            if delivery_tag is None and channel is not None:
                delivery_tag = channel._next_tag()
        if channel is not None and body and 'body_encoding' in properties:
            encoding = properties['body_encoding']
            if encoding:
                body = channel.decode_body(body, encoding)
        info = properties.get('delivery_info')
        if consumer_tag is None:
            info = {'redelivered': False, **info, 'delivery_tag': delivery_tag} if info \
                else {'redelivered': False, 'delivery_tag': delivery_tag}
        else:
            info = {'redelivered': False, **info, 'delivery_tag': delivery_tag,
                    'consumer_tag': consumer_tag} if info \
                else {'redelivered': False, 'delivery_tag': delivery_tag,
                      'consumer_tag': consumer_tag}
        if kwargs:
            base.Message.__init__(
                self, body, delivery_tag, payload.get('content-type'),
                payload.get('content-encoding'), info, properties,
                payload.get('headers'), 'utf-8', kwargs.pop('accept', None), channel,
                **kwargs)
        else:
            base.Message.__init__(
                self, body, delivery_tag, payload.get('content-type'),
                payload.get('content-encoding'), info, properties,
                payload.get('headers'), 'utf-8', None, channel)

    def serializable(self) -> dict:
        """The message as a dict suitable for ``Channel._put``."""
        raw = self._raw
        return {
            'body': raw.get('body'),
            'properties': raw['properties'],
            'content-type': raw.get('content-type'),
            'content-encoding': raw.get('content-encoding'),
            'headers': raw.get('headers') or {},
        }


class AbstractChannel:
    """Abstract channel interface.

    This is an abstract class defining the channel methods
    you'd usually want to implement in a virtual channel.

    Note:
        Do not subclass directly, but rather inherit
        from :class:`Channel`.
    """

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        """Pop the next message dict from ``queue``; raise :exc:`Empty` if none.

        Must not block longer than ``timeout`` (engine calls pass ``None``
        and expect an immediate answer).
        """
        raise NotImplementedError(f'{type(self).__name__} does not implement _get')

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        """Append the message dict to ``queue``."""
        raise NotImplementedError(f'{type(self).__name__} does not implement _put')

    def _purge(self, queue: str) -> int:
        """Remove all ready messages from ``queue``; return how many."""
        raise NotImplementedError(f'{type(self).__name__} does not implement _purge')

    def _size(self, queue: str) -> int:
        """Return the number of ready messages in ``queue``."""
        raise NotImplementedError(f'{type(self).__name__} does not implement _size')

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        """Drop the storage of ``queue`` (default: purge it)."""
        self._purge(queue)

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        """Create storage for ``queue`` (idempotent; default: nothing to do)."""

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        """Return true if ``queue`` exists (default: always)."""
        return True

    def _poll(self, cycle: Any, callback: Callable, timeout: float | None = None) -> Any:
        """Get one message from the next queue of ``cycle`` and hand it to ``callback``."""
        return cycle.get(callback)

    def _get_and_deliver(self, queue: str, callback: Callable) -> None:
        """Pop one message from ``queue`` and call ``callback(message, queue)``."""
        message = self._get(queue)
        callback(message, queue)


class Channel(AbstractChannel, base.StdChannel):
    """Virtual channel.

    Arguments:
        connection (ConnectionT): The transport instance this
            channel is part of.

    Extension points for backends, besides the :class:`AbstractChannel`
    primitives: :meth:`_put_fanout`, :meth:`_queue_bind`,
    :meth:`_queue_unbind`, :meth:`get_table` (shared binding tables; a
    channel overriding ``get_table`` gets no route cache), :meth:`_restore`,
    :meth:`_restore_at_beginning` and :attr:`restore_to_head`, and the
    settlement hooks :meth:`_on_ack` / :meth:`_on_reject` for backends that
    must be told when a delivered message is acked or rejected.
    """

    #: message class used.
    Message = Message

    #: QoS class used.
    QoS = QoS

    #: flag to restore unacked messages when channel
    #: goes out of scope (at interpreter exit if never closed).
    do_restore = True

    #: mapping of exchange types and corresponding classes.
    exchange_types = dict(STANDARD_EXCHANGE_TYPES)

    #: flag set if the channel supports fanout exchanges.
    supports_fanout = False

    #: Binary <-> ASCII codecs.
    codecs = {'base64': Base64()}

    #: Default body encoding.
    #: NOTE: ``transport_options['body_encoding']`` will override this value.
    body_encoding: str | None = 'base64'

    #: counter used to generate delivery tags for this channel.
    _delivery_tags = itertools.count(1)

    #: Optional queue where messages with no route is delivered.
    #: Set by ``transport_options['deadletter_queue']``.
    deadletter_queue: str | None = None

    #: Names of attributes that ``transport_options`` may override.
    from_transport_options = ('body_encoding', 'deadletter_queue')

    # Priority defaults
    default_priority = 0
    min_priority = 0
    max_priority = 9

    #: True if :meth:`_restore_at_beginning` really puts messages back at
    #: the head of the queue (then unacked messages are restored in order).
    restore_to_head = False

    #: Use the shared route cache (only when :meth:`get_table` is not overridden).
    route_cache_enabled = True

    #: Most messages delivered by one ``Transport.drain_events`` call (also
    #: ``transport_options['drain_batch_size']``).  1 keeps the AMQP meaning
    #: of "one event per call" that ``limit`` counting relies on
    #: (``kombu.common.eventloop``, ``kombu.compat``); larger values save the
    #: per-call overhead when consuming in a loop.
    drain_batch_size = 1

    _qos: QoS | None = None
    _cycle: Any = None

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        self.connection = connection
        self.closed = False
        self._consumers: set = set()
        self._tag_to_queue: dict = {}
        self._consumer_callbacks: dict = {}
        self._queue_consumers: dict = {}
        self._active_queues: list = []
        self._deliverers: dict = {}
        self._rr = 0
        self._tags = itertools.count(1)
        self.no_ack_consumers = set()
        self.exchange_types = {name: cls(self) for name, cls in self.exchange_types.items()}
        self._use_route_cache = (self.route_cache_enabled and
                                 type(self).get_table is Channel.get_table)
        self._routes = self.state.routes if self._use_route_cache else {}
        self.channel_id = connection._next_channel_id() \
            if hasattr(connection, '_next_channel_id') else None
        client = getattr(connection, 'client', None)
        topts = getattr(client, 'transport_options', None) or {}
        for opt_name in self.from_transport_options:
            try:
                setattr(self, opt_name, topts[opt_name])
            except KeyError:
                pass
        if topts.get('drain_batch_size'):
            self.drain_batch_size = int(topts['drain_batch_size'])

    # -- entities -----------------------------------------------------------

    def exchange_declare(self, exchange: str | None = None, type: str = 'direct',
                         durable: bool = False, auto_delete: bool = False,
                         arguments: dict | None = None, nowait: bool = False,
                         passive: bool = False) -> None:
        """Declare exchange."""
        type = type or 'direct'
        exchange = exchange or f'amq.{type}'
        exchanges = self.state.exchanges
        if type not in self.exchange_types:
            raise NotImplementedError(
                f'Exchange type {type!r} (exchange {exchange!r}) is not supported by '
                f'{self.__class__.__module__}; supported: {sorted(self.exchange_types)}')
        if passive:
            if exchange not in exchanges:
                raise _not_found('exchange', exchange, 'Channel.exchange_declare')
            return
        prev = exchanges.get(exchange)
        if prev is not None:
            if not self.typeof(exchange, prev['type']).equivalent(
                    prev, exchange, type, durable, auto_delete, arguments):
                raise NotEquivalentError(NOT_EQUIVALENT_FMT.format(exchange, '/'))
            return
        exchanges[exchange] = {
            'type': type, 'durable': durable, 'auto_delete': auto_delete,
            'arguments': arguments or {}, 'table': [],
        }
        self.state.invalidate_routes()

    def exchange_delete(self, exchange: str, if_unused: bool = False,
                        nowait: bool = False) -> None:
        """Delete `exchange` and all its bindings."""
        state = self.state
        entry = state.exchanges.get(exchange)
        if entry is None:
            return
        table = entry.get('table') or []
        if if_unused and table:
            raise PreconditionFailed(
                f'PRECONDITION_FAILED - exchange {exchange!r} in use', (40, 20),
                'Channel.exchange_delete')
        for rkey, pattern, queue in list(table):
            state.binding_delete(queue, exchange, rkey)
            if self.supports_fanout:
                self._queue_unbind(exchange, rkey, pattern, queue)
        state.exchanges.pop(exchange, None)
        state.invalidate_routes()

    def exchange_bind(self, destination: str, source: str = '', routing_key: str = '',
                      nowait: bool = False, arguments: dict | None = None) -> None:
        """Exchange to exchange bindings are not supported by virtual transports."""
        raise NotImplementedError('virtual transports do not support exchange_bind')

    def exchange_unbind(self, destination: str, source: str = '', routing_key: str = '',
                        nowait: bool = False, arguments: dict | None = None) -> None:
        """Exchange to exchange bindings are not supported by virtual transports."""
        raise NotImplementedError('virtual transports do not support exchange_unbind')

    def queue_declare(self, queue: str | None = None, passive: bool = False,
                      **kwargs: Any) -> Any:
        """Declare queue."""
        queue = queue or f'amq.gen-{uuid()}'
        if passive and not self._has_queue(queue, **kwargs):
            raise _not_found('queue', queue, 'Channel.queue_declare')
        if not passive:
            self._new_queue(queue, **kwargs)
        return queue_declare_ok_t(queue, self._size(queue), self._consumer_count(queue))

    def _consumer_count(self, queue: str) -> int:
        channels = getattr(self.connection, 'channels', None) or (self,)
        return sum(len(ch._queue_consumers.get(queue, ()))
                   for ch in channels if isinstance(ch, Channel))

    def queue_delete(self, queue: str, if_unused: bool = False, if_empty: bool = False,
                     **kwargs: Any) -> int:
        """Delete queue; return the number of messages it held."""
        if if_empty and self._size(queue):
            return 0
        if if_unused and self._consumer_count(queue):
            return 0
        state = self.state
        for binding in list(state.queue_bindings(queue)):
            self._remove_binding(queue, binding.exchange, binding.routing_key)
        state.queue_bindings_delete(queue)
        size = self._size(queue)
        self._delete(queue)
        return size

    def queue_bind(self, queue: str, exchange: str | None = None, routing_key: str = '',
                   arguments: dict | None = None, **kwargs: Any) -> None:
        """Bind `queue` to `exchange` with `routing key`."""
        exchange = exchange or 'amq.direct'
        state = self.state
        if exchange not in state.exchanges:
            if not exchange.startswith('amq.') or exchange[4:] not in self.exchange_types:
                raise _not_found('exchange', exchange, 'Channel.queue_bind')
            self.exchange_declare(exchange, exchange[4:], durable=True)
        if state.has_binding(queue, exchange, routing_key):
            return
        meta = self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments)
        state.exchanges[exchange].setdefault('table', []).append(meta)
        state.binding_declare(queue, exchange, routing_key, arguments)
        if self.supports_fanout:
            self._queue_bind(exchange, *meta)

    def queue_unbind(self, queue: str, exchange: str | None = None, routing_key: str = '',
                     arguments: dict | None = None, **kwargs: Any) -> None:
        """Remove the binding of `queue` to `exchange` with `routing_key`."""
        exchange = exchange or 'amq.direct'
        if self.state.has_binding(queue, exchange, routing_key):
            self._remove_binding(queue, exchange, routing_key)

    def _remove_binding(self, queue: str, exchange: str, routing_key: str) -> None:
        state = self.state
        state.binding_delete(queue, exchange, routing_key)
        entry = state.exchanges.get(exchange)
        if entry is None:
            return
        table = entry.get('table') or []
        removed = [m for m in table if m[0] == routing_key and m[2] == queue]
        entry['table'] = [m for m in table if not (m[0] == routing_key and m[2] == queue)]
        state.invalidate_routes()
        if self.supports_fanout:
            for meta in removed:
                self._queue_unbind(exchange, *meta)

    def list_bindings(self) -> Iterator[tuple]:
        """Yield ``(queue, exchange, routing_key)`` for every binding."""
        for exchange in list(self.state.exchanges):
            for rkey, _, queue in self.get_table(exchange):
                yield queue, exchange, rkey

    def get_bindings(self) -> list[dict]:
        """Return every binding as a dict (destination, source, routing_key)."""
        return [{'destination': queue, 'source': exchange, 'routing_key': rkey,
                 'destination_type': 'queue'}
                for queue, exchange, rkey in self.list_bindings()]

    def queue_purge(self, queue: str, **kwargs: Any) -> int:
        """Remove all ready messages from queue."""
        return self._purge(queue)

    def get_exchanges(self) -> list[str]:
        """Names of the declared exchanges."""
        return list(self.state.exchanges)

    def get_table(self, exchange: str) -> list:
        """Get table of bindings for `exchange` (``KeyError`` if undeclared)."""
        return self.state.exchanges[exchange]['table']

    @property
    def conninfo(self) -> Any:
        """The :class:`kombu.Connection` this channel belongs to."""
        return self.connection.client

    @property
    def transport_options(self) -> dict:
        """The connection's ``transport_options`` (empty when there are none)."""
        return getattr(self.connection.client, 'transport_options', None) or {}

    def typeof(self, exchange: str, default: str = 'direct') -> ExchangeType:
        """Get the exchange type instance for `exchange`."""
        try:
            type = self.state.exchanges[exchange]['type']
        except KeyError:
            type = default
        return self.exchange_types[type]

    # -- hooks for shared binding tables ------------------------------------

    def _put_fanout(self, exchange: str, message: dict, routing_key: str,
                    **kwargs: Any) -> None:
        """Publish ``message`` to every queue bound to fanout ``exchange``."""
        raise NotImplementedError(f'{type(self).__name__} does not implement _put_fanout')

    def _queue_bind(self, exchange: str, routing_key: str, pattern: Any, queue: str) -> None:
        """Hook called after a binding is stored (when :attr:`supports_fanout`)."""

    def _queue_unbind(self, exchange: str, routing_key: str, pattern: Any,
                      queue: str) -> None:
        """Hook called after a binding is removed (when :attr:`supports_fanout`)."""

    # -- publishing -----------------------------------------------------------

    def prepare_message(self, body: Any, priority: int | None = None,
                        content_type: str | None = None,
                        content_encoding: str | None = None, headers: dict | None = None,
                        properties: dict | None = None) -> dict:
        """Prepare message data."""
        if properties is None:
            properties = {}
        if 'priority' not in properties:
            properties['priority'] = priority or self.default_priority
        if 'delivery_info' not in properties:
            properties['delivery_info'] = {}
        return {'body': body,
                'content-encoding': content_encoding,
                'content-type': content_type,
                'headers': headers or {},
                'properties': properties}

    def _next_delivery_tag(self) -> str:
        """A process-unique id for a published message."""
        return _message_id()

    def _next_tag(self) -> int:
        """The next delivery tag of this channel."""
        return next(self._tags)

    def _inplace_augment_message(self, message: dict, exchange: str,
                                 routing_key: str) -> None:
        """Encode the body and fill in ``delivery_info`` and the message id."""
        props = message['properties']
        encoding = self.body_encoding
        if encoding:
            message['body'], props['body_encoding'] = self.encode_body(
                message['body'], encoding)
        info = props.get('delivery_info')
        if info:
            info = dict(info, exchange=exchange, routing_key=routing_key)
        else:
            info = {'exchange': exchange, 'routing_key': routing_key}
        props['delivery_info'] = info
        props['delivery_tag'] = _id_prefix + str(next(_id_counter))

    def basic_publish(self, message: dict, exchange: str, routing_key: str,
                      **kwargs: Any) -> None:
        """Publish message.

        An empty `exchange` puts the message on the queue named
        `routing_key`.  With no matching binding the message is dropped, or
        sent to :attr:`deadletter_queue` with an :class:`UndeliverableWarning`
        when one is set.  An undeclared exchange raises
        :class:`amqp.exceptions.NotFound` (one of ``channel_errors``), as an
        AMQP broker does.  ``mandatory`` and ``immediate`` are accepted and
        ignored (no basic.return here).
        """
        self._inplace_augment_message(message, exchange, routing_key)
        if not exchange:
            return self._put(routing_key, message, **kwargs)
        if self._use_route_cache:
            queues = self._routes.get((exchange, routing_key))
            if queues is None:
                queues = self._cache_route(exchange, routing_key)
            if queues:
                if len(queues) == 1:
                    return self._put(queues[0], message, **kwargs)
                put = self._put
                put(queues[0], message, **kwargs)
                for queue in queues[1:]:
                    put(queue, self._copy_message(message), **kwargs)
                return None
        return self.typeof(exchange).deliver(message, exchange, routing_key, **kwargs)

    def _cache_route(self, exchange: str, routing_key: str) -> tuple | None:
        """Compute and cache the queues for a route; ``None`` if not cacheable."""
        state = self.state
        generation = state.routes_generation
        entry = state.exchanges.get(exchange)
        if entry is None:
            return None
        exchange_type = self.exchange_types.get(entry['type'])
        if type(exchange_type) not in STANDARD_EXCHANGE_TYPES.values() or (
                isinstance(exchange_type, FanoutExchange) and self.supports_fanout):
            return None
        queues = tuple(exchange_type.lookup(entry.get('table') or [], exchange,
                                            routing_key, None))
        if queues:
            state.cache_route((exchange, routing_key), queues, generation)
        return queues

    @staticmethod
    def _copy_message(message: dict) -> dict:
        """A copy of a message dict that shares no mutable properties."""
        props = dict(message['properties'])
        if props.get('delivery_info'):
            props['delivery_info'] = dict(props['delivery_info'])
        return dict(message, properties=props)

    def _lookup(self, exchange: str, routing_key: str, default: str | None = None) -> Any:
        """Find all queues matching `routing_key` for the given `exchange`.

        Arguments:
            default (str): queue for messages nothing matched (default:
                :attr:`deadletter_queue`).

        Returns:
            Collection[str]: the matching queue names (the exchange type's
            ``lookup`` result, a set).  When nothing matched: ``[default]``
            with an :class:`UndeliverableWarning` (also for an undeclared
            exchange), or ``[]`` without a default.

        Raises:
            amqp.exceptions.NotFound: `exchange` is not declared and there is
                no `default` (as an AMQP broker does, never a silent drop).
        """
        if default is None:
            default = self.deadletter_queue
        if not exchange:  # anonymous exchange: routing key is the queue name
            return [routing_key]
        try:
            table = self.get_table(exchange)
        except KeyError:
            if default is None:
                raise _not_found('exchange', exchange, 'Basic.publish') from None
            queues = ()
        else:
            queues = self.typeof(exchange).lookup(table, exchange, routing_key, default)
        if not queues:
            if default is None:
                return []
            warnings.warn(UndeliverableWarning(UNDELIVERABLE_FMT.format(
                exchange=exchange, routing_key=routing_key)), stacklevel=2)
            self._new_queue(default)
            return [default]
        return queues

    def _lookup_direct(self, exchange: str, routing_key: str) -> list:
        """Queues bound to `exchange` with exactly `routing_key` (direct semantics)."""
        if not exchange:
            return [routing_key]
        try:
            table = self.get_table(exchange)
        except KeyError:
            return []
        return self.exchange_types['direct'].lookup(table, exchange, routing_key, None)

    def encode_body(self, body: Any, encoding: str | None = None) -> tuple[Any, Any]:
        if encoding:
            return self.codecs[encoding].encode(body), encoding
        return body, encoding

    def decode_body(self, body: Any, encoding: str | None = None) -> Any:
        if encoding:
            return self.codecs[encoding].decode(body)
        return body

    def _get_message_priority(self, message: dict, reverse: bool = False) -> int:
        """The message priority clamped to ``[min_priority, max_priority]``.

        With ``reverse`` return ``max_priority - priority`` (for stores where
        lower sorts first).
        """
        try:
            priority = max(min(int(message['properties']['priority']), self.max_priority),
                           self.min_priority)
        except (TypeError, ValueError, KeyError):
            priority = self.default_priority
        return (self.max_priority - priority) if reverse else priority

    # -- consuming ------------------------------------------------------------

    def basic_consume(self, queue: str, no_ack: bool, callback: Callable,
                      consumer_tag: str | None, **kwargs: Any) -> str:
        """Consume from `queue`: ``callback(message)`` gets a :class:`Message`."""
        consumer_tag = consumer_tag or uuid()
        self._tag_to_queue[consumer_tag] = queue
        self._consumer_callbacks[consumer_tag] = (callback, no_ack)
        self._queue_consumers.setdefault(queue, []).append(consumer_tag)
        if queue not in self._active_queues:
            self._active_queues.append(queue)
        if no_ack:
            self.no_ack_consumers.add(consumer_tag)
        self._consumers.add(consumer_tag)
        callbacks = getattr(self.connection, '_callbacks', None)
        if callbacks is not None:
            deliverer = self._deliverers.get(queue)
            if deliverer is None:
                deliverer = self._deliverers[queue] = self._queue_deliverer(queue)
            callbacks[queue] = deliverer
        self._reset_cycle()
        return consumer_tag

    def _queue_deliverer(self, queue: str) -> Callable[[dict], None]:
        def deliver(raw_message: dict) -> None:
            self._deliver(raw_message, queue)
        return deliver

    def basic_cancel(self, consumer_tag: str) -> None:
        """Cancel consumer by consumer tag."""
        if consumer_tag not in self._consumers:
            return
        self._consumers.discard(consumer_tag)
        self.no_ack_consumers.discard(consumer_tag)
        self._consumer_callbacks.pop(consumer_tag, None)
        queue = self._tag_to_queue.pop(consumer_tag, None)
        tags = self._queue_consumers.get(queue)
        if tags is not None:
            if consumer_tag in tags:
                tags.remove(consumer_tag)
            if not tags:
                del self._queue_consumers[queue]
                if queue in self._active_queues:
                    self._active_queues.remove(queue)
                deliverer = self._deliverers.pop(queue, None)
                callbacks = getattr(self.connection, '_callbacks', None)
                if callbacks is not None and callbacks.get(queue) is deliverer:
                    callbacks.pop(queue, None)
        self._reset_cycle()

    def _deliver(self, raw_message: dict, queue: str) -> None:
        """Hand a message dict taken from `queue` to the queue's consumer.

        With no consumer left for the queue the message is put back.
        """
        tags = self._queue_consumers.get(queue)
        if not tags:
            logger.warning(W_NO_CONSUMERS, queue)
            self._put(queue, raw_message)
            return
        tag = tags[0]
        if len(tags) > 1:
            tags.append(tags.pop(0))
        callback, no_ack = self._consumer_callbacks[tag]
        delivery_tag = next(self._tags)
        message = self.Message(raw_message, self, delivery_tag, tag, queue)
        if no_ack:
            self._on_no_ack(message)
        else:
            (self._qos or self.qos).append(message, delivery_tag)
        callback(message)

    def _get_next(self) -> tuple[dict, str]:
        """Pop a message from the consumed queues, fairly; raise :exc:`Empty`."""
        queues = self._active_queues
        n = len(queues)
        if n == 1:
            queue = queues[0]
            return self._get(queue), queue
        start = self._rr
        for i in range(n):
            queue = queues[(start + i) % n]
            try:
                message = self._get(queue)
            except Empty:
                continue
            self._rr = (start + i + 1) % n
            return message, queue
        raise Empty()

    def _drain_batch(self, limit: int | None = None) -> int:
        """Deliver up to `limit` ready messages within the QoS window; return how many."""
        limit = limit or self.drain_batch_size
        qos = self._qos or self.qos
        count = 0
        while count < limit:
            if self.closed or not self._active_queues or (
                    qos.prefetch_count and not qos.can_consume()):
                break
            try:
                raw_message, queue = self._get_next()
            except Empty:
                break
            self._deliver(raw_message, queue)
            count += 1
        return count

    def drain_events(self, timeout: float | None = None,
                     callback: Callable | None = None) -> int:
        """Deliver ready messages; raise :exc:`Empty` if there were none.

        With `callback`, one message is taken and passed as
        ``callback(message_dict, queue)`` instead of to the consumer.
        """
        if not self._consumers or not self.qos.can_consume():
            raise Empty()
        if callback is not None:
            raw_message, queue = self._get_next()
            callback(raw_message, queue)
            return 1
        count = self._drain_batch()
        if not count:
            raise Empty()
        return count

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Message | None:
        """Get message by direct access (synchronous); ``None`` if the queue is empty."""
        try:
            raw_message = self._get(queue)
        except Empty:
            return None
        accept = kwargs.get('accept')
        if accept is None:
            message = self.Message(raw_message, self, next(self._tags), None, queue)
        else:
            message = self.Message(raw_message, self, next(self._tags), None, queue,
                                   accept=accept)
        if no_ack:
            self._on_no_ack(message)
        else:
            self.qos.append(message, message.delivery_tag)
        return message

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        """Acknowledge message."""
        if multiple:
            (self._qos or self.qos).ack_multiple(delivery_tag)
        else:
            (self._qos or self.qos).ack(delivery_tag)

    def basic_recover(self, requeue: bool = False) -> list:
        """Recover unacked messages (only ``requeue=True`` is supported)."""
        if requeue:
            return self.qos.restore_unacked()
        raise NotImplementedError('Does not support recover(requeue=False)')

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        """Reject message (requeued at the head of its queue if `requeue`)."""
        self.qos.reject(delivery_tag, requeue=requeue)

    def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                  apply_global: bool = False) -> None:
        """Change QoS settings for this channel.

        Note:
            Only `prefetch_count` is supported.
        """
        self.qos.prefetch_count = prefetch_count

    def message_to_python(self, raw_message: Any) -> Message:
        """Convert raw message to :class:`Message` instance."""
        if isinstance(raw_message, self.Message):
            return raw_message
        return self.Message(raw_message, channel=self)

    def _restore(self, message: Message) -> None:
        """Put an unacked message back at the tail of the queue it came from.

        A message with unknown origin is routed again through its exchange.
        """
        raw = self._redelivered(message)
        queue = getattr(message, '_queue', None)
        if queue is not None:
            self._put(queue, raw)
            return
        info = message.delivery_info
        queues = self._lookup(info.get('exchange'), info.get('routing_key'))
        for i, queue in enumerate(queues):
            self._put(queue, raw if i == 0 else self._copy_message(raw))

    def _restore_at_beginning(self, message: Message) -> None:
        """Put an unacked message back at the head of its queue (default: tail)."""
        return self._restore(message)

    def _on_ack(self, messages: list) -> None:
        """Hook: tell the backend that ``messages`` were acknowledged.

        Called by the :class:`QoS` (``basic_ack``, also with ``multiple=True``)
        with the :class:`Message` objects it has just removed from its unacked
        state, in delivery order; never with an empty list.  An exception
        propagates to the caller of ``ack()``; the messages stay settled
        locally (the backend's own redelivery brings them back).  Default:
        nothing to do.
        """

    def _on_reject(self, messages: list, requeue: bool) -> None:
        """Hook: tell the backend that ``messages`` were rejected.

        Called by the :class:`QoS` (``basic_reject``) with the messages it has
        just removed from its unacked state.  With ``requeue`` they have
        already been put back with :meth:`_restore_at_beginning`, so only
        bookkeeping is left; without it they are gone for good (delete them).
        Errors propagate as for :meth:`_on_ack`.  Default: nothing to do.
        """

    def _on_no_ack(self, message: Message) -> None:
        """Hook: ``message`` was taken for a no_ack consumer or ``basic_get(no_ack=True)``.

        Such a message never enters the :class:`QoS`, so neither
        :meth:`_on_ack` nor a restore will ever see it: it counts as acked on
        receipt.  Called once per message, after the :class:`Message` is built
        and before it is handed to the consumer's callback (or returned by
        ``basic_get``).  Backends that keep a taken message until it is
        settled drop it here.  Default: nothing to do.
        """

    @staticmethod
    def _settle_each(messages: list, settle: Callable[[Message], Any]) -> None:
        """Call ``settle(message)`` for every message, then raise the first error.

        For settlement hooks that talk to the backend one message at a time:
        one failure does not leave the rest of an ``ack(multiple=True)``
        unsettled on the backend.
        """
        error = None
        for message in messages:
            try:
                settle(message)
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error

    @staticmethod
    def _redelivered(message: Message) -> dict:
        """The message's stored dict, copied and marked as redelivered."""
        raw = message.serializable()
        props = dict(raw['properties'])
        info = dict(props.get('delivery_info') or {})
        info['redelivered'] = True
        props['delivery_info'] = info
        raw['properties'] = props
        return raw

    def flow(self, active: bool = True) -> None:
        """Enable/disable message flow.

        Raises:
            NotImplementedError: as flow
                is not implemented by the base virtual implementation.
        """
        raise NotImplementedError('virtual channels do not support flow.')

    def close(self) -> None:
        """Close channel.

        Cancel all consumers, and requeue unacked messages.
        """
        if self.closed:
            return
        self.closed = True
        for consumer in list(self._consumers):
            self.basic_cancel(consumer)
        if self._qos is not None:
            self._qos.restore_unacked_once()
        if self._cycle is not None:
            self._cycle.close()
            self._cycle = None
        connection = self.connection
        if connection is not None and hasattr(connection, 'close_channel'):
            connection.close_channel(self)

    def _reset_cycle(self) -> None:
        self._cycle = FairCycle(self._get_and_deliver, self._active_queues, Empty)
        self._rr = 0

    @property
    def state(self) -> BrokerState:
        """Broker state containing exchanges and bindings."""
        return self.connection.state

    @property
    def qos(self) -> QoS:
        """:class:`QoS` manager for this channel."""
        if self._qos is None:
            self._qos = self.QoS(self)
        return self._qos

    @property
    def cycle(self) -> FairCycle:
        """The :class:`~kombu.utils.scheduling.FairCycle` over consumed queues."""
        if self._cycle is None:
            self._reset_cycle()
        return self._cycle

    @property
    def is_open(self) -> bool:
        return not self.closed

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()



class Management(base.Management):
    """Base class for the AMQP management API."""

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.channel = transport.create_channel(transport)

    def get_bindings(self) -> list[dict]:
        return self.channel.get_bindings()

    def close(self) -> None:
        self.channel.close()


class Transport(base.Transport):
    """Virtual transport.

    Arguments:
        client (kombu.Connection): The client this is a transport for.

    The transport-level connection is the transport itself.  Backends can
    override :meth:`_wait_for_messages` to block until a message may be
    ready instead of sleeping :attr:`polling_interval`, and use
    :meth:`_deliver` from a native poller.
    """

    Channel = Channel
    Cycle = FairCycle
    Management = Management

    #: :class:`~kombu.utils.scheduling.FairCycle` instance
    #: used to fairly drain events from channels (set by constructor).
    cycle: Any = None

    #: port number used when no port is specified.
    default_port: int | None = None

    #: Time to sleep between unsuccessful polls.
    polling_interval: float | None = 1.0

    #: Global :class:`BrokerState` containing declared exchanges and bindings.
    state = BrokerState()

    #: Max number of channels.
    channel_max = 65535

    implements = base.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({'direct', 'topic'}),
        heartbeats=False,
    )

    def __init__(self, client: Any, **kwargs: Any) -> None:
        self.client = client
        #: All channels opened by this transport.
        self.channels: list = []
        self._callbacks: dict = {}
        self._avail_channel_ids: list[int] = []
        self._channel_ids = itertools.count(1)
        self._channel_rr = 0
        self.cycle = self.Cycle(self._drain_channel, self.channels, Empty)
        topts = getattr(client, 'transport_options', None) or {}
        polling_interval = topts.get('polling_interval')
        if polling_interval is not None:
            self.polling_interval = polling_interval

    def _next_channel_id(self) -> int:
        if self._avail_channel_ids:
            return self._avail_channel_ids.pop()
        channel_id = next(self._channel_ids)
        if channel_id > self.channel_max:
            raise ResourceError(f'No free channel ids, max is {self.channel_max}')
        return channel_id

    def create_channel(self, connection: Any) -> Channel:
        """Open a new channel."""
        if len(self.channels) >= self.channel_max:
            raise ChannelLimitExceeded(self.channel_max)
        channel = self.Channel(connection)
        self.channels.append(channel)
        return channel

    def close_channel(self, channel: Channel) -> None:
        """Close one channel and forget it."""
        try:
            self.channels.remove(channel)
        except ValueError:
            return
        channel_id = getattr(channel, 'channel_id', None)
        if channel_id is not None:
            self._avail_channel_ids.append(channel_id)
        channel.close()

    def establish_connection(self) -> Transport:
        """The virtual transport is its own connection: return self."""
        return self

    def close_connection(self, connection: Any) -> None:
        """Close every channel (safe to call twice)."""
        entry = getattr(self, '_loop_entry', None)
        if entry is not None:                 # stop polling from an event loop
            entry.cancel()
            self._loop_entry = None
        self.cycle.close()
        for channel in list(self.channels):
            channel.close()
        self.channels[:] = []

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        """Deliver ready messages to consumer callbacks.

        Delivers one message (up to ``Channel.drain_batch_size``, within the
        prefetch window) from one channel; channels take turns.  When nothing
        is ready it waits (:meth:`_wait_for_messages`, at most
        :attr:`polling_interval` at a time) and tries again.

        Raises:
            socket.timeout: if `timeout` seconds passed with nothing delivered.
        """
        if self._drain_once():
            return
        deadline = None if timeout is None else monotonic() + timeout
        interval = self.polling_interval or 0
        while True:
            if deadline is None:
                wait = interval
            else:
                wait = deadline - monotonic()
                if wait <= 0:
                    raise socket.timeout()
                wait = min(wait, interval) if interval else wait
            self._wait_for_messages(wait)
            if self._drain_once():
                return

    def _drain_once(self) -> int:
        channels = self.channels
        n = len(channels)
        if n == 1:
            channel = channels[0]
            return channel._drain_batch() if channel._active_queues else 0
        start = self._channel_rr
        for i in range(n):
            try:
                channel = channels[(start + i) % n]
            except (IndexError, ZeroDivisionError):
                return 0
            if channel._active_queues:
                count = channel._drain_batch()
                if count:
                    self._channel_rr = (start + i + 1) % n
                    return count
        return 0

    #: Most messages one event-loop poll delivers before yielding to the loop.
    _loop_batch = 100

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        """Poll for messages from the event loop ``loop`` (a socket-less transport).

        Polls every :attr:`polling_interval` seconds (``loop.call_repeatedly``);
        while messages keep coming it polls again on the next iteration.
        """
        self.unregister_from_event_loop(connection, loop)
        interval = max(self.polling_interval or 1.0, 0.01)

        def poll() -> None:
            if ready.cancelled:
                return
            delivered = 0
            while delivered < self._loop_batch:
                count = self._drain_once()
                if not count:
                    break
                delivered += count
            if delivered and not ready.cancelled:
                loop.call_soon(poll)          # more may be waiting

        ready = loop.call_repeatedly(interval, poll)
        self._loop_entry = ready
        loop.call_soon(poll)

    def unregister_from_event_loop(self, connection: Any, loop: Any) -> None:
        """Stop polling from the event loop."""
        entry = getattr(self, '_loop_entry', None)
        if entry is not None:
            entry.cancel()
            self._loop_entry = None

    def _wait_for_messages(self, timeout: float) -> None:
        """Block up to `timeout` seconds for messages to arrive (default: sleep)."""
        if timeout > 0:
            sleep(timeout)

    def _drain_channel(self, channel: Channel, callback: Callable,
                       timeout: float | None = None) -> Any:
        return channel.drain_events(callback=callback, timeout=timeout)

    def _deliver(self, message: dict, queue: str) -> None:
        """Hand a message dict taken from `queue` to its consumer (for native pollers)."""
        try:
            callback = self._callbacks[queue]
        except KeyError:
            self._reject_inbound_message(message, queue)
        else:
            callback(message)

    def _reject_inbound_message(self, message: dict, queue: str) -> None:
        logger.warning(W_NO_CONSUMERS, queue)
        for channel in self.channels:
            if not channel.closed:
                channel._put(queue, message)
                return

    def on_message_ready(self, channel: Channel, message: dict, queue: str) -> None:
        """Deliver `message` from `queue` to `channel`'s consumer."""
        channel._deliver(message, queue)

    def verify_connection(self, connection: Any) -> bool:
        return True

    def driver_version(self) -> str:
        return 'N/A'
