"""kombu.connection: URL parsing, failover, ensure/retry, pools (no server needed)."""
from __future__ import annotations

import pickle
import socket

import pytest

from kombu import BrokerConnection, Connection, Consumer, Producer
from kombu.connection import ChannelPool, ConnectionPool, failover_strategies
from kombu.exceptions import ChannelLimitExceeded, ConnectionLimitExceeded, OperationalError
from kombu.simple import SimpleBuffer, SimpleQueue

#: Nothing listens here: connecting fails at once with "connection refused".
DEAD_AMQP = 'pyamqp://guest:guest@127.0.0.1:1//'


class TestParams:
    def test_defaults(self):
        c = Connection()
        assert c.hostname == 'localhost'
        assert c.transport_cls == 'amqp'
        assert (c.userid, c.password, c.port) == (None, None, None)
        assert c.virtual_host == '/'
        assert c.connect_timeout == 5 and c.heartbeat == 0
        assert c.ssl is False and c.insist is False
        assert c.transport_options == {}
        assert c.failover_strategy is failover_strategies['round-robin']
        assert c.declared_entities == set()
        assert c.uri_prefix is None and c.alt == []
        assert BrokerConnection is Connection

    def test_default_url_matches_guide(self):
        info = Connection().info()
        assert (info['hostname'], info['userid'], info['password'], info['port'],
                info['virtual_host']) == ('localhost', 'guest', 'guest', 5672, '/')
        assert Connection().as_uri() == 'amqp://guest:**@localhost:5672//'

    @pytest.mark.parametrize('url,expected', [
        ('amqp://', ('amqp', None, None, '/')),
        ('redis://localhost:6379/', ('redis', 'localhost', 6379, '/')),
        ('amqp://localhost//foo', ('amqp', 'localhost', None, '/foo')),
        ('amqp://localhost/foo', ('amqp', 'localhost', None, 'foo')),
        ('amqp://user:pass@host:1234/vh', ('amqp', 'host', 1234, 'vh')),
        ('pyro://localhost/kombu.broker', ('pyro', 'localhost', None, 'kombu.broker')),
        ('memory://', ('memory', None, None, '/')),
    ])
    def test_url_forms(self, url, expected):
        c = Connection(url)
        assert (c.transport_cls, c.hostname, c.port, c.virtual_host) == expected

    def test_url_credentials_and_quoting(self):
        c = Connection('amqp://us%40er:p%2Fss@h:1/v%2Fx')
        assert (c.userid, c.password, c.virtual_host) == ('us@er', 'p/ss', 'v/x')

    def test_url_overrides_keyword_defaults(self):
        c = Connection('amqp://u:p@h/', userid='x', password='y', port=99)
        assert (c.userid, c.password, c.port) == ('u', 'p', 99)

    def test_keyword_arguments(self):
        c = Connection(hostname='h', userid='u', password='p', port=12, virtual_host='vv',
                       transport='memory', connect_timeout=2, heartbeat=10,
                       transport_options={'x': 1}, login_method='PLAIN', ssl=True)
        assert (c.hostname, c.userid, c.password, c.port, c.virtual_host) == \
            ('h', 'u', 'p', 12, 'vv')
        assert c.transport_cls == 'memory' and c.connect_timeout == 2
        assert c.heartbeat == 10.0 and c.transport_options == {'x': 1}
        assert c.login_method == 'PLAIN' and c.ssl is True
        assert c.as_uri() == 'memory://u:**@h:12/vv'

    def test_query_options(self):
        c = Connection('amqp://h/vh?ssl=1&heartbeat=10&connect_timeout=3&visibility_timeout=9')
        assert c.ssl == '1' and c.heartbeat == 10.0 and c.connect_timeout == 3.0
        assert c.transport_options == {'visibility_timeout': '9'}

    def test_transport_prefix(self):
        c = Connection('sqla+postgresql://u:p@h/db')
        assert c.transport_cls == 'sqla' and c.uri_prefix == 'sqla'
        assert c.hostname == 'postgresql://u:p@h/db'
        assert c.as_uri() == 'sqla+postgresql://u:**@h/db'
        assert c.as_uri(include_password=True) == 'sqla+postgresql://u:p@h/db'
        r = Connection('redis+socket:///tmp/redis.sock')
        assert r.transport_cls == 'redis' and r.uri_prefix == 'redis'
        assert r.hostname == 'socket:///tmp/redis.sock'

    def test_as_uri_masks_password(self):
        c = Connection('amqp://u:secret@h:1/v')
        assert c.as_uri() == 'amqp://u:**@h:1/v'
        assert c.as_uri(mask='XX') == 'amqp://u:XX@h:1/v'
        assert c.as_uri(include_password=True) == 'amqp://u:secret@h:1/v'
        assert 'secret' not in repr(c)
        assert Connection('memory://').as_uri() == 'memory://localhost//'

    def test_info(self):
        info = Connection('amqp://u:p@h:1/v').info()
        assert list(info) == ['hostname', 'userid', 'password', 'virtual_host', 'port',
                              'insist', 'ssl', 'transport', 'connect_timeout',
                              'transport_options', 'login_method', 'uri_prefix',
                              'heartbeat', 'failover_strategy', 'alternates']
        assert info['transport'] == 'amqp' and info['password'] == 'p'
        assert Connection('pyamqp://').info()['transport'] == 'amqp'  # resolve_aliases

    def test_clone_and_pickle(self):
        c = Connection('memory://u:p@h:1/v', transport_options={'a': 1}, heartbeat=3)
        for copy in (c.clone(), pickle.loads(pickle.dumps(c))):
            assert copy is not c
            assert copy.as_uri(include_password=True) == c.as_uri(include_password=True)
            assert copy.transport_options == {'a': 1} and copy.heartbeat == 3
        assert c.clone(hostname='other').hostname == 'other'

    def test_host(self):
        assert Connection('amqp://h:1//').host == 'h:1'


class TestFailover:
    def test_semicolon_list(self):
        c = Connection('amqp://foo;amqp://bar')
        assert c.hostname == 'foo' and c.alt == ['amqp://foo', 'amqp://bar']
        c.maybe_switch_next()
        assert c.hostname == 'bar'
        c.maybe_switch_next()
        assert c.hostname == 'foo'

    def test_list_of_urls(self):
        c = Connection(['amqp://a', 'amqp://b'])
        assert c.hostname == 'a' and c.alt == ['amqp://a', 'amqp://b']

    def test_alternates(self):
        c = Connection('amqp://a', alternates=['amqp://b'])
        assert c.alt == ['amqp://b']
        c.maybe_switch_next()
        assert c.hostname == 'b'

    def test_completes_cycle(self):
        assert Connection('memory://').completes_cycle(0)
        c = Connection('amqp://a;amqp://b')
        assert c.completes_cycle(1) and not c.completes_cycle(2)

    def test_shuffle_and_custom_strategy(self):
        c = Connection('amqp://a;amqp://b;amqp://c', failover_strategy='shuffle')
        for _ in range(5):
            c.maybe_switch_next()
            assert c.hostname in ('a', 'b', 'c')

        def only_z(urls):
            while True:
                yield 'amqp://z'
        c = Connection('amqp://a;amqp://b', failover_strategy=only_z)
        c.maybe_switch_next()
        assert c.hostname == 'z'

    def test_switch(self):
        c = Connection('amqp://u:p@a:1/v')
        c.switch('amqp://b:2/w')
        assert (c.hostname, c.port, c.virtual_host) == ('b', 2, 'w')

    def test_failover_reaches_working_broker(self):
        c = Connection(f'{DEAD_AMQP};memory://')
        errors = []
        c.ensure_connection(errback=lambda exc, interval: errors.append(exc),
                            max_retries=3, interval_start=0, interval_step=0)
        assert c.connected and c.transport_cls == 'memory'
        assert len(errors) == 1
        c.close()


class TestMemoryConnection:
    def test_lazy_connect_and_close(self):
        c = Connection('memory://')
        assert not c.connected
        assert c.connect() is not None
        assert c.connected
        c.close()
        assert not c.connected
        c.connect()
        assert c.connected
        c.release()
        assert not c.connected

    def test_context_manager(self):
        with Connection('memory://') as c:
            assert c.default_channel is not None
            assert c.connected
        assert not c.connected

    def test_default_channel(self):
        with Connection('memory://') as c:
            ch = c.default_channel
            assert ch is c.default_channel
            assert ch.connection.client is c
            other = c.channel()
            assert other is not ch
            other.close()

    def test_drain_events_timeout(self):
        with Connection('memory://') as c:
            assert c.default_channel is not None
            with pytest.raises(socket.timeout):
                c.drain_events(timeout=0.01)

    def test_transport_info(self):
        with Connection('memory://') as c:
            assert c.transport is c.transport
            assert c.get_transport_cls() is type(c.transport)
            assert c.supports_heartbeats is False
            assert c.is_evented in (True, False)
            assert c.qos_semantics_matches_spec in (True, False)
            assert c.get_heartbeat_interval() == 0
            assert c.heartbeat_check() is None
            assert isinstance(c.connection_errors, tuple)
            assert isinstance(c.channel_errors, tuple)
            assert isinstance(c.recoverable_connection_errors, tuple)
            assert isinstance(c.recoverable_channel_errors, tuple)
            assert c.supports_exchange_type('direct')

    def test_ensure_connection_returns_self(self):
        with Connection('memory://') as c:
            assert c.ensure_connection() is c and c.connected

    def test_collect(self):
        c = Connection('memory://')
        assert c.default_channel is not None
        c.collect()
        assert not c.connected and c._default_channel is None

    def test_factories(self):
        with Connection('memory://') as c:
            assert isinstance(c.Producer(), Producer)
            assert isinstance(c.Consumer([]), Consumer)
            sq = c.SimpleQueue('t.factory.sq')
            sb = c.SimpleBuffer('t.factory.sb')
            assert isinstance(sq, SimpleQueue) and isinstance(sb, SimpleBuffer)
            sq.close()
            sb.close()


class TestEnsure:
    def test_retries_after_connection_error(self):
        with Connection('memory://') as c:
            err = c.recoverable_connection_errors[0]
            calls, errbacks, revived = [], [], []

            class Obj:
                def revive(self, channel):
                    revived.append(channel)

            def fun(x):
                calls.append(x)
                if len(calls) == 1:
                    raise err('lost')
                return x * 2

            ensured = c.ensure(Obj(), fun, errback=lambda e, i: errbacks.append(e),
                               max_retries=2, interval_start=0,
                               on_revive=lambda ch: revived.append(('on_revive', ch)))
            assert ensured(21) == 42
            assert calls == [21, 21] and len(errbacks) == 1
            assert revived[0] is c.default_channel
            assert revived[1] == ('on_revive', c.default_channel)

    def test_gives_up_as_library_error(self):
        with Connection('memory://') as c:
            err = c.recoverable_connection_errors[0]

            class Obj:
                def revive(self, channel):
                    pass

            def always_fails():
                raise err('down')

            with pytest.raises(OperationalError):
                c.ensure(Obj(), always_fails, max_retries=1, interval_start=0)()

    def test_other_errors_propagate_unchanged(self):
        with Connection('memory://') as c:
            def boom():
                raise ZeroDivisionError()
            with pytest.raises(ZeroDivisionError):
                c.ensure(None, boom, max_retries=1)()

    def test_autoretry(self):
        with Connection('memory://') as c:
            def fun(x, channel=None):
                return x, channel
            (ret, chan_used), channel = c.autoretry(fun)(1)
            assert ret == 1 and chan_used is channel is c.default_channel
            own = c.channel()
            (_, used), channel = c.autoretry(fun, channel=own)(2)
            assert used is own and channel is own
            own.close()

    def test_ensure_connection_failure_is_operational_error(self):
        c = Connection(DEAD_AMQP, connect_timeout=1)
        errors = []
        with pytest.raises(OperationalError):
            c.ensure_connection(errback=lambda e, i: errors.append((e, i)),
                                max_retries=2, interval_start=0, interval_step=0)
        assert len(errors) == 2
        with pytest.raises(c.connection_errors + (OSError,)) as info:
            c.ensure_connection(max_retries=0, reraise_as_library_errors=False)
        assert not isinstance(info.value, OperationalError)

    def test_ensure_connection_timeout(self):
        c = Connection(DEAD_AMQP, connect_timeout=1)
        with pytest.raises(OperationalError):
            c.ensure_connection(timeout=0.2, interval_start=0.05, interval_step=0)

    def test_default_channel_uses_transport_options_retry(self):
        c = Connection(DEAD_AMQP, connect_timeout=1,
                       transport_options={'max_retries': 1, 'interval_start': 0})
        with pytest.raises(OperationalError):
            assert c.default_channel is not None


class TestPools:
    def test_connection_pool_acquire_channel(self):
        # Celery's rpc/amqp result backends use ``pool.acquire_channel(block=True)``.
        pool = Connection('memory://').Pool(1)
        with pool.acquire_channel(block=True) as (conn, channel):
            assert isinstance(conn, Connection)
            assert channel is conn.default_channel
            with pytest.raises(ConnectionLimitExceeded):
                pool.acquire()
        with pool.acquire_channel() as (again, _):
            assert again is conn          # it went back to the pool
        pool.force_close_all()

    def test_connection_pool_limit(self):
        conn = Connection('memory://')
        pool = conn.Pool(2)
        assert isinstance(pool, ConnectionPool) and pool.limit == 2
        assert pool.LimitExceeded is ConnectionLimitExceeded
        c1, c2 = pool.acquire(), pool.acquire()
        assert isinstance(c1, Connection) and c1 is not conn
        with pytest.raises(ConnectionLimitExceeded):
            pool.acquire()
        c1.release()
        c3 = pool.acquire()
        assert c3 is c1
        c2.release()
        c3.release()
        pool.force_close_all()

    def test_connection_pool_block_timeout(self):
        pool = Connection('memory://').Pool(1)
        c1 = pool.acquire()
        with pytest.raises(ConnectionLimitExceeded):
            pool.acquire(block=True, timeout=0.05)
        c1.release()

    def test_pool_connection_as_context(self):
        pool = Connection('memory://').Pool(1)
        with pool.acquire() as c:
            assert c.default_channel is not None
        with pool.acquire() as c2:  # released by __exit__
            assert c2 is c

    def test_channel_pool(self):
        with Connection('memory://') as conn:
            pool = conn.ChannelPool(2)
            assert isinstance(pool, ChannelPool)
            assert pool.LimitExceeded is ChannelLimitExceeded
            ch1, ch2 = pool.acquire(), pool.acquire()
            assert ch1 is not ch2 and hasattr(ch1, 'basic_publish')
            with pytest.raises(ChannelLimitExceeded):
                pool.acquire()
            ch1.release()
            assert pool.acquire() is ch1

    def test_unlimited_pool(self):
        pool = Connection('memory://').Pool()
        conns = [pool.acquire() for _ in range(5)]
        assert len({id(c) for c in conns}) == 5
        for c in conns:
            c.release()


def test_eqhash_is_equal_for_equal_parameters_only():
    a = Connection('memory://h/v', transport_options={'x': 1})
    b = Connection('memory://h/v', transport_options={'x': 1})
    c = Connection('memory://h/other', transport_options={'x': 1})
    assert a.__eqhash__() == b.__eqhash__()
    assert a.__eqhash__() != c.__eqhash__()


def test_transport_that_parses_its_own_url_gets_it_verbatim():
    url = 'mongodb://h1:27018,h2/db?replicaSet=x'
    conn = Connection(url)
    assert conn.transport_cls == 'mongodb'
    assert conn.hostname == url


def test_as_uri_masks_the_password_of_a_prefixed_url():
    conn = Connection('sqla+postgresql://user:secret@db.example.com/kombu')
    assert conn.as_uri() == 'sqla+postgresql://user:**@db.example.com/kombu'
    assert 'secret' not in repr(conn)
    assert conn.as_uri(include_password=True) == \
        'sqla+postgresql://user:secret@db.example.com/kombu'
