"""sqs:// against a real SQS API: a moto server (scripts/services/moto.sh).

Runs the transport-generic :class:`TransportSuite` plus SQS specifics: queue
names, transport options, the wire format, batches and long polling, FIFO
queues, predefined queues, ack/reject/requeue as SQS calls, error mapping,
consuming on the Hub, and the asynchronous client
(:mod:`kombu.asynchronous.aws.sqs`) over curl on the Hub.
"""
from __future__ import annotations

import base64
import json
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reference_kombu import QUEUE_JSON_SCRIPT, require_reference  # noqa: E402
from reference_kombu import run_reference as run_in_reference  # noqa: E402
from services_moto import moto_endpoint  # noqa: E402
from test_integration_core import TransportSuite, drain_until, get_message  # noqa: E402

from kombu import Connection, Exchange, Queue  # noqa: E402

pytestmark = pytest.mark.services

URL = 'sqs://AKIDTEST:secret%2Fkey@'


@pytest.fixture(scope='session')
def endpoint() -> str:
    return moto_endpoint()


@pytest.fixture
def options(endpoint) -> dict:
    return {'endpoint_url': endpoint, 'region': 'us-east-1', 'wait_time_seconds': 1,
            'polling_interval': 0.5}


@pytest.fixture
def sqs(endpoint):
    """A plain boto3 client on the same server, to look at what the transport did."""
    import boto3
    return boto3.client('sqs', endpoint_url=endpoint, region_name='us-east-1',
                        aws_access_key_id='AKIDTEST', aws_secret_access_key='secret/key')


@pytest.fixture
def conn(options):
    c = Connection(URL, transport_options=options)
    yield c
    c.release()


@pytest.fixture
def name() -> str:
    return f'kombu.sqs.{uuid.uuid4().hex[:10]}'


def sqs_name(name: str) -> str:
    return name.replace('.', '-')


def declare(conn, name, **kwargs):
    q = Queue(name, Exchange(name), routing_key=name, **kwargs)
    q(conn.default_channel).declare()
    return q


def attributes(sqs, url, *names):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))['Attributes']


class TestSQSCore(TransportSuite):
    """The shared core suite on sqs://."""

    @pytest.fixture
    def transport_name(self) -> str:
        return 'sqs'

    @pytest.fixture
    def connection(self, options):
        c = Connection(URL, transport_options=options)
        yield c
        c.release()

    @pytest.fixture
    def connection_factory(self, options):
        made = []

        def factory() -> Connection:
            c = Connection(URL, transport_options=options)
            made.append(c)
            return c
        yield factory
        for c in made:
            c.release()


class TestNamesAndOptions:

    def test_sqs_safe_names_and_delete(self, conn, sqs, name):
        q = declare(conn, name + ':x')
        expected = sqs_name(name) + '_x'
        url = sqs.get_queue_url(QueueName=expected)['QueueUrl']
        assert url.endswith('/' + expected)
        q(conn.default_channel).delete()
        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            sqs.get_queue_url(QueueName=expected)

    def test_queue_name_prefix(self, options, sqs, name):
        with Connection(URL, transport_options=dict(options, queue_name_prefix='pfx-')) as c:
            q = declare(c, name)
            url = sqs.get_queue_url(QueueName='pfx-' + sqs_name(name))['QueueUrl']
            c.Producer().publish('p', exchange=q.exchange, routing_key=name)
            assert attributes(sqs, url, 'ApproximateNumberOfMessages') == {
                'ApproximateNumberOfMessages': '1'}
            q(c.default_channel).delete()

    def test_default_visibility_timeout(self, conn, sqs, name):
        q = declare(conn, name)
        url = sqs.get_queue_url(QueueName=sqs_name(name))['QueueUrl']
        assert attributes(sqs, url, 'VisibilityTimeout')['VisibilityTimeout'] == '1800'
        q(conn.default_channel).delete()

    def test_visibility_timeout_and_creation_attributes(self, options, sqs, name):
        opts = dict(options, visibility_timeout=45,
                    **{'sqs-creation-attributes': {'MaximumMessageSize': 2048,
                                                   'DelaySeconds': '0'}})
        with Connection(URL, transport_options=opts) as c:
            q = declare(c, name)
            url = sqs.get_queue_url(QueueName=sqs_name(name))['QueueUrl']
            got = attributes(sqs, url, 'VisibilityTimeout', 'MaximumMessageSize')
            assert got == {'VisibilityTimeout': '45', 'MaximumMessageSize': '2048'}
            q(c.default_channel).delete()

    def test_wire_format_is_base64_json(self, conn, sqs, name):
        q = declare(conn, name)
        conn.Producer().publish({'hello': 'wörld'}, exchange=q.exchange, routing_key=name,
                                headers={'h': 1})
        url = sqs.get_queue_url(QueueName=sqs_name(name))['QueueUrl']
        raw = sqs.receive_message(QueueUrl=url)['Messages'][0]
        payload = json.loads(base64.b64decode(raw['Body']))
        assert payload['headers'] == {'h': 1}
        assert payload['content-type'] == 'application/json'
        assert payload['properties']['body_encoding'] == 'base64'
        assert json.loads(base64.b64decode(payload['body'])) == {'hello': 'wörld'}
        q(conn.default_channel).delete()

    def test_message_not_sent_by_kombu(self, conn, sqs, name):
        q = declare(conn, name)
        url = sqs.get_queue_url(QueueName=sqs_name(name))['QueueUrl']
        sqs.send_message(QueueUrl=url, MessageBody='plain text from elsewhere')
        m = get_message(q(conn.default_channel))
        assert m.body == b'plain text from elsewhere'
        m.ack()
        assert attributes(sqs, url, 'ApproximateNumberOfMessagesNotVisible') == {
            'ApproximateNumberOfMessagesNotVisible': '0'}
        q(conn.default_channel).delete()

    def test_endpoint_from_url_host(self, endpoint, sqs, name):
        from urllib.parse import urlparse
        parts = urlparse(endpoint)
        with Connection(f'sqs://AK:SK@{parts.hostname}:{parts.port}',
                        transport_options={'is_secure': False}) as c:
            assert c.default_channel.endpoint_url == endpoint
            q = declare(c, name)
            assert sqs.get_queue_url(QueueName=sqs_name(name))
            q(c.default_channel).delete()

    def test_bad_wait_time_seconds(self, options):
        with Connection(URL, transport_options=dict(options, wait_time_seconds=21)) as c:
            with pytest.raises(ValueError, match='21'):
                assert c.default_channel.wait_time_seconds is None


class TestMessages:

    def test_ack_deletes(self, conn, sqs, name):
        q = declare(conn, name)
        conn.Producer().publish('a', exchange=q.exchange, routing_key=name)
        m = get_message(q(conn.default_channel))
        url = m.delivery_info['sqs_queue']
        assert attributes(sqs, url, 'ApproximateNumberOfMessagesNotVisible')[
            'ApproximateNumberOfMessagesNotVisible'] == '1'
        m.ack()
        assert attributes(sqs, url, 'ApproximateNumberOfMessagesNotVisible',
                          'ApproximateNumberOfMessages') == {
            'ApproximateNumberOfMessagesNotVisible': '0', 'ApproximateNumberOfMessages': '0'}
        q(conn.default_channel).delete()

    def test_ack_multiple_deletes_every_message_up_to_the_tag(self, conn, sqs, name):
        q = declare(conn, name)
        for body in ('a', 'b', 'c'):
            conn.Producer().publish(body, exchange=q.exchange, routing_key=name)
        ch = conn.default_channel
        got = [get_message(q(ch)) for _ in range(3)]
        url = got[0].delivery_info['sqs_queue']
        by_tag = sorted(got, key=lambda m: m.delivery_tag)
        ch.basic_ack(by_tag[1].delivery_tag, multiple=True)
        assert attributes(sqs, url, 'ApproximateNumberOfMessagesNotVisible')[
            'ApproximateNumberOfMessagesNotVisible'] == '1'
        by_tag[2].ack()
        assert attributes(sqs, url, 'ApproximateNumberOfMessagesNotVisible')[
            'ApproximateNumberOfMessagesNotVisible'] == '0'
        q(ch).delete()

    def test_reject_deletes_requeue_redelivers(self, conn, sqs, name):
        q = declare(conn, name)
        p = conn.Producer()
        p.publish('drop', exchange=q.exchange, routing_key=name)
        ch = conn.default_channel
        m = get_message(q(ch))
        m.reject()
        url = m.delivery_info['sqs_queue']
        assert attributes(sqs, url, 'ApproximateNumberOfMessagesNotVisible',
                          'ApproximateNumberOfMessages') == {
            'ApproximateNumberOfMessagesNotVisible': '0', 'ApproximateNumberOfMessages': '0'}
        p.publish('again', exchange=q.exchange, routing_key=name)
        m = get_message(q(ch))
        assert not m.delivery_info['redelivered']
        m.requeue()
        m2 = get_message(q(ch))
        assert m2.payload == 'again' and m2.delivery_info['redelivered']
        assert m2.delivery_info['sqs_message']['MessageId'] == \
            m.delivery_info['sqs_message']['MessageId']
        m2.ack()
        q(ch).delete()

    def test_batches_of_ten_through_the_engine(self, conn, name):
        q = declare(conn, name)
        p = conn.Producer()
        for i in range(25):
            p.publish(i, exchange=q.exchange, routing_key=name)
        ch = conn.default_channel
        calls = []
        real = ch.sqs.receive_message

        def counting(**kwargs):
            response = real(**kwargs)
            calls.append((kwargs['MaxNumberOfMessages'], len(response.get('Messages') or [])))
            return response
        ch.sqs.receive_message = counting
        got = []
        with conn.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            drain_until(conn, lambda: len(got) == 25)
        assert sorted(got) == list(range(25))
        assert all(asked == 10 for asked, _ in calls)
        assert max(n for _, n in calls) > 1
        assert len(calls) < 25
        q(ch).delete()

    def test_prefetch_limits_the_batch(self, conn, name):
        q = declare(conn, name)
        p = conn.Producer()
        for i in range(5):
            p.publish(i, exchange=q.exchange, routing_key=name)
        ch = conn.default_channel
        asked = []
        real = ch.sqs.receive_message
        ch.sqs.receive_message = lambda **kw: (asked.append(kw['MaxNumberOfMessages']),
                                               real(**kw))[1]
        got = []
        with conn.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())],
                           prefetch_count=3):
            drain_until(conn, lambda: len(got) == 5)
        assert asked and max(asked) <= 3
        q(ch).delete()

    def test_cancel_releases_buffered_messages(self, conn, options, name):
        q = declare(conn, name)
        p = conn.Producer()
        for i in range(6):
            p.publish(i, exchange=q.exchange, routing_key=name)
        got = []
        consumer = conn.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())])
        consumer.consume()
        conn.drain_events(timeout=2)        # one delivered, the rest buffered
        consumer.cancel()
        assert len(got) == 1
        with Connection(URL, transport_options=options) as other:
            rest = []
            while True:
                m = get_message(q(other.default_channel), timeout=1)
                if m is None:
                    break
                rest.append(m.payload)
                m.ack()
        assert sorted(got + rest) == list(range(6))
        q(conn.default_channel).delete()

    def test_basic_get_no_ack_deletes(self, conn, sqs, name):
        q = declare(conn, name)
        conn.Producer().publish('once', exchange=q.exchange, routing_key=name)
        m = get_message(q(conn.default_channel), no_ack=True)
        assert m.payload == 'once'
        url = m.delivery_info['sqs_queue']
        assert attributes(sqs, url, 'ApproximateNumberOfMessagesNotVisible')[
            'ApproximateNumberOfMessagesNotVisible'] == '0'
        q(conn.default_channel).delete()

    def test_long_polling_wakes_up_on_publish(self, options, name):
        opts = dict(options, wait_time_seconds=5, polling_interval=1)
        with Connection(URL, transport_options=opts) as c, \
                Connection(URL, transport_options=options) as producer_conn:
            q = declare(c, name)
            ch = c.default_channel
            waits = []
            real = ch.sqs.receive_message
            ch.sqs.receive_message = lambda **kw: (waits.append(kw['WaitTimeSeconds']),
                                                   real(**kw))[1]
            got = []
            timer = threading.Timer(1.5, lambda: producer_conn.Producer().publish(
                'late', exchange=q.exchange, routing_key=name))
            with c.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
                start = time.monotonic()
                timer.start()
                c.drain_events(timeout=4)
                elapsed = time.monotonic() - start
            timer.join()
            assert got == ['late']
            assert 1.4 < elapsed < 3
            # one long poll for the time left (4 s), not one per polling_interval
            assert max(waits) >= 3 and len(waits) <= 3
            q(c.default_channel).delete()

    def test_drain_timeout_is_honoured(self, conn, name):
        q = declare(conn, name)
        with conn.Consumer([q], callbacks=[]):
            start = time.monotonic()
            with pytest.raises(socket.timeout):
                conn.drain_events(timeout=1.2)
            assert 1.1 < time.monotonic() - start < 2.5
        q(conn.default_channel).delete()

    def test_size_purge(self, conn, name):
        q = declare(conn, name)
        p = conn.Producer()
        for i in range(4):
            p.publish(i, exchange=q.exchange, routing_key=name)
        bound = q(conn.default_channel)
        assert bound.queue_declare(passive=True).message_count == 4
        assert bound.purge() == 4
        assert bound.queue_declare(passive=True).message_count == 0
        bound.delete()

    def test_fifo_queue(self, conn, sqs, name):
        fifo = name + '.fifo'
        q = declare(conn, fifo)
        url = sqs.get_queue_url(QueueName=sqs_name(name) + '.fifo')['QueueUrl']
        assert attributes(sqs, url, 'FifoQueue') == {'FifoQueue': 'true'}
        p = conn.Producer()
        for i in range(5):
            p.publish(i, exchange=q.exchange, routing_key=fifo,
                      MessageGroupId='g1')
        got = []
        with conn.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            drain_until(conn, lambda: len(got) == 5)
        assert got == [0, 1, 2, 3, 4]
        q(conn.default_channel).delete()


class TestPredefinedQueues:

    def test_only_predefined_queues(self, options, sqs, name):
        url = sqs.create_queue(QueueName=sqs_name(name))['QueueUrl']
        opts = dict(options, predefined_queues={name: {'url': url}})
        try:
            with Connection(URL, transport_options=opts) as c:
                ch = c.default_channel
                ch.sqs.get_queue_url = None     # predefined: never looked up
                q = declare(c, name)
                c.Producer().publish('pre', exchange=q.exchange, routing_key=name)
                m = get_message(q(ch))
                assert m.payload == 'pre' and m.delivery_info['sqs_queue'] == url
                m.ack()
                other = Queue(name + 'x', Exchange(name + 'x'), routing_key=name + 'x')
                with pytest.raises(c.channel_errors):
                    other(ch).declare()
                with pytest.raises(c.channel_errors):
                    other(ch).queue_declare(passive=True)
        finally:
            sqs.delete_queue(QueueUrl=url)

    def test_bad_predefined_queues(self, options):
        with Connection(URL, transport_options=dict(
                options, predefined_queues={'q': 'not-a-dict'})) as c:
            with pytest.raises(ValueError, match="predefined_queues\\['q'\\]"):
                assert c.default_channel is None


class TestErrors:

    def test_passive_declare_of_missing_queue(self, conn, name):
        from amqp.exceptions import NotFound
        with pytest.raises(NotFound):
            Queue(name)(conn.default_channel).queue_declare(passive=True)
        assert issubclass(NotFound, conn.channel_errors)

    def test_unreachable_endpoint_is_a_connection_error(self):
        opts = {'endpoint_url': 'http://127.0.0.1:1', 'region': 'us-east-1',
                'client-config': {'retries': {'max_attempts': 0}, 'connect_timeout': 1}}
        with Connection(URL, transport_options=opts) as c:
            with pytest.raises(c.connection_errors):
                Queue('whatever')(c.default_channel).declare()

    def test_server_error_is_a_channel_error(self, conn, name):
        ch = conn.default_channel
        declare(conn, name)
        url = ch._new_queue(name)
        with pytest.raises(conn.channel_errors):
            ch.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle='bogus',
                                             VisibilityTimeout=0)
        Queue(name)(ch).delete()

    def test_ensure_recovers_after_channel_error(self, conn, name):
        q = declare(conn, name)
        calls = []

        def publish(body):
            calls.append(body)
            if len(calls) == 1:
                from botocore.exceptions import EndpointConnectionError
                raise EndpointConnectionError(endpoint_url='x')
            conn.Producer().publish(body, exchange=q.exchange, routing_key=name)
        conn.ensure(conn, publish, max_retries=2, interval_start=0)('ok')
        m = get_message(q(conn.default_channel))
        assert m.payload == 'ok'
        m.ack()
        q(conn.default_channel).delete()


class TestHub:
    """sqs:// consumers on the Hub: asynchronous long polls over curl."""

    @pytest.fixture
    def hub(self):
        pytest.importorskip('pycurl')
        from kombu.asynchronous import Hub
        hub = Hub()
        yield hub
        client = getattr(hub, '_current_http_client', None)
        if client is not None:
            client.close()
        hub.close()

    def test_consume_on_the_hub(self, conn, hub, name):
        q = declare(conn, name)
        p = conn.Producer()
        for i in range(3):
            p.publish(i, exchange=q.exchange, routing_key=name)
        ch = conn.default_channel
        sync_calls = []
        real = ch.sqs.receive_message
        ch.sqs.receive_message = lambda **kw: (sync_calls.append(kw), real(**kw))[1]
        got = []
        with conn.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            conn.transport.register_with_event_loop(conn.connection, hub)
            run_hub(hub, lambda: len(got) == 3)
            # published while a long poll is in flight: delivered by that poll
            p.publish('late', exchange=q.exchange, routing_key=name)
            run_hub(hub, lambda: len(got) == 4)
            conn.transport.unregister_from_event_loop(conn.connection, hub)
        assert sorted(got[:3]) == [0, 1, 2] and got[3] == 'late'
        assert sync_calls == []                 # every receive went through curl
        assert q(ch).queue_declare(passive=True).message_count == 0
        q(ch).delete()

    def test_prefetch_window_on_the_hub(self, conn, hub, name):
        q = declare(conn, name)
        p = conn.Producer()
        for i in range(5):
            p.publish(i, exchange=q.exchange, routing_key=name)
        got = []
        with conn.Consumer([q], callbacks=[lambda b, m: got.append(m)], prefetch_count=2):
            conn.transport.register_with_event_loop(conn.connection, hub)
            run_hub(hub, lambda: len(got) == 2)
            until = time.monotonic() + 0.7
            while time.monotonic() < until:
                hub.run_once()
            assert len(got) == 2
            for m in got:
                m.ack()
            run_hub(hub, lambda: len(got) == 4)
            for m in got[2:]:
                m.ack()
            run_hub(hub, lambda: len(got) == 5)
            got[4].ack()
            conn.transport.unregister_from_event_loop(conn.connection, hub)
        assert sorted(m.payload for m in got) == list(range(5))
        q(conn.default_channel).delete()

    def test_unregister_releases_messages_in_flight(self, conn, hub, options, name):
        q = declare(conn, name)
        with conn.Consumer([q], callbacks=[]):
            conn.transport.register_with_event_loop(conn.connection, hub)
            until = time.monotonic() + 0.3
            while time.monotonic() < until:
                hub.run_once()                 # a long poll is now in flight
            conn.transport.unregister_from_event_loop(conn.connection, hub)
            conn.Producer().publish('kept', exchange=q.exchange, routing_key=name)
            until = time.monotonic() + 1.5     # the poll returns it: released again
            while time.monotonic() < until:
                hub.run_once()
        with Connection(URL, transport_options=options) as other:
            m = get_message(q(other.default_channel), timeout=3)
            assert m is not None and m.payload == 'kept'
            m.ack()
        q(conn.default_channel).delete()


def run_hub(hub, done, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        hub.run_once()
    assert done(), 'hub timed out'


class TestAsyncClient:
    """kombu.asynchronous.aws.sqs over the curl client on the Hub, against moto."""

    @pytest.fixture
    def hub(self):
        pytest.importorskip('pycurl')
        from kombu.asynchronous import Hub, set_event_loop
        hub = Hub()
        prev = set_event_loop(hub)
        yield hub
        client = getattr(hub, '_current_http_client', None)
        if client is not None:
            client.close()
        hub.close()
        set_event_loop(prev)

    @pytest.fixture
    def asqs(self, hub, endpoint):
        from kombu.asynchronous.aws import connect_sqs
        return connect_sqs('AKIDTEST', 'secret/key', endpoint_url=endpoint,
                           region='us-east-1', hub=hub)

    def test_queue_round_trip(self, hub, asqs, sqs, name):
        from kombu.asynchronous.aws.sqs.message import AsyncMessage
        out: dict = {}
        asqs.create_queue(sqs_name(name), visibility_timeout=30,
                          callback=lambda q: out.setdefault('queue', q))
        run_hub(hub, lambda: 'queue' in out)
        queue = out['queue']
        assert queue.url == sqs.get_queue_url(QueueName=sqs_name(name))['QueueUrl']
        queue.get_timeout(callback=lambda t: out.setdefault('timeout', t))
        queue.write(AsyncMessage(body='hello async'),
                    callback=lambda r: out.setdefault('sent', r))
        run_hub(hub, lambda: 'sent' in out and 'timeout' in out)
        assert out['timeout'] == 30 and out['sent']['MessageId']
        # stored base64 on the wire, as the message class says
        queue.count(callback=lambda n: out.setdefault('count', n))
        run_hub(hub, lambda: 'count' in out)
        assert out['count'] == 1
        asqs.receive_message(queue, 10, wait_time_seconds=1,
                             callback=lambda ms: out.setdefault('msgs', ms))
        run_hub(hub, lambda: 'msgs' in out)
        (msg,) = out['msgs']
        assert msg.body == 'hello async' and msg.receipt_handle
        queue.delete_message(msg, callback=lambda r: out.setdefault('deleted', r))
        run_hub(hub, lambda: 'deleted' in out)
        assert out['deleted'] is True
        asqs.get_all_queues(prefix=sqs_name(name),
                            callback=lambda qs: out.setdefault('all', qs))
        run_hub(hub, lambda: 'all' in out)
        assert [q.url for q in out['all']] == [queue.url]
        queue.delete(callback=lambda r: out.setdefault('gone', r))
        run_hub(hub, lambda: 'gone' in out)
        asqs.get_queue(sqs_name(name), callback=lambda q: out.setdefault('lookup', q))
        run_hub(hub, lambda: 'lookup' in out)
        assert out['lookup'] is None

    def test_batches_and_visibility(self, hub, asqs, sqs, name):
        url = sqs.create_queue(QueueName=sqs_name(name))['QueueUrl']
        out: dict = {}
        try:
            asqs.send_message_batch(url, [(i, f'm{i}') for i in range(3)],
                                    callback=lambda r: out.setdefault('sent', r))
            run_hub(hub, lambda: 'sent' in out)
            assert len(out['sent']['Successful']) == 3
            asqs.receive_message(url, 10, callback=lambda ms: out.setdefault('msgs', ms))
            run_hub(hub, lambda: 'msgs' in out)
            msgs = out['msgs']
            assert sorted(m.body for m in msgs) == ['m0', 'm1', 'm2']
            asqs.change_message_visibility_batch(
                url, [(m, 0) for m in msgs], callback=lambda r: out.setdefault('vis', r))
            run_hub(hub, lambda: 'vis' in out)
            assert attributes(sqs, url, 'ApproximateNumberOfMessages')[
                'ApproximateNumberOfMessages'] == '3'
            asqs.receive_message(url, 10, callback=lambda ms: out.setdefault('again', ms))
            run_hub(hub, lambda: 'again' in out)
            asqs.delete_message_batch(url, out['again'],
                                      callback=lambda r: out.setdefault('deleted', r))
            run_hub(hub, lambda: 'deleted' in out)
            assert len(out['deleted']['Successful']) == len(out['again'])
        finally:
            sqs.delete_queue(QueueUrl=url)

    def test_error_reaches_the_errback(self, hub, asqs, endpoint):
        from vine import promise

        from kombu.asynchronous.aws.ext import ClientError
        errors = []
        asqs.get_queue_attributes(
            endpoint + '/123456789012/no-such-queue-' + uuid.uuid4().hex[:6],
            callback=promise(lambda r: errors.append(r),
                             on_error=lambda exc: errors.append(exc)))
        run_hub(hub, lambda: errors)
        assert isinstance(errors[0], ClientError)

    def test_channel_asynsqs(self, conn, hub, sqs, name):
        q = declare(conn, name)
        conn.Producer().publish('via async', exchange=q.exchange, routing_key=name)
        ch = conn.default_channel
        from kombu.asynchronous.aws.sqs.connection import AsyncSQSConnection
        from kombu.asynchronous.aws.sqs.message import AsyncRawMessage
        from kombu.asynchronous.aws.sqs.queue import AsyncQueue
        assert isinstance(ch.asynsqs, AsyncSQSConnection)
        queue = AsyncQueue(ch.asynsqs, ch._new_queue(name), AsyncRawMessage)
        out: dict = {}
        queue.read(callback=lambda m: out.setdefault('m', m))
        run_hub(hub, lambda: 'm' in out)
        payload = json.loads(base64.b64decode(out['m'].body))
        assert base64.b64decode(payload['body']) == b'via async'
        q(ch).delete()


# -- interoperability with Kombu 4.6.7 (the reference, run in a subprocess) -----------

@pytest.fixture
def reference_url(endpoint) -> str:
    """The server as Kombu 4.6.7 reaches it: host and port in the URL (plain http)."""
    parts = urlparse(endpoint)
    return f'{URL}{parts.hostname}:{parts.port}'


@pytest.fixture
def run_reference(reference_url):
    """Run QUEUE_JSON_SCRIPT in the reference (Kombu 4.6.7 with boto3), or skip."""
    require_reference('boto3')

    def run(action: str, queue: str, *args: str, **options):
        options = dict({'region': 'us-east-1', 'wait_time_seconds': 1}, **options)
        out = run_in_reference(QUEUE_JSON_SCRIPT, reference_url, json.dumps(options), action,
                               queue, *args, timeout=120)
        return json.loads(out.strip().splitlines()[-1])
    return run


class TestReferenceInterop:
    """Messages and queues shared with Kombu 4.6.7 on the same server."""

    def _get_all(self, conn, name, n):
        q = Queue(name, Exchange(name), routing_key=name)(conn.default_channel)
        got = []
        for _ in range(n):
            m = get_message(q)
            got.append([m.payload, m.headers])
            m.ack()
        return got

    @pytest.mark.parametrize('suffix', ['', '.fifo'])
    def test_reference_publishes_and_we_consume(self, conn, sqs, run_reference, name, suffix):
        queue_name = sqs_name(name) + suffix
        name += suffix
        try:
            assert run_reference('publish', name, 'a', 'b') == 2
            assert self._get_all(conn, name, 2) == [
                [{'body': b, 'n': i}, {'sent-by': 'reference'}] for i, b in enumerate('ab')]
            assert conn.default_channel._size(name) == 0
        finally:
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=queue_name)['QueueUrl'])

    @pytest.mark.parametrize('suffix', ['', '.fifo'])
    def test_we_publish_and_reference_consumes(self, conn, sqs, run_reference, name, suffix):
        queue_name = sqs_name(name) + suffix
        name += suffix
        try:
            q = declare(conn, name)
            for i, body in enumerate('xy'):
                conn.Producer().publish({'body': body, 'n': i}, exchange=q.exchange,
                                        routing_key=name, headers={'sent-by': 'us'})
            assert run_reference('consume', name, '3') == [
                [{'body': b, 'n': i}, {'sent-by': 'us'}] for i, b in enumerate('xy')] + [None]
        finally:
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=queue_name)['QueueUrl'])

    def test_same_queue_names_with_prefix(self, options, sqs, run_reference, name):
        prefix = f'kr{uuid.uuid4().hex[:6]}.'
        try:
            assert run_reference('publish', name, 'p', queue_name_prefix=prefix) == 1
            with Connection(URL, transport_options=dict(
                    options, queue_name_prefix=prefix)) as c:
                assert self._get_all(c, name, 1) == [[{'body': 'p', 'n': 0},
                                                     {'sent-by': 'reference'}]]
                q = declare(c, name)
                c.Producer().publish('ours', exchange=q.exchange, routing_key=name)
            assert run_reference('consume', name, '1', queue_name_prefix=prefix) == [
                ['ours', {}]]
            urls = sqs.list_queues(QueueNamePrefix=prefix.replace('.', '-'))['QueueUrls']
            assert [u.rsplit('/', 1)[1] for u in urls] == [
                prefix.replace('.', '-') + sqs_name(name)]
        finally:
            for url in sqs.list_queues(
                    QueueNamePrefix=prefix.replace('.', '-')).get('QueueUrls', []):
                sqs.delete_queue(QueueUrl=url)

    def test_url_host_is_an_http_endpoint_as_in_the_reference(self, reference_url, options,
                                                              sqs, run_reference, name):
        """``sqs://key:secret@host:port`` (no endpoint_url option) reaches the same server."""
        opts = {k: v for k, v in options.items() if k != 'endpoint_url'}
        try:
            with Connection(reference_url, transport_options=opts) as c:
                ch = c.default_channel
                assert ch.endpoint_url == 'http://' + reference_url.rpartition('@')[2]
                q = declare(c, name)
                c.Producer().publish('via host', exchange=q.exchange, routing_key=name)
            assert run_reference('consume', name, '1') == [['via host', {}]]
        finally:
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=sqs_name(name))['QueueUrl'])
