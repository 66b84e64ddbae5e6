"""Redis transport: pure logic (no server): options, key names, URLs, the publish window."""
from __future__ import annotations

import ssl
from types import SimpleNamespace

import pytest

redis = pytest.importorskip('redis')

from kombu import Connection  # noqa: E402
from kombu.transport import _redis_scripts  # noqa: E402
from kombu.transport import redis as rt  # noqa: E402
from kombu.transport._redis_publish import PublishWindow  # noqa: E402

DOCUMENTED_OPTIONS = (
    'body_encoding', 'deadletter_queue', 'sep', 'ack_emulation', 'unacked_key',
    'unacked_index_key', 'unacked_mutex_key', 'unacked_mutex_expire', 'visibility_timeout',
    'unacked_restore_limit', 'fanout_prefix', 'fanout_patterns', 'socket_timeout',
    'socket_connect_timeout', 'socket_keepalive', 'socket_keepalive_options',
    'queue_order_strategy', 'max_connections', 'priority_steps')


def holder(**overrides):
    """An object with the Channel's option attributes (what _connparams reads)."""
    names = DOCUMENTED_OPTIONS + rt.Channel.extra_transport_options + (
        'connection_class', 'keyprefix_fanout')
    values = {name: getattr(rt.Channel, name) for name in names}
    values.update(overrides)
    return SimpleNamespace(**values)


def test_documented_defaults():
    chan = rt.Channel
    assert chan.from_transport_options == DOCUMENTED_OPTIONS
    assert chan.sep == '\x06\x16'
    assert (chan.unacked_key, chan.unacked_index_key, chan.unacked_mutex_key) == (
        'unacked', 'unacked_index', 'unacked_mutex')
    assert chan.unacked_mutex_expire == 300 and chan.visibility_timeout == 3600
    assert chan.unacked_restore_limit is None and chan.max_connections == 10
    assert chan.priority_steps == [0, 3, 6, 9] and chan.queue_order_strategy == 'round_robin'
    assert chan.keyprefix_queue == '_kombu.binding.%s' and chan.keyprefix_fanout == '/{db}.'
    assert chan.fanout_prefix is True and chan.fanout_patterns is True
    assert chan.supports_fanout is True and chan.ack_emulation is True
    assert chan.QoS is rt.QoS and rt.QoS.restore_at_shutdown is True
    transport = rt.Transport
    assert transport.default_port == 6379 and transport.polling_interval is None
    assert transport.driver_type == transport.driver_name == 'redis'
    assert transport.implements.asynchronous is True
    assert transport.implements.exchange_type == frozenset({'direct', 'topic', 'fanout'})
    assert transport.implements.heartbeats is False


def test_redis_errors_map_onto_connection_and_channel_errors():
    exc = redis.exceptions
    for error in (exc.ConnectionError, exc.TimeoutError, exc.AuthenticationError,
                  exc.BusyLoadingError, OSError):
        assert issubclass(error, rt.Transport.connection_errors)
    for error in (exc.ResponseError, exc.InvalidResponse, exc.DataError):
        assert issubclass(error, rt.Transport.channel_errors)
    assert rt.Transport.recoverable_channel_errors == ()


@pytest.mark.parametrize('steps,n,expected', [
    ([0, 3, 6, 9], 0, 0), ([0, 3, 6, 9], 2, 0), ([0, 3, 6, 9], 3, 3), ([0, 3, 6, 9], 5, 3),
    ([0, 3, 6, 9], 9, 9), ([0, 3, 6, 9], 255, 9), ([0, 3, 6, 9], -4, 0),
    ([0, 3, 6, 9], None, 0), ([0, 3, 6, 9], 'x', 0), (list(range(10)), 7, 7),
])
def test_priority_maps_to_the_largest_step_not_above(steps, n, expected):
    assert rt.Channel.priority(SimpleNamespace(priority_steps=steps), n) == expected


def test_queue_key_for_priority():
    chan = SimpleNamespace(priority_steps=[0, 3, 6, 9], sep='\x06\x16')
    chan.priority = lambda n: rt.Channel.priority(chan, n)
    assert rt.Channel._q_for_pri(chan, 'q', 0) == 'q'
    assert rt.Channel._q_for_pri(chan, 'q', 4) == 'q\x06\x163'


def test_fanout_topics_with_and_without_patterns():
    chan = holder(keyprefix_fanout='/0.', fanout_patterns=True,
                  _fanout_queues={'all': ('ex', ''), 'some': ('ex', 'a.*'),
                                  'hash': ('ex', '*')})
    publish = rt.Channel._get_publish_topic
    subscribe = rt.Channel._get_subscribe_topics
    assert publish(chan, 'ex', 'a.b') == '/0.ex/a.b'
    assert publish(chan, 'ex', '') == '/0.ex'
    assert subscribe(chan, 'all') == ['/0.ex', '/0.ex/*']
    assert subscribe(chan, 'hash') == ['/0.ex', '/0.ex/*']
    assert subscribe(chan, 'some') == ['/0.ex/a.*']
    chan.fanout_patterns = False
    assert publish(chan, 'ex', 'a.b') == '/0.ex'
    assert subscribe(chan, 'some') == ['/0.ex']


def test_fanout_prefix_option():
    for value, expected in ((True, 'p./2.'), (False, ''), ('/custom.{db}.', 'p./custom.2.')):
        chan = holder(fanout_prefix=value, global_keyprefix='p.', db=2)
        assert rt.Channel._fanout_prefix.__get__(chan)() == expected


def test_connparams_from_url_and_options():
    conn = Connection('redis://user:pw@example.com:6380/5',
                      transport_options={'socket_timeout': 3})
    params = conn.transport._connparams(holder(socket_timeout=3, health_check_interval=9,
                                               retry_on_timeout=True, max_connections=4))
    assert params['host'] == 'example.com' and params['port'] == 6380
    assert params['username'] == 'user' and params['password'] == 'pw'
    assert params['db'] == 5 and params['socket_timeout'] == 3
    assert params['health_check_interval'] == 9 and params['retry_on_timeout'] is True
    assert params['max_connections'] == 4 and params['protocol'] == 2
    assert 'connection_class' not in params


def test_connparams_defaults():
    params = Connection('redis://').transport._connparams(holder())
    assert params['port'] == 6379 and params['db'] == 0
    assert params['socket_connect_timeout'] == 5       # Connection.connect_timeout


def test_connparams_unix_socket():
    conn = Connection('redis+socket:///tmp/some%20dir/redis.sock?virtual_host=4')
    params = conn.transport._connparams(holder())
    assert params['path'] == '/tmp/some dir/redis.sock' and params['db'] == 4
    assert params['connection_class'] is redis.UnixDomainSocketConnection
    assert 'host' not in params and 'port' not in params


def test_connparams_tls():
    conn = Connection('rediss://h:6390/0?ssl_cert_reqs=required&ssl_ca_certs=/ca.pem')
    params = conn.transport._connparams(holder())
    assert params['connection_class'] is redis.SSLConnection
    assert params['ssl_cert_reqs'] == ssl.CERT_REQUIRED
    assert params['ssl_ca_certs'] == '/ca.pem'
    conn = Connection('redis://h/0', ssl={'cert_reqs': ssl.CERT_NONE})
    params = conn.transport._connparams(holder())
    assert params['connection_class'] is redis.SSLConnection
    assert params['ssl_cert_reqs'] == ssl.CERT_NONE


def test_bad_virtual_host_and_ssl_option_are_named():
    with pytest.raises(ValueError, match='not-a-number'):
        assert Connection('redis://localhost/not-a-number').transport._db is None
    with pytest.raises(ValueError, match='sometimes'):
        conn = Connection('rediss://h/0', transport_options={'ssl_cert_reqs': 'sometimes'})
        conn.transport._connparams(holder())


def test_sentinel_addresses():
    assert rt._sentinel_address('sentinel://10.0.0.1:26380', {}) == ('10.0.0.1', 26380)
    assert rt._sentinel_address('sentinel://10.0.0.1', {}) == ('10.0.0.1', 26379)
    assert rt._sentinel_address('h2', {'port': 1}) == ('h2', 1)
    conn = Connection('sentinel://a:1;sentinel://b:2')
    assert type(conn.transport) is rt.SentinelTransport
    assert conn.transport.Channel is rt.SentinelChannel
    assert 'master_name' in rt.SentinelChannel.from_transport_options


def test_scripts_are_self_contained():
    for name in ('PUBLISH', 'FETCH', 'RESTORE'):
        source = getattr(_redis_scripts, name)
        assert source.startswith(_redis_scripts.COMMON)
        assert 'KEYS[1]' in source


# -- PublishWindow with a scripted fake connection --------------------------------

class FakeConnection:
    """Answers like a server: each sent command gets one reply, in order."""

    def __init__(self, replies):
        self.replies = replies      # callable(command) -> reply or exception
        self.sent, self.inbox = [], []
        self.connects = 0
        self.broken = False
        self._sock = object()

    def send_command(self, *command, check_health=True):
        if self.broken:
            raise redis.exceptions.ConnectionError('broken pipe')
        self.sent.append(command)
        self.inbox.append(self.replies(command))

    def read_response(self):
        if self.broken or not self.inbox:
            raise redis.exceptions.ConnectionError('connection lost')
        reply = self.inbox.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def disconnect(self):
        self.inbox = []

    def connect(self):
        self.connects += 1
        self.broken = False


class FakePool:
    def __init__(self, conn):
        self.conn, self.released = conn, 0

    def get_connection(self):
        return self.conn

    def release(self, conn):
        self.released += 1


SCRIPT = SimpleNamespace(sha='abc', script='return 1')
OTHER = SimpleNamespace(sha='def', script='return 2')
ERRORS = (redis.exceptions.ConnectionError,)


def evalsha_ok(command):
    return b'OK' if command[0] == 'SCRIPT' else 1


def test_window_sends_without_waiting_and_confirms_when_full():
    conn = FakeConnection(evalsha_ok)
    window = PublishWindow(FakePool(conn), 3, ERRORS)
    window.send(SCRIPT, ['k'], ['m1'])
    window.send(SCRIPT, ['k'], ['m2'])
    assert len(window) == 2 and conn.sent[0][:2] == ('SCRIPT', 'LOAD')
    assert conn.sent[1] == ('EVALSHA', 'abc', 1, 'k', 'm1')
    window.send(SCRIPT, ['k'], ['m3'])
    assert len(window) == 0 and conn.inbox == []


def test_call_runs_behind_pending_publishes_in_one_round_trip():
    conn = FakeConnection(lambda c: 7 if c[1] == 'def' else evalsha_ok(c))
    window = PublishWindow(FakePool(conn), 100, ERRORS)
    window.send(SCRIPT, ['k'], ['m1'])
    window.send(SCRIPT, ['k'], ['m2'])
    assert window.call(OTHER, ['k2'], ['x']) == 7
    assert len(window) == 0
    assert [c[1] for c in conn.sent if c[0] == 'EVALSHA'] == ['abc', 'abc', 'def']


def test_unconfirmed_publishes_are_resent_after_a_broken_connection():
    conn = FakeConnection(evalsha_ok)
    window = PublishWindow(FakePool(conn), 100, ERRORS)
    for i in range(3):
        window.send(SCRIPT, ['k'], [f'm{i}'])
    conn.inbox = []                  # replies lost with the connection
    window.confirm()
    published = [c[-1] for c in conn.sent if c[0] == 'EVALSHA']
    assert published == ['m0', 'm1', 'm2', 'm0', 'm1', 'm2']
    assert conn.connects == 1 and len(window) == 0


def test_send_retries_once_on_a_fresh_connection_then_raises():
    conn = FakeConnection(evalsha_ok)
    window = PublishWindow(FakePool(conn), 100, ERRORS)
    window.send(SCRIPT, ['k'], ['m0'])
    conn.broken = True
    window.send(SCRIPT, ['k'], ['m1'])          # reconnects, resends m0, sends m1
    assert [c[-1] for c in conn.sent if c[0] == 'EVALSHA'][-2:] == ['m0', 'm1']

    class Down(FakeConnection):
        def connect(self):
            raise redis.exceptions.ConnectionError('refused')
    down = Down(evalsha_ok)
    window = PublishWindow(FakePool(down), 100, ERRORS)
    window.send(SCRIPT, ['k'], ['m0'])
    down.broken = True
    with pytest.raises(redis.exceptions.ConnectionError):
        window.send(SCRIPT, ['k'], ['m1'])
    assert len(window) == 1                     # m0 kept for later, m1 is the caller's


def test_noscript_replies_are_loaded_and_resent():
    state = {'loaded': False}

    def replies(command):
        if command[0] == 'SCRIPT':
            state['loaded'] = True
            return b'abc'
        if not state['loaded']:
            return redis.exceptions.NoScriptError('NOSCRIPT No matching script')
        return 1
    conn = FakeConnection(replies)
    window = PublishWindow(FakePool(conn), 100, ERRORS)
    window._loaded.add('abc')        # believes the server has it (e.g. SCRIPT FLUSH)
    window.send(SCRIPT, ['k'], ['m0'])
    window.send(SCRIPT, ['k'], ['m1'])
    window.confirm()
    assert [c[-1] for c in conn.sent if c[0] == 'EVALSHA'] == ['m0', 'm1', 'm0', 'm1']
    assert len(window) == 0


def test_error_replies_surface_after_the_batch_is_read():
    conn = FakeConnection(lambda c: redis.exceptions.ResponseError('WRONGTYPE')
                          if c[-1] == 'bad' else evalsha_ok(c))
    window = PublishWindow(FakePool(conn), 100, ERRORS)
    window.send(SCRIPT, ['k'], ['ok'])
    window.send(SCRIPT, ['k'], ['bad'])
    window.send(SCRIPT, ['k'], ['ok'])
    with pytest.raises(redis.exceptions.ResponseError):
        window.confirm()
    assert len(window) == 0 and conn.inbox == []


def test_close_reports_what_could_not_be_confirmed():
    conn = FakeConnection(evalsha_ok)
    pool = FakePool(conn)
    window = PublishWindow(pool, 100, ERRORS)
    window.send(SCRIPT, ['k'], ['m0'])
    conn.broken = True

    def refuse():
        raise redis.exceptions.ConnectionError('refused')
    conn.connect = refuse
    seen = []
    window.close(on_error=lambda exc, n: seen.append(n))
    assert seen == [1] and pool.released == 1

