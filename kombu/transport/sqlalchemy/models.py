"""SQLAlchemy models of the SQLAlchemy transport (Kombu's table layout).

Two tables, named ``kombu_queue`` and ``kombu_message`` by default:

* ``kombu_queue``: ``id`` (integer primary key), ``name`` (unique, up to
  200 characters).
* ``kombu_message``: ``id`` (integer primary key; the queue order),
  ``visible`` (bool), ``timestamp`` (when the row was written), ``payload``
  (the message dict as JSON text), ``version`` (small int, always 1 here)
  and ``queue_id`` (foreign key to ``kombu_queue.id``).

This is the layout Kombu has always used, so a database an existing Kombu
installation created can be used as it is: ids come from the sequences
``queue_id_sequence`` / ``message_id_sequence`` where the database has
sequences (PostgreSQL) and from ``AUTO_INCREMENT`` on MySQL/MariaDB.

:class:`Queue` and :class:`Message` map the default table names;
:func:`models_for` builds (once per process) the pair for other names, as
the ``queue_tablename`` / ``message_tablename`` transport options ask.
"""
from __future__ import annotations

import datetime
from threading import Lock

try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql
    from sqlalchemy.orm import registry, relationship
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'The SQLAlchemy transport needs the SQLAlchemy library: '
        'pip install "kombu[sqlalchemy]"') from exc

__all__ = (
    'DEFAULT_QUEUE_TABLENAME', 'DEFAULT_MESSAGE_TABLENAME', 'ModelBase', 'metadata',
    'Queue', 'Message', 'models_for', 'utcnow',
)

DEFAULT_QUEUE_TABLENAME = 'kombu_queue'
DEFAULT_MESSAGE_TABLENAME = 'kombu_message'

#: Longest queue name the ``name`` column holds.
QUEUE_NAME_MAX_LENGTH = 200

#: InnoDB gives row locks (``FOR UPDATE SKIP LOCKED``) and foreign keys.
_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}

#: ``TEXT`` everywhere; ``LONGTEXT`` on MySQL/MariaDB, whose ``TEXT`` stops at 64 KiB.
PAYLOAD_TYPE = (sa.Text().with_variant(mysql.LONGTEXT(), 'mysql')
                .with_variant(mysql.LONGTEXT(), 'mariadb'))


def utcnow() -> datetime.datetime:
    """The current UTC time as a naive datetime (what the ``timestamp`` column stores)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _declare(queue_tablename: str, message_tablename: str) -> tuple[type, type]:
    """Declare the mapped ``Queue`` and ``Message`` classes for two table names."""
    base = registry().generate_base()

    class Queue(base):
        """A named queue (one row per queue)."""

        __tablename__ = queue_tablename
        __table_args__ = dict(_TABLE_ARGS)

        id = sa.Column(sa.Integer, sa.Sequence('queue_id_sequence'),
                       primary_key=True, autoincrement=True)
        name = sa.Column(sa.String(QUEUE_NAME_MAX_LENGTH), unique=True)
        messages = relationship('Message', back_populates='queue', passive_deletes=True)

        def __repr__(self) -> str:
            return f'<Queue({self.name!r})>'

    class Message(base):
        """One stored message; ``payload`` is the message dict as JSON."""

        __tablename__ = message_tablename
        __table_args__ = (
            sa.Index(f'ix_{message_tablename}_queue_id_id'[:60], 'queue_id', 'id'),
            dict(_TABLE_ARGS),
        )

        id = sa.Column(sa.Integer, sa.Sequence('message_id_sequence'),
                       primary_key=True, autoincrement=True)
        visible = sa.Column(sa.Boolean, default=True, index=True)
        sent_at = sa.Column('timestamp', sa.DateTime, nullable=True, index=True,
                            default=utcnow)
        payload = sa.Column(PAYLOAD_TYPE, nullable=False)
        version = sa.Column(sa.SmallInteger, nullable=False, default=1)
        queue_id = sa.Column(sa.Integer, sa.ForeignKey(
            f'{queue_tablename}.id', name=f'FK_{message_tablename}_queue'[:60]))
        queue = relationship(Queue, back_populates='messages')

        def __repr__(self) -> str:
            return f'<Message({self.id!r}, queue_id={self.queue_id!r})>'

    for cls in (Queue, Message):
        cls.__qualname__ = cls.__name__
        cls.__module__ = __name__
    return Queue, Message


Queue, Message = _declare(DEFAULT_QUEUE_TABLENAME, DEFAULT_MESSAGE_TABLENAME)

#: Declarative base class of :class:`Queue` and :class:`Message`.
ModelBase = Queue.__mro__[1]

#: :class:`sqlalchemy.MetaData` holding the two default tables.
metadata = Queue.metadata

_models = {(DEFAULT_QUEUE_TABLENAME, DEFAULT_MESSAGE_TABLENAME): (Queue, Message)}
_models_lock = Lock()


def models_for(queue_tablename: str | None = None,
               message_tablename: str | None = None) -> tuple[type, type]:
    """Return the ``(Queue, Message)`` model classes mapping the given table names.

    Each pair is declared once per process, in its own metadata (so several
    pairs can be used side by side).

    Raises:
        ValueError: if a table name is empty or not a string.
    """
    queue_tablename = queue_tablename or DEFAULT_QUEUE_TABLENAME
    message_tablename = message_tablename or DEFAULT_MESSAGE_TABLENAME
    for option, value in (('queue_tablename', queue_tablename),
                          ('message_tablename', message_tablename)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f'{option} must be a non-empty string, not {value!r}')
    if queue_tablename == message_tablename:
        raise ValueError(
            f'queue_tablename and message_tablename must differ (both {queue_tablename!r})')
    key = (queue_tablename, message_tablename)
    try:
        return _models[key]
    except KeyError:
        pass
    with _models_lock:
        if key not in _models:
            _models[key] = _declare(queue_tablename, message_tablename)
        return _models[key]
