"""``sqlc dashboard`` / ``sqlc compile --dashboard``: a Grafana dashboard whose
panels name only metrics the runtime exports (``runtime_lib.metrics.METRICS``)
and exactly the generated module's sources and operators, checked against a
real scrape of the runtime's registry attached to the generated query."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.dashboard import dashboard
from compiler.driver import compile_source, read_source
from runtime_lib.metrics import METRICS, Metrics
from runtime_lib.pipeline import Context, Counters
from runtime_lib.state import operators_of

ROOT = Path(__file__).resolve().parent.parent
CATALOG = [str(ROOT / "examples" / "catalog.sql")]
# a window aggregate, a join of two streams, OVER, and a stateless query
QUERIES = ["q01_request_rate", "fr_join_002_stream_stream", "fr_dql_006_over_window",
           "s02_failed_requests"]
# series that exist only once data or a checkpoint came (not at attach)
NEED_DATA = {"sqlc_source_watermark_lag_seconds", "sqlc_source_event_time_lag_seconds",
             "sqlc_kafka_consumer_lag", "sqlc_checkpoint_size_bytes",
             "sqlc_checkpoint_age_seconds", "sqlc_checkpoint_duration_seconds"}
HISTOGRAM_PARTS = ("_bucket", "_count", "_sum")


def _compiled(name: str):
    path = ROOT / "examples" / f"{name}.sql"
    return compile_source(read_source(path), CATALOG, f"examples/{name}.sql")


def _targets(board: dict) -> list[str]:
    return [t["expr"] for p in board["panels"] if p["type"] != "row" for t in p["targets"]]


def _metric(expr: str) -> str:
    name = re.search(r"\b(sqlc_[a-z_]+)\{", expr).group(1)
    for part in HISTOGRAM_PARTS:
        if name.endswith(part) and name.removesuffix(part) in METRICS:
            return name.removesuffix(part)
    return name


def _labels(expr: str, key: str) -> set[str]:
    return set(re.findall(rf'{key}="([^"]+)"', expr))


@pytest.mark.parametrize("name", QUERIES)
def test_dashboard_structure(name: str):
    board = dashboard(_compiled(name), f"sqlc {name}")
    assert board["title"] == f"sqlc {name}" and board["uid"].startswith("sqlc-")
    assert {v["name"] for v in board["templating"]["list"]} == {"datasource", "job"}
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        if panel["type"] == "row":
            continue
        assert panel["type"] == "timeseries" and panel["targets"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert 'job="$job"' in target["expr"]
    # no two panels overlap
    cells = set()
    for panel in board["panels"]:
        g = panel["gridPos"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, panel["title"]
        cells |= mine


@pytest.mark.parametrize("name", QUERIES)
def test_every_panel_metric_is_exported_for_the_modules_operators(name: str):
    board = dashboard(_compiled(name), name)
    exprs = _targets(board)
    assert {_metric(e) for e in exprs} <= set(METRICS)
    module = importlib.import_module(f"generated.{name}")
    pipeline = module.Query(Context([], None, None, Counters()))
    operators = set(operators_of(pipeline))
    sources = {s.name for s in module.Query.sources}
    assert set().union(*(_labels(e, "operator") for e in exprs)) == operators
    assert set().union(*(_labels(e, "source") for e in exprs)) == sources
    # what the runtime's registry exports for this very query, before any data
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    metrics = Metrics(name, 0)
    metrics.attach(pipeline, dict.fromkeys(sources), {}, {})
    samples = {(s.name, tuple(sorted(s.labels.items())))
               for family in text_string_to_metric_families(
                   generate_latest(metrics.registry).decode())
               for s in family.samples}
    exported = {(n, dict(labels).get("operator") or dict(labels).get("source"))
                for n, labels in samples}
    for expr in exprs:
        metric = _metric(expr)
        if metric in NEED_DATA:
            continue
        label = next(iter(_labels(expr, "operator") | _labels(expr, "source")), None)
        names = {metric} if METRICS[metric][0] != "histogram" else {metric + "_count"}
        assert any((n, label) in exported for n in names), (metric, label)


def test_cli_writes_the_dashboard(tmp_path: Path):
    out, module = tmp_path / "q01.json", tmp_path / "q01.py"
    proc = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "compile", "examples/q01_request_rate.sql",
         "-o", str(module), "--dashboard", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == dashboard(_compiled("q01_request_rate"),
                                                    "sqlc q01_request_rate")
    printed = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "dashboard", "examples/q01_request_rate.sql"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert printed.returncode == 0 and printed.stdout == out.read_text()
    refused = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "compile", "--dashboard", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2 and "--dashboard needs a FILE.sql" in refused.stderr
