"""kombu.asynchronous.debug: describing hub state."""
from __future__ import annotations

import functools
import socket
from unittest.mock import Mock

import pytest
from vine import promise

from kombu.asynchronous import ERR, READ, WRITE, Hub
from kombu.asynchronous.debug import (
    _rcb,
    callback_for,
    repr_active,
    repr_events,
    repr_flag,
    repr_readers,
    repr_writers,
)


@pytest.fixture
def hub():
    h = Hub()
    yield h
    h.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def on_read(*args):
    pass


def on_write(*args):
    pass


def test_repr_flag_letters():
    assert repr_flag(READ) == 'R'
    assert repr_flag(WRITE) == 'W'
    assert repr_flag(ERR) == '!'
    assert repr_flag(READ | WRITE) == 'RW'
    assert repr_flag(READ | ERR) == 'R!'
    assert repr_flag(WRITE | ERR) == 'W!'
    assert repr_flag(READ | WRITE | ERR) == 'RW!'
    assert repr_flag(8) == '!' and repr_flag(16) == '!'
    assert repr_flag(0) == ''


def test_rcb_names_callbacks():
    assert _rcb(on_read) == 'on_read'
    assert _rcb('text') == 'text'
    assert _rcb(None) == '<missing>'
    assert _rcb((on_read, (1, 'a'))) == "on_read(1, 'a')"
    assert _rcb(functools.partial(on_read, 1)) == 'on_read'


def test_readers_and_writers_are_described(hub, pair):
    a, b = pair
    hub.add_reader(a, on_read, 1, 2)
    hub.add_writer(b, on_write, 'w')
    assert repr_readers(hub) == [f'({a.fileno()})on_read(1, 2)->R!']
    assert repr_writers(hub) == [f"({b.fileno()})on_write('w')->W"]
    assert repr_active(hub) == f"({a.fileno()})on_read(1, 2)->R!, ({b.fileno()})on_write('w')->W"
    assert hub.repr_active() == repr_active(hub)


def test_repr_active_of_idle_hub_is_empty(hub):
    assert repr_active(hub) == ''


def test_repr_events_marks_unknown_fds_as_gone(hub, pair):
    a, _ = pair
    hub.add_reader(a, on_read)
    text = repr_events(hub, [(a.fileno(), READ), (99999, WRITE)])
    assert text == f'on_read()({a.fileno()})->R, (GONE)(99999)->W'
    assert hub.repr_events([(a.fileno(), READ)]) == f'on_read()({a.fileno()})->R'


def test_callback_for_finds_reader_writer_or_default(hub, pair):
    a, b = pair
    hub.add_reader(a, on_read, 1)
    hub.add_writer(b, on_write)
    assert callback_for(hub, a.fileno(), READ) == (on_read, (1,))
    assert callback_for(hub, b.fileno(), WRITE) == (on_write, ())
    assert callback_for(hub, 99999, READ, 'dflt') == 'dflt'
    with pytest.raises(KeyError):
        callback_for(hub, 99999, READ)


def test_callback_for_consolidated_fd(hub, pair):
    # reference parity: READ names the reader, WRITE the consolidate callback
    a, _ = pair
    hub.consolidate_callback = on_write
    hub.add(a, on_read, READ | WRITE, consolidate=True)
    assert callback_for(hub, a.fileno(), READ) == (on_read, ())
    assert callback_for(hub, a.fileno(), WRITE) is on_write


def test_callback_for_error_flag_uses_reader_then_writer(hub, pair):
    a, b = pair
    hub.add_reader(a, on_read)
    hub.add_writer(b, on_write)
    assert callback_for(hub, a.fileno(), ERR) == (on_read, ())
    assert callback_for(hub, b.fileno(), ERR) == (on_write, ())
    assert callback_for(hub, 99999, ERR, None) is None


def test_callback_for_reads_plain_mappings_of_a_stub_hub():
    stub = Mock(name='hub')
    stub.readers = {6: 'foo'}
    stub.writers = {7: 'bar'}
    assert callback_for(stub, 6, READ) == 'foo'
    assert callback_for(stub, 7, READ, 'baz') == 'baz'
    with pytest.raises(KeyError):
        callback_for(stub, 7, READ)
    assert repr_readers(stub) == ['(6)foo->R!']
    assert repr_writers(stub) == ['(7)bar->W']


def test_rcb_of_wrappers_and_mocks():
    assert _rcb(promise(on_read)) == 'on_read'
    assert _rcb(functools.partial(functools.partial(on_read, 1), 2)) == 'on_read'
    mock = Mock(name='cb')
    assert _rcb(mock) == repr(mock)         # no endless unwrapping
    mock.__name__ = 'named_mock'
    assert _rcb(mock) == 'named_mock'


def test_repr_events_with_args_and_error_flags(hub, pair):
    a, b = pair
    hub.add_reader(a, on_read, 1, 2)
    hub.add_writer(b, on_write, 3)
    text = repr_events(hub, [(a.fileno(), READ), (b.fileno(), WRITE), (a.fileno(), ERR)])
    assert text == (f'on_read(1, 2)({a.fileno()})->R, on_write(3)({b.fileno()})->W, '
                    f'on_read(1, 2)({a.fileno()})->!')
