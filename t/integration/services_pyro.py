"""The Pyro service for the integration tests: name server + Kombu broker.

:func:`pyro_service` runs ``scripts/services/pyro.sh`` once per session
(it installs Pyro4 if missing and starts a name server on 127.0.0.1:9090
and ``python -m kombu.transport.pyro`` registered as ``kombu.broker``) and
returns the ``pyro://`` URL; when the script fails the test is skipped with
its output, or failed when ``KOMBU_TEST_REQUIRE_SERVICES=1``.
"""
from __future__ import annotations

import os

from scripted_services import ScriptedService

PORT = int(os.environ.get('PYRO_NS_PORT', '9090'))
URL = os.environ.get('KOMBU_TEST_PYRO_URL', f'pyro://127.0.0.1:{PORT}/kombu.broker')
SERVICE = ScriptedService('pyro', 'pyro.sh')


def pyro_service() -> str:
    """The ``pyro://`` URL of a running broker (skip, or fail in CI, when there is none)."""
    SERVICE.ensure()
    return URL
