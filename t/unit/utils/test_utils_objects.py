from __future__ import annotations

from kombu.utils.objects import cached_property


class Thing:
    def __init__(self):
        self.calls = 0
        self.deleted = []

    @cached_property
    def value(self):
        """The value."""
        self.calls += 1
        return 42

    @cached_property
    def checked(self):
        return 1

    @checked.setter
    def checked(self, value):
        if value is None:
            raise TypeError('must not be None')
        return value * 10

    @checked.deleter
    def checked(self, value):
        self.deleted.append(value)


def test_value_is_computed_once():
    t = Thing()
    assert t.value == 42
    assert t.value == 42
    assert t.calls == 1


def test_class_access_returns_descriptor_with_doc():
    assert isinstance(Thing.value, cached_property)
    assert Thing.value.__doc__ == 'The value.'


def test_del_clears_cache_so_value_is_recomputed():
    t = Thing()
    assert t.value == 42
    del t.value
    assert t.value == 42
    assert t.calls == 2


def test_setter_prepares_stored_value():
    t = Thing()
    t.checked = 3
    assert t.checked == 30


def test_setter_can_reject_value():
    t = Thing()
    try:
        t.checked = None
    except TypeError:
        pass
    else:
        raise AssertionError('setter did not raise')
    assert t.checked == 1


def test_deleter_receives_cached_value():
    t = Thing()
    t.checked = 2
    del t.checked
    assert t.deleted == [20]
    assert t.checked == 1


def test_assign_without_setter_stores_value():
    t = Thing()
    t.value = 7
    assert t.value == 7
    assert t.calls == 0


def test_deleter_not_called_when_nothing_cached():
    t = Thing()
    del t.checked
    assert t.deleted == []
