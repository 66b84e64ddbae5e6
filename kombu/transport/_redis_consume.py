"""Consuming side of the Redis channel: fetch, deliver, acks and restores.

Mixed into :class:`kombu.transport.redis.Channel`; see that module for the
design.  Everything here works on the channel's attributes.
"""
from __future__ import annotations

import logging
from collections import deque
from time import monotonic
from typing import Any

from kombu.utils.json import loads

__all__ = ('ConsumingMixin', 'INVALID_PREFIX')

logger = logging.getLogger('kombu.transport.redis')

#: Prefix of the lists where data that is not a Kombu message is parked.
INVALID_PREFIX = '_kombu.invalid.'


def _s(value: Any) -> str:
    return value.decode('utf-8', 'replace') if isinstance(value, bytes) else value


class ConsumingMixin:
    """Fetching with ack emulation, Pub/Sub reading, ack batching and restores."""

    # -- consuming ---------------------------------------------------------

    @property
    def active_queues(self) -> set:
        """Set of queues being consumed from (excluding fanout queues)."""
        return {queue for queue in self._active_queues
                if queue not in self.active_fanout_queues}

    def basic_consume(self, queue: str, *args: Any, **kwargs: Any) -> str:
        """Consume from `queue`."""
        if queue in self._fanout_queues:
            self.active_fanout_queues.add(queue)
            for topic in self._get_subscribe_topics(queue):
                self._fanout_to_queue[topic] = queue
        ret = super().basic_consume(queue, *args, **kwargs)
        self._consumers_changed()
        return ret

    def basic_cancel(self, consumer_tag: str) -> Any:
        """Cancel consumer by consumer tag."""
        queue = self._tag_to_queue.get(consumer_tag)
        ret = super().basic_cancel(consumer_tag)
        if queue is not None and queue not in self._active_queues:
            self.active_fanout_queues.discard(queue)
            for topic, q in list(self._fanout_to_queue.items()):
                if q == queue:
                    del self._fanout_to_queue[topic]
            self._requeue_ready(queue)
        if not self._closing:
            self._consumers_changed()
        return ret

    def _consumers_changed(self) -> None:
        callbacks = self._consumer_callbacks
        self._noack_queues = {
            queue for queue, tags in self._queue_consumers.items()
            if tags and all(callbacks[tag][1] for tag in tags if tag in callbacks)}
        queues = [q for q in self._active_queues if q not in self.active_fanout_queues]
        if self.queue_order_strategy == 'sorted':
            queues.sort()
        self._queue_cycle.update(queues)
        self._update_subscriptions()
        self._dirty = True

    def _update_subscriptions(self) -> None:
        wanted = set(self._fanout_to_queue)
        for queue in self.active_queues:
            wanted.update(self._doorbell + key for key in self._queue_keys(queue))
        if wanted == self._subscribed:
            return
        sub = self.subclient
        add, remove = wanted - self._subscribed, self._subscribed - wanted
        for pattern, items in ((True, add), (False, add)):
            names = [t for t in items if t.endswith('*') == pattern]
            if names:
                (sub.psubscribe if pattern else sub.subscribe)(*names)
        for pattern, items in ((True, remove), (False, remove)):
            names = [t for t in items if t.endswith('*') == pattern]
            if names:
                (sub.punsubscribe if pattern else sub.unsubscribe)(*names)
        self._subscribed = wanted

    def _subscriber_socket(self) -> Any:
        """The Pub/Sub connection's socket object (None when not subscribed)."""
        if not self._subscribed or self._subclient is None:
            return None
        conn = self._subclient.connection
        return getattr(conn, '_sock', None) if conn is not None else None

    def _subscriber_fd(self) -> int | None:
        sock = self._subscriber_socket()
        return sock.fileno() if sock is not None else None

    def _read_subscriber(self) -> None:
        """Read every Pub/Sub message already received, without blocking."""
        sub = self.subclient
        for _ in range(10000):
            message = sub.get_message(timeout=0.0)
            if message is None:
                conn = sub.connection
                if conn is None or not conn.can_read(timeout=0):
                    break
                continue
            self._on_pubsub(message)

    def _on_pubsub(self, message: dict) -> None:
        kind = message.get('type')
        if kind not in ('message', 'pmessage'):
            return
        topic = _s(message.get('pattern') if kind == 'pmessage' else message['channel'])
        if topic.startswith(self._doorbell):
            self._dirty = True
            return
        queue = self._fanout_to_queue.get(topic)
        if queue is None:
            return
        payload = None
        try:
            payload = loads(message['data'])
        except Exception:  # noqa: BLE001 - foreign data on our channel
            pass
        if not isinstance(payload, dict) or not isinstance(payload.get('properties'), dict):
            logger.error('Skipped data that is not a Kombu message on %r: %r',
                         topic, message['data'][:200])
            return
        self._ready.append((payload, queue, None))

    def _has_work(self) -> bool:
        if self.closed or self._closing:
            return False
        if self._ready:
            return any(self._queue_consumers.get(item[1]) for item in self._ready)
        return self._dirty and bool(self._queue_cycle.items) and self._window() > 0

    def _maybe_poll_again(self) -> None:
        if monotonic() - self._last_fetch >= self.doorbell_poll_interval:
            self._dirty = True

    def _check_subscriber_health(self) -> None:
        if self._subclient is not None and self._subscribed:
            self._subclient.check_health()

    def _pairs(self, queues: list[str]) -> list[tuple[str, str]]:
        """``(queue, list key)`` in consuming order: by priority step, then queue."""
        cache_key = tuple(queues)
        pairs = self._pairs_cache.get(cache_key)
        if pairs is None:
            if len(self._pairs_cache) > 256:
                self._pairs_cache.clear()
            pairs = self._pairs_cache[cache_key] = [
                (queue, self._key(self._q_for_pri(queue, pri)))
                for pri in self.priority_steps for queue in queues]
        return pairs

    def _fetch_pairs(self) -> tuple[list[tuple[str, str]], int]:
        """The ``(queue, list key)`` pairs to fetch from, and the round size.

        With ``round_robin`` the queues of one priority step take turns
        message by message within a fetch, so each has an equal opportunity
        even when one has a backlog; the other strategies drain in order.
        """
        cycle = self._queue_cycle
        queues = cycle.consume(len(cycle.items))
        if queues:
            cycle.rotate(queues[0])
        round_size = len(queues) if self.queue_order_strategy == 'round_robin' else 1
        return self._pairs(queues), round_size

    def _window(self) -> int:
        estimate = self.qos.can_consume_max_estimate()
        free = self.fetch_batch_size if estimate is None else min(estimate,
                                                                   self.fetch_batch_size)
        return max(0, free - len(self._ready))

    def _fetch(self, pairs: list[tuple[str, str]], count: int,
               no_ack: bool | None = None,
               round_size: int = 1) -> list[tuple[dict, str, str | None]]:
        """Pop up to ``count`` messages from ``(queue, key)`` pairs in one round trip.

        The pairs are taken ``round_size`` at a time, one message from each
        in turn (``1``: each pair is drained before the next).

        Returns ``(message, queue, redis_tag)`` triples; ``redis_tag`` is
        ``None`` when the message was not recorded as unacked (no_ack).
        """
        # publishes of the other channels first: what this process published
        # is in Redis before it consumes (and a lost one is sent again now)
        self.connection._confirm_publishes(self)
        acks = self._take_acks()
        args: list[Any] = [count, len(acks), len(pairs), self._key(INVALID_PREFIX),
                           max(1, round_size)]
        args += acks
        emulate = self.ack_emulation
        for queue, key in pairs:
            flag = queue in self._noack_queues if no_ack is None else no_ack
            args += [key, '1' if flag or not emulate else '0']
        try:
            raw = self._run('FETCH', self._fetch_keys, args)
        except Exception:
            self._pending_acks[:0] = acks
            raise
        self._last_fetch = monotonic()
        out = []
        for i in range(0, len(raw), 4):
            index, tag, payload, flag = raw[i:i + 4]
            queue, key = pairs[index - 1]
            message = self._decode(payload, queue, key, flag)
            if message is None:
                continue
            props = message['properties']
            tag = _s(tag) or None
            if tag:
                props['delivery_tag'] = tag
            headers = message.get('headers')
            if flag == 1 or (isinstance(headers, dict) and headers.get('redelivered') is True):
                # restored (by us or Kombu 4.x): the script flags it, no_ack
                # fetches are not decoded there
                info = props.get('delivery_info')
                props['delivery_info'] = dict(info or (), redelivered=True)
            out.append((message, queue, tag))
        return out

    def _decode(self, payload: bytes, queue: str, key: str, flag: int) -> dict | None:
        if flag != -1:
            try:
                message = loads(payload)
            except Exception:  # noqa: BLE001 - reported below
                message = None
            if isinstance(message, dict) and isinstance(message.get('properties'), dict):
                return message
        logger.error('Skipped data that is not a Kombu message in queue %r '
                     '(moved to list %r): %r', queue, self._key(INVALID_PREFIX) + key,
                     payload[:200])
        return None

    def _fill(self) -> int:
        """Fetch for the consumers when the window allows; return messages fetched."""
        count = self._window()
        if count <= 0 or not self._queue_cycle.items:
            return 0
        self._seen_seq = self.connection._publish_seq
        pairs, round_size = self._fetch_pairs()
        got = self._fetch(pairs, count, round_size=round_size)
        self._ready.extend(got)
        if len(got) < count:
            self._dirty = False
        return len(got)

    def _deliver_ready(self) -> int:
        """Deliver buffered messages, fetching first when needed; return how many."""
        if self.closed or self._closing:
            return 0
        if not self._ready and (self._dirty or
                                self._seen_seq != self.connection._publish_seq):
            self._fill()
        delivered = 0
        ready = self._ready
        while ready:
            message, queue, tag = ready[0]
            consumers = self._queue_consumers.get(queue)
            if not consumers:
                break
            ready.popleft()
            if tag is not None and self._consumer_callbacks[consumers[0]][1]:
                self._pending_acks.append(tag)   # goes to a no_ack consumer
            self._deliver(message, queue)
            delivered += 1
        return delivered

    def _requeue_ready(self, queue: str) -> None:
        """Put back buffered messages of a queue nobody consumes any more."""
        tags = [tag for _, q, tag in self._ready if q == queue and tag is not None]
        self._ready = deque(item for item in self._ready if item[1] != queue)
        if tags:
            self._restore_tags(tags)

    # -- acks and restores -------------------------------------------------

    def _redis_tag(self, message: Any) -> str | None:
        if not self.ack_emulation or getattr(message, '_queue', None) in self._fanout_queues:
            return None
        return (message.properties or {}).get('delivery_tag')

    def _queue_ack(self, message: Any) -> None:
        tag = self._redis_tag(message)
        if tag is not None:
            self._pending_acks.append(tag)
            if len(self._pending_acks) >= self.ack_batch_size:
                self._flush_acks()

    def _on_ack(self, messages: list) -> None:
        """Acked: drop them from the unacked hash/index (batched, see :meth:`_queue_ack`)."""
        for message in messages:
            self._queue_ack(message)
        wake = self.connection.cycle.on_window_open
        if wake is not None:
            wake()      # on an event loop: the freed prefetch room is fetched into now

    def _on_reject(self, messages: list, requeue: bool) -> None:
        """Rejected without requeue: drop them like acked ones (requeue already restored them)."""
        if not requeue:
            self._on_ack(messages)

    def _restore_at_beginning(self, message: Any) -> None:
        """Move a rejected message from the unacked hash back to the head of its queue."""
        self._restore_messages([message])

    def _take_acks(self) -> list:
        acks, self._pending_acks = self._pending_acks, []
        return acks

    def _flush_acks(self) -> None:
        if self._pending_acks:
            self._fetch([], 0)

    def _restore_messages(self, messages: list, client: Any = None,
                          leftmost: bool = False) -> int:
        tags = [tag for tag in map(self._redis_tag, messages) if tag is not None]
        return self._restore_tags(tags, client=client, leftmost=leftmost)

    def _restore_tags(self, tags: list, client: Any = None, leftmost: bool = False) -> int:
        """Acknowledge the pending acks, then put ``tags`` back (one round trip)."""
        acks = self._take_acks()
        if not tags and not acks:
            return 0
        try:
            return self._run('RESTORE', self._restore_keys,
                             ['tags', self.sep, self.global_keyprefix, self._doorbell,
                              '1' if leftmost else '0', len(acks)] + acks + list(tags),
                             client=client)
        except Exception:
            self._pending_acks[:0] = acks
            raise

    def _restore_visible(self) -> int:
        limit = self.unacked_restore_limit or 1000
        gate = max(1, int(min(self.unacked_restore_interval,
                              self.unacked_mutex_expire) * 1000))
        total = 0
        while True:
            n = self._run('RESTORE', self._restore_keys,
                          ['visible', self.sep, self.global_keyprefix, self._doorbell, '0',
                           self.visibility_timeout, limit, gate])
            if n < 0:
                return total
            total += n
            if n < limit or self.unacked_restore_limit:
                return total
            gate = 0
