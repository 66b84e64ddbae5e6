"""Behaviour checked against Kombu 4.6.7 run as a black box (reprs, info(), errors).

Each case is one where our first version differed from the original and the
spec is silent, so the original's observable behaviour is kept.
"""
from __future__ import annotations

import pytest

from kombu import Connection, Exchange, Queue, binding
from kombu.exceptions import ChannelError, NotBoundError


def test_queue_repr_prints_the_name_unquoted():
    assert repr(Queue()) == "<unbound Queue  -> <unbound Exchange ''(direct)> -> >"
    assert repr(Queue('video', Exchange('media'), 'video')) == \
        '<unbound Queue video -> <unbound Exchange media(direct)> -> video>'
    media = Exchange('media')
    assert repr(Queue('', bindings=[binding(media, 'a')])) == '<unbound Queue  -> [media->a]>'
    assert str(Exchange('')) == "Exchange ''(direct)"


def test_unbound_exchange_message_raises_not_bound_before_encoding():
    with pytest.raises(NotBoundError):
        Exchange('x').Message('body', content_encoding='no-such-codec')


@pytest.mark.parametrize('url,port,uri', [
    ('redis://', 6379, 'redis://localhost:6379//'),
    ('redis://localhost:6380/1', 6380, 'redis://localhost:6380/1'),
    ('filesystem://', 0, 'filesystem://localhost//'),
    ('memory://', None, 'memory://localhost//'),
    ('amqp://', 5672, 'amqp://guest:**@localhost:5672//'),
    ('amqp://localhost/v?ssl=1', 5671, 'amqp://guest:**@localhost:5671/v'),
])
def test_info_and_as_uri_fill_in_the_transport_default_port(url, port, uri):
    conn = Connection(url)
    assert conn.info()['port'] == port
    assert conn.as_uri() == uri
    assert conn.port == (6380 if ':6380' in url else None)   # the attribute stays as given


@pytest.mark.parametrize('url,host', [
    ('amqp://', 'localhost:5672'),
    ('redis://h:1/0', 'h:1'),
    ('redis://', 'localhost:6379'),
    ('memory://', 'localhost:None'),
])
def test_host_is_hostname_colon_port(url, host):
    # Kombu 4.6.7 raises TypeError when neither is set; we report the defaults.
    assert Connection(url).host == host


def test_maybe_declare_unbound_entity_is_a_channel_error():
    from kombu.common import maybe_declare
    with pytest.raises(ChannelError, match='mdu'):
        maybe_declare(Exchange('mdu'))
    with pytest.raises(ValueError):
        maybe_declare(Queue('mdu'))


def test_queue_key_keyword_is_accepted_and_ignored():
    # the getting-started guide passes ``key=``; 4.6.7 accepts and ignores it
    assert Queue('video', exchange=Exchange('media'), key='video').routing_key == ''


def test_unknown_serializer_and_compression_are_key_errors():
    from kombu import compression, serialization
    from kombu.exceptions import SerializerNotInstalled
    with pytest.raises(SerializerNotInstalled, match='nope'):
        serialization.dumps({'a': 1}, serializer='nope')
    with pytest.raises(KeyError):          # 4.6.7 raises a bare KeyError here
        serialization.prepare_accept_content(['nope'])
    with pytest.raises(KeyError, match='nope'):
        compression.compress(b'x', 'nope')
    with pytest.raises(KeyError, match='nope'):
        Connection('nope://').connect()
