"""Process plumbing shared by the service managers: free ports, readiness waits,
stopping a child, and reaping children left behind by a test run that died.

No Python code runs in a forked child (no ``preexec_fn``): the test process has
librdkafka threads, and running Python between fork and exec can deadlock then.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Where each managed child is recorded while it runs (one JSON file per child),
# so that a later session can stop children of a run that was killed (SIGKILL,
# a tool's time limit) before its fixtures could tear down.
REGISTRY_DIR = Path(tempfile.gettempdir()) / "sqlc-test-services"


class ServiceStartError(RuntimeError):
    """A managed component did not come up; the message carries its log tail."""


class NotManagedError(RuntimeError):
    """stop()/start() on a server given by environment variable."""


def skip_or_raise(message: str) -> None:
    """In a pytest run skip the calling test; elsewhere raise NotManagedError."""
    import sys

    if "pytest" in sys.modules:
        import pytest

        pytest.skip(message)
    raise NotManagedError(message)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (callers retry on a bind race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.25) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port_closed(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_open(host, port, 0.1):
            return True
        time.sleep(0.02)
    return False


def log_tail(path: Path, chars: int = 3000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return text[-chars:]


def wait_until(
    ready: Callable[[], bool],
    proc: subprocess.Popen,
    timeout: float,
    what: str,
    log: Path,
    interval: float = 0.02,
) -> None:
    """Poll ``ready()`` until true; fail fast if ``proc`` exits, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise ServiceStartError(
                f"{what} exited with code {proc.returncode} before it was ready; "
                f"log {log}:\n{log_tail(log)}"
            )
        try:
            if ready():
                return
        except ServiceStartError:  # ready() knows it will never be ready
            raise
        except Exception:  # noqa: BLE001, S110 - any other failure means "not yet"
            pass
        if time.monotonic() > deadline:
            raise ServiceStartError(
                f"{what} not ready after {timeout:.0f}s; log {log}:\n{log_tail(log)}"
            )
        time.sleep(interval)


def stop_process(
    proc: subprocess.Popen | None,
    first_signal: int = signal.SIGTERM,
    grace: float = 10.0,
) -> None:
    """Signal ``proc``, wait up to ``grace`` seconds, then SIGKILL. Idempotent."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(first_signal)
    except ProcessLookupError:
        pass
    try:
        proc.wait(grace)
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    proc.wait(10)


# --- registry of running children, and the reaper -------------------------------------


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _same_program(pid: int, cmd: Sequence[str]) -> bool:
    """Is ``pid`` running the recorded command? (redis-server rewrites its
    command line, so the executable is compared as well.)"""
    if _cmdline(pid) == list(cmd):
        return True
    try:
        return os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(cmd[0])
    except OSError:
        return False


def _start_ticks(pid: int) -> str | None:
    """Process start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def register(
    proc: subprocess.Popen, cmd: Sequence[str], kind: str, workdir: Path | None
) -> Path | None:
    """Record a running child so that a later session can reap it if we die."""
    if not Path("/proc/self/stat").exists():
        return None
    try:
        REGISTRY_DIR.mkdir(mode=0o777, parents=True, exist_ok=True)
        entry = {
            "kind": kind,
            "pid": proc.pid,
            "pid_start": _start_ticks(proc.pid),
            "cmdline": list(cmd),
            "owner": os.getpid(),
            "owner_start": _start_ticks(os.getpid()),
            "workdir": str(workdir) if workdir else None,
        }
        path = REGISTRY_DIR / f"{kind}-{proc.pid}.json"
        path.write_text(json.dumps(entry))
        return path
    except OSError:
        return None


def unregister(path: Path | None) -> None:
    if path is not None:
        try:
            path.unlink()
        except OSError:
            pass


def reap_orphans() -> list[int]:
    """Stop children recorded by test runs that are no longer alive.

    A child is signalled only if its pid still has the recorded start time and
    program (so a reused pid is never hit), and its owner is gone.
    Returns the pids that were stopped.
    """
    import shutil

    reaped: list[int] = []
    if not REGISTRY_DIR.is_dir():
        return reaped
    for path in REGISTRY_DIR.glob("*.json"):
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        owner_start = entry.get("owner_start")
        if owner_start is not None and _start_ticks(entry["owner"]) == owner_start:  # owner alive
            continue
        pid = entry["pid"]
        if _start_ticks(pid) == entry.get("pid_start") and _same_program(pid, entry["cmdline"]):
            # postgres: SIGQUIT = immediate shutdown, which also ends its backends.
            sig = signal.SIGQUIT if entry["kind"] == "postgres" else signal.SIGTERM
            try:
                os.kill(pid, sig)
                deadline = time.monotonic() + 5
                while _start_ticks(pid) == entry.get("pid_start") and time.monotonic() < deadline:
                    time.sleep(0.05)
                if _start_ticks(pid) == entry.get("pid_start"):
                    os.kill(pid, signal.SIGKILL)
                reaped.append(pid)
            except (ProcessLookupError, PermissionError):
                pass
        workdir = entry.get("workdir")
        if workdir and Path(workdir).name.startswith("sqlc-"):
            shutil.rmtree(workdir, ignore_errors=True)
        unregister(path)
    return reaped
