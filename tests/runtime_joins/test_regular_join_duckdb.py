"""Differential tests of the regular Join (no time bound): its output is a
changelog, and applying it (``+I``/``+U`` add a row, ``-D``/``-U`` remove one)
after end of input gives exactly the same join as a DuckDB batch query, for
INNER, LEFT, RIGHT and FULL, with NULL and duplicate keys, a residual
condition, any micro-batch size, a snapshot/restore in the middle, and input
changelogs that retract earlier rows. Every retraction must remove a row that
was emitted before. Also: Flink's sequence for outer rows (+I NULL-padded, -D
when the first match arrives, +I again when the last match is retracted) and
the state TTL."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from join_helpers import (
    LEFT_KINDS,
    LEFT_NAMES,
    RIGHT_KINDS,
    RIGHT_NAMES,
    batches,
    duckdb,
    events,
    norm,
    roundtrip,
    side_batch,
    side_tables,
)

from runtime_lib.columns import Batch, Column, column_from_pylist
from runtime_lib.operators.joins import Join

KINDS = ["INNER", "LEFT", "RIGHT", "FULL"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def residual_x_lt_y(b: Batch) -> Column:
    lx, ry = b["lx"], b["ry"]
    return Column(lx.values < ry.values, lx.is_valid() & ry.is_valid())


def make(kind, residual=None, **kw):
    return Join(kind=kind, key_kinds=["O", "i"], left_names=LEFT_NAMES, right_names=RIGHT_NAMES,
                left_kinds=LEFT_KINDS, right_kinds=RIGHT_KINDS, residual=residual, **kw)


def apply_changelog(outs) -> Counter:
    """The result table after the changelog, checking each retraction."""
    table: Counter = Counter()
    for b in outs:
        assert b.ops is not None and len(b.ops) == b.num_rows
        for op, row in zip(b.ops.tolist(), b.to_rows()):
            if op in ("+I", "+U"):
                table[row] += 1
            else:
                assert table[row] > 0, f"{op} of a row that is not in the result: {row}"
                table[row] -= 1
    return +table


def run(ev, op, batch_size, ops=None, snapshot_every=None, make_op=None):
    outs = []
    for nb, (s, idx) in enumerate(batches(ev, batch_size)):
        rows = side_batch(ev, idx, s)
        if ops is not None:
            rows = Batch(rows.columns, rows.num_rows, None, np.array([ops[i] for i in idx], object))
        names = LEFT_NAMES if s == 0 else RIGHT_NAMES
        keys = [rows.columns[names[1]], rows.columns[names[2]]]
        outs.append((op.process_left if s == 0 else op.process_right)(keys, rows, now_ms=0))
        if snapshot_every and (nb + 1) % snapshot_every == 0:
            snap = roundtrip(op.snapshot())
            op = make_op()
            op.restore(snap)
    return outs, op


def expected(ev, keep, kind, residual_sql=""):
    con = duckdb.connect()
    side_tables(con, ev, keep)
    return con.execute(f"SELECT l.*, r.* FROM l {kind} JOIN r ON l.lk = r.rk AND l.lg = r.rg {residual_sql}"
                       ).fetchall()


def as_counter(rows) -> Counter:
    return Counter(tuple(norm([r])[0]) for r in rows)


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(ev=events(), batch_size=st.sampled_from([1, 3, 1000]), residual=st.booleans())
def test_join_changelog_matches_duckdb(kind, ev, batch_size, residual):
    op = make(kind, residual_x_lt_y if residual else None)
    outs, _ = run(ev, op, batch_size)
    got = apply_changelog(outs)
    want = expected(ev, None, kind, "AND l.lx < r.ry" if residual else "")
    assert as_counter(got.elements()) == as_counter(want)
    if kind == "INNER":  # append-only
        assert all(set(b.ops.tolist()) <= {"+I"} for b in outs)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=25, deadline=None)
@given(ev=events(max_events=70), batch_size=st.sampled_from([1, 4]))
def test_snapshot_restore_midway(kind, ev, batch_size):
    outs, _ = run(ev, make(kind), batch_size, snapshot_every=3, make_op=lambda: make(kind))
    assert as_counter(apply_changelog(outs).elements()) == as_counter(expected(ev, None, kind))


@st.composite
def changelog_events(draw):
    """Events where some rows retract an earlier row of the same side (-D/-U),
    and the retracted row's re-insert (+U) may follow."""
    ev = draw(events(max_events=40))
    extra = draw(st.integers(0, 15))
    alive = {0: [], 1: []}
    out_ev = type(ev)(bound=ev.bound)
    out_ops = []
    for i in range(len(ev)):
        for attr in ("side", "k", "g", "t", "x"):
            getattr(out_ev, attr).append(getattr(ev, attr)[i])
        out_ops.append("+I")
        alive[ev.side[i]].append(len(out_ev) - 1)
        if extra and draw(st.booleans()):
            s = draw(st.integers(0, 1))
            if alive[s]:
                j = alive[s].pop(draw(st.integers(0, len(alive[s]) - 1)))
                for attr in ("side", "k", "g", "t", "x"):
                    getattr(out_ev, attr).append(getattr(out_ev, attr)[j])
                out_ops.append(draw(st.sampled_from(["-D", "-U"])))
                extra -= 1
    return out_ev, out_ops


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40, deadline=None)
@given(case=changelog_events(), batch_size=st.sampled_from([1, 3, 1000]))
def test_input_retractions(kind, case, batch_size):
    """Retracting input rows: the result equals the batch join of what is left.
    (A retraction carries the values of the row it retracts, seq included.)"""
    ev, ops = case
    # a retraction row repeats the retracted row exactly: give it the same seq
    seq = []
    first_of: dict = {}
    for i in range(len(ev)):
        key = (ev.side[i], ev.k[i], ev.g[i], ev.t[i], ev.x[i])
        if ops[i] == "+I":
            first_of.setdefault(key, []).append(i)
            seq.append(i)
        else:
            seq.append(first_of[key].pop())
    outs = []
    op = make(kind)
    for s, idx in batches(ev, batch_size):
        names = LEFT_NAMES if s == 0 else RIGHT_NAMES
        cols = [column_from_pylist([seq[i] for i in idx], "i"), column_from_pylist([ev.k[i] for i in idx], "O"),
                column_from_pylist([ev.g[i] for i in idx], "i"), column_from_pylist([ev.t[i] for i in idx], "i"),
                column_from_pylist([ev.x[i] for i in idx], "f")]
        rows = Batch(dict(zip(names, cols)), len(idx), None, np.array([ops[i] for i in idx], object))
        outs.append((op.process_left if s == 0 else op.process_right)([cols[1], cols[2]], rows, now_ms=0))
    got = apply_changelog(outs)
    retracted = {seq[i] for i in range(len(ev)) if ops[i] != "+I"}
    keep = {i for i in range(len(ev)) if ops[i] == "+I" and i not in retracted}
    want = expected(ev, keep, kind)
    assert as_counter(got.elements()) == as_counter(want)


def test_outer_row_is_retracted_when_a_match_arrives_and_comes_back():
    j = Join(kind="FULL", key_kinds=["O"], left_names=["lk", "lv"], right_names=["rk", "rv"],
             left_kinds=["O", "i"], right_kinds=["O", "i"])

    def rows(names, k, v, ops=None):
        return Batch({names[0]: column_from_pylist(k, "O"), names[1]: column_from_pylist(v, "i")}, len(k), None,
                     None if ops is None else np.array(ops, object))

    def log(out):
        return list(zip(out.ops.tolist(), out.to_rows()))

    a = rows(["lk", "lv"], ["a", None], [1, 2])
    assert log(j.process_left([a["lk"]], a)) == [("+I", ("a", 1, None, None)), ("+I", (None, 2, None, None))]
    b = rows(["rk", "rv"], ["a", "a"], [7, 8])
    assert log(j.process_right([b["rk"]], b)) == [
        ("-D", ("a", 1, None, None)), ("+I", ("a", 1, "a", 7)), ("+I", ("a", 1, "a", 8))]
    c = rows(["rk", "rv"], ["a", "a"], [7, 8], ["-D", "-D"])
    assert log(j.process_right([c["rk"]], c)) == [
        ("-D", ("a", 1, "a", 7)), ("-D", ("a", 1, "a", 8)), ("+I", ("a", 1, None, None))]
    assert j.state_rows == 1  # the right rows were retracted from state


def test_state_ttl_drops_old_rows():
    j = Join(kind="INNER", key_kinds=["O"], left_names=["lk"], right_names=["rk"], left_kinds=["O"],
             right_kinds=["O"], state_ttl_ms=1_000)
    one = Batch({"lk": column_from_pylist(["a"], "O")}, 1)
    j.process_left([one["lk"]], one, now_ms=0)
    r = Batch({"rk": column_from_pylist(["a"], "O")}, 1)
    assert j.process_right([r["rk"]], r, now_ms=999).num_rows == 1
    # the left row was written at 0 and is 1000 ms old: gone; the right row (999) is kept
    assert j.process_right([r["rk"]], r, now_ms=1_000).num_rows == 0
    assert j.expired_rows == 1 and j.state_rows == 2
    assert j.expire(now_ms=5_000) == 2 and j.state_rows == 0


def test_state_ttl_per_side():
    """(left, right) TTLs: the left rows expire after 1 s, the right ones are kept for ever."""
    j = Join(kind="INNER", key_kinds=["O"], left_names=["lk"], right_names=["rk"], left_kinds=["O"],
             right_kinds=["O"], state_ttl_ms=(1_000, None))
    left = Batch({"lk": column_from_pylist(["a"], "O")}, 1)
    right = Batch({"rk": column_from_pylist(["a"], "O")}, 1)
    j.process_left([left["lk"]], left, now_ms=0)
    j.process_right([right["rk"]], right, now_ms=10)
    assert j.expire(now_ms=10**9) == 1 and j.state_rows == 1  # only the left row went
    # a new left row still finds the right row written long ago
    assert j.process_left([left["lk"]], left, now_ms=10**9).to_rows() == [("a", "a")]
    with pytest.raises(ValueError, match="positive"):
        Join(kind="INNER", key_kinds=["O"], left_names=["lk"], right_names=["rk"], left_kinds=["O"],
             right_kinds=["O"], state_ttl_ms=(0, None))


def test_many_keys_and_duplicates_vs_duckdb():
    from join_helpers import random_events

    ev = random_events(np.random.default_rng(5), 6_000, 400, bound=10)
    for kind in KINDS:
        outs, _ = run(ev, make(kind), 500)
        assert as_counter(apply_changelog(outs).elements()) == as_counter(expected(ev, None, kind))
