"""Shared pieces of the join tests: two-sided event streams in arrival order, a
driver that cuts them into micro-batches, the independent reference of the
join's per-row watermark, and DuckDB tables for the batch oracle."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import numpy as np
from hypothesis import strategies as st

from runtime_lib.columns import Batch, column_from_pylist
from runtime_lib.watermarks import WM_MAX, WM_MIN, Watermarks
from tests.state_roundtrip import roundtrip

BASE = 1_700_000_000_000
KEYS = ["a", "b", None, "é", "ab"]
GS = [1, 2, None]

LEFT_NAMES = ["lseq", "lk", "lg", "lt", "lx"]
RIGHT_NAMES = ["rseq", "rk", "rg", "rt", "ry"]
LEFT_KINDS = RIGHT_KINDS = ["i", "O", "i", "i", "f"]


@dataclass
class Events:
    """Events of both inputs in arrival order (column lists, None = NULL)."""

    side: list = field(default_factory=list)  # 0 = left, 1 = right
    k: list = field(default_factory=list)  # VARCHAR key
    g: list = field(default_factory=list)  # BIGINT key
    t: list = field(default_factory=list)  # event time
    x: list = field(default_factory=list)  # DOUBLE payload
    bound: int = 0  # watermark bound (out-of-orderness) of both inputs

    def __len__(self):
        return len(self.t)


@st.composite
def events(draw, max_events=60, keys=KEYS, late=True):
    n = draw(st.integers(0, max_events))
    # without late rows: out of order by less than the bound (rounding to a
    # multiple of 5 below moves a row back by up to 4 more)
    bound = draw(st.sampled_from([0, 3, 10, 30] if late else [10, 30]))
    slack = 0 if late else 5
    late_p = draw(st.sampled_from([0.0, 0.15] if late else [0.0]))
    ev = Events(bound=bound)
    clock = [BASE, BASE]
    for _ in range(n):
        s = draw(st.integers(0, 1))
        clock[s] += draw(st.sampled_from([0, 1, 2, 5, 10]))
        if draw(st.floats(0, 1)) < late_p:
            dis = draw(st.integers(0, 3 * bound + 30))
        else:
            dis = draw(st.integers(0, bound - slack))
        t = clock[s] - dis
        if draw(st.booleans()):
            t -= t % 5  # land on interval bounds often
        ev.side.append(s)
        ev.k.append(draw(st.sampled_from(keys)))
        ev.g.append(draw(st.sampled_from(GS)))
        ev.t.append(t)
        ev.x.append(draw(st.one_of(st.none(), st.integers(-20, 20).map(float))))
    return ev


def random_events(rng: np.random.Generator, n: int, n_keys: int, bound: int, late_frac: float = 0.01,
                  null_frac: float = 0.03) -> Events:
    """A larger two-sided stream made with numpy."""
    side = rng.integers(0, 2, n)
    step = rng.integers(0, 5, n)
    clock = np.zeros(n, np.int64)
    for s in (0, 1):
        m = side == s
        clock[m] = BASE + np.cumsum(step[m])
    dis = rng.integers(0, bound + 1, n)
    lt = rng.random(n) < late_frac
    dis[lt] = rng.integers(bound, 4 * bound + 50, int(lt.sum()))
    t = clock - dis
    keys = [f"k{v}" for v in rng.integers(0, n_keys, n)]
    keys = [None if z else k for k, z in zip(keys, rng.random(n) < null_frac)]
    x = (rng.integers(-20, 20, n) * 1.0).tolist()
    return Events(side=side.tolist(), k=keys, g=[1] * n, t=t.tolist(), x=x, bound=bound)


# ---------------------------------------------------------------------------
# Independent reference: the join's watermark before each event
# ---------------------------------------------------------------------------


def reference_join_watermarks(ev: Events) -> list[int]:
    """min over the two inputs of (max event time so far - bound), never going
    back; WM_MIN while an input has seen nothing. Plain loop."""
    mx = [None, None]
    cur = WM_MIN
    out = []
    for s, t in zip(ev.side, ev.t):
        out.append(cur)
        mx[s] = t if mx[s] is None else max(mx[s], t)
        w = min(WM_MIN if m is None else m - ev.bound for m in mx)
        cur = max(cur, w)
    return out


def reference_interval_join(ev: Events, kind: str, lower: int, upper: int, n_keys: int = 2,
                            residual=None) -> list[tuple]:
    """Flink's interval join, one event at a time (plain loop, the oracle when
    rows arrive behind the watermark): before each event the buffered rows
    whose bound the watermark reached are freed (NULL-padded if outer and never
    matched); the event meets the other side's buffered rows; it is buffered if
    its own bound is ahead of the watermark, otherwise NULL-padded at once if
    outer and unmatched. Rows as ``SELECT l.*, r.*``."""
    wmb = reference_join_watermarks(ev)
    outer = (kind in ("LEFT", "FULL"), kind in ("RIGHT", "FULL"))
    buffered: tuple[list, list] = ([], [])  # [event, bound, matches]
    out: list[tuple] = []
    none = (None,) * 5

    def row(i):
        return (i, ev.k[i], ev.g[i], ev.t[i], ev.x[i])

    def padded(s, i):
        return row(i) + none if s == 0 else none + row(i)

    def key(i):
        k = (ev.k[i], ev.g[i])[:n_keys]
        return None if any(v is None for v in k) else k

    def free(w):
        for s in (0, 1):
            for e in buffered[s]:
                if e[1] <= w and outer[s] and e[2] == 0:
                    out.append(padded(s, e[0]))
            buffered[s][:] = [e for e in buffered[s] if e[1] > w]

    for i in range(len(ev)):
        w = wmb[i]
        free(w)
        s, t = ev.side[i], ev.t[i]
        lo, bound = (t + lower, t + upper) if s == 0 else (t - upper, t - lower)
        hits = 0
        if key(i) is not None:
            for e in buffered[1 - s]:
                j = e[0]
                if key(j) == key(i) and lo <= ev.t[j] <= bound:
                    li, ri = (i, j) if s == 0 else (j, i)
                    if residual is None or residual(ev.x[li], ev.x[ri]):
                        out.append(row(li) + row(ri))
                        hits += 1
                        e[2] += 1
            if bound > w:
                buffered[s].append([i, bound, hits])
                continue
        if outer[s] and hits == 0:
            out.append(padded(s, i))
    free(WM_MAX)
    return out


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def side_batch(ev: Events, idx: list[int], s: int) -> Batch:
    names = LEFT_NAMES if s == 0 else RIGHT_NAMES
    cols = [column_from_pylist(idx, "i"), column_from_pylist([ev.k[i] for i in idx], "O"),
            column_from_pylist([ev.g[i] for i in idx], "i"), column_from_pylist([ev.t[i] for i in idx], "i"),
            column_from_pylist([ev.x[i] for i in idx], "f")]
    return Batch(dict(zip(names, cols)), len(idx))


def batches(ev: Events, batch_size: int):
    """(side, event indices) per micro-batch: runs of one side, at most batch_size."""
    i, n = 0, len(ev)
    while i < n:
        j = i
        while j < n and j - i < batch_size and ev.side[j] == ev.side[i]:
            j += 1
        yield ev.side[i], list(range(i, j))
        i = j


def run_join(ev: Events, op, batch_size: int, n_keys: int = 2, snapshot_every: int | None = None,
             make=None, check_state=None):
    """Feed ``ev`` through two Watermarks and ``op`` (IntervalJoin or Join).
    Returns (output batches in order, late event indices, op)."""
    wms = [Watermarks(ev.bound), Watermarks(ev.bound)]
    outs, late = [], []
    for nb, (s, idx) in enumerate(batches(ev, batch_size)):
        rows = side_batch(ev, idx, s)
        ts = rows.columns[(LEFT_NAMES if s == 0 else RIGHT_NAMES)[3]].values
        before, _ = wms[s].observe(0, ts, now_ms=0)
        before = np.minimum(before, wms[1 - s].current)
        keys = [rows.columns[n] for n in (LEFT_NAMES if s == 0 else RIGHT_NAMES)[1:1 + n_keys]]
        proc = op.process_left if s == 0 else op.process_right
        out, dropped = proc(keys, ts, rows, watermark_before=before)
        outs.append(out)
        late.extend(np.asarray(idx)[dropped].tolist())
        w = min(wms[0].current, wms[1].current)
        outs.append(op.advance(w))
        if check_state is not None:
            check_state(op, w)
        if snapshot_every and (nb + 1) % snapshot_every == 0:
            snap = roundtrip(op.snapshot())
            op = make()
            op.restore(snap)
    outs.append(op.advance(WM_MAX))
    return outs, late, op


def rows_of(outs) -> list[tuple]:
    return [r for b in outs for r in b.to_rows()]


# ---------------------------------------------------------------------------
# DuckDB oracle
# ---------------------------------------------------------------------------


def side_tables(con, ev: Events, keep: set[int] | None = None) -> None:
    """Tables l and r with the events of each side (only ``keep`` when given)."""
    for s, name, cols in ((0, "l", LEFT_NAMES), (1, "r", RIGHT_NAMES)):
        idx = [i for i in range(len(ev)) if ev.side[i] == s and (keep is None or i in keep)]
        con.execute(
            f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM (SELECT unnest(?::BIGINT[]) AS {cols[0]}, "
            f"unnest(?::VARCHAR[]) AS {cols[1]}, unnest(?::BIGINT[]) AS {cols[2]}, "
            f"unnest(?::BIGINT[]) AS {cols[3]}, unnest(?::DOUBLE[]) AS {cols[4]})",
            [idx, [ev.k[i] for i in idx], [ev.g[i] for i in idx], [ev.t[i] for i in idx],
             [ev.x[i] for i in idx]],
        )


def norm(rows) -> list[tuple]:
    """Rows sorted with NULLs first, NaN as None (a multiset comparison)."""
    def fix(v):
        return None if isinstance(v, float) and math.isnan(v) else v

    fixed = [tuple(fix(v) for v in r) for r in rows]
    return sorted(fixed, key=lambda r: tuple((v is None, str(type(v)), v if v is not None else 0) for v in r))


__all__ = [
    "BASE",
    "LEFT_KINDS",
    "LEFT_NAMES",
    "RIGHT_KINDS",
    "RIGHT_NAMES",
    "reference_interval_join",
    "Events",
    "batches",
    "duckdb",
    "events",
    "norm",
    "random_events",
    "reference_join_watermarks",
    "roundtrip",
    "rows_of",
    "run_join",
    "side_batch",
    "side_tables",
]
