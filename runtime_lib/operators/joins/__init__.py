"""Stream-stream joins: ``IntervalJoin`` (FR-JOIN-003, time-bounded, append-only
output), ``Join`` (a regular join without time bounds: an updating result) and
``TemporalJoin`` (a stream joined with the version of a versioned table valid
at each row's event time; see ``temporal.py``).

A generated module calls them in straight-line code. Each input has its own
``Watermarks``; the join's watermark is the minimum of the two, so the
per-row watermark handed to the join is ``min(this side's watermark before the
row, the other side's current watermark)``::

    join = IntervalJoin(kind="LEFT", key_kinds=["O"], lower_ms=0, upper_ms=5_000,
                        left_names=["request_id", "model_id", "req_time"],
                        right_names=["err_request_id", "error_code", "err_time"],
                        left_kinds=["O", "O", "i"], right_kinds=["O", "O", "i"])
    for side, batch in interleave(requests, errors):        # source batches in arrival order
        if side == "req":
            before, _ = wm_req.observe(partition, batch["req_time"].values)
            joined, late = join.process_left([batch["request_id"]], batch["req_time"].values, batch,
                                             watermark_before=np.minimum(before, wm_err.current))
        else:
            before, _ = wm_err.observe(partition, batch["err_time"].values)
            joined, late = join.process_right([batch["request_id"]], batch["err_time"].values, batch,
                                              watermark_before=np.minimum(before, wm_req.current))
        out_sink.write(joined)
        out_sink.write(join.advance(min(wm_req.current, wm_err.current)))
    out_sink.write(join.advance(WM_MAX))                       # end of input

Runnable (lower 0, upper 10: ``left.t <= right.t <= left.t + 10``):

>>> import numpy as np
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> def rows(names, **cols):
...     return Batch({n: column_from_pylist(v, "O" if n.endswith("k") else "i") for n, v in cols.items()},
...                  len(next(iter(cols.values()))))
>>> j = IntervalJoin(kind="FULL", key_kinds=["O"], lower_ms=0, upper_ms=10,
...                  left_names=["lk", "lt"], right_names=["rk", "rt"],
...                  left_kinds=["O", "i"], right_kinds=["O", "i"])
>>> left = rows(["lk", "lt"], lk=["a", "b", None], lt=[100, 100, 101])
>>> out, late = j.process_left([left["lk"]], left["lt"].values, left, watermark_before=90)
>>> out.to_rows()  # the NULL-key row can never match: NULL-padded at once
[(None, 101, None, None)]
>>> right = rows(["rk", "rt"], rk=["a", "a", "b"], rt=[110, 111, 95])
>>> out, late = j.process_right([right["rk"]], right["rt"].values, right, watermark_before=94)
>>> out.to_rows()  # 110 is on the bound (100 + 10), 111 beyond it; b at 95 is too early
[('a', 100, 'a', 110)]
>>> j.advance(120).to_rows()  # watermark passes every bound: unmatched rows NULL-padded
[(None, None, 'b', 95), ('b', 100, None, None), (None, None, 'a', 111)]
>>> out, late = j.process_left([left["lk"]], left["lt"].values, left, watermark_before=120)
>>> out.to_rows()  # behind the watermark, bounds passed: partners freed, NULL-padded at once (Flink)
[('a', 100, None, None), ('b', 100, None, None), (None, 101, None, None)]
>>> late.tolist(), j.late_count  # counted as behind the watermark, not dropped
([0, 1, 2], 3)

Semantics (FLINK_SEMANTICS.md, Joins):

* Rows match when their keys are equal (a NULL in any key column never
  matches) and ``left.t + lower_ms <= right.t <= left.t + upper_ms``, both ends
  inclusive; ``residual`` (optional) is the rest of the ON condition, a callable
  from a Batch of candidate joined rows (named ``left_names + right_names``) to
  a boolean mask (or a BOOLEAN Column, NULL = false). A pair that fails it is
  not a match, so the rows may still come out NULL-padded in an outer join.
* Every row has a *bound*: the last event time of the other side it can match
  (``left.t + upper_ms`` for a left row, ``right.t - lower_ms`` for a right row).
  A row is kept until the watermark reaches its bound; then it is freed and,
  on an outer side, emitted NULL-padded if nothing matched it. State is
  therefore bounded by watermark progress.
* ``watermark_before[i]`` (default: ``rows.watermarks``, else the join's own
  watermark) is the join's input watermark before row i. Rows of the other
  side whose bound that watermark reached are freed before row i, whatever
  the micro-batches. As in Flink's interval join, no row is dropped: a row
  *behind* the watermark (event time ``<=`` it; counted in ``late_count``,
  its index returned) still meets the partners that are still buffered, is
  buffered itself if its own bound is ahead of the watermark, and otherwise,
  on an outer side with no match, comes out NULL-padded at once (its partners
  may have been freed: Flink gives the same row). A row that is not behind
  the watermark meets every partner, so when nothing is behind the watermark
  the final output equals the batch join, for any micro-batches.
* ``process_*`` returns the rows these input rows produce, in arrival order,
  and also the NULL-padded rows of buffered rows whose bound the watermark
  passes inside the batch (at that point of the batch); ``advance(w)`` returns
  the NULL-padded rows due at ``w`` (ordered by bound, then arrival).
* Output is append-only: every row is an insert (``ops`` is None). Each output
  row carries the watermark downstream operators must use before it
  (``Batch.watermarks``), held back by ``output_delay_ms = max(upper_ms,
  -lower_ms, 0)`` as Flink holds back the watermark of an interval join:
  joined and NULL-padded rows can be older than the input watermark. Feed
  both the ``process_*`` and the ``advance(w)`` output downstream first, then
  advance the downstream operator to ``output_watermark(w)`` (Flink fires the
  join's timers before it forwards a watermark);
  ``tests/runtime_joins/test_join_then_window.py`` wires a TUMBLE this way.

State: both joins implement ``runtime_lib.state.Stateful`` (``snapshot()`` /
``restore(data)``: numpy arrays and JSON values, never pickle).

Memory: one buffered row per row whose bound is ahead of the watermark (both
sides), with its columns; key dictionaries are compacted as keys expire.
Matching is a binary search per row in an index sorted by (key, time), kept
sorted by merging each batch in (numba): no Python loop per row.
"""

from runtime_lib.operators.joins.interval import IntervalJoin, JoinResult
from runtime_lib.operators.joins.regular import Join
from runtime_lib.operators.joins.temporal import TemporalJoin

__all__ = ["IntervalJoin", "Join", "JoinResult", "TemporalJoin"]
