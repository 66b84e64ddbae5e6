"""Throughput and latency of kombu on any transport URL.

    python benchmarks/throughput.py URL [--n N] [--size BYTES] [--prefetch P] [--hub]
                                        [--repeat R] [--compare-ref]

Publishes N messages (~BYTES of JSON each), consumes them with acks and
the given prefetch, then measures SimpleQueue put->get round trips (p50/p99).
For ``pyamqp://``/``amqp://`` it also measures bare py-amqp, for ``redis://``
bare redis-py, so the library overhead is visible.  ``--compare-ref`` runs
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
from urllib.parse import urlsplit

REF_PYTHON = '/tmp/refkombu/bin/python'


def make_body(size: int) -> dict:
    """A JSON-able dict whose serialized form is about ``size`` bytes."""
    overhead = len('{"id": 0, "data": ""}')
    return {'id': 0, 'data': 'x' * max(size - overhead, 0)}


def rate(n: int, seconds: float) -> str:
    return f'{n / seconds:>12,.0f} msg/s  ({n} in {seconds:.3f}s)'


def summary(rates: list) -> str:
    """Median and best of several rounds (the machine may be shared and noisy)."""
    rates = sorted(rates)
    return (f'{rates[len(rates) // 2]:>12,.0f} msg/s median, {rates[-1]:,.0f} best '
            f'of {len(rates)} rounds')


def percentile(values: list, p: float) -> float:
    values = sorted(values)
    if not values:
        return float('nan')
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def bench_kombu(url: str, n: int, size: int, prefetch: int, hub: bool,
                repeat: int = 3) -> None:
    from kombu import Connection, Exchange, Queue

    name = f'bench.{uuid.uuid4().hex[:8]}'
    body = make_body(size)
    with Connection(url) as conn:
        queue = Queue(name, Exchange(name), routing_key=name, auto_delete=False)
        channel = conn.channel()
        queue(channel).declare()
        producer = conn.Producer(channel)
        publish = producer.publish
        exchange = queue.exchange

        received = [0]

        def on_message(body, message):
            message.ack()
            received[0] += 1

        drain = conn.drain_events
        pub_rates, con_rates = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(n):
                publish(body, exchange=exchange, routing_key=name)
            pub_rates.append(n / (time.perf_counter() - t0))

            received[0] = 0
            consumer = conn.Consumer([queue], channel=channel, callbacks=[on_message],
                                     prefetch_count=prefetch)
            t0 = time.perf_counter()
            with consumer:
                while received[0] < n:
                    try:
                        drain(timeout=5)
                    except socket.timeout:
                        break
            con_rates.append(received[0] / (time.perf_counter() - t0))
            if received[0] != n:
                print(f'  !! only received {received[0]} of {n}')
        print(f'kombu publish            {summary(pub_rates)}')
        print(f'kombu consume+ack (p={prefetch}) {summary(con_rates)}')

        if hub:
            bench_hub(conn, queue, channel, publish, body, n, prefetch)

        rounds = min(n, 2000)
        simple = conn.SimpleQueue(f'{name}.simple')
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
            queue(channel).delete()
        except Exception:
            pass


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


def bench_pyamqp(url: str, n: int, size: int, prefetch: int, repeat: int = 3) -> None:
    """Bare py-amqp doing the same work as kombu: serialize each body to JSON,
    publish it persistent to a named direct exchange, consume with acks."""
    import json

    import amqp
    parts = urlsplit(url)
    vhost = parts.path[1:] if parts.path not in ('', '/') else '/'
    conn = amqp.Connection(host=f'{parts.hostname or "localhost"}:{parts.port or 5672}',
                           userid=parts.username or 'guest',
                           password=parts.password or 'guest', virtual_host=vhost or '/')
    conn.connect()
    ch = conn.channel()
    name = f'bench.raw.{uuid.uuid4().hex[:8]}'
    ch.exchange_declare(name, 'direct', durable=True, auto_delete=False)
    ch.queue_declare(name, durable=True, auto_delete=False)
    ch.queue_bind(name, name, name)
    body = make_body(size)
    dumps = json.dumps
    received = [0]

    def on_message(message):
        json.loads(message.body)
        ch.basic_ack(message.delivery_tag)
        received[0] += 1

    ch.basic_qos(0, prefetch, False)
    pub_rates, con_rates = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            ch.basic_publish(amqp.Message(dumps(body), content_type='application/json',
                                          content_encoding='utf-8', delivery_mode=2),
                             exchange=name, routing_key=name)
        pub_rates.append(n / (time.perf_counter() - t0))
        received[0] = 0
        tag = ch.basic_consume(name, callback=on_message)
        t0 = time.perf_counter()
        while received[0] < n:
            try:
                conn.drain_events(timeout=5)
            except socket.timeout:
                break
        con_rates.append(received[0] / (time.perf_counter() - t0))
        ch.basic_cancel(tag)
    print(f'py-amqp publish          {summary(pub_rates)}')
    print(f'py-amqp consume+ack      {summary(con_rates)}')
    ch.queue_delete(name)
    ch.exchange_delete(name)
    conn.close()


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
    bench_kombu(args.url, args.n, args.size, args.prefetch, args.hub, args.repeat)
    if scheme in ('pyamqp', 'amqp'):
        bench_pyamqp(args.url, args.n, args.size, args.prefetch, args.repeat)
    elif scheme in ('redis',):
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
