"""Shared helpers for runtime tests: build Columns, ask DuckDB the same question."""

from __future__ import annotations

import math

import duckdb
import pytest

from runtime_lib.columns import Column, column_from_pylist

KIND = {"BIGINT": "i", "DOUBLE": "f", "VARCHAR": "O", "BOOLEAN": "b", "TIMESTAMP": "i"}


class Duck:
    """Evaluate one SQL expression over columns of Python values (None = NULL),
    row order preserved. Division by zero gives NULL, as in sqlc."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute("SET error_on_division_by_zero = false")
        self.con.execute("SET TimeZone = 'UTC'")
        self.calls = 0

    def eval(self, expr: str, **columns: tuple[str, list]) -> list:
        names = list(columns)
        n = len(next(iter(columns.values()))[1])
        params = []
        unnests = []
        for i, name in enumerate(names):
            sql_type, values = columns[name]
            if sql_type == "TIMESTAMP":  # given as epoch ms
                unnests.append(f"epoch_ms(unnest(${i + 1}::BIGINT[])) AS {name}")
            else:
                unnests.append(f"unnest(${i + 1}::{sql_type}[]) AS {name}")
            params.append(values)
        query = (
            f"SELECT {expr} FROM (SELECT {', '.join(unnests)}, unnest(range({n})) AS row_i)"
            " ORDER BY row_i"
        )
        self.calls += 1
        return [row[0] for row in self.con.execute(query, params).fetchall()]


@pytest.fixture(scope="session")
def duck() -> Duck:
    return Duck()


def col(values: list, sql_type: str) -> Column:
    return column_from_pylist(list(values), KIND[sql_type])


def same(actual: list, expected: list, rel: float = 0.0) -> bool:
    if len(actual) != len(expected):
        return False
    for a, e in zip(actual, expected):
        if a is None or e is None:
            if a is not e:
                return False
        elif isinstance(e, float) or isinstance(a, float):
            if math.isnan(e) and math.isnan(a):
                continue
            if rel == 0.0:
                if a != e:
                    return False
            elif not math.isclose(a, e, rel_tol=rel, abs_tol=1e-300):
                return False
        elif a != e or type(a) is bool and type(e) is not bool:
            return False
    return True
