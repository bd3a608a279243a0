"""File source, sinks (exact output lines) and ${VAR} resolution."""

from __future__ import annotations

import io
import math

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from runtime_lib.columns import Batch, Column
from runtime_lib.env import MissingEnvironmentVariable, references, resolve_env, resolve_properties
from runtime_lib.io.decode import DeadLetter
from runtime_lib.io.sinks import (
    DeadLetterSink,
    JsonLinesFileSink,
    StdoutSink,
    encode_json_lines,
    format_table,
)
from runtime_lib.io.sources import FileSource
from runtime_lib.schema import Field, Schema

from .conftest import col

EVENTS = [Field("user_id", "VARCHAR", False), Field("latency_ms", "DOUBLE"), Field("ts", "TIMESTAMP(3)", False)]

# --- file source ----------------------------------------------------------------


def test_json_file_source_batches_positions_and_offsets(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        b'{"user_id": "a", "latency_ms": 1, "ts": 1000}\n'
        b'{"user_id": "b", "latency_ms": "slow", "ts": 2000}\r\n'
        b"\n"
        b'{"user_id": "c", "ts": "1970-01-01 00:00:03"}\n'
        b"garbage\n"
        b'{"user_id": "d", "latency_ms": 4.5, "ts": 4000}'  # no final newline
    )
    source = FileSource(path, EVENTS, "json", batch_size=2, source_name="events")
    out = list(source)
    rows = [row for batch, _ in out for row in batch.to_rows()]
    dead = [d for _, letters in out for d in letters]
    assert [batch.num_rows for batch, _ in out] == [1, 1, 1]
    assert rows == [("a", 1.0, 1000), ("c", None, 3000), ("d", 4.5, 4000)]
    assert [(d.position, d.source) for d in dead] == [(2, "events"), (5, "events")]
    assert dead[0].reason == "field 'latency_ms': expected DOUBLE, got string 'slow'"
    assert dead[1].raw == b"garbage"
    assert source.offset == 6 and source.records_read == 5 and source.dead_letters == 2

    resumed = FileSource(path, EVENTS, "json", batch_size=100, start_line=4)
    ((batch, letters),) = list(resumed)
    assert batch.to_rows() == [("d", 4.5, 4000)]
    assert [d.position for d in letters] == [5]


def test_default_batch_size_and_many_batches(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"".join(b'{"user_id": "u%d", "ts": %d}\n' % (i, i) for i in range(2500)))
    assert FileSource(path, EVENTS).batch_size == 65_536
    batches = list(FileSource(path, EVENTS, batch_size=1000))
    assert [b.num_rows for b, _ in batches] == [1000, 1000, 500]
    assert batches[2][0]["ts"].to_pylist()[-1] == 2499


def test_csv_file_source(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(
        b"ts,user_id,latency_ms\r\n"
        b"1000,a,1.5\r\n"
        b'2000,"multi\nline",\r\n'
        b"oops,c,1\r\n"
        b"\r\n"
        b"4000,d,2\r\n"
    )
    out = list(FileSource(path, EVENTS, "csv", batch_size=10))
    ((batch, dead),) = out
    assert batch.to_rows() == [("a", 1.5, 1000), ("multi\nline", None, 2000), ("d", 2.0, 4000)]
    assert [(d.position, d.raw) for d in dead] == [(5, b"oops,c,1")]  # line 5: a record spans 3-4


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert list(FileSource(empty, EVENTS)) == []
    header_only = tmp_path / "h.csv"
    header_only.write_bytes(b"ts,user_id\n")
    assert list(FileSource(header_only, EVENTS, "csv")) == []
    with pytest.raises(ValueError, match="unsupported file format"):
        FileSource(empty, EVENTS, "parquet")


# --- sinks ------------------------------------------------------------------------

OUT = Schema.of(
    [
        Field("user_id", "VARCHAR"),
        Field("n", "BIGINT"),
        Field("avg", "DOUBLE"),
        Field("ok", "BOOLEAN"),
        Field("window_start", "TIMESTAMP(3)"),
        Field("day", "DATE"),
    ]
)


def out_batch() -> Batch:
    return Batch(
        {
            "user_id": col(["u1", None, 'quote "},{"user_id":'], "VARCHAR"),
            "n": col([1, 2**62, None], "BIGINT"),
            "avg": col([1.5, math.nan, None], "DOUBLE"),
            "ok": col([True, None, False], "BOOLEAN"),
            "window_start": col([1704103200000, -1, None], "BIGINT"),
            "day": col([19723, 0, None], "BIGINT"),
        },
        3,
    )


EXPECTED_LINES = [
    ('{"user_id":"u1","n":1,"avg":1.5,"ok":true,"window_start":"2024-01-01 10:00:00.000",'
    '"day":"2024-01-01"}'),
    ('{"user_id":null,"n":4611686018427387904,"avg":null,"ok":null,'
    '"window_start":"1969-12-31 23:59:59.999","day":"1970-01-01"}'),
    ('{"user_id":"quote \\"},{\\"user_id\\":","n":null,"avg":null,"ok":false,'
    '"window_start":null,"day":null}'),
]


def test_encode_json_lines_exact():
    assert encode_json_lines(out_batch(), OUT).decode().splitlines() == EXPECTED_LINES
    assert encode_json_lines(Batch({"x": col([], "BIGINT")}, 0), None) == b""


def test_encode_with_changelog_ops():
    lines = encode_json_lines(out_batch(), OUT, ops=["+I", "-U", 2]).decode().splitlines()
    assert [line[:13] for line in lines] == ['{"_op":"+I","', '{"_op":"-U","', '{"_op":"+U","']
    assert lines[0] == '{"_op":"+I",' + EXPECTED_LINES[0][1:]
    carried = Batch(out_batch().columns, 3, ops=np.array(["+I", "-U", "+U"], dtype=object))
    assert encode_json_lines(carried, OUT).decode().splitlines() == lines
    with pytest.raises(ValueError, match="ops has 1 entries for 3 rows"):
        encode_json_lines(out_batch(), OUT, ops=["+I"])


def test_nested_values_are_encoded_row_by_row():
    schema = [Field("tags", "ARRAY<VARCHAR>"), Field("m", "MAP<VARCHAR,BIGINT>")]
    tags = np.empty(2, dtype=object)
    tags[:] = [["a"], [{"tags": 1}]]
    maps = np.empty(2, dtype=object)
    maps[:] = [{"k": 1}, None]
    batch = Batch({"tags": Column(tags), "m": Column(maps, np.array([True, False]))}, 2)
    assert encode_json_lines(batch, schema).decode().splitlines() == [
        '{"tags":["a"],"m":{"k":1}}',
        '{"tags":[{"tags":1}],"m":null}',
    ]


def test_json_lines_file_sink(tmp_path):
    path = tmp_path / "out" / "result.jsonl"
    with JsonLinesFileSink(path, OUT) as sink:
        sink.write(out_batch())
        sink.write(out_batch().take(np.array([0])), ops=["-D"])
    lines = path.read_text().splitlines()
    assert lines == EXPECTED_LINES + ['{"_op":"-D",' + EXPECTED_LINES[0][1:]]
    assert sink.counters.rows == 4 and sink.counters.batches == 2
    assert sink.counters.by_op == {"-D": 1}


def test_stdout_sink_json_and_pretty(capsys):
    StdoutSink(OUT).write(out_batch())
    assert capsys.readouterr().out.splitlines() == EXPECTED_LINES
    text = io.StringIO()  # a stream without a byte buffer
    StdoutSink(OUT, stream=text).write(out_batch().take(np.array([0])))
    assert text.getvalue().splitlines() == EXPECTED_LINES[:1]
    pretty = io.StringIO()
    StdoutSink(OUT, pretty=True, stream=pretty).write(out_batch())
    rendered = pretty.getvalue()
    for cell in ["user_id", "window_start", "2024-01-01 10:00:00.000", "NULL", "TRUE", "u1"]:
        assert cell in rendered


def test_format_table_plain_text_exact():
    batch = Batch({"name": col(["a", None], "VARCHAR"), "n": col([5, 123], "BIGINT")}, 2)
    schema = [Field("name", "VARCHAR"), Field("n", "BIGINT")]
    assert format_table(batch, schema, ops=["+I", "-U"]) == (
        "op | name | n\n"
        "---+------+----\n"
        "+I | a    |   5\n"
        "-U | NULL | 123\n"
    )


def test_dead_letter_sink(tmp_path):
    path = tmp_path / "dlq.jsonl"
    with DeadLetterSink(path) as sink:
        sink.write(
            [
                DeadLetter(b'{"x": "\xff', "malformed JSON: truncated", "events", 7),
                DeadLetter(b"a,b", "expected 3 CSV fields, got 2", "f.csv", "p0:12"),
            ]
        )
        sink.write([])
    assert path.read_text(encoding="utf-8").splitlines() == [
        ('{"reason":"malformed JSON: truncated","source":"events","position":7,'
        '"raw":"{\\"x\\": \\"\ufffd"}'),
        ('{"reason":"expected 3 CSV fields, got 2","source":"f.csv","position":"p0:12",'
        '"raw":"a,b"}'),
    ]
    assert sink.count == 2 and sink.by_source == {"events": 1, "f.csv": 1}


# --- ${VAR} -------------------------------------------------------------------------


def test_resolve_env():
    env = {"HOST": "db1", "PASSWORD": "s3cret", "EMPTY": ""}
    props = {"url": "postgres://${HOST}:5432/x", "password": "${PASSWORD}", "n": "${EMPTY}$5"}
    assert resolve_properties(props, env) == {
        "url": "postgres://db1:5432/x",
        "password": "s3cret",
        "n": "$5",
    }
    assert resolve_env("literal $${HOST} and ${HOST}", "p", env) == "literal ${HOST} and db1"
    assert references("${A}-${B_2} $${C}") == ["A", "B_2"]


def test_missing_variable_names_variable_and_property():
    with pytest.raises(MissingEnvironmentVariable) as info:
        resolve_properties({"user": "x", "password": "${PG_PASSWORD}", "host": "${PG_HOST}"}, {})
    error = info.value
    assert error.variable == "PG_PASSWORD" and error.property == "password"
    assert str(error) == (
        "environment variable PG_PASSWORD is not set (used in property 'password'); "
        "environment variable PG_HOST is not set (used in property 'host')"
    )
    with pytest.raises(MissingEnvironmentVariable, match="NOPE is not set"):
        resolve_env("${NOPE}", environ={})


def test_resolve_env_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("SQLC_TEST_TOPIC", "events")
    assert resolve_env("${SQLC_TEST_TOPIC}", "topic") == "events"


# --- the CSV file source against a line-by-line reference --------------------------

CSV_FIELDS = [Field("user_id", "VARCHAR", False), Field("n", "BIGINT")]


def _reference_csv_batches(data: bytes, batch_size: int, start_line: int):
    """The CSV source's contract, one line at a time: (records, positions,
    offset after the batch) per batch."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    numbered = iter(enumerate(lines, 1))
    for number, line in numbered:
        if line.strip():
            break
    else:
        return []
    batches, records, positions, pending, start, last = [], [], [], [], 0, number
    for number, line in numbered:
        last = number
        if number <= start_line:
            continue
        if not pending:
            if not line.strip():
                continue
            start = number
        pending.append(line)
        record = b"\n".join(pending)
        if record.count(b'"') % 2:
            continue
        pending = []
        records.append(record)
        positions.append(start)
        if len(records) >= batch_size:
            batches.append((records, positions, number))
            records, positions = [], []
    if pending:
        records.append(b"\n".join(pending))
        positions.append(start)
    if records:
        batches.append((records, positions, last))
    return batches


_csv_lines = st.lists(
    st.sampled_from([b"a,1", b"b,", b'"c,d",2', b'"multi', b'line",3', b"", b"  ", b"x,y,z",
                     b'e,"4"', b"\xff,5", b"f,six"]),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_csv_lines, st.sampled_from([b"\n", b"\r\n"]), st.sampled_from([1, 7, 1000]),
       st.integers(0, 12), st.sampled_from([5, 16, 1 << 22]))
def test_csv_file_source_equals_line_by_line_reference(
    tmp_path_factory, lines, newline, batch_size, start_line, read_size
):
    from runtime_lib.io import sources
    from runtime_lib.io.decode import CsvDecoder

    data = newline.join([b"user_id,n", *lines]) + newline
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(data)
    original = sources._READ_SIZE
    sources._READ_SIZE = read_size  # blocks end anywhere, even inside a record
    try:
        source = FileSource(path, CSV_FIELDS, "csv", batch_size=batch_size,
                            start_line=start_line, source_name="f")
        got = []
        for batch, dead in source:
            got.append((batch.to_rows(), dead, source.offset))
    finally:
        sources._READ_SIZE = original
    decoder = CsvDecoder(CSV_FIELDS, ["user_id", "n"], "f")
    expected = []
    for records, positions, offset in _reference_csv_batches(data, batch_size, start_line):
        batch, dead = decoder.decode_reference(records, positions)
        expected.append((batch.to_rows(), dead, offset))
    assert got == expected


_json_lines = st.lists(
    st.sampled_from([b'{"user_id": "a", "ts": 1}', b'{"user_id": "b", "latency_ms": 2.5, "ts": 2}',
                     b"", b"  ", b"\t", b'{"user_id": 3, "ts": 3}', b"[]", b'{"user_id": "c"',
                     b'"ts": 4}', b'{"user_id": "\\u00e9", "ts": 5}']),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_json_lines, st.sampled_from([b"\n", b"\r\n"]), st.sampled_from([1, 7, 1000]),
       st.integers(0, 12), st.sampled_from([3, 16, 1 << 22]), st.booleans())
def test_json_file_source_equals_line_by_line_reference(
    tmp_path_factory, lines, newline, batch_size, start_line, read_size, final_newline
):
    from runtime_lib.io import sources
    from runtime_lib.io.decode import JsonDecoder

    data = newline.join(lines) + (newline if final_newline else b"")
    path = tmp_path_factory.mktemp("json") / "f.jsonl"
    path.write_bytes(data)
    original = sources._READ_SIZE
    sources._READ_SIZE = read_size  # blocks end anywhere
    try:
        source = FileSource(path, EVENTS, "json", batch_size=batch_size,
                            start_line=start_line, source_name="f")
        got = [(batch.to_rows(), dead) for batch, dead in source]
    finally:
        sources._READ_SIZE = original
    numbered = [(n, line[:-1] if line.endswith(b"\r") else line)
                for n, line in enumerate(data.split(b"\n"), 1)]
    if numbered and numbered[-1][1] == b"":
        numbered.pop()
    records = [(n, line) for n, line in numbered if n > start_line and line.strip()]
    expected = []
    decoder = JsonDecoder(EVENTS, "f")
    for i in range(0, len(records), batch_size):
        part = records[i : i + batch_size]
        batch, dead = decoder.decode_reference([r for _, r in part], [n for n, _ in part])
        expected.append((batch.to_rows(), dead))
    assert got == expected
    assert source.offset == max(start_line, len(numbered))
