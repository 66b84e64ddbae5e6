"""Logical Clocks and Synchronization."""
from __future__ import annotations

from itertools import takewhile
from operator import itemgetter
from threading import Lock
from typing import Any, Callable

__all__ = ('LamportClock', 'timetuple')

R_CLOCK = '_lamport(clock={0}, timestamp={1}, id={2} {3!r})'


class timetuple(tuple):
    """Tuple of event clock information.

    Can be used as part of a heap to keep events ordered.

    Arguments:
        clock (int):  Event clock value.
        timestamp (float): Event UNIX timestamp value.
        id (str): Event host id (e.g. ``hostname:pid``).
        obj (Any): Optional obj to associate with this event.
    """

    __slots__ = ()

    def __new__(cls, clock: int, timestamp: float, id: str, obj: Any = None) -> timetuple:
        return tuple.__new__(cls, (clock, timestamp, id, obj))

    def __repr__(self) -> str:
        return R_CLOCK.format(*self)

    def __getnewargs__(self) -> tuple:
        return tuple(self)

    def __lt__(self, other: Any) -> bool:
        # 0: clock 1: timestamp 3: process id
        try:
            A, B = self[0], other[0]
            # uses logical clock value first
            if A and B:  # use logical clock if available
                if A == B:  # equal clocks use lower process id
                    return self[2] < other[2]
                return A < B
            return self[1] < other[1]  # ... or use timestamp
        except IndexError:
            return NotImplemented

    def __gt__(self, other: Any) -> bool:
        return other < self

    def __le__(self, other: Any) -> bool:
        return not other < self

    def __ge__(self, other: Any) -> bool:
        return not self < other

    clock = property(itemgetter(0))
    timestamp = property(itemgetter(1))
    id = property(itemgetter(2))
    obj = property(itemgetter(3))


class LamportClock:
    """Lamport's logical clock.

    When sending a message use :meth:`forward` to increment the clock;
    when receiving a message use :meth:`adjust` to sync with the time
    stamp of the incoming message.
    """

    #: The clocks current value.
    value = 0

    def __init__(self, initial_value: int = 0, Lock: Callable[[], Any] = Lock) -> None:
        self.value = initial_value
        self.mutex = Lock()

    def adjust(self, other: int) -> int:
        """Sync with the clock value of a received event: ``max(self, other) + 1``."""
        with self.mutex:
            value = self.value = max(self.value, other) + 1
            return value

    def forward(self) -> int:
        """Increment the clock before a local event (e.g. sending a message)."""
        with self.mutex:
            self.value += 1
            return self.value

    def sort_heap(self, h: list) -> Any:
        """Sort heap of events.

        List of tuples containing at least two elements, representing
        an event, where the first element is the event's scalar clock value,
        and the second element is the id of the process (usually
        ``"hostname:pid"``): ``sh([(clock, processid, ...?), (...)])``

        The list must already be sorted, which is why we refer to it as a
        heap.

        The tuple will not be unpacked, so more than two elements can be
        present.

        Will return the latest event.
        """
        first = h[0][0]
        same = list(takewhile(lambda e: e[0] == first, h))
        # equal clocks: the lowest process id wins
        return min(same, key=itemgetter(1)) if len(same) > 1 else h[0]

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return f'<LamportClock: {self.value}>'
