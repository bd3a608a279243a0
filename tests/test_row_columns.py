"""ROW columns (Flink's ``bid ROW<auction BIGINT, ...>``): declared in DDL,
their fields read with ``bid.price`` / ``t.bid.price`` / ``(bid).price``.

Each field a query reads is decoded from the nested JSON object into a column
of its own (runtime_lib/io/nested.py), so downstream a field is a column. The
decoder's bulk path is checked against its record-by-record reference on
random nested records (hypothesis); a compiled query over nested events
against DuckDB reading the same file with STRUCT columns; and the errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from compiler.cli import run_module
from compiler.driver import analyze, compile_source
from compiler.errors import Source, SqlcError
from compiler.shell import describe
from runtime_lib.io.decode import JsonDecoder
from runtime_lib.schema import Field
from tests.runtime.test_decode import assert_identical

# ------------------------------------------------------------------ the decoder

NESTED = [
    Field("event_type", "INT"),
    Field("bid.price", "BIGINT", path=("bid", "price")),
    Field("bid.url", "VARCHAR", path=("bid", "url")),
    Field("bid.at", "TIMESTAMP(3)", path=("bid", "at")),
    Field("bid.addr.city", "VARCHAR", path=("bid", "addr", "city")),
    Field("person.id", "BIGINT", path=("person", "id")),
]


def test_missing_or_null_objects_make_their_fields_null() -> None:
    records = [
        (b'{"event_type": 2, "bid": {"price": 5, "url": "u", "at": 1000,'
        b' "addr": {"city": "Oslo"}}, "person": null}'),
        b'{"event_type": 0, "bid": null, "person": {"id": 7}}',
        b'{"event_type": 0}',
        b'{"bid": {"addr": null}}',
        b'{"bid": {}}',
    ]
    want = [(2, 5, "u", 1000, "Oslo", None), (0, None, None, None, None, 7),
            (0, None, None, None, None, None), (None,) * 6, (None,) * 6]
    for decode in ("decode", "decode_reference"):
        batch, dead = getattr(JsonDecoder(NESTED), decode)(records)
        assert dead == [] and batch.to_rows() == want, decode


@pytest.mark.parametrize("record, reason", [
    (b'{"bid": {"price": "7"}}', "field 'bid.price': expected BIGINT, got string '7'"),
    (b'{"bid": {"price": 1.5}}', "field 'bid.price': expected BIGINT, got number 1.5"),
    (b'{"bid": {"addr": {"city": 3}}}', "field 'bid.addr.city': expected VARCHAR, got integer 3"),
    (b'{"bid": 3}', "field 'bid': expected ROW (a JSON object), got integer 3"),
    (b'{"bid": {"addr": [1]}}', "field 'bid.addr': expected ROW (a JSON object), got array"),
    (b'{"bid": {"at": "noon"}}', "field 'bid.at': expected TIMESTAMP(3)"),
])
@pytest.mark.parametrize("decode", ["decode", "decode_reference"])
def test_a_field_of_the_wrong_type_is_a_dead_letter_naming_its_path(record, reason,
                                                                      decode) -> None:
    good = b'{"event_type": 1, "bid": {"price": 1}}'
    batch, dead = getattr(JsonDecoder(NESTED), decode)([good, record, good])
    assert batch.num_rows == 2
    assert [d.position for d in dead] == [1]
    assert dead[0].reason.startswith(reason), dead[0].reason


def test_a_not_null_field_needs_its_object() -> None:
    schema = [Field("k", "INT"), Field("r.x", "BIGINT", False, path=("r", "x"))]
    records = [b'{"r": {"x": 1}}', b'{"r": null}', b'{"k": 1}', b'{"r": {}}']
    for decode in ("decode", "decode_reference"):
        batch, dead = getattr(JsonDecoder(schema), decode)(records)
        assert batch.to_rows() == [(None, 1)], decode
        assert [d.position for d in dead] == [1, 2, 3], decode


_values = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=2), st.booleans(),
                    st.floats(allow_nan=False, allow_infinity=False, width=32))
_objects = st.one_of(
    st.none(), _values,
    st.fixed_dictionaries({}, optional={
        "price": _values, "url": _values, "at": st.one_of(_values, st.just("2024-01-01 00:00:00")),
        "addr": st.one_of(st.none(), _values, st.fixed_dictionaries(
            {}, optional={"city": _values}))}))
_records = st.fixed_dictionaries({}, optional={
    "event_type": _values, "bid": _objects,
    "person": st.one_of(st.none(), st.fixed_dictionaries({}, optional={"id": _values}))})


@settings(max_examples=300, deadline=None)
@given(st.lists(_records, max_size=12))
def test_bulk_equals_reference_on_random_nested_records(records: list[dict]) -> None:
    raw = [json.dumps(r).encode() for r in records]
    decoder = JsonDecoder(NESTED)
    bulk, bulk_dead = decoder.decode(raw)
    ref, ref_dead = decoder.decode_reference(raw)
    assert_identical(bulk, ref)
    assert bulk_dead == ref_dead
    assert all("a sqlc bug" not in d.reason for d in bulk_dead)


# ------------------------------------------------------------------ DDL and DESCRIBE

DDL = """CREATE TABLE kafka (
    event_type INT,
    bid ROW(price BIGINT 'in cents', url VARCHAR, `at` TIMESTAMP(3) NOT NULL,
            addr ROW<city VARCHAR, zip INT>),
    `at` AS bid.`at`,
    WATERMARK FOR `at` AS `at` - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'events.jsonl', 'format' = 'json');
"""


def test_describe_shows_flinks_row_spelling() -> None:
    catalog = analyze(Source("ddl.sql", DDL)).catalog
    text = describe(catalog, "kafka")
    assert ("| bid         | ROW<`price` BIGINT, `url` VARCHAR, `at` TIMESTAMP(3) NOT NULL, "
            "`addr` ROW<`city` VARCHAR, `zip` INT>> | YES      |") in text
    assert catalog.get("kafka").text.startswith("CREATE TABLE kafka (")  # SHOW CREATE


# ------------------------------------------------------------------ end to end

QUERY = DDL + """
SELECT event_type, k.bid.price AS price, bid.addr.city AS city, (bid).url AS url, `at`
FROM kafka AS k WHERE bid.price > 2 OR bid.price IS NULL;
"""
DUCK = """SELECT event_type, bid.price, bid.addr.city, bid.url,
                 strftime(bid."at", '%Y-%m-%d %H:%M:%S.%g')
          FROM read_json('{path}', format='newline_delimited', columns={{'event_type': 'INT',
               'bid': 'STRUCT(price BIGINT, url VARCHAR, "at" TIMESTAMP,
                              addr STRUCT(city VARCHAR, zip INT))'}})
          WHERE bid."at" IS NOT NULL AND (bid.price > 2 OR bid.price IS NULL)"""


def _events(n: int) -> list[dict]:
    """Nested events: some without bid, with a null bid, a null or missing addr;
    a record without ``at`` has no event time (a dead letter)."""
    out = []
    for i in range(n):
        bid: dict | None = {"price": i % 7, "url": f"u{i % 3}",
                            "at": f"2024-01-01 00:00:{i % 60:02d}.{i % 1000:03d}"}
        if i % 5 == 1:
            bid["addr"] = {"city": f"c{i % 4}", "zip": i}
        elif i % 5 == 2:
            bid["addr"] = None
        if i % 11 == 3:
            del bid["price"]
        record = {"event_type": i % 3, "bid": bid}
        if i % 13 == 4:
            record = {"event_type": 9}
        out.append(record)
    return out


@pytest.mark.parametrize("batch_size", [1, 64, 65_536])
def test_fields_of_nested_events_equal_duckdb(tmp_path: Path, batch_size: int) -> None:
    module = tmp_path / "q.py"
    module.write_text(compile_source(Source("q.sql", QUERY)).module or "", encoding="utf-8")
    text = module.read_text(encoding="utf-8")
    assert '"bid.addr.city"' in text and '"bid.addr.zip"' not in text  # only fields read
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in _events(400)), encoding="utf-8")
    out, dead = tmp_path / "out.jsonl", tmp_path / "dead.jsonl"
    assert run_module(module, ["--input", f"kafka={events}", "--output", str(out), "--quiet",
                               "--batch-size", str(batch_size), "--dead-letter",
                               str(dead)]) == 0
    got = sorted((tuple(json.loads(line).values()) for line in out.read_text().splitlines()),
                 key=repr)
    want = sorted(duckdb.sql(DUCK.format(path=events)).fetchall(), key=repr)
    assert len(want) > 100 and got == want
    # the records without bid have no event time
    assert len(dead.read_text().splitlines()) == sum(1 for e in _events(400) if "bid" not in e)


# ------------------------------------------------------------------ errors

SOURCE = """CREATE TABLE t (id INT, bid ROW<price BIGINT, addr ROW<city VARCHAR>>)
WITH ('connector' = 'filesystem', 'path' = 't.jsonl', 'format' = 'json');
"""


@pytest.mark.parametrize("sql, kind, message, at", [
    ("SELECT bid.prize FROM t;", "BindError",
     "unknown field 'prize' of ROW column bid; did you mean 'price'?", "bid.prize"),
    ("SELECT t.bid.addr.cty FROM t;", "BindError",
     "unknown field 'cty' of ROW column bid.addr; did you mean 'city'?", "t.bid.addr.cty"),
    ("SELECT id.x FROM t;", "BindError", "column id is INT, not a ROW: it has no field 'x'",
     "id.x"),
    ("SELECT nope.x FROM t;", "BindError", "unknown table or alias 'nope' in nope.x", "nope.x"),
    ("SELECT t.nope.x FROM t;", "BindError", "unknown column 't.nope'", "t.nope.x"),
    ("SELECT id FROM t WHERE bid IS NULL;", "UnsupportedError",
     "bid is a ROW column: sqlc reads a ROW's fields as columns, not the ROW as one value; "
     "select its fields (bid.price, bid.addr)", "bid"),
    ("SELECT id FROM t WHERE bid.addr = 'x';", "BindError",
     "= compares a ROW of 1 field(s) with a value that is no ROW", "bid.addr = 'x'"),
    ("SELECT id FROM t WHERE bid.addr < bid.addr;", "UnsupportedError",
     "bid.addr is a ROW column", "bid.addr"),
    ("SELECT id FROM t WHERE ROW(id, bid.price) IS NULL;", "UnsupportedError",
     "sqlc builds a ROW value only as a SELECT item (written as a nested object), not "
     "inside an expression in WHERE", "ROW(id, bid.price)"),
    ("SELECT COALESCE((id, bid.price), (id, id)) AS r FROM t;", "UnsupportedError",
     "sqlc builds a ROW value only as a SELECT item", "(id, bid.price)"),
    ("SELECT CAST((id, bid.price) AS ROW<a INT>) AS r FROM t;", "BindError",
     "cannot cast a ROW of 2 field(s) to ROW<a INT>, which has 1",
     "CAST((id, bid.price) AS ROW<a INT>)"),
    ("SELECT CAST(id AS ROW<a INT>) AS r FROM t;", "BindError",
     "cannot cast a value that is no ROW to ROW<a INT>", "CAST(id AS ROW<a INT>)"),
    ("SELECT CAST(ROW(id) AS ROW<a INT, bb INT>).b AS r FROM t;", "BindError",
     "cannot cast a ROW of 1 field(s)", "CAST(ROW(id) AS ROW<a INT, bb INT>)"),
    ("SELECT CAST(ROW(id, id) AS ROW<a INT, bb INT>).b AS r FROM t;", "BindError",
     "unknown field 'b' of the ROW; did you mean 'bb'?",
     "CAST(ROW(id, id) AS ROW<a INT, bb INT>).b"),
    ("SELECT ROW(id, nope) AS r FROM t;", "BindError", "unknown column 'nope'", "nope"),
    ("SELECT id FROM t WHERE bid.price.x = 1;", "BindError",
     "column bid.price is BIGINT, not a ROW", "bid.price.x"),
])
def test_errors_are_positioned_and_name_the_fields(sql, kind, message, at) -> None:
    text = SOURCE + sql
    with pytest.raises(SqlcError) as caught:
        compile_source(Source("q.sql", text))
    first = caught.value.diagnostics[0]
    assert (first.kind, first.message[:len(message)]) == (kind, message)
    assert text[first.span.start:first.span.end] == at


def test_insert_checks_a_row_column_against_its_type() -> None:
    """(tests/test_row_values.py writes ROW columns; this ROW has other fields.)"""
    sql = SOURCE + ("CREATE TABLE s (id INT, r ROW<price BIGINT>) WITH ('connector' = "
                    "'filesystem', 'path' = 's', 'format' = 'json');\n"
                    "INSERT INTO s SELECT id, bid FROM t;")
    with pytest.raises(SqlcError) as caught:
        compile_source(Source("q.sql", sql))
    first = caught.value.diagnostics[0]
    assert first.message == ("column 'bid' is ROW<`price` BIGINT, `addr` ROW<`city` VARCHAR>> "
                             "but s.r is ROW<`price` BIGINT>")
    assert sql[first.span.start:first.span.end] == "bid"


@pytest.mark.parametrize("ddl, message", [
    (("CREATE TABLE c (r ROW<a INT>) WITH ('connector' = 'filesystem', 'path' = 'c.csv', "
     "'format' = 'csv');"), ("column r is a ROW: sqlc reads ROW columns from JSON objects, and "
     "format 'csv' has none")),
    (("CREATE TABLE c (id INT, r ROW<a INT>) WITH ('connector' = 'postgres', "
      "'table-name' = 'c');"), ("column r is a ROW: sqlc reads ROW columns from JSON "
                                "objects, and connector 'postgres' has none")),
    (("CREATE TABLE c (r ROW<a INT>, PRIMARY KEY (r) NOT ENFORCED) WITH ('connector' = "
      "'filesystem', 'path' = 'c.jsonl', 'format' = 'json');"),
     "column r is a ROW: it cannot be a key"),
    (("CREATE TABLE c (id INT, r ROW<a INT>) PARTITIONED BY (r) WITH ('connector' = "
      "'filesystem', 'path' = 'c.jsonl', 'format' = 'json');"),
     "column r is a ROW: it cannot be a key"),
    (("CREATE TABLE c (r ROW<a INT, A BIGINT>) WITH ('connector' = 'filesystem', "
     "'path' = 'c.jsonl', 'format' = 'json');"), "duplicate field 'A' in a ROW type"),
    (("CREATE TABLE c (r ROW<a INT, b>) WITH ('connector' = 'filesystem', "
     "'path' = 'c.jsonl', 'format' = 'json');"), "Expected a data type for field b"),
    (("CREATE TABLE c (r ROW<a INTT>) WITH ('connector' = 'filesystem', "
     "'path' = 'c.jsonl', 'format' = 'json');"), "unknown data type 'INTT'; did you mean INT?"),
    (("CREATE TABLE c (`r.a` INT, r ROW<a INT>) WITH ('connector' = 'filesystem', "
     "'path' = 'c.jsonl', 'format' = 'json');"), "the field r.a of ROW column r has the name"),
])
def test_ddl_errors(ddl: str, message: str) -> None:
    with pytest.raises(SqlcError) as caught:
        analyze(Source("ddl.sql", ddl))
    assert message in caught.value.diagnostics[0].message, caught.value.diagnostics


# ------------------------------------------------------------------ a whole ROW selected

NULLS = {"city": None, "zip": None}
WHOLE = [
    {"event_type": 2, "bid": {"price": 5, "url": "u", "at": "2024-01-01 00:00:01",
                              "addr": {"city": "Oslo", "zip": 3}}},
    {"event_type": 2, "bid": {"price": 6, "at": 2000, "addr": None}},
    {"event_type": 1, "bid": {"at": 3000, "addr": {"city": None}}},
]


@pytest.mark.parametrize("query, want", [
    ("SELECT * FROM kafka;", [
        {"event_type": 2, "bid": {"price": 5, "url": "u", "at": "2024-01-01 00:00:01.000",
                                  "addr": {"city": "Oslo", "zip": 3}},
         "at": "2024-01-01 00:00:01.000"},
        {"event_type": 2, "bid": {"price": 6, "url": None, "at": "1970-01-01 00:00:02.000",
                                  "addr": NULLS}, "at": "1970-01-01 00:00:02.000"},
        {"event_type": 1, "bid": {"price": None, "url": None, "at": "1970-01-01 00:00:03.000",
                                  "addr": NULLS}, "at": "1970-01-01 00:00:03.000"}]),
    ("SELECT bid.addr, bid AS b FROM kafka WHERE bid.price > 5;", [
        {"addr": NULLS, "b": {"price": 6, "url": None, "at": "1970-01-01 00:00:02.000",
                              "addr": NULLS}}]),
    ("CREATE VIEW v AS SELECT event_type, k.bid.addr FROM kafka AS k;\n"
     "SELECT addr.city, * FROM v;", [
        {"city": "Oslo", "event_type": 2, "addr": {"city": "Oslo", "zip": 3}},
        {"city": None, "event_type": 2, "addr": NULLS},
        {"city": None, "event_type": 1, "addr": NULLS}]),
    ("SELECT a FROM (SELECT bid.addr AS a FROM kafka);", [
        {"a": {"city": "Oslo", "zip": 3}}, {"a": NULLS}, {"a": NULLS}]),
])
def test_a_selected_row_is_a_nested_object(tmp_path: Path, query: str, want: list) -> None:
    """Its fields are columns (``bid.price``...) that the output writes as one
    object; an object of NULL fields is written as one, a ROW of NULLs (so is a
    null or missing one in the input: sqlc keeps no NULL flag of a ROW, see
    docs/differences-from-flink.md)."""
    module = tmp_path / "q.py"
    module.write_text(compile_source(Source("q.sql", DDL + query)).module or "",
                      encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in WHOLE), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--input", f"kafka={events}", "--output", str(out),
                               "--quiet"]) == 0
    assert [json.loads(line) for line in out.read_text().splitlines()] == want
