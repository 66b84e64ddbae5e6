"""kombu.connection / kombu.transport parity with the documented (4.6.7) behaviour.

Plain expected values: URL forms of the guide, keyword defaults, info(),
as_uri(), failover order, switch(), the transport alias table and the
unknown-alias error, base transport attributes and ensure() retry semantics.
No broker is needed (memory:// or no connection at all).
"""
from __future__ import annotations

import amqp.exceptions
import pytest

from kombu import Connection
from kombu.connection import ChannelPool, ConnectionPool
from kombu.exceptions import ChannelLimitExceeded, ConnectionLimitExceeded, OperationalError
from kombu.transport import TRANSPORT_ALIASES, base, get_transport_cls
from kombu.utils.functional import shufflecycle

INFO_KEYS = ['hostname', 'userid', 'password', 'virtual_host', 'port', 'insist', 'ssl',
             'transport', 'connect_timeout', 'transport_options', 'login_method',
             'uri_prefix', 'heartbeat', 'failover_strategy', 'alternates']


def _info(url, **kwargs):
    return Connection(url, **kwargs).info()


class TestInfoAndUri:

    def test_info_keys_in_order(self):
        assert list(Connection('memory://').info()) == INFO_KEYS

    @pytest.mark.parametrize('url,expected', [
        ('amqp://', dict(hostname='localhost', userid='guest', password='guest',
                         virtual_host='/', port=5672, transport='amqp',
                         login_method='AMQPLAIN')),
        ('redis://localhost:6379/', dict(hostname='localhost', userid=None, password=None,
                                         virtual_host='/', port=6379, transport='redis',
                                         login_method=None)),
        ('memory://', dict(hostname='localhost', userid=None, password=None,
                           virtual_host='/', port=None, transport='memory',
                           login_method=None)),
        ('filesystem://', dict(hostname='localhost', userid=None, password=None,
                               virtual_host='/', port=0, transport='filesystem',
                               login_method=None)),
        ('pyro://localhost/kombu.broker', dict(hostname='localhost', virtual_host='kombu.broker',
                                               port=9090, transport='pyro')),
        ('amqp://localhost/myvhost?ssl=1', dict(virtual_host='myvhost', port=5671, ssl='1')),
        ('redis+socket:///tmp/redis.sock', dict(hostname='redis+socket:///tmp/redis.sock',
                                                transport='redis', uri_prefix='redis',
                                                port=6379)),
    ])
    def test_info_values(self, url, expected):
        info = _info(url)
        assert {key: info[key] for key in expected} == expected
        assert (info['insist'], info['connect_timeout'], info['heartbeat'],
                info['failover_strategy'], info['alternates']) == (
            False, 5, 0, 'round-robin', [])

    def test_sqla_prefix_keeps_url_verbatim(self):
        c = Connection('sqla+postgresql://u:p@h/db')
        assert (c.uri_prefix, c.transport_cls, c.hostname) == (
            'sqla', 'sqla', 'postgresql://u:p@h/db')
        info = c.info()
        assert (info['hostname'], info['transport'], info['uri_prefix']) == (
            'sqla+postgresql://u:p@h/db', 'sqla', 'sqla')
        assert c.as_uri() == 'sqla+postgresql://u:**@h/db'
        assert c.as_uri(include_password=True) == 'sqla+postgresql://u:p@h/db'

    @pytest.mark.parametrize('url,masked,plain', [
        ('amqp://', 'amqp://guest:**@localhost:5672//', 'amqp://guest:guest@localhost:5672//'),
        ('amqp://u:p@h:1/v', 'amqp://u:**@h:1/v', 'amqp://u:p@h:1/v'),
        ('redis://:pw@h:1234/3', 'redis://:**@h:1234/3', 'redis://:pw@h:1234/3'),
        ('memory://', 'memory://localhost//', 'memory://localhost//'),
        ('amqps://u:p@h/', 'amqps://u:**@h:5671//', 'amqps://u:p@h:5671//'),
        ('pyro://localhost/kombu.broker', 'pyro://localhost:9090/kombu.broker',
         'pyro://localhost:9090/kombu.broker'),
    ])
    def test_as_uri(self, url, masked, plain):
        c = Connection(url)
        assert c.as_uri() == masked
        assert c.as_uri(include_password=True) == plain
        assert repr(c).startswith(f'<Connection: {masked} at 0x')
        assert str(c) == repr(c)

    def test_as_uri_custom_mask(self):
        assert Connection('amqp://u:p@h//').as_uri(mask='XX') == 'amqp://u:XX@h:5672//'

    def test_clone_keeps_settings_and_takes_overrides(self):
        c = Connection('amqp://u:p@h:1/v', heartbeat=3, transport_options={'a': 1})
        clone = c.clone()
        assert clone is not c and clone.as_uri(True) == c.as_uri(True)
        assert (clone.heartbeat, clone.transport_options) == (3.0, {'a': 1})
        other = c.clone(hostname='x', port=2)
        assert (other.hostname, other.port, other.userid) == ('x', 2, 'u')

    def test_equality_is_identity_and_eqhash_is_by_parameters(self):
        a, b = Connection('memory://'), Connection('memory://')
        assert a != b and a == a and hash(a) != hash(b)
        assert a.__eqhash__() == b.__eqhash__()
        assert Connection('memory://h').__eqhash__() != a.__eqhash__()
        assert Connection('memory://', transport_options={'a': 1}).__eqhash__() != \
            a.__eqhash__()


class TestUrlQueryOptions:

    def test_ssl_1_enables_ssl_and_the_ssl_port(self):
        c = Connection('amqp://localhost/myvhost?ssl=1')
        assert c.ssl and c.info()['port'] == 5671

    @pytest.mark.parametrize('value', ['0', 'false', 'no', 'off'])
    def test_false_ssl_keeps_ssl_off(self, value):
        c = Connection(f'amqp://h?ssl={value}')
        assert c.ssl is False and c.info()['port'] == 5672

    def test_numeric_options_are_converted(self):
        c = Connection('amqp://h?heartbeat=10&connect_timeout=3')
        assert (c.heartbeat, c.connect_timeout) == (10.0, 3.0)

    def test_url_query_wins_over_keyword(self):
        assert Connection('amqp://h?heartbeat=5', heartbeat=10).heartbeat == 5.0

    def test_login_method(self):
        assert Connection('amqp://h?login_method=PLAIN').login_method == 'PLAIN'

    def test_failover_strategy_from_query(self):
        c = Connection('amqp://a?failover_strategy=shuffle;amqp://b')
        assert c.failover_strategy is shufflecycle
        assert c.info()['failover_strategy'] == 'shuffle'

    def test_other_options_become_transport_options(self):
        c = Connection('redis://h/0?visibility_timeout=10', transport_options={'x': 1})
        assert c.transport_options == {'visibility_timeout': '10', 'x': 1}

    def test_keyword_transport_options_win_over_query(self):
        c = Connection('amqp://h?a=1', transport_options={'a': 2, 'b': 3})
        assert c.transport_options == {'a': 2, 'b': 3}


class TestKeywordArguments:

    def test_keywords_are_defaults_for_missing_url_parts(self):
        c = Connection('amqp://h2', userid='u', password='p', virtual_host='v', port=1234)
        assert (c.hostname, c.userid, c.password, c.virtual_host, c.port) == (
            'h2', 'u', 'p', 'v', 1234)
        c = Connection('amqp://a:b@h2:99/vv', userid='u', password='p', virtual_host='v',
                       port=1234)
        assert (c.userid, c.password, c.virtual_host, c.port) == ('a', 'b', 'vv', 99)

    def test_url_scheme_wins_over_transport_keyword(self):
        assert Connection('redis://', transport='memory').transport_cls == 'redis'
        assert Connection(transport='memory').transport_cls == 'memory'

    def test_port_string_is_converted(self):
        assert Connection('h1', port='1234').port == 1234

    def test_bad_port_raises_value_error(self):
        with pytest.raises(ValueError, match="Invalid port: 'abc'"):
            Connection('amqp://h', port='abc')

    def test_ssl_keyword_selects_the_ssl_port(self):
        assert Connection('amqp://', ssl=True).as_uri() == 'amqp://guest:**@localhost:5671//'

    def test_transport_class_object(self):
        from kombu.transport.memory import Transport
        c = Connection(transport=Transport)
        assert c.transport_cls is Transport and c.get_transport_cls() is Transport
        assert c.as_uri() == 'memory://localhost//'


class TestFailoverOrder:

    def test_url_list_comes_before_alternates(self):
        c = Connection('amqp://foo;amqp://bar', alternates=['amqp://baz'])
        assert c.hostname == 'foo'
        assert c.alt == ['amqp://foo', 'amqp://bar', 'amqp://baz']
        seen = []
        for _ in range(4):
            c.maybe_switch_next()
            seen.append(c.hostname)
        assert seen == ['bar', 'baz', 'foo', 'bar']

    def test_single_url_with_alternates_tries_them_in_order(self):
        c = Connection('amqp://a', alternates=['amqp://b', 'amqp://c'])
        assert c.alt == ['amqp://b', 'amqp://c']
        seen = []
        for _ in range(3):
            c.maybe_switch_next()
            seen.append(c.hostname)
        assert seen == ['b', 'c', 'b']

    def test_custom_strategy_first_item_is_the_current_url(self):
        def reverse(urls):
            while True:
                yield from reversed(urls)
        c = Connection('amqp://a;amqp://b;amqp://c', failover_strategy=reverse)
        seen = [c.hostname]
        for _ in range(4):
            c.maybe_switch_next()
            seen.append(c.hostname)
        assert seen == ['a', 'b', 'a', 'c', 'b']

    def test_switch_to_host_name_keeps_the_rest_of_the_url(self):
        c = Connection('amqp://u:p@a:1/v', heartbeat=3)
        c.switch('b')
        assert (c.hostname, c.userid, c.password, c.virtual_host, c.port,
                c.transport_cls, c.heartbeat) == ('b', 'u', 'p', 'v', 1, 'amqp', 3.0)

    def test_switch_to_url_uses_keyword_defaults_for_missing_parts(self):
        c = Connection('a;b', userid='x', password='y', port=7)
        c.maybe_switch_next()
        assert (c.hostname, c.userid, c.password, c.port) == ('b', 'x', 'y', 7)


class TestTransportRegistry:

    def test_alias_table(self):
        assert TRANSPORT_ALIASES == {
            'amqp': 'kombu.transport.pyamqp:Transport',
            'amqps': 'kombu.transport.pyamqp:SSLTransport',
            'pyamqp': 'kombu.transport.pyamqp:Transport',
            'librabbitmq': 'kombu.transport.librabbitmq:Transport',
            'memory': 'kombu.transport.memory:Transport',
            'redis': 'kombu.transport.redis:Transport',
            'rediss': 'kombu.transport.redis:Transport',
            'SQS': 'kombu.transport.SQS:Transport',
            'sqs': 'kombu.transport.SQS:Transport',
            'mongodb': 'kombu.transport.mongodb:Transport',
            'zookeeper': 'kombu.transport.zookeeper:Transport',
            'sqlalchemy': 'kombu.transport.sqlalchemy:Transport',
            'sqla': 'kombu.transport.sqlalchemy:Transport',
            'SLMQ': 'kombu.transport.SLMQ.Transport',
            'slmq': 'kombu.transport.SLMQ.Transport',
            'filesystem': 'kombu.transport.filesystem:Transport',
            'qpid': 'kombu.transport.qpid:Transport',
            'sentinel': 'kombu.transport.redis:SentinelTransport',
            'consul': 'kombu.transport.consul:Transport',
            'etcd': 'kombu.transport.etcd:Transport',
            'azurestoragequeues': 'kombu.transport.azurestoragequeues:Transport',
            'azureservicebus': 'kombu.transport.azureservicebus:Transport',
            'pyro': 'kombu.transport.pyro:Transport',
        }

    @pytest.mark.parametrize('alias', ['nope', 'MEMORY', 'django', ''])
    def test_unknown_alias_without_suggestion(self, alias):
        with pytest.raises(KeyError) as excinfo:
            get_transport_cls(alias)
        assert excinfo.value.args == (f'No such transport: {alias}',)

    def test_unknown_alias_through_connection(self):
        with pytest.raises(KeyError, match='^No such transport: nope$'):
            _ = Connection('nope://h').transport

    @pytest.mark.parametrize('alias,names', [
        ('memory', ('memory', 'memory', None, 1.0)),
        ('redis', ('redis', 'redis', 6379, None)),
        ('pyamqp', ('amqp', 'py-amqp', 5672, None)),
        ('filesystem', ('filesystem', 'filesystem', 0, 1.0)),
    ])
    def test_driver_attributes(self, alias, names):
        cls = get_transport_cls(alias)
        assert (cls.driver_type, cls.driver_name, cls.default_port,
                cls.polling_interval) == names

    @pytest.mark.parametrize('alias,implements', [
        ('memory', (False, {'direct', 'topic', 'fanout', 'headers'}, False)),
        ('redis', (True, {'direct', 'topic', 'fanout'}, False)),
        ('pyamqp', (True, {'direct', 'topic', 'fanout', 'headers'}, True)),
        ('sqs', (True, {'direct'}, False)),
        ('pyro', (False, {'direct', 'topic'}, False)),
    ])
    def test_implements_flags(self, alias, implements):
        impl = get_transport_cls(alias).implements
        assert (impl.asynchronous, set(impl.exchange_type), impl.heartbeats) == implements

    @pytest.mark.parametrize('url,heartbeats,evented', [
        ('amqp://', True, True), ('redis://', False, True), ('memory://', False, False),
    ])
    def test_connection_capabilities_without_connecting(self, url, heartbeats, evented):
        c = Connection(url)
        assert (c.supports_heartbeats, c.is_evented) == (heartbeats, evented)
        assert c.transport.supports_heartbeats is heartbeats
        assert c.transport.supports_ev is evented
        assert not c.connected


class TestBaseTransport:

    def test_class_attributes(self):
        T = base.Transport
        assert (T.driver_type, T.driver_name, T.default_port, T.client,
                T.polling_interval, T.can_parse_url) == ('N/A', 'N/A', None, None, None, False)
        assert T.connection_errors == (amqp.exceptions.ConnectionError,)
        assert T.channel_errors == (amqp.exceptions.ChannelError,)
        assert dict(T.implements) == {
            'asynchronous': False, 'heartbeats': False,
            'exchange_type': frozenset({'direct', 'topic', 'fanout', 'headers'})}

    def test_unimplemented_methods_name_the_class(self):
        transport = base.Transport(None)
        for method in ('establish_connection', 'close_connection', 'create_channel',
                       'close_channel', 'drain_events'):
            with pytest.raises(NotImplementedError) as excinfo:
                if method == 'establish_connection':
                    transport.establish_connection()
                else:
                    getattr(transport, method)(None)
            assert str(excinfo.value) == (
                f'Transport kombu.transport.base.Transport does not implement {method}')
        with pytest.raises(NotImplementedError,
                           match='^Transport kombu.transport.base.Management does not '
                                 'implement get_bindings$'):
            base.Management(transport).get_bindings()

    def test_defaults_of_an_instance(self):
        transport = base.Transport(None)
        assert transport.supports_heartbeats is False and transport.supports_ev is False
        assert transport.recoverable_connection_errors == (
            amqp.exceptions.ConnectionError, amqp.exceptions.ChannelError)
        assert transport.recoverable_channel_errors == ()
        assert transport.default_connection_params == {}
        assert transport.driver_version() == 'N/A'
        assert transport.get_heartbeat_interval(None) == 0
        assert transport.verify_connection(None) is True
        assert transport.qos_semantics_matches_spec(None) is True
        assert isinstance(transport.manager, base.Management)


class _Revivable:
    def __init__(self):
        self.revived = []

    def revive(self, channel):
        self.revived.append(channel)


def _failing(times, exc):
    calls = []

    def fun(*args, **kwargs):
        calls.append((args, kwargs))
        if len(calls) <= times:
            raise exc
        return 'ok', args, kwargs
    return fun, calls


class TestEnsure:
    options = dict(interval_start=0, interval_step=0, interval_max=0)

    def test_memory_errors(self):
        c = Connection('memory://')
        assert c.connection_errors == (amqp.exceptions.ConnectionError,)
        assert c.channel_errors == (amqp.exceptions.ChannelError,)
        assert c.recoverable_connection_errors == (
            amqp.exceptions.ConnectionError, amqp.exceptions.ChannelError)
        assert c.recoverable_channel_errors == ()

    def test_retries_after_connection_error_and_revives(self):
        c = Connection('memory://')
        fun, calls = _failing(1, amqp.exceptions.ConnectionError('boom'))
        errors, revived, obj = [], [], _Revivable()
        ensured = c.ensure(obj, fun, errback=lambda exc, interval: errors.append(
            (type(exc), interval)), max_retries=1, on_revive=revived.append, **self.options)
        assert ensured(1, k=2) == ('ok', (1,), {'k': 2})
        assert len(calls) == 2
        assert errors == [(amqp.exceptions.ConnectionError, 0)]
        assert obj.revived == revived == [c.default_channel]
        c.close()

    def test_raises_operational_error_when_retries_run_out(self):
        c = Connection('memory://')
        fun, calls = _failing(5, amqp.exceptions.ConnectionError('boom'))
        ensured = c.ensure(_Revivable(), fun, max_retries=2, **self.options)
        with pytest.raises(OperationalError, match='boom'):
            ensured()
        assert len(calls) == 3

    def test_max_retries_zero_does_not_retry(self):
        c = Connection('memory://')
        fun, calls = _failing(1, amqp.exceptions.ChannelError('chan'))
        with pytest.raises(OperationalError, match='chan'):
            c.ensure(_Revivable(), fun, max_retries=0, **self.options)()
        assert len(calls) == 1

    @pytest.mark.parametrize('exc', [KeyError('k'), OSError('os'), OperationalError('op')])
    def test_other_errors_propagate_at_once(self, exc):
        c = Connection('memory://')
        fun, calls = _failing(1, exc)
        with pytest.raises(type(exc)):
            c.ensure(_Revivable(), fun, max_retries=3, **self.options)()
        assert len(calls) == 1

    def test_wrapper_metadata(self):
        def publish_things():
            """Docstring."""
        ensured = Connection('memory://').ensure(_Revivable(), publish_things)
        assert ensured.__name__ == 'publish_things(ensured)'
        assert ensured.__doc__ == 'Docstring.'

    def test_autoretry_returns_value_and_channel(self):
        c = Connection('memory://')
        channel = c.channel()

        def fun(x, channel=None):
            return channel
        ret, chan = c.autoretry(fun, channel)(1)
        assert ret is channel and chan is channel
        c.close()

    def test_ensure_connection_returns_the_connection(self):
        c = Connection('memory://')
        assert c.ensure_connection(callback=lambda: None, timeout=1) is c
        assert c.connected
        c.close()
        assert not c.connected


class TestPoolFactories:

    def test_pool(self):
        c = Connection('memory://')
        pool = c.Pool(2)
        assert isinstance(pool, ConnectionPool) and pool.limit == 2
        assert ConnectionPool.LimitExceeded is ConnectionLimitExceeded
        first, _ = pool.acquire(), pool.acquire()
        with pytest.raises(ConnectionLimitExceeded):
            pool.acquire()
        first.release()
        assert pool.acquire() is first
        pool.force_close_all()

    def test_channel_pool(self):
        c = Connection('memory://')
        pool = c.ChannelPool(2)
        assert isinstance(pool, ChannelPool) and pool.limit == 2
        assert ChannelPool.LimitExceeded is ChannelLimitExceeded
        first, _ = pool.acquire(), pool.acquire()
        with pytest.raises(ChannelLimitExceeded):
            pool.acquire()
        first.release()
        assert pool.acquire() is first
        pool.force_close_all()
        c.close()

    def test_no_limit_by_default(self):
        c = Connection('memory://')
        assert c.Pool().limit is None and c.ChannelPool().limit is None
