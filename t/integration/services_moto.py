"""The moto server (a local AWS API) for the sqs:// integration tests.

:func:`moto_endpoint` runs ``scripts/services/moto.sh`` once per test
session (installs ``moto[server]`` into the venv if needed and starts it on
127.0.0.1:5055, or ``$MOTO_PORT``), then checks the port.  When that fails the
tests are skipped with the reason, or fail when
``KOMBU_TEST_REQUIRE_SERVICES=1``.  ``KOMBU_TEST_SQS_ENDPOINT`` points the
tests at another endpoint (the script is not run then).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'scripts' / 'services' / 'moto.sh'
PORT = os.environ.get('MOTO_PORT', '5055')
ENDPOINT = os.environ.get('KOMBU_TEST_SQS_ENDPOINT', f'http://127.0.0.1:{PORT}')

_result: list = []


def _unavailable(reason: str) -> None:
    message = f'moto (SQS) service not available: {reason}'
    if os.environ.get('KOMBU_TEST_REQUIRE_SERVICES') == '1':
        pytest.fail(message + ' (KOMBU_TEST_REQUIRE_SERVICES=1)')
    pytest.skip(message)


def _script_env() -> dict:
    """The script's environment: in a checkout without ``.venv`` (a clone, a
    worktree) it uses the virtualenv running the tests (``KOMBU_VENV``)."""
    env = dict(os.environ)
    if not (REPO / '.venv').exists() and sys.prefix != sys.base_prefix:
        env.setdefault('KOMBU_VENV', sys.prefix)
    return env


def start_moto() -> str | None:
    """Run the service script (once); return None when the server is up, else why not."""
    if not _result:
        if 'KOMBU_TEST_SQS_ENDPOINT' in os.environ:
            _result.append(None)
        else:
            try:
                proc = subprocess.run(['bash', str(SCRIPT)], capture_output=True,
                                      text=True, timeout=300, env=_script_env())
            except (OSError, subprocess.TimeoutExpired) as exc:
                _result.append(f'{SCRIPT} failed: {exc!r}')
            else:
                _result.append(None if proc.returncode == 0 else
                               f'{SCRIPT} exited {proc.returncode}: '
                               f'{(proc.stderr or proc.stdout).strip()[-500:]}')
    return _result[0]


def moto_endpoint() -> str:
    """The endpoint URL of a running SQS API (skip/fail the test when there is none)."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        _unavailable('boto3 not installed (pip install "kombu[sqs]")')
    problem = start_moto()
    if problem:
        _unavailable(problem)
    parts = urlparse(ENDPOINT)
    host, port = parts.hostname or '127.0.0.1', parts.port or 80
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        _unavailable(f'{host}:{port} unreachable ({exc})')
    return ENDPOINT
