"""Aggregate functions: specs, result types, state layouts, reference implementations.

An operator describes its aggregates as a list of ``Agg`` specs and keeps their
state in one ``AggregateStates``: columnar arrays indexed by *slot* (one slot per
(group key, pane) or (group key, session)). Rows are added with ``update``;
results come out of ``results(idx, offs)`` for *groups of slots* (a HOP window
is the group of its panes, a TUMBLE window a group of one), without changing the
state; ``take`` keeps some slots (state freed once windows fire) and ``merge``
fuses groups of slots for good (merging sessions).

=====================  =============  =========================================
function               input kinds    result (NULL when ...)
=====================  =============  =========================================
count_star             -              BIGINT 'i' (never NULL)
count (distinct=...)   any            BIGINT 'i' (never NULL)
sum                    i / f          BIGINT 'i' / DOUBLE 'f' (no input)
avg                    i / f          DOUBLE (no input)
min, max               b, i, f, O     same as input (no input); strings by
                                      code point, NaN above every number
stddev, stddev_samp,   i / f          DOUBLE (samp: fewer than 2 inputs;
variance, var_samp,                   pop: no input, 0.0 for one)
stddev_pop, var_pop
first_value,           any            same as input (no input); arrival order;
last_value                            NULL inputs skipped, as Flink does
corr(x, y)             i / f, i / f   DOUBLE (fewer than 2 pairs or a constant
                                      side; rows with a NULL in x or y skipped)
percentile_cont(p)     i / f          DOUBLE, linear interpolation at rank
                                      p*(n-1) (DuckDB quantile_cont)
percentile_disc(p)     i / f          same as input, value of rank
                                      max(ceil(p*n)-1, 0) (SQL standard)
approx_percentile(p)   i / f          DOUBLE, see below
=====================  =============  =========================================

SUM of BIGINT accumulates in int64 and wraps on overflow (beyond 9.2e18, where
DuckDB would widen to HUGEINT); AVG of BIGINT divides that int64 sum.

Every aggregate skips NULL inputs and rows whose FILTER is not TRUE; ``count``
with ``distinct=True`` is COUNT(DISTINCT x) (NaN is one value, -0.0 = 0.0).
Variance-type states are Welford moments merged with Chan's formula, so merging
panes and sessions is numerically stable and associative.

Strings (MIN/MAX/FIRST_VALUE/LAST_VALUE on VARCHAR): state is an object array
of the current winner per slot. A batch is ranked once (its distinct strings
sorted in Python, which orders by code point), a kernel picks each slot's
winning row by rank, and Python compares that winner with the stored one only
for the slots touched: Python work is per group, not per row.

Over an updating input (``AggregateStates(..., updating_input=True)``) rows
may be taken back: MIN and MAX then keep, per slot, a count per distinct value
(``extremes.MinMaxRetractState``, Flink's MinWithRetract); the other
functions in ``RETRACTABLE`` apply the inverse of their update.

Exact percentiles keep every value: per slot one sorted run in a shared store
(values are sorted once, when a window that needs them fires, and merged into
the slot's run); a window made of several panes selects the wanted ranks
across the runs of its panes without re-sorting
(``percentile_kernels.percentiles_from_runs``). A slot read once and freed (a TUMBLE
window, a session) skips the sort: one kernel partitions each group at the
ranks it needs (``percentile_kernels.select_percentiles``, a quickselect). Several PERCENTILE_CONT/DISC of one column
and FILTER share one store and one selection pass.

APPROX_PERCENTILE(x, p) uses a fixed-size log-bucket histogram per slot
(DDSketch, "collapsing lowest" store of ``sketch_buckets`` buckets for positive
and as many for negative values, plus a zero count): memory is
``4 * sketch_buckets`` bytes per slot for positive values (again for negative
ones, allocated only once a negative value arrives), whatever the number of
rows. **Error bound**: the result ``e`` for fraction p satisfies
``|e - x_r| <= alpha * |x_r|``, where ``x_r`` is the exact value of 0-based rank
``r = floor(p * (n - 1))`` among the n non-NULL, non-NaN inputs, provided the
inputs of the window with the same sign as ``x_r`` span less than
``gamma ** sketch_buckets`` in magnitude (gamma = (1 + alpha) / (1 - alpha);
for alpha = 0.01 and 1024 buckets a ratio of 8e8 between largest and smallest
magnitude). Beyond that span the smallest magnitudes collapse into the lowest
kept bucket and only the ranks that fall there lose the bound. Zero is exact.

>>> import numpy as np
>>> from runtime_lib.columns import Column
>>> st = AggregateStates([Agg("count_star"), Agg("sum", arg=0), Agg("max", arg=0)], ["i"])
>>> st.ensure(2)
>>> st.update(np.array([0, 1, 0]), [Column(np.array([5, 7, 9]))], [], np.arange(3))
>>> [c.to_pylist() for c in st.results(np.array([0, 1]), np.array([0, 1, 2]))]
[[2, 1], [14, 7], [9, 7]]
"""

from runtime_lib.aggregate_specs import (
    FUNCS,
    RETRACTABLE,
    VARIANCE_FUNCS,
    Agg,
    reference_aggregate,
    result_kind,
)
from runtime_lib.operators.aggregates.states import AggregateStates

__all__ = ["FUNCS", "RETRACTABLE", "VARIANCE_FUNCS", "Agg", "AggregateStates", "reference_aggregate",
           "result_kind"]
