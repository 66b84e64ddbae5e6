"""A pidbox Node in its own process, for tests of calls that cross processes.

``start_node_process(url, options, namespace, hostname)`` runs this file as a
child interpreter (importing this kombu checkout) and returns the Popen once
the node listens.  The node answers ``ping`` (its pid), ``fail`` (raises) and
``shutdown`` (replies ``'bye'`` and exits).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys


def child_env() -> dict:
    """Environment for a child interpreter that imports this kombu checkout."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.environ.get('PYTHONPATH')
    return dict(os.environ, PYTHONPATH=root + (os.pathsep + path if path else ''))


def start_node_process(url: str, options: dict, namespace: str,
                       hostname: str) -> subprocess.Popen:
    cfg = {'url': url, 'options': options, 'namespace': namespace, 'hostname': hostname}
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), json.dumps(cfg)],
                            stdout=subprocess.PIPE, text=True, env=child_env())
    line = proc.stdout.readline().strip()
    if line != 'ready':
        proc.kill()
        proc.wait()
        raise AssertionError(f'pidbox node process did not start (printed {line!r})')
    return proc


def serve(cfg: dict, rounds: int = 600) -> None:
    from kombu import Connection
    from kombu.pidbox import Mailbox

    conn = Connection(cfg['url'], transport_options=cfg['options'])
    node = Mailbox(cfg['namespace'])(conn).Node(cfg['hostname'], state={})

    @node.handler
    def ping(state, value=None):
        return {'pong': value, 'pid': os.getpid()}

    @node.handler
    def fail(state):
        raise RuntimeError('boom')

    @node.handler
    def shutdown(state):
        state['stop'] = True
        return 'bye'

    consumer = node.listen()
    print('ready', flush=True)
    for _ in range(rounds):
        if node.state.get('stop'):
            break
        try:
            conn.drain_events(timeout=0.05)
        except socket.timeout:
            pass
    consumer.cancel()
    conn.release()


if __name__ == '__main__':
    serve(json.loads(sys.argv[1]))
