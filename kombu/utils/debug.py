"""Debugging support."""
from __future__ import annotations

import logging
from functools import wraps
from typing import Any, Iterable

from kombu.log import get_logger

from .functional import reprcall

__all__ = ('setup_logging', 'Logwrapped')


def setup_logging(loglevel: int = logging.DEBUG,
                  loggers: Iterable[str] | None = None) -> None:
    """Setup logging to stdout."""
    loggers = ['kombu.connection', 'kombu.channel'] if not loggers else loggers
    for logger_name in loggers:
        logger = get_logger(logger_name)
        logger.addHandler(logging.StreamHandler())
        logger.setLevel(loglevel)


class Logwrapped:
    """Wrap all object methods, to log on call."""

    __ignore = ('__enter__', '__exit__')

    def __init__(self, instance: Any, logger: logging.Logger | str | None = None,
                 ident: str | None = None) -> None:
        self.instance = instance
        self.logger = get_logger(logger or __name__)
        self.ident = ident

    def __getattr__(self, key: str) -> Any:
        if key in ('instance', 'logger', 'ident'):  # not set up yet (e.g. unpickling)
            raise AttributeError(key)
        meth = getattr(self.instance, key)
        if not callable(meth) or key in self.__ignore:
            return meth

        @wraps(meth)
        def __wrapped(*args: Any, **kwargs: Any) -> Any:
            prefix = self.ident.format(self.instance) if self.ident else ''
            info = prefix + reprcall(getattr(meth, '__name__', key), args, kwargs)
            self.logger.debug(info)
            return meth(*args, **kwargs)

        return __wrapped

    def __repr__(self) -> str:
        return repr(self.instance)

    def __dir__(self) -> list[str]:
        return dir(self.instance)

