"""Amazon SQS message implementation."""
from __future__ import annotations

import base64
from typing import Any

from kombu.message import Message
from kombu.utils.encoding import str_to_bytes

__all__ = ('BaseAsyncMessage', 'AsyncRawMessage', 'AsyncMessage')


class BaseAsyncMessage(Message):
    """Base class for messages received on async client.

    Besides the :class:`kombu.message.Message` attributes it has the SQS
    fields: ``queue``, ``id``, ``receipt_handle``, ``md5``, ``attributes``
    and ``message_attributes``.
    """

    queue: Any = None
    id: str | None = None
    receipt_handle: str | None = None
    md5: str | None = None
    attributes: dict = {}
    message_attributes: dict = {}

    def get_body(self) -> Any:
        """The body as stored on the queue."""
        return self.body

    def get_body_encoded(self) -> Any:
        """The body in the form sent to SQS."""
        return self.body

    def set_body(self, body: Any) -> None:
        self.body = body

    @classmethod
    def from_sqs(cls, data: dict, queue: Any = None, channel: Any = None) -> BaseAsyncMessage:
        """Build from one entry of a ReceiveMessage result."""
        message = cls(body=cls._decode(data.get('Body')), channel=channel,
                      delivery_tag=data.get('ReceiptHandle'))
        message.queue = queue
        message.id = data.get('MessageId')
        message.receipt_handle = data.get('ReceiptHandle')
        message.md5 = data.get('MD5OfBody')
        message.attributes = data.get('Attributes') or {}
        message.message_attributes = data.get('MessageAttributes') or {}
        return message

    @classmethod
    def _decode(cls, body: Any) -> Any:
        return body

    def delete(self, callback: Any = None) -> Any:
        """Delete the message from its queue."""
        if self.queue is not None:
            return self.queue.delete_message(self, callback=callback)
        return None

    def change_visibility(self, visibility_timeout: int, callback: Any = None) -> Any:
        """Change the visibility timeout of this message."""
        return self.queue.connection.change_message_visibility(
            self.queue, self.receipt_handle, visibility_timeout, callback=callback)

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: id={self.id!r} body={self.body!r}>'


class AsyncRawMessage(BaseAsyncMessage):
    """Raw Message (the body is sent and received as it is)."""


class AsyncMessage(BaseAsyncMessage):
    """Serialized message (the body travels Base64-encoded)."""

    def encode(self, value: Any) -> str:
        """Encode/decode the value using Base64 encoding."""
        return base64.b64encode(str_to_bytes(value)).decode('ascii')

    def get_body_encoded(self) -> str:
        return self.encode(self.body)

    @classmethod
    def _decode(cls, body: Any) -> Any:
        if body is None:
            return None
        try:
            return base64.b64decode(str_to_bytes(body), validate=True).decode('utf-8')
        except (ValueError, UnicodeDecodeError):
            return body
