"""kombu.serialization: the serializer registry, dumps/loads, accept lists, plugins."""
from __future__ import annotations

import importlib.metadata
import os
import pickle
import subprocess
import sys
import textwrap
import types

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kombu import serialization
from kombu.exceptions import (
    ContentDisallowed,
    DecodeError,
    EncodeError,
    SerializerNotInstalled,
)
from kombu.serialization import (
    SKIP_DECODE,
    TRUSTED_CONTENT,
    SerializerRegistry,
    disable_insecure_serializers,
    dumps,
    enable_insecure_serializers,
    loads,
    prepare_accept_content,
    raw_encode,
    register,
    registry,
    unregister,
)

JSON = 'application/json'
PICKLE = 'application/x-python-serialize'
YAML = 'application/x-yaml'
MSGPACK = 'application/x-msgpack'
INSECURE_TYPES = {PICKLE, YAML, MSGPACK}


def _snapshot(r: SerializerRegistry) -> dict:
    return {k: (v.copy() if isinstance(v, (dict, set)) else v) for k, v in vars(r).items()}


def _restore(r: SerializerRegistry, saved: dict) -> None:
    for key, value in saved.items():
        current = getattr(r, key)
        if isinstance(current, (dict, set)):  # mutated in place: module aliases share them
            current.clear()
            current.update(value)
        else:
            setattr(r, key, value)


@pytest.fixture
def global_registry():
    """The global registry, restored to its previous state after the test."""
    saved = _snapshot(registry)
    try:
        yield registry
    finally:
        _restore(registry, saved)


@pytest.fixture
def fresh():
    """A registry with only a test serializer registered."""
    r = SerializerRegistry()
    r.register('rev', lambda s: s[::-1], lambda s: ('decoded', s), 'application/x-rev', 'utf-8')
    r._set_default_serializer('rev')
    r._entrypoints_loaded = True  # keep installed plugins out of these tests
    return r


def wire(payload):
    """What a transport hands back: bytes."""
    return payload.encode('utf-8') if isinstance(payload, str) else payload


# -- dumps ---------------------------------------------------------------

def test_dumps_uses_json_for_structures_by_default():
    assert dumps({'a': [1, 2]}) == (JSON, 'utf-8', '{"a": [1, 2]}')


def test_dumps_passes_bytes_through_as_binary_data():
    assert dumps(b'\x00\xff') == ('application/data', 'binary', b'\x00\xff')


def test_dumps_sends_str_as_utf8_text_plain():
    assert dumps('å') == ('text/plain', 'utf-8', 'å'.encode())


def test_dumps_uses_the_named_serializer_even_for_str():
    assert dumps('abc', serializer='json') == (JSON, 'utf-8', '"abc"')


def test_dumps_json_escapes_non_ascii_like_kombu():
    assert dumps('å', serializer='json')[2] == '"\\u00e5"'


@pytest.mark.parametrize('data,expected', [
    (b'abc', ('application/data', 'binary', b'abc')),
    ('abc', ('application/data', 'utf-8', b'abc')),
    (1, ('application/data', 'binary', 1)),
])
def test_raw_serializer_sends_data_unserialized(data, expected):
    assert dumps(data, serializer='raw') == expected
    assert raw_encode(data) == expected


def test_dumps_pickle_is_binary():
    content_type, encoding, payload = dumps({'a': 1}, serializer='pickle')
    assert (content_type, encoding) == (PICKLE, 'binary')
    assert pickle.loads(payload) == {'a': 1}


def test_dumps_unknown_serializer_raises_naming_it():
    # the message starts like the reference's: 'No encoder installed for nope'
    with pytest.raises(SerializerNotInstalled, match='^No encoder installed for nope') as excinfo:
        dumps({}, serializer='nope')
    assert isinstance(excinfo.value, KeyError)  # kombu 4.x callers catch KeyError


def test_dumps_with_decoder_only_serializer_raises(fresh):
    fresh.register('dec', None, lambda s: s, 'application/x-dec')
    with pytest.raises(SerializerNotInstalled, match='only be decoded'):
        fresh.dumps(1, serializer='dec')


def test_dumps_encoder_failure_is_encode_error_chained():
    with pytest.raises(EncodeError, match='not JSON serializable') as excinfo:
        dumps(object())
    assert isinstance(excinfo.value.__cause__, TypeError)


def test_dumps_lets_serializer_not_installed_through(fresh):
    def needs_library(obj):
        raise SerializerNotInstalled('install it')
    fresh.register('lib', needs_library, None, 'application/x-lib')
    with pytest.raises(SerializerNotInstalled, match='install it'):
        fresh.dumps(1, serializer='lib')


def test_set_default_serializer_changes_what_dumps_uses(fresh):
    fresh.register('other', lambda s: 'OTHER', None, 'application/x-other', 'binary')
    fresh._set_default_serializer('other')
    assert fresh.dumps({'a': 1}) == ('application/x-other', 'binary', 'OTHER')
    assert fresh._default_content_type == 'application/x-other'
    assert fresh._default_content_encoding == 'binary'


def test_set_default_serializer_unknown_raises(fresh):
    with pytest.raises(SerializerNotInstalled, match='bogus'):
        fresh._set_default_serializer('bogus')


def test_reregistering_the_default_serializer_updates_dumps(fresh):
    fresh.register('rev', lambda s: 'NEW', None, 'application/x-rev')
    assert fresh.dumps({'a': 1})[2] == 'NEW'


# -- loads ---------------------------------------------------------------

@pytest.mark.parametrize('data', [b'{"a": 1}', '{"a": 1}', bytearray(b'{"a": 1}'),
                                  memoryview(b'{"a": 1}')])
def test_loads_json_from_any_buffer(data):
    assert loads(data, JSON, 'utf-8') == {'a': 1}


@pytest.mark.parametrize('data', [b'', '', None])
def test_loads_returns_empty_data_as_is(data):
    assert loads(data, JSON, 'utf-8') is data


def test_loads_binary_data_is_returned_untouched():
    assert loads(b'\xff\x00', 'application/data', 'binary') == b'\xff\x00'


@pytest.mark.parametrize('encoding', sorted(SKIP_DECODE))
def test_loads_skip_decode_encodings_keep_bytes(encoding):
    assert loads(b'abc', 'application/x-unknown', encoding) == b'abc'


def test_loads_text_of_unknown_type_is_decoded_with_its_encoding():
    assert loads('å'.encode('latin-1'), 'text/plain', 'latin-1') == 'å'
    assert loads(b'abc', 'text/plain', 'UTF-8') == 'abc'


def test_loads_missing_content_type_and_encoding_mean_utf8_data():
    assert loads(b'abc', None, None) == 'abc'
    assert loads(b'abc', None, 'binary') == b'abc'


def test_loads_hands_decoders_the_data_as_received(fresh):
    assert fresh.loads(b'x', 'application/x-rev', 'utf-8') == ('decoded', b'x')


def test_loads_decode_failure_is_decode_error_chained():
    with pytest.raises(DecodeError) as excinfo:
        loads(b'{', JSON, 'utf-8')
    assert isinstance(excinfo.value.__cause__, ValueError)


def test_loads_undecodable_text_is_decode_error():
    with pytest.raises(DecodeError) as excinfo:
        loads(b'\xff', 'text/plain', 'utf-8')
    assert isinstance(excinfo.value.__cause__, UnicodeDecodeError)


def test_loads_unknown_text_encoding_is_decode_error():
    with pytest.raises(DecodeError, match='bogus-enc'):
        loads(b'abc', 'text/plain', 'bogus-enc')


# -- accept / disabled content -------------------------------------------

def test_insecure_serializers_are_disabled_by_default():
    assert INSECURE_TYPES <= registry._disabled_content_types
    assert JSON not in registry._disabled_content_types


def test_loads_refuses_disabled_content_naming_it():
    payload = pickle.dumps(1)
    with pytest.raises(ContentDisallowed, match=r'disabled content of type pickle \(application/'):
        loads(payload, PICKLE, 'binary')


def test_loads_force_decodes_disabled_content():
    assert loads(pickle.dumps([1]), PICKLE, 'binary', force=True) == [1]


@pytest.mark.parametrize('accept', [[PICKLE], ['pickle'], {'pickle', 'json'}, (JSON, PICKLE)])
def test_accept_takes_names_or_content_types(accept):
    assert loads(pickle.dumps([1]), PICKLE, 'binary', accept=accept) == [1]


def test_accept_overrides_disabled_content(global_registry):
    global_registry.disable('json')
    with pytest.raises(ContentDisallowed):
        loads(b'[1]', JSON, 'utf-8')
    assert loads(b'[1]', JSON, 'utf-8', accept=['json']) == [1]


@pytest.mark.parametrize('force', [False, True])
def test_content_not_in_accept_is_refused_even_with_force(force):
    with pytest.raises(ContentDisallowed, match=r'untrusted content of type pickle') as excinfo:
        loads(pickle.dumps(1), PICKLE, 'binary', accept=['json'], force=force)
    assert PICKLE in str(excinfo.value)


def test_unregistered_content_type_not_in_accept_is_refused():
    with pytest.raises(ContentDisallowed, match='text/plain'):
        loads(b'x', 'text/plain', 'utf-8', accept=[JSON])


@pytest.mark.parametrize('content_type', sorted(TRUSTED_CONTENT))
def test_trusted_content_is_always_accepted(content_type):
    assert loads(b'x', content_type, 'binary', accept=[JSON]) == b'x'


def test_trusted_content_can_be_overridden():
    with pytest.raises(ContentDisallowed, match='application/data'):
        loads(b'x', 'application/data', 'binary', accept=[JSON], _trusted_content=())


def test_empty_accept_refuses_everything_untrusted():
    with pytest.raises(ContentDisallowed):
        loads(b'[1]', JSON, 'utf-8', accept=[])


def test_content_disallowed_is_a_serializer_not_installed():
    assert issubclass(ContentDisallowed, SerializerNotInstalled)


# -- prepare_accept_content ------------------------------------------------

def test_prepare_accept_content_maps_names_to_content_types():
    assert prepare_accept_content(['json', 'pickle', 'application/x-custom']) == {
        JSON, PICKLE, 'application/x-custom'}


def test_prepare_accept_content_none_is_none():
    assert prepare_accept_content(None) is None


def test_prepare_accept_content_unknown_name_raises_naming_it():
    with pytest.raises(SerializerNotInstalled, match='installed for nope') as excinfo:
        prepare_accept_content(['json', 'nope'])
    assert isinstance(excinfo.value, KeyError)


def test_prepare_accept_content_returns_a_fresh_set_each_time():
    first = prepare_accept_content(['json'])
    first.add('application/x-mutated')
    assert prepare_accept_content(['json']) == {JSON}


def test_prepare_accept_content_cache_follows_registrations(global_registry):
    register('custom', str, str, 'application/x-custom-1')
    assert prepare_accept_content(['custom']) == {'application/x-custom-1'}
    register('custom', str, str, 'application/x-custom-2')
    assert prepare_accept_content(['custom']) == {'application/x-custom-2'}
    unregister('custom')
    with pytest.raises(SerializerNotInstalled):
        prepare_accept_content(['custom'])


def test_prepare_accept_content_with_own_name_map():
    assert prepare_accept_content(['x', 'a/b'], name_to_type={'x': 'x/y'}) == {'x/y', 'a/b'}
    with pytest.raises(KeyError, match='json'):
        prepare_accept_content(['json'], name_to_type={})


# -- register / unregister ---------------------------------------------------

def test_register_records_both_name_maps(global_registry):
    register('custom', str, str, 'application/x-custom', 'binary')
    assert registry.type_to_name['application/x-custom'] == 'custom'
    assert registry.name_to_type['custom'] == 'application/x-custom'
    assert dumps(5, serializer='custom') == ('application/x-custom', 'binary', '5')
    assert loads(b'5', 'application/x-custom', 'binary') == "b'5'"


def test_unregister_removes_encoder_and_decoder(global_registry):
    register('custom', str, lambda s: 'decoded', 'application/x-custom')
    unregister('custom')
    assert 'custom' not in registry.name_to_type
    assert 'application/x-custom' not in registry.type_to_name
    with pytest.raises(SerializerNotInstalled):
        dumps(1, serializer='custom')
    assert loads(b'x', 'application/x-custom', 'utf-8') == 'x'  # no decoder: plain text


def test_unregister_unknown_raises_naming_it():
    # the message starts like the reference's
    with pytest.raises(SerializerNotInstalled, match='^No encoder/decoder installed for nope'):
        unregister('nope')


def test_builtin_serializers_are_registered():
    assert registry.name_to_type == {**registry.name_to_type, 'json': JSON, 'pickle': PICKLE,
                                     'yaml': YAML, 'msgpack': MSGPACK}
    assert registry._default_content_type == JSON
    assert registry._default_content_encoding == 'utf-8'


# -- enable / disable insecure serializers ----------------------------------

def test_enable_insecure_serializers_enables_pickle_yaml_msgpack(global_registry):
    enable_insecure_serializers()
    assert not INSECURE_TYPES & registry._disabled_content_types
    assert loads(pickle.dumps(1), PICKLE, 'binary') == 1


def test_enable_insecure_serializers_takes_names_or_content_types(global_registry):
    enable_insecure_serializers(['pickle', YAML])
    assert registry._disabled_content_types & INSECURE_TYPES == {MSGPACK}


def test_enable_insecure_serializers_ignores_unknown_names(global_registry):
    enable_insecure_serializers(['pickle', 'bogus'])  # like kombu: unknown names are skipped
    assert registry._disabled_content_types & INSECURE_TYPES == {YAML, MSGPACK}
    enable_insecure_serializers(['bogus'])
    assert registry._disabled_content_types & INSECURE_TYPES == {YAML, MSGPACK}
    enable_insecure_serializers('yaml')  # a single name
    assert registry._disabled_content_types & INSECURE_TYPES == {MSGPACK}


def test_disable_insecure_serializers_allows_only_json(global_registry):
    enable_insecure_serializers()
    disable_insecure_serializers()
    assert registry._disabled_content_types >= INSECURE_TYPES
    assert JSON not in registry._disabled_content_types
    with pytest.raises(ContentDisallowed):
        loads(pickle.dumps(1), PICKLE, 'binary')


def test_disable_insecure_serializers_keeps_allowed(global_registry):
    disable_insecure_serializers(['json', PICKLE])
    assert registry._disabled_content_types & (INSECURE_TYPES | {JSON}) == {YAML, MSGPACK}


def test_disable_insecure_serializers_none_disables_all(global_registry):
    disable_insecure_serializers(None)
    with pytest.raises(ContentDisallowed, match='json'):
        loads(b'[1]', JSON, 'utf-8')


def test_disable_unknown_serializer_raises_and_changes_nothing(global_registry):
    before = set(registry._disabled_content_types)
    with pytest.raises(SerializerNotInstalled, match='bogus'):
        disable_insecure_serializers(['json', 'bogus'])
    assert registry._disabled_content_types == before


# -- pickle protocol, optional libraries -----------------------------------

def test_pickle_uses_module_protocol(monkeypatch):
    monkeypatch.setattr(serialization, 'pickle_protocol', 4)
    assert dumps(1, serializer='pickle')[2][:2] == b'\x80\x04'
    monkeypatch.setattr(serialization, 'pickle_protocol', 2)
    assert dumps(1, serializer='pickle')[2][:2] == b'\x80\x02'


def test_pickle_protocol_defaults_to_2_and_reads_environment():
    code = 'import kombu.serialization as s; print(s.pickle_protocol)'
    outputs = []
    for value in (None, '5'):
        env = {k: v for k, v in os.environ.items() if k != 'PICKLE_PROTOCOL'}
        if value:
            env['PICKLE_PROTOCOL'] = value
        outputs.append(subprocess.run([sys.executable, '-c', code], env=env, check=True,
                                      capture_output=True, text=True).stdout.strip())
    assert outputs == ['2', '5']


def test_pickle_loads_accepts_buffers_and_custom_load():
    data = pickle.dumps({'a': 1})
    assert serialization.pickle_loads(memoryview(data)) == {'a': 1}
    assert serialization.pickle_loads(data, load=pickle.load) == {'a': 1}


@pytest.mark.parametrize('name,module', [('msgpack', 'msgpack'), ('yaml', 'yaml')])
def test_missing_optional_library_names_the_extra(monkeypatch, name, module):
    monkeypatch.setitem(sys.modules, module, None)  # import fails
    monkeypatch.setattr(serialization, '_optional_modules', {})
    with pytest.raises(SerializerNotInstalled, match=rf'kombu\[{name}\]'):
        dumps({'a': 1}, serializer=name)
    with pytest.raises(SerializerNotInstalled, match=rf'kombu\[{name}\]'):
        loads(b'x', registry.name_to_type[name], 'binary', accept=[name])


def test_yaml_uses_the_safe_loader():
    with pytest.raises(DecodeError):
        loads(b'!!python/object/apply:os.getcwd []', YAML, 'utf-8', accept=['yaml'])


# -- round trips ----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=20,
)
msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**64 - 1)
    | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=20,
)
pickle_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | st.binary() | st.complex_numbers(allow_nan=False) | st.decimals(allow_nan=False)
    | st.datetimes() | st.uuids(),
    lambda children: st.lists(children, max_size=5) | st.tuples(children, children)
    | st.frozensets(st.integers() | st.text(), max_size=5)
    | st.dictionaries(st.text() | st.integers(), children, max_size=5),
    max_leaves=20,
)
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(st.characters(codec='utf-8', exclude_categories=('Cs', 'Cc', 'Zl', 'Zp'))),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4),
    max_leaves=12,
)
roundtrip = settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@roundtrip
@given(json_values)
def test_json_round_trip(value):
    content_type, encoding, payload = dumps(value, serializer='json')
    assert loads(wire(payload), content_type, encoding) == value


@roundtrip
@given(pickle_values)
def test_pickle_round_trip(value):
    content_type, encoding, payload = dumps(value, serializer='pickle')
    assert loads(payload, content_type, encoding, accept=['pickle']) == value


@roundtrip
@given(msgpack_values)
def test_msgpack_round_trip(value):
    content_type, encoding, payload = dumps(value, serializer='msgpack')
    assert (content_type, encoding) == (MSGPACK, 'binary')
    assert loads(payload, content_type, encoding, accept=[MSGPACK]) == value


@roundtrip
@given(yaml_values)
def test_yaml_round_trip(value):
    content_type, encoding, payload = dumps(value, serializer='yaml')
    assert (content_type, encoding) == (YAML, 'utf-8')
    assert loads(wire(payload), content_type, encoding, accept=['yaml']) == value


@roundtrip
@given(st.binary() | st.text(min_size=1))
def test_raw_data_round_trip(value):
    content_type, encoding, payload = dumps(value)
    assert loads(payload, content_type, encoding) == value


# -- setuptools entry points ---------------------------------------------------

PLUGIN = textwrap.dedent('''
    def encode(obj):
        return 'P:' + repr(obj)

    def decode(data):
        return ('plugin', bytes(data))

    register_args = (encode, decode, 'application/x-kombu-test-plugin', 'utf-8')
''')


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch, global_registry):
    """An installed distribution declaring a ``kombu.serializers`` entry point."""
    (tmp_path / 'kombu_test_plugin.py').write_text(PLUGIN)
    dist = tmp_path / 'kombu_test_plugin-1.0.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: kombu-test-plugin\nVersion: 1.0\n')
    (dist / 'entry_points.txt').write_text(
        '[kombu.serializers]\nplugser = kombu_test_plugin:register_args\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, 'kombu_test_plugin', raising=False)
    global_registry._entrypoints_loaded = False
    return global_registry


def test_entry_point_serializer_is_loaded_lazily_for_dumps(plugin_dist):
    assert 'plugser' not in plugin_dist.name_to_type
    assert dumps(1, serializer='plugser') == ('application/x-kombu-test-plugin', 'utf-8', 'P:1')
    assert plugin_dist.type_to_name['application/x-kombu-test-plugin'] == 'plugser'


def test_entry_point_serializer_is_loaded_lazily_for_loads(plugin_dist):
    assert loads(b'P:1', 'application/x-kombu-test-plugin', 'utf-8') == ('plugin', b'P:1')


def test_entry_point_serializer_can_be_accepted_by_name(plugin_dist):
    result = loads(b'x', 'application/x-kombu-test-plugin', 'utf-8', accept=['plugser'])
    assert result == ('plugin', b'x')


def test_entry_point_serializer_name_works_in_accept_lists(plugin_dist):
    assert prepare_accept_content(['plugser']) == {'application/x-kombu-test-plugin'}


def test_entry_points_do_not_replace_registered_serializers(plugin_dist):
    register('plugser', lambda obj: 'mine', None, 'application/x-mine')
    assert dumps(1, serializer='plugser')[2] == 'mine'
    with pytest.raises(SerializerNotInstalled):
        dumps(1, serializer='still-unknown')  # the miss loaded the plugins
    assert dumps(1, serializer='plugser')[2] == 'mine'


def test_broken_entry_point_is_logged_and_skipped(monkeypatch, global_registry, caplog):
    module = types.ModuleType('kombu_test_ok_plugin')
    module.args = (str, str, 'application/x-ok', 'utf-8')
    monkeypatch.setitem(sys.modules, 'kombu_test_ok_plugin', module)
    eps = [importlib.metadata.EntryPoint('broken', 'kombu_test_no_such_module:args',
                                         'kombu.serializers'),
           importlib.metadata.EntryPoint('ok', 'kombu_test_ok_plugin:args', 'kombu.serializers')]

    def entry_points(group=None):
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(importlib.metadata, 'entry_points', entry_points)
    global_registry._entrypoints_loaded = False
    with caplog.at_level('ERROR', logger='kombu.serialization'):
        assert dumps(1, serializer='ok') == ('application/x-ok', 'utf-8', '1')
    assert 'broken' in caplog.text
    assert 'broken' not in global_registry.name_to_type


# -- parity with kombu 4.6.7 (observed behaviour, pinned as plain values) ----

@pytest.mark.parametrize('serializer,data,expected', [
    (None, {'a': 1}, (JSON, 'utf-8', '{"a": 1}')),
    (None, 5, (JSON, 'utf-8', '5')),
    (None, None, (JSON, 'utf-8', 'null')),
    (None, (1, 2), (JSON, 'utf-8', '[1, 2]')),
    (None, '', ('text/plain', 'utf-8', b'')),
    (None, b'', ('application/data', 'binary', b'')),
    ('', 'hé', ('text/plain', 'utf-8', b'h\xc3\xa9')),
    ('json', '', (JSON, 'utf-8', '""')),
    ('yaml', {'a': 1}, (YAML, 'utf-8', 'a: 1\n')),
    ('yaml', 5, (YAML, 'utf-8', '5\n...\n')),
    ('yaml', b'\x00\xff', (YAML, 'utf-8', '!!binary |\n  AP8=\n')),
    ('msgpack', {'a': 1}, (MSGPACK, 'binary', b'\x81\xa1a\x01')),
    ('msgpack', b'\x00\xff', (MSGPACK, 'binary', b'\xc4\x02\x00\xff')),
    ('msgpack', 'hé', (MSGPACK, 'binary', b'\xa3h\xc3\xa9')),
    ('raw', '', ('application/data', 'utf-8', b'')),
    ('raw', None, ('application/data', 'binary', None)),
])
def test_dumps_return_values(serializer, data, expected):
    assert dumps(data, serializer=serializer) == expected


@pytest.mark.parametrize('serializer,data', [
    ('json', b'x'), (None, bytearray(b'x')), ('yaml', object()), ('msgpack', object()),
])
def test_dumps_unserializable_is_encode_error(serializer, data):
    with pytest.raises(EncodeError):
        dumps(data, serializer=serializer)


def test_dumps_without_a_default_serializer_is_encode_error():
    r = SerializerRegistry()
    r._entrypoints_loaded = True
    assert r.dumps('text') == ('text/plain', 'utf-8', b'text')
    assert r.dumps(b'data') == ('application/data', 'binary', b'data')
    with pytest.raises(EncodeError, match='No default serializer'):
        r.dumps({'a': 1})


@pytest.mark.parametrize('data,content_type,encoding,expected', [
    (b'h\xe9', 'text/plain', 'BINARY', b'h\xe9'),
    (b'h\xe9', 'text/plain', 'ascii-8bit', b'h\xe9'),
    (b'h\xe9', 'text/plain', 'latin-1', 'hé'),
    (b'h\xc3\xa9', 'text/plain', 'UTF8', 'hé'),
    (b'h\xc3\xa9', 'application/text', 'binary', b'h\xc3\xa9'),
    (b'h\xc3\xa9', 'application/data', 'utf-8', 'hé'),
    (b'abc', None, None, 'abc'),
    (b'abc', '', '', 'abc'),
    (memoryview(b'abc'), 'text/plain', 'utf-8', 'abc'),
    (bytearray(b'abc'), 'text/plain', 'utf-8', 'abc'),
    (b'{"a": 1}', JSON, 'binary', {'a': 1}),
    (b'[1]', JSON, 'latin-1', [1]),
    (None, JSON, 'utf-8', None),
])
def test_loads_content_type_and_encoding_combinations(data, content_type, encoding, expected):
    assert loads(data, content_type, encoding) == expected


def test_loads_json_of_a_non_buffer_is_decode_error():
    with pytest.raises(DecodeError):
        loads(123, JSON, 'utf-8')


@pytest.mark.parametrize('content_type,why,alias', [
    ('text/plain', 'untrusted', 'text/plain (text/plain)'),
    (JSON, 'untrusted', 'json (application/json)'),
])
def test_content_disallowed_message_names_type_and_alias(content_type, why, alias):
    with pytest.raises(ContentDisallowed) as excinfo:
        loads(b'1', content_type, 'utf-8', accept=['application/x-other'])
    assert str(excinfo.value) == f'Refusing to deserialize {why} content of type {alias}'


def test_content_disallowed_message_for_disabled_custom_type(fresh):
    fresh.disable('application/x-foo')
    with pytest.raises(ContentDisallowed) as excinfo:
        fresh.loads(b'abc', 'application/x-foo', 'utf-8')
    assert str(excinfo.value) == (
        'Refusing to deserialize disabled content of type application/x-foo (application/x-foo)')
    assert fresh.loads(b'abc', 'application/x-foo', 'utf-8', force=True) == 'abc'
    assert fresh.loads(b'abc', 'application/x-foo', 'utf-8', accept=['application/x-foo']) == 'abc'


def test_parenthesize_alias():
    assert serialization.parenthesize_alias('json', 'application/json') == 'json (application/json)'
    assert serialization.parenthesize_alias('x/y', 'x/y') == 'x/y (x/y)'


def test_register_decoder_only_and_encoder_only(fresh):
    fresh.register('dec', None, lambda d: ('d', d), 'application/x-do')
    fresh.register('enc', lambda o: 'E', None, 'application/x-eo')
    assert fresh.loads(b'q', 'application/x-do', 'utf-8') == ('d', b'q')
    assert fresh.dumps(1, 'enc') == ('application/x-eo', 'utf-8', 'E')
    assert fresh.loads(b'q', 'application/x-eo', 'utf-8') == 'q'  # no decoder: text
    assert fresh.loads(b'q', 'application/x-eo', 'binary') == b'q'
    assert fresh.type_to_name['application/x-eo'] == 'enc'
    assert fresh.name_to_type['dec'] == 'application/x-do'


def test_set_default_serializer_keeps_str_and_bytes_special(global_registry):
    registry._set_default_serializer('pickle')
    assert dumps({'a': 1})[:2] == (PICKLE, 'binary')
    assert (registry._default_content_type, registry._default_content_encoding) == (
        PICKLE, 'binary')
    assert dumps('s')[:2] == ('text/plain', 'utf-8')
    assert dumps(b'b')[:2] == ('application/data', 'binary')
