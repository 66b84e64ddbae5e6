from __future__ import annotations

import os.path
from collections import OrderedDict

import pytest

from kombu.utils.imports import instantiate, symbol_by_name


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
