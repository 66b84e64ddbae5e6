"""SQLAlchemy transport on real PostgreSQL (5432) and MariaDB (3306) servers.

Every test runs on both databases.  Queues get unique names and are deleted
afterwards; tests with their own table names drop those tables.  The
shared transport suite (``TransportSuite``) runs on both as well.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError

sa = pytest.importorskip('sqlalchemy')

sys.path.insert(0, str(Path(__file__).parent))
from reference_kombu import QUEUE_JSON_SCRIPT, require_reference  # noqa: E402
from reference_kombu import run_reference as run_in_reference  # noqa: E402
from test_integration_core import TransportSuite, drain_until, get_message  # noqa: E402

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
FAST = {'polling_interval': 0.01}


def _kombu_url(name: str, service_url: str) -> str:
    if name == 'postgresql':
        return 'sqla+' + service_url                      # default driver (psycopg2 here)
    rest = service_url.partition('://')[2]
    return f'sqlalchemy+mysql+pymysql://{rest}'          # explicit driver


@pytest.fixture(params=['postgresql', 'mysql'])
def db(request) -> str:
    """Which database server the test runs on."""
    return request.param


@pytest.fixture
def url(request, db) -> str:
    """The transport URL (``sqla+...``) of the database (skips when it is down)."""
    return _kombu_url(db, request.getfixturevalue(f'{db}_url'))


@pytest.fixture
def engine(url):
    """A separate engine for looking at the tables directly."""
    from kombu.transport.sqlalchemy import get_engine
    return get_engine(url.partition('+')[2])


@pytest.fixture
def conn(url):
    c = Connection(url, transport_options=FAST)
    yield c
    c.release()


@pytest.fixture
def queue_name(conn, unique_name):
    """A unique queue name; the queue is deleted afterwards."""
    yield unique_name
    conn.default_channel.queue_delete(unique_name)


def _rows(engine, table: str, queue: str) -> list:
    with engine.connect() as c:
        return c.execute(sa.text(
            f'SELECT m.id, m.visible, m.payload, m.version, m.timestamp FROM {table}_message m '
            f'JOIN {table}_queue q ON q.id = m.queue_id WHERE q.name = :n ORDER BY m.id'),
            {'n': queue}).fetchall()


# -- the shared suite -------------------------------------------------------------

class TestSQLAlchemyCore(TransportSuite):
    """The transport-generic suite, on PostgreSQL and MariaDB."""

    @pytest.fixture
    def transport_name(self):
        return 'sqlalchemy'

    @pytest.fixture
    def connection(self, url):
        c = Connection(url, transport_options=FAST)
        yield c
        c.release()

    @pytest.fixture
    def connection_factory(self, url):
        made = []

        def factory() -> Connection:
            c = Connection(url, transport_options=FAST)
            made.append(c)
            return c
        yield factory
        for c in made:
            c.release()


# -- URL, tables, layout ---------------------------------------------------------

def test_url_forms_select_the_transport(url, db):
    from kombu.transport.sqlalchemy import Transport
    c = Connection(url)
    assert isinstance(c.transport, Transport)
    assert c.uri_prefix in ('sqla', 'sqlalchemy')
    assert c.hostname == url.partition('+')[2]
    c.connect()
    assert c.connected
    c.release()


def test_kombu_table_layout(conn, engine):
    conn.connect()
    info = sa.inspect(engine)
    queue_cols = {c['name'] for c in info.get_columns('kombu_queue')}
    message_cols = {c['name'] for c in info.get_columns('kombu_message')}
    assert {'id', 'name'} <= queue_cols
    assert {'id', 'visible', 'timestamp', 'payload', 'version', 'queue_id'} <= message_cols
    fks = info.get_foreign_keys('kombu_message')
    assert any(fk['referred_table'] == 'kombu_queue' and fk['constrained_columns'] == ['queue_id']
               for fk in fks)


def test_messages_are_json_rows_and_deleted_when_taken(conn, engine, queue_name):
    q = conn.SimpleQueue(queue_name)
    q.put({'hello': 'db'}, headers={'h': 1})
    rows = _rows(engine, 'kombu', queue_name)
    assert len(rows) == 1
    row = rows[0]
    assert row.visible in (True, 1) and row.version == 1 and row.timestamp is not None
    stored = json.loads(row.payload)
    assert stored['headers'] == {'h': 1}
    assert stored['properties']['delivery_info']['routing_key'] == queue_name
    m = q.get(timeout=2)
    assert m.payload == {'hello': 'db'}
    assert _rows(engine, 'kombu', queue_name) == []      # taken = gone from the table
    m.ack()
    q.close()


def test_rows_written_by_another_kombu_are_consumed(conn, engine, queue_name):
    """A row as Kombu writes it (JSON dict, visible) is delivered; invisible ones are not."""
    ch = conn.default_channel
    ch.queue_declare(queue_name)
    payload = {'body': 'bGVnYWN5', 'content-type': 'text/plain', 'content-encoding': 'utf-8',
               'headers': {}, 'properties': {'body_encoding': 'base64', 'delivery_tag': 'x',
                                             'delivery_info': {'exchange': '',
                                                               'routing_key': queue_name}}}
    from kombu.transport.sqlalchemy.models import Message
    with engine.begin() as c:                 # ids from message_id_sequence / AUTO_INCREMENT
        qid = c.execute(sa.text('SELECT id FROM kombu_queue WHERE name = :n'),
                        {'n': queue_name}).scalar()
        for visible in (False, True):
            c.execute(sa.insert(Message.__table__), {
                'visible': visible, 'payload': json.dumps(payload), 'queue_id': qid})
    assert ch.queue_declare(queue_name, passive=True).message_count == 1
    m = ch.basic_get(queue_name, no_ack=True)
    assert m.body == b'legacy'
    assert ch.basic_get(queue_name) is None


def test_custom_table_names(url, engine, unique_name):
    suffix = uuid.uuid4().hex[:8]
    qt, mt = f'kt_{suffix}_queue', f'kt_{suffix}_message'
    c = Connection(url, transport_options=dict(FAST, queue_tablename=qt,
                                               message_tablename=mt))
    try:
        c.SimpleQueue(unique_name).put('in custom tables')
        assert {qt, mt} <= set(sa.inspect(engine).get_table_names())
        assert len(_rows(engine, f'kt_{suffix}', unique_name)) == 1
        assert _rows(engine, 'kombu', unique_name) == []
        assert c.SimpleQueue(unique_name).get(timeout=2).payload == 'in custom tables'
        assert c.default_channel.queue_cls.__tablename__ == qt
        assert c.default_channel.message_cls.__tablename__ == mt
    finally:
        c.release()
        with engine.begin() as conn:                   # tables only: sequences are shared
            conn.execute(sa.text(f'DROP TABLE {mt}'))
            conn.execute(sa.text(f'DROP TABLE {qt}'))


# -- queue operations --------------------------------------------------------------

def test_declare_size_purge_delete(conn, queue_name):
    ch = conn.default_channel
    ok = ch.queue_declare(queue_name)
    assert (ok.queue, ok.message_count, ok.consumer_count) == (queue_name, 0, 0)
    p = conn.Producer()
    for i in range(5):
        p.publish(i, routing_key=queue_name)
    assert ch.queue_declare(queue_name, passive=True).message_count == 5
    assert ch.queue_purge(queue_name) == 5
    assert ch.queue_declare(queue_name, passive=True).message_count == 0
    p.publish('x', routing_key=queue_name)
    assert ch.queue_delete(queue_name) == 1
    with pytest.raises(conn.channel_errors):
        ch.queue_declare(queue_name, passive=True)
    assert ch.basic_get(queue_name) is None


def test_publish_after_delete_recreates_queue(url, unique_name):
    """Another connection deleted the queue: a cached id must not lose the message."""
    a = Connection(url, transport_options=FAST)
    b = Connection(url, transport_options=FAST)
    try:
        a.Producer().publish('first', routing_key=unique_name)
        b.default_channel.queue_delete(unique_name)
        a.Producer().publish('second', routing_key=unique_name)
        m = b.default_channel.basic_get(unique_name, no_ack=True)
        assert m.payload == 'second'
    finally:
        b.default_channel.queue_delete(unique_name)
        a.release()
        b.release()


def test_long_queue_name_is_refused(conn):
    with pytest.raises(ValueError, match='longer than 200'):
        conn.default_channel.queue_declare('q' * 201)


# -- ack / reject / requeue ordering ---------------------------------------------

def test_requeue_goes_back_to_the_head(conn, queue_name):
    ch = conn.default_channel
    p = conn.Producer()
    for body in ('a', 'b', 'c'):
        p.publish(body, routing_key=queue_name)
    m = ch.basic_get(queue_name)
    assert m.payload == 'a'
    m.requeue()
    again = ch.basic_get(queue_name)
    assert again.payload == 'a' and again.delivery_info['redelivered']
    again.ack()
    assert [ch.basic_get(queue_name, no_ack=True).payload for _ in range(2)] == ['b', 'c']


def test_unacked_restored_in_order_ahead_of_the_rest(url, queue_name):
    c1 = Connection(url, transport_options=FAST)
    p = c1.Producer()
    for i in range(5):
        p.publish(i, routing_key=queue_name)
    ch = c1.channel()
    taken = [ch.basic_get(queue_name) for _ in range(3)]
    assert [m.payload for m in taken] == [0, 1, 2]
    ch.close()                                            # restores 0, 1, 2 at the head
    c1.release()
    c2 = Connection(url, transport_options=FAST)
    try:
        got = [c2.default_channel.basic_get(queue_name, no_ack=True).payload for _ in range(5)]
        assert got == [0, 1, 2, 3, 4]
    finally:
        c2.release()


def test_consumer_with_prefetch_and_multiple_ack(conn, queue_name):
    q = Queue(queue_name)
    p = conn.Producer()
    for i in range(4):
        p.publish(i, routing_key=queue_name)
    got = []
    with conn.Consumer([q], callbacks=[lambda b, m: got.append(m)], prefetch_count=4):
        drain_until(conn, lambda: len(got) == 4)
        got[-1].channel.basic_ack(got[-1].delivery_tag, multiple=True)
    assert [m.payload for m in got] == [0, 1, 2, 3]
    assert conn.default_channel.basic_get(queue_name) is None


def test_topic_and_fanout_routing(conn, unique_name):
    ch = conn.default_channel
    topic = Exchange(f'{unique_name}.t', 'topic')
    fan = Exchange(f'{unique_name}.f', 'fanout')
    qs = [Queue(f'{unique_name}.q1', topic, 'a.*'), Queue(f'{unique_name}.q2', fan)]
    try:
        for q in qs:
            q(ch).declare()
        fan_q3 = Queue(f'{unique_name}.q3', fan)
        fan_q3(ch).declare()
        p = conn.Producer()
        p.publish('t', exchange=topic, routing_key='a.b')
        p.publish('nomatch', exchange=topic, routing_key='b.a')
        p.publish('f', exchange=fan, routing_key='whatever')
        assert get_message(qs[0](ch), no_ack=True).payload == 't'
        assert qs[0](ch).get() is None
        assert get_message(qs[1](ch), no_ack=True).payload == 'f'
        assert get_message(fan_q3(ch), no_ack=True).payload == 'f'
        qs.append(fan_q3)
    finally:
        for q in qs:
            q(ch).delete()
        topic(ch).delete()
        fan(ch).delete()


# -- options, errors ---------------------------------------------------------------

def test_options_polling_interval_and_engine_options(url):
    from kombu.transport.sqlalchemy import get_engine
    c1 = Connection(url, transport_options={'polling_interval': 0.25,
                                            'engine_options': {'pool_size': 2}})
    c2 = Connection(url, transport_options={'engine_options': {'pool_size': 2}})
    c3 = Connection(url)
    try:
        assert c1.transport.polling_interval == 0.25
        assert c3.transport.polling_interval == 1.0
        e1, e2, e3 = (c.default_channel.engine for c in (c1, c2, c3))
        assert e1 is e2                               # one engine per URL + options
        assert e1 is not e3
        assert e1.pool.size() == 2
        assert e3.pool._pre_ping
        assert e3.dialect.name in ('postgresql', 'mysql', 'mariadb')
        assert get_engine(url.partition('+')[2]) is not e1
    finally:
        for c in (c1, c2, c3):
            c.release()


def test_read_committed_by_default(url):
    c = Connection(url)
    try:
        engine = c.default_channel.engine
        with engine.connect() as conn:
            assert conn.get_isolation_level() == 'READ COMMITTED'
    finally:
        c.release()


def test_unreachable_database_is_a_connection_error(db):
    with socket.socket() as s:                       # a port nothing listens on
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    url = (f'sqla+postgresql://postgres@127.0.0.1:{port}/test' if db == 'postgresql'
           else f'sqla+mysql+pymysql://root@127.0.0.1:{port}/test')
    c = Connection(url, connect_timeout=2)
    try:
        with pytest.raises(c.connection_errors) as info:
            c.transport.establish_connection()
        assert isinstance(info.value, sa.exc.OperationalError)
        assert isinstance(info.value, c.recoverable_connection_errors)
        errors = []
        with pytest.raises(KombuOperationalError):          # retried, then re-raised
            c.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                errback=lambda exc, interval: errors.append(exc))
        assert errors and isinstance(errors[0], sa.exc.OperationalError)
        assert not c.connected
    finally:
        c.release()


def test_missing_table_is_a_channel_error(url, engine, unique_name):
    suffix = uuid.uuid4().hex[:8]
    qt, mt = f'kx_{suffix}_queue', f'kx_{suffix}_message'
    c = Connection(url, transport_options={'queue_tablename': qt, 'message_tablename': mt})
    try:
        ch = c.default_channel
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE {mt}'))
            conn.execute(sa.text(f'DROP TABLE {qt}'))
        with pytest.raises(c.channel_errors):
            ch.queue_declare(unique_name)
    finally:
        c.release()


# -- several processes -------------------------------------------------------------

WORKER = textwrap.dedent('''
    import json, socket, sys
    from kombu import Connection, Queue
    url, name = sys.argv[1], sys.argv[2]
    got = []
    with Connection(url, transport_options={'polling_interval': 0.01}) as conn:
        queue = Queue(name)
        with conn.Consumer([queue], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            print('READY', flush=True)
            sys.stdin.readline()                       # wait for "go"
            idle = 0
            while idle < 2:
                try:
                    conn.drain_events(timeout=0.5)
                    idle = 0
                except socket.timeout:
                    idle += 1
    print(json.dumps(got), flush=True)
''')


def test_two_consumer_processes_get_every_message_once(url, conn, queue_name):
    n = 500
    conn.default_channel.queue_declare(queue_name)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    workers = [subprocess.Popen([sys.executable, '-c', WORKER, url, queue_name],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                env=env) for _ in range(2)]
    try:
        for w in workers:
            assert w.stdout.readline().strip() == 'READY'
        producer = conn.Producer()
        for i in range(n):
            producer.publish(i, routing_key=queue_name)
        for w in workers:
            w.stdin.write('go\n')
            w.stdin.flush()
        results = []
        for w in workers:
            out, _ = w.communicate(timeout=60)
            assert w.returncode == 0
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    everything = results[0] + results[1]
    assert sorted(everything) == list(range(n))           # every message exactly once
    assert all(results), 'both consumers should have taken some messages'
    assert conn.default_channel.queue_declare(queue_name, passive=True).message_count == 0


FORK_SCRIPT = textwrap.dedent("""
    import os, sys
    from kombu import Connection
    url, queue_name = sys.argv[1], sys.argv[2]
    conn = Connection(url, transport_options={'polling_interval': 0.01})
    for i in range(6):
        conn.Producer().publish(i, routing_key=queue_name)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child uses the parent's Connection object
        os.close(read_end)
        got = [conn.default_channel.basic_get(queue_name, no_ack=True).payload
               for _ in range(3)]
        os.write(write_end, repr(got).encode())
        os._exit(0)
    os.close(write_end)
    child_got = os.read(read_end, 1000).decode()
    _, status = os.waitpid(pid, 0)
    ch = conn.default_channel
    parent_got = [ch.basic_get(queue_name, no_ack=True).payload for _ in range(3)]
    ch.queue_delete(queue_name)
    conn.release()
    print(child_got, os.waitstatus_to_exitcode(status), parent_got)
""")


def test_forked_child_uses_its_own_db_connections(url, unique_name):
    """A child using the parent's Connection must not break the parent's pooled connections.

    Runs in a fresh single-threaded interpreter: forking the test runner
    itself (with other tests' threads alive) can inherit a held lock.
    """
    if not hasattr(os, 'fork'):
        pytest.skip('no fork')
    out = subprocess.run([sys.executable, '-c', FORK_SCRIPT, url, unique_name],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ['[0,', '1,', '2]', '0', '[3,', '4,', '5]'], out.stderr


# -- interoperability with Kombu 4.6.7 (the reference, run in a subprocess) -----------

def run_reference(url: str, options: dict, action: str, queue: str, *args: str):
    """Run QUEUE_JSON_SCRIPT in the reference (skip without it or the URL's driver)."""
    driver = {'postgresql': 'psycopg2', 'mysql': 'pymysql'}[url.partition('+')[2].split(':')[0]
                                                             .partition('+')[0]]
    require_reference('sqlalchemy', driver)
    out = run_in_reference(QUEUE_JSON_SCRIPT, url, json.dumps(options), action, queue, *args,
                           timeout=120)
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def ref_tables(url, engine):
    """Custom table names, created by us first (Kombu 4.6.7 cannot create a second
    pair on MySQL: its foreign key name is fixed), and dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    options = {'queue_tablename': f'kr_{suffix}_q', 'message_tablename': f'kr_{suffix}_m'}
    yield options
    with engine.begin() as c:
        c.execute(sa.text(f'DROP TABLE IF EXISTS {options["message_tablename"]}'))
        c.execute(sa.text(f'DROP TABLE IF EXISTS {options["queue_tablename"]}'))


def test_reference_publishes_and_we_consume(url, conn, queue_name):
    assert run_reference(url, {}, 'publish', queue_name, 'a', 'b', 'c') == 3
    ch = conn.default_channel
    assert ch.queue_declare(queue_name, passive=True).message_count == 3
    got = []
    for _ in range(3):
        m = ch.basic_get(queue_name)
        got.append((m.payload, m.headers))
        m.ack()
    assert got == [({'body': b, 'n': i}, {'sent-by': 'reference'})
                   for i, b in enumerate('abc')]
    assert ch.basic_get(queue_name) is None


def test_we_publish_and_reference_consumes(url, conn, engine, queue_name):
    p = conn.Producer()
    for i, body in enumerate('xyz'):
        p.publish({'body': body, 'n': i}, exchange='', routing_key=queue_name,
                  headers={'sent-by': 'us'}, declare=[Queue(queue_name)])
    got = run_reference(url, {}, 'consume', queue_name, '4')
    assert got == [[{'body': b, 'n': i}, {'sent-by': 'us'}] for i, b in enumerate('xyz')] + [None]
    # Kombu 4.6.7 marks taken rows invisible instead of deleting them: they are
    # not messages any more for us either.
    assert [row.visible for row in _rows(engine, 'kombu', queue_name)] == [False] * 3
    ch = conn.default_channel
    assert ch.queue_declare(queue_name, passive=True).message_count == 0
    assert ch.basic_get(queue_name) is None
    assert ch.queue_purge(queue_name) == 0
    assert _rows(engine, 'kombu', queue_name) == []      # the purge removed them


def test_reference_and_we_share_custom_tables(url, ref_tables, unique_name):
    with Connection(url, transport_options=dict(FAST, **ref_tables)) as c:
        ch = c.default_channel
        assert (ch.queue_tablename, ch.message_tablename) == (
            ref_tables['queue_tablename'], ref_tables['message_tablename'])
        ch.queue_declare(unique_name)
        assert run_reference(url, ref_tables, 'publish', unique_name, 'r') == 1
        m = ch.basic_get(unique_name, no_ack=True)
        assert (m.payload, m.headers) == ({'body': 'r', 'n': 0}, {'sent-by': 'reference'})
        c.Producer().publish('ours', exchange='', routing_key=unique_name)
        assert run_reference(url, ref_tables, 'consume', unique_name, '2') == [['ours', {}], None]
