"""The Pyro service for the integration tests: name server + Kombu broker.

:func:`pyro_service` runs ``scripts/services/pyro.sh`` once per session
(it installs Pyro4 if missing and starts a name server on 127.0.0.1:9090
and ``python -m kombu.transport.pyro`` registered as ``kombu.broker``) and
returns the ``pyro://`` URL; when the script fails the test is skipped with
its output, or failed when ``KOMBU_TEST_REQUIRE_SERVICES=1``.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get('KOMBU_TEST_REQUIRE_SERVICES') == '1'
SCRIPT = Path(__file__).resolve().parents[2] / 'scripts' / 'services' / 'pyro.sh'
PORT = int(os.environ.get('PYRO_NS_PORT', '9090'))
URL = os.environ.get('KOMBU_TEST_PYRO_URL', f'pyro://127.0.0.1:{PORT}/kombu.broker')

_result: list = []


def start_pyro() -> str | None:
    """Run the service script (once); return None when it worked, else why not."""
    if not _result:
        try:
            proc = subprocess.run(['bash', str(SCRIPT)], capture_output=True, text=True,
                                  timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            _result.append(f'{SCRIPT} could not run: {exc!r}')
        else:
            _result.append(None if proc.returncode == 0 else
                           f'{SCRIPT} exited {proc.returncode}: '
                           f'{(proc.stderr or proc.stdout).strip()[-500:]}')
    return _result[0]


def pyro_service() -> str:
    """The ``pyro://`` URL of a running broker (skip, or fail in CI, when there is none)."""
    problem = start_pyro()
    if problem:
        message = f'pyro service not available: {problem}'
        if REQUIRE_SERVICES:
            pytest.fail(message + ' (KOMBU_TEST_REQUIRE_SERVICES=1)')
        pytest.skip(message)
    return URL
