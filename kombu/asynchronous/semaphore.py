"""Semaphores and concurrency primitives."""
from __future__ import annotations

from collections import deque
from typing import Any, Callable

__all__ = ('DummyLock', 'LaxBoundedSemaphore')


class LaxBoundedSemaphore:
    """Asynchronous Bounded Semaphore.

    Lax means that the value will stay within the specified range even if
    released more times than it was acquired.  Instead of blocking,
    :meth:`acquire` takes a callback: it is applied at once when a slot is
    free, or queued (FIFO) and applied by a later :meth:`release` or
    :meth:`grow`.

    Attributes:
        initial_value (int): the current size of the semaphore.
        value (int): free slots, between 0 and ``initial_value``.
    """

    def __init__(self, value: int) -> None:
        self.initial_value = self.value = value
        self._waiting: deque[tuple[Callable, tuple, dict]] = deque()
        self._add_waiter = self._waiting.append
        self._pop_waiter = self._waiting.popleft

    def acquire(self, callback: Callable, *partial_args: Any, **partial_kwargs: Any) -> bool:
        """Acquire semaphore.

        Applies ``callback(*partial_args, **partial_kwargs)`` immediately if a
        slot is free and returns True; otherwise queues it until the semaphore
        is released and returns False.
        """
        if self.value <= 0:
            self._add_waiter((callback, partial_args, partial_kwargs))
            return False
        self.value = max(self.value - 1, 0)
        callback(*partial_args, **partial_kwargs)
        return True

    def release(self) -> None:
        """Release semaphore.

        If there are any waiters the first one (FIFO order) takes over the
        slot and is applied; otherwise the value grows, up to ``initial_value``.
        """
        try:
            waiter, args, kwargs = self._pop_waiter()
        except IndexError:
            self.value = min(self.value + 1, self.initial_value)
        else:
            waiter(*args, **kwargs)

    def grow(self, n: int = 1) -> None:
        """Change the size of the semaphore to accept more users (waiters run first)."""
        self.initial_value += n
        for _ in range(n):
            self.release()

    def shrink(self, n: int = 1) -> None:
        """Change the size of the semaphore to accept less users."""
        self.initial_value = max(self.initial_value - n, 0)
        self.value = max(self.value - n, 0)

    def clear(self) -> None:
        """Reset the semaphore, which also wipes out any waiting callbacks."""
        self._waiting.clear()
        self.value = self.initial_value

    def __repr__(self) -> str:
        return (f'<{type(self).__name__} at {id(self):#x} '
                f'value:{self.value} waiting:{len(self._waiting)}>')


class DummyLock:
    """Pretending to be a lock."""

    def __enter__(self) -> DummyLock:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        pass
