"""Running the reference Kombu 4.6.7 in a subprocess, for the interop tests.

The reference lives in its own interpreter (``/tmp/refkombu/bin/python``,
overridable with ``KOMBU_REFERENCE_PYTHON``).  It is run isolated (``-I``)
from ``/`` so that it imports its own kombu, never this checkout's.

* :func:`require_reference` skips the calling test unless that interpreter
  exists and imports Kombu 4.6.x plus the given client modules;
* :func:`run_reference` runs a script there and returns its stdout;
* :data:`QUEUE_JSON_SCRIPT` and :data:`PUBLISH_GET_SCRIPT` are the queue
  scripts shared by several transports' interop tests.
"""
from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

#: The reference (Kombu 4.6.7) interpreter.
REFERENCE_PYTHON = os.environ.get('KOMBU_REFERENCE_PYTHON', '/tmp/refkombu/bin/python')

#: (modules, check) -> skip reason, or None when the reference is usable.
_checked: dict[tuple[tuple[str, ...], str], str | None] = {}


def _unusable(modules: tuple[str, ...], check: str) -> str | None:
    """Why the reference cannot be used with ``modules`` (None: it can)."""
    if not os.path.exists(REFERENCE_PYTHON):
        return (f'reference Kombu 4.6.7 interpreter {REFERENCE_PYTHON} not found '
                '(set KOMBU_REFERENCE_PYTHON)')
    imports = ', '.join(('kombu',) + modules)
    code = f'import {imports}\n'
    if check:
        code += f'{check}\n'
    code += 'print(kombu.__version__)'
    try:
        out = subprocess.run([REFERENCE_PYTHON, '-I', '-c', code],
                             capture_output=True, text=True, timeout=60, cwd='/')
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f'reference interpreter {REFERENCE_PYTHON} cannot be run: {exc!r}'
    what = imports + (f' (with {check})' if check else '')
    if out.returncode != 0:
        error = (out.stderr.strip().splitlines() or [f'exit {out.returncode}'])[-1]
        return f'reference interpreter {REFERENCE_PYTHON} cannot import {what}: {error[-200:]}'
    version = out.stdout.strip()
    if not version.startswith('4.6.'):
        return f'reference interpreter {REFERENCE_PYTHON} has Kombu {version}, not 4.6.x'
    return None


def require_reference(*modules: str, check: str = '') -> str:
    """The reference interpreter's path; skip unless it imports Kombu 4.6.x and ``modules``.

    ``check`` is an optional extra statement run after the imports (e.g. an
    attribute that only old client versions have).  The result is cached per
    ``(modules, check)``.
    """
    key = (modules, check)
    if key not in _checked:
        _checked[key] = _unusable(modules, check)
    reason = _checked[key]
    if reason is not None:
        pytest.skip(reason)
    return REFERENCE_PYTHON


def run_reference(code: str, *args: str, timeout: float = 120) -> str:
    """Run ``code`` (with ``args`` as ``sys.argv[1:]``) in the reference; return its stdout.

    Call :func:`require_reference` first: this does not skip, it fails when
    the script exits with an error (its stderr is in the message).
    """
    # -I and cwd='/': the reference's own kombu, not this checkout's.
    out = subprocess.run([REFERENCE_PYTHON, '-I', '-c', code, *args],
                         capture_output=True, text=True, timeout=timeout, cwd='/')
    assert out.returncode == 0, (
        f'reference script failed (exit {out.returncode}):\n{out.stderr[-2000:]}')
    return out.stdout


#: Publish / consume with JSON in and out (SQLAlchemy and SQS interop tests).
#: argv = URL, transport options (JSON), action, queue, args.  ``publish``
#: sends each arg as ``{'body': arg, 'n': i}`` with a header and prints how
#: many it sent; ``consume N`` prints a JSON list of what N ``Queue.get``
#: calls returned (``[payload, headers]`` or null), acking each message.
QUEUE_JSON_SCRIPT = textwrap.dedent("""
    import json, sys
    from kombu import Connection, Exchange, Queue
    url, options, action, name = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
    args = sys.argv[5:]
    with Connection(url, transport_options=options) as c:
        q = Queue(name, Exchange(name), name)(c.default_channel)
        q.declare()
        if action == 'publish':
            p = c.Producer()
            for i, body in enumerate(args):
                p.publish({'body': body, 'n': i}, exchange='', routing_key=name,
                          headers={'sent-by': 'reference'})
            print(json.dumps(len(args)))
        elif action == 'consume':
            out = []
            for _ in range(int(args[0])):
                m = q.get(no_ack=False)
                out.append(None if m is None else [m.payload, m.headers])
                if m is not None:
                    m.ack()
            print(json.dumps(out))
""")

#: Publish one message / get one message (ZooKeeper and etcd interop tests).
#: argv = URL, queue, mode.  ``publish`` declares the queue and sends
#: ``{'from': 'kombu4'}``; any other mode prints ``repr`` of one got payload
#: (None when the queue is empty).
PUBLISH_GET_SCRIPT = '''
import sys
from kombu import Connection, Exchange, Queue
url, name, mode = sys.argv[1:4]
with Connection(url) as c:
    q = Queue(name, Exchange(name), name)(c.default_channel)
    if mode == 'publish':
        q.declare()
        c.Producer().publish({'from': 'kombu4'}, exchange=name, routing_key=name)
    else:
        m = q.get(no_ack=True)
        print(repr(m and m.payload))
'''
