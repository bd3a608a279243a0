"""A generated pipeline's operations surface (runtime_lib.metrics, monitor,
progress): Prometheus metrics scraped over HTTP from a real running process
and checked against what it was fed, /healthz and /readyz, JSON-lines logs,
the progress bar on a terminal (and its absence elsewhere), and that nothing
of it runs without the flags."""

from __future__ import annotations

import json
import os
import pty
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.polling import wait_for
from tests.services._proc import free_port

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "generated"
EVENTS = ROOT / "examples" / "data" / "bad_llm_requests.jsonl"
T0 = 1_762_769_000_000  # 2025-11-10T10:03:20Z, epoch ms



def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """Every sample: (name, sorted labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    _, text = get(port, "/metrics")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}



def start(module: str, *flags: str, cwd: Path, **popen) -> subprocess.Popen:
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, str(GENERATED / f"{module}.py"), *flags],
                            cwd=cwd, env=dict(os.environ, PYTHONPATH=str(ROOT)), **popen)


def requests(n: int, models=("gpt-4o", "claude-3")) -> list[dict]:
    """n requests, 1 s apart in event time, models alternating."""
    return [{"request_id": f"r{i}", "model_id": models[i % len(models)],
             "timestamp_ms": T0 + 1000 * i} for i in range(n)]


def test_scraped_metrics_match_what_a_kafka_pipeline_was_fed(kafka_broker, tmp_path: Path):
    topic = kafka_broker.create_topic(kafka_broker.unique_topic("metrics"), 2)
    good = requests(40)
    bad = ["{not json", '{"model_id": "x", "timestamp_ms": "soon"}']
    kafka_broker.produce(topic, good[:20], partition=0)
    kafka_broker.produce(topic, good[20:] + bad, partition=1)
    port = free_port()
    proc = start("q01_request_rate", "--input", f"llm_requests=kafka:{topic}",
                 "--bootstrap", kafka_broker.bootstrap, "--output", str(tmp_path / "out.jsonl"),
                 "--dead-letter", str(tmp_path / "dead.jsonl"),
                 "--checkpoint-dir", str(tmp_path / "chk"), "--checkpoint-interval", "300ms",
                 "--metrics-port", str(port), "--metrics-host", "127.0.0.1", cwd=tmp_path)
    try:
        # liveness is answered while the pipeline starts; readiness once it reads
        wait_for(lambda: _answers(port), what="the metrics port")
        wait_for(lambda: get(port, "/readyz")[0] == 200, what="readiness")
        assert get(port, "/healthz")[0] == 200
        source = (("source", "llm_requests"),)
        fed = len(good) + len(bad)
        found = wait_for(lambda: (m := scrape(port)).get(("sqlc_records_in_total", source)) == fed
                         and m.get(("sqlc_checkpoints_total", ())) and m, what="all records")
        assert found[("sqlc_dead_letters_total", source)] == len(bad)
        assert found[("sqlc_ready", ())] == 1
        op = (("operator", "window_aggregate"),)
        assert found[("sqlc_operator_rows_in_total", op)] == len(good)
        assert found[("sqlc_operator_late_rows_total", op)] == 0
        # the per-source watermark: the lowest partition's newest event - 30 s
        lowest = min(good[19]["timestamp_ms"], good[39]["timestamp_ms"])
        assert found[("sqlc_source_watermark_seconds", source)] == (lowest - 30_000) / 1000
        assert found[("sqlc_source_watermark_lag_seconds", source)] > 0
        assert found[("sqlc_checkpoint_size_bytes", ())] > 0
        assert found[("sqlc_batch_duration_seconds_count", source)] >= 1
        # caught up: no lag on either partition (read fully, bad records included)
        # (refreshed once a second: at first it may still show what was fed, 20 and 22)
        lag = wait_for(lambda: (found := {k: v for k, v in scrape(port).items()
                                          if k[0] == "sqlc_kafka_consumer_lag"})
                       and set(found.values()) == {0} and found, what="no lag")
        assert sorted(dict(k[1])["partition"] for k in lag) == ["0", "1"]
        # state: both models' open windows (the watermark has fired none yet... or some)
        state = wait_for(lambda: scrape(port).get(("sqlc_operator_state_rows", op)),
                         what="state size")
        assert state >= 1
        # more events: the counters move by exactly that many
        kafka_broker.produce(topic, requests(45)[40:], partition=0)
        wait_for(lambda: scrape(port).get(("sqlc_records_in_total", source)) == fed + 5,
                 what="5 more records")
        # EMIT CHANGES: every row written is counted once, by the operator and the output
        final = scrape(port)
        assert final[("sqlc_operator_rows_out_total", op)] == final[("sqlc_rows_out_total", ())]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    rows = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(rows) == final[("sqlc_rows_out_total", ())]


def _answers(port: int) -> bool:
    try:
        return get(port, "/healthz")[0] == 200
    except OSError:
        return False


def test_json_logs_are_one_object_a_line(tmp_path: Path):
    proc = start("s02_failed_requests", "--input", f"llm_requests={EVENTS}",
                 "--output", str(tmp_path / "out.jsonl"), "--log-format", "json", cwd=tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    records = [json.loads(line) for line in err.decode().splitlines()]
    assert records and all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
    summary = [r for r in records if r.get("event") == "summary"]
    assert len(summary) == 1
    fed = sum(1 for line in EVENTS.read_text().splitlines() if line.strip())
    assert summary[0]["records_in"] == fed
    written = len((tmp_path / "out.jsonl").read_text().splitlines())
    assert summary[0]["rows_out"] == written
    assert summary[0]["dead_letters"] == len(
        (tmp_path / "out.jsonl.dead-letter.jsonl").read_text().splitlines())


def test_a_taken_metrics_port_is_a_clear_error(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = start("s02_failed_requests", "--input", f"llm_requests={EVENTS}",
                     "--metrics-port", str(port), "--metrics-host", "127.0.0.1", cwd=tmp_path,
                     stdout=subprocess.DEVNULL)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    text = err.decode()
    assert f"--metrics-port {port}" in text and "Traceback" not in text


def test_nothing_runs_without_the_flags(tmp_path: Path):
    """Zero cost: no prometheus_client, no rich, no extra thread."""
    code = (
        "import sys, threading\n"
        "sys.argv = ['q', '--input', 'llm_requests=' + sys.argv[1], '--output', 'out.jsonl']\n"
        "from runtime_lib.pipeline import run\n"
        "import generated.s02_failed_requests as q\n"
        "names = []\n"
        "import runtime_lib.driver as d\n"
        "real = d.drive\n"
        "def spy(*a, **k):\n"
        "    names.append(k['monitor'])\n"
        "    names.extend(t.name for t in threading.enumerate() if t.name.startswith('sqlc'))\n"
        "    return real(*a, **k)\n"
        "d.drive = spy\n"
        "assert run(q.Query) == 0\n"
        "assert names == [None], names\n"
        "assert 'prometheus_client' not in sys.modules and 'rich' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(EVENTS)], check=False, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()


def _run_on_terminal(tmp_path: Path, *flags: str) -> str:
    """stderr on a pseudo-terminal, rows to a file; returns what the terminal got."""
    leader, follower = pty.openpty()
    proc = start("s02_failed_requests", "--input", f"llm_requests={EVENTS}", "--batch-size",
                 "1", "--output", str(tmp_path / "out.jsonl"), *flags, cwd=tmp_path,
                 stderr=follower, stdout=subprocess.DEVNULL)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=120)
    os.close(leader)
    assert proc.returncode == 0, seen.decode(errors="replace")
    return seen.decode(errors="replace")


def test_progress_bar_on_a_terminal_only(tmp_path: Path):
    shown = _run_on_terminal(tmp_path)
    assert "events" in shown and "event time 2025-11-10" in shown and "/s" in shown
    assert "events" not in _run_on_terminal(tmp_path, "--no-progress")
    proc = start("s02_failed_requests", "--input", f"llm_requests={EVENTS}",
                 "--output", str(tmp_path / "out.jsonl"), cwd=tmp_path)
    _, err = proc.communicate(timeout=120)
    assert "\x1b" not in err.decode() and "event time" not in err.decode()


def test_state_size_counts_rows_and_bytes():
    import numpy as np

    from runtime_lib.metrics import state_size

    assert state_size({}) == (0, 0)
    assert state_size({"k": ["ab", None], "v": np.zeros(3, np.int64), "n": 1}) == (3, 2 + 8 + 24 + 8)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_endpoints_answer_before_attach(path: str):
    from runtime_lib.metrics import Metrics

    metrics = Metrics("q", 0, "127.0.0.1")
    port = metrics.serve()
    try:
        status, body = get(port, path)
        assert status == (503 if path == "/readyz" else 200)
        if path == "/metrics":
            assert "sqlc_up" in body and "sqlc_ready 0.0" in body
    finally:
        metrics.close()
