"""Shared pieces of the window tests: event streams, an operator driver, the
independent Python references of the watermark/lateness/session rules, and the
DuckDB batch queries the streaming results must equal."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import numpy as np
from hypothesis import strategies as st

from runtime_lib.columns import Column, column_from_pylist
from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.windows import (
    AfterWatermark,
    Cumulate,
    Hop,
    Session,
    Tumble,
    WindowAggregate,
)
from runtime_lib.watermarks import WM_MIN, Watermarks
from tests.state_roundtrip import roundtrip

BASE = 1_700_000_000_000  # a multiple of every window size used below
KEYS = ["a", "b", None, "é", "B", "ab"]
STRS = ["x", "y", None, "Z", "é", "", "xy", "\U0001f600"]


@dataclass
class Stream:
    """Events in arrival order (column lists, None = NULL)."""

    part: list = field(default_factory=list)
    ts: list = field(default_factory=list)
    k: list = field(default_factory=list)  # VARCHAR key
    g: list = field(default_factory=list)  # BIGINT key
    x: list = field(default_factory=list)  # DOUBLE
    i: list = field(default_factory=list)  # BIGINT
    s: list = field(default_factory=list)  # VARCHAR
    f: list = field(default_factory=list)  # BOOLEAN (FILTER)
    bound: int = 0
    n_parts: int = 1

    def __len__(self):
        return len(self.ts)


# argument columns passed to the operators, in this order
ARGS = ["x", "i", "s", "ts"]
ARG_KINDS = ["f", "i", "O", "i"]
X, I, S, TS = range(4)


@st.composite
def streams(draw, max_events=80, keys=KEYS, max_parts=2):
    n = draw(st.integers(0, max_events))
    bound = draw(st.sampled_from([0, 1, 5, 20, 60]))
    n_parts = draw(st.integers(1, max_parts))
    late_p = draw(st.sampled_from([0.0, 0.1, 0.3]))
    ev = Stream(bound=bound, n_parts=n_parts)
    clock = BASE + draw(st.sampled_from([0, 3, 10]))
    for _ in range(n):
        clock += draw(st.sampled_from([0, 0, 1, 2, 5, 10, 17]))
        if draw(st.floats(0, 1)) < late_p:
            dis = draw(st.integers(0, 4 * bound + 40))  # may be beyond the bound: late
        else:
            dis = draw(st.integers(0, bound))
        t = clock - dis
        if draw(st.booleans()):
            t -= t % 5  # land on window boundaries often
        ev.part.append(draw(st.integers(0, n_parts - 1)))
        ev.ts.append(t)
        ev.k.append(draw(st.sampled_from(keys)))
        ev.g.append(draw(st.sampled_from([1, 2, None, -7])))
        ev.x.append(draw(st.one_of(st.none(), st.integers(-4000, 4000).map(lambda v: v / 4))))
        ev.i.append(draw(st.one_of(st.none(), st.integers(-1000, 1000))))
        ev.s.append(draw(st.sampled_from(STRS)))
        ev.f.append(draw(st.sampled_from([True, False, None])))
    return ev


def random_stream(rng: np.random.Generator, n: int, n_keys: int, bound: int, late_frac: float = 0.02,
                  span_per_event: float = 2.0) -> Stream:
    """A larger stream made with numpy (thousands of keys)."""
    clock = BASE + np.cumsum(rng.integers(0, int(2 * span_per_event) + 1, n))
    dis = rng.integers(0, bound + 1, n)
    late = rng.random(n) < late_frac
    dis[late] = rng.integers(bound, 4 * bound + 50, late.sum())
    ts = clock - dis
    keys = [f"k{v}" for v in rng.integers(0, n_keys, n)]
    nul = rng.random(n) < 0.05
    keys = [None if z else k for k, z in zip(keys, nul)]
    x = (rng.integers(-4000, 4000, n) / 4).tolist()
    x = [None if z else v for v, z in zip(x, rng.random(n) < 0.05)]
    i = rng.integers(-1000, 1000, n).tolist()
    s = [STRS[j] for j in rng.integers(0, len(STRS), n)]
    f = [bool(b) for b in rng.random(n) < 0.7]
    return Stream(part=[0] * n, ts=ts.tolist(), k=keys, g=[1] * n, x=x, i=i, s=s, f=f, bound=bound, n_parts=1)


# ---------------------------------------------------------------------------
# Independent references
# ---------------------------------------------------------------------------


def reference_watermarks(ev: Stream) -> list[int]:
    """Operator watermark before each event: per partition max(ts) - bound, min
    over all partitions, never going back. Plain loop."""
    max_ts = {p: None for p in range(ev.n_parts)}
    cur = WM_MIN
    out = []
    for p, t in zip(ev.part, ev.ts):
        out.append(cur)
        max_ts[p] = t if max_ts[p] is None else max(max_ts[p], t)
        wms = [WM_MIN if m is None else m - ev.bound for m in max_ts.values()]
        cur = max(cur, min(wms))
    return out


def reference_sessions(ev: Stream, wmb: list[int], gap: int, delay: int, part_of) -> tuple[list, list]:
    """Flink's merging session windows, one event at a time: returns
    (members: list of (event index, start, end), late event indices)."""
    open_: dict = {}
    done = []
    late = []
    for i, (t, w) in enumerate(zip(ev.ts, wmb)):
        sess = open_.setdefault(part_of(i), [])
        keep = []
        for s in sess:
            (done if s[1] - 1 + delay <= w else keep).append(s)
        sess[:] = keep
        hit = [s for s in sess if s[0] <= t + gap and t <= s[1]]
        if not hit:
            if t + gap - 1 + delay <= w:
                late.append(i)
                continue
            sess.append([t, t + gap, [i]])
            continue
        for s in hit:
            sess.remove(s)
        sess.append([min([t] + [s[0] for s in hit]), max([t + gap] + [s[1] for s in hit]),
                     sum((s[2] for s in hit), [i])])
    for sess in open_.values():
        done.extend(sess)
    members = [(i, s[0], s[1]) for s in done for i in s[2]]
    return members, late


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def columns(ev: Stream, a: int, b: int):
    keys = [column_from_pylist(ev.k[a:b], "O"), column_from_pylist(ev.g[a:b], "i")]
    args = [column_from_pylist(ev.x[a:b], "f"), column_from_pylist(ev.i[a:b], "i"),
            column_from_pylist(ev.s[a:b], "O"), column_from_pylist(ev.ts[a:b], "i")]
    filters = [column_from_pylist(ev.f[a:b], "b")]
    return keys, args, filters


def run(ev: Stream, op, batch_size: int, n_keys: int = 1, snapshot_every: int | None = None, make=None):
    """Feed ``ev`` through Watermarks + ``op`` in source batches of at most
    ``batch_size`` events of one partition; returns (rows, late indices, op).
    With ``snapshot_every``, the operator is snapshotted and restored into a
    fresh one (``make()``) every that many batches."""
    wm = Watermarks(ev.bound, partitions=range(ev.n_parts))
    rows, late = [], []
    i, n, nb = 0, len(ev), 0
    while i < n:
        j = i
        while j < n and j - i < batch_size and ev.part[j] == ev.part[i]:
            j += 1
        keys, args, filters = columns(ev, i, j)
        before, cur = wm.observe(ev.part[i], np.array(ev.ts[i:j], np.int64), now_ms=0)
        dropped = op.process(keys=keys[:n_keys], ts=np.array(ev.ts[i:j], np.int64), watermark_before=before,
                             args=args, filters=filters)
        late.extend((i + dropped).tolist())
        rows.extend(op.advance(cur).to_rows())
        nb += 1
        if snapshot_every and nb % snapshot_every == 0:
            snap = op.snapshot()
            op = make()
            op.restore(roundtrip(snap))
        i = j
    rows.extend(op.advance(wm.finish()).to_rows())
    return rows, late, op


# ---------------------------------------------------------------------------
# DuckDB oracle
# ---------------------------------------------------------------------------


def events_table(con, ev: Stream, wmb: list[int], name="ev"):
    n = len(ev)
    data = {
        "seq": np.arange(n, dtype=np.int64), "ts": np.array(ev.ts, np.int64), "wmb": np.array(wmb, np.int64),
    }
    con.execute(
        f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM (SELECT unnest(?::BIGINT[]) AS seq, "
        "unnest(?::BIGINT[]) AS ts, unnest(?::BIGINT[]) AS wmb, unnest(?::VARCHAR[]) AS k, "
        "unnest(?::BIGINT[]) AS g, unnest(?::DOUBLE[]) AS x, unnest(?::BIGINT[]) AS i, "
        "unnest(?::VARCHAR[]) AS s, unnest(?::BOOLEAN[]) AS f)",
        [data["seq"].tolist(), data["ts"].tolist(), data["wmb"].tolist(), ev.k, ev.g, ev.x, ev.i, ev.s, ev.f],
    )


def window_sql(window, delay: int) -> str:
    """Rows (event, window) of events that are not late for the window."""
    if isinstance(window, Tumble):
        z, o = window.size_ms, window.offset_ms
        assign = f"SELECT *, CAST(floor((ts - {o}) / {z}.0) AS BIGINT) * {z} + {o} AS ws, 0 AS j FROM ev"
        size = f"{z}"
    elif isinstance(window, Hop):
        sl, z, o = window.slide_ms, window.size_ms, window.offset_ms
        assign = (f"SELECT ev.*, (CAST(floor((ts - {o}) / {sl}.0) AS BIGINT) - r.range) * {sl} + {o} AS ws "
                  f"FROM ev, range(0, {math.ceil(z / sl) + 1}) r")
        size = f"{z}"
    elif isinstance(window, Cumulate):
        st_, mx, o = window.step_ms, window.max_size_ms, window.offset_ms
        assign = (f"SELECT ev.*, CAST(floor((ts - {o}) / {mx}.0) AS BIGINT) * {mx} + {o} AS ws, "
                  f"r.range * {st_} AS len FROM ev, range(1, {mx // st_ + 1}) r")
        size = "len"
    else:
        raise TypeError(window)
    return (f"SELECT *, ws + {size} AS we FROM ({assign}) "
            f"WHERE ts >= ws AND ts < ws + {size} AND ws + {size} - 1 + {delay} > wmb")


AGG_CASES: list[tuple[Agg, str]] = [
    (Agg("count_star"), "count(*)"),
    (Agg("count_star", filter=0), "count(*) FILTER (WHERE f)"),
    (Agg("count", arg=X), "count(x)"),
    (Agg("count", arg=S, distinct=True), "count(DISTINCT s)"),
    (Agg("count", arg=I, distinct=True, filter=0), "count(DISTINCT i) FILTER (WHERE f)"),
    (Agg("count", arg=X, distinct=True), "count(DISTINCT x)"),
    (Agg("sum", arg=I), "sum(i)"),
    (Agg("sum", arg=X), "sum(x)"),
    (Agg("sum", arg=X, filter=0), "sum(x) FILTER (WHERE f)"),
    (Agg("avg", arg=I), "avg(i)"),
    (Agg("avg", arg=X), "avg(x)"),
    (Agg("min", arg=X), "min(x)"),
    (Agg("max", arg=I), "max(i)"),
    (Agg("max", arg=TS), "max(ts)"),
    (Agg("min", arg=S), "min(s)"),
    (Agg("max", arg=S, filter=0), "max(s) FILTER (WHERE f)"),
    (Agg("stddev", arg=X), "stddev_samp(x)"),
    (Agg("stddev_pop", arg=X), "stddev_pop(x)"),
    (Agg("variance", arg=I), "var_samp(i)"),
    (Agg("var_pop", arg=I), "var_pop(i)"),
    (Agg("var_samp", arg=X, filter=0), "var_samp(x) FILTER (WHERE f)"),
    (Agg("first_value", arg=X), "arg_min(x, seq) FILTER (WHERE x IS NOT NULL)"),
    (Agg("last_value", arg=S), "arg_max(s, seq) FILTER (WHERE s IS NOT NULL)"),
    (Agg("first_value", arg=I, filter=0), "arg_min(i, seq) FILTER (WHERE i IS NOT NULL AND f)"),
    (Agg("corr", arg=X, arg2=I), "corr(x, i)"),
    (Agg("percentile_cont", arg=X, param=0.5), "quantile_cont(x, 0.5)"),
    (Agg("percentile_cont", arg=X, param=0.95), "quantile_cont(x, 0.95)"),
    (Agg("percentile_cont", arg=I, param=0.25), "quantile_cont(i, 0.25)"),
    (Agg("percentile_disc", arg=I, param=0.3), "quantile_disc(i, 0.3)"),
    (Agg("percentile_disc", arg=X, param=0.9, filter=0), "quantile_disc(x, 0.9) FILTER (WHERE f)"),
]


def expected_rows(con, from_sql: str, group_cols: list[str], cases=AGG_CASES, extra_group=()) -> dict:
    aggs = ", ".join(sql for _, sql in cases)
    gcols = ", ".join(list(group_cols) + list(extra_group))
    q = f"SELECT {gcols}, {aggs} FROM ({from_sql}) GROUP BY ALL"
    nk = len(group_cols) + len(extra_group)
    return {tuple(r[:nk]): tuple(_norm(v) for v in r[nk:]) for r in con.execute(q).fetchall()}


def _norm(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def assert_same(got: dict, want: dict, cases=AGG_CASES):
    assert set(got) == set(want), f"groups differ: only got {set(got) - set(want)}, only want {set(want) - set(got)}"
    for key, want_row in want.items():
        for (agg, sql), a, b in zip(cases, got[key], want_row):
            assert values_equal(a, b), f"{key} {sql} ({agg.func}): got {a!r}, DuckDB {b!r}"


def values_equal(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def result_dict(rows, n_keys: int, n_window_cols: int = 3) -> dict:
    """{(keys..., window_start, window_end): aggs} from output rows; asserts no duplicates."""
    out = {}
    for r in rows:
        key = tuple(r[: n_keys + 2])
        assert key not in out, f"window emitted twice: {key}"
        assert r[n_keys + 2] == r[n_keys + 1] - 1, "window_time must be window_end - 1"
        out[key] = tuple(r[n_keys + n_window_cols:])
    return out


def make_op(window, aggs, emit=None, n_keys=1):
    return WindowAggregate(window=window, key_kinds=["O", "i"][:n_keys], arg_kinds=ARG_KINDS, aggs=aggs,
                           emit=emit or AfterWatermark())


__all__ = [
    "AGG_CASES", "ARGS", "ARG_KINDS", "BASE", "Column", "Cumulate", "Hop", "Session", "Stream", "Tumble",
    "assert_same", "columns", "duckdb", "events_table", "expected_rows", "make_op", "random_stream",
    "reference_sessions", "reference_watermarks", "result_dict", "run", "streams", "values_equal", "window_sql",
]
