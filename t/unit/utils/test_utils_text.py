from __future__ import annotations

import re

import pytest

from kombu.utils.text import escape_regex, fmatch_best, fmatch_iter, version_string_as_tuple


@pytest.mark.parametrize('s,expected', [
    ('4.6.7', (4, 6, 7, '', '')),
    ('1.2.3rc1-foo', (1, 2, 3, 'rc1', 'foo')),
    ('1.2', (1, 2, 0, '', '')),
    ('1', (1, 0, 0, '', '')),
    ('1.2.3.4', (1, 2, 3, '4', '')),
    ('1.2.3a1', (1, 2, 3, 'a1', '')),
    ('1.2.3-beta', (1, 2, 3, '', 'beta')),
])
def test_version_string_as_tuple(s, expected):
    v = version_string_as_tuple(s)
    assert v == expected
    assert v.major == expected[0]
    assert v.releaselevel == expected[3]


def test_escape_regex_makes_literal_pattern():
    s = 'a.b*c d(e)[f]'
    assert re.fullmatch(escape_regex(s), s)
    assert not re.fullmatch(escape_regex('a.b'), 'axb')
    assert escape_regex('a b-c', white=' -') == 'a b-c'
    assert escape_regex('a\x00') == 'a\\000'


def test_fmatch_best_and_iter():
    assert fmatch_best('redis', ['rediss', 'amqp', 'radish']) == 'rediss'
    assert fmatch_best('x', ['abc']) is None
    ratios = dict((k, r) for r, k in fmatch_iter('redis', ['rediss', 'amqp']))
    assert list(ratios) == ['rediss']
    assert 0.6 <= ratios['rediss'] <= 1.0
    assert list(fmatch_iter('abc', ['abd'], min_ratio=0.99)) == []
