"""Messaging library for Python.

The top-level names are imported lazily (PEP 562) so that ``import kombu``
stays cheap; the first access to ``kombu.Connection`` imports
:mod:`kombu.connection` and caches the result in this module.
"""
from __future__ import annotations

import importlib
from collections import namedtuple
from typing import Any

version_info_t = namedtuple('version_info_t', ('major', 'minor', 'micro', 'releaselevel', 'serial'))

VERSION = version_info = version_info_t(4, 6, 7, '', '')
__version__ = '4.6.7'
__author__ = 'The kombu developers'
__contact__ = ''
__homepage__ = 'https://github.com/'
__docformat__ = 'restructuredtext en'

#: public name -> module that defines it
_LAZY = {
    'Connection': 'kombu.connection',
    'BrokerConnection': 'kombu.connection',
    'Exchange': 'kombu.entity',
    'Queue': 'kombu.entity',
    'binding': 'kombu.entity',
    'Message': 'kombu.message',
    'Consumer': 'kombu.messaging',
    'Producer': 'kombu.messaging',
    'connections': 'kombu.pools',
    'producers': 'kombu.pools',
    'parse_url': 'kombu.utils.url',
    'eventloop': 'kombu.common',
    'uuid': 'kombu.common',
    'enable_insecure_serializers': 'kombu.serialization',
    'disable_insecure_serializers': 'kombu.serialization',
}

__all__ = tuple(_LAZY)


def __getattr__(name: str) -> Any:
    try:
        module_name = _LAZY[name]
    except KeyError:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}') from None
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
