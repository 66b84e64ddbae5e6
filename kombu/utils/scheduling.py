"""Scheduling Utilities."""
from __future__ import annotations

from itertools import count
from typing import Any, Callable, Iterable, Sequence

from .imports import symbol_by_name

__all__ = (
    'FairCycle', 'priority_cycle', 'round_robin_cycle', 'sorted_cycle',
    'cycle_by_name', 'CYCLE_ALIASES',
)

#: Short names accepted by :func:`cycle_by_name`.
CYCLE_ALIASES = {
    'priority': 'kombu.utils.scheduling:priority_cycle',
    'round_robin': 'kombu.utils.scheduling:round_robin_cycle',
    'sorted': 'kombu.utils.scheduling:sorted_cycle',
}


class FairCycle:
    """Cycle between resources.

    Consume from a set of resources, where each resource gets
    an equal chance to be consumed from.

    Arguments:
        fun (Callable): Callback to call, as ``fun(resource, callback, **kwargs)``.
        resources (Sequence[Any]): List of resources.
        predicate (type): Exception predicate: the error ``fun`` raises when a
            resource is empty.  Raised itself when every resource is empty.
    """

    def __init__(self, fun: Callable, resources: Sequence[Any],
                 predicate: type[BaseException] = Exception) -> None:
        self.fun = fun
        self.resources = resources
        self.predicate = predicate
        self.pos = 0

    def _next(self) -> Any:
        while True:
            try:
                resource = self.resources[self.pos]
                self.pos += 1
                return resource
            except IndexError:
                self.pos = 0
                if not self.resources:
                    raise self.predicate()

    def get(self, callback: Callable, **kwargs: Any) -> Any:
        """Get from next resource."""
        for tried in count(0):
            resource = self._next()
            try:
                return self.fun(resource, callback, **kwargs)
            except self.predicate:
                # Every resource tried once: give up with the last error.
                if tried >= len(self.resources) - 1:
                    raise

    def close(self) -> None:
        """Close cycle."""

    def __repr__(self) -> str:
        return f'<FairCycle: {self.pos}/{len(self.resources)} {self.resources}>'


class round_robin_cycle:
    """Iterator that cycles between items in round-robin."""

    def __init__(self, it: Iterable | None = None) -> None:
        self.items = list(it) if it is not None else []

    def update(self, it: Iterable) -> None:
        """Update items from iterable."""
        self.items[:] = it

    def consume(self, n: int) -> list:
        """Consume n items."""
        return self.items[:n]

    def rotate(self, last_used: Any) -> Any:
        """Move most recently used item to end of list."""
        items = self.items
        try:
            items.append(items.pop(items.index(last_used)))
        except ValueError:
            pass
        return last_used


class priority_cycle(round_robin_cycle):
    """Cycle that repeats items in order."""

    def rotate(self, last_used: Any) -> None:
        """Unused in this implementation."""


class sorted_cycle(priority_cycle):
    """Cycle in sorted order."""

    def consume(self, n: int) -> list:
        """Consume n items."""
        return sorted(self.items[:n])


def cycle_by_name(name: Any) -> Any:
    """Get cycle class by name (``round_robin``, ``priority``, ``sorted`` or a path)."""
    return symbol_by_name(name, CYCLE_ALIASES)
