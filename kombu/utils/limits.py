"""Token bucket implementation for rate limiting."""
from __future__ import annotations

from collections import deque
from time import monotonic
from typing import Any

__all__ = ('TokenBucket',)


class TokenBucket:
    """Token Bucket Algorithm.

    See Also:
        https://en.wikipedia.org/wiki/Token_Bucket

    Warning:
        Thread Safety: This implementation is not thread safe.
        Access to a `TokenBucket` instance should occur within the critical
        section of any multithreaded code.
    """

    #: The rate in tokens/second that the bucket will be refilled.
    fill_rate: float | None = None

    #: Maximum number of tokens in the bucket.
    capacity: float = 1

    #: Timestamp of the last time a token was taken out of the bucket.
    timestamp: float | None = None

    def __init__(self, fill_rate: float, capacity: float = 1) -> None:
        self.capacity = float(capacity)
        self._tokens = self.capacity
        self.fill_rate = float(fill_rate)
        self.timestamp = monotonic()
        self.contents: deque = deque()

    def add(self, item: Any) -> None:
        """Append an item to the pending contents."""
        self.contents.append(item)

    def pop(self) -> Any:
        """Pop the oldest pending item (IndexError if none)."""
        return self.contents.popleft()

    def clear_pending(self) -> None:
        """Drop all pending items."""
        self.contents.clear()

    def can_consume(self, tokens: float = 1) -> bool:
        """Check if one or more tokens can be consumed.

        Returns:
            bool: true if the number of tokens can be consumed
                from the bucket.  If they can be consumed, a call will also
                consume the requested number of tokens from the bucket.
                Calls will only consume `tokens` (the number requested)
                or zero tokens -- it will never consume a partial number
                of tokens.
        """
        if tokens <= self._get_tokens():
            self._tokens -= tokens
            return True
        return False

    def expected_time(self, tokens: float = 1) -> float:
        """Return estimated time of token availability.

        Returns:
            float: the time in seconds.
        """
        available = self._get_tokens()
        tokens = max(tokens, available)
        return (tokens - available) / self.fill_rate

    def _get_tokens(self) -> float:
        if self._tokens < self.capacity:
            now = monotonic()
            delta = self.fill_rate * (now - self.timestamp)
            self._tokens = min(self.capacity, self._tokens + delta)
            self.timestamp = now
        return self._tokens
