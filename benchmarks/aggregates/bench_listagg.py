"""LISTAGG state benchmark: ``ListAggState`` on pre-decoded columns, one core.

    .venv/bin/python benchmarks/aggregates/bench_listagg.py [--values 1000000] [--groups 1000]

Data: ``--values`` strings drawn from 100 words, spread over ``--groups``
slots, fed in micro-batches of 65,536 rows. Timed in CPU seconds of this
process (``time.process_time``, best of 3; the machine is shared): appending
every value, reading every group's string (the results a window fires or a
GROUP BY emits), and taking back a tenth of the values in one batch (a
retraction per row, as an updating input sends them). DuckDB's
``string_agg(value, ',' ORDER BY arrival)`` over the same rows (threads=1)
is the reference: its strings must be the same.
"""

from __future__ import annotations

import argparse
import time

import duckdb
import numpy as np

from runtime_lib.aggregate_specs import Agg
from runtime_lib.columns import Column
from runtime_lib.operators.aggregates.listagg import ListAggState

BATCH = 65_536


def best(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        began = time.process_time()
        out = fn()
        times.append(time.process_time() - began)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=1_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(100)], dtype=object)
    values = words[rng.integers(0, len(words), args.values)]
    slots = rng.integers(0, args.groups, args.values)
    aggs = [Agg("listagg", arg=0)]
    everything = np.arange(args.groups), np.arange(args.groups + 1)

    def fill() -> ListAggState:
        state = ListAggState()
        for a in range(0, args.values, BATCH):
            state.update(slots[a:a + BATCH], [Column(values[a:a + BATCH])], None)
        state.results(aggs, np.zeros(0, np.int64), np.zeros(1, np.int64))  # joins the appends
        return state

    append_s, state = best(fill)
    read_s, strings = best(lambda: state.results(aggs, *everything)[0].to_pylist())
    taken = args.values // 10

    def retract() -> None:
        copy = fill()
        began = time.process_time()
        copy.update_signed(slots[:taken], [Column(values[:taken])], np.ones(taken, bool))
        return time.process_time() - began

    retract_s = min(retract() for _ in range(3))

    con = duckdb.connect(config={"threads": 1})
    con.execute("CREATE TABLE t AS SELECT * FROM (SELECT unnest($1) AS pos, unnest($2) AS slot, "
                "unnest($3) AS value)", [list(range(args.values)), slots.tolist(),
                                         values.tolist()])
    duck_s, rows = best(lambda: con.execute(
        "SELECT slot, string_agg(value, ',' ORDER BY pos) FROM t GROUP BY slot").fetchall())
    assert dict(rows) == {g: s for g, s in enumerate(strings) if s is not None}

    n = args.values
    print(f"| step ({n:,} values, {args.groups:,} groups) | CPU s | values/s |")
    print("|---|---|---|")
    print(f"| append (update), micro-batches of {BATCH:,} | {append_s:.3f} | {n / append_s:,.0f} |")
    print(f"| read every group's string (results) | {read_s:.3f} | {n / read_s:,.0f} |")
    print(f"| take back {taken:,} values in one batch | {retract_s:.3f} | "
          f"{taken / retract_s:,.0f} |")
    print(f"| DuckDB string_agg ORDER BY arrival (reference) | {duck_s:.3f} | {n / duck_s:,.0f} |")


if __name__ == "__main__":
    main()
