"""Throughput and latency of kombu on any transport URL.

    python benchmarks/throughput.py URL [--n N] [--size BYTES] [--prefetch P] [--hub]
                                        [--repeat R] [--compare-ref]

Publishes N messages (~BYTES of JSON each), consumes them with acks and
the given prefetch, then measures SimpleQueue put->get round trips (p50/p99).
For ``pyamqp://``/``amqp://`` it also measures bare py-amqp (its rounds
alternate with kombu's, so both see the same load), for ``redis://`` bare
redis-py, so the library overhead is visible.  ``--compare-ref`` runs
the same workload with the reference Kombu (``/tmp/refkombu/bin/python``).
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import uuid
from typing import Callable
from urllib.parse import urlsplit

REF_PYTHON = '/tmp/refkombu/bin/python'


def make_body(size: int) -> dict:
    """A JSON-able dict whose serialized form is about ``size`` bytes."""
    overhead = len('{"id": 0, "data": ""}')
    return {'id': 0, 'data': 'x' * max(size - overhead, 0)}


def rate(n: int, seconds: float) -> str:
    return f'{n / seconds:>12,.0f} msg/s  ({n} in {seconds:.3f}s)'


def median(values: list) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def settle(message_count: Callable[[], int], n: int, limit: float = 10.0) -> None:
    """Wait (up to ``limit`` s) until the broker has queued all ``n`` published
    messages, so a consume round doesn't compete with the previous publishing."""
    deadline = time.monotonic() + limit
    while message_count() < n and time.monotonic() < deadline:
        time.sleep(0.01)


def summary(rates: list) -> str:
    """Median and best of several rounds (the machine may be shared and noisy)."""
    return (f'{median(rates):>12,.0f} msg/s median, {max(rates):,.0f} best '
            f'of {len(rates)} rounds')


def percentile(values: list, p: float) -> float:
    values = sorted(values)
    if not values:
        return float('nan')
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def timed_drain(bench, drain, n: int) -> float:
    """Drain until ``bench.received`` reaches ``n`` (or 5 s of silence); record
    the client CPU per message in ``bench.cpu['consume']``; return the seconds."""
    t0, c0 = time.perf_counter(), time.process_time()
    while bench.received < n:
        try:
            drain(timeout=5)
        except socket.timeout:
            break
    bench.cpu['consume'].append((time.process_time() - c0) / max(bench.received, 1))
    return time.perf_counter() - t0


class KombuBench:
    """One round at a time of kombu publishing / consuming ``n`` messages."""

    def __init__(self, url: str, n: int, size: int, prefetch: int) -> None:
        from kombu import Connection, Exchange, Queue

        self.n, self.prefetch = n, prefetch
        self.name = name = f'bench.{uuid.uuid4().hex[:8]}'
        self.body = make_body(size)
        self.conn = Connection(url)
        self.conn.connect()
        self.queue = Queue(name, Exchange(name), routing_key=name, auto_delete=False)
        self.channel = self.conn.channel()
        self.queue(self.channel).declare()
        self.publish = self.conn.Producer(self.channel).publish
        self.received = 0
        self.cpu: dict = {'publish': [], 'consume': []}   # client CPU s/message

    def publish_round(self) -> float:
        publish, body, exchange, name = self.publish, self.body, self.queue.exchange, self.name
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(self.n):
            publish(body, exchange=exchange, routing_key=name)
        self.cpu['publish'].append((time.process_time() - c0) / self.n)
        return self.n / (time.perf_counter() - t0)

    def _on_message(self, body: object, message: object) -> None:
        message.ack()
        self.received += 1

    def _message_count(self) -> int:
        return self.queue(self.channel).queue_declare(passive=True).message_count

    def consume_round(self) -> float:
        n, drain = self.n, self.conn.drain_events
        settle(self._message_count, n)
        self.received = 0
        consumer = self.conn.Consumer([self.queue], channel=self.channel,
                                      callbacks=[self._on_message],
                                      prefetch_count=self.prefetch)
        with consumer:
            elapsed = timed_drain(self, drain, n)
        if self.received != n:
            print(f'  !! only received {self.received} of {n}')
        return self.received / elapsed

    def close(self) -> None:
        try:
            self.queue(self.channel).delete()
        except Exception:
            pass
        self.conn.release()


def bench_kombu(url: str, n: int, size: int, prefetch: int, hub: bool,
                repeat: int = 3, bare: object = None) -> None:
    """Rounds of kombu publish + consume; with ``bare`` (a :class:`PyAMQPBench`)
    each kombu round alternates with the same round of bare py-amqp (bare
    first in odd rounds), so both see the same machine and broker load.
    Each consume round starts once the broker has queued the whole batch."""
    bench = KombuBench(url, n, size, prefetch)
    conn, queue, channel, publish, body = (bench.conn, bench.queue, bench.channel,
                                           bench.publish, bench.body)
    pub_rates, con_rates, bare_pub, bare_con = [], [], [], []
    for i in range(repeat):
        # odd rounds run bare py-amqp first: neither side always follows the other
        bare_first = bare is not None and i % 2 == 1
        if bare_first:
            bare_pub.append(bare.publish_round())
        pub_rates.append(bench.publish_round())
        if bare is not None and not bare_first:
            bare_pub.append(bare.publish_round())
        if bare_first:
            bare_con.append(bare.consume_round())
        con_rates.append(bench.consume_round())
        if bare is not None and not bare_first:
            bare_con.append(bare.consume_round())
    print(f'kombu publish            {summary(pub_rates)}')
    print(f'kombu consume+ack (p={prefetch}) {summary(con_rates)}')

    if hub:
        bench_hub(conn, queue, channel, publish, body, n, prefetch)

    rounds = min(n, 2000)
    simple = conn.SimpleQueue(f'{bench.name}.simple')
    latencies = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        simple.put(body)
        msg = simple.get(timeout=5)
        msg.ack()
        latencies.append(time.perf_counter() - t0)
    print(f'SimpleQueue round trip   p50 {percentile(latencies, 50) * 1e6:8.1f} us   '
          f'p99 {percentile(latencies, 99) * 1e6:8.1f} us  ({rounds} rounds)')
    simple.close()
    try:
        simple.queue.delete()
    except Exception:
        pass
    bench.close()
    if bare is not None:
        print(f'py-amqp publish          {summary(bare_pub)}')
        print(f'py-amqp consume+ack      {summary(bare_con)}')
        print(f'kombu / py-amqp (medians of alternated rounds): '
              f'publish {median(pub_rates) / median(bare_pub):.3f}, '
              f'consume+ack {median(con_rates) / median(bare_con):.3f}')
        # client CPU per message: the library's own cost, less sensitive to load
        for what in ('publish', 'consume'):
            ours, theirs = median(bench.cpu[what]) * 1e6, median(bare.cpu[what]) * 1e6
            print(f'client CPU per message, {what:<8} kombu {ours:6.1f} us  '
                  f'py-amqp {theirs:6.1f} us  (py-amqp / kombu {theirs / ours:.3f})')


def bench_hub(conn, queue, channel, publish, body, n, prefetch) -> None:
    try:
        from kombu.asynchronous import Hub
    except ImportError:
        print('kombu consume via Hub     not available (kombu.asynchronous missing)')
        return
    if not conn.is_evented:
        print('kombu consume via Hub     not available (transport is not evented)')
        return
    for _ in range(n):
        publish(body, exchange=queue.exchange, routing_key=queue.routing_key)
    received = [0]
    last = [0.0]

    def on_message(body, message):
        message.ack()
        received[0] += 1
        last[0] = time.perf_counter()

    hub = Hub()
    conn.register_with_event_loop(hub)
    consumer = conn.Consumer([queue], channel=channel, callbacks=[on_message],
                             prefetch_count=prefetch)
    t0 = time.perf_counter()
    deadline = time.monotonic() + 30
    with consumer:
        while received[0] < n and time.monotonic() < deadline:
            hub.run_once()
    # up to the last delivery: the final run_once may idle until a timer fires
    elapsed = (last[0] or time.perf_counter()) - t0
    hub.close()
    print(f'kombu consume via Hub     {rate(received[0], elapsed)}')


class PyAMQPBench:
    """Bare py-amqp doing the same work as kombu: serialize each body to JSON,
    publish it persistent to a named direct exchange, consume with acks."""

    def __init__(self, url: str, n: int, size: int, prefetch: int) -> None:
        import json

        import amqp
        self.amqp, self.dumps, self.loads = amqp, json.dumps, json.loads
        parts = urlsplit(url)
        vhost = parts.path[1:] if parts.path not in ('', '/') else '/'
        self.conn = amqp.Connection(
            host=f'{parts.hostname or "localhost"}:{parts.port or 5672}',
            userid=parts.username or 'guest', password=parts.password or 'guest',
            virtual_host=vhost or '/')
        self.conn.connect()
        self.ch = ch = self.conn.channel()
        self.name = name = f'bench.raw.{uuid.uuid4().hex[:8]}'
        ch.exchange_declare(name, 'direct', durable=True, auto_delete=False)
        ch.queue_declare(name, durable=True, auto_delete=False)
        ch.queue_bind(name, name, name)
        ch.basic_qos(0, prefetch, False)
        self.n, self.body = n, make_body(size)
        self.received = 0
        self.cpu: dict = {'publish': [], 'consume': []}   # client CPU s/message

    def publish_round(self) -> float:
        Message, dumps, body, name = self.amqp.Message, self.dumps, self.body, self.name
        publish = self.ch.basic_publish
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(self.n):
            publish(Message(dumps(body), content_type='application/json',
                            content_encoding='utf-8', delivery_mode=2),
                    exchange=name, routing_key=name)
        self.cpu['publish'].append((time.process_time() - c0) / self.n)
        return self.n / (time.perf_counter() - t0)

    def _on_message(self, message: object) -> None:
        self.loads(message.body)
        self.ch.basic_ack(message.delivery_tag)
        self.received += 1

    def _message_count(self) -> int:
        return self.ch.queue_declare(self.name, passive=True).message_count

    def consume_round(self) -> float:
        n, drain = self.n, self.conn.drain_events
        settle(self._message_count, n)
        self.received = 0
        tag = self.ch.basic_consume(self.name, callback=self._on_message)
        elapsed = timed_drain(self, drain, n)
        self.ch.basic_cancel(tag)
        return self.received / elapsed

    def close(self) -> None:
        self.ch.queue_delete(self.name)
        self.ch.exchange_delete(self.name)
        self.conn.close()


def bench_pyamqp(url: str, n: int, size: int, prefetch: int, repeat: int = 3) -> None:
    """Bare py-amqp rounds on their own (see :class:`PyAMQPBench`)."""
    bench = PyAMQPBench(url, n, size, prefetch)
    pub_rates, con_rates = [], []
    for _ in range(repeat):
        pub_rates.append(bench.publish_round())
        con_rates.append(bench.consume_round())
    print(f'py-amqp publish          {summary(pub_rates)}')
    print(f'py-amqp consume+ack      {summary(con_rates)}')
    bench.close()


def bench_redis(url: str, n: int, size: int) -> None:
    import json

    import redis
    client = redis.Redis.from_url(url)
    name = f'bench.raw.{uuid.uuid4().hex[:8]}'
    payload = json.dumps(make_body(size))
    t0 = time.perf_counter()
    for _ in range(n):
        client.lpush(name, payload)
    elapsed = time.perf_counter() - t0
    print(f'redis-py LPUSH           {rate(n, elapsed)}')
    t0 = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.lpush(name, payload)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    elapsed = time.perf_counter() - t0
    print(f'redis-py LPUSH pipelined {rate(n, elapsed)}')
    t0 = time.perf_counter()
    got = 0
    for _ in range(2 * n):
        if client.brpop(name, timeout=1) is None:
            break
        got += 1
    elapsed = time.perf_counter() - t0
    print(f'redis-py BRPOP           {rate(got, elapsed)}')
    client.delete(name)


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('url', nargs='?', default='memory://')
    parser.add_argument('--n', type=int, default=20000)
    parser.add_argument('--size', type=int, default=100)
    parser.add_argument('--prefetch', type=int, default=100)
    parser.add_argument('--repeat', type=int, default=3,
                        help='rounds of publish+consume (median and best are shown)')
    parser.add_argument('--hub', action='store_true')
    parser.add_argument('--compare-ref', action='store_true')
    args = parser.parse_args(argv)

    scheme = args.url.partition('://')[0]
    print(f'== {args.url}  n={args.n} size={args.size} prefetch={args.prefetch} '
          f'(python {sys.version.split()[0]}, {sys.executable})')
    bare = None
    if scheme in ('pyamqp', 'amqp'):
        # alternated with kombu's rounds: the machine/broker load is shared fairly
        bare = PyAMQPBench(args.url, args.n, args.size, args.prefetch)
    try:
        bench_kombu(args.url, args.n, args.size, args.prefetch, args.hub, args.repeat,
                    bare=bare)
    finally:
        if bare is not None:
            bare.close()
    if scheme in ('redis',):
        bench_redis(args.url, args.n, args.size)

    if args.compare_ref:
        if not os.path.exists(REF_PYTHON):
            print(f'reference interpreter {REF_PYTHON} not found')
        else:
            print('-- reference Kombu, same workload:', flush=True)
            # run from a neutral directory so the reference `kombu` is imported
            subprocess.run([REF_PYTHON, os.path.abspath(__file__), args.url,
                            '--n', str(args.n), '--size', str(args.size),
                            '--prefetch', str(args.prefetch), '--repeat', str(args.repeat)],
                           cwd='/tmp', check=False)
    return 0


if __name__ == '__main__':
    sys.exit(main())
