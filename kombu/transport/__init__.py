"""Built-in transports.

A transport is chosen by name: an alias from :data:`TRANSPORT_ALIASES`
(``'memory'``, ``'redis'``, ...), a fully qualified ``'module:Class'`` or
``'module.Class'`` path, or the class itself.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
from typing import Any

__all__ = ('DEFAULT_TRANSPORT', 'TRANSPORT_ALIASES', 'get_transport_cls',
           'resolve_transport', 'supports_librabbitmq')

#: Default transport used when no transport specified.
DEFAULT_TRANSPORT = 'amqp'

#: Mapping of transport aliases/class names.
TRANSPORT_ALIASES: dict[str, str] = {
    'amqp': 'kombu.transport.pyamqp:Transport',
    'amqps': 'kombu.transport.pyamqp:SSLTransport',
    'pyamqp': 'kombu.transport.pyamqp:Transport',
    'librabbitmq': 'kombu.transport.librabbitmq:Transport',
    'memory': 'kombu.transport.memory:Transport',
    'redis': 'kombu.transport.redis:Transport',
    'rediss': 'kombu.transport.redis:Transport',
    'SQS': 'kombu.transport.SQS:Transport',
    'sqs': 'kombu.transport.SQS:Transport',
    'mongodb': 'kombu.transport.mongodb:Transport',
    'zookeeper': 'kombu.transport.zookeeper:Transport',
    'sqlalchemy': 'kombu.transport.sqlalchemy:Transport',
    'sqla': 'kombu.transport.sqlalchemy:Transport',
    'SLMQ': 'kombu.transport.SLMQ.Transport',
    'slmq': 'kombu.transport.SLMQ.Transport',
    'filesystem': 'kombu.transport.filesystem:Transport',
    'qpid': 'kombu.transport.qpid:Transport',
    'sentinel': 'kombu.transport.redis:SentinelTransport',
    'consul': 'kombu.transport.consul:Transport',
    'etcd': 'kombu.transport.etcd:Transport',
    'azurestoragequeues': 'kombu.transport.azurestoragequeues:Transport',
    'azureservicebus': 'kombu.transport.azureservicebus:Transport',
    'pyro': 'kombu.transport.pyro:Transport',
}

_transport_cache: dict[Any, type] = {}
_librabbitmq: list[bool] = []


class UnknownTransport(KeyError):
    """No transport is registered under the given alias."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def supports_librabbitmq() -> bool:
    """Return true if the :pypi:`librabbitmq` C extension is importable."""
    if not _librabbitmq:
        try:
            found = importlib.util.find_spec('librabbitmq') is not None
        except (ImportError, ValueError):
            found = False
        _librabbitmq.append(found)
    return _librabbitmq[0]


def _symbol_by_name(path: str) -> Any:
    """Import ``'pkg.module:attr'`` or ``'pkg.module.attr'`` and return the attribute."""
    if ':' in path:
        module_name, _, attr = path.partition(':')
    else:
        module_name, _, attr = path.rpartition('.')
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split('.') if attr else ():
        obj = getattr(obj, part)
    return obj


#: Documented transports not implemented here: their aliases raise a clear
#: ImportError instead of a missing module (none at present).
NOT_IMPLEMENTED: frozenset[str] = frozenset()


def _unknown_transport_message(alias: str) -> str:
    """``No such transport: X`` plus a suggestion when an alias is close."""
    message = f'No such transport: {alias}'
    close = difflib.get_close_matches(alias, TRANSPORT_ALIASES, n=1)
    return f'{message}.  Did you mean {close[0]}?' if close else message


def resolve_transport(transport: str | type | None = None) -> type | None:
    """Get transport by name.

    Arguments:
        transport: an actual transport class, the fully qualified path to
            a transport class (``'module:Class'`` or ``'module.Class'``),
            or the alias of a transport.  ``None`` means
            :data:`DEFAULT_TRANSPORT`.

    Raises:
        KeyError: (:class:`UnknownTransport`) for an unknown alias:
            ``"No such transport: <alias>"``, followed by
            ``".  Did you mean <alias>?"`` when a known alias is close.
        ImportError, AttributeError: when a qualified path cannot be imported.
    """
    if transport is None:
        transport = DEFAULT_TRANSPORT
    if not isinstance(transport, str):
        return transport
    if '.' not in transport and ':' not in transport:
        if transport == 'amqp' and supports_librabbitmq():
            transport = 'librabbitmq'
        try:
            transport = TRANSPORT_ALIASES[transport]
        except KeyError:
            raise UnknownTransport(_unknown_transport_message(transport)) from None
        module_name = (transport.partition(':')[0] if ':' in transport
                       else transport.rpartition('.')[0])
        if module_name in NOT_IMPLEMENTED:
            raise ImportError(f'The {module_name} transport is not available in '
                              'this kombu (not implemented: its client library is not '
                              'maintained for Python 3)')
    return _symbol_by_name(transport)


def get_transport_cls(transport: str | type | None = None) -> type | None:
    """Get transport class by name.

    The transport string is the full path to a transport class, e.g.
    ``"kombu.transport.pyamqp:Transport"``.  If the name does not include
    ``"."`` (is not fully qualified), the alias table will be consulted.
    Results are cached.
    """
    try:
        return _transport_cache[transport]
    except (KeyError, TypeError):
        pass
    cls = resolve_transport(transport)
    try:
        _transport_cache[transport] = cls
    except TypeError:
        pass
    return cls
