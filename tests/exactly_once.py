"""Kill tests: a generated pipeline killed (SIGKILL) or stopped (SIGTERM) at
random moments and restarted with the same --checkpoint-dir must end with the
sink content of an uninterrupted run: 0 rows lost, 0 duplicated.

Used by tests/test_exactly_once.py (a reduced form, for CI) and runnable in
full against the real broker the tests start (or SQLC_TEST_KAFKA_BOOTSTRAP):

    .venv/bin/python -m tests.exactly_once --events 200000 --kills 20

(sinks file and kafka by default; ``--sinks file,kafka,postgres`` adds the
PostgreSQL sink, on a server started for the run or SQLC_TEST_POSTGRES_DSN).

Inputs are the sample events (examples/data) copied ``copies`` times, each
copy three hours later than the one before, produced to a topic with three
partitions keyed by model (each partition in arrival order).
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
HOURS_3 = 3 * 3600 * 1000

#: query -> (generated module, the sources it reads, whether its result updates)
QUERIES = {
    "filter": ("s02_failed_requests", ("llm_requests",), False),
    "tumble": ("q02_latency_percentiles", ("llm_requests",), False),
    "tumble_changes": ("q01_request_rate", ("llm_requests",), True),  # EMIT CHANGES
    "session": ("q06b_session_per_user", ("llm_requests",), False),
    "interval_join": ("fr_join_003_interval", ("llm_requests", "error_events"), False),
    "group_by": ("fr_dql_002_aggregations", ("llm_requests",), True),
}


def copies_for(events: int) -> int:
    base = sum(1 for line in (DATA / "llm_requests.jsonl").open("rb") if line.strip())
    return max(1, math.ceil(events / base))


def scaled(source: str, copies: int) -> list[dict]:
    """The sample events of ``source``, ``copies`` times, each copy 3 h later,
    without the events the sample delivers late on purpose (late_events.json).

    Why without: whether such an event is late depends on how far the other
    partitions' reads got when it arrives (the watermark is their minimum), so
    an uninterrupted run and a restarted one may rightly differ in it, as in
    Flink. Every other event is within 20 s of its time (the watermark allows
    30 s), so it is never late, whatever the interleaving."""
    late = {e["request_id"] for e in json.loads((DATA / "late_events.json").read_text())
            ["late_events"]} if source == "llm_requests" else set()
    rows = [json.loads(line) for line in (DATA / f"{source}.jsonl").open("rb") if line.strip()]
    rows = [r for r in rows if r.get("request_id") not in late]
    out = []
    for c in range(copies):
        for row in rows:
            row = dict(row)
            if "request_id" in row:
                row["request_id"] = f"{row['request_id']}-{c}"
            row["timestamp_ms"] += c * HOURS_3
            out.append(row)
    return out


def _canonical(row: dict) -> str:
    """A row as text, floats to 9 significant digits (sums in another order)."""
    def norm(v):
        return float(f"{v:.9g}") if isinstance(v, float) else v
    return json.dumps({k: norm(v) for k, v in row.items()}, sort_keys=True)


def final_rows(rows: list[dict], key: tuple[str, ...] | None) -> collections.Counter:
    """The sink's content: every row (append), or, for an updating result, the
    table its changelog leaves (by ``key``)."""
    if key is None:
        return collections.Counter(_canonical(r) for r in rows)
    table: dict = {}
    for row in rows:
        row = dict(row)
        op = row.pop("_op", "+I")
        k = tuple(row.get(c) for c in key)
        if op in ("+I", "+U"):
            table[k] = row
        else:
            table.pop(k, None)
    return collections.Counter(_canonical(r) for r in table.values())


@dataclass
class Outcome:
    query: str
    sink: str
    signal: str
    expected: int
    got: int
    lost: int
    duplicated: int
    restarts: int
    seconds: float
    aborted: int = 0  # duplicates that are records of aborted transactions (tansu shows them)
    notes: list[str] = field(default_factory=list)
    # PostgreSQL: the rows in the table when each interrupted run had ended (> 0: the
    # interruption cut a run after output was committed, and the next one resumed from it)
    committed: list[int] = field(default_factory=list)

    def row(self) -> str:
        text = (f"{self.query:14} {self.sink:8} {self.signal:8} expected {self.expected:7} "
                f"got {self.got:7} lost {self.lost:5} duplicated {self.duplicated:5} "
                f"(aborted-transaction records {self.aborted}) restarts {self.restarts:3} "
                f"{self.seconds:6.1f} s")
        if self.committed:
            text += (f"; interrupted after rows were committed: "
                     f"{sum(n > 0 for n in self.committed)}/{len(self.committed)}")
        return text


def interrupted_runs(cmd: list[str], restarts: int, rng: random.Random, sig: int,
                     window: tuple[float, float], after_kill=None,
                     timeout: float = 300.0, env: dict[str, str] | None = None,
                     checkpoints: Path | None = None) -> int:
    """``restarts`` runs of ``cmd`` (unbounded: they never end by themselves),
    each sent ``sig`` after a random delay in ``window`` seconds. Returns the
    number of interruptions; ``after_kill()`` is called after each run.

    With ``checkpoints`` (the runs' --checkpoint-dir), a run that has taken no
    checkpoint of its own when its delay is up is interrupted up to 0.5 s
    after its first one instead: on a loaded machine a start (imports, cached
    kernels, connecting, restoring) takes 2-3 s, and kills that all fall into
    starts test nothing but the last run. Every fourth run keeps its delay
    whatever it did, so that some interruptions still hit a start or a
    restore."""
    for attempt in range(restarts):
        before = _last_checkpoint(checkpoints)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=env)
        delay, extra = rng.uniform(*window), rng.uniform(0.0, 0.5)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            if checkpoints is not None and attempt % 4 != 3:
                began = time.monotonic()
                while (proc.poll() is None and _last_checkpoint(checkpoints) <= before
                       and time.monotonic() - began < 60):
                    time.sleep(0.02)
                if proc.poll() is None and _last_checkpoint(checkpoints) > before:
                    time.sleep(extra)
        if proc.poll() is not None:
            raise AssertionError(f"run {attempt} ended by itself ({proc.returncode}): "
                                 f"{proc.stderr.read().decode()[-2000:]}")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=timeout)
        if proc.returncode not in (0, -signal.SIGKILL):
            raise AssertionError(f"run {attempt} exited {proc.returncode}: "
                                 f"{err.decode()[-2000:]}")
        if os.environ.get("SQLC_KILL_TEST_LOG"):
            print(f"--- run {attempt}:\n{err.decode()}", file=sys.stderr)
        if after_kill is not None:
            after_kill()
    return restarts


def _last_checkpoint(directory: Path | None) -> int:
    """The id of the newest complete checkpoint in ``directory`` (0: none)."""
    if directory is None or not directory.is_dir():
        return 0
    return max((int(d.name[4:]) for d in directory.glob("chk-*")
                if d.name[4:].isdigit() and (d / "MANIFEST.json").exists()), default=0)


class _Producer(threading.Thread):
    """Produces the events while the pipeline runs, at a steady pace over
    ``seconds``, as a live topic gets them."""

    def __init__(self, kafka, batches: list[tuple[str, list, list]], seconds: float) -> None:
        super().__init__(daemon=True)
        self.kafka, self.batches, self.seconds = kafka, batches, seconds
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            pause = self.seconds / max(1, len(self.batches))
            for topic, rows, keys in self.batches:
                self.kafka.produce(topic, rows, key=keys)
                time.sleep(pause)
        except BaseException as error:  # reported by the test
            self.error = error


def kill_test(kafka, workdir: Path, query: str, sink: str, copies: int, restarts: int,
              sig: int = signal.SIGKILL, seed: int = 0, interval: str = "200ms",
              window: tuple[float, float] = (1.0, 2.5), postgres=None) -> Outcome:
    """One query, one sink kind ('file', 'kafka', 'postgres': then ``postgres``
    is the server): the events are produced while the pipeline runs; it is
    interrupted ``restarts`` times at random moments and restarted; the last
    run reads to the end. Then an uninterrupted run over the same topics
    gives the expected content (always to a file, with the checked-in
    module of the example)."""
    module, sources, updating = QUERIES[query]
    python = sys.executable
    path = ROOT / "generated" / f"{module}.py"
    env = None
    if sink == "postgres":
        if postgres is None:
            raise ValueError("sink 'postgres' needs the server (postgres=)")
        target = PostgresTarget.create(postgres, workdir, query)
        env = {**os.environ, **target.env}
    topics, batches = {}, []
    for source in sources:
        rows = scaled(source, copies)
        topic = kafka.create_topic(kafka.unique_topic(source.replace("_", "-")), 3)
        keys = [r.get("model_id") or r.get("request_id") for r in rows]
        step = max(1, len(rows) // (4 * max(1, restarts)))
        batches += [(topic, rows[i:i + step], keys[i:i + step]) for i in range(0, len(rows), step)]
        topics[source] = topic
    # the sources' batches interleaved, in time order
    batches.sort(key=lambda b: b[1][0]["timestamp_ms"])
    base = [python, str(path), "--bootstrap", kafka.bootstrap, "--batch-size", "1000",
            "--quiet"]
    for source, topic in topics.items():
        base += ["--input", f"{source}=kafka:{topic}"]

    checkpoints = workdir / f"{query}-{sink}-checkpoints"
    shutil.rmtree(checkpoints, ignore_errors=True)
    cmd = base + ["--checkpoint-dir", str(checkpoints), "--checkpoint-interval", interval]
    out_topic = None
    output = workdir / f"{query}-{sink}.jsonl"
    if sink == "file":
        cmd += ["--output", str(output)]
    elif sink == "postgres":  # the variant writing INSERT INTO the table, same flags
        cmd[1] = str(target.module)
    else:
        out_topic = kafka.create_topic(kafka.unique_topic(f"{query}-out"), 1)
        cmd += ["--sink", f"kafka:{out_topic}"]
    open_records: collections.Counter = collections.Counter()

    def note_open_transaction() -> None:
        """The records after the last transaction marker of the output topic
        (an offset gap: markers take offsets) are the open transaction of the
        process just killed; the next run fences it and it is aborted."""
        if out_topic is None:
            return
        records = kafka.consume_all(out_topic, timeout=120, isolation_level="read_uncommitted")
        tail = []
        for before, record in zip([None, *records], records):
            if before is not None and record.offset != before.offset + 1:
                tail = []
            tail.append(record)
        open_records.update(_canonical(_kafka_row(r, updating)) for r in tail)

    committed: list[int] = []
    notes: list[str] = []

    def after_run() -> None:
        if sink == "postgres":
            rows, checkpoint = target.progress()
            committed.append(rows)
            notes.append(f"{rows} rows committed with checkpoint {checkpoint}")
        elif sig == signal.SIGKILL:
            note_open_transaction()

    producer = _Producer(kafka, batches, seconds=restarts * sum(window) / 2 * 0.8)
    producer.start()
    began = time.monotonic()
    hit = interrupted_runs(cmd, restarts, random.Random(seed), sig, window, after_run, env=env,
                           checkpoints=checkpoints)
    producer.join()
    if producer.error is not None:
        raise producer.error
    final = subprocess.run(cmd + ["--until-end"], check=False, capture_output=True,
                           timeout=600, env=env)
    if os.environ.get("SQLC_KILL_TEST_LOG"):
        print(f"--- last run:\n{final.stderr.decode()}", file=sys.stderr)
    if final.returncode != 0:  # the last run, after the producer finished: to the end
        raise AssertionError(f"last run exited {final.returncode}: "
                             f"{final.stderr.decode()[-2000:]}")
    seconds = time.monotonic() - began

    reference = workdir / f"{query}-reference.jsonl"
    subprocess.run(base + ["--until-end", "--output", str(reference)], check=True, timeout=600)
    expected_rows = [json.loads(line) for line in reference.open() if line.strip()]
    key = _key_of(path) if updating else None
    expected = final_rows(expected_rows, key)
    if sink == "file":
        got_rows = [json.loads(line) for line in output.open() if line.strip()]
    elif sink == "postgres":  # the table itself, an upsert's final table too
        got_rows = target.rows()
    else:
        records = kafka.consume_all(out_topic, timeout=120, isolation_level="read_committed")
        got_rows = [_kafka_row(r, updating) for r in records]
    got = final_rows(got_rows, None if sink == "postgres" else key)
    lost = expected - got
    duplicated = got - expected
    # tansu gives read_committed consumers the records of aborted transactions too
    # (tests/services/README.md): the duplicates that are such records are counted
    # apart; any other duplicate is a failure
    aborted = sum((duplicated & open_records).values())
    return Outcome(query, sink, signal.Signals(sig).name, sum(expected.values()),
                   sum(got.values()), sum(lost.values()), sum(duplicated.values()), hit,
                   seconds, aborted, notes, committed)


#: our column type -> the PostgreSQL column type of the target table
_PG_TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "INT": "integer", "DOUBLE": "float8",
             "TIMESTAMP(3)": "timestamp(3)", "BOOLEAN": "boolean", "DATE": "date"}


@dataclass
class PostgresTarget:
    """The PostgreSQL sink of one case: a table in a schema of its own and the
    example's query compiled as ``INSERT INTO`` it (the same columns as the
    checked-in module's output; for an updating result a PRIMARY KEY on its
    upsert key, else none, so that a duplicate is an extra row)."""

    postgres: object
    table: str  # schema.table
    module: Path
    env: dict[str, str]

    @classmethod
    def create(cls, postgres, workdir: Path, query: str) -> PostgresTarget:
        from compiler.driver import compile_source
        from compiler.errors import Source

        module_name = QUERIES[query][0]
        output = _load(ROOT / "generated" / f"{module_name}.py").Query.outputs[0]
        schema = postgres.unique_name("kill")
        table = f"{schema}.{query}"
        pg_columns = [f"{f.name} {_PG_TYPES[f.type_name]}" + ("" if f.nullable else " NOT NULL")
                      for f in output.fields]
        if output.key:
            pg_columns.append(f"PRIMARY KEY ({', '.join(output.key)})")
        with postgres.connect() as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"CREATE TABLE {table} ({', '.join(pg_columns)})")
        columns = [f"{f.name} {f.type_name}" for f in output.fields]
        if output.key:
            columns.append(f"PRIMARY KEY ({', '.join(output.key)}) NOT ENFORCED")
        catalog = workdir / f"{query}-postgres-catalog.sql"
        catalog.write_text(
            f"CREATE TABLE pg_sink ({', '.join(columns)}) WITH ('connector' = 'postgres', "
            "'url' = '${SQLC_KILL_PG_URL}', 'table-name' = '${SQLC_KILL_PG_TABLE}', "
            "'username' = '${SQLC_KILL_PG_USER}', 'password' = '${SQLC_KILL_PG_PASSWORD}');\n",
            encoding="utf-8")
        sql = "INSERT INTO pg_sink\n" + (ROOT / "examples" / f"{module_name}.sql").read_text(
            encoding="utf-8")
        compiled = compile_source(Source(f"{module_name}_postgres.sql", sql),
                                  [ROOT / "examples" / "catalog.sql", catalog])
        assert compiled.module and compiled.physical
        module = workdir / f"{query}-postgres.py"
        module.write_text(compiled.module, encoding="utf-8")
        env = {"SQLC_KILL_PG_URL": f"postgresql://{postgres.host}:{postgres.port}/"
                                   f"{postgres.dbname}",
               "SQLC_KILL_PG_USER": postgres.user, "SQLC_KILL_PG_PASSWORD": postgres.password,
               "SQLC_KILL_PG_TABLE": table}
        return cls(postgres, table, module, env)

    def progress(self) -> tuple[int, int | None]:
        """The rows in the table and the checkpoint its marker names (None: none yet)."""
        from runtime_lib.io.postgres_sink import MARKER_TABLE

        schema = self.table.split(".")[0]
        with self.postgres.connect() as conn:
            rows = conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0]
            marker = conn.execute(f"SELECT to_regclass('{schema}.{MARKER_TABLE}')").fetchone()[0]
            checkpoint = None if marker is None else conn.execute(
                f"SELECT max(checkpoint_id) FROM {schema}.{MARKER_TABLE}").fetchone()[0]
        return int(rows), checkpoint

    def rows(self) -> list[dict]:
        """The table's rows as the file sink writes them (timestamps as text)."""
        with self.postgres.connect() as conn:
            cursor = conn.execute(f"SELECT * FROM {self.table}")
            names = [c.name for c in cursor.description]
            return [{n: _as_json_value(v) for n, v in zip(names, row)}
                    for row in cursor.fetchall()]


def _as_json_value(value):
    """A value read from PostgreSQL in the file sink's JSON form."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _kafka_row(record, updating: bool) -> dict:
    value = json.loads(record.value) if record.value is not None else None
    if not updating:
        return value
    if value is None:  # a tombstone: the key deletes
        row = json.loads(record.key)
        row["_op"] = "-D"
        return row
    value.setdefault("_op", "+U")
    return value


def _key_of(path: Path) -> tuple[str, ...]:
    return tuple(_load(path).Query.outputs[0].key)


def _load(path: Path):
    """A generated module, imported from its file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_kill_module", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    import contextlib

    from tests.services.kafka_service import KafkaBroker
    from tests.services.postgres_service import PostgresServer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--queries", default=",".join(QUERIES))
    parser.add_argument("--sinks", default="file,kafka")
    parser.add_argument("--signal", default="KILL", choices=["KILL", "TERM"])
    parser.add_argument("--workdir", default="/tmp/sqlc-kill-test")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sig = signal.SIGKILL if args.signal == "KILL" else signal.SIGTERM
    failed = False
    sinks = args.sinks.split(",")
    unknown = set(sinks) - {"file", "kafka", "postgres"}
    if unknown:
        parser.error(f"--sinks: unknown sink {', '.join(sorted(unknown))} "
                     "(file, kafka, postgres)")
    with contextlib.ExitStack() as stack:
        kafka = stack.enter_context(KafkaBroker.from_env() or KafkaBroker.start_managed())
        postgres = (stack.enter_context(PostgresServer.from_env()) if "postgres" in sinks
                    else None)
        for query in args.queries.split(","):
            for sink in sinks:
                outcome = kill_test(kafka, workdir, query, sink, copies_for(args.events),
                                    args.kills, sig, postgres=postgres)
                print(outcome.row(), flush=True)
                failed |= bool(outcome.lost or (outcome.duplicated - outcome.aborted))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
