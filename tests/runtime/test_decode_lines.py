"""The JSON-lines bulk path (``JsonDecoder.decode_lines``: a whole piece of a
file decoded in one msgspec call, no ``bytes`` per line) gives exactly the
strict per-record path's columns and dead letters, or declines and leaves the
piece to it; and the file source built on it equals the line-by-line
contract on random files mixing good and bad lines."""

from __future__ import annotations

import json

import hypothesis.strategies as st
import orjson
import pytest
from hypothesis import given, settings

from runtime_lib.io import decode as decode_module
from runtime_lib.io import sources
from runtime_lib.io.decode import JsonDecoder
from runtime_lib.io.sources import FileSource
from runtime_lib.schema import Field

from .test_decode import assert_identical

SCHEMA = [
    Field("id", "VARCHAR", False),
    Field("ts", "TIMESTAMP(3)", False),
    Field("latency_ms", "DOUBLE"),
    Field("tokens", "BIGINT"),
    Field("small", "INT"),
    Field("ok", "BOOLEAN"),
    Field("note", "VARCHAR"),
]

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)
_good = {
    "id": _text,
    "ts": st.one_of(st.integers(-(2**40), 2**45),
                    st.sampled_from(["2024-01-01 00:00:00", "2024-02-29 23:59:59.5",
                                     "2024-02-29T23:59", "2024-01-01 00:00:00.123"])),
    "latency_ms": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False),
                            st.integers(-(2**70), 2**70)),
    "tokens": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    "small": st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
    "ok": st.one_of(st.none(), st.booleans()),
    "note": st.one_of(st.none(), _text, st.just("}\n{"), st.just('} {"id": "x"}')),
}
_wrong = {  # a value that makes the record a dead letter
    "id": st.one_of(st.none(), st.integers(), st.lists(st.integers(), max_size=2)),
    "ts": st.one_of(st.none(), st.floats(allow_nan=False), st.booleans(),
                    st.sampled_from(["yesterday", "2024-02-30 10:00:00", "2024-13-01", ""]),
                    st.integers(2**63, 2**64)),
    "latency_ms": st.one_of(st.text(max_size=3), st.booleans(), st.just([1.5])),
    "tokens": st.one_of(st.floats(-5, 5), st.integers(2**63, 2**65), st.just("7")),
    "small": st.one_of(st.integers(2**31, 2**40), st.just(1.0)),
    "ok": st.one_of(st.integers(0, 1), st.just("true")),
    "note": st.one_of(st.integers(), st.just({"a": 1})),
}


def _record(good: dict, wrong: dict, drop: list, extra: bool) -> bytes:
    merged = {**good, **wrong}
    for key in drop:
        merged.pop(key, None)
    if extra:  # keys the query does not read, skipped by the decoder
        merged = {"unread": ["x", {"y": None}], **merged, "more": 1e300}
    return json.dumps(merged, ensure_ascii=False).encode()  # (orjson refuses big ints)


_records = st.builds(
    _record,
    st.fixed_dictionaries(_good),
    st.one_of(st.just({}), st.just({}), st.sampled_from(sorted(_wrong)).flatmap(
        lambda key: st.fixed_dictionaries({key: _wrong[key]}))),
    st.lists(st.sampled_from(sorted(_good)), max_size=1),  # missing: NULL, or bad if NOT NULL
    st.booleans(),
)
# lines that are no record, or that would fool a reader of whitespace-separated
# values into other record boundaries than the lines'
_tricky = st.sampled_from([
    b"", b"  ", b"\t", b"{", b"}", b"[]", b"null", b"42", b'"text"', b"?", b"\xff",
    b'{"id": "a", "ts": 1} {"id": "b", "ts": 2}', b'{"id": "a", "ts": 1}{"id": "b", "ts": 2}',
    b'{"id": "a", "ts":', b'1}', b'1} {"id": "c", "ts": 3}', b'{"id": "a", "ts": [{"x": 1}',
    b'{"x": 2}], "more": 1}', b'{"id": "\\u00e9\\ud83d\\ude00", "ts": 9}', b'{"id": "r", "ts": 1}\r',
    b'{"id": "r", "ts": 1} ', b' {"id": "r", "ts": 1}', b'{"id":"r","ts":1,"ts":"2024-01-01 00:00:00"}',
    b"\xef\xbb\xbf{\"id\": \"bom\", \"ts\": 1}", b'{"id": "a", "ts": 1, }',
])
# records msgspec takes, some of which the timestamp column refuses (dead
# letters found after the bulk decode)
_taken = st.builds(
    _record,
    st.fixed_dictionaries(_good),
    st.one_of(st.just({}), st.just({}), st.just({}), st.fixed_dictionaries(
        {"ts": st.sampled_from(["yesterday", "2024-02-30 10:00:00", "2024-13-01", ""])})),
    st.just([]),
    st.booleans(),
)
_lines = st.one_of(st.lists(st.one_of(_records, _records, _records, _tricky), max_size=50),
                   st.lists(_taken, min_size=1, max_size=50))


def _strict(decoder: JsonDecoder, lines: list[bytes], first: int):
    """The strict path on the same lines (a trailing CR is the line end's)."""
    records = [line.removesuffix(b"\r") for line in lines]
    return decoder.decode_reference(records, list(range(first, first + len(lines))))


@settings(max_examples=300, deadline=None)
@given(_lines, st.integers(1, 1000))
def test_decode_lines_is_the_strict_path_or_declines(lines, first):
    decoder = JsonDecoder(SCHEMA, "f")
    buffer = b"\n".join(lines)
    decoded = decoder.decode_lines(buffer, first)
    if decoded is None:  # declined: some line is bad, blank, or not one object
        OUTCOMES["declined"] += 1
        return
    batch, dead, count = decoded
    assert count == len(lines) == len(buffer.split(b"\n"))
    expected_batch, expected_dead = _strict(decoder, lines, first)
    assert_identical(batch, expected_batch)
    assert dead == expected_dead
    OUTCOMES["taken"] += 1
    OUTCOMES["late dead letters"] += len(dead)


OUTCOMES = {"declined": 0, "taken": 0, "late dead letters": 0}


def test_the_property_saw_both_outcomes():
    """Not vacuous: pieces were decoded in bulk, some with dead letters (the
    timestamp texts msgspec takes and the column refuses), and some declined."""
    if not OUTCOMES["taken"]:
        test_decode_lines_is_the_strict_path_or_declines()
    assert OUTCOMES["taken"] > 10 and OUTCOMES["declined"] > 10, OUTCOMES
    assert OUTCOMES["late dead letters"] > 0, OUTCOMES


@pytest.mark.parametrize("lines", [
    [b'{"id": "a", "ts":', b'1} {"id": "c", "ts": 3}'],  # as many objects as lines
    [b'{"id": "a", "ts": 1} {"id": "b", "ts": 2}', b""],
    [b'{"id": "a", "ts": [{"x": 1}', b'{"x": 2}], "more": 1}', b'{"id": "b", "ts": 2}'],
    [b'{"id": "a", "ts": 1}', b"", b'{"id": "b", "ts": 2}'],
    [b'{"id": "a", "ts": 1}', b"  "],
    [b'{"id": "a", "ts": 1}\r', b"\r", b'{"id": "b", "ts": 2}'],
], ids=["split-and-joined", "two-then-blank", "object-across-lines", "blank", "spaces", "cr-only"])
def test_lines_that_are_not_one_object_each_are_declined(lines):
    """Line sets on which msgspec's decode_lines (whitespace-separated values)
    finds other records than the lines: the bulk path must not take them."""
    assert JsonDecoder(SCHEMA, "f").decode_lines(b"\n".join(lines), 1) is None


def test_good_lines_are_taken_in_bulk_crlf_too():
    decoder = JsonDecoder(SCHEMA, "f")
    lines = [b'{"id": "a", "ts": 1}', b'{"id": "b", "ts": "2024-01-01 00:00:00", "x": [1]}']
    for newline in (b"\n", b"\r\n"):
        batch, dead, count = decoder.decode_lines(newline.join(lines), 5)
        assert (count, dead) == (2, [])
        assert batch.to_rows() == [("a", 1, None, None, None, None, None),
                                   ("b", 1704067200000, None, None, None, None, None)]


# --- the file source on top of it ------------------------------------------------


def _reference_batches(data: bytes, decoder: JsonDecoder, batch_size: int, start_line: int):
    """The JSON-lines source's contract, one line at a time."""
    numbered = [(n, line.removesuffix(b"\r")) for n, line in enumerate(data.split(b"\n"), 1)]
    if numbered and numbered[-1][1] == b"":
        numbered.pop()
    records = [(n, line) for n, line in numbered if n > start_line and line.strip()]
    out = []
    for i in range(0, len(records), batch_size):
        part = records[i : i + batch_size]
        batch, dead = decoder.decode_reference([r for _, r in part], [n for n, _ in part])
        # a full batch ends at its last record, the last partial one at the end of file
        offset = part[-1][0] if len(part) == batch_size else max(start_line, len(numbered))
        out.append((batch, dead, offset))
    return out


@settings(max_examples=150, deadline=None)
@given(_lines, st.sampled_from([b"\n", b"\r\n"]), st.sampled_from([1, 3, 7, 1000]),
       st.integers(0, 12), st.sampled_from([5, 64, 1 << 22]), st.sampled_from([1, 40, 150, 400, 1 << 16]),
       st.booleans())
def test_file_source_equals_the_line_by_line_contract(
    tmp_path_factory, lines, newline, batch_size, start_line, read_size, piece, final_newline
):
    data = newline.join(lines) + (newline if final_newline and lines else b"")
    path = tmp_path_factory.mktemp("json") / "f.jsonl"
    path.write_bytes(data)
    saved = sources._READ_SIZE, sources._PIECE
    sources._READ_SIZE, sources._PIECE = read_size, piece  # blocks and pieces end anywhere
    try:
        source = FileSource(path, SCHEMA, "json", batch_size=batch_size,
                            start_line=start_line, source_name="f")
        got = [(batch, dead, source.offset) for batch, dead in source]
    finally:
        sources._READ_SIZE, sources._PIECE = saved
    expected = _reference_batches(data, JsonDecoder(SCHEMA, "f"), batch_size, start_line)
    assert len(got) == len(expected)
    for (batch, dead, offset), (want_batch, want_dead, want_offset) in zip(got, expected):
        assert_identical(batch, want_batch)
        assert dead == want_dead
        assert offset == want_offset
    assert source.records_read == sum(b.num_rows + len(d) for b, d, _ in expected)


def test_a_good_file_never_goes_record_by_record(tmp_path, monkeypatch):
    """On a file of good lines the source decodes pieces in bulk: neither the
    per-record decode nor a split into lines is used."""
    lines = [orjson.dumps({"id": f"r{i}", "ts": i, "latency_ms": i / 2, "unread": "x" * (i % 7)})
             for i in range(20_000)]
    path = tmp_path / "good.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    def refuse(*args, **kwargs):
        raise AssertionError("went record by record")

    monkeypatch.setattr(decode_module.JsonDecoder, "decode", refuse)
    source = FileSource(path, SCHEMA, "json", batch_size=4096)
    rows = sum(batch.num_rows for batch, dead in source)
    assert rows == 20_000 and source.offset == 20_000


_NOT_ONE_EACH = [  # as in test_lines_that_are_not_one_object_each_are_declined
    [b'{"id": "a", "ts":', b'1} {"id": "c", "ts": 3}'],
    [b'{"id": "a", "ts": 1} {"id": "b", "ts": 2}', b""],
    [b'{"id": "a", "ts": [{"x": 1}', b'{"x": 2}], "more": 1}', b'{"id": "b", "ts": 2}'],
    [b'{"id": "a", "ts": 1}', b"", b'{"id": "b", "ts": 2}'],
    [b'{"id": "a", "ts": 1}\r', b"\r", b'{"id": "b", "ts": 2}'],
]


@pytest.mark.parametrize("tricky", _NOT_ONE_EACH, ids=["split-and-joined", "two-then-blank",
                                                       "object-across-lines", "blank", "cr-only"])
@pytest.mark.parametrize("piece", [1, 60, 130, 300, 1 << 16])
@pytest.mark.parametrize("before", [0, 1, 3, 7])
def test_pieces_inside_a_block_are_checked(tmp_path, tricky, piece, before):
    """Lines that are not one object each, in the middle of a block cut into
    pieces of several lines: the source's block-wide check of the line breaks
    (not the decoder's own, which sees only the first piece of a block) must
    send their piece record by record."""
    good = [orjson.dumps({"id": f"r{i}", "ts": i, "note": "n" * (i % 5)}) for i in range(12)]
    data = b"\n".join(good[:before] + tricky + good[before:]) + b"\n"
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    saved = sources._PIECE
    sources._PIECE = piece
    try:
        source = FileSource(path, SCHEMA, "json", batch_size=1000, source_name="f")
        got = [(batch, dead, source.offset) for batch, dead in source]
    finally:
        sources._PIECE = saved
    expected = _reference_batches(data, JsonDecoder(SCHEMA, "f"), 1000, 0)
    assert len(got) == len(expected) == 1
    assert_identical(got[0][0], expected[0][0])
    assert got[0][1] == expected[0][1]
