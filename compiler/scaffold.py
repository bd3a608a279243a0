"""``sqlc init DIR``: a new sqlc project that passes ``sqlc compile --check``
and ``sqlc test`` as soon as it is made::

    DIR/pyproject.toml                    [tool.sqlc]: catalog, sources, out_dir
    DIR/catalog.sql                       the streams (a Kafka topic of JSON events)
    DIR/queries/requests_per_minute.sql   one windowed query
    DIR/queries/requests_per_minute.test.yaml   its fixture test
    DIR/generated/requests_per_minute.py  its generated module (checked in)
    DIR/.github/workflows/sqlc.yml        CI: compile --check, vet, test, state vs the base branch
"""

from __future__ import annotations

from pathlib import Path

PYPROJECT = """\
[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["sqlc-streaming"]  # the runtime the generated modules import

[tool.sqlc]
# `sqlc compile` compiles these into out_dir; `sqlc compile --check` (CI) verifies them.
catalog = ["catalog.sql"]
sources = ["queries/*.sql"]
out_dir = "generated"
"""

CATALOG = """\
-- The streams and tables the queries read. ${NAME} is read from the
-- environment when a pipeline starts; it never becomes part of generated code.
CREATE STREAM requests (
    request_id VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL,
    latency_ms DOUBLE,
    timestamp_ms BIGINT NOT NULL,   -- event time, epoch milliseconds (UTC)
    event_time AS TO_TIMESTAMP(timestamp_ms),
    WATERMARK FOR event_time AS event_time - INTERVAL '30' SECONDS
) WITH (
    'connector' = 'kafka',
    'topic' = 'requests',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'scan.startup.mode' = 'earliest-offset',
    'scan.watermark.idle-timeout' = '30 s'   -- an empty partition does not hold windows back
);
"""

QUERY = """\
-- Requests and average latency per model and minute, once the minute is complete.
SELECT
    model_id,
    window_start,
    COUNT(*) AS requests,
    AVG(latency_ms) AS avg_latency_ms
FROM TABLE(TUMBLE(TABLE requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY model_id, window_start;
"""

TEST = """\
# `sqlc test` runs this offline; the format is described in sqlc's README.
tests:
  - name: two models in the first minute, one in the next
    given:
      requests:
        - {request_id: r1, model_id: small, latency_ms: 100.0, timestamp_ms: 2025-01-01 10:00:05}
        - {request_id: r2, model_id: small, latency_ms: 300.0, timestamp_ms: 2025-01-01 10:00:40}
        - {request_id: r3, model_id: large, latency_ms: null, timestamp_ms: 2025-01-01 10:00:50}
        - {request_id: r4, model_id: small, latency_ms: 50.0, timestamp_ms: 2025-01-01 10:01:10}
    expect:
      rows:
        - {model_id: small, window_start: 2025-01-01 10:00:00, requests: 2, avg_latency_ms: 200.0}
        - {model_id: large, window_start: 2025-01-01 10:00:00, requests: 1, avg_latency_ms: null}
        - {model_id: small, window_start: 2025-01-01 10:01:00, requests: 1, avg_latency_ms: 50.0}
"""

WORKFLOW = """\
name: sqlc
on: [push, pull_request]
jobs:
  pipelines:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {python-version: "3.11"}
      - run: pip install 'sqlc-streaming[compiler]'
      - run: sqlc compile --check   # the checked-in modules are what the SQL compiles to
      - run: sqlc vet               # streaming mistakes (unbounded state, ...)
      - run: sqlc test              # the queries' fixture tests
      # on pull requests, also: state of the running pipelines survives the change
      - if: github.event_name == 'pull_request'
        run: |
          git fetch --depth=1 origin ${{ github.base_ref }}
          sqlc compile --check --against FETCH_HEAD
"""


class ScaffoldError(Exception):
    """DIR cannot hold a new project (exit 2)."""


def init_project(directory: Path) -> list[Path]:
    """Write a new project into ``directory`` (absent or empty); the files written."""
    from compiler.driver import compile_source, read_source

    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ScaffoldError(f"{directory}: exists and is not an empty directory")
    name = directory.resolve().name.lower().replace("_", "-") or "pipelines"
    files = {
        "pyproject.toml": PYPROJECT.format(name=name),
        "catalog.sql": CATALOG,
        "queries/requests_per_minute.sql": QUERY,
        "queries/requests_per_minute.test.yaml": TEST,
        ".github/workflows/sqlc.yml": WORKFLOW,
    }
    written = []
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    query = directory / "queries/requests_per_minute.sql"
    compiled = compile_source(read_source(str(query)), [str(directory / "catalog.sql")],
                              "queries/requests_per_minute.sql")
    module = directory / "generated/requests_per_minute.py"
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(compiled.module, encoding="utf-8")
    return [*written, module]
