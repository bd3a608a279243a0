"""Watermarks: bounded out-of-orderness per source partition (Flink's
``WATERMARK FOR ts AS ts - INTERVAL ...``).

After every record of a partition its watermark is ``max(event time so far) -
bound``. The operator watermark is the minimum over the partitions that are not
idle, and it never goes back. A partition that has produced no record for
``idle_timeout_ms`` of processing time is idle and does not hold the minimum
back (Flink's ``table.exec.source.idle-timeout``); when every partition is idle
the watermark stays where it is.

Lateness is decided per event against the watermark established by the events
*before* it, so results never depend on how the stream is cut into
micro-batches. ``observe`` returns exactly that array, vectorized (a running
max), together with the operator watermark after the batch:

>>> import numpy as np
>>> wm = Watermarks(bound_ms=10)
>>> before, current = wm.observe(0, np.array([100, 95, 130, 105]))
>>> before.tolist() == [WM_MIN, 90, 90, 120]
True
>>> current
120
>>> wm.finish()  # end of bounded input: everything fires
9223372036854775807

Time values are int64 epoch milliseconds; ``WM_MIN`` stands for "no watermark
yet" and ``WM_MAX`` for end of input (+inf).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from runtime_lib.columns import Column

WM_MIN = int(np.iinfo(np.int64).min)
WM_MAX = int(np.iinfo(np.int64).max)
CLAMP = 1 << 62  # operators clamp watermarks and bounds to +-2^62 before arithmetic (no overflow)


#: a test's clock (``sqlc test`` with ``{processing_time: T}`` entries): state
#: TTLs then expire as the test moves it, not by the time the test takes
_test_clock: Callable[[], int] | None = None


def monotonic_ms() -> int:
    """Processing time for idle timeouts and state TTLs (monotonic, ms)."""
    if _test_clock is not None:
        return _test_clock()
    return int(time.monotonic() * 1000)


def use_test_clock(clock: Callable[[], int] | None) -> Callable[[], int] | None:
    """Make state TTLs and idle timeouts read ``clock`` (None: the real
    monotonic clock again); returns the previous one, for the caller to put back."""
    global _test_clock
    previous, _test_clock = _test_clock, clock
    return previous


def watermarks_before(ts: np.ndarray, max_before: int, bound_ms: int) -> tuple[np.ndarray, int]:
    """Per event, the partition watermark before it; and the new max event time.

    ``max_before`` is the partition's max event time before the batch (WM_MIN
    when none). Vectorized: a running max shifted by one event."""
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) == 0:
        return np.zeros(0, np.int64), max_before
    run = np.maximum.accumulate(ts)
    prev = np.empty(len(ts), np.int64)
    prev[0] = max_before
    np.maximum(run[:-1], max_before, out=prev[1:])
    before = np.where(prev == WM_MIN, WM_MIN, prev - bound_ms)
    return before, max(max_before, int(run[-1]))


def event_times(ts) -> np.ndarray:
    """Event times as int64 epoch ms (a Column must have no NULL)."""
    if isinstance(ts, Column):
        if ts.valid is not None and not ts.valid.all():
            raise ValueError("event time must not be NULL (route such rows to the dead-letter sink)")
        ts = ts.values
    return np.asarray(ts, dtype=np.int64)


def row_watermarks(watermark_before, n: int, floor: int) -> np.ndarray:
    """The watermark an operator uses before each of ``n`` rows: ``watermark_before``
    (one value per row, or one for all), never below ``floor`` (the operator's
    own watermark) nor going back, clamped to +-CLAMP."""
    wm = np.asarray(watermark_before, dtype=np.int64)
    if wm.shape == ():
        wm = np.full(n, int(wm), np.int64)
    if len(wm) != n:
        raise ValueError("watermark_before must have one value per row")
    eff = np.maximum(wm, max(floor, -CLAMP))
    np.maximum.accumulate(eff, out=eff)  # watermarks never go back
    return np.minimum(eff, CLAMP)


class Watermarks:
    """Watermark assigner of one source: partitions, bound, idle timeout.

    ``observe(partition, ts, now_ms=None) -> (before, current)``: ``before[i]``
    is the operator watermark before event i (what window operators compare
    against), ``current`` the operator watermark after the batch (what to pass
    to ``advance``). ``now_ms`` is processing time for idleness (default: a
    monotonic clock); pass it explicitly for reproducible tests."""

    def __init__(self, bound_ms: int, idle_timeout_ms: int | None = None, partitions=()):
        if bound_ms < 0:
            raise ValueError("bound_ms must be >= 0")
        self.bound_ms = int(bound_ms)
        self.idle_timeout_ms = idle_timeout_ms
        self._max_ts: dict = {}  # partition -> max event time (WM_MIN before any)
        self._last_seen: dict = {}  # partition -> processing time of its last record
        self._current = WM_MIN
        for p in partitions:
            self.add_partition(p)

    def add_partition(self, partition, now_ms: int | None = None) -> None:
        """Declare a partition; its idle clock starts at ``now_ms`` or, when not
        given, at the next ``observe``/``tick``."""
        if partition not in self._max_ts:
            self._max_ts[partition] = WM_MIN
            self._last_seen[partition] = now_ms

    @property
    def current(self) -> int:
        return self._current

    def newest(self) -> int:
        """The highest event time seen in any partition (WM_MIN before any)."""
        return max(self._max_ts.values(), default=WM_MIN)

    def partition_watermark(self, partition) -> int:
        m = self._max_ts.get(partition, WM_MIN)
        return WM_MIN if m == WM_MIN else m - self.bound_ms

    def _active(self, now_ms: int) -> list:
        for p, seen in self._last_seen.items():
            if seen is None:
                self._last_seen[p] = now_ms
        if self.idle_timeout_ms is None:
            return list(self._max_ts)
        return [p for p, seen in self._last_seen.items() if now_ms - seen < self.idle_timeout_ms]

    def _min_over(self, parts) -> int | None:
        if not parts:
            return None
        return min(self.partition_watermark(p) for p in parts)

    def observe(self, partition, ts: np.ndarray, now_ms: int | None = None) -> tuple[np.ndarray, int]:
        now = monotonic_ms() if now_ms is None else now_ms
        self.add_partition(partition, now)
        others = [p for p in self._active(now) if p != partition]
        other_min = self._min_over(others)
        part_before, new_max = watermarks_before(ts, self._max_ts[partition], self.bound_ms)
        before = part_before if other_min is None else np.minimum(part_before, other_min)
        np.maximum(before, self._current, out=before)  # the operator watermark never goes back
        if len(ts):
            self._last_seen[partition] = now
        self._max_ts[partition] = new_max
        self._current = max(self._current, self._combined(now))
        return before, self._current

    def _combined(self, now: int) -> int:
        m = self._min_over(self._active(now))
        return self._current if m is None else m

    def tick(self, now_ms: int | None = None) -> int:
        """Re-evaluate idleness without new records (call when a poll is empty)."""
        now = monotonic_ms() if now_ms is None else now_ms
        self._current = max(self._current, self._combined(now))
        return self._current

    def advance_to(self, watermark: int) -> int:
        """An explicit watermark (a ``sqlc test`` file's): the operator
        watermark moves up to it, never back."""
        self._current = max(self._current, int(watermark))
        return self._current

    def finish(self) -> int:
        """End of bounded input: the final +inf watermark."""
        self._current = WM_MAX
        return WM_MAX

    def snapshot(self) -> dict:
        """The watermark and each partition's max event time (a partition that
        is a tuple, such as (topic, partition), becomes a list)."""
        return {
            "bound_ms": self.bound_ms,
            "current": self._current,
            "partitions": [[list(p) if isinstance(p, tuple) else p, m] for p, m in self._max_ts.items()],
        }

    def restore(self, data: dict, now_ms: int | None = None) -> None:
        """Restore; idle clocks restart at ``now_ms`` (processing time does not survive a restart)."""
        now = monotonic_ms() if now_ms is None else now_ms
        self._current = int(data["current"])
        self._max_ts = {tuple(p) if isinstance(p, list) else p: int(m) for p, m in data["partitions"]}
        self._last_seen = {p: now for p in self._max_ts}


def held_back(watermark: int, delay_ms: int) -> int:
    """The watermark of rows an operator emits ``delay_ms`` after the watermark
    passes their time (a window aggregate with EMIT ... WITH DELAY): what comes
    after them is timed at or above it. No watermark and the end of input stay."""
    if watermark >= WM_MAX or watermark <= WM_MIN:
        return watermark
    return watermark - delay_ms


def processing_time(watermark: int) -> int:
    """The watermark processing-time windows fire on: the clock (the instant
    ``--now`` pins, else the wall clock) less 1 ms, so that the window holding
    the current instant stays open for the rows still to come at it; at the
    end of input (``watermark``, the source's, is WM_MAX) every window fires."""
    from runtime_lib.functions.time import current_timestamp

    return WM_MAX if watermark >= WM_MAX else int(current_timestamp(1).values[0]) - 1

