"""kombu.transport.SQS without a server: names, options, wire format, errors.

The calls the channel makes are checked with a small recording stand-in for
the boto3 client here; the same calls against a real SQS API (moto server)
are in t/integration/test_sqs.py.
"""
from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from kombu import Connection
from kombu.transport import SQS, resolve_transport

pytest.importorskip('boto3')


class RecordingSQS:
    """Records boto3-style calls and answers them from a dict of canned results."""

    def __init__(self, **answers):
        self.calls = []
        self.answers = answers

    def __getattr__(self, operation):
        def call(**kwargs):
            self.calls.append((operation, kwargs))
            answer = self.answers.get(operation, {})
            return answer(**kwargs) if callable(answer) else answer
        return call


@pytest.fixture
def channel():
    conn = Connection('sqs://AK:SK@', transport_options={'region': 'eu-west-1'})
    ch = conn.default_channel
    yield ch
    conn.release()


def make_channel(**options):
    return Connection('sqs://AK:SK@', transport_options=options).default_channel


def test_alias_resolves():
    assert resolve_transport('sqs') is SQS.Transport
    assert resolve_transport('SQS') is SQS.Transport


def test_transport_attributes():
    T = SQS.Transport
    assert T.driver_type == T.driver_name == 'sqs'
    assert T.default_port is None
    assert T.polling_interval == 1
    assert T.wait_time_seconds == 0
    assert T.implements.asynchronous is True
    assert T.implements.exchange_type == frozenset({'direct'})
    assert T.implements.heartbeats is False
    from amqp.exceptions import ChannelError, ConnectionError
    from botocore.exceptions import BotoCoreError, ClientError
    # As documented (no duplicates); ClientError added for the SQS API's errors.
    assert T.connection_errors == (ConnectionError, BotoCoreError, OSError)
    assert T.channel_errors == (ChannelError, BotoCoreError, ClientError)
    assert T(Connection('sqs://')).default_connection_params == {'port': None}


def test_channel_defaults(channel):
    assert SQS.Channel.default_region == 'us-east-1'
    assert SQS.Channel.default_visibility_timeout == 1800
    assert SQS.Channel.default_wait_time_seconds == 10
    assert SQS.Channel.domain_format == 'kombu%(vhost)s'
    assert channel.region == 'eu-west-1'
    assert channel.visibility_timeout == 1800
    assert channel.wait_time_seconds == 10
    assert channel.queue_name_prefix == ''
    assert channel.supports_fanout is False
    assert channel.endpoint_url is None
    assert channel.is_secure is None
    assert channel.predefined_queues == {}
    assert channel.conninfo.userid == 'AK'
    assert channel.transport_options == {'region': 'eu-west-1'}


def test_options():
    ch = make_channel(visibility_timeout=60, wait_time_seconds=0, queue_name_prefix='p-',
                      endpoint_url='http://h:1', is_secure=False, port=99)
    assert ch.visibility_timeout == 60
    assert ch.wait_time_seconds == 0
    assert ch.queue_name_prefix == 'p-'
    assert ch.endpoint_url == 'http://h:1'
    assert ch.is_secure is False and ch.port == 99
    assert ch.region == 'us-east-1'


@pytest.mark.parametrize('url,options,endpoint,port', [
    # As Kombu 4.6.7: http unless is_secure is true; the URL's port first.
    ('sqs://a:b@sqs.example.com:8443', {}, 'http://sqs.example.com:8443', None),
    ('sqs://a:b@sqs.example.com:8443', {'is_secure': True},
     'https://sqs.example.com:8443', None),
    ('sqs://a:b@localhost:4566', {'is_secure': 0}, 'http://localhost:4566', None),
    ('sqs://a:b@localhost', {'is_secure': False}, 'http://localhost', None),
    ('sqs://a:b@localhost', {'is_secure': 1}, 'https://localhost', None),
    ('sqs://a:b@localhost', {'port': 7777}, 'http://localhost:7777', 7777),
    ('sqs://a:b@localhost:5055', {'port': 7777}, 'http://localhost:5055', 7777),
    ('sqs://a:b@localhost:5055', {'endpoint_url': 'https://x:1'}, 'https://x:1', None),
    ('sqs://a:b@', {'port': 7777, 'is_secure': True}, None, 7777),
    ('sqs://', {}, None, None),
])
def test_endpoint_from_hostname(url, options, endpoint, port):
    ch = Connection(url, transport_options=options).default_channel
    assert ch.endpoint_url == endpoint
    assert ch.port == port
    if endpoint is not None:
        assert ch.sqs.meta.endpoint_url == endpoint


@pytest.mark.parametrize('value,expected', [(None, 10), ('5', 5), (0, 0), (20, 20)])
def test_wait_time_seconds_values(value, expected):
    assert make_channel(wait_time_seconds=value).wait_time_seconds == expected


def test_client_uses_options():
    ch = make_channel(endpoint_url='http://127.0.0.1:9', region='ap-south-1',
                      **{'client-config': {'retries': {'max_attempts': 1}}})
    client = ch.sqs
    assert client.meta.endpoint_url == 'http://127.0.0.1:9'
    assert client.meta.region_name == 'ap-south-1'
    assert client.meta.config.retries['total_max_attempts'] == 2
    creds = client._request_signer._credentials
    assert (creds.access_key, creds.secret_key) == ('AK', 'SK')


@pytest.mark.parametrize('value', [-1, 21, 'x'])
def test_bad_wait_time_seconds(value):
    ch = make_channel(wait_time_seconds=value)
    with pytest.raises(ValueError):
        assert ch.wait_time_seconds is None


def test_entity_name(channel):
    assert channel.entity_name('celery.pidbox') == 'celery-pidbox'
    assert channel.entity_name('a:b/c@d') == 'a_b_c_d'
    assert channel.entity_name('ok-name_1') == 'ok-name_1'
    assert channel.entity_name('my.queue.fifo') == 'my-queue.fifo'
    table = SQS.CHARS_REPLACE_TABLE
    assert table[ord('.')] == ord('-') and table[ord('!')] == ord('_')
    assert ord('-') not in table and ord('_') not in table


def test_canonical_queue_name():
    ch = make_channel(queue_name_prefix='dev.')
    assert ch.canonical_queue_name('q.1') == 'dev-q-1'


def test_put_encodes_base64_json(channel):
    channel._sqs = fake = RecordingSQS(get_queue_url={'QueueUrl': 'http://x/1/q'})
    message = {'body': 'aGk=', 'properties': {'delivery_tag': 't'}, 'headers': {}}
    channel._put('q', message)
    op, kwargs = fake.calls[-1]
    assert op == 'send_message' and kwargs['QueueUrl'] == 'http://x/1/q'
    assert json.loads(base64.b64decode(kwargs['MessageBody'])) == message
    assert 'MessageGroupId' not in kwargs


def test_put_fifo(channel):
    channel._sqs = fake = RecordingSQS(get_queue_url={'QueueUrl': 'http://x/1/q.fifo'})
    channel._put('q.fifo', {'body': '', 'properties': {'MessageGroupId': 'g'}})
    channel._put('q.fifo', {'body': '', 'properties': {}})
    (_, first), (_, second) = [c for c in fake.calls if c[0] == 'send_message']
    assert first['MessageGroupId'] == 'g' and first['MessageDeduplicationId']
    assert second['MessageGroupId'] == 'default'
    assert first['MessageDeduplicationId'] != second['MessageDeduplicationId']


def test_queue_created_with_attributes():
    from botocore.exceptions import ClientError
    ch = make_channel(visibility_timeout=30,
                      **{'sqs-creation-attributes': {'KmsMasterKeyId': 'alias/aws/sqs'}})

    def missing(**kwargs):
        raise ClientError({'Error': {'Code': 'AWS.SimpleQueueService.NonExistentQueue'}},
                          'GetQueueUrl')
    ch._sqs = fake = RecordingSQS(get_queue_url=missing,
                                  create_queue={'QueueUrl': 'http://x/1/a-b.fifo'})
    assert ch._new_queue('a.b.fifo') == 'http://x/1/a-b.fifo'
    assert fake.calls[-1] == ('create_queue', {'QueueName': 'a-b.fifo', 'Attributes': {
        'VisibilityTimeout': '30', 'FifoQueue': 'true', 'KmsMasterKeyId': 'alias/aws/sqs'}})
    ch._new_queue('a.b.fifo')                   # cached: no more calls
    assert len(fake.calls) == 2
    assert ch._has_queue('a.b.fifo')


def test_has_queue_false_for_missing(channel):
    from botocore.exceptions import ClientError

    def missing(**kwargs):
        raise ClientError({'Error': {'Code': 'QueueDoesNotExist'}}, 'GetQueueUrl')
    channel._sqs = RecordingSQS(get_queue_url=missing)
    assert channel._has_queue('nope') is False


def test_decode_kombu_and_foreign_messages(channel):
    payload = {'body': 'eA==', 'properties': {'delivery_info': {'exchange': 'e'}},
               'headers': {}}
    body = base64.b64encode(json.dumps(payload).encode()).decode()
    got = channel._decode_sqs({'Body': body, 'ReceiptHandle': 'rh', 'MessageId': 'id',
                               'Attributes': {'ApproximateReceiveCount': '2'}}, 'q', 'u')
    info = got['properties']['delivery_info']
    assert info['exchange'] == 'e' and info['sqs_queue'] == 'u'
    assert info['sqs_message']['ReceiptHandle'] == 'rh' and info['redelivered'] is True
    raw = channel._decode_sqs({'Body': 'hello', 'ReceiptHandle': 'r'}, 'q', 'u')
    assert raw['body'] == 'hello' and raw['properties']['delivery_info']['sqs_queue'] == 'u'


def delivered(channel, handles):
    """Unacked messages on `channel` that look received from queue URL 'u'."""
    messages = []
    for handle in handles:
        raw = channel._decode_sqs({'Body': 'x', 'ReceiptHandle': handle}, 'q', 'u')
        message = channel.Message(raw, channel, next(channel._tags), None, 'q')
        channel.qos.append(message, message.delivery_tag)
        messages.append(message)
    return messages


def test_ack_multiple_deletes_each_and_raises_the_first_error(channel):
    def delete(QueueUrl, ReceiptHandle):
        if ReceiptHandle == 'rh2':
            raise RuntimeError('gone')
    channel._sqs = fake = RecordingSQS(delete_message=delete)
    messages = delivered(channel, ['rh1', 'rh2', 'rh3'])
    with pytest.raises(RuntimeError, match='gone'):
        channel.basic_ack(messages[-1].delivery_tag, multiple=True)
    assert [kw['ReceiptHandle'] for op, kw in fake.calls] == ['rh1', 'rh2', 'rh3']
    assert channel.qos.take_all() == []


def test_reject_deletes_and_requeue_makes_visible(channel):
    channel._sqs = fake = RecordingSQS()
    dropped, requeued = delivered(channel, ['rh1', 'rh2'])
    channel.basic_reject(dropped.delivery_tag)
    channel.basic_reject(requeued.delivery_tag, requeue=True)
    assert fake.calls == [
        ('delete_message', {'QueueUrl': 'u', 'ReceiptHandle': 'rh1'}),
        ('change_message_visibility', {'QueueUrl': 'u', 'ReceiptHandle': 'rh2',
                                       'VisibilityTimeout': 0})]


def test_predefined_queues_need_url():
    with pytest.raises(ValueError, match="predefined_queues\\['q'\\]"):
        make_channel(predefined_queues={'q': {}})
    ch = make_channel(predefined_queues={'my.q': {'url': 'http://x/1/my-q'}})
    assert ch._new_queue('my.q') == 'http://x/1/my-q'
    from amqp.exceptions import NotFound
    with pytest.raises(NotFound):
        ch._new_queue('other')


def test_import_without_boto3():
    code = (
        "import sys\n"
        "sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
        "from kombu.transport import SQS\n"
        "from kombu import Connection\n"
        "assert issubclass(SQS.Transport.channel_errors[-2], Exception)\n"
        "try:\n"
        "    Connection('sqs://').default_channel\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'kombu[sqs]' in out.stdout


def test_polling_interval_option():
    assert Connection('sqs://').transport.polling_interval == 1
    conn = Connection('sqs://', transport_options={'polling_interval': 0.3})
    assert conn.transport.polling_interval == 0.3
