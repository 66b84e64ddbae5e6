"""SQLAlchemy transport without a database server: SQLite files and compiled SQL.

SQLite is a real (embedded) database, so these tests run the transport end
to end; the SQL sent to PostgreSQL/MySQL is checked by compiling it with
those dialects (no connection).  The server tests are in
t/integration/test_sqlalchemy.py.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid

import pytest

from kombu import Connection, Exchange, Queue
from kombu.transport import resolve_transport
from kombu.transport.virtual.base import Empty

sa = pytest.importorskip('sqlalchemy')

from kombu.transport import sqlalchemy as sqla  # noqa: E402
from kombu.transport.sqlalchemy import models  # noqa: E402


@pytest.fixture
def url(tmp_path) -> str:
    return f'sqla+sqlite:///{tmp_path / "kombu.db"}'


@pytest.fixture
def conn(url):
    c = Connection(url, transport_options={'polling_interval': 0.01})
    yield c
    c.release()


@pytest.fixture
def ch(conn):
    return conn.default_channel


def _payloads(channel, queue: str) -> list:
    m = channel.message_cls.__table__
    q = channel.queue_cls.__table__
    with channel.engine.connect() as c:
        rows = c.execute(sa.select(m.c.payload).join(q, q.c.id == m.c.queue_id)
                         .where(q.c.name == queue).order_by(m.c.id)).scalars().all()
    return [json.loads(p) for p in rows]


# -- names, import, URL ------------------------------------------------------

def test_aliases_resolve_to_the_transport():
    assert resolve_transport('sqla') is sqla.Transport
    assert resolve_transport('sqlalchemy') is sqla.Transport
    assert Connection('sqla+sqlite://').transport_cls == 'sqla'
    assert isinstance(Connection('sqlalchemy+sqlite://').transport, sqla.Transport)


def test_import_does_not_load_sqlalchemy():
    code = ('import sys, kombu.transport.sqlalchemy as m; '
            'print("sqlalchemy" in sys.modules, m.Transport.driver_name)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ['False', 'sqlalchemy']


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, 'sqlalchemy', None)
    with pytest.raises(ImportError, match=r'kombu\[sqlalchemy\]'):
        _ = Connection('sqla+sqlite://').transport


def test_url_after_prefix_is_the_database_url(url):
    c = Connection(url)
    assert c.uri_prefix == 'sqla'
    assert c.transport.url == url.partition('+')[2]


def test_hostname_without_database_url_is_refused():
    c = Connection(transport='sqlalchemy', hostname='localhost')
    with pytest.raises(ValueError, match="'localhost'"):
        c.connect()


def test_unknown_dialect_is_refused():
    with pytest.raises(ValueError, match='nosuchdb'):
        Connection('sqla+nosuchdb://x/y').connect()


@pytest.mark.parametrize('bad', ['not a url', 'postgresql://h:notaport/db'])
def test_malformed_url_is_refused(bad):
    with pytest.raises(ValueError, match='invalid database URL'):
        sqla.get_engine(bad)


def test_engine_options_must_be_a_dict(url):
    c = Connection(url, transport_options={'engine_options': 'pool_size=1'})
    with pytest.raises(ValueError, match='pool_size=1'):
        c.connect()


def test_url_without_driver_falls_back_to_an_installed_one():
    engine = sqla._create_engine(sa, 'postgresql://u@h/db',
                                 sa.engine.make_url('postgresql://u@h/db'), {})
    assert engine.dialect.name == 'postgresql'


def test_no_driver_at_all_is_an_import_error(monkeypatch):
    monkeypatch.setitem(sqla._FALLBACK_DRIVERS, 'postgresql', ('nosuchdriver',))
    url = 'postgresql+nosuchdriver2://u@h/db'
    with pytest.raises((ImportError, ValueError), match='nosuchdriver2'):
        sqla._create_engine(sa, url, sa.engine.make_url(url), {})


def test_transport_attributes(conn):
    t = conn.transport
    assert t.driver_type == 'sql' and t.driver_name == 'sqlalchemy'
    assert t.driver_version() == sa.__version__
    assert t.can_parse_url
    assert t.implements.exchange_type == frozenset({'direct', 'topic', 'fanout'})
    assert not t.implements.asynchronous
    assert sa.exc.OperationalError in t.connection_errors
    assert sa.exc.InterfaceError in t.connection_errors
    assert sa.exc.ProgrammingError in t.channel_errors
    assert sa.exc.IntegrityError in t.channel_errors
    assert t.recoverable_connection_errors == tuple(t.connection_errors)
    assert t.recoverable_channel_errors == ()
    assert sa.exc.OperationalError in conn.connection_errors


def test_polling_interval_default_and_option(url):
    assert Connection(url).transport.polling_interval == 1.0
    c = Connection(url, transport_options={'polling_interval': 0.3})
    assert c.transport.polling_interval == 0.3


def test_connect_timeout_reaches_server_drivers_only():
    c = Connection('sqla+postgresql://u@h/db', connect_timeout=3)
    assert c.transport._engine_options({}) == {'connect_args': {'connect_timeout': 3}}
    assert c.transport._engine_options({'connect_args': {}}) == {'connect_args': {}}
    assert Connection('sqla+sqlite://').transport._engine_options({}) == {}


# -- models --------------------------------------------------------------------

def test_default_models_have_kombu_layout():
    assert models.Queue.__tablename__ == 'kombu_queue'
    assert models.Message.__tablename__ == 'kombu_message'
    assert set(models.Queue.__table__.c.keys()) == {'id', 'name'}
    assert set(models.Message.__table__.c.keys()) == {
        'id', 'visible', 'timestamp', 'payload', 'version', 'queue_id'}
    fk = next(iter(models.Message.__table__.c.queue_id.foreign_keys))
    assert fk.target_fullname == 'kombu_queue.id'
    assert models.Queue.__table__.c.name.unique
    assert models.metadata is models.Queue.metadata
    assert issubclass(models.Queue, models.ModelBase)


def test_models_for_custom_names_are_cached_and_separate():
    a = models.models_for('x_queue', 'x_message')
    assert a is models.models_for('x_queue', 'x_message')
    assert a[0].__tablename__ == 'x_queue' and a[1].__tablename__ == 'x_message'
    assert a[0].metadata is not models.metadata
    assert models.models_for() == (models.Queue, models.Message)
    fk = next(iter(a[1].__table__.c.queue_id.foreign_keys))
    assert fk.target_fullname == 'x_queue.id'


@pytest.mark.parametrize('names,match', [
    (('', 'm'), 'kombu_queue'),                 # empty falls back to the default...
    ((1, 'm'), 'queue_tablename'),
    (('same', 'same'), 'must differ'),
])
def test_models_for_bad_names(names, match):
    if names[0] == '':
        assert models.models_for(*names)[0].__tablename__ == match
        return
    with pytest.raises(ValueError, match=match):
        models.models_for(*names)


def test_payload_is_longtext_on_mysql():
    from sqlalchemy.dialects import mysql, postgresql
    col = models.Message.__table__.c.payload
    assert 'LONGTEXT' in str(col.type.compile(dialect=mysql.dialect()))
    assert str(col.type.compile(dialect=postgresql.dialect())) == 'TEXT'


# -- SQL sent to the servers --------------------------------------------------------

@pytest.mark.parametrize('dialect', ['postgresql', 'mysql'])
def test_take_locks_one_row_and_skips_locked_ones(ch, dialect):
    mod = __import__(f'sqlalchemy.dialects.{dialect}', fromlist=['dialect'])
    sql = str(ch._stmt('take').compile(dialect=mod.dialect()))
    assert sql.rstrip().endswith('FOR UPDATE SKIP LOCKED')
    assert 'ORDER BY kombu_message.id' in sql
    assert 'kombu_queue.name' in sql


# -- end to end on SQLite ------------------------------------------------------------

def test_tables_created_on_connect(conn):
    conn.connect()
    names = set(sa.inspect(conn.transport.engine).get_table_names())
    assert {'kombu_queue', 'kombu_message'} <= names
    # Channel attributes of Kombu 4.6.7.
    assert conn.default_channel.queue_tablename == 'kombu_queue'
    assert conn.default_channel.message_tablename == 'kombu_message'


def test_custom_tablenames_option(url):
    c = Connection(url, transport_options={'queue_tablename': 'my_q',
                                           'message_tablename': 'my_m'})
    c.SimpleQueue('q1').put('x')
    assert {'my_q', 'my_m'} <= set(sa.inspect(c.transport.engine).get_table_names())
    assert c.default_channel.queue_tablename == 'my_q'
    assert c.default_channel.message_tablename == 'my_m'
    assert _payloads(c.default_channel, 'q1')[0]['body']
    assert c.SimpleQueue('q1').get(timeout=1).payload == 'x'
    c.release()


def test_put_get_roundtrip_and_row_layout(ch):
    ch.queue_declare('q')
    ch.basic_publish(ch.prepare_message('hello', headers={'a': 1}), '', 'q')
    stored = _payloads(ch, 'q')
    assert len(stored) == 1 and stored[0]['headers'] == {'a': 1}
    assert stored[0]['properties']['body_encoding'] == 'base64'
    m = ch.basic_get('q')
    assert m.body == b'hello' and m.headers == {'a': 1}
    assert _payloads(ch, 'q') == []
    m.ack()


def test_get_on_empty_or_unknown_queue(ch):
    with pytest.raises(Empty):
        ch._get('nothing-here')
    assert ch.basic_get('nothing-here') is None
    assert ch._size('nothing-here') == 0
    assert ch._purge('nothing-here') == 0


def test_has_new_delete_queue(ch):
    assert not ch._has_queue('dq')
    ch._new_queue('dq')
    ch._new_queue('dq')                               # idempotent
    assert ch._has_queue('dq')
    ch._put('dq', ch.prepare_message('x'))
    ch._delete('dq')
    assert not ch._has_queue('dq')
    assert ch._size('dq') == 0


def test_size_and_purge_count_visible_messages(ch):
    for i in range(3):
        ch._put('sp', ch.prepare_message(str(i)))
    assert ch._size('sp') == 3
    assert ch._purge('sp') == 3
    assert ch._size('sp') == 0


def test_invisible_rows_are_left_alone(ch):
    ch._put('inv', ch.prepare_message('hidden'))
    m = ch.message_cls.__table__
    with ch.engine.begin() as c:
        c.execute(sa.update(m).values(visible=False))
    assert ch._size('inv') == 0
    with pytest.raises(Empty):
        ch._get('inv')
    ch._delete('inv')                                 # removes them with the queue
    with ch.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(m)).scalar() == 0


def test_purge_removes_rows_taken_by_kombu4_uncounted(ch):
    """Kombu 4.x marks a taken row invisible and never deletes it: purge cleans up."""
    m = ch.message_cls.__table__
    for i in range(3):
        ch._put('pt', ch.prepare_message(str(i)))
    ch._put('other', ch.prepare_message('kept'))
    with ch.engine.begin() as c:
        first = c.execute(sa.select(sa.func.min(m.c.id))).scalar()
        c.execute(sa.update(m).where(m.c.id == first).values(visible=False, version=2))
        c.execute(sa.update(m).where(m.c.id == first + 3).values(visible=False))
    assert ch._size('pt') == 2
    assert ch._purge('pt') == 2
    with ch.engine.connect() as c:
        left = c.execute(sa.select(m.c.id, m.c.visible).order_by(m.c.id)).fetchall()
    assert [tuple(r) for r in left] == [(first + 3, False)]    # other queue untouched


def test_fifo_order(ch):
    for i in range(5):
        ch._put('fifo', {'n': i, 'properties': {}})
    assert [ch._get('fifo')['n'] for _ in range(5)] == [0, 1, 2, 3, 4]


def test_restore_at_beginning_puts_back_at_head_in_order(conn, ch):
    p = conn.Producer(ch)
    for body in ('a', 'b', 'c', 'd'):
        p.publish(body, routing_key='rq')
    taken = [ch.basic_get('rq') for _ in range(2)]
    ch.basic_recover(requeue=True)
    got = [ch.basic_get('rq', no_ack=True) for _ in range(4)]
    assert [m.payload for m in got] == ['a', 'b', 'c', 'd']
    assert got[0].delivery_info['redelivered'] and not got[2].delivery_info['redelivered']
    assert [m.payload for m in taken] == ['a', 'b']


def test_reject_requeue_and_discard(conn, ch):
    p = conn.Producer(ch)
    p.publish('one', routing_key='rj')
    p.publish('two', routing_key='rj')
    ch.basic_get('rj').requeue()
    m = ch.basic_get('rj')
    assert m.payload == 'one'
    m.reject()
    assert ch.basic_get('rj', no_ack=True).payload == 'two'
    assert ch.basic_get('rj') is None


def test_unacked_restored_when_channel_closes(conn, url):
    conn.Producer().publish('keep', routing_key='cl')
    ch = conn.channel()
    assert ch.basic_get('cl').payload == 'keep'
    ch.close()
    c2 = Connection(url)
    assert c2.default_channel.basic_get('cl', no_ack=True).payload == 'keep'
    c2.release()


def test_consume_with_routing(conn):
    ex = Exchange('ex', 'topic')
    q = Queue('rt', ex, 'a.#')
    got = []
    with conn.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
        p = conn.Producer()
        p.publish({'k': 1}, exchange=ex, routing_key='a.b')
        p.publish({'k': 2}, exchange=ex, routing_key='b.a')
        p.publish({'k': 3}, exchange=ex, routing_key='a')
        while len(got) < 2:
            conn.drain_events(timeout=2)
    assert got == [{'k': 1}, {'k': 3}]


def test_publish_to_deleted_queue_recreates_it(url):
    a, b = Connection(url), Connection(url)
    a.default_channel._put('gone', {'n': 1, 'properties': {}})
    b.default_channel._delete('gone')
    a.default_channel._put('gone', {'n': 2, 'properties': {}})  # cached id is stale
    assert b.default_channel._get('gone')['n'] == 2
    a.release()
    b.release()


def test_bad_queue_names(ch):
    with pytest.raises(ValueError, match='longer than 200'):
        ch._put('x' * 201, {'properties': {}})
    with pytest.raises(ValueError, match='invalid queue name'):
        ch._new_queue('')


def test_corrupt_payload_is_logged_and_skipped(ch, caplog):
    ch._put('bad', {'n': 1, 'properties': {}})
    ch._put('bad', {'n': 2, 'properties': {}})
    m = ch.message_cls.__table__
    with ch.engine.begin() as c:
        first = c.execute(sa.select(sa.func.min(m.c.id))).scalar()
        c.execute(sa.update(m).where(m.c.id == first).values(payload='{not json'))
    with caplog.at_level(logging.ERROR, logger='kombu.transport.sqlalchemy'):
        assert ch._get('bad')['n'] == 2
    assert 'not JSON' in caplog.text


def test_lost_race_moves_on_to_the_next_row(ch):
    """Where rows cannot be locked (SQLite), a row deleted by someone else is skipped."""
    ch._put('race', {'n': 1, 'properties': {}})
    ch._put('race', {'n': 2, 'properties': {}})
    m = ch.message_cls.__table__
    engine = ch.engine
    raced = []

    def other_consumer_first(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith('DELETE') and not raced:
            raced.append(parameters)
            with engine.begin() as other:      # another connection takes the row first
                other.execute(sa.delete(m).where(m.c.id == parameters[0]))

    sa.event.listen(engine, 'before_cursor_execute', other_consumer_first)
    try:
        assert ch._get('race')['n'] == 2
    finally:
        sa.event.remove(engine, 'before_cursor_execute', other_consumer_first)
    assert raced
    with pytest.raises(Empty):
        ch._get('race')


def test_engine_is_shared_per_url_and_options(url, tmp_path):
    a, b = Connection(url), Connection(url)
    other = Connection(url, transport_options={'engine_options': {'echo': False}})
    assert a.default_channel.engine is b.default_channel.engine
    assert other.default_channel.engine is not a.default_channel.engine
    for c in (a, b, other):
        c.release()


def test_foreign_keys_enforced_on_sqlite(ch):
    m = ch.message_cls.__table__
    with pytest.raises(sa.exc.IntegrityError):
        with ch.engine.begin() as c:
            c.execute(sa.insert(m).values(payload='{}', queue_id=987654, visible=True))


def test_session_is_an_orm_session_closed_with_channel(conn):
    ch = conn.channel()
    ch._put('orm', {'n': 1, 'properties': {}})
    session = ch.session
    assert session is ch.session
    q = session.query(ch.queue_cls).filter_by(name='orm').one()
    assert [json.loads(msg.payload)['n'] for msg in q.messages] == [1]
    ch.close()
    assert ch._session is None


def test_after_fork_handler_gives_fresh_pools(url):
    c = Connection(url)
    engine = c.default_channel.engine
    pool = engine.pool
    sqla._dispose_engines_after_fork()
    assert engine.pool is not pool
    assert c.default_channel._size('anything') == 0
    c.release()


def test_unique_queue_names_do_not_clash(ch):
    names = [f'u.{uuid.uuid4().hex}' for _ in range(3)]
    for i, name in enumerate(names):
        ch._put(name, {'n': i, 'properties': {}})
    assert [ch._get(name)['n'] for name in names] == [0, 1, 2]
