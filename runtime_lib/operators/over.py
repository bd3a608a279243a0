"""OVER aggregates on a stream (Flink's OverAggregate): ``agg(x) OVER
(PARTITION BY k ORDER BY <time attribute> <frame>)``.

Rows are held until the watermark passes their event time; then they leave
in event-time order (ties by arrival), each with the input columns and one
value per OVER call, computed over its frame by the kernels of
``over_kernels`` with the sliding state of its partition key. A row whose
event time is at or below the watermark when it arrives cannot be put in
order any more: it is late, dropped and counted (``process`` returns it).
Because no row at or below the watermark is accepted, the rows a watermark
releases all come after the ones it released before, and a RANGE frame's
peers (rows of the same time) always leave together.

With a LEAD(x, o) call a released row waits, with its results, until the
row o later in its key is released too (or the input ends, when LEAD gives
its default).

State: the rows not yet released, those waiting for a LEAD, and per key and call the rows its frame
can still reach (ROWS n: the last n + 1; RANGE d: those of the last d ms;
UNBOUNDED: running values only) with their sums and deques.

String arguments (MIN/MAX, FIRST_VALUE/LAST_VALUE, LAG/LEAD of a VARCHAR)
enter the frames as codes of one ``OrderedCodes`` per operator, which MIN/MAX
compare by their place in code-point order; the results are decoded as they
leave. The dictionary is part of the state, and is compacted to the codes the
frames still hold once it has grown to twice their number (and ``STRINGS_FLOOR``).

>>> import numpy as np
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> op = OverAggregate("t", names=["t", "x"], kinds=["i", "i"], key_kinds=[], arg_kinds=["i"],
...                    calls=[OverFn("sum", arg=0, rows=1), OverFn("max", arg=0, range_ms=10)],
...                    out_names=["s", "m"])
>>> rows = Batch({"t": column_from_pylist([30, 10, 20], "i"), "x": column_from_pylist([3, 1, 2], "i")},
...              3, np.array([0, 0, 0]))
>>> op.process(rows, keys=[], args=[rows["x"]]).tolist()
[]
>>> op.advance(25).to_rows()
[(10, 1, 1, 1), (20, 2, 3, 2)]
>>> op.advance(2**63 - 1).to_rows()
[(30, 3, 5, 3)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runtime_lib.codes import OrderedCodes
from runtime_lib.columns import DTYPES, Batch, Column, concat_columns, null_column
from runtime_lib.keys import KeyEncoder
from runtime_lib.operators.over_kernels import (
    DEQUE,
    FUNCS,
    RANGE,
    ROWS,
    evict_before,
    over_frame,
    regrow,
)
from runtime_lib.state import values_data, values_from_data
from runtime_lib.watermarks import WM_MAX

_NO_RANK = np.zeros(0, np.int64)  # MIN/MAX of numbers compare the values
# strings the dictionary may hold before it is compacted (then: twice what the frames hold);
# compacting sooner makes a stream of many distinct strings place them again and again
STRINGS_FLOOR = 1 << 16
# the result's storage kind of each function, given its argument's ('' = the argument's)
_RESULT_KIND = {"count_star": "i", "count": "i", "avg": "f", "var_pop": "f", "var_samp": "f",
                "stddev_pop": "f", "stddev_samp": "f"}


def _frame_kind(arg_kinds: list[str], arg: int | None) -> str:
    """The storage of a call's frame: strings as their int codes."""
    kind = "i" if arg is None else arg_kinds[arg]
    return "i" if kind == "O" else kind


def _as_kind(col: Column, kind: str) -> Column:
    """An argument in its declared storage kind: COUNT of strings or booleans
    reads only their validity."""
    if col.values.dtype == DTYPES[kind]:
        return col
    if col.values.dtype.hasobject:
        return Column(np.zeros(len(col), DTYPES[kind]), col.is_valid())
    return Column(col.values.astype(DTYPES[kind]), col.valid)


@dataclass(frozen=True)
class OverFn:
    """One OVER call: ``func`` over argument ``arg`` (an index into the
    operator's ``args``) and a frame ending at the current row: ``rows=n``
    (ROWS n PRECEDING), ``range_ms=d`` (RANGE d PRECEDING), neither (UNBOUNDED
    PRECEDING; ``unit`` says ROWS or RANGE); ``end`` rows before the current
    (ROWS ... AND end PRECEDING). LAG(x, o, d) is ``OverFn('lag', arg, rows=o,
    end=o, default=<arg index of d>)``, LEAD(x, o, d) ``OverFn('lead', arg,
    lead=o, default=...)``: a row with a LEAD waits for the row o later in
    its key (or the end of input)."""

    func: str
    arg: int | None = None
    rows: int | None = None
    range_ms: int | None = None
    unit: str = "RANGE"
    end: int = 0
    default: int | None = None
    lead: int = 0

    @property
    def mode(self) -> int:
        if self.rows is not None or (self.range_ms is None and self.unit == "ROWS"):
            return ROWS
        return RANGE

    @property
    def start(self) -> int:
        """Rows or milliseconds before the current row; -1: unbounded."""
        if self.rows is not None:
            return self.rows
        return -1 if self.range_ms is None else self.range_ms


class _FrameState:
    """One call's state per key: the ring of reachable rows, sums, deque."""

    ARRAYS = ("head", "tail", "rows", "cnt", "tot", "mean", "m2", "dq_h", "dq_t", "run_v", "run_has")
    RINGS = ("ring_ts", "ring_v", "ring_ok", "dq")

    def __init__(self, fn: OverFn, kind: str):
        self.fn = fn
        self.dtype = DTYPES[kind]
        self.code = FUNCS[fn.func]
        if fn.mode == ROWS:  # the frame's rows plus the one leaving it
            self.cap = (fn.start if fn.start >= 0 else fn.end) + 1
        else:
            self.cap = 1 if fn.start < 0 else 8
        self._alloc(0, self.cap)

    def _alloc(self, n_keys: int, cap: int) -> None:
        self.n_keys, self.cap = n_keys, cap
        self.head = np.zeros(n_keys, np.int64)
        self.tail = np.zeros(n_keys, np.int64)
        self.rows = np.zeros(n_keys, np.int64)
        self.cnt = np.zeros(n_keys, np.int64)
        self.tot = np.zeros(n_keys, self.dtype)
        self.mean = np.zeros(n_keys, np.float64)
        self.m2 = np.zeros(n_keys, np.float64)
        self.dq_h = np.zeros(n_keys, np.int64)
        self.dq_t = np.zeros(n_keys, np.int64)
        self.run_v = np.zeros(n_keys, self.dtype)
        self.run_has = np.zeros(n_keys, np.bool_)
        self.ring_ts = np.zeros((n_keys, cap), np.int64)
        self.ring_v = np.zeros((n_keys, cap), self.dtype)
        self.ring_ok = np.zeros((n_keys, cap), np.bool_)
        # the deque's ring: only MIN/MAX/FIRST_VALUE/LAST_VALUE over a bounded frame read it
        deque = self.code in DEQUE and self.fn.start >= 0
        self.dq = np.zeros((n_keys, cap if deque else 1), np.int64)

    def reserve(self, n_keys: int, incoming: np.ndarray) -> None:
        """Room for ``n_keys`` keys, and (RANGE) for ``incoming[k]`` more rows
        of key k in its ring."""
        need = self.cap
        if self.fn.mode == RANGE and self.fn.start >= 0 and len(incoming):
            held = np.zeros(max(n_keys, self.n_keys), np.int64)
            held[: self.n_keys] = self.tail - self.head
            held[: len(incoming)] += incoming
            need = max(need, int(held.max()))
        if n_keys <= self.n_keys and need <= self.cap:
            return
        cap = self.cap if need <= self.cap else max(need, 2 * self.cap)
        old = {name: getattr(self, name) for name in self.ARRAYS + self.RINGS}
        old_keys = self.n_keys
        # keys grow geometrically: a stream of new keys copies its state O(log n) times
        self._alloc(max(n_keys, 2 * old_keys) if n_keys > old_keys else old_keys, cap)
        for name in self.ARRAYS:
            getattr(self, name)[:old_keys] = old[name]
        if cap == old["ring_ts"].shape[1]:
            for name in self.RINGS:
                getattr(self, name)[:old_keys] = old[name]
        else:
            regrow(old["ring_ts"], old["ring_v"], old["ring_ok"], old["dq"], old["head"], old["tail"],
                   old["dq_h"], old["dq_t"], self.ring_ts[:old_keys], self.ring_v[:old_keys],
                   self.ring_ok[:old_keys], self.dq[:old_keys])

    def run(self, keys, ts, vals, ok, dflt, dflt_ok, out_kind: str, rank: np.ndarray) -> Column:
        """The call's result for released rows; string codes stay codes (``rank``
        orders them for MIN/MAX)."""
        n = len(keys)
        out_v = np.zeros(n, DTYPES["i" if out_kind == "O" else out_kind])
        out_ok = np.zeros(n, np.bool_)
        over_frame(keys, ts, vals, ok, dflt, dflt_ok, out_v, out_ok, self.code, self.fn.mode,
                   self.fn.start, self.fn.end, self.ring_ts, self.ring_v, self.ring_ok, self.head,
                   self.tail, self.rows, self.cnt, self.tot, self.mean, self.m2, self.dq, self.dq_h,
                   self.dq_t, self.run_v, self.run_has, rank)
        return Column(out_v, None if out_ok.all() else out_ok)

    def codes_held(self) -> np.ndarray:
        """Every string code the state holds (stale ring slots included)."""
        return np.concatenate([self.ring_v.ravel(), self.run_v])

    def recode(self, remap: np.ndarray) -> None:
        self.ring_v[...] = remap[self.ring_v]
        self.run_v[...] = remap[self.run_v]

    def slide(self, watermark: int) -> None:
        """RANGE d: free the rows no row to come can reach (time < watermark + 1 - d)."""
        if self.fn.mode != RANGE or self.fn.start < 0 or not self.n_keys or watermark >= WM_MAX:
            return
        evict_before(watermark + 1 - self.fn.start, self.ring_ts, self.ring_v, self.ring_ok, self.head,
                     self.tail, self.rows, self.cnt, self.tot, self.mean, self.m2, self.dq, self.dq_h,
                     self.dq_t, DEQUE.get(self.code, 0))

    @property
    def held(self) -> int:
        return int((self.tail - self.head).sum()) if self.fn.mode == RANGE and self.fn.start >= 0 \
            else int(np.minimum(self.tail, self.cap).sum())

    def snapshot(self) -> dict:
        return {"cap": self.cap, **{name: getattr(self, name).copy() for name in self.ARRAYS + self.RINGS}}

    def restore(self, data: dict) -> None:
        self._alloc(len(data["head"]), int(data["cap"]))
        for name in self.ARRAYS + self.RINGS:
            getattr(self, name)[...] = np.asarray(data[name])


class OverAggregate:
    """``OverAggregate(time_column, names, kinds, key_kinds, arg_kinds, calls,
    out_names, lag_ms=0, arrival_order=False)``: ``names``/``kinds`` are the columns of the input
    batches (given back, in order, before the ``out_names`` of the ``calls``);
    ``process`` takes the PARTITION BY columns as ``keys`` and the calls'
    arguments as ``args``. ``lag_ms``: how far the time column of rows still to
    come trails the watermark (over a window aggregate's rows ordered by
    window_start: they come once the watermark passes their window_time, so
    their window_start is above ``watermark - (size - 1)``). ``arrival_order``:
    each key's rows come in time order (a SESSION window aggregate's rows ordered
    by window_start, partitioned by the session key), so every row leaves at the
    next ``advance``; a RANGE frame then frees its rows as its key's later rows
    come, not by the watermark (an open session's start can be arbitrarily old)."""

    def __init__(self, time_column: str, names: list[str], kinds: list[str], key_kinds: list[str],
                 arg_kinds: list[str], calls: list[OverFn], out_names: list[str], lag_ms: int = 0,
                 arrival_order: bool = False):
        self.time_column = time_column
        self.lag_ms = lag_ms
        self.arrival_order = arrival_order
        self.names, self.kinds = list(names), list(kinds)
        self.key_kinds, self.arg_kinds = list(key_kinds), list(arg_kinds)
        self.calls, self.out_names = list(calls), list(out_names)
        self.keys = KeyEncoder(self.key_kinds)
        self.out_kinds = [_RESULT_KIND.get(c.func) or (arg_kinds[c.arg] if c.arg is not None else "i")
                          for c in self.calls]
        self.frames = [None if c.func == "lead" else
                       _FrameState(c, _frame_kind(self.arg_kinds, c.arg)) for c in self.calls]
        # the frames of string arguments hold codes of one dictionary
        self._coded = [f for f, c in zip(self.frames, self.calls)
                       if f is not None and c.arg is not None and self.arg_kinds[c.arg] == "O"]
        self.strings = OrderedCodes() if self._coded else None
        self._strings_after = 0  # the dictionary's size after its last compaction
        # the arguments LEAD reads from the rows that wait (value, default)
        self._lead_args = sorted({i for c in self.calls if c.func == "lead"
                                  for i in (c.arg, c.default) if i is not None})
        self._waiting: tuple[Batch, np.ndarray, np.ndarray, list[Column]] | None = None
        self.late_count = 0
        self._seq = 0
        self._held: list[tuple[Batch, np.ndarray, np.ndarray, list[Column]]] = []

    @property
    def held_rows(self) -> int:
        return sum(b.num_rows for b, *_ in self._held)

    @property
    def state_rows(self) -> int:
        """Rows kept for the frames (summed over the calls)."""
        waiting = 0 if self._waiting is None else self._waiting[0].num_rows
        return sum(f.held for f in self.frames if f is not None) + waiting

    def process(self, batch: Batch, keys: list[Column], args: list[Column]) -> np.ndarray:
        """Hold the rows until the watermark passes them; returns the indices of
        those dropped as late."""
        ts = batch[self.time_column].values
        late = np.flatnonzero(ts <= batch.row_watermarks())
        if len(late):
            self.late_count += len(late)
            keep = np.ones(batch.num_rows, dtype=bool)
            keep[late] = False
            batch = batch.take(keep)
            keys = [k.take(keep) for k in keys]
            args = [a.take(keep) for a in args]
        if batch.num_rows:
            args = [_as_kind(a, k) for a, k in zip(args, self.arg_kinds, strict=True)]
            ids = self.keys.encode_rows(keys, batch.num_rows)
            seq = np.arange(self._seq, self._seq + batch.num_rows, dtype=np.int64)
            self._seq += batch.num_rows
            self._held.append((Batch(batch.columns, batch.num_rows), ids, seq, args))
        return late

    def _concat_held(self) -> tuple[Batch, np.ndarray, np.ndarray, list[Column]]:
        if len(self._held) != 1:
            parts = self._held
            rows = Batch({n: concat_columns([p[0][n] for p in parts]) for n in self.names},
                         sum(p[0].num_rows for p in parts))
            args = [concat_columns([p[3][i] for p in parts]) for i in range(len(self.arg_kinds))]
            self._held = [(rows, np.concatenate([p[1] for p in parts]),
                           np.concatenate([p[2] for p in parts]), args)]
        return self._held[0]

    def advance(self, watermark: int) -> Batch:
        """The held rows the watermark has passed, in event-time order, with the
        OVER results; then the frames free what no row to come can reach."""
        if self.arrival_order:  # every held row is due; the end of input only for LEAD
            out = self._release(watermark if watermark >= WM_MAX else WM_MAX - 1)
            self._compact_strings()
            return out
        if watermark < WM_MAX:
            watermark -= self.lag_ms
        out = self._release(watermark)
        for frame in self.frames:
            if frame is not None:
                frame.slide(watermark)
        self._compact_strings()
        return out

    def _release(self, watermark: int) -> Batch:
        if not self._held:
            return self._nothing_due(watermark)
        rows, ids, seq, args = self._concat_held()
        ts = rows[self.time_column].values
        due = ts <= watermark
        if not due.any():
            return self._nothing_due(watermark)
        if due.all():
            self._held = []
        else:
            rest = ~due
            self._held = [(rows.take(rest), ids[rest], seq[rest], [a.take(rest) for a in args])]
        pick = np.flatnonzero(due)  # in arrival order: held rows stay in it
        ts_p = ts[pick]
        # by key, then time, then arrival (stable): each key's rows in frame order
        local = np.lexsort((ts_p, ids[pick]))
        order = pick[local]
        k, t = ids[order], ts_p[local]
        n_keys = len(self.keys)
        incoming = np.bincount(k, minlength=n_keys)
        results = []
        taken: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # argument -> (values, valid)
        for fn, frame, kind in zip(self.calls, self.frames, self.out_kinds):
            if frame is None:  # LEAD: filled in once the following rows are there
                results.append(null_column(kind, len(order)))
                continue
            frame.reserve(n_keys, incoming)
            vals, ok = self._arg(fn.arg, args, order, taken)
            if fn.default is not None:
                dflt, dflt_ok = self._arg(fn.default, args, order, taken)
                dflt = dflt.astype(vals.dtype)
            else:
                dflt, dflt_ok = np.zeros(len(order), vals.dtype), np.zeros(len(order), np.bool_)
            rank = self.strings.rank if kind == "O" and fn.func in ("min", "max") else _NO_RANK
            results.append(self._decoded(frame.run(k, t, vals, ok, dflt, dflt_ok, kind, rank), kind))
        if self._lead_args:
            cols = {n: rows[n].take(order) for n in self.names}
            cols.update(zip(self.out_names, results))
            return self._lead(Batch(cols, len(order)), k, seq[order],
                              [args[i].take(order) for i in self._lead_args], watermark)
        # out in event-time order, ties by arrival
        out_local = np.argsort(ts_p, kind="stable")
        inverse = np.empty(len(local), np.int64)
        inverse[local] = np.arange(len(local))
        back = inverse[out_local]
        cols = {n: rows[n].take(pick[out_local]) for n in self.names}
        for name, col in zip(self.out_names, results):
            cols[name] = col.take(back)
        return Batch(cols, len(order))

    def _arg(self, arg: int | None, args: list[Column], order: np.ndarray,
             taken: dict[int, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """Argument ``arg`` of the released rows in frame order (strings as
        codes), taken once per release; no argument (COUNT(*)): zeros, valid."""
        if arg is None:
            return np.zeros(len(order), np.int64), np.ones(len(order), np.bool_)
        if arg not in taken:
            a = args[arg].take(order)
            ok = a.is_valid()
            vals = self.strings.encode(a.values, ok) if self.arg_kinds[arg] == "O" else a.values
            taken[arg] = (vals, ok)
        return taken[arg]

    def _decoded(self, col: Column, kind: str) -> Column:
        """A frame's result: string codes back to strings (NULL: None)."""
        if kind != "O":
            return col
        values = self.strings.decode(col.values)
        if col.valid is not None:
            values[~col.valid] = None
        return Column(values, col.valid)

    def _compact_strings(self) -> None:
        """Forget the strings no frame holds once the dictionary has doubled."""
        if self.strings is None or len(self.strings) <= max(STRINGS_FLOOR, 2 * self._strings_after):
            return
        remap = self.strings.compact(np.concatenate([f.codes_held() for f in self._coded]))
        for frame in self._coded:
            frame.recode(remap)
        self._strings_after = len(self.strings)

    def _lead(self, rows: Batch, ids: np.ndarray, seq: np.ndarray, args: list[Column],
              watermark: int) -> Batch:
        """LEAD: released rows (in key order) wait, with those still waiting,
        until the row ``offset`` later in their key is released too, or the
        input ends; the rows that can go, in event-time order."""
        if self._waiting is not None:
            w_rows, w_ids, w_seq, w_args = self._waiting
            rows = Batch({n: concat_columns([w_rows[n], rows[n]]) for n in rows.columns},
                         w_rows.num_rows + rows.num_rows)
            ids, seq = np.concatenate([w_ids, ids]), np.concatenate([w_seq, seq])
            args = [concat_columns([a, b]) for a, b in zip(w_args, args)]
            # each key's waiting rows come before its new ones (stable)
            by_key = np.argsort(ids, kind="stable")
            rows, ids, seq = rows.take(by_key), ids[by_key], seq[by_key]
            args = [a.take(by_key) for a in args]
        n = len(ids)
        end = watermark >= WM_MAX
        index = np.arange(n)
        ready = np.ones(n, bool)
        cols = dict(rows.columns)
        for fn, name, kind in zip(self.calls, self.out_names, self.out_kinds):
            if fn.func != "lead":
                continue
            ahead = index + fn.lead
            there = ahead < n
            there[there] = ids[ahead[there]] == ids[there]
            if not end:  # the row waits for the following one of each LEAD call
                ready &= there
            value = args[self._lead_args.index(fn.arg)]
            out_v = null_column(kind, n).values
            out_ok = np.zeros(n, bool)
            out_v[there] = value.values[ahead[there]]
            out_ok[there] = value.is_valid()[ahead[there]]
            if fn.default is not None:
                d = args[self._lead_args.index(fn.default)]
                out_v[~there] = d.values[~there].astype(out_v.dtype)
                out_ok[~there] = d.is_valid()[~there]
            cols[name] = Column(out_v, out_ok)
        rows = Batch(cols, n)
        rest = ~ready
        self._waiting = ((rows.take(rest), ids[rest], seq[rest], [a.take(rest) for a in args])
                         if rest.any() else None)
        go = np.flatnonzero(ready)
        go = go[np.lexsort((seq[go], rows[self.time_column].values[go]))]
        return rows.take(go)

    def _nothing_due(self, watermark: int) -> Batch:
        """No held row is due: only the end of input lets rows waiting for a LEAD go."""
        if self._waiting is None or watermark < WM_MAX:
            return self._empty()
        none = np.zeros(0, np.int64)
        return self._lead(self._empty(), none, none,
                          [null_column(self.arg_kinds[i], 0) for i in self._lead_args], watermark)

    def _empty(self) -> Batch:
        cols = {n: null_column(k, 0) for n, k in zip(self.names, self.kinds)}
        for n, k in zip(self.out_names, self.out_kinds):
            cols[n] = null_column(k, 0)
        return Batch(cols, 0)

    def snapshot(self) -> dict:
        """Held rows (columns, key ids, arrival numbers, arguments), the key
        dictionary, each call's frame state and the strings its codes stand for."""
        if self._held:
            rows, ids, seq, args = self._concat_held()
        else:
            rows = Batch({n: null_column(k, 0) for n, k in zip(self.names, self.kinds)}, 0)
            ids, seq = np.zeros(0, np.int64), np.zeros(0, np.int64)
            args = [null_column(k, 0) for k in self.arg_kinds]
        return {
            "late_count": self.late_count, "seq": self._seq, "keys": self.keys.snapshot(),
            "values": [values_data(rows[n].values) for n in self.names],
            "valid": [rows[n].is_valid().copy() for n in self.names],
            "ids": ids.copy(), "arrival": seq.copy(),
            "arg_values": [values_data(a.values) for a in args],
            "arg_valid": [a.is_valid().copy() for a in args],
            "frames": [None if f is None else f.snapshot() for f in self.frames],
            "waiting": None if self._waiting is None else self._waiting_data(),
            # the frames' string codes: code i is strings[i]
            "strings": None if self.strings is None else self.strings.strings.tolist(),
        }

    def _waiting_data(self) -> dict:
        rows, ids, seq, args = self._waiting
        return {"values": [values_data(rows[n].values) for n in self.names + self.out_names],
                "valid": [rows[n].is_valid().copy() for n in self.names + self.out_names],
                "ids": ids.copy(), "arrival": seq.copy(),
                "arg_values": [values_data(a.values) for a in args],
                "arg_valid": [a.is_valid().copy() for a in args]}

    def restore(self, data: dict) -> None:
        self.late_count, self._seq = int(data["late_count"]), int(data["seq"])
        self.keys.restore(data["keys"])
        n_rows = len(data["ids"])
        cols = {n: Column(values_from_data(v, k), np.asarray(ok, bool))
                for n, k, v, ok in zip(self.names, self.kinds, data["values"], data["valid"], strict=True)}
        args = [Column(values_from_data(v, k), np.asarray(ok, bool))
                for k, v, ok in zip(self.arg_kinds, data["arg_values"], data["arg_valid"], strict=True)]
        self._held = ([(Batch(cols, n_rows), np.asarray(data["ids"], np.int64),
                        np.asarray(data["arrival"], np.int64), args)] if n_rows else [])
        for frame, state in zip(self.frames, data["frames"], strict=True):
            if frame is not None:
                frame.restore(state)
        if self.strings is not None:
            self.strings = OrderedCodes(data["strings"])
            self._strings_after = len(self.strings)
        self._waiting = None
        waiting = data["waiting"]
        if waiting is not None:
            names, kinds = self.names + self.out_names, self.kinds + self.out_kinds
            cols = {n: Column(values_from_data(v, k), np.asarray(ok, bool))
                    for n, k, v, ok in zip(names, kinds, waiting["values"], waiting["valid"], strict=True)}
            args = [Column(values_from_data(v, self.arg_kinds[i]), np.asarray(ok, bool))
                    for i, v, ok in zip(self._lead_args, waiting["arg_values"], waiting["arg_valid"],
                                        strict=True)]
            self._waiting = (Batch(cols, len(waiting["ids"])), np.asarray(waiting["ids"], np.int64),
                             np.asarray(waiting["arrival"], np.int64), args)
