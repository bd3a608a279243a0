"""Every stateful operator keeps the state protocol (``runtime_lib.state``).

``CASES`` lists one entry per operator and configuration that matters for
its state: how to build it, a strategy for its input (micro-batches of a
few rows, out of order, with NULLs, NaN, late rows, retractions where the
operator takes them), and how to feed one batch and collect what comes out.
For each case, hypothesis draws an input and a cut; the test

1. runs the operator over the whole input (the uninterrupted run);
2. runs a second one up to the cut, takes ``snapshot()``, and lets it go on
   to the end, so a snapshot that shares arrays with its operator changes;
3. passes the snapshot through ``roundtrip`` (the checkpoint rules:
   ``check_state``, then JSON and ``.npy`` without pickle) and restores it
   into a NEW operator, which is fed the rest of the input;

and asserts that the restored operator's output, and its counters (late
rows, rows held, ...), equal the uninterrupted run's, batch for batch, to
the end of input. ``test_every_operator_has_a_case``
keeps the registry complete as operators are added.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import runtime_lib
from runtime_lib.columns import Batch, Column, column_from_pylist
from runtime_lib.io.tables import CachedTable, ChangelogTable
from runtime_lib.operators.aggregates import RETRACTABLE, Agg
from runtime_lib.operators.deduplicate import Deduplicate
from runtime_lib.operators.group_aggregate import GroupAggregate
from runtime_lib.operators.joins import IntervalJoin, Join, TemporalJoin
from runtime_lib.operators.limit import Limit
from runtime_lib.operators.lookup_join import LookupJoin
from runtime_lib.operators.match_recognize import (
    ACCEPT,
    MatchAutomaton,
    MatchRecognize,
    MatchValue,
    MatchVariable,
)
from runtime_lib.operators.over import OverAggregate, OverFn
from runtime_lib.operators.rank import Rank
from runtime_lib.operators.session_rows import SessionRows
from runtime_lib.operators.temporal_sort import TemporalSort
from runtime_lib.operators.window_rank import WindowRank
from runtime_lib.operators.windows import (
    AfterWatermark,
    Changes,
    Cumulate,
    Hop,
    PaneWindowAggregate,
    Session,
    SessionWindowAggregate,
    Tumble,
    WindowAggregate,
)
from runtime_lib.schema import Field
from runtime_lib.state import StateError, Stateful, check_state, operators_of
from runtime_lib.watermarks import WM_MAX, Watermarks
from tests.state_roundtrip import roundtrip

# ---------------------------------------------------------------------------
# Input: rows of (key, x, s, t), cut into micro-batches
# ---------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", None])
XS = st.one_of(st.none(), st.floats(-50, 50, allow_nan=False, width=32), st.just(math.nan))
SS = st.sampled_from(["x", "yy", "", None])
ROW = st.tuples(KEYS, XS, SS, st.integers(0, 80))
BATCHES = st.lists(st.lists(ROW, max_size=6), max_size=7)


def col(values, kind: str) -> Column:
    return column_from_pylist(list(values), kind)


def _norm(value):
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def rows_of(batch: Batch) -> list:
    """A batch as comparable data: kinds, rows (NaN made equal) and watermarks."""
    ops = [None] * batch.num_rows if batch.ops is None else list(batch.ops)
    wms = [None] * batch.num_rows if batch.watermarks is None else batch.watermarks.tolist()
    return [(op, tuple(map(_norm, row)), wm) for op, row, wm in zip(ops, batch.to_rows(), wms)]


def with_watermarks(batches: list, bound: int = 5) -> list:
    """Each batch with the watermark before each row and after the batch."""
    wm = Watermarks(bound)
    out = []
    for rows in batches:
        before, current = wm.observe(0, np.array([r[3] for r in rows], np.int64), now_ms=0)
        out.append((rows, before, current))
    return out


COUNTERS = ("late_count", "late_left", "late_right", "peak_state_rows", "state_rows", "expired_rows",
            "rows_in", "rows_out", "held_rows", "state_slots", "open_windows", "groups", "current")


def counters(op) -> dict:
    """What an operator counts and reports (the driver prints some of it)."""
    found = {name: getattr(op, name) for name in COUNTERS if hasattr(op, name)}
    table = getattr(op, "table", None)
    if table is not None:  # a lookup join: the rows its table holds
        found["table_rows"] = len(table) if isinstance(table, ChangelogTable) else len(table.cache)
    return found


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], Any]
    steps: st.SearchStrategy  # the input: a list of steps
    feed: Callable[[Any, Any], Any]  # feed one step, return what came out
    finish: Callable[[Any], Any] = lambda op: None  # end of input

    def step(self, op, step) -> tuple:
        return self.feed(op, step), counters(op)

    def end(self, op) -> tuple:
        return self.finish(op), counters(op)

    def __repr__(self) -> str:
        return self.name


# -- window aggregates --------------------------------------------------------

AGGS = [Agg("count_star"), Agg("count", arg=1, distinct=True), Agg("sum", arg=0), Agg("avg", arg=0, filter=0),
        Agg("min", arg=1), Agg("max", arg=0), Agg("first_value", arg=1), Agg("last_value", arg=0),
        Agg("stddev", arg=0), Agg("percentile_cont", arg=0, param=0.5),
        Agg("percentile_disc", arg=0, param=0.9, filter=0), Agg("approx_percentile", arg=0, param=0.75),
        Agg("listagg", arg=1, separator=";")]
RETRACT_AGGS = [a for a in AGGS if a.func in RETRACTABLE and not a.distinct]
AFTER_WATERMARK = AfterWatermark()


def _window_args(rows):
    keys = [col([r[0] for r in rows], "O")]
    args = [col([r[1] for r in rows], "f"), col([r[2] for r in rows], "O")]
    filters = [col([r[1] is None or r[1] >= 0 for r in rows], "b")]
    return keys, args, filters


def _changelog(batches: list) -> list:
    """Batches of (row, takes back?) as a well-formed changelog: a row that
    takes back is a copy of an earlier row not yet taken back (else an insert)."""
    live: list = []
    out = []
    for batch in batches:
        rows, flags = [], []
        for row, back in batch:
            if back and live:
                row = live.pop(row[3] % len(live))
            else:
                live.append(row)
                back = False
            rows.append(row)
            flags.append(back)
        out.append((rows, np.array(flags, bool)))
    marked = with_watermarks([rows for rows, _ in out])
    return [(rows, before, current, flags) for (rows, before, current), (_, flags) in zip(marked, out)]


def window_case(name: str, window, emit=AFTER_WATERMARK, retract: bool = False) -> Case:
    aggs = RETRACT_AGGS if retract else AGGS

    def make():
        return WindowAggregate(window=window, key_kinds=["O"], arg_kinds=["f", "O"], aggs=aggs, emit=emit,
                               updating_input=retract)

    if retract:  # a changelog: some rows take an earlier row back
        steps = st.lists(st.lists(st.tuples(ROW, st.booleans()), max_size=6), max_size=7).map(_changelog)
    else:
        steps = BATCHES.map(lambda batches: [(*b, None) for b in with_watermarks(batches)])

    def step(op, s):
        rows, before, current, retracted = s
        keys, args, filters = _window_args(rows)
        late = op.process(keys=keys, ts=np.array([r[3] for r in rows], np.int64), watermark_before=before,
                          args=args, filters=filters, retract=retracted)
        return late.tolist(), rows_of(op.advance(current))

    return Case(name, make, steps, step, lambda op: rows_of(op.advance(WM_MAX)))


def group_case(name: str, having: bool, ttl: int | None = None, retract: bool = False) -> Case:
    """With a TTL, keys forgotten (processing time: the batch's largest t);
    with ``retract``, a changelog whose -D/-U take rows back (MIN/MAX keep a
    count per value: strings and floats)."""
    def make():
        return GroupAggregate(key_kinds=["O"], arg_kinds=["f", "O"], aggs=RETRACT_AGGS if retract else AGGS,
                              having=(lambda b: b["agg_0"].values % 2 == 1) if having else None,
                              state_ttl_ms=ttl, updating_input=retract)

    def step(op, s):
        rows, retracted = s
        keys, args, filters = _window_args(rows)
        now = max([r[3] for r in rows], default=0)
        return rows_of(op.process(keys, args, filters, num_rows=len(rows), now_ms=now,
                                  retract=retracted))

    if retract:
        steps = st.lists(st.lists(st.tuples(ROW, st.booleans()), max_size=6), max_size=7).map(
            lambda b: [(rows, flags) for rows, _, _, flags in _changelog(b)])
    else:
        steps = BATCHES.map(lambda batches: [(rows, None) for rows in batches])
    return Case(name, make, steps, step)


# -- joins --------------------------------------------------------------------

SIDE_BATCHES = st.lists(st.tuples(st.sampled_from([0, 1]), st.lists(ROW, max_size=5)), max_size=8)
LEFT, RIGHT = ["lk", "lx", "ls", "lt"], ["rk", "rx", "rs", "rt"]


def _side_batch(s: int, rows) -> Batch:
    names = (LEFT, RIGHT)[s]
    cols = [col([r[j] for r in rows], kind) for j, kind in enumerate("OfOi")]
    return Batch(dict(zip(names, cols)), len(rows))


def _join_watermarks(batches: list) -> list:
    """Per batch of a side: min(that side's watermark before each row, the other side's)."""
    wms = [Watermarks(5), Watermarks(5)]
    out = []
    for s, rows in batches:
        before, _ = wms[s].observe(0, np.array([r[3] for r in rows], np.int64), now_ms=0)
        out.append((s, rows, np.minimum(before, wms[1 - s].current), min(wms[0].current, wms[1].current)))
    return out


def interval_join_case(kind: str) -> Case:
    def make():
        return IntervalJoin(kind=kind, key_kinds=["O"], lower_ms=-5, upper_ms=10, left_names=LEFT,
                            right_names=RIGHT, left_kinds=list("OfOi"), right_kinds=list("OfOi"),
                            residual=lambda b: ~(b["lx"].values > b["rx"].values + 40))

    def step(op, s):
        side, rows, before, current = s
        batch = _side_batch(side, rows)
        process = op.process_left if side == 0 else op.process_right
        out, late = process([batch.columns[(LEFT, RIGHT)[side][0]]], batch.columns[(LEFT, RIGHT)[side][3]].values,
                            batch, watermark_before=before)
        return rows_of(out), late.tolist(), rows_of(op.advance(current))

    return Case(f"interval-join-{kind.lower()}", make, SIDE_BATCHES.map(_join_watermarks), step,
                lambda op: rows_of(op.advance(WM_MAX)))


def temporal_join_case(kind: str) -> Case:
    """Stream rows (side 0) and versions (side 1, with -D and -U among them)."""
    def make():
        return TemporalJoin(kind=kind, key_kinds=["O"], left_names=LEFT, right_names=RIGHT,
                            left_kinds=list("OfOi"), right_kinds=list("OfOi"),
                            residual=lambda b: ~(b["lx"].values > b["rx"].values + 40))

    steps = SIDE_BATCHES.map(_join_watermarks).flatmap(lambda bs: st.tuples(
        st.just(bs), st.lists(st.sampled_from(["+I", "+U", "-U", "-D"]), min_size=5 * len(bs),
                              max_size=5 * len(bs))))
    steps = steps.map(lambda bo: [(*b, bo[1][5 * i: 5 * i + len(b[1])]) for i, b in enumerate(bo[0])])

    def step(op, s):
        side, rows, before, current, ops = s
        batch = _side_batch(side, rows)
        if side == 0:
            out, late = op.process_left([batch.columns["lk"]], batch.columns["lt"].values, batch,
                                        watermark_before=before)
            return rows_of(out), late.tolist(), op.late_count, rows_of(op.advance(current))
        batch = Batch(batch.columns, batch.num_rows, None, np.array(ops, object))
        op.process_right([batch.columns["rk"]], batch.columns["rt"].values, batch)
        return op.versions, rows_of(op.advance(current))

    return Case(f"temporal-join-{kind.lower()}", make, steps, step,
                lambda op: rows_of(op.advance(WM_MAX)))


def regular_join_case(kind: str, ttl) -> Case:
    def make():
        return Join(kind=kind, key_kinds=["O"], left_names=LEFT, right_names=RIGHT, left_kinds=list("OfOi"),
                    right_kinds=list("OfOi"), state_ttl_ms=ttl, clock=lambda: 0)

    # a batch of a side, its rows' changelog kinds, and the processing time (a step's index)
    steps = SIDE_BATCHES.flatmap(lambda bs: st.tuples(
        st.just(bs), st.lists(st.sampled_from(["+I", "+I", "-D", "+U", "-U"]), min_size=5 * len(bs),
                              max_size=5 * len(bs))))
    steps = steps.map(lambda bo: [(s, rows, bo[1][5 * i: 5 * i + len(rows)], i) for i, (s, rows) in enumerate(bo[0])])

    def step(op, s):
        side, rows, ops, now = s
        batch = _side_batch(side, rows)
        batch = Batch(batch.columns, batch.num_rows, None, np.array(ops, object))
        process = op.process_left if side == 0 else op.process_right
        return rows_of(process([batch.columns[(LEFT, RIGHT)[side][0]]], batch, now_ms=now))

    return Case(f"join-{kind.lower()}-ttl-{ttl}", make, steps, step)


# -- lookup joins -------------------------------------------------------------


class Clock:
    """Processing time a step sets (tables read it for TTLs and LRU)."""

    def __init__(self):
        self.now = 0

    def __call__(self) -> int:
        return self.now


TABLE_FIELDS = [Field("k", "VARCHAR"), Field("v", "VARCHAR"), Field("n", "BIGINT")]


def _stream(rows) -> Batch:
    return Batch({"sk": col([r[0] for r in rows], "O"), "sx": col([r[1] for r in rows], "f")}, len(rows))


def changelog_lookup_case() -> Case:
    """A lookup join on a table kept in state (a changelog applied in between)."""

    def make():
        table = ChangelogTable(TABLE_FIELDS, key="k", state_ttl_ms=3, clock=Clock())
        return LookupJoin(kind="LEFT", table=table, key_kinds=["O"], table_names=["k", "v", "n"])

    change = st.tuples(KEYS.filter(lambda k: k is not None), SS, st.sampled_from(["+I", "+U", "-D"]))
    step_s = st.one_of(st.tuples(st.just("apply"), st.lists(change, max_size=4)),
                       st.tuples(st.just("probe"), st.lists(ROW, max_size=5)))
    steps = st.lists(step_s, max_size=8).map(lambda ss: [(i, *s) for i, s in enumerate(ss)])

    def step(op, s):
        now, what, rows = s
        op.table.clock.now = now
        if what == "apply":
            op.table.apply(Batch({"k": col([r[0] for r in rows], "O"), "v": col([r[1] for r in rows], "O"),
                                  "n": col([now] * len(rows), "i")}, len(rows),
                                 ops=np.array([r[2] for r in rows], object)))
            return len(op.table)
        return rows_of(op.process([_stream(rows)["sk"]], _stream(rows)))

    return Case("lookup-changelog-table", make, steps, step)


class MemoryTable(CachedTable):
    """A store in memory whose rows change with ``version`` (set by each step),
    behind the LRU cache of PostgreSQL and Redis tables: what the cache holds
    decides the output, so a cache that is not restored gives other rows."""

    def __init__(self, clock):
        super().__init__(TABLE_FIELDS, key="k", cache_max_rows=2, cache_ttl_ms=4, clock=clock)
        self.version = 0

    def describe(self) -> str:
        return "memory table"

    def _fetch(self, keys: list):
        rows = [(k, f"{k}@{self.version}", self.version) for k in keys if k != "c"]  # 'c' is missing
        return self._columns_from_rows(keys, rows)


def cached_lookup_case() -> Case:
    def make():
        return LookupJoin(kind="INNER", table=MemoryTable(Clock()), key_kinds=["O"], table_names=["k", "v", "n"])

    steps = st.lists(st.tuples(st.integers(0, 3), st.lists(ROW, max_size=5)), max_size=8)
    steps = steps.map(lambda ss: [(i, version, rows) for i, (version, rows) in enumerate(ss)])

    def step(op, s):
        now, version, rows = s
        op.table.clock.now, op.table.version = now, version
        return rows_of(op.process([_stream(rows)["sk"]], _stream(rows)))

    return Case("lookup-cached-table", make, steps, step)


# -- temporal sort, watermarks -------------------------------------------------


def temporal_sort_case() -> Case:
    def make():
        return TemporalSort("t", names=["t", "s"], kinds=["i", "O"])

    # each batch with its rows' watermarks and changelog kinds
    steps = BATCHES.map(with_watermarks).flatmap(lambda bs: st.tuples(
        st.just(bs), st.lists(st.sampled_from(["+I", "-D"]), min_size=6 * len(bs), max_size=6 * len(bs))))
    steps = steps.map(lambda bo: [(rows, b, c, bo[1][6 * i: 6 * i + len(rows)])
                                  for i, (rows, b, c) in enumerate(bo[0])])

    def step(op, s):
        rows, before, current, ops = s
        batch = Batch({"t": col([r[3] for r in rows], "i"), "s": col([r[2] for r in rows], "O")}, len(rows),
                      before, np.array(ops, object))
        return op.process(batch).tolist(), rows_of(op.advance(current))

    return Case("temporal-sort", make, steps, step, lambda op: rows_of(op.advance(WM_MAX)))


def limit_case(offset: int) -> Case:
    """LIMIT 4 [OFFSET 3]: the rows seen so far are the state; a cut inside,
    before or after the limit is reached."""
    def make():
        return Limit(4, offset=offset)

    def step(op, s):
        rows, before, _ = s
        batch = Batch({"t": col([r[3] for r in rows], "i"), "s": col([r[2] for r in rows], "O")},
                      len(rows), before)
        return rows_of(op.process(batch)), op.done

    return Case(f"limit-offset-{offset}", make, BATCHES.map(with_watermarks), step,
                lambda op: op.seen)


def session_rows_case(partitioned: bool) -> Case:
    """SESSION window TVF rows without an aggregation: rows held in their
    sessions (merging as rows arrive out of order) until the watermark closes them."""
    def make():
        return SessionRows("t", ["s"] if partitioned else [], 8, names=["t", "s"], kinds=["i", "O"])

    def step(op, s):
        rows, before, current = s
        batch = Batch({"t": col([r[3] for r in rows], "i"), "s": col([r[2] for r in rows], "O")},
                      len(rows), before)
        return op.process(batch).tolist(), rows_of(op.advance(current))

    return Case(f"session-rows{'-partitioned' if partitioned else ''}", make,
                BATCHES.map(with_watermarks), step, lambda op: rows_of(op.advance(WM_MAX)))


def over_case(arrival_order: bool = False) -> Case:
    """OVER calls of every frame kind, NULLs and NaN in the argument, late rows;
    strings (their codes and dictionary) for MIN/MAX, FIRST_VALUE, LAG, LEAD;
    ``arrival_order``: rows leave as they come (over a SESSION's rows)."""
    calls = [OverFn("count_star"), OverFn("sum", arg=0, rows=2), OverFn("min", arg=0, range_ms=10),
             OverFn("max", arg=0, rows=3, end=1), OverFn("avg", arg=0, unit="ROWS"),
             OverFn("last_value", arg=0, range_ms=5), OverFn("stddev_samp", arg=0, rows=4),
             OverFn("lag", arg=1, rows=1, end=1, default=1), OverFn("count", arg=2, range_ms=20),
             OverFn("lead", arg=0, lead=2, default=0), OverFn("min", arg=3, rows=2),
             OverFn("max", arg=3), OverFn("first_value", arg=3, range_ms=10),
             OverFn("lag", arg=3, rows=2, end=2, default=4), OverFn("lead", arg=3, lead=1, default=4)]

    def make():
        return OverAggregate("t", names=["t", "s"], kinds=["i", "O"], key_kinds=["O"],
                             arg_kinds=["f", "i", "i", "O", "O"], calls=calls,
                             out_names=[f"c{i}" for i in range(len(calls))],
                             arrival_order=arrival_order)

    def step(op, s):
        rows, before, current = s
        batch = Batch({"t": col([r[3] for r in rows], "i"), "s": col([r[2] for r in rows], "O")},
                      len(rows), before)
        args = [col([r[1] for r in rows], "f"), col([r[3] for r in rows], "i"),
                col([r[2] for r in rows], "O"), col([r[2] for r in rows], "O"),
                col(["none"] * len(rows), "O")]
        return (op.process(batch, keys=[col([r[0] for r in rows], "O")], args=args).tolist(),
                rows_of(op.advance(current)))

    return Case("over-aggregate" + ("-arrival" if arrival_order else ""), make,
                BATCHES.map(with_watermarks), step,
                lambda op: rows_of(op.advance(WM_MAX)))


def window_rank_case(fn: str) -> Case:
    """Window Top-2 per key over rows of 10 ms windows: ties, NULLs and NaN
    in the ORDER BY column, rows whose window had fired (late)."""

    def make():
        return WindowRank("end", names=["end", "k", "x"], kinds=["i", "O", "f"],
                          partition_by=["end", "k"], order_by=[("x", True, None)], limit=2,
                          fn=fn, rank_name="rn")

    def step(op, s):
        rows, _, current = s
        batch = Batch({"end": col([r[3] - r[3] % 10 + 10 for r in rows], "i"),
                       "k": col([r[0] for r in rows], "O"), "x": col([r[1] for r in rows], "f")},
                      len(rows))
        return op.process(batch).tolist(), rows_of(op.advance(current))

    return Case(f"window-rank-{fn}", make, BATCHES.map(with_watermarks), step,
                lambda op: rows_of(op.advance(WM_MAX)))


def rank_case(retract: bool) -> Case:
    """Top-2 per key by x (ties, NULLs, NaN), with the rank column; with
    ``retract``, some rows take back an equal earlier row (-D)."""

    def make():
        return Rank(names=["k", "x"], kinds=["O", "f"], partition_by=["k"],
                    order_by=[("x", True, None)], limit=2, fn="row_number", rank_name="rn",
                    updating_input=retract)

    steps = st.lists(st.lists(st.tuples(st.sampled_from(["a", "b", None]),
                                        st.sampled_from([1.0, 2.0, None, 3.5]),
                                        st.booleans() if retract else st.just(False)),
                              max_size=6), max_size=7)

    def step(op, rows):
        ops = np.array(["-D" if r[2] else "+I" for r in rows], object)
        batch = Batch({"k": col([r[0] for r in rows], "O"), "x": col([r[1] for r in rows], "f")},
                      len(rows), None, ops)
        return rows_of(op.process(batch))

    return Case(f"rank{'-retract' if retract else ''}", make, steps, step)


def dedup_case(keep: str, ttl: int | None = None) -> Case:
    """The first (by the watermark) or last row per key: ties on t, NULL keys,
    late rows; with a TTL, keys forgotten (processing time: the batch's
    largest t, so that runs are repeatable)."""

    def make():
        return Deduplicate("t", names=["t", "k", "s"], kinds=["i", "O", "O"], partition_by=["k"],
                           keep=keep, rank_name="rn", state_ttl_ms=ttl)

    def step(op, s):
        rows, before, current = s
        batch = Batch({"t": col([r[3] for r in rows], "i"), "k": col([r[0] for r in rows], "O"),
                       "s": col([r[2] for r in rows], "O")}, len(rows), before)
        out, late = op.process(batch, now_ms=max([r[3] for r in rows], default=0))
        return rows_of(out), late.tolist(), rows_of(op.advance(current))

    return Case(f"deduplicate-{keep}{'-ttl' if ttl else ''}", make, BATCHES.map(with_watermarks), step,
                lambda op: rows_of(op.advance(WM_MAX)))


def _rising(v: Batch) -> np.ndarray:
    """B.x >= LAST(B.x, 1) OR LAST(B.x, 1) IS NULL, NULL (and NaN) not rising."""
    return np.array([x is not None and not math.isnan(x) and (p is None or x >= p)
                     for x, p in zip(v["v0"].to_pylist(), v["v1"].to_pylist())], bool)


def match_case() -> Case:
    """PATTERN (A B* C) WITHIN 30: a DEFINE per batch, one over the match
    (navigation), measures with FIRST, COUNT(*) and AVG; open attempts,
    threads and rows in the snapshot."""
    def make():
        return MatchRecognize(
            "t", key_kinds=["O"], arg_kinds=["f", "O"],
            automaton=MatchAutomaton(start=[0], states=[("A", [1, 2]), ("B", [1, 2]),
                                                        ("C", [ACCEPT])]),
            variables=[MatchVariable("A", condition=0), MatchVariable("B", test=_rising, reads=(0, 1)),
                       MatchVariable("C", condition=1)],
            values=[MatchValue("last", "B", arg=0, kind="f"),
                    MatchValue("last", "B", arg=0, offset=1, kind="f"),
                    MatchValue("first", arg=1, kind="O"), MatchValue("count_star", kind="i"),
                    MatchValue("avg", "B", arg=0, kind="f"), MatchValue("rowtime", kind="i")],
            measures=lambda v: v.project({"s": v["v2"], "n": v["v3"], "avg": v["v4"], "mt": v["v5"]}),
            key_names=["k"], out_names=["s", "n", "avg", "mt"], out_kinds=["O", "i", "f", "i"],
            after_match="SKIP TO LAST B", within_ms=30)

    def step(op, s):
        rows, before, current = s
        batch = Batch({"t": col([r[3] for r in rows], "i")}, len(rows), before)
        x = col([r[1] for r in rows], "f")
        ok = x.is_valid()
        conditions = [ok & (x.values < 20), ok & (x.values > 0)]
        late = op.process(batch, keys=[col([r[0] for r in rows], "O")],
                          args=[x, col([r[2] for r in rows], "O")], conditions=conditions)
        return late.tolist(), rows_of(op.advance(current)), op.open_attempts, op.timed_out

    return Case("match-recognize", make, BATCHES.map(with_watermarks), step,
                lambda op: rows_of(op.advance(WM_MAX)))


def watermarks_case() -> Case:
    partitions = st.sampled_from([0, 1, "p", ("topic", 2)])
    steps = st.lists(st.tuples(partitions, st.lists(st.integers(0, 80), max_size=5)), max_size=8)

    def step(op, s):
        partition, ts = s
        before, current = op.observe(partition, np.array(ts, np.int64), now_ms=0)
        return before.tolist(), current, op.partition_watermark(partition)

    return Case("watermarks", lambda: Watermarks(5, partitions=[0]), steps, step)


CASES = [
    window_case("tumble", Tumble(10)),
    window_case("tumble-changes", Tumble(10, offset_ms=3), Changes()),
    window_case("tumble-retract", Tumble(10), retract=True),
    window_case("hop", Hop(slide_ms=5, size_ms=15), AfterWatermark(delay_ms=3)),
    window_case("hop-changes", Hop(slide_ms=5, size_ms=15), Changes()),
    window_case("hop-retract-changes", Hop(slide_ms=5, size_ms=10), Changes(), retract=True),
    window_case("cumulate", Cumulate(step_ms=5, max_size_ms=20)),
    window_case("session", Session(8, (0,))),
    window_case("session-global-changes", Session(8, ()), Changes()),
    group_case("group-aggregate", having=False),
    group_case("group-aggregate-having", having=True),
    group_case("group-aggregate-ttl", having=True, ttl=20),
    group_case("group-aggregate-retract", having=False, retract=True),
    group_case("group-aggregate-retract-ttl", having=False, ttl=20, retract=True),
    interval_join_case("FULL"),
    interval_join_case("INNER"),
    temporal_join_case("LEFT"),
    temporal_join_case("INNER"),
    regular_join_case("FULL", ttl=(4, None)),
    regular_join_case("INNER", ttl=None),
    changelog_lookup_case(),
    cached_lookup_case(),
    temporal_sort_case(),
    limit_case(0),
    limit_case(3),
    session_rows_case(partitioned=True),
    session_rows_case(partitioned=False),
    over_case(),
    over_case(arrival_order=True),
    window_rank_case("row_number"),
    window_rank_case("dense_rank"),
    rank_case(retract=False),
    rank_case(retract=True),
    dedup_case("first"),
    dedup_case("last"),
    dedup_case("first", ttl=20),
    dedup_case("last", ttl=20),
    match_case(),
    watermarks_case(),
]

# the class whose snapshot() each case exercises
COVERS = {PaneWindowAggregate, SessionWindowAggregate, GroupAggregate, IntervalJoin, Join, TemporalJoin,
          LookupJoin,
          ChangelogTable, CachedTable, TemporalSort, Limit, SessionRows, OverAggregate, WindowRank, Rank,
          Deduplicate, MatchRecognize, Watermarks}


@pytest.mark.parametrize("case", CASES, ids=repr)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_restored_operator_continues_the_run(case: Case, data):
    steps = data.draw(case.steps, label="steps")
    cut = data.draw(st.integers(0, len(steps)), label="cut")
    whole = case.make()
    expected = [case.step(whole, s) for s in steps] + [case.end(whole)]

    first = case.make()
    for s in steps[:cut]:
        case.step(first, s)
    snap = first.snapshot()
    for s in steps[cut:]:  # the operator goes on: its snapshot must not
        case.step(first, s)
    second = case.make()
    second.restore(roundtrip(snap))
    got = [case.step(second, s) for s in steps[cut:]] + [case.end(second)]
    assert got == expected[cut:]


def _stateful_classes() -> dict[str, type]:
    """Public classes of runtime_lib with snapshot() and restore(), by name."""
    found = {}
    for info in pkgutil.walk_packages(runtime_lib.__path__, "runtime_lib."):
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ == info.name and not name.startswith("_") and cls is not Stateful
                    and issubclass(cls, Stateful)):
                found[f"{info.name}.{name}"] = cls
    return found


# pieces of an operator's state, in its snapshot: covered through the operator
PIECES = {"AggregateStates", "KeyEncoder", "EmittedRows", "Slots", "KeyIds", "Rows", "RowStore", "_State", "MinMaxState",
          "MinMaxRetractState", "FirstLastState",
          "DistinctState", "PercentileState", "ListAggState"}


def test_every_operator_has_a_case():
    """Each public stateful class takes its snapshot() from a class a case
    covers (or is a piece of an operator's state): a new operator needs a case."""
    covered = {cls.__name__ for cls in COVERS}
    missing = []
    for where, cls in _stateful_classes().items():
        owner = cls.snapshot.__qualname__.split(".")[0]
        if owner not in covered and owner not in PIECES:
            missing.append(where)
    assert not missing, f"stateful operators without a case in CASES: {missing}"


def test_check_state_names_what_needs_pickle():
    check_state({"a": [1, 2.5, "x", None, True], "b": {"c": np.zeros(3)}, "n": np.int64(3)})
    bad = [({"v": np.array(["a"], object)}, "state.v: an object array"),
           ({"v": [("a", 1)]}, "state.v[0]: a tuple"),
           ({"v": {1: 2}}, "state.v: key 1"),
           ({"v": {"$array": 2}}, "state.v: key '$array'"),
           ({"v": {"x"}}, "state.v: a set"),
           ({"v": np.array(["2024-01-01"], "datetime64[D]")}, "state.v: a numpy array of dtype")]
    for data, message in bad:
        with pytest.raises(StateError, match=message.replace("[", r"\[").replace("$", r"\$")):
            check_state(data)


def test_operators_of_reads_the_query_operators():
    class Query:
        def __init__(self):
            self.ctx = object()
            self.window = TemporalSort("t", ["t"], ["i"])
            self.join = Watermarks(0)
            self.table = object()
            self.operators = {"window": self.window, "join": self.join}

    q = Query()
    assert operators_of(q) == {"window": q.window, "join": q.join}
    q.operators["table"] = q.table
    with pytest.raises(TypeError, match=r"Query.operators\['table'\] has no"):
        operators_of(q)
    del q.operators  # a query with no stateful operator
    assert operators_of(q) == {}


def test_driver_sees_the_listed_operators_only():
    """The commit horizon of the driver (pipeline._state_horizon) reads the
    operators a query lists: a table it holds beside them is not state."""
    from runtime_lib.driver import _state_horizon

    class Query:
        def __init__(self):
            self.ctx = object()
            self.window_aggregate = WindowAggregate(window=Tumble(10), key_kinds=[], aggs=[Agg("count_star")],
                                                    emit=AfterWatermark(delay_ms=5))
            self.model_configs = object()  # a lookup table, not listed
            self.operators = {"window_aggregate": self.window_aggregate}

    assert _state_horizon(Query()) == 10 + 5 + 1
