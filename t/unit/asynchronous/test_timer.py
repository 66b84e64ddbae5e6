"""kombu.asynchronous.timer: heap scheduler, entries, repeated calls, errors."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from unittest.mock import Mock, patch

import pytest

from kombu.asynchronous.timer import Entry, Timer, to_timestamp


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, secs):
        self.now += secs


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def timer(clock):
    return Timer(max_interval=60, clock=clock)


def run_due(timer):
    """Apply every due entry (as the hub does); return how many ran."""
    ran = 0
    for _delay, entry in timer:
        if entry is None:
            return ran
        timer.apply_entry(entry)
        ran += 1


def test_entry_calls_its_function_with_args_and_kwargs():
    seen = []
    entry = Entry(lambda *a, **k: seen.append((a, k)), (1, 2), {'x': 3})
    entry()
    assert seen == [((1, 2), {'x': 3})]
    assert entry.tref is entry
    assert 'TimerEntry' in repr(entry) and '<lambda>' in repr(entry)


def test_entry_defaults_to_no_arguments_and_not_cancelled():
    entry = Entry(print)
    assert list(entry.args) == [] and entry.kwargs == {}
    assert entry.canceled is False and entry.cancelled is False


def test_entry_cancel_sets_both_spellings():
    entry = Entry(print)
    entry.cancel()
    assert entry.canceled and entry.cancelled


def test_empty_timer_yields_none_none():
    it = iter(Timer())
    assert next(it) == (None, None)
    assert next(it) == (None, None)


def test_pending_entry_yields_its_delay(timer, clock):
    timer.call_after(5, print)
    delay, entry = next(iter(timer))
    assert entry is None and delay == pytest.approx(5)


def test_delay_is_capped_by_max_interval(clock):
    timer = Timer(max_interval=2, clock=clock)
    timer.call_after(30, print)
    assert next(iter(timer)) == (2, None)


def test_default_max_interval_is_two_seconds():
    assert Timer().max_interval == 2


def test_due_entry_is_popped_and_yielded(timer, clock):
    entry = timer.call_after(1, print)
    clock.advance(1)
    assert next(iter(timer)) == (None, entry)
    assert len(timer) == 0


def test_entries_run_in_eta_order(timer, clock):
    order = []
    for secs in (3, 1, 2):
        timer.call_after(secs, order.append, (secs,))
    clock.advance(1.5)
    assert run_due(timer) == 1
    clock.advance(2)
    assert run_due(timer) == 2
    assert order == [1, 2, 3]


def test_same_eta_runs_by_priority_then_insertion_order(timer, clock):
    order = []
    eta = clock() + 1
    timer.call_at(eta, order.append, ('low-b',), priority=5)
    timer.call_at(eta, order.append, ('high',), priority=1)
    timer.call_at(eta, order.append, ('low-c',), priority=5)
    clock.advance(1)
    run_due(timer)
    assert order == ['high', 'low-b', 'low-c']


def test_queue_is_a_sorted_snapshot_without_cancelled_entries(timer):
    a = timer.call_after(3, print)
    b = timer.call_after(1, print)
    c = timer.call_after(2, print)
    c.cancel()
    queue = timer.queue
    assert [item.entry for item in queue] == [b, a]
    assert queue[0].eta < queue[1].eta and queue[0].priority == 0
    assert timer.schedule is timer


def test_cancelled_entry_never_runs(timer, clock):
    ran = []
    entry = timer.call_after(1, ran.append, (1,))
    timer.cancel(entry)
    clock.advance(5)
    assert run_due(timer) == 0
    assert ran == [] and len(timer) == 0


def test_clear_removes_everything(timer):
    for i in range(5):
        timer.call_after(i, print)
    timer.clear()
    assert len(timer) == 0 and timer.queue == []


def test_call_repeatedly_runs_every_interval_until_cancelled(timer, clock):
    calls = []
    entry = timer.call_repeatedly(1, calls.append, ('tick',))
    assert run_due(timer) == 0
    for _ in range(3):
        clock.advance(1)
        assert run_due(timer) == 1
    assert calls == ['tick'] * 3
    entry.cancel()
    clock.advance(1)
    assert run_due(timer) == 0
    assert calls == ['tick'] * 3


def test_call_repeatedly_keeps_a_fixed_rate(timer, clock):
    timer.call_repeatedly(1, print)
    clock.advance(1.4)              # ran late
    run_due(timer)
    assert timer.queue[0].eta == pytest.approx(1002.0)


def test_call_repeatedly_does_not_burst_after_a_long_stall(timer, clock):
    calls = []
    timer.call_repeatedly(1, calls.append, (1,))
    clock.advance(10)
    assert run_due(timer) == 1
    assert timer.queue[0].eta == pytest.approx(clock() + 1)


def test_call_repeatedly_is_rescheduled_even_when_it_raises(clock):
    errors = []
    timer = Timer(clock=clock, on_error=errors.append)

    def fails():
        raise KeyError('x')

    timer.call_repeatedly(1, fails)
    clock.advance(1)
    run_due(timer)
    clock.advance(1)
    run_due(timer)
    assert len(errors) == 2 and isinstance(errors[0], KeyError)
    assert len(timer) == 1


def test_apply_entry_sends_errors_to_on_error():
    errors = []
    timer = Timer(on_error=errors.append)
    timer.apply_entry(Entry(lambda: 1 / 0))
    assert len(errors) == 1 and isinstance(errors[0], ZeroDivisionError)


def test_apply_entry_logs_errors_without_on_error(caplog):
    timer = Timer()
    with caplog.at_level(logging.ERROR):
        timer.apply_entry(Entry(lambda: 1 / 0))
    assert 'Error in timer' in caplog.text


def test_handle_error_reports_whether_it_was_handled():
    assert not Timer().handle_error(ValueError())
    assert Timer(on_error=lambda exc: None).handle_error(ValueError())


def test_cancelled_entries_are_compacted_away(timer):
    # the timeout pattern: schedule, then cancel before it is due
    for i in range(1000):
        timer.call_after(100 + i, print).cancel()
    live = [timer.call_after(i, print) for i in range(10)]
    assert len(timer) <= 64 + 2 * len(live)
    assert [item.entry for item in timer.queue] == live


def test_enter_at_accepts_a_datetime(timer, clock):
    entry = Entry(print)
    timer.enter_at(entry, datetime.now(timezone.utc) + timedelta(seconds=30))
    assert timer.queue[0].eta == pytest.approx(clock() + 30, abs=0.5)


def test_enter_at_without_eta_is_due_now(timer, clock):
    entry = timer.enter_at(Entry(print))
    assert next(iter(timer)) == (None, entry)


def test_enter_after_returns_the_entry(timer, clock):
    entry = Entry(print)
    assert timer.enter_after(3, entry) is entry
    assert timer.queue[0].eta == pytest.approx(clock() + 3)


def test_to_timestamp_passes_numbers_through():
    assert to_timestamp(5) == 5
    assert to_timestamp(None) is None


def test_to_timestamp_converts_naive_utc_datetime_to_monotonic_base():
    in_ten = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=10)
    assert to_timestamp(in_ten) == pytest.approx(time.monotonic() + 10, abs=0.5)


def test_to_timestamp_converts_aware_datetime():
    tz = timezone(timedelta(hours=3))
    in_ten = datetime.now(tz) + timedelta(seconds=10)
    assert to_timestamp(in_ten) == pytest.approx(time.monotonic() + 10, abs=0.5)


def test_timer_entry_class_is_exposed():
    assert Timer.Entry is Entry


# -- reference parity -------------------------------------------------------

def test_timer_defaults_and_context_manager():
    t = Timer()
    assert t.max_interval == 2.0 and t.on_error is None
    assert Timer(max_interval=0.5).max_interval == 0.5
    assert t.schedule is t and t.stop() is None
    t.stop = Mock(name='stop')
    with t as entered:
        assert entered is t
    t.stop.assert_called_with()


def test_entry_fields_and_repr():
    def fun(*args, **kwargs):
        return args, kwargs

    entry = Entry(fun, (1,), {'a': 2})
    assert (entry.fun, entry.args, entry.kwargs) == (fun, (1,), {'a': 2})
    assert entry() == ((1,), {'a': 2})
    assert repr(entry) == "<TimerEntry: fun(*(1,), **{'a': 2})>"
    bare = Entry(fun)
    assert (bare.args, bare.kwargs) == ([], {})
    assert not bare.canceled and not bare.cancelled
    assert bare.cancel() is None
    assert bare.canceled and bare.cancelled


def test_cancel_calls_the_trefs_cancel():
    tref = Mock(name='tref')
    Timer().cancel(tref)
    tref.cancel.assert_called_with()


def test_enter_after_and_enter_at_use_the_given_time():
    t = Timer()
    t._enter = Mock(name='_enter')
    fun = Mock(name='fun')
    now = Mock(name='time', return_value=10)
    t.enter_after(10, fun, time=now)
    t._enter.assert_called_with(20, 0, fun)
    t.enter_at(fun, None, priority=3, time=now)
    t._enter.assert_called_with(10, 3, fun)
    t.enter_at(fun, 0, time=now)
    t._enter.assert_called_with(0, 0, fun)


def test_enter_at_conversion_errors_go_to_on_error():
    on_error = Mock(name='on_error')
    t = Timer(on_error=on_error)
    with patch('kombu.asynchronous.timer.to_timestamp') as to_ts:
        to_ts.side_effect = OverflowError()
        assert t.enter_at(Entry(print), eta=datetime.now()) is None
        assert isinstance(t.enter_at(Entry(print), eta=None), Entry)
        t.on_error = None
        with pytest.raises(OverflowError):
            t.enter_at(Entry(print), eta=datetime.now())
    on_error.assert_called_once()
    assert isinstance(on_error.call_args[0][0], OverflowError)
    assert len(t) == 1


def test_call_repeatedly_schedules_through_enter_after():
    t = Timer()
    t.schedule.enter_after = Mock(name='enter_after')
    fun = Mock(name='fun')
    fun.__name__ = 'fun'
    entry = t.call_repeatedly(0.03, fun, (1,))
    assert isinstance(entry, Entry) and entry.args == (1,)
    t.schedule.enter_after.assert_called_once_with(0.03, entry, 0)
    entry()                               # applied early: next run in secs
    fun.assert_called_once_with(1)
    assert t.schedule.enter_after.call_count == 2
    assert t.schedule.enter_after.call_args[0][:2] == (0.03, entry)
    entry.canceled = True
    entry()
    assert t.schedule.enter_after.call_count == 2


def test_scheduler_yields_capped_delays_and_due_entries(timer, clock):
    timer.max_interval = 0.5
    entry = timer.call_after(10, print)
    it = iter(timer)
    assert next(it) == (0.5, None)
    clock.advance(10)
    assert next(it) == (None, entry)
    assert next(it) == (None, None)
    assert len(timer) == 0


def test_queue_orders_by_eta_then_priority(timer):
    x = timer.call_at(100.0, print, ('x',), priority=5)
    y = timer.call_at(50.0, print, ('y',), priority=9)
    z = timer.call_at(100.0, print, ('z',), priority=1)
    assert [(q.eta, q.priority, q.entry) for q in timer.queue] == [
        (50.0, 9, y), (100.0, 1, z), (100.0, 5, x)]
    assert timer.queue[0]._fields == ('eta', 'priority', 'entry')
