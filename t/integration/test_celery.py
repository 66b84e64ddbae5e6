"""Celery 4.4 (the release line made for Kombu 4.6.7) running on this kombu.

Celery is a client of kombu, not a service: these tests are skipped when
``celery`` (4.x) cannot be imported, whatever ``KOMBU_TEST_REQUIRE_SERVICES``
says.  Celery 4.4.7 imports ``vine.five``, so it runs in a side environment
with ``vine<5``, e.g.::

    make celery     # builds .venv-celery (Python 3.9) and runs this module

which ``.ci/run`` does after ``make test``.

A worker runs in a subprocess (``celery -A <module> worker``) against the
RabbitMQ/Redis services; the brokers still go through ``require_service``.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

try:
    import celery
    from celery import chain, chord, group
except Exception as exc:  # not installed, or it needs vine<5 (vine.five)
    if os.environ.get('KOMBU_TEST_REQUIRE_CELERY') == '1':   # set by ``make celery``
        raise
    pytest.skip(f'celery is not importable here ({exc!r}): it is a client, not a service; '
                'see the module docstring for a side environment that runs these tests',
                allow_module_level=True)

if not celery.__version__.startswith('4.'):
    pytest.skip(f'celery {celery.__version__} is not the 4.x line that Kombu 4.6.7 serves',
                allow_module_level=True)

from kombu import Connection, Exchange, Queue  # noqa: E402

pytestmark = [pytest.mark.services, pytest.mark.timeout(180)]

APP_SOURCE = '''
import os, time
from celery import Celery
from kombu import Queue

NAME = os.environ['HC_NAME']
app = Celery('hcapp', broker=os.environ['HC_BROKER'], backend=os.environ['HC_BACKEND'])
app.conf.update(
    task_default_queue=NAME, task_default_exchange=NAME, task_default_routing_key=NAME,
    task_queues=[Queue(NAME, routing_key=NAME)],
    control_exchange=NAME + '-ctl', event_exchange=NAME + '-ev',
    worker_prefetch_multiplier=4, result_expires=120, worker_hijack_root_logger=False,
)


@app.task
def add(x, y):
    return x + y


@app.task
def tsum(xs):
    return sum(xs)


@app.task
def sleeper(seconds):
    time.sleep(seconds)
    return seconds


@app.task(bind=True, max_retries=3)
def retried(self, tries):
    if self.request.retries < tries:
        raise self.retry(countdown=0.1)
    return self.request.retries


@app.task
def fail():
    raise KeyError('boom')
'''


def _broker_urls(request, broker):
    if broker == 'pyamqp':
        url = request.getfixturevalue('rabbitmq_url')
        return 'pyamqp' + url[url.index('://'):], 'rpc://'
    url = request.getfixturevalue('redis_url')
    return url, url


@pytest.fixture
def celery_env(request, tmp_path):
    """Write the app module; yield a factory that starts workers and returns the app."""
    broker = request.param
    broker_url, backend_url = _broker_urls(request, broker)
    name = f'kombu-celery-{uuid.uuid4().hex[:10]}'
    (tmp_path / 'hcapp.py').write_text(APP_SOURCE)
    env = dict(os.environ, HC_NAME=name, HC_BROKER=broker_url, HC_BACKEND=backend_url)
    sys.path.insert(0, str(tmp_path))
    os.environ.update(HC_NAME=name, HC_BROKER=broker_url, HC_BACKEND=backend_url)
    sys.modules.pop('hcapp', None)
    import hcapp
    workers = []

    def start_worker(pool='solo', *extra):
        args = [sys.executable, '-m', 'celery', '-A', 'hcapp', 'worker', '-P', pool,
                '-l', 'info', '-n', f'{name}-{len(workers)}@%h',
                '--without-mingle', '--without-gossip', *extra]
        if pool == 'prefork':
            args += ['-c', '2']
        log = open(tmp_path / f'worker{len(workers)}.log', 'w+')
        proc = subprocess.Popen(args, cwd=str(tmp_path), env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        workers.append((proc, log))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, _log_text(log)
            if hcapp.app.control.inspect(timeout=0.5).ping():
                return proc
        pytest.fail('the worker did not answer ping:\n' + _log_text(log))

    yield broker, hcapp, start_worker

    for proc, log in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        text = _log_text(log)
        log.close()
        # the only tracebacks logged are those of the task that fails on purpose
        assert text.count('Traceback (most recent') == text.count("KeyError: 'boom'"), text
    _cleanup(broker_url, name)
    sys.path.remove(str(tmp_path))
    sys.modules.pop('hcapp', None)
    for key in ('HC_NAME', 'HC_BROKER', 'HC_BACKEND'):
        os.environ.pop(key, None)


def _log_text(log):
    log.flush()
    log.seek(0)
    return log.read()


def _cleanup(broker_url, name):
    with Connection(broker_url) as conn:
        channel = conn.channel()
        Queue(name, Exchange(name), routing_key=name)(channel).delete()
        for exchange in (name, f'{name}-ctl.pidbox', f'reply.{name}-ctl.pidbox', f'{name}-ev'):
            try:
                Exchange(exchange)(channel).delete()
            except conn.channel_errors:
                channel = conn.channel()


def _bodies_left(app, name):
    """Task ids still in the queue (fetched without ack, i.e. removed)."""
    with app.connection_for_write() as conn:
        queue = Queue(name, Exchange(name), routing_key=name)(conn.default_channel)
        ids = []
        while True:
            message = queue.get(no_ack=True)
            if message is None:
                return ids
            ids.append(message.headers['id'])


def _forget(broker, result):
    if broker == 'redis':                       # rpc:// keeps no results to forget
        result.forget()


both_brokers = pytest.mark.parametrize('celery_env', ['pyamqp', 'redis'], indirect=True)


@both_brokers
@pytest.mark.parametrize('pool', ['solo', 'prefork'])
def test_tasks_canvas_and_remote_control(celery_env, pool):
    broker, hcapp, start_worker = celery_env
    start_worker(pool)
    app, add = hcapp.app, hcapp.add
    results = []

    def track(result):
        results.append(result)
        return result

    assert track(add.delay(2, 3)).get(timeout=20) == 5
    assert track(add.apply_async((1, 1), countdown=1)).get(timeout=20) == 2
    assert track(add.apply_async((1, 2), priority=5)).get(timeout=20) == 3
    assert track(hcapp.retried.delay(2)).get(timeout=20) == 2
    with pytest.raises(KeyError):
        track(hcapp.fail.delay()).get(timeout=20)
    assert track(chain(add.s(1, 2), add.s(3), add.s(4))()).get(timeout=20) == 10
    assert track(group(add.s(i, i) for i in range(5))()).get(timeout=20) == [0, 2, 4, 6, 8]
    if broker == 'redis':                       # rpc:// has no chords
        assert track(chord((add.s(i, i) for i in range(5)), hcapp.tsum.s())()).get(
            timeout=20) == 20
    assert sum(r.get(timeout=30) for r in [track(add.delay(i, 1)) for i in range(40)]) == 820

    # pidbox: inspect/broadcast with replies
    replies = app.control.inspect(timeout=2).active_queues()
    assert [q['name'] for q in next(iter(replies.values()))] == [os.environ['HC_NAME']]
    assert next(iter(app.control.rate_limit('hcapp.sleeper', '100/m', reply=True,
                                            timeout=2)[0].values())) == {
        'ok': 'new rate limit set successfully'}

    # revoke a task that waits for its countdown
    revoked = track(hcapp.sleeper.apply_async((0,), countdown=2))
    revoked.revoke()
    time.sleep(3)
    if broker == 'redis':
        assert revoked.state == 'REVOKED'
    for result in results:
        _forget(broker, result)


@both_brokers
def test_event_receiver_sees_task_events(celery_env):
    broker, hcapp, start_worker = celery_env
    start_worker('solo', '-E')
    app = hcapp.app
    seen = []
    ready = threading.Event()

    def capture():
        with app.connection_for_read() as conn:
            receiver = app.events.Receiver(conn, handlers={'*': lambda e: seen.append(e['type'])})
            ready.set()
            try:
                receiver.capture(limit=None, timeout=6, wakeup=True)
            except socket.timeout:          # how capture() ends after ``timeout``
                pass

    thread = threading.Thread(target=capture, daemon=True)
    thread.start()
    ready.wait(10)
    time.sleep(1)
    for i in range(3):
        result = hcapp.add.delay(i, i)
        assert result.get(timeout=20) == i * 2
        _forget(broker, result)
    time.sleep(1.5)
    for kind in ('task-received', 'task-started', 'task-succeeded'):
        assert seen.count(kind) == 3, seen
    assert 'worker-heartbeat' in seen


@both_brokers
@pytest.mark.parametrize('pool', ['solo', 'prefork'])
def test_warm_shutdown_requeues_prefetched_tasks(celery_env, pool):
    broker, hcapp, start_worker = celery_env
    name = os.environ['HC_NAME']
    proc = start_worker(pool)
    results = [hcapp.sleeper.delay(0.3) for _ in range(30)]
    ids = [r.id for r in results]
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    done = {r.id for r in results if r.ready()}
    left = _bodies_left(hcapp.app, name)
    assert done, 'the worker ran nothing'
    assert len(left) == len(set(left))
    # Acked (started) tasks are not delivered again -- Celery defers its acks
    # with Hub.call_soon, which must not drop them on shutdown ...
    assert not done & set(left)
    # ... and the prefetched ones are back in the queue.  (The solo pool may
    # lose the one task the signal interrupted: Celery acks before running.)
    missing = set(ids) - done - set(left)
    assert len(missing) <= (1 if pool == 'solo' else 0), missing
    for result in results:
        _forget(broker, result)
