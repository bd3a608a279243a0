"""OVER state is bounded by the frame, not by the stream: ROWS n keeps n + 1
rows per key, RANGE d the rows of the last d ms before the watermark, and
the held rows are those the watermark has not passed."""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.operators.over import OverAggregate, OverFn
from runtime_lib.watermarks import Watermarks


def feed(fn: OverFn, n_rows: int = 20_000, keys: int = 5, bound: int = 50):
    op = OverAggregate("t", names=["t"], kinds=["i"], key_kinds=["i"], arg_kinds=["f"], calls=[fn],
                       out_names=["r"])
    wm = Watermarks(bound)
    rng = np.random.default_rng(3)
    peak = 0
    for lo in range(0, n_rows, 500):
        t = np.arange(lo, lo + 500, dtype=np.int64) * 10 - rng.integers(0, bound, 500)
        before, current = wm.observe(0, t, now_ms=0)
        k = Column(np.arange(lo, lo + 500, dtype=np.int64) % keys)
        op.process(Batch({"t": Column(t)}, 500, before), keys=[k], args=[Column(rng.random(500))])
        op.advance(current)
        peak = max(peak, op.state_rows)
    return op, peak


def test_rows_frame_keeps_its_rows_per_key() -> None:
    op, peak = feed(OverFn("max", arg=0, rows=9))
    assert peak <= 5 * 10
    assert op.held_rows < 50  # rows within the watermark bound


def test_range_frame_keeps_the_rows_of_its_range() -> None:
    # one row per 10 ms, 5 keys: 1 s of range is ~100 rows in all, ~20 per key
    op, peak = feed(OverFn("avg", arg=0, range_ms=1_000))
    assert peak <= 100 + 5 * 10
    _, frames = op.advance(10 ** 9), op.frames
    assert op.state_rows == 0  # a watermark past every row frees every frame
    # the ring has room for the rows in range plus one release's rows of a key
    # (100 here), doubled when it grows: bounded by the batch, not the stream
    assert frames[0].cap <= 2 * (20 + 100)
