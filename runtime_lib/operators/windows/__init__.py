"""Event-time window operators: WindowAggregate over TUMBLE, HOP, CUMULATE
(``panes``) and SESSION (``sessions``) windows.

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
>>> from runtime_lib.operators.aggregates import Agg
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

from runtime_lib.operators.windows.base import (
    AfterWatermark,
    Changes,
    Cumulate,
    Hop,
    Session,
    Tumble,
    WindowAggregate,
)
from runtime_lib.operators.windows.panes import PaneWindowAggregate
from runtime_lib.operators.windows.sessions import SessionWindowAggregate

__all__ = ["AfterWatermark", "Changes", "Cumulate", "Hop", "PaneWindowAggregate", "Session",
           "SessionWindowAggregate", "Tumble", "WindowAggregate"]
