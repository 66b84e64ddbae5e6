"""MongoDB transport, tested with mocks at the client boundary.

No MongoDB server can be installed on this machine (no Debian package, and
the npm/PyPI launchers download server binaries from the internet, which is
not reachable), so ``pymongo.MongoClient`` is replaced by ``mongomock``'s
in-memory client (one store shared by every connection of a test, as one
server would be).  mongomock has no capped collections or tailing, so the
broadcast collection is created plain and tailable cursors behave like
exhausted ones; the transport re-opens them from the last seen id, which is
the path exercised here.  The transport-generic suite runs on it too.
"""
from __future__ import annotations

import datetime
import sys
from pathlib import Path
from unittest import mock

import pytest

from kombu import Connection, Exchange, Queue
from kombu.transport import mongodb

mongomock = pytest.importorskip('mongomock')
pymongo = pytest.importorskip('pymongo')

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'integration'))
from test_integration_core import TransportSuite, get_message  # noqa: E402

OPTIONS = {'polling_interval': 0.01}


@pytest.fixture
def store():
    """Patch pymongo's client with mongomock clients sharing one store."""
    server = mongomock.store.ServerStore()
    made = []
    create = mongomock.database.Database.create_collection

    def client_class(*args, **kwargs):
        client = mongomock.MongoClient(*args, _store=server, **kwargs)
        made.append((args, kwargs))
        return client

    def create_collection(self, name, **options):   # mongomock: no capped collections
        assert options == {'capped': True, 'size': mock.ANY}
        return create(self, name)

    with mock.patch.object(mongodb.Channel, '_mongo_client_class',
                           staticmethod(lambda: client_class)), \
            mock.patch.object(mongomock.database.Database, 'create_collection',
                              create_collection):
        server.made = made
        mongodb.Transport.state.clear()     # exchanges of the previous test's "server"
        yield server
        mongodb.Transport.state.clear()


@pytest.fixture
def conn_factory(store):
    made = []

    def factory(url='mongodb://127.0.0.1/kombu_test', **options):
        c = Connection(url, transport_options=dict(OPTIONS, **options))
        made.append(c)
        return c
    yield factory
    for c in made:
        c.release()


@pytest.fixture
def conn(conn_factory):
    return conn_factory()


class TestMongoDBCore(TransportSuite):
    """The transport-generic suite on ``mongodb://`` (mongomock)."""

    @pytest.fixture
    def transport_name(self):
        return 'mongodb'

    @pytest.fixture
    def connection(self, conn):
        return conn

    @pytest.fixture
    def connection_factory(self, conn_factory):
        return conn_factory


# -- names and configuration -------------------------------------------------

def test_documented_defaults():
    C, T = mongodb.Channel, mongodb.Transport
    assert (C.messages_collection, C.routing_collection, C.broadcast_collection,
            C.queues_collection) == ('messages', 'messages.routing', 'messages.broadcast',
                                     'messages.queues')
    assert (C.default_database, C.default_hostname, C.default_port) == (
        'kombu_default', '127.0.0.1', 27017)
    assert (C.ttl, C.ssl, C.connect_timeout, C.calc_queue_size, C.capped_queue_size) == (
        False, False, None, True, 100000)
    assert C.supports_fanout is True
    assert C.from_transport_options == (
        'body_encoding', 'deadletter_queue', 'connect_timeout', 'ssl', 'ttl',
        'capped_queue_size', 'default_hostname', 'default_port', 'default_database',
        'messages_collection', 'routing_collection', 'broadcast_collection',
        'queues_collection', 'calc_queue_size')
    assert T.can_parse_url is True and T.default_port == 27017
    assert (T.driver_type, T.driver_name, T.polling_interval) == ('mongodb', 'pymongo', 1)
    assert T.implements.exchange_type == frozenset({'direct', 'topic', 'fanout'})
    assert T.implements.asynchronous is False and T.implements.heartbeats is False
    assert pymongo.errors.ConnectionFailure in T.connection_errors
    assert pymongo.errors.ConnectionFailure in T.channel_errors
    assert pymongo.errors.OperationFailure in T.channel_errors
    assert T(Connection('mongodb://')).driver_version() == pymongo.version


def test_alias_resolves():
    from kombu.transport import resolve_transport
    assert resolve_transport('mongodb') is mongodb.Transport


@pytest.mark.parametrize('url,expected_url,database', [
    ('mongodb://', 'mongodb://127.0.0.1:27017/', 'kombu_default'),
    ('mongodb://h', 'mongodb://h/', 'kombu_default'),
    ('mongodb://h:1234/db', 'mongodb://h:1234/', 'db'),
    ('mongodb://u:p@h/db?replicaSet=rs0&ttl=true&capped_queue_size=10&w=1',
     'mongodb://u:p@h/?replicaSet=rs0&w=1', 'db'),
])
def test_connection_url(store, url, expected_url, database):
    ch = Connection(url).channel()
    assert ch._connection_url() == (expected_url, database)
    ch.close()


def test_hostname_and_database_from_keywords(store):
    c = Connection(hostname='dbhost', port=27999, virtual_host='vdb', transport='mongodb')
    ch = c.channel()
    assert ch._connection_url() == ('mongodb://dbhost:27999/', 'vdb')
    ch.close()
    c = Connection(transport='mongodb', transport_options={
        'default_hostname': 'other', 'default_port': 1, 'default_database': 'dd'})
    ch = c.channel()
    # the Connection's own default host wins over default_hostname
    assert ch._connection_url() == ('mongodb://localhost:1/', 'dd')
    ch.close()


def test_url_options_reach_the_channel(store):
    c = Connection('mongodb://h/db?ttl=true&calc_queue_size=false&capped_queue_size=50')
    ch = c.channel()
    assert ch.ttl is True and ch.calc_queue_size is False and ch.capped_queue_size == 50
    ch.close()


def test_client_options(store):
    c = Connection('mongodb://user:secret@h/db', connect_timeout=2.5, ssl=True)
    ch = c.channel()
    assert ch.client.name == 'db'
    args, kwargs = store.made[-1]
    # the credentials stay in the URL pymongo parses
    assert args == ('mongodb://user:secret@h/',)
    assert kwargs == {'connectTimeoutMS': 2500, 'serverSelectionTimeoutMS': 2500, 'tls': True}
    ch.close()
    ch = Connection('mongodb://h/', transport_options={'connect_timeout': 1,
                                                       'ssl': {'tlsInsecure': True}}).channel()
    assert ch.client.name == 'kombu_default'
    assert store.made[-1][1] == {'connectTimeoutMS': 1000, 'serverSelectionTimeoutMS': 1000,
                                 'tls': True, 'tlsInsecure': True}
    ch.close()


def test_collection_names_are_options(conn_factory):
    c = conn_factory(messages_collection='m2', routing_collection='r2',
                     broadcast_collection='b2', queues_collection='q2', ttl=True)
    ch = c.channel()
    assert [ch.messages.name, ch.routing.name, ch.broadcast.name, ch.queues.name] == [
        'm2', 'r2', 'b2', 'q2']
    Queue('cq', Exchange('cx'), 'k')(ch).declare()
    c.Producer(ch).publish('x', exchange='cx', routing_key='k')
    assert ch.client['m2'].count_documents({'queue': 'cq'}) == 1
    assert ch.client['r2'].count_documents({'exchange': 'cx'}) == 1
    assert ch.client['q2'].count_documents({'_id': 'cq'}) == 1


def test_connection_failure_is_a_connection_error(store):
    c = Connection('mongodb://127.0.0.1/x')
    err = pymongo.errors.ServerSelectionTimeoutError('no servers')
    with mock.patch.object(mongomock.database.Database, 'command', side_effect=err):
        with pytest.raises(c.connection_errors):
            c.connect()
    assert not c.connected
    c.release()


def test_missing_library_message():
    with mock.patch.object(mongodb, 'pymongo', None):
        with pytest.raises(ImportError, match=r'kombu\[mongodb\]'):
            Connection('mongodb://').channel()


# -- storage -------------------------------------------------------------------

def test_message_documents(conn):
    ch = conn.channel()
    q = Queue('dq', Exchange('dx'), 'k')
    q(ch).declare()
    conn.Producer(ch).publish({'a': 1}, exchange='dx', routing_key='k', priority=3)
    doc = ch.messages.find_one({'queue': 'dq'})
    assert doc['priority'] == 9 - 3
    assert 'expire_at' not in doc
    assert isinstance(doc['payload'], str)
    assert q(ch).queue_declare(passive=True).message_count == 1
    m = q(ch).get()
    assert m.payload == {'a': 1} and m.properties['priority'] == 3
    assert ch.messages.count_documents({'queue': 'dq'}) == 0
    m.reject(requeue=True)
    assert ch.messages.count_documents({'queue': 'dq'}) == 1
    assert q(ch).get(no_ack=True).delivery_info['redelivered']


def test_priority_order(conn):
    ch = conn.channel()
    q = Queue('pq', Exchange('px'), 'k', max_priority=10)
    q(ch).declare()
    p = conn.Producer(ch)
    for prio in (1, 9, 5, 9):
        p.publish(prio, exchange='px', routing_key='k', priority=prio)
    assert [q(ch).get(no_ack=True).payload for _ in range(4)] == [9, 9, 5, 1]


def test_calc_queue_size_off(conn_factory):
    ch = conn_factory(calc_queue_size=False).channel()
    Queue('sq')(ch).declare()
    ch.connection.client.Producer(ch).publish('x', routing_key='sq')
    assert ch.queue_declare('sq').message_count == 0
    assert ch.queue_purge('sq') == 1


def test_bindings_are_shared_between_connections(conn_factory):
    c1, c2 = conn_factory(), conn_factory()
    ch1, ch2 = c1.channel(), c2.channel()
    q = Queue('shared', Exchange('tx', 'topic'), 'a.*')
    q(ch1).declare()
    assert list(ch1.routing.find({'queue': 'shared'}, {'_id': 0})) == [
        {'queue': 'shared', 'exchange': 'tx', 'routing_key': 'a.*', 'pattern': mock.ANY}]
    # c2 only declares the exchange: it routes through c1's binding
    c2.Producer(ch2, exchange=Exchange('tx', 'topic')).publish('hop', routing_key='a.b')
    assert get_message(q(ch1), no_ack=True).payload == 'hop'
    assert ch2.get_table('tx') == [('a.*', mock.ANY, 'shared')]
    with pytest.raises(KeyError):
        ch2.get_table('undeclared')
    ch1.queue_unbind('shared', 'tx', 'a.*')
    assert ch2.get_table('tx') == []
    q(ch1).declare()
    assert q(ch1).delete() == 0
    assert ch2.routing.count_documents({'queue': 'shared'}) == 0


def test_fanout_between_connections(conn_factory):
    c1, c2 = conn_factory(), conn_factory()
    ch1, ch2 = c1.channel(), c2.channel()
    ex = Exchange('fx', 'fanout')
    qa, qb = Queue('fa', ex), Queue('fb', ex)
    qa(ch1).declare()
    qb(ch1).declare()
    producer = c2.Producer(ch2, exchange=ex)
    producer.publish({'n': 1})
    producer.publish({'n': 2})
    assert ch2.broadcast.count_documents({'queue': 'fx'}) == 2
    assert ch2.messages.count_documents({}) == 0
    for q in (qa, qb):
        got = [get_message(q(ch1), timeout=1, no_ack=True) for _ in range(3)]
        assert [m and m.payload for m in got] == [{'n': 1}, {'n': 2}, None]
    producer.publish({'n': 3})
    assert qa(ch1).purge() == 1                      # pending broadcast skipped
    assert qa(ch1).get() is None
    m = qb(ch1).get()
    assert m.payload == {'n': 3}
    m.requeue()                                      # restored as a direct message
    assert qb(ch1).get(no_ack=True).payload == {'n': 3}
    ch1.queue_unbind('fa', 'fx')
    producer.publish({'n': 4})
    assert qa(ch1).get() is None and 'fa' not in ch1._broadcast_cursors
    assert qb(ch1).get(no_ack=True).payload == {'n': 4}


def test_fanout_consumer_gets_only_messages_after_binding(conn_factory):
    c1 = conn_factory()
    ch = c1.channel()
    ex = Exchange('fx2', 'fanout')
    ex(ch).declare()
    old = {'queue': 'fx2', 'payload': '{}',
           '_id': mongodb._object_id_at(ch.get_now() - datetime.timedelta(seconds=5))}
    ch.broadcast.insert_one(old)
    Queue('late', ex)(ch).declare()
    assert Queue('late', ex)(ch).get() is None
    c1.Producer(ch, exchange=ex).publish('new')
    assert Queue('late', ex)(ch).get(no_ack=True).payload == 'new'


def test_ttl(conn_factory):
    c = conn_factory(ttl=True)
    ch = c.channel()
    before = ch.get_now()
    q = Queue('tq', Exchange('tx'), 'k',
              queue_arguments={'x-message-ttl': 2000, 'x-expires': 60000})
    q(ch).declare()
    qdoc = ch.queues.find_one({'_id': 'tq'})
    assert qdoc['options'] == {'x-message-ttl': 2000, 'x-expires': 60000}
    c.Producer(ch).publish('short-lived', exchange='tx', routing_key='k')
    doc = ch.messages.find_one({'queue': 'tq'})
    expire = mongodb._aware(doc['expire_at'])
    assert before + datetime.timedelta(seconds=1.9) <= expire <= (
        ch.get_now() + datetime.timedelta(seconds=2.1))
    route = ch.routing.find_one({'queue': 'tq'})
    assert mongodb._aware(route['expire_at']) > before + datetime.timedelta(seconds=59)
    indexes = ch.messages.index_information()
    assert any(i.get('expireAfterSeconds') == 0 for i in indexes.values())
    # an expired binding no longer routes (MongoDB's TTL monitor removes it later)
    ch.routing.update_one({'queue': 'tq'}, {'$set': {
        'expire_at': ch.get_now() - datetime.timedelta(seconds=1)}})
    assert ch.get_table('tx') == []
    # a queue without x-message-ttl: messages expire with the queue
    Queue('tq2', Exchange('tx'), 'k2', queue_arguments={'x-expires': 1000})(ch).declare()
    c.Producer(ch).publish('m', exchange='tx', routing_key='k2')
    doc = ch.messages.find_one({'queue': 'tq2'})
    assert mongodb._aware(doc['expire_at']) <= ch.get_now() + datetime.timedelta(seconds=1)
    # no TTL arguments: no expiry
    Queue('tq3')(ch).declare()
    c.Producer(ch).publish('m', routing_key='tq3')
    assert 'expire_at' not in ch.messages.find_one({'queue': 'tq3'})
    ch.queue_delete('tq')
    assert ch.queues.find_one({'_id': 'tq'}) is None


def test_ttl_off_ignores_queue_arguments(conn):
    ch = conn.channel()
    Queue('nq', queue_arguments={'x-message-ttl': 10})(ch).declare()
    conn.Producer(ch).publish('m', routing_key='nq')
    assert 'expire_at' not in ch.messages.find_one({'queue': 'nq'})
    assert ch.queues.count_documents({}) == 0


def test_prepare_queue_arguments(conn):
    ch = conn.channel()
    assert ch.prepare_queue_arguments({'x-expires': '100', 'x-message-ttl': 5.0,
                                       'x-other': 'v'}) == {
        'x-expires': 100, 'x-message-ttl': 5, 'x-other': 'v'}
    assert ch.prepare_queue_arguments(None) == {}
    with pytest.raises(ValueError, match="'x-expires'.*'soon'"):
        ch.prepare_queue_arguments({'x-expires': 'soon'})


def test_get_now_is_utc(conn):
    now = conn.channel().get_now()
    assert now.tzinfo is not None and now.utcoffset() == datetime.timedelta(0)


def test_close_closes_the_client(conn):
    ch = conn.channel()
    client = ch.client
    assert ch._client is not None
    with mock.patch.object(ch._client, 'close') as close:
        ch.close()
    close.assert_called_once_with()
    assert ch._database is None and client is not None


def test_queue_ttl_options_become_ttl_arguments(conn_factory):
    ch = conn_factory(ttl=True).channel()
    assert ch.prepare_queue_arguments({}, expires=60, message_ttl=2.5, max_length=None) == {
        'x-expires': 60000, 'x-message-ttl': 2500}
    Queue('tq-opts', Exchange('tx'), 'ko', expires=60, message_ttl=2)(ch).declare()
    assert ch.queues.find_one({'_id': 'tq-opts'})['options'] == {
        'x-expires': 60000, 'x-message-ttl': 2000}
    ch.queue_delete('tq-opts')
