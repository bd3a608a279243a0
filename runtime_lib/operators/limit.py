"""LIMIT n [OFFSET m] on an append-only stream without ORDER BY (Flink's
Limit): the first ``n`` rows that arrive (after skipping ``m``) go on, in
arrival order; every later row is dropped. The query keeps running and
emits nothing more; a bounded run ends at the end of its input. ``OFFSET m``
alone (count None) skips the first ``m`` rows and lets every later one
through, as Flink's Limit without a fetch. Its state is the number of rows
seen.

>>> import numpy as np
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> limit = Limit(3, offset=1)
>>> rows = Batch({"x": column_from_pylist([1, 2, 3], "i")}, 3, np.array([0, 0, 0]))
>>> limit.process(rows).to_rows()
[(2,), (3,)]
>>> limit.process(rows).to_rows()
[(1,)]
>>> limit.process(rows).num_rows
0
>>> skip = Limit(None, offset=2)
>>> skip.process(rows).to_rows(), skip.process(rows).to_rows()
([(3,)], [(1,), (2,), (3,)])
"""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Batch


class Limit:
    """``Limit(count, offset=0)``: lets rows ``offset`` .. ``offset + count - 1``
    of the stream (counted in arrival order, from 0) through; every row from
    ``offset`` on when ``count`` is None."""

    def __init__(self, count: int | None, offset: int = 0):
        self.count = None if count is None else int(count)
        self.offset = int(offset)
        self.seen = 0  # rows of the input so far, passed or not

    @property
    def done(self) -> bool:
        """Every row it will ever let through has gone."""
        return self.count is not None and self.seen >= self.offset + self.count

    def process(self, batch: Batch) -> Batch:
        """The rows of ``batch`` within the limit (the batch itself when all are)."""
        first, end = self.seen, self.seen + batch.num_rows
        self.seen = end
        lo = max(self.offset - first, 0)
        hi = (batch.num_rows if self.count is None
              else min(self.offset + self.count - first, batch.num_rows))
        if lo == 0 and hi >= batch.num_rows:
            return batch
        return batch.take(np.arange(lo, max(hi, lo)))

    def snapshot(self) -> dict:
        return {"seen": self.seen}

    def restore(self, data: dict) -> None:
        self.seen = int(data["seen"])
