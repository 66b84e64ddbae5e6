from __future__ import annotations

import ssl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kombu.utils.url import (
    as_url,
    maybe_sanitize_url,
    parse_url,
    safequote,
    sanitize_url,
    url_to_parts,
    urlparts,
)


def expected(transport, hostname=None, port=None, userid=None, password=None,
             virtual_host=None, **query):
    return dict(transport=transport, hostname=hostname, port=port, userid=userid,
                password=password, virtual_host=virtual_host, **query)


@pytest.mark.parametrize('url,parsed', [
    ('amqp://user:pass@host:5672/vhost',
     expected('amqp', 'host', 5672, 'user', 'pass', 'vhost')),
    ('amqp://guest:guest@localhost:5672//',
     expected('amqp', 'localhost', 5672, 'guest', 'guest', '/')),
    ('amqp://', expected('amqp')),
    ('amqp://localhost', expected('amqp', 'localhost')),
    ('memory://', expected('memory')),
    ('amqp://:@/', expected('amqp')),
    ('redis+socket:///tmp/redis.sock', expected('redis+socket', virtual_host='tmp/redis.sock')),
    ('sqla+postgresql://user:pw@host/db',
     expected('sqla+postgresql', 'host', None, 'user', 'pw', 'db')),
    ('sqlite:///tmp/db', expected('sqlite', virtual_host='tmp/db')),
    ('amqp://u%40x:p%2Fw@h/v%2Fh', expected('amqp', 'h', None, 'u@x', 'p/w', 'v/h')),
    ('pyamqp://h/%2F', expected('pyamqp', 'h', virtual_host='/')),
    ('amqp://h//x', expected('amqp', 'h', virtual_host='/x')),
    ('amqp://h/a/b', expected('amqp', 'h', virtual_host='a/b')),
    ('amqp://user@h', expected('amqp', 'h', userid='user')),
    ('amqp://:pw@h', expected('amqp', 'h', password='pw')),
    ('amqp://u:p:q@h/', expected('amqp', 'h', None, 'u', 'p:q')),
    ('redis://:secret@h:1/2', expected('redis', 'h', 1, None, 'secret', '2')),
    ('sqs://AK:SK@', expected('sqs', None, None, 'AK', 'SK')),
    ('amqp://[::1]:5672//', expected('amqp', '::1', 5672, virtual_host='/')),
    ('AMQP://H.Example.COM/', expected('amqp', 'h.example.com')),
    ('amqp://h/?a=1&b=2', expected('amqp', 'h', a='1', b='2')),
    ('amqp://h/?x=1&x=2', expected('amqp', 'h', x='2')),
    ('amqp://h/?a=%20b', expected('amqp', 'h', a=' b')),
    ('amqp://u+v:p+q@h/a+b?x=a+b', expected('amqp', 'h', None, 'u+v', 'p+q', 'a+b', x='a b')),
    # forms from the user guide
    ('amqp://localhost//foo', expected('amqp', 'localhost', virtual_host='/foo')),
    ('amqp://localhost/foo', expected('amqp', 'localhost', virtual_host='foo')),
    ('amqp://localhost/myvhost?ssl=1', expected('amqp', 'localhost', virtual_host='myvhost',
                                                 ssl='1')),
    ('redis://localhost:6379/', expected('redis', 'localhost', 6379)),
    ('pyro://localhost/kombu.broker', expected('pyro', 'localhost', virtual_host='kombu.broker')),
    ('qpid://asdf@example.com:5671/', expected('qpid', 'example.com', 5671, 'asdf')),
    ('azurestoragequeues://:Ab+cd=@account',
     expected('azurestoragequeues', 'account', password='Ab+cd=')),
    ('azureservicebus://policy:k+y=@namespace',
     expected('azureservicebus', 'namespace', None, 'policy', 'k+y=')),
])
def test_parse_url(url, parsed):
    assert parse_url(url) == parsed


def test_query_options_override_parts():
    assert parse_url('redis+socket:///tmp/r.sock?virtual_host=3')['virtual_host'] == '3'


def test_ssl_options_are_collected():
    parsed = parse_url('redis://h:6379/0?ssl_cert_reqs=CERT_NONE&ssl_keyfile=k&foo=1')
    assert parsed['ssl'] == {'ssl_cert_reqs': ssl.CERT_NONE, 'ssl_keyfile': 'k'}
    assert parsed['foo'] == '1'
    assert parse_url('amqps://h/?ssl_cert_reqs=required')['ssl'] == {
        'ssl_cert_reqs': ssl.CERT_REQUIRED}


def test_bad_ssl_cert_reqs_names_value():
    with pytest.raises(ValueError, match='bogus'):
        parse_url('redis://h/?ssl_cert_reqs=bogus')


@pytest.mark.parametrize('url', ['amqp://u:secret@h:abc/', 'amqp://h:65536/',
                                 'azurestoragequeues://:secret/key@account'])
def test_bad_port_raises_value_error_without_password(url):
    with pytest.raises(ValueError) as info:
        parse_url(url)
    assert 'secret' not in str(info.value)
    assert url.split('://')[0] in str(info.value)


def test_url_to_parts():
    parts = url_to_parts('amqp://u:p@h:1/v?a=1')
    assert isinstance(parts, urlparts)
    assert parts == ('amqp', 'h', 1, 'u', 'p', 'v', {'a': '1'})
    assert parts.scheme == 'amqp'
    assert parts.hostname == 'h'
    assert parts.port == 1
    assert parts.username == 'u'
    assert parts.password == 'p'
    assert parts.path == 'v'
    assert parts.query == {'a': '1'}


def test_url_without_scheme_is_a_hostname():
    assert url_to_parts('localhost').hostname == 'localhost'
    assert tuple(url_to_parts('localhost:5672')) == ('', 'localhost', 5672, None, None, None, {})


@pytest.mark.parametrize('url,scheme', [
    ('memory:', 'memory'), ('amqp:/', 'amqp'), ('sqla+sqlite:', 'sqla+sqlite'), ('amqp://', 'amqp'),
])
def test_scheme_only_url(url, scheme):
    assert tuple(url_to_parts(url)) == (scheme, None, None, None, None, None, {})
    assert sanitize_url(url) == f'{scheme}:///'


@pytest.mark.parametrize('args,kwargs,url', [
    (('amqp',), {}, 'amqp:///'),
    (('amqp', 'h', 1, 'u', 'p', '/v'), {}, 'amqp://u:p@h:1//v'),
    (('amqp', 'h', None, 'u', 'p', '/'), {'sanitize': True}, 'amqp://u:**@h//'),
    (('redis',), {'path': 'x'}, 'redis:///x'),
    (('amqp',), {'user': 'u@', 'password': 'p/:'}, 'amqp://u%40:p%2F%3A@/'),
    (('redis',), {'password': 'x'}, 'redis://:x@/'),
    (('amqp', 'h', 5672, 'u', None, 'v'), {}, 'amqp://u@h:5672/v'),
    (('amqp', 'h'), {'user': 'u', 'password': '', 'sanitize': True}, 'amqp://u@h/'),
    (('amqp', '::1', 5672), {}, 'amqp://[::1]:5672/'),
    (('amqp', 'h'), {'query': {'a': 'x y'}}, 'amqp://h/?a=x+y'),
    (('amqp', 'h'), {'password': 'p', 'sanitize': True, 'mask': 'X'}, 'amqp://:X@h/'),
])
def test_as_url(args, kwargs, url):
    assert as_url(*args, **kwargs) == url


def test_sanitize_url():
    assert sanitize_url('amqp://u:p@h:1/v?x=1') == 'amqp://u:**@h:1/v'
    assert sanitize_url('amqp://u:p@h', mask='XX') == 'amqp://u:XX@h/'
    assert sanitize_url('amqp://guest:guest@localhost:5672//') == 'amqp://guest:**@localhost:5672//'


def test_maybe_sanitize_url():
    assert maybe_sanitize_url(None) is None
    assert maybe_sanitize_url(3) == 3
    assert maybe_sanitize_url('localhost') == 'localhost'
    assert maybe_sanitize_url('amqp://u:p@h', mask='X') == 'amqp://u:X@h/'


def test_safequote_quotes_slash():
    assert safequote('a/b c') == 'a%2Fb%20c'


# -- property tests -------------------------------------------------------

schemes = st.from_regex(r'\A[a-z][a-z0-9]{0,6}(\+[a-z]{1,6})?\Z')
hosts = st.from_regex(r'\A[a-z0-9]([a-z0-9\-.]{0,20}[a-z0-9])?\Z') | st.sampled_from(
    ['::1', 'fe80::1', '127.0.0.1'])
texts = st.text(min_size=1, max_size=12).filter(lambda s: '\x00' not in s)
ports = st.integers(min_value=1, max_value=65535)


@given(scheme=schemes, host=st.none() | hosts, port=st.none() | ports,
       user=st.none() | texts, password=st.none() | texts, path=st.none() | texts)
def test_parse_url_inverts_as_url(scheme, host, port, user, password, path):
    url = as_url(scheme, host, port, user, password, path)
    parsed = parse_url(url)
    assert parsed == expected(scheme, host, port, user, password, path)


@given(scheme=schemes, host=st.none() | hosts, port=st.none() | ports,
       user=st.none() | texts, password=st.none() | texts, path=st.none() | texts,
       query=st.dictionaries(st.from_regex(r'\A[a-z]{1,5}\Z'), texts, max_size=3))
def test_url_to_parts_inverts_as_url_with_query(scheme, host, port, user, password, path,
                                                query):
    url = as_url(scheme, host, port, user, password, path, query)
    assert url_to_parts(url) == (scheme, host, port, user, password, path, query)


@given(scheme=schemes, host=st.none() | hosts, port=st.none() | ports,
       user=st.none() | texts, password=texts, path=st.none() | texts)
def test_sanitize_url_masks_password_only(scheme, host, port, user, password, path):
    url = as_url(scheme, host, port, user, password, path)
    clean = parse_url(sanitize_url(url))
    assert clean == expected(scheme, host, port, user, '**', path)


@given(st.text(max_size=40))
def test_url_to_parts_never_raises_other_than_value_error(url):
    try:
        url_to_parts(url)
    except ValueError:
        pass


def test_private_parse_url_alias_returns_urlparts():
    # Celery 4.4 result backends do ``from kombu.utils.url import _parse_url``.
    from kombu.utils.url import _parse_url

    assert _parse_url('redis://u:p@h:1/2?x=1') == urlparts(
        'redis', 'h', 1, 'u', 'p', '2', {'x': '1'})
