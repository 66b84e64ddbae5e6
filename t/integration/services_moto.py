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
from urllib.parse import urlparse

from scripted_services import ScriptedService

PORT = os.environ.get('MOTO_PORT', '5055')
ENDPOINT = os.environ.get('KOMBU_TEST_SQS_ENDPOINT', f'http://127.0.0.1:{PORT}')
_parts = urlparse(ENDPOINT)
SERVICE = ScriptedService('moto (SQS)', 'moto.sh',
                          (_parts.hostname or '127.0.0.1', _parts.port or 80),
                          client=('boto3', 'sqs'), override_var='KOMBU_TEST_SQS_ENDPOINT')


def moto_endpoint() -> str:
    """The endpoint URL of a running SQS API (skip/fail the test when there is none)."""
    SERVICE.ensure()
    return ENDPOINT
