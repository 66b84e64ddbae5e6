"""Virtual AMQ Exchange.

Implementations of the standard exchanges defined
by the AMQ protocol  (excluding the headers exchange).

An exchange type works on the exchange's *table*: a list of
``(routing_key, pattern, queue)`` tuples, one per binding, as returned by
``Channel.get_table(exchange)``.  ``prepare_bind`` builds the tuple stored
for a new binding, ``lookup`` finds the queues for a routing key, and
``deliver`` puts a message on them.
"""
from __future__ import annotations

import re
from typing import Any, Pattern

__all__ = ('ExchangeType', 'DirectExchange', 'TopicExchange', 'FanoutExchange',
           'HeadersExchange', 'STANDARD_EXCHANGE_TYPES')




class ExchangeType:
    """Base class for exchanges.

    Implements the specifics for an exchange type.

    Arguments:
        channel (ChannelT): AMQ Channel.
    """

    type: str | None = None

    def __init__(self, channel: Any) -> None:
        self.channel = channel

    def lookup(self, table: list, exchange: str, routing_key: str,
               default: str | None) -> set[str]:
        """Lookup all queues matching `routing_key` in `exchange`.

        Returns:
            set: the matching queue names, empty when nothing matched
            (dead-lettering to ``default`` is done by the channel).
        """
        raise NotImplementedError(f'{type(self).__name__} does not implement lookup')

    def prepare_bind(self, queue: str, exchange: str, routing_key: str,
                     arguments: dict | None) -> tuple:
        """Prepare queue-binding.

        Returns:
            Tuple[str, Pattern, str]: of `(routing_key, regex, queue)`
            to be stored for bindings to this exchange.
        """
        return routing_key, None, queue

    def equivalent(self, prev: dict, exchange: str, type: str, durable: bool,
                   auto_delete: bool, arguments: dict | None) -> bool:
        """Return true if `prev` and `exchange` is equivalent."""
        return (type == prev['type'] and
                durable == prev['durable'] and
                auto_delete == prev['auto_delete'] and
                (arguments or {}) == (prev['arguments'] or {}))

    def deliver(self, message: dict, exchange: str, routing_key: str, **kwargs: Any) -> None:
        """Put ``message`` on every queue the exchange routes ``routing_key`` to."""
        self._put_all(self.channel._lookup(exchange, routing_key), message, **kwargs)

    def _put_all(self, queues: Any, message: dict, **kwargs: Any) -> None:
        """Put ``message`` on each of ``queues`` (a private copy for all but the last)."""
        channel = self.channel
        put = channel._put
        last = len(queues) - 1
        for i, queue in enumerate(queues):
            put(queue, message if i == last else channel._copy_message(message), **kwargs)


class DirectExchange(ExchangeType):
    """Direct exchange.

    The direct exchange routes based on exact routing keys.
    """

    type = 'direct'

    def lookup(self, table: list, exchange: str, routing_key: str,
               default: str | None) -> set[str]:
        """Lookup all queues matching `routing_key` in `exchange` (a set)."""
        return {queue for rkey, _, queue in table if rkey == routing_key}

    def deliver(self, message: dict, exchange: str, routing_key: str, **kwargs: Any) -> None:
        """Put ``message`` on the queues bound with exactly ``routing_key``."""
        super().deliver(message, exchange, routing_key, **kwargs)


class TopicExchange(ExchangeType):
    """Topic exchange.

    The topic exchange routes messages based on words separated by
    dots, using wildcard characters ``*`` (exactly one word), and ``#``
    (zero or more words).  Compiled patterns are cached per pattern string.
    """

    type = 'topic'

    #: map of wildcard to regex conversions (kept for reference; the patterns
    #: built by :meth:`key_to_pattern` match whole words).
    wildcards = {'*': r'.*?[^\.]', '#': r'.*?'}

    #: compiled regex cache, pattern string -> compiled pattern
    _compiled: dict[str, Pattern] = {}

    def key_to_pattern(self, rkey: str) -> str:
        """Get the corresponding regex for any routing key.

        ``*`` matches exactly one word and ``#`` zero or more words, so
        ``'a.#'`` matches ``'a'`` and ``'a.b.c'``, ``'*.b'`` matches ``'x.b'``
        but not ``'b'`` or ``'x.y.b'``.
        """
        words: list[str] = []
        for word in rkey.split('.'):
            if not (word == '#' and words and words[-1] == '#'):
                words.append(word)
        if words == ['#']:
            return '^.*$'
        parts: list[str] = []
        first = True
        for word in words:
            if word == '#':
                parts.append(r'(?:[^.]*\.)*' if first else r'(?:\.[^.]*)*')
                continue
            sep = '' if first else r'\.'
            parts.append(sep + ('[^.]*' if word == '*' else re.escape(word)))
            first = False
        return '^' + ''.join(parts) + '$'

    def prepare_bind(self, queue: str, exchange: str, routing_key: str,
                     arguments: dict | None) -> tuple:
        """Prepare queue-binding: ``(routing_key, regex, queue)``."""
        return routing_key, self.key_to_pattern(routing_key), queue

    def _match(self, pattern: str, string: str) -> bool:
        try:
            compiled = self._compiled[pattern]
        except KeyError:
            compiled = self._compiled[pattern] = re.compile(pattern, re.DOTALL)
        return compiled.match(string) is not None

    def lookup(self, table: list, exchange: str, routing_key: str,
               default: str | None) -> set[str]:
        """Lookup all queues matching `routing_key` in `exchange` (a set)."""
        match = self._match
        return {queue for rkey, pattern, queue in table
                if match(pattern or self.key_to_pattern(rkey), routing_key)}

    def deliver(self, message: dict, exchange: str, routing_key: str, **kwargs: Any) -> None:
        """Put ``message`` on the queues whose binding pattern matches ``routing_key``."""
        super().deliver(message, exchange, routing_key, **kwargs)


class FanoutExchange(ExchangeType):
    """Fanout exchange.

    The `fanout` exchange implements broadcast messaging by delivering
    copies of all messages to all queues bound to the exchange.

    To support fanout the virtual channel needs to store the table
    as shared state.  This requires that the `Channel.supports_fanout`
    attribute is set to true, and the `Channel._queue_bind` and
    `Channel.get_table` methods are implemented.
    """

    type = 'fanout'

    def lookup(self, table: list, exchange: str, routing_key: str,
               default: str | None) -> set[str]:
        """Return every queue bound to `exchange` (routing key ignored), as a set."""
        return {queue for _, _, queue in table}

    def deliver(self, message: dict, exchange: str, routing_key: str, **kwargs: Any) -> None:
        """Broadcast: ``Channel._put_fanout`` when supported, else put on each bound queue."""
        if self.channel.supports_fanout:
            self.channel._put_fanout(exchange, message, routing_key, **kwargs)
        else:
            super().deliver(message, exchange, routing_key, **kwargs)


class HeadersExchange(ExchangeType):
    """Headers exchange: routes on the message headers, not the routing key.

    A binding's arguments name the headers to match; ``x-match`` is
    ``'all'`` (default: every named header must be equal) or ``'any'``
    (one is enough).  A binding value of ``None`` only requires the header
    to be present.  Bindings keep their arguments, so the exchange needs a
    backend that can store a dict in its binding table (memory does).
    """

    type = 'headers'

    def prepare_bind(self, queue: str, exchange: str, routing_key: str,
                     arguments: dict | None) -> tuple:
        return routing_key, dict(arguments or {}), queue

    @staticmethod
    def matches(arguments: dict, headers: dict) -> bool:
        """Does a message with ``headers`` match a binding with ``arguments``?"""
        wanted = [(k, v) for k, v in arguments.items() if not k.startswith('x-')]
        hits = (k in headers and (v is None or headers[k] == v) for k, v in wanted)
        if arguments.get('x-match', 'all') == 'any':
            return any(hits)
        return all(hits)

    def lookup(self, table: list, exchange: str, routing_key: str,
               default: str | None, headers: dict | None = None) -> set[str]:
        """Queues whose binding arguments match ``headers`` (a set)."""
        headers = headers or {}
        return {queue for _, arguments, queue in table if self.matches(arguments or {}, headers)}

    def deliver(self, message: dict, exchange: str, routing_key: str, **kwargs: Any) -> None:
        """Put ``message`` on the queues whose bindings match its headers."""
        channel = self.channel
        try:
            table = channel.get_table(exchange)
        except KeyError:
            channel._lookup(exchange, routing_key)  # raises the channel's NotFound
            raise
        queues = self.lookup(table, exchange, routing_key, None, message.get('headers'))
        if not queues and channel.deadletter_queue:
            # No binding matches without the headers either: this warns and
            # returns the dead-letter queue.
            queues = channel._lookup(exchange, routing_key)
        self._put_all(queues, message, **kwargs)


#: Map of standard exchange types and corresponding classes.
STANDARD_EXCHANGE_TYPES = {
    'direct': DirectExchange,
    'topic': TopicExchange,
    'fanout': FanoutExchange,
}
