"""Spec conformance of kombu.utils.*: one test per documented statement.

Each test cites the spec file (under ``/work/shared/spec``) it asserts.
"""
from __future__ import annotations

import collections.abc
import contextlib
import datetime
import decimal
import importlib
import io
import json as stdjson
import logging
import sys
import time
import uuid as stduuid

import pytest

from kombu.utils import collections as ucollections
from kombu.utils import (
    compat,
    debug,
    div,
    encoding,
    eventio,
    functional,
    imports,
    limits,
    objects,
    scheduling,
    text,
)
from kombu.utils import json as ujson
from kombu.utils import time as utime

uuid_module = importlib.import_module('kombu.utils.uuid')
amq_manager = importlib.import_module('kombu.utils.amq_manager')


# -- 62-kombu.utils.amq_manager ------------------------------------------------------

def test_get_manager_signature():
    # 62: get_manager(client, hostname=None, port=None, userid=None, password=None)
    assert amq_manager.get_manager.__defaults__ == (None, None, None, None)


# -- 63-kombu.utils.collections ------------------------------------------------------

class _Key:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return self.value == other.value

    def __eqhash__(self):
        return ('key', self.value)

    __hash__ = None


def test_equality_dict_keys_by_eqhash():
    # 63: EqualityDict - "Dict using the eq operator for keying."
    d = ucollections.EqualityDict()
    d[_Key(1)] = 'one'
    assert d[_Key(1)] == 'one'
    assert isinstance(d, dict)


def test_eqhash_calls_dunder_eqhash():
    # 63: eqhash(o) - "Call obj.__eqhash__."
    assert ucollections.eqhash(_Key(3)) == ('key', 3)
    assert ucollections.eqhash('abc') == hash('abc')


def test_hashed_seq_caches_hash():
    # 63: HashedSeq(*seq) - "Type used for hash() to make sure the hash is not
    # generated multiple times."
    seq = ucollections.HashedSeq(1, 2, 3)
    assert list(seq) == [1, 2, 3]
    assert seq.hashvalue == hash((1, 2, 3)) == hash(seq)


# -- 64-kombu.utils.compat -----------------------------------------------------------

def test_coro_primes_generator():
    # 64: coro(gen) - "Decorator to mark generator as co-routine."
    received = []

    @compat.coro
    def sink():
        while True:
            received.append((yield))

    s = sink()
    s.send('hello')  # no explicit next() needed
    assert received == ['hello']


def test_detect_environment_default():
    # 64: detect_environment() - "Detect the current environment: default,
    # eventlet, or gevent."
    assert compat.detect_environment() in ('default', 'eventlet', 'gevent')
    if 'eventlet' not in sys.modules and 'gevent' not in sys.modules:
        assert compat.detect_environment() == 'default'


def test_entrypoints_of_unknown_namespace_is_empty():
    # 64: entrypoints(namespace) - "Return setuptools entrypoints for namespace."
    assert list(compat.entrypoints('h2spec-nonexistent-namespace')) == []


def test_fileno_and_maybe_fileno():
    # 64: fileno(f) - "Get fileno from file-like object."; maybe_fileno(f) -
    # "Get object fileno, or None if not defined."
    assert compat.fileno(sys.stdout) == sys.stdout.fileno()
    assert compat.fileno(5) == 5
    assert compat.maybe_fileno(5) == 5
    assert compat.maybe_fileno(object()) is None
    assert compat.maybe_fileno(io.StringIO()) is None


def test_nested_context_managers():
    # 64: nested(*managers) - "Nest context managers."
    events = []

    @contextlib.contextmanager
    def cm(n):
        events.append(('enter', n))
        yield n
        events.append(('exit', n))

    with compat.nested(cm(1), cm(2)) as values:
        assert list(values) == [1, 2]
    assert events == [('enter', 1), ('enter', 2), ('exit', 2), ('exit', 1)]


# -- 65-kombu.utils.debug ------------------------------------------------------------

def test_setup_logging_defaults_and_levels():
    # 65: setup_logging(loglevel=10, loggers=None) - "Setup logging to stdout."
    assert debug.setup_logging.__defaults__ == (10, None)
    name = 'h2spec.debug.logger'
    debug.setup_logging(loglevel=logging.INFO, loggers=[name])
    logger = logging.getLogger(name)
    try:
        assert logger.level == logging.INFO
        assert logger.handlers
    finally:
        logger.handlers.clear()


def test_logwrapped_wraps_methods_and_logs_calls(caplog):
    # 65: Logwrapped(instance, logger=None, ident=None) - "Wrap all object
    # methods, to log on call."
    logger = logging.getLogger('h2spec.logwrapped')
    wrapped = debug.Logwrapped([1, 2], logger=logger, ident='ID')
    with caplog.at_level(logging.DEBUG, logger='h2spec.logwrapped'):
        wrapped.append(3)
    assert wrapped.instance == [1, 2, 3]
    assert any('append' in r.getMessage() for r in caplog.records)


# -- 66-kombu.utils.div --------------------------------------------------------------

def test_emergency_dump_state_writes_to_a_file():
    # 66: emergency_dump_state(state, open_file=open, dump=None, stderr=None) -
    # "Dump message state to stdout or file."
    assert div.emergency_dump_state.__defaults__[0] is open
    stderr = io.StringIO()
    path = div.emergency_dump_state({'a': 1}, stderr=stderr)
    try:
        assert path in stderr.getvalue()
        with open(path, 'rb') as fh:
            assert fh.read()
    finally:
        import os
        os.unlink(path)


# -- 67-kombu.utils.encoding ---------------------------------------------------------

def test_bytes_to_str_and_str_to_bytes():
    # 67: bytes_to_str(s) - "Convert bytes to str."; str_to_bytes(s) - "Convert
    # str to bytes."
    assert encoding.bytes_to_str(b'abc') == 'abc'
    assert encoding.bytes_to_str('abc') == 'abc'
    assert encoding.str_to_bytes('\u20ac') == b'\xe2\x82\xac'
    assert encoding.str_to_bytes(b'abc') == b'abc'


def test_ensure_bytes():
    # 67: ensure_bytes(s) - "Ensure s is bytes, not str."
    assert encoding.ensure_bytes('abc') == b'abc'
    assert encoding.ensure_bytes(b'abc') == b'abc'


def test_from_utf8_returns_str():
    # 67: from_utf8(s, *args, **kwargs) - "Get str from utf-8 encoding."
    assert encoding.from_utf8('abc') == 'abc'
    assert encoding.from_utf8('abc', 'extra', key=1) == 'abc'


def test_default_encoding_and_file():
    # 67: default_encoding(file=None), default_encoding_file = None,
    # get/set_default_encoding_file
    assert encoding.default_encoding() == 'utf-8'
    assert encoding.default_encoding_file is None
    assert encoding.get_default_encoding_file() is None
    try:
        encoding.set_default_encoding_file(sys.stdout)
        assert encoding.get_default_encoding_file() is sys.stdout
    finally:
        encoding.set_default_encoding_file(None)
    assert encoding.default_encode('abc') == 'abc'


def test_safe_str_and_safe_repr_never_raise():
    # 67: safe_str(s, errors='replace') / safe_repr(o, errors='replace') -
    # "void of Unicode errors"
    class Bad:
        def __str__(self):
            raise UnicodeDecodeError('utf-8', b'x', 0, 1, 'bad')

        __repr__ = __str__

    assert encoding.safe_str('abc') == 'abc'
    assert encoding.safe_str(b'\xff') == '\ufffd'
    assert encoding.safe_str(5) == '5'
    assert encoding.safe_repr('abc') == "'abc'"
    assert isinstance(encoding.safe_str(Bad()), str)
    assert isinstance(encoding.safe_repr(Bad()), str)
    assert encoding.safe_str.__defaults__ == ('replace',)
    assert encoding.safe_repr.__defaults__ == ('replace',)


# -- 68-kombu.utils.eventio ----------------------------------------------------------

def test_poll_creates_a_poller():
    # 68: poll(*args, **kwargs) - "Create new poller instance."
    poller = eventio.poll()
    try:
        for method in ('register', 'unregister', 'poll', 'close'):
            assert callable(getattr(poller, method))
    finally:
        poller.close()


# -- 69-kombu.utils.functional -------------------------------------------------------

def test_lru_cache_discards_least_recently_used():
    # 69: LRUCache(limit=None) - "When a new key is inserted and the limit has
    # been exceeded, the Least Recently Used key will be discarded"
    assert functional.LRUCache().limit is None
    cache = functional.LRUCache(limit=2)
    cache['a'] = 1
    cache['b'] = 2
    cache['a']  # 'a' is now the most recently used
    cache['c'] = 3
    assert list(cache.keys()) == ['a', 'c']
    assert list(cache.values()) == [1, 3]
    assert list(cache.items()) == [('a', 1), ('c', 3)]
    assert list(cache.iterkeys()) == ['a', 'c']
    assert list(cache.itervalues()) == [1, 3]
    assert list(cache.iteritems()) == [('a', 1), ('c', 3)]


def test_lru_cache_incr_popitem_update():
    # 69: incr(key, delta=1); popitem() - "raise KeyError if D is empty";
    # update([E, ]**F)
    cache = functional.LRUCache(limit=10)
    cache['n'] = 1
    assert cache.incr('n') == 2
    assert cache.incr('n', 5) == 7
    cache.update({'x': 1}, y=2)
    cache.update([('z', 3)])
    assert set(cache.keys()) == {'n', 'x', 'y', 'z'}
    key, value = cache.popitem()
    assert key in ('n', 'x', 'y', 'z') and key not in cache
    with pytest.raises(KeyError):
        functional.LRUCache().popitem()


def test_memoize_caches_return_values():
    # 69: memoize(maxsize=None, keyfun=None, Cache=LRUCache) - "Decorator to
    # cache function return value."
    assert functional.memoize.__defaults__ == (None, None, functional.LRUCache)
    calls = []

    @functional.memoize(maxsize=2)
    def square(x):
        calls.append(x)
        return x * x

    assert [square(2), square(2), square(3), square(4), square(2)] == [4, 4, 9, 16, 4]
    assert calls == [2, 3, 4, 2]  # 2 was evicted by the maxsize of 2


def test_memoize_keyfun():
    # 69: memoize(keyfun=...)
    @functional.memoize(keyfun=lambda args, kwargs: args[0] % 2)
    def parity(x):
        return x

    assert [parity(1), parity(3), parity(2), parity(4)] == [1, 1, 2, 2]


def test_lazy_is_reevaluated_on_every_call():
    # 69: lazy - "Evaluated when called or if the evaluate() method is called.
    # The function is re-evaluated on every call."
    calls = []
    promise = functional.lazy(lambda x, y=1: calls.append(x) or x + y, 1, y=2)
    assert promise() == 3
    assert promise.evaluate() == 3
    assert calls == [1, 1]


def test_lazy_str_repr_and_comparisons_evaluate():
    # 69: "Overloaded operations that will evaluate the promise: __str__(),
    # __repr__(), __cmp__()."
    promise = functional.lazy(lambda: 42)
    assert str(promise) == '42'
    assert repr(promise) == '42'
    assert promise == 42 and promise != 41
    assert promise < 50 and promise <= 42 and promise > 1 and promise >= 42
    assert not promise < 42
    assert promise.__cmp__(50) == -1
    assert promise.__cmp__(42) == 0
    assert promise.__cmp__(1) == 1
    assert sorted([functional.lazy(lambda: 2), functional.lazy(lambda: 1)]) == [1, 2]


def test_maybe_evaluate():
    # 69: maybe_evaluate(value) - "Evaluate value only if value is a lazy instance."
    assert functional.maybe_evaluate(functional.lazy(lambda: 7)) == 7
    sentinel = object()
    assert functional.maybe_evaluate(sentinel) is sentinel


def test_is_list():
    # 69: is_list - "Return true if the object is iterable." / "Returns false if
    # object is a mapping or string."
    assert functional.is_list.__defaults__ == (
        (collections.abc.Mapping, str), (collections.abc.Iterable,))
    assert functional.is_list([1]) and functional.is_list((1,)) and functional.is_list({1})
    assert functional.is_list(iter([1]))
    assert not functional.is_list('abc')
    assert not functional.is_list({'a': 1})
    assert not functional.is_list(5)


def test_maybe_list():
    # 69: maybe_list(l, scalars=(Mapping, str)) - "Return list of one element if
    # l is a scalar."
    assert functional.maybe_list(1) == [1]
    assert functional.maybe_list('abc') == ['abc']
    assert functional.maybe_list({'a': 1}) == [{'a': 1}]
    assert functional.maybe_list([1, 2]) == [1, 2]
    assert functional.maybe_list((1,)) == (1,)
    assert functional.maybe_list(None) is None


def test_dictfilter():
    # 69: dictfilter(d=None, **kw) - "Remove all keys from dict d whose value is None."
    assert functional.dictfilter({'a': 1, 'b': None, 'c': 0}) == {'a': 1, 'c': 0}
    assert functional.dictfilter(None, a=1, b=None) == {'a': 1}
    assert functional.dictfilter() == {}


# -- 70-kombu.utils.imports ----------------------------------------------------------

def test_symbol_by_name_dotted_and_colon():
    # 70: "modulename.ClassName" or "using ':' to separate module and symbol"
    assert imports.symbol_by_name('kombu.utils.limits.TokenBucket') is limits.TokenBucket
    assert imports.symbol_by_name('kombu.utils.limits:TokenBucket') is limits.TokenBucket


def test_symbol_by_name_aliases():
    # 70: "If aliases is provided, a dict containing short name/long name
    # mappings, the name is looked up in the aliases first."
    aliases = {'default': 'kombu.utils.limits.TokenBucket'}
    assert imports.symbol_by_name('default', aliases) is limits.TokenBucket
    assert imports.symbol_by_name('kombu.utils.limits:TokenBucket', aliases) is (
        limits.TokenBucket)


def test_symbol_by_name_does_not_look_up_non_string_names():
    # 70: "Does not try to look up non-string names."
    assert imports.symbol_by_name(limits.TokenBucket) is limits.TokenBucket


def test_symbol_by_name_default_and_errors():
    # 70: symbol_by_name(name, aliases=None, imp=None, package=None, sep='.',
    # default=None, **kwargs)
    assert imports.symbol_by_name.__defaults__ == (None, None, None, '.', None)
    assert imports.symbol_by_name('h2spec_nonexistent.mod.Cls', default='D') == 'D'
    assert imports.symbol_by_name('kombu.utils.limits.Nope', default='D') == 'D'
    with pytest.raises(ImportError):
        imports.symbol_by_name('h2spec_nonexistent.mod.Cls')
    with pytest.raises(AttributeError):
        imports.symbol_by_name('kombu.utils.limits.Nope')
    assert imports.symbol_by_name('.limits:TokenBucket', package='kombu.utils') is (
        limits.TokenBucket)


# -- 71-kombu.utils.json -------------------------------------------------------------

def test_json_encoder_handles_documented_types():
    # 71: JSONEncoder.default(o, dates=(datetime, date), times=(time,),
    # textual=(Decimal, UUID, DjangoPromise))
    assert issubclass(ujson.JSONEncoder, stdjson.JSONEncoder)
    assert ujson.dumps(datetime.datetime(2020, 1, 2, 3, 4, 5)) == '"2020-01-02T03:04:05"'
    assert ujson.dumps(datetime.date(2020, 1, 2)) == '"2020-01-02T00:00:00"'
    assert ujson.dumps(datetime.time(3, 4, 5)) == '"03:04:05"'
    assert ujson.dumps(decimal.Decimal('1.10')) == '"1.10"'
    assert ujson.dumps(stduuid.UUID(int=1)) == '"00000000-0000-0000-0000-000000000001"'

    class Promise(ujson.DjangoPromise):
        def __str__(self):
            return 'lazy text'

    assert ujson.dumps(Promise()) == '"lazy text"'


def test_json_encoder_default_raises_type_error_for_unknown_objects():
    # 71: "or calls the base implementation (to raise a TypeError)."
    with pytest.raises(TypeError):
        ujson.JSONEncoder().default(object())


def test_json_dumps_and_loads():
    # 71: dumps(s, _dumps=json.dumps, cls=None, default_kwargs=None, **kwargs) -
    # "Serialize object to json string."; loads(s, _loads=json.loads,
    # decode_bytes=True) - "Deserialize json from string."
    assert ujson.dumps({'b': 1, 'a': 2}, sort_keys=True) == '{"a": 2, "b": 1}'
    assert ujson.dumps({'b': 1, 'a': 2}, default_kwargs={'sort_keys': True}) == (
        '{"a": 2, "b": 1}')
    assert ujson.loads('{"a": 1}') == {'a': 1}
    assert ujson.loads(b'{"a": 1}') == {'a': 1}
    assert ujson.loads(bytearray(b'[1]')) == [1]
    assert ujson.loads.__defaults__[1] is True


# -- 72-kombu.utils.limits -----------------------------------------------------------

def test_token_bucket_defaults():
    # 72: TokenBucket(fill_rate, capacity=1); capacity = 1, fill_rate = None,
    # timestamp = None
    assert limits.TokenBucket.capacity == 1
    assert limits.TokenBucket.fill_rate is None
    assert limits.TokenBucket.timestamp is None
    bucket = limits.TokenBucket(2)
    assert bucket.fill_rate == 2 and bucket.capacity == 1
    assert bucket.timestamp is not None


def test_token_bucket_can_consume_is_all_or_nothing():
    # 72: "Calls will only consume tokens (the number requested) or zero tokens
    # - it will never consume a partial number of tokens."
    bucket = limits.TokenBucket(0.0001, capacity=3)
    assert bucket.can_consume(2) is True
    assert bucket.can_consume(2) is False
    assert bucket.can_consume(1) is True
    assert bucket.can_consume(1) is False


def test_token_bucket_refills_at_fill_rate():
    # 72: fill_rate - "The rate in tokens/second that the bucket will be refilled."
    bucket = limits.TokenBucket(20, capacity=1)
    assert bucket.can_consume()
    assert not bucket.can_consume()
    time.sleep(0.08)
    assert bucket.can_consume()


def test_token_bucket_expected_time():
    # 72: expected_time(tokens=1) - "Return estimated time of token
    # availability." (float seconds)
    full = limits.TokenBucket(1, capacity=3)
    assert full.expected_time() == 0.0
    assert isinstance(full.expected_time(), float)
    bucket = limits.TokenBucket(2, capacity=1)
    bucket.can_consume()
    assert 0.4 < bucket.expected_time() <= 0.5
    assert 1.4 < bucket.expected_time(3) <= 1.5


def test_token_bucket_pending_items():
    # 72: add(item), pop(), clear_pending()
    bucket = limits.TokenBucket(1)
    bucket.add('a')
    bucket.add('b')
    assert bucket.pop() == 'a'
    bucket.clear_pending()
    with pytest.raises(IndexError):
        bucket.pop()


# -- 73-kombu.utils.objects ----------------------------------------------------------

class _Owner:
    def __init__(self):
        self.created = 0
        self.deleted = []

    @objects.cached_property
    def connection(self):
        self.created += 1
        return f'conn{self.created}'

    @connection.setter  # Prepares stored value
    def connection(self, value):
        if value is None:
            raise TypeError('Connection must be a connection')
        return value.upper()

    @connection.deleter
    def connection(self, value):
        self.deleted.append(value)


def test_cached_property_caches_first_call():
    # 73: "Caches the return value of the get method on first call."
    owner = _Owner()
    assert owner.connection == 'conn1'
    assert owner.connection == 'conn1'
    assert owner.created == 1


def test_cached_property_setter_prepares_stored_value():
    # 73: "@connection.setter  # Prepares stored value"
    owner = _Owner()
    owner.connection = 'abc'
    assert owner.connection == 'ABC'
    assert owner.created == 0
    with pytest.raises(TypeError, match='Connection must be a connection'):
        owner.connection = None


def test_cached_property_deleter_receives_value_and_clears_cache():
    # 73: "@connection.deleter ... Additional action to do at del(self.attr)"
    owner = _Owner()
    assert owner.connection == 'conn1'
    del owner.connection
    assert owner.deleted == ['conn1']
    assert owner.connection == 'conn2'


def test_cached_property_class_access_returns_descriptor():
    # 73: cached_property(fget=None, fset=None, fdel=None, doc=None)
    assert isinstance(_Owner.connection, objects.cached_property)
    assert objects.cached_property(lambda self: 1, doc='hello').__doc__ == 'hello'


# -- 74-kombu.utils.scheduling -------------------------------------------------------

def test_fair_cycle_gives_each_resource_a_chance():
    # 74: FairCycle(fun, resources, predicate=Exception) - "Consume from a set of
    # resources, where each resource gets an equal chance to be consumed from."
    assert scheduling.FairCycle.__init__.__defaults__ == (Exception,)

    def fun(resource, callback, **kwargs):
        if resource == 'empty':
            raise ValueError(resource)
        return resource, kwargs

    cycle = scheduling.FairCycle(fun, ['a', 'empty', 'b'], predicate=ValueError)
    got = [cycle.get(None, x=1)[0] for _ in range(4)]
    assert got == ['a', 'b', 'a', 'b']


def test_fair_cycle_raises_predicate_when_all_resources_fail():
    # 74: predicate (type) - "Exception predicate."
    def fun(resource, callback):
        raise ValueError(resource)

    cycle = scheduling.FairCycle(fun, ['a', 'b'], predicate=ValueError)
    with pytest.raises(ValueError):
        cycle.get(None)
    with pytest.raises(ZeroDivisionError):  # other errors propagate
        scheduling.FairCycle(lambda r, cb: 1 / 0, ['a'], predicate=ValueError).get(None)
    scheduling.FairCycle(fun, ['a']).close()


def test_round_robin_cycle():
    # 74: round_robin_cycle - consume(n) "Consume n items.", rotate(last_used)
    # "Move most recently used item to end of list.", update(it)
    cycle = scheduling.round_robin_cycle([1, 2, 3])
    assert list(cycle.consume(2)) == [1, 2]
    cycle.rotate(1)
    assert list(cycle.consume(3)) == [2, 3, 1]
    cycle.update([4, 5])
    assert list(cycle.consume(5)) == [4, 5]
    assert list(scheduling.round_robin_cycle().consume(2)) == []


def test_priority_cycle_repeats_items_in_order():
    # 74: priority_cycle - "Cycle that repeats items in order."; rotate "Unused"
    cycle = scheduling.priority_cycle([3, 1, 2])
    assert list(cycle.consume(3)) == [3, 1, 2]
    cycle.rotate(3)
    assert list(cycle.consume(3)) == [3, 1, 2]


def test_sorted_cycle_consumes_in_sorted_order():
    # 74: sorted_cycle - "Cycle in sorted order."
    cycle = scheduling.sorted_cycle([3, 1, 2])
    assert list(cycle.consume(3)) == [1, 2, 3]
    cycle.update(['b', 'a'])
    assert list(cycle.consume(2)) == ['a', 'b']


# -- 75-kombu.utils.text -------------------------------------------------------------

def test_escape_regex():
    # 75: escape_regex(p, white='') - "Escape string for use within a regular
    # expression."
    import re
    assert escape_ok(text.escape_regex('a.b*c'), 'a.b*c')
    assert text.escape_regex('a b', white=' ') == 'a b'
    assert re.match(text.escape_regex('a+b(c)'), 'a+b(c)')
    assert not re.match(text.escape_regex('a.b'), 'aXb')


def escape_ok(pattern, literal):
    import re
    return re.fullmatch(pattern, literal) is not None


def test_fmatch_best_and_iter():
    # 75: fmatch_best(needle, haystack, min_ratio=0.6) - "Find best match
    # (scalar)."; fmatch_iter - "Yields Tuple - of ratio and key."
    assert text.fmatch_best('colour', ['color', 'flavour', 'xyz']) == 'color'
    assert text.fmatch_best('zzzz', ['color']) is None
    results = list(text.fmatch_iter('colour', ['color', 'flavour', 'xyz']))
    assert [key for _, key in results] == ['color', 'flavour']
    assert all(isinstance(ratio, float) and ratio >= 0.6 for ratio, _ in results)
    assert text.fmatch_iter.__defaults__ == (0.6,)


@pytest.mark.parametrize('s,expected', [
    ('4.6.7', (4, 6, 7, '', '')),
    ('1.2.3rc1-foo', (1, 2, 3, 'rc1', 'foo')),
    ('1.2', (1, 2, 0, '', '')),
    ('1.2.3.4.5', (1, 2, 3, '4', '5')),
    ('1.2.3.rc1.foo', (1, 2, 3, 'rc1', 'foo')),
])
def test_version_string_as_tuple(s, expected):
    # 75: version_string_as_tuple(s) - "Convert version string to version info tuple."
    version = text.version_string_as_tuple(s)
    assert tuple(version) == expected
    assert version.major == expected[0] and version.serial == expected[4]


# -- 76-kombu.utils.time / 78-kombu.utils.uuid ---------------------------------------

def test_maybe_s_to_ms():
    # 76: maybe_s_to_ms(v) - "Convert seconds to milliseconds, but return None
    # for None."
    assert utime.maybe_s_to_ms(None) is None
    assert utime.maybe_s_to_ms(1) == 1000
    assert utime.maybe_s_to_ms(1.5) == 1500
    assert isinstance(utime.maybe_s_to_ms(1.5), int)


def test_uuid_is_uuid4_text():
    # 78: uuid(_uuid=uuid4) - "Generate unique id in UUID4 format."
    assert uuid_module.uuid.__defaults__ == (stduuid.uuid4,)
    value = uuid_module.uuid()
    assert isinstance(value, str) and len(value) == 36
    assert stduuid.UUID(value).version == 4
    assert value != uuid_module.uuid()
    assert uuid_module.uuid(_uuid=lambda: 'fixed') == 'fixed'
