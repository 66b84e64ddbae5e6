"""Logging Utilities."""
from __future__ import annotations

import logging
import numbers
import os
import re
import sys
from logging.handlers import WatchedFileHandler
from typing import IO, Any, Callable, Iterator, Mapping

from .utils.encoding import safe_repr, safe_str  # noqa: F401  (safe_repr re-exported)
from .utils.functional import maybe_evaluate
from .utils.objects import cached_property

__all__ = ('LogMixin', 'LOG_LEVELS', 'get_loglevel', 'setup_logging',
           'get_logger', 'Log', 'safeify_format', 'UnknownLogLevel')

#: Level names to numbers and numbers to names (as in :mod:`logging`).
LOG_LEVELS: dict[Any, Any] = dict(logging._nameToLevel)
LOG_LEVELS.update(logging._levelToName)
LOG_LEVELS.setdefault('FATAL', logging.FATAL)
LOG_LEVELS.setdefault(logging.FATAL, 'FATAL')

#: Set the environment variable to leave tracebacks out of error logs.
DISABLE_TRACEBACKS = os.environ.get('DISABLE_TRACEBACKS')

_FORMAT_SPEC = re.compile(r'%(?:\([^)]*\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(.)')

def get_logger(logger: str | logging.Logger) -> logging.Logger:
    """Get logger by name (a NullHandler is added to a logger without handlers)."""
    if isinstance(logger, str):
        logger = logging.getLogger(logger)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger

class UnknownLogLevel(KeyError, ValueError):
    """No log level has this name (a :exc:`KeyError`, also a :exc:`ValueError`)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def get_loglevel(level: str | int) -> int:
    """Get loglevel by name (numbers are returned as they are).

    Raises:
        UnknownLogLevel: (a KeyError) if no level has that name.
    """
    if isinstance(level, str):
        try:
            return LOG_LEVELS[level.upper()]
        except KeyError:
            raise UnknownLogLevel(f'Unknown log level: {level!r}') from None
    return level

def naive_format_parts(fmt: str) -> Iterator[str | None]:
    """Yield the conversion character of each ``%`` format spec (None for ``%%``)."""
    for m in _FORMAT_SPEC.finditer(fmt):
        yield None if m.group(1) == '%' else m.group(1)

def safeify_format(fmt: str, args: Any,
                   filters: Mapping[str, Callable] | None = None) -> Iterator[Any]:
    """Yield ``args``, with the ones formatted by ``%s`` made safe strings."""
    filters = {'s': safe_str} if filters is None else filters
    specs = [c for c in naive_format_parts(fmt) if c is not None]
    for index, arg in enumerate(args):
        conv = specs[index] if index < len(specs) else None
        f = filters.get(conv) if conv else None
        yield f(arg) if f else arg

class LogMixin:
    """Mixin that adds severity methods to any class."""

    def debug(self, *args: Any, **kwargs: Any) -> None:
        return self.log(logging.DEBUG, *args, **kwargs)

    def info(self, *args: Any, **kwargs: Any) -> None:
        return self.log(logging.INFO, *args, **kwargs)

    def warn(self, *args: Any, **kwargs: Any) -> None:
        return self.log(logging.WARN, *args, **kwargs)

    warning = warn

    def error(self, *args: Any, **kwargs: Any) -> None:
        """Log an error, with the traceback of the exception being handled if any."""
        kwargs.setdefault('exc_info', sys.exc_info()[0] is not None)
        if DISABLE_TRACEBACKS:
            kwargs.pop('exc_info', None)
        return self.log(logging.ERROR, *args, **kwargs)

    def critical(self, *args: Any, **kwargs: Any) -> None:
        """Log a critical error, with the traceback of the exception being handled if any."""
        kwargs.setdefault('exc_info', sys.exc_info()[0] is not None)
        if DISABLE_TRACEBACKS:
            kwargs.pop('exc_info', None)
        return self.log(logging.CRITICAL, *args, **kwargs)

    def annotate(self, text: str) -> str:
        """Prefix ``text`` with the logger name."""
        return f'{self.logger_name} - {text}'

    def log(self, severity: int, *args: Any, **kwargs: Any) -> None:
        """Log at ``severity``: ``(fmt, *args)`` or several objects joined by spaces."""
        if not self.logger.isEnabledFor(severity):
            return None
        if len(args) > 1 and isinstance(args[0], str) and '%' in args[0]:
            expand = [maybe_evaluate(arg) for arg in args[1:]]
            return self.logger.log(
                severity, self.annotate(args[0]),
                *safeify_format(args[0], expand), **kwargs)
        return self.logger.log(
            severity, self.annotate(' '.join(map(safe_str, args))), **kwargs)

    def get_logger(self) -> logging.Logger:
        return get_logger(self.logger_name)

    def is_enabled_for(self, level: str | int) -> bool:
        return self.logger.isEnabledFor(self.get_loglevel(level))

    def get_loglevel(self, level: str | int) -> int:
        if isinstance(level, numbers.Integral):
            return level
        return get_loglevel(level) if isinstance(level, str) else LOG_LEVELS[level]

    @cached_property
    def logger(self) -> logging.Logger:
        return self.get_logger()

    @property
    def logger_name(self) -> str:
        return self.__class__.__name__

class Log(LogMixin):
    """Logger for ``name`` with the :class:`LogMixin` methods."""

    def __init__(self, name: str, logger: logging.Logger | None = None) -> None:
        self._logger_name = name
        self._logger = logger

    def get_logger(self) -> logging.Logger:
        if self._logger:
            return self._logger
        return super().get_logger()

    @property
    def logger_name(self) -> str:
        return self._logger_name

def setup_logging(loglevel: str | int | None = None,
                  logfile: str | IO | None = None) -> logging.Logger:
    """Setup logging.

    Adds a handler to the root logger (writing to ``logfile``, a path or a
    stream, default stderr) unless it already has one.
    """
    logger = logging.getLogger()
    level = get_loglevel(loglevel or 'ERROR')
    logfile = logfile if logfile else sys.__stderr__
    if not logger.handlers:
        if hasattr(logfile, 'write'):
            handler: logging.Handler = logging.StreamHandler(logfile)
        else:
            handler = WatchedFileHandler(logfile)
        logger.addHandler(handler)
        logger.setLevel(level)
    return logger
