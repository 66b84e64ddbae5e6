"""Consumers driven only by the event loop (:class:`kombu.asynchronous.Hub`).

RabbitMQ (py-amqp, heartbeats on) and Redis consumers receive 10,000
messages published by another process while ``hub.run_forever()`` runs in a
thread; a connection the broker closes must come out of the loop as an error
(its socket gone from the poller) instead of hanging it; an idle hub with a
live RabbitMQ connection must not burn CPU; and ``memory://`` (no socket) is
polled from the loop.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from kombu import Connection, Consumer, Exchange, Queue
from kombu.asynchronous import Hub

sys.path.insert(0, str(Path(__file__).parent))
from test_pyamqp import close_server_side  # noqa: E402

pytestmark = pytest.mark.services

N = 10_000
PREFETCH = 100          # only acked messages make room for more: 10,000 need the acks
HEARTBEAT = 2
IDLE_BEFORE_PUBLISH = 5.0   # > 2 heartbeat intervals: the broker drops a silent client

PUBLISHER = '''
import sys, time
from kombu import Connection, Exchange, Producer
url, name, n, delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
time.sleep(delay)
with Connection(url) as conn:
    producer = Producer(conn.channel(), exchange=Exchange(name), routing_key=name)
    for i in range(n):
        producer.publish({'id': i}, serializer='json')
print('published', n)
'''


def _pyamqp(url: str) -> str:
    return 'pyamqp://' + url.split('://', 1)[1]


def _entities(name: str) -> Queue:
    return Queue(name, Exchange(name), routing_key=name, auto_delete=False)


def _delete(url: str, name: str) -> None:
    with Connection(url) as conn:
        queue = _entities(name)(conn.channel())
        for delete in (queue.delete, queue.exchange.delete):
            try:
                delete()
            except conn.channel_errors:
                pass


def _message_count(url: str, name: str) -> int:
    with Connection(url) as conn:
        return conn.channel().queue_declare(name, passive=True).message_count


class LoopThread:
    """``hub.run_forever()`` in a thread; keeps what it raised."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.hub.run_forever()
        except BaseException as exc:       # handed to the test thread
            self.error = exc

    def start(self) -> LoopThread:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self.thread.ident is None or not self.thread.is_alive():
            return
        self.hub.call_soon(self.hub.stop)
        self.thread.join(timeout)
        assert not self.thread.is_alive(), 'hub.run_forever() did not stop'


def _consume_from_other_process(url: str, name: str, delay: float = 0.0,
                                **conn_kwargs) -> dict:
    """Consume N messages published by a subprocess, via the hub only."""
    received: list[int] = []
    done = threading.Event()
    first_at: list[float] = []

    def on_message(body, message):
        if not first_at:
            first_at.append(time.monotonic())
        received.append(body['id'])
        message.ack()
        if len(received) >= N:
            done.set()

    hub = Hub()
    loop = LoopThread(hub)
    conn = Connection(url, **conn_kwargs)
    publisher = None
    try:
        conn.connect()
        conn.register_with_event_loop(hub)
        consumer = Consumer(conn.channel(), [_entities(name)], callbacks=[on_message],
                            accept=['json'], prefetch_count=PREFETCH)
        consumer.consume()              # declares the queue before anything is published
        registered_at = time.monotonic()
        loop.start()
        publisher = subprocess.Popen(
            [sys.executable, '-c', PUBLISHER, url, name, str(N), str(delay)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        done.wait(25 + delay)
        time.sleep(0.3)                 # duplicates would arrive now
        loop.stop()
        out, err = publisher.communicate(timeout=10)
        assert publisher.returncode == 0, err
        assert loop.error is None, repr(loop.error)
        result = {'received': list(received), 'registered_at': registered_at,
                  'first_at': first_at[0] if first_at else None,
                  'connected': conn.connected, 'raw': conn.connection}
        conn.transport.unregister_from_event_loop(conn.connection, hub)
        consumer.cancel()
    finally:
        loop.stop()
        if publisher is not None and publisher.poll() is None:
            publisher.kill()
            publisher.wait()
        conn.release()
        hub.close()
    return result


def _assert_all_once(received: list[int]) -> None:
    assert len(received) == N, f'{len(received)} deliveries'
    assert len(set(received)) == N and set(received) == set(range(N))


# -- 10,000 messages from another process -------------------------------------

def test_rabbitmq_consumer_on_the_hub_gets_every_message_once(rabbitmq_url, unique_name):
    url = _pyamqp(rabbitmq_url)
    try:
        result = _consume_from_other_process(url, unique_name, delay=IDLE_BEFORE_PUBLISH,
                                             heartbeat=HEARTBEAT)
        _assert_all_once(result['received'])
        # the connection sat idle for more than two heartbeat intervals and
        # lived: the hub's timer sent heartbeats meanwhile
        raw = result['raw']
        idle = result['first_at'] - result['registered_at']
        assert idle > 2 * HEARTBEAT, idle
        assert raw.last_heartbeat_sent > result['registered_at']
        assert result['connected']
        assert _message_count(url, unique_name) == 0     # acked, nothing requeued on close
    finally:
        _delete(url, unique_name)


def test_redis_consumer_on_the_hub_gets_every_message_once(redis_url, unique_name):
    try:
        result = _consume_from_other_process(redis_url, unique_name)
        _assert_all_once(result['received'])
        assert _message_count(redis_url, unique_name) == 0   # nothing unacked restored
    finally:
        _delete(redis_url, unique_name)


# -- the broker closes the connection ----------------------------------------

def test_rabbitmq_connection_closed_by_the_broker_leaves_the_loop(rabbitmq_url, unique_name):
    url = _pyamqp(rabbitmq_url)
    hub = Hub()
    loop = LoopThread(hub)
    conn = Connection(url, heartbeat=HEARTBEAT)
    try:
        conn.connect()
        conn.register_with_event_loop(hub)
        raw = conn.connection
        fd = raw.sock.fileno()
        assert fd in hub.readers and len(hub.timer.queue) == 1     # socket + heartbeats
        consumer = Consumer(conn.channel(), [_entities(unique_name)], accept=['json'])
        consumer.consume()
        loop.start()
        close_server_side(raw)
        loop.thread.join(10)
        assert not loop.thread.is_alive(), 'the hub hangs on a closed connection'
        assert isinstance(loop.error, conn.connection_errors), repr(loop.error)
        assert 'closed by kombu integration test' in str(loop.error)
        assert fd not in hub.readers and fd not in hub.writers
        assert hub.timer.queue == []            # heartbeat timer cancelled too
        hub.run_once()                          # the loop itself still works
    finally:
        loop.stop()
        conn.release()
        hub.close()
        _delete(url, unique_name)


class FreezableRelay:
    """A TCP relay to RabbitMQ that can stop forwarding while keeping sockets open.

    Frozen, it looks like a network that silently drops everything: only
    missing heartbeats can tell.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.frozen = threading.Event()
        self.closing = threading.Event()
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        src.settimeout(0.05)
        while not self.closing.is_set():
            if self.frozen.is_set():
                time.sleep(0.05)
                continue
            try:
                data = src.recv(65536)
                if not data:
                    return
                dst.sendall(data)
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self) -> None:
        self.closing.set()
        for sock in self.sockets:
            sock.close()


def test_rabbitmq_missed_heartbeats_leave_the_loop(rabbitmq_url):
    """A silently dead network: the hub's heartbeat timer detects it and raises."""
    parts = urlparse(rabbitmq_url)
    relay = FreezableRelay((parts.hostname or '127.0.0.1', parts.port or 5672))
    url = f'pyamqp://guest:guest@127.0.0.1:{relay.port}//'
    hub = Hub()
    loop = LoopThread(hub)
    conn = Connection(url, heartbeat=HEARTBEAT)
    try:
        conn.connect()
        conn.register_with_event_loop(hub)
        raw = conn.connection
        fd = raw.sock.fileno()
        loop.start()
        time.sleep(0.5)
        relay.frozen.set()
        frozen_at = time.monotonic()
        loop.thread.join(4 * HEARTBEAT + 2)
        waited = time.monotonic() - frozen_at
        assert not loop.thread.is_alive(), 'missed heartbeats went unnoticed'
        assert isinstance(loop.error, conn.connection_errors), repr(loop.error)
        assert 'heartbeat' in str(loop.error).lower()
        assert 2 * HEARTBEAT - 1 < waited < 3 * HEARTBEAT + 1, waited
        assert fd not in hub.readers and hub.timer.queue == []
        assert raw._transport is None   # socket dropped: closing cannot hang on it
    finally:
        loop.stop()
        relay.close()
        conn.release()
        hub.close()


def _local_ports(fds) -> set[int]:
    ports = set()
    for fd in fds:
        sock = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)   # a dup
        try:
            ports.add(sock.getsockname()[1])
        except OSError:
            pass
        finally:
            sock.close()
    return ports


def test_redis_connection_closed_by_the_server_is_not_silently_lost(redis_url, unique_name):
    redis = pytest.importorskip('redis')
    received = []
    hub = Hub()
    loop = LoopThread(hub)
    conn = Connection(redis_url)
    try:
        conn.connect()
        conn.register_with_event_loop(hub)
        queue = _entities(unique_name)
        consumer = Consumer(conn.channel(), [queue], accept=['json'],
                            callbacks=[lambda body, message: (received.append(body),
                                                              message.ack())])
        consumer.consume()
        loop.start()
        deadline = time.monotonic() + 5
        while not hub.readers and time.monotonic() < deadline:
            time.sleep(0.01)
        ports = _local_ports(list(hub.readers))
        assert ports, 'the Redis transport registered no socket with the hub'
        admin = redis.Redis.from_url(redis_url)
        killed = 0
        for client in admin.client_list():          # only this consumer's sockets
            if int(client['addr'].rsplit(':', 1)[1]) in ports:
                killed += admin.client_kill(client['addr'])
        assert killed
        time.sleep(0.2)
        with Connection(redis_url) as publisher:
            publisher.Producer().publish({'after': 'kill'}, exchange=queue.exchange,
                                         routing_key=unique_name)
        published = time.monotonic()
        while time.monotonic() - published < 5 and loop.thread.is_alive() and not received:
            time.sleep(0.005)
        latency = time.monotonic() - published
        if loop.thread.is_alive():
            # recovered by itself: then the new socket must be watched again
            assert received == [{'after': 'kill'}], 'neither an error nor the message'
            assert latency < 1.0, f'message took {latency:.2f} s after reconnecting'
        else:
            # or the error reached the loop's owner
            assert isinstance(loop.error, conn.connection_errors), repr(loop.error)
        loop.stop()
    finally:
        loop.stop()
        conn.release()
        hub.close()
        _delete(redis_url, unique_name)


# -- idle CPU -----------------------------------------------------------------

def test_idle_hub_with_rabbitmq_connection_uses_little_cpu(rabbitmq_url, unique_name):
    url = _pyamqp(rabbitmq_url)
    hub = Hub()
    loop = LoopThread(hub)
    conn = Connection(url, heartbeat=HEARTBEAT)
    try:
        conn.connect()
        conn.register_with_event_loop(hub)
        consumer = Consumer(conn.channel(), [_entities(unique_name)], accept=['json'])
        consumer.consume()
        sent_before = conn.connection.last_heartbeat_sent
        cpu, wall = time.process_time(), time.monotonic()
        loop.start()
        time.sleep(5)
        loop.stop()
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        print(f'idle hub with a RabbitMQ connection: {cpu * 1000:.1f} ms CPU '
              f'in {wall:.2f} s = {cpu / wall:.3%}')
        assert loop.error is None, repr(loop.error)
        assert conn.connection.last_heartbeat_sent > sent_before   # not idle: heartbeats
        assert conn.connected
        assert cpu / wall < 0.02
    finally:
        loop.stop()
        conn.release()
        hub.close()
        _delete(url, unique_name)


# -- socket-less virtual transport: polled from the loop ----------------------

def test_memory_consumer_is_polled_by_the_hub(unique_name):
    received: list[int] = []
    conn = Connection('memory://', transport_options={'polling_interval': 0.05})
    hub = Hub()
    try:
        conn.register_with_event_loop(hub)
        channel = conn.channel()
        queue = _entities(unique_name)
        consumer = Consumer(channel, [queue], accept=['json'], prefetch_count=PREFETCH,
                            callbacks=[lambda body, message: (received.append(body['id']),
                                                              message.ack())])
        consumer.consume()
        producer = conn.Producer(conn.channel(), exchange=queue.exchange,
                                 routing_key=unique_name)

        def run_until(count: int, secs: float = 5.0) -> None:
            deadline = time.monotonic() + secs
            while len(received) < count and time.monotonic() < deadline:
                hub.run_once()

        for i in range(1000):
            producer.publish({'id': i}, serializer='json')
        run_until(1000)
        assert received == list(range(1000))
        for _ in range(5):
            hub.run_once()                      # idle: the poll timer keeps running
        for i in range(1000, 1010):
            producer.publish({'id': i}, serializer='json')
        run_until(1010)
        assert received == list(range(1010))
        assert not channel.qos._delivered           # all acked
        conn.transport.unregister_from_event_loop(conn.connection, hub)
        producer.publish({'id': -1}, serializer='json')
        for _ in range(3):
            hub.run_once()
        assert received[-1] == 1009                 # no longer polled
        assert hub.timer.queue == []
        consumer.cancel()
        channel.queue_delete(unique_name)
    finally:
        conn.release()
        hub.close()


def test_redis_acks_deferred_on_the_hub_refill_the_window_at_once(redis_url, unique_name):
    """Acks run from ``hub.call_soon`` (as Celery defers them) reopen the prefetch
    window: the next messages are fetched on the next pass of the loop, not after
    a poll timeout (that was ~1 s per window: 200 messages at prefetch 8 took ~25 s)."""
    n, prefetch = 200, 8
    queue = _entities(unique_name)
    with Connection(redis_url) as producer_conn:
        producer = producer_conn.Producer()
        for i in range(n):
            producer.publish({'id': i}, exchange=queue.exchange, routing_key=unique_name,
                             declare=[queue])
    hub = Hub()
    got: list = []
    conn = Connection(redis_url)
    try:
        conn.connect()

        def on_message(message):
            got.append(message.payload['id'])
            hub.call_soon(message.ack)

        consumer = Consumer(conn.default_channel, [queue], on_message=on_message,
                            prefetch_count=prefetch, accept=['json'])
        consumer.consume()
        conn.transport.register_with_event_loop(conn.connection, hub)
        start = time.monotonic()
        while len(got) < n and time.monotonic() - start < 30:
            hub.run_once()
        elapsed = time.monotonic() - start
        consumer.cancel()
    finally:
        hub.close()
        conn.release()
        _delete(redis_url, unique_name)
    assert sorted(got) == list(range(n))
    assert elapsed < 3.0, f'{n} messages took {elapsed:.1f}s: the window is refilled late'
