"""kombu.asynchronous.aws without a server: signing, request building, parsing.

A recording HTTP client stands in for curl here (it answers with canned
responses); the same calls against a real SQS API over curl on the Hub are
in t/integration/test_sqs.py::TestAsyncClient.
"""
from __future__ import annotations

import base64
import json
from io import BytesIO

import pytest
from vine import promise

from kombu.asynchronous.http import Headers, Request, Response
from kombu.exceptions import HttpError

pytest.importorskip('boto3')

from kombu.asynchronous.aws import connect_sqs  # noqa: E402
from kombu.asynchronous.aws.connection import (  # noqa: E402
    AsyncAWSQueryConnection,
    AsyncConnection,
    AsyncHTTPResponse,
    AsyncHTTPSConnection,
)
from kombu.asynchronous.aws.ext import BotoCoreError, ClientError, boto3  # noqa: E402
from kombu.asynchronous.aws.sqs.connection import AsyncSQSConnection  # noqa: E402
from kombu.asynchronous.aws.sqs.message import (  # noqa: E402
    AsyncMessage,
    AsyncRawMessage,
    BaseAsyncMessage,
)
from kombu.asynchronous.aws.sqs.queue import AsyncQueue, list_first  # noqa: E402

QURL = 'http://sqs.test/123/q'


class RecordingHTTP:
    """An async HTTP client that records requests and answers them at once."""

    def __init__(self):
        self.requests = []
        self.replies = []          # (code, body) answered in order; default 200 '{}'

    def add_request(self, request):
        self.requests.append(request)
        code, body = self.replies.pop(0) if self.replies else (200, b'{}')
        request.on_ready(Response(request, code, Headers(), BytesIO(body) if body is not None
                                  else None))
        return request

    def json(self, n=-1):
        return json.loads(self.requests[n].body)

    def target(self, n=-1):
        return self.requests[n].headers['X-Amz-Target']


@pytest.fixture
def client():
    return boto3.client('sqs', region_name='us-east-1', endpoint_url='http://sqs.test',
                        aws_access_key_id='AKID', aws_secret_access_key='SECRET')


@pytest.fixture
def http():
    return RecordingHTTP()


@pytest.fixture
def conn(client, http):
    return AsyncSQSConnection(client, http_client=http)


def test_ext_names():
    from kombu.asynchronous.aws import ext
    assert issubclass(BotoCoreError, Exception) and issubclass(ClientError, Exception)
    assert ext.exceptions is not None and ext.AWSRequest is not None
    assert ext.get_response is not None
    ext.require_boto3()


def test_connect_sqs(http):
    c = connect_sqs('AK', 'SK', region='eu-west-2', endpoint_url='http://x:1',
                    http_client=http)
    assert isinstance(c, AsyncSQSConnection)
    assert c.region == 'eu-west-2'
    assert c.sqs_connection.meta.endpoint_url == 'http://x:1'
    assert c._httpclient is http


def test_requests_are_signed_sigv4(conn, http):
    conn.receive_message(QURL, 10, wait_time_seconds=5, visibility_timeout=7,
                         attributes=['All'])
    req = http.requests[-1]
    assert isinstance(req, Request) and req.method == 'POST'
    assert req.url == 'http://sqs.test/'
    auth = req.headers['Authorization']
    assert auth.startswith('AWS4-HMAC-SHA256 Credential=AKID/')
    assert '/us-east-1/sqs/aws4_request' in auth and 'Signature=' in auth
    assert 'X-Amz-Date' in req.headers
    assert http.target() == 'AmazonSQS.ReceiveMessage'
    assert http.json() == {'QueueUrl': QURL, 'MaxNumberOfMessages': 10,
                           'WaitTimeSeconds': 5, 'VisibilityTimeout': 7,
                           'AttributeNames': ['All']}


def test_receive_parses_messages(conn, http):
    encoded = base64.b64encode(b'hello').decode()
    http.replies.append((200, json.dumps({'Messages': [
        {'MessageId': 'm1', 'ReceiptHandle': 'r1', 'Body': encoded, 'MD5OfBody': 'x',
         'Attributes': {'ApproximateReceiveCount': '1'}}]}).encode()))
    got = []
    conn.receive_message(QURL, callback=got.append)
    (m,) = got[0]
    assert isinstance(m, AsyncMessage) and m.body == 'hello'
    assert (m.id, m.receipt_handle, m.md5) == ('m1', 'r1', 'x')
    assert m.attributes == {'ApproximateReceiveCount': '1'}
    assert m.queue.url == QURL
    raw_queue = AsyncQueue(conn, QURL, AsyncRawMessage)
    http.replies.append((200, json.dumps({'Messages': [
        {'MessageId': 'm1', 'ReceiptHandle': 'r1', 'Body': encoded}]}).encode()))
    raw_queue.read(callback=got.append)
    assert isinstance(got[1], AsyncRawMessage) and got[1].body == encoded
    http.replies.append((200, b'{}'))
    raw_queue.read(callback=got.append)
    assert got[2] is None


def test_errors_go_to_the_errback(conn, http):
    http.replies.append((400, json.dumps({
        '__type': 'com.amazonaws.sqs#QueueDoesNotExist',
        'message': 'The specified queue does not exist.'}).encode()))
    errors = []
    conn.get_queue_attributes(QURL, callback=promise(errors.append, on_error=errors.append))
    assert isinstance(errors[0], ClientError)
    assert 'QueueDoesNotExist' in errors[0].response['Error']['Code']
    http.replies.append((599, None))
    conn.delete_message(QURL, 'r', callback=promise(errors.append, on_error=errors.append))
    assert isinstance(errors[1], HttpError)
    http.replies.append((500, b''))
    with pytest.raises(HttpError):
        conn.send_message(QURL, 'x')           # no errback: raised


def test_get_queue_missing_is_none(conn, http):
    http.replies.append((400, json.dumps({
        '__type': 'com.amazonaws.sqs#QueueDoesNotExist', 'message': 'nope'}).encode()))
    got = []
    conn.get_queue('nope', callback=got.append)
    assert got == [None]
    http.replies.append((200, json.dumps({'QueueUrl': QURL}).encode()))
    conn.lookup('q', callback=got.append)
    assert got[1].url == QURL and http.json() == {'QueueName': 'q'}


@pytest.mark.parametrize('call,target,body', [
    (lambda c: c.create_queue('q', 30), 'CreateQueue',
     {'QueueName': 'q', 'Attributes': {'VisibilityTimeout': '30'}}),
    (lambda c: c.delete_queue(QURL), 'DeleteQueue', {'QueueUrl': QURL}),
    (lambda c: c.set_queue_attribute(QURL, 'DelaySeconds', 3), 'SetQueueAttributes',
     {'QueueUrl': QURL, 'Attributes': {'DelaySeconds': '3'}}),
    (lambda c: c.get_all_queues('pre'), 'ListQueues', {'QueueNamePrefix': 'pre'}),
    (lambda c: c.get_dead_letter_source_queues(QURL), 'ListDeadLetterSourceQueues',
     {'QueueUrl': QURL}),
    (lambda c: c.add_permission(QURL, 'l', '123456789012', 'SendMessage'), 'AddPermission',
     {'QueueUrl': QURL, 'Label': 'l', 'AWSAccountIds': ['123456789012'],
      'Actions': ['SendMessage']}),
    (lambda c: c.remove_permission(QURL, 'l'), 'RemovePermission',
     {'QueueUrl': QURL, 'Label': 'l'}),
    (lambda c: c.delete_message_from_handle(QURL, 'rh'), 'DeleteMessage',
     {'QueueUrl': QURL, 'ReceiptHandle': 'rh'}),
    (lambda c: c.delete_message_batch(QURL, ['a', 'b']), 'DeleteMessageBatch',
     {'QueueUrl': QURL, 'Entries': [{'Id': '0', 'ReceiptHandle': 'a'},
                                    {'Id': '1', 'ReceiptHandle': 'b'}]}),
    (lambda c: c.send_message(QURL, 'body', delay_seconds=2), 'SendMessage',
     {'QueueUrl': QURL, 'MessageBody': 'body', 'DelaySeconds': 2}),
    (lambda c: c.send_message_batch(QURL, [(1, 'a', 0), (2, 'b', 4)]), 'SendMessageBatch',
     {'QueueUrl': QURL, 'Entries': [{'Id': '1', 'MessageBody': 'a'},
                                    {'Id': '2', 'MessageBody': 'b', 'DelaySeconds': 4}]}),
    (lambda c: c.change_message_visibility(QURL, 'rh', 0), 'ChangeMessageVisibility',
     {'QueueUrl': QURL, 'ReceiptHandle': 'rh', 'VisibilityTimeout': 0}),
    (lambda c: c.change_message_visibility_batch(QURL, [('rh', 5)]),
     'ChangeMessageVisibilityBatch',
     {'QueueUrl': QURL, 'Entries': [{'Id': '0', 'ReceiptHandle': 'rh',
                                     'VisibilityTimeout': 5}]}),
])
def test_operations(conn, http, call, target, body):
    call(conn)
    assert http.target() == 'AmazonSQS.' + target
    assert http.json() == body


def test_results(conn, http):
    got = []
    http.replies.append((200, json.dumps({'QueueUrl': QURL}).encode()))
    conn.create_queue('q', callback=got.append)
    assert isinstance(got[0], AsyncQueue) and got[0].url == QURL and got[0].name == 'q'
    http.replies.append((200, json.dumps({'QueueUrls': [QURL, QURL + '2']}).encode()))
    conn.get_all_queues(callback=got.append)
    assert [q.url for q in got[1]] == [QURL, QURL + '2']
    http.replies.append((200, b'{}'))
    conn.delete_queue(QURL, callback=got.append)
    assert got[2] is True
    http.replies.append((200, json.dumps({'Attributes': {
        'ApproximateNumberOfMessages': '7', 'VisibilityTimeout': '30'}}).encode()))
    queue = AsyncQueue(conn, QURL)
    queue.count(callback=got.append)
    assert got[3] == 7 and http.json()['AttributeNames'] == ['ApproximateNumberOfMessages']
    http.replies.append((200, json.dumps({'Attributes': {
        'VisibilityTimeout': '30'}}).encode()))
    queue.get_timeout(callback=got.append)
    assert got[4] == 30
    queue.set_timeout(45, callback=got.append)
    assert got[5] == 45 and queue.visibility_timeout == 45


def test_queue_write_and_message_helpers(conn, http):
    queue = AsyncQueue(conn, QURL)
    m = AsyncMessage(body='hi')
    assert m.encode('hi') == base64.b64encode(b'hi').decode()
    http.replies.append((200, json.dumps({'MessageId': 'id1',
                                          'MD5OfMessageBody': 'md5'}).encode()))
    queue.write(m)
    assert http.json()['MessageBody'] == m.encode('hi')
    assert m.id == 'id1' and m.md5 == 'md5'
    queue.write('plain string')
    assert http.json()['MessageBody'] == 'plain string'
    m.queue, m.receipt_handle = queue, 'rh'
    m.delete()
    assert http.target() == 'AmazonSQS.DeleteMessage'
    m.change_visibility(9)
    assert http.json()['VisibilityTimeout'] == 9
    queue.write_batch([(1, 'a')])
    assert http.target() == 'AmazonSQS.SendMessageBatch'
    queue.get_messages(3, callback=None)
    assert http.json()['MaxNumberOfMessages'] == 3
    for name in ('count_slow', 'dump', 'save', 'save_to_file', 'save_to_filename',
                 'save_to_s3', 'load', 'load_from_file', 'load_from_filename',
                 'load_from_s3', 'clear'):
        with pytest.raises(NotImplementedError):
            getattr(queue, name)()
    assert issubclass(AsyncRawMessage, BaseAsyncMessage)
    assert list_first([1, 2]) == 1 and list_first([]) is None and list_first(None) is None


def test_get_queue_url(conn):
    assert conn.get_queue_url(AsyncQueue(conn, QURL)) == QURL
    assert conn.get_queue_url(QURL) == QURL


def test_https_connection(http):
    c = AsyncHTTPSConnection(http_client=http)
    assert c.default_ports == {'http': 80, 'https': 443}
    assert c.method == 'GET' and c.path == '/' and c.body is None
    c.putrequest('PUT', 'http://h/x')
    c.putheader('X-A', '1')
    c.endheaders()
    c.send(b'ab')
    c.send(b'cd')
    c.set_debuglevel(1)
    c.connect()
    req = c.getrequest()
    assert (req.method, req.url, req.body) == ('PUT', 'http://h/x', b'abcd')
    assert req.headers == {'X-A': '1'} and req.request_timeout == 20.0
    got = []
    http.replies.append((404, b'missing'))
    c.getresponse(callback=got.append)
    (resp,) = got
    assert isinstance(resp, AsyncHTTPResponse)
    assert resp.status == 404 and resp.read() == b'missing'
    assert 'Not Found' in resp.reason and resp.getheader('Nope', 'd') == 'd'
    assert resp.getheaders() == []
    c.close()


def test_async_connection(client, http):
    c = AsyncConnection(client, http_client=http)
    assert c.sqs_connection is client
    hc = c.get_http_connection()
    assert isinstance(hc, AsyncHTTPSConnection) and hc.http_client is http
    assert isinstance(AsyncAWSQueryConnection(client, http_client=http),
                      AsyncConnection)
