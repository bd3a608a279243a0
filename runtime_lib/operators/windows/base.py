"""What the window operators share: the window and emit specs, WindowAggregate
(which builds the pane or the session operator), and the slot table.

See ``runtime_lib.operators.windows`` for the semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runtime_lib.columns import DTYPES, Batch, Column, concat_columns
from runtime_lib.keys import KeyEncoder, PairTable
from runtime_lib.operators.aggregates import Agg, AggregateStates
from runtime_lib.watermarks import WM_MAX, WM_MIN

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
# Small helpers
# ---------------------------------------------------------------------------


def slice_columns(cols, a: int, b: int):
    out = []
    for c in cols:
        if c is None:
            out.append(None)
        elif isinstance(c, Column):
            out.append(Column(c.values[a:b], None if c.valid is None else c.valid[a:b]))
        else:
            out.append(np.asarray(c)[a:b])
    return out


def empty_column(kind: str) -> Column:
    return Column(np.zeros(0, dtype=DTYPES[kind]))


def concat_output(batches: list[Batch], names: list[str], kinds: list[str]) -> Batch:
    """Concatenate output batches (an empty Batch with the schema for none)."""
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return Batch({n: empty_column(k) for n, k in zip(names, kinds)}, 0)
    cols = {name: concat_columns([b[name] for b in batches]) for name in names}
    return Batch(cols, sum(b.num_rows for b in batches))


class Slots:
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
    agg_0..), ``op_name`` (name of the changelog column for Changes),
    ``updating_input`` (rows may be taken back: MIN/MAX keep what that needs),
    ``arg_names``/``filter_names`` (the SQL of the argument columns and FILTER
    masks: accumulators are checkpointed under names made of them, see
    ``aggregate_specs.accumulator_names``)."""

    def __new__(cls, window=None, **kwargs):
        if cls is WindowAggregate:
            from runtime_lib.operators.windows.panes import PaneWindowAggregate
            from runtime_lib.operators.windows.sessions import SessionWindowAggregate

            impl = SessionWindowAggregate if isinstance(window, Session) else PaneWindowAggregate
            return super().__new__(impl)
        return super().__new__(cls)

    def __init__(self, window, key_kinds: list[str], aggs: list[Agg], arg_kinds: list[str] = (),
                 emit=AfterWatermark(), names: list[str] | None = None, op_name: str = "op",
                 updating_input: bool = False, arg_names: list[str] | None = None,
                 filter_names: list[str] | None = None):
        self.window = window
        self.emit = emit
        self.delay = int(emit.delay_ms)
        if self.delay < 0:
            raise ValueError("delay must be >= 0")
        self.key_kinds = list(key_kinds)
        self.arg_kinds = list(arg_kinds)
        self.aggs = list(aggs)
        self.keys = KeyEncoder(self.key_kinds)
        self.states = AggregateStates(self.aggs, self.arg_kinds, updating_input, arg_names,
                                      filter_names)
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
        self.slots = Slots()
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
        out = concat_output(self._pending, self.names, self.kinds)
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
