"""LookupJoin against every kind of table: a file (JSON lines and CSV), a
changelog table, the real PostgreSQL and the real Redis (hash and JSON
values), each compared with the same join as a DuckDB batch query, with keys
missing from the table, NULL keys, duplicate keys, a residual ON condition and
any micro-batch size. The cache, its TTL and the behaviour while the store is
down are in test_lookup_store_down.py."""

from __future__ import annotations

import csv
import json

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime_lib.columns import Batch, Column, column_from_pylist, concat_batches
from runtime_lib.io.tables import ChangelogTable, FileTable, PostgresTable, RedisTable
from runtime_lib.io.tables.base import distinct_keys
from runtime_lib.operators.lookup_join import LookupJoin
from runtime_lib.schema import Field

FIELDS = [Field("model_id", "VARCHAR"), Field("max_tokens", "INT"), Field("cost", "DOUBLE"),
          Field("enabled", "BOOLEAN"), Field("updated", "TIMESTAMP(3)"), Field("note", "VARCHAR")]
TABLE_NAMES = ["c_model_id", "max_tokens", "cost", "enabled", "updated", "note"]
T0 = 1_700_000_000_123


def table_rows(n: int = 10) -> list[dict]:
    """Rows m0..m{n-1}; some columns NULL."""
    rows = []
    for i in range(n):
        rows.append({"model_id": f"m{i}", "max_tokens": None if i == 3 else 100 * i,
                     "cost": None if i == 5 else i / 4, "enabled": None if i == 7 else i % 2 == 0,
                     "updated": T0 + i * 1000, "note": None if i % 4 == 1 else f"note é {i}"})
    return rows


BACKENDS = ["file_json", "file_csv", "changelog", "postgres", "redis_hash", "redis_hash_pipeline", "redis_json"]


@pytest.fixture(scope="module")
def make_table(request, tmp_path_factory):
    """make_table(backend, rows, **cache) -> a table holding ``rows``."""
    made = []

    def make(backend, rows, **cache):
        if backend == "file_json":
            path = tmp_path_factory.mktemp("t") / "configs.jsonl"
            with open(path, "w") as f:
                for r in rows:
                    print(json.dumps({**r, "updated": r["updated"]}), file=f)
            return FileTable(path, FIELDS, key="model_id")
        if backend == "file_csv":
            path = tmp_path_factory.mktemp("t") / "configs.csv"
            with open(path, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow([fd.name for fd in FIELDS])
                for r in rows:
                    w.writerow(["" if r[fd.name] is None else
                                (str(r[fd.name]).lower() if isinstance(r[fd.name], bool) else r[fd.name])
                                for fd in FIELDS])
            return FileTable(path, FIELDS, key="model_id")
        if backend == "changelog":
            t = ChangelogTable(FIELDS, key="model_id")
            cols = {fd.name: column_from_pylist([r[fd.name] for r in rows], fd.kind) for fd in FIELDS}
            # a first version of every row, then deletes of a few, then the final rows
            t.apply(Batch({**cols, "max_tokens": column_from_pylist([-1] * len(rows), "i")}, len(rows)))
            t.apply(Batch(cols, len(rows), ops=np.array(["-D"] * len(rows), object)))
            t.apply(Batch(cols, len(rows), ops=np.array(["+I"] * len(rows), object)))
            return t
        if backend == "postgres":
            pg = request.getfixturevalue("postgres")
            name = pg.unique_name("model_configs")
            with pg.connect() as conn:
                conn.execute(f"CREATE TABLE {name} (model_id text PRIMARY KEY, max_tokens int, "
                             "cost double precision, enabled boolean, updated timestamp(3), note varchar(40), "
                             "extra text)")
                with conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO {name} VALUES (%s, %s, %s, %s, to_timestamp(%s / 1000.0) AT TIME ZONE 'UTC', "
                        "%s, 'x')",
                        [(r["model_id"], r["max_tokens"], r["cost"], r["enabled"], r["updated"], r["note"])
                         for r in rows])
            t = PostgresTable(dsn=pg.dsn, table_name=name, fields=FIELDS, key=["model_id"], **cache)
            made.append(t)
            return t
        if backend in ("redis_hash", "redis_hash_pipeline", "redis_json"):
            rs = request.getfixturevalue("redis_server")
            prefix = rs.unique_prefix("model")
            client = rs.client()
            for r in rows:
                key = f"{prefix}:{r['model_id']}"
                if backend == "redis_json":
                    client.set(key, json.dumps(r))
                else:  # a hash: NULL is an absent field; the key column is in the key only
                    client.hset(key, mapping={k: (str(v).lower() if isinstance(v, bool) else v)
                                              for k, v in r.items() if v is not None and k != "model_id"})
            t = RedisTable(url=rs.url, key_pattern=prefix + ":{model_id}", fields=FIELDS,
                           value_format="json" if backend == "redis_json" else "hash",
                           hash_fetch="pipeline" if backend == "redis_hash_pipeline" else "script", **cache)
            made.append(t)
            return t
        raise ValueError(backend)

    yield make
    for t in made:
        t.close()


def stream(keys: list, xs: list) -> Batch:
    n = len(keys)
    return Batch({"seq": column_from_pylist(list(range(n)), "i"), "model_id": column_from_pylist(keys, "O"),
                  "x": column_from_pylist(xs, "f")}, n)


def x_below_max_tokens(b: Batch) -> Column:
    x, m = b["x"], b["max_tokens"]
    return Column(x.values < m.values, x.is_valid() & m.is_valid())


def run_lookup(join: LookupJoin, s: Batch, batch_size: int) -> list[tuple]:
    out = []
    for a in range(0, s.num_rows, batch_size):
        part = s.take(np.arange(a, min(a + batch_size, s.num_rows)))
        res = join.process([part["model_id"]], part)
        out.append(res)
    return concat_batches(out).to_rows() if out else []


def expected(rows, keys, xs, kind, residual_sql=""):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (model_id VARCHAR, max_tokens BIGINT, cost DOUBLE, enabled BOOLEAN, "
                "updated BIGINT, note VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
                    [[r[f.name] for f in FIELDS] for r in rows])
    con.execute("CREATE TABLE s AS SELECT * FROM (SELECT unnest(?::BIGINT[]) AS seq, "
                "unnest(?::VARCHAR[]) AS model_id, unnest(?::DOUBLE[]) AS x)",
                [list(range(len(keys))), keys, xs])
    return con.execute(f"SELECT s.*, t.* FROM s {kind} JOIN t ON s.model_id = t.model_id {residual_sql} "
                       "ORDER BY s.seq").fetchall()


STREAM_KEYS = st.lists(st.sampled_from([f"m{i}" for i in range(14)] + [None]), max_size=60)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["LEFT", "INNER"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=STREAM_KEYS, batch_size=st.sampled_from([1, 4, 1000]), cached=st.booleans(),
       residual=st.booleans(), data=st.data())
def test_lookup_join_matches_duckdb(make_table, backend, kind, keys, batch_size, cached, residual, data):
    rows = table_rows()
    table = make_table(backend, rows, **({"cache_max_rows": 5} if cached else {}))
    xs = data.draw(st.lists(st.one_of(st.none(), st.integers(-50, 1000).map(float)),
                            min_size=len(keys), max_size=len(keys)))
    join = LookupJoin(kind=kind, table=table, key_kinds=["O"], table_names=TABLE_NAMES,
                      residual=x_below_max_tokens if residual else None)
    got = run_lookup(join, stream(keys, xs), batch_size)
    want = expected(rows, keys, xs, kind, "AND s.x < t.max_tokens" if residual else "")
    assert got == want


def test_output_keeps_watermarks_ops_and_order(make_table):
    table = make_table("file_json", table_rows())
    s = stream(["m1", None, "zz", "m2"], [1.0, 2.0, 3.0, 4.0])
    s = Batch(s.columns, 4, np.array([5, 6, 7, 8], np.int64), np.array(["+I", "-U", "+U", "-D"], object))
    out = LookupJoin(kind="LEFT", table=table, key_kinds=["O"], table_names=TABLE_NAMES).process([s["model_id"]], s)
    assert out.watermarks.tolist() == [5, 6, 7, 8]
    assert out.ops.tolist() == ["+I", "-U", "+U", "-D"]
    assert [r[0] for r in out.to_rows()] == [0, 1, 2, 3]
    inner = LookupJoin(kind="INNER", table=table, key_kinds=["O"], table_names=TABLE_NAMES).process(
        [s["model_id"]], s)
    assert inner.watermarks.tolist() == [5, 8] and inner.ops.tolist() == ["+I", "-D"]


def test_name_clash_is_refused(make_table):
    table = make_table("file_json", table_rows())
    s = stream(["m1"], [1.0])
    with pytest.raises(ValueError, match="clash"):
        LookupJoin(kind="LEFT", table=table, key_kinds=["O"]).process([s["model_id"]], s)


def test_file_table_last_line_of_a_key_wins_and_bad_lines_are_counted(tmp_path, capsys):
    path = tmp_path / "t.jsonl"
    path.write_text('{"model_id": "a", "max_tokens": 1}\n{"model_id": "a", "max_tokens": 2}\n'
                    '{"model_id": "b", "max_tokens": "many"}\nnot json\n{"model_id": null, "max_tokens": 9}\n')
    t = FileTable(path, [Field("model_id", "VARCHAR"), Field("max_tokens", "INT")], key="model_id")
    found, cols = t.lookup([column_from_pylist(["a", "b"], "O")])
    assert found.tolist() == [True, False] and cols[1].to_pylist() == [2, None]
    assert len(t.dead_letters) == 2 and "do not decode" in capsys.readouterr().err


def test_multi_column_key_postgres_and_redis(postgres, redis_server):
    fields = [Field("tenant", "VARCHAR"), Field("user_id", "BIGINT"), Field("plan", "VARCHAR")]
    data = [("t1", 1, "free"), ("t1", 2, "pro"), ("t2", 1, "team")]
    name = postgres.unique_name("users")
    with postgres.connect() as conn:
        conn.execute(f"CREATE TABLE {name} (tenant text, user_id bigint, plan text, PRIMARY KEY (tenant, user_id))")
        conn.cursor().executemany(f"INSERT INTO {name} VALUES (%s, %s, %s)", data)
    prefix = redis_server.unique_prefix("user")
    client = redis_server.client()
    for t, u, p in data:
        client.hset(f"{prefix}:{t}:{u}", mapping={"plan": p})
    tables = [PostgresTable(dsn=postgres.dsn, table_name=name, fields=fields, key=["tenant", "user_id"]),
              RedisTable(url=redis_server.url, key_pattern=prefix + ":{tenant}:{user_id}", fields=fields)]
    keys = [column_from_pylist(["t1", "t2", "t2", None, "t1"], "O"), column_from_pylist([2, 1, 2, 1, 2], "i")]
    s = Batch({"k1": keys[0], "k2": keys[1]}, 5)
    for table in tables:
        out = LookupJoin(kind="LEFT", table=table, key_kinds=["O", "i"],
                         table_names=["tenant", "user_id", "plan"]).process(keys, s)
        assert out.to_rows() == [("t1", 2, "t1", 2, "pro"), ("t2", 1, "t2", 1, "team"), ("t2", 2, None, None, None),
                                 (None, 1, None, None, None), ("t1", 2, "t1", 2, "pro")]
        table.close()


def test_integer_key_postgres(postgres):
    name = postgres.unique_name("ints")
    with postgres.connect() as conn:
        conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, price numeric(10, 2), day date)")
        conn.execute(f"INSERT INTO {name} VALUES (1, 2.50, '2024-01-02'), (7, NULL, NULL)")
    t = PostgresTable(dsn=postgres.dsn, table_name=name, key="id",
                      fields=[Field("id", "INT"), Field("price", "DECIMAL(10,2)"), Field("day", "DATE")])
    found, cols = t.lookup([Column(np.array([7, 1, 3, 1]))])
    assert found.tolist() == [True, True, False, True]
    assert [c.to_pylist() for c in cols] == [[7, 1, None, 1], [None, 2.5, None, 2.5], [None, 19724, None, 19724]]
    assert t.stats.round_trips == 1 and t.stats.keys_fetched == 3
    t.close()


def test_distinct_keys():
    uniq, inv = distinct_keys([column_from_pylist(["b", "a", "b"], "O")])
    assert [uniq[i] for i in inv] == ["b", "a", "b"] and len(uniq) == 2
    uniq, inv = distinct_keys([Column(np.array([5, 3, 5]))])
    assert [uniq[i] for i in inv] == [5, 3, 5] and len(uniq) == 2
    uniq, inv = distinct_keys([column_from_pylist(["a", "a"], "O"), Column(np.array([1, 2]))])
    assert [uniq[i] for i in inv] == [("a", 1), ("a", 2)]


def test_changelog_table_from_a_file_of_changes_with_ttl(tmp_path):
    path = tmp_path / "changes.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"model_id": "a", "max_tokens": 1, "op": "+I"},
        {"model_id": "b", "max_tokens": 2, "op": "+I"},
        {"model_id": "a", "max_tokens": 1, "op": "-U"},
        {"model_id": "a", "max_tokens": 10, "op": "+U"},
        {"model_id": "b", "max_tokens": 2, "op": "-D"},
        {"model_id": "c", "max_tokens": 3, "op": "+I"},
    ]) + "\n")
    now = [0]
    fields = [Field("model_id", "VARCHAR"), Field("max_tokens", "INT")]
    t = ChangelogTable.from_file(path, fields, key="model_id", state_ttl_ms=1_000, clock=lambda: now[0])
    found, cols = t.lookup([column_from_pylist(["a", "b", "c"], "O")])
    assert found.tolist() == [True, False, True] and cols[1].to_pylist() == [10, None, 3]
    now[0] = 500
    t.apply(Batch({"model_id": column_from_pylist(["c"], "O"), "max_tokens": column_from_pylist([30], "i")}, 1))
    now[0] = 1_000  # 'a' was written at 0: expired; 'c' at 500: kept
    found, cols = t.lookup([column_from_pylist(["a", "c"], "O")])
    assert found.tolist() == [False, True] and cols[1].to_pylist() == [None, 30] and len(t) == 1
    # checkpoint: numpy arrays and JSON values only, restored into a fresh table
    from join_helpers import roundtrip

    t.apply(Batch({"model_id": column_from_pylist(["d", "e"], "O"),
                   "max_tokens": column_from_pylist([None, 5], "i")}, 2))
    fresh = ChangelogTable(fields, key="model_id", state_ttl_ms=1_000, clock=lambda: now[0])
    fresh.restore(roundtrip(t.snapshot()))
    probe = [column_from_pylist(["e", "c", "d", "a"], "O")]
    assert [c.to_pylist() for c in fresh.lookup(probe)[1]] == [c.to_pylist() for c in t.lookup(probe)[1]]
    now[0] = 1_600  # TTL deadlines survive the restore: 'c' (written at 500) expires, 'd'/'e' stay
    assert fresh.lookup(probe)[0].tolist() == [True, False, True, False]
    # the upserts-only form: no op column, the last line of a key wins
    up = tmp_path / "upserts.jsonl"
    up.write_text('{"model_id": "a", "max_tokens": 1}\n{"model_id": "a", "max_tokens": 5}\n')
    t2 = ChangelogTable.from_file(up, fields, key="model_id", op_field=None)
    assert t2.lookup([column_from_pylist(["a"], "O")])[1][1].to_pylist() == [5]
