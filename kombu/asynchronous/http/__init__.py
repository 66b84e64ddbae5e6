"""Async HTTP client (curl on the event loop)."""
from __future__ import annotations

from typing import Any

from kombu.asynchronous import get_event_loop

from .base import BaseClient, Headers, Request, Response

__all__ = ('Client', 'Headers', 'Response', 'Request', 'BaseClient', 'get_client')


def Client(hub: Any = None, **kwargs: Any) -> BaseClient:
    """Create new HTTP client."""
    from .curl import CurlClient
    return CurlClient(hub, **kwargs)


def get_client(hub: Any = None, **kwargs: Any) -> BaseClient:
    """Get or create HTTP client bound to the current event loop (one per hub)."""
    hub = hub or get_event_loop()
    if hub is None:
        return Client(hub, **kwargs)      # raises: the curl client needs a hub
    try:
        client = hub._current_http_client
    except AttributeError:
        client = None
    if client is None or getattr(client, '_closed', False):
        client = hub._current_http_client = Client(hub, **kwargs)
    return client
