"""Text Utilities."""
from __future__ import annotations

from difflib import SequenceMatcher
from typing import Iterable, Iterator, NamedTuple

__all__ = ('escape_regex', 'fmatch_best', 'fmatch_iter', 'version_string_as_tuple',
           'version_info_t')


class version_info_t(NamedTuple):
    """Version information tuple."""

    major: int
    minor: int
    micro: int
    releaselevel: str
    serial: str


def escape_regex(p: str, white: str = '') -> str:
    """Escape string for use within a regular expression.

    Alphanumerics and the characters in ``white`` are kept as they are.
    """
    return ''.join(
        c if c.isalnum() or c in white else ('\\000' if c == '\000' else '\\' + c)
        for c in p
    )


def fmatch_iter(needle: str, haystack: Iterable[str],
                min_ratio: float = 0.6) -> Iterator[tuple[float, str]]:
    """Fuzzy match: iteratively.

    Yields:
        Tuple: of ratio and key, for each key at least ``min_ratio`` alike.
    """
    for key in haystack:
        ratio = SequenceMatcher(None, needle, key).ratio()
        if ratio >= min_ratio:
            yield ratio, key


def fmatch_best(needle: str, haystack: Iterable[str],
                min_ratio: float = 0.6) -> str | None:
    """Fuzzy match - Find best match (scalar), or None."""
    matches = sorted(fmatch_iter(needle, haystack, min_ratio), reverse=True)
    return matches[0][1] if matches else None


def _split_micro(s: str) -> tuple[str, str]:
    """Split ``'3rc1'`` into ``('3', 'rc1')``."""
    digits = ''
    for i, c in enumerate(s):
        if not c.isdigit():
            return digits, s[i:]
        digits += c
    return digits, ''


def version_string_as_tuple(s: str) -> version_info_t:
    """Convert version string to version info tuple.

    ``'1.2.3rc1-foo'`` becomes ``(1, 2, 3, 'rc1', 'foo')``.
    """
    head, _, serial = s.partition('-')
    pieces = head.split('.')
    major = int(pieces[0]) if pieces[0] else 0
    minor = int(pieces[1]) if len(pieces) > 1 and pieces[1] else 0
    micro_s, releaselevel = _split_micro(pieces[2]) if len(pieces) > 2 else ('', '')
    micro = int(micro_s) if micro_s else 0
    if not releaselevel and len(pieces) > 3:
        releaselevel = pieces[3]
        if not serial and len(pieces) > 4:
            serial = pieces[4]
    return version_info_t(major, minor, micro, releaselevel, serial)
