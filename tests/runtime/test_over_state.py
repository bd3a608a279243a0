"""OVER state is bounded by the frame, not by the stream: ROWS n keeps n + 1
rows per key, RANGE d the rows of the last d ms before the watermark, and
the held rows are those the watermark has not passed."""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.operators.over import STRINGS_FLOOR, OverAggregate, OverFn
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


# -- the kernel against the frame computed directly (over_kernels.frame_reference)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from runtime_lib.columns import column_from_pylist  # noqa: E402
from runtime_lib.operators.over_kernels import RANGE, ROWS, frame_reference  # noqa: E402
from runtime_lib.watermarks import WM_MAX  # noqa: E402

FNS = ["count_star", "count", "sum", "avg", "min", "max", "first_value", "last_value", "var_pop",
       "var_samp", "stddev_pop", "stddev_samp", "lag"]


STRING_FNS = ["count", "min", "max", "first_value", "last_value", "lag"]


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.integers(0, 3), max_size=40),
       values=st.lists(st.one_of(st.none(), st.integers(-20, 20)), min_size=40, max_size=40),
       fn=st.sampled_from(FNS), unit=st.sampled_from(["ROWS", "RANGE"]),
       start=st.integers(-1, 6), end=st.integers(0, 2), cut=st.integers(0, 40),
       strings=st.booleans())
def test_kernel_equals_the_frame_computed_directly(steps, values, fn, unit, start, end, cut, strings):
    """One key, rows in time order (ties included), released in two advances;
    with ``strings``, the values are strings (codes ranked by code point)."""
    ts = np.cumsum(steps).astype(np.int64).tolist()
    vals = [None if v is None else float(v) for v in values[:len(ts)]]
    if strings:
        fn = STRING_FNS[FNS.index(fn) % len(STRING_FNS)]
        # an order that is neither the numbers' nor the strings' arrival order
        vals = [None if v is None else chr(0x61 + int(v) % 7) * (1 + int(v) % 3) for v in vals]
    mode = ROWS if unit == "ROWS" or fn == "lag" else RANGE
    if fn == "lag":
        start = end = max(end, 1)
    if mode == RANGE:
        end = 0
    start = max(start, end) if start >= 0 else start
    call = OverFn(fn, arg=0, rows=start if mode == ROWS and start >= 0 else None,
                  range_ms=start if mode == RANGE and start >= 0 else None, unit=unit if fn != "lag" else "ROWS",
                  end=end)
    kind = "O" if strings else "f"
    op = OverAggregate("t", names=["t"], kinds=["i"], key_kinds=[], arg_kinds=[kind], calls=[call],
                       out_names=["r"])
    batch = Batch({"t": Column(np.array(ts, np.int64))}, len(ts))
    op.process(batch, keys=[], args=[column_from_pylist(vals, kind)])
    split = ts[min(cut, len(ts) - 1)] if ts else 0
    out = op.advance(split).to_rows() + op.advance(WM_MAX).to_rows()
    expected = frame_reference(fn, mode, start, end, ts, vals)
    assert [t for t, _ in out] == ts
    for (_, got), want in zip(out, expected):
        assert (got is None) == (want is None), (got, want)
        if isinstance(want, str):
            assert got == want
        elif want is not None:
            assert abs(got - want) <= 1e-9 * max(1.0, abs(want))


def test_string_dictionary_is_bounded_by_the_frames() -> None:
    """Strings that never come again (request ids) are forgotten once no frame
    holds them: the dictionary stays near the frames' size, the results right."""
    fn = OverFn("max", arg=0, rows=4)
    op = OverAggregate("t", names=["t"], kinds=["i"], key_kinds=["i"], arg_kinds=["O"], calls=[fn],
                       out_names=["r"])
    n, batch = 3 * STRINGS_FLOOR, 4096
    ids = [f"id{i * 7919 % n:06d}" for i in range(n)]
    got, sizes = [], []
    for lo in range(0, n, batch):
        t = np.arange(lo, min(lo + batch, n), dtype=np.int64)
        op.process(Batch({"t": Column(t)}, len(t)), keys=[Column(t % 3)],
                   args=[Column(np.array(ids[lo:lo + batch], object))])
        got += op.advance(int(t[-1]))["r"].to_pylist()
        sizes.append(len(op.strings))
    assert max(sizes) <= STRINGS_FLOOR + batch
    assert min(sizes[len(sizes) // 2:]) < STRINGS_FLOOR  # it was compacted
    want = [max(ids[j] for j in range(max(i % 3, i - 12), i + 1, 3)) for i in range(n)]
    assert got == want
