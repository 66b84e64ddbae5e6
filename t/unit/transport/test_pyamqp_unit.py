"""Pure-logic tests of the py-amqp transport: no broker, no sockets."""
from __future__ import annotations

import importlib.util
import ssl
import struct
import sys
import types
from types import SimpleNamespace

import amqp
import pytest
from amqp.basic_message import Message as AMQPMessage

from kombu import Connection
from kombu.transport import librabbitmq, pyamqp

ALL_PROPERTIES = {
    'delivery_mode': 2,
    'correlation_id': 'cid-1',
    'reply_to': 'reply.queue',
    'expiration': '60000',
    'message_id': 'mid-1',
    'timestamp': 1700000000,
    'type': 'order.created',
    'user_id': 'guest',
    'app_id': 'tests',
    'cluster_id': 'c1',
}


@pytest.fixture
def channel():
    """A channel object on a never-connected connection (nothing goes on the wire)."""
    return pyamqp.Channel(pyamqp.Connection(), channel_id=1)


def _roundtrip_properties(message: AMQPMessage) -> dict:
    """Encode the message's properties as py-amqp would send them, then decode them."""
    raw = message._serialize_properties()
    decoded = AMQPMessage()
    decoded._load_properties(message.CLASS_ID, raw, 0)
    return decoded.properties


class TestPrepareMessage:

    def test_maps_arguments_onto_amqp_properties(self, channel):
        msg = channel.prepare_message(b'body', 5, 'application/json', 'utf-8',
                                      {'h': 1}, dict(ALL_PROPERTIES))
        assert isinstance(msg, amqp.Message)
        assert msg.body == b'body'
        assert msg.properties == dict(ALL_PROPERTIES, priority=5,
                                      content_type='application/json',
                                      content_encoding='utf-8',
                                      application_headers={'h': 1})

    def test_every_property_survives_wire_encoding(self, channel):
        msg = channel.prepare_message(b'x', 9, 'text/plain', 'utf-8', {'k': 'v'},
                                      dict(ALL_PROPERTIES))
        assert _roundtrip_properties(msg) == msg.properties

    def test_explicit_priority_wins_over_properties(self, channel):
        msg = channel.prepare_message(b'x', 7, properties={'priority': 1})
        assert msg.properties['priority'] == 7

    def test_priority_from_properties_is_kept_without_explicit_one(self, channel):
        msg = channel.prepare_message(b'x', None, properties={'priority': 3})
        assert msg.properties['priority'] == 3

    def test_unset_values_are_none_in_the_property_dict(self, channel):
        msg = channel.prepare_message(b'x')
        assert msg.properties == {'content_type': None, 'content_encoding': None,
                                  'application_headers': None, 'priority': None}

    def test_str_body_without_encoding_is_sent_as_utf8(self, channel):
        msg = channel.prepare_message('h\u00e9llo', content_type='text/plain')
        assert msg.properties['content_encoding'] == 'utf-8'
        raw = channel.prepare_message('x', content_encoding='latin-1')
        assert raw.properties['content_encoding'] == 'latin-1'
        assert channel.prepare_message(b'x').properties['content_encoding'] is None

    def test_unset_values_are_left_off_the_wire(self, channel):
        msg = channel.prepare_message(b'x')
        assert _roundtrip_properties(msg) == {}

    def test_does_not_mutate_the_callers_properties(self, channel):
        props = {'delivery_mode': 1}
        channel.prepare_message(b'x', 4, 'a/b', 'binary', {'h': 1}, props)
        assert props == {'delivery_mode': 1}

    def test_each_message_gets_its_own_property_dict(self, channel):
        props = {'delivery_mode': 2}
        first = channel.prepare_message(b'1', properties=props)
        second = channel.prepare_message(b'2', properties=props)
        first.properties['delivery_mode'] = 1
        assert second.properties['delivery_mode'] == 2


class TestEncodedPropertiesCache:
    """Plain messages reuse their encoded property block: it must be exactly
    what py-amqp itself encodes, for every combination, every time."""

    @pytest.mark.parametrize('content_type', [None, 'application/json', b'text/plain', ''])
    @pytest.mark.parametrize('headers', ['absent', None, {}, {'h': 1}, []])
    @pytest.mark.parametrize('delivery_mode', ['absent', None, 1, 2, True])
    @pytest.mark.parametrize('priority', ['absent', 0, 9, False])
    def test_same_bytes_as_py_amqp(self, content_type, headers, delivery_mode, priority):
        props = {'content_encoding': 'utf-8'}
        if content_type is not None:
            props['content_type'] = content_type
        for key, value in (('application_headers', headers),
                           ('delivery_mode', delivery_mode), ('priority', priority)):
            if value != 'absent':
                props[key] = value
        expected = AMQPMessage(b'x', **props)._serialize_properties()
        for _ in range(2):      # the second time from the cache
            assert pyamqp._OutgoingMessage(b'x', **props)._serialize_properties() == expected

    def test_prepare_message_output_matches_py_amqp(self, channel):
        for _ in range(2):
            msg = channel.prepare_message(b'{}', 0, 'application/json', 'utf-8', {},
                                          {'delivery_mode': 2})
            plain = AMQPMessage(b'{}', **msg.properties)
            assert msg._serialize_properties() == plain._serialize_properties()

    def test_other_properties_and_headers_are_not_served_from_the_cache(self, channel):
        plain = channel.prepare_message(b'x', 0, 'application/json', 'utf-8', {},
                                        {'delivery_mode': 2})
        plain._serialize_properties()
        for extra_headers, extra in (({'k': 'v'}, {}), ({}, {'correlation_id': 'c'})):
            msg = channel.prepare_message(b'x', 0, 'application/json', 'utf-8',
                                          extra_headers, dict(extra, delivery_mode=2))
            assert _roundtrip_properties(msg) == msg.properties

    def test_values_py_amqp_rejects_are_still_rejected(self):
        pyamqp._OutgoingMessage(b'x', delivery_mode=2)._serialize_properties()
        with pytest.raises(struct.error):
            AMQPMessage(b'x', delivery_mode=2.0)._serialize_properties()
        with pytest.raises(struct.error):
            pyamqp._OutgoingMessage(b'x', delivery_mode=2.0)._serialize_properties()

    def test_unhashable_values_fall_back_to_py_amqp(self):
        props = {'content_type': ['not', 'a', 'str']}
        with pytest.raises(TypeError):
            AMQPMessage(b'x', **props)._serialize_properties()
        with pytest.raises(TypeError):
            pyamqp._OutgoingMessage(b'x', **props)._serialize_properties()

    def test_the_cache_is_bounded(self, monkeypatch):
        monkeypatch.setattr(pyamqp, '_MAX_ENCODED_PROPERTIES', 4)
        cache = pyamqp._encoded_properties
        cache.clear()
        for priority in range(20):
            pyamqp._OutgoingMessage(b'x', priority=priority)._serialize_properties()
            assert 1 <= len(cache) <= 4
        assert pyamqp._OutgoingMessage(b'x', priority=7)._serialize_properties() == \
            AMQPMessage(b'x', priority=7)._serialize_properties()


class TestPrepareQueueArguments:

    def test_converts_durations_to_milliseconds(self, channel):
        args = channel.prepare_queue_arguments(
            {}, expires=10, message_ttl=0.25, max_length=3,
            max_length_bytes=4096, max_priority=10)
        assert args == {'x-expires': 10000, 'x-message-ttl': 250, 'x-max-length': 3,
                        'x-max-length-bytes': 4096, 'x-max-priority': 10}

    def test_keeps_existing_arguments_and_skips_none(self, channel):
        args = channel.prepare_queue_arguments({'x-queue-mode': 'lazy'}, expires=None,
                                               message_ttl=1.5)
        assert args == {'x-queue-mode': 'lazy', 'x-message-ttl': 1500}

    def test_returns_arguments_unchanged_when_nothing_to_add(self, channel):
        original = {'x-expires': 7}
        assert channel.prepare_queue_arguments(original) is original
        assert channel.prepare_queue_arguments(None, expires=None) is None

    def test_does_not_mutate_the_given_arguments(self, channel):
        original = {'a': 1}
        channel.prepare_queue_arguments(original, max_priority=5)
        assert original == {'a': 1}


class TestMessage:

    def _raw(self, **props):
        raw = AMQPMessage(b'{"a": 1}', **props)
        raw.delivery_info = {'delivery_tag': 42, 'redelivered': False,
                             'exchange': 'ex', 'routing_key': 'rk', 'consumer_tag': 'ct'}
        return raw

    def test_maps_the_amqp_message(self, channel):
        raw = self._raw(content_type='application/json', content_encoding='utf-8',
                        application_headers={'h': 1}, **ALL_PROPERTIES)
        message = channel.message_to_python(raw)
        assert isinstance(message, pyamqp.Message)
        assert message.body == b'{"a": 1}'
        assert message.delivery_tag == 42
        assert message.content_type == 'application/json'
        assert message.content_encoding == 'utf-8'
        assert message.headers == {'h': 1}
        assert message.properties['correlation_id'] == 'cid-1'
        assert message.delivery_info['routing_key'] == 'rk'
        assert message.channel is channel
        assert not message.acknowledged

    def test_missing_headers_become_an_empty_dict(self, channel):
        message = channel.message_to_python(self._raw())
        assert message.headers == {}
        assert message.content_type is None

    def test_decodes_the_payload(self, channel):
        message = channel.message_to_python(
            self._raw(content_type='application/json', content_encoding='utf-8'))
        assert message.payload == {'a': 1}

    def test_compressed_body_is_decompressed(self, channel):
        from kombu.compression import compress
        body, ctype = compress(b'{"a": 1}', 'zlib')
        raw = self._raw(content_type='application/json', content_encoding='utf-8',
                        application_headers={'compression': ctype})
        raw.body = body
        message = channel.message_to_python(raw)
        assert message.body == b'{"a": 1}'
        assert message.payload == {'a': 1}
        assert message.errors == []

    def test_undecompressable_body_is_a_stored_error(self, channel):
        raw = self._raw(application_headers={'compression': 'application/x-gzip'})
        message = channel.message_to_python(raw)
        assert len(message.errors) == 1

    def test_each_message_has_its_own_errors_list(self, channel):
        first = channel.message_to_python(self._raw())
        second = channel.message_to_python(self._raw())
        assert first.errors == [] and second.errors == []
        assert first.errors is not second.errors

    def test_extra_keyword_arguments_still_work(self, channel):
        raw = self._raw(content_type='application/json')
        message = pyamqp.Message(raw, channel=channel, accept={'application/json'})
        assert message.accept == {'application/json'}
        assert message.payload == {'a': 1}
        raw.body = '{"a": 2}'
        assert pyamqp.Message(raw, channel=channel, postencode='utf-8').body == b'{"a": 2}'

    def test_channel_message_class_is_the_transport_message(self):
        assert pyamqp.Channel.Message is pyamqp.Message
        assert pyamqp.Connection.Channel is pyamqp.Channel
        assert pyamqp.Transport.Connection is pyamqp.Connection


class TestTransport:

    def test_class_attributes(self):
        T = pyamqp.Transport
        assert T.default_port == 5672
        assert T.default_ssl_port == 5671
        assert T.driver_type == 'amqp'
        assert T.driver_name == 'py-amqp'
        assert T.implements.asynchronous is True
        assert T.implements.heartbeats is True
        assert T.implements.exchange_type == frozenset(
            {'direct', 'topic', 'fanout', 'headers'})

    def test_error_tuples_come_from_amqp(self):
        T = pyamqp.Transport
        assert amqp.exceptions.ConnectionError in T.connection_errors
        assert OSError in T.connection_errors
        assert amqp.exceptions.ChannelError in T.channel_errors
        assert amqp.exceptions.RecoverableConnectionError in T.recoverable_connection_errors
        assert amqp.exceptions.RecoverableChannelError in T.recoverable_channel_errors
        # a refused login must not be retried as if the broker were away
        assert not issubclass(amqp.exceptions.AccessRefused,
                              T.recoverable_connection_errors)

    def test_driver_version_is_amqps(self):
        assert Connection('pyamqp://').transport.driver_version() == amqp.__version__

    def test_default_connection_params_follow_ssl(self):
        plain = Connection('pyamqp://').transport.default_connection_params
        assert plain == {'userid': 'guest', 'password': 'guest', 'port': 5672,
                         'hostname': 'localhost', 'login_method': 'AMQPLAIN'}
        secure = Connection('pyamqp://', ssl=True).transport.default_connection_params
        assert secure['port'] == 5671

    def test_connection_options_from_the_url_and_transport_options(self):
        conn = Connection('pyamqp://user:secret@broker.example:5673/vh', heartbeat=10,
                          connect_timeout=3, login_method='PLAIN',
                          transport_options={'confirm_publish': True, 'read_timeout': 4,
                                             'client_properties': {'connection_name': 'x'}})
        opts = conn.transport._connection_options()
        assert opts['host'] == 'broker.example:5673'
        assert opts['userid'] == 'user'
        assert opts['password'] == 'secret'
        assert opts['virtual_host'] == 'vh'
        assert opts['heartbeat'] == 10
        assert opts['connect_timeout'] == 3
        assert opts['login_method'] == 'PLAIN'
        assert opts['confirm_publish'] is True
        assert opts['read_timeout'] == 4
        assert opts['client_properties'] == {'connection_name': 'x'}
        assert opts['ssl'] is False

    def test_connection_options_defaults(self):
        opts = Connection('pyamqp://').transport._connection_options()
        assert opts['host'] == '127.0.0.1:5672'
        assert (opts['userid'], opts['password']) == ('guest', 'guest')
        assert opts['virtual_host'] == '/'
        assert opts['login_method'] == 'AMQPLAIN'
        assert opts['heartbeat'] == 0
        assert opts['insist'] is False

    @pytest.mark.parametrize('url', ['pyamqp://', 'amqp://localhost//', None])
    def test_localhost_means_the_ipv4_loopback(self, url):
        conn = Connection(url) if url else Connection()
        assert conn.transport._connection_options()['host'] == '127.0.0.1:5672'
        assert conn.as_uri() == 'amqp://guest:**@localhost:5672//'

    def test_other_hostnames_are_used_as_given(self):
        for host in ('LOCALHOST', 'localhost.localdomain', 'rabbit'):
            conn = Connection(hostname=host)
            assert conn.transport._connection_options()['host'] == f'{host}:5672'
            assert conn.hostname == host

    def test_the_client_is_left_as_given(self):
        # its attributes key the connection pools: they must not change on connect
        conn = Connection('amqp://')
        before = (conn.hostname, conn.userid, conn.password, conn.port,
                  conn.login_method, conn.__eqhash__())
        conn.transport._connection_options()
        assert (conn.hostname, conn.userid, conn.password, conn.port,
                conn.login_method, conn.__eqhash__()) == before

    def test_localhost_is_kept_with_tls(self):
        conn = Connection('amqps://localhost//')
        assert conn.transport._connection_options()['host'] == 'localhost:5671'

    def test_given_settings_are_kept(self):
        conn = Connection('amqps://u:p@h:1234/vh', login_method='PLAIN')
        conn.transport._connection_options()
        assert (conn.hostname, conn.userid, conn.password, conn.port,
                conn.login_method, conn.virtual_host) == ('h', 'u', 'p', 1234, 'PLAIN', 'vh')

    def test_an_explicit_empty_password_is_kept(self):
        conn = Connection('amqp://', password='')
        assert conn.transport._connection_options()['password'] == ''

    def test_ssl_default_port_is_filled_in(self):
        conn = Connection('amqps://')
        assert conn.transport._connection_options()['host'] == 'localhost:5671'

    def test_insist_is_passed_on(self):
        assert Connection('amqp://', insist=True).transport._connection_options()['insist']

    def test_ssl_dict_is_passed_through_and_picks_the_ssl_port(self):
        sslopts = {'ca_certs': '/tmp/ca.pem', 'cert_reqs': ssl.CERT_REQUIRED}
        opts = Connection('pyamqp://', ssl=sslopts).transport._connection_options()
        assert opts['ssl'] == sslopts
        assert opts['host'] == 'localhost:5671'

    def test_blocked_connections_are_logged_by_default(self, caplog):
        opts = Connection('pyamqp://').transport._connection_options()
        amqp_conn = pyamqp.Connection(**opts)
        with caplog.at_level('WARNING', logger='kombu.transport.pyamqp'):
            amqp_conn._on_blocked()
            amqp_conn._on_unblocked()
        assert [r.getMessage() for r in caplog.records] == [
            'The broker blocked this connection from publishing: '
            'connection blocked, see broker logs',
            'The broker unblocked this connection']

    def test_blocked_callbacks_can_be_replaced(self):
        calls = []
        conn = Connection('pyamqp://', transport_options={
            'on_blocked': calls.append, 'on_unblocked': lambda: calls.append('go')})
        amqp_conn = pyamqp.Connection(**conn.transport._connection_options())
        amqp_conn._on_blocked()
        amqp_conn._on_unblocked()
        assert calls == ['connection blocked, see broker logs', 'go']

    def test_ipv6_hosts_are_bracketed(self):
        assert pyamqp._format_host('::1', 5672) == '[::1]:5672'
        assert pyamqp._format_host('[::1]', 5672) == '[::1]:5672'
        assert pyamqp._format_host('rabbit', 1) == 'rabbit:1'

    def test_custom_default_ports(self):
        transport = pyamqp.Transport(Connection('pyamqp://'), default_port=1234,
                                     default_ssl_port=4321)
        assert (transport.default_port, transport.default_ssl_port) == (1234, 4321)

    def test_ssl_transport_turns_ssl_on(self):
        client = Connection('pyamqp://')
        transport = pyamqp.SSLTransport(client)
        assert client.ssl
        assert transport._connection_options()['host'] == 'localhost:5671'

    def test_ssl_transport_keeps_an_ssl_options_dict(self):
        client = Connection('pyamqp://', ssl={'cert_reqs': ssl.CERT_NONE})
        pyamqp.SSLTransport(client)
        assert client.ssl == {'cert_reqs': ssl.CERT_NONE}

    @pytest.mark.parametrize('product,version,expected', [
        ('RabbitMQ', '3.10.8', False),
        ('RabbitMQ', '3.3.0', False),
        ('RabbitMQ', '3.2.4', True),
        ('RabbitMQ', '2.8.7', True),
        ('OtherBroker', '9.0', True),
    ])
    def test_qos_semantics_matches_spec(self, product, version, expected):
        fake = SimpleNamespace(server_properties={'product': product, 'version': version})
        assert Connection('pyamqp://').transport.qos_semantics_matches_spec(fake) is expected

    def test_heartbeat_interval_of_an_unconnected_connection_is_zero(self):
        transport = Connection('pyamqp://').transport
        assert transport.get_heartbeat_interval(pyamqp.Connection()) == 0


class TestLibrabbitmq:

    def test_documented_names_exist(self):
        for name in ('Transport', 'Connection', 'Channel', 'Message'):
            assert hasattr(librabbitmq, name)
        assert librabbitmq.Transport.driver_name == 'librabbitmq'
        assert librabbitmq.Transport.driver_type == 'amqp'

    @pytest.mark.skipif(importlib.util.find_spec('librabbitmq') is not None,
                        reason='librabbitmq is installed here')
    def test_creating_the_transport_says_it_is_not_installed(self):
        with pytest.raises(ImportError, match='librabbitmq'):
            librabbitmq.Transport(Connection('pyamqp://'))

    @pytest.mark.skipif(importlib.util.find_spec('librabbitmq') is not None,
                        reason='librabbitmq is installed here')
    def test_selecting_it_by_alias_says_it_is_not_installed(self):
        with pytest.raises(ImportError, match='pyamqp'):
            Connection('librabbitmq://').transport.driver_version()


class TestGetManager:

    @pytest.fixture
    def created(self, monkeypatch):
        created = []
        fake = types.ModuleType('pyrabbit')
        fake.Client = lambda *args: created.append(args) or 'manager'
        monkeypatch.setitem(sys.modules, 'pyrabbit', fake)
        return created

    def test_missing_pyrabbit_is_a_module_not_found_error(self, monkeypatch):
        monkeypatch.setitem(sys.modules, 'pyrabbit', None)
        with pytest.raises(ModuleNotFoundError, match='pyrabbit'):
            Connection('amqp://').get_manager()

    @pytest.mark.parametrize('url,kwargs,expected', [
        ('amqp://', {}, ('localhost:15672', 'guest', 'guest')),
        ('amqp://u:p@h:1234/vh', {}, ('h:15672', 'u', 'p')),
        ('amqp://u:p@h/', {'hostname': 'x'}, ('x:15672', 'u', 'p')),
        ('amqp://u:p@h/', {'hostname': 'H', 'port': 99, 'userid': 'U', 'password': 'P'},
         ('H:99', 'U', 'P')),
        ('amqp://', {'port': '80'}, ('localhost:80', 'guest', 'guest')),
    ])
    def test_manager_settings(self, created, url, kwargs, expected):
        assert Connection(url).get_manager(**kwargs) == 'manager'
        assert created == [expected]

    def test_transport_options_supply_the_manager_settings(self, created):
        conn = Connection('amqp://u:p@h:1234/vh', transport_options={
            'manager_hostname': 'mh', 'manager_port': 1,
            'manager_userid': 'mu', 'manager_password': 'mp'})
        conn.transport.get_manager()
        conn.transport.get_manager('H', 99, 'U', 'P')
        assert created == [('mh:1', 'mu', 'mp'), ('H:99', 'U', 'P')]
