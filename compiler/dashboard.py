"""A Grafana dashboard for one compiled query file (``sqlc dashboard`` and
``sqlc compile --dashboard``): a row per source, one per stateful operator
and one for the output and checkpoints, each panel a PromQL query over the
metrics the runtime exports (``runtime_lib.metrics.METRICS``). The operator
and source names are the generated module's own (the code generator names
them), so the dashboard needs no hand editing.

The ``job`` variable picks the Prometheus job that scrapes the pipeline's
``--metrics-port``; ``datasource`` the Prometheus data source.
"""

from __future__ import annotations

import hashlib
import json

from compiler.codegen.generator import Generator

WIDTH = 24  # Grafana's grid is 24 columns wide
HEIGHT = 7


def dashboard(compiled, title: str) -> dict:
    """The dashboard JSON (as a dict) of ``compiled`` (``driver.compile_source``)."""
    gen = Generator(compiled.analysis.source, compiled.physical)
    gen.generate()
    panels = _Panels()
    for source, execs in gen.scans.items():
        connector = dict(execs[0].logical.properties).get("connector", "")
        panels.row(f"source {source}")
        for panel in _source_panels(source, connector in ("kafka", "upsert-kafka")):
            panels.add(*panel)
    for _, operator in gen.stateful:
        panels.row(f"operator {operator}")
        for panel in _operator_panels(operator):
            panels.add(*panel)
    panels.row("output and checkpoints")
    for panel in _pipeline_panels():
        panels.add(*panel)
    return {
        "title": title,
        "uid": "sqlc-" + hashlib.sha256(title.encode()).hexdigest()[:12],
        "tags": ["sqlc"],
        "schemaVersion": 39,
        "editable": True,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus",
             "label": "Prometheus"},
            {"name": "job", "type": "query", "label": "job",
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": "label_values(sqlc_up, job)", "refresh": 1},
        ]},
        "panels": panels.panels,
    }


def render(compiled, title: str) -> str:
    """The dashboard as stable JSON text (same query, same bytes)."""
    return json.dumps(dashboard(compiled, title), indent=2, sort_keys=True) + "\n"


def _sel(**labels: str) -> str:
    """A PromQL label selector with the dashboard's job: ``{job="$job",source="x"}``."""
    parts = ['job="$job"'] + [f"{k}={json.dumps(v)}" for k, v in labels.items()]
    return "{" + ",".join(parts) + "}"


def _quantiles(metric: str, selector: str) -> list[tuple[str, str]]:
    return [(f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket{selector}[5m])))",
             f"p{int(q * 100)}") for q in (0.5, 0.99)]


def _source_panels(source: str, kafka: bool) -> list[tuple]:
    s = _sel(source=source)
    panels = [
        ("records in / s", "ops", [(f"rate(sqlc_records_in_total{s}[1m])", "records"),
                                    (f"rate(sqlc_dead_letters_total{s}[1m])", "dead letters")]),
        ("event-time lag", "s", [(f"sqlc_source_watermark_lag_seconds{s}", "watermark"),
                                 (f"sqlc_source_event_time_lag_seconds{s}", "newest event")]),
        ("micro-batch latency", "s", _quantiles("sqlc_batch_duration_seconds", s)),
    ]
    if kafka:
        panels.append(("Kafka consumer lag", "short",
                       [(f"sum by (topic, partition) (sqlc_kafka_consumer_lag{s})",
                         "{{topic}}/{{partition}}")]))
    return panels


def _operator_panels(operator: str) -> list[tuple]:
    o = _sel(operator=operator)
    return [
        ("rows / s", "ops", [(f"rate(sqlc_operator_rows_in_total{o}[1m])", "in"),
                             (f"rate(sqlc_operator_rows_out_total{o}[1m])", "out"),
                             (f"rate(sqlc_operator_late_rows_total{o}[1m])", "late")]),
        ("state rows", "short", [(f"sqlc_operator_state_rows{o}", "rows")]),
        ("state size", "bytes", [(f"sqlc_operator_state_bytes{o}", "bytes")]),
    ]


def _pipeline_panels() -> list[tuple]:
    j = _sel()
    return [
        ("result rows / s", "ops", [(f"rate(sqlc_rows_out_total{j}[1m])", "rows")]),
        ("checkpoint duration", "s", _quantiles("sqlc_checkpoint_duration_seconds", j)),
        ("checkpoint size and age", "short", [(f"sqlc_checkpoint_size_bytes{j}", "bytes"),
                                               (f"sqlc_checkpoint_age_seconds{j}", "age (s)")]),
        ("up and ready", "short", [(f"sqlc_up{j}", "up"), (f"sqlc_ready{j}", "ready")]),
    ]


class _Panels:
    """Panels laid out left to right, a new line at each row."""

    def __init__(self) -> None:
        self.panels: list[dict] = []
        self.x = self.y = 0

    def _next_id(self) -> int:
        return len(self.panels) + 1

    def row(self, title: str) -> None:
        if self.x:
            self.x, self.y = 0, self.y + HEIGHT
        self.panels.append({"type": "row", "title": title, "id": self._next_id(),
                            "collapsed": False, "gridPos": {"h": 1, "w": WIDTH, "x": 0,
                                                            "y": self.y}, "panels": []})
        self.y += 1

    def add(self, title: str, unit: str, targets: list[tuple[str, str]]) -> None:
        width = WIDTH // 4
        if self.x + width > WIDTH:
            self.x, self.y = 0, self.y + HEIGHT
        self.panels.append({
            "type": "timeseries", "title": title, "id": self._next_id(),
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": HEIGHT, "w": width, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
                        for i, (expr, legend) in enumerate(targets)],
        })
        self.x += width
