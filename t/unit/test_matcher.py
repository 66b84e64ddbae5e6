from __future__ import annotations

import pytest

from kombu import matcher
from kombu.matcher import MatcherNotInstalled, MatcherRegistry


def test_glob_is_default():
    assert matcher.match('foo.bar', 'foo.*') is True
    assert matcher.match('foo', 'F*') is False
    assert matcher.match(b'foo', b'f*') is True
    assert matcher.match('foo.bar', 'foo.?ar', matcher='glob')


def test_pcre_matches_from_start():
    assert matcher.match('foo', 'f.o', matcher='pcre') is True
    assert matcher.match('xfoo', 'foo', matcher='pcre') is False


def test_matcher_kwargs_are_passed():
    seen = {}

    def m(data, pattern, **kwargs):
        seen.update(kwargs)
        return data == pattern

    r = MatcherRegistry()
    r.register('eq', m)
    assert r.match('a', 'a', matcher='eq', matcher_kwargs={'flag': 1})
    assert seen == {'flag': 1}


def test_unknown_matcher_raises():
    with pytest.raises(MatcherNotInstalled, match='nope'):
        matcher.match('a', 'a', matcher='nope')
    with pytest.raises(MatcherNotInstalled):
        matcher.unregister('nope')
    assert MatcherRegistry.MatcherNotInstalled is MatcherNotInstalled


def test_register_and_unregister_module_level():
    matcher.register('eqtest', lambda d, p: d == p)
    try:
        assert matcher.match('a', 'a', matcher='eqtest')
        assert not matcher.match('a', 'b', matcher='eqtest')
    finally:
        matcher.unregister('eqtest')
    with pytest.raises(MatcherNotInstalled):
        matcher.match('a', 'a', matcher='eqtest')


def test_fresh_registry_has_no_default():
    r = MatcherRegistry()
    with pytest.raises(MatcherNotInstalled):
        r.match('a', 'a')
    with pytest.raises(MatcherNotInstalled):
        r._set_default_matcher('glob')


def test_default_matcher_is_looked_up_by_name():
    matcher.register('glob', lambda data, pattern: data == pattern.upper())
    try:
        assert matcher.match('AB', 'ab') is True  # the default follows 'glob'
        matcher.unregister('glob')
        with pytest.raises(MatcherNotInstalled, match='glob'):
            matcher.match('a', 'a')
    finally:
        matcher.register_glob()
    assert matcher.match('ab', 'a*') is True
    r = MatcherRegistry()
    r.register('glob', lambda data, pattern: True)
    assert r.match('x', 'y') is True


def test_match_returns_bool_for_any_matcher_result():
    assert matcher.match('abc', 'a', matcher='pcre') is True
    assert matcher.match('abc', 'b', matcher='pcre') is False
    r = MatcherRegistry()
    r.register('glob', lambda data, pattern: 'truthy')
    assert r.match('x', 'y') is True


def test_register_functions_restore_builtins():
    matcher.unregister('glob')
    matcher.unregister('pcre')
    matcher.register_glob()
    matcher.register_pcre()
    assert matcher.match('ab', 'a*', matcher='glob')
    assert matcher.match('ab', 'a.', matcher='pcre')
    assert MatcherRegistry.matcher_pattern_first == ['pcre']


def test_entry_point_matchers_load_on_first_unknown_name(monkeypatch):
    class EP:
        name = 'eptest'

    monkeypatch.setattr(matcher, '_entrypoints_loaded', False)
    monkeypatch.setattr(matcher, 'entrypoints',
                        lambda group: iter([(EP(), lambda d, p: d.upper() == p)]))
    try:
        assert matcher.match('ab', 'AB', matcher='eptest')
    finally:
        matcher.unregister('eptest')
