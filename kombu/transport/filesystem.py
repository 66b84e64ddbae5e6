"""File-system Transport.

Transport using the file-system as the message store.  Several processes
(on one host or sharing a folder) can exchange messages through it.

Transport options:

* ``data_folder_out`` (default ``'data_out'``): folder messages are written to.
* ``data_folder_in`` (default ``'data_in'``): folder messages are read from.
  Point both at the same folder for processes that publish and consume.
* ``store_processed`` (default ``False``): keep consumed message files,
  moved into ``processed_folder`` (default ``'processed'``).
* ``control_folder`` (default: the data folders): where exchange bindings
  are shared between processes.

Layout and guarantees:

* One file per message, ``<time ns>_<counter>_<pid>.<queue>.msg`` (the
  queue name is %-escaped so that it contains no dot), holding the message
  dict as JSON.  It is written to a hidden temporary file and renamed into
  place, so readers never see a partial message.  Messages are taken in
  file-name order, i.e. publish order.
* A consumer takes a message by renaming its file to a private name; the
  rename is atomic, so two processes never take the same message.  The
  file is then removed (or moved to ``processed_folder``).  A message that
  is taken but never acked is written back when the channel closes.
* Bindings are stored per exchange in ``<exchange>.exchange`` files (JSON,
  updated under an ``flock`` and replaced atomically) in the binding
  process's *input* folder; publishers read them from their *output*
  folder.  So a publisher routes direct, topic and fanout messages to
  queues that only another process declared and bound.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import deque
from contextlib import contextmanager
from itertools import count
from time import time_ns
from typing import Any, Iterator
from urllib.parse import quote

from . import virtual
from .virtual.base import Empty

__all__ = ('Channel', 'Transport')

_MSG_SUFFIX = '.msg'
_EXCHANGE_SUFFIX = '.exchange'
_counter = count(1)


def _escape(name: str) -> str:
    """File-name safe form of a queue/exchange name, without dots."""
    return quote(name, safe='').replace('.', '%2E')


@contextmanager
def _locked(path: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, 'a') as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _write_atomic(folder: str, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix='.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as fh:
            fh.write(data)
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Channel(virtual.Channel):
    """Filesystem Channel."""

    supports_fanout = True
    restore_to_head = True

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        for folder in {self.data_folder_in, self.data_folder_out, self.control_folder_in,
                       self.control_folder_out}:
            os.makedirs(folder, exist_ok=True)
        if self.store_processed:
            os.makedirs(self.processed_folder, exist_ok=True)
        self._pending: dict[str, deque] = {}
        self._tables: dict[str, tuple] = {}

    # -- options ----------------------------------------------------------

    @property
    def transport_options(self) -> dict:
        return getattr(self.connection.client, 'transport_options', None) or {}

    @property
    def data_folder_in(self) -> str:
        return self.transport_options.get('data_folder_in', 'data_in')

    @property
    def data_folder_out(self) -> str:
        return self.transport_options.get('data_folder_out', 'data_out')

    @property
    def store_processed(self) -> bool:
        return bool(self.transport_options.get('store_processed', False))

    @property
    def processed_folder(self) -> str:
        return self.transport_options.get('processed_folder', 'processed')

    @property
    def control_folder_in(self) -> str:
        """Where this process stores the bindings it declares."""
        return self.transport_options.get('control_folder') or self.data_folder_in

    @property
    def control_folder_out(self) -> str:
        """Where this process reads the bindings it routes with."""
        return self.transport_options.get('control_folder') or self.data_folder_out

    # -- messages ---------------------------------------------------------

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        stem = f'{time_ns():020d}_{next(_counter):09d}_{os.getpid()}'
        self._write_message(self.data_folder_out, queue, stem, message)

    @staticmethod
    def _write_message(folder: str, queue: str, stem: str, message: dict) -> None:
        data = json.dumps(message).encode('utf-8')
        _write_atomic(folder, f'{stem}.{_escape(queue)}{_MSG_SUFFIX}', data)

    def _restore_at_beginning(self, message: Any) -> None:
        """Write the message back to the input folder, ahead of all others."""
        queue = getattr(message, '_queue', None)
        if queue is None:
            return self._restore(message)
        # Sorts before every regular name; later restores sort earlier.
        stem = f'{0:020d}_{10 ** 18 - time_ns() % 10 ** 18:019d}_{next(_counter):09d}'
        self._write_message(self.data_folder_in, queue, stem, self._redelivered(message))
        self._pending.pop(queue, None)
        return None

    def _restore(self, message: Any) -> None:
        """Write the message back to the input folder it was taken from."""
        queue = getattr(message, '_queue', None)
        if queue is None:
            return super()._restore(message)
        stem = f'{time_ns():020d}_{next(_counter):09d}_{os.getpid()}'
        self._write_message(self.data_folder_in, queue, stem, self._redelivered(message))
        return None

    def _queue_files(self, queue: str) -> list[str]:
        suffix = f'.{_escape(queue)}{_MSG_SUFFIX}'
        try:
            names = os.listdir(self.data_folder_in)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if n.endswith(suffix) and not n.startswith('.'))

    def _take(self, name: str) -> bytes | None:
        """Claim message file ``name`` (atomic rename) and return its content."""
        folder = self.data_folder_in
        claimed = os.path.join(folder, f'.{name}.{os.getpid()}.{next(_counter)}.claim')
        try:
            os.rename(os.path.join(folder, name), claimed)
        except FileNotFoundError:
            return None  # taken by someone else
        try:
            with open(claimed, 'rb') as fh:
                data = fh.read()
        finally:
            if self.store_processed:
                os.replace(claimed, os.path.join(self.processed_folder, name))
            else:
                os.unlink(claimed)
        return data

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        pending = self._pending.get(queue)
        while pending:
            data = self._take(pending.popleft())
            if data is not None:
                return json.loads(data)
        pending = self._pending[queue] = deque(self._queue_files(queue))
        while pending:
            data = self._take(pending.popleft())
            if data is not None:
                return json.loads(data)
        raise Empty()

    def _size(self, queue: str) -> int:
        return len(self._queue_files(queue))

    def _purge(self, queue: str) -> int:
        self._pending.pop(queue, None)
        removed = 0
        folder = self.data_folder_in
        for name in self._queue_files(queue):
            try:
                os.unlink(os.path.join(folder, name))
            except FileNotFoundError:
                continue
            removed += 1
        return removed

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self._purge(queue)

    # -- shared bindings ---------------------------------------------------

    def _exchange_path(self, folder: str, exchange: str) -> str:
        return os.path.join(folder, _escape(exchange) + _EXCHANGE_SUFFIX)

    def _read_exchange_file(self, path: str) -> dict:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._tables.pop(path, None)
            return {}
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._tables.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            with open(path, 'rb') as fh:
                data = json.loads(fh.read() or b'{}')
        except (FileNotFoundError, ValueError):
            data = {}
        self._tables[path] = (key, data)
        return data

    def _update_exchange_file(self, exchange: str, update: Any) -> None:
        folder = self.control_folder_in
        path = self._exchange_path(folder, exchange)
        with _locked(path + '.lock'):
            data = dict(self._read_exchange_file(path))
            entry = self.state.exchanges.get(exchange) or {}
            data.setdefault('type', entry.get('type', 'direct'))
            data['table'] = update([tuple(m) for m in data.get('table', [])])
            _write_atomic(folder, os.path.basename(path), json.dumps(data).encode())

    def _queue_bind(self, exchange: str, routing_key: str, pattern: Any, queue: str) -> None:
        meta = (routing_key, pattern, queue)
        self._update_exchange_file(
            exchange, lambda table: table + [meta] if meta not in table else table)

    def _queue_unbind(self, exchange: str, routing_key: str, pattern: Any,
                      queue: str) -> None:
        self._update_exchange_file(
            exchange, lambda table: [m for m in table
                                     if not (m[0] == routing_key and m[2] == queue)])

    def exchange_delete(self, exchange: str, if_unused: bool = False,
                        nowait: bool = False) -> None:
        """Delete `exchange`, its bindings and its shared binding file."""
        super().exchange_delete(exchange, if_unused=if_unused, nowait=nowait)
        try:
            os.unlink(self._exchange_path(self.control_folder_in, exchange))
        except FileNotFoundError:
            pass

    def get_table(self, exchange: str) -> list:
        """Bindings of `exchange`: this process's plus those shared through files."""
        shared = self._read_exchange_file(
            self._exchange_path(self.control_folder_out, exchange)).get('table')
        try:
            local = self.state.exchanges[exchange]['table']
        except KeyError:
            if shared is None:
                raise
            local = []
        if not shared:
            return local
        return list(dict.fromkeys([tuple(m) for m in local] + [tuple(m) for m in shared]))

    def typeof(self, exchange: str, default: str = 'direct') -> Any:
        entry = self.state.exchanges.get(exchange)
        if entry is None:
            shared = self._read_exchange_file(
                self._exchange_path(self.control_folder_out, exchange))
            return self.exchange_types[shared.get('type', default)]
        return self.exchange_types[entry['type']]

    def _put_fanout(self, exchange: str, message: dict, routing_key: str,
                    **kwargs: Any) -> None:
        for i, queue in enumerate(self._lookup(exchange, routing_key)):
            self._put(queue, message if i == 0 else self._copy_message(message))


class Transport(virtual.Transport):
    """Filesystem Transport."""

    Channel = Channel

    state = virtual.BrokerState()

    implements = virtual.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({'direct', 'topic', 'fanout'}),
    )

    default_port = 0
    driver_type = 'filesystem'
    driver_name = 'filesystem'

    def driver_version(self) -> str:
        return 'N/A'
