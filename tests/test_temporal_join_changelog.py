"""The event-time temporal join with a changelog table as the versioned side,
compiled and run against the real tansu broker, and from a file of changes.

``JOIN rates FOR SYSTEM_TIME AS OF o.order_time AS r ON o.k = r.k`` where
``rates`` is an upsert-kafka table (PRIMARY KEY + WATERMARK): each message is
an upsert of its key (the message key), a version valid from its event time
on; a tombstone (a null value) deletes the key. The delete's time is the
record's timestamp when the event time is ``METADATA FROM 'timestamp'``, else
(the tombstone has no value to read a time from) the time of the key's
previous row, as Flink's ChangelogNormalize emits the previous row as the
delete. A tombstone after a delete, or of a key never seen, deletes nothing.

The reference (``expected``) is a small Python model of that: per key, the
changes in arrival order become versions and deletions at their times; an
order joins the entry of its key with the highest (time, arrival) <= its time,
NULL when that is a deletion or there is none (LEFT JOIN). It is exact
whatever order the driver interleaves the topics in, because no row is behind
its own source's watermark (see test_temporal_join_compiled.py).

A run stopped mid-way (SIGTERM: a checkpoint) and restarted from its
checkpoint on the rest of the topics, writing to a Kafka sink in transactions,
gives the same rows as the reference, each once.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

ROOT = Path(__file__).resolve().parent.parent
BASE = 1_700_000_000_000
DELAY_MS = 3_000
KEYS = ["a", "b", "c"]

ORDERS = """
CREATE TABLE orders (
    oid BIGINT NOT NULL,
    k VARCHAR,
    ot BIGINT NOT NULL,
    order_time AS TO_TIMESTAMP(ot),
    WATERMARK FOR order_time AS order_time - INTERVAL '3' SECOND
) WITH ('connector' = 'kafka', 'topic' = '{orders}', 'format' = 'json',
        'scan.startup.mode' = 'earliest-offset',
        'properties.bootstrap.servers' = '${{KAFKA_BOOTSTRAP_SERVERS}}');
"""
# the versions' time: a value field (a tombstone has none), or the record timestamp
RATES = {
    "payload": """
CREATE TABLE rates (
    k VARCHAR NOT NULL,
    v BIGINT,
    vt BIGINT,
    update_time AS TO_TIMESTAMP(vt),
    WATERMARK FOR update_time AS update_time - INTERVAL '3' SECOND,
    PRIMARY KEY (k) NOT ENFORCED
) WITH ('connector' = 'upsert-kafka', 'topic' = '{rates}', 'key.format' = 'json',
        'value.format' = 'json', 'properties.bootstrap.servers' = '${{KAFKA_BOOTSTRAP_SERVERS}}');
""",
    "record-timestamp": """
CREATE TABLE rates (
    k VARCHAR NOT NULL,
    v BIGINT,
    update_time TIMESTAMP(3) METADATA FROM 'timestamp',
    WATERMARK FOR update_time AS update_time - INTERVAL '3' SECOND,
    PRIMARY KEY (k) NOT ENFORCED
) WITH ('connector' = 'upsert-kafka', 'topic' = '{rates}', 'key.format' = 'json',
        'value.format' = 'json', 'properties.bootstrap.servers' = '${{KAFKA_BOOTSTRAP_SERVERS}}');
""",
    # a 'kafka' table with a PRIMARY KEY is read the same way (its key in 'key.fields')
    "kafka-keyed": """
CREATE TABLE rates (
    k VARCHAR NOT NULL,
    v BIGINT,
    vt BIGINT,
    update_time AS TO_TIMESTAMP(vt),
    WATERMARK FOR update_time AS update_time - INTERVAL '3' SECOND,
    PRIMARY KEY (k) NOT ENFORCED
) WITH ('connector' = 'kafka', 'topic' = '{rates}', 'format' = 'json', 'key.format' = 'json',
        'key.fields' = 'k', 'properties.bootstrap.servers' = '${{KAFKA_BOOTSTRAP_SERVERS}}');
""",
}
QUERY = ("SELECT o.oid, o.k, o.ot, r.v FROM orders AS o "
         "LEFT JOIN rates FOR SYSTEM_TIME AS OF o.order_time AS r ON o.k = r.k;\n")


def times(rng: random.Random, n: int) -> list[int]:
    """Event times in arrival order, each within the delay of the highest
    before it (never behind its source's watermark), ties included."""
    out, high = [], BASE
    for _ in range(n):
        t = high - DELAY_MS + 1000 * rng.randint(1, 5)
        high = max(high, t)
        out.append(t)
    return out


def make_rates(rng: random.Random, n: int, own_time: float) -> list[dict]:
    """Changes: {"k", "t", "v"} upserts and {"k", "t", "v": None, "own"}
    tombstones, ``own`` (with probability ``own_time``) when the delete has a
    time of its own (``v`` is a version's id, so that the output names the
    version joined).

    A tombstone without its own time deletes from its key's previous row's
    time, which may be behind the watermark by the time it arrives: stream
    rows emitted before then keep the version (no retraction, as in Flink), so
    the result would depend on when the driver reads what. To keep the
    reference exact, such a tombstone is only drawn while its key's previous
    row is not behind the versions' watermark (else the change is an upsert)."""
    out, last, high = [], {}, None
    for i, t in enumerate(times(rng, n)):
        k = rng.choice(KEYS)
        change = {"k": k, "t": t, "v": i}
        if rng.random() < 0.3:
            own = rng.random() < own_time
            prev = last.get(k)
            if own or prev is None or prev[1] is None or prev[0] > high - DELAY_MS:
                change = {"k": k, "t": t, "v": None, "own": own}
        high = t if high is None else max(high, t)
        last[k] = (t, change["v"])
        out.append(change)
    return out


def make_orders(rng: random.Random, n: int) -> list[dict]:
    return [{"oid": i, "k": rng.choice(KEYS + ["d", None]), "ot": t}
            for i, t in enumerate(times(rng, n))]


def expected(rates: list[dict], orders: list[dict]) -> list[tuple]:
    """The rows of the LEFT temporal join (see the module docstring)."""
    entries: dict[str, list[tuple[int, int, int | None]]] = {}  # key -> (time, arrival, v)
    last: dict[str, tuple[int, int | None]] = {}  # key -> its last change (time, v)
    for arrival, change in enumerate(rates):
        k, t, v = change["k"], change["t"], change["v"]
        if v is None and not change["own"]:  # a tombstone without a time
            prev = last.get(k)
            if prev is None or prev[1] is None:
                continue  # deletes nothing: the key has no row
            t = prev[0]
        entries.setdefault(k, []).append((t, arrival, v))
        last[k] = (t, v)
    out = []
    for o in orders:
        found = [e for e in entries.get(o["k"], []) if e[0] <= o["ot"]]
        v = max(found)[2] if found else None
        out.append((o["oid"], o["k"], o["ot"], v))
    return sorted(out, key=lambda r: r[0])


def produce_rates(kafka, topic: str, rates: list[dict], own_time: bool) -> None:
    for r in rates:
        value = None if r["v"] is None else (
            {"k": r["k"], "v": r["v"]} if own_time else {"k": r["k"], "v": r["v"], "vt": r["t"]})
        kafka.produce(topic, [value], key=json.dumps({"k": r["k"]}), partition=0,
                      timestamp=r["t"])


def compiled(tmp_path: Path, variant: str, orders_topic: str, rates_topic: str) -> Path:
    sql = ORDERS.format(orders=orders_topic) + RATES[variant].format(rates=rates_topic) + QUERY
    result = compile_source(Source("q.sql", sql), [])
    assert result.module, result
    assert 'changelog_key=("k",)' in result.module
    path = tmp_path / "q.py"
    path.write_text(result.module, encoding="utf-8")
    return path


def rows_of(records) -> list[tuple]:
    out = [json.loads(r.value) for r in records]
    return sorted(((r["oid"], r["k"], _ms(r["ot"]), r["v"]) for r in out), key=lambda r: r[0])


def _ms(value) -> int:
    return value if isinstance(value, int) else int(value)


@pytest.mark.parametrize("variant", ["payload", "record-timestamp", "kafka-keyed"])
def test_upsert_kafka_versions_with_tombstones(kafka_broker, tmp_path, variant):
    """One bounded run over both topics gives the reference's rows."""
    own_time = variant == "record-timestamp"
    rng = random.Random(13 + own_time)
    rates, orders = make_rates(rng, 80, float(own_time)), make_orders(rng, 80)
    rates_topic = kafka_broker.create_topic(kafka_broker.unique_topic("rates"), 1)
    orders_topic = kafka_broker.create_topic(kafka_broker.unique_topic("orders"), 1)
    produce_rates(kafka_broker, rates_topic, rates, own_time)
    kafka_broker.produce(orders_topic, orders, partition=0)
    module = compiled(tmp_path, variant, orders_topic, rates_topic)
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--until-end", "--quiet", "--bootstrap", kafka_broker.bootstrap,
                               "--output", str(out)]) == 0
    got = sorted(((r["oid"], r["k"], r["ot"], r["v"]) for r in map(
        json.loads, out.read_text().splitlines())), key=lambda r: r[0])
    want = expected(rates, orders)
    assert [g[0] for g in got] == [w[0] for w in want]
    assert [(g[0], g[3]) for g in got] == [(w[0], w[3]) for w in want]
    assert sum(1 for r in rates if r["v"] is None) >= 10  # the tombstones were exercised
    assert any(w[3] is None and w[1] in KEYS for w in want)  # some order sees a deletion


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_restart_from_a_checkpoint_gives_the_same_rows(kafka_broker, tmp_path, sig):
    """Stopped mid-way (SIGTERM takes a checkpoint; SIGKILL leaves the last
    periodic one and an open transaction) and restarted from the checkpoint on
    the rest of the topics, into a Kafka sink in transactions: each row once,
    the reference's."""
    rng = random.Random(29)
    rates, orders = make_rates(rng, 120, 0.0), make_orders(rng, 120)
    rates_topic = kafka_broker.create_topic(kafka_broker.unique_topic("rates"), 1)
    orders_topic = kafka_broker.create_topic(kafka_broker.unique_topic("orders"), 1)
    out_topic = kafka_broker.create_topic(kafka_broker.unique_topic("joined"), 1)
    module = compiled(tmp_path, "payload", orders_topic, rates_topic)
    checkpoints = tmp_path / "checkpoints"
    args = ["--quiet", "--bootstrap", kafka_broker.bootstrap, "--sink", f"kafka:{out_topic}",
            "--checkpoint-dir", str(checkpoints), "--checkpoint-interval", "200 ms"]
    produce_rates(kafka_broker, rates_topic, rates[:60], False)
    kafka_broker.produce(orders_topic, orders[:60], partition=0)
    log = tmp_path / "first.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, str(module), *args], stdout=subprocess.DEVNULL,
                                stderr=err, env=_env())
        try:
            deadline = time.monotonic() + 60
            while len(kafka_broker.consume_all(out_topic, isolation_level="read_committed",
                                               timeout=1)) < 10:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        finally:
            proc.send_signal(sig)
            assert proc.wait(60) == (0 if sig == signal.SIGTERM else -sig), log.read_text()
    first = rows_of(kafka_broker.consume_all(out_topic, isolation_level="read_committed"))
    assert 10 <= len(first) < 60  # stopped mid-way: rows still held
    produce_rates(kafka_broker, rates_topic, rates[60:], False)
    kafka_broker.produce(orders_topic, orders[60:], partition=0)
    assert run_module(module, [*args, "--until-end"]) == 0
    got = rows_of(kafka_broker.consume_all(out_topic, isolation_level="read_committed"))
    want = expected(rates, orders)
    assert [g[0] for g in got] == [w[0] for w in want]  # each order once
    assert [(g[0], g[3]) for g in got] == [(w[0], w[3]) for w in want]


def _env() -> dict:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# -- a file of changes ('changelog.op-field') -------------------------------------------

FILE_SQL = """
CREATE TABLE orders (
    oid BIGINT NOT NULL, k VARCHAR, ot BIGINT NOT NULL,
    order_time AS TO_TIMESTAMP(ot),
    WATERMARK FOR order_time AS order_time - INTERVAL '3' SECOND
) WITH ('connector' = 'filesystem', 'path' = '{dir}/orders.jsonl', 'format' = 'json');
CREATE TABLE rates (
    k VARCHAR NOT NULL, v BIGINT, vt BIGINT,
    update_time AS TO_TIMESTAMP(vt),
    WATERMARK FOR update_time AS update_time - INTERVAL '3' SECOND,
    PRIMARY KEY (k) NOT ENFORCED
) WITH ('connector' = 'filesystem', 'path' = '{dir}/rates.jsonl', 'format' = 'json',
        'changelog.op-field' = 'op');
""" + QUERY


@pytest.mark.parametrize("batch_size", [1, 7, 65536])
def test_file_of_changes_as_versions(tmp_path, batch_size):
    """A -D line with its own time deletes from that time; one without a time
    takes its key's previous row's; -U lines are skipped (the +U after is the
    version)."""
    rng = random.Random(7)
    rates = make_rates(rng, 60, 0.5)
    lines = []
    for r in rates:
        if r["v"] is None:  # with its own time, or not
            lines.append({"op": "-D", "k": r["k"], **({"vt": r["t"]} if r["own"] else {})})
        else:
            if rng.random() < 0.3:
                lines.append({"op": "-U", "k": r["k"], "v": -1, "vt": r["t"]})
            lines.append({"op": "+U" if rng.random() < 0.5 else "+I", "k": r["k"], "v": r["v"],
                          "vt": r["t"]})
    orders = make_orders(rng, 60)
    (tmp_path / "rates.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (tmp_path / "orders.jsonl").write_text("".join(json.dumps(x) + "\n" for x in orders))
    result = compile_source(Source("q.sql", FILE_SQL.format(dir=tmp_path)), [])
    assert result.module and 'op_field="op"' in result.module
    module = tmp_path / "q.py"
    module.write_text(result.module, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--quiet", "--output", str(out),
                               "--batch-size", str(batch_size)]) == 0
    got = sorted((r["oid"], r["v"]) for r in map(json.loads, out.read_text().splitlines()))
    want = [(w[0], w[3]) for w in expected(rates, orders)]
    assert got == want


# -- the operator alone: any interleaving and batching --------------------------------


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), own_time=st.sampled_from([0.0, 0.5, 1.0]),
       sizes=st.lists(st.integers(1, 9), min_size=1, max_size=6))
def test_operator_matches_the_reference_whatever_the_batches(seed, own_time, sizes):
    """The TemporalJoin fed the changes and orders interleaved at random, in
    batches of the drawn sizes, advanced to the join's watermark after each
    batch (so versions are freed and tombstones find their key's previous
    row in state), gives the reference's rows."""
    import numpy as np

    from runtime_lib.columns import Batch, Column, column_from_pylist
    from runtime_lib.operators.joins import TemporalJoin
    from runtime_lib.watermarks import WM_MAX, WM_MIN

    rng = random.Random(seed)
    rates, orders = make_rates(rng, 40, own_time), make_orders(rng, 40)
    join = TemporalJoin(kind="LEFT", key_kinds=["O"], left_names=["oid", "k", "ot"],
                        right_names=["r_k", "v", "t"], left_kinds=["i", "O", "i"],
                        right_kinds=["O", "i", "i"], changelog=True)
    out: list[tuple] = []
    high = {"r": WM_MIN, "o": WM_MIN}

    def join_watermark() -> int:
        if WM_MIN in high.values():
            return WM_MIN
        return min(high.values()) - DELAY_MS

    queues = {"r": list(rates), "o": list(orders)}
    step = 0
    while queues["r"] or queues["o"]:
        side = rng.choice([s for s in queues if queues[s]])
        take, queues[side] = (queues[side][:sizes[step % len(sizes)]],
                              queues[side][sizes[step % len(sizes)]:])
        step += 1
        if side == "r":
            timed = [c["v"] is not None or c["own"] for c in take]
            t = Column(np.array([c["t"] if ok else 0 for c, ok in zip(take, timed)], np.int64),
                       np.array(timed))
            batch = Batch({"r_k": column_from_pylist([c["k"] for c in take], "O"),
                           "v": column_from_pylist([c["v"] for c in take], "i"), "t": t},
                          len(take), ops=np.array(["+U" if c["v"] is not None else "-D"
                                                   for c in take], object))
            join.process_right([batch["r_k"]], batch["t"], batch)
            high["r"] = max([high["r"], *(c["t"] for c, ok in zip(take, timed) if ok)])
        else:
            batch = Batch({"oid": column_from_pylist([o["oid"] for o in take], "i"),
                           "k": column_from_pylist([o["k"] for o in take], "O"),
                           "ot": column_from_pylist([o["ot"] for o in take], "i")}, len(take))
            joined, late = join.process_left([batch["k"]], batch["ot"].values, batch,
                                             watermark_before=join_watermark())
            assert not len(late)
            out += joined.to_rows()
            high["o"] = max([high["o"], *(o["ot"] for o in take)])
        out += join.advance(join_watermark()).to_rows()
    out += join.advance(WM_MAX).to_rows()
    got = sorted((row[0], row[4]) for row in out)
    assert got == [(w[0], w[3]) for w in expected(rates, orders)]


def test_a_tombstone_after_an_older_version_arrived_last_deletes_from_that_ones_time():
    """Of a key's versions at 20 (arrived first) and 15 (arrived last), once the
    watermark is past both, a tombstone's previous row is the one at 15: the
    delete covers [15, 20), and a row at 30 still joins the version at 20 (the
    join keeps each key's last change to arrive for this, though the version
    at 15 can no longer be valid for any row)."""
    import numpy as np

    from runtime_lib.columns import Batch, Column, column_from_pylist
    from runtime_lib.operators.joins import TemporalJoin

    join = TemporalJoin(kind="LEFT", key_kinds=["O"], left_names=["k", "ot"],
                        right_names=["r_k", "v", "t"], left_kinds=["O", "i"],
                        right_kinds=["O", "i", "i"], changelog=True)

    def changes(vs, ts, ops):
        valid = np.array([t is not None for t in ts])
        return Batch({"r_k": column_from_pylist(["a"] * len(vs), "O"),
                      "v": column_from_pylist(vs, "i"),
                      "t": Column(np.array([t or 0 for t in ts], np.int64), valid)},
                     len(vs), ops=np.array(ops, object))

    first = changes([1, 2], [20, 15], ["+U", "+U"])
    join.process_right([first["r_k"]], first["t"], first)
    join.advance(25)
    tombstone = changes([None], [None], ["-D"])
    join.process_right([tombstone["r_k"]], tombstone["t"], tombstone)
    left = Batch({"k": column_from_pylist(["a"], "O"), "ot": column_from_pylist([30], "i")}, 1)
    join.process_left([left["k"]], left["ot"].values, left, watermark_before=25)
    assert join.advance(100).to_rows() == [("a", 30, "a", 1, 20)]


def test_state_ttl_on_changelog_versions_warns_at_its_property():
    """'state.ttl' keeps a lookup table's entries; a temporal join's versions
    are freed by the watermark, so the property is said not to apply, at it."""
    sql = (ORDERS.format(orders="o") + RATES["payload"].format(rates="r").replace(
        "'value.format' = 'json',", "'value.format' = 'json', 'state.ttl' = '1 h',") + QUERY)
    result = compile_source(Source("q.sql", sql), [])
    assert result.module
    warnings = [d for d in result.analysis.warnings if "'state.ttl'" in d.message]
    assert len(warnings) == 1, result.analysis.warnings
    assert Source("q.sql", sql).fragment(warnings[0].span) == "'state.ttl' = '1 h'"
