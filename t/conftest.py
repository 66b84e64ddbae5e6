"""Shared fixtures: real services on localhost, unique names, transport URLs.

A fixture for a service connects to it first.  When it is unreachable the
test is skipped with the reason, unless ``KOMBU_TEST_REQUIRE_SERVICES=1``
(set by ``.ci/run``), in which case it fails.
"""
from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlparse

import pytest

REQUIRE_SERVICES = os.environ.get('KOMBU_TEST_REQUIRE_SERVICES') == '1'

#: Service URLs, each overridable through the environment.
SERVICE_URLS = {
    'rabbitmq': os.environ.get('KOMBU_TEST_RABBITMQ_URL',
                               'amqp://guest:guest@127.0.0.1:5672//'),
    'redis': os.environ.get('KOMBU_TEST_REDIS_URL', 'redis://127.0.0.1:6379/0'),
    'postgresql': os.environ.get('KOMBU_TEST_POSTGRESQL_URL',
                                 'postgresql://postgres@127.0.0.1:5432/test'),
    'mysql': os.environ.get('KOMBU_TEST_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test'),
}


def _reachable(url: str, timeout: float = 1.0) -> str | None:
    """Return None when a TCP connect to the URL's host:port works, else why not."""
    parts = urlparse(url)
    host, port = parts.hostname or '127.0.0.1', parts.port
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f'{host}:{port} unreachable ({exc})'


def require_service(name: str) -> str:
    """Return the URL of service *name*, skipping (or failing in CI) when it is down."""
    url = SERVICE_URLS[name]
    problem = _reachable(url)
    if problem:
        message = f'{name} service not available: {problem}'
        if REQUIRE_SERVICES:
            pytest.fail(message + ' (KOMBU_TEST_REQUIRE_SERVICES=1)')
        pytest.skip(message)
    return url


@pytest.fixture
def rabbitmq_url() -> str:
    return require_service('rabbitmq')


@pytest.fixture
def redis_url() -> str:
    return require_service('redis')


@pytest.fixture
def postgresql_url() -> str:
    return require_service('postgresql')


@pytest.fixture
def mysql_url() -> str:
    return require_service('mysql')


@pytest.fixture
def unique_name(request) -> str:
    """A queue/exchange name no other test (or earlier run) uses."""
    base = request.node.name.replace('[', '-').replace(']', '')[:40]
    return f't.{base}.{uuid.uuid4().hex[:10]}'


@pytest.fixture
def filesystem_url(tmp_path) -> str:
    """A ``filesystem://`` URL plus transport options pointing at a private folder."""
    return 'filesystem://'
