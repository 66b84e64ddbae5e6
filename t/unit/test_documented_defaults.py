"""Documented signatures, default values and attribute values of the core API.

Transcribed from the API reference (10-kombu, 11-kombu.common, 13-kombu.mixins,
14-kombu.simple, 17-kombu.pidbox, 20-kombu.connection, 21-kombu.message,
23-kombu.pools, 61-kombu.serialization); the spec is not read at run time.
Each signature is compared with ``inspect.signature`` (annotations and ``self``
dropped; defaults printed as ``<object object>`` / ``<function f>`` compare by
kind only).
"""
# ruff: noqa: E501 - the signature table is transcribed verbatim from the reference
from __future__ import annotations

import importlib
import inspect
import re

import pytest

#: (documented dotted name, documented parameter list)
SIGNATURES = [
    ('kombu.enable_insecure_serializers', 'choices=<object object>'),
    ('kombu.disable_insecure_serializers', 'allowed=<object object>'),
    ('kombu.Connection', "hostname='localhost', userid=None, password=None, virtual_host=None, port=None, insist=False, ssl=False, transport=None, connect_timeout=5, transport_options=None, login_method=None, uri_prefix=None, heartbeat=0, failover_strategy='round-robin', alternates=None, **kwargs"),
    ('kombu.Connection.as_uri', "include_password=False, mask='**', getfields=operator.itemgetter('port', 'userid', 'password', 'virtual_host', 'transport')"),
    ('kombu.Connection.connect', ''),
    ('kombu.Connection.channel', ''),
    ('kombu.Connection.drain_events', '**kwargs'),
    ('kombu.Connection.release', ''),
    ('kombu.Connection.autoretry', 'fun, channel=None, **ensure_options'),
    ('kombu.Connection.ensure_connection', 'errback=None, max_retries=None, interval_start=2, interval_step=2, interval_max=30, callback=None, reraise_as_library_errors=True, timeout=None'),
    ('kombu.Connection.ensure', 'obj, fun, errback=None, max_retries=None, interval_start=1, interval_step=1, interval_max=1, on_revive=None'),
    ('kombu.Connection.revive', 'new_channel'),
    ('kombu.Connection.create_transport', ''),
    ('kombu.Connection.get_transport_cls', ''),
    ('kombu.Connection.clone', '**kwargs'),
    ('kombu.Connection.info', ''),
    ('kombu.Connection.switch', 'conn_str'),
    ('kombu.Connection.maybe_switch_next', ''),
    ('kombu.Connection.heartbeat_check', 'rate=2'),
    ('kombu.Connection.maybe_close_channel', 'channel'),
    ('kombu.Connection.register_with_event_loop', 'loop'),
    ('kombu.Connection.close', ''),
    ('kombu.Connection._close', ''),
    ('kombu.Connection.completes_cycle', 'retries'),
    ('kombu.Connection.get_manager', '*args, **kwargs'),
    ('kombu.Connection.Producer', 'channel=None, *args, **kwargs'),
    ('kombu.Connection.Consumer', 'queues=None, channel=None, *args, **kwargs'),
    ('kombu.Connection.Pool', 'limit=None, **kwargs'),
    ('kombu.Connection.ChannelPool', 'limit=None, **kwargs'),
    ('kombu.Connection.SimpleQueue', 'name, no_ack=None, queue_opts=None, queue_args=None, exchange_opts=None, channel=None, **kwargs'),
    ('kombu.Connection.SimpleBuffer', 'name, no_ack=None, queue_opts=None, queue_args=None, exchange_opts=None, channel=None, **kwargs'),
    ('kombu.Exchange', "name='', type='', channel=None, **kwargs"),
    ('kombu.Exchange.maybe_bind', 'channel'),
    ('kombu.Exchange.Message', 'body, delivery_mode=None, properties=None, **kwargs'),
    ('kombu.Exchange.bind_to', "exchange='', routing_key='', arguments=None, nowait=False, channel=None, **kwargs"),
    ('kombu.Exchange.binding', "routing_key='', arguments=None, unbind_arguments=None"),
    ('kombu.Exchange.declare', 'nowait=False, passive=None, channel=None'),
    ('kombu.Exchange.delete', 'if_unused=False, nowait=False'),
    ('kombu.Exchange.publish', 'message, routing_key=None, mandatory=False, immediate=False, exchange=None'),
    ('kombu.Exchange.unbind_from', "source='', routing_key='', nowait=False, arguments=None, channel=None"),
    ('kombu.Queue', "name='', exchange=None, routing_key='', channel=None, bindings=None, on_declared=None, **kwargs"),
    ('kombu.Queue.maybe_bind', 'channel'),
    ('kombu.Queue.as_dict', 'recurse=False'),
    ('kombu.Queue.bind', 'channel'),
    ('kombu.Queue.bind_to', "exchange='', routing_key='', arguments=None, nowait=False, channel=None"),
    ('kombu.Queue.cancel', 'consumer_tag'),
    ('kombu.Queue.consume', "consumer_tag='', callback=None, no_ack=None, nowait=False"),
    ('kombu.Queue.declare', 'nowait=False, channel=None'),
    ('kombu.Queue.delete', 'if_unused=False, if_empty=False, nowait=False'),
    ('kombu.Queue.from_dict', 'queue, **options'),
    ('kombu.Queue.get', 'no_ack=None, accept=None'),
    ('kombu.Queue.purge', 'nowait=False'),
    ('kombu.Queue.queue_bind', 'nowait=False, channel=None'),
    ('kombu.Queue.queue_declare', 'nowait=False, passive=False, channel=None'),
    ('kombu.Queue.queue_unbind', 'arguments=None, nowait=False, channel=None'),
    ('kombu.Queue.unbind_from', "exchange='', routing_key='', arguments=None, nowait=False, channel=None"),
    ('kombu.Queue.when_bound', ''),
    ('kombu.Producer', 'channel, exchange=None, routing_key=None, serializer=None, auto_declare=None, compression=None, on_return=None'),
    ('kombu.Producer.declare', ''),
    ('kombu.Producer.maybe_declare', 'entity, retry=False, **retry_policy'),
    ('kombu.Producer.publish', 'body, routing_key=None, delivery_mode=None, mandatory=False, immediate=False, priority=0, content_type=None, content_encoding=None, serializer=None, headers=None, compression=None, exchange=None, retry=False, retry_policy=None, declare=None, expiration=None, **properties'),
    ('kombu.Producer.revive', 'channel'),
    ('kombu.Consumer', 'channel, queues=None, no_ack=None, auto_declare=None, callbacks=None, on_decode_error=None, on_message=None, accept=None, prefetch_count=None, tag_prefix=None'),
    ('kombu.Consumer.declare', ''),
    ('kombu.Consumer.register_callback', 'callback'),
    ('kombu.Consumer.add_queue', 'queue'),
    ('kombu.Consumer.consume', 'no_ack=None'),
    ('kombu.Consumer.cancel', ''),
    ('kombu.Consumer.cancel_by_queue', 'queue'),
    ('kombu.Consumer.consuming_from', 'queue'),
    ('kombu.Consumer.purge', ''),
    ('kombu.Consumer.flow', 'active'),
    ('kombu.Consumer.qos', 'prefetch_size=0, prefetch_count=0, apply_global=False'),
    ('kombu.Consumer.recover', 'requeue=False'),
    ('kombu.Consumer.receive', 'body, message'),
    ('kombu.Consumer.revive', 'channel'),
    ('kombu.connection.Connection', "hostname='localhost', userid=None, password=None, virtual_host=None, port=None, insist=False, ssl=False, transport=None, connect_timeout=5, transport_options=None, login_method=None, uri_prefix=None, heartbeat=0, failover_strategy='round-robin', alternates=None, **kwargs"),
    ('kombu.connection.Connection.ChannelPool', 'limit=None, **kwargs'),
    ('kombu.connection.Connection.Consumer', 'queues=None, channel=None, *args, **kwargs'),
    ('kombu.connection.Connection.Pool', 'limit=None, **kwargs'),
    ('kombu.connection.Connection.Producer', 'channel=None, *args, **kwargs'),
    ('kombu.connection.Connection.SimpleBuffer', 'name, no_ack=None, queue_opts=None, queue_args=None, exchange_opts=None, channel=None, **kwargs'),
    ('kombu.connection.Connection.SimpleQueue', 'name, no_ack=None, queue_opts=None, queue_args=None, exchange_opts=None, channel=None, **kwargs'),
    ('kombu.connection.Connection.as_uri', "include_password=False, mask='**', getfields=operator.itemgetter('port', 'userid', 'password', 'virtual_host', 'transport')"),
    ('kombu.connection.Connection.autoretry', 'fun, channel=None, **ensure_options'),
    ('kombu.connection.Connection.channel', ''),
    ('kombu.connection.Connection.clone', '**kwargs'),
    ('kombu.connection.Connection.close', ''),
    ('kombu.connection.Connection.collect', 'socket_timeout=None'),
    ('kombu.connection.Connection.completes_cycle', 'retries'),
    ('kombu.connection.Connection.connect', ''),
    ('kombu.connection.Connection.create_transport', ''),
    ('kombu.connection.Connection.drain_events', '**kwargs'),
    ('kombu.connection.Connection.ensure', 'obj, fun, errback=None, max_retries=None, interval_start=1, interval_step=1, interval_max=1, on_revive=None'),
    ('kombu.connection.Connection.ensure_connection', 'errback=None, max_retries=None, interval_start=2, interval_step=2, interval_max=30, callback=None, reraise_as_library_errors=True, timeout=None'),
    ('kombu.connection.Connection.get_heartbeat_interval', ''),
    ('kombu.connection.Connection.get_manager', '*args, **kwargs'),
    ('kombu.connection.Connection.get_transport_cls', ''),
    ('kombu.connection.Connection.heartbeat_check', 'rate=2'),
    ('kombu.connection.Connection.info', ''),
    ('kombu.connection.Connection.maybe_close_channel', 'channel'),
    ('kombu.connection.Connection.maybe_switch_next', ''),
    ('kombu.connection.Connection.register_with_event_loop', 'loop'),
    ('kombu.connection.Connection.release', ''),
    ('kombu.connection.Connection.revive', 'new_channel'),
    ('kombu.connection.Connection.supports_exchange_type', 'exchange_type'),
    ('kombu.connection.Connection.switch', 'conn_str'),
    ('kombu.connection.ConnectionPool', 'connection, limit=None, **kwargs'),
    ('kombu.connection.ConnectionPool.acquire', 'block=False, timeout=None'),
    ('kombu.connection.ConnectionPool.release', 'resource'),
    ('kombu.connection.ConnectionPool.force_close_all', ''),
    ('kombu.connection.ChannelPool', 'connection, limit=None, **kwargs'),
    ('kombu.connection.ChannelPool.acquire', 'block=False, timeout=None'),
    ('kombu.connection.ChannelPool.release', 'resource'),
    ('kombu.connection.ChannelPool.force_close_all', ''),
    ('kombu.message.Message', 'body=None, delivery_tag=None, content_type=None, content_encoding=None, delivery_info=None, properties=None, headers=None, postencode=None, accept=None, channel=None, **kwargs'),
    ('kombu.message.Message.ack', 'multiple=False'),
    ('kombu.message.Message.ack_log_error', 'logger, errors, multiple=False'),
    ('kombu.message.Message.decode', ''),
    ('kombu.message.Message.reject', 'requeue=False'),
    ('kombu.message.Message.reject_log_error', 'logger, errors, requeue=False'),
    ('kombu.message.Message.requeue', ''),
    ('kombu.simple.SimpleQueue', 'channel, name, no_ack=None, queue_opts=None, queue_args=None, exchange_opts=None, serializer=None, compression=None, **kwargs'),
    ('kombu.simple.SimpleQueue.get', 'block=True, timeout=None'),
    ('kombu.simple.SimpleQueue.get_nowait', ''),
    ('kombu.simple.SimpleQueue.put', 'message, serializer=None, headers=None, compression=None, routing_key=None, **kwargs'),
    ('kombu.simple.SimpleQueue.clear', ''),
    ('kombu.simple.SimpleQueue.__len__', ''),
    ('kombu.simple.SimpleQueue.qsize', ''),
    ('kombu.simple.SimpleQueue.close', ''),
    ('kombu.simple.SimpleBuffer', 'channel, name, no_ack=None, queue_opts=None, queue_args=None, exchange_opts=None, serializer=None, compression=None, **kwargs'),
    ('kombu.simple.SimpleBuffer.get', 'block=True, timeout=None'),
    ('kombu.simple.SimpleBuffer.get_nowait', ''),
    ('kombu.simple.SimpleBuffer.put', 'message, serializer=None, headers=None, compression=None, routing_key=None, **kwargs'),
    ('kombu.simple.SimpleBuffer.clear', ''),
    ('kombu.simple.SimpleBuffer.__len__', ''),
    ('kombu.simple.SimpleBuffer.qsize', ''),
    ('kombu.simple.SimpleBuffer.close', ''),
    ('kombu.pools.ProducerPool', 'connections, *args, **kwargs'),
    ('kombu.pools.ProducerPool.Producer', 'channel, exchange=None, routing_key=None, serializer=None, auto_declare=None, compression=None, on_return=None'),
    ('kombu.pools.ProducerPool.Producer.close', ''),
    ('kombu.pools.ProducerPool.Producer.declare', ''),
    ('kombu.pools.ProducerPool.Producer.maybe_declare', 'entity, retry=False, **retry_policy'),
    ('kombu.pools.ProducerPool.Producer.publish', 'body, routing_key=None, delivery_mode=None, mandatory=False, immediate=False, priority=0, content_type=None, content_encoding=None, serializer=None, headers=None, compression=None, exchange=None, retry=False, retry_policy=None, declare=None, expiration=None, **properties'),
    ('kombu.pools.ProducerPool.Producer.release', ''),
    ('kombu.pools.ProducerPool.Producer.revive', 'channel'),
    ('kombu.pools.ProducerPool.close_resource', 'resource'),
    ('kombu.pools.ProducerPool.create_producer', ''),
    ('kombu.pools.ProducerPool.new', ''),
    ('kombu.pools.ProducerPool.prepare', 'p'),
    ('kombu.pools.ProducerPool.release', 'resource'),
    ('kombu.pools.ProducerPool.setup', ''),
    ('kombu.pools.PoolGroup', 'limit=None, close_after_fork=True'),
    ('kombu.pools.PoolGroup.create', 'resource, limit'),
    ('kombu.pools.register_group', 'group'),
    ('kombu.pools.get_limit', ''),
    ('kombu.pools.set_limit', 'limit, force=False, reset_after=False, ignore_errors=False'),
    ('kombu.pools.reset', '*args, **kwargs'),
    ('kombu.common.Broadcast', 'name=None, queue=None, unique=False, auto_delete=True, exchange=None, alias=None, **kwargs'),
    ('kombu.common.maybe_declare', 'entity, channel=None, retry=False, **retry_policy'),
    ('kombu.common.uuid', '_uuid=<function uuid4>'),
    ('kombu.common.itermessages', 'conn, channel, queue, limit=1, timeout=None, callbacks=None, **kwargs'),
    ('kombu.common.send_reply', 'exchange, req, msg, producer=None, retry=False, retry_policy=None, **props'),
    ('kombu.common.collect_replies', 'conn, channel, queue, *args, **kwargs'),
    ('kombu.common.insured', 'pool, fun, args, kwargs, errback=None, on_revive=None, **opts'),
    ('kombu.common.drain_consumer', 'consumer, limit=1, timeout=None, callbacks=None'),
    ('kombu.common.eventloop', 'conn, limit=None, timeout=None, ignore_timeouts=False'),
    ('kombu.pidbox.Mailbox', "namespace, type='direct', connection=None, clock=None, accept=None, serializer=None, producer_pool=None, queue_ttl=None, queue_expires=None, reply_queue_ttl=None, reply_queue_expires=10.0"),
    ('kombu.pidbox.Mailbox.Node', 'hostname=None, state=None, channel=None, handlers=None'),
    ('kombu.pidbox.Mailbox.call', 'destination, command, kwargs=None, timeout=None, callback=None, channel=None'),
    ('kombu.pidbox.Mailbox.cast', 'destination, command, kwargs=None'),
    ('kombu.pidbox.Mailbox.abcast', 'command, kwargs=None'),
    ('kombu.pidbox.Mailbox.multi_call', 'command, kwargs=None, timeout=1, limit=None, callback=None, channel=None'),
    ('kombu.pidbox.Mailbox.get_reply_queue', ''),
    ('kombu.pidbox.Mailbox.get_queue', 'hostname'),
    ('kombu.pidbox.Node', 'hostname, state=None, channel=None, handlers=None, mailbox=None'),
    ('kombu.pidbox.Node.Consumer', 'channel=None, no_ack=True, accept=None, **options'),
    ('kombu.pidbox.Node.handler', 'fun'),
    ('kombu.pidbox.Node.listen', 'channel=None, callback=None'),
    ('kombu.pidbox.Node.dispatch', 'method, arguments=None, reply_to=None, ticket=None, **kwargs'),
    ('kombu.pidbox.Node.dispatch_from_message', 'body, message=None'),
    ('kombu.pidbox.Node.handle_call', 'method, arguments'),
    ('kombu.pidbox.Node.handle_cast', 'method, arguments'),
    ('kombu.pidbox.Node.handle', 'method, arguments=None'),
    ('kombu.pidbox.Node.handle_message', 'body, message=None'),
    ('kombu.pidbox.Node.reply', 'data, exchange, routing_key, ticket, **kwargs'),
    ('kombu.serialization.dumps', 'data, serializer=None'),
    ('kombu.serialization.loads', "data, content_type, content_encoding, accept=None, force=False, _trusted_content=frozenset({'application/data', 'application/text'})"),
    ('kombu.serialization.raw_encode', 'data'),
    ('kombu.serialization.register', "name, encoder, decoder, content_type, content_encoding='utf-8'"),
    ('kombu.serialization.unregister', 'name'),
]


def resolve(dotted: str):
    """Import the longest module prefix of ``dotted`` and walk the rest as attributes."""
    parts = dotted.split('.')
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = inspect.getattr_static(obj, attr) if inspect.isclass(obj) else getattr(obj, attr)
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if isinstance(obj, property):
            obj = obj.fget
        return obj
    raise ImportError(dotted)


_ADDRESS = re.compile(r' at 0x[0-9a-f]+')


def documented_default(text: str) -> str:
    """Defaults the docs print as ``<...>`` are compared by their kind only."""
    text = _ADDRESS.sub('', text)
    if text.startswith('<object object'):
        return '<object object>'
    if text.startswith('<function '):
        return '<function ' + text.split()[1].split('.')[-1].rstrip('>') + '>'
    return text


def actual_params(obj) -> str:
    sig = inspect.signature(obj)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    if inspect.isfunction(obj) and params and params[0].name in ('self', 'cls'):
        params = params[1:]
    out = []
    for p in params:
        text = str(p)
        if p.default is not inspect.Parameter.empty:
            name, _, default = text.partition('=')
            if isinstance(p.default, frozenset):
                default = 'frozenset(' + repr(set(sorted(p.default))) + ')'
            text = f'{name}={documented_default(default)}'
        out.append(text)
    return ', '.join(out)


def normalize_documented(params: str) -> str:
    parts = []
    for part in _split(params):
        name, eq, default = part.partition('=')
        if not eq:
            parts.append(part)
            continue
        if default.startswith('frozenset('):
            inner = default[len('frozenset('):-1]
            default = 'frozenset(' + repr(set(sorted(eval(inner)))) + ')'  # noqa: S307
        parts.append(f'{name}={documented_default(default)}')
    return ', '.join(parts)


def _split(params: str) -> list[str]:
    """Split a parameter list on top-level commas."""
    depth, current, out = 0, '', []
    for ch in params:
        if ch in '([{':
            depth += 1
        elif ch in ')]}':
            depth -= 1
        if ch == ',' and depth == 0:
            out.append(current.strip())
            current = ''
        else:
            current += ch
    if current.strip():
        out.append(current.strip())
    return out


@pytest.mark.parametrize('dotted,params', SIGNATURES,
                         ids=[f'{s[0]}({s[1][:20]})' for s in SIGNATURES])
def test_documented_signature(dotted, params):
    obj = resolve(dotted)
    assert actual_params(obj) == normalize_documented(params)


#: (documented dotted class, attribute, documented value)
ATTRIBUTES = [
    ('kombu.Connection', 'hostname', None),
    ('kombu.Connection', 'port', None),
    ('kombu.Connection', 'userid', None),
    ('kombu.Connection', 'password', None),
    ('kombu.Connection', 'virtual_host', '/'),
    ('kombu.Connection', 'ssl', None),
    ('kombu.Connection', 'login_method', None),
    ('kombu.Connection', 'failover_strategy', 'round-robin'),
    ('kombu.Connection', 'connect_timeout', 5),
    ('kombu.Connection', 'heartbeat', None),
    ('kombu.Connection', 'uri_prefix', None),
    ('kombu.Connection', 'declared_entities', None),
    ('kombu.Connection', 'cycle', None),
    ('kombu.connection.Connection', 'transport_options', None),
    ('kombu.connection.Connection', 'resolve_aliases', {'librabbitmq': 'amqp', 'pyamqp': 'amqp'}),
    ('kombu.Exchange', 'PERSISTENT_DELIVERY_MODE', 2),
    ('kombu.Exchange', 'TRANSIENT_DELIVERY_MODE', 1),
    ('kombu.Exchange', 'auto_delete', False),
    ('kombu.Exchange', 'delivery_mode', None),
    ('kombu.Exchange', 'durable', True),
    ('kombu.Exchange', 'name', ''),
    ('kombu.Exchange', 'no_declare', False),
    ('kombu.Exchange', 'passive', False),
    ('kombu.Exchange', 'type', 'direct'),
    ('kombu.Queue', 'auto_delete', False),
    ('kombu.Queue', 'durable', True),
    ('kombu.Queue', 'exclusive', False),
    ('kombu.Queue', 'name', ''),
    ('kombu.Queue', 'no_ack', False),
    ('kombu.Queue', 'routing_key', ''),
    ('kombu.Producer', 'auto_declare', True),
    ('kombu.Producer', 'compression', None),
    ('kombu.Producer', 'exchange', None),
    ('kombu.Producer', 'on_return', None),
    ('kombu.Producer', 'routing_key', ''),
    ('kombu.Producer', 'serializer', None),
    ('kombu.Consumer', 'channel', None),
    ('kombu.Consumer', 'no_ack', None),
    ('kombu.Consumer', 'auto_declare', True),
    ('kombu.Consumer', 'callbacks', None),
    ('kombu.Consumer', 'on_message', None),
    ('kombu.Consumer', 'on_decode_error', None),
    ('kombu.Consumer', 'accept', None),
    ('kombu.Consumer', 'prefetch_count', None),
    ('kombu.message.Message', 'errors', None),
    ('kombu.pools.ProducerPool', 'close_after_fork', True),
    ('kombu.pools.ProducerPool.Producer', 'auto_declare', True),
    ('kombu.pools.ProducerPool.Producer', 'compression', None),
    ('kombu.pools.ProducerPool.Producer', 'exchange', None),
    ('kombu.pools.ProducerPool.Producer', 'on_return', None),
    ('kombu.pools.ProducerPool.Producer', 'routing_key', ''),
    ('kombu.pools.ProducerPool.Producer', 'serializer', None),
    ('kombu.mixins.ConsumerMixin', 'connect_max_retries', None),
    ('kombu.mixins.ConsumerMixin', 'should_stop', False),
    ('kombu.pidbox.Mailbox', 'namespace', None),
    ('kombu.pidbox.Mailbox', 'connection', None),
    ('kombu.pidbox.Mailbox', 'type', 'direct'),
    ('kombu.pidbox.Mailbox', 'exchange', None),
    ('kombu.pidbox.Mailbox', 'reply_exchange', None),
    ('kombu.pidbox.Node', 'hostname', None),
    ('kombu.pidbox.Node', 'mailbox', None),
    ('kombu.pidbox.Node', 'handlers', None),
    ('kombu.pidbox.Node', 'state', None),
    ('kombu.pidbox.Node', 'channel', None),
]


@pytest.mark.parametrize('dotted,attr,value', ATTRIBUTES,
                         ids=[f'{d}.{a}' for d, a, _ in ATTRIBUTES])
def test_documented_class_attribute(dotted, attr, value):
    actual = getattr(resolve(dotted), attr)
    assert actual == value and type(actual) is type(value)


#: The ``attrs`` tables the reference prints (converters shown as classes).
ATTRS_TABLES = {
    'kombu.Exchange': (('name', None), ('type', None), ('arguments', None), ('durable', bool),
                       ('passive', bool), ('auto_delete', bool), ('delivery_mode', 'lambda'),
                       ('no_declare', bool)),
    'kombu.Queue': (('name', None), ('exchange', None), ('routing_key', None),
                    ('queue_arguments', None), ('binding_arguments', None),
                    ('consumer_arguments', None), ('durable', bool), ('exclusive', bool),
                    ('auto_delete', bool), ('no_ack', None), ('alias', None),
                    ('bindings', list), ('no_declare', bool), ('expires', float),
                    ('message_ttl', float), ('max_length', int), ('max_length_bytes', int),
                    ('max_priority', int)),
}
ATTRS_TABLES['kombu.common.Broadcast'] = ATTRS_TABLES['kombu.Queue'] + (('queue', None),)


@pytest.mark.parametrize('dotted', sorted(ATTRS_TABLES))
def test_documented_attrs_table(dotted):
    actual = resolve(dotted).attrs
    expected = ATTRS_TABLES[dotted]
    assert [name for name, _ in actual] == [name for name, _ in expected]
    for (name, conv), (_, documented) in zip(actual, expected):
        if documented == 'lambda':
            assert callable(conv), name
        else:
            assert conv is documented, name


def test_documented_pool_exceptions():
    from kombu import connection, exceptions
    assert connection.ConnectionPool.LimitExceeded is exceptions.ConnectionLimitExceeded
    assert connection.ChannelPool.LimitExceeded is exceptions.ChannelLimitExceeded
    # the Pool()/ChannelPool() examples' tracebacks name them in kombu.connection
    assert connection.ConnectionLimitExceeded is exceptions.ConnectionLimitExceeded
    assert connection.ChannelLimitExceeded is exceptions.ChannelLimitExceeded


def test_documented_failover_strategies():
    import itertools

    from kombu import Connection
    strategies = Connection.failover_strategies
    assert set(strategies) == {'round-robin', 'shuffle'}
    assert strategies['round-robin'] is itertools.cycle
    assert callable(strategies['shuffle'])


def test_documented_serialization_registry():
    from kombu import serialization
    assert type(serialization.registry).__name__ == 'SerializerRegistry'
    assert serialization.pickle_protocol == 2 or 'PICKLE_PROTOCOL' in __import__('os').environ


# --- Defaults that the parameter descriptions state -------------------------------

def _memory():
    from kombu import Connection
    return Connection('memory://')


def _instance_defaults():
    from kombu import Connection, Consumer, Exchange, Producer, Queue
    from kombu.common import Broadcast
    from kombu.pidbox import Mailbox
    conn = Connection()
    return [
        # Connection: "a connection without arguments" is amqp://guest:guest@localhost:5672//
        ('Connection().hostname', lambda: conn.info()['hostname'], 'localhost'),
        ('Connection().port', lambda: conn.info()['port'], 5672),
        ('Connection().userid', lambda: conn.info()['userid'], 'guest'),
        ('Connection().password', lambda: conn.info()['password'], 'guest'),
        ('Connection().virtual_host', lambda: conn.info()['virtual_host'], '/'),
        ('Connection().transport', lambda: conn.transport_cls, 'amqp'),
        ('Connection().ssl', lambda: conn.ssl, False),
        ('Connection().insist', lambda: conn.insist, False),
        ('Connection().connect_timeout', lambda: conn.connect_timeout, 5),
        ('Connection().heartbeat', lambda: conn.heartbeat, 0),
        ('Connection().transport_options', lambda: conn.transport_options, {}),
        ('Connection().failover_strategy', lambda: conn.info()['failover_strategy'],
         'round-robin'),
        ('Connection().connected', lambda: conn.connected, False),
        ('Connection.Pool().limit', lambda: _memory().Pool().limit, None),
        ('Connection.ChannelPool().limit', lambda: _memory().ChannelPool().limit, None),
        # Exchange
        ('Exchange().name', lambda: Exchange().name, ''),
        ('Exchange(name).type', lambda: Exchange('x').type, 'direct'),
        ('Exchange().durable', lambda: Exchange('x').durable, True),
        ('Exchange().auto_delete', lambda: Exchange('x').auto_delete, False),
        ('Exchange().delivery_mode', lambda: Exchange('x').delivery_mode, None),
        ('Exchange(delivery_mode="transient")',
         lambda: Exchange('x', delivery_mode='transient').delivery_mode, 1),
        ('Exchange(delivery_mode="persistent")',
         lambda: Exchange('x', delivery_mode='persistent').delivery_mode, 2),
        ('Exchange().arguments', lambda: Exchange('x').arguments, None),
        ('Exchange().no_declare', lambda: Exchange('x').no_declare, False),
        ('Exchange().is_bound', lambda: Exchange('x').is_bound, False),
        # Queue
        ('Queue().name', lambda: Queue().name, ''),
        ('Queue().routing_key', lambda: Queue('q').routing_key, ''),
        ('Queue().exchange', lambda: repr(Queue('q').exchange), "<unbound Exchange ''(direct)>"),
        ('Queue(exchange=str).exchange', lambda: Queue('q', 'ex').exchange, Exchange('ex')),
        ('Queue().durable', lambda: Queue('q').durable, True),
        ('Queue().exclusive', lambda: Queue('q').exclusive, False),
        ('Queue().auto_delete', lambda: Queue('q').auto_delete, False),
        ('Queue(exclusive=True).auto_delete',
         lambda: Queue('q', exclusive=True).auto_delete, True),
        ('Queue().no_ack', lambda: Queue('q').no_ack, False),
        ('Queue().alias', lambda: Queue('q').alias, None),
        ('Queue().on_declared', lambda: Queue('q').on_declared, None),
        ('Queue().queue_arguments', lambda: Queue('q').queue_arguments, None),
        ('Queue().binding_arguments', lambda: Queue('q').binding_arguments, None),
        ('Queue().consumer_arguments', lambda: Queue('q').consumer_arguments, None),
        ('Queue().expires', lambda: Queue('q').expires, None),
        ('Queue().message_ttl', lambda: Queue('q').message_ttl, None),
        ('Queue().max_length', lambda: Queue('q').max_length, None),
        ('Queue().max_length_bytes', lambda: Queue('q').max_length_bytes, None),
        ('Queue().max_priority', lambda: Queue('q').max_priority, None),
        ('Queue(expires=...) float', lambda: Queue('q', expires='1.5').expires, 1.5),
        ('Queue(max_length=...) int', lambda: Queue('q', max_length='3').max_length, 3),
        # Producer / Consumer on a channel
        ('Producer().serializer', lambda: Producer(_memory()).serializer, None),
        ('Producer().routing_key', lambda: Producer(_memory()).routing_key, ''),
        ('Producer().compression', lambda: Producer(_memory()).compression, None),
        ('Producer().auto_declare', lambda: Producer(_memory()).auto_declare, True),
        ('Producer().exchange', lambda: repr(Producer(_memory()).exchange).split(' bound')[0]
         .replace('<unbound ', '<'), "<Exchange ''(direct)>"),
        ('Consumer().no_ack', lambda: bool(Consumer(_memory()).no_ack), False),
        ('Consumer().auto_declare', lambda: Consumer(_memory()).auto_declare, True),
        ('Consumer().queues', lambda: Consumer(_memory()).queues, []),
        ('Consumer().callbacks', lambda: Consumer(_memory()).callbacks, []),
        ('Consumer().accept', lambda: Consumer(_memory()).accept, None),
        ('Consumer().prefetch_count', lambda: Consumer(_memory()).prefetch_count, None),
        ('Consumer(accept=names).accept',
         lambda: Consumer(_memory(), accept=['json']).accept, {'application/json'}),
        # SimpleQueue / SimpleBuffer
        ('SimpleQueue().no_ack', lambda: _memory().SimpleQueue('dq').no_ack, False),
        ('SimpleBuffer().no_ack', lambda: _memory().SimpleBuffer('db').no_ack, True),
        ('SimpleQueue() names', lambda: (lambda s: (s.queue.name, s.queue.exchange.name,
                                                   s.queue.routing_key))(
            _memory().SimpleQueue('dq2')), ('dq2', 'dq2', 'dq2')),
        # common / pidbox / pools
        ('Broadcast().auto_delete', lambda: Broadcast('b').auto_delete, True),
        ('Broadcast().exchange', lambda: (lambda b: (b.exchange.name, b.exchange.type))(
            Broadcast('b')), ('b', 'fanout')),
        ('Mailbox().type', lambda: Mailbox('m').type, 'direct'),
        ('Mailbox().reply_queue_expires', lambda: Mailbox('m').reply_queue_expires, 10.0),
        ('Mailbox().exchange', lambda: Mailbox('m').exchange.name, 'm.pidbox'),
        ('Mailbox().reply_exchange', lambda: Mailbox('m').reply_exchange.name,
         'reply.m.pidbox'),
        ('pools.get_limit()', lambda: __import__('kombu.pools').pools.get_limit(), 200),
        ('PoolGroup().limit', lambda: __import__('kombu.pools').pools.PoolGroup().limit, None),
        ('serialization.dumps(str)',
         lambda: __import__('kombu.serialization').serialization.dumps('x'),
         ('text/plain', 'utf-8', b'x')),
        ('serialization.dumps(bytes)',
         lambda: __import__('kombu.serialization').serialization.dumps(b'x'),
         ('application/data', 'binary', b'x')),
        ('serialization.dumps(dict)',
         lambda: __import__('kombu.serialization').serialization.dumps({'a': 1})[:2],
         ('application/json', 'utf-8')),
    ]


_INSTANCE = _instance_defaults()


@pytest.mark.parametrize('label,get,expected', _INSTANCE, ids=[i[0] for i in _INSTANCE])
def test_documented_instance_default(label, get, expected):
    assert get() == expected
