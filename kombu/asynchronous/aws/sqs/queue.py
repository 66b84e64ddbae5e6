"""Amazon SQS queue implementation."""
from __future__ import annotations

from typing import Any, Callable

from vine import promise, transform

from .message import AsyncMessage

__all__ = ('AsyncQueue', 'list_first')


def list_first(rs: Any) -> Any:
    """Get the first item in a list, or None if list empty."""
    return rs[0] if rs else None


class AsyncQueue:
    """Async SQS Queue."""

    def __init__(self, connection: Any = None, url: str | None = None,
                 message_class: type = AsyncMessage) -> None:
        self.connection = connection
        self.url = url
        self.message_class = message_class
        self.visibility_timeout: int | None = None

    @property
    def name(self) -> str | None:
        return self.url.rstrip('/').rsplit('/', 1)[-1] if self.url else None

    def _NA(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError('not supported by the async SQS queue')

    count_slow = dump = save_to_file = save_to_filename = save = \
        save_to_s3 = load_from_s3 = load_from_file = load_from_filename = \
        load = clear = _NA

    def get_attributes(self, attributes: str = 'All',
                       callback: Callable | None = None) -> Any:
        return self.connection.get_queue_attributes(self, attributes, callback)

    def set_attribute(self, attribute: str, value: Any,
                      callback: Callable | None = None) -> Any:
        return self.connection.set_queue_attribute(self, attribute, value, callback)

    def get_timeout(self, callback: Callable | None = None,
                    _attr: str = 'VisibilityTimeout') -> Any:
        return self.get_attributes(
            _attr, transform(self._coerce_field_value, callback or promise(), _attr, int))

    def _coerce_field_value(self, key: str, type_: Callable, response: dict) -> Any:
        return type_(response[key])

    def set_timeout(self, visibility_timeout: int,
                    callback: Callable | None = None) -> Any:
        return self.set_attribute(
            'VisibilityTimeout', visibility_timeout,
            transform(self._on_timeout_set, callback or promise(), visibility_timeout))

    def _on_timeout_set(self, visibility_timeout: int, *args: Any) -> int:
        if visibility_timeout:
            self.visibility_timeout = visibility_timeout
        return self.visibility_timeout

    def add_permission(self, label: str, aws_account_id: Any, action_name: Any,
                       callback: Callable | None = None) -> Any:
        return self.connection.add_permission(
            self, label, aws_account_id, action_name, callback)

    def remove_permission(self, label: str, callback: Callable | None = None) -> Any:
        return self.connection.remove_permission(self, label, callback)

    def read(self, visibility_timeout: int | None = None,
             wait_time_seconds: int | None = None,
             callback: Callable | None = None) -> Any:
        """``callback(message or None)`` with at most one message."""
        return self.get_messages(
            1, visibility_timeout, wait_time_seconds=wait_time_seconds,
            callback=transform(list_first, callback or promise()))

    def write(self, message: Any, delay_seconds: int | None = None,
              callback: Callable | None = None) -> Any:
        """Send ``message`` (a message object or a string)."""
        body = message.get_body_encoded() if hasattr(message, 'get_body_encoded') \
            else message
        return self.connection.send_message(
            self, body, delay_seconds=delay_seconds,
            callback=transform(self._on_message_sent, callback or promise(), message))

    def _on_message_sent(self, orig_message: Any, new_message: dict) -> Any:
        if hasattr(orig_message, 'id'):
            orig_message.id = new_message.get('MessageId')
            orig_message.md5 = new_message.get('MD5OfMessageBody')
        return new_message

    def write_batch(self, messages: list, callback: Callable | None = None) -> Any:
        return self.connection.send_message_batch(self, messages, callback=callback)

    def delete_message(self, message: Any, callback: Callable | None = None) -> Any:
        return self.connection.delete_message(self, message.receipt_handle, callback)

    def delete_message_batch(self, messages: list,
                             callback: Callable | None = None) -> Any:
        return self.connection.delete_message_batch(self, messages, callback=callback)

    def change_message_visibility_batch(self, messages: list,
                                        callback: Callable | None = None) -> Any:
        return self.connection.change_message_visibility_batch(
            self, messages, callback=callback)

    def delete(self, callback: Callable | None = None) -> Any:
        return self.connection.delete_queue(self, callback=callback)

    def count(self, page_size: int = 10, vtimeout: int = 10,
              callback: Callable | None = None,
              _attr: str = 'ApproximateNumberOfMessages') -> Any:
        return self.get_attributes(
            _attr, callback=transform(self._coerce_field_value, callback or promise(),
                                      _attr, int))

    def get_messages(self, num_messages: int = 1, visibility_timeout: int | None = None,
                     attributes: Any = None, wait_time_seconds: int | None = None,
                     callback: Callable | None = None) -> Any:
        return self.connection.receive_message(
            self, number_messages=num_messages, visibility_timeout=visibility_timeout,
            attributes=attributes, wait_time_seconds=wait_time_seconds,
            callback=callback)

    def __repr__(self) -> str:
        return f'<AsyncQueue: {self.url}>'
