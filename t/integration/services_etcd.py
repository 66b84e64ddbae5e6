"""The etcd service for the etcd:// integration tests.

:func:`etcd_url` runs ``scripts/services/etcd.sh`` once per test
session (installs Debian's etcd-server if needed and starts a private etcd
(v2 API enabled) on 127.0.0.1:2379, or ``$KOMBU_ETCD_PORT``), then checks the port.
When that fails the tests are skipped with the reason, or fail when
``KOMBU_TEST_REQUIRE_SERVICES=1``.  ``KOMBU_TEST_ETCD_URL`` points the
tests at another server (the script is not run then).
"""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'scripts' / 'services' / 'etcd.sh'
PORT = os.environ.get('KOMBU_ETCD_PORT', '2379')
URL = os.environ.get('KOMBU_TEST_ETCD_URL', f'etcd://127.0.0.1:{PORT}')

_result: list = []


def _unavailable(reason: str) -> None:
    message = f'etcd service not available: {reason}'
    if os.environ.get('KOMBU_TEST_REQUIRE_SERVICES') == '1':
        pytest.fail(message + ' (KOMBU_TEST_REQUIRE_SERVICES=1)')
    pytest.skip(message)


def start_etcd() -> str | None:
    """Run the service script (once); return None when the server is up, else why not."""
    if not _result:
        if 'KOMBU_TEST_ETCD_URL' in os.environ:
            _result.append(None)
        else:
            try:
                proc = subprocess.run(['bash', str(SCRIPT)], capture_output=True,
                                      text=True, timeout=300)
            except (OSError, subprocess.TimeoutExpired) as exc:
                _result.append(f'{SCRIPT} failed: {exc!r}')
            else:
                _result.append(None if proc.returncode == 0 else
                               f'{SCRIPT} exited {proc.returncode}: '
                               f'{(proc.stderr or proc.stdout).strip()[-500:]}')
    return _result[0]


def etcd_url() -> str:
    """The URL of a running etcd server (skip/fail the test when there is none)."""
    try:
        import etcd  # noqa: F401
    except ImportError:
        _unavailable('python-etcd not installed (pip install "kombu[etcd]")')
    problem = start_etcd()
    if problem:
        _unavailable(problem)
    parts = urlparse(URL)
    host, port = parts.hostname or '127.0.0.1', parts.port or 2379
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        _unavailable(f'{host}:{port} unreachable ({exc})')
    return URL
