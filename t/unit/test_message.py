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
    # like kombu: reject() is 'REJECTED' whether or not it requeues; requeue() is 'REQUEUED'
    assert (m1._state, m2._state, m3._state) == ('REJECTED', 'REJECTED', 'REQUEUED')
    assert ch.calls == [('reject', 'tag1', False), ('reject', 'tag1', True),
                        ('reject', 'tag1', True)]


def test_settle_without_channel_raises():
    for op in ('ack', 'reject', 'requeue'):
        with pytest.raises(MessageStateError,
                           match='^This message does not have a receiving channel$'):
            getattr(make(channel=None), op)()


@pytest.mark.parametrize('first,state', [('ack', 'ACK'), ('reject', 'REJECTED'),
                                         ('requeue', 'REQUEUED')])
def test_second_settle_message_names_the_state(first, state):
    m = make(channel=RecordingChannel())
    getattr(m, first)()
    with pytest.raises(MessageStateError,
                       match=f'^Message already acknowledged with state: {state}$'):
        m.ack()


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


def _details(message):
    return repr(message).split(' with details ', 1)[1]


def test_repr_of_an_empty_message_leaves_out_unset_values():
    assert repr(Message()).startswith('<Message object at 0x')
    assert _details(Message()) == "{'state': 'RECEIVED', 'properties': {}, 'delivery_info': {}}>"


def test_repr_shows_correlation_id_exchange_and_routing_key_only():
    m = Message(b'abcd', delivery_tag=5, content_type='application/json',
                delivery_info={'exchange': 'e', 'routing_key': 'r', 'consumer_tag': 'c',
                               'redelivered': False},
                properties={'correlation_id': 'c', 'reply_to': 'r', 'message_id': 'm'},
                headers={'h': 1})
    assert _details(m) == (
        "{'state': 'RECEIVED', 'content_type': 'application/json', 'delivery_tag': 5, "
        "'body_length': 4, 'properties': {'correlation_id': 'c'}, "
        "'delivery_info': {'exchange': 'e', 'routing_key': 'r'}}>")


def test_repr_keeps_falsy_values_but_not_none():
    m = Message(b'', delivery_tag=0, content_type='',
                properties={'correlation_id': ''}, delivery_info={'exchange': None})
    assert _details(m) == (
        "{'state': 'RECEIVED', 'content_type': '', 'delivery_tag': 0, 'body_length': 0, "
        "'properties': {'correlation_id': ''}, 'delivery_info': {}}>")


def test_repr_uses_the_subclass_name_and_state():
    class Sub(Message):
        pass

    m = Sub(b'x', delivery_tag=1, channel=RecordingChannel())
    m.ack()
    assert repr(m).startswith('<Sub object at 0x')
    assert _details(m) == ("{'state': 'ACK', 'delivery_tag': 1, 'body_length': 1, "
                           "'properties': {}, 'delivery_info': {}}>")


def test_unknown_compression_header_is_stored_as_key_error():
    m = make(b'raw', headers={'compression': 'application/x-nosuch'})
    assert m.body == b'raw'
    assert issubclass(m.errors[0][0], KeyError)
    with pytest.raises(KeyError):
        m._reraise_error()


def test_compression_alias_in_header_is_understood():
    m = make(zlib.compress(b'[1]'), headers={'compression': 'zlib'})
    assert m.payload == [1]


def test_accept_by_content_type_in_message():
    assert make(b'{"a": 1}', accept={'application/json'}).decode() == {'a': 1}
    with pytest.raises(ContentDisallowed):
        make(b'{"a": 1}', accept=[]).decode()


def test_transport_base_reexports_message():
    from kombu.transport import base
    assert issubclass(base.Message, Message)
