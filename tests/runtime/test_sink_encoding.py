"""The sinks' JSON lines, written by msgspec (``sinks._encode_rows``), are
byte for byte what orjson writes for the same rows (the format every sink,
golden file and reader relies on), and the batches where msgspec would write
otherwise (a DOUBLE of magnitude 1e16 or more) take the orjson path."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime_lib.columns import Batch, Column
from runtime_lib.io import sinks
from runtime_lib.io.sinks import column_to_json_values, encode_json_lines
from runtime_lib.schema import Field

KINDS = {"BIGINT": "i", "DOUBLE": "f", "VARCHAR": "O", "BOOLEAN": "b", "TIMESTAMP(3)": "i",
         "DATE": "i"}


def reference_lines(batch: Batch, fields: list[Field], ops: list[str] | None = None) -> bytes:
    """One ``orjson.dumps`` of a dict per row: the sinks' format, by definition."""
    keys = [f.name for f in fields]
    columns = [column_to_json_values(batch[f.name], f.type_name) for f in fields]
    if ops is not None:
        keys, columns = ["_op", *keys], [ops, *columns]
    return b"".join(orjson.dumps(dict(zip(keys, row))) + b"\n" for row in zip(*columns))


def _values(type_name: str) -> st.SearchStrategy:
    if type_name == "BIGINT":
        return st.integers(-(2**63), 2**63 - 1)
    if type_name == "DOUBLE":
        return st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                         st.sampled_from([0.1, 1e15, 9.999999999999998e15, 1e-7, -0.0, 5e-324]))
    if type_name == "VARCHAR":
        return st.text()  # any code point but lone surrogates, quotes, escapes, U+2028
    if type_name == "BOOLEAN":
        return st.booleans()
    if type_name == "TIMESTAMP(3)":
        return st.integers(-62_135_596_800_000, 253_402_300_799_999)
    return st.integers(-719_162, 2_932_896)  # DATE: days, years 1..9999


@st.composite
def flat_batches(draw) -> tuple[Batch, list[Field], list[str] | None]:
    types = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=6))
    names = draw(st.lists(st.text(min_size=1, max_size=8).filter(lambda k: k != "_op"),
                          min_size=len(types), max_size=len(types), unique=True))
    n = draw(st.integers(1, 40))
    fields, columns = [], {}
    for name, type_name in zip(names, types):
        nullable = draw(st.booleans())
        values = draw(st.lists(_values(type_name), min_size=n, max_size=n))
        valid = (np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
                 if nullable else None)
        kind = KINDS[type_name]
        array = (np.array(values, dtype=object) if kind == "O"
                 else np.array(values, dtype={"i": np.int64, "f": np.float64, "b": bool}[kind]))
        fields.append(Field(name, type_name, nullable))
        columns[name] = Column(array, valid)
    ops = draw(st.one_of(st.none(), st.lists(st.sampled_from(sinks.OPS), min_size=n,
                                             max_size=n)))
    return Batch(columns, n), fields, ops


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flat_batches())
def test_flat_rows_are_written_as_orjson_writes_them(case):
    batch, fields, ops = case
    assert encode_json_lines(batch, fields, ops) == reference_lines(batch, fields, ops)


def test_the_msgspec_path_is_the_one_taken_for_ordinary_rows(monkeypatch):
    fields = [Field("model_id", "VARCHAR", False), Field("latency_ms", "DOUBLE"),
              Field("n", "BIGINT"), Field("window_start", "TIMESTAMP(3)")]
    batch = Batch({"model_id": Column(np.array(["gpt-4o", 'a"},{"b'], dtype=object)),
                   "latency_ms": Column(np.array([1.5, math.nan]), np.array([True, False])),
                   "n": Column(np.array([1, 2**62])),
                   "window_start": Column(np.array([0, 1_704_103_200_000]))}, 2)
    calls = []
    real = sinks._encode_rows
    monkeypatch.setattr(sinks, "_encode_rows", lambda *a: calls.append(1) or real(*a))
    assert encode_json_lines(batch, fields) == reference_lines(batch, fields)
    assert calls == [1]


@pytest.mark.parametrize("big", [1e16, -2.5e20, 1.7976931348623157e308])
def test_a_double_of_1e16_or_more_keeps_orjsons_exponent(big):
    fields = [Field("x", "DOUBLE"), Field("s", "VARCHAR")]
    batch = Batch({"x": Column(np.array([big, 1.0, math.inf])),
                   "s": Column(np.array(["a", "b", "c"], dtype=object))}, 3)
    assert not sinks._msgspec_writes_alike(batch, fields)
    data = encode_json_lines(batch, fields)
    assert data == reference_lines(batch, fields)
    assert b"e+" in data.splitlines()[0]
    small = Batch({"x": Column(np.array([9.999999999999998e15, math.inf, -math.inf])),
                   "s": batch["s"]}, 3)
    assert sinks._msgspec_writes_alike(small, fields)
    assert encode_json_lines(small, fields) == reference_lines(small, fields)


def test_a_string_msgspec_cannot_write_fails_as_before():
    """A lone surrogate (no decoder of ours produces one) is refused by both
    encoders: the orjson path raises as it did before msgspec wrote rows."""
    fields = [Field("s", "VARCHAR")]
    batch = Batch({"s": Column(np.array(["ok", "\ud800"], dtype=object))}, 2)
    with pytest.raises(TypeError):
        encode_json_lines(batch, fields)
