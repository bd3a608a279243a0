"""String functions on large columns (where each distinct value is computed
once and rows share the result) give the same column as one row at a time."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
from hypothesis import given, settings

from runtime_lib import functions as sql
from runtime_lib.columns import Column

FUNCTIONS = {
    "upper": sql.upper,
    "initcap": sql.initcap,
    "like": lambda c: sql.like(c, "cl%"),
    "md5": sql.md5,
    "char_length": sql.char_length,
    "trim": sql.trim,
    "json_value": lambda c: sql.json_value(c, "$.a"),
}


def _column(values: list) -> Column:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    valid = np.array([v is not None for v in values], dtype=bool)
    return Column(arr, None if valid.all() else valid)


def _row_by_row(fn, values: list) -> list:
    return [fn(_column([v])).to_pylist()[0] for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["claude-3", " gpt ", "", '{"a": 1}', "ÉTÉ x"]),
                          st.none(), st.text(max_size=4)), min_size=17, max_size=200),
       st.sampled_from(sorted(FUNCTIONS)))
def test_bulk_equals_row_by_row(values, name):
    fn = FUNCTIONS[name]
    assert fn(_column(values)).to_pylist() == _row_by_row(fn, values)


def test_repeated_values_are_computed_once_per_distinct_value(monkeypatch):
    from runtime_lib.functions import base

    calls = []
    column = _column(["a", "b"] * 500)
    out = base._map_valid(lambda s: calls.append(s) or s.upper(), (column,))
    assert out.to_pylist() == ["A", "B"] * 500
    assert sorted(calls) == ["a", "b"]
