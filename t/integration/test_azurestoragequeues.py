"""azurestoragequeues:// against a real Azurite queue service (scripts/services/azurite.sh).

Runs the transport-generic :class:`TransportSuite` plus Storage Queues
specifics: queue naming (``entity_name``, ``queue_name_prefix``, Azure's
name rules), the stored message format, the endpoint/credential options
(``queue_service_url``, ``connection_string``, ``client_options``),
``polling_interval``, size/purge/delete, restore of unacked messages, error
mapping and bad configuration.
"""
from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
from services_azurite import (
    ACCOUNT,
    ACCOUNT_KEY,
    CONNECTION_STRING,
    QUEUE_SERVICE_URL,
    azurite_url,
)
from test_integration_core import TransportSuite, drain_until, get_message

from kombu import Connection, Exchange, Queue

pytestmark = pytest.mark.services


@pytest.fixture(scope='session')
def a_url() -> str:
    return azurite_url()


@pytest.fixture
def options() -> dict:
    return {'queue_service_url': QUEUE_SERVICE_URL, 'polling_interval': 0.05}


@pytest.fixture
def service(a_url):
    """A raw QueueServiceClient on Azurite."""
    from azure.storage.queue import QueueServiceClient
    client = QueueServiceClient(QUEUE_SERVICE_URL, credential={
        'account_name': ACCOUNT, 'account_key': ACCOUNT_KEY})
    yield client
    client.close()


@pytest.fixture
def prefixed(service):
    """A unique queue name prefix; every Azure queue with it is deleted afterwards."""
    prefix = f'kt{uuid.uuid4().hex[:8]}-'
    yield prefix
    for q in service.list_queues(name_starts_with=prefix):
        service.delete_queue(q.name)


class TestAzureStorageQueuesCore(TransportSuite):
    """The shared core suite on azurestoragequeues://."""

    @pytest.fixture
    def transport_name(self) -> str:
        return 'azurestoragequeues'

    @pytest.fixture
    def connection(self, a_url, options):
        conn = Connection(a_url, transport_options=options)
        yield conn
        conn.release()

    @pytest.fixture
    def connection_factory(self, a_url, options):
        made = []

        def factory() -> Connection:
            conn = Connection(a_url, transport_options=options)
            made.append(conn)
            return conn
        yield factory
        for conn in made:
            conn.release()

    def test_large_message(self, connection, queue):
        # Storage Queue messages hold at most 64 KiB: a bigger one is refused
        # by the service with a channel error, and nothing is stored.
        body = {'blob': 'x' * (100 * 1024)}
        with pytest.raises(connection.channel_errors) as excinfo:
            connection.Producer().publish(body, exchange=queue.exchange,
                                          routing_key=queue.routing_key)
        assert 'large' in str(excinfo.value).lower() or '413' in str(excinfo.value)
        body = {'blob': 'y' * (40 * 1024)}
        connection.Producer().publish(body, exchange=queue.exchange,
                                      routing_key=queue.routing_key)
        m = get_message(queue(connection.default_channel))
        assert m.payload == body
        m.ack()


def _conn(a_url: str, **options) -> Connection:
    return Connection(a_url, transport_options={
        'queue_service_url': QUEUE_SERVICE_URL, 'polling_interval': 0.05, **options})


def test_queue_name_prefix_and_stored_format(a_url, service, prefixed):
    with _conn(a_url, queue_name_prefix=prefixed) as conn:
        channel = conn.default_channel
        assert channel.queue_name_prefix == prefixed
        q = Queue('My.Queue_name', Exchange('ex.asq', 'direct'), routing_key='rk')
        q(channel).declare()
        azure_name = f'{prefixed}my-queue-name'
        assert channel._azure_name('My.Queue_name') == azure_name
        assert azure_name in [x.name for x in service.list_queues(name_starts_with=prefixed)]
        conn.Producer().publish({'hello': 'azure'}, exchange='ex.asq', routing_key='rk',
                                headers={'h': 1})
        raw = service.get_queue_client(azure_name).peek_messages()
        assert len(raw) == 1
        stored = json.loads(raw[0].content)
        assert stored['headers'] == {'h': 1}
        assert stored['properties']['delivery_info'] == {'exchange': 'ex.asq',
                                                         'routing_key': 'rk'}
        assert stored['content-type'] == 'application/json'
        m = get_message(q(channel))
        assert m.payload == {'hello': 'azure'}
        m.ack()
        q(channel).delete()
        assert azure_name not in [x.name for x in
                                  service.list_queues(name_starts_with=prefixed)]


def test_names_that_break_azure_rules_get_distinct_valid_names(a_url, service, prefixed):
    names = ['A--b', 'a-b', 'x' * 80, 'x' * 81, 'q', 'weird!!name', 'weird!name']
    with _conn(a_url, queue_name_prefix=prefixed) as conn:
        channel = conn.default_channel
        azure = [channel._azure_name(n) for n in names]
        assert len(set(azure)) == len(names)
        for n, a in zip(names, azure):
            assert 3 <= len(a) <= 63 and '--' not in a and a == a.lower(), a
            sq = conn.SimpleQueue(n)
            sq.put(n)
            assert sq.get(timeout=5).payload == n
            sq.queue.delete()
            sq.close()


def test_entity_name_table(a_url):
    with _conn(a_url) as conn:
        ch = conn.default_channel
        assert ch.entity_name('a.b:c/d@e_f') == 'a-b-c-d-e-f'
        assert ch.entity_name('abc-123') == 'abc-123'


def test_connection_string_option(a_url, unique_name):
    # the URL carries no account: everything comes from the connection string
    with Connection('azurestoragequeues://', transport_options={
            'connection_string': CONNECTION_STRING, 'polling_interval': 0.05}) as conn:
        sq = conn.SimpleQueue(unique_name)
        sq.put('via connection string')
        m = sq.get(timeout=5)
        assert m.payload == 'via connection string'
        m.ack()
        assert sq.qsize() == 0
        sq.queue.delete()
        sq.close()


def test_credential_option(a_url, unique_name):
    with Connection(f'azurestoragequeues://@{ACCOUNT}', transport_options={
            'queue_service_url': QUEUE_SERVICE_URL,
            'credential': {'account_name': ACCOUNT, 'account_key': ACCOUNT_KEY}}) as conn:
        sq = conn.SimpleQueue(unique_name)
        sq.put(1)
        assert sq.get(timeout=5).payload == 1
        sq.queue.delete()
        sq.close()


def test_polling_interval(a_url):
    with Connection(a_url, transport_options={'queue_service_url': QUEUE_SERVICE_URL}) as c:
        assert c.transport.polling_interval == 1
    with _conn(a_url, polling_interval=0.25) as c:
        assert c.transport.polling_interval == 0.25


def test_size_purge_delete(a_url, unique_name, service):
    with _conn(a_url) as conn:
        q = Queue(unique_name)
        bound = q(conn.default_channel)
        bound.declare()
        for i in range(3):
            conn.Producer().publish(i, routing_key=unique_name)
        assert bound.queue_declare(passive=True).message_count == 3
        assert bound.purge() == 3
        assert bound.queue_declare(passive=True).message_count == 0
        bound.delete()
        azure_name = conn.default_channel._azure_name(unique_name)
        assert azure_name not in [x.name for x in service.list_queues(
            name_starts_with=azure_name)]
        # passive declare of a missing queue is a channel error
        with pytest.raises(conn.channel_errors):
            q(conn.default_channel).queue_declare(passive=True)


def test_rejected_requeue_and_unacked_restore(a_url, unique_name):
    with _conn(a_url) as conn:
        sq = conn.SimpleQueue(unique_name)
        sq.put('again')
        m = sq.get(timeout=5)
        assert not m.delivery_info['redelivered']
        m.requeue()
        m = sq.get(timeout=5)
        assert m.payload == 'again' and m.delivery_info['redelivered']
        # leave it unacked: closing the channel sends it back to Azure
    with _conn(a_url) as conn:
        sq = conn.SimpleQueue(unique_name)
        m = sq.get(timeout=5)
        assert m.payload == 'again'
        m.ack()
        assert sq.qsize() == 0
        sq.queue.delete()
        sq.close()


def test_competing_consumers_each_message_once(a_url, unique_name):
    q = Queue(unique_name)
    with _conn(a_url) as c1, _conn(a_url) as c2:
        q(c1.default_channel).declare()
        for i in range(10):
            c1.Producer().publish(i, routing_key=unique_name)
        got = []
        with c1.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())]), \
                c2.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            deadline = time.monotonic() + 15
            while len(got) < 10 and time.monotonic() < deadline:
                for c in (c1, c2):
                    try:
                        c.drain_events(timeout=0.1)
                    except socket.timeout:
                        pass
        assert sorted(got) == list(range(10))
        q(c1.default_channel).delete()


def test_topic_routing(a_url, unique_name):
    ex = Exchange(f'{unique_name}.topic', 'topic')
    qa = Queue(f'{unique_name}.a', ex, routing_key='a.*')
    with _conn(a_url) as conn:
        got = []
        with conn.Consumer([qa], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            conn.Producer().publish('x', exchange=ex, routing_key='a.1')
            conn.Producer().publish('y', exchange=ex, routing_key='b.1')
            drain_until(conn, lambda: got)
        assert got == ['x']
        qa(conn.default_channel).delete()


def test_unreachable_endpoint_is_a_connection_error(a_url):
    conn = Connection(a_url, transport_options={
        'queue_service_url': 'http://127.0.0.1:1/devstoreaccount1',
        'client_options': {'retry_total': 0}})
    try:
        assert conn.transport.driver_version() != 'N/A'
        from azure.core.exceptions import ServiceRequestError
        assert ServiceRequestError in conn.recoverable_connection_errors
        with pytest.raises(conn.connection_errors):
            conn.transport.establish_connection()
        with pytest.raises(Exception) as excinfo:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
        assert isinstance(excinfo.value, conn.connection_errors) or \
            'refused' in str(excinfo.value).lower()
    finally:
        conn.release()


def test_bad_key_is_a_connection_error(a_url):
    from urllib.parse import quote
    bad = quote('A' * 86 + '==', safe='')
    conn = Connection(f'azurestoragequeues://:{bad}@{ACCOUNT}', transport_options={
        'queue_service_url': QUEUE_SERVICE_URL, 'client_options': {'retry_total': 0}})
    try:
        with pytest.raises(conn.connection_errors):
            conn.transport.establish_connection()
    finally:
        conn.release()


def test_missing_account_or_key_is_a_clear_error():
    conn = Connection('azurestoragequeues://', transport_options={})
    try:
        with pytest.raises(ValueError, match='ACCOUNT_ACCESS_KEY'):
            conn.default_channel  # noqa: B018
    finally:
        conn.release()
