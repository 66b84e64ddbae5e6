"""Exceptions.

The hierarchy::

    Exception
     ├── KombuError
     │    ├── OperationalError             (recoverable, e.g. a broker went away)
     │    ├── SerializationError
     │    │    ├── EncodeError
     │    │    └── DecodeError
     │    ├── NotBoundError
     │    ├── MessageStateError
     │    ├── LimitExceeded
     │    │    ├── ConnectionLimitExceeded
     │    │    └── ChannelLimitExceeded
     │    ├── VersionMismatch
     │    └── SerializerNotInstalled
     │         └── ContentDisallowed
     ├── HttpError
     ├── ConnectionError                    (amqp's, shared with the pyamqp transport)
     │    └── InconsistencyError
     ├── ChannelError                       (amqp's)
     └── ResourceError                      (amqp's)

``TimeoutError`` is an alias of :class:`socket.timeout`.
"""
from __future__ import annotations

import socket
from typing import Any, NoReturn

try:  # the AMQP client is a hard dependency; share its error types so
    # ``except kombu.exceptions.ConnectionError`` also catches pyamqp's errors.
    from amqp.exceptions import ChannelError, ConnectionError, ResourceError
except ImportError:  # pragma: no cover - amqp missing
    class _AMQPError(Exception):
        """Stand-in for amqp's base error when amqp is not installed."""

        def __init__(self, reply_text: str | None = None, method_sig: Any = None,
                     method_name: str | None = None, reply_code: int | None = None) -> None:
            self.message = reply_text
            self.reply_text = reply_text
            self.reply_code = reply_code
            self.method_sig = method_sig
            self.method_name = method_name or ''
            super().__init__(reply_code, reply_text, method_sig, self.method_name)

        def __str__(self) -> str:
            return f'({self.reply_code}) {self.reply_text or ""}'.strip()

    class ConnectionError(_AMQPError):
        """AMQP connection error."""

    class ChannelError(_AMQPError):
        """AMQP channel error."""

    class ResourceError(ConnectionError):
        """AMQP resource error."""

__all__ = (
    'reraise', 'KombuError', 'OperationalError',
    'NotBoundError', 'MessageStateError', 'TimeoutError',
    'LimitExceeded', 'ConnectionLimitExceeded',
    'ChannelLimitExceeded', 'ConnectionError', 'ChannelError',
    'VersionMismatch', 'SerializerNotInstalled', 'ResourceError',
    'SerializationError', 'EncodeError', 'DecodeError', 'HttpError',
    'InconsistencyError', 'ContentDisallowed',
)

#: Alias of :class:`socket.timeout` (the builtin ``TimeoutError`` on Python 3.10+).
TimeoutError = socket.timeout


def reraise(tp: type[BaseException], value: BaseException | None,
            tb: Any = None) -> NoReturn:
    """Reraise exception ``value`` (of type ``tp``) with traceback ``tb``."""
    if value is None:
        value = tp()
    if value.__traceback__ is not tb:
        raise value.with_traceback(tb)
    raise value


class KombuError(Exception):
    """Common subclass for all Kombu exceptions."""


class OperationalError(KombuError):
    """Recoverable message transport connection error."""


class SerializationError(KombuError):
    """Failed to serialize/deserialize content."""


class EncodeError(SerializationError):
    """Cannot encode object."""


class DecodeError(SerializationError):
    """Cannot decode object."""


class NotBoundError(KombuError):
    """Trying to call channel dependent method on unbound entity."""


class MessageStateError(KombuError):
    """The message has already been acknowledged."""


class LimitExceeded(KombuError):
    """Limit exceeded."""


class ConnectionLimitExceeded(LimitExceeded):
    """Maximum number of simultaneous connections exceeded."""


class ChannelLimitExceeded(LimitExceeded):
    """Maximum number of simultaneous channels exceeded."""


class VersionMismatch(KombuError):
    """Library dependency version mismatch."""


class SerializerNotInstalled(KombuError):
    """Support for the requested serialization type is not installed."""


class ContentDisallowed(SerializerNotInstalled):
    """Consumer does not allow this content-type."""


class InconsistencyError(ConnectionError):
    """Data or environment has been found to be inconsistent.

    Depending on the cause it may be possible to retry the operation.
    """


class HttpError(Exception):
    """HTTP Client Error."""

    def __init__(self, code: int, message: str | None = None,
                 response: Any = None) -> None:
        self.code = code
        self.message = message
        self.response = response
        super().__init__(code, message, response)

    def __str__(self) -> str:
        return f'HTTP {self.code}: {self.message}'
