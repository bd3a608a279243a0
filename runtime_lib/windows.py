"""Event-time window operators: WindowAggregate (TUMBLE, HOP, CUMULATE, SESSION)
and GroupAggregate (non-windowed GROUP BY, an updating changelog).

A generated module calls them in straight-line code, once per micro-batch::

    wm = Watermarks(bound_ms=30_000)
    agg = WindowAggregate(
        window=Tumble(size_ms=60_000),
        key_kinds=["O"], arg_kinds=["f"],
        aggs=[Agg("count_star"), Agg("sum", arg=0), Agg("percentile_cont", arg=0, param=0.95)],
        emit=AfterWatermark(delay_ms=0),
        names=["model_id", "window_start", "window_end", "window_time", "n", "total", "p95"],
    )
    for batch in source:
        before, current = wm.observe(partition, batch["ts"].values)
        late = agg.process(keys=[batch["model_id"]], ts=batch["ts"].values,
                           watermark_before=before, args=[batch["latency_ms"]])
        late_sink.write(batch.take(late), reason="late")
        out_sink.write(agg.advance(current))
    out_sink.write(agg.advance(wm.finish()))

Runnable:

>>> import numpy as np
>>> from runtime_lib.columns import column_from_pylist
>>> from runtime_lib.aggregates import Agg
>>> from runtime_lib.watermarks import Watermarks
>>> wm = Watermarks(bound_ms=0)
>>> agg = WindowAggregate(window=Tumble(size_ms=10), key_kinds=["O"], arg_kinds=["i"],
...                       aggs=[Agg("count_star"), Agg("sum", arg=0)])
>>> ts = np.array([1, 5, 12, 3])  # the last row comes after the watermark passed 9
>>> before, now = wm.observe(0, ts)
>>> agg.process(keys=[column_from_pylist(["a", "b", "a", "a"], "O")], ts=ts,
...             watermark_before=before, args=[column_from_pylist([10, 20, 30, 40], "i")]).tolist()
[3]
>>> agg.advance(now).to_rows()  # window [0, 10) of 'a' and of 'b' fire at watermark 12
[('a', 0, 10, 9, 1, 10), ('b', 0, 10, 9, 1, 20)]
>>> agg.advance(wm.finish()).to_rows()
[('a', 10, 20, 19, 1, 30)]
>>> agg.late_count
1

Semantics (FLINK_SEMANTICS.md):

* Windows are half-open ``[start, end)``, aligned to the epoch plus ``offset_ms``;
  ``window_time = window_end - 1``. A window fires once, when the watermark
  reaches ``window_end - 1 + delay_ms`` (``AfterWatermark(delay_ms)``), with one
  row per group key that has at least one row in it; its state is then freed.
* ``watermark_before[i]`` is the watermark established by the rows before row i
  (``Watermarks.observe``). Row i is late for a window when ``window_end - 1 +
  delay_ms <= watermark_before[i]``. HOP and CUMULATE rows are added to their
  *pane* (a slide or step of the window) and count for every window of the
  pane that has not fired yet; a row is dropped only when all of its windows
  have fired. ``process`` returns the indices of dropped rows and counts them
  (``late_count``). So that a pane never feeds a window that was due before a
  row arrived, ``process`` fires windows in the middle of a batch as soon as
  the rows' watermark passes them (buffered until ``advance``): the output does
  not depend on where the stream is cut into batches.
* SESSION(gap): a row opens ``[t, t + gap)``; sessions of one partition that
  overlap or touch merge (``Session(partition_by=[...])`` lists the key columns
  that partition sessions; empty = one global sequence of sessions, split by
  the group keys only at aggregation). A row is dropped only if it cannot join
  an open session and its own window ``[t, t + gap)`` is already due.
* ``Changes(delay_ms)`` (EMIT CHANGES): after each micro-batch (each
  ``advance``), the windows whose result changed emit ``+I`` the first time and
  ``-U``/``+U`` pairs afterwards, in an ``op`` column in front; the window
  closes (state freed, no further output) when the watermark passes
  ``window_end - 1 + delay_ms``. For SESSION, a session whose bounds move (it
  grew, or absorbed another session) retracts its previous row with ``-D`` and
  inserts the new one with ``+I``; an absorbed session's row gets ``-D``.
* An updating input (the changelog of a regular outer join): ``process(...,
  retract=mask)`` takes the marked rows (-D/-U) back from their windows with
  the inverse of each aggregate's update (COUNT, SUM, AVG, STDDEV/VARIANCE:
  ``aggregates.RETRACTABLE``); a retraction is late exactly when the row
  it takes back would be. A window whose rows were all taken back has no
  result (EMIT CHANGES: ``-D`` of its last row). TUMBLE, HOP and CUMULATE
  only: retracting a row from a session could split it.
* End of input: ``advance(WM_MAX)`` fires everything.
* Output rows come in firing order: by window end, then by the arrival of
  each group's first row. Identical for any batch sizes.

Memory: one state slot per (group key, pane) or (group key, session) that is
still open; panes are freed when their last window fires, and key dictionaries
are compacted when they hold many more keys than the open state references.
Exact percentiles and COUNT(DISTINCT) hold their values until then.

State: every operator here implements ``runtime_lib.state.Stateful``
(``snapshot()`` gives numpy arrays and JSON values, never pickle;
``restore(data)`` brings a freshly constructed operator of the same
configuration back to it). Call ``snapshot`` after ``advance`` (nothing pending).
"""

# ruff: noqa: PLR0124  (x != x is the NaN test numba compiles for every dtype)

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from runtime_lib import kernels as K
from runtime_lib.aggregates import Agg, AggregateStates
from runtime_lib.columns import DTYPES, FILLERS, Batch, Column, concat_columns
from runtime_lib.keys import KeyEncoder, PairTable
from runtime_lib.state import values_data, values_from_data
from runtime_lib.watermarks import WM_MAX, WM_MIN

_CLAMP = 1 << 62  # watermarks are clamped to +-2^62 before arithmetic (no overflow)


# ---------------------------------------------------------------------------
# Window and emit specs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tumble:
    size_ms: int
    offset_ms: int = 0


@dataclass(frozen=True)
class Hop:
    slide_ms: int
    size_ms: int
    offset_ms: int = 0


@dataclass(frozen=True)
class Cumulate:
    step_ms: int
    max_size_ms: int
    offset_ms: int = 0


@dataclass(frozen=True)
class Session:
    gap_ms: int
    partition_by: tuple[int, ...] = ()  # indices into the key columns; () = global sessions


@dataclass(frozen=True)
class AfterWatermark:
    delay_ms: int = 0


@dataclass(frozen=True)
class Changes:
    delay_ms: int = 0


# ---------------------------------------------------------------------------
# Pane grid: windows of TUMBLE / HOP / CUMULATE as ranges of panes.
#
# Pane p covers [offset + p*P, offset + (p+1)*P). Window w covers panes
# first(w)..last(w); every pane belongs to windows wlo(p)..whi(p); window ids
# increase with window_end, so "windows due at watermark W" is a range.
# ---------------------------------------------------------------------------


class _Grid:
    def __init__(self, window, delay_ms: int):
        self.delay = int(delay_ms)
        if isinstance(window, Tumble):
            self.P, self.s, self.z, self.m = window.size_ms, 1, 1, 0
            self.O = window.offset_ms
        elif isinstance(window, Hop):
            if window.slide_ms <= 0 or window.size_ms <= 0:
                raise ValueError("HOP slide and size must be positive")
            self.P = math.gcd(window.slide_ms, window.size_ms)
            self.s, self.z, self.m = window.slide_ms // self.P, window.size_ms // self.P, 0
            self.O = window.offset_ms
        elif isinstance(window, Cumulate):
            if window.max_size_ms % window.step_ms:
                raise ValueError("CUMULATE max size must be a multiple of the step")
            self.P, self.s, self.z = window.step_ms, 1, 1
            self.m = window.max_size_ms // window.step_ms
            self.O = window.offset_ms
        else:
            raise TypeError(f"not a pane window: {window!r}")
        if self.P <= 0:
            raise ValueError("window size must be positive")
        self.shared = self.s != 1 or self.z != 1 or self.m > 1  # panes feed several windows

    def pane_of(self, ts):
        return np.floor_divide(ts - self.O, self.P)

    def wlo(self, p):
        if self.m:
            return p
        return -np.floor_divide(-(p - self.z + 1), self.s)

    def whi(self, p):
        if self.m:
            return np.floor_divide(p, self.m) * self.m + self.m - 1
        return np.floor_divide(p, self.s)

    def panes(self, w):
        """(first pane, number of panes) of windows w."""
        if self.m:
            return np.floor_divide(w, self.m) * self.m, np.mod(w, self.m) + 1
        return w * self.s, np.full(np.shape(w), self.z, np.int64)

    def start(self, w):
        if self.m:
            return self.O + np.floor_divide(w, self.m) * self.m * self.P
        return self.O + w * self.s * self.P

    def end(self, w):
        if self.m:
            return self.O + (w + 1) * self.P
        return self.O + w * self.s * self.P + self.z * self.P

    def w_upto(self, wm):
        """Largest window id whose threshold end - 1 + delay <= wm (array or int)."""
        if isinstance(wm, (int, np.integer)):
            wm = max(-_CLAMP, min(_CLAMP, int(wm)))
        if self.m or self.s == 1 and self.z == 1:
            return np.floor_divide(wm - self.O + 1 - self.delay, self.P) - 1
        return np.floor_divide(wm - self.O - self.z * self.P + 1 - self.delay, self.s * self.P)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _as_ts(ts) -> np.ndarray:
    if isinstance(ts, Column):
        if ts.valid is not None and not ts.valid.all():
            raise ValueError("event time must not be NULL (route such rows to the dead-letter sink)")
        ts = ts.values
    return np.asarray(ts, dtype=np.int64)


def _effective_wm(watermark_before, n: int, floor: int) -> np.ndarray:
    wm = np.asarray(watermark_before, dtype=np.int64)
    if wm.shape == ():
        wm = np.full(n, int(wm), np.int64)
    if len(wm) != n:
        raise ValueError("watermark_before must have one value per row")
    eff = np.maximum(wm, max(floor, -_CLAMP))
    np.maximum.accumulate(eff, out=eff)  # watermarks never go back
    return np.minimum(eff, _CLAMP)


def _slice_cols(cols, a: int, b: int):
    out = []
    for c in cols:
        if c is None:
            out.append(None)
        elif isinstance(c, Column):
            out.append(Column(c.values[a:b], None if c.valid is None else c.valid[a:b]))
        else:
            out.append(np.asarray(c)[a:b])
    return out


def _empty_column(kind: str) -> Column:
    return Column(np.zeros(0, dtype=DTYPES[kind]))


def _concat_output(batches: list[Batch], names: list[str], kinds: list[str]) -> Batch:
    """Concatenate output batches (an empty Batch with the schema for none)."""
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return Batch({n: _empty_column(k) for n, k in zip(names, kinds)}, 0)
    cols = {name: concat_columns([b[name] for b in batches]) for name in names}
    return Batch(cols, sum(b.num_rows for b in batches))


class _Slots:
    """(a, b) -> slot, with per-slot a, b and the arrival seq of the slot's first row."""

    def __init__(self):
        self.table = PairTable()
        self.a = np.zeros(16, np.int64)
        self.b = np.zeros(16, np.int64)
        self.seq = np.zeros(16, np.int64)

    @property
    def n(self) -> int:
        return self.table.n

    def insert(self, a: np.ndarray, b: np.ndarray, seqs: np.ndarray) -> np.ndarray:
        n_before = self.table.n
        slots = self.table.insert(a, b)
        n = self.table.n
        if n > n_before:
            if n > len(self.a):
                cap = max(n, 2 * len(self.a))
                for name in ("a", "b", "seq"):
                    arr = np.zeros(cap, np.int64)
                    arr[:n_before] = getattr(self, name)[:n_before]
                    setattr(self, name, arr)
            # ids are handed out in order of first appearance: a row is the first
            # of a new slot where the id exceeds every id before it
            prev = np.maximum.accumulate(np.concatenate([[n_before - 1], slots[:-1]]))
            rows = np.flatnonzero(slots > prev)
            new_ids = slots[rows]
            self.a[new_ids] = a[rows]
            self.b[new_ids] = b[rows]
            self.seq[new_ids] = seqs[rows]
        return slots

    def rebuild(self, a: np.ndarray, b: np.ndarray, seq: np.ndarray) -> None:
        self.table = PairTable.from_pairs(a, b)
        cap = max(16, len(a))
        self.a, self.b, self.seq = (np.zeros(cap, np.int64) for _ in range(3))
        self.a[: len(a)], self.b[: len(a)], self.seq[: len(a)] = a, b, seq

    def take(self, keep: np.ndarray) -> None:
        self.rebuild(self.a[keep], self.b[keep], self.seq[keep])

    def snapshot(self) -> dict:
        n = self.n
        return {"a": self.a[:n].copy(), "b": self.b[:n].copy(), "seq": self.seq[:n].copy()}

    def restore(self, data: dict) -> None:
        self.rebuild(*(np.asarray(data[k], np.int64) for k in ("a", "b", "seq")))


class _Changelog:
    """Last emitted result row per (a, b) for EMIT CHANGES / GroupAggregate."""

    def __init__(self, kinds: list[str]):
        self.kinds = kinds
        self.table = PairTable()
        self.alive = np.zeros(16, bool)
        self.cols: list[Column] = [Column(np.zeros(16, DTYPES[k]), np.zeros(16, bool)) for k in kinds]
        self.dead = 0

    def _ensure(self, n: int) -> None:
        if n > len(self.alive):
            cap = max(n, 2 * len(self.alive))
            self.alive = np.concatenate([self.alive, np.zeros(cap - len(self.alive), bool)])
            self.cols = [
                Column(np.concatenate([c.values, np.zeros(cap - len(c.values), c.values.dtype)]),
                       np.concatenate([c.valid, np.zeros(cap - len(c.valid), bool)]))
                for c in self.cols
            ]

    def diff(self, a, b, new: list[Column]):
        """Compare new results with the last emitted ones. Returns (row ids,
        whether a row is visible, whether it differs); the caller decides what
        to emit and ``store``s it."""
        rid = self.table.insert(a, b)
        self._ensure(self.table.n)
        had = self.alive[rid]
        changed = np.zeros(len(rid), bool)
        for c_old, c_new in zip(self.cols, new):
            ov, ok_old = c_old.values[rid], c_old.valid[rid]
            nv, ok_new = c_new.values, c_new.is_valid()
            if nv.dtype == object:
                neq = np.array([x != y for x, y in zip(ov, nv)], bool) if len(nv) else np.zeros(0, bool)
            else:
                neq = (ov != nv) & ~((ov != ov) & (nv != nv))
            changed |= (ok_old != ok_new) | (ok_old & ok_new & neq)
        return rid, had, changed

    def old(self, rid: np.ndarray) -> list[Column]:
        return [Column(c.values[rid], c.valid[rid]) for c in self.cols]

    def store(self, rid: np.ndarray, new: list[Column], alive: np.ndarray) -> None:
        for c_old, c_new in zip(self.cols, new):
            c_old.values[rid] = c_new.values
            c_old.valid[rid] = c_new.is_valid()
        self.dead += int((self.alive[rid] & ~alive).sum())
        self.alive[rid] = alive

    def remove(self, a: np.ndarray, b: np.ndarray) -> None:
        rid = self.table.lookup(a, b)
        rid = rid[rid >= 0]
        self.dead += len(rid)
        self.alive[rid] = False
        if self.dead > max(1024, self.table.n // 2):
            self._compact()

    def _compact(self) -> None:
        n = self.table.n
        keep = np.flatnonzero(self.alive[:n])
        a, b = self.table.keys1[keep], self.table.keys2[keep]
        self.table = PairTable.from_pairs(a, b)
        self.cols = [Column(c.values[keep], c.valid[keep]) for c in self.cols]
        self.alive = np.ones(len(keep), bool)
        self._ensure(16)
        self.dead = 0

    def remap_a(self, remap: np.ndarray) -> None:
        self._compact()
        n = self.table.n
        self.table = PairTable.from_pairs(remap[self.table.keys1[:n]], self.table.keys2[:n])

    def remap_b(self, remap: np.ndarray) -> None:
        self._compact()
        n = self.table.n
        self.table = PairTable.from_pairs(self.table.keys1[:n], remap[self.table.keys2[:n]])

    def snapshot(self) -> dict:
        self._compact()
        n = self.table.n
        return {"a": self.table.keys1[:n].copy(), "b": self.table.keys2[:n].copy(),
                "values": [values_data(c.values[:n]) for c in self.cols],
                "valid": [c.valid[:n].copy() for c in self.cols]}

    def restore(self, data: dict) -> None:
        a = np.asarray(data["a"], np.int64)
        self.table = PairTable.from_pairs(a, np.asarray(data["b"], np.int64))
        self.cols = [Column(values_from_data(v, k), np.asarray(ok, bool))
                     for k, v, ok in zip(self.kinds, data["values"], data["valid"])]
        self.alive = np.ones(len(a), bool)
        self._ensure(16)
        self.dead = 0


def _csr(groups_sorted: np.ndarray) -> np.ndarray:
    """Offsets of runs of equal values in a sorted array."""
    if len(groups_sorted) == 0:
        return np.zeros(1, np.int64)
    bounds = np.flatnonzero(groups_sorted[1:] != groups_sorted[:-1]) + 1
    return np.concatenate([[0], bounds, [len(groups_sorted)]]).astype(np.int64)


# ---------------------------------------------------------------------------
# WindowAggregate
# ---------------------------------------------------------------------------


class WindowAggregate:
    """Windowed GROUP BY. ``WindowAggregate(window=...)`` builds the operator for
    the window type (pane windows or sessions); see the module docstring.

    Parameters: ``window`` (Tumble | Hop | Cumulate | Session), ``key_kinds``
    (kinds of the group key columns, window columns excluded), ``arg_kinds``
    (kinds of the aggregate argument columns), ``aggs`` (list of Agg), ``emit``
    (AfterWatermark | Changes), ``names`` (output column names: keys,
    window_start, window_end, window_time, aggregates; defaults key_0..,
    agg_0..), ``op_name`` (name of the changelog column for Changes)."""

    def __new__(cls, window=None, **kwargs):
        if cls is WindowAggregate:
            impl = SessionWindowAggregate if isinstance(window, Session) else PaneWindowAggregate
            return super().__new__(impl)
        return super().__new__(cls)

    def __init__(self, window, key_kinds: list[str], aggs: list[Agg], arg_kinds: list[str] = (),
                 emit=AfterWatermark(), names: list[str] | None = None, op_name: str = "op"):
        self.window = window
        self.emit = emit
        self.delay = int(emit.delay_ms)
        if self.delay < 0:
            raise ValueError("delay must be >= 0")
        self.key_kinds = list(key_kinds)
        self.arg_kinds = list(arg_kinds)
        self.aggs = list(aggs)
        self.keys = KeyEncoder(self.key_kinds)
        self.states = AggregateStates(self.aggs, self.arg_kinds)
        nk, na = len(self.key_kinds), len(self.aggs)
        default = [f"key_{i}" for i in range(nk)] + ["window_start", "window_end", "window_time"]
        default += [f"agg_{i}" for i in range(na)]
        self.names = list(names) if names is not None else default
        if len(self.names) != nk + 3 + na:
            raise ValueError(f"expected {nk + 3 + na} output names, got {len(self.names)}")
        self.kinds = self.key_kinds + ["i", "i", "i"] + self.states.output_kinds
        self.changes = isinstance(emit, Changes)
        self.op_name = op_name
        if self.changes:
            self.names = [op_name] + self.names
            self.kinds = ["O"] + self.kinds
        self.slots = _Slots()
        self.late_count = 0
        self._seq = 0
        self._fired_wm = WM_MIN
        self._pending: list[Batch] = []

    # -- shared ------------------------------------------------------------

    @property
    def watermark(self) -> int:
        """The watermark up to which windows have fired."""
        return self._fired_wm

    @property
    def state_slots(self) -> int:
        return self.slots.n

    def _build(self, key_ids, start, end, cols: list[Column], ops=None) -> Batch:
        out = {}
        if ops is not None:
            arr = np.empty(len(ops), object)
            arr[:] = ops
            out[self.op_name] = Column(arr)
        names = self.names[1:] if ops is not None else self.names
        nk = len(self.key_kinds)
        for name, col in zip(names[:nk], self.keys.decode(key_ids)):
            out[name] = col
        out[names[nk]] = Column(np.asarray(start, np.int64))
        out[names[nk + 1]] = Column(np.asarray(end, np.int64))
        out[names[nk + 2]] = Column(np.asarray(end, np.int64) - 1)
        for name, col in zip(names[nk + 3:], cols):
            out[name] = col
        return Batch(out, len(start))

    def _new_seqs(self, n: int) -> np.ndarray:
        seqs = np.arange(self._seq, self._seq + n, dtype=np.int64)
        self._seq += n
        return seqs

    def process(self, keys: list[Column], ts, watermark_before, args: list[Column] = (),
                filters: list = (), retract: np.ndarray | None = None) -> np.ndarray:
        """Add a micro-batch of rows (``retract``: rows taken back); returns the
        indices of the rows dropped as late. (Implemented by the pane and session
        operators ``__new__`` picks.)"""
        raise NotImplementedError

    def advance(self, watermark: int) -> Batch:
        """Fire the windows due at ``watermark``; returns every row fired since
        the previous call (including windows fired inside ``process``)."""
        self._fire(int(watermark))
        if self.changes:
            self._emit_remaining_changes()
        self._compact()
        out = _concat_output(self._pending, self.names, self.kinds)
        self._pending = []
        return out

    def warmup(self) -> None:
        """Compile the kernels this operator needs (one synthetic row through a
        twin operator), so that compilation stays out of the first batch."""
        twin = WindowAggregate(window=self.window, key_kinds=self.key_kinds, aggs=self.aggs,
                               arg_kinds=self.arg_kinds, emit=self.emit)
        one = {"b": [True], "i": [1], "f": [1.5], "O": ["x"]}
        neg = {"b": [False], "i": [-1], "f": [-1.5], "O": ["y"]}
        for vals in (one, neg):
            keys = [Column(np.array(vals[k], dtype=DTYPES[k])) for k in self.key_kinds]
            args = [Column(np.array(vals[k], dtype=DTYPES[k])) for k in self.arg_kinds]
            filters = [np.ones(1, bool)] * (1 + max([a.filter for a in self.aggs if a.filter is not None], default=-1))
            twin.process(keys=keys, ts=np.array([0]), watermark_before=np.array([WM_MIN]), args=args,
                         filters=filters)
            twin.advance(1)
        twin.advance(WM_MAX)

    def _check_pending(self) -> None:
        if self._pending or getattr(self, "_closed", None):
            raise RuntimeError("call advance() before snapshot(): fired rows are pending")


class PaneWindowAggregate(WindowAggregate):
    """TUMBLE, HOP and CUMULATE: state per (group key, pane)."""

    def __init__(self, window, **kwargs):
        super().__init__(window, **kwargs)
        self.grid = _Grid(window, self.delay)
        if self.changes:
            self._emitted = _Changelog(self.states.output_kinds)
            self._touched: list[np.ndarray] = []

    @property
    def open_windows(self) -> int:
        """Windows that hold state and have not fired (per group key)."""
        n = self.slots.n
        if n == 0:
            return 0
        pane = self.slots.b[:n]
        lo = np.maximum(self.grid.wlo(pane), self.grid.w_upto(self._fired_wm) + 1)
        hi = self.grid.whi(pane)
        cnt = np.maximum(hi - lo + 1, 0)
        src = np.repeat(np.arange(n), cnt)
        w = lo[src] + (np.arange(len(src)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        return len(np.unique(np.stack([self.slots.a[src], w]), axis=1).T) if len(src) else 0

    def process(self, keys: list[Column], ts, watermark_before, args: list[Column] = (),
                filters: list = (), retract: np.ndarray | None = None) -> np.ndarray:
        """Add a batch of rows (in arrival order; ``retract`` marks rows taken
        back). Returns the indices of the rows dropped as late (late for every
        window they belong to)."""
        ts = _as_ts(ts)
        n = len(ts)
        seqs = self._new_seqs(n)
        kid = self.keys.encode_rows(keys, n)
        if n == 0:
            return np.zeros(0, np.int64)
        eff = _effective_wm(watermark_before, n, self._fired_wm)
        g = self.grid
        pane = g.pane_of(ts)
        wu = g.w_upto(eff)
        late = g.whi(pane) <= wu
        late_idx = np.flatnonzero(late)
        self.late_count += len(late_idx)
        kid = np.where(late, -1, kid)
        if g.shared:
            cuts = np.flatnonzero(wu[1:] != wu[:-1]) + 1
            bounds = np.concatenate([[0], cuts, [n]])
        else:
            bounds = np.array([0, n])
        args = list(args)
        filters = list(filters)
        for a, b in itertools.pairwise(bounds):
            if g.shared:
                self._fire(int(eff[a]), mid_batch=True)
            slots = self.slots.insert(kid[a:b], pane[a:b], seqs[a:b])
            self.states.ensure(self.slots.n)
            self.states.update(slots, _slice_cols(args, a, b), _slice_cols(filters, a, b), seqs[a:b],
                               None if retract is None else np.asarray(retract, bool)[a:b])
            if self.changes:
                self._touched.append(np.unique(slots[slots >= 0]))
        return late_idx

    def _fire(self, wm: int, mid_batch: bool = False) -> None:
        if wm <= self._fired_wm:
            return
        g = self.grid
        wl = int(g.w_upto(self._fired_wm)) + 1
        wh = int(g.w_upto(wm))
        self._fired_wm = wm
        n = self.slots.n
        if wh < wl or n == 0:
            return
        if self.changes:
            self._emit_changes(wl, wh)
        pane = self.slots.b[:n]
        key = self.slots.a[:n]
        if not self.changes:
            lo = np.maximum(g.wlo(pane), wl)
            hi = np.minimum(g.whi(pane), wh)
            cnt = np.maximum(hi - lo + 1, 0)
            if cnt.any():
                self._pending.append(self._window_results(key, lo, cnt))
        else:
            # closing windows: forget what was emitted for them
            lo = np.maximum(g.wlo(pane), wl)
            hi = np.minimum(g.whi(pane), wh)
            cnt = np.maximum(hi - lo + 1, 0)
            src = np.repeat(np.arange(n), cnt)
            w = lo[src] + (np.arange(len(src)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
            self._emitted.remove(key[src], w)
        keep = np.flatnonzero(g.whi(pane) > wh)
        if len(keep) < n:
            self._free(keep)

    def _groups(self, key, lo, cnt):
        """Explode slots into (window, key) groups: returns idx, offs, w, key of groups."""
        n = len(cnt)
        src = np.repeat(np.arange(n), cnt)
        w = lo[src] + (np.arange(len(src)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        k = key[src]
        order = np.lexsort((k, w))
        idx = src[order].astype(np.int64)
        w, k = w[order], k[order]
        if len(w):
            change = np.concatenate([[True], (w[1:] != w[:-1]) | (k[1:] != k[:-1])])
            starts = np.flatnonzero(change)
        else:
            starts = np.zeros(0, np.int64)
        offs = np.concatenate([starts, [len(idx)]]).astype(np.int64)
        return idx, offs, w[starts], k[starts]

    def _window_results(self, key, lo, cnt) -> Batch:
        idx, offs, gw, gk = self._groups(key, lo, cnt)
        cols = self.states.results(idx, offs, final=not self.grid.shared)  # TUMBLE panes are freed now
        gseq = np.minimum.reduceat(self.slots.seq[idx], offs[:-1]) if len(idx) else idx
        order = np.lexsort((gseq, gw))
        order = order[self.states.row_counts(idx, offs)[order] > 0]  # all rows taken back: no window
        g = self.grid
        return self._build(gk[order], g.start(gw[order]), g.end(gw[order]), [c.take(order) for c in cols])

    def _emit_remaining_changes(self) -> None:
        self._emit_changes(int(self.grid.w_upto(self._fired_wm)) + 1, None)

    def _emit_changes(self, lo_w: int, hi_w: int | None) -> None:
        """Emit changed results of the windows touched since the last call with
        ids in [lo_w, hi_w] (hi_w None: all; otherwise the windows about to
        close, whose touches are then forgotten by ``_free``)."""
        if not self._touched:
            return
        g = self.grid
        touched = np.unique(np.concatenate(self._touched))
        pane = self.slots.b[touched]
        lo = np.maximum(g.wlo(pane), lo_w)
        hi = g.whi(pane) if hi_w is None else np.minimum(g.whi(pane), hi_w)
        cnt = np.maximum(hi - lo + 1, 0)
        src = np.repeat(np.arange(len(touched)), cnt)
        w = lo[src] + (np.arange(len(src)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        k = self.slots.a[touched][src]
        if hi_w is None:
            self._touched = []
        if len(w) == 0:
            return
        wk = np.unique(np.stack([w, k]), axis=1)
        w, k = wk[0], wk[1]
        # all panes of these windows, looked up in the slot table
        first, npanes = g.panes(w)
        rep = np.repeat(np.arange(len(w)), npanes)
        p = first[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(npanes) - npanes, npanes))
        s = self.slots.table.lookup(k[rep], p)
        ok = s >= 0
        rep, s = rep[ok], s[ok]  # rep is sorted: windows stay grouped
        counts = np.bincount(rep, minlength=len(w))
        offs = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        s = s.astype(np.int64)
        cols = self.states.results(s, offs)
        alive = self.states.row_counts(s, offs) > 0
        gseq = np.minimum.reduceat(self.slots.seq[s], offs[:-1])
        order = np.lexsort((gseq, w))
        w, k, cols = w[order], k[order], [c.take(order) for c in cols]
        self._pending.append(self._changelog(k, w, g.start(w), g.end(w), cols, alive[order]))

    def _changelog(self, k, w, start, end, cols, alive=None) -> Batch:
        """Rows for windows whose results were recomputed: ``+I`` new, ``-U``/``+U``
        changed, ``-D`` gone (``alive`` False: every row taken back)."""
        if alive is None:
            alive = np.ones(len(k), bool)
        rid, had, changed = self._emitted.diff(k, w, cols)
        emit = alive & (~had | changed)
        gone = had & ~alive
        old = self._emitted.old(rid)
        self._emitted.store(rid[emit], [c.take(emit) for c in cols], np.ones(int(emit.sum()), bool))
        self._emitted.store(rid[gone], [c.take(gone) for c in old], np.zeros(int(gone.sum()), bool))
        # rows: per window, ('-U' old, '+U' new), '+I' new or '-D' old
        upd = had & changed & alive
        emit = emit | gone
        n_out = int(emit.sum() + upd.sum())
        pos_new = np.cumsum(emit.astype(np.int64) + upd.astype(np.int64)) - 1  # position of the new row
        sel_new = np.flatnonzero(emit)
        sel_old = np.flatnonzero(upd)
        idx = np.zeros(n_out, np.int64)
        from_old = np.zeros(n_out, bool)
        idx[pos_new[sel_new]] = sel_new
        idx[pos_new[sel_old] - 1] = sel_old
        from_old[pos_new[sel_old] - 1] = True
        ops = np.where(from_old, "-U", np.where(had[idx], "+U", "+I")).astype(object)
        dead = gone[idx]
        from_old |= dead
        ops[dead] = "-D"
        merged = []
        for c_new, c_old in zip(cols, old):
            v = c_new.values[idx].copy()
            ok = c_new.is_valid()[idx].copy()
            v[from_old] = c_old.values[idx[from_old]]
            ok[from_old] = c_old.valid[idx[from_old]]
            merged.append(Column(v, None if ok.all() else ok))
        return self._build(k[idx], start[idx], end[idx], merged, ops=list(ops))

    def _free(self, keep: np.ndarray) -> None:
        self.states.take(keep)
        if self.changes and self._touched:
            remap = np.full(self.slots.n, -1, np.int64)
            remap[keep] = np.arange(len(keep))
            touched = remap[np.concatenate(self._touched)]
            self._touched = [touched[touched >= 0]]
        self.slots.take(keep)

    def _compact(self) -> None:
        """Drop keys no state refers to (between batches only: ids stay valid within one)."""
        live = np.unique(self.slots.a[: self.slots.n])
        if len(self.keys) > 2 * len(live) + 1024:
            remap = self.keys.compact(live)
            n = self.slots.n
            self.slots.rebuild(remap[self.slots.a[:n]], self.slots.b[:n].copy(), self.slots.seq[:n].copy())
            if self.changes:
                self._emitted.remap_a(np.concatenate([remap, [-1]]))

    # -- snapshot ----------------------------------------------------------

    def snapshot(self) -> dict:
        self._check_pending()
        if self.changes and self._touched:
            raise RuntimeError("call advance() before snapshot()")
        data = {"kind": type(self.window).__name__, "late_count": self.late_count, "seq": self._seq,
                "fired_wm": self._fired_wm, "slots": self.slots.snapshot(), "keys": self.keys.snapshot(),
                "states": self.states.snapshot()}
        if self.changes:
            data["emitted"] = self._emitted.snapshot()
        return data

    def restore(self, data: dict) -> None:
        self.late_count, self._seq, self._fired_wm = (int(data[k]) for k in ("late_count", "seq", "fired_wm"))
        self.slots.restore(data["slots"])
        self.keys.restore(data["keys"])
        self.states.restore(data["states"])
        if self.changes:
            self._emitted.restore(data["emitted"])
            self._touched = []
        self._pending = []


class SessionWindowAggregate(WindowAggregate):
    """SESSION windows: state per (group key, session); sessions are nodes of a
    union-find forest, chained per partition while open."""

    def __init__(self, window, **kwargs):
        super().__init__(window, **kwargs)
        if self.changes:
            # last emitted row per (group key, session node), window bounds included
            self._emitted = _Changelog(self.states.output_kinds + ["i", "i"])
            self._touched: list[np.ndarray] = []
        if window.gap_ms <= 0:
            raise ValueError("SESSION gap must be positive")
        self.gap = int(window.gap_ms)
        self.partition_by = tuple(window.partition_by)
        self._part_is_key = self.partition_by == tuple(range(len(self.key_kinds))) and self.key_kinds
        self.parts = KeyEncoder([self.key_kinds[i] for i in self.partition_by])
        cap = 16
        self.n_start, self.n_end, self.n_parent, self.n_part, self.nxt = (np.zeros(cap, np.int64) for _ in range(5))
        self.n_open = np.zeros(cap, bool)
        self.n_used = 0
        self.head = np.full(16, -1, np.int64)
        self._closed: list[np.ndarray] = []  # sessions closed inside process(), not fired yet

    @property
    def open_windows(self) -> int:
        """(group key, session) pairs holding state."""
        return self.slots.n

    @property
    def open_sessions(self) -> int:
        return int(self.n_open[: self.n_used].sum())

    def _ensure_nodes(self, extra: int) -> None:
        need = self.n_used + extra
        if need > len(self.n_start):
            cap = max(need, 2 * len(self.n_start))
            for name in ("n_start", "n_end", "n_parent", "n_part", "nxt"):
                arr = np.zeros(cap, np.int64)
                arr[: self.n_used] = getattr(self, name)[: self.n_used]
                setattr(self, name, arr)
            op = np.zeros(cap, bool)
            op[: self.n_used] = self.n_open[: self.n_used]
            self.n_open = op

    def process(self, keys: list[Column], ts, watermark_before, args: list[Column] = (),
                filters: list = (), retract: np.ndarray | None = None) -> np.ndarray:
        if retract is not None and np.any(retract):
            raise ValueError("SESSION windows cannot take rows back (an updating input)")
        ts = _as_ts(ts)
        n = len(ts)
        seqs = self._new_seqs(n)
        kid = self.keys.encode_rows(keys, n)
        if self._part_is_key:
            pid = kid
            n_parts = len(self.keys)
        else:
            pid = self.parts.encode_rows([keys[i] for i in self.partition_by], n)
            n_parts = max(len(self.parts), 1)
        if n == 0:
            return np.zeros(0, np.int64)
        eff = _effective_wm(watermark_before, n, self._fired_wm)
        if n_parts > len(self.head):
            self.head = np.concatenate([self.head, np.full(max(n_parts, 2 * len(self.head)) - len(self.head), -1)])
        self._ensure_nodes(n)
        row_node = np.empty(n, np.int64)
        closed = np.empty(self.n_used + n, np.int64)
        self.n_used, n_closed = K.assign_sessions(
            pid, ts, eff, self.gap, self.delay, self.head, self.nxt, self.n_start, self.n_end, self.n_parent,
            self.n_open, self.n_part, self.n_used, row_node, closed, 0)
        late = row_node < 0
        late_idx = np.flatnonzero(late)
        self.late_count += len(late_idx)
        # sessions merged in this batch: regroup the state of their older slots
        ns = self.slots.n
        if ns:
            node = self.slots.b[:ns]
            if np.any(self.n_parent[node] != node):
                root = np.empty(ns, np.int64)
                K.find_roots(self.n_parent, node.copy(), root)
                self._regroup(root)
        roots = np.empty(n, np.int64)
        K.find_roots(self.n_parent, row_node, roots)
        slots = self.slots.insert(np.where(late, -1, kid), roots, seqs)
        self.states.ensure(self.slots.n)
        self.states.update(slots, list(args), list(filters), seqs)
        if self.changes:
            # every group of a session whose rows arrived: its bounds may have moved
            nodes = np.unique(roots[roots >= 0])
            self._touched.append(np.flatnonzero(np.isin(self.slots.b[: self.slots.n], nodes)))
        if n_closed:  # closed while rows passed their end: fired with the others at advance()
            self._closed.append(closed[:n_closed].copy())
        return late_idx

    def _regroup(self, root: np.ndarray) -> None:
        ns = self.slots.n
        key = self.slots.a[:ns]
        order = np.lexsort((root, key))
        k, r = key[order], root[order]
        change = np.concatenate([[True], (k[1:] != k[:-1]) | (r[1:] != r[:-1])])
        starts = np.flatnonzero(change)
        offs = np.concatenate([starts, [ns]]).astype(np.int64)
        idx = order.astype(np.int64)
        seq = np.minimum.reduceat(self.slots.seq[idx], offs[:-1])
        if self.changes:
            # rows emitted for sessions that were absorbed into another: '-D'
            node = self.slots.b[:ns]
            moved = np.flatnonzero(root != node)
            self._retract(key[moved], node[moved])
        self.states.merge(idx, offs)
        self.slots.rebuild(k[starts], r[starts], seq)
        if self.changes:
            self._touched = [np.arange(self.slots.n)]  # ids changed; unchanged rows emit nothing

    def _fire(self, wm: int, mid_batch: bool = False) -> None:
        if wm <= self._fired_wm and not self._closed:
            return
        self._fired_wm = max(wm, self._fired_wm)
        u = self.n_used
        due = self.n_open[:u] & (self.n_end[:u] - 1 + self.delay <= min(wm, _CLAMP))
        nodes = np.concatenate([np.flatnonzero(due)] + self._closed)
        self._closed = []
        if len(nodes):
            self.n_open[nodes] = False
            self._fire_nodes(nodes)

    def _fire_nodes(self, nodes: np.ndarray) -> None:
        ns = self.slots.n
        closing = np.zeros(self.n_used, bool)
        closing[nodes] = True
        node_of_slot = self.slots.b[:ns]
        fire = np.flatnonzero(closing[node_of_slot])
        if self.changes:
            self._emit_changes(only=fire)
            self._emitted.remove(self.slots.a[fire], node_of_slot[fire])
        elif len(fire):
            nd = node_of_slot[fire]
            order = np.lexsort((self.slots.seq[fire], self.n_end[nd]))
            fire = fire[order].astype(np.int64)
            nd = nd[order]
            cols = self.states.results(fire, np.arange(len(fire) + 1, dtype=np.int64), final=True)
            self._pending.append(self._build(self.slots.a[fire], self.n_start[nd], self.n_end[nd], cols))
        keep = np.flatnonzero(~closing[node_of_slot])
        self.states.take(keep)
        if self.changes and self._touched:
            remap = np.full(ns, -1, np.int64)
            remap[keep] = np.arange(len(keep))
            touched = remap[np.concatenate(self._touched)]
            self._touched = [touched[touched >= 0]]
        self.slots.take(keep)

    def _emit_changes(self, only: np.ndarray | None = None) -> None:
        """Changelog rows of the sessions touched since the last call (of the
        slots ``only`` when given: sessions about to close). A session whose
        bounds moved (it grew or absorbed another) retracts its old row with
        '-D' and inserts the new one with '+I'; same bounds, new values: '-U'/'+U'."""
        if not self._touched:
            return
        touched = np.unique(np.concatenate(self._touched))
        if only is not None:
            sel = np.isin(touched, only)
            self._touched = [touched[~sel]]
            touched = touched[sel]
        else:
            self._touched = []
        if len(touched) == 0:
            return
        touched = touched[np.argsort(self.slots.seq[touched], kind="stable")]
        k, nd = self.slots.a[touched], self.slots.b[touched]
        start, end = self.n_start[nd], self.n_end[nd]
        cols = self.states.results(touched, np.arange(len(touched) + 1, dtype=np.int64))
        stored = cols + [Column(start), Column(end)]
        rid, had, changed = self._emitted.diff(k, nd, stored)
        old = self._emitted.old(rid)
        moved = had & ((old[-2].values != start) | (old[-1].values != end))
        emit = ~had | changed
        self._emitted.store(rid[emit], [c.take(emit) for c in stored], np.ones(int(emit.sum()), bool))
        n_old, n_new = (had & changed).astype(np.int64), emit.astype(np.int64)
        pos = np.cumsum(n_old + n_new) - n_new
        total = int((n_old + n_new).sum())
        idx = np.zeros(total, np.int64)
        from_old = np.zeros(total, bool)
        sel = np.flatnonzero(emit)
        idx[pos[sel]] = sel
        sel_o = np.flatnonzero(had & changed)
        idx[pos[sel_o] - 1] = sel_o
        from_old[pos[sel_o] - 1] = True
        ops = np.where(from_old, np.where(moved[idx], "-D", "-U"),
                       np.where(had[idx] & ~moved[idx], "+U", "+I")).astype(object)
        merged = []
        for c_new, c_old in zip(stored, old):
            v = c_new.values[idx].copy()
            ok = c_new.is_valid()[idx].copy()
            v[from_old] = c_old.values[idx[from_old]]
            ok[from_old] = c_old.valid[idx[from_old]]
            merged.append(Column(v, None if ok.all() else ok))
        self._pending.append(self._build(k[idx], merged[-2].values, merged[-1].values, merged[:-2], ops=list(ops)))

    def _emit_remaining_changes(self) -> None:
        self._emit_changes()

    def _retract(self, k: np.ndarray, nd: np.ndarray) -> None:
        """'-D' for the emitted rows of (key, session) pairs that disappear."""
        rid = self._emitted.table.lookup(k, nd)
        ok = rid >= 0
        ok[ok] = self._emitted.alive[rid[ok]]
        if not ok.any():
            return
        rid = rid[ok]
        old = self._emitted.old(rid)
        ops = ["-D"] * len(rid)
        self._pending.append(self._build(k[ok], old[-2].values, old[-1].values, old[:-2], ops=ops))
        self._emitted.remove(k[ok], nd[ok])

    def _compact(self) -> None:
        u = self.n_used
        live = np.flatnonzero(self.n_open[:u])
        if u > 2 * len(live) + 1024:
            remap = np.full(u, -1, np.int64)
            remap[live] = np.arange(len(live))
            for name in ("n_start", "n_end", "n_part"):
                setattr(self, name, getattr(self, name)[live])
            self.n_parent = np.arange(len(live), dtype=np.int64)
            self.n_open = np.ones(len(live), bool)
            self.nxt = np.full(len(live), -1, np.int64)
            self.n_used = len(live)
            ns = self.slots.n
            self.slots.rebuild(self.slots.a[:ns].copy(), remap[self.slots.b[:ns]], self.slots.seq[:ns].copy())
            if self.changes:
                self._emitted.remap_b(remap)
            self._ensure_nodes(16)
            self._relink()
        # key dictionaries
        ns = self.slots.n
        live_keys = np.unique(self.slots.a[:ns])
        if self._part_is_key:
            live_keys = np.union1d(live_keys, self.n_part[: self.n_used][self.n_open[: self.n_used]])
        if len(self.keys) > 2 * len(live_keys) + 1024:
            remap = self.keys.compact(live_keys)
            self.slots.rebuild(remap[self.slots.a[:ns]], self.slots.b[:ns].copy(), self.slots.seq[:ns].copy())
            if self.changes:
                self._emitted.remap_a(remap)
            if self._part_is_key:
                u = self.n_used
                self.n_part[:u] = np.where(self.n_open[:u], remap[self.n_part[:u]], 0)
                self._relink()
        if not self._part_is_key and self.partition_by and len(self.parts) > 1024:
            u = self.n_used
            live_parts = np.unique(self.n_part[:u][self.n_open[:u]])
            if len(self.parts) > 2 * len(live_parts) + 1024:
                remap = self.parts.compact(live_parts)
                self.n_part[:u] = np.where(self.n_open[:u], remap[self.n_part[:u]], 0)
                self._relink()

    def _relink(self) -> None:
        """Rebuild the per-partition chains of open sessions."""
        self.head = np.full(max(16, len(self.head)), -1, np.int64)
        u = self.n_used
        for node in np.flatnonzero(self.n_open[:u]).tolist():
            p = int(self.n_part[node])
            if p >= len(self.head):
                self.head = np.concatenate([self.head, np.full(max(p + 1, 2 * len(self.head)) - len(self.head), -1)])
            self.nxt[node] = self.head[p]
            self.head[p] = node

    def snapshot(self) -> dict:
        self._check_pending()
        if self.changes and self._touched and any(len(t) for t in self._touched):
            raise RuntimeError("call advance() before snapshot()")
        u = self.n_used
        data = {"kind": "Session", "late_count": self.late_count, "seq": self._seq, "fired_wm": self._fired_wm,
                "slots": self.slots.snapshot(), "keys": self.keys.snapshot(), "parts": self.parts.snapshot(),
                "states": self.states.snapshot(),
                "sessions": {name: getattr(self, name)[:u].copy()
                             for name in ("n_start", "n_end", "n_parent", "n_part", "n_open")}}
        if self.changes:
            data["emitted"] = self._emitted.snapshot()
        return data

    def restore(self, data: dict) -> None:
        self.late_count, self._seq, self._fired_wm = (int(data[k]) for k in ("late_count", "seq", "fired_wm"))
        self.slots.restore(data["slots"])
        sessions = data["sessions"]
        self.n_used = len(sessions["n_start"])
        cap = max(16, self.n_used)
        for name in ("n_start", "n_end", "n_parent", "n_part"):
            arr = np.zeros(cap, np.int64)
            arr[: self.n_used] = sessions[name]
            setattr(self, name, arr)
        self.n_open = np.zeros(cap, bool)
        self.n_open[: self.n_used] = sessions["n_open"]
        self.nxt = np.full(cap, -1, np.int64)
        self.keys.restore(data["keys"])
        self.parts.restore(data["parts"])
        self.states.restore(data["states"])
        if self.changes:
            self._emitted.restore(data["emitted"])
            self._touched = []
        self._relink()
        self._pending = []


# ---------------------------------------------------------------------------
# GroupAggregate
# ---------------------------------------------------------------------------


class GroupAggregate:
    """Non-windowed GROUP BY over an append-only stream: an updating result.

    ``process(keys, args, filters)`` adds a micro-batch and returns its
    changelog, coalesced per group: ``+I`` for a new group, ``-U`` (old row)
    then ``+U`` (new row) for a changed one, nothing for an unchanged one. With
    ``having`` (a callable from a Batch of candidate result rows, columns named
    as the output, to a boolean mask), a group that stops satisfying it emits
    ``-D`` (its last emitted row) and one that starts emits ``+I``. Late rows
    do not exist here (Flink keeps them). State grows with the number of groups.
    Over an updating input, ``retract`` marks the rows taken back (-D/-U); a
    group whose rows are all taken back emits ``-D`` (as Flink does).

    >>> from runtime_lib.columns import column_from_pylist
    >>> g = GroupAggregate(key_kinds=["O"], arg_kinds=["i"], aggs=[Agg("sum", arg=0)],
    ...                    names=["k", "total"], having=lambda b: b["total"].values > 5)
    >>> g.process([column_from_pylist(["a", "b", "a"], "O")], [column_from_pylist([1, 9, 2], "i")]).to_rows()
    [('+I', 'b', 9)]
    >>> g.process([column_from_pylist(["a", "b"], "O")], [column_from_pylist([4, -5], "i")]).to_rows()
    [('+I', 'a', 7), ('-D', 'b', 9)]
    """

    def __init__(self, key_kinds: list[str], aggs: list[Agg], arg_kinds: list[str] = (),
                 names: list[str] | None = None, having: Callable[[Batch], np.ndarray] | None = None,
                 op_name: str = "op"):
        self.key_kinds, self.arg_kinds, self.aggs = list(key_kinds), list(arg_kinds), list(aggs)
        self.keys = KeyEncoder(self.key_kinds)
        self.states = AggregateStates(self.aggs, self.arg_kinds)
        nk = len(self.key_kinds)
        self.names = list(names) if names is not None else (
            [f"key_{i}" for i in range(nk)] + [f"agg_{i}" for i in range(len(self.aggs))])
        if len(self.names) != nk + len(self.aggs):
            raise ValueError("wrong number of output names")
        self.op_name = op_name
        self.having = having
        self.kinds = ["O"] + self.key_kinds + self.states.output_kinds
        self._emitted = _Changelog(self.states.output_kinds)
        self._first_seq = np.zeros(16, np.int64)
        self._seq = 0

    @property
    def groups(self) -> int:
        return len(self.keys)

    def process(self, keys: list[Column], args: list[Column] = (), filters: list = (),
                num_rows: int | None = None, retract: np.ndarray | None = None) -> Batch:
        n = num_rows if num_rows is not None else (len(keys[0]) if keys else len(args[0]))
        n_before = len(self.keys)
        kid = self.keys.encode_rows(keys, n)
        seqs = np.arange(self._seq, self._seq + n, dtype=np.int64)
        self._seq += n
        n_keys = len(self.keys)
        if n_keys > len(self._first_seq):
            self._first_seq = np.concatenate([self._first_seq, np.zeros(max(n_keys, 2 * len(self._first_seq)), np.int64)])
        if n_keys > n_before:
            new_ids, first = np.unique(kid[kid >= n_before], return_index=True)
            self._first_seq[new_ids] = seqs[np.flatnonzero(kid >= n_before)[first]]
        self.states.ensure(n_keys)
        self.states.update(kid, list(args), list(filters), seqs, retract)
        touched = np.unique(kid)
        touched = touched[np.argsort(self._first_seq[touched], kind="stable")]
        cols = self.states.results(touched, np.arange(len(touched) + 1, dtype=np.int64))
        zeros = np.zeros(len(touched), np.int64)
        nk = len(self.key_kinds)
        if self.having is not None:
            cand = Batch({name: col for name, col in zip(self.names, self.keys.decode(touched) + cols)}, len(touched))
            passes = np.asarray(self.having(cand), bool)
            if passes.shape == ():
                passes = np.full(len(touched), bool(passes))
        else:
            passes = np.ones(len(touched), bool)
        alive = self.states.row_counts(touched, np.arange(len(touched) + 1, dtype=np.int64)) > 0
        passes = passes & alive
        rid, had, changed = self._emitted.diff(touched, zeros, cols)
        old = self._emitted.old(rid)
        # per group: (-U, +U) | +I | -D | nothing
        emit_old = had & (~passes | changed)
        emit_new = passes & (~had | changed)
        n_old, n_new = emit_old.astype(np.int64), emit_new.astype(np.int64)
        pos = np.cumsum(n_old + n_new) - n_new  # where the group's new row goes
        total = int((n_old + n_new).sum())
        idx = np.zeros(total, np.int64)
        from_old = np.zeros(total, bool)
        sel = np.flatnonzero(emit_new)
        idx[pos[sel]] = sel
        sel_o = np.flatnonzero(emit_old)
        idx[pos[sel_o] - 1] = sel_o
        from_old[pos[sel_o] - 1] = True
        ops = np.empty(total, object)
        ops[:] = "+I"
        ops[from_old & passes[idx]] = "-U"
        ops[from_old & ~passes[idx]] = "-D"
        ops[~from_old & had[idx]] = "+U"
        self._emitted.store(rid[emit_new], [c.take(emit_new) for c in cols], np.ones(int(emit_new.sum()), bool))
        gone = had & ~passes
        self._emitted.store(rid[gone], [c.take(gone) for c in old], np.zeros(int(gone.sum()), bool))
        out = {self.op_name: Column(ops)}
        for name, col in zip(self.names[:nk], self.keys.decode(touched[idx])):
            out[name] = col
        for name, c_new, c_old in zip(self.names[nk:], cols, old):
            v = c_new.values[idx].copy()
            ok = c_new.is_valid()[idx].copy()
            v[from_old] = c_old.values[idx[from_old]]
            ok[from_old] = c_old.valid[idx[from_old]]
            if not ok.all():
                v[~ok] = FILLERS[v.dtype.kind if v.dtype.kind in FILLERS else "O"]
            out[name] = Column(v, None if ok.all() else ok)
        return Batch(out, total)

    def snapshot(self) -> dict:
        return {"seq": self._seq, "first_seq": self._first_seq[: len(self.keys)].copy(),
                "keys": self.keys.snapshot(), "states": self.states.snapshot(),
                "emitted": self._emitted.snapshot()}

    def restore(self, data: dict) -> None:
        self._seq = int(data["seq"])
        fs = np.asarray(data["first_seq"], np.int64)
        self._first_seq = np.zeros(max(16, len(fs)), np.int64)
        self._first_seq[: len(fs)] = fs
        self.keys.restore(data["keys"])
        self.states.restore(data["states"])
        self._emitted.restore(data["emitted"])
