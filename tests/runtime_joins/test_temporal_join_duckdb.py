"""Differential tests: a TemporalJoin (Flink's event-time temporal join) fed
micro-batches of a stream and of a versioned table, in an interleaved arrival
order, gives the rows DuckDB computes for the same input: each stream row that
was not late joins the latest version (highest version time <= its time, the
last arrived among equal times) of its key, unless that version is a ``-D``.

Timing is the harness's, computed here with plain loops: each source's
watermark is its highest time so far minus a delay; the join's watermark is
the lower of the two; a stream row is late (dropped) when its time is <= the
join's watermark before it; a row not late is emitted at the first ``advance``
whose watermark reaches its time, so it sees the versions that arrived
before that ``advance`` (``arrived <= emitted`` in the SQL). Inputs come from
hypothesis: out-of-order rows, ties in time, NULL keys, deletes and ``-U``
rows, late rows on both sides, any batch size (1, 7, large), a residual ON
condition, and a snapshot/restore (through a checkpoint's encoding) midway."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from state_roundtrip import roundtrip

from runtime_lib.columns import Batch, Column, column_from_pylist
from runtime_lib.operators.joins import TemporalJoin
from runtime_lib.watermarks import WM_MAX, WM_MIN

LEFT_NAMES, LEFT_KINDS = ["id", "k", "t", "x"], ["i", "O", "i", "i"]
RIGHT_NAMES, RIGHT_KINDS = ["rk", "v", "vt"], ["O", "i", "i"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys = st.sampled_from(["a", "b", "c", None])
left_rows = st.lists(st.tuples(keys, st.integers(0, 60), st.integers(0, 9)), max_size=40)
right_rows = st.lists(st.tuples(keys, st.integers(0, 9), st.integers(0, 60),
                                st.sampled_from(["+I", "+I", "+U", "-U", "-D"])), max_size=30)


def x_lt_v(b: Batch) -> Column:
    """x < v, NULL when either is NULL (the ON condition's rest)."""
    x, v = b["x"], b["v"]
    return Column(x.values < v.values, x.is_valid() & v.is_valid())


def batch(names, kinds, rows, ops=None) -> Batch:
    cols = {n: column_from_pylist([r[i] for r in rows], k) for i, (n, k) in enumerate(zip(names, kinds))}
    return Batch(cols, len(rows), None, None if ops is None else np.array(ops, object))


def run(kind, left, right, order, size, delays, residual, restore_at):
    """Feed the join; returns (output rows, late ids, the oracle's tables)."""
    left = [(i, k, t, x) for i, (k, t, x) in enumerate(left)]
    right = [(i, k, v, vt, op) for i, (k, v, vt, op) in enumerate(right)]
    chunks = {"L": [left[i:i + size] for i in range(0, len(left), size)],
              "R": [right[i:i + size] for i in range(0, len(right), size)]}
    sequence, pending = [], dict(chunks)
    for side in order:  # hypothesis' interleaving, then whatever is left
        if pending[side]:
            sequence.append((side, pending[side][0]))
            pending = {**pending, side: pending[side][1:]}
    sequence += [("L", c) for c in pending["L"]] + [("R", c) for c in pending["R"]]

    def make():
        return TemporalJoin(kind=kind, key_kinds=["O"], left_names=LEFT_NAMES, right_names=RIGHT_NAMES,
                            left_kinds=LEFT_KINDS, right_kinds=RIGHT_KINDS,
                            residual=x_lt_v if residual else None)

    join = make()
    wm = {"L": WM_MIN, "R": WM_MIN}
    out, late_ids, emitted_at, arrived_at = [], [], {}, {}
    for step, (side, rows) in enumerate(sequence):
        if step == restore_at:
            data = roundtrip(join.snapshot())
            join = make()
            join.restore(data)
        if side == "L":
            # the left source's watermark before each row, and the join's
            before = []
            for r in rows:
                before.append(min(wm["L"], wm["R"]))
                wm["L"] = max(wm["L"], r[2] - delays[0])
            b = batch(LEFT_NAMES, LEFT_KINDS, rows)
            got, late = join.process_left([b["k"]], b["t"].values, b, watermark_before=np.array(before))
            late_ids += [rows[i][0] for i in late.tolist()]
            out += got.to_rows()
            for r, w in zip(rows, before):
                if r[2] > w:
                    emitted_at[r[0]] = None  # not late: emitted at a later advance
        else:
            b = batch(RIGHT_NAMES, RIGHT_KINDS, [r[1:4] for r in rows], [r[4] for r in rows])
            join.process_right([b["rk"]], b["vt"].values, b)
            for r in rows:
                arrived_at[r[0]] = step
                wm["R"] = max(wm["R"], r[3] - delays[1])
        w = min(wm["L"], wm["R"])
        out += join.advance(w).to_rows()
        for r in left:
            if r[0] in emitted_at and emitted_at[r[0]] is None and r[2] <= w:
                emitted_at[r[0]] = step
        check_versions(join, w)
    out += join.advance(WM_MAX).to_rows()
    emitted_at = {i: (len(sequence) if s is None else s) for i, s in emitted_at.items()}
    return out, late_ids, left, right, emitted_at, arrived_at


def check_versions(join, w):
    """Per key at most one version at or before the watermark stays in state."""
    v = join.state[R_SIDE]
    alive = v.alive[:v.n]
    kid, ts = v.kid[:v.n][alive], v.ts[:v.n][alive]
    old = kid[ts <= w]
    assert len(old) == len(np.unique(old)), "versions older than the valid one were kept"


R_SIDE = 1


def oracle(kind, left, right, emitted_at, arrived_at, residual):
    con = duckdb.connect()
    con.execute("CREATE TABLE l (id INT, k VARCHAR, t INT, x INT, emitted INT)")
    con.execute("CREATE TABLE r (seq INT, rk VARCHAR, v INT, vt INT, op VARCHAR, arrived INT)")
    rows = [(i, k, t, x, emitted_at[i]) for i, k, t, x in left if i in emitted_at]
    if rows:
        con.executemany("INSERT INTO l VALUES (?, ?, ?, ?, ?)", rows)
    versions = [(i, k, v, vt, op, arrived_at[i]) for i, k, v, vt, op in right if op != "-U"]
    if versions:
        con.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?)", versions)
    on = "AND l.x < latest.v" if residual else ""
    join = "LEFT JOIN" if kind == "LEFT" else "JOIN"
    sql = f"""
        WITH latest AS (
            SELECT l.id, r.rk, r.v, r.vt, r.op,
                   ROW_NUMBER() OVER (PARTITION BY l.id ORDER BY r.vt DESC, r.seq DESC) AS n
            FROM l JOIN r ON r.rk = l.k AND r.vt <= l.t AND r.arrived <= l.emitted)
        SELECT l.id, l.k, l.t, l.x, latest.rk, latest.v, latest.vt
        FROM l {join} latest ON latest.id = l.id AND latest.n = 1 AND latest.op <> '-D' {on}"""
    return con.execute(sql).fetchall()


def norm(rows):
    return sorted(rows, key=repr)


@SETTINGS
@given(kind=st.sampled_from(["INNER", "LEFT"]), left=left_rows, right=right_rows,
       order=st.lists(st.sampled_from("LR"), max_size=30), size=st.sampled_from([1, 7, 65_536]),
       delays=st.tuples(st.integers(0, 15), st.integers(0, 15)), residual=st.booleans(),
       restore_at=st.integers(0, 12))
def test_temporal_join_equals_duckdb(kind, left, right, order, size, delays, residual, restore_at):
    out, late_ids, left_t, right_t, emitted_at, arrived_at = run(
        kind, left, right, order, size, delays, residual, restore_at)
    expected = oracle(kind, left_t, right_t, emitted_at, arrived_at, residual)
    assert norm(out) == norm(expected)
    assert sorted(late_ids) == sorted(i for i, *_ in left_t if i not in emitted_at)


def test_late_rows_and_deletes_by_hand():
    """The page's shape: versions at 10 and 20, a -D at 30; a late row is dropped."""
    j = TemporalJoin(kind="LEFT", key_kinds=["O"], left_names=LEFT_NAMES, right_names=RIGHT_NAMES,
                     left_kinds=LEFT_KINDS, right_kinds=RIGHT_KINDS)
    v = batch(RIGHT_NAMES, RIGHT_KINDS, [("a", 1, 10), ("a", 2, 20), ("a", 0, 30)], ["+I", "+U", "-D"])
    j.process_right([v["rk"]], v["vt"].values, v)
    s = batch(LEFT_NAMES, LEFT_KINDS, [(1, "a", 5, 0), (2, "a", 10, 0), (3, "a", 29, 0), (4, "a", 30, 0)])
    out, late = j.process_left([s["k"]], s["t"].values, s, watermark_before=0)
    assert out.num_rows == 0 and late.tolist() == []
    assert j.advance(40).to_rows() == [(1, "a", 5, 0, None, None, None), (2, "a", 10, 0, "a", 1, 10),
                                       (3, "a", 29, 0, "a", 2, 20), (4, "a", 30, 0, None, None, None)]
    assert j.versions == 1  # only the -D, valid at the watermark
    out, late = j.process_left([s["k"]], s["t"].values, s, watermark_before=40)
    assert late.tolist() == [0, 1, 2, 3] and j.late_count == 4 and out.num_rows == 0


def test_kind_refused():
    with pytest.raises(ValueError, match="INNER or LEFT"):
        TemporalJoin(kind="FULL", key_kinds=["O"], left_names=LEFT_NAMES, right_names=RIGHT_NAMES,
                     left_kinds=LEFT_KINDS, right_kinds=RIGHT_KINDS)
