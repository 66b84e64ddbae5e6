"""kombu.pidbox: Mailbox/Node wiring, dispatch, calls with replies, errors, timeouts."""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from pidbox_node import start_node_process

from kombu import Connection, pidbox


def make_conn(kind, folder):
    if kind == 'memory':
        return Connection('memory://')
    return Connection('filesystem://', transport_options={
        'data_folder_in': str(folder), 'data_folder_out': str(folder),
        'polling_interval': 0.01})


@pytest.fixture(params=['memory', 'filesystem'])
def kind(request):
    return request.param


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / 'fs'
    path.mkdir()
    return path


@pytest.fixture
def namespace(unique_name):
    return unique_name.replace('.', '_')


class NodeThread(threading.Thread):
    """Serve a pidbox node on its own connection until stopped."""

    def __init__(self, conn, mailbox, hostname, handlers):
        super().__init__(daemon=True)
        self.conn = conn
        self.node = mailbox(conn).Node(hostname, state={'calls': []}, handlers=handlers)
        self.stopped = threading.Event()
        self.ready = threading.Event()

    def run(self):
        consumer = self.node.listen()
        self.ready.set()
        try:
            while not self.stopped.is_set():
                try:
                    self.conn.drain_events(timeout=0.05)
                except socket.timeout:
                    pass
        finally:
            consumer.cancel()
            self.conn.release()

    def stop(self):
        self.stopped.set()
        self.join(5)


def ping(state, value=None):
    state['calls'].append(('ping', value))
    return {'pong': value}


def fail(state, **kwargs):
    raise RuntimeError('boom')


HANDLERS = {'ping': ping, 'fail': fail}


@pytest.fixture
def serve(kind, folder, namespace):
    threads = []

    def start(hostname, handlers=HANDLERS):
        t = NodeThread(make_conn(kind, folder), pidbox.Mailbox(namespace), hostname,
                       dict(handlers))
        t.start()
        assert t.ready.wait(5)
        threads.append(t)
        return t

    yield start
    for t in threads:
        t.stop()


@pytest.fixture
def client(kind, folder, namespace):
    conn = make_conn(kind, folder)
    yield pidbox.Mailbox(namespace)(conn)
    conn.release()


# -- wiring --------------------------------------------------------------------

def test_mailbox_exchanges_and_queues_are_named_after_the_namespace():
    mailbox = pidbox.Mailbox('app', type='fanout', queue_ttl=5, queue_expires=60,
                             reply_queue_ttl=3)
    assert (mailbox.exchange.name, mailbox.exchange.type) == ('app.pidbox', 'fanout')
    assert mailbox.reply_exchange.name == 'reply.app.pidbox'
    assert mailbox.reply_exchange.type == 'direct'
    queue = mailbox.get_queue('host1')
    assert queue.name == 'host1.app.pidbox'
    assert queue.exchange.name == 'app.pidbox'
    assert (queue.auto_delete, queue.durable) == (True, False)
    assert (queue.message_ttl, queue.expires) == (5, 60)
    reply = mailbox.get_reply_queue()
    assert reply.name == f'{mailbox.oid}.reply.app.pidbox'
    assert reply.routing_key == mailbox.oid
    assert (reply.message_ttl, reply.expires) == (3, 10.0)


def test_mailbox_defaults():
    mailbox = pidbox.Mailbox('app')
    assert mailbox.type == 'direct'
    assert mailbox.connection is None
    assert mailbox.accept == ['json']
    assert (mailbox.exchange_fmt, mailbox.reply_exchange_fmt) == ('%s.pidbox',
                                                                   'reply.%s.pidbox')
    assert (mailbox.serializer, mailbox.producer_pool) == (None, None)
    assert (mailbox.queue_ttl, mailbox.queue_expires) == (None, None)
    assert (mailbox.reply_queue_ttl, mailbox.reply_queue_expires) == (None, 10.0)
    # the documented class attributes
    M = pidbox.Mailbox
    assert (M.namespace, M.connection, M.type, M.exchange, M.reply_exchange) == (
        None, None, 'direct', None, None)
    assert (M.accept, M.serializer, M.producer_pool) == (['json'], None, None)
    N = pidbox.Node
    assert (N.hostname, N.mailbox, N.handlers, N.state, N.channel) == (
        None, None, None, None, None)
    # exchanges are transient and not durable
    for exchange in (mailbox.exchange, mailbox.reply_exchange):
        assert (exchange.durable, exchange.auto_delete, exchange.delivery_mode) == (
            False, False, 1)


def test_calling_a_mailbox_binds_a_copy_to_the_connection():
    mailbox = pidbox.Mailbox('app')
    conn = Connection('memory://')
    bound = mailbox(conn)
    assert bound is not mailbox
    assert bound.connection is conn and mailbox.connection is None
    assert bound.exchange.name == mailbox.exchange.name


def test_oid_differs_per_thread():
    mailbox = pidbox.Mailbox('app')
    other = []
    t = threading.Thread(target=lambda: other.append(mailbox.oid))
    t.start()
    t.join()
    assert mailbox.oid == mailbox.oid
    assert other[0] != mailbox.oid


def test_broadcast_rejects_a_non_list_destination():
    mailbox = pidbox.Mailbox('app')(Connection('memory://'))
    with pytest.raises(ValueError):
        mailbox.cast('host1', 'ping')


# -- Node ------------------------------------------------------------------------

@pytest.fixture
def node():
    mailbox = pidbox.Mailbox('app')(Connection('memory://'))
    return mailbox.Node('host1', state={'calls': []}, handlers=dict(HANDLERS))


def test_node_defaults_to_the_local_hostname():
    mailbox = pidbox.Mailbox('app')
    assert mailbox.Node().hostname == socket.gethostname()
    assert mailbox.Node('x').mailbox is mailbox


def test_handler_decorator_registers_by_function_name(node):
    @node.handler
    def shout(state, word):
        return word.upper()

    assert node.handlers['shout'] is shout
    assert node.dispatch('shout', {'word': 'hi'}) == 'HI'


def test_mailbox_handler_decorator_provides_default_node_handlers():
    mailbox = pidbox.Mailbox('app')

    @mailbox.handler
    def reload(state, **kwargs):
        return 'reloaded'

    assert mailbox.Node('x').handle('reload') == 'reloaded'


def test_handle_passes_state_and_arguments(node):
    assert node.handle('ping', {'value': 1}) == {'pong': 1}
    assert node.handle_call('ping', {'value': 2}) == {'pong': 2}
    assert node.handle_cast('ping', {'value': 3}) == {'pong': 3}
    assert node.state['calls'] == [('ping', 1), ('ping', 2), ('ping', 3)]


def test_dispatch_returns_error_for_failing_or_unknown_handler(node):
    assert node.dispatch('fail') == {'error': "RuntimeError('boom')"}
    assert node.dispatch('nope') == {'error': "KeyError('nope')"}


def test_dispatch_from_message_filters_by_destination(node):
    assert node.dispatch_from_message(
        {'method': 'ping', 'arguments': {'value': 1}, 'destination': ['other']}) is None
    assert node.dispatch_from_message(
        {'method': 'ping', 'arguments': {'value': 2}, 'destination': ['host1']}) == {'pong': 2}
    assert node.dispatch_from_message(
        {'method': 'ping', 'arguments': {'value': 3}, 'destination': None}) == {'pong': 3}


def test_dispatch_from_message_filters_by_pattern(node):
    body = {'method': 'ping', 'arguments': {}, 'pattern': 'host*', 'matcher': 'glob'}
    assert node.handle_message(body) == {'pong': None}
    body['pattern'] = 'web*'
    assert node.handle_message(body) is None


def test_expired_command_is_skipped(node):
    class Msg:
        headers = {'clock': 5, 'expires': time.time() - 1}

    assert node.handle_message({'method': 'ping', 'arguments': {}}, Msg()) is None
    assert node.state['calls'] == []


def test_received_clock_advances_the_mailbox_clock(node):
    class Msg:
        headers = {'clock': 1000}

    node.handle_message({'method': 'ping', 'arguments': {}}, Msg())
    assert node.mailbox.clock.forward() > 1000


def test_decode_error_is_logged(node, caplog):
    with caplog.at_level('ERROR', logger='kombu.pidbox'):
        node.on_decode_error(object(), ValueError('bad'))
    assert 'Cannot decode message' in caplog.text


# -- over a transport ----------------------------------------------------------

def test_call_returns_the_node_reply(serve, client):
    serve('n1')
    assert client.call(['n1'], 'ping', {'value': 7}, timeout=5) == [{'n1': {'pong': 7}}]


def test_call_callback_gets_each_reply(serve, client):
    serve('n1')
    got = []
    client.call(['n1'], 'ping', {'value': 1}, timeout=5, callback=got.append)
    assert got == [{'n1': {'pong': 1}}]


def test_failing_handler_returns_error_and_node_keeps_serving(serve, client):
    serve('n1')
    assert client.call(['n1'], 'fail', timeout=5) == [{'n1': {'error': "RuntimeError('boom')"}}]
    assert client.call(['n1'], 'ping', {'value': 2}, timeout=5) == [{'n1': {'pong': 2}}]


def test_call_without_reply_times_out_with_what_arrived(serve, client):
    serve('n1')
    start = time.monotonic()
    assert client.call(['ghost'], 'ping', timeout=0.3) == []
    assert time.monotonic() - start < 3


def test_multi_call_collects_from_every_node(serve, client):
    serve('n1')
    serve('n2')
    replies = client.multi_call('ping', {'value': 1}, timeout=5, limit=2)
    assert sorted(replies, key=lambda r: list(r)) == [{'n1': {'pong': 1}},
                                                       {'n2': {'pong': 1}}]


def test_call_reaches_only_the_destination(serve, client):
    n1, _n2 = serve('n1'), serve('n2')
    assert client.call(['n2'], 'ping', {'value': 5}, timeout=5) == [{'n2': {'pong': 5}}]
    time.sleep(0.2)
    assert n1.node.state['calls'] == []


def test_cast_and_abcast_run_handlers_without_replies(serve, client):
    n1 = serve('n1')
    assert client.cast(['n1'], 'ping', {'value': 'cast'}) is None
    assert client.abcast('ping', {'value': 'abcast'}) is None
    deadline = time.monotonic() + 5
    while len(n1.node.state['calls']) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sorted(v for _, v in n1.node.state['calls']) == ['abcast', 'cast']


# -- node in another process ---------------------------------------------------

def test_node_in_another_process_answers_calls(folder, namespace):
    options = {'data_folder_in': str(folder), 'data_folder_out': str(folder),
               'polling_interval': 0.01}
    conn = Connection('filesystem://', transport_options=options)
    mailbox = pidbox.Mailbox(namespace)(conn)
    proc = start_node_process('filesystem://', options, namespace, 'remote')
    try:
        [reply] = mailbox.call(['remote'], 'ping', {'value': 9}, timeout=10)
        assert reply['remote']['pong'] == 9
        assert reply['remote']['pid'] == proc.pid != os.getpid()
        assert mailbox.call(['remote'], 'fail', timeout=10) == [
            {'remote': {'error': "RuntimeError('boom')"}}]
        assert mailbox.call(['remote'], 'shutdown', timeout=10) == [{'remote': 'bye'}]
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        conn.release()


def test_mailbox_accepts_a_lazy_producer_pool(serve, kind, folder, namespace):
    # Celery passes ``producer_pool=lazy(lambda: app.amqp.producer_pool)``.
    from kombu import pools
    from kombu.utils.functional import lazy
    serve('n1')
    conn = make_conn(kind, folder)
    pool = pools.producers[conn]
    mailbox = pidbox.Mailbox(namespace, producer_pool=lazy(lambda: pool))(conn)
    try:
        assert mailbox.call(['n1'], 'ping', {'value': 'lazy'}, timeout=5) == [
            {'n1': {'pong': 'lazy'}}]
        assert mailbox.producer_pool is pool
    finally:
        conn.release()


def test_mailbox_can_publish_through_a_producer_pool(serve, kind, folder, namespace):
    from kombu import pools
    serve('n1')
    conn = make_conn(kind, folder)
    mailbox = pidbox.Mailbox(namespace, producer_pool=pools.producers[conn])(conn)
    try:
        assert mailbox.call(['n1'], 'ping', {'value': 'pooled'}, timeout=5) == [
            {'n1': {'pong': 'pooled'}}]
    finally:
        conn.release()
