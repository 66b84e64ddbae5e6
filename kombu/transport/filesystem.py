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
* ``claim_check_interval`` (default ``5.0``): seconds between two checks for
  messages claimed by dead consumers (see below).

Layout and guarantees:

* One file per message, ``<time ns>_<counter>_<pid>.<queue>.msg`` (the
  queue name is %-escaped so that it contains no dot), holding the message
  dict as JSON.  It is written to a hidden temporary file and renamed into
  place, so readers never see a partial message.  Messages are taken in
  file-name order, i.e. publish order.
* A consumer takes a message by renaming its file to a hidden claim name,
  ``.<message file>.<host id>.<pid>.<token>.<n>.claim``; the rename is
  atomic, so two processes never take the same message.  The claim file
  stays until the message is settled: an ack (or a reject without requeue,
  or the receipt by a no_ack consumer / ``basic_get(no_ack=True)``) removes
  it (or moves it to ``processed_folder``); a requeue, ``basic_recover`` or
  closing the channel with unacked messages rewrites it as a redelivered
  message and renames it back into the queue, so it exists exactly once.
* Delivery is at-least-once: a consumer that dies with unacked messages
  (even SIGKILLed) leaves their claim files behind.  A channel reading a
  queue gives back the claims of dead processes (renamed back to their
  message names, marked redelivered) when it first lists the queue and then
  at most every ``claim_check_interval`` seconds (default 5) while polling.
  A claim is only given back when its owner is provably dead: same host
  (host id = hash of the host name) and ``os.kill(pid, 0)`` reports no such
  process, or the pid is our own with another process token (a restarted
  container that got the same pid).  Claims of other hosts, of live
  processes (also zombies not yet reaped, or a reused pid) and, on Windows,
  all claims are left alone (to give one back by hand, rename it to its
  message file name).  Processes sharing a folder from different pid
  namespaces (containers) must have distinct host names.
* A message file that is not valid JSON is logged and kept aside as
  ``.<message file>.bad`` instead of being delivered.
* Bindings are stored per exchange in ``<exchange>.exchange`` files (JSON,
  updated under an ``flock`` and replaced atomically) in the binding
  process's *input* folder; publishers read them from their *output*
  folder.  So a publisher routes direct, topic and fanout messages to
  queues that only another process declared and bound.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import uuid
from collections import deque
from contextlib import contextmanager
from itertools import count
from time import monotonic, time_ns
from typing import Any, Iterator
from urllib.parse import quote

from kombu.log import get_logger

from . import virtual
from .virtual.base import Empty

__all__ = ('Channel', 'Transport')

logger = get_logger(__name__)

_MSG_SUFFIX = '.msg'
_EXCHANGE_SUFFIX = '.exchange'
_CLAIM_SUFFIX = '.claim'
#: Key of the claim file's path in a taken message dict (never written to disk).
_CLAIM_KEY = '_filesystem_claim'
_counter = count(1)

#: Identifies this host in claim names (pids are only comparable on one host).
_HOST_ID = hashlib.sha1(socket.gethostname().encode('utf-8', 'replace')).hexdigest()[:8]
#: Identifies this process among processes that had the same pid.
_TOKEN = uuid.uuid4().hex[:8]


def _claim_name(name: str) -> str:
    """A new claim name for message file ``name``, owned by this process."""
    return f'.{name}.{_HOST_ID}.{os.getpid()}.{_TOKEN}.{next(_counter)}{_CLAIM_SUFFIX}'


def _parse_claim(claim: str) -> tuple[str, str, int, str] | None:
    """``(message file name, host id, pid, token)`` of a claim name, or None."""
    if not (claim.startswith('.') and claim.endswith(_CLAIM_SUFFIX)):
        return None
    parts = claim[1:-len(_CLAIM_SUFFIX)].rsplit('.', 4)
    if len(parts) != 5:
        return None
    name, host, pid, token, _ = parts
    if not name.endswith(_MSG_SUFFIX) or name.startswith('.') or not pid.isdigit():
        return None
    return name, host, int(pid), token


def _owner_is_dead(host: str, pid: int, token: str) -> bool:
    """True only if the process that made a claim is known to be gone."""
    if host != _HOST_ID or pid <= 0 or os.name == 'nt':
        return False            # cannot tell (and os.kill would kill on Windows)
    if pid == os.getpid():
        return token != _TOKEN  # an earlier process that had our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:             # e.g. PermissionError: it exists
        return False
    return False


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
        #: queue -> monotonic time of the last check for dead consumers' claims.
        self._claims_checked: dict[str, float] = {}

    # -- options ----------------------------------------------------------

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
    def claim_check_interval(self) -> float:
        """Seconds between two checks for claims of dead consumers."""
        return float(self.transport_options.get('claim_check_interval', 5.0))

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
        claim = message.pop(_CLAIM_KEY, None) if _CLAIM_KEY in message else None
        if claim is None:
            self._write_message(self.data_folder_out, queue, stem, message)
        else:  # a message we took, handed back (e.g. no consumer left for it)
            self._move_claim(claim, queue, stem, message)

    @staticmethod
    def _write_message(folder: str, queue: str, stem: str, message: dict) -> None:
        data = json.dumps(message).encode('utf-8')
        _write_atomic(folder, f'{stem}.{_escape(queue)}{_MSG_SUFFIX}', data)

    def _move_claim(self, claim: str, queue: str, stem: str, message: dict) -> None:
        """Turn claim file ``claim`` into message file ``stem`` of ``queue``, holding ``message``.

        The claim is first rewritten in place (atomically), then renamed: the
        message exists exactly once at every moment, also if we die halfway.
        """
        folder = os.path.dirname(claim)
        _write_atomic(folder, os.path.basename(claim), json.dumps(message).encode('utf-8'))
        os.rename(claim, os.path.join(folder, f'{stem}.{_escape(queue)}{_MSG_SUFFIX}'))

    @staticmethod
    def _pop_claim(message: Any) -> str | None:
        """Take the claim file's path off a delivered message (None if settled)."""
        raw = getattr(message, '_raw', None)
        if isinstance(raw, dict):
            return raw.pop(_CLAIM_KEY, None)
        return None

    def _restore_at_beginning(self, message: Any) -> None:
        """Put the message back into the input folder, ahead of all others."""
        queue = getattr(message, '_queue', None)
        if queue is None:
            return self._restore(message)
        # Sorts before every regular name; later restores sort earlier.
        stem = f'{0:020d}_{10 ** 18 - time_ns() % 10 ** 18:019d}_{next(_counter):09d}'
        self._put_back(message, queue, stem)
        self._pending.pop(queue, None)
        return None

    def _restore(self, message: Any) -> None:
        """Put the message back into the input folder it was taken from."""
        queue = getattr(message, '_queue', None)
        if queue is None:
            claim = self._pop_claim(message)
            super()._restore(message)
            if claim is not None:
                self._discard_claim(claim)
            return None
        stem = f'{time_ns():020d}_{next(_counter):09d}_{os.getpid()}'
        self._put_back(message, queue, stem)
        return None

    def _put_back(self, message: Any, queue: str, stem: str) -> None:
        raw = self._redelivered(message)
        claim = self._pop_claim(message)
        if claim is None:
            self._write_message(self.data_folder_in, queue, stem, raw)
        else:
            self._move_claim(claim, queue, stem, raw)

    # -- settlement ---------------------------------------------------------

    def _discard_claim(self, claim: str) -> None:
        """The message of claim file ``claim`` is settled: remove (or keep) the file."""
        try:
            if self.store_processed:
                name = _parse_claim(os.path.basename(claim))
                os.replace(claim, os.path.join(
                    self.processed_folder, name[0] if name else os.path.basename(claim)))
            else:
                os.unlink(claim)
        except FileNotFoundError:
            pass

    def _settle(self, message: Any) -> None:
        claim = self._pop_claim(message)
        if claim is not None:
            self._discard_claim(claim)

    def _on_ack(self, messages: list) -> None:
        """Acked: remove the claim files (or move them to ``processed_folder``)."""
        self._settle_each(messages, self._settle)

    def _on_reject(self, messages: list, requeue: bool) -> None:
        """Rejected: settled like acked ones (a requeued one was moved back already)."""
        if not requeue:
            self._settle_each(messages, self._settle)

    def _on_no_ack(self, message: Any) -> None:
        """Taken without acknowledgement: settled on receipt."""
        self._settle(message)

    def basic_consume(self, queue: str, *args: Any, **kwargs: Any) -> str:
        """Consume from ``queue``; claims of dead consumers are checked at once."""
        self._claims_checked.pop(queue, None)
        return super().basic_consume(queue, *args, **kwargs)

    # -- taking messages ------------------------------------------------------

    def _queue_files(self, queue: str) -> list[str]:
        suffix = f'.{_escape(queue)}{_MSG_SUFFIX}'
        try:
            names = os.listdir(self.data_folder_in)
        except FileNotFoundError:
            return []
        now = monotonic()
        checked = self._claims_checked.get(queue)
        if checked is None or now - checked >= self.claim_check_interval:
            self._claims_checked[queue] = now
            names.extend(self._recover_claims(names, suffix))
        return sorted(n for n in names if n.endswith(suffix) and not n.startswith('.'))

    def _recover_claims(self, names: list[str], suffix: str) -> list[str]:
        """Give back the messages among ``names`` claimed by dead processes.

        Returns the message file names restored.
        """
        recovered = []
        for claim in names:
            if not claim.endswith(_CLAIM_SUFFIX):
                continue
            parsed = _parse_claim(claim)
            if parsed is None or not parsed[0].endswith(suffix) or \
                    not _owner_is_dead(*parsed[1:]):
                continue
            if self._recover_claim(claim, parsed[0]):
                recovered.append(parsed[0])
        if recovered:
            logger.warning('filesystem: redelivering %d message(s) left unacked by '
                           'dead consumers in %r', len(recovered), self.data_folder_in)
        return recovered

    def _recover_claim(self, claim: str, name: str) -> bool:
        """Move a dead process's claim back to message file ``name``, marked redelivered."""
        folder = self.data_folder_in
        mine = os.path.join(folder, _claim_name(name))
        try:
            # Take it over first: of several processes recovering it, one wins.
            os.rename(os.path.join(folder, claim), mine)
        except FileNotFoundError:
            return False
        try:
            with open(mine, 'rb') as fh:
                message = json.loads(fh.read())
            props = message['properties']
            props['delivery_info'] = dict(props.get('delivery_info') or {}, redelivered=True)
            _write_atomic(folder, os.path.basename(mine), json.dumps(message).encode('utf-8'))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # give it back as it is
        os.rename(mine, os.path.join(folder, name))
        return True

    def _take(self, name: str) -> dict | None:
        """Claim message file ``name`` (atomic rename) and return its message dict.

        The dict carries the claim file's path (``_CLAIM_KEY``) until settled.
        """
        folder = self.data_folder_in
        claim = os.path.join(folder, _claim_name(name))
        try:
            os.rename(os.path.join(folder, name), claim)
        except FileNotFoundError:
            return None  # taken by someone else
        try:
            with open(claim, 'rb') as fh:
                data = fh.read()
        except BaseException:
            os.rename(claim, os.path.join(folder, name))
            raise
        try:
            message = json.loads(data)
            if not isinstance(message, dict):
                raise ValueError('not a message dict')
        except ValueError as exc:
            logger.error('filesystem: message file %r is not a valid message (%s); '
                         'kept as %r', name, exc, f'.{name}.bad')
            os.replace(claim, os.path.join(folder, f'.{name}.bad'))
            return None
        message[_CLAIM_KEY] = claim
        return message

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        pending = self._pending.get(queue)
        while pending:
            message = self._take(pending.popleft())
            if message is not None:
                return message
        pending = self._pending[queue] = deque(self._queue_files(queue))
        while pending:
            message = self._take(pending.popleft())
            if message is not None:
                return message
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
