"""The progress bar of a bounded run on a terminal (rich, on stderr): events
read, events/s, and the event-time position (the lowest source watermark,
else the newest event time read). ``monitor.Session`` decides whether there
is one: never when stderr is not a terminal, for unbounded runs, with
``--quiet``, ``--no-progress`` or JSON logs."""

from __future__ import annotations

import sys
import time

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

from runtime_lib.watermarks import WM_MAX, WM_MIN

REFRESH_S = 0.1  # the bar is updated at most this often


class ProgressBar:
    """A watcher (see ``monitor.Monitor``) that draws one line on stderr."""

    def __init__(self, stream=None) -> None:
        self.console = Console(file=stream if stream is not None else sys.stderr)
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
            TextColumn("{task.fields[events]} events"), TextColumn("{task.fields[rate]}"),
            TextColumn("event time {task.fields[position]}"),
            console=self.console, transient=True, refresh_per_second=8)
        self.task = self.progress.add_task("running", total=None, events="0", rate="",
                                           position="-")
        self.counters = None
        self.current: dict = {}
        self.marks: dict = {}
        self.began = time.perf_counter()
        self._shown = 0.0
        self.progress.start()

    def attach(self, pipeline, readers: dict, marks: dict, current: dict) -> None:
        self.counters = pipeline.ctx.counters
        self.marks, self.current = marks, current
        self.began = time.perf_counter()

    def batch(self, source: str, reader, chunk, seconds: float) -> None:
        now = time.perf_counter()
        if now - self._shown >= REFRESH_S:
            self._shown = now
            self._show(now)

    def tick(self) -> None:
        """Nothing between batches: a bounded run always has the next one."""

    def checkpoint(self, done, seconds: float) -> None:
        """Checkpoints do not show on the bar."""

    def finish(self) -> None:
        self._show(time.perf_counter())

    def _show(self, now: float) -> None:
        read = sum(self.counters.records_in.values()) if self.counters is not None else 0
        elapsed = max(now - self.began, 1e-9)
        self.progress.update(self.task, events=f"{read:,}", rate=f"{read / elapsed:,.0f}/s",
                             position=self.position())

    def position(self) -> str:
        """The event time reached, as 'YYYY-MM-DD HH:MM:SS' (UTC)."""
        from runtime_lib.temporal import format_timestamps

        marks = [m for m in self.current.values() if m not in (WM_MIN, WM_MAX)]
        if not marks:
            marks = [m.newest() for m in self.marks.values() if m.newest() != WM_MIN]
        if not marks:
            return "-"
        return str(format_timestamps(np.array([min(marks)]))[0])[:19]

    def close(self) -> None:
        self.progress.stop()
