"""The Nexmark benchmark queries, compiled as Flink writes them and run on
events of benchmarks/nexmark/generator.py, against DuckDB on the same rows.

Each query file of benchmarks/nexmark/queries/ is the Flink SQL of
github.com/nexmark/nexmark (only connector WITH clauses changed, each file
says which). The events: 3,000 of them, 100 per second of event time (30 s
across midnight, so that the day and the hour change), emitted up to 2 s out
of order, inside the tables' 4 s watermark bound, so no row is late and the
final result of each streaming query (after the final watermark) is the batch
query over all rows. DuckDB writes each query as a
batch query: windows as GROUP BY of floored epoch milliseconds, Top-N as
QUALIFY ROW_NUMBER(), an updating result compared after applying its
changelog. Each query runs at micro-batches of 1, 7 and 65,536 rows.

Left out: q6, which Flink itself does not run (FLINK-19059). q10 writes
partitioned CSV files: tests/test_filesystem_sink.py runs it as written and
compares its files with DuckDB. Strict xfails name what sqlc lacks: q14 (a
Java UDF).

Flink's own DDL (catalog_flink.sql: one table ``kafka`` of all events with a
ROW column per kind, and the views person, auction and bid selecting their
fields) runs q0, q1, q2, q5 and q7 on the same events in their nested form
(events.jsonl) with the same rows as the flat tables of catalog.sql.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest

from benchmarks.nexmark import generator
from benchmarks.nexmark.run import QUERIES, tables_read
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError
from tests.test_join_compiled_differential import final_rows, run

NEXMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "nexmark"
CATALOG = NEXMARK / "catalog.sql"
FLINK_CATALOG = NEXMARK / "catalog_flink.sql"  # Flink's DDL: ROW columns, views
EVENTS, RATE, OUT_OF_ORDER_MS = 3000, 100.0, 2000
BATCH_SIZES = (1, 7, 65_536)
BASE_MS = 1_700_006_385_000  # 2023-11-14 23:59:45 UTC: the 30 s cross midnight


def ts(column: str) -> str:
    """DuckDB's rendering of a TIMESTAMP(3) the way sqlc writes it."""
    return f"strftime({column}, '%Y-%m-%d %H:%M:%S.%g')"


def window(size_ms: int, slide_ms: int | None = None) -> str:
    """The epoch-ms starts of the windows a bid is in (one for TUMBLE)."""
    t = 'epoch_ms("dateTime")'
    if slide_ms is None:
        return f"{t} // {size_ms} * {size_ms}"
    return f"{t} // {slide_ms} * {slide_ms} - k * {slide_ms}"


def hop_rows(size_ms: int, slide_ms: int) -> str:
    """bid with one row per HOP window it is in (column ws, its start in ms)."""
    return (f"(SELECT *, {window(size_ms, slide_ms)} AS ws FROM bid, "
            f"range(0, {size_ms // slide_ms}) AS r(k))")


RANKS = """count(*) AS total_bids,
     count(*) filter (where price < 10000) AS rank1_bids,
     count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
     count(*) filter (where price >= 1000000) AS rank3_bids"""
DISTINCT_RANKS = """count(distinct bidder) AS total_bidders,
     count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
     count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
     count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
     count(distinct auction) AS total_auctions,
     count(distinct auction) filter (where price < 10000) AS rank1_auctions,
     count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
     count(distinct auction) filter (where price >= 1000000) AS rank3_auctions"""
DAY = "strftime(\"dateTime\", '%Y-%m-%d')"
CHANNEL_ID = "NULLIF(regexp_extract(url, '(&|^)channel_id=([^&]*)', 2), '')"
BID = f'auction, bidder, price, channel, url, {ts("dateTime")}, extra'
WINNING = """SELECT A.*, B.auction, B.bidder, B.price, B."dateTime" AS bid_dateTime,
        B.extra AS bid_extra
    FROM auction A, bid B
    WHERE A.id = B.auction AND B."dateTime" BETWEEN A."dateTime" AND A.expires"""

# query -> the same result in DuckDB, over tables person, auction, bid, side_input
DUCK = {
    0: f'SELECT auction, bidder, price, {ts("dateTime")}, extra FROM bid',
    1: f'SELECT auction, bidder, 0.908 * price, {ts("dateTime")}, extra FROM bid',
    2: "SELECT auction, price FROM bid WHERE auction % 123 = 0",
    3: """SELECT P.name, P.city, P.state, A.id FROM auction A JOIN person P ON A.seller = P.id
          WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')""",
    # AVG of a BIGINT is a BIGINT in Flink (the sum divided by the count, truncated)
    4: f"""SELECT category, sum(final) // count(final) FROM (
             SELECT max(price) AS final, category FROM ({WINNING}) GROUP BY id, category)
           GROUP BY category""",
    5: f"""WITH counts AS (SELECT auction, ws, count(*) AS num FROM {hop_rows(10_000, 2_000)}
                           GROUP BY auction, ws),
           maxes AS (SELECT ws, max(num) AS maxn FROM counts GROUP BY ws)
           SELECT c.auction, c.num FROM counts c JOIN maxes m
           ON c.ws = m.ws AND c.num >= m.maxn""",
    # the sink's columns are (auction, bidder, price, ...): Flink inserts by position
    7: f"""SELECT B.auction, B.price, B.bidder, {ts('B."dateTime"')}, B.extra FROM bid B
           JOIN (SELECT max(price) AS maxprice, {window(10_000)} + 10000 AS we FROM bid
                 GROUP BY we) B1
           ON B.price = B1.maxprice
           WHERE epoch_ms(B."dateTime") BETWEEN B1.we - 10000 AND B1.we""",
    8: f"""SELECT P.id, P.name, {ts("epoch_ms(P.ws)")} FROM
           (SELECT DISTINCT id, name, {window(10_000)} AS ws FROM person) P JOIN
           (SELECT DISTINCT seller, {window(10_000)} AS ws FROM auction) A
           ON P.id = A.seller AND P.ws = A.ws""",
    9: f"""SELECT * EXCLUDE (rownum) REPLACE ({ts('"dateTime"')} AS "dateTime",
                  {ts("expires")} AS expires, {ts("bid_dateTime")} AS bid_dateTime)
           FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY id ORDER BY price DESC,
                                              bid_dateTime ASC) AS rownum
                 FROM ({WINNING}))
           WHERE rownum <= 1""",
    # a session: bids of a bidder less than the 10 s gap apart; it ends a gap after its last
    11: f"""SELECT bidder, count(*), {ts("min(t)")}, {ts("max(t) + INTERVAL 10 SECOND")} FROM (
              SELECT bidder, t, sum(new) OVER (PARTITION BY bidder ORDER BY t) AS session FROM (
                SELECT bidder, "dateTime" AS t, CASE WHEN "dateTime" - lag("dateTime") OVER
                  (PARTITION BY bidder ORDER BY "dateTime") < INTERVAL 10 SECOND THEN 0 ELSE 1
                  END AS new FROM bid))
            GROUP BY bidder, session""",
    13: f"""SELECT B.auction, B.bidder, B.price, {ts('B."dateTime"')}, S.value FROM bid B
            JOIN side_input S ON B.auction % 10000 = S.key""",
    15: f"SELECT {DAY}, {RANKS}, {DISTINCT_RANKS} FROM bid GROUP BY {DAY}",
    16: f"""SELECT channel, {DAY}, max(strftime("dateTime", '%H:%M')), {RANKS}, {DISTINCT_RANKS}
            FROM bid GROUP BY channel, {DAY}""",
    17: f"""SELECT auction, {DAY}, {RANKS}, min(price), max(price), sum(price) // count(price),
            sum(price) FROM bid GROUP BY auction, {DAY}""",
    18: f"""SELECT {BID} FROM bid QUALIFY ROW_NUMBER() OVER (PARTITION BY bidder, auction
            ORDER BY "dateTime" DESC) <= 1""",
    19: f"""SELECT {BID}, rank_number FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction
            ORDER BY price DESC) AS rank_number FROM bid) WHERE rank_number <= 10""",
    20: f"""SELECT auction, bidder, price, channel, url, {ts('B."dateTime"')}, B.extra,
            itemName, description, initialBid, reserve, {ts('A."dateTime"')}, {ts("expires")},
            seller, category, A.extra
            FROM bid AS B INNER JOIN auction AS A on B.auction = A.id WHERE A.category = 10""",
    21: f"""SELECT auction, bidder, price, channel,
            CASE WHEN lower(channel) = 'apple' THEN '0' WHEN lower(channel) = 'google' THEN '1'
                 WHEN lower(channel) = 'facebook' THEN '2' WHEN lower(channel) = 'baidu' THEN '3'
                 ELSE {CHANNEL_ID} END
            FROM bid WHERE {CHANNEL_ID} IS NOT NULL
                        OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu')""",
    # SPLIT_INDEX counts from 0, split_part from 1
    22: """SELECT auction, bidder, price, channel, split_part(url, '/', 4),
           split_part(url, '/', 5), split_part(url, '/', 6) FROM bid""",
    23: f"""SELECT bidder, price, channel, url, B.extra, P.id, name, emailAddress, creditCard,
            city, state, P.extra, itemName, description, initialBid, reserve,
            {ts('A."dateTime"')}, {ts("expires")}, seller, category, A.extra
            FROM bid B JOIN person P ON P.id = B.bidder JOIN auction A ON A.seller = B.bidder""",
}
# results Flink writes as a changelog (updating aggregates, Top-N, deduplication)
UPDATING = {4, 5, 9, 15, 16, 17, 18, 19}
# what sqlc lacks to compile the query as Flink writes it
MISSING = {
    14: "CREATE FUNCTION of a Java class (Nexmark's count_char UDF)",
}
# q12: processing-time windows, see test_q12_processing_time_windows_count_every_bid


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generator.write(tmp_path_factory.mktemp("nexmark"), EVENTS, seed=1, rate=RATE,
                           out_of_order_ms=OUT_OF_ORDER_MS, base_ms=BASE_MS)


@pytest.fixture(scope="module")
def duck(events: dict[str, Path]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, columns in {"person": _columns(CATALOG, "person"),
                          "auction": _columns(CATALOG, "auction"),
                          "bid": _columns(CATALOG, "bid")}.items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_json('{events[name]}', "
                    f"format='newline_delimited', columns={columns})")
    con.execute(f"CREATE VIEW side_input AS SELECT * FROM read_csv('{events['side_input']}', "
                "header=true, columns={'key': 'BIGINT', 'value': 'VARCHAR'})")
    return con


def _columns(catalog: Path, table: str) -> dict[str, str]:
    """A table's columns in DuckDB's types, from the catalog's analysis."""
    from compiler.driver import analyze

    text = catalog.read_text(encoding="utf-8")
    entry = analyze(Source(str(catalog), text)).catalog.get(table)
    kinds = {"BIGINT": "BIGINT", "VARCHAR": "VARCHAR", "TIMESTAMP": "TIMESTAMP"}
    return {c.name: kinds[c.type.name] for c in entry.columns}


def compile_query(number: int, tmp_path: Path, rewrite=None, catalog: Path = CATALOG) -> Path:
    path = NEXMARK / "queries" / f"q{number}.sql"
    text = path.read_text(encoding="utf-8")
    compiled = compile_source(Source(str(path), rewrite(text) if rewrite else text),
                              [str(catalog)])
    module = tmp_path / f"q{number}{'_flink' if catalog != CATALOG else ''}.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    return module


def run_query(module: Path, events: dict[str, Path], workdir: Path, batch_size: int):
    """Run with --input for each table the module reads; no row may be late or dead."""
    paths = {name: events["events" if name == "kafka" else name] for name in tables_read(module)}
    result = run(module, paths, workdir, batch_size)
    assert result.dead == "" and result.late == []
    return result


def norm(rows) -> list[tuple]:
    """A multiset as a sorted list; floats to Flink's DECIMAL(23, 3) scale."""
    def value(v):
        if isinstance(v, float):
            assert not math.isnan(v)
            return round(v, 3)
        return float(v) if hasattr(v, "as_tuple") else v  # DuckDB's DECIMAL

    def key(row):
        return tuple((v is not None, str(v)) for v in row)

    return sorted((tuple(value(v) for v in row) for row in rows), key=key)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("number", sorted(DUCK))
def test_query_equals_duckdb(number: int, batch_size: int, events, duck, tmp_path: Path) -> None:
    module = compile_query(number, tmp_path)
    result = run_query(module, events, tmp_path, batch_size)
    got = norm(final_rows(result.records, number in UPDATING))
    want = norm(duck.execute(DUCK[number]).fetchall())
    assert len(want) > 0, "the data must give the query rows to compare"
    assert got == want


def test_q12_processing_time_windows_count_every_bid(events, duck, tmp_path: Path) -> None:
    """Processing-time windows depend on when rows arrive, not on the data:
    each window is 10 s, and every bid is counted once for its bidder."""
    module = compile_query(12, tmp_path)
    records = run_query(module, events, tmp_path, 7).records
    totals: dict[int, int] = {}
    for r in records:
        assert set(r) == {"bidder", "bid_count", "starttime", "endtime"}
        start, end = _ms(r["starttime"]), _ms(r["endtime"])
        assert end - start == 10_000 and start % 10_000 == 0
        totals[r["bidder"]] = totals.get(r["bidder"], 0) + r["bid_count"]
    want = dict(duck.execute("SELECT bidder, count(*) FROM bid GROUP BY bidder").fetchall())
    assert totals == want


@pytest.mark.parametrize("number", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, raises=SqlcError,
                                            reason=f"sqlc has no {why}"))
    for n, why in sorted(MISSING.items())])
def test_query_sqlc_cannot_compile_yet(number: int, tmp_path: Path) -> None:
    """Strict: once sqlc compiles one of these, compare it with DuckDB (DUCK)."""
    compile_query(number, tmp_path)


def _without_udf(sql: str) -> str:
    """q14 with count_char(extra, 'c') written in built-in functions."""
    assert "count_char(extra, 'c')" in sql
    return (sql.replace("CREATE FUNCTION count_char AS 'com.github.nexmark.flink.udf.CountChar';",
                        "")
            .replace("count_char(extra, 'c')",
                     "CHAR_LENGTH(extra) - CHAR_LENGTH(REPLACE(extra, 'c', ''))"))


# the rest of q14, without what sqlc lacks, against DuckDB
PARTS = {
    14: (_without_udf,
         f"""SELECT auction, bidder, 0.908 * price,
             CASE WHEN hour("dateTime") >= 8 AND hour("dateTime") <= 18 THEN 'dayTime'
                  WHEN hour("dateTime") <= 6 OR hour("dateTime") >= 20 THEN 'nightTime'
                  ELSE 'otherTime' END,
             {ts('"dateTime"')}, extra, length(extra) - length(replace(extra, 'c', ''))
             FROM bid WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000"""),
}


@pytest.mark.parametrize("number", sorted(PARTS))
def test_the_rest_of_the_query_equals_duckdb(number: int, events, duck, tmp_path: Path) -> None:
    rewrite, sql = PARTS[number]
    module = compile_query(number, tmp_path, rewrite)
    got = norm(final_rows(run_query(module, events, tmp_path, 7).records, False))
    want = norm(duck.execute(sql).fetchall())
    assert len(want) > 0 and got == want


FLINK_DDL = """
CREATE TABLE kafka (
    event_type int,
    bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
            `dateTime` TIMESTAMP(3), extra VARCHAR>,
    `dateTime` AS bid.`dateTime`,
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'events.jsonl', 'format' = 'json');
CREATE VIEW bid AS
SELECT bid.auction, bid.bidder, bid.price, bid.channel, bid.url, `dateTime`, bid.extra
FROM kafka WHERE event_type = 2;
SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
"""


def test_flinks_nexmark_ddl_with_row_columns_compiles() -> None:
    """The decoder reads only the fields the query uses, each from its path."""
    module = compile_source(Source("ddl.sql", FLINK_DDL)).module or ""
    assert 'Field("bid.auction", "BIGINT", True, path=("bid", "auction")),' in module
    assert '"bid.extra"' not in module and '"bid.url"' not in module


# the queries run from Flink's nested DDL (catalog_flink.sql), two windowed
FLINK_FORM = (0, 1, 2, 5, 7)


@pytest.mark.parametrize("batch_size", (7, 65_536))
@pytest.mark.parametrize("number", FLINK_FORM)
def test_query_from_flinks_ddl_equals_the_flat_tables(number: int, batch_size: int, events,
                                                      duck, tmp_path: Path) -> None:
    """Flink's DDL (a ROW column per kind, views selecting their fields) gives
    the rows the flat tables give, and DuckDB's."""
    nested = compile_query(number, tmp_path, catalog=FLINK_CATALOG)
    assert tables_read(nested) == ["kafka"]
    flat = compile_query(number, tmp_path)
    changelog = number in UPDATING
    got = norm(final_rows(run_query(nested, events, tmp_path / "nested", batch_size).records,
                          changelog))
    want = norm(final_rows(run_query(flat, events, tmp_path / "flat", batch_size).records,
                           changelog))
    assert len(want) > 0 and got == want
    assert got == norm(duck.execute(DUCK[number]).fetchall())


def test_generator_is_deterministic_and_within_its_out_of_orderness(tmp_path: Path) -> None:
    """Same seed, same bytes; events leave in event-time order but for the
    configured out-of-orderness; Nexmark's mix of 1:3:46 persons/auctions/bids."""
    a = generator.write(tmp_path / "a", 1000, seed=3, rate=RATE, out_of_order_ms=500)
    b = generator.write(tmp_path / "b", 1000, seed=3, rate=RATE, out_of_order_ms=500)
    for kind in ("person", "auction", "bid", "events"):
        assert a[kind].read_bytes() == b[kind].read_bytes()
    gen = generator.Generator(seed=3, rate=RATE, out_of_order_ms=500)
    kinds: dict[str, int] = {}
    latest = behind = 0
    for kind, record in gen.events(5000):
        kinds[kind] = kinds.get(kind, 0) + 1
        ms = _ms(record["dateTime"])
        latest = max(latest, ms)
        behind = max(behind, latest - ms)
    assert kinds == {"person": 100, "auction": 300, "bid": 4600}
    assert 0 < behind < 500
    in_order = [_ms(r["dateTime"]) for _, r in generator.Generator(seed=3).events(500)]
    assert in_order == sorted(in_order)


def _ms(stamp: str) -> int:
    from datetime import UTC, datetime

    moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def test_generator_ids_are_nexmarks(tmp_path: Path) -> None:
    """Persons and auctions numbered from 1000 in order; a bid's auction and
    bidder, an auction's seller, exist or are at most 10 ahead (Nexmark's lead)."""
    people = auctions = 0
    for kind, record in generator.Generator(seed=5, rate=RATE).events(5000):
        if kind == "person":
            assert record["id"] == 1000 + people
            people += 1
        elif kind == "auction":
            assert record["id"] == 1000 + auctions
            assert record["seller"] < 1000 + people + 10
            assert record["expires"] > record["dateTime"]
            assert 10 <= record["category"] <= 14
            auctions += 1
        else:
            assert record["auction"] < 1000 + auctions + 10
            assert record["bidder"] < 1000 + people + 10
            assert 100 <= record["price"] <= 100_000_000


def test_the_benchmark_runs_every_query_tested() -> None:
    assert set(QUERIES) == set(DUCK) | {12}
