"""azurestoragequeues:// against a real Azurite queue service (scripts/services/azurite.sh).

Runs the transport-generic :class:`TransportSuite` plus Storage Queues
specifics: queue naming (``entity_name``, ``queue_name_prefix``, Azure's
name rules), the stored message format, the endpoint/credential options
(``queue_service_url``, ``connection_string``, ``client_options``),
``polling_interval``, size/purge/delete, restore of unacked messages, error
mapping and bad configuration; and at-least-once delivery: a consumer process
killed before acking (its message comes back after ``visibility_timeout``),
unacked messages hidden from others, ack/reject/no_ack deleting, requeue,
recover and close making messages visible at once, ack(multiple) and a late ack.
"""
from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid

import pytest
from reference_kombu import require_reference
from reference_kombu import run_reference as run_in_reference
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


# -- at-least-once: visibility timeout, ack deletes, requeue/close release ------------

#: The consumer run as a subprocess by the crash test: it prints what it got,
#: then hangs in the callback without acking until it is killed.
_CRASHING_CONSUMER = r'''
import json, sys, time
from kombu import Connection, Exchange, Queue
url, options, name = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
with Connection(url, transport_options=options) as conn:
    def on_message(body, message):
        print('GOT', json.dumps(body), flush=True)
        time.sleep(120)
    queue = Queue(name, Exchange(name), routing_key=name)
    with conn.Consumer([queue], callbacks=[on_message]):
        conn.drain_events(timeout=60)
'''


def _read_line(proc, timeout: float) -> str:
    """The next stdout line of ``proc`` ('' if none comes within ``timeout``)."""
    import selectors
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return ''
    return proc.stdout.readline()


def _azure_messages(conn: Connection, name: str) -> int:
    """How many messages Azure holds for queue ``name``, visible or not."""
    channel = conn.default_channel
    return channel._client(name).get_queue_properties().approximate_message_count


def test_consumer_killed_before_ack_message_comes_back(a_url, unique_name):
    import signal
    import sys
    vt = 2
    options = {'queue_service_url': QUEUE_SERVICE_URL, 'polling_interval': 0.05,
               'visibility_timeout': vt}
    with _conn(a_url, visibility_timeout=vt) as conn:
        sq = conn.SimpleQueue(unique_name)
        try:
            sq.put({'job': 42})
            proc = subprocess.Popen(
                [sys.executable, '-c', _CRASHING_CONSUMER, a_url, json.dumps(options),
                 unique_name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                line = _read_line(proc, 30)
                got_at = time.monotonic()
                assert line.strip() == 'GOT {"job": 42}', proc.stderr.read() if not line else line
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                proc.stdout.close()
                proc.stderr.close()
            assert proc.returncode == -signal.SIGKILL
            # still in Azure, hidden while the dead consumer's timeout runs
            assert _azure_messages(conn, unique_name) == 1
            if time.monotonic() - got_at < vt - 0.5:
                assert sq.queue.get() is None
            m = sq.get(timeout=vt + 10)
            assert time.monotonic() - got_at >= vt - 1.0   # came back by the timeout
            assert m.payload == {'job': 42}
            assert m.delivery_info['redelivered'] is True
            m.ack()
            assert _azure_messages(conn, unique_name) == 0
        finally:
            sq.queue.delete()
            sq.close()


def test_unacked_message_is_invisible_to_others_and_ack_deletes(a_url, unique_name):
    with _conn(a_url, visibility_timeout=1) as c1, _conn(a_url, visibility_timeout=1) as c2:
        sq1, sq2 = c1.SimpleQueue(unique_name), c2.SimpleQueue(unique_name)
        try:
            sq1.put('once')
            m = sq1.get(timeout=5)
            assert m.payload == 'once' and m.delivery_info['redelivered'] is False
            assert sq2.queue.get() is None                # hidden, not deleted
            assert _azure_messages(c1, unique_name) == 1
            m.ack()
            assert _azure_messages(c1, unique_name) == 0
            time.sleep(1.3)                               # past the visibility timeout
            assert sq2.queue.get() is None and sq1.queue.get() is None
            assert sq2.qsize() == 0
        finally:
            sq1.queue.delete()
            sq1.close()
            sq2.close()


def test_requeue_recover_and_close_make_it_visible_at_once(a_url, unique_name):
    # a long timeout: getting the message back within seconds proves the release
    with _conn(a_url, visibility_timeout=600) as conn:
        sq = conn.SimpleQueue(unique_name)
        try:
            sq.put('back')
            m = sq.get(timeout=5)
            m.requeue()
            m = sq.get(timeout=5)
            assert m.payload == 'back' and m.delivery_info['redelivered'] is True
            assert conn.default_channel.basic_recover(requeue=True) == []
            m = sq.get(timeout=5)
            assert m.payload == 'back'
            # leave it unacked and close: the next connection gets it now
        except BaseException:
            sq.queue.delete()
            raise
    with _conn(a_url, visibility_timeout=600) as conn:
        sq = conn.SimpleQueue(unique_name)
        try:
            m = sq.get(timeout=5)
            assert m.payload == 'back' and m.delivery_info['redelivered'] is True
            m.ack()
            assert _azure_messages(conn, unique_name) == 0
        finally:
            sq.queue.delete()
            sq.close()


def test_reject_and_no_ack_delete_at_once(a_url, unique_name):
    q = Queue(unique_name, Exchange(unique_name), routing_key=unique_name)
    with _conn(a_url, visibility_timeout=1) as conn:
        bound = q(conn.default_channel)
        bound.declare()
        try:
            producer = conn.Producer()
            for body in ('rejected', 'got-no-ack', 'consumed-no-ack'):
                producer.publish(body, exchange=q.exchange, routing_key=unique_name)
            m = get_message(bound)
            assert m.payload == 'rejected'
            m.reject()
            m = bound.get(no_ack=True)
            assert m.payload == 'got-no-ack'
            got = []
            with conn.Consumer([q], no_ack=True, callbacks=[lambda b, m: got.append(b)]):
                drain_until(conn, lambda: got)
            assert got == ['consumed-no-ack']
            assert _azure_messages(conn, unique_name) == 0
            time.sleep(1.3)                               # nothing comes back
            assert bound.get() is None
        finally:
            bound.delete()


def test_ack_multiple_and_late_ack(a_url, unique_name, caplog):
    with _conn(a_url, visibility_timeout=1) as conn:
        sq = conn.SimpleQueue(unique_name)
        channel = conn.default_channel
        try:
            for i in range(3):
                sq.put(i)
            got = [sq.get(timeout=5) for _ in range(3)]
            assert sorted(m.payload for m in got) == [0, 1, 2]
            channel.basic_ack(max(m.delivery_tag for m in got), multiple=True)
            assert _azure_messages(conn, unique_name) == 0
            # an ack that comes after the timeout lapsed and the message was
            # received again cannot delete it: logged, and the message stays
            sq.put('slow')
            first = sq.get(timeout=5)
            again = sq.get(timeout=10)                    # back after ~1 s
            assert again.payload == 'slow' and again.delivery_info['redelivered']
            first.ack()
            assert 'could not delete message' in caplog.text
            assert _azure_messages(conn, unique_name) == 1
            again.ack()
            assert _azure_messages(conn, unique_name) == 0
        finally:
            sq.queue.delete()
            sq.close()


# -- compatibility with Kombu 4.6.7 ---------------------------------------------

#: Kombu 4.6.7 (azure-storage-queue 2.x) pointed at Azurite: its QueueService
#: is given ``is_emulated=True`` (Azurite's well-known account and endpoint).
REFERENCE_SCRIPT = '''
import sys
import kombu.transport.azurestoragequeues as azt
from kombu import Connection, Exchange, Queue

class EmulatedQueueService(azt.QueueService):
    def __init__(self, *args, **kwargs):
        kwargs.pop('account_name', None), kwargs.pop('account_key', None)
        super().__init__(*args, is_emulated=True, **kwargs)

azt.QueueService = EmulatedQueueService
url, name, prefix, mode = sys.argv[1:5]
with Connection(url, transport_options={'queue_name_prefix': prefix}) as c:
    q = Queue(name, Exchange(name), name)(c.default_channel)
    if mode == 'publish':
        q.declare()
        c.Producer().publish({'from': 'kombu4'}, exchange=name, routing_key=name,
                             headers={'h': 'a<&>b'})
    else:
        m = q.get()
        print(repr(m and (m.payload, m.headers)))
        m and m.ack()
'''


def run_reference(*args: str) -> str:
    """Run REFERENCE_SCRIPT with the original Kombu 4.6.7 (skip if it is missing)."""
    # azure-storage-queue<12: the 2.x client API (QueueService) Kombu 4.6.7 uses
    require_reference('azure.storage.queue', check='azure.storage.queue.QueueService')
    return run_in_reference(REFERENCE_SCRIPT, *args, timeout=120).strip()


#: A message as Kombu 4.6.7 stored it: JSON, XML-escaped (payload {"hello": "ref"}).
KOMBU4_TEXT = (
    '{"body": "eyJoZWxsbyI6ICJyZWYifQ==", "content-encoding": "utf-8", '
    '"content-type": "application/json", "headers": {"h": "a&lt;&amp;&gt;b"}, '
    '"properties": {"delivery_mode": 2, "delivery_info": {"exchange": "k4", '
    '"routing_key": "k4"}, "priority": 0, "body_encoding": "base64", '
    '"delivery_tag": "528c2d32-2c18-4c4e-8f57-0a5f1a0e9d11"}}')


def test_stored_text_is_xml_escaped_as_kombu4(a_url, service, prefixed):
    with _conn(a_url, queue_name_prefix=prefixed) as conn:
        q = Queue('k4', Exchange('k4'), 'k4')(conn.default_channel)
        q.declare()
        raw = service.get_queue_client(f'{prefixed}k4')
        raw.send_message(KOMBU4_TEXT)                    # stored by Kombu 4.6.7
        m = get_message(q)
        assert (m.payload, m.headers) == ({'hello': 'ref'}, {'h': 'a<&>b'})
        m.ack()
        conn.Producer().publish('x', exchange='k4', routing_key='k4', headers={'h': '<&>'})
        stored = raw.peek_messages()[0].content
        assert '"h": "&lt;&amp;&gt;"' in stored
        assert get_message(q).headers == {'h': '<&>'}


def test_interop_with_reference_kombu4(a_url, prefixed):
    name = 'interop.k4'
    run_reference(a_url, name, prefixed, 'publish')
    with _conn(a_url, queue_name_prefix=prefixed) as conn:
        q = Queue(name, Exchange(name), name)(conn.default_channel)
        m = get_message(q)
        assert (m.payload, m.headers) == ({'from': 'kombu4'}, {'h': 'a<&>b'})
        m.ack()
        q.declare()
        conn.Producer().publish({'from': 'ours'}, exchange=name, routing_key=name,
                                headers={'h': '<&>'})
    assert run_reference(a_url, name, prefixed, 'get') == "({'from': 'ours'}, {'h': '<&>'})"
