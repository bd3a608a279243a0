"""Runtime schema: type names, numpy kinds, refusal of unknown types."""

from __future__ import annotations

import pytest

from runtime_lib.schema import (
    Field,
    Schema,
    SchemaError,
    base_type,
    normalize_type_name,
    numpy_kind,
    type_args,
)


@pytest.mark.parametrize(
    "spelling, normalized",
    [
        ("string", "VARCHAR"),
        ("VARCHAR(100)", "VARCHAR"),
        ("integer", "INT"),
        ("timestamp(3)", "TIMESTAMP(3)"),
        ("TIMESTAMP_LTZ(3)", "TIMESTAMP_LTZ(3)"),
        ("TIMESTAMP(3) WITH LOCAL TIME ZONE", "TIMESTAMP_LTZ(3)"),
        ("decimal(10, 2)", "DECIMAL(10,2)"),
        ("double precision", "DOUBLE"),
        ("map<string, bigint>", "MAP<VARCHAR,BIGINT>"),
        ("ARRAY<ARRAY<INT>>", "ARRAY<ARRAY<INT>>"),
        ("BIGINT NOT NULL", "BIGINT"),
    ],
)
def test_normalize_type_name(spelling, normalized):
    assert normalize_type_name(spelling) == normalized


@pytest.mark.parametrize(
    "type_name, kind",
    [
        ("BOOLEAN", "b"), ("TINYINT", "i"), ("INT", "i"), ("BIGINT", "i"), ("DOUBLE", "f"),
        ("FLOAT", "f"), ("DECIMAL(10,2)", "f"), ("VARCHAR", "O"), ("CHAR(3)", "O"),
        ("TIMESTAMP(3)", "i"), ("TIMESTAMP_LTZ(3)", "i"), ("DATE", "i"), ("TIME", "i"),
        ("ARRAY<BIGINT>", "O"), ("MAP<VARCHAR,BIGINT>", "O"),
    ],
)  # fmt: skip
def test_numpy_kind(type_name, kind):
    assert numpy_kind(type_name) == kind
    assert Field("x", type_name).kind == kind


def test_type_parts_and_schema():
    assert base_type("MAP<VARCHAR,ARRAY<INT>>") == "MAP"
    assert type_args("MAP<VARCHAR,ARRAY<INT>>") == ("VARCHAR", "ARRAY<INT>")
    schema = Schema.of([("a", "BIGINT", False), Field("b", "VARCHAR")])
    assert schema.names == ("a", "b") and not schema["a"].nullable
    assert schema.select(["b"]).names == ("b",)
    assert str(schema["a"]) == "a BIGINT NOT NULL"
    with pytest.raises(SchemaError, match="duplicate"):
        Schema.of([("a", "INT"), ("a", "INT")])
    with pytest.raises(SchemaError, match="unknown SQL type"):
        Schema.of([("a", "GEOMETRY")])
