"""The Azurite service for the azurestoragequeues:// integration tests.

:func:`azurite_options` runs ``scripts/services/azurite.sh`` once per test
session (installs Azurite from npm under /tmp/azurite if needed and starts
its queue service on 127.0.0.1:10001, or ``$AZURITE_QUEUE_PORT``), then
checks the port.  When that fails the tests are skipped with the reason, or
fail when ``KOMBU_TEST_REQUIRE_SERVICES=1``.

Azurite's well-known development account (``devstoreaccount1`` and its
public key, documented by Microsoft for the emulator) is used; the endpoint
is given with the transport option ``queue_service_url``.
"""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'scripts' / 'services' / 'azurite.sh'
HOST = os.environ.get('AZURITE_HOST', '127.0.0.1')
PORT = int(os.environ.get('AZURITE_QUEUE_PORT', '10001'))

#: Azurite's public development account and key (not a secret).
ACCOUNT = 'devstoreaccount1'
ACCOUNT_KEY = ('Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/'
               'K1SZFPTOtr/KBHBeksoGMGw==')
URL = f'azurestoragequeues://:{quote(ACCOUNT_KEY, safe="")}@{ACCOUNT}'
QUEUE_SERVICE_URL = f'http://{HOST}:{PORT}/{ACCOUNT}'
CONNECTION_STRING = (f'DefaultEndpointsProtocol=http;AccountName={ACCOUNT};'
                     f'AccountKey={ACCOUNT_KEY};QueueEndpoint={QUEUE_SERVICE_URL};')

_result: list = []


def _unavailable(reason: str) -> None:
    message = f'azurite service not available: {reason}'
    if os.environ.get('KOMBU_TEST_REQUIRE_SERVICES') == '1':
        pytest.fail(message + ' (KOMBU_TEST_REQUIRE_SERVICES=1)')
    pytest.skip(message)


def start_azurite() -> str | None:
    """Run the service script (once); return None when the server is up, else why not."""
    if not _result:
        env = dict(os.environ, AZURITE_HOST=HOST, AZURITE_QUEUE_PORT=str(PORT))
        try:
            proc = subprocess.run(['bash', str(SCRIPT)], capture_output=True,
                                  text=True, timeout=300, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            _result.append(f'{SCRIPT} failed: {exc!r}')
        else:
            _result.append(None if proc.returncode == 0 else
                           f'{SCRIPT} exited {proc.returncode}: '
                           f'{(proc.stderr or proc.stdout).strip()[-500:]}')
    return _result[0]


def azurite_url() -> str:
    """The broker URL of a running Azurite (skip/fail the test when there is none).

    Use it with ``transport_options={'queue_service_url': QUEUE_SERVICE_URL}``.
    """
    try:
        import azure.storage.queue  # noqa: F401
    except ImportError:
        _unavailable('azure-storage-queue not installed '
                     '(pip install "kombu[azurestoragequeues]")')
    problem = start_azurite()
    if problem:
        _unavailable(problem)
    try:
        socket.create_connection((HOST, PORT), timeout=2).close()
    except OSError as exc:
        _unavailable(f'{HOST}:{PORT} unreachable ({exc})')
    return URL
