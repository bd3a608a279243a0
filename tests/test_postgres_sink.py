"""PostgreSQL as a sink, on a real server (the ``postgres`` fixture).

Compiled queries with ``INSERT INTO`` a ``'connector' = 'postgres'`` table run
on JSON-lines files and the table must then hold what DuckDB computes from the
same files: an append-only filter (timestamps written exactly), a TUMBLE
aggregate, and updating GROUP BYs written by the table's PRIMARY KEY (rows
updated in place, a -D of a LEFT JOIN deletes its row, a HAVING that stops
holding deletes it too). Then ``PostgresSink``'s checkpoint protocol, called
as the driver calls it, and the errors: a missing table and a bad URL end the
run at start with exit code 2 and a message; a lost connection is retried
without checkpoints and is a ``SinkFault`` with them.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import duckdb
import numpy as np
import pytest

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source
from runtime_lib.columns import Batch, Column
from runtime_lib.io.postgres_sink import PostgresSink
from runtime_lib.io.sinks import SinkConfigError, SinkFault
from runtime_lib.schema import Field

BASE = 1_762_768_800_000  # 2025-11-10 10:00:00 UTC

SOURCES = """
CREATE STREAM ev (
    id VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    cost DOUBLE,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'ev', 'format' = 'json');
CREATE STREAM fb (
    id VARCHAR NOT NULL,
    rating INT,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'fb', 'format' = 'json');
"""
PG = ("'connector' = 'postgres', 'url' = '${SQLC_PG_URL}', 'username' = '${SQLC_PG_USER}', "
      "'password' = '${SQLC_PG_PASSWORD}', 'table-name' = '${SQLC_PG_SCHEMA}.{table}'")
TABLES = {  # sqlc DDL, PostgreSQL DDL
    "slow": ("id VARCHAR, model VARCHAR, cost DOUBLE, event_time TIMESTAMP(3)",
             "id text, model text, cost float8, event_time timestamp(3)"),
    "minutes": ("model VARCHAR, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT, "
                "total DOUBLE",
                "model text, window_start timestamp(3), window_end timestamp(3), n bigint, "
                "total float8"),
    "ratings": ("model VARCHAR, rating INT, n BIGINT, PRIMARY KEY (model, rating) NOT ENFORCED",
                "model text, rating int, n bigint, PRIMARY KEY (model, rating)"),
    "few": ("model VARCHAR, n BIGINT, total DOUBLE, PRIMARY KEY (model) NOT ENFORCED",
            "model text PRIMARY KEY, n bigint, total numeric(12, 4)"),
}
CATALOG = SOURCES + "".join(
    f"CREATE TABLE {name} ({ddl}) WITH ({PG.replace('{table}', name)});\n"
    for name, (ddl, _) in TABLES.items())

TUMBLE = ("FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND)) "
          "GROUP BY model, window_start, window_end")
RATINGS = ("SELECT e.model, COALESCE(f.rating, 0) AS rating, COUNT(*) AS n "
           "FROM ev e LEFT JOIN fb f ON e.id = f.id GROUP BY e.model, COALESCE(f.rating, 0)")
QUERIES = {
    "slow": "INSERT INTO slow SELECT id, model, cost, event_time FROM ev WHERE cost > 0.5",
    "minutes": ("INSERT INTO minutes SELECT model, window_start, window_end, COUNT(*) AS n, "
                f"SUM(cost) AS total {TUMBLE}"),
    "ratings": f"INSERT INTO ratings {RATINGS}",
    "ratings_file": RATINGS,
    "few": ("INSERT INTO few SELECT model, COUNT(*) AS n, SUM(cost) AS total FROM ev "
            "GROUP BY model HAVING COUNT(*) < 12"),
}
DUCK = {  # the same queries as batch queries over the files
    "slow": "SELECT id, model, cost, ts FROM ev WHERE cost > 0.5",
    "minutes": ("SELECT model, ts // 10000 * 10000 AS ws, ts // 10000 * 10000 + 10000 AS we, "
                "COUNT(*) AS n, SUM(cost) AS total FROM ev GROUP BY ALL"),
    "ratings": ("SELECT e.model, COALESCE(f.rating, 0) AS rating, COUNT(*) AS n "
                "FROM ev e LEFT JOIN fb f ON e.id = f.id GROUP BY ALL"),
    "few": ("SELECT model, COUNT(*) AS n, ROUND(SUM(cost), 4) AS total FROM ev GROUP BY model "
            "HAVING COUNT(*) < 12"),
}
EPOCH_MS = "(extract(epoch FROM {}) * 1000)::bigint"
READ = {  # the table's rows as DuckDB's columns
    "slow": f"SELECT id, model, cost, {EPOCH_MS.format('event_time')} FROM {{t}}",
    "minutes": (f"SELECT model, {EPOCH_MS.format('window_start')}, "
                f"{EPOCH_MS.format('window_end')}, n, total FROM {{t}}"),
    "ratings": "SELECT model, rating, n FROM {t}",
    "few": "SELECT model, n, total::float8 FROM {t}",
}


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("pgsink")
    catalog = work / "catalog.sql"
    catalog.write_text(CATALOG, encoding="utf-8")
    out = {}
    for name, sql in QUERIES.items():
        compiled = compile_source(Source(f"{name}.sql", sql), [catalog])
        path = work / f"{name}.py"
        path.write_text(compiled.module or "", encoding="utf-8")
        out[name] = path
    return out


@pytest.fixture
def schema(postgres, monkeypatch) -> str:
    """A fresh schema with every table of TABLES, exported as the DDL's ${VAR}s."""
    name = postgres.unique_name("s")
    with postgres.connect() as conn:
        conn.execute(f"CREATE SCHEMA {name}")
        for table, (_, pg_ddl) in TABLES.items():
            conn.execute(f"CREATE TABLE {name}.{table} ({pg_ddl})")
    monkeypatch.setenv("SQLC_PG_URL", f"postgresql://{postgres.host}:{postgres.port}/"
                                      f"{postgres.dbname}")
    monkeypatch.setenv("SQLC_PG_USER", postgres.user)
    monkeypatch.setenv("SQLC_PG_PASSWORD", postgres.password)
    monkeypatch.setenv("SQLC_PG_SCHEMA", name)
    return name


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Requests of 5 models over 2 minutes, out of order within the watermark
    bound; feedback for some, all of model 'e' (so its unrated group appears
    and is deleted), behind filler feedback so that requests come first."""
    rng = random.Random(5)
    work = tmp_path_factory.mktemp("pgdata")
    events, feedback = [], []
    for i in range(240):
        ts = BASE + i * 500 + rng.randrange(0, 4000)
        model = rng.choice("aaaaabbbbcccde")
        cost = None if i % 17 == 0 else round(rng.random(), 3)
        events.append({"id": f"r{i}", "model": model, "cost": cost, "ts": ts})
        if model == "e" or rng.random() < 0.4:
            feedback.append({"id": f"r{i}", "rating": rng.randrange(1, 6), "ts": ts + 100})
    events.sort(key=lambda e: e["ts"] + rng.randrange(0, 3000))
    filler = [{"id": f"x{i}", "rating": 1, "ts": BASE} for i in range(60)]
    paths = {"ev": work / "ev.jsonl", "fb": work / "fb.jsonl"}
    for name, rows in (("ev", events), ("fb", filler + feedback)):
        paths[name].write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return paths


def duck(query: str, data: dict[str, Path]) -> list[tuple]:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW ev AS SELECT * FROM read_json('{data['ev']}', columns = "
                "{'id': 'VARCHAR', 'model': 'VARCHAR', 'cost': 'DOUBLE', 'ts': 'BIGINT'})")
    con.execute(f"CREATE VIEW fb AS SELECT * FROM read_json('{data['fb']}', columns = "
                "{'id': 'VARCHAR', 'rating': 'INTEGER', 'ts': 'BIGINT'})")
    return con.execute(query).fetchall()


def table_rows(postgres, schema: str, name: str) -> list[tuple]:
    with postgres.connect() as conn:
        return conn.execute(READ[name].format(t=f"{schema}.{name}")).fetchall()


def same_rows(actual: list[tuple], expected: list[tuple]) -> None:
    """Equal as multisets; floats to 1e-9 (sums in another order)."""
    def norm(rows):
        return sorted((tuple(round(v, 6) if isinstance(v, float) else v for v in r)
                       for r in rows), key=repr)

    assert len(actual) == len(expected)
    for a, e in zip(norm(actual), norm(expected)):
        assert len(a) == len(e)
        for x, y in zip(a, e):
            if isinstance(x, float) or isinstance(y, float):
                assert x is not None and y is not None and math.isclose(x, y, abs_tol=1e-6), (a, e)
            else:
                assert x == y, (a, e)


def run(module: Path, data: dict[str, Path], *extra: str) -> int:
    """The module on the files of the sources it reads."""
    text = module.read_text(encoding="utf-8")
    inputs = [f"--input={name}={path}" for name, path in data.items()
              if f'name="{name}",' in text]
    return run_module(module, [*inputs, "--quiet", *extra])


# ---------------------------------------------------------------- compiled queries


@pytest.mark.parametrize("name", ["slow", "minutes"])
def test_append_only_results_are_inserted(name, modules, schema, data, postgres):
    assert run(modules[name], data, "--batch-size", "50") == 0
    expected = duck(DUCK[name], data)
    assert len(expected) > 20
    same_rows(table_rows(postgres, schema, name), expected)


def test_updating_group_by_upserts_by_key_and_deletes(modules, schema, data, postgres,
                                                      tmp_path):
    # the changelog the sink gets: updates of a key in place, and -D rows
    out = tmp_path / "changes.jsonl"
    assert run(modules["ratings_file"], data, "--batch-size", "20", "--output", str(out)) == 0
    changes = [json.loads(line) for line in out.read_text().splitlines()]
    deleted = {(c["model"], c["rating"]) for c in changes if c["_op"] == "-D"}
    assert ("e", 0) in deleted and sum(c["_op"] == "+U" for c in changes) > 20
    assert run(modules["ratings"], data, "--batch-size", "20") == 0
    rows = table_rows(postgres, schema, "ratings")
    same_rows(rows, duck(DUCK["ratings"], data))
    assert not [r for r in rows if r[:2] == ("e", 0)]  # its -D deleted it


def test_having_that_stops_holding_deletes_the_row(modules, schema, data, postgres):
    """The -U of an update whose new row fails HAVING has no +U after it: the
    row goes (Flink's JDBC sink deletes on UPDATE_BEFORE too)."""
    assert run(modules["few"], data, "--batch-size", "10") == 0
    rows = table_rows(postgres, schema, "few")
    expected = duck(DUCK["few"], data)
    assert len(duck("SELECT DISTINCT model FROM ev", data)) > len(expected) > 0
    same_rows(rows, expected)


def test_generated_module_carries_the_properties_not_the_secrets(modules, schema, postgres):
    text = modules["ratings"].read_text(encoding="utf-8")
    assert 'key=("model", "rating")' in text
    assert '"password": "${SQLC_PG_PASSWORD}"' in text
    assert postgres.password not in text


def test_missing_table_and_bad_url_stop_the_run_at_start(modules, schema, data, postgres,
                                                         monkeypatch, capsys):
    with postgres.connect() as conn:
        conn.execute(f"DROP TABLE {schema}.slow")
    assert run(modules["slow"], data) == 2
    err = capsys.readouterr().err
    assert f"table {schema}.slow does not exist" in err and "Traceback" not in err
    monkeypatch.setenv("SQLC_PG_URL", "postgresql://127.0.0.1:1/nowhere")
    assert run(modules["minutes"], data) == 2
    err = capsys.readouterr().err
    assert "sink minutes: cannot connect to PostgreSQL at 127.0.0.1:1/nowhere" in err
    assert "Traceback" not in err
    monkeypatch.setenv("SQLC_PG_URL", "not a url")
    assert run(modules["minutes"], data) == 2
    assert "cannot read the PostgreSQL url" in capsys.readouterr().err


def test_a_row_postgres_refuses_ends_the_run_with_exit_1(modules, schema, data, postgres,
                                                         capsys):
    with postgres.connect() as conn:
        conn.execute(f"ALTER TABLE {schema}.slow ADD CONSTRAINT cheap CHECK (cost < 0.9)")
    assert run(modules["slow"], data) == 1
    err = capsys.readouterr().err
    assert f"error: sink slow: table {schema}.slow at " in err
    assert "rows not written" in err and '"cheap"' in err and "Traceback" not in err


def test_a_key_without_a_unique_index_is_refused_at_start(modules, schema, data, postgres,
                                                          capsys):
    with postgres.connect() as conn:
        conn.execute(f"ALTER TABLE {schema}.few DROP CONSTRAINT few_pkey")
    assert run(modules["few"], data) == 2
    assert "has no PRIMARY KEY or UNIQUE constraint on (model)" in capsys.readouterr().err


# ---------------------------------------------------------------- the protocol

FIELDS = (Field("k", "VARCHAR", False), Field("v", "BIGINT"), Field("at", "TIMESTAMP_LTZ(3)"))


def batch(keys: list[str], values: list[int | None]) -> Batch:
    valid = np.array([v is not None for v in values])
    return Batch({"k": Column(np.array(keys, dtype=object)),
                  "v": Column(np.array([v or 0 for v in values], dtype=np.int64), valid),
                  "at": Column(np.full(len(keys), BASE + 1, dtype=np.int64))}, len(keys))


@pytest.fixture
def target(postgres) -> dict[str, str]:
    """Properties of a keyed table in a schema of its own (no marker table yet)."""
    name = postgres.unique_name("p")
    with postgres.connect() as conn:
        conn.execute(f"CREATE SCHEMA {name}")
        conn.execute(f"CREATE TABLE {name}.t (k text PRIMARY KEY, v bigint, at timestamptz, "
                     "CONSTRAINT v_unique UNIQUE (v) DEFERRABLE INITIALLY DEFERRED)")
    return {"url": postgres.dsn, "table-name": f"{name}.t"}


def contents(postgres, props: dict[str, str]) -> dict[str, int | None]:
    with postgres.connect() as conn:
        return dict(conn.execute(f"SELECT k, v FROM {props['table-name']}").fetchall())


def marker(postgres, props: dict[str, str]) -> list[tuple]:
    schema = props["table-name"].split(".")[0]
    with postgres.connect() as conn:
        return conn.execute(f"SELECT pipeline_id, checkpoint_id FROM {schema}.sqlc_checkpoints"
                            ).fetchall()


def test_recover_commit_and_rollback(target, postgres):
    sink = PostgresSink(FIELDS, ("k",), target, "sink t")
    assert sink.recover("p1") is None  # creates the marker table
    assert marker(postgres, target) == []
    sink.write(batch(["a", "b"], [1, None]), np.array(["+I", "+I"], dtype=object))
    sink.flush()
    assert contents(postgres, target) == {}  # flushed into the open transaction only
    sink.commit(1)
    assert contents(postgres, target) == {"a": 1, "b": None}
    sink.write(batch(["a", "b"], [1, 3]), np.array(["-U", "+U"], dtype=object))
    sink.flush()
    sink.close()  # not checkpointed: rolled back
    assert contents(postgres, target) == {"a": 1, "b": None}

    other = PostgresSink(FIELDS, ("k",), target, "sink t")
    assert other.recover("other pipeline") is None
    other.close()
    again = PostgresSink(FIELDS, ("k",), target, "sink t")
    assert again.recover("p1") == 1
    again.write(batch(["a", "a", "c"], [1, 5, 6]), np.array(["-U", "+U", "+I"], dtype=object))
    again.write(batch(["b"], [None]), np.array(["-D"], dtype=object))
    again.commit(2)
    assert contents(postgres, target) == {"a": 5, "c": 6}
    assert marker(postgres, target) == [("p1", 2)]
    again.close()
    with postgres.connect() as conn:  # the committed_at of the marker is set
        schema = target["table-name"].split(".")[0]
        assert conn.execute(f"SELECT committed_at IS NOT NULL FROM {schema}.sqlc_checkpoints"
                            ).fetchone() == (True,)


def test_commit_is_atomic(target, postgres):
    """A commit that fails (a deferred constraint, checked at COMMIT) keeps
    neither the rows nor the marker."""
    sink = PostgresSink(FIELDS, ("k",), target, "sink t")
    assert sink.recover("p") is None
    sink.write(batch(["a"], [1]))
    sink.commit(1)
    sink.write(batch(["b", "c"], [7, 7]))  # v is unique, checked when committing
    with pytest.raises(SinkFault, match="checkpoint 2 not committed"):
        sink.commit(2)
    sink.close()
    assert contents(postgres, target) == {"a": 1}
    assert marker(postgres, target) == [("p", 1)]
    assert PostgresSink(FIELDS, ("k",), target, "sink t").recover("p") == 1


def test_without_checkpoints_each_flush_commits(target, postgres):
    sink = PostgresSink(FIELDS, ("k",), target, "sink t")
    sink.write(batch(["a", "b"], [1, 2]))
    sink.flush()
    assert contents(postgres, target) == {"a": 1, "b": 2}
    sink.write(batch(["a"], [3]), np.array(["+U"], dtype=object))
    sink.close()  # commits what was written
    assert contents(postgres, target) == {"a": 3, "b": 2}


def test_a_failed_commit_without_checkpoints_is_a_fault_once(target, postgres):
    sink = PostgresSink(FIELDS, ("k",), target, "sink t")
    sink.write(batch(["a", "b"], [7, 7]))  # v is unique, checked when committing
    with pytest.raises(SinkFault, match="rows not committed"):
        sink.flush()
    sink.close()  # the lost rows are not committed (nor reported) again
    assert contents(postgres, target) == {}


def test_timestamps_are_exact(target, postgres):
    sink = PostgresSink(FIELDS, ("k",), target, "sink t")
    b = batch(["a", "b", "c"], [1, 2, 3])
    times = np.array([BASE + 999, -1, 253_402_300_799_999], dtype=np.int64)  # to 9999-12-31
    sink.write(Batch({**b.columns, "at": Column(times)}, 3))
    sink.close()
    with postgres.connect() as conn:
        got = conn.execute(f"SELECT k, (extract(epoch FROM at) * 1000)::bigint FROM "
                           f"{target['table-name']} ORDER BY k").fetchall()
    assert [t for _, t in got] == times.tolist()


def test_retractions_without_a_key_are_a_fault(target, postgres):
    sink = PostgresSink(FIELDS, (), target, "sink t")
    with pytest.raises(SinkFault, match="no PRIMARY KEY to delete them by"):
        sink.write(batch(["a"], [1]), np.array(["-D"], dtype=object))
    sink.close()


def test_a_missing_column_is_refused(target):
    with pytest.raises(SinkConfigError, match="has no column w"):
        PostgresSink((*FIELDS, Field("w", "INT")), ("k",), target, "sink t")


def test_lost_connection(target, postgres_restartable):
    """Without checkpoints the rows since the last commit are sent again on a
    new connection; with them the open transaction is gone: a SinkFault."""
    plain = PostgresSink(FIELDS, ("k",), target, "sink t")
    plain.write(batch(["a"], [1]))
    plain.flush()
    checkpointed = PostgresSink(FIELDS, ("k",), target, "sink t")
    assert checkpointed.recover("p") is None
    postgres_restartable.restart()
    plain.write(batch(["b"], [2]))
    plain.flush()
    plain.close()
    assert contents(postgres_restartable, target) == {"a": 1, "b": 2}
    checkpointed.write(batch(["c"], [3]))
    with pytest.raises(SinkFault, match="rows not written"):
        checkpointed.commit(1)
    checkpointed.close()
    assert contents(postgres_restartable, target) == {"a": 1, "b": 2}


# ---------------------------------------------------------------- with the driver's checkpoints


def test_checkpointed_run_commits_with_its_marker(modules, schema, data, postgres, tmp_path):
    """--checkpoint-dir: the rows are committed with the marker of the run's
    last checkpoint; a second run resumes from it and writes nothing again."""
    store = tmp_path / "checkpoints"
    assert run(modules["ratings"], data, "--batch-size", "20", "--checkpoint-dir",
               str(store)) == 0
    rows = table_rows(postgres, schema, "ratings")
    same_rows(rows, duck(DUCK["ratings"], data))
    with postgres.connect() as conn:
        markers = conn.execute(f"SELECT pipeline_id, checkpoint_id FROM {schema}."
                               "sqlc_checkpoints").fetchall()
    assert len(markers) == 1 and markers[0][1] >= 1
    assert run(modules["ratings"], data, "--batch-size", "20", "--checkpoint-dir",
               str(store)) == 0
    assert sorted(table_rows(postgres, schema, "ratings")) == sorted(rows)
