"""Servers the integration tests install and start themselves.

Each one has a script under ``scripts/services/`` that installs the server
if needed, starts it if it is not listening and exits 0 once it answers.
:class:`ScriptedService` runs that script once per test session, then checks
the port; when anything is missing the test is skipped with the reason, or
fails when ``KOMBU_TEST_REQUIRE_SERVICES=1``.
"""
from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / 'scripts' / 'services'


def unavailable(name: str, reason: str) -> None:
    """Skip the test, or fail it when services are required (CI)."""
    message = f'{name} service not available: {reason}'
    if os.environ.get('KOMBU_TEST_REQUIRE_SERVICES') == '1':
        pytest.fail(message + ' (KOMBU_TEST_REQUIRE_SERVICES=1)')
    pytest.skip(message)


class ScriptedService:
    """A server started by ``scripts/services/<script>``.

    Arguments:
        name: what the skip/fail message calls it.
        script: file name under ``scripts/services``.
        address: ``(host, port)`` checked after the script ran (None: trust the script).
        client: module the tests need, with the kombu extra that installs it.
        override_var: environment variable pointing the tests at another
            server; when it is set the script is not run.
        env: extra environment for the script.
    """

    def __init__(self, name: str, script: str, address: tuple | None = None,
                 client: tuple[str, str] | None = None, override_var: str | None = None,
                 env: dict | None = None) -> None:
        self.name = name
        self.script = SCRIPTS / script
        self.address = address
        self.client = client
        self.override_var = override_var
        self.env = env or {}
        self._problem: list = []

    def ensure(self) -> None:
        """Make sure the server runs (skip/fail the calling test when it can't)."""
        if self.client:
            module, extra = self.client
            try:
                importlib.import_module(module)
            except ImportError:
                unavailable(self.name, f'{module} not installed (pip install "kombu[{extra}]")')
        problem = self._start_once()
        if problem:
            unavailable(self.name, problem)
        if self.address:
            try:
                socket.create_connection(self.address, timeout=2).close()
            except OSError as exc:
                unavailable(self.name, f'{self.address[0]}:{self.address[1]} unreachable ({exc})')

    def _start_once(self) -> str | None:
        """Run the script once per session; None when it worked, else why not."""
        if not self._problem:
            self._problem.append(self._run_script())
        return self._problem[0]

    def _run_script(self) -> str | None:
        if self.override_var and self.override_var in os.environ:
            return None
        env = dict(os.environ, **self.env)
        if not (REPO / '.venv').exists() and sys.prefix != sys.base_prefix:
            # a checkout without .venv (a clone, a worktree): scripts that pip
            # install use the virtualenv running the tests
            env.setdefault('KOMBU_VENV', sys.prefix)
        try:
            proc = subprocess.run(['bash', str(self.script)], capture_output=True,
                                  text=True, timeout=300, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f'{self.script} failed: {exc!r}'
        if proc.returncode:
            return (f'{self.script} exited {proc.returncode}: '
                    f'{(proc.stderr or proc.stdout).strip()[-500:]}')
        return None
