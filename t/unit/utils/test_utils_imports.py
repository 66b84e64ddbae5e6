from __future__ import annotations

import os.path
import sys
from collections import OrderedDict

import pytest

from kombu.utils.imports import import_extra, instantiate, symbol_by_name


def test_dotted_and_colon_names():
    assert symbol_by_name('os.path.join') is os.path.join
    assert symbol_by_name('os.path:join') is os.path.join


def test_module_names():
    assert symbol_by_name('os') is os
    assert symbol_by_name('os:') is os


def test_aliases_are_looked_up_first():
    aliases = {'od': 'collections:OrderedDict'}
    assert symbol_by_name('od', aliases=aliases) is OrderedDict
    assert symbol_by_name('os.path:join', aliases=aliases) is os.path.join


def test_non_string_is_returned_as_is():
    assert symbol_by_name(OrderedDict) is OrderedDict


def test_missing_module_and_attribute_raise():
    with pytest.raises(ImportError):
        symbol_by_name('kombu_no_such_module:foo')
    with pytest.raises(AttributeError):
        symbol_by_name('os:no_such_attr')


def test_default_returned_instead_of_errors():
    assert symbol_by_name('kombu_no_such_module:foo', default=5) == 5
    assert symbol_by_name('os.no_such_attr', default='d') == 'd'


def test_relative_name_with_package():
    assert symbol_by_name('.path:join', package='os') is os.path.join


def test_custom_importer_receives_module_name():
    seen = []

    def imp(name, package=None):
        seen.append(name)
        return os

    assert symbol_by_name('anything.sep', imp=imp) == os.sep
    assert seen == ['anything']


def test_instantiate():
    d = instantiate('collections.OrderedDict', [('a', 1)])
    assert isinstance(d, OrderedDict)
    assert d == {'a': 1}


def test_import_extra_returns_the_module():
    assert import_extra('os.path', 'none', 'The test') is os.path


def test_import_extra_names_the_extra_when_the_library_is_missing():
    with pytest.raises(ImportError) as excinfo:
        import_extra('kombu_no_such_client.sub', 'nosuch', 'The nosuch transport')
    assert str(excinfo.value) == (
        'The nosuch transport requires the kombu_no_such_client library: '
        'pip install "kombu[nosuch]"')
    assert excinfo.value.name == 'kombu_no_such_client'
    assert isinstance(excinfo.value.__cause__, ImportError)


def test_import_extra_uses_the_given_library_name():
    with pytest.raises(ImportError, match='requires the python-nosuch library'):
        import_extra('kombu_no_such_client', 'nosuch', 'The x', library='python-nosuch')


def test_import_extra_reports_a_module_blocked_in_sys_modules(monkeypatch):
    monkeypatch.setitem(sys.modules, 'kombu_blocked_client', None)
    with pytest.raises(ImportError, match=r'kombu\[blocked\]') as excinfo:
        import_extra('kombu_blocked_client', 'blocked', 'The blocked transport')
    assert excinfo.value.__cause__ is not None
