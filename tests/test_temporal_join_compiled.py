"""The event-time temporal join compiled end to end, against DuckDB's ASOF JOIN.

``JOIN rates FOR SYSTEM_TIME AS OF o.order_time AS r ON o.k = r.k`` (Flink's
event-time temporal join) gives each order the version of its key valid at
the order's time: the version with the highest time <= it (of equal times the
last to arrive), unless the rest of ON is false for that pair (a LEFT join
pads it with NULLs then). That is DuckDB's ``ASOF [LEFT] JOIN ... ON l.k = r.k
AND l.ot >= r.vt`` over the versions with the duplicates of a (key, time) kept
last, with the rest of ON applied after the version is found.

Why the batch oracle is exact whatever order the driver interleaves the two
files in: a version (right row) is never behind its own source's watermark
(its time is within the WATERMARK's delay of the highest time before it), so a
version valid at an order's time has arrived before the join's watermark (the
lower of the two sources') passes the order, which is when the order is
emitted. Orders may be late on purpose: behind their own source's watermark.
Such an order is dropped when the join's watermark is past it, which depends
on how far the other source has got; the late-events file says which were,
each must be behind its own source's watermark, the orders never behind it
must all come out, and the dropped ones are left out of the oracle's input.

The versioned view's versions are the rows its keep-last deduplication emits
(Flink's, row by row): a history row older than an earlier row of its key is
no version; the oracle leaves those out (``keep_last``).

Inputs from hypothesis: keys from a small set with NULLs and keys missing from
the versions, ties in time (whole seconds), several versions of a key at the
same time, orders and versions out of order; batch sizes 1, 7 and 65536.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

BASE = 1_700_000_000_000
ORDERS_DELAY_MS, RATES_DELAY_MS = 3_000, 3_000

CATALOG = """
CREATE TABLE orders (
    oid BIGINT NOT NULL,
    k VARCHAR,
    x BIGINT,
    ot BIGINT NOT NULL,
    order_time AS TO_TIMESTAMP(ot),
    WATERMARK FOR order_time AS order_time - INTERVAL '3' SECOND
) WITH ('connector' = 'filesystem', 'path' = '{dir}/orders.jsonl', 'format' = 'json');

CREATE TABLE rates (
    k VARCHAR,
    v BIGINT,
    vt BIGINT NOT NULL,
    update_time AS TO_TIMESTAMP(vt),
    WATERMARK FOR update_time AS update_time - INTERVAL '3' SECOND,
    PRIMARY KEY (k) NOT ENFORCED
) WITH ('connector' = 'filesystem', 'path' = '{dir}/rates.jsonl', 'format' = 'json');

-- the same versions as an append-only history and Flink's versioned view over it
CREATE TABLE rates_history (
    k VARCHAR,
    v BIGINT,
    vt BIGINT NOT NULL,
    update_time AS TO_TIMESTAMP(vt),
    WATERMARK FOR update_time AS update_time - INTERVAL '3' SECOND
) WITH ('connector' = 'filesystem', 'path' = '{dir}/rates.jsonl', 'format' = 'json');

CREATE VIEW versioned_rates AS
SELECT k, v, vt, update_time FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY update_time DESC) AS rn
    FROM rates_history)
WHERE rn = 1;

CREATE VIEW versioned_rates_star AS
SELECT * FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY update_time DESC) AS rn
    FROM rates_history)
WHERE rn = 1;
"""

COLUMNS = "o.oid, o.k, o.x, o.ot, r.v, r.vt"
JOIN = "rates FOR SYSTEM_TIME AS OF o.order_time AS r ON o.k = r.k"
VIEW_JOIN = "versioned_rates FOR SYSTEM_TIME AS OF o.order_time AS r ON o.k = r.k"
QUERIES = {
    "left": f"SELECT {COLUMNS} FROM orders AS o LEFT JOIN {JOIN}",
    "inner": f"SELECT {COLUMNS} FROM orders AS o JOIN {JOIN}",
    "left_residual": f"SELECT {COLUMNS} FROM orders AS o LEFT JOIN {JOIN} AND o.x < r.v",
    "inner_residual": f"SELECT {COLUMNS} FROM orders AS o JOIN {JOIN} AND o.x < r.v",
    # a WHERE on the versions' columns filters the joined rows: pushed below the
    # join it would make an older version valid
    "inner_where_version": f"SELECT {COLUMNS} FROM orders AS o JOIN {JOIN} WHERE r.v > 3",
    # the versioned view: its versions are the history's rows
    "view_left": f"SELECT {COLUMNS} FROM orders AS o LEFT JOIN {VIEW_JOIN}",
    "view_inner_residual": f"SELECT {COLUMNS} FROM orders AS o JOIN {VIEW_JOIN} AND o.x < r.v",
    # SELECT * keeps the row number, 1 on every version
    "view_star_left": f"SELECT {COLUMNS}, r.rn FROM orders AS o LEFT JOIN "
                      + VIEW_JOIN.replace("versioned_rates", "versioned_rates_star"),
}
ASOF = "FROM l AS o ASOF {kind} JOIN r ON o.k = r.k AND o.ot >= r.vt"
DUCK = {
    "left": f"SELECT {COLUMNS} " + ASOF.format(kind="LEFT"),
    "inner": f"SELECT {COLUMNS} " + ASOF.format(kind=""),
    # the rest of ON is checked on the version found, not used to find one
    "left_residual": "SELECT o.oid, o.k, o.x, o.ot, CASE WHEN o.x < r.v THEN r.v END, "
                     "CASE WHEN o.x < r.v THEN r.vt END " + ASOF.format(kind="LEFT"),
    "inner_residual": f"SELECT {COLUMNS} " + ASOF.format(kind="") + " WHERE o.x < r.v",
    "inner_where_version": f"SELECT {COLUMNS} " + ASOF.format(kind="") + " WHERE r.v > 3",
    "view_left": f"SELECT {COLUMNS} " + ASOF.format(kind="LEFT"),
    "view_inner_residual": f"SELECT {COLUMNS} " + ASOF.format(kind="") + " WHERE o.x < r.v",
    "view_star_left": f"SELECT {COLUMNS}, CASE WHEN r.k IS NOT NULL THEN 1 END "
                      + ASOF.format(kind="LEFT"),
}

KEYS = st.sampled_from(["a", "b", "c", None])


@st.composite
def stream(draw, delay_ms: int, late: bool, make_row):
    """Rows in arrival order, times in whole seconds; each within ``delay_ms``
    of the highest time before it (never behind its watermark) unless ``late``
    lets some be further behind."""
    rows, high = [], None
    for _ in range(draw(st.integers(0, 25))):
        if high is None:
            t = BASE + 1000 * draw(st.integers(0, 5))
        elif late and draw(st.integers(0, 9)) == 0:
            t = high - delay_ms - 1000 * draw(st.integers(0, 3))  # behind the watermark
        else:
            t = high - delay_ms + 1000 * draw(st.integers(1, delay_ms // 1000 + 3))
        high = t if high is None else max(high, t)
        rows.append(make_row(draw, len(rows), t))
    return rows


def order_row(draw, i, t):
    return {"oid": i, "k": draw(KEYS), "x": draw(st.one_of(st.none(), st.integers(0, 9))), "ot": t}


def rate_row(draw, i, t):
    return {"k": draw(KEYS), "v": draw(st.one_of(st.none(), st.integers(0, 9))), "vt": t}


ORDERS = stream(ORDERS_DELAY_MS, True, order_row)
RATES = stream(RATES_DELAY_MS, False, rate_row)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("temporal_join")


@pytest.fixture(scope="module")
def modules(workdir: Path) -> dict[str, Path]:
    catalog = workdir / "catalog.sql"
    catalog.write_text(CATALOG.format(dir=workdir), encoding="utf-8")
    out = {}
    for name, sql in QUERIES.items():
        compiled = compile_source(Source(f"{name}.sql", sql + ";\n"), [str(catalog)])
        assert compiled.module, name
        assert " = TemporalJoin(" in compiled.module
        path = workdir / f"temporal_{name}.py"
        path.write_text(compiled.module, encoding="utf-8")
        out[name] = path
    return out


def versions_source(query: str) -> str:
    """The source the versions are read from: the versioned view's history."""
    return "rates_history" if query.startswith("view") else "rates"


def own_watermark_before(rows: list[dict], time: str, delay_ms: int) -> list[int]:
    """Each row's own source's watermark before it (the highest time so far
    minus the delay)."""
    out, high = [], None
    for r in rows:
        out.append(-(2**62) if high is None else high - delay_ms)
        high = r[time] if high is None else max(high, r[time])
    return out


def keep_last(rates: list[dict]) -> list[dict]:
    """The rows a versioned view's keep-last dedup emits (Flink's rowtime
    deduplication, row by row): a row whose time is not older than every
    earlier row of its key; an older one that arrives later is no version."""
    latest: dict = {}
    out = []
    for r in rates:
        if r["k"] not in latest or r["vt"] >= latest[r["k"]]:
            latest[r["k"]] = r["vt"]
            out.append(r)
    return out


def oracle(query: str, orders: list[dict], rates: list[dict]) -> list[tuple]:
    con = duckdb.connect()
    con.execute("CREATE TABLE l (oid BIGINT, k VARCHAR, x BIGINT, ot BIGINT)")
    con.execute("CREATE TABLE r (k VARCHAR, v BIGINT, vt BIGINT)")
    if orders:
        con.executemany("INSERT INTO l VALUES (?, ?, ?, ?)",
                        [(o["oid"], o["k"], o["x"], o["ot"]) for o in orders])
    if query.startswith("view"):
        rates = keep_last(rates)
    versions: dict[tuple, dict] = {}
    for r in rates:  # of versions of a key at the same time, the last to arrive
        if r["k"] is not None:
            versions[(r["k"], r["vt"])] = r
    if versions:
        con.executemany("INSERT INTO r VALUES (?, ?, ?)",
                        [(r["k"], r["v"], r["vt"]) for r in versions.values()])
    return con.execute(DUCK[query]).fetchall()


def norm(rows) -> list[tuple]:
    return sorted((tuple(r) for r in rows), key=lambda row: [(v is not None, v or 0) for v in row])


@pytest.mark.parametrize("batch_size", [1, 7, 65_536])
@pytest.mark.parametrize("query", list(QUERIES))
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(orders=ORDERS, rates=RATES)
def test_temporal_join_gives_the_version_valid_at_each_rows_time(
        modules, workdir, query, batch_size, orders, rates):
    for name, rows in (("orders", orders), ("rates", rates)):
        (workdir / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out, late = workdir / "out.jsonl", workdir / "late.jsonl"
    for f in (out, late):
        f.unlink(missing_ok=True)
    argv = ["--output", str(out), "--late-events", str(late), "--quiet",
            "--batch-size", str(batch_size), "--input", f"orders={workdir / 'orders.jsonl'}",
            "--input", f"{versions_source(query)}={workdir / 'rates.jsonl'}"]
    assert run_module(modules[query], argv) == 0
    got = [tuple(json.loads(line).values()) for line in out.read_text().splitlines()] \
        if out.exists() else []
    dropped = [json.loads(line) for line in late.read_text().splitlines()] \
        if late.exists() else []
    dropped_ids = [d["row"]["oid"] for d in dropped]
    behind = {o["oid"] for o, wm in zip(orders, own_watermark_before(
        orders, "ot", ORDERS_DELAY_MS)) if o["ot"] <= wm}
    # only orders behind their own watermark can be late; each is dropped once
    assert set(dropped_ids) <= behind and len(dropped_ids) == len(set(dropped_ids))
    kept = [o for o in orders if o["oid"] not in set(dropped_ids)]
    assert norm(got) == norm(oracle(query, kept, rates))


def test_the_stream_rows_event_time_stays_a_time_attribute(tmp_path: Path):
    """The join's output keeps the stream's event time as its time attribute
    (Flink): a TUMBLE group window over it fires by the watermark, with the
    hourly sums of the example's bills at the prices valid then (DuckDB)."""
    root = Path(__file__).resolve().parent.parent
    sql = """SELECT TUMBLE_START(j.event_time, INTERVAL '1' HOUR) AS hour_start,
       SUM(j.billed) AS billed_usd
FROM (
    SELECT r.event_time, r.tokens_used * p.usd_per_1k_tokens / 1000 AS billed
    FROM llm_requests AS r
    JOIN model_prices FOR SYSTEM_TIME AS OF r.event_time AS p ON r.model_id = p.model_id
) AS j
GROUP BY TUMBLE(j.event_time, INTERVAL '1' HOUR);
"""
    compiled = compile_source(Source("hourly.sql", sql), [str(root / "examples" / "catalog.sql")])
    module = tmp_path / "hourly.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    data = root / "examples" / "data"
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--output", str(out), "--quiet",
                               "--input", f"llm_requests={data / 'llm_requests.jsonl'}",
                               "--input", f"model_prices={data / 'model_prices.jsonl'}"]) == 0
    got = [json.loads(line) for line in out.read_text().splitlines()]
    expected = duckdb.connect().execute(f"""
        SELECT strftime(epoch_ms(r.timestamp_ms // 3600000 * 3600000), '%Y-%m-%d %H:%M:%S.%g'),
               SUM(r.tokens_used * p.usd_per_1k_tokens / 1000)
        FROM read_json('{data / "llm_requests.jsonl"}') r
        ASOF JOIN read_json('{data / "model_prices.jsonl"}') p
        ON r.model_id = p.model_id AND r.timestamp_ms >= p.valid_from_ms
        GROUP BY 1 ORDER BY 1""").fetchall()
    assert len(got) == len(expected) == 3
    for row, (hour, total) in zip(sorted(got, key=lambda r: r["hour_start"]), expected):
        assert row["hour_start"] == hour
        assert row["billed_usd"] == pytest.approx(total, rel=1e-9)
