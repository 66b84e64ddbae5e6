"""Async Amazon AWS Client."""
from __future__ import annotations

from typing import Any

__all__ = ('connect_sqs',)


def connect_sqs(aws_access_key_id: str | None = None,
                aws_secret_access_key: str | None = None, **kwargs: Any) -> Any:
    """Return async connection to Amazon SQS.

    Keyword arguments ``region``/``region_name``, ``endpoint_url``,
    ``aws_session_token`` and ``is_secure`` go to the boto3 client; ``hub``
    and ``http_client`` choose the event loop / HTTP client.
    """
    from .ext import boto3, require_boto3
    from .sqs.connection import AsyncSQSConnection
    require_boto3()
    region = kwargs.pop('region', None) or kwargs.pop('region_name', None) or 'us-east-1'
    hub = kwargs.pop('hub', None)
    http_client = kwargs.pop('http_client', None)
    client_kwargs = {k: kwargs.pop(k) for k in ('endpoint_url', 'aws_session_token',
                                                 'use_ssl', 'verify', 'config')
                     if k in kwargs}
    if 'is_secure' in kwargs:
        client_kwargs['use_ssl'] = kwargs.pop('is_secure')
    session = boto3.session.Session(aws_access_key_id=aws_access_key_id,
                                    aws_secret_access_key=aws_secret_access_key,
                                    region_name=region)
    client = session.client('sqs', **client_kwargs)
    if http_client is None and hub is not None:
        from kombu.asynchronous.http import get_client
        http_client = get_client(hub)
    return AsyncSQSConnection(client, region=region, http_client=http_client, **kwargs)
