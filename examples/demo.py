"""Two-process kombu demo over the ``filesystem://`` transport (no server needed).

The parent process plays the user guide's publishers:

* *hello world* (Simple Interface): ``conn.SimpleQueue('simple_queue').put(...)``;
* *task queue*: tasks pickled (bzip2-compressed) onto the ``tasks`` direct
  exchange with the ``hipri``/``midpri``/``lopri`` routing keys, through the
  :data:`kombu.pools.producers` pool.

It then starts this same file again as a worker process (``--worker``) that
receives the hello-world message with ``SimpleQueue.get`` and runs the tasks
with a :class:`kombu.mixins.ConsumerMixin`, exactly as in the guide, over the
same spool directory.  Exit status 0 means the worker got everything.
"""
from __future__ import annotations

import datetime
import os
import subprocess
import sys
import tempfile

from kombu import Connection, Exchange, Queue

#: What the worker prints for each task; the parent checks for these lines.
TASKS = [('Kombu', 'high'), ('world', 'mid'), ('filesystem', 'low')]

task_exchange = Exchange('tasks', type='direct')
task_queues = [Queue('hipri', task_exchange, routing_key='hipri'),
               Queue('midpri', task_exchange, routing_key='midpri'),
               Queue('lopri', task_exchange, routing_key='lopri')]

priority_to_routing_key = {'high': 'hipri', 'mid': 'midpri', 'low': 'lopri'}


def hello_task(who: str = 'world') -> None:
    """The task the worker runs (found by reference when unpickled)."""
    print(f'worker: Hello {who}', flush=True)


def connect(spool: str) -> Connection:
    """A filesystem:// connection whose queues live in ``spool``."""
    return Connection('filesystem://', transport_options={
        'data_folder_in': spool, 'data_folder_out': spool,
        'polling_interval': 0.05,
    })


def send_as_task(connection: Connection, fun, args=(), kwargs=None,
                 priority: str = 'mid') -> None:
    """Publish a task message (the guide's ``client.py``)."""
    from kombu.pools import producers
    payload = {'fun': fun, 'args': args, 'kwargs': kwargs or {}}
    routing_key = priority_to_routing_key[priority]
    with producers[connection].acquire(block=True) as producer:
        producer.publish(payload, serializer='pickle', compression='bzip2',
                         exchange=task_exchange, routing_key=routing_key,
                         declare=[task_exchange, *task_queues])


def run_publisher(spool: str) -> str:
    with connect(spool) as conn:
        simple_queue = conn.SimpleQueue('simple_queue')
        message = f'helloworld, sent at {datetime.datetime.today()}'
        simple_queue.put(message)
        print(f'parent: Sent: {message}', flush=True)
        simple_queue.close()

        for who, priority in TASKS:
            send_as_task(conn, fun=hello_task, args=(who,), priority=priority)
            print(f'parent: Sent task hello_task({who!r}) priority={priority}', flush=True)
    return message


def run_worker(spool: str) -> None:
    from kombu.mixins import ConsumerMixin

    with connect(spool) as conn:
        simple_queue = conn.SimpleQueue('simple_queue')
        message = simple_queue.get(block=True, timeout=10)
        print(f'worker: Received: {message.payload}', flush=True)
        message.ack()
        simple_queue.close()

    class Worker(ConsumerMixin):
        def __init__(self, connection: Connection, expected: int) -> None:
            self.connection = connection
            self.expected = expected

        def get_consumers(self, Consumer, channel):
            return [Consumer(queues=task_queues, accept=['pickle', 'json'],
                             callbacks=[self.process_task])]

        def process_task(self, body, message):
            fun, args, kwargs = body['fun'], body['args'], body['kwargs']
            try:
                fun(*args, **kwargs)
            except Exception as exc:
                print(f'worker: task raised exception: {exc!r}', flush=True)
            message.ack()
            self.expected -= 1
            if self.expected <= 0:
                self.should_stop = True

    with connect(spool) as conn:
        Worker(conn, expected=len(TASKS)).run()
    print('worker: done', flush=True)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == '--worker':
        run_worker(sys.argv[2])
        return 0
    with tempfile.TemporaryDirectory(prefix='kombu-demo-') as spool:
        sent = run_publisher(spool)
        print(f'parent: starting worker process (spool {spool})', flush=True)
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), '--worker', spool],
                              capture_output=True, text=True, timeout=120, env=env)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        expected = [f'worker: Received: {sent}'] + [f'worker: Hello {who}' for who, _ in TASKS]
        missing = [line for line in expected if line not in proc.stdout.splitlines()]
        if proc.returncode or missing:
            print(f'parent: FAILED (worker exit {proc.returncode}, missing {missing})')
            return 1
        print(f'parent: worker received all {len(expected)} messages')
        return 0


if __name__ == '__main__':
    sys.exit(main())
