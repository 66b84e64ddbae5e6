"""kombu.message.Message: settle states, decoding, decompression, errors."""
from __future__ import annotations

import logging
import zlib

import pytest

from kombu.exceptions import ContentDisallowed, MessageStateError
from kombu.message import ACK_STATES, Message


class RecordingChannel:
    """The part of the channel API a Message uses, recording the calls."""

    no_ack_consumers = None

    def __init__(self, fail_with: type[Exception] | None = None) -> None:
        self.calls: list = []
        self.fail_with = fail_with

    def basic_ack(self, delivery_tag, multiple=False):
        if self.fail_with:
            raise self.fail_with('ack failed')
        self.calls.append(('ack', delivery_tag, multiple))

    def basic_reject(self, delivery_tag, requeue=False):
        if self.fail_with:
            raise self.fail_with('reject failed')
        self.calls.append(('reject', delivery_tag, requeue))


def make(body=b'{"x": 1}', channel=None, **kwargs):
    kwargs.setdefault('content_type', 'application/json')
    kwargs.setdefault('content_encoding', 'utf-8')
    return Message(body=body, delivery_tag='tag1', channel=channel, **kwargs)


def test_defaults():
    m = Message()
    assert m.body is None
    assert m.delivery_info == {} and m.headers == {} and m.properties == {}
    assert m.errors == []
    assert not m.acknowledged
    assert m._state == 'RECEIVED'
    assert ACK_STATES == {'ACK', 'REJECTED', 'REQUEUED'}


def test_attributes_are_kept():
    m = Message(b'abc', delivery_tag=7, content_type='text/plain', content_encoding='utf-8',
                delivery_info={'exchange': 'e', 'routing_key': 'r'},
                properties={'reply_to': 'q'}, headers={'h': 1})
    assert m.body == b'abc'
    assert m.delivery_tag == 7
    assert m.content_type == 'text/plain'
    assert m.content_encoding == 'utf-8'
    assert m.delivery_info['routing_key'] == 'r'
    assert m.properties == {'reply_to': 'q'}
    assert m.headers == {'h': 1}


def test_ack_calls_channel_and_settles():
    ch = RecordingChannel()
    m = make(channel=ch)
    m.ack()
    assert ch.calls == [('ack', 'tag1', False)]
    assert m.acknowledged and m._state == 'ACK'


@pytest.mark.parametrize('first', ['ack', 'reject', 'requeue'])
@pytest.mark.parametrize('second', ['ack', 'reject', 'requeue'])
def test_second_settle_raises(first, second):
    m = make(channel=RecordingChannel())
    getattr(m, first)()
    with pytest.raises(MessageStateError):
        getattr(m, second)()


def test_reject_and_requeue_states():
    ch = RecordingChannel()
    m1, m2, m3 = make(channel=ch), make(channel=ch), make(channel=ch)
    m1.reject()
    m2.reject(requeue=True)
    m3.requeue()
    assert (m1._state, m2._state, m3._state) == ('REJECTED', 'REQUEUED', 'REQUEUED')
    assert ch.calls == [('reject', 'tag1', False), ('reject', 'tag1', True),
                        ('reject', 'tag1', True)]


def test_settle_without_channel_raises():
    for op in ('ack', 'reject', 'requeue'):
        with pytest.raises(MessageStateError):
            getattr(make(channel=None), op)()


def test_ack_is_noop_for_no_ack_consumer():
    ch = RecordingChannel()
    ch.no_ack_consumers = {'ctag'}
    m = make(channel=ch, delivery_info={'consumer_tag': 'ctag'})
    m.ack()
    m.ack()  # still nothing to settle: no error either
    assert ch.calls == []
    other = make(channel=ch, delivery_info={'consumer_tag': 'other'})
    other.ack()
    assert ch.calls == [('ack', 'tag1', False)]


def test_ack_log_error_and_reject_log_error(caplog):
    logger = logging.getLogger('t.message')
    ch = RecordingChannel(fail_with=KeyError)
    with caplog.at_level(logging.CRITICAL, logger='t.message'):
        make(channel=ch).ack_log_error(logger, (KeyError,))
        make(channel=ch).reject_log_error(logger, (KeyError,), requeue=True)
    assert len([r for r in caplog.records if r.name == 't.message']) == 2
    with pytest.raises(KeyError):  # not in `errors`: propagates
        make(channel=ch).ack_log_error(logger, (ValueError,))


def test_decode_json_and_memoize():
    m = make(b'{"a": [1, 2]}')
    assert m.decode() == {'a': [1, 2]}
    assert m.decode() is m.decode()
    assert m.payload is m.decode()


def test_decode_falsy_value_is_memoized():
    m = make(b'0')
    assert m.payload == 0
    m.body = b'1'  # memoized: the body is not decoded again
    assert m.payload == 0
    assert m._decode() == 1


def test_accept_refuses_content_type():
    m = make(b'{"a": 1}', accept={'application/x-python-serialize'})
    with pytest.raises(ContentDisallowed):
        m.decode()


def test_text_body():
    m = make(b'hello', content_type='text/plain')
    assert m.payload == 'hello'


def test_decompresses_compression_header():
    raw = b'{"big": "' + b'y' * 200 + b'"}'
    m = make(zlib.compress(raw), headers={'compression': 'application/x-gzip'})
    assert m.body == raw
    assert m.payload['big'] == 'y' * 200
    assert not m.errors


def test_decompression_error_is_stored_and_reraised():
    m = make(b'not zlib data', headers={'compression': 'application/x-gzip'})
    assert len(m.errors) == 1
    with pytest.raises(zlib.error):
        m._reraise_error()
    seen = []
    m._reraise_error(lambda msg, exc: seen.append((msg, exc)))
    assert seen and seen[0][0] is m


def test_postencode():
    m = make('héllo', content_type='text/plain', postencode='utf-8')
    assert m.body == 'héllo'.encode()


def test_repr():
    r = repr(make())
    assert 'Message object' in r and "'state': 'RECEIVED'" in r


def test_transport_base_reexports_message():
    from kombu.transport import base
    assert issubclass(base.Message, Message)
