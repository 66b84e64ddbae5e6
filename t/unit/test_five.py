from __future__ import annotations

import collections
import queue

from kombu import five


def test_aliases_are_python3_names():
    assert five.Counter is collections.Counter
    assert five.Queue is queue.Queue
    assert five.Empty is queue.Empty
    assert five.string_t is str
    assert five.text_t is str
    assert five.bytes_t is bytes
    assert five.long_t is int
    assert five.range is range
    assert five.zip is zip
    assert five.map is map


def test_helpers():
    d = {'a': 1}
    assert list(five.items(d)) == [('a', 1)]
    assert list(five.keys(d)) == ['a']
    assert list(five.values(d)) == [1]
    assert five.nextfun(iter([7]))() == 7
    assert five.format_d(1234567) == '1,234,567'
    assert five.bytes_if_py2('x') == 'x'
    assert five.monotonic() <= five.monotonic()


def test_array_has_py2_string_methods():
    a = five.array('b')
    a.fromstring(b'\x01\x02')
    assert a.tostring() == b'\x01\x02'
    assert list(a) == [1, 2]


def test_whatever_io_takes_bytes_and_str():
    w = five.WhateverIO(b'ab')
    w.seek(0, 2)
    w.write(b'c')
    w.write('d')
    assert w.getvalue() == 'abcd'


def test_with_metaclass_copies_class():
    class Meta(type):
        pass

    @five.with_metaclass(Meta)
    class X:
        attr = 1

    assert type(X) is Meta
    assert X.attr == 1
    assert X.__mro__ == (X, object)


def test_python_2_unicode_compatible_is_identity():
    class Y:
        pass
    assert five.python_2_unicode_compatible(Y) is Y


def test_kombu4_extra_names():
    import builtins
    import threading

    assert five.THREAD_TIMEOUT_MAX == threading.TIMEOUT_MAX
    assert five.builtins is builtins
    assert five.int_types == (int,)
    ns = {}
    five.exec_('x = 1', ns)
    assert ns['x'] == 1
    for name in ('THREAD_TIMEOUT_MAX', 'builtins', 'int_types', 'exec_'):
        assert name in five.__all__
