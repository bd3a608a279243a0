"""The driver's loop: sources read round-robin one micro-batch at a time,
event time and per-partition watermarks, the query's entry methods, offset
commits (at-least-once) and checkpoints (``runtime_lib.recovery``).
``pipeline.run`` sets up what it drives."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import numpy as np

from runtime_lib import stopping
from runtime_lib.columns import Batch
from runtime_lib.watermarks import WM_MAX, WM_MIN, Watermarks

if TYPE_CHECKING:
    from runtime_lib.pipeline import Counters, Pipeline, Source, _Delivery


class _Offsets:
    """Processed offsets of one source, per partition, waiting to be committed:
    ``(next offset, max event time up to it)``, oldest first. A record is done
    (its offset may be committed) once every result derived from it has been
    delivered: at once for stateless queries, and for windowed ones once the
    watermark has passed its event time by the longest window + delay (its
    windows have fired)."""

    def __init__(self) -> None:
        self.pending: dict = {}
        self.max_ts: dict = {}

    def add(self, key, next_offset: int, ts_max: int) -> None:
        from collections import deque

        queue = self.pending.setdefault(key, deque())
        if queue and next_offset < queue[-1][0]:  # the position went back (a reset)
            queue.clear()
            self.max_ts[key] = WM_MIN
        high = max(self.max_ts.get(key, WM_MIN), ts_max)
        self.max_ts[key] = high
        if queue and queue[-1][1] == high:
            queue[-1] = (next_offset, high)
        else:
            queue.append((next_offset, high))

    def due(self, watermark: int, horizon: int) -> dict:
        out = {}
        for key, queue in self.pending.items():
            best = None
            for offset, high in queue:
                if horizon == 0 or watermark == WM_MAX or (
                        high != WM_MIN and high + horizon <= watermark):
                    best = offset
                else:
                    break
            if best is not None:
                out[key] = best
        return out

    def release(self, committed: dict) -> None:
        for key, offset in committed.items():
            queue = self.pending.get(key)
            while queue and queue[0][0] <= offset:
                queue.popleft()


class SourceWatermarks(Watermarks):
    """A source's watermarks with Flink's rule for a source whose partitions
    are all idle (``StatusWatermarkValve``): the watermark moves to the highest
    partition watermark instead of staying put. Without it, a partition that
    got a burst of data and the empty partitions time out together, and the
    burst's windows never fire."""

    def _combined(self, now: int) -> int:
        if self.idle_timeout_ms is not None and self._max_ts and not self._active(now):
            high = max(self.partition_watermark(p) for p in self._max_ts)
            return max(self._current, high)
        return super()._combined(now)


def _state_horizon(pipeline: Pipeline) -> int | None:
    """How far (ms of event time) behind the watermark a record's results may
    still be pending in operator state: 0 for stateless queries, window size +
    emit delay for TUMBLE/HOP/CUMULATE, None when unbounded (sessions, GROUP BY
    without windows, joins, anything unknown): such queries commit no offsets
    until checkpoints exist."""
    from runtime_lib.operators import windows
    from runtime_lib.state import operators_of

    horizon = 0
    for operator in operators_of(pipeline).values():
        if not isinstance(operator, windows.WindowAggregate):
            return None
        window = operator.window
        if isinstance(window, windows.Session):
            return None
        size = window.max_size_ms if isinstance(window, windows.Cumulate) else window.size_ms
        horizon = max(horizon, int(size) + int(operator.delay) + 1)
    return horizon


def drive(pipeline: Pipeline, sources: tuple[Source, ...], readers: dict,
           counters: Counters, *, delivery: _Delivery | None = None,
           commit_interval: float = 1.0, stop: stopping.Stop | None = None,
           recovery=None, restored=None, monitor=None, end_of_input: bool = True) -> None:
    """Round-robin over the sources, one micro-batch at a time, until every
    source is finished (bounded) or a stop is requested.

    With ``recovery`` (--checkpoint-dir), a checkpoint is taken between two
    micro-batches every checkpoint interval, when a stop is requested and at
    the end of a bounded run; ``restored`` (the checkpoint it started from)
    gives back the watermarks.

    Watermarks are kept per source partition (``Chunk.parts``). When no source
    has data, idle partitions are re-evaluated (``Watermarks.tick``). Every
    ``commit_interval`` seconds the results are flushed and then the offsets
    whose results were delivered are committed (at-least-once).

    ``monitor`` (``runtime_lib.monitor``: metrics, progress bar) is told of
    every micro-batch and checkpoint; None when nothing watches.

    ``end_of_input=False`` (a replay that rebuilds state) returns once the
    sources are read, without the end of input that fires every window."""
    specs = {s.name: s for s in sources}
    marks: dict[str, Watermarks] = {}
    for s in sources:
        if s.watermark is not None:
            marks[s.name] = SourceWatermarks(s.watermark.delay_ms or 0,
                                             s.watermark.idle_timeout_ms)
            for partition in readers[s.name].partitions:
                marks[s.name].add_partition(partition)
    current = {name: WM_MIN for name in marks}
    if restored is not None:
        recovery.restore_watermarks(restored, marks, current)
    methods = {s.name: pipeline.entries[s.name] for s in sources}
    offsets = {s.name: _Offsets() for s in sources if readers[s.name].commits}
    # with checkpoints, the Kafka positions (next offset per partition) go in each
    # checkpoint, and the checkpoint's positions are what gets committed
    positions: dict = {}
    if recovery is not None:
        positions = {name: recovery.kafka_positions(restored, name) or {}
                     for name, reader in readers.items() if hasattr(reader, "position_of")}
        offsets = {}
    horizon = _state_horizon(pipeline) if offsets else 0
    if offsets and horizon is None:
        for name in offsets:
            print(f"sqlc: source {name}: offsets are not committed: this query keeps state "
                  "that is not checkpointed yet, so a restart reads from the start position "
                  "again", file=sys.stderr)
        offsets = {}
    active = [s.name for s in sources if not readers[s.name].finished]
    wait = 0.0
    last_commit = time.monotonic()
    if monitor is not None:
        monitor.attach(pipeline, readers, marks, current)

    def watermark_sinks(watermark: int) -> None:
        """The query's watermark to the sinks that commit by it (a partitioned
        filesystem table's 'partition-time' trigger)."""
        for out in delivery.outputs if delivery is not None else ():
            if hasattr(out, "watermark"):
                out.watermark(watermark)

    def checkpoint(watermarks=None) -> None:
        if marks:
            # EMIT CHANGES windows emit what they hold pending at the next advance:
            # emit it now (same watermarks), so the snapshot has nothing in flight
            pipeline.advance(dict(current))
        grouped = [(readers[name], found) for name, found in positions.items()
                   if readers[name].commits]
        in_transaction = False
        for committer in recovery.committers:
            if hasattr(committer, "source_offsets"):  # Kafka: offsets commit with the output
                committer.source_offsets = grouped
                in_transaction = True
        began = time.perf_counter()
        done = recovery.take(pipeline, readers, positions, marks, current, delivery, watermarks)
        if monitor is not None:
            monitor.checkpoint(done, time.perf_counter() - began)
        if not in_transaction:  # for lag monitoring; the checkpoint decides where to go on
            for reader, found in grouped:
                reader.commit(found)

    def commit(final: bool = False) -> None:
        if delivery is None:
            return
        watermark_sinks(WM_MAX if final else min(current.values(), default=WM_MIN))
        due = {}
        for name, tracker in offsets.items():
            watermark = WM_MAX if final else current.get(name, WM_MAX if not marks else WM_MIN)
            found = tracker.due(watermark, horizon or 0)
            if found:
                due[name] = found
        if not due:
            delivery.flush(timeout=0.0)  # file sinks written out, Kafka served
            return
        if not delivery.flush(timeout=5.0 if not final else 60.0):
            return  # not all delivered yet: the same offsets next time
        for name, found in due.items():
            if readers[name].commit(found):
                offsets[name].release(found)

    while active and not (stop is not None and stop.requested):
        got = False
        for name in list(active):
            reader = readers[name]
            chunk = reader.read(wait)
            if chunk is not None:
                got = True
                began = time.perf_counter() if monitor is not None else 0.0
                _process(pipeline, specs[name], chunk, marks.get(name), methods[name],
                         counters, offsets.get(name))
                explicit = getattr(chunk, "watermark", None)  # a test file's, after its rows
                if explicit is not None and name in marks:
                    marks[name].advance_to(explicit)
                if name in positions and chunk.ends:
                    positions[name].update({reader.position_of(key): offset
                                            for key, offset in chunk.ends.items()})
                if name in marks and marks[name].current > current[name]:
                    current[name] = marks[name].current
                    pipeline.advance(dict(current))
                elif pipeline.processing_time:  # its windows fire by the clock
                    pipeline.advance(dict(current))
                if monitor is not None:
                    monitor.batch(name, reader, chunk, time.perf_counter() - began)
            if reader.finished:
                active.remove(name)
        if not got:
            moved = False
            for name, m in marks.items():
                if m.tick() > current[name]:
                    current[name] = m.current
                    moved = True
            if moved or pipeline.processing_time:
                pipeline.advance(dict(current))
        wait = 0.0 if got else 0.1 / max(1, len(active))
        if time.monotonic() - last_commit >= commit_interval:
            commit()
            last_commit = time.monotonic()
        elif delivery is not None and not got:
            delivery.poll()
        if recovery is not None and recovery.due():
            checkpoint()
        if monitor is not None:
            monitor.tick()
    if stop is not None and stop.requested:
        commit()  # what was delivered; run() waits a little for the rest
        if recovery is not None:
            checkpoint()  # a savepoint: the restart replays nothing
        if monitor is not None:
            monitor.finish()
        return
    if not end_of_input:
        return
    before = {name: m.snapshot() for name, m in marks.items()}
    for name, m in marks.items():
        current[name] = m.finish()
    # the end of input, for sources without a watermark too (processing time)
    pipeline.advance({**{s.name: WM_MAX for s in sources}, **current})
    watermark_sinks(WM_MAX)
    if offsets:
        commit(final=True)
    if recovery is not None:
        # the watermarks as they were before the end of input: a run resumed from
        # here on new data goes on from them (the windows fired here stay fired)
        checkpoint(watermarks=before)
    if monitor is not None:
        monitor.finish()


def _process(pipeline: Pipeline, spec: Source, chunk, marks: Watermarks | None, method,
             counters: Counters, offsets: _Offsets | None) -> None:
    """One micro-batch of one source through the query."""
    batch, dead = chunk.batch, list(chunk.dead)
    name = spec.name
    counters.records_in[name] = counters.records_in.get(name, 0) + batch.num_rows + len(dead)
    if spec.computed is not None:
        batch = spec.computed(batch)
    parts = chunk.parts
    times = None
    if spec.watermark is not None and marks is not None:
        batch, late_dead, parts, times = _event_time(batch, spec, marks, parts, chunk.keys)
        dead += late_dead
    if dead:
        counters.dead_letters += len(dead)
        counters.dead_by_source[name] = counters.dead_by_source.get(name, 0) + len(dead)
        pipeline.ctx.dead_letters.write(dead)
    method(batch)
    if offsets is not None and chunk.ends:
        for code, key in enumerate(chunk.keys):
            if key not in chunk.ends:
                continue
            high = WM_MIN
            if times is not None and len(times):
                mine = times if parts is None else times[parts == code]
                if len(mine):
                    high = int(mine.max())
            offsets.add(key, chunk.ends[key], high)


def _with_event_time(batch: Batch, spec: Source, marks: Watermarks) -> tuple[Batch, list]:
    """Attach the watermark before each row (one partition); rows without event
    time are dead letters."""
    batch, dead, _, _ = _event_time(batch, spec, marks, None, (0,))
    return batch, dead


def _event_time(batch: Batch, spec: Source, marks: Watermarks, parts, keys):
    """The batch with the watermark before each row, its dead letters (rows
    without event time), the rows' partitions and event times.

    ``parts`` (None: every row is from ``keys[0]``) gives each row's partition;
    each run of rows of one partition is observed in order, so the watermark
    before a row is the minimum over the partitions' watermarks at that point."""
    from runtime_lib.io.decode import DeadLetter

    assert spec.watermark is not None
    column = batch[spec.watermark.column]
    dead: list = []
    if column.valid is not None and not column.valid.all():
        # a retraction without a time (an upsert-kafka tombstone) is kept: the
        # operator gives it its key's previous row's time; it moves no watermark
        retracted = batch.retracted()
        ok = column.valid if retracted is None else column.valid | retracted
        missing = np.flatnonzero(~ok)
        for i in missing.tolist():
            dead.append(DeadLetter(b"", f"event time column '{spec.watermark.column}' is NULL",
                                   spec.name, i))
        if parts is not None:
            parts = parts[ok]
        batch = batch.take(ok) if len(missing) else batch
        column = batch[spec.watermark.column]
    times = column.values
    if spec.watermark.expression is not None:  # a custom watermark: its own value per row
        times = spec.watermark.expression(batch).values
    if column.valid is not None and not column.valid.all():  # (tombstones: no time)
        times = np.where(column.valid, times, WM_MIN)
    if parts is None:
        before, _ = marks.observe(keys[0], times)
    else:
        before = np.empty(len(times), dtype=np.int64)
        bounds = np.flatnonzero(np.diff(parts)) + 1
        starts = [0, *bounds.tolist()]
        stops = [*bounds.tolist(), len(times)]
        for a, b in zip(starts, stops):
            before[a:b], _ = marks.observe(keys[int(parts[a])], times[a:b])
    return Batch(batch.columns, batch.num_rows, before, batch.ops), dead, parts, times
