"""Python Compatibility Utilities."""
from __future__ import annotations

import numbers
import sys
from contextlib import ExitStack, contextmanager
from functools import wraps
from io import UnsupportedOperation
from typing import Any, Callable, ContextManager, Generator, Iterator

__all__ = (
    'coro', 'detect_environment', 'entrypoints', 'fileno', 'maybe_fileno',
    'nested', 'register_after_fork', 'FILENO_ERRORS',
)

#: Errors raised by ``f.fileno()`` for objects without a real descriptor.
FILENO_ERRORS = (AttributeError, ValueError, UnsupportedOperation)

_environment: str | None = None


def coro(gen: Callable[..., Generator]) -> Callable[..., Generator]:
    """Decorator to mark generator as co-routine (advanced to its first yield)."""
    @wraps(gen)
    def wind_up(*args: Any, **kwargs: Any) -> Generator:
        it = gen(*args, **kwargs)
        next(it)
        return it
    return wind_up


def _detect_environment() -> str:
    # The green libraries are only considered when already imported and they
    # have patched the socket module.
    if 'eventlet' in sys.modules:
        try:
            import socket

            from eventlet.patcher import is_monkey_patched as is_eventlet
            if is_eventlet(socket):
                return 'eventlet'
        except ImportError:
            pass
    if 'gevent' in sys.modules:
        try:
            import socket

            from gevent import socket as _gsocket
            if socket.socket is _gsocket.socket:
                return 'gevent'
        except ImportError:
            pass
    return 'default'


def detect_environment() -> str:
    """Detect the current environment: default, eventlet, or gevent."""
    global _environment
    if _environment is None:
        _environment = _detect_environment()
    return _environment


def entrypoints(namespace: str) -> Iterator[tuple[Any, Any]]:
    """Return setuptools entrypoints for namespace, as ``(entry_point, loaded)`` pairs."""
    from importlib.metadata import entry_points

    eps = entry_points()
    if hasattr(eps, 'select'):
        group = eps.select(group=namespace)
    else:  # Python < 3.10
        group = eps.get(namespace, ())
    return ((ep, ep.load()) for ep in group)


def fileno(f: Any) -> int:
    """Get fileno from file-like object."""
    if isinstance(f, numbers.Integral):
        return int(f)
    return f.fileno()


def maybe_fileno(f: Any) -> int | None:
    """Get object fileno, or :const:`None` if not defined."""
    try:
        return fileno(f)
    except FILENO_ERRORS:
        return None


@contextmanager
def nested(*managers: ContextManager) -> Iterator[list]:
    """Nest context managers (entered left to right, exited in reverse).

    ``as`` gives the list of the values the managers' ``__enter__`` returned.
    """
    with ExitStack() as stack:
        yield [stack.enter_context(m) for m in managers]


def register_after_fork(obj: Any, func: Callable[[Any], Any]) -> None:
    """Call ``func(obj)`` in a child process created by :mod:`multiprocessing`."""
    try:
        from multiprocessing.util import register_after_fork as _register
    except ImportError:  # pragma: no cover
        return
    _register(obj, func)
