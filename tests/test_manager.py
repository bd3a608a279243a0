"""``sqlc serve`` and its verbs against real processes: a manager process, its
pipelines (each a process), a real Kafka broker. Lifecycle SUBMITTED ->
RUNNING -> PAUSED -> RUNNING -> CANCELLED with nothing lost or duplicated
in the output, a restarted manager taking its pipelines up again, bounded
runs COMPLETED, failures kept with their reason and retried with backoff,
bad SQL refused with its position, and the token rule off loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from compiler.manager.http import ClientError, call
from tests.polling import wait_for
from tests.services._proc import free_port

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "examples" / "data" / "llm_requests.jsonl"
SQL = "SELECT request_id, model_id FROM llm_requests;\n"
T0 = 1_762_769_000_000



def sqlc(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


@contextmanager
def manager(state: Path, *flags: str):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "compiler.cli", "serve", "--state-dir", str(state), "--port",
         str(port), *flags], cwd=ROOT, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(url), what="the manager")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def _up(url: str) -> bool:
    try:
        return call(url, "GET", "/healthz", timeout=2) == {"status": "ok"}
    except ClientError:
        return False



def state_of(url: str, name: str, wanted: str):
    def check():
        found = call(url, "GET", f"/queries/{name}")
        return found if found["state"] == wanted else None

    return wait_for(check, what=f"{name} {wanted}")


def ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["request_id"] for line in path.read_text().splitlines()]


def feed(kafka, topic: str, first: int, n: int) -> None:
    kafka.produce(topic, [{"request_id": f"r{i}", "model_id": "m", "timestamp_ms": T0 + i}
                          for i in range(first, first + n)])


def test_lifecycle_with_a_kafka_pipeline(kafka_broker, tmp_path: Path):
    topic = kafka_broker.create_topic(kafka_broker.unique_topic("manager"), 1)
    out = tmp_path / "out.jsonl"
    sql = tmp_path / "q.sql"
    sql.write_text(SQL)
    feed(kafka_broker, topic, 0, 10)
    with manager(tmp_path / "state") as url:
        given = sqlc("submit", "feed", str(sql), "--manager", url, "--input",
                     f"llm_requests=kafka:{topic}", "--bootstrap", kafka_broker.bootstrap,
                     "--output", str(out))
        assert given.returncode == 0, given.stderr
        assert json.loads(given.stdout)["state"] in ("SUBMITTED", "RUNNING")
        state_of(url, "feed", "RUNNING")
        wait_for(lambda: len(ids(out)) == 10, what="10 rows")
        listed = wait_for(lambda: [q for q in call(url, "GET", "/queries")
                                   if q.get("records_in") == 10], what="numbers in list")
        assert listed[0]["name"] == "feed" and listed[0]["uptime_s"] >= 0
        table = sqlc("list", "--manager", url)
        assert table.returncode == 0 and "feed" in table.stdout and "RUNNING" in table.stdout
        # pause: the process goes (a savepoint), nothing more is read
        assert sqlc("pause", "feed", "--manager", url).returncode == 0
        paused = state_of(url, "feed", "PAUSED")
        assert paused["pid"] is None
        feed(kafka_broker, topic, 10, 5)
        time.sleep(1.5)
        assert len(ids(out)) == 10
        # resume: from the savepoint, the 5 new rows and nothing twice
        assert sqlc("resume", "feed", "--manager", url).returncode == 0
        state_of(url, "feed", "RUNNING")
        wait_for(lambda: len(ids(out)) >= 15, what="15 rows")
    # the manager stopped (its pipeline with a savepoint) and starts again
    with manager(tmp_path / "state") as url:
        state_of(url, "feed", "RUNNING")
        feed(kafka_broker, topic, 15, 5)
        wait_for(lambda: len(ids(out)) >= 20, what="20 rows")
        described = sqlc("describe", "feed", "--manager", url)
        assert described.returncode == 0 and "SELECT request_id" in described.stdout
        # an upgrade the old state does not fit (another query: it reads another
        # source) is refused before anything stops
        other = tmp_path / "other.sql"
        other.write_text("SELECT request_id FROM error_events;\n")
        refused = sqlc("upgrade", "feed", str(other), "--manager", url)
        assert refused.returncode == 2 and "refused, nothing was stopped" in refused.stderr
        assert "it read the sources llm_requests" in refused.stderr
        assert call(url, "GET", "/queries/feed")["state"] == "RUNNING"
        # the same SQL with other flags: goes on from the savepoint
        upgraded = sqlc("upgrade", "feed", str(sql), "--manager", url, "--input",
                        f"llm_requests=kafka:{topic}", "--bootstrap", kafka_broker.bootstrap,
                        "--output", str(out), "--batch-size", "7")
        assert upgraded.returncode == 0, upgraded.stderr
        answer = json.loads(upgraded.stdout)
        assert answer["state"] == "RUNNING" and answer["gap_s"] > 0
        assert answer["args"][-2:] == ["--batch-size", "7"]
        feed(kafka_broker, topic, 20, 5)
        wait_for(lambda: len(ids(out)) >= 25, what="25 rows")
        assert sqlc("stop", "feed", "--manager", url).returncode == 0
        stopped = state_of(url, "feed", "CANCELLED")
        assert stopped["pid"] is None
        refused = sqlc("resume", "feed", "--manager", url)
        assert refused.returncode == 2 and "CANCELLED" in refused.stderr
    assert ids(out) == [f"r{i}" for i in range(25)]


COUNTS = "SELECT request_id, COUNT(*) AS n FROM llm_requests GROUP BY request_id;\n"
#: a compatible edit: the projection after the aggregate changed, its state did not
COUNTS_V2 = ("SELECT request_id, COUNT(*) * 10 AS n10, 'v2' AS version FROM llm_requests "
             "GROUP BY request_id;\n")


def changelog(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_upgrade_with_a_compatible_edit_carries_the_state_over(kafka_broker, tmp_path: Path):
    """The new version stands by, warm, beside the old one; then the old one's
    final checkpoint goes on in the new one: the counts go on (a key seen
    before the upgrade is an update after it), nothing is lost, nothing twice
    (the file sink is cut back to each checkpoint)."""
    topic = kafka_broker.create_topic(kafka_broker.unique_topic("upgrade"), 1)
    out = tmp_path / "out.jsonl"
    (tmp_path / "v1.sql").write_text(COUNTS)
    (tmp_path / "v2.sql").write_text(COUNTS_V2)
    feed(kafka_broker, topic, 0, 10)
    with manager(tmp_path / "state") as url:
        assert sqlc("submit", "counts", str(tmp_path / "v1.sql"), "--manager", url, "--input",
                    f"llm_requests=kafka:{topic}", "--bootstrap", kafka_broker.bootstrap,
                    "--output", str(out)).returncode == 0
        state_of(url, "counts", "RUNNING")
        wait_for(lambda: len(changelog(out)) == 10, what="10 rows")
        # a new version that does not start (a bad flag): refused, the old one runs on
        pid = call(url, "GET", "/queries/counts")["pid"]
        refused = sqlc("upgrade", "counts", str(tmp_path / "v2.sql"), "--manager", url,
                       "--batch-size", "zero")
        assert refused.returncode == 2 and "nothing was stopped" in refused.stderr
        assert "--batch-size" in refused.stderr
        kept = call(url, "GET", "/queries/counts")
        assert (kept["state"], kept["pid"], kept["upgraded_at"]) == ("RUNNING", pid, None)
        feed(kafka_broker, topic, 10, 10)  # read by the old version or the new one
        upgraded = sqlc("upgrade", "counts", str(tmp_path / "v2.sql"), "--manager", url)
        assert upgraded.returncode == 0, upgraded.stderr
        answer = json.loads(upgraded.stdout)
        assert answer["state"] == "RUNNING" and answer["upgraded_at"] is not None
        assert answer["warmup_s"] > 0 and answer["gap_s"] > 0
        assert "COUNT(*) * 10" in call(url, "GET", "/queries/counts")["sql"]
        feed(kafka_broker, topic, 5, 5)  # keys of before the upgrade: counted on
        feed(kafka_broker, topic, 20, 5)
        wait_for(lambda: len(changelog(out)) >= 35, what="35 changes")
        time.sleep(1.5)  # nothing more comes
        assert sqlc("stop", "counts", "--manager", url).returncode == 0
        state_of(url, "counts", "CANCELLED")
    rows = changelog(out)
    inserted = [r["request_id"] for r in rows if r["_op"] == "+I"]
    assert sorted(inserted) == sorted(f"r{i}" for i in range(25))  # each key once
    updates = [(r["_op"], r["request_id"], r["n10"], r["version"]) for r in rows
               if r["_op"] in ("-U", "+U")]
    assert sorted(updates) == sorted([("-U", f"r{i}", 10, "v2") for i in range(5, 10)]
                                     + [("+U", f"r{i}", 20, "v2") for i in range(5, 10)])
    assert len(rows) == 35
    assert {r.get("version") for r in rows[-10:]} == {"v2"}  # the new version wrote last


def test_bounded_failed_and_bad_sql(tmp_path: Path):
    sql = tmp_path / "q.sql"
    sql.write_text(SQL)
    out = tmp_path / "out.jsonl"
    with manager(tmp_path / "state", "--max-restarts", "2", "--backoff", "0.2") as url:
        assert sqlc("submit", "once", str(sql), "--manager", url, "--input",
                    f"llm_requests={EVENTS}", "--output", str(out)).returncode == 0
        done = state_of(url, "once", "COMPLETED")
        assert done["exit_code"] == 0
        assert len(ids(out)) == sum(1 for line in EVENTS.read_text().splitlines() if line)
        # exit code 1 (Kafka unreachable): restarted twice, then FAILED with the reason
        assert sqlc("submit", "nokafka", str(sql), "--manager", url, "--input",
                    "llm_requests=kafka:x", "--bootstrap", "127.0.0.1:1",
                    "--connect-timeout", "0.3").returncode == 0
        failed = state_of(url, "nokafka", "FAILED")
        assert failed["restarts"] == 2 and failed["exit_code"] == 1
        assert failed["last_error"].startswith("exit code 1: ")
        # exit code 2 (a bad flag): FAILED at once, with the reason
        assert sqlc("submit", "badflag", str(sql), "--manager", url,
                    "--batch-size", "zero").returncode == 0
        bad = state_of(url, "badflag", "FAILED")
        assert bad["restarts"] == 0 and "--batch-size" in bad["last_error"]
        # bad SQL: refused with its position, nothing registered
        (tmp_path / "bad.sql").write_text("SELECT nope FROM llm_requests;\n")
        refused = sqlc("submit", "bad", str(tmp_path / "bad.sql"), "--manager", url)
        assert refused.returncode == 2 and "bad.sql:1:8" in refused.stderr
        names = [q["name"] for q in call(url, "GET", "/queries")]
        assert names == ["badflag", "nokafka", "once"]
        with pytest.raises(ClientError) as error:
            call(url, "POST", "/queries", {"name": "x", "sql": SQL,
                                           "args": ["--checkpoint-dir", "/tmp/x"]})
        assert error.value.status == 400


def test_off_loopback_needs_a_token(tmp_path: Path):
    refused = sqlc("serve", "--state-dir", str(tmp_path / "s"), "--host", "0.0.0.0",
                   "--port", str(free_port()))
    assert refused.returncode == 2 and "--token" in refused.stderr
    with manager(tmp_path / "state", "--host", "0.0.0.0", "--token", "s3cret") as url:
        assert call(url, "GET", "/queries") == []
        with pytest.raises(ClientError) as error:
            call(url, "POST", "/queries", {"name": "x", "sql": SQL})
        assert error.value.status == 401
        with pytest.raises(ClientError) as error:
            call(url, "POST", "/queries/x/stop", token="wrong")
        assert error.value.status == 401
        with pytest.raises(ClientError) as error:  # the right token: now it is about x
            call(url, "POST", "/queries/x/stop", token="s3cret")
        assert error.value.status == 404


def test_unreachable_manager_is_exit_1():
    found = sqlc("list", "--manager", f"http://127.0.0.1:{free_port()}")
    assert found.returncode == 1 and "is `sqlc serve` running?" in found.stderr


def test_project_queries_run_with_their_flags(tmp_path: Path):
    """``sqlc serve --project``: each [tool.sqlc] query under its file's name,
    with its flags from [tool.sqlc.serve.args]."""
    (tmp_path / "catalog.sql").write_text((ROOT / "examples" / "catalog.sql").read_text())
    (tmp_path / "ids.sql").write_text(SQL)
    out = tmp_path / "out.jsonl"
    (tmp_path / "pyproject.toml").write_text(
        '[tool.sqlc]\ncatalog = ["catalog.sql"]\nsources = ["ids.sql"]\n\n'
        "[tool.sqlc.serve.args]\n"
        f'ids = ["--input", "llm_requests={EVENTS}", "--output", "{out}"]\n')
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "compiler.cli", "serve", "--project", "--state-dir", "state",
         "--port", str(port)], cwd=tmp_path, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(url), what="the manager")
        done = state_of(url, "ids", "COMPLETED")
        assert done["origin"] == "ids.sql"
        assert len(ids(out)) == sum(1 for line in EVENTS.read_text().splitlines() if line)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
