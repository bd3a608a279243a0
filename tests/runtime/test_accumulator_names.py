"""Accumulators are checkpointed by name (``aggregate_specs.accumulator_names``):
an operator of an edited query (aggregates added, removed, reordered) restores
the accumulators it shares with the snapshot and starts the others empty.

For a window aggregate and a GROUP BY, hypothesis draws rows and a cut; the
old operator (aggregates OLD) runs to the cut, its snapshot goes through a
checkpoint's encoding (``roundtrip``) into a new operator (aggregates NEW, in
another order, one dropped, two added, one sharing the state of an old one),
which gets the rest. Then every aggregate NEW shares with OLD equals the
uninterrupted run's, AVG (which reads SUM's state) too, and the added ones
equal the reference over the rows after the cut only.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime_lib.aggregate_specs import accumulator_names, reference_aggregate
from runtime_lib.columns import column_from_pylist
from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.group_aggregate import GroupAggregate
from runtime_lib.operators.windows import Tumble, WindowAggregate
from runtime_lib.watermarks import WM_MAX, WM_MIN
from tests.state_roundtrip import roundtrip

ARGS = ["x", "y"]  # arg 0, arg 1
# name -> (Agg, whether its accumulator is in the old operator's snapshot)
OLD = {"n": Agg("count_star"), "total": Agg("sum", arg=0), "top": Agg("max", arg=1),
       "dropped": Agg("min", arg=0)}
NEW = {"top": Agg("max", arg=1), "mean": Agg("avg", arg=0), "n": Agg("count_star"),
       "total": Agg("sum", arg=0), "distinct_y": Agg("count", arg=1, distinct=True),
       "spread": Agg("var_pop", arg=1)}
SHARED = {"n", "total", "top", "mean"}  # restored (mean from SUM(x)'s state)

rows_st = st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 29),
                             st.one_of(st.none(), st.integers(-5, 5)),
                             st.one_of(st.none(), st.integers(-3, 3))), min_size=1, max_size=40)


def _window(aggs: dict) -> WindowAggregate:
    return WindowAggregate(window=Tumble(size_ms=10), key_kinds=["O"], arg_kinds=["i", "i"],
                           aggs=list(aggs.values()), names=["k", "window_start", "window_end",
                                                            "window_time", *aggs],
                           arg_names=ARGS)


def _group(aggs: dict) -> GroupAggregate:
    return GroupAggregate(key_kinds=["O"], arg_kinds=["i", "i"], aggs=list(aggs.values()),
                          names=["k", *aggs], arg_names=ARGS)


def _dicts(batch) -> list[dict]:
    return [dict(zip(batch.columns, row)) for row in batch.to_rows()]


def _feed(op, rows) -> list[dict]:
    if not rows:
        return []
    keys = [column_from_pylist([r[0] for r in rows], "O")]
    args = [column_from_pylist([r[2] for r in rows], "i"),
            column_from_pylist([r[3] for r in rows], "i")]
    if isinstance(op, GroupAggregate):
        return _dicts(op.process(keys, args))
    op.process(keys=keys, ts=np.array([r[1] for r in rows]),
               watermark_before=np.full(len(rows), WM_MIN), args=args)
    return _dicts(op.advance(WM_MIN))  # nothing fires before the end


def _finish(op) -> list[dict]:
    return [] if isinstance(op, GroupAggregate) else _dicts(op.advance(WM_MAX))


def _final(out: list[dict], window: bool) -> dict:
    """The last row of each group (window), keyed by (k, window_start)."""
    rows = {}
    for row in out:
        key = (row["k"], row.get("window_start"))
        if row.get("op") == "-D":
            rows.pop(key, None)
        elif row.get("op") in (None, "+I", "+U"):
            rows[key] = row
    return rows


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=60, deadline=None)
@given(rows=rows_st, cut=st.integers(0, 40), window=st.booleans())
def test_an_edited_operator_restores_the_accumulators_it_shares(rows, cut, window):
    make = _window if window else _group
    cut = min(cut, len(rows))
    whole = make(OLD)
    uninterrupted = _final(_feed(whole, rows) + _finish(whole), window)
    old = make(OLD)
    _feed(old, rows[:cut])
    new = make(NEW)
    new.restore(roundtrip(old.snapshot()))
    restored = _final(_feed(new, rows[cut:]) + _finish(new), window)
    assert set(restored) <= set(uninterrupted)
    for key, row in restored.items():
        group = [r for r in rows if r[0] == key[0] and (not window or r[1] // 10 * 10 == key[1])]
        after = [r for i, r in enumerate(rows) if i >= cut and r in group]
        for name in NEW:
            if name in SHARED:
                values = [r[2] for r in group]  # the whole group: restored state
                if name in uninterrupted[key]:
                    assert _same(row[name], uninterrupted[key][name]), (name, row)
                else:
                    assert _same(row[name], reference_aggregate(NEW[name], values)), (name, row)
            else:
                arg = NEW[name].arg
                values = [r[2 + arg] for r in after]  # only the rows after the cut
                assert _same(row[name], reference_aggregate(NEW[name], values)), (name, row)


def test_accumulator_names_tell_states_apart():
    aggs = [Agg("count", arg=0, distinct=True), Agg("count", arg=0, distinct=True),
            Agg("percentile_cont", arg=0, param=0.5), Agg("percentile_disc", arg=0, param=0.9)]
    assert accumulator_names(aggs, ["x"]) == [
        "COUNT(DISTINCT x)", "COUNT(DISTINCT x)#2", "VALUES(x)", "VALUES(x)"]
