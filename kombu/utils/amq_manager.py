"""AMQP Management API utilities."""
from __future__ import annotations

from typing import Any

__all__ = ('get_manager',)


def get_manager(client: Any, hostname: str | None = None, port: int | str | None = None,
                userid: str | None = None, password: str | None = None) -> Any:
    """Get pyrabbit manager.

    Connection settings not given are taken from the client's
    ``transport_options`` (``manager_hostname``, ``manager_port``,
    ``manager_userid``, ``manager_password``), then from the client itself;
    the management port defaults to 15672.

    Raises:
        ModuleNotFoundError: (an :exc:`ImportError`) if the ``pyrabbit``
            library is not installed.
    """
    try:
        import pyrabbit  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ModuleNotFoundError(
            'The RabbitMQ management API needs the pyrabbit library: '
            'pip install pyrabbit', name='pyrabbit') from exc
    opt = (getattr(client, 'transport_options', None) or {}).get

    def get(name: str, val: Any, default: Any) -> Any:
        return (val if val is not None
                else opt(f'manager_{name}')
                or getattr(client, name, None) or default)

    host = get('hostname', hostname, 'localhost')
    port = port if port is not None else opt('manager_port', 15672)
    userid = get('userid', userid, 'guest')
    password = get('password', password, 'guest')
    return pyrabbit.Client(f'{host}:{port}', userid, password)
