"""INSERT INTO a filesystem table (runtime_lib/io/filesystem_sink.py): part
files per partition directory, Flink's rolling and partition commit, and
exactly-once across kills with checkpoints.

Nexmark q10 runs as Flink writes it (PARTITIONED BY (dt, hm), CSV,
partition-time commit) and its files equal DuckDB's rows of the same query;
a partitioned JSON table killed (SIGKILL) at random checkpoints and restarted
ends with the rows of one uninterrupted run, nothing twice, nothing lost, and
no in-progress file left.
"""

from __future__ import annotations

import collections
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import duckdb
import numpy as np
import pytest

from compiler.driver import compile_source
from compiler.errors import Source, SqlcError
from runtime_lib.columns import Batch, Column
from runtime_lib.io.filesystem_sink import FileSystemSink, escape_partition_value, size_bytes
from runtime_lib.io.sinks import SinkConfigError
from runtime_lib.schema import Field
from runtime_lib.watermarks import WM_MAX

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "examples" / "catalog.sql"
EVENTS = ROOT / "examples" / "data" / "llm_requests.jsonl"
NEXMARK = ROOT / "benchmarks" / "nexmark"


def table_rows(path: Path, fmt: str, columns: list[str]) -> list[tuple]:
    """Every row of the committed part files under ``path``, its partition
    values (from the directories) last; in-progress files must not exist."""
    assert not [p for p in path.rglob("*") if p.name.endswith(".inprogress")]
    rows = []
    for part in sorted(path.rglob("part-*")):
        partition = [unquote(level.split("=", 1)[1])
                     for level in part.parent.relative_to(path).parts]
        text = part.read_text(encoding="utf-8")
        if fmt == "csv":
            records = [tuple(r) for r in csv.reader(text.splitlines())]
        else:
            records = [tuple(json.loads(line)[c] for c in columns)
                       for line in text.splitlines()]
        rows.extend(record + tuple(partition) for record in records)
    return rows


def compile_to(tmp_path: Path, sql: str, catalog: Path = CATALOG, name: str = "q") -> Path:
    module = compile_source(Source(f"{name}.sql", sql), [str(catalog)]).module
    assert module is not None
    path = tmp_path / f"{name}.py"
    path.write_text(module, encoding="utf-8")
    return path


# ----------------------------------------------------------------- Nexmark q10


def test_nexmark_q10_as_flink_writes_it(tmp_path):
    from benchmarks.nexmark import generator

    events = generator.write(tmp_path / "events", 3000, seed=1, rate=100.0,
                             out_of_order_ms=2000, base_ms=1_700_006_385_000)
    sql = (NEXMARK / "queries" / "q10.sql").read_text(encoding="utf-8")
    module = compile_to(tmp_path, sql, NEXMARK / "catalog.sql", "q10")
    env = {**os.environ, "NEXMARK_DIR": str(tmp_path), "SUBMIT_TIME": "run1"}
    done = subprocess.run([sys.executable, str(module), "--input", f"bid={events['bid']}",
                           "--quiet"], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    table = tmp_path / "data" / "output" / "run1" / "bid"
    partitions = sorted(p.parent.relative_to(table).as_posix() for p in table.rglob("_SUCCESS"))
    # 30 s across midnight: two days, two minutes, each complete at the end of input
    assert partitions == ["dt=2023-11-14/hm=23%3A59", "dt=2023-11-15/hm=00%3A00"]
    got = collections.Counter(table_rows(table, "csv", []))
    duck = duckdb.connect()
    want = collections.Counter(
        tuple("" if v is None else str(v) for v in row) for row in duck.execute(f"""
            SELECT auction, bidder, price, strftime("dateTime", '%Y-%m-%d %H:%M:%S.%g'),
                   extra, strftime("dateTime", '%Y-%m-%d'), strftime("dateTime", '%H:%M')
            FROM read_json('{events['bid']}', format='newline_delimited',
                           columns={{auction: 'BIGINT', bidder: 'BIGINT', price: 'BIGINT',
                                     "dateTime": 'TIMESTAMP', extra: 'VARCHAR'}})""").fetchall())
    assert sum(want.values()) == 2760 and got == want


# ----------------------------------------------------------------- exactly-once

PARTITIONED = """
CREATE TABLE requests_by_day (
    request_id STRING,
    latency_ms DOUBLE,
    dt STRING,
    model_id STRING
) PARTITIONED BY (dt, model_id) WITH (
    'connector' = 'filesystem',
    'path' = '${OUT_DIR}',
    'format' = 'json',
    'sink.partition-commit.policy.kind' = 'success-file',
    'sink.partition-commit.trigger' = 'partition-time',
    'partition.time-extractor.timestamp-pattern' = '$dt 00:00:00',
    'sink.partition-commit.delay' = '1 d',
    'sink.rolling-policy.file-size' = '4kb'
);
INSERT INTO requests_by_day
SELECT request_id, latency_ms, DATE_FORMAT(event_time, 'yyyy-MM-dd'), model_id
FROM llm_requests;
"""
COLUMNS = ["request_id", "latency_ms"]


def _run(module: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OUT_DIR": str(out)}
    return subprocess.Popen([sys.executable, str(module), "--input", f"llm_requests={EVENTS}",
                             "--quiet", *extra], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)


def _checkpoints(directory: Path) -> int:
    return len([d for d in directory.glob("chk-*") if (d / "MANIFEST.json").exists()])


def test_killed_and_restarted_the_table_holds_each_row_once(tmp_path):
    module = compile_to(tmp_path, PARTITIONED)
    reference = tmp_path / "reference"
    done = _run(module, reference)
    assert done.wait(timeout=300) == 0, done.stderr.read().decode()
    want = collections.Counter(table_rows(reference, "json", COLUMNS))
    assert sum(want.values()) == 4998  # every request (no window: none is late)

    out, checkpoints = tmp_path / "out", tmp_path / "chk"
    flags = ("--checkpoint-dir", str(checkpoints), "--checkpoint-interval", "1ms",
             "--batch-size", "100", "--checkpoints-retained", "1000")
    rng = random.Random(7)
    kills = 0
    for _ in range(6):
        before = _checkpoints(checkpoints) if checkpoints.exists() else 0
        proc = _run(module, out, *flags)
        began = time.monotonic()
        while proc.poll() is None and (not checkpoints.exists() or _checkpoints(
                checkpoints) <= before) and time.monotonic() - began < 60:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        kills += 1
    last = _run(module, out, *flags)
    assert last.wait(timeout=300) == 0, last.stderr.read().decode()
    assert kills >= 2
    got = collections.Counter(table_rows(out, "json", COLUMNS))
    assert got == want  # nothing lost, nothing twice
    complete = {p.parent.relative_to(out).as_posix() for p in out.rglob("_SUCCESS")}
    assert complete == {p.parent.relative_to(reference).as_posix()
                        for p in reference.rglob("_SUCCESS")}
    assert len(list(out.rglob("part-*"))) > len(complete)  # 4 kB files: they rolled


def test_updating_results_and_other_connectors_are_refused():
    with pytest.raises(SqlcError) as raised:
        compile_source(Source("u.sql", PARTITIONED.replace(
            "SELECT request_id, latency_ms, DATE_FORMAT(event_time, 'yyyy-MM-dd'), model_id\n"
            "FROM llm_requests;",
            "SELECT model_id, SUM(latency_ms), 'x', model_id FROM llm_requests "
            "GROUP BY model_id;")), [str(CATALOG)])
    assert "a filesystem table only takes appended rows" in str(raised.value)
    with pytest.raises(SqlcError) as raised:
        compile_source(Source("k.sql", "CREATE TABLE t (a INT, b INT) PARTITIONED BY (b) "
                              "WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json');"
                              ), [])
    assert "PARTITIONED BY is for the filesystem connector" in str(raised.value)
    for bad, message in (("PARTITIONED BY (c)", "partition column 'c' is not a physical"),
                         ("PARTITIONED BY (a, b, _p)", "starts with '_'"),
                         ("PARTITIONED BY (a, b)", "partitioned by all its columns")):
        columns = "a INT, b INT, _p INT" if "_p" in bad else "a INT, b INT"
        with pytest.raises(SqlcError) as raised:
            compile_source(Source("p.sql", f"CREATE TABLE t ({columns}) {bad} WITH "
                                  "('connector' = 'filesystem', 'path' = '/tmp/t');"), [])
        assert message in str(raised.value), str(raised.value)


# ----------------------------------------------------------------- the sink itself

FIELDS = (Field("v", "BIGINT"), Field("dt", "VARCHAR"), Field("hr", "VARCHAR"))


def batch(values: list[int], dts: list, hrs: list) -> Batch:
    def text(items):
        return Column(np.asarray(["" if x is None else x for x in items], dtype=object),
                      np.asarray([x is not None for x in items]))
    return Batch({"v": Column(np.asarray(values, dtype=np.int64)), "dt": text(dts),
                  "hr": text(hrs)}, len(values))


def sink(path: Path, **properties: str) -> FileSystemSink:
    return FileSystemSink(FIELDS, ("dt", "hr"), {"path": str(path), "format": "json",
                                                 **properties}, "sink t")


def test_partition_time_commit_follows_the_watermark(tmp_path):
    s = sink(tmp_path, **{"sink.partition-commit.policy.kind": "success-file",
                          "sink.partition-commit.trigger": "partition-time",
                          "partition.time-extractor.timestamp-pattern": "$dt $hr:00:00",
                          "sink.partition-commit.delay": "1 h"})
    s.write(batch([1, 2, 3], ["2025-01-01", "2025-01-01", "2025-01-01"], ["10", "11", None]))
    s.flush()
    success = sorted(p.parent.name for p in tmp_path.rglob("_SUCCESS"))
    assert success == []
    ten = 1_735_725_600_000  # 2025-01-01 10:00 UTC
    s.watermark(ten + 3_600_000 - 1)  # 10:00 + 1 h delay not passed yet
    assert not list(tmp_path.rglob("_SUCCESS"))
    s.watermark(ten + 3_600_000)
    assert sorted(p.parent.name for p in tmp_path.rglob("_SUCCESS")) == ["hr=10"]
    # NULL or '' is the default partition; its time cannot be read: complete at the end
    s.watermark(WM_MAX)
    assert sorted(p.parent.name for p in tmp_path.rglob("_SUCCESS")) == [
        "hr=10", "hr=11", "hr=__DEFAULT_PARTITION__"]
    s.close()
    rows = table_rows(tmp_path, "json", ["v"])
    assert sorted(rows) == [(1, "2025-01-01", "10"), (2, "2025-01-01", "11"),
                            (3, "2025-01-01", "__DEFAULT_PARTITION__")]


def test_values_are_escaped_as_hive_does_and_sizes_read_as_flink_does(tmp_path):
    assert escape_partition_value("10:30/a=b") == "10%3A30%2Fa%3Db"
    assert size_bytes("128MB", "k") == 128 * 1024 ** 2 and size_bytes("4kb", "k") == 4096
    assert size_bytes("100", "k") == 100
    with pytest.raises(SinkConfigError):
        size_bytes("lots", "sink.rolling-policy.file-size")
    with pytest.raises(SinkConfigError, match="no metastore"):
        sink(tmp_path, **{"sink.partition-commit.policy.kind": "metastore,success-file"})
    with pytest.raises(SinkConfigError, match="local directories only"):
        FileSystemSink(FIELDS, (), {"path": "s3://bucket/t"}, "sink t")
