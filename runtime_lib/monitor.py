"""What watches a run from outside the query: the flags ``--metrics-port``,
``--metrics-host`` and ``--log-format``, the Prometheus endpoint
(``metrics.py``), the progress bar of a bounded run on a terminal
(``progress.py``) and JSON-lines logs.

``run`` opens a ``Session`` around the whole run; the driver gets its
``monitor`` (``None`` when nothing watches: the driver then pays one ``is
None`` test per micro-batch) and calls ``attach`` / ``batch`` / ``tick`` /
``checkpoint`` / ``finish`` on it.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from typing import Self

LOG_FORMATS = ("text", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                        help="serve Prometheus metrics on http://HOST:PORT/metrics, liveness "
                             "on /healthz and readiness on /readyz (0: any free port, said on "
                             "stderr)")
    parser.add_argument("--metrics-host", default="0.0.0.0", metavar="HOST",
                        help="the address the metrics port listens on (default 0.0.0.0, for "
                             "a scraper on another host; 127.0.0.1 for this host only)")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="text",
                        help="stderr as plain text (default) or as JSON lines, one object "
                             "per message with ts, level and msg (the summary with its numbers)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar, even for a bounded run on a terminal")


class Monitor:
    """The watchers of one run (metrics, progress bar), called by the driver."""

    def __init__(self, watchers: list) -> None:
        self.watchers = watchers

    def attach(self, pipeline, readers: dict, marks: dict, current: dict) -> None:
        for w in self.watchers:
            w.attach(pipeline, readers, marks, current)

    def batch(self, source: str, reader, chunk, seconds: float) -> None:
        for w in self.watchers:
            w.batch(source, reader, chunk, seconds)

    def tick(self) -> None:
        for w in self.watchers:
            w.tick()

    def checkpoint(self, done, seconds: float) -> None:
        for w in self.watchers:
            w.checkpoint(done, seconds)

    def finish(self) -> None:
        for w in self.watchers:
            w.finish()


class Session:
    """Opened by ``run`` once the flags are read; closed when the run ends,
    however it ends (the port closes, stderr is given back)."""

    def __init__(self) -> None:
        self.metrics = None
        self.progress = None
        self.monitor: Monitor | None = None
        self._stderr = None

    def open(self, args: argparse.Namespace, query) -> None:
        """Start what the flags ask for (the metrics port before anything slow,
        so that an orchestrator's liveness probe is answered while starting)."""
        if args.log_format == "json" and self._stderr is None:
            self._stderr = sys.stderr
            sys.stderr = JsonLogStream(self._stderr)
        watchers: list = []
        if args.metrics_port is not None:
            from runtime_lib.metrics import Metrics, MetricsError
            from runtime_lib.pipeline import PipelineError

            name = getattr(query, "name", None) or query.__module__
            try:
                metrics = Metrics(name, args.metrics_port, args.metrics_host)
                port = metrics.serve()
            except ImportError:
                raise PipelineError("--metrics-port needs prometheus-client: pip install "
                                    "'sqlc-streaming[ops]'") from None
            except MetricsError as error:
                raise PipelineError(str(error)) from None
            self.metrics = metrics
            print(f"sqlc: metrics on http://{args.metrics_host}:{port}/metrics",
                  file=sys.stderr)
            watchers.append(metrics)
        self.monitor = Monitor(watchers) if watchers else None

    def watch(self, args: argparse.Namespace, query, readers: dict) -> Monitor | None:
        """Once the sources are open: the progress bar, if wanted; returns
        what the driver reports to (None: nothing watches)."""
        if self._wants_progress(args, query, readers):
            try:
                from runtime_lib.progress import ProgressBar
            except ImportError:  # no rich: no bar, the run is the same
                return self.monitor

            self.progress = ProgressBar()
            self.monitor = Monitor([*(self.monitor.watchers if self.monitor else []),
                                    self.progress])
        return self.monitor

    @staticmethod
    def _wants_progress(args: argparse.Namespace, query, readers: dict) -> bool:
        """A bar for a bounded run whose stderr is a terminal, unless result
        rows are printed to that same terminal (they would tear the bar)."""
        if args.quiet or args.no_progress or args.log_format != "text":
            return False
        if not _is_terminal(sys.stderr):
            return False
        to_stdout = not args.output and not args.sink and any(
            o.target is None for o in query.outputs)
        if to_stdout and _is_terminal(sys.stdout):
            return False
        return all(getattr(r, "bounded", True) for r in readers.values())

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
        if self.metrics is not None:
            self.metrics.close()
        if self._stderr is not None:
            sys.stderr.flush()
            sys.stderr = self._stderr
            self._stderr = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class JsonLogStream(io.TextIOBase):
    """stderr as JSON lines: every line written becomes ``{"ts", "level",
    "logger", "msg"}`` (the "sqlc: " and "error: " prefixes become the
    logger and the level); ``record`` writes one with more fields."""

    def __init__(self, target) -> None:
        self.target = target
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            if line.strip():
                self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._pending.strip():
            self._emit(self._pending)
        self._pending = ""
        self.target.flush()

    def isatty(self) -> bool:
        return False

    def record(self, event: str, message: str, **fields) -> None:
        """One structured record (the end-of-run summary and its numbers)."""
        self._emit(message, event=event, **fields)

    def _emit(self, line: str, **fields) -> None:
        import orjson

        level, text = "info", line.rstrip()
        for prefix, named in (("error: ", "error"), ("warning: ", "warning"),
                              ("sqlc: warning: ", "warning"), ("sqlc: ", "info")):
            if text.startswith(prefix):
                level, text = named, text[len(prefix):]
                break
        record = {"ts": _now_iso(), "level": level, "logger": "sqlc", "msg": text, **fields}
        self.target.write(orjson.dumps(record).decode() + "\n")
        self.target.flush()


def summary(counters, dead_letters, elapsed: float, stopped: bool = False,
            cpu: float | None = None, now_ms: int | None = None,
            starting: bool = False) -> None:
    """The end-of-run line on stderr (``pipeline.Counters``); with
    ``--log-format json`` one record with the numbers as fields."""
    read = sum(counters.records_in.values())
    parts = [f"{read} records read"]
    rate = read / elapsed if elapsed > 0 else 0.0
    parts.append(f"{counters.rows_out} rows out")
    where = dead_letters.describe() if hasattr(dead_letters, "describe") else (
        f" ({dead_letters.path})" if counters.dead_letters and dead_letters.path else "")
    parts.append(f"{counters.dead_letters} dead letters" + (where if counters.dead_letters
                                                             else ""))
    late = sum(counters.late_rows.values())
    parts.append(f"{late} late rows dropped")
    behind = sum(counters.late_joined.values())
    if behind:
        parts.append(f"{behind} rows joined behind the watermark (partners may be missing)")
    parts.append(f"{elapsed:.2f} s ({rate:,.0f} records/s"
                 + (f", cpu {cpu:.2f} s)" if cpu is not None else ")"))
    if stopped:
        parts.append("stopped by a signal" + (" while starting" if starting else ""))
    if now_ms is not None:  # said every time: a forgotten $SQLC_NOW changes results
        import numpy as np

        from runtime_lib.temporal import format_timestamps

        pinned = format_timestamps(np.array([now_ms]))[0]
        parts.append(f"CURRENT_TIMESTAMP pinned to {pinned} UTC")
    if isinstance(sys.stderr, JsonLogStream):  # --log-format json: the numbers too
        sys.stderr.record("summary", ", ".join(parts), records_in=read,
                          rows_out=counters.rows_out, dead_letters=counters.dead_letters,
                          late_rows=late, seconds=round(elapsed, 3), stopped=stopped)
        return
    print("sqlc: " + ", ".join(parts), file=sys.stderr)


def _now_iso() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
