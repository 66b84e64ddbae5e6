"""Amazon SQS Connection (asynchronous, on the event loop)."""
from __future__ import annotations

from typing import Any, Callable

from vine import promise

from kombu.asynchronous.aws.connection import AsyncAWSQueryConnection

from .message import AsyncMessage
from .queue import AsyncQueue

__all__ = ('AsyncSQSConnection',)


class AsyncSQSConnection(AsyncAWSQueryConnection):
    """Async SQS Connection.

    ``sqs_connection`` is a boto3 SQS client; every call is sent through the
    async HTTP client and its result goes to ``callback``.  A queue argument
    is an :class:`AsyncQueue`, a queue URL, or a queue name (looked up once,
    synchronously).
    """

    def __init__(self, sqs_connection: Any, debug: int = 0, region: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(sqs_connection, **kwargs)
        self.debug = debug
        self.region = region or sqs_connection.meta.region_name
        self._urls: dict[str, str] = {}

    def get_queue_url(self, queue: Any) -> str:
        """The URL of ``queue`` (an :class:`AsyncQueue`, a URL or a name)."""
        url = getattr(queue, 'url', None)
        if url:
            return url
        if queue.startswith(('http://', 'https://')):
            return queue
        try:
            return self._urls[queue]
        except KeyError:
            url = self._urls[queue] = self.sqs_connection.get_queue_url(
                QueueName=queue)['QueueUrl']
            return url

    def _queue(self, url: str) -> AsyncQueue:
        return AsyncQueue(self, url)

    # -- queues ----------------------------------------------------------------

    def create_queue(self, queue_name: str, visibility_timeout: int | None = None,
                     callback: Callable | None = None) -> Any:
        params: dict = {'QueueName': queue_name}
        if visibility_timeout:
            params['Attributes'] = {'VisibilityTimeout': str(visibility_timeout)}
        return self.get_object('CreateQueue', params, 'QueueUrl', self._queue, callback)

    def delete_queue(self, queue: Any, force_deletion: bool = False,
                     callback: Callable | None = None) -> Any:
        return self.get_status('DeleteQueue', {'QueueUrl': self.get_queue_url(queue)},
                               callback=callback)

    def get_queue_attributes(self, queue: Any, attribute: str = 'All',
                             callback: Callable | None = None) -> Any:
        return self.get_object('GetQueueAttributes', {
            'QueueUrl': self.get_queue_url(queue), 'AttributeNames': [attribute],
        }, 'Attributes', lambda attrs: attrs or {}, callback)

    def set_queue_attribute(self, queue: Any, attribute: str, value: Any,
                            callback: Callable | None = None) -> Any:
        return self.get_status('SetQueueAttributes', {
            'QueueUrl': self.get_queue_url(queue), 'Attributes': {attribute: str(value)},
        }, callback=callback)

    def get_all_queues(self, prefix: str = '', callback: Callable | None = None) -> Any:
        params = {'QueueNamePrefix': prefix} if prefix else {}
        return self.get_list('ListQueues', params, 'QueueUrls', self._queue, callback)

    def get_queue(self, queue_name: str, callback: Callable | None = None) -> Any:
        """``callback(AsyncQueue)`` for the queue named ``queue_name`` (or ``None``)."""
        cb = callback if callback is not None else promise()

        def on_error(exc: Exception | None = None, *args: Any) -> None:
            code = getattr(exc, 'response', {}).get('Error', {}).get('Code', '')
            if 'NonExistentQueue' in code or 'QueueDoesNotExist' in code:
                cb(None)
            elif hasattr(cb, 'throw'):
                cb.throw(exc)
            else:
                raise exc
        return self.make_request('GetQueueUrl', {'QueueName': queue_name},
                                 callback=promise(lambda parsed: cb(
                                     self._queue(parsed['QueueUrl'])), on_error=on_error))

    lookup = get_queue

    def get_dead_letter_source_queues(self, queue: Any,
                                      callback: Callable | None = None) -> Any:
        return self.get_list('ListDeadLetterSourceQueues',
                             {'QueueUrl': self.get_queue_url(queue)},
                             'queueUrls', self._queue, callback)

    def add_permission(self, queue: Any, label: str, aws_account_id: Any,
                       action_name: Any, callback: Callable | None = None) -> Any:
        as_list = (lambda v: [v] if isinstance(v, str) else list(v))
        return self.get_status('AddPermission', {
            'QueueUrl': self.get_queue_url(queue), 'Label': label,
            'AWSAccountIds': as_list(aws_account_id), 'Actions': as_list(action_name),
        }, callback=callback)

    def remove_permission(self, queue: Any, label: str,
                          callback: Callable | None = None) -> Any:
        return self.get_status('RemovePermission', {
            'QueueUrl': self.get_queue_url(queue), 'Label': label}, callback=callback)

    # -- messages --------------------------------------------------------------

    def receive_message(self, queue: Any, number_messages: int = 1,
                        visibility_timeout: int | None = None, attributes: Any = None,
                        wait_time_seconds: int | None = None,
                        callback: Callable | None = None) -> Any:
        """``callback(list_of_messages)``: up to ``number_messages`` (1..10)."""
        params: dict = {'QueueUrl': self.get_queue_url(queue),
                        'MaxNumberOfMessages': int(number_messages)}
        if visibility_timeout is not None:
            params['VisibilityTimeout'] = int(visibility_timeout)
        if attributes:
            params['AttributeNames'] = [attributes] if isinstance(attributes, str) \
                else list(attributes)
        if wait_time_seconds is not None:
            params['WaitTimeSeconds'] = int(wait_time_seconds)
        queue_obj = queue if isinstance(queue, AsyncQueue) else self._queue(params['QueueUrl'])
        message_class = getattr(queue_obj, 'message_class', AsyncMessage)
        return self.get_list(
            'ReceiveMessage', params, 'Messages',
            lambda data: message_class.from_sqs(data, queue_obj), callback)

    def delete_message(self, queue: Any, receipt_handle: str,
                       callback: Callable | None = None) -> Any:
        return self.delete_message_from_handle(queue, receipt_handle, callback)

    def delete_message_from_handle(self, queue: Any, receipt_handle: str,
                                   callback: Callable | None = None) -> Any:
        return self.get_status('DeleteMessage', {
            'QueueUrl': self.get_queue_url(queue), 'ReceiptHandle': receipt_handle,
        }, callback=callback)

    def delete_message_batch(self, queue: Any, messages: list,
                             callback: Callable | None = None) -> Any:
        entries = [{'Id': str(i), 'ReceiptHandle': getattr(m, 'receipt_handle', m)}
                   for i, m in enumerate(messages)]
        return self.get_object('DeleteMessageBatch', {
            'QueueUrl': self.get_queue_url(queue), 'Entries': entries,
        }, callback=callback)

    def send_message(self, queue: Any, message_content: Any,
                     delay_seconds: int | None = None,
                     callback: Callable | None = None) -> Any:
        """``callback(result)`` with ``MessageId`` and ``MD5OfMessageBody``."""
        params: dict = {'QueueUrl': self.get_queue_url(queue),
                        'MessageBody': message_content}
        if delay_seconds:
            params['DelaySeconds'] = int(delay_seconds)
        return self.get_object('SendMessage', params, callback=callback)

    def send_message_batch(self, queue: Any, messages: list,
                           callback: Callable | None = None) -> Any:
        """``messages``: ``(id, body, delay_seconds)`` tuples or entry dicts."""
        entries = []
        for m in messages:
            if isinstance(m, dict):
                entries.append(m)
            else:
                entry = {'Id': str(m[0]), 'MessageBody': m[1]}
                if len(m) > 2 and m[2]:
                    entry['DelaySeconds'] = int(m[2])
                entries.append(entry)
        return self.get_object('SendMessageBatch', {
            'QueueUrl': self.get_queue_url(queue), 'Entries': entries,
        }, callback=callback)

    def change_message_visibility(self, queue: Any, receipt_handle: str,
                                  visibility_timeout: int,
                                  callback: Callable | None = None) -> Any:
        return self.get_status('ChangeMessageVisibility', {
            'QueueUrl': self.get_queue_url(queue), 'ReceiptHandle': receipt_handle,
            'VisibilityTimeout': int(visibility_timeout),
        }, callback=callback)

    def change_message_visibility_batch(self, queue: Any, messages: list,
                                        callback: Callable | None = None) -> Any:
        """``messages``: ``(message_or_receipt_handle, visibility_timeout)`` pairs."""
        entries = [{'Id': str(i), 'ReceiptHandle': getattr(m, 'receipt_handle', m),
                    'VisibilityTimeout': int(t)} for i, (m, t) in enumerate(messages)]
        return self.get_object('ChangeMessageVisibilityBatch', {
            'QueueUrl': self.get_queue_url(queue), 'Entries': entries,
        }, callback=callback)


