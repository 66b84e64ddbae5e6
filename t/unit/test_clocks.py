from __future__ import annotations

import pickle
import threading
from heapq import heappush

from kombu.clocks import LamportClock, timetuple


def test_forward_increments():
    c = LamportClock()
    assert c.value == 0
    assert c.forward() == 1
    assert c.forward() == 2


def test_adjust_takes_max_plus_one():
    c = LamportClock(initial_value=5)
    assert c.adjust(10) == 11
    assert c.adjust(3) == 12
    assert str(c) == '12'
    assert repr(c) == '<LamportClock: 12>'


def test_forward_is_thread_safe():
    c = LamportClock()

    def bump():
        for _ in range(2000):
            c.forward()

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.value == 8000


def test_sort_heap_returns_latest_event():
    c = LamportClock()
    assert c.sort_heap([(1, 'b'), (2, 'a')]) == (1, 'b')
    assert c.sort_heap([(1, 'b'), (1, 'a'), (2, 'c')]) == (1, 'a')
    assert c.sort_heap([(3, 'z', 'obj')]) == (3, 'z', 'obj')


def test_timetuple_fields_and_pickle():
    t = timetuple(1, 2.0, 'host:1', 'obj')
    assert (t.clock, t.timestamp, t.id, t.obj) == (1, 2.0, 'host:1', 'obj')
    assert pickle.loads(pickle.dumps(t)) == t
    assert repr(t) == "_lamport(clock=1, timestamp=2.0, id=host:1 'obj')"
    assert timetuple(1, 2.0, 'a').obj is None


def test_timetuple_orders_by_clock_then_id_then_timestamp():
    assert timetuple(1, 9.0, 'a') < timetuple(2, 1.0, 'a')
    assert timetuple(1, 2.0, 'a') < timetuple(1, 1.0, 'b')
    assert timetuple(0, 1.0, 'b') < timetuple(0, 2.0, 'a')
    assert timetuple(2, 1.0, 'a') > timetuple(1, 2.0, 'a')
    assert timetuple(1, 2.0, 'a') <= timetuple(1, 2.0, 'a')
    assert timetuple(1, 2.0, 'a') >= timetuple(1, 2.0, 'a')
    h = []
    for t in [timetuple(3, 0, 'x'), timetuple(1, 0, 'y'), timetuple(2, 0, 'z')]:
        heappush(h, t)
    assert h[0].clock == 1
