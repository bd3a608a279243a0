"""The query manager behind ``sqlc serve``: many pipelines on one host, each
a process of its own (a generated module run with ``python module.py``),
with the states of the spec (5.4)::

    SUBMITTED --ready--> RUNNING --exit 0--> COMPLETED   (a bounded input ended)
        |                  |  \\--exit != 0--> restart (bounded, with backoff) | FAILED
        |                  |--pause--> PAUSED --resume--> SUBMITTED ...
        \\------------------\\--stop---> CANCELLED

Every pipeline runs with ``--checkpoint-dir`` (its own directory) and a
``--metrics-port`` on loopback that the manager polls for readiness and for
the numbers ``list`` shows. Pause and stop are a SIGTERM, on which the
pipeline takes a savepoint: a paused pipeline holds no memory and resumes
from that savepoint with its state and watermarks; a stopped one is
CANCELLED. Exit code 2 (a bad flag, a missing file) is not retried; other
failures are restarted up to ``MAX_RESTARTS`` times, ``BACKOFF_S`` doubling,
and the last failure's reason (the end of its stderr) is kept.

Everything is persisted under the state directory (``queries/NAME/``:
``query.sql``, ``module.py``, ``plan.svg``, ``query.json``, ``chk/``,
``stdout.log``, ``stderr.log``), so a restarted manager takes its pipelines up again: those
that were running start from their checkpoints, paused ones stay paused.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from compiler.errors import ManagerError
from compiler.manager.defaults import BACKOFF_S, MAX_RESTARTS

STATES = ("SUBMITTED", "RUNNING", "PAUSED", "FAILED", "CANCELLED", "COMPLETED")
ACTIVE = ("SUBMITTED", "RUNNING")
STOP_TIMEOUT_S = 60.0  # a pipeline that has not stopped by then is killed
POLL_S = 0.5
SCRAPERS = 8  # pipelines' metrics read at once
HISTORY = 240  # samples of events/s and lag kept per query for the status page (2 min)
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
#: flags the manager sets itself: a submission may not give them
RESERVED_FLAGS = ("--checkpoint-dir", "--metrics-port", "--metrics-host", "--standby")


@dataclass
class Record:
    """One query as persisted in ``query.json``."""

    name: str
    state: str = "SUBMITTED"
    args: list[str] = field(default_factory=list)
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    restarts: int = 0
    last_error: str | None = None
    exit_code: int | None = None
    origin: str = "submitted"  # or the [tool.sqlc] SQL path
    upgraded_at: float | None = None


@dataclass
class _Live:
    """What only a running manager knows about a query."""

    process: subprocess.Popen | None = None
    port: int | None = None
    wanted: str | None = None  # PAUSED or CANCELLED once asked, until it exited
    stop_sent: float | None = None
    retry_at: float | None = None
    sample: tuple[float, float] | None = None  # (time, records read)
    standby: tuple | None = None  # (process, port) of a new version during an upgrade
    numbers: dict = field(default_factory=dict)
    #: (unix time, events/s, Kafka lag, event-time lag s), oldest first
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))


class Manager:
    def __init__(self, state_dir: str | Path, catalogs: list[str] | None = None,
                 max_restarts: int = MAX_RESTARTS, backoff_s: float = BACKOFF_S) -> None:
        self.dir = Path(state_dir).resolve()  # pipelines run in their own directory
        self.max_restarts, self.backoff_s = max_restarts, backoff_s
        (self.dir / "queries").mkdir(parents=True, exist_ok=True)
        self.catalogs = list(catalogs or [])
        self.records: dict[str, Record] = {}
        self.live: dict[str, _Live] = {}
        self.lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._scrapers: ThreadPoolExecutor | None = None
        self._load()

    # -- persistence ----------------------------------------------------------

    def _home(self, name: str) -> Path:
        return self.dir / "queries" / name

    def _load(self) -> None:
        for path in sorted((self.dir / "queries").glob("*/query.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            record = Record(**{k: v for k, v in data.items() if k in Record.__dataclass_fields__})
            if record.state == "RUNNING":  # it ran when the manager went: start it again
                record.state = "SUBMITTED"
            self.records[record.name] = record
            self.live[record.name] = _Live()

    def _save(self, record: Record) -> None:
        path = self._home(record.name) / "query.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(record), indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)

    def _set(self, record: Record, state: str, **changes) -> None:
        assert state in STATES
        record.state = state
        for key, value in changes.items():
            setattr(record, key, value)
        self._save(record)

    # -- requests -----------------------------------------------------------

    def submit(self, name: str, sql: str, args: list[str] | None = None,
               origin: str = "submitted") -> dict:
        """Compile ``sql`` and start it as query ``name``."""
        if not NAME.fullmatch(name or ""):
            raise ManagerError(f"bad query name {name!r}: a letter, then letters, digits, "
                               "'_' or '-' (at most 64)")
        args = _checked_args(args or [])
        with self.lock:
            if name in self.records and self.records[name].state in (*ACTIVE, "PAUSED"):
                raise ManagerError(f"query {name} exists ({self.records[name].state}); stop it "
                                   "first", 409)
        module, plan = self._compile(name, sql)
        home = self._home(name)
        home.mkdir(parents=True, exist_ok=True)
        (home / "query.sql").write_text(sql, encoding="utf-8")
        (home / "module.py").write_text(module, encoding="utf-8")
        (home / "plan.svg").write_text(plan, encoding="utf-8")
        with self.lock:
            if (home / "chk").exists():  # a new query of an old name starts afresh
                import shutil

                shutil.rmtree(home / "chk")
            record = Record(name, args=args, origin=origin)
            self.records[name] = record
            self.live[name] = _Live()
            self._save(record)
            self._start(record)
            return self.describe(name)

    def _compile(self, name: str, sql: str) -> tuple[str, str]:
        """The generated module of ``sql`` and its plan drawn in SVG; a compile
        error is a ``ManagerError`` with the positioned message."""
        from compiler.driver import compile_source
        from compiler.errors import Source, SqlcError
        from compiler.plan_graph import to_svg

        try:
            compiled = compile_source(Source(f"{name}.sql", sql), self.catalogs, f"{name}.sql")
        except SqlcError as error:
            raise ManagerError(error.render()) from None
        assert compiled.module is not None
        return compiled.module, to_svg(compiled.physical)

    def plan_svg(self, name: str) -> str:
        """The query's physical plan as SVG (drawn again from its SQL when the
        state directory comes from a manager that did not keep it)."""
        with self.lock:
            self._record(name)
        path = self._home(name) / "plan.svg"
        if not path.exists():
            _, plan = self._compile(name, (self._home(name) / "query.sql").read_text("utf-8"))
            path.write_text(plan, encoding="utf-8")
        return path.read_text(encoding="utf-8")

    def history(self, since: float = 0.0) -> dict[str, list]:
        """Per query, its recent samples ``[unix time, events/s, Kafka lag,
        event-time lag s]`` taken after ``since`` (the status page's charts:
        it asks for what it has not got yet)."""
        with self.lock:
            return {name: [list(s) for s in live.history if s[0] > since]
                    for name, live in self.live.items()}

    def pause(self, name: str) -> dict:
        return self._ask_stop(name, "PAUSED")

    def stop(self, name: str) -> dict:
        return self._ask_stop(name, "CANCELLED")

    def resume(self, name: str) -> dict:
        with self.lock:
            record = self._record(name)
            if record.state != "PAUSED":
                raise ManagerError(f"query {name} is {record.state}, not PAUSED", 409)
            self._set(record, "SUBMITTED")
            self._start(record)
            return self.describe(name)

    def upgrade(self, name: str, sql: str | None, args: list[str] | None) -> dict:
        """Replace a running or paused query by a new version (new SQL, new flags)
        that goes on from the old one's final checkpoint. Refused before anything
        stops when the new version cannot take the old state (``recovery.differences``,
        the state layouts decide) or does not start.

        Overlapped: the new version starts beside the old one with ``--standby``
        (imports, Kafka connections, numba kernels: ``runtime_lib.standby``);
        once it stands by, the old one takes its final checkpoint and exits, and
        the new one restores that and goes on. The answer says how long the
        output paused (``gap_s``: stop request to the new version's readiness;
        ``stop_s`` of it until the old version had exited, ``takeover_s`` the
        restore and start of reading) and how long the warm-up took beside the
        old version (``warmup_s``)."""
        with self.lock:
            record = self._record(name)
            if record.state not in ("RUNNING", "PAUSED"):
                raise ManagerError(f"query {name} is {record.state}: only a RUNNING or PAUSED "
                                   "query can be upgraded", 409)
            if self.live[name].standby is not None:
                raise ManagerError(f"query {name}: an upgrade is under way", 409)
            home = self._home(name)
            new_sql = (home / "query.sql").read_text(encoding="utf-8") if sql is None else sql
            new_args = record.args if args is None else _checked_args(args)
            module, plan = self._compile(name, new_sql)
            (home / "module.next.py").write_text(module, encoding="utf-8")
            problems = _state_problems(home / "module.next.py", home / "chk")
            if problems:
                (home / "module.next.py").unlink()
                raise ManagerError(f"upgrade of {name} refused, nothing was stopped: the "
                                   "new version cannot take the old state: "
                                   + "; ".join(problems), 409)
            if record.state == "PAUSED":  # nothing runs: the next resume runs the new one
                self._install(record, new_sql, new_args, plan)
                self._save(record)
                return self.describe(name)
            go = home / "takeover"
            go.unlink(missing_ok=True)
            standby = self.live[name].standby = self._spawn(
                record.name, home / "module.next.py", [*new_args, "--standby", str(go)])
        try:
            warm_s = self._wait_standby(name, standby)
            began = time.monotonic()
            old = self._ask_stop_process(name)
            self._wait_state(name, ("PAUSED", "FAILED"), old)
            stopped = time.monotonic()
            with self.lock:
                if record.state != "PAUSED":
                    raise ManagerError(f"upgrade of {name}: the old version did not stop "
                                       f"cleanly ({record.last_error})", 409)
                self._install(record, new_sql, new_args, plan)
                self._adopt(record, standby)
                go.touch()  # the new version restores the final checkpoint and goes on
        finally:
            if self.live[name].standby is not None:  # not handed over: it goes
                self.live[name].standby = None
                _end(standby[0])
                (home / "module.next.py").unlink(missing_ok=True)
        self._wait_state(name, ("RUNNING", "FAILED", "COMPLETED"), standby)
        go.unlink(missing_ok=True)
        out = self.describe(name)
        now = time.monotonic()
        out["gap_s"], out["warmup_s"] = round(now - began, 3), warm_s
        # the gap's two parts: the old version's final checkpoint, the new one's restore
        out["stop_s"], out["takeover_s"] = round(stopped - began, 3), round(now - stopped, 3)
        return out

    def _install(self, record: Record, sql: str, args: list[str], plan: str) -> None:
        """The new version's files become the query's (it has stopped, or never ran)."""
        home = self._home(record.name)
        os.replace(home / "module.next.py", home / "module.py")
        (home / "query.sql").write_text(sql, encoding="utf-8")
        (home / "plan.svg").write_text(plan, encoding="utf-8")
        record.args, record.upgraded_at = args, time.time()

    def _wait_standby(self, name: str, standby: tuple) -> float:
        """Seconds until the new version stands by (warm, waiting to take over);
        ``ManagerError`` when it exits or takes too long (nothing was stopped)."""
        process, port = standby
        began = time.monotonic()
        while time.monotonic() - began < STOP_TIMEOUT_S + 60:
            code = process.poll()
            if code is not None:
                raise ManagerError(f"upgrade of {name} refused, nothing was stopped: the new "
                                   "version did not start ("
                                   f"{_reason(self._home(name), code)})", 409)
            if (_scrape(port) or {}).get("sqlc_standby") == 1:
                return round(time.monotonic() - began, 3)
            if self._thread is None:  # no supervising thread (tests): supervise here
                self.step()
            time.sleep(0.05)
        raise ManagerError(f"upgrade of {name} refused, nothing was stopped: the new version "
                           "did not stand by in time", 409)

    def _adopt(self, record: Record, standby: tuple) -> None:
        """The standing-by process becomes the query's (SUBMITTED until ready)."""
        live = self.live[record.name]
        live.process, live.port = standby
        live.standby = live.stop_sent = live.retry_at = live.sample = None
        live.numbers = {}
        self._set(record, "SUBMITTED", started_at=None)

    def _ask_stop_process(self, name: str) -> tuple[subprocess.Popen | None, int | None]:
        """``pause``, and the (process, port) that was asked to stop."""
        with self.lock:
            live = self.live[name]
            watched = (live.process, live.port)
            self._ask_stop(name, "PAUSED")
            return watched

    def _wait_state(self, name: str, states: tuple[str, ...], watched: tuple | None = None,
                    ) -> None:
        """Until query ``name`` is in one of ``states``. ``watched`` (its process
        and metrics port): looked at here on every turn, not only on the
        supervising thread's, so that an upgrade's handover waits for no poll."""
        deadline = time.monotonic() + STOP_TIMEOUT_S + 60
        turn = 0
        while self.records[name].state not in states and time.monotonic() < deadline:
            if self._thread is None:  # no supervising thread (tests): supervise here
                self.step()
            elif watched is not None and watched[0] is not None:
                process, port = watched
                self._look_at(name, process, port, scrape=turn % 5 == 0)
            turn += 1
            time.sleep(0.02)

    def _look_at(self, name: str, process: subprocess.Popen, port: int | None,
                 scrape: bool) -> None:
        """``step`` for one query's process: its exit, or its readiness."""
        code = process.poll()
        samples = _scrape(port) if code is None and scrape else None
        with self.lock:
            live = self.live[name]
            if live.process is not process:
                return
            if code is not None:
                self._exited(self.records[name], live, code)
            elif samples is not None:
                self._observe(self.records[name], live, samples)

    def _ask_stop(self, name: str, final: str) -> dict:
        with self.lock:
            record, live = self._record(name), self.live[name]
            if record.state == "PAUSED" and final == "CANCELLED":
                self._set(record, "CANCELLED")
                return self.describe(name)
            if record.state not in ACTIVE:
                raise ManagerError(f"query {name} is {record.state}: nothing to "
                                   f"{'pause' if final == 'PAUSED' else 'stop'}", 409)
            live.wanted = final
            if live.process is None or live.process.poll() is not None:
                self._set(record, final)  # between two restarts: nothing runs
                live.retry_at = None
            elif live.stop_sent is None:
                live.process.send_signal(signal.SIGTERM)  # the pipeline takes a savepoint
                live.stop_sent = time.monotonic()
            return self.describe(name)

    def list(self) -> list[dict]:
        with self.lock:
            return [self.describe(name) for name in sorted(self.records)]

    def describe(self, name: str) -> dict:
        with self.lock:
            record, live = self._record(name), self.live[name]
            out = asdict(record)
            now = time.time()
            running = record.state == "RUNNING" and record.started_at is not None
            out["uptime_s"] = round(now - record.started_at, 1) if running else None
            out["pid"] = live.process.pid if live.process and live.process.poll() is None else None
            out["metrics_port"] = live.port if out["pid"] else None
            out.update(live.numbers if running else {})
            out["stopping"] = live.wanted
            return out

    def details(self, name: str) -> dict:
        """``describe`` plus the SQL and the end of the pipeline's stderr."""
        out = self.describe(name)
        home = self._home(name)
        out["sql"] = (home / "query.sql").read_text(encoding="utf-8")
        out["stderr_tail"] = _tail(home / "stderr.log")
        return out

    def _record(self, name: str) -> Record:
        if name not in self.records:
            raise ManagerError(f"no query named {name}", 404)
        return self.records[name]

    # -- processes ----------------------------------------------------------

    def _start(self, record: Record) -> None:
        live = self.live[record.name]
        live.process, live.port = self._spawn(record.name, self._home(record.name) / "module.py",
                                              record.args)
        live.stop_sent, live.retry_at, live.sample, live.numbers = None, None, None, {}

    def _spawn(self, name: str, module: Path, args: list[str]) -> tuple[subprocess.Popen, int]:
        """A pipeline process of ``module`` with the manager's flags; (process, metrics port)."""
        home, port = self._home(name), _free_port()
        flags = [*args, "--checkpoint-dir", str(home / "chk"), "--metrics-port", str(port),
                 "--metrics-host", "127.0.0.1", "--no-progress"]
        with open(home / "stdout.log", "ab") as out, open(home / "stderr.log", "ab") as err:
            process = subprocess.Popen(
                [sys.executable, str(module), *flags], cwd=home, stdout=out, stderr=err,
                stdin=subprocess.DEVNULL, env=_pipeline_env(), start_new_session=True)
        return process, port

    def step(self) -> None:
        """One round of supervision: exits, readiness, numbers, retries. The
        pipelines' metrics are read outside the lock (in parallel, SCRAPERS at
        a time), so that the API answers while a hundred of them are scraped."""
        due: list[tuple[str, subprocess.Popen, int | None]] = []
        with self.lock:
            for name, record in self.records.items():
                live = self.live[name]
                if live.retry_at is not None and time.monotonic() >= live.retry_at:
                    self._start(record)
                elif (record.state == "SUBMITTED" and live.process is None
                      and live.retry_at is None):
                    self._start(record)  # taken over from a previous manager
                if live.process is None or live.retry_at is not None:
                    continue
                code = live.process.poll()
                if code is not None:
                    self._exited(record, live, code)
                    continue
                if (live.stop_sent is not None
                        and time.monotonic() - live.stop_sent > STOP_TIMEOUT_S):
                    live.process.kill()
                    continue
                due.append((name, live.process, live.port))
        if not due:
            return
        if self._scrapers is None:
            self._scrapers = ThreadPoolExecutor(SCRAPERS, thread_name_prefix="sqlc-scrape")
        found = list(self._scrapers.map(lambda d: _scrape(d[2]), due))
        with self.lock:
            for (name, process, _), samples in zip(due, found):
                now_live = self.live.get(name)
                if samples is not None and now_live is not None and now_live.process is process:
                    self._observe(self.records[name], now_live, samples)  # still the same run

    def _exited(self, record: Record, live: _Live, code: int) -> None:
        live.process = None
        record.exit_code = code
        if live.wanted is not None:
            # (-SIGTERM: the signal came before the pipeline could catch it, when
            # it had read nothing yet)
            final, live.wanted = live.wanted, None
            clean = code in (0, -signal.SIGTERM)
            self._set(record, final if clean else "FAILED",
                      last_error=None if clean else _reason(self._home(record.name), code))
            return
        if code == 0:
            self._set(record, "COMPLETED")
            return
        reason = _reason(self._home(record.name), code)
        if code == 2 or record.restarts >= self.max_restarts:
            self._set(record, "FAILED", last_error=reason)
            return
        live.retry_at = time.monotonic() + self.backoff_s * 2 ** record.restarts
        live.process = None
        self._set(record, "SUBMITTED", restarts=record.restarts + 1, last_error=reason)

    def _observe(self, record: Record, live: _Live, samples: dict[str, float]) -> None:
        """Readiness (SUBMITTED -> RUNNING) and the numbers ``list`` shows."""
        if record.state == "SUBMITTED" and samples.get("sqlc_ready") == 1:
            self._set(record, "RUNNING", started_at=time.time())
        now = time.monotonic()
        read = sum(v for k, v in samples.items() if k.startswith("sqlc_records_in_total"))
        rate = None
        if live.sample is not None and now > live.sample[0]:
            rate = (read - live.sample[1]) / (now - live.sample[0])
        live.sample = (now, read)
        marks = [v for k, v in samples.items() if k.startswith("sqlc_source_watermark_seconds")]
        behind = [v for k, v in samples.items()
                  if k.startswith("sqlc_source_event_time_lag_seconds")]
        live.numbers = {
            "records_in": int(read),
            "events_per_s": round(rate, 1) if rate is not None else None,
            "watermark": _iso(min(marks)) if marks else None,
            "kafka_lag": int(sum(v for k, v in samples.items()
                                 if k.startswith("sqlc_kafka_consumer_lag"))),
            "rows_out": int(samples.get("sqlc_rows_out_total", 0)),
            "dead_letters": int(sum(v for k, v in samples.items()
                                    if k.startswith("sqlc_dead_letters_total"))),
            "event_time_lag_s": round(max(behind), 1) if behind else None,
        }
        if rate is not None:
            live.history.append((round(time.time(), 3), live.numbers["events_per_s"],
                                 live.numbers["kafka_lag"], live.numbers["event_time_lag_s"]))

    # -- the supervising thread ---------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sqlc-manager", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.wait(POLL_S):
            self.step()

    def shutdown(self) -> None:
        """The manager stops: every pipeline takes a savepoint and exits, and
        stays recorded as it was (a restarted manager starts it again)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        if self._scrapers is not None:
            self._scrapers.shutdown()
        with self.lock:
            running = [(n, l.process) for n, l in self.live.items()
                       if l.process is not None and l.process.poll() is None]
            running += [(n, l.standby[0]) for n, l in self.live.items() if l.standby]
            for _, process in running:
                process.send_signal(signal.SIGTERM)
            for name, process in running:
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                self.live[name].process = None
                wanted = self.live[name].wanted
                if wanted is not None:  # asked to pause or stop: that is done now
                    self._set(self.records[name], wanted)


def _end(process: subprocess.Popen) -> None:
    """Stop a process that has taken nothing over (SIGTERM: a clean exit)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _checked_args(args: list) -> list[str]:
    args = [str(a) for a in args]
    for flag in RESERVED_FLAGS:
        if any(a == flag or a.startswith(flag + "=") for a in args):
            raise ManagerError(f"{flag} is set by the manager for every query")
    return args


#: prints the identity a checkpoint must match (recovery.identity) of a module
_IDENTITY = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("sqlc_upgrade_check", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from runtime_lib.pipeline import Context, Counters
from runtime_lib.recovery import identity
print(json.dumps(identity(module.Query(Context([], None, None, Counters())))))
"""


def _state_problems(module: Path, checkpoints: Path) -> list[str]:
    """Why the query of ``module`` cannot start from the newest checkpoint in
    ``checkpoints`` (none: it can), by the runtime's own rule."""
    from runtime_lib.checkpoint import CheckpointError, CheckpointStore
    from runtime_lib.recovery import differences

    try:
        latest = CheckpointStore(checkpoints).latest() if checkpoints.is_dir() else None
    except CheckpointError as error:
        return [f"its newest checkpoint cannot be read ({error})"]
    if latest is None:
        return []
    found = subprocess.run([sys.executable, "-c", _IDENTITY, str(module)], capture_output=True,
                           text=True, timeout=120, env=_pipeline_env(), check=False)
    if found.returncode != 0:
        return [f"the new module does not load: {found.stderr.strip().splitlines()[-1:]}"]
    return differences(latest.manifest.get("query") or {}, json.loads(found.stdout))


def _pipeline_env() -> dict[str, str]:
    """The environment of a pipeline process: this one's, with the runtime
    (``runtime_lib``, beside ``compiler``) importable."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(port: int | None) -> dict[str, float] | None:
    """A pipeline's metrics as ``{"name{labels}": value}``; None when it does not answer."""
    if port is None:
        return None
    try:
        import urllib.request  # here: its import (email, http) is a tenth of `sqlc compile`

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as reply:
            text = reply.read().decode()
    except OSError:
        return None
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                samples[key] = float(value)
            except ValueError:
                continue
    return samples


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_bytes()[-16_384:].decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _reason(home: Path, code: int) -> str:
    """Why a pipeline failed: its exit and the last line of its stderr that says so."""
    last = [line for line in _tail(home / "stderr.log", 50).splitlines() if line.strip()]
    errors = [line for line in last if "error" in line.lower()]
    said = (errors or last or [""])[-1].strip()
    how = f"exit code {code}" if code >= 0 else f"killed by signal {-code}"
    return f"{how}: {said}" if said else how


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + "Z"
