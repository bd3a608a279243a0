"""Decoders: every bad record becomes a dead letter with a precise reason and
its position; good records around it survive; the bulk path and the
record-by-record reference path give identical batches."""

from __future__ import annotations

import json

import hypothesis.strategies as st
import numpy as np
import orjson
import pytest
from hypothesis import given, settings

from runtime_lib.columns import Batch
from runtime_lib.io import decode as decode_module
from runtime_lib.io.decode import CsvDecoder, DeadLetter, JsonDecoder
from runtime_lib.schema import Field

SCHEMA = [
    Field("request_id", "VARCHAR", False),
    Field("user_id", "VARCHAR", False),
    Field("ts", "TIMESTAMP(3)", False),
    Field("latency_ms", "DOUBLE", False),
    Field("tokens_used", "BIGINT", False),
    Field("error_code", "VARCHAR"),
    Field("ok", "BOOLEAN"),
    Field("small", "INT"),
]

GOOD = {
    "request_id": "r1",
    "user_id": "u1",
    "ts": 1704103200123,
    "latency_ms": 12.5,
    "tokens_used": 10,
    "error_code": None,
    "ok": True,
    "small": 1,
}


def record(**changes) -> bytes:
    data = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data).encode()


def assert_identical(a: Batch, b: Batch) -> None:
    assert a.num_rows == b.num_rows
    assert list(a.columns) == list(b.columns)
    for name in a.columns:
        x, y = a[name], b[name]
        assert x.values.dtype == y.values.dtype, name
        assert list(map(repr, x.to_pylist())) == list(map(repr, y.to_pylist())), name  # NaN too
        assert (x.valid is None) == (y.valid is None), name
        if x.valid is not None:
            assert np.array_equal(x.valid, y.valid), name


BAD_CASES = [
    (b'{"request_id": "r1", "user_id"', "malformed JSON: truncated at line 1, column 31 (byte 30)"),
    (b"?not json", "malformed JSON: unexpected '?' at line 1, column 1 (byte 0)"),
    (b"", "malformed JSON: empty record"),
    (b"[1, 2]", "expected a JSON object, got array"),
    (b'"text"', "expected a JSON object, got string 'text'"),
    (b"42", "expected a JSON object, got integer 42"),
    (record(latency_ms="fast"), "field 'latency_ms': expected DOUBLE, got string 'fast'"),
    (record(latency_ms="1.5"), "field 'latency_ms': expected DOUBLE, got string '1.5'"),
    (record(tokens_used=1.5), "field 'tokens_used': expected BIGINT, got number 1.5"),
    (record(tokens_used=2.0), "field 'tokens_used': expected BIGINT, got number 2.0"),
    (record(tokens_used=True), "field 'tokens_used': expected BIGINT, got boolean true"),
    (record(tokens_used=2**64), f"field 'tokens_used': expected BIGINT, got out-of-range integer {2**64}"),
    (record(small=2**31), f"field 'small': expected INT, got out-of-range integer {2**31}"),
    (record(user_id=7), "field 'user_id': expected VARCHAR, got integer 7"),
    (record(ok="yes"), "field 'ok': expected BOOLEAN, got string 'yes'"),
    (record(error_code=[1]), "field 'error_code': expected VARCHAR, got array"),
    (record(user_id=...), "field 'user_id': missing, but the column is NOT NULL"),
    (record(user_id=None), "field 'user_id': expected VARCHAR NOT NULL, got null"),
    (
        record(ts="yesterday"),
        ("field 'ts': expected TIMESTAMP(3) (epoch millis or 'YYYY-MM-DD HH:MM:SS[.fff]'),"
        " got string 'yesterday'"),
    ),
    (
        record(ts="2024-02-30 10:00:00"),
        ("field 'ts': expected TIMESTAMP(3) (epoch millis or 'YYYY-MM-DD HH:MM:SS[.fff]'),"
        " got string '2024-02-30 10:00:00'"),
    ),
    (
        record(ts=1.5),
        ("field 'ts': expected TIMESTAMP(3) (epoch millis or 'YYYY-MM-DD HH:MM:SS[.fff]'),"
        " got number 1.5"),
    ),
    (
        record(latency_ms="x", user_id=...),
        ("field 'user_id': missing, but the column is NOT NULL;"
        " field 'latency_ms': expected DOUBLE, got string 'x'"),
    ),
    (b'{"user_id": "\xff"}', "malformed JSON: invalid UTF-8 at byte 13 (0xff)"),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000,
     "malformed JSON: nested 5000 levels deep (at byte 24995), deeper than the decoder follows"),
    (b"[" * 100_000,
     ("malformed JSON: nested 100000 levels deep (at byte 99999), deeper than the decoder "
      "follows")),
]


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "reference"])
@pytest.mark.parametrize("raw, reason", BAD_CASES, ids=[r for _, r in BAD_CASES])
def test_bad_record_goes_to_dead_letters(raw, reason, bulk):
    decoder = JsonDecoder(SCHEMA, source="events")
    records = [record(request_id="before"), raw, record(request_id="after")]
    decode = decoder.decode if bulk else decoder.decode_reference
    batch, dead = decode(records, positions=[10, 11, 12])
    assert dead == [DeadLetter(raw, reason, "events", 11)]
    assert batch.num_rows == 2
    assert batch["request_id"].to_pylist() == ["before", "after"]


def test_good_values_and_lenient_rules():
    decoder = JsonDecoder(SCHEMA)
    records = [
        record(latency_ms=12),  # an int for DOUBLE
        record(ts="2024-01-01 10:00:00.5"),  # a timestamp string
        record(ts="2024-01-01T10:00:00Z", extra={"nested": [1]}),  # unknown keys ignored
        record(error_code=..., ok=..., small=...),  # missing nullable -> NULL
        b'  {"request_id":"r9","user_id":"u","ts":0,"latency_ms":-0.5,"tokens_used":-3}  ',
    ]
    batch, dead = decoder.decode(records)
    assert dead == []
    assert batch.to_rows() == [
        ("r1", "u1", 1704103200123, 12.0, 10, None, True, 1),
        ("r1", "u1", 1704103200500, 12.5, 10, None, True, 1),
        ("r1", "u1", 1704103200000, 12.5, 10, None, True, 1),
        ("r1", "u1", 1704103200123, 12.5, 10, None, None, None),
        ("r9", "u", 0, -0.5, -3, None, None, None),
    ]
    assert batch["latency_ms"].values.dtype == np.float64
    assert batch["ts"].values.dtype == np.int64
    assert batch["ok"].valid.tolist() == [True, True, True, False, False]
    assert_identical(batch, decoder.decode_reference(records)[0])


def test_nested_types():
    schema = [Field("tags", "ARRAY<VARCHAR>"), Field("m", "MAP<VARCHAR,BIGINT>")]
    decoder = JsonDecoder(schema)
    records = [
        b'{"tags": ["a", null], "m": {"x": 1}}',
        b'{"tags": [1]}',
        b'{"m": {"x": "one"}}',
        b"{}",
    ]
    batch, dead = decoder.decode(records)
    assert batch.to_rows() == [(["a", None], {"x": 1}), (None, None)]
    assert [d.position for d in dead] == [1, 2]
    assert dead[0].reason.startswith("field 'tags': expected ARRAY<VARCHAR>, got array")
    assert dead[1].reason.startswith("field 'm': expected MAP<VARCHAR,BIGINT>, got object")
    ref_batch, ref_dead = decoder.decode_reference(records)
    assert_identical(batch, ref_batch)
    assert ref_dead == dead


def test_all_bad_and_empty_batches():
    decoder = JsonDecoder(SCHEMA)
    batch, dead = decoder.decode([b"x", b"y"])
    assert batch.num_rows == 0 and len(dead) == 2
    assert all(len(c) == 0 for c in batch.columns.values())
    batch, dead = decoder.decode([])
    assert batch.num_rows == 0 and dead == [] and list(batch.columns) == [f.name for f in SCHEMA]


def test_field_names_that_are_not_identifiers():
    decoder = JsonDecoder([Field("user id", "VARCHAR"), Field("class", "BIGINT")])
    batch, dead = decoder.decode([b'{"user id": "a", "class": 3}'])
    assert dead == [] and batch.to_rows() == [("a", 3)]


# --- bulk path == reference path, on random mixes of good and bad records ----

_values = {
    "request_id": st.text(max_size=5),
    "user_id": st.one_of(st.text(max_size=3), st.none(), st.integers(0, 9)),
    "ts": st.one_of(
        st.integers(-(2**40), 2**45),
        st.sampled_from(["2024-01-01 00:00:00", "2024-13-01", "x", "2024-01-01T01:02:03.456"]),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    "latency_ms": st.one_of(
        st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**6), 10**6),
        st.text(max_size=2),
    ),
    "tokens_used": st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(-5, 5), st.booleans()),
    "error_code": st.one_of(st.none(), st.text(max_size=4)),
    "ok": st.one_of(st.none(), st.booleans(), st.integers(0, 1)),
    "small": st.one_of(st.none(), st.integers(-(2**32), 2**32)),
}
_good_values = {
    "request_id": st.text(max_size=5),
    "user_id": st.text(max_size=3),
    "ts": st.one_of(
        st.integers(-(2**40), 2**45), st.sampled_from(["2024-01-01 00:00:00", "2024-02-29T23:59"])
    ),
    "latency_ms": st.one_of(
        st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**6), 10**6)
    ),
    "tokens_used": st.integers(-(2**63), 2**63 - 1),
    "error_code": st.one_of(st.none(), st.text(max_size=4)),
    "ok": st.one_of(st.none(), st.booleans()),
    "small": st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
}


def _merge(good: dict, changes: dict, dropped: list) -> bytes:
    merged = {**good, **changes}
    for key in dropped:
        merged.pop(key, None)
    return orjson.dumps(merged)


# a valid record with 0-2 fields replaced by arbitrary (often wrong) values and
# 0-1 fields removed: about half the records are good
_objects = st.builds(
    _merge,
    st.fixed_dictionaries(_good_values),
    st.lists(st.sampled_from(sorted(_values)), max_size=2).flatmap(
        lambda keys: st.fixed_dictionaries({k: _values[k] for k in keys})
    ),
    st.lists(st.sampled_from(sorted(_values)), max_size=1),
)
_garbage = st.one_of(
    st.binary(max_size=10),
    st.sampled_from([b"[]", b"null", b'{"a":', b"{}}", b'{"ts": 1}{"ts": 2}']),
)
_records = st.lists(st.one_of(_objects, _objects, _objects, _garbage), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(_records, st.sampled_from([1, 3, 1024]))
def test_bulk_equals_reference(records, chunk):
    original = decode_module.CHUNK
    decode_module.CHUNK = chunk  # exercise chunk boundaries
    try:
        decoder = JsonDecoder(SCHEMA, "s")
        bulk_batch, bulk_dead = decoder.decode(records)
        ref_batch, ref_dead = decoder.decode_reference(records)
    finally:
        decode_module.CHUNK = original
    assert_identical(bulk_batch, ref_batch)
    assert bulk_dead == ref_dead
    assert bulk_batch.num_rows + len(bulk_dead) == len(records)
    assert [d.position for d in bulk_dead] == sorted(d.position for d in bulk_dead)
    GENERATED["good"] += bulk_batch.num_rows
    GENERATED["bad"] += len(bulk_dead)


GENERATED = {"good": 0, "bad": 0}


def test_generated_records_were_mixed():
    """The property test above saw both good and bad records (not vacuous)."""
    if GENERATED["good"] + GENERATED["bad"] == 0:
        test_bulk_equals_reference()
    assert GENERATED["good"] > 20 and GENERATED["bad"] > 20, GENERATED


def test_bulk_equals_reference_on_a_large_mixed_batch():
    good = [record(request_id=f"r{i}", latency_ms=float(i)) for i in range(5000)]
    records = list(good)
    bad_at = [0, 1, 1023, 1024, 1025, 2047, 3000, 4999]
    for i in bad_at:
        records[i] = record(latency_ms="slow") if i % 2 else record(ts="not a time")
    decoder = JsonDecoder(SCHEMA)
    batch, dead = decoder.decode(records)
    assert [d.position for d in dead] == bad_at
    assert batch.num_rows == 5000 - len(bad_at)
    expected_ids = [f"r{i}" for i in range(5000) if i not in bad_at]
    assert batch["request_id"].to_pylist() == expected_ids
    assert_identical(batch, decoder.decode_reference(records)[0])


# --- CSV ---------------------------------------------------------------------------

CSV_SCHEMA = [
    Field("user_id", "VARCHAR", False),
    Field("latency_ms", "DOUBLE"),
    Field("tokens", "BIGINT"),
    Field("ts", "TIMESTAMP(3)", False),
    Field("ok", "BOOLEAN"),
    Field("not_in_file", "VARCHAR"),
]
CSV_HEADER = ["ts", "user_id", "latency_ms", "tokens", "ok"]


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "reference"])
def test_a_csv_file_without_a_header_line_gives_dead_letters_not_null_rows(bulk):
    """Flink's csv files have no header: read by sqlc, the first record would
    be taken for one and name no column. Every record says so."""
    decoder = CsvDecoder([Field("key", "BIGINT"), Field("value", "VARCHAR")], ["0", "0"])
    decode = decoder.decode if bulk else decoder.decode_reference
    batch, dead = decode([b"1,1", b"2,2"], positions=[2, 3])
    assert batch.num_rows == 0
    assert [d.position for d in dead] == [2, 3]
    assert "first line '0,0' names none of the columns key, value" in dead[0].reason


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "reference"])
def test_csv_decoding(bulk):
    decoder = CsvDecoder(CSV_SCHEMA, CSV_HEADER, source="f.csv")
    records = [
        b"1704103200123,u1,12.5,10,true",
        b'2024-01-01 10:00:00,"u,2",,,FALSE',
        b"0,u3,fast,1,true",
        b"0,u4,1.5,2.5,true",
        b"0,,1,1,true",
        b"0,u6,1,1",
        b"0,u7,1,1,maybe",
        b"later,u8,1,1,true",
        b"0,\xff,1,1,true",
        b"-5,u10,-1e3,-7,true",
    ]
    decode = decoder.decode if bulk else decoder.decode_reference
    batch, dead = decode(records, positions=list(range(2, 12)))
    assert batch.to_rows() == [
        ("u1", 12.5, 10, 1704103200123, True, None),
        ("u,2", None, None, 1704103200000, False, None),
        ("u10", -1000.0, -7, -5, True, None),
    ]
    assert [(d.position, d.reason) for d in dead] == [
        (4, "field 'latency_ms': expected DOUBLE, got 'fast'"),
        (5, "field 'tokens': expected BIGINT, got '2.5'"),
        (6, "field 'user_id': expected VARCHAR NOT NULL, got empty"),
        (7, "expected 5 CSV fields, got 4"),
        (8, "field 'ok': expected BOOLEAN, got 'maybe'"),
        (
            9,
            ("field 'ts': expected TIMESTAMP(3) (epoch millis or 'YYYY-MM-DD HH:MM:SS[.fff]'),"
            " got 'later'"),
        ),
        (10, "malformed CSV: invalid UTF-8 at byte 2 (0xff)"),
    ]
    assert all(d.source == "f.csv" for d in dead)


def test_csv_bulk_equals_reference_with_quoted_newlines():
    decoder = CsvDecoder(CSV_SCHEMA, CSV_HEADER)
    records = [b'0,"multi\nline",1,1,true', b"1,u,2,2,false", b'2,"bad"quote,1,1,true']
    bulk = decoder.decode(records)
    reference = decoder.decode_reference(records)
    assert_identical(bulk[0], reference[0])
    assert bulk[1] == reference[1]
    assert bulk[0]["user_id"].to_pylist() == ["multi\nline", "u"]
    assert [d.position for d in bulk[1]] == [2]


# --- CSV bulk path == reference path, on random mixes ------------------------------

CSV_MIX_SCHEMA = [
    Field("user_id", "VARCHAR", False),
    Field("latency_ms", "DOUBLE"),
    Field("tokens", "BIGINT"),
    Field("small", "SMALLINT"),
    Field("ts", "TIMESTAMP(3)", False),
    Field("ok", "BOOLEAN"),
    Field("day", "DATE"),
    Field("at", "TIME"),
    Field("not_in_file", "VARCHAR"),
]
CSV_MIX_HEADER = ["ts", "user_id", "latency_ms", "tokens", "small", "ok", "day", "at"]
_csv_good = {
    "ts": st.one_of(st.integers(-(2**40), 2**45).map(str),
                    st.sampled_from(["2024-01-01 00:00:00", "2024-02-29 23:59:59.5"])),
    "user_id": st.text("ab,\"é", min_size=1, max_size=3),
    "latency_ms": st.one_of(st.just(""), st.floats(allow_nan=False).map(repr),
                            st.integers(-9, 9).map(str), st.sampled_from(["1e3", ".5", "NaN"])),
    "tokens": st.one_of(st.just(""), st.integers(-(2**63), 2**63 - 1).map(str)),
    "small": st.one_of(st.just(""), st.integers(-(2**15), 2**15 - 1).map(str)),
    "ok": st.sampled_from(["", "true", "FALSE", "True"]),
    "day": st.sampled_from(["", "2024-01-31", "1970-01-01"]),
    "at": st.sampled_from(["", "10:00:00", "23:59:59.999"]),
}
_csv_bad = {
    "ts": st.sampled_from(["", "later", "99999999999999999999", "2024-13-01 00:00:00"]),
    "user_id": st.just(""),
    "latency_ms": st.sampled_from(["fast", "1,5", " 1", "1.5\n2", "inf"]),
    "tokens": st.sampled_from(["2.5", "9223372036854775808", "+", "1_000"]),
    "small": st.sampled_from(["32768", "-32769"]),
    "ok": st.sampled_from(["maybe", "1"]),
    "day": st.sampled_from(["2024-02-30", "today"]),
    "at": st.sampled_from(["25:00", "noon"]),
}


def _csv_record(good: dict, bad: dict) -> bytes:
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([{**good, **bad}[k] for k in CSV_MIX_HEADER])
    return out.getvalue().encode()


# mostly good records (a batch is often all good: the bulk path), some with one
# wrong value, a few malformed
_csv_records = st.lists(
    st.one_of(
        st.builds(_csv_record, st.fixed_dictionaries(_csv_good), st.just({})),
        st.builds(_csv_record, st.fixed_dictionaries(_csv_good), st.just({})),
        st.builds(
            _csv_record,
            st.fixed_dictionaries(_csv_good),
            st.sampled_from(sorted(_csv_bad)).flatmap(
                lambda key: st.fixed_dictionaries({key: _csv_bad[key]})),
        ),
        st.sampled_from([b"0,u", b"0,\xff,1,1,1,true,,", b'0,"x"y,1,1,1,true,,', b""]),
    ),
    min_size=1,
    max_size=30,
)
CSV_GENERATED = {"all good": 0, "some bad": 0}


@settings(max_examples=200, deadline=None)
@given(_csv_records)
def test_csv_bulk_equals_reference_on_random_mixes(records):
    decoder = CsvDecoder(CSV_MIX_SCHEMA, CSV_MIX_HEADER, source="m.csv")
    batch, dead = decoder.decode(records)
    ref_batch, ref_dead = decoder.decode_reference(records)
    assert_identical(batch, ref_batch)
    assert dead == ref_dead
    CSV_GENERATED["some bad" if dead else "all good"] += 1


def test_csv_random_mixes_had_good_and_bad_batches():
    if sum(CSV_GENERATED.values()) == 0:
        test_csv_bulk_equals_reference_on_random_mixes()
    assert CSV_GENERATED["all good"] > 10 and CSV_GENERATED["some bad"] > 10, CSV_GENERATED


def test_csv_good_batch_is_converted_without_a_per_record_step(monkeypatch):
    """A batch with no bad record never reaches the per-record conversion."""
    decoder = CsvDecoder(CSV_SCHEMA, CSV_HEADER)

    def per_record(*_):
        raise AssertionError("per-record conversion on an all-good batch")

    monkeypatch.setattr(decoder, "_convert_fields", per_record)
    records = [b"1704103200123,u1,12.5,10,true", b'2024-01-01 10:00:00,"u,2",,,FALSE'] * 500
    batch, dead = decoder.decode(records)
    assert dead == [] and batch.num_rows == 1000
    assert batch.to_rows()[:2] == [
        ("u1", 12.5, 10, 1704103200123, True, None),
        ("u,2", None, None, 1704103200000, False, None),
    ]
