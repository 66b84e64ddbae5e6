"""Redis transport.

Connection string: ``redis://[:password@]host[:port][/db]``, ``rediss://`` for
TLS, ``redis+socket:///path/to/redis.sock`` for a unix socket and
``sentinel://host:26379;sentinel://other:26379`` (transport option
``master_name``) for Redis Sentinel.  The virtual host is the database number.

How it works (see :mod:`kombu.transport._redis_scripts` for the data layout):

* publishing is one Lua call that reads the exchange's bindings and pushes the
  message on every matching queue, so routing is always current even when
  another process changes the bindings; the call is pipelined: up to
  ``publish_window`` replies are read in one go (unconfirmed publishes are
  sent again after a connection loss, see :mod:`kombu.transport._redis_publish`);
* consuming is one Lua call that pops up to the free prefetch window *and*
  records every message in the unacked hash/index in the same atomic step,
  after first applying the acknowledgements collected since the previous
  call; acks are therefore batched without weakening at-least-once delivery;
* an idle consumer blocks on its Pub/Sub connection, which carries both the
  fanout messages and a "doorbell" published when a queue becomes non-empty;
* unacknowledged messages older than ``visibility_timeout`` are moved back
  to their queue by one atomic script run at most once per
  ``unacked_restore_interval`` among all consumers (``unacked_mutex_key``).

Transport options: ``body_encoding``, ``deadletter_queue``, ``sep``,
``ack_emulation``, ``unacked_key``, ``unacked_index_key``,
``unacked_mutex_key``, ``unacked_mutex_expire``, ``visibility_timeout``,
``unacked_restore_limit``, ``fanout_prefix``, ``fanout_patterns``,
``socket_timeout``, ``socket_connect_timeout``, ``socket_keepalive``,
``socket_keepalive_options``, ``queue_order_strategy``, ``max_connections``,
``priority_steps``, and beyond those ``global_keyprefix``,
``health_check_interval``, ``retry_on_timeout``, ``unacked_restore_interval``,
``fetch_batch_size``, ``ack_batch_size``, ``doorbell_poll_interval``,
``publish_window``, ``master_name``, ``min_other_sentinels``, ``sentinel_kwargs``
and ``ssl_*``.

Install :pypi:`hiredis` next to :pypi:`redis` for faster reply parsing.
"""
from __future__ import annotations

import numbers
import socket
import warnings
from bisect import bisect_right
from collections import deque
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import parse_qsl, unquote

from kombu.exceptions import InconsistencyError, OperationalError, VersionMismatch
from kombu.log import get_logger
from kombu.utils.json import dumps
from kombu.utils.objects import cached_property
from kombu.utils.scheduling import cycle_by_name

from . import _redis_scripts as scripts
from . import virtual
from ._redis_consume import ConsumingMixin
from ._redis_poller import MultiChannelPoller
from ._redis_publish import PublishWindow

try:
    import redis
except ImportError:  # pragma: no cover
    redis = None

__all__ = ('Transport', 'Channel', 'QoS', 'MultiChannelPoller',
           'SentinelTransport', 'SentinelChannel')

logger = get_logger(__name__)

DEFAULT_PORT = 6379
DEFAULT_DB = 0
DEFAULT_HEALTH_CHECK_INTERVAL = 25
PRIORITY_STEPS = [0, 3, 6, 9]

#: Channel name prefix of the "queue became non-empty" notifications.
DOORBELL_PREFIX = '__kombu.ready/{db}/'


def get_redis_error_classes() -> tuple[tuple, tuple]:
    """Return ``(connection_errors, channel_errors)`` for redis-py."""
    if redis is None:  # pragma: no cover
        return (), ()
    from redis import exceptions
    connection_errors = virtual.Transport.connection_errors + (
        InconsistencyError, socket.error, IOError, OSError,
        exceptions.ConnectionError, exceptions.AuthenticationError,
        exceptions.TimeoutError, exceptions.BusyLoadingError,
    )
    channel_errors = virtual.Transport.channel_errors + (
        exceptions.DataError, exceptions.InvalidResponse, exceptions.ResponseError,
    )
    return connection_errors, channel_errors


def _check_redis_version() -> None:
    if redis is None:
        raise ImportError('Missing redis library: install kombu[redis] (pip install redis)')
    major = int(redis.__version__.split('.')[0])
    if major < 3:
        raise VersionMismatch(
            f'Redis transport requires redis-py versions 3.2.0 or later. '
            f'You have {redis.__version__}')


def _quick_retry() -> Any:
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    return Retry(NoBackoff(), 1)


def _default_restore_interval(visibility_timeout: float) -> float:
    """A quarter of the visibility timeout, between 50 ms and 10 s."""
    return max(0.05, min(float(visibility_timeout) / 4.0, 10.0))


def _s(value: Any) -> str:
    return value.decode('utf-8', 'replace') if isinstance(value, bytes) else value


class QoS(virtual.QoS):
    """Redis Ack Emulation.

    Every delivered message is already in the unacked hash/index when it
    reaches us (the fetch script put it there atomically), so the engine's
    :meth:`append` only records it locally.  Acking (and rejecting without
    requeue) queues the message's Redis tag (:meth:`Channel._on_ack`); the
    queued tags are removed with the next fetch (same round trip), or earlier
    when ``ack_batch_size`` are pending, before the consumer blocks, and when
    the channel closes.
    """

    restore_at_shutdown = True

    @contextmanager
    def pipe_or_acquire(self, pipe: Any = None, client: Any = None) -> Iterator[Any]:
        """Yield ``pipe``, or a new pipeline of ``client`` (default: the channel's)."""
        if pipe:
            yield pipe
        else:
            with self.channel.conn_or_acquire(client) as client:
                with client.pipeline() as new_pipe:
                    yield new_pipe

    def restore_unacked(self, client: Any = None) -> list:
        """Restore all unacknowledged messages (in one atomic round trip).

        Returns:
            list: ``(exception, message)`` for messages that could not be
            restored now (they come back after ``visibility_timeout``).
        """
        messages = self.take_all()
        try:
            self.channel._restore_messages(messages, client=client)
        except self.channel.connection.connection_errors as exc:
            return [(exc, message) for message in messages]
        return []

    def restore_by_tag(self, tag: Any, client: Any = None, leftmost: bool = False) -> None:
        """Put the message of delivery ``tag`` back on the queue it came from.

        ``tag`` is the channel's delivery tag, or the message's Redis tag
        (``properties['delivery_tag']``).
        """
        messages = self.take(tag)
        if messages:
            self.channel._restore_messages(messages, client=client, leftmost=leftmost)
        else:
            self.channel._restore_tags([tag], client=client, leftmost=leftmost)

    def restore_visible(self, start: int = 0, num: int = 10, interval: int = 10) -> int:
        """Restore any pending unacknowledged messages older than ``visibility_timeout``.

        Runs at most once per ``unacked_restore_interval`` among all
        consumers (``unacked_mutex_key`` is the gate), restores at most
        ``unacked_restore_limit`` messages per run (all when unset) and
        returns how many it restored.
        """
        return self.channel._restore_visible()

    @property
    def unacked_key(self) -> str:
        return self.channel.unacked_key

    @property
    def unacked_index_key(self) -> str:
        return self.channel.unacked_index_key

    @property
    def unacked_mutex_key(self) -> str:
        return self.channel.unacked_mutex_key

    @property
    def unacked_mutex_expire(self) -> int:
        return self.channel.unacked_mutex_expire

    @property
    def visibility_timeout(self) -> float:
        return self.channel.visibility_timeout


class Channel(ConsumingMixin, virtual.Channel):
    """Redis Channel."""

    QoS = QoS

    _client = None
    _subclient = None
    _closing = False
    supports_fanout = True
    keyprefix_queue = '_kombu.binding.%s'
    keyprefix_fanout = '/{db}.'
    sep = '\x06\x16'
    ack_emulation = True
    unacked_key = 'unacked'
    unacked_index_key = 'unacked_index'
    unacked_mutex_key = 'unacked_mutex'
    unacked_mutex_expire = 300  # seconds
    unacked_restore_limit = None
    visibility_timeout = 3600   # 1 hour
    priority_steps = PRIORITY_STEPS
    socket_timeout = None
    socket_connect_timeout = None
    socket_keepalive = None
    socket_keepalive_options = None
    queue_order_strategy = 'round_robin'
    max_connections = 10
    #: Transport option to disable fanout keyprefix.
    #: Can also be string, in which case it changes the default
    #: prefix ('/{db}.') into to something else.  The prefix must
    #: include a leading slash and a trailing dot.
    #:
    #: Enabled by default since Kombu 4.x.
    #: Disable for backwards compatibility with Kombu 3.x.
    fanout_prefix = True
    #: If enabled the fanout exchange will support patterns in routing
    #: and binding keys (like a topic exchange but using PUB/SUB).
    #:
    #: Enabled by default since Kombu 4.x.
    #: Disable for backwards compatibility with Kombu 3.x.
    fanout_patterns = True

    #: Prefix of every key this channel uses (bindings, queues, unacked state).
    global_keyprefix = ''
    #: Seconds between connection health checks (0 disables them).
    health_check_interval = DEFAULT_HEALTH_CHECK_INTERVAL
    #: Retry a command once after a socket timeout.
    retry_on_timeout = False
    #: Seconds between restores of expired unacked messages (shared by all
    #: consumers); default: a quarter of ``visibility_timeout``, at most 10 s.
    unacked_restore_interval = None
    #: Most messages taken per round trip when the prefetch count is unlimited.
    fetch_batch_size = 100
    #: Acknowledgements sent at the latest when this many are pending.
    ack_batch_size = 100
    #: Publishes in flight before their replies are read (1: synchronous).
    publish_window = 100
    #: Idle consumers poll this often even without a doorbell (covers
    #: producers that don't ring it, e.g. other Kombu versions).
    doorbell_poll_interval = 1.0
    #: Client class (default: ``redis.Connection`` or its TLS/unix variants).
    connection_class = None

    from_transport_options = (
        virtual.Channel.from_transport_options +
        ('sep', 'ack_emulation', 'unacked_key', 'unacked_index_key',
         'unacked_mutex_key', 'unacked_mutex_expire', 'visibility_timeout',
         'unacked_restore_limit', 'fanout_prefix', 'fanout_patterns',
         'socket_timeout', 'socket_connect_timeout', 'socket_keepalive',
         'socket_keepalive_options', 'queue_order_strategy', 'max_connections',
         'priority_steps')
    )
    #: Options read from ``transport_options`` beyond the Kombu 4.6.7 set.
    extra_transport_options = (
        'global_keyprefix', 'health_check_interval', 'retry_on_timeout',
        'unacked_restore_interval', 'fetch_batch_size', 'ack_batch_size',
        'doorbell_poll_interval', 'publish_window',
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.connection.client.transport_options
        for name in self.extra_transport_options:
            if name in options:
                setattr(self, name, options[name])
        self._validate_options()
        self._queue_cycle = cycle_by_name(self.queue_order_strategy)()
        self.active_fanout_queues: set = set()
        self.auto_delete_queues: set = set()
        self._fanout_queues: dict[str, tuple[str, str]] = {}
        self._fanout_to_queue: dict[str, str] = {}
        self._noack_queues: set = set()
        self._ready: deque = deque()
        self._pending_acks: list = []
        self._dirty = True
        self._pairs_cache: dict = {}
        self._seen_seq = -1
        self._last_fetch = 0.0
        self._subscribed: set = set()
        self.keyprefix_fanout = self._fanout_prefix()
        self._doorbell = self.global_keyprefix + DOORBELL_PREFIX.format(db=self.db)
        # connect now: a bad address, password or db number fails here
        self.connection._check_connect(self.client)
        self.connection.cycle.add(self)

    # -- options -----------------------------------------------------------

    def _validate_options(self) -> None:
        if self.unacked_restore_interval is None:
            self.unacked_restore_interval = _default_restore_interval(self.visibility_timeout)
        self.priority_steps = sorted(int(s) for s in self.priority_steps) or [0]
        if self.priority_steps[0] != 0:
            self.priority_steps = [0] + self.priority_steps
        self.global_keyprefix = self.global_keyprefix or ''

    def _fanout_prefix(self) -> str:
        prefix = self.fanout_prefix
        if not prefix:
            return ''
        if not isinstance(prefix, str):
            prefix = self.keyprefix_fanout
        return self.global_keyprefix + prefix.format(db=self.db)

    @property
    def db(self) -> int:
        return self.connection._db

    # -- keys --------------------------------------------------------------

    def _key(self, name: str) -> str:
        return self.global_keyprefix + name

    def _binding_key(self, exchange: str) -> str:
        return self.global_keyprefix + self.keyprefix_queue % (exchange,)

    def _q_for_pri(self, queue: str, pri: int) -> str:
        pri = self.priority(pri)
        if pri:
            return f'{queue}{self.sep}{pri}'
        return queue

    def priority(self, n: int) -> int:
        """Map priority ``n`` to the step it is stored under (largest step <= n)."""
        steps = self.priority_steps
        try:
            n = int(n or 0)
        except (TypeError, ValueError):
            n = 0
        return steps[max(0, bisect_right(steps, n) - 1)]

    def _queue_keys(self, queue: str) -> list[str]:
        return [self._key(self._q_for_pri(queue, pri)) for pri in self.priority_steps]

    @cached_property
    def _fetch_keys(self) -> list[str]:
        hash_key = self._key(self.unacked_key)
        return [hash_key, self._key(self.unacked_index_key), hash_key + '.queues',
                hash_key + '.seq']

    @cached_property
    def _restore_keys(self) -> list[str]:
        return self._fetch_keys[:3] + [self._key(self.unacked_mutex_key)]

    # -- redis clients -----------------------------------------------------

    @property
    def pool(self) -> Any:
        if self._pool is None:
            self._pool = self._get_pool()
        return self._pool

    _pool = None
    _async_pool = None

    @property
    def async_pool(self) -> Any:
        return self.pool

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        return self.connection._connparams(self)

    def _get_pool(self, asynchronous: bool = False) -> Any:
        params = self._connparams(asynchronous=asynchronous)
        return redis.ConnectionPool(**params)

    def _create_client(self, asynchronous: bool = False) -> Any:
        return redis.Redis(connection_pool=self.pool)

    @property
    def client(self) -> Any:
        """Client used to publish messages, BRPOP etc."""
        if self._publisher is not None and self._publisher.pending:
            # publishes must be visible to whatever the channel does next
            self._publisher.confirm()
        if self._client is None:
            self._client = self._create_client()
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self._client = value

    _publisher = None

    def _publish_window(self) -> PublishWindow:
        if self._publisher is None:
            self._publisher = PublishWindow(self.pool, self.publish_window,
                                            tuple(self.connection.connection_errors))
        return self._publisher

    @property
    def subclient(self) -> Any:
        """Pub/Sub connection used to consume fanout queues."""
        if self._subclient is None:
            self._subclient = self.client.pubsub(ignore_subscribe_messages=True)
        return self._subclient

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        """Yield ``client``, or the channel's client."""
        yield client if client is not None else self.client

    @cached_property
    def _scripts(self) -> dict[str, Any]:
        return {name: self.client.register_script(getattr(scripts, name))
                for name in ('PUBLISH', 'FETCH', 'RESTORE', 'PURGE')}

    def _run(self, name: str, keys: list, args: list, client: Any = None) -> Any:
        """Run a script; without ``client``, pipelined behind pending publishes."""
        if client is not None:
            return self._scripts[name](keys=keys, args=args, client=client)
        return self._publish_window().call(self._scripts[name], keys, args)

    # -- storage primitives ------------------------------------------------

    def _new_queue(self, queue: str, auto_delete: bool = False, **kwargs: Any) -> None:
        if auto_delete:
            self.auto_delete_queues.add(queue)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        if queue in self.state.queue_index:
            return True
        with self.client.pipeline() as pipe:
            for key in self._queue_keys(queue):
                pipe.exists(key)
            return any(pipe.execute())

    def _size(self, queue: str) -> int:
        with self.client.pipeline() as pipe:
            for key in self._queue_keys(queue):
                pipe.llen(key)
            return sum(s for s in pipe.execute() if isinstance(s, numbers.Integral))

    def _purge(self, queue: str) -> int:
        return self._run('PURGE', self._queue_keys(queue), [])

    def _delete(self, queue: str, exchange: str = '', routing_key: str = '',
                pattern: str = '', *args: Any, **kwargs: Any) -> None:
        self.auto_delete_queues.discard(queue)
        with self.client.pipeline() as pipe:
            if exchange:
                pipe.srem(self._binding_key(exchange),
                          self.sep.join([routing_key or '', pattern or '', queue]))
            pipe.delete(*self._queue_keys(queue))
            pipe.execute()

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        """Deliver message to ``queue`` (its priority step from the message)."""
        self._publish_routed(message, '', queue)

    def _put_fanout(self, exchange: str, message: dict, routing_key: str, **kwargs: Any) -> None:
        """Deliver fanout message (PUBLISH on the exchange's channel)."""
        self.client.publish(self._get_publish_topic(exchange, routing_key), dumps(message))

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        """Pop one message, recorded as unacked unless ``queue`` is consumed with no_ack."""
        got = self._fetch(self._pairs([queue]), 1)
        if not got:
            raise virtual.Empty()
        return got[0][0]

    def queue_bind(self, queue: str, exchange: str | None = None, routing_key: str = '',
                   arguments: dict | None = None, **kwargs: Any) -> None:
        """Bind `queue` to `exchange` with `routing key` (stored in Redis)."""
        name = exchange or 'amq.direct'
        known = self.state.has_binding(queue, name, routing_key)
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)
        if known:
            # the process-wide state knew it: make sure this server has it too
            meta = self.typeof(name).prepare_bind(queue, name, routing_key, arguments)
            self._queue_bind(name, *meta)

    def _queue_bind(self, exchange: str, routing_key: str, pattern: Any, queue: str) -> None:
        if self.typeof(exchange).type == 'fanout':
            # Mark exchange as fanout.
            self._fanout_queues[queue] = (exchange, routing_key.replace('#', '*'))
        self.client.sadd(self._binding_key(exchange),
                         self.sep.join([routing_key or '', pattern or '', queue]))

    def _queue_unbind(self, exchange: str, routing_key: str, pattern: Any, queue: str) -> None:
        self.client.srem(self._binding_key(exchange),
                         self.sep.join([routing_key or '', pattern or '', queue]))

    def get_table(self, exchange: str) -> list[tuple[str, str, str]]:
        """Get table of bindings for exchange."""
        key = self._binding_key(exchange)
        table = []
        for value in self.client.smembers(key):
            parts = _s(value).split(self.sep)
            if len(parts) == 3:
                table.append((parts[0], parts[1], parts[2]))
        return table

    # -- publishing --------------------------------------------------------

    def basic_publish(self, message: dict, exchange: str, routing_key: str,
                      **kwargs: Any) -> None:
        """Publish message: one round trip, routed by the bindings stored in Redis."""
        self._inplace_augment_message(message, exchange, routing_key)
        if not exchange:
            self._publish_routed(message, '', routing_key)
            return
        if exchange in self.state.exchanges:
            xtype = self.typeof(exchange).type
        else:
            xtype = 'any'   # not declared here: direct or topic, per binding
        if xtype == 'fanout':
            self._put_fanout(exchange, message, routing_key, **kwargs)
        elif xtype in ('direct', 'topic', 'any'):
            if self._publish_routed(message, xtype, routing_key, exchange) < 0:
                warnings.warn(virtual.UndeliverableWarning(virtual.base.UNDELIVERABLE_FMT.format(
                    exchange=exchange, routing_key=routing_key)), stacklevel=2)
        else:
            self.typeof(exchange).deliver(message, exchange, routing_key, **kwargs)

    def _publish_routed(self, message: dict, xtype: str, routing_key: str,
                        exchange: str = '') -> int:
        """Run the publish script; return the queue count (-1: dead-lettered)."""
        pri = self.priority((message.get('properties') or {}).get('priority'))
        suffix = f'{self.sep}{pri}' if pri else ''
        keys = [self._binding_key(exchange)]
        args = [dumps(message), xtype, routing_key, self.sep, self.global_keyprefix,
                suffix, self.deadletter_queue or '', self._doorbell]
        self.connection._publish_seq += 1
        if self.deadletter_queue:
            return self._run('PUBLISH', keys, args)
        self._publish_window().send(self._scripts['PUBLISH'], keys, args)
        return 0

    def _get_publish_topic(self, exchange: str, routing_key: str) -> str:
        if routing_key and self.fanout_patterns:
            return f'{self.keyprefix_fanout}{exchange}/{routing_key}'
        return f'{self.keyprefix_fanout}{exchange}'

    def _get_subscribe_topics(self, queue: str) -> list[str]:
        exchange, routing_key = self._fanout_queues[queue]
        base = f'{self.keyprefix_fanout}{exchange}'
        if not self.fanout_patterns:
            return [base]
        if routing_key in ('', '*'):
            return [base, base + '/*']
        return [base + '/' + routing_key]

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        """Get message by direct access (synchronous); ``None`` if the queue is empty."""
        got = self._fetch(self._pairs([queue]), 1, no_ack=no_ack)
        if not got:
            return None
        message = self.Message(got[0][0], channel=self, delivery_tag=self._next_tag(),
                               queue=queue)
        if not no_ack:
            self.qos.append(message, message.delivery_tag)
        return message

    # -- closing -----------------------------------------------------------

    def close(self) -> None:
        """Close channel.

        Cancel all consumers, and requeue unacked messages.
        """
        if self._closing or self.closed:
            return
        self._closing = True
        try:
            self._put_back_at_close()
            if self._client is not None:
                for queue in list(self.auto_delete_queues):
                    try:
                        self.queue_delete(queue)
                    except self._errors:
                        pass
        finally:
            self.connection.cycle.discard(self)
            super().close()
            self._disconnect()

    @staticmethod
    def _on_unconfirmed(exc: Exception, count: int) -> None:
        logger.error('%d published message(s) could not be confirmed at close (%r): '
                     'they may be lost', count, exc)

    @property
    def _errors(self) -> tuple:
        return tuple(self.connection.connection_errors) + tuple(self.connection.channel_errors)

    def _put_back_at_close(self) -> None:
        tags = [tag for _, _, tag in self._ready if tag is not None]
        self._ready.clear()
        qos = self._qos
        if qos is not None and qos.restore_at_shutdown and self.do_restore:
            tags += [t for t in map(self._redis_tag, qos.take_all()) if t]
        if not tags and not self._pending_acks:
            return
        try:
            self._restore_tags(tags)
        except self._errors as exc:
            logger.warning('Could not restore %d unacked message(s) at close (%r): '
                           'they come back after visibility_timeout', len(tags), exc)

    def _disconnect(self) -> None:
        if self._publisher is not None:
            self._publisher.close(on_error=self._on_unconfirmed)
            self._publisher = None
        if self._subclient is not None:
            try:
                self._subclient.close()
            except Exception:  # noqa: BLE001 - already broken
                pass
            self._subclient = None
        if self._pool is not None:
            self._pool.disconnect()
            self._pool = None
        self._client = None


class Transport(virtual.Transport):
    """Redis Transport."""

    Channel = Channel

    polling_interval = None  # disable sleep between unsuccessful polls.
    default_port = DEFAULT_PORT
    driver_type = 'redis'
    driver_name = 'redis'

    implements = virtual.Transport.implements.extend(
        asynchronous=True,
        exchange_type=frozenset(['direct', 'topic', 'fanout']),
    )

    #: Exchanges and bindings declared through Redis transports of this process.
    state = virtual.BrokerState()

    #: Publishes made through this connection (consumers fetch after one).
    _publish_seq = 0

    if redis:
        connection_errors, channel_errors = get_redis_error_classes()
        recoverable_connection_errors = connection_errors
        recoverable_channel_errors = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _check_redis_version()
        super().__init__(*args, **kwargs)
        # All channels share the same poller.
        self.cycle = MultiChannelPoller()

    def _check_connect(self, client: Any) -> None:
        """PING through ``client``; a missing database becomes a clear error."""
        try:
            client.ping()
        except redis.exceptions.ResponseError as exc:
            if 'DB index' in str(exc):
                raise OperationalError(
                    f'Redis database {self._db} does not exist on the server '
                    f'(virtual host {self.client.virtual_host!r}): {exc}') from exc
            raise

    def driver_version(self) -> str:
        return redis.__version__

    @property
    def _db(self) -> int:
        vhost = self.client.virtual_host
        if self.client.hostname and str(self.client.hostname).startswith('socket://'):
            query = dict(parse_qsl(str(self.client.hostname).partition('?')[2]))
            vhost = query.get('virtual_host', vhost)
        if not vhost or vhost == '/':
            return DEFAULT_DB
        try:
            return int(str(vhost).strip('/') or DEFAULT_DB)
        except ValueError:
            raise ValueError(
                f'Database is int between 0 and limit - 1, not {vhost!r}') from None

    def _connparams(self, channel: Any) -> dict[str, Any]:
        client = self.client
        params: dict[str, Any] = {
            'host': client.hostname or '127.0.0.1',
            'port': client.port or self.default_port,
            'username': client.userid or None,
            'password': client.password,
            'db': self._db,
            'socket_timeout': channel.socket_timeout,
            'socket_connect_timeout': (channel.socket_connect_timeout
                                       if channel.socket_connect_timeout is not None
                                       else client.connect_timeout),
            'socket_keepalive': channel.socket_keepalive,
            'socket_keepalive_options': channel.socket_keepalive_options,
            'health_check_interval': channel.health_check_interval,
            'retry_on_timeout': channel.retry_on_timeout,
            'max_connections': channel.max_connections,
            'protocol': 2,
            # one immediate retry (a killed connection); longer waits and
            # failover are Connection.ensure's job
            'retry': _quick_retry(),
        }
        host = str(params['host'])
        if host.startswith('socket://'):
            path = unquote(host[len('socket://'):].partition('?')[0])
            for key in ('host', 'port', 'socket_keepalive', 'socket_keepalive_options'):
                params.pop(key, None)
            params['path'] = path
            params['connection_class'] = redis.UnixDomainSocketConnection
        elif self._use_ssl():
            params['connection_class'] = redis.SSLConnection
            params.update(self._ssl_params())
        if channel.connection_class is not None:
            params['connection_class'] = channel.connection_class
        return params

    def _confirm_publishes(self, current: Any = None) -> None:
        """Read the pending publish replies of every channel but ``current``."""
        for channel in self.channels:
            window = getattr(channel, '_publisher', None)
            if channel is not current and window is not None and window.pending:
                window.confirm()

    def _restore_interval(self) -> float:
        intervals = [c.unacked_restore_interval for c in self.channels]
        if not intervals:
            options = self.client.transport_options
            interval = options.get('unacked_restore_interval')
            if interval is None:
                vt = float(options.get('visibility_timeout', Channel.visibility_timeout))
                interval = _default_restore_interval(vt)
            intervals = [interval]
        return min(intervals)

    def _use_ssl(self) -> bool:
        return bool(self.client.ssl) or self.client.transport_cls == 'rediss'

    def _ssl_params(self) -> dict[str, Any]:
        ssl = self.client.ssl
        out: dict[str, Any] = {}
        if isinstance(ssl, dict):
            for key, value in ssl.items():
                out[key if key.startswith('ssl_') else 'ssl_' + key] = value
        for key, value in self.client.transport_options.items():
            if key.startswith('ssl_'):
                out[key] = value
        reqs = out.get('ssl_cert_reqs')
        if isinstance(reqs, str):
            import ssl as _ssl
            name = reqs.upper() if reqs.upper().startswith('CERT_') else 'CERT_' + reqs.upper()
            try:
                out['ssl_cert_reqs'] = getattr(_ssl, name)
            except AttributeError:
                raise ValueError(f'Unknown ssl_cert_reqs value: {reqs!r} '
                                 f'(use none, optional or required)') from None
        return out

    def establish_connection(self) -> Any:
        """Check that the server answers (address, password, db), return self."""
        self.close_channel(self.create_channel(self))
        return super().establish_connection()

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        cycle = self.cycle
        cycle.on_poll_init(loop.poller)
        on_readable = self.on_readable
        added: dict = {}  # fd -> socket object registered with the loop

        scheduled = [False]

        def deliver_more() -> None:
            # runs from the loop's ready queue; while there is more to do it
            # stays queued, so the loop polls without blocking
            scheduled[0] = False
            cycle._deliver_ready()
            if not cycle.has_work():
                cycle._flush_acks()
            elif not scheduled[0]:
                scheduled[0] = True
                loop.call_soon(deliver_more)

        def on_poll_start() -> None:
            cycle._deliver_ready()
            if cycle.has_work():
                if not scheduled[0]:
                    scheduled[0] = True
                    loop.call_soon(deliver_more)
            else:
                cycle._flush_acks()
            cycle.on_poll_start()
            sockets = cycle.sockets
            for fd, sock in sockets.items():
                if added.get(fd) is not sock:  # new, or reconnected on the same fd
                    added[fd] = sock
                    loop.add_reader(fd, on_readable, fd)
            for fd in list(added):
                if fd not in sockets:
                    del added[fd]
                    loop.remove_reader(fd)

        def poll_again() -> None:
            for channel in list(cycle._channels):
                channel._maybe_poll_again()

        def on_window_open() -> None:
            # an ack made room in a prefetch window (acks often run from the
            # loop's ready queue, after this tick decided there was no work)
            if not scheduled[0] and cycle.has_work():
                scheduled[0] = True
                loop.call_soon(deliver_more)

        cycle.on_window_open = on_window_open
        loop.on_tick.add(on_poll_start)
        loop.call_repeatedly(self._restore_interval(), cycle.maybe_restore_messages)
        loop.call_repeatedly(1.0, poll_again)
        health = [c.health_check_interval for c in self.channels if c.health_check_interval]
        if health:
            loop.call_repeatedly(min(health), cycle.maybe_check_subclient_health)

    def on_readable(self, fileno: int) -> None:
        """Handle AIO event for one of our file descriptors."""
        self.cycle.on_readable(fileno)

    def drain_events(self, connection: Any, timeout: float | None = None,
                     **kwargs: Any) -> None:
        self.cycle.get(timeout=timeout)

    def close_connection(self, connection: Any) -> None:
        super().close_connection(connection)
        self.cycle.close()
        self.cycle = MultiChannelPoller()


class SentinelChannel(Channel):
    """Channel with explicit Redis Sentinel knowledge.

    Broker url is supposed to look like::

        sentinel://0.0.0.0:26379;sentinel://0.0.0.0:26380/...

    where each sentinel is separated by a ``;``.  The ``master_name``
    transport option names the monitored master.
    """

    from_transport_options = Channel.from_transport_options + (
        'master_name', 'min_other_sentinels', 'sentinel_kwargs')

    master_name = None
    min_other_sentinels = 0
    sentinel_kwargs = None
    connection_class = None

    def _sentinel_managed_pool(self, asynchronous: bool = False) -> Any:
        from redis.sentinel import Sentinel

        params = self._connparams(asynchronous)
        sentinels = []
        client = self.connection.client
        urls = [client.hostname] + list(client.alt or [])
        seen = set()
        for url in urls:
            host, port = _sentinel_address(url, params)
            if (host, port) not in seen:
                seen.add((host, port))
                sentinels.append((host, port))
        for key in ('host', 'port', 'max_connections'):
            params.pop(key, None)
        if self.master_name is None:
            raise ValueError("'master_name' transport option must be specified.")
        sentinel_kwargs = self.sentinel_kwargs
        if sentinel_kwargs is None:
            # ask the next sentinel at once when one is down, don't back off
            sentinel_kwargs = {k: v for k, v in params.items() if k.startswith('socket_')}
            sentinel_kwargs['retry'] = _quick_retry()
        sentinel = Sentinel(sentinels, min_other_sentinels=self.min_other_sentinels,
                            sentinel_kwargs=sentinel_kwargs, **params)
        return sentinel.master_for(self.master_name, redis.Redis).connection_pool

    def _get_pool(self, asynchronous: bool = False) -> Any:
        return self._sentinel_managed_pool(asynchronous)


def _sentinel_address(url: str, params: dict) -> tuple[str, int]:
    if '://' in str(url):
        from kombu.utils.url import url_to_parts
        parts = url_to_parts(url)
        return parts.hostname or '127.0.0.1', parts.port or 26379
    return str(url or params.get('host') or '127.0.0.1'), int(params.get('port') or 26379)


class SentinelTransport(Transport):
    """Redis Sentinel Transport."""

    default_port = 26379
    Channel = SentinelChannel

