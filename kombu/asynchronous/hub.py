"""Event loop implementation.

One iteration of the loop (one ``next()`` on :meth:`Hub.create_loop`):

1. apply the :attr:`Hub.on_tick` callbacks,
2. apply the callbacks queued by :meth:`Hub.call_soon`,
3. fire the timers that are due; the next timer gives the poll timeout
   (bounded: at most ``max_delay``, one second when nothing is scheduled,
   zero when callbacks are ready),
4. poll the registered file descriptors and dispatch their events (when no
   descriptor is registered the loop sleeps instead, at most 0.1 second).

Errors raised by reader/writer callbacks, :attr:`Hub.on_tick` callbacks and
:meth:`Hub.call_soon` callbacks are raised out of :meth:`Hub.run_once` (and
so :meth:`Hub.run_forever`): that is how a transport tells the loop's owner
that its connection was lost.  Callbacks queued with ``call_soon`` that had
not run yet stay queued.  Errors raised by timers go to
:meth:`Hub.on_callback_error` (which logs), unless they are instances of
:attr:`Hub.propagate_errors` (or :exc:`MemoryError`, or :exc:`OSError`
``ENOMEM``).  A descriptor found to be invalid (``EBADF``
raised by its callback, or reported invalid by the poller) is removed
without an error.
"""
from __future__ import annotations

import errno
import os
from collections import deque
from queue import Empty
from time import sleep
from types import GeneratorType as generator
from typing import Any, Callable, Iterable, Iterator

from vine import Thenable, promise

from kombu.log import get_logger
from kombu.utils.eventio import ERR, READ, WRITE, poll
from kombu.utils.objects import cached_property

from .debug import repr_active, repr_events
from .timer import Entry, Timer

__all__ = ('Hub', 'get_event_loop', 'set_event_loop')

logger = get_logger(__name__)

_current_loop: Hub | None = None

W_UNKNOWN_EVENT = 'Received unknown event %r for fd %r, please contact support!'

#: Longest sleep (seconds) of an iteration with no descriptor to poll, so
#: descriptors added from elsewhere are noticed quickly.
IDLE_SLEEP_MAX = 0.1


class Stop(BaseException):
    """Stops the event loop."""


def _raise_stop_error() -> None:
    raise Stop()


def _noop() -> None:
    pass


def get_event_loop() -> Hub | None:
    """Get current event loop object."""
    return _current_loop


def set_event_loop(loop: Hub | None) -> Hub | None:
    """Set the current event loop object."""
    global _current_loop
    _current_loop = loop
    return loop


class _ReadyQueue(deque):
    """FIFO of the callbacks queued by :meth:`Hub.call_soon`.

    Also answers the ``set`` methods ``add``/``discard`` that code written for
    the original (set based) ``Hub._ready`` uses.
    """

    add = deque.append

    def discard(self, item: Any) -> None:
        try:
            self.remove(item)
        except ValueError:
            pass


def _is_bad_fd(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.EBADF


def _fd_is_closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError as exc:
        return exc.errno == errno.EBADF
    return False


class Hub:
    """Event loop object.

    Parameters:
        timer (kombu.asynchronous.Timer): Specify custom timer instance.
    """

    #: Flag set if reading from an fd will not block.
    READ = READ

    #: Flag set if writing to an fd will not block.
    WRITE = WRITE

    #: Flag set on error, and the fd should be read from asap.
    ERR = ERR

    #: List of callbacks to be called when the loop is exiting,
    #: applied with the hub instance as sole argument.
    on_close: set[Callable[[Hub], Any]] = None  # type: ignore[assignment]

    def __init__(self, timer: Timer | None = None) -> None:
        self.timer = timer if timer is not None else Timer()
        #: fd -> (callback, args)
        self.readers: dict[int, tuple[Callable, tuple]] = {}
        self.writers: dict[int, tuple[Callable, tuple]] = {}
        #: callables applied (without arguments) at the start of every iteration
        self.on_tick: set[Callable[[], Any]] = set()
        self.on_close = set()
        self._ready: deque[Callable[[], Any]] = _ReadyQueue()
        #: set by :meth:`fire_timers` when it stopped at ``max_timers`` with
        #: more timers possibly due (the loop then polls without waiting)
        self._timers_due = False
        self._running = False
        self._stop_requested = False
        self._loop: Iterator[None] | None = None
        #: fd -> the object it was added as (to remove objects closed since)
        self._fd_objects: dict[int, Any] = {}
        #: reader fds whose events are batched into one consolidate_callback call
        self.consolidate: set[int] = set()
        self.consolidate_callback: Callable[[list[int]], Any] | None = None
        #: exception classes raised by timers that are re-raised out of the
        #: loop instead of logged
        self.propagate_errors: tuple[type[BaseException], ...] = ()
        self._poller: Any = None
        self._create_poller()

    # -- poller -----------------------------------------------------------

    @property
    def poller(self) -> Any:
        """The :func:`kombu.utils.eventio.poll` instance (created on demand)."""
        if self._poller is None:
            self._create_poller()
        return self._poller

    @poller.setter
    def poller(self, poller: Any) -> None:
        self._poller = poller
        if poller is not None:
            self._register_fd = poller.register
            self._unregister_fd = poller.unregister

    def _create_poller(self) -> None:
        self._poller = poll()
        self._register_fd = self._poller.register
        self._unregister_fd = self._poller.unregister

    def _close_poller(self) -> None:
        if self._poller is not None:
            self._poller.close()
            self._poller = None
            self._register_fd = None
            self._unregister_fd = None

    def reset(self) -> None:
        """Close the hub (see :meth:`close`) and start over with a new poller."""
        self.close()
        self._create_poller()

    # -- scheduling -------------------------------------------------------

    @cached_property
    def scheduler(self) -> Iterator[tuple[float | None, Entry | None]]:
        """The timer's scheduling generator (see :class:`~kombu.asynchronous.timer.Timer`)."""
        return iter(self.timer)

    def call_soon(self, callback: Callable, *args: Any) -> Any:
        """Apply ``callback(*args)`` at the start of the next iteration; returns a promise."""
        if args or not isinstance(callback, Thenable):
            callback = promise(callback, args)
        self._ready.append(callback)
        return callback

    def call_later(self, delay: float, callback: Callable, *args: Any) -> Entry:
        """Apply ``callback(*args)`` after ``delay`` seconds; returns the timer entry."""
        return self.timer.call_after(delay, callback, args)

    def call_at(self, when: Any, callback: Callable, *args: Any) -> Entry:
        """Apply ``callback(*args)`` at ``when`` (monotonic timestamp or datetime)."""
        return self.timer.call_at(when, callback, args)

    def call_repeatedly(self, delay: float, callback: Callable, *args: Any) -> Entry:
        """Apply ``callback(*args)`` every ``delay`` seconds; cancel the returned entry to stop."""
        return self.timer.call_repeatedly(delay, callback, args)

    def _pop_ready(self) -> list[Callable[[], Any]]:
        """Take the callbacks queued so far (callbacks they queue wait for the next round)."""
        ready = self._ready
        return [ready.popleft() for _ in range(len(ready))]

    def fire_timers(self, min_delay: float = 1, max_delay: float = 10,
                    max_timers: int = 10, propagate: tuple = ()) -> float:
        """Apply up to ``max_timers`` due timers; return seconds until the next one.

        The result is the delay until the next timer, or ``min_delay`` when
        nothing is scheduled or ``max_timers`` timers were applied; never more
        than ``max_delay``.  Errors raised by timers are passed to
        :meth:`on_callback_error`, except instances of ``propagate``,
        :exc:`MemoryError` and :exc:`OSError` ``ENOMEM``, which are raised.
        """
        delay: float | None = None
        self._timers_due = False
        if self.timer._queue:
            scheduler = self.scheduler
            for _ in range(max_timers):
                delay, entry = next(scheduler)
                if entry is None:
                    break
                self._apply_timer(entry, propagate)
            else:
                delay = None
                self._timers_due = True   # the loop polls without waiting
        if delay is None:
            delay = min_delay
        return min(delay, max_delay)

    def _apply_timer(self, entry: Any, propagate: tuple) -> None:
        try:
            entry()
        except propagate:
            raise
        except MemoryError:
            raise
        except OSError as exc:
            if exc.errno == errno.ENOMEM:
                raise
            self.on_callback_error(entry, exc)
        except Exception as exc:
            self.on_callback_error(entry, exc)

    # -- file descriptors -------------------------------------------------

    def add(self, fd: Any, callback: Callable, flags: int, args: Iterable = (),
            consolidate: bool = False) -> None:
        """Call ``callback(*args)`` when ``fd`` (or each fd of a list) is ready for ``flags``.

        ``fd`` is an int or an object with ``fileno()``.  ``flags`` is a
        combination of :attr:`READ` (with :attr:`ERR`) and :attr:`WRITE`.
        Adding an fd again replaces its callback.  Raises :exc:`OSError` when
        the descriptor is not valid.
        """
        args = tuple(args)
        for one in self._iter_fds(fd):
            self._add_one(one, callback, flags, args, consolidate)

    @staticmethod
    def _iter_fds(fds: Any) -> Iterable[Any]:
        if isinstance(fds, (list, tuple, set, frozenset)):
            return fds
        return (fds,)

    def _add_one(self, obj: Any, callback: Callable, flags: int, args: tuple,
                 consolidate: bool) -> None:
        fd = self._fileno(obj)
        if fd is None or fd < 0:
            raise OSError(errno.EBADF, f'cannot add closed file object {obj!r}')
        before = self.readers.get(fd), self.writers.get(fd)
        if flags & WRITE:
            self.writers[fd] = (callback, args)
        if flags & READ or (flags & ERR and not flags & WRITE):
            self.readers[fd] = (callback, args)
        try:
            self._update_poller(fd)
        except BaseException:
            if before == (None, None):
                self._discard(fd)
            else:
                self._restore(fd, *before)
            raise
        if consolidate:
            self.consolidate.add(fd)
        if not isinstance(obj, int):
            self._fd_objects[fd] = obj

    def _restore(self, fd: int, reader: Any, writer: Any) -> None:
        for table, previous in ((self.readers, reader), (self.writers, writer)):
            if previous is None:
                table.pop(fd, None)
            else:
                table[fd] = previous

    def _update_poller(self, fd: int) -> None:
        """Register ``fd`` with the mask its readers/writers need (or unregister it)."""
        mask = (READ | ERR if fd in self.readers else 0) | (WRITE if fd in self.writers else 0)
        if mask:
            self.poller.register(fd, mask)
        else:
            self._unregister(fd)

    def _unregister(self, fd: int) -> None:
        if self._poller is not None:
            try:
                self._poller.unregister(fd)
            except (OSError, ValueError, KeyError):
                pass

    def _fileno(self, obj: Any) -> int | None:
        """Integer fd of ``obj``; for a closed object, the fd it was added with."""
        if isinstance(obj, int):
            return obj
        try:
            fd = obj.fileno()
        except (AttributeError, ValueError, OSError):
            fd = -1
        if fd is not None and fd >= 0:
            return fd
        for known, owner in self._fd_objects.items():
            if owner is obj:
                return known
        return None

    def add_reader(self, fds: Any, callback: Callable, *args: Any) -> None:
        """Call ``callback(*args)`` whenever ``fds`` (fd, socket, or list of them) is readable."""
        return self.add(fds, callback, READ | ERR, args)

    def add_writer(self, fds: Any, callback: Callable, *args: Any) -> None:
        """Call ``callback(*args)`` whenever ``fds`` is writable."""
        return self.add(fds, callback, WRITE, args)

    def remove(self, fd: Any) -> None:
        """Stop watching ``fd`` (reader and writer); unknown or closed fds are ignored."""
        number = self._fileno(fd)
        if number is None:
            return
        self._discard(number)
        self._unregister(number)

    def _discard(self, fd: int) -> None:
        self.readers.pop(fd, None)
        self.writers.pop(fd, None)
        self.consolidate.discard(fd)
        self._fd_objects.pop(fd, None)

    def remove_reader(self, fd: Any) -> None:
        """Stop calling the reader of ``fd`` (its writer stays)."""
        self._remove_from(self.readers, fd)

    def remove_writer(self, fd: Any) -> None:
        """Stop calling the writer of ``fd`` (its reader stays)."""
        self._remove_from(self.writers, fd)

    def _remove_from(self, table: dict, fd: Any) -> None:
        number = self._fileno(fd)
        if number is None:
            return
        table.pop(number, None)
        if table is self.readers:
            self.consolidate.discard(number)
        if number not in self.readers and number not in self.writers:
            self.remove(number)
            return
        try:
            self._update_poller(number)
        except (OSError, ValueError):
            self.remove(number)      # the descriptor is gone

    # -- running ----------------------------------------------------------

    def on_callback_error(self, callback: Any, exc: BaseException) -> None:
        """Report an error raised by ``callback`` (logged at ERROR level)."""
        logger.error('Callback %r raised exception: %r', callback, exc,
                     exc_info=(type(exc), exc, exc.__traceback__))

    def _call_fd(self, fd: int, callback: Callable, args: tuple) -> bool:
        """Apply an fd callback; return False when the fd turned out to be invalid.

        Other errors are raised out of the loop.
        """
        try:
            callback(*args)
        except OSError as exc:
            if not _is_bad_fd(exc):
                raise
            logger.debug('Removing fd %r from the event loop: %r', fd, exc)
            self.remove(fd)
            return False
        return True

    def _run_tick(self) -> None:
        for tick_callback in list(self.on_tick):
            tick_callback()

    def _run_ready(self) -> None:
        items = self._pop_ready()
        for i, item in enumerate(items):
            try:
                item()
            except BaseException:
                # the callbacks after the failing one still run next time
                self._ready.extendleft(reversed(items[i + 1:]))
                raise

    def _dispatch(self, events: Iterable[tuple[int, int]]) -> None:
        consolidated: list[int] = []
        for fd, event in events:
            self._handle_event(fd, event, consolidated)
        if consolidated:
            self.consolidate_callback(consolidated)

    def _handle_event(self, fd: int, event: int, consolidated: list[int]) -> None:
        reader = self.readers.get(fd)
        writer = self.writers.get(fd)
        if reader is None and writer is None:
            self._unregister(fd)             # stale registration: nobody listens
            return
        if event & ERR and not event & (READ | WRITE) and _fd_is_closed(fd):
            self.remove(fd)
            return
        if fd in self.consolidate and self.consolidate_callback is not None:
            consolidated.append(fd)          # batched: one call for all of them
            return
        if not event & (READ | WRITE):
            callbacks = [reader or writer]   # error/hang-up: whoever is there
        else:
            callbacks = []
            if reader is not None and event & (READ | ERR):
                callbacks.append(reader)
            if writer is not None and event & WRITE:
                callbacks.append(writer)
        for callback, args in callbacks:
            if not self._call_fd(fd, callback, args):
                break

    def create_loop(self, generator: type = generator, sleep: Callable = sleep,
                    min: Callable = min, next: Callable = next, Empty: type = Empty,
                    StopIteration: type = StopIteration, KeyError: type = KeyError,
                    READ: int = READ, WRITE: int = WRITE, ERR: int = ERR) -> Iterator[None]:
        """Return the loop generator: every ``next()`` runs one iteration."""
        while True:
            self._run_tick()
            self._run_ready()
            timeout = self.fire_timers(propagate=self.propagate_errors)
            if self._ready or self._stop_requested or self._timers_due:
                timeout = 0
            if self.readers or self.writers:
                self._dispatch(self.poller.poll(timeout))
            elif timeout > 0:
                sleep(min(timeout, IDLE_SLEEP_MAX))
            yield

    @property
    def loop(self) -> Iterator[None]:
        """The current loop generator (a new one once the previous one has ended)."""
        if self._loop is None or getattr(self._loop, 'gi_frame', True) is None:
            self._loop = self.create_loop()
        return self._loop

    def run_once(self) -> None:
        """Run one iteration of the loop."""
        try:
            next(self.loop)
        except StopIteration:
            self._loop = None

    def run_forever(self) -> None:
        """Run the loop until :meth:`stop` is called."""
        self._running = True
        try:
            while not self._stop_requested:
                try:
                    self.run_once()
                except Stop:
                    break
        finally:
            self._running = False
            self._stop_requested = False

    def stop(self) -> None:
        """Make :meth:`run_forever` return after the current iteration.

        May be called from another thread; the loop then notices it when its
        current poll returns (at most the poll timeout later).
        """
        self._stop_requested = True
        self._ready.append(_noop)

    def close(self, *args: Any) -> None:
        """Remove every fd, close the poller and apply the :attr:`on_close` callbacks.

        Callbacks still waiting from :meth:`call_soon` are then applied, not
        dropped (Celery defers message acks this way: a dropped ack would
        have the message delivered again).  Their errors are logged.
        """
        for fd in list(self.readers) + list(self.writers):
            self.remove(fd)
        self.consolidate.clear()
        self._fd_objects.clear()
        self._close_poller()
        self._loop = None
        for callback in list(self.on_close):
            try:
                callback(self)
            except Exception as exc:
                self.on_callback_error(callback, exc)
        for callback in self._pop_ready():
            try:
                callback()
            except Exception as exc:
                self.on_callback_error(callback, exc)

    # -- debugging --------------------------------------------------------

    def repr_active(self) -> str:
        """Describe the active readers and writers."""
        return repr_active(self)

    def repr_events(self, events: Iterable[tuple[int, int]]) -> str:
        """Describe ``events`` as returned by the poller."""
        return repr_events(self, events)

    def __repr__(self) -> str:
        return f'<Hub@{id(self):#x}: R:{len(self.readers)} W:{len(self.writers)}>'
