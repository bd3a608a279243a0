"""A session that advance() fired stays in its partition's chain of open
sessions until the next row of that partition walks the chain; that row must
only unlink it, not close it again. Closing it again left the operator with
"fired rows pending" although no watermark had moved, so the checkpoint a
driver takes between two micro-batches failed (found by the PostgreSQL kill
test: ``python -m tests.exactly_once --sinks postgres --queries session``)."""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import column_from_pylist as col
from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.windows import Session, WindowAggregate


def test_a_fired_session_is_not_closed_again_by_the_next_row_of_its_key():
    op = WindowAggregate(window=Session(10, (0,)), key_kinds=["O"], aggs=[Agg("count_star")])
    op.process([col(["u", "v"], "O")], np.array([0, 100]), np.full(2, -100))
    assert op.advance(50).to_rows() == [("u", 0, 10, 9, 1)]  # [0,10) fired at 50
    # the next row of u, with the watermark where it was: nothing new is due
    op.process([col(["u"], "O")], np.array([60]), np.array([50]))
    state = op.snapshot()  # between two micro-batches, no advance(): nothing may be pending
    assert op.advance(50).to_rows() == []
    assert op.advance(10**6).to_rows() == [("u", 60, 70, 69, 1), ("v", 100, 110, 109, 1)]

    again = WindowAggregate(window=Session(10, (0,)), key_kinds=["O"], aggs=[Agg("count_star")])
    again.restore(state)
    assert again.advance(10**6).to_rows() == [("u", 60, 70, 69, 1), ("v", 100, 110, 109, 1)]
