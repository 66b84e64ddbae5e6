"""Pyro transport against a real Pyro4 name server and Kombu broker daemon.

The session's broker comes from ``scripts/services/pyro.sh`` (name server on
127.0.0.1:9090, ``python -m kombu.transport.pyro`` registered as
``kombu.broker``); tests that kill a broker start their own under a unique name.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError

sys.path.insert(0, str(Path(__file__).parent))
from services_pyro import PORT, pyro_service  # noqa: E402
from test_integration_core import TransportSuite, get_message  # noqa: E402

Pyro4 = pytest.importorskip('Pyro4')
pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[2]
OPTIONS = {'polling_interval': 0.01}


@pytest.fixture
def pyro_url() -> str:
    return pyro_service()


@pytest.fixture
def conn(pyro_url):
    c = Connection(pyro_url, transport_options=OPTIONS)
    yield c
    c.release()


class TestPyroCore(TransportSuite):
    """The transport-generic suite on ``pyro://``."""

    @pytest.fixture
    def transport_name(self):
        return 'pyro'

    @pytest.fixture
    def connection(self, pyro_url):
        c = Connection(pyro_url, transport_options=OPTIONS)
        yield c
        c.release()

    @pytest.fixture
    def connection_factory(self, pyro_url):
        made = []

        def factory():
            c = Connection(pyro_url, transport_options=OPTIONS)
            made.append(c)
            return c
        yield factory
        for c in made:
            c.release()


def start_broker(name: str) -> subprocess.Popen:
    """A broker daemon registered as ``name``; returns once it answers."""
    proc = subprocess.Popen(
        [sys.executable, '-m', 'kombu.transport.pyro', '--host', '127.0.0.1',
         '--ns-port', str(PORT), '--name', name],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    assert f'broker {name!r}' in line, line
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()


def unregister(name: str) -> None:
    with Pyro4.locateNS('127.0.0.1', PORT) as ns:
        ns.remove(name)


def test_url_and_driver(conn):
    assert conn.transport_cls == 'pyro'
    assert conn.hostname == '127.0.0.1' and conn.virtual_host == 'kombu.broker'
    conn.connect()
    assert conn.connected
    assert conn.transport.driver_version() == Pyro4.__version__
    assert conn.transport.verify_connection(conn.connection)


def test_queues_live_in_the_broker(conn, unique_name):
    ch = conn.channel()
    Queue(unique_name)(ch).declare()
    assert unique_name in ch.queues()
    assert ch.shared_queues is conn.transport.shared_queues
    ch.queue_delete(unique_name)
    assert unique_name not in ch.queues()
    assert ch.queue_declare(unique_name, passive=False).message_count == 0
    with pytest.raises(conn.channel_errors):
        ch.queue_declare(f'{unique_name}.missing', passive=True)
    ch.queue_delete(unique_name)
    ch.after_reply_message_received(unique_name)  # a no-op hook
    ch.close()


def test_another_process_sees_the_messages(conn, pyro_url, unique_name):
    script = textwrap.dedent(f'''
        from kombu import Connection
        with Connection({pyro_url!r}) as c:
            q = c.SimpleQueue({unique_name!r})
            q.put({{'from': 'child'}})
            m = q.get(timeout=5)
            print(m.payload)
            m.ack()
            q.close()
    ''')
    sq = conn.SimpleQueue(unique_name)
    sq.put('from parent')
    out = subprocess.run([sys.executable, '-c', script], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'from parent'
    m = sq.get(timeout=5)
    assert m.payload == {'from': 'child'}
    m.ack()
    sq.queue.delete()
    sq.close()


def test_requeued_message_goes_back_to_the_head(conn, unique_name):
    q = Queue(unique_name, Exchange(unique_name), unique_name)
    ch = conn.channel()
    q(ch).declare()
    p = conn.Producer(ch)
    for body in ('first', 'second'):
        p.publish(body, exchange=q.exchange, routing_key=unique_name)
    m = get_message(q(ch))
    assert m.payload == 'first'
    m.requeue()
    again = get_message(q(ch))
    assert again.payload == 'first' and again.delivery_info['redelivered']
    again.ack()
    assert get_message(q(ch), no_ack=True).payload == 'second'
    q(ch).delete()
    ch.close()


def test_unknown_broker_name_is_a_connection_error(pyro_url):
    c = Connection(pyro_url.rsplit('/', 1)[0] + f'/no.such.{uuid.uuid4().hex[:8]}')
    with pytest.raises(c.connection_errors, match='No broker named'):
        c.transport.establish_connection()
    with pytest.raises(OperationalError, match='No broker named'):
        c.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    c.release()


def test_no_name_server_is_a_connection_error():
    c = Connection('pyro://127.0.0.1:1/kombu.broker', connect_timeout=1)
    with pytest.raises(c.connection_errors, match='name server'):
        c.transport.establish_connection()
    with pytest.raises(OperationalError, match='name server'):
        c.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    c.release()


def test_publish_retry_survives_a_broker_restart(pyro_url, unique_name):
    name = f'kombu.test.{uuid.uuid4().hex[:8]}'
    proc = start_broker(name)
    try:
        c = Connection(pyro_url.rsplit('/', 1)[0] + '/' + name,
                       transport_options=OPTIONS)
        producer = c.Producer()
        producer.publish('before', routing_key=unique_name, declare=[Queue(unique_name)])
        stop(proc)
        proc = start_broker(name)           # a new, empty broker under the same name
        with pytest.raises(c.connection_errors):
            c.default_channel.queue_declare(unique_name)
        errors = []
        producer.publish('after', routing_key=unique_name, declare=[Queue(unique_name)],
                         retry=True, retry_policy={
                             'max_retries': 3, 'interval_start': 0,
                             'errback': lambda exc, interval: errors.append(exc)})
        assert len(errors) <= 1
        m = get_message(Queue(unique_name)(c.default_channel), no_ack=True)
        assert m.payload == 'after'
        c.release()
    finally:
        stop(proc)
        unregister(name)


def test_broker_command_line_help():
    out = subprocess.run([sys.executable, '-m', 'kombu.transport.pyro', '--help'],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert '--ns-port' in out.stdout and 'kombu.broker' in out.stdout


def test_broker_exits_with_an_error_without_name_server():
    out = subprocess.run([sys.executable, '-m', 'kombu.transport.pyro', '--ns-port', '1',
                          '--host', '127.0.0.1'],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert 'nameserver' in out.stderr.lower() or 'name server' in out.stderr.lower()


# -- compatibility with Kombu 4.6.7 ---------------------------------------------

#: A broker behaving as Kombu 4.6.7's: ``get`` raises queue.Empty on an empty queue.
KOMBU4_BROKER = textwrap.dedent('''
    import sys
    from queue import Empty
    import Pyro4

    @Pyro4.expose
    class Kombu4StyleBroker:
        def __init__(self):
            self.queues = {}
        def new_queue(self, queue):
            self.queues.setdefault(queue, [])
        def has_queue(self, queue):
            return queue in self.queues
        def get(self, queue):
            if not self.queues[queue]:
                raise Empty()
            return self.queues[queue].pop(0)
        def put(self, queue, message):
            self.queues[queue].append(message)
        def size(self, queue):
            return len(self.queues[queue])

    name, port = sys.argv[1], int(sys.argv[2])
    daemon = Pyro4.Daemon(host='127.0.0.1')
    uri = daemon.register(Kombu4StyleBroker(), objectId=name)
    with Pyro4.locateNS('127.0.0.1', port) as ns:
        ns.register(name, uri)
    print('ready', flush=True)
    daemon.requestLoop()
''')


@pytest.fixture
def kombu4_broker_url(pyro_url):
    """A pyro:// URL of a Kombu-4-style broker (its own process, removed afterwards)."""
    name = f'kombu-test.k4broker.{uuid.uuid4().hex[:8]}'
    proc = subprocess.Popen([sys.executable, '-c', KOMBU4_BROKER, name, str(PORT)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == 'ready', line + proc.stdout.read()
        yield f'pyro://127.0.0.1:{PORT}/{name}'
    finally:
        stop(proc)
        unregister(name)


def test_works_with_a_kombu4_broker(kombu4_broker_url, unique_name):
    # its get() raises queue.Empty (sent by Pyro as a serialized exception)
    with Connection(kombu4_broker_url, transport_options=OPTIONS) as c:
        q = Queue(unique_name, Exchange(unique_name), unique_name)(c.default_channel)
        q.declare()
        assert q.get() is None
        c.Producer().publish({'x': 1}, exchange=unique_name, routing_key=unique_name)
        assert q.get(no_ack=True).payload == {'x': 1}
        assert q.get() is None
