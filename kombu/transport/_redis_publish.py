"""Pipelined commands for the Redis transport.

(Commands go out without redis-py's idle health check: a PING there would
read the reply of a pipelined publish.)

A publish writes its script call to the channel's command connection and
returns without waiting for the reply; up to ``window`` replies are read
later in one go: when the window is full, or when the channel runs a script
that needs its reply (a fetch, a restore), which is sent right behind the
pending publishes and answered in the same round trip.  Every publish whose
reply has not been read is kept: if the connection breaks, or the server
lost the script (a restart), the unconfirmed publishes are sent again, so a
publish is never silently lost (at worst delivered twice).
"""
from __future__ import annotations

import atexit
import logging
import weakref
from collections import deque
from typing import Any, Callable

__all__ = ('PublishWindow',)

logger = logging.getLogger('kombu.transport.redis')

#: Every window with publishes in flight, confirmed at interpreter exit.
_open_windows: weakref.WeakSet = weakref.WeakSet()

#: Seconds the exit-time confirmation may wait on a server that does not
#: answer (exit must never hang on a stalled connection).
EXIT_CONFIRM_TIMEOUT = 5.0


@atexit.register
def _confirm_at_exit() -> None:
    for window in list(_open_windows):
        window.close(on_error=lambda exc, n: logger.error(
            '%d published message(s) could not be confirmed at exit: %r', n, exc),
            timeout=EXIT_CONFIRM_TIMEOUT)


def _is_noscript(exc: BaseException) -> bool:
    return type(exc).__name__ == 'NoScriptError' or str(exc).startswith('NOSCRIPT')


class PublishWindow:
    """Publishes in flight on one connection, confirmed in batches.

    Arguments:
        pool: the redis-py connection pool to take the connection from.
        window: most publishes in flight before waiting for their replies.
        errors: the redis-py connection error classes.
    """

    def __init__(self, pool: Any, window: int, errors: tuple) -> None:
        self.pool = pool
        self.window = max(1, int(window))
        self.errors = errors
        #: ``(script, command)`` of every publish whose reply is unread
        self.pending: deque = deque()
        self._conn: Any = None
        self._broken = False
        #: scripts loaded since the connection was (re)established
        self._loaded: set = set()

    def __len__(self) -> int:
        return len(self.pending)

    def _command(self, script: Any, keys: list, args: list) -> tuple:
        if script.sha not in self._loaded:
            # a fresh connection (maybe a restarted server): make sure the
            # server knows the script before sending calls we don't wait for
            self.confirm()
            self._load(self._ready(), script)
        return ('EVALSHA', script.sha, len(keys), *keys, *args)

    def send(self, script: Any, keys: list, args: list) -> None:
        """Send one script call without waiting; confirm when the window is full.

        Raises the connection error when the server can't be reached (the
        call is then not kept: the caller sees the failure and may retry).
        """
        command = self._command(script, keys, args)
        conn = self._ready()
        try:
            conn.send_command(*command, check_health=False)
        except self.errors:
            # one retry on a fresh connection (what redis-py does for a command)
            self._broken = True
            conn = self._ready()
            try:
                conn.send_command(*command, check_health=False)
            except self.errors:
                self._broken = True
                raise
        self.pending.append((script, command))
        _open_windows.add(self)
        if len(self.pending) >= self.window:
            self.confirm()

    def call(self, script: Any, keys: list, args: list) -> Any:
        """Run a script behind the pending publishes; return its reply."""
        command = self._command(script, keys, args)
        conn = self._ready()
        try:
            conn.send_command(*command, check_health=False)
            failed = self._read_pending()
            try:
                reply = conn.read_response()
            except Exception as exc:
                if not _is_noscript(exc):
                    raise
                self._load(conn, script)
                conn.send_command(*command, check_health=False)
                reply = conn.read_response()
        except self.errors:
            self._broken = True
            raise
        if failed is not None:
            raise failed
        return reply

    def confirm(self) -> None:
        """Read every pending reply (resending what the server did not take)."""
        if not self.pending:
            return
        self._ready()
        try:
            failed = self._read_pending()
        except self.errors:
            self._broken = True
            self._ready()      # reconnect and resend, or raise
            failed = self._read_pending()
        if failed is not None:
            raise failed

    def _read_pending(self) -> BaseException | None:
        """Read the replies of the pending publishes; return the first error."""
        conn = self._connection()
        retry: list = []
        failed = None
        while self.pending:
            item = self.pending[0]
            try:
                conn.read_response()
            except self.errors:
                raise
            except Exception as exc:  # noqa: BLE001 - a reply that is an error
                if _is_noscript(exc):
                    retry.append(item)
                elif failed is None:
                    failed = exc
            self.pending.popleft()
        if retry:
            for script in {item[0].sha: item[0] for item in retry}.values():
                self._load(conn, script)
            self.pending.extend(retry)
            for _, command in retry:
                conn.send_command(*command, check_health=False)
            more = self._read_pending()
            failed = failed or more
        return failed

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self.pool.get_connection()
        return self._conn

    def _ready(self) -> Any:
        """The connection, reconnected with every unconfirmed publish resent if it broke."""
        conn = self._connection()
        if getattr(conn, '_sock', True) is None:
            self._loaded.clear()      # redis-py dropped it: reconnects on next send
        if self._broken:
            conn.disconnect()
            self._loaded.clear()
            conn.connect()
            self._broken = False
            try:
                for script in {item[0].sha: item[0] for item in self.pending}.values():
                    self._load(conn, script)
                for _, command in self.pending:
                    conn.send_command(*command, check_health=False)
            except self.errors:
                self._broken = True
                raise
        return conn

    def _bound_socket_waits(self, timeout: float) -> None:
        conn = self._connection()
        conn.socket_timeout = conn.socket_connect_timeout = timeout
        sock = getattr(conn, '_sock', None)
        if sock is not None:
            sock.settimeout(timeout)

    def _load(self, conn: Any, script: Any) -> None:
        try:
            conn.send_command('SCRIPT', 'LOAD', script.script, check_health=False)
            conn.read_response()
        except self.errors:
            self._broken = True
            raise
        self._loaded.add(script.sha)

    def close(self, on_error: Callable[[BaseException, int], Any] | None = None,
              timeout: float | None = None) -> None:
        """Confirm what is pending and give the connection back.

        With ``timeout``, every socket operation of the confirmation (reads,
        and a reconnect to resend) gives up after that many seconds.
        """
        try:
            if timeout is not None and self.pending:
                self._bound_socket_waits(timeout)
            self.confirm()
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            if on_error is None:
                raise
            on_error(exc, len(self.pending))
        finally:
            if self._conn is not None:
                try:
                    self.pool.release(self._conn)
                except Exception:  # noqa: BLE001 - pool already gone
                    pass
                self._conn = None
