"""Throwaway Redis servers (plain, TLS, Sentinel) for the Redis transport tests.

Each server runs on a spare port with its own folder; the tests stop it (and
only it, by its pid) when done.  The shared Redis on 6379 is never restarted.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which('redis-server')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _wait(predicate, timeout: float = 10.0, what: str = 'condition') -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise TimeoutError(f'timed out waiting for {what}')


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.2):
            return True
    except OSError:
        return False


class RedisServer:
    """A ``redis-server`` started with ``--daemonize yes`` on a spare port."""

    def __init__(self, folder: Path, *options: str, sentinel_conf: str | None = None,
                 port: int | None = None) -> None:
        if REDIS_SERVER is None:
            pytest.skip('redis-server is not installed')
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.options = list(options)
        self.sentinel_conf = sentinel_conf
        self.pidfile = self.folder / f'redis-{self.port}.pid'
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f'redis://127.0.0.1:{self.port}/0'

    def start(self) -> RedisServer:
        if self.sentinel_conf is not None:
            conf = self.folder / f'sentinel-{self.port}.conf'
            conf.write_text(self.sentinel_conf)
            args = [REDIS_SERVER, str(conf), '--sentinel']
        else:
            args = [REDIS_SERVER]
        args += ['--port', str(self.port), '--bind', '127.0.0.1', '--daemonize', 'yes',
                 '--pidfile', str(self.pidfile), '--dir', str(self.folder),
                 '--logfile', str(self.folder / f'redis-{self.port}.log')]
        if self.sentinel_conf is None:
            args += ['--save', '']
        args += self.options
        subprocess.run(args, check=True, capture_output=True, timeout=10)
        _wait(lambda: self.pidfile.exists() and self.pidfile.read_text().strip(),
              what='pidfile')
        self.pid = int(self.pidfile.read_text().strip())
        _wait(lambda: _port_open(self.port), what=f'redis-server on port {self.port}')
        return self

    def _alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        try:   # exited but not reaped yet (daemons are re-parented)
            with open(f'/proc/{self.pid}/stat') as stat:
                return stat.read().split(')')[-1].split()[0] != 'Z'
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self._alive():
            os.kill(self.pid, sig)
            _wait(lambda: not self._alive(), what='redis-server to exit')
        self.pid = None
        try:
            self.pidfile.unlink()
        except FileNotFoundError:
            pass

    def restart(self) -> None:
        self.stop()
        self.start()


def sentinel_config(master_port: int, master_name: str) -> str:
    return (f'sentinel monitor {master_name} 127.0.0.1 {master_port} 1\n'
            f'sentinel down-after-milliseconds {master_name} 60000\n'
            f'sentinel failover-timeout {master_name} 180000\n')
