"""MongoDB transport.

Requires pymongo (``pip install "kombu[mongodb]"``).  URL:
``mongodb://[user:password@]host[:port][/database][?options]``; the database
defaults to ``kombu_default``, host and port to ``127.0.0.1:27017``.  Other
query options (e.g. ``replicaSet``) are handed to pymongo, except kombu's own
transport options (``ttl``, ``capped_queue_size``, ...), which are consumed.

Collections (names are transport options):

* ``messages``: one document per message ``{queue, payload (JSON),
  priority, [expire_at]}``; taken with an atomic ``find_one_and_delete`` in
  priority then insertion order (higher message priority first).
* ``messages.routing``: bindings ``{queue, exchange, routing_key, pattern}``
  shared by every client, so a publisher routes through bindings another
  process declared.
* ``messages.broadcast``: a capped collection (``capped_queue_size`` bytes)
  receiving fanout messages ``{queue: <exchange>, payload}``; every queue bound
  to a fanout exchange reads them with its own tailable cursor, from the time
  it was bound.
* ``messages.queues``: queue options when ``ttl`` is on.

With the ``ttl`` transport option, the ``x-message-ttl`` and ``x-expires``
queue arguments (milliseconds) are honoured through ``expire_at`` fields and
MongoDB TTL indexes.  ``calc_queue_size=False`` makes ``queue_declare``
report 0 messages without counting.
"""
from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from kombu.utils.json import dumps, loads

from . import virtual
from .base import to_rabbitmq_queue_arguments
from .virtual.base import Empty

try:
    import pymongo
    from pymongo import errors as _mongo_errors
except ImportError:  # pragma: no cover - exercised with the extra missing
    pymongo = None
    _mongo_errors = None

__all__ = ('Channel', 'Transport')

DEFAULT_HOST = '127.0.0.1'
DEFAULT_PORT = 27017


def _require_pymongo() -> Any:
    if pymongo is None:
        raise ImportError(
            'The MongoDB transport requires pymongo: pip install "kombu[mongodb]"')
    return pymongo


def _error_classes() -> tuple[tuple, tuple]:
    """``(connection_errors, channel_errors)`` for the installed pymongo."""
    conn = virtual.Transport.connection_errors
    chan = virtual.Transport.channel_errors
    if _mongo_errors is not None:
        conn = conn + (_mongo_errors.ConnectionFailure,)
        chan = chan + (_mongo_errors.ConnectionFailure, _mongo_errors.OperationFailure)
    return conn, chan


def _ms(value: Any, name: str) -> int | None:
    """A queue argument in milliseconds, as int (None when unset)."""
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f'Queue argument {name!r} must be a number of '
                         f'milliseconds, not {value!r}') from None


class BroadcastCursor:
    """Reads a fanout exchange's messages for one queue, from where it left off."""

    def __init__(self, collection: Any, exchange: str, since: Any) -> None:
        self.collection = collection
        self.exchange = exchange
        self.last_id = since
        self._cursor: Any = None

    def _open(self) -> Any:
        return self.collection.find(
            {'queue': self.exchange, '_id': {'$gt': self.last_id}},
            cursor_type=pymongo.CursorType.TAILABLE)

    def next(self) -> dict | None:
        """The next broadcast document, or None."""
        for _ in range(2):
            cursor = self._cursor
            if cursor is None or not cursor.alive:
                cursor = self._cursor = self._open()
            try:
                doc = next(cursor)
            except StopIteration:
                if cursor.alive:          # tailing, nothing new yet
                    return None
                self._cursor = None
                continue
            self.last_id = doc['_id']
            return doc
        return None

    def close(self) -> None:
        cursor, self._cursor = self._cursor, None
        if cursor is not None and hasattr(cursor, 'close'):
            cursor.close()


class Channel(virtual.Channel):
    """MongoDB Channel."""

    supports_fanout = True

    # Mutable settings (transport options)
    connect_timeout: float | None = None
    ssl: Any = False
    ttl = False
    capped_queue_size = 100000
    calc_queue_size = True

    default_hostname = DEFAULT_HOST
    default_port = DEFAULT_PORT
    default_database = 'kombu_default'

    messages_collection = 'messages'
    routing_collection = 'messages.routing'
    broadcast_collection = 'messages.broadcast'
    queues_collection = 'messages.queues'

    from_transport_options = virtual.Channel.from_transport_options + (
        'connect_timeout', 'ssl', 'ttl', 'capped_queue_size',
        'default_hostname', 'default_port', 'default_database',
        'messages_collection', 'routing_collection',
        'broadcast_collection', 'queues_collection',
        'calc_queue_size',
    )

    def __init__(self, *vargs: Any, **kwargs: Any) -> None:
        _require_pymongo()
        super().__init__(*vargs, **kwargs)
        self._client: Any = None
        self._database: Any = None
        self._broadcast_cursors: dict[str, BroadcastCursor] = {}
        self._fanout_queues: dict[str, set] = {}
        self.ttl = self._as_bool(self.ttl)
        self.calc_queue_size = self._as_bool(self.calc_queue_size)
        self.capped_queue_size = int(self.capped_queue_size)

    @staticmethod
    def _as_bool(value: Any) -> bool:
        if isinstance(value, str):
            return value.strip().lower() in ('1', 'true', 'yes', 'on')
        return bool(value)

    # -- connection ---------------------------------------------------------

    def _connection_url(self) -> tuple[str, str]:
        """``(url for pymongo, database name)`` from the kombu Connection."""
        client = self.connection.client
        hostname = client.hostname or self.default_hostname
        if '://' not in hostname:
            port = client.port or self.default_port
            hostname = f'mongodb://{hostname}:{port}/{client.virtual_host or ""}'
        scheme, _, rest = hostname.partition('://')
        location, _, query = rest.partition('?')
        netloc, _, path = location.partition('/')
        if not netloc.rpartition('@')[2]:
            netloc += f'{self.default_hostname}:{client.port or self.default_port}'
        database = path.strip('/') or (client.virtual_host or '').strip('/')
        own = set(self.from_transport_options) | {'polling_interval', 'drain_batch_size'}
        options = [(k, v) for k, v in parse_qsl(query) if k not in own]
        url = f'mongodb://{netloc}/'
        if options:
            url += '?' + urlencode(options)
        return url, database or self.default_database

    def _create_client(self) -> tuple[Any, Any]:
        url, database = self._connection_url()
        conninfo = self.connection.client
        options: dict[str, Any] = {}
        if conninfo.userid:
            options['username'] = conninfo.userid
        if conninfo.password:
            options['password'] = conninfo.password
        timeout = self.connect_timeout or conninfo.connect_timeout
        if timeout:
            options['connectTimeoutMS'] = int(float(timeout) * 1000)
            options['serverSelectionTimeoutMS'] = int(float(timeout) * 1000)
        ssl = self.ssl or conninfo.ssl
        if ssl:
            options['tls'] = True
            if isinstance(ssl, dict):
                options.update(ssl)
        mongoclient = self._mongo_client_class()(url, **options)
        db = mongoclient[database]
        self._ensure_indexes(db)
        return mongoclient, db

    @staticmethod
    def _mongo_client_class() -> Any:
        return _require_pymongo().MongoClient

    def _ensure_indexes(self, db: Any) -> None:
        messages = db[self.messages_collection]
        messages.create_index([('queue', 1), ('priority', 1), ('_id', 1)])
        db[self.routing_collection].create_index([('queue', 1), ('exchange', 1)])
        if self.ttl:
            messages.create_index([('expire_at', 1)], expireAfterSeconds=0)
            db[self.routing_collection].create_index([('expire_at', 1)],
                                                     expireAfterSeconds=0)
            db[self.queues_collection].create_index([('expire_at', 1)],
                                                    expireAfterSeconds=0)

    def _open_broadcast(self, db: Any) -> Any:
        name = self.broadcast_collection
        try:
            db.create_collection(name, capped=True, size=self.capped_queue_size)
        except _mongo_errors.CollectionInvalid:
            pass                          # already exists
        return db[name]

    @property
    def client(self) -> Any:
        """The :class:`pymongo.database.Database` of this channel (connects lazily)."""
        if self._database is None:
            self._client, self._database = self._create_client()
        return self._database

    @property
    def messages(self) -> Any:
        return self.client[self.messages_collection]

    @property
    def routing(self) -> Any:
        return self.client[self.routing_collection]

    @property
    def broadcast(self) -> Any:
        try:
            return self._broadcast
        except AttributeError:
            self._broadcast = self._open_broadcast(self.client)
            return self._broadcast

    @property
    def queues(self) -> Any:
        return self.client[self.queues_collection]

    def get_now(self) -> datetime.datetime:
        """Return current time in UTC."""
        return datetime.datetime.now(datetime.timezone.utc)

    # -- primitives -----------------------------------------------------------

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        """Record the queue's TTL options (only when ``ttl`` is on)."""
        if self.ttl:
            options = self.prepare_queue_arguments(kwargs.get('arguments') or {})
            doc = {'options': options, 'expire_at': self._queue_expire_at(options)}
            self.queues.update_one({'_id': queue}, {'$set': doc}, upsert=True)

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        """Take the next message of ``queue`` (direct, then broadcast) or raise Empty."""
        doc = self.messages.find_one_and_delete(
            {'queue': queue}, sort=[('priority', pymongo.ASCENDING),
                                    ('_id', pymongo.ASCENDING)])
        if doc is None:
            cursor = self._broadcast_cursors.get(queue)
            doc = cursor.next() if cursor is not None else None
            if doc is None:
                raise Empty()
        if self.ttl:
            self._touch_queue(queue)
        return loads(doc['payload'])

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        """Insert ``message`` for ``queue``."""
        doc = {'queue': queue, 'payload': dumps(message),
               'priority': self._get_message_priority(message, reverse=True)}
        if self.ttl:
            expire_at = self._message_expire_at(queue, message)
            if expire_at is not None:
                doc['expire_at'] = expire_at
        self.messages.insert_one(doc)

    def _size(self, queue: str) -> int:
        """Number of messages waiting in ``queue`` (0 if ``calc_queue_size`` is off)."""
        if not self.calc_queue_size:
            return 0
        return self.messages.count_documents({'queue': queue})

    def _purge(self, queue: str) -> int:
        """Remove the messages of ``queue`` (and skip its pending broadcasts); return how many."""
        removed = self.messages.delete_many({'queue': queue}).deleted_count
        cursor = self._broadcast_cursors.get(queue)
        if cursor is not None:
            while cursor.next() is not None:
                removed += 1
        return removed

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        """Drop the queue's messages, options and fanout cursor."""
        self.messages.delete_many({'queue': queue})
        if self.ttl:
            self.queues.delete_one({'_id': queue})
        self._drop_fanout(queue)

    def queue_delete(self, queue: str, **kwargs: Any) -> int:
        """Delete queue."""
        self.routing.delete_many({'queue': queue})
        return super().queue_delete(queue, **kwargs)

    # -- routing ------------------------------------------------------------

    def get_table(self, exchange: str) -> list:
        """Get table of bindings for exchange."""
        if exchange not in self.state.exchanges:
            raise KeyError(exchange)
        now = self.get_now() if self.ttl else None
        table = []
        for doc in self.routing.find({'exchange': exchange}):
            expire_at = doc.get('expire_at')
            if now is not None and expire_at is not None and \
                    _aware(expire_at) <= now:
                continue
            table.append((doc['routing_key'], doc.get('pattern'), doc['queue']))
        return table

    def _queue_bind(self, exchange: str, routing_key: str, pattern: Any,
                    queue: str) -> None:
        doc = {'queue': queue, 'exchange': exchange, 'routing_key': routing_key,
               'pattern': pattern}
        update: dict[str, Any] = {'$set': dict(doc)}
        if self.ttl:
            expire_at = self._queue_expire_at(self._queue_options(queue))
            update['$set']['expire_at'] = expire_at
        self.routing.update_one(doc, update, upsert=True)
        if self.typeof(exchange).type == 'fanout':
            self._create_broadcast_cursor(exchange, queue)

    def _queue_unbind(self, exchange: str, routing_key: str, pattern: Any,
                      queue: str) -> None:
        self.routing.delete_many({'queue': queue, 'exchange': exchange,
                                  'routing_key': routing_key})
        if exchange in self._fanout_queues.get(queue, ()):
            self._fanout_queues[queue].discard(exchange)
            if not self._fanout_queues[queue]:
                self._drop_fanout(queue)

    def _put_fanout(self, exchange: str, message: dict, routing_key: str,
                    **kwargs: Any) -> None:
        """Append ``message`` to the broadcast collection for ``exchange``."""
        self.broadcast.insert_one({'queue': exchange, 'payload': dumps(message)})

    def _create_broadcast_cursor(self, exchange: str, queue: str) -> None:
        self._fanout_queues.setdefault(queue, set()).add(exchange)
        if queue not in self._broadcast_cursors:
            since = _object_id_at(self.get_now())
            self._broadcast_cursors[queue] = BroadcastCursor(self.broadcast, exchange, since)

    def _drop_fanout(self, queue: str) -> None:
        self._fanout_queues.pop(queue, None)
        cursor = self._broadcast_cursors.pop(queue, None)
        if cursor is not None:
            cursor.close()

    # -- TTL ----------------------------------------------------------------

    def prepare_queue_arguments(self, arguments: dict | None, **kwargs: Any) -> dict:
        """The queue arguments kept for TTL: ``x-expires``/``x-message-ttl`` as ints (ms).

        ``Queue`` options (``expires``, ``message_ttl``, …) arrive as ``kwargs``
        and become the same ``x-`` arguments.
        """
        options: dict[str, Any] = {}
        arguments = to_rabbitmq_queue_arguments(arguments or {}, **kwargs)
        for key, value in arguments.items():
            if key in ('x-expires', 'x-message-ttl'):
                options[key] = _ms(value, key)
            else:
                options[key] = value
        return options

    def _queue_options(self, queue: str) -> dict:
        doc = self.queues.find_one({'_id': queue})
        return (doc or {}).get('options') or {}

    def _queue_expire_at(self, options: dict) -> datetime.datetime | None:
        expires = options.get('x-expires')
        if expires is None:
            return None
        return self.get_now() + datetime.timedelta(milliseconds=expires)

    def _touch_queue(self, queue: str) -> None:
        """Restart the queue's ``x-expires`` clock (it was used)."""
        options = self._queue_options(queue)
        expire_at = self._queue_expire_at(options)
        if expire_at is not None:
            self.queues.update_one({'_id': queue}, {'$set': {'expire_at': expire_at}})
            self.routing.update_many({'queue': queue}, {'$set': {'expire_at': expire_at}})

    def _message_expire_at(self, queue: str, message: dict) -> datetime.datetime | None:
        options = self._queue_options(queue)
        candidates = []
        ttl = options.get('x-message-ttl')
        if ttl is not None:
            candidates.append(self.get_now() + datetime.timedelta(milliseconds=ttl))
        queue_expiry = self._queue_expire_at(options)
        if queue_expiry is not None:
            candidates.append(queue_expiry)
        return min(candidates) if candidates else None

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        """Close the channel and its MongoDB client."""
        super().close()
        for queue in list(self._broadcast_cursors):
            self._drop_fanout(queue)
        client, self._client, self._database = self._client, None, None
        if client is not None:
            client.close()


def _aware(value: datetime.datetime) -> datetime.datetime:
    """A datetime read back from MongoDB (naive UTC) as an aware one."""
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


def _object_id_at(when: datetime.datetime) -> Any:
    """The lowest ObjectId of the second ``when`` is in (broadcasts from then on)."""
    from bson.objectid import ObjectId
    return ObjectId.from_datetime(when)


class Transport(virtual.Transport):
    """MongoDB Transport."""

    Channel = Channel

    can_parse_url = True
    polling_interval = 1
    default_port = DEFAULT_PORT
    connection_errors, channel_errors = _error_classes()
    recoverable_connection_errors = connection_errors
    recoverable_channel_errors = ()
    driver_type = 'mongodb'
    driver_name = 'pymongo'

    implements = virtual.Transport.implements.extend(
        exchange_type=frozenset({'direct', 'topic', 'fanout'}),
    )

    def establish_connection(self) -> Transport:
        """Check that the server answers a ping (else raise a connection error)."""
        channel = self.create_channel(self)
        try:
            channel.client.command('ping')
        finally:
            self.close_channel(channel)
        return self

    def driver_version(self) -> str:
        return _require_pymongo().version
