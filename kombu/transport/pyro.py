"""Pyro transport, and Kombu Broker daemon.

Requires the Pyro4 library to be installed (``pip install "kombu[pyro]"``).

To use the Pyro transport with Kombu, use an url of the form::

    pyro://localhost/kombu.broker

The hostname (and port, default 9090) is where the transport will be
looking for a Pyro name server, which is used in turn to locate the
``kombu.broker`` Pyro service (the URL's virtual host).  This broker can be
launched by simply executing this transport module directly, with the
command: ``python -m kombu.transport.pyro`` (``--help`` lists its options).

The broker holds the queues (shared by every client of the broker); the
exchanges and bindings are kept in this process, as with ``memory://``,
so a publisher routes only through bindings it declared itself.  Unacked
messages are put back at the head of their queue.
"""
from __future__ import annotations

import argparse
import sys
import threading
from collections import deque
from typing import Any

from . import virtual
from .virtual.base import Empty

try:
    import Pyro4
    import Pyro4.errors as _pyro_errors
    import Pyro4.util
except ImportError:  # pragma: no cover - exercised with the extra missing
    Pyro4 = None
    _pyro_errors = None

__all__ = ('Channel', 'KombuBroker', 'Transport', 'main')

DEFAULT_PORT = 9090
DEFAULT_BROKER_NAME = 'kombu.broker'
E_LOOKUP = 'Unable to locate the Pyro name server at {host}:{port} ({exc!r})'


def _empty_from_dict(classname: str, data: dict) -> Empty:
    return Empty()


if Pyro4 is not None:
    # A Kombu 4.x broker raises queue.Empty from ``get`` on an empty queue:
    # let it arrive here as Empty (not SerializeError), so these clients
    # also work with a broker started by an older Kombu.
    for _classname in ('queue.Empty', '_queue.Empty'):
        Pyro4.util.SerializerBase.register_dict_to_class(_classname, _empty_from_dict)


def _require_pyro4() -> Any:
    if Pyro4 is None:
        raise ImportError(
            'The Pyro transport requires the Pyro4 library: pip install "kombu[pyro]"')
    return Pyro4


def _error_classes() -> tuple[tuple, tuple]:
    """``(connection_errors, channel_errors)`` for the installed Pyro4."""
    conn = virtual.Transport.connection_errors
    chan = virtual.Transport.channel_errors
    if _pyro_errors is not None:
        conn = conn + (_pyro_errors.CommunicationError, _pyro_errors.NamingError)
        chan = chan + (_pyro_errors.SerializeError, _pyro_errors.DaemonError)
    return conn, chan


class Channel(virtual.Channel):
    """Pyro Channel."""

    restore_to_head = True

    def close(self) -> None:
        """Close channel.

        Cancel all consumers, and requeue unacked messages.
        """
        super().close()

    def queues(self) -> list[str]:
        """Names of the queues the broker holds."""
        return self.shared_queues.get_queue_names()

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        """Create ``queue`` in the broker (idempotent)."""
        self.shared_queues.new_queue(queue)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        """True if the broker holds ``queue``."""
        return bool(self.shared_queues.has_queue(queue))

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        """Take the next message of ``queue`` or raise :exc:`Empty`."""
        # (a Kombu 4.x broker raises Empty itself instead of returning None)
        message = self.shared_queues.get(queue)
        if message is None:
            raise Empty()
        return message

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        """Append ``message`` to ``queue`` in the broker."""
        self.shared_queues.put(queue, message)

    def _restore_at_beginning(self, message: Any) -> None:
        """Put an unacked message back at the head of its queue."""
        queue = getattr(message, '_queue', None)
        if queue is None:
            return self._restore(message)
        self.shared_queues.put_front(queue, self._redelivered(message))
        return None

    def _size(self, queue: str) -> int:
        """Number of messages in ``queue``."""
        return self.shared_queues.size(queue)

    def _purge(self, queue: str) -> int:
        """Remove every message of ``queue``; return how many."""
        return self.shared_queues.purge(queue)

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        """Drop ``queue`` from the broker."""
        self.shared_queues.delete(queue)

    def after_reply_message_received(self, queue: str) -> None:
        """Callback called after RPC reply received.

        Notes:
            Reply queue semantics: can be used to delete the queue
            after transient reply message received.
        """

    @property
    def shared_queues(self) -> Any:
        """The Pyro proxy of the broker (the transport's)."""
        return self.connection.shared_queues


class Transport(virtual.Transport):
    """Pyro Transport."""

    Channel = Channel

    #: memory backend state is global.
    state = virtual.BrokerState()

    default_port = DEFAULT_PORT
    driver_type = driver_name = 'pyro'
    connection_errors, channel_errors = _error_classes()
    recoverable_connection_errors = connection_errors
    recoverable_channel_errors = ()

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self._proxies: dict[int, Any] = {}
        self._lock = threading.Lock()

    def _broker_name(self) -> str:
        vhost = (self.client.virtual_host or '').strip('/')
        return vhost or DEFAULT_BROKER_NAME

    def _open_proxy(self) -> Any:
        """Look the broker up in the name server; return a new proxy to it."""
        pyro = _require_pyro4()
        host = self.client.hostname or 'localhost'
        port = self.client.port or self.default_port
        try:
            ns = pyro.locateNS(host, port)
            try:
                uri = ns.lookup(self._broker_name())
            finally:
                ns._pyroRelease()
        except _pyro_errors.NamingError as exc:
            if 'unknown name' in str(exc):
                raise _pyro_errors.NamingError(
                    f'No broker named {self._broker_name()!r} is registered in the '
                    f'name server at {host}:{port}: start one with '
                    f'"python -m kombu.transport.pyro"') from exc
            raise _pyro_errors.NamingError(
                E_LOOKUP.format(host=host, port=port, exc=exc)) from exc
        proxy = pyro.Proxy(uri)
        timeout = self.client.connect_timeout
        if timeout:
            proxy._pyroTimeout = timeout
        return proxy

    @property
    def shared_queues(self) -> Any:
        """The Pyro proxy of the broker (one per thread; Pyro proxies are not shared)."""
        key = threading.get_ident()
        try:
            return self._proxies[key]
        except KeyError:
            proxy = self._open_proxy()
            with self._lock:
                self._proxies[key] = proxy
            return proxy

    def establish_connection(self) -> Transport:
        """Locate the broker (raises one of :attr:`connection_errors` if it can't)."""
        self.shared_queues._pyroBind()
        return self

    def close_connection(self, connection: Any) -> None:
        """Close every channel and release the proxies (safe to call twice)."""
        try:
            super().close_connection(connection)
        finally:
            with self._lock:
                proxies, self._proxies = list(self._proxies.values()), {}
            for proxy in proxies:
                try:
                    proxy._pyroRelease()
                except Exception:  # pragma: no cover - best effort
                    pass

    def verify_connection(self, connection: Any) -> bool:
        try:
            self.shared_queues._pyroBind()
        except self.connection_errors:
            return False
        return True

    def driver_version(self) -> str:
        return _require_pyro4().__version__


class KombuBroker:
    """Kombu Broker used by the Pyro transport.

    A Pyro object holding named queues of message dicts (thread-safe).
    Start it with ``python -m kombu.transport.pyro``.
    """

    def __init__(self) -> None:
        self.queues: dict[str, deque] = {}
        self._lock = threading.Lock()

    def get_queue_names(self) -> list[str]:
        with self._lock:
            return list(self.queues)

    def new_queue(self, queue: str) -> None:
        with self._lock:
            self.queues.setdefault(queue, deque())

    def has_queue(self, queue: str) -> bool:
        with self._lock:
            return queue in self.queues

    def get(self, queue: str) -> dict | None:
        """Pop the next message of ``queue`` (None when there is none)."""
        with self._lock:
            try:
                return self.queues[queue].popleft()
            except (KeyError, IndexError):
                return None

    def put(self, queue: str, message: dict) -> None:
        with self._lock:
            self.queues.setdefault(queue, deque()).append(message)

    def put_front(self, queue: str, message: dict) -> None:
        """Put ``message`` back at the head of ``queue``."""
        with self._lock:
            self.queues.setdefault(queue, deque()).appendleft(message)

    def size(self, queue: str) -> int:
        with self._lock:
            return len(self.queues.get(queue, ()))

    def purge(self, queue: str) -> int:
        with self._lock:
            q = self.queues.get(queue)
            if not q:
                return 0
            count = len(q)
            q.clear()
            return count

    def delete(self, queue: str) -> None:
        with self._lock:
            self.queues.pop(queue, None)


def serve(host: str = 'localhost', port: int = 0, ns_host: str | None = None,
          ns_port: int | None = None, name: str = DEFAULT_BROKER_NAME,
          ready: Any = None) -> None:
    """Run a :class:`KombuBroker` daemon registered as ``name`` in the name server."""
    pyro = _require_pyro4()
    exposed = pyro.expose(KombuBroker)
    daemon = pyro.Daemon(host=host, port=port)
    try:
        uri = daemon.register(exposed(), objectId=name)
        ns = pyro.locateNS(ns_host or host, ns_port)
        try:
            ns.register(name, uri)
        finally:
            ns._pyroRelease()
        print(f'kombu.transport.pyro: broker {name!r} at {uri}', flush=True)
        if ready is not None:
            ready(daemon)
        daemon.requestLoop()
    finally:
        daemon.close()


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: ``python -m kombu.transport.pyro``."""
    parser = argparse.ArgumentParser(
        prog='python -m kombu.transport.pyro',
        description='Run the Kombu broker for the pyro:// transport.')
    parser.add_argument('--host', default='localhost', help='address the broker listens on')
    parser.add_argument('--port', type=int, default=0, help='port (default: any free port)')
    parser.add_argument('--ns-host', default=None, help='name server host (default: --host)')
    parser.add_argument('--ns-port', type=int, default=DEFAULT_PORT,
                        help=f'name server port (default: {DEFAULT_PORT})')
    parser.add_argument('--name', default=DEFAULT_BROKER_NAME,
                        help=f'name registered in the name server (default: {DEFAULT_BROKER_NAME})')
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port, args.ns_host, args.ns_port, args.name)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 0
    except Exception as exc:
        print(f'kombu.transport.pyro: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
