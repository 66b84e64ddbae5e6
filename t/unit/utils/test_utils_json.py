"""kombu.utils.json: the JSON encoder for dates/UUIDs/decimals, dumps and loads."""
from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kombu.utils.json import DjangoPromise, JSONEncoder, dumps, loads

UTC = datetime.timezone.utc


@pytest.mark.parametrize('value,expected', [
    (datetime.datetime(2020, 1, 2, 3, 4, 5, 6), '2020-01-02T03:04:05.000006'),
    (datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC), '2020-01-02T03:04:05Z'),
    (datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
     '2020-01-02T00:00:00+01:00'),
    (datetime.date(2020, 1, 2), '2020-01-02T00:00:00'),
    (datetime.time(1, 2, 3, 4), '01:02:03.000004'),
    (uuid.UUID(int=5), '00000000-0000-0000-0000-000000000005'),
    (Decimal('1.10'), '1.10'),
])
def test_encoder_writes_special_types_as_strings(value, expected):
    assert JSONEncoder().default(value) == expected
    assert dumps({'v': value}) == json.dumps({'v': expected})


def test_encoder_uses_dunder_json():
    class Point:
        def __json__(self):
            return {'x': 1, 'y': [2]}

    assert dumps([Point()]) == '[{"x": 1, "y": [2]}]'


def test_encoder_writes_promises_as_text():
    class Lazy(DjangoPromise):
        def __str__(self):
            return 'translated'

    assert dumps(Lazy()) == '"translated"'


def test_encoder_rejects_unknown_types_with_type_error():
    with pytest.raises(TypeError, match='set'):
        dumps({1, 2})


def test_dumps_passes_options_to_the_json_library():
    assert dumps({'b': 1, 'a': 2}, sort_keys=True) == '{"a": 2, "b": 1}'
    assert dumps({'a': 1}, default_kwargs={'separators': (',', ':')}) == '{"a":1}'


def test_dumps_keyword_arguments_override_default_kwargs():
    assert dumps([1, 2], default_kwargs={'separators': (',', ':')},
                 separators=(', ', ': ')) == '[1, 2]'


def test_dumps_uses_the_given_encoder_class():
    class Shouting(JSONEncoder):
        def default(self, o):
            return 'SHOUT'

    assert dumps(object(), cls=Shouting) == '"SHOUT"'


def test_dumps_calls_the_given_function_with_kombus_encoder():
    calls = []

    def fake_dumps(obj, **kwargs):
        calls.append((obj, kwargs))
        return 'fake'

    assert dumps([1], _dumps=fake_dumps, indent=2) == 'fake'
    assert calls == [([1], {'cls': JSONEncoder, 'indent': 2})]


@pytest.mark.parametrize('data', [
    '{"a": [1, "\\u00e5"]}', b'{"a": [1, "\\u00e5"]}', '{"a": [1, "å"]}'.encode(),
    bytearray(b'{"a": [1, "\\u00e5"]}'), memoryview(b'{"a": [1, "\\u00e5"]}'),
])
def test_loads_accepts_text_and_buffers(data):
    assert loads(data) == {'a': [1, 'å']}


def test_loads_with_decode_bytes_false_passes_bytes_through():
    seen = []
    loads(b'[1]', _loads=seen.append, decode_bytes=False)
    loads(memoryview(b'[2]'), _loads=seen.append, decode_bytes=False)
    assert seen == [b'[1]', '[2]']


def test_loads_uses_the_given_function():
    assert loads(b'"x"', _loads=lambda s: ('loaded', s)) == ('loaded', '"x"')


def test_loads_invalid_json_raises_value_error():
    with pytest.raises(ValueError):
        loads(b'{')


@pytest.mark.parametrize('data', [123, None])
def test_loads_of_a_non_string_raises_type_error(data):
    with pytest.raises(TypeError):
        loads(data)


@pytest.mark.parametrize('value,expected', [
    (datetime.datetime(2020, 1, 2, 3, 4, 5, 123, tzinfo=datetime.timezone(
        datetime.timedelta(hours=2))), '"2020-01-02T03:04:05.000123+02:00"'),
    (datetime.time(3, 4, 5, tzinfo=UTC), '"03:04:05+00:00"'),
    (Decimal('NaN'), '"NaN"'),
    ({'a': [datetime.date(2020, 1, 1), uuid.UUID(int=1)]},
     '{"a": ["2020-01-01T00:00:00", "00000000-0000-0000-0000-000000000001"]}'),
    ({1: 2}, '{"1": 2}'),
    (float('nan'), 'NaN'),
])
def test_dumps_values(value, expected):
    assert dumps(value) == expected


@pytest.mark.parametrize('value', [b'abc', bytearray(b'x'), datetime.timedelta(seconds=5)])
def test_dumps_unsupported_types_raise_type_error(value):
    with pytest.raises(TypeError):
        dumps(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_round_trip(value):
    text = dumps(value)
    assert text == json.dumps(value)
    assert loads(text) == value
    assert loads(text.encode()) == value
