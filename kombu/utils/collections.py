"""Custom maps, sequences, etc."""
from __future__ import annotations

from typing import Any

__all__ = ('EqualityDict', 'HashedSeq', 'eqhash')


class HashedSeq(list):
    """Hashed Sequence.

    Type used for hash() to make sure the hash is not generated
    multiple times.
    """

    __slots__ = ('hashvalue',)

    def __init__(self, *seq: Any) -> None:
        self[:] = seq
        self.hashvalue = hash(seq)

    def __hash__(self) -> int:  # type: ignore[override]
        return self.hashvalue


def eqhash(o: Any) -> Any:
    """Call ``obj.__eqhash__`` (falls back to ``hash(obj)``)."""
    try:
        return o.__eqhash__()
    except AttributeError:
        return hash(o)


class EqualityDict(dict):
    """Dict using the eq operator for keying (keys hashed with :func:`eqhash`)."""

    def __getitem__(self, key: Any) -> Any:
        h = eqhash(key)
        if h not in self:
            missing = getattr(type(self), '__missing__', None)
            if missing is not None:
                return missing(self, key)
            raise KeyError(key)
        return super().__getitem__(h)

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(eqhash(key), value)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(eqhash(key))
