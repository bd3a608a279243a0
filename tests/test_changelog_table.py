"""FR-DDL-002's changelog mode: a lookup table given as a file of changes
(+I/+U upsert, -D delete, in order) is joined by key with the table's current
rows: an updated model gets its new price, a deleted one none."""

from __future__ import annotations

import json
from pathlib import Path

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

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
