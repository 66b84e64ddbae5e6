"""The poller behind ``Transport.drain_events`` of the Redis transport.

Exported as :class:`kombu.transport.redis.MultiChannelPoller`.
"""
from __future__ import annotations

import socket
from time import monotonic, sleep
from typing import Any

from kombu.utils.eventio import ERR, READ, poll

__all__ = ('MultiChannelPoller',)

#: Pending acks are sent on their own once the consumer has been idle this long.
ACK_FLUSH_DELAY = 0.005


class MultiChannelPoller:
    """Waits on the Pub/Sub sockets of every consuming channel of a connection."""

    eventflags = READ | ERR

    def __init__(self) -> None:
        self._channels: set = set()
        self._fd_to_chan: dict[int, Any] = {}
        self._registered: dict[Any, tuple] = {}  # channel -> (socket, fd)
        self._sockets: dict[int, Any] = {}
        self.poller = poll()
        self.after_read: set = set()
        self._last_restore = 0.0
        #: set by ``Transport.register_with_event_loop``: called when an ack
        #: may have opened a channel's prefetch window, so the event loop
        #: fetches again at once instead of waiting for a socket or timer
        self.on_window_open: Any = None

    def close(self) -> None:
        for fd in list(self._fd_to_chan):
            self.poller.unregister(fd)
        self._channels.clear()
        self._fd_to_chan.clear()
        self._registered.clear()
        self._sockets.clear()
        self.poller.close()

    def add(self, channel: Any) -> None:
        self._channels.add(channel)

    def discard(self, channel: Any) -> None:
        self._channels.discard(channel)
        registered = self._registered.pop(channel, None)
        if registered is not None:
            self._fd_to_chan.pop(registered[1], None)
            self._sockets.pop(registered[1], None)
            self.poller.unregister(registered[1])

    def on_poll_init(self, poller: Any) -> None:
        """Remember the event loop's poller (ours keeps serving :meth:`get`)."""
        self.hub_poller = poller

    def has_work(self) -> bool:
        """True if a channel has messages buffered or may fetch more right now."""
        return any(channel._has_work() for channel in self._channels)

    def on_poll_start(self) -> None:
        """Make sure every consuming channel's Pub/Sub socket is registered."""
        for channel in list(self._channels):
            self._register(channel)

    def _register(self, channel: Any) -> None:
        # Registrations are keyed on the socket object, not the fd number: a
        # reconnected Pub/Sub socket often gets the old number back, while
        # epoll has already forgotten the closed one.
        sock = channel._subscriber_socket() if channel.active_queues or \
            channel.active_fanout_queues else None
        old = self._registered.get(channel)
        if old is not None and old[0] is sock:
            return
        if old is not None:
            self._fd_to_chan.pop(old[1], None)
            self._sockets.pop(old[1], None)
            self.poller.unregister(old[1])
            del self._registered[channel]
        fd = sock.fileno() if sock is not None else -1
        if fd >= 0:
            self._fd_to_chan[fd] = channel
            self._registered[channel] = (sock, fd)
            self._sockets[fd] = sock
            self.poller.register(fd, self.eventflags)

    @property
    def sockets(self) -> dict[int, Any]:
        """fd -> socket object of every registered Pub/Sub connection."""
        return {fd: self._sockets[fd] for fd in self._fd_to_chan}

    @property
    def fds(self) -> dict[int, Any]:
        return self._fd_to_chan

    def maybe_restore_messages(self) -> None:
        """Restore expired unacked messages, at the configured cadence."""
        now = monotonic()
        for channel in list(self._channels):
            if channel.active_queues and now - self._last_restore >= \
                    channel.unacked_restore_interval:
                self._last_restore = now
                channel.qos.restore_visible(num=channel.unacked_restore_limit)
                return

    def maybe_check_subclient_health(self) -> None:
        for channel in list(self._channels):
            channel._check_subscriber_health()

    def on_readable(self, fileno: int) -> bool:
        """Read the Pub/Sub socket ``fileno``; return true if a message was delivered."""
        channel = self._fd_to_chan.get(fileno)
        if channel is None:
            return False
        channel._read_subscriber()
        return channel._deliver_ready() > 0

    def handle_event(self, fileno: int, event: int) -> bool:
        return self.on_readable(fileno)

    def _flush_acks(self) -> None:
        for channel in list(self._channels):
            channel._flush_acks()

    def _acks_pending(self) -> bool:
        return any(channel._pending_acks for channel in self._channels)

    def _deliver_ready(self) -> int:
        delivered = 0
        for channel in list(self._channels):
            delivered += channel._deliver_ready()
        return delivered

    def get(self, callback: Any = None, timeout: float | None = None) -> None:
        """Deliver ready messages; wait up to ``timeout`` seconds for some.

        Raises:
            socket.timeout: when ``timeout`` passed with nothing delivered.
        """
        deadline = None if timeout is None else monotonic() + timeout
        idle = False
        if self._fd_to_chan:
            # read what the Pub/Sub sockets hold (fanout messages, doorbells)
            delivered = False
            for fileno, _ in self.poller.poll(0):
                delivered = self.on_readable(fileno) or delivered
            if delivered:
                return
        while True:
            if self._deliver_ready():
                return
            self.maybe_restore_messages()
            if idle:
                self._flush_acks()
            self.on_poll_start()
            remaining = None if deadline is None else deadline - monotonic()
            if remaining is not None and remaining <= 0:
                self._flush_acks()
                raise socket.timeout()
            wait = self._wait_time(remaining)
            if self._acks_pending():
                # acks ride along with the next fetch; flush them only when
                # nothing arrives for a little while
                wait = min(wait, ACK_FLUSH_DELAY)
            if self._fd_to_chan:
                events = self.poller.poll(wait)
            else:
                sleep(wait)
                events = []
            delivered = False
            for fileno, _ in events:
                delivered = self.on_readable(fileno) or delivered
            if delivered:
                return
            idle = not events
            if idle:
                for channel in list(self._channels):
                    channel._maybe_poll_again()

    def _wait_time(self, remaining: float | None) -> float:
        waits = [1.0 if remaining is None else remaining]
        for channel in self._channels:
            if channel.active_queues:
                waits.append(channel.doorbell_poll_interval)
                waits.append(self._last_restore + channel.unacked_restore_interval
                             - monotonic())
        return max(min(waits), 0.001)
