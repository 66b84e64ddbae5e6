"""kombu.asynchronous.hub: the event loop, with real socket pairs."""
from __future__ import annotations

import errno
import socket
import threading
import time
from unittest.mock import Mock, call, patch

import pytest
from vine import promise

import kombu.asynchronous as asynchronous
from kombu.asynchronous import ERR, READ, WRITE, Hub, get_event_loop, set_event_loop
from kombu.asynchronous import hub as hub_module
from kombu.asynchronous.timer import Timer
from kombu.utils import eventio


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


def step(hub, n=1):
    """Run ``n`` iterations, none waiting longer than ~10 ms for events."""
    for _ in range(n):
        entry = hub.call_later(0.01, _noop)
        next(hub.loop)
        entry.cancel()


def _noop():
    pass


def run_for(hub, secs):
    """Run the hub until ``secs`` have passed (stopped by one of its own timers)."""
    hub.call_later(secs, hub.stop)
    hub.run_forever()


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, *args):
        self.calls.append(args)


# -- module level ---------------------------------------------------------

def test_flags_and_exports():
    assert (Hub.READ, Hub.WRITE, Hub.ERR) == (READ, WRITE, ERR) == (1, 4, 24)
    for name in ('Hub', 'get_event_loop', 'set_event_loop', 'READ', 'WRITE', 'ERR'):
        assert name in asynchronous.__all__


def test_set_event_loop_sets_the_current_loop():
    previous = get_event_loop()
    h = Hub()
    try:
        assert set_event_loop(h) is h
        assert get_event_loop() is h
    finally:
        set_event_loop(previous)
        h.close()


def test_hub_uses_the_given_timer():
    timer = Timer()
    h = Hub(timer)
    try:
        assert h.timer is timer
    finally:
        h.close()


def test_repr_counts_readers_and_writers(hub, pair):
    a, b = pair
    hub.add_reader(a, print)
    assert repr(hub).endswith(': R:1 W:0>')


# -- file descriptors -----------------------------------------------------

def test_reader_is_called_when_the_socket_is_readable(hub, pair):
    a, b = pair
    rec = Recorder()
    hub.add_reader(a, rec, 'x', 1)
    step(hub)
    assert rec.calls == []
    b.send(b'data')
    step(hub)
    assert rec.calls == [('x', 1)]
    assert a.recv(10) == b'data'


def test_reader_accepts_an_integer_fd_and_is_keyed_by_int(hub, pair):
    a, b = pair
    rec = Recorder()
    hub.add_reader(a.fileno(), rec)
    assert list(hub.readers) == [a.fileno()]
    b.send(b'x')
    step(hub)
    assert rec.calls == [()]


def test_add_reader_accepts_a_list_of_fds(hub, pair):
    a, b = pair
    c, d = socket.socketpair()
    try:
        rec = Recorder()
        hub.add_reader([a, c], rec)
        assert set(hub.readers) == {a.fileno(), c.fileno()}
    finally:
        c.close()
        d.close()


def test_writer_is_called_when_the_socket_is_writable(hub, pair):
    a, _ = pair
    rec = Recorder()
    hub.add_writer(a, rec, 'w')
    step(hub)
    assert rec.calls == [('w',)]


def test_remove_writer_keeps_the_reader(hub, pair):
    a, b = pair
    reads, writes = Recorder(), Recorder()
    hub.add_reader(a, reads)
    hub.add_writer(a, writes)
    hub.remove_writer(a)
    assert a.fileno() in hub.readers and a.fileno() not in hub.writers
    b.send(b'x')
    step(hub)
    assert reads.calls == [()] and writes.calls == []


def test_remove_reader_keeps_the_writer(hub, pair):
    a, b = pair
    reads, writes = Recorder(), Recorder()
    hub.add_reader(a, reads)
    hub.add_writer(a, writes)
    hub.remove_reader(a)
    b.send(b'x')
    step(hub)
    assert reads.calls == [] and writes.calls == [()]


def test_remove_stops_all_callbacks(hub, pair):
    a, b = pair
    rec = Recorder()
    hub.add_reader(a, rec)
    hub.add_writer(a, rec)
    hub.remove(a)
    assert hub.readers == {} and hub.writers == {}
    b.send(b'x')
    step(hub)
    assert rec.calls == []


def test_remove_of_unknown_or_closed_fd_is_ignored(hub):
    a, b = socket.socketpair()
    hub.add_reader(a, print)
    a.close()
    b.close()
    hub.remove(a)                 # closed object: found by identity
    assert hub.readers == {}
    hub.remove(987654)


def test_adding_a_closed_socket_raises_and_leaves_no_trace(hub):
    a, b = socket.socketpair()
    a.close()
    b.close()
    with pytest.raises(OSError):
        hub.add_reader(a, print)
    assert hub.readers == {}


def test_adding_the_same_reader_every_tick_is_harmless(hub, pair):
    # what the redis transport does from an on_tick hook
    a, b = pair
    rec = Recorder()
    hub.on_tick.add(lambda: hub.add_reader(a, rec, 'r'))
    step(hub, 3)
    b.send(b'x')
    step(hub)
    assert rec.calls == [('r',)]


def test_callback_raising_ebadf_gets_its_fd_removed(hub, pair):
    a, b = pair

    def bad_fd():
        raise OSError(errno.EBADF, 'Bad file descriptor')

    hub.add_reader(a, bad_fd)
    b.send(b'x')
    step(hub)
    assert a.fileno() not in hub.readers
    assert a.fileno() not in hub.poller._fds


def test_fd_closed_behind_the_hubs_back_is_removed(monkeypatch):
    monkeypatch.setattr(hub_module, 'poll', eventio._poll)
    h = Hub()
    a, b = socket.socketpair()
    try:
        rec = Recorder()
        h.add_reader(a, rec)
        fd = a.fileno()
        a.close()
        step(h)
        assert fd not in h.readers and rec.calls == []
    finally:
        b.close()
        h.close()


def test_reader_is_told_about_peer_hangup(hub, pair):
    a, b = pair
    got = []

    def on_readable():
        got.append(a.recv(10))
        hub.remove(a)

    hub.add_reader(a, on_readable)
    b.close()
    step(hub)
    assert got == [b'']


def test_reader_errors_are_raised_out_of_run_once(hub, pair):
    a, b = pair

    def lost():
        raise ConnectionError('lost')

    hub.add_reader(a, lost)
    b.send(b'x')
    with pytest.raises(ConnectionError):
        step(hub)
    with pytest.raises(ConnectionError):      # the fd stays until its owner removes it
        step(hub)
    hub.remove(a)
    step(hub)           # a new loop generator is made after the error


def test_writer_and_tick_errors_are_raised_out_of_run_once(hub, pair):
    a, _ = pair

    def boom():
        raise ValueError('boom')

    hub.add_writer(a, boom)
    with pytest.raises(ValueError):
        step(hub)
    hub.remove(a)
    hub.on_tick.add(boom)
    with pytest.raises(ValueError):
        step(hub)
    hub.on_tick.discard(boom)
    step(hub)


def test_call_soon_error_is_raised_and_later_callbacks_still_run(hub):
    after = Recorder()

    def boom():
        raise ValueError('boom')

    hub.call_soon(boom)
    hub.call_soon(after, 1)
    hub.call_soon(after, 2)
    with pytest.raises(ValueError):
        step(hub)
    assert after.calls == []
    step(hub)
    assert after.calls == [(1,), (2,)]


def test_run_forever_ends_with_the_error(hub, pair):
    a, b = pair

    def lost():
        raise ConnectionError('lost')

    hub.add_reader(a, lost)
    b.send(b'x')
    with pytest.raises(ConnectionError):
        hub.run_forever()
    assert not hub._running


def test_timer_errors_are_logged_by_default(hub, caplog):
    ran = Recorder()

    def boom():
        raise ValueError('boom')

    hub.call_later(0, boom)
    hub.call_later(0, ran)
    step(hub)
    assert 'boom' in caplog.text
    assert ran.calls == [()]


def test_timer_errors_in_propagate_errors_are_raised(hub):
    def lost():
        raise ConnectionError('lost')

    hub.propagate_errors = (ConnectionError,)
    hub.call_later(0, lost)
    with pytest.raises(ConnectionError):
        step(hub)


def test_consolidated_readers_are_batched(hub, pair):
    a, b = pair
    c, d = socket.socketpair()
    try:
        batches = []
        hub.consolidate_callback = batches.append
        hub.add(a, print, READ, consolidate=True)
        hub.add(c, print, READ, consolidate=True)
        assert hub.consolidate == {a.fileno(), c.fileno()}
        b.send(b'x')
        d.send(b'x')
        step(hub)
        assert [sorted(batch) for batch in batches] == [sorted([a.fileno(), c.fileno()])]
        hub.remove(a)
        assert hub.consolidate == {c.fileno()}
    finally:
        c.close()
        d.close()


def test_consolidated_writers_without_callback_are_batched(hub, pair):
    # the pattern of a worker pool scheduling writes to many pipes at once
    a, _ = pair
    c, d = socket.socketpair()
    try:
        batches = []
        hub.consolidate_callback = batches.append
        hub.add([a, c], None, WRITE | ERR, consolidate=True)
        assert set(hub.writers) == {a.fileno(), c.fileno()} and hub.readers == {}
        step(hub)
        assert [sorted(batch) for batch in batches] == [sorted([a.fileno(), c.fileno()])]
    finally:
        c.close()
        d.close()


# -- callbacks and timers --------------------------------------------------

def test_call_soon_runs_in_fifo_order_on_the_next_iteration(hub):
    order = []
    p = hub.call_soon(order.append, 1)
    hub.call_soon(order.append, 2)
    assert isinstance(p, promise) and order == []
    step(hub)
    assert order == [1, 2]


def test_callbacks_queued_by_callbacks_wait_for_the_next_iteration(hub):
    order = []
    hub.call_soon(lambda: hub.call_soon(order.append, 'later'))
    step(hub)
    assert order == []
    step(hub)
    assert order == ['later']


def test_on_tick_runs_every_iteration(hub):
    ticks = []
    hub.on_tick.add(lambda: ticks.append(1))
    step(hub, 3)
    assert ticks == [1, 1, 1]


def test_timers_fire_in_order_at_their_time(hub):
    start = time.monotonic()
    fired = []
    for delay in (0.15, 0.05, 0.10):
        hub.call_later(delay, lambda d=delay: fired.append((d, time.monotonic() - start)))
    hub.call_at(time.monotonic() + 0.2, hub.stop)
    hub.run_forever()
    assert [d for d, _ in fired] == [0.05, 0.10, 0.15]
    for scheduled, actual in fired:
        assert scheduled <= actual < scheduled + 0.08, (scheduled, actual)


def test_call_repeatedly_until_cancelled(hub):
    calls = []
    entry = hub.call_repeatedly(0.02, calls.append, 1)
    run_for(hub, 0.15)
    assert 4 <= len(calls) <= 9, len(calls)
    entry.cancel()
    count = len(calls)
    run_for(hub, 0.06)
    assert len(calls) == count


def test_fire_timers_delay_bounds(hub):
    assert hub.fire_timers() == 1
    assert hub.fire_timers(min_delay=0.5) == 0.5
    hub.timer.max_interval = 60
    hub.call_later(5, print)
    assert hub.fire_timers() == pytest.approx(5, abs=0.1)
    assert hub.fire_timers(max_delay=3) == 3


def test_fire_timers_runs_at_most_max_timers(hub):
    ran = []
    for i in range(5):
        hub.call_later(0, ran.append, i)
    time.sleep(0.001)
    # reference parity: min_delay when max_timers were applied
    assert hub.fire_timers(max_timers=3) == 1
    assert ran == [0, 1, 2]
    hub.fire_timers()
    assert ran == [0, 1, 2, 3, 4]


def test_fire_timers_propagates_requested_errors(hub):
    def lost():
        raise ConnectionError()

    hub.call_later(0, lost)
    with pytest.raises(ConnectionError):
        hub.fire_timers(propagate=(ConnectionError,))


# -- running, stopping, closing ---------------------------------------------

def test_create_loop_is_stepped_with_next(hub):
    ticks = []
    hub.on_tick.add(lambda: ticks.append(1))
    loop = hub.create_loop()
    assert next(loop) is None
    next(loop)
    assert ticks == [1, 1]
    assert hub.loop is hub.loop


def test_run_once_runs_one_iteration(hub):
    rec = Recorder()
    hub.call_soon(rec)
    hub.run_once()
    assert rec.calls == [()]


def test_raising_stop_from_a_callback_ends_run_forever(hub):
    hub.call_soon(hub_module._raise_stop_error)
    hub.run_forever()
    assert not hub._running
    hub.run_once()      # and the hub keeps working afterwards


def test_stop_from_another_thread(hub):
    thread = threading.Thread(target=hub.run_forever)
    thread.start()
    time.sleep(0.05)
    hub.stop()
    thread.join(2)
    assert not thread.is_alive() and not hub._running


def test_close_with_fds_registered(pair):
    a, b = pair
    h = Hub()
    closed = []
    h.on_close.add(closed.append)
    h.add_reader(a, print)
    h.add_writer(b, print)
    h.close()
    assert h.readers == {} and h.writers == {} and h._poller is None
    assert closed == [h]
    h.close()       # twice is fine
    h.reset()       # and it can be used again
    h.add_reader(a, print)
    assert a.fileno() in h.readers
    h.close()


def test_close_reports_failing_on_close_callbacks(pair):
    h = Hub()
    errors = []
    h.on_callback_error = lambda cb, exc: errors.append(exc)
    h.on_close.add(lambda hub: 1 / 0)
    h.close()
    assert len(errors) == 1


@pytest.mark.parametrize('method', ['close', 'reset'])
def test_close_applies_pending_call_soon_callbacks(pair, method):
    # Celery queues message acks with call_soon: dropping them on shutdown
    # would have the broker deliver the messages again.
    a, _ = pair
    h = Hub()
    events, errors = [], []
    h.on_callback_error = lambda cb, exc: errors.append(exc)
    h.add_reader(a, print)
    h.on_close.add(lambda hub: events.append('on_close'))
    h.call_soon(lambda: events.append(('ready', len(h.readers))))
    h.call_soon(lambda: 1 / 0)
    h.call_soon(promise(events.append, ('promise',)))
    h.call_soon(lambda: h.call_soon(events.append, 'queued while closing'))
    getattr(h, method)()
    assert events == ['on_close', ('ready', 0), 'promise']
    assert [type(exc) for exc in errors] == [ZeroDivisionError]
    assert len(h._ready) == 1      # queued while closing: left for the next loop
    h.close()
    assert events[-1] == 'queued while closing'


def _idle_cpu_fraction(hub, secs):
    result = {}

    def target():
        cpu = time.thread_time()
        wall = time.monotonic()
        hub.run_forever()
        result['cpu'] = time.thread_time() - cpu
        result['wall'] = time.monotonic() - wall

    thread = threading.Thread(target=target)
    thread.start()
    time.sleep(secs)
    hub.stop()
    thread.join(5)
    assert not thread.is_alive()
    return result['cpu'] / result['wall'], result


@pytest.mark.parametrize('with_fd', [False, True], ids=['no-fds', 'idle-fd'])
def test_idle_hub_does_not_busy_loop(hub, pair, with_fd):
    if with_fd:
        hub.add_reader(pair[0], print)     # registered but never readable
    hub.call_repeatedly(30, print)         # a far-away timer
    fraction, result = _idle_cpu_fraction(hub, 1.5)
    print(f'idle hub ({"idle fd" if with_fd else "no fds"}): '
          f'{result["cpu"] * 1000:.2f} ms CPU in {result["wall"]:.2f} s = {fraction:.3%}')
    assert fraction < 0.02


# -- reference parity -------------------------------------------------------

def test_poller_can_be_replaced():
    h = Hub()
    h.close()
    poller = h.poller = Mock(name='poller')
    h.add_reader(10, _noop)
    h.add_writer(20, _noop)
    assert poller.register.call_args_list == [call(10, READ | ERR), call(20, WRITE)]
    assert h.readers == {10: (_noop, ())} and h.writers == {20: (_noop, ())}
    h.remove(20)
    poller.unregister.assert_called_with(20)
    h.close()
    poller.close.assert_called_with()


def test_add_rejected_by_the_poller_leaves_no_trace():
    h = Hub()
    h.close()
    h.poller = Mock(name='poller')
    h.poller.register.side_effect = ValueError()
    with pytest.raises(ValueError):
        h.add(2, _noop, READ)
    assert h.readers == {} and h.writers == {}


def test_remove_ignores_unregister_key_errors():
    h = Hub()
    h.close()
    h.poller = Mock(name='poller')
    h.add_reader(31, _noop)
    h.poller.unregister.side_effect = KeyError(31)
    h.remove(31)
    assert h.readers == {}


def test_call_later_at_repeatedly_hand_callback_and_args_to_the_timer(hub):
    hub.timer = Mock(name='timer')
    cb = Mock(name='cb')
    assert hub.call_later(10, cb, 1, 2) is hub.timer.call_after.return_value
    hub.timer.call_after.assert_called_with(10, cb, (1, 2))
    assert hub.call_at(11, cb, 3) is hub.timer.call_at.return_value
    hub.timer.call_at.assert_called_with(11, cb, (3,))
    assert hub.call_repeatedly(12, cb) is hub.timer.call_repeatedly.return_value
    hub.timer.call_repeatedly.assert_called_with(12, cb, ())


def test_call_soon_returns_a_promise_queued_in_ready(hub):
    cb = Mock(name='cb')
    p = hub.call_soon(cb, 1, 2, 3)
    assert isinstance(p, promise) and p in hub._ready
    given = promise(cb)
    assert hub.call_soon(given) is given and given in hub._ready
    hub._ready.discard(given)
    assert given not in hub._ready
    hub._ready.add(given)       # set-style access to _ready works too
    hub.run_once()
    assert cb.call_args_list == [call(1, 2, 3), call()]
    assert len(hub._ready) == 0


def test_fire_timers_with_a_stub_timer_and_scheduler(hub):
    hub.timer = Mock(name='timer')
    hub.timer._queue = []
    assert hub.fire_timers(min_delay=42.324, max_delay=32.321) == 32.321
    hub.timer._queue = [1]
    hub.scheduler = iter([(3.743, None)])
    assert hub.fire_timers() == 3.743
    entries = [Mock(name=f'e{i}') for i in range(11)]
    keep = list(entries)

    def scheduler():
        while True:
            while entries:
                yield None, entries.pop()
            yield 3.982, None

    hub.scheduler = scheduler()
    assert hub.fire_timers(max_timers=10, min_delay=1.13) == 1.13
    for entry in keep[1:]:
        entry.assert_called_with()
    keep[0].assert_not_called()
    assert hub.fire_timers(max_timers=10) == 3.982
    keep[0].assert_called_with()
    entries[:] = [Mock() for _ in range(10)]
    assert hub.fire_timers(max_timers=10, min_delay=20, max_delay=5) == 5


@pytest.mark.parametrize('exc,raised', [
    (KeyError('propagated'), KeyError),
    (MemoryError(), MemoryError),
    (OSError(errno.ENOMEM, 'no memory'), OSError),
    (KeyboardInterrupt(), KeyboardInterrupt),
    (ValueError('logged'), None),
    (OSError(errno.ENOENT, 'logged'), None),
])
def test_fire_timers_error_handling(hub, exc, raised):
    hub.timer = Mock(name='timer')
    entry = Mock(name='entry', side_effect=exc)
    hub.scheduler = iter([(0, entry), (None, None)])
    with patch('kombu.asynchronous.hub.logger') as logger:
        if raised is None:
            assert hub.fire_timers(propagate=(KeyError,)) == 1
            logger.error.assert_called()
        else:
            with pytest.raises(raised):
                hub.fire_timers(propagate=(KeyError,))
            logger.error.assert_not_called()
    hub.timer.handle_error.assert_not_called()


def test_timer_errors_do_not_go_to_the_timers_on_error():
    errors = []
    h = Hub(timer=Timer(on_error=errors.append))
    h.on_callback_error = Mock(name='on_callback_error')

    def boom():
        raise ValueError('x')

    h.call_later(-1, boom)
    assert h.fire_timers() == 1
    assert errors == []
    assert isinstance(h.on_callback_error.call_args[0][1], ValueError)
    h.close()


def test_loop_does_not_wait_while_more_timers_are_due(hub, pair):
    hub.add_reader(pair[0], _noop)      # poll (never readable) instead of sleep
    ran = []
    for i in range(25):
        hub.call_later(-1, ran.append, i)
    started = time.monotonic()
    hub.run_once()
    hub.run_once()
    assert ran == list(range(20))       # 10 per iteration
    assert time.monotonic() - started < 0.5
    step(hub)
    assert ran == list(range(25))
