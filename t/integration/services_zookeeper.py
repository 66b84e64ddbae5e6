"""The ZooKeeper service for the zookeeper:// integration tests.

:func:`zookeeper_url` runs ``scripts/services/zookeeper.sh`` once per test
session (installs Debian's ZooKeeper if needed and starts a private server
on 127.0.0.1:2181, or ``$KOMBU_ZOOKEEPER_PORT``), then checks the port.
When that fails the tests are skipped with the reason, or fail when
``KOMBU_TEST_REQUIRE_SERVICES=1``.  ``KOMBU_TEST_ZOOKEEPER_URL`` points the
tests at another server (the script is not run then).
"""
from __future__ import annotations

import os
from urllib.parse import urlparse

from scripted_services import ScriptedService

PORT = os.environ.get('KOMBU_ZOOKEEPER_PORT', '2181')
URL = os.environ.get('KOMBU_TEST_ZOOKEEPER_URL', f'zookeeper://127.0.0.1:{PORT}/')
_parts = urlparse(URL)
SERVICE = ScriptedService('zookeeper', 'zookeeper.sh',
                          (_parts.hostname or '127.0.0.1', _parts.port or 2181),
                          client=('kazoo', 'zookeeper'), override_var='KOMBU_TEST_ZOOKEEPER_URL')


def zookeeper_url() -> str:
    """The URL of a running ZooKeeper server (skip/fail the test when there is none)."""
    SERVICE.ensure()
    return URL
