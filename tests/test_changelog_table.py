"""FR-DDL-002's changelog mode: a lookup table given as a file of changes
(+I/+U upsert, -D delete, in order) is joined by key with the table's current
rows: an updated model gets its new price, a deleted one none."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source
from runtime_lib.columns import Batch, column_from_pylist
from runtime_lib.io.tables import KafkaTable
from runtime_lib.operators.lookup_join import LookupJoin
from runtime_lib.schema import Field

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"


def test_lookup_join_on_a_file_of_changes(tmp_path: Path) -> None:
    changes = tmp_path / "prices.jsonl"
    changes.write_text("\n".join(json.dumps(c) for c in [
        {"op": "+I", "model_id": "gpt-4o", "price": 1.0},
        {"op": "+I", "model_id": "claude-3-opus", "price": 2.0},
        {"op": "+U", "model_id": "gpt-4o", "price": 1.5},
        {"op": "-D", "model_id": "claude-3-opus", "price": 2.0},
    ]) + "\n", encoding="utf-8")
    catalog = tmp_path / "catalog.sql"
    catalog.write_text((ROOT / "examples" / "catalog.sql").read_text() + f"""
CREATE TABLE prices (
    model_id VARCHAR, price DOUBLE, PRIMARY KEY (model_id) NOT ENFORCED
) WITH ('connector' = 'file', 'path' = '{changes}', 'changelog.op-field' = 'op',
        'state.ttl' = '1 h');
""", encoding="utf-8")
    sql = ("SELECT r.request_id, r.model_id, p.price FROM llm_requests r "
           "LEFT JOIN prices p ON r.model_id = p.model_id")
    module = tmp_path / "q.py"
    module.write_text(compile_source(Source("q.sql", sql), [str(catalog)]).module or "")
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--input", f"llm_requests={DATA / 'llm_requests.jsonl'}",
                               "--output", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4998
    prices = {(r["model_id"], r["price"]) for r in rows}
    assert ("gpt-4o", 1.5) in prices and ("gpt-4o", 1.0) not in prices
    assert {p for m, p in prices if m == "claude-3-opus"} == {None}
    assert {p for m, p in prices if m not in ("gpt-4o", "claude-3-opus")} == {None}



def test_changelog_table_is_kept_by_its_primary_key_alone(tmp_path: Path) -> None:
    """An ON condition with more than the key (here the region) looks the row up
    by the primary key and checks the rest after: a change that moves a model
    to another region replaces its row instead of adding a second one."""
    changes = tmp_path / "prices.jsonl"
    changes.write_text("".join(json.dumps(c) + "\n" for c in [
        {"op": "+I", "model_id": "gpt-4o", "region": "us-east", "price": 1.0},
        {"op": "+U", "model_id": "gpt-4o", "region": "eu-west", "price": 2.0},
    ]), encoding="utf-8")
    catalog = tmp_path / "catalog.sql"
    catalog.write_text((ROOT / "examples" / "catalog.sql").read_text() + f"""
CREATE TABLE prices (
    model_id VARCHAR, region VARCHAR, price DOUBLE, PRIMARY KEY (model_id) NOT ENFORCED
) WITH ('connector' = 'file', 'path' = '{changes}', 'changelog.op-field' = 'op');
""", encoding="utf-8")
    sql = ("SELECT r.request_id, r.model_id, r.region, p.price FROM llm_requests r "
           "LEFT JOIN prices p ON r.model_id = p.model_id AND r.region = p.region")
    module = tmp_path / "q.py"
    module.write_text(compile_source(Source("q.sql", sql), [str(catalog)]).module or "")
    assert 'key=("model_id",)' in module.read_text()
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--input", f"llm_requests={DATA / 'llm_requests.jsonl'}",
                               "--output", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    prices = {(r["model_id"], r["region"], r["price"]) for r in rows if r["model_id"] == "gpt-4o"}
    assert ("gpt-4o", "eu-west", 2.0) in prices and ("gpt-4o", "us-east", None) in prices
    assert {p for _, region, p in prices if region != "eu-west"} == {None}


# --------------------------------------------------------------------------
# A table fed from a Kafka compacted topic (upsert-kafka semantics)

KAFKA_PRICES = """
CREATE TABLE prices (
    model_id VARCHAR, price DOUBLE, PRIMARY KEY (model_id) NOT ENFORCED
) WITH ('connector' = 'kafka', 'topic' = '${SQLC_PRICES_TOPIC}', 'format' = 'json',
        'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
        'changelog.op-field' = 'op', 'state.ttl' = '1 h',
        'dead-letter.topic' = '${SQLC_DLQ_TOPIC}');
"""

# (message key, value) in topic order; a key goes to one partition, so its
# changes keep their order. None is a tombstone.
CHANGES = [
    ("gpt-4o", {"op": "+I", "model_id": "gpt-4o", "price": 1.0}),
    ("claude-3-opus", {"op": "+I", "model_id": "claude-3-opus", "price": 2.0}),
    ("llama-3-70b", {"op": "+I", "model_id": "llama-3-70b", "price": 0.5}),
    ("mistral-large", {"op": "+I", "model_id": "mistral-large", "price": 0.7}),
    ("gpt-4o", {"op": "-U", "model_id": "gpt-4o", "price": 1.0}),
    ("gpt-4o", {"op": "+U", "model_id": "gpt-4o", "price": 1.5}),
    ("claude-3-opus", {"op": "-D", "model_id": "claude-3-opus", "price": 2.0}),
    ("mistral-large", None),  # a tombstone deletes the key of its message key
    ("gpt-4o", b'{"op": "+U", "model_id": "gpt-4o", "price": '),  # truncated: a dead letter
    ("x", {"op": "+U", "price": 3.0}),  # no key: a dead letter
    ("gemini-1.5-pro", {"op": "?", "model_id": "gemini-1.5-pro", "price": 9.0}),  # bad kind
]


def produce_changes(broker, topic: str, changes) -> list[tuple[int, int]]:
    """Each change with its JSON message key ({"model_id": ...}), as upsert-kafka writes it."""
    return broker.produce(topic, [v if v is None or isinstance(v, bytes) else json.dumps(v)
                                  for _, v in changes],
                          key=[json.dumps({"model_id": k}) for k, _ in changes])


def test_lookup_join_on_a_kafka_changelog_topic(kafka_broker, monkeypatch, tmp_path: Path,
                                                capsys) -> None:
    topic = kafka_broker.create_topic(kafka_broker.unique_topic("prices"), 3)
    dlq = kafka_broker.create_topic(kafka_broker.unique_topic("prices-dlq"), 1)
    where = produce_changes(kafka_broker, topic, CHANGES)
    for name, value in [("KAFKA_BOOTSTRAP_SERVERS", kafka_broker.bootstrap),
                        ("SQLC_PRICES_TOPIC", topic), ("SQLC_DLQ_TOPIC", dlq)]:
        monkeypatch.setenv(name, value)
    catalog = tmp_path / "catalog.sql"
    catalog.write_text((ROOT / "examples" / "catalog.sql").read_text() + KAFKA_PRICES,
                       encoding="utf-8")
    sql = ("SELECT r.request_id, r.model_id, p.price FROM llm_requests r "
           "LEFT JOIN prices FOR SYSTEM_TIME AS OF r.proc_time AS p ON r.model_id = p.model_id")
    module = tmp_path / "q.py"
    module.write_text(compile_source(Source("q.sql", sql), [str(catalog)]).module or "")
    assert "${KAFKA_BOOTSTRAP_SERVERS}" in module.read_text()  # resolved at start, not compiled in
    out = tmp_path / "out.jsonl"
    requests = ["--input", f"llm_requests={DATA / 'llm_requests.jsonl'}", "--quiet"]
    assert run_module(module, [*requests, "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4998
    price = {m: p for _, m, p in ((r["request_id"], r["model_id"], r["price"]) for r in rows)}
    assert price == {"gpt-4o": 1.5, "llama-3-70b": 0.5, "claude-3-opus": None,
                     "mistral-large": None, "gemini-1.5-pro": None, "claude-3-haiku": None,
                     "gpt-4o-mini": None}
    assert len({(r["model_id"], r["price"]) for r in rows}) == len(price)  # one price per model

    # the load is announced; the bad messages are shown with their origin, and
    # written to the table's dead-letter topic with the reason
    err = capsys.readouterr().err
    assert f"table prices: loading topic {topic} from the earliest offset" in err
    assert "loaded 2 rows from 11 messages (3 bad)" in err
    bad = {where[i] for i in (8, 9, 10)}
    for partition, offset in bad:
        assert f"topic {topic} partition {partition} offset {offset} skipped" in err
    letters = kafka_broker.consume_all(dlq)
    origin = {(int(h["sqlc.source.partition"]), int(h["sqlc.source.offset"])): h
              for h in ({k: v.decode() for k, v in r.headers} for r in letters)}
    assert set(origin) == bad
    assert {h["sqlc.source.topic"] for h in origin.values()} == {topic}
    reasons = sorted(h["sqlc.error.reason"] for h in origin.values())
    assert "malformed JSON" in reasons[2] and "model_id" in reasons[1] and "'op' is '?'" in reasons[0]

    # --input replaces the Kafka table with a file of the same changes (no broker needed)
    changes = tmp_path / "prices.jsonl"
    changes.write_text("".join(json.dumps(v if v is not None else
                                          {"op": "-D", "model_id": k}) + "\n"
                               for k, v in CHANGES[:8]), encoding="utf-8")
    from_file = tmp_path / "from_file.jsonl"
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS")
    assert run_module(module, [*requests, "--input", f"prices={changes}",
                               "--output", str(from_file)]) == 0
    assert from_file.read_text() == out.read_text()


def test_kafka_table_follows_its_topic_while_running(kafka_broker) -> None:
    """The runtime objects step by step, on an upsert-kafka topic (key columns in
    the message key, the others in the value): the first lookup waits for the
    topic's end; changes produced later are applied before the lookups of the
    micro-batches after they arrive; 'state.ttl' drops entries by an injected
    clock; a bad message is counted and reading goes on."""
    topic = kafka_broker.create_topic(kafka_broker.unique_topic("prices"), 3)

    def produce(changes: dict) -> None:
        kafka_broker.produce(topic, [v if v is None or isinstance(v, bytes) else json.dumps(v)
                                     for v in changes.values()],
                             key=[json.dumps({"model_id": k[0]}) for k in changes])

    produce({"a": {"price": 1.0}, "b": {"price": 2.0}, "d": {"price": 4.0}})
    now = [0]
    log = io.StringIO()
    table = KafkaTable("prices", [Field("model_id", "VARCHAR", False), Field("price", "DOUBLE")],
                       ["model_id"], {"connector": "upsert-kafka", "topic": topic,
                                      "key.format": "json", "value.format": "json",
                                      "properties.bootstrap.servers": kafka_broker.bootstrap},
                       state_ttl_ms=60_000, clock=lambda: now[0], log=log)
    join = LookupJoin(kind="LEFT", table=table, key_kinds=["O"], table_names=["p_model", "price"])
    stream = Batch({"model_id": column_from_pylist(["a", "b", "c", "d"], "O")}, 4)

    def micro_batch() -> list:
        return [row[-1] for row in join.process([stream["model_id"]], stream).to_rows()]

    assert micro_batch() == [1.0, 2.0, None, 4.0]  # the whole topic, before the first lookup
    assert "loading topic" in log.getvalue() and "loaded 3 rows from 3 messages" in log.getvalue()

    now[0] = 30_000
    read = table.source.records_read
    # the second 'a' does not decode: 'a' keeps 1.5 (one key, one partition, in order)
    produce({"a": {"price": 1.5}, "b": None, "c": {"price": 3.0}, "a2": b"not json"})
    seen = []
    deadline = time.monotonic() + 10.0
    while table.source.records_read < read + 4:  # micro-batches until the 4 messages arrived
        assert time.monotonic() < deadline, "the changes did not arrive within 10 s"
        seen.append(micro_batch())
        time.sleep(0.002)
    assert micro_batch() == [1.5, None, 3.0, 4.0]
    for a, b, c, d in seen:  # each micro-batch saw each key before or after its change
        assert a in (1.0, 1.5) and b in (2.0, None) and c in (None, 3.0) and d == 4.0
    assert table.dead_letters == 1
    assert f"bad message in topic {topic} partition" in log.getvalue()

    now[0] = 60_000  # 'd' was written at 0: expired; 'a' and 'c' at 30 s: kept
    assert micro_batch() == [1.5, None, 3.0, None] and len(table) == 2
    now[0] = 90_000
    assert micro_batch() == [None, None, None, None] and len(table) == 0
    table.close()
