"""A TLS front for the shared RabbitMQ broker, for testing ``ssl=`` without touching it.

The broker only listens for plain AMQP, and enabling its TLS listener needs a
restart.  Instead, :class:`TLSProxy` terminates TLS on a local port with a
throw-away self-signed certificate (made with ``openssl``) and relays the
bytes to the plain listener: the client side is a real TLS handshake and
AMQP session, exactly what ``Connection(..., ssl=...)`` has to get right.
"""
from __future__ import annotations

import os
import selectors
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

__all__ = ('make_self_signed_cert', 'TLSProxy')


def make_self_signed_cert(folder: Path, common_name: str = 'localhost') -> tuple[Path, Path]:
    """Write ``cert.pem``/``key.pem`` for ``common_name`` (+ 127.0.0.1) into ``folder``."""
    openssl = shutil.which('openssl')
    if openssl is None:
        raise RuntimeError('openssl not found on PATH')
    cert, key = folder / 'cert.pem', folder / 'key.pem'
    subprocess.run(
        [openssl, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
         '-subj', f'/CN={common_name}',
         '-addext', f'subjectAltName=DNS:{common_name},IP:127.0.0.1',
         '-keyout', str(key), '-out', str(cert)],
        check=True, capture_output=True, timeout=60)
    return cert, key


class TLSProxy:
    """Accept TLS on 127.0.0.1:<port> and relay each session to ``upstream``."""

    def __init__(self, certfile: Path, keyfile: Path,
                 upstream: tuple[str, int] = ('127.0.0.1', 5672)) -> None:
        self.upstream = upstream
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(str(certfile), str(keyfile))
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self._stop_r, self._stop_w = os.pipe()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def start(self) -> TLSProxy:
        self._spawn(self._accept_loop)
        return self

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept_loop(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.listener, selectors.EVENT_READ)
        sel.register(self._stop_r, selectors.EVENT_READ)
        while True:
            for key, _ in sel.select():
                if key.fileobj == self._stop_r:
                    sel.close()
                    return
                client, _ = self.listener.accept()
                self._spawn(self._serve, client)

    def _serve(self, raw_client: socket.socket) -> None:
        try:
            client = self.context.wrap_socket(raw_client, server_side=True)
        except (OSError, ssl.SSLError):
            raw_client.close()              # failed handshake: the client gave up
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        self._relay(client, upstream)

    def _relay(self, client: ssl.SSLSocket, upstream: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        sel.register(self._stop_r, selectors.EVENT_READ, None)
        try:
            while True:
                for key, _ in sel.select():
                    dest = key.data
                    if dest is None:
                        return
                    if not self._pump(key.fileobj, dest):
                        return
                # TLS may hold decrypted bytes the selector cannot see
                while client.pending() and self._pump(client, upstream):
                    pass
        finally:
            sel.close()
            for sock in (client, upstream):
                try:
                    sock.close()
                except OSError:
                    pass

    @staticmethod
    def _pump(source: socket.socket, dest: socket.socket) -> bool:
        try:
            data = source.recv(65536)
        except ssl.SSLWantReadError:
            return True
        except OSError:
            return False
        if not data:
            return False
        try:
            dest.sendall(data)
        except OSError:
            return False
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        os.write(self._stop_w, b'x')
        for thread in self._threads:
            thread.join(timeout=5)
        self.listener.close()
        os.close(self._stop_r)
        os.close(self._stop_w)
