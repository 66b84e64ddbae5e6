"""SQLAlchemy Transport Model.

Stores messages in a relational database through SQLAlchemy (``pip install
"kombu[sqlalchemy]"`` plus the database's DBAPI driver, e.g. psycopg2 or
PyMySQL).  The URL is ``sqla+`` or ``sqlalchemy+`` followed by a
SQLAlchemy database URL, which is passed to :func:`sqlalchemy.create_engine`
unchanged (query string included)::

    sqla+postgresql://user:password@localhost:5432/dbname
    sqlalchemy+mysql+pymysql://user@localhost:3306/dbname
    sqla+sqlite:////var/spool/kombu.db

Transport options:

* ``queue_tablename`` (default ``'kombu_queue'``) and
  ``message_tablename`` (default ``'kombu_message'``): the tables used (see
  :mod:`kombu.transport.sqlalchemy.models`).  Missing tables are created on
  connect; existing ones (e.g. made by another Kombu) are used as they are.
* ``engine_options`` (dict): extra keyword arguments for
  :func:`sqlalchemy.create_engine`, over the defaults ``pool_pre_ping=True``
  and, on PostgreSQL and MySQL/MariaDB, ``isolation_level='READ COMMITTED'``.
* ``polling_interval`` (default 1.0 s): how long an idle consumer waits
  between polls of the database.

Guarantees:

* A consumer takes a message in one transaction: it selects the queue's
  oldest visible row with ``SELECT ... FOR UPDATE SKIP LOCKED`` and deletes
  it.  Consumers in other processes skip rows locked that way, so no two of
  them ever get the same message (on a database without row locks, such as
  SQLite, the delete's row count tells when another consumer won the row).
* Messages come out in insertion order.  A requeued or recovered message
  goes back at the *head* of its queue (it is written again with an id below
  every other one).  A message that was taken but never acked is written
  back when its channel closes.
* Tables and rows of Kombu 4.x are used as they are, in both directions:
  its messages are consumed here and ours by it.  (Kombu 4.x marks a
  message it took invisible instead of deleting it; such rows are no
  messages here, and ``queue_purge`` removes them uncounted.)
* One engine (and connection pool) per database URL and engine options is
  shared by every connection in the process; after a fork the child gets
  fresh database connections.

Exchanges and bindings live in memory, per process (as in Kombu): a
publisher routes through the bindings it declared itself (``Producer``
declares its entities) or publishes on the default exchange with the queue
name as routing key.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any

from kombu.utils.imports import import_extra
from kombu.utils.json import dumps, loads

from .. import virtual
from ..virtual.base import Empty

__all__ = ('Channel', 'Transport')

logger = logging.getLogger(__name__)


#: Database servers (READ COMMITTED by default here, which keeps InnoDB from
#: taking gap locks that block publishers; the driver gets connect_timeout).
_SERVER_BACKENDS = ('postgresql', 'mysql', 'mariadb')

#: How often a write is retried after losing a race (queue deleted meanwhile,
#: id taken by a concurrent requeue).
_WRITE_ATTEMPTS = 5

#: Drivers tried, in order, when a URL names none and the dialect's default is missing.
_FALLBACK_DRIVERS = {
    'postgresql': ('psycopg2', 'psycopg', 'pg8000'),
    'mysql': ('mysqldb', 'pymysql'),
    'mariadb': ('mysqldb', 'pymysql'),
}

_engines: dict[tuple, Any] = {}
_engines_lock = threading.Lock()
_tables_ready: set[tuple] = set()


def _import_sqlalchemy() -> Any:
    """Import SQLAlchemy, or raise ImportError naming the extra."""
    return import_extra('sqlalchemy', 'sqlalchemy', 'The SQLAlchemy transport', 'SQLAlchemy')


def _dispose_engines_after_fork() -> None:
    """Give the child of a fork its own database connections."""
    for engine in list(_engines.values()):
        try:
            engine.dispose(close=False)
        except TypeError:  # pragma: no cover - SQLAlchemy < 1.4.33
            engine.pool = engine.pool.recreate()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_dispose_engines_after_fork)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.close()


def _make_engine(url: str, engine_options: dict) -> Any:
    """Create an engine for ``url`` and connect it once."""
    sa = _import_sqlalchemy()
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise ValueError(f'sqlalchemy transport: invalid database URL {url!r}: {exc}') from exc
    backend = parsed.get_backend_name()
    options: dict = {'pool_pre_ping': True}
    if backend in _SERVER_BACKENDS:
        options['isolation_level'] = 'READ COMMITTED'
    options.update(engine_options)
    engine = _create_engine(sa, url, parsed, options)
    if backend == 'sqlite':
        sa.event.listen(engine, 'connect', _enable_sqlite_foreign_keys)
    try:
        with engine.connect():
            pass  # connects, and lets the dialect inspect the server
    except BaseException:
        engine.dispose()
        raise
    if engine.dialect.name in ('mysql', 'mariadb'):
        # Ids come from AUTO_INCREMENT on MySQL/MariaDB, as in tables made by
        # Kombu, not from sequences (which MariaDB >= 10.3 also has).
        engine.dialect.supports_sequences = False
    return engine


def _create_engine(sa: Any, url: str, parsed: Any, options: dict) -> Any:
    """``create_engine``; a URL naming no driver also tries the other known drivers."""
    candidates = [parsed]
    if '+' not in parsed.drivername:
        candidates += [parsed.set(drivername=f'{parsed.drivername}+{driver}')
                       for driver in _FALLBACK_DRIVERS.get(parsed.drivername, ())]
    missing = []
    for candidate in candidates:
        try:
            return sa.create_engine(candidate, **options)
        except sa.exc.NoSuchModuleError as exc:
            if candidate is parsed:
                raise ValueError(
                    f'sqlalchemy transport: unknown database dialect in {url!r}: {exc}'
                ) from exc
            missing.append(str(exc))
        except ImportError as exc:
            missing.append(f'{candidate.drivername}: {exc}')
    raise ImportError(f'sqlalchemy transport: no database driver installed for {url!r} '
                      f'({"; ".join(missing)})')


def get_engine(url: str, engine_options: dict | None = None) -> Any:
    """Return the process-wide engine for ``url`` and ``engine_options``.

    Raises:
        ValueError: for a malformed URL or an unknown dialect.
        ImportError: when SQLAlchemy or the database driver is missing.
        sqlalchemy.exc.OperationalError: when the database cannot be reached.
    """
    engine_options = dict(engine_options or {})
    key = (url, repr(sorted(engine_options.items())), os.getpid())
    engine = _engines.get(key)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(key)
            if engine is None:
                engine = _engines[key] = _make_engine(url, engine_options)
    return engine


def _create_tables(engine: Any, models: tuple[type, type]) -> None:
    """Create the tables of ``models`` unless they exist (once per process)."""
    sa = _import_sqlalchemy()
    key = (id(engine), models)
    if key in _tables_ready:
        return
    tables = [cls.__table__ for cls in models]
    metadata = tables[0].metadata
    try:
        metadata.create_all(engine, tables=tables, checkfirst=True)
    except sa.exc.DBAPIError:
        # Another process may have created them between check and create.
        metadata.create_all(engine, tables=tables, checkfirst=True)
    _tables_ready.add(key)


class Channel(virtual.Channel):
    """SQLAlchemy Channel: stores queues and messages in database tables."""

    restore_to_head = True

    _session: Any = None

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self._sa = _import_sqlalchemy()
        from . import models
        self._now = models.utcnow
        self._max_name_length = models.QUEUE_NAME_MAX_LENGTH
        self._statements: dict[str, Any] = {}

    # -- configuration -----------------------------------------------------

    @property
    def queue_tablename(self) -> str:
        """Name of the queue table (``queue_tablename`` option, default ``'kombu_queue'``)."""
        return self.queue_cls.__tablename__

    @property
    def message_tablename(self) -> str:
        """Name of the message table (``message_tablename`` option, default ``'kombu_message'``)."""
        return self.message_cls.__tablename__

    @property
    def queue_cls(self) -> type:
        """Mapped class of the queue table."""
        return self.connection.models[0]

    @property
    def message_cls(self) -> type:
        """Mapped class of the message table."""
        return self.connection.models[1]

    @property
    def engine(self) -> Any:
        """The :class:`sqlalchemy.engine.Engine` used (shared per URL)."""
        return self.connection.engine

    @property
    def session(self) -> Any:
        """An ORM :class:`sqlalchemy.orm.Session` on the engine, closed with the channel."""
        if self._session is None:
            from sqlalchemy.orm import Session
            self._session = Session(bind=self.engine)
        return self._session

    def close(self) -> None:
        """Close the channel (unacked messages are written back) and its session."""
        super().close()
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- statements --------------------------------------------------------

    def _stmt(self, name: str) -> Any:
        """The prepared Core statement ``name`` (built once per channel)."""
        try:
            return self._statements[name]
        except KeyError:
            stmt = self._statements[name] = getattr(self, f'_build_{name}')()
            return stmt

    def _queue_id_of(self) -> Any:
        sa, q = self._sa, self.queue_cls.__table__
        return sa.select(q.c.id).where(q.c.name == sa.bindparam('queue')).scalar_subquery()

    def _ready(self) -> Any:
        """Where-clause: visible messages of the queue bound as ``queue``."""
        sa, m = self._sa, self.message_cls.__table__
        return sa.and_(m.c.queue_id == self._queue_id_of(), m.c.visible == sa.true())

    def _build_take(self) -> Any:
        sa, m = self._sa, self.message_cls.__table__
        return (sa.select(m.c.id, m.c.payload).where(self._ready())
                .order_by(m.c.id).limit(1).with_for_update(skip_locked=True))

    def _build_remove(self) -> Any:
        sa, m = self._sa, self.message_cls.__table__
        return sa.delete(m).where(m.c.id == sa.bindparam('message_id'))

    def _build_insert(self) -> Any:
        return self._sa.insert(self.message_cls.__table__)

    def _build_size(self) -> Any:
        sa, m = self._sa, self.message_cls.__table__
        return sa.select(sa.func.count()).select_from(m).where(self._ready())

    def _build_purge(self) -> Any:
        return self._sa.delete(self.message_cls.__table__).where(self._ready())

    def _build_purge_taken(self) -> Any:
        sa, m = self._sa, self.message_cls.__table__
        return sa.delete(m).where(sa.and_(m.c.queue_id == self._queue_id_of(),
                                          m.c.visible == sa.false()))

    def _build_lowest_id(self) -> Any:
        sa, m = self._sa, self.message_cls.__table__
        return sa.select(sa.func.min(m.c.id))

    def _build_find_queue(self) -> Any:
        sa, q = self._sa, self.queue_cls.__table__
        return sa.select(q.c.id).where(q.c.name == sa.bindparam('queue'))

    # -- queues ------------------------------------------------------------

    def _check_queue_name(self, queue: str) -> None:
        if not isinstance(queue, str) or not queue:
            raise ValueError(f'sqlalchemy transport: invalid queue name {queue!r}')
        if len(queue) > self._max_name_length:
            raise ValueError(
                f'sqlalchemy transport: queue name {queue!r} is longer than '
                f'{self._max_name_length} characters')

    def _find_queue(self, queue: str) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(self._stmt('find_queue'), {'queue': queue}).scalar()

    def _queue_id(self, queue: str, refresh: bool = False) -> int:
        """The id of ``queue``'s row, created if missing (cached per transport)."""
        ids = self.connection.queue_ids
        if not refresh:
            try:
                return ids[queue]
            except KeyError:
                pass
        self._check_queue_name(queue)
        IntegrityError = self._sa.exc.IntegrityError
        for _ in range(_WRITE_ATTEMPTS):
            queue_id = self._find_queue(queue)
            if queue_id is None:
                try:
                    with self.engine.begin() as conn:
                        result = conn.execute(
                            self._sa.insert(self.queue_cls.__table__), {'name': queue})
                        queue_id = result.inserted_primary_key[0]
                except IntegrityError:
                    continue  # created by someone else meanwhile: look it up again
            ids[queue] = queue_id
            return queue_id
        raise RuntimeError(f'sqlalchemy transport: could not create queue {queue!r}')

    def _forget_queue(self, queue: str) -> None:
        self.connection.queue_ids.pop(queue, None)

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        """Create the queue's row unless it exists."""
        self._queue_id(queue, refresh=True)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        """Return true if the queue's row exists."""
        return self._find_queue(queue) is not None

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        """Remove the queue's messages and its row."""
        sa = self._sa
        q, m = self.queue_cls.__table__, self.message_cls.__table__
        self._forget_queue(queue)
        with self.engine.begin() as conn:
            queue_id = conn.execute(self._stmt('find_queue'), {'queue': queue}).scalar()
            if queue_id is not None:
                conn.execute(sa.delete(m).where(m.c.queue_id == queue_id))
                conn.execute(sa.delete(q).where(q.c.id == queue_id))

    def _size(self, queue: str) -> int:
        """Number of visible messages in the queue."""
        with self.engine.begin() as conn:
            return int(conn.execute(self._stmt('size'), {'queue': queue}).scalar() or 0)

    def _purge(self, queue: str) -> int:
        """Delete the queue's visible messages; return how many.

        Rows Kombu 4.x marked invisible when it took them (it never deletes
        them; they are no messages any more) are removed as well, uncounted.
        """
        with self.engine.begin() as conn:
            count = conn.execute(self._stmt('purge'), {'queue': queue}).rowcount
            conn.execute(self._stmt('purge_taken'), {'queue': queue})
            return count

    # -- messages ----------------------------------------------------------

    def _insert(self, queue: str, message: dict, at_head: bool = False) -> None:
        """Write ``message`` on ``queue``; ``at_head``: with an id below all others."""
        values = {'payload': dumps(message), 'visible': True, 'version': 1}
        IntegrityError = self._sa.exc.IntegrityError
        for attempt in range(_WRITE_ATTEMPTS):
            values['queue_id'] = self._queue_id(queue)
            values['timestamp'] = self._now()
            try:
                with self.engine.begin() as conn:
                    if at_head:
                        lowest = conn.execute(self._stmt('lowest_id')).scalar()
                        values['id'] = min(lowest or 0, 0) - 1
                    conn.execute(self._stmt('insert'), values)
                return
            except IntegrityError:
                # The queue was deleted meanwhile (foreign key), or another
                # requeue took the same head id: refresh and try again.
                self._forget_queue(queue)
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        """Append ``message`` to the queue (creating the queue if needed)."""
        self._insert(queue, message)

    def _restore_at_beginning(self, message: Any) -> None:
        """Write an unacked message back at the head of the queue it came from."""
        queue = getattr(message, '_queue', None)
        if queue is None:
            return self._restore(message)
        self._insert(queue, self._redelivered(message), at_head=True)
        return None

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        """Take the oldest visible message of the queue, or raise :exc:`Empty`.

        Selected ``FOR UPDATE SKIP LOCKED`` and deleted in one transaction,
        so a competing consumer never gets the same message.
        """
        take, remove = self._stmt('take'), self._stmt('remove')
        while True:
            with self.engine.begin() as conn:
                row = conn.execute(take, {'queue': queue}).first()
                if row is None:
                    raise Empty()
                taken = conn.execute(remove, {'message_id': row[0]}).rowcount == 1
            if not taken:
                continue  # another consumer deleted it first (no row locks here)
            try:
                return loads(row[1])
            except ValueError as exc:
                logger.error('sqlalchemy transport: dropped message %r of queue %r: '
                             'payload is not JSON (%s): %.200r', row[0], queue, exc, row[1])


class Transport(virtual.Transport):
    """SQLAlchemy Transport (``sqla+<database URL>``)."""

    Channel = Channel

    can_parse_url = True
    default_port = 0
    driver_type = 'sql'
    driver_name = 'sqlalchemy'

    #: Exchanges and bindings declared through SQLAlchemy transports of this process.
    state = virtual.BrokerState()

    implements = virtual.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({'direct', 'topic', 'fanout'}),
    )

    def __init__(self, client: Any, **kwargs: Any) -> None:
        sa = _import_sqlalchemy()
        super().__init__(client, **kwargs)
        exc = sa.exc
        self.connection_errors = virtual.Transport.connection_errors + (
            exc.OperationalError, exc.InterfaceError, exc.DisconnectionError,
            exc.TimeoutError)
        self.channel_errors = virtual.Transport.channel_errors + (
            exc.ProgrammingError, exc.IntegrityError, exc.DataError,
            exc.NotSupportedError, exc.InternalError)
        #: Queue name -> id of its row (filled as queues are used).
        self.queue_ids: dict[str, int] = {}
        self._engine: Any = None
        self._models: tuple[type, type] | None = None

    @property
    def recoverable_connection_errors(self) -> tuple:
        return tuple(self.connection_errors)

    @property
    def recoverable_channel_errors(self) -> tuple:
        return ()

    @property
    def transport_options(self) -> dict:
        return getattr(self.client, 'transport_options', None) or {}

    @property
    def url(self) -> str:
        """The SQLAlchemy database URL (the part after ``sqla+``)."""
        url = getattr(self.client, 'hostname', None)
        if not isinstance(url, str) or '://' not in url:
            raise ValueError(
                'sqlalchemy transport needs a database URL such as '
                f"'sqla+postgresql://user@host/dbname', not hostname {url!r}")
        return url

    @property
    def models(self) -> tuple[type, type]:
        """The ``(Queue, Message)`` model classes for the configured table names."""
        if self._models is None:
            from .models import models_for
            options = self.transport_options
            self._models = models_for(options.get('queue_tablename'),
                                      options.get('message_tablename'))
        return self._models

    @property
    def engine(self) -> Any:
        """The shared engine for the URL, with the tables created."""
        if self._engine is None:
            engine_options = self.transport_options.get('engine_options') or {}
            if not isinstance(engine_options, dict):
                raise ValueError(
                    f'sqlalchemy transport: engine_options must be a dict, not '
                    f'{engine_options!r}')
            engine = get_engine(self.url, self._engine_options(engine_options))
            _create_tables(engine, self.models)
            self._engine = engine
        return self._engine

    def _engine_options(self, engine_options: dict) -> dict:
        """``engine_options`` plus the Connection's ``connect_timeout`` for the driver."""
        timeout = getattr(self.client, 'connect_timeout', None)
        backend = self.url.partition('://')[0].partition('+')[0]
        if (not timeout or 'connect_args' in engine_options or 'connect_timeout' in self.url
                or backend not in _SERVER_BACKENDS):
            return engine_options
        # psycopg2/psycopg and PyMySQL/mysqlclient take whole seconds.
        return dict(engine_options, connect_args={'connect_timeout': max(1, round(timeout))})

    def establish_connection(self) -> Transport:
        """Connect to the database (creating missing tables); return self."""
        self.engine  # noqa: B018 - connects, raising one of connection_errors
        return self

    def driver_version(self) -> str:
        return _import_sqlalchemy().__version__
