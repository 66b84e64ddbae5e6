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
from urllib.parse import urlparse

from scripted_services import ScriptedService

PORT = os.environ.get('KOMBU_ETCD_PORT', '2379')
URL = os.environ.get('KOMBU_TEST_ETCD_URL', f'etcd://127.0.0.1:{PORT}')
_parts = urlparse(URL)
SERVICE = ScriptedService('etcd', 'etcd.sh', (_parts.hostname or '127.0.0.1', _parts.port or 2379),
                          client=('etcd', 'etcd'), override_var='KOMBU_TEST_ETCD_URL')


def etcd_url() -> str:
    """The URL of a running etcd server (skip/fail the test when there is none)."""
    SERVICE.ensure()
    return URL
