"""kombu.utils.eventio: one poller interface over epoll / kqueue / poll / select."""
from __future__ import annotations

import select
import socket
import time

import pytest

from kombu.utils import eventio
from kombu.utils.eventio import ERR, READ, WRITE

BACKENDS = [name for name, available in (
    ('_epoll', hasattr(select, 'epoll')),
    ('_kqueue', hasattr(select, 'kqueue')),
    ('_poll', hasattr(select, 'poll')),
    ('_select', True),
) if available]


@pytest.fixture(params=BACKENDS)
def poller(request):
    p = getattr(eventio, request.param)()
    yield p
    p.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def events_for(p, fd, timeout=0.0):
    return [mask for got, mask in p.poll(timeout) if got == fd]


def test_flags_have_the_documented_values():
    assert (READ, WRITE, ERR) == (1, 4, 24)


def test_poll_returns_the_platform_best_poller():
    p = eventio.poll()
    try:
        expected = eventio._epoll if hasattr(select, 'epoll') else eventio._DEFAULT_POLLER
        assert isinstance(p, expected)
        for name in ('register', 'unregister', 'poll', 'close'):
            assert callable(getattr(p, name))
    finally:
        p.close()


def test_socket_is_reported_readable_only_once_data_arrives(poller, pair):
    a, b = pair
    poller.register(a, READ | ERR)
    assert events_for(poller, a.fileno()) == []
    b.send(b'x')
    masks = events_for(poller, a.fileno(), 1.0)
    assert masks and masks[0] & READ


def test_integer_fds_are_accepted(poller, pair):
    a, b = pair
    poller.register(b.fileno(), WRITE)
    masks = events_for(poller, b.fileno())
    assert masks and masks[0] & WRITE and not masks[0] & READ


def test_poll_waits_for_the_timeout_when_nothing_is_ready(poller, pair):
    a, _ = pair
    poller.register(a, READ | ERR)
    start = time.monotonic()
    assert poller.poll(0.05) == []
    assert 0.04 <= time.monotonic() - start < 1.0


def test_registering_again_replaces_the_mask(poller, pair):
    a, b = pair
    b.send(b'x')
    poller.register(a, READ | ERR)
    poller.register(a, WRITE)
    masks = events_for(poller, a.fileno())
    assert masks and masks[0] & WRITE and not masks[0] & READ


def test_unregistered_fd_is_no_longer_reported(poller, pair):
    a, b = pair
    b.send(b'x')
    poller.register(a, READ | ERR)
    poller.unregister(a)
    assert events_for(poller, a.fileno()) == []


def test_unregistering_closed_or_unknown_fds_does_not_raise(poller):
    a, b = socket.socketpair()
    poller.register(a, READ | ERR)
    fd = a.fileno()
    a.close()
    b.close()
    poller.unregister(a)      # closed object: fileno() is -1 now
    poller.unregister(fd)     # the old number
    poller.unregister(fd)     # twice
    poller.unregister(987654)  # never registered


def test_peer_hangup_is_reported(poller, pair):
    a, b = pair
    poller.register(a, READ | ERR)
    b.close()
    masks = events_for(poller, a.fileno(), 1.0)
    assert masks and masks[0] & (READ | ERR)


@pytest.mark.parametrize('backend', [b for b in ('_poll', '_select') if b in BACKENDS])
def test_fd_closed_behind_the_pollers_back_is_reported_as_error_once(backend):
    p = getattr(eventio, backend)()
    a, b = socket.socketpair()
    try:
        p.register(a, READ | ERR)
        fd = a.fileno()
        a.close()
        assert (fd, ERR) in p.poll(0)
        assert events_for(p, fd) == []      # forgotten afterwards
    finally:
        b.close()
        p.close()


def test_registering_a_closed_socket_raises(poller):
    a, b = socket.socketpair()
    a.close()
    b.close()
    with pytest.raises(OSError):
        poller.register(a, READ)


def test_select_without_fds_just_sleeps():
    p = eventio._select()
    start = time.monotonic()
    assert p.poll(0.03) == []
    assert time.monotonic() - start >= 0.02
