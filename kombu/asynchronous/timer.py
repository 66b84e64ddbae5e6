"""Timer scheduling Python callbacks.

The schedule is a heap of ``(eta, priority, sequence, entry)`` tuples: the
sequence number breaks ties so entries are never compared, and cancelled
entries are dropped lazily (when they reach the top of the heap, or by a
periodic compaction when they pile up).  ETAs live in the time base of the
timer's clock, :func:`time.monotonic` unless another clock is injected with
``Timer(clock=...)``.

Iterating over a :class:`Timer` gives the scheduling generator the event loop
uses: each step yields ``(delay, None)`` when the next entry is not due yet
(``delay`` is capped to :attr:`Timer.max_interval`), ``(None, entry)`` for an
entry that is due (already removed from the schedule; the caller applies it),
and ``(None, None)`` when nothing is scheduled.
"""
from __future__ import annotations

import heapq
import itertools
from collections import namedtuple
from datetime import datetime, timezone
from functools import wraps
from time import monotonic
from time import time as _wall_time
from typing import Any, Callable, Iterator

from kombu.log import get_logger

__all__ = ('Entry', 'Timer', 'to_timestamp')

logger = get_logger(__name__)

#: Default upper bound (seconds) of the delays yielded by the scheduler.
DEFAULT_MAX_INTERVAL = 2
#: The Unix epoch, as a naive UTC datetime.
EPOCH = datetime(1970, 1, 1)

#: Snapshot item of :attr:`Timer.queue`.
scheduled = namedtuple('scheduled', ('eta', 'priority', 'entry'))

#: Item of the heap: ``seq`` (insertion order) breaks ties between equal
#: ``(eta, priority)`` so entries themselves are never compared.
_heap_item = namedtuple('_heap_item', ('eta', 'priority', 'seq', 'entry'))

#: Compact the heap when it grows past this size with cancelled entries in it.
_COMPACT_MIN = 64


def to_timestamp(d: Any, default_timezone: Any = timezone.utc,
                 time: Callable[[], float] = monotonic) -> Any:
    """Convert datetime to timestamp.

    If `d' is already a timestamp, then that will be used.  A datetime is
    converted into the time base of ``time`` (monotonic by default); naive
    datetimes are taken to be in ``default_timezone`` (UTC).
    """
    if not isinstance(d, datetime):
        return d
    if d.tzinfo is None:
        d = d.replace(tzinfo=default_timezone)
    wall = d.timestamp()
    # shift from the wall clock to the clock the timer runs on
    return max(wall - (_wall_time() - time()), 0)


class Entry:
    """Schedule Entry."""

    __slots__ = ('fun', 'args', 'kwargs', 'tref', 'canceled', '_last_run',
                 '__weakref__', '__dict__')

    def __init__(self, fun: Callable, args: Any = None, kwargs: Any = None) -> None:
        self.fun = fun
        self.args = args or []
        self.kwargs = kwargs or {}
        self.tref = self
        self.canceled = False
        self._last_run: float | None = None

    def __call__(self) -> Any:
        return self.fun(*self.args, **self.kwargs)

    def cancel(self) -> None:
        """Cancel the entry: it will not run (again)."""
        self.canceled = True

    @property
    def cancelled(self) -> bool:
        """Alias of :attr:`canceled`."""
        return self.canceled

    @cancelled.setter
    def cancelled(self, value: bool) -> None:
        self.canceled = value

    def __lt__(self, other: Any) -> bool:
        # entries carry no natural order; any consistent one keeps sorting working
        if not isinstance(other, Entry):
            return NotImplemented
        return id(self) < id(other)

    def __repr__(self) -> str:
        name = getattr(self.fun, '__name__', None) or repr(self.fun)
        return f'<TimerEntry: {name}(*{self.args!r}, **{self.kwargs!r})>'


class Timer:
    """Async timer implementation.

    Parameters:
        max_interval (float): Upper bound, in seconds, of the delays the
            scheduler yields (default 2).
        on_error (Callable): Applied with the exception when an entry raises
            (default: the error is logged).
        clock (Callable): Keyword argument: the clock ETAs are measured with
            (default :func:`time.monotonic`).
    """

    Entry = Entry

    #: Callback applied with the exception when an entry raises; when None
    #: the error is logged.
    on_error: Callable[[Any], Any] | None = None

    def __init__(self, max_interval: float | None = None,
                 on_error: Callable[[Any], Any] | None = None, **kwargs: Any) -> None:
        self.max_interval = float(max_interval or DEFAULT_MAX_INTERVAL)
        self.on_error = on_error or self.on_error
        #: the clock ETAs are measured with (injectable for tests)
        self.clock: Callable[[], float] = kwargs.get('clock') or monotonic
        self._queue: list[_heap_item] = []
        self._seq = itertools.count()
        self._compact_at = _COMPACT_MIN

    # -- scheduling -------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[float | None, Entry | None]]:
        return self._scheduler()

    def _scheduler(self) -> Iterator[tuple[float | None, Entry | None]]:
        pop = heapq.heappop
        while True:
            heap = self._queue      # may be replaced by clear()/compaction
            if not heap:
                yield None, None
                continue
            eta, _priority, _seq, entry = heap[0]
            if entry.canceled:
                pop(heap)
                continue
            now = self.clock()
            if now < eta:
                yield min(eta - now, self.max_interval), None
            else:
                pop(heap)
                yield None, entry

    def enter_at(self, entry: Entry, eta: Any = None, priority: int = 0,
                 time: Callable[[], float] = monotonic) -> Entry:
        """Enter function into the scheduler.

        Parameters:
            entry (Entry): Item to enter.
            eta (datetime.datetime | float): Scheduled time (None: now).
            priority (int): Tie-breaker for entries with the same eta (lower first).

        Returns the entry; when the datetime cannot be converted the error
        goes to :meth:`handle_error` (and None is returned) or, without
        :attr:`on_error`, is raised.
        """
        if time is monotonic:
            time = self.clock
        if eta is None:
            eta = time()
        elif isinstance(eta, datetime):
            try:
                eta = to_timestamp(eta, time=time)
            except Exception as exc:
                if not self.handle_error(exc):
                    raise
                return None
        self._enter(eta, priority, entry)
        return entry

    def enter_after(self, secs: float, entry: Entry, priority: int = 0,
                    time: Callable[[], float] = monotonic) -> Entry:
        """Enter ``entry`` to run ``secs`` seconds from now."""
        if time is monotonic:
            time = self.clock
        return self.enter_at(entry, time() + secs, priority, time=time)

    def _enter(self, eta: float, priority: int, entry: Entry) -> Entry:
        heap = self._queue
        if len(heap) >= self._compact_at:
            self._compact()
            heap = self._queue
        heapq.heappush(heap, _heap_item(eta, priority, next(self._seq), entry))
        return entry

    def _compact(self) -> None:
        """Drop cancelled entries from the heap."""
        live = [item for item in self._queue if not item.entry.canceled]
        if len(live) != len(self._queue):
            heapq.heapify(live)
            self._queue[:] = live
        self._compact_at = max(_COMPACT_MIN, 2 * len(self._queue))

    def call_at(self, eta: Any, fun: Callable, args: Any = (), kwargs: Any = None,
                priority: int = 0) -> Entry:
        """Call ``fun(*args, **kwargs)`` at ``eta`` (timestamp or datetime)."""
        return self.enter_at(self.Entry(fun, args, kwargs), eta, priority)

    def call_after(self, secs: float, fun: Callable, args: Any = (), kwargs: Any = None,
                   priority: int = 0) -> Entry:
        """Call ``fun(*args, **kwargs)`` after ``secs`` seconds."""
        return self.enter_after(secs, self.Entry(fun, args, kwargs), priority)

    def call_repeatedly(self, secs: float, fun: Callable, args: Any = (),
                        kwargs: Any = None, priority: int = 0) -> Entry:
        """Call ``fun(*args, **kwargs)`` every ``secs`` seconds until cancelled.

        Each run schedules the next one (with :meth:`enter_after`, even when
        the call raised) at the previous ETA plus ``secs``, or ``secs`` from
        now if that is already past or the entry was applied before its ETA
        (so a slow loop never triggers a burst of catch-up calls).
        """
        clock = self.clock
        entry: Entry

        @wraps(fun)
        def _reschedules(*args: Any, **kwargs: Any) -> Any:
            last = entry._last_run
            try:
                return fun(*args, **kwargs)
            finally:
                if not entry.canceled:
                    now = clock()
                    delay = secs
                    if last is not None and last <= now < last + secs:
                        delay = last + secs - now    # keep the rate
                    entry._last_run = now + delay
                    self.schedule.enter_after(delay, entry, priority)

        entry = self.Entry(_reschedules, args, kwargs)
        entry._last_run = clock() + secs
        self.schedule.enter_after(secs, entry, priority)
        return entry

    # -- running ----------------------------------------------------------

    def apply_entry(self, entry: Entry) -> None:
        """Apply ``entry``, sending an error to :meth:`handle_error` (or the log)."""
        try:
            entry()
        except Exception as exc:
            if not self.handle_error(exc):
                logger.error('Error in timer: %r', exc, exc_info=True)

    def handle_error(self, exc_info: Any) -> bool:
        """Pass an error to :attr:`on_error`; return True if it was handled."""
        if self.on_error:
            self.on_error(exc_info)
            return True
        return False

    def stop(self) -> None:
        """Nothing to stop: the timer runs inside the event loop."""

    def __enter__(self) -> Timer:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def cancel(self, tref: Entry) -> None:
        """Cancel a scheduled entry."""
        tref.cancel()

    def clear(self) -> None:
        """Remove every scheduled entry."""
        self._queue[:] = []
        self._compact_at = _COMPACT_MIN

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def queue(self) -> list[scheduled]:
        """Snapshot of underlying datastructure.

        A sorted list of ``scheduled(eta, priority, entry)`` for the entries
        that are not cancelled.
        """
        return [scheduled(item.eta, item.priority, item.entry)
                for item in sorted(self._queue) if not item.entry.canceled]

    @property
    def schedule(self) -> Timer:
        """The scheduler (the timer itself)."""
        return self

