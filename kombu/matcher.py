"""Pattern matching registry."""
from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any, Callable

from .utils.compat import entrypoints
from .utils.encoding import bytes_to_str

__all__ = ('MatcherNotInstalled', 'MatcherRegistry', 'match', 'register',
           'unregister', 'register_glob', 'register_pcre', 'registry')


class MatcherNotInstalled(Exception):
    """Matcher not installed/found."""


class MatcherRegistry:
    """Pattern matching function registry."""

    MatcherNotInstalled = MatcherNotInstalled

    #: Matchers called as ``matcher(pattern, data)`` rather than ``(data, pattern)``.
    matcher_pattern_first = ['pcre']

    def __init__(self) -> None:
        self._matchers: dict[str, Callable[..., Any]] = {}
        #: Name of the matcher used when :meth:`match` gets none; looked up
        #: at match time, so re-registering ``glob`` changes the default too.
        self._default_matcher = 'glob'

    def register(self, name: str, matcher: Callable[..., Any]) -> None:
        """Add matcher by name to the registry."""
        self._matchers[name] = matcher

    def unregister(self, name: str) -> None:
        """Remove matcher by name from the registry.

        Raises:
            MatcherNotInstalled: if no matcher has that name.
        """
        try:
            self._matchers.pop(name)
        except KeyError:
            raise self.MatcherNotInstalled(f'No matcher installed for {name}') from None

    def _set_default_matcher(self, name: str) -> None:
        """Set the matcher used when :meth:`match` gets none.

        Raises:
            MatcherNotInstalled: if no matcher has that name.
        """
        if name not in self._matchers:
            raise self.MatcherNotInstalled(f'No matcher installed for {name}')
        self._default_matcher = name

    def match(self, data: Any, pattern: Any, matcher: str | None = None,
              matcher_kwargs: dict | None = None) -> bool:
        """Call the matcher.

        Returns:
            bool: True if ``data`` matches ``pattern``.

        Raises:
            MatcherNotInstalled: if the named matcher is not registered.
        """
        name = matcher or self._default_matcher
        match_func = self._matchers.get(name)
        if match_func is None and matcher:
            if self is registry:
                _load_entrypoints()
            match_func = self._matchers.get(name)
        if match_func is None:
            raise self.MatcherNotInstalled(f'No matcher installed for {name}')
        if name in self.matcher_pattern_first:
            first_arg, second_arg = bytes_to_str(pattern), bytes_to_str(data)
        else:
            first_arg, second_arg = bytes_to_str(data), bytes_to_str(pattern)
        return bool(match_func(first_arg, second_arg, **(matcher_kwargs or {})))


#: Global registry of matchers.
registry = MatcherRegistry()

#: match(data, pattern, matcher=default_matcher, matcher_kwargs=None):
#: Match ``data`` by ``pattern`` using ``matcher`` (default: glob).
match = registry.match

#: register(name, matcher): Register a new matching method, called with
#: ``(data, pattern)``.
register = registry.register

#: unregister(name): Unregister registered matching method.
unregister = registry.unregister


def register_glob() -> None:
    """Register glob into default registry."""
    registry.register('glob', fnmatchcase)


def register_pcre() -> None:
    """Register pcre into default registry."""
    registry.register('pcre', re.match)


# Register the base matching methods.
register_glob()
register_pcre()

# Default matching method is 'glob'
registry._set_default_matcher('glob')

_entrypoints_loaded = False


def _load_entrypoints() -> None:
    """Register matchers from installed extensions (``kombu.matchers`` entry points).

    Done once, the first time an unknown matcher is asked for, so that
    importing this module does not scan every installed distribution.
    """
    global _entrypoints_loaded
    if _entrypoints_loaded:
        return
    _entrypoints_loaded = True
    for ep, loaded in entrypoints('kombu.matchers'):
        if ep.name in registry._matchers:
            continue  # never override what the program registered itself
        if callable(loaded):
            register(ep.name, loaded)
        else:  # a (matcher,) sequence
            register(ep.name, *loaded)
