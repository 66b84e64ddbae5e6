"""Differential check of URL parsing against the original Kombu 4.6.7 (black box).

Runs only where a reference interpreter is installed (``KOMBU_REFERENCE_PYTHON``,
default ``/tmp/refkombu/bin/python``); skipped elsewhere.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from kombu.utils.url import parse_url, sanitize_url

REFERENCE = os.environ.get('KOMBU_REFERENCE_PYTHON', '/tmp/refkombu/bin/python')

URLS = [
    'amqp://user:pass@host:5672/vhost', 'amqp://guest:guest@localhost:5672//', 'amqp://',
    'amqp://localhost', 'redis+socket:///tmp/redis.sock', 'sqla+postgresql://user:pw@host/db',
    'amqp://u%40x:p%2Fw@h/v%2Fh', 'amqp://h/?a=1&b=2', 'memory://', 'amqp://:@/',
    'amqp://user@h', 'amqp://:pw@h', 'filesystem:///', 'sqlite:///tmp/db', 'mongodb://h/db',
    'amqp://h//x', 'pyamqp://h/%2F', 'amqp://h/a/b', 'redis://:secret@h:1/2',
    'amqp://u:p@h:1/v?x=1&x=2', 'sqs://AK:SK@', 'amqp://h/?a=%20b', 'amqp://u:p:q@h/',
    'AMQP://H.Example.COM/', 'amqp://h/v;p', 'amqp://h/#frag', 'amqp://localhost/myvhost?ssl=1',
    'amqp://u+v:p+q@h/a+b?x=a+b', 'redis://h/?ssl_keyfile=k&ssl_certfile=c',
]

SCRIPT = '''
import json, sys
from kombu.utils.url import parse_url, sanitize_url
out = {u: [parse_url(u), sanitize_url(u)] for u in json.loads(sys.argv[1])}
print(json.dumps(out))
'''


@pytest.fixture(scope='module')
def reference():
    if not os.path.exists(REFERENCE):
        pytest.skip(f'no reference Kombu interpreter at {REFERENCE}')
    proc = subprocess.run([REFERENCE, '-c', SCRIPT, json.dumps(URLS)], capture_output=True,
                          text=True, timeout=60, cwd='/')
    if proc.returncode:
        pytest.skip(f'reference Kombu failed: {proc.stderr[-300:]}')
    return json.loads(proc.stdout)


@pytest.mark.parametrize('url', URLS)
def test_parse_url_matches_reference(reference, url):
    parsed, sanitized = reference[url]
    assert parse_url(url) == parsed
    assert sanitize_url(url) == sanitized
