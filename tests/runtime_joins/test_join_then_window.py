"""An interval join feeding a TUMBLE window aggregate, wired as generated code
would wire it: the join's output rows carry their watermarks
(``Batch.watermarks``) and ``output_watermark`` holds the downstream watermark
back, so the window drops nothing and its final rows equal DuckDB's GROUP BY
over the batch join."""

from __future__ import annotations

import numpy as np
from join_helpers import (
    LEFT_KINDS,
    LEFT_NAMES,
    RIGHT_KINDS,
    RIGHT_NAMES,
    batches,
    duckdb,
    random_events,
    side_batch,
    side_tables,
)

from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.joins import IntervalJoin
from runtime_lib.operators.windows import Tumble, WindowAggregate
from runtime_lib.watermarks import WM_MAX, Watermarks


def test_interval_join_feeds_a_window_aggregate():
    ev = random_events(np.random.default_rng(11), 8_000, 300, bound=30, late_frac=0.0)
    ev.bound = 31  # watermarks allow a little more disorder than the data has: nothing is late
    join = IntervalJoin(kind="LEFT", key_kinds=["O"], lower_ms=-50, upper_ms=200, left_names=LEFT_NAMES,
                        right_names=RIGHT_NAMES, left_kinds=LEFT_KINDS, right_kinds=RIGHT_KINDS)
    # GROUP BY lk, TUMBLE(lt, 100 ms): COUNT(*), COUNT(rt)
    agg = WindowAggregate(window=Tumble(size_ms=100), key_kinds=["O"], arg_kinds=["i"],
                          aggs=[Agg("count_star"), Agg("count", arg=0)])
    wms = [Watermarks(ev.bound), Watermarks(ev.bound)]
    rows, late_in_window = [], 0

    def window(joined):
        nonlocal late_in_window
        if joined.num_rows:
            late = agg.process(keys=[joined["lk"]], ts=joined["lt"].values, watermark_before=joined.watermarks,
                               args=[joined["rt"]])
            late_in_window += len(late)

    for s, idx in batches(ev, 400):
        b = side_batch(ev, idx, s)
        names = LEFT_NAMES if s == 0 else RIGHT_NAMES
        ts = b[names[3]].values
        before, _ = wms[s].observe(0, ts, now_ms=0)
        proc = join.process_left if s == 0 else join.process_right
        joined, late = proc([b[names[1]]], ts, b, watermark_before=np.minimum(before, wms[1 - s].current))
        assert len(late) == 0
        w = min(wms[0].current, wms[1].current)
        window(joined)
        window(join.advance(w))  # both outputs go downstream before the watermark does
        rows.extend(agg.advance(join.output_watermark(w)).to_rows())
    window(join.advance(WM_MAX))
    rows.extend(agg.advance(WM_MAX).to_rows())
    assert late_in_window == 0 and agg.late_count == 0
    con = duckdb.connect()
    side_tables(con, ev)
    want = con.execute(
        "SELECT lk, floor(lt / 100)::BIGINT * 100 AS ws, count(*), count(rt) FROM l LEFT JOIN r "
        "ON l.lk = r.rk AND r.rt BETWEEN l.lt - 50 AND l.lt + 200 "
        "GROUP BY ALL").fetchall()
    got = [(r[0], r[1], r[4], r[5]) for r in rows]
    assert sorted(got, key=repr) == sorted(want, key=repr)
    assert len(got) > 1_000
