"""A window TVF that no aggregation consumes (Flink's WindowTableFunction):
``SELECT * FROM TABLE(TUMBLE|HOP|CUMULATE(...))`` gives each input row with
``window_start``, ``window_end`` and ``window_time`` (= ``window_end - 1``),
one output row per window the row belongs to (HOP: size/slide windows,
CUMULATE: the windows of its period that end after it).

Stateless and vectorized (``np.repeat`` of the rows over their windows).
As in Flink, a row's copy for a window that had already fired when the row
arrived (``window_end - 1 <= watermark_before``) is dropped; a row all of
whose windows had fired is late (its index is returned, for the late sink).

>>> import numpy as np
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> from runtime_lib.operators.windows import Cumulate, Hop
>>> rows = Batch({"t": column_from_pylist([3, 12], "i")}, 2, np.array([0, 0]))
>>> out, late = window_rows(rows, "t", Hop(slide_ms=5, size_ms=10))
>>> out.to_rows()
[(3, -5, 5, 4), (3, 0, 10, 9), (12, 5, 15, 14), (12, 10, 20, 19)]
>>> late.tolist()
[]
>>> rows = Batch({"t": column_from_pylist([3, 12], "i")}, 2, np.array([4, 4]))
>>> out, late = window_rows(rows, "t", Cumulate(step_ms=5, max_size_ms=10))
>>> out.to_rows()  # [0, 5) had fired when 3 arrived: only [0, 10) is left of it
[(3, 0, 10, 9), (12, 10, 15, 14), (12, 10, 20, 19)]
"""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.operators.windows.base import Cumulate, Hop, Tumble
from runtime_lib.operators.windows.panes import _Grid
from runtime_lib.watermarks import CLAMP

__all__ = ["window_rows"]


def window_rows(batch: Batch, time_column: str, window: Tumble | Hop | Cumulate,
                watermarks: np.ndarray | None = None) -> tuple[Batch, np.ndarray]:
    """(the rows with their window columns, the indices of late input rows).
    A row is late by the watermark before it (``watermarks``, per row; by
    default its input's: a window join passes its own, the lower of both
    inputs')."""
    grid = _Grid(window, 0)
    ts = batch[time_column].values
    pane = grid.pane_of(ts)
    first, last = grid.wlo(pane), grid.whi(pane)
    # the windows that had fired when the row came are not assigned any more
    before = batch.row_watermarks() if watermarks is None else watermarks
    fired = grid.w_upto(np.clip(before, -CLAMP, CLAMP))
    first = np.maximum(first, fired + 1)
    count = np.maximum(last - first + 1, 0)
    late = np.flatnonzero(count == 0)
    rows = np.repeat(np.arange(batch.num_rows), count)
    # each copy's window: first window of its row plus its position among the copies
    starts = np.cumsum(count) - count
    w = first[rows] + (np.arange(len(rows)) - starts[rows])
    out = batch.take(rows)
    end = grid.end(w).astype(np.int64)
    columns = dict(out.columns)
    columns["window_start"] = Column(grid.start(w).astype(np.int64))
    columns["window_end"] = Column(end)
    columns["window_time"] = Column(end - 1)
    return Batch(columns, len(rows), out.watermarks, out.ops), late
