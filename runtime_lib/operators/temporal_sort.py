"""ORDER BY a time attribute on a stream (Flink's TemporalSort): rows are held
until the watermark passes their event time, then leave in event-time order
(ties by arrival). Rows that arrive with an event time already at or below the
watermark cannot be put in order any more: they are late, dropped and counted.

>>> import numpy as np
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> sort = TemporalSort("t", names=["t"], kinds=["i"])
>>> rows = Batch({"t": column_from_pylist([30, 10, 20], "i")}, 3, np.array([0, 0, 0]))
>>> sort.process(rows).tolist()
[]
>>> sort.advance(25).to_rows()
[(10,), (20,)]
>>> sort.advance(2**63 - 1).to_rows()
[(30,)]
"""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Batch, Column, concat_batches, null_column
from runtime_lib.state import values_data, values_from_data


class TemporalSort:
    """``TemporalSort(time_column, names, kinds)``: ``names``/``kinds`` are the
    columns of the batches it is given (and gives back)."""

    def __init__(self, time_column: str, names: list[str], kinds: list[str]):
        self.time_column = time_column
        self.names, self.kinds = list(names), list(kinds)
        self._empty = Batch({n: null_column(k, 0) for n, k in zip(names, kinds)}, 0)
        self._held: list[Batch] = []
        self.late_count = 0

    @property
    def held_rows(self) -> int:
        return sum(b.num_rows for b in self._held)

    def process(self, batch: Batch) -> np.ndarray:
        """Hold the rows; returns the indices of those dropped as late."""
        ts = batch[self.time_column].values
        late = np.flatnonzero(ts <= batch.row_watermarks())
        if len(late):
            self.late_count += len(late)
            keep = np.ones(batch.num_rows, dtype=bool)
            keep[late] = False
            batch = batch.take(keep)
        if batch.num_rows:
            self._held.append(batch)
        return late

    def advance(self, watermark: int) -> Batch:
        """The held rows whose event time the watermark has passed, in order."""
        if not self._held:
            return self._empty
        held = concat_batches(self._held)
        ts = held[self.time_column].values
        order = np.argsort(ts, kind="stable")
        due = ts[order] <= watermark
        out = held.take(order[due])
        rest = held.take(order[~due])
        self._held = [rest] if rest.num_rows else []
        return Batch(out.columns, out.num_rows, None, out.ops)

    def snapshot(self) -> dict:
        """The held rows, column by column (with their changelog kinds)."""
        held = concat_batches(self._held) if self._held else self._empty
        self._held = [held] if held.num_rows else []
        return {"late_count": self.late_count,
                "values": [values_data(held[n].values) for n in self.names],
                "valid": [held[n].is_valid().copy() for n in self.names],
                "ops": None if held.ops is None else held.ops.tolist()}

    def restore(self, data: dict) -> None:
        self.late_count = int(data["late_count"])
        cols = {n: Column(values_from_data(v, k), np.asarray(ok, bool))
                for n, k, v, ok in zip(self.names, self.kinds, data["values"], data["valid"], strict=True)}
        n_rows = len(data["valid"][0]) if self.names else 0
        ops = None if data["ops"] is None else np.fromiter(data["ops"], object, count=len(data["ops"]))
        self._held = [Batch(cols, n_rows, None, ops)] if n_rows else []
