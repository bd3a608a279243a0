"""The lookup cache and the behaviour while the store is down, against the real
PostgreSQL and Redis: one round trip per micro-batch for the keys not in
cache, hit/miss counters, LRU eviction, TTL refetch; with the server stopped,
cached keys are served (even past their TTL) and the pipeline waits for the
others, saying so on stderr, until the server is started again, so no LEFT
JOIN NULL is ever emitted for a key that could not be looked up."""

from __future__ import annotations

import json
import threading
import time

import duckdb
import numpy as np
import pytest

from runtime_lib.columns import Batch, column_from_pylist, concat_batches
from runtime_lib.io.tables import LookupUnavailable, PostgresTable, RedisTable
from runtime_lib.operators.lookup_join import LookupJoin
from runtime_lib.schema import Field

FIELDS = [Field("model_id", "VARCHAR"), Field("max_tokens", "INT")]
FAST = {"backoff_initial_ms": 50, "backoff_max_ms": 400}


class Clock:
    def __init__(self):
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def pg_table(server, n=20, **kw):
    name = server.unique_name("cfg")
    with server.connect() as conn:
        conn.execute(f"CREATE TABLE {name} (model_id text PRIMARY KEY, max_tokens int)")
        conn.cursor().executemany(f"INSERT INTO {name} VALUES (%s, %s)", [(f"m{i}", i) for i in range(n)])
    table = PostgresTable(dsn=server.dsn, table_name=name, fields=FIELDS, key="model_id", **kw)

    def update(key, value):
        with server.connect() as conn:
            conn.execute(f"UPDATE {name} SET max_tokens = %s WHERE model_id = %s", (value, key))

    return table, update


def redis_table(server, n=20, value_format="hash", **kw):
    prefix = server.unique_prefix("cfg")
    client = server.client()

    def update(key, value):
        if value_format == "json":
            client.set(f"{prefix}:{key}", json.dumps({"max_tokens": value}))
        else:
            client.hset(f"{prefix}:{key}", mapping={"max_tokens": value})

    for i in range(n):
        update(f"m{i}", i)
    table = RedisTable(url=server.url, key_pattern=prefix + ":{model_id}", fields=FIELDS,
                       value_format=value_format, **kw)
    return table, update


def keys_col(keys):
    return [column_from_pylist(keys, "O")]


@pytest.fixture(params=["postgres", "redis"])
def store(request):
    """(make_table(**kw) -> (table, update), server) for the real store."""
    if request.param == "postgres":
        server = request.getfixturevalue("postgres")
        return (lambda **kw: pg_table(server, **kw)), server
    server = request.getfixturevalue("redis_server")
    return (lambda **kw: redis_table(server, **kw)), server


@pytest.fixture(params=["postgres", "redis"])
def restartable(request):
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_restartable")
        return (lambda **kw: pg_table(server, **kw)), server
    server = request.getfixturevalue("redis_restartable")
    return (lambda **kw: redis_table(server, **kw)), server


def test_one_round_trip_per_batch_and_counters(store):
    make, _ = store
    table, _ = make(cache_max_rows=100)
    found, cols = table.lookup(keys_col(["m1", "m2", "m1", "zz"]))
    assert found.tolist() == [True, True, True, False] and cols[1].to_pylist() == [1, 2, 1, None]
    s = table.stats
    assert (s.round_trips, s.keys_fetched, s.misses, s.hits) == (1, 3, 4, 0)
    table.lookup(keys_col(["m1", "m2", "zz", "m3", "m3"]))  # the missing key is cached as missing
    assert (s.round_trips, s.keys_fetched, s.misses, s.hits) == (2, 4, 6, 3)
    table.lookup(keys_col(["m3", "zz"]))
    assert (s.round_trips, s.hits) == (2, 5)
    assert len(s.batch_ms) == 3
    table.close()


def test_without_cache_every_batch_is_one_round_trip(store):
    make, _ = store
    table, update = make()
    for i in range(3):
        update("m1", 100 + i)
        _, cols = table.lookup(keys_col(["m1", "m1", "m2"]))
        assert cols[1].to_pylist() == [100 + i, 100 + i, 2]  # no cache: always the current row
    assert (table.stats.round_trips, table.stats.keys_fetched, table.stats.hits) == (3, 6, 0)
    table.close()


def test_lru_eviction(store):
    make, _ = store
    table, _ = make(cache_max_rows=4, clock=(clock := Clock()))
    for batch in (["m0", "m1"], ["m2", "m3"], ["m0"], ["m4", "m5"]):
        clock.now += 10
        table.lookup(keys_col(batch))
    # 6 keys > 4: evicted down to 90% (3 rows), least recently used first
    assert len(table.cache) == 3 and set(table.cache.slot_of) == {"m0", "m4", "m5"}
    trips = table.stats.round_trips
    table.lookup(keys_col(["m0", "m4", "m5"]))
    assert table.stats.round_trips == trips
    table.lookup(keys_col(["m1"]))
    assert table.stats.round_trips == trips + 1
    table.close()


def test_ttl_refetches_changed_rows(store):
    make, _ = store
    table, update = make(cache_max_rows=100, cache_ttl_ms=1_000, clock=(clock := Clock()))
    assert table.lookup(keys_col(["m1"]))[1][1].to_pylist() == [1]
    update("m1", 111)
    clock.now += 999
    assert table.lookup(keys_col(["m1"]))[1][1].to_pylist() == [1]  # cached
    clock.now += 1
    assert table.lookup(keys_col(["m1"]))[1][1].to_pylist() == [111]  # TTL passed: fetched again
    assert table.stats.round_trips == 2 and table.stats.hits == 1
    table.close()


def test_store_down_serves_cached_rows_past_their_ttl(restartable, capsys):
    make, server = restartable
    table, _ = make(cache_max_rows=100, cache_ttl_ms=1_000, clock=(clock := Clock()), **FAST)
    table.lookup(keys_col(["m1", "m2"]))
    server.stop()
    clock.now += 5_000
    t = time.monotonic()
    _, cols = table.lookup(keys_col(["m2", "m1", "m2"]))
    assert time.monotonic() - t < 5
    assert cols[1].to_pylist() == [2, 1, 2]
    assert table.stats.stale_hits == 3 and table.stats.failures >= 1
    assert "serving 2 keys from the cache" in capsys.readouterr().err
    server.start()
    table.lookup(keys_col(["m2"]))  # back: fetched again
    assert "reachable again" in capsys.readouterr().err
    table.close()


def test_store_down_waits_for_keys_in_no_cache(restartable, capsys):
    make, server = restartable
    table, _ = make(cache_max_rows=100, **FAST)
    join = LookupJoin(kind="LEFT", table=table, key_kinds=["O"], table_names=["c_model_id", "max_tokens"])
    rows = Batch({"model_id": column_from_pylist(["m1"], "O")}, 1)
    join.process([rows["model_id"]], rows)
    server.stop()
    restarter = threading.Timer(1.5, server.start)
    restarter.start()
    try:
        rows = Batch({"model_id": column_from_pylist(["m1", "m7", "nope"], "O")}, 3)
        t = time.monotonic()
        out = join.process([rows["model_id"]], rows)
        waited = time.monotonic() - t
    finally:
        restarter.join()
    assert out.to_rows() == [("m1", "m1", 1), ("m7", "m7", 7), ("nope", None, None)]
    assert waited > 1.0 and table.stats.wait_ms > 500 and table.stats.failures >= 2
    err = capsys.readouterr().err
    assert "keys are in no cache, the pipeline waits: retry 1" in err and "reachable again" in err
    assert getattr(server, "password", None) in (None, "") or server.password not in err  # no secret in logs
    table.close()


def test_gives_up_after_max_retries(restartable):
    make, server = restartable
    table, _ = make(max_retries=2, **FAST)
    server.stop()
    t = time.monotonic()
    with pytest.raises(LookupUnavailable, match="after 2 retries"):
        table.lookup(keys_col(["m1"]))
    assert time.monotonic() - t < 10
    table.close()


def test_server_stopped_mid_run_gives_the_batch_join(restartable):
    """A pipeline of 120 micro-batches (small cache, short TTL: many round trips)
    while another thread stops the server for 1.5 s: the output equals the
    DuckDB join exactly, so no row was lost or wrongly NULL-padded."""
    make, server = restartable
    table, _ = make(cache_max_rows=8, cache_ttl_ms=30, **FAST)
    join = LookupJoin(kind="LEFT", table=table, key_kinds=["O"], table_names=["c_model_id", "max_tokens"])
    rng = np.random.default_rng(1)
    keys = [None if v == 30 else f"m{v}" for v in rng.integers(0, 31, 120 * 40)]  # m20..m29 missing

    def outage():
        time.sleep(0.3)
        server.stop()
        time.sleep(1.5)
        server.start()

    th = threading.Thread(target=outage)
    th.start()
    outs = []
    try:
        for b in range(120):
            part = keys[b * 40:(b + 1) * 40]
            rows = Batch({"seq": column_from_pylist(list(range(b * 40, (b + 1) * 40)), "i"),
                          "model_id": column_from_pylist(part, "O")}, 40)
            outs.append(join.process([rows["model_id"]], rows))
            time.sleep(0.02)
    finally:
        th.join()
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 'm' || i AS model_id, i AS max_tokens FROM range(20) r(i)")
    con.execute("CREATE TABLE s AS SELECT * FROM (SELECT unnest(?::BIGINT[]) AS seq, unnest(?::VARCHAR[]) AS k)",
                [list(range(len(keys))), keys])
    want = con.execute("SELECT s.*, t.* FROM s LEFT JOIN t ON s.k = t.model_id ORDER BY seq").fetchall()
    assert concat_batches(outs).to_rows() == want
    assert table.stats.failures >= 1, "the outage was not hit: the test proves nothing"
    table.close()
