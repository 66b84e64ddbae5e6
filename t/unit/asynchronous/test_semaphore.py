"""kombu.asynchronous.semaphore: callback-based bounded semaphore."""
from __future__ import annotations

import re

from kombu.asynchronous.semaphore import DummyLock, LaxBoundedSemaphore


def acquire_n(sem, n, out):
    return [sem.acquire(out.append, i) for i in range(n)]


def test_acquire_applies_callbacks_while_slots_are_free():
    out = []
    sem = LaxBoundedSemaphore(2)
    assert acquire_n(sem, 4, out) == [True, True, False, False]
    assert out == [0, 1]
    assert sem.value == 0 and sem.initial_value == 2


def test_acquire_passes_partial_args_and_kwargs():
    seen = []
    sem = LaxBoundedSemaphore(1)
    sem.acquire(lambda *a, **k: seen.append((a, k)), 1, 2, key='v')
    assert seen == [((1, 2), {'key': 'v'})]


def test_release_applies_waiters_in_fifo_order():
    out = []
    sem = LaxBoundedSemaphore(1)
    acquire_n(sem, 3, out)
    sem.release()
    assert out == [0, 1]
    sem.release()
    assert out == [0, 1, 2]
    assert sem.value == 0       # the slots went to the waiters


def test_release_without_waiters_frees_a_slot():
    out = []
    sem = LaxBoundedSemaphore(2)
    acquire_n(sem, 2, out)
    sem.release()
    assert sem.value == 1


def test_releasing_more_than_acquired_stays_within_bounds():
    sem = LaxBoundedSemaphore(2)
    for _ in range(5):
        sem.release()
    assert sem.value == 2


def test_grow_lets_waiters_in_first():
    out = []
    sem = LaxBoundedSemaphore(1)
    acquire_n(sem, 3, out)          # 0 runs, 1 and 2 wait
    sem.grow(1)
    assert out == [0, 1] and sem.initial_value == 2 and sem.value == 0
    sem.grow(3)
    assert out == [0, 1, 2] and sem.initial_value == 5 and sem.value == 2


def test_shrink_lowers_size_and_free_slots_but_not_below_zero():
    sem = LaxBoundedSemaphore(4)
    sem.shrink(1)
    assert (sem.initial_value, sem.value) == (3, 3)
    sem.shrink(10)
    assert (sem.initial_value, sem.value) == (0, 0)
    out = []
    assert sem.acquire(out.append, 'x') is False and out == []


def test_clear_resets_value_and_drops_waiters():
    out = []
    sem = LaxBoundedSemaphore(1)
    acquire_n(sem, 3, out)
    sem.clear()
    assert sem.value == 1
    sem.release()
    assert out == [0]


def test_repr_shows_value_and_waiters():
    sem = LaxBoundedSemaphore(1)
    acquire_n(sem, 2, [])
    assert 'value:0' in repr(sem) and 'waiting:1' in repr(sem)


def test_dummy_lock_is_a_context_manager():
    lock = DummyLock()
    with lock as entered:
        assert entered is lock


def test_repr_format():
    sem = LaxBoundedSemaphore(2)
    assert re.fullmatch(r'<LaxBoundedSemaphore at 0x[0-9a-f]+ value:2 waiting:0>', repr(sem))


def test_docstring_example_sequence():
    out = []
    x = LaxBoundedSemaphore(2)
    assert x.acquire(out.append, 'HELLO 1') is True
    assert x.acquire(out.append, 'HELLO 2') is True
    assert x.acquire(out.append, 'HELLO 3') is False
    assert out == ['HELLO 1', 'HELLO 2']
    assert x.release() is None
    assert out == ['HELLO 1', 'HELLO 2', 'HELLO 3']
    for _ in range(5):
        x.release()
    assert x.value == x.initial_value == 2
