"""Message class: a message received from a queue."""
from __future__ import annotations

import sys
from typing import Any, Callable

from .exceptions import MessageStateError, reraise

__all__ = ('Message', 'ACK_STATES')

#: States in which a message counts as settled (acknowledged one way or another).
ACK_STATES = frozenset({'ACK', 'REJECTED', 'REQUEUED'})

_NOT_DECODED = object()


def _decompress(body: Any, content_type: str) -> Any:
    from .compression import decompress
    return decompress(body, content_type)


def _loads(*args: Any, **kwargs: Any) -> Any:
    # Imported on first use: kombu.serialization pulls in the codec registry.
    global _loads
    from .serialization import loads
    _loads = loads
    return loads(*args, **kwargs)


class Message:
    """Base class for received messages.

    Transports subclass it (``Channel.Message``) to map their native message
    format onto these attributes.
    """

    MessageStateError = MessageStateError

    #: A list of ``sys.exc_info()`` tuples for errors met while preparing the
    #: body (e.g. decompression); re-raised by :meth:`_reraise_error`.
    errors: list | None = None

    # Set on every instance; class-level defaults for introspection.
    accept = None
    body = None
    channel = None
    content_encoding = None
    content_type = None
    delivery_info = None
    delivery_tag = None
    headers = None
    properties = None
    _decoded_cache = _NOT_DECODED
    _state = 'RECEIVED'

    def __init__(self, body: Any = None, delivery_tag: Any = None,
                 content_type: str | None = None, content_encoding: str | None = None,
                 delivery_info: dict | None = None, properties: dict | None = None,
                 headers: dict | None = None, postencode: str | None = None,
                 accept: Any = None, channel: Any = None, **kwargs: Any) -> None:
        errors = self.errors
        if errors is None:
            errors = self.errors = []
        self.channel = channel
        self.delivery_tag = delivery_tag
        self.content_type = content_type
        self.content_encoding = content_encoding
        self.delivery_info = {} if delivery_info is None else delivery_info
        self.properties = {} if properties is None else properties
        if accept is not None:
            self.accept = accept
        if headers:
            self.headers = headers
            compression = headers.get('compression')
            if compression and not errors:
                try:
                    body = _decompress(body, compression)
                except Exception:
                    errors.append(sys.exc_info())
        else:
            self.headers = {} if headers is None else headers
        if postencode and body.__class__ is str and not errors:
            try:
                body = body.encode(postencode)
            except Exception:
                errors.append(sys.exc_info())
        self.body = body

    def _reraise_error(self, callback: Callable | None = None) -> Any:
        """Re-raise the first stored error, or hand it to ``callback(message, exc)``."""
        try:
            reraise(*self.errors[0])
        except Exception as exc:
            if not callback:
                raise
            return callback(self, exc)

    def _check_settle(self) -> Any:
        channel = self.channel
        if channel is None:
            raise self.MessageStateError('This message does not have a receiving channel')
        if self._state in ACK_STATES:
            raise self.MessageStateError(
                f'Message already acknowledged with state: {self._state}')
        return channel

    def ack(self, multiple: bool = False) -> None:
        """Acknowledge this message as being processed (removes it from the queue).

        Raises:
            MessageStateError: if the message was already acknowledged,
                requeued or rejected.
        """
        channel = self.channel
        if channel is None:
            raise self.MessageStateError('This message does not have a receiving channel')
        no_ack_consumers = channel.no_ack_consumers
        if no_ack_consumers and \
                self.delivery_info.get('consumer_tag') in no_ack_consumers:
            return  # auto-acked by the broker: nothing to settle
        if self._state in ACK_STATES:
            raise self.MessageStateError(
                f'Message already acknowledged with state: {self._state}')
        channel.basic_ack(self.delivery_tag, multiple=multiple)
        self._state = 'ACK'

    def ack_log_error(self, logger: Any, errors: Any, multiple: bool = False) -> None:
        """Acknowledge, logging (instead of raising) any of ``errors``."""
        try:
            self.ack(multiple=multiple)
        except errors as exc:
            logger.critical("Couldn't ack %r, reason:%r", self.delivery_tag, exc,
                            exc_info=True)

    def reject_log_error(self, logger: Any, errors: Any, requeue: bool = False) -> None:
        """Reject, logging (instead of raising) any of ``errors``."""
        try:
            self.reject(requeue=requeue)
        except errors as exc:
            logger.critical("Couldn't reject %r, reason: %r", self.delivery_tag, exc,
                            exc_info=True)

    def reject(self, requeue: bool = False) -> None:
        """Reject this message; the server discards it (or requeues it if ``requeue``).

        The state becomes ``'REJECTED'`` either way (:meth:`requeue` gives
        ``'REQUEUED'``).

        Raises:
            MessageStateError: if the message was already settled.
        """
        channel = self._check_settle()
        channel.basic_reject(self.delivery_tag, requeue=requeue)
        self._state = 'REJECTED'

    def requeue(self) -> None:
        """Reject this message and put it back on the queue.

        Raises:
            MessageStateError: if the message was already settled.
        """
        channel = self._check_settle()
        channel.basic_reject(self.delivery_tag, requeue=True)
        self._state = 'REQUEUED'

    def decode(self) -> Any:
        """Deserialize the message body (memoized; use ``_decode`` to force)."""
        value = self._decoded_cache
        if value is _NOT_DECODED:
            value = self._decoded_cache = self._decode()
        return value

    def _decode(self) -> Any:
        return _loads(self.body, self.content_type, self.content_encoding,
                      accept=self.accept)

    @property
    def acknowledged(self) -> bool:
        """True if the message has been acknowledged, rejected or requeued."""
        return self._state in ACK_STATES

    @property
    def payload(self) -> Any:
        """The decoded message body."""
        value = self._decoded_cache
        if value is _NOT_DECODED:
            value = self._decoded_cache = self._decode()
        return value

    def __repr__(self) -> str:
        """Show the state and, when set, content type, delivery tag, body length,
        correlation id, exchange and routing key."""
        body = self.body
        details = {'state': self._state}
        for key, value in (('content_type', self.content_type),
                           ('delivery_tag', self.delivery_tag),
                           ('body_length', None if body is None else len(body))):
            if value is not None:
                details[key] = value
        details['properties'] = _present(self.properties, ('correlation_id',))
        details['delivery_info'] = _present(self.delivery_info, ('exchange', 'routing_key'))
        return f'<{type(self).__name__} object at {id(self):#x} with details {details!r}>'


def _present(mapping: dict, keys: tuple[str, ...]) -> dict:
    """The items of ``mapping`` under ``keys`` whose value is not None."""
    return {k: mapping[k] for k in keys if mapping.get(k) is not None}
