from __future__ import annotations

import threading
import time

import pytest

from kombu.exceptions import LimitExceeded
from kombu.resource import LifoQueue, Resource
from kombu.utils.functional import lazy


class Thing:
    def __init__(self, n):
        self.n = n
        self.closed = False

    def close(self):
        self.closed = True


class Pool(Resource):
    """Pool of Things; pre-fills with lazy items like the connection pools do."""

    def __init__(self, *args, lazy_fill=False, **kwargs):
        self.created = []
        self.collected = []
        self.lazy_fill = lazy_fill
        super().__init__(*args, **kwargs)

    def new(self):
        t = Thing(len(self.created))
        self.created.append(t)
        return t

    def setup(self):
        if self.limit and self.lazy_fill:
            q = self._resource.queue
            while len(q) < self.limit:
                self._resource.put_nowait(lazy(self.new))

    def prepare(self, resource):
        return resource() if isinstance(resource, lazy) else resource

    def collect_resource(self, resource):
        self.collected.append(resource)


def test_lifo_queue_is_last_in_first_out():
    q = LifoQueue()
    for i in range(3):
        q.put(i)
    assert [q.get(), q.get(), q.get()] == [2, 1, 0]


def test_base_class_setup_is_subclass_responsibility():
    with pytest.raises(NotImplementedError):
        Resource()


def test_acquire_release_reuses_resource():
    p = Pool(limit=2)
    r = p.acquire()
    r.release()
    assert p.acquire() is r
    assert len(p.created) == 1


def test_limit_exceeded_without_block():
    p = Pool(limit=2)
    p.acquire()
    p.acquire()
    with pytest.raises(LimitExceeded) as info:
        p.acquire()
    assert p.LimitExceeded is LimitExceeded
    assert info.value.args == (2,)      # the guide's "ConnectionLimitExceeded: 2"
    assert str(info.value) == '2'


def test_limit_exceeded_after_timeout():
    p = Pool(limit=1)
    p.acquire()
    start = time.monotonic()
    with pytest.raises(LimitExceeded):
        p.acquire(block=True, timeout=0.05)
    assert time.monotonic() - start >= 0.04


def test_blocking_acquire_gets_released_resource_from_other_thread():
    p = Pool(limit=1)
    r = p.acquire()
    got = []
    t = threading.Thread(target=lambda: got.append(p.acquire(block=True, timeout=5)))
    t.start()
    time.sleep(0.02)
    assert not got
    r.release()
    t.join(5)
    assert got == [r]


def test_replace_closes_and_frees_a_slot():
    p = Pool(limit=1)
    r = p.acquire()
    p.replace(r)
    assert r.closed
    r2 = p.acquire()
    assert r2 is not r


def test_replace_wakes_blocked_acquirer():
    p = Pool(limit=1)
    r = p.acquire()
    got = []
    t = threading.Thread(target=lambda: got.append(p.acquire(block=True, timeout=5)))
    t.start()
    time.sleep(0.02)
    p.replace(r)
    t.join(5)
    assert len(got) == 1 and got[0] is not r


def test_unlimited_pool_closes_on_release():
    p = Pool(limit=None)
    r = p.acquire()
    r.release()
    assert r.closed
    assert p.acquire() is not r


def test_lazy_items_are_prepared_and_put_back_on_failure():
    p = Pool(limit=2, lazy_fill=True)
    assert len(p._resource.queue) == 2
    assert p.created == []
    r = p.acquire()
    assert isinstance(r, Thing)

    def boom(resource):
        raise RuntimeError('prepare failed')

    p.prepare = boom
    with pytest.raises(RuntimeError):
        p.acquire()
    assert len(p._resource.queue) == 1  # the lazy item went back
    assert isinstance(p._resource.queue[0], lazy)


def test_failed_prepare_of_real_resource_releases_it():
    p = Pool(limit=1)
    r = p.acquire()
    r.release()
    p.prepare = lambda resource: (_ for _ in ()).throw(RuntimeError('x'))
    with pytest.raises(RuntimeError):
        p.acquire()
    del p.prepare
    assert p.acquire() is r


def test_failed_new_does_not_leak_a_slot():
    p = Pool(limit=1)
    p.new = lambda: (_ for _ in ()).throw(OSError('down'))
    with pytest.raises(OSError):
        p.acquire()
    del p.new
    assert isinstance(p.acquire(), Thing)


def test_force_close_all_collects_everything_and_closes_pool():
    p = Pool(limit=3)
    a, b = p.acquire(), p.acquire()
    b.release()
    p.force_close_all()
    assert set(p.collected) == {a, b}
    with pytest.raises(RuntimeError):
        p.acquire()
    p.force_close_all()  # idempotent
    assert len(p.collected) == 2


def test_resize_grow_and_shrink():
    p = Pool(limit=2, lazy_fill=True)
    p.limit = 4
    assert p.limit == 4
    assert len(p._resource.queue) == 4
    p.resize(1)
    assert len(p._resource.queue) == 1
    assert len(p.collected) == 3


def test_resize_shrink_in_use_needs_force():
    p = Pool(limit=3)
    p.acquire()
    with pytest.raises(RuntimeError):
        p.resize(1)
    p.resize(1, force=True)
    assert p.limit == 1
    assert isinstance(p.acquire(), Thing)


def test_preload_and_close_after_fork_settings():
    p = Pool(limit=2, preload=1, close_after_fork=True)
    assert p.preload == 1
    assert p.close_after_fork is True
    assert Pool(limit=1).close_after_fork is False


def test_many_threads_never_exceed_limit():
    limit = 3
    p = Pool(limit=limit, lazy_fill=True)
    in_use = []
    peak = []
    lock = threading.Lock()
    errors = []

    def worker():
        try:
            for _ in range(30):
                r = p.acquire(block=True, timeout=5)
                with lock:
                    in_use.append(r)
                    peak.append(len(in_use))
                    assert len(set(map(id, in_use))) == len(in_use)
                time.sleep(0.0005)
                with lock:
                    in_use.remove(r)
                r.release()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert max(peak) <= limit
    assert len(p.created) <= limit
    assert len(p._dirty) == 0
    assert len(p._resource.queue) == limit


def test_many_threads_without_block_get_limit_exceeded():
    p = Pool(limit=2)
    results = []
    barrier = threading.Barrier(6)

    def worker():
        barrier.wait()
        try:
            results.append(p.acquire())
        except LimitExceeded as exc:
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sum(isinstance(r, Thing) for r in results) == 2
    assert sum(isinstance(r, LimitExceeded) for r in results) == 4


def test_pool_closes_itself_in_a_forked_child_when_asked():
    p = Pool(limit=2, close_after_fork=True)
    r = p.acquire()
    p._pid = -1  # as seen from a child process after fork()
    with pytest.raises(RuntimeError, match='closed'):
        p.acquire()
    assert p.collected == [r]


def test_pool_without_close_after_fork_survives_pid_change():
    p = Pool(limit=2)
    p.acquire()
    p._pid = -1
    assert isinstance(p.acquire(), Thing)
