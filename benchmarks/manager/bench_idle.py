"""100 idle registered queries under ``sqlc serve``: memory per query and the
manager's responsiveness (API latency of list and describe), running and
paused, on a real Kafka broker (tansu, as in tests/services):

    .venv/bin/python benchmarks/manager/bench_idle.py [--queries 100]

Each query reads an empty topic (so it is idle: running, nothing to read) and
is submitted over the HTTP API of a ``sqlc serve`` process. Memory is each
pipeline process's RSS and USS (the pages only it holds: what it costs beyond
the shared libraries), read with psutil. Then every query is paused (a paused
query holds no process) and the API is timed again, and one query is resumed
to show what a resume pays (the pipeline's start-up).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from compiler.manager.http import ClientError, call
from tests.services import KafkaBroker
from tests.services._proc import free_port

SQL = "SELECT request_id, model_id FROM llm_requests;\n"


def latency(url: str, paths: list[str], rounds: int) -> str:
    times = []
    for n in range(rounds):
        began = time.perf_counter()
        call(url, "GET", paths[n % len(paths)])
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    return (f"p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
            f"max {times[-1]:.1f} ms ({rounds} requests)")


def wait_all(url: str, state: str, n: int, timeout: float) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        queries = call(url, "GET", "/queries")
        if sum(q["state"] == state for q in queries) == n:
            return time.perf_counter() - began
        time.sleep(0.5)
    states = {q["name"]: q["state"] for q in call(url, "GET", "/queries")}
    raise SystemExit(f"not all {state} after {timeout} s: {states}")


def memory(pids: list[int]) -> tuple[float, float]:
    """Mean RSS and USS (MB) of the processes."""
    rss, uss = [], []
    for pid in pids:
        info = psutil.Process(pid).memory_full_info()
        rss.append(info.rss / 1e6)
        uss.append(info.uss / 1e6)
    return statistics.mean(rss), statistics.mean(uss)


def cpu(pids: list[int], seconds: float = 10.0) -> float:
    """Their CPU time over ``seconds`` of wall clock, in % of one core."""
    processes = [psutil.Process(p) for p in pids]
    before = [sum(p.cpu_times()[:2]) for p in processes]
    time.sleep(seconds)
    after = [sum(p.cpu_times()[:2]) for p in processes]
    return 100 * (sum(after) - sum(before)) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    n = args.queries
    with KafkaBroker.start_managed() as kafka, tempfile.TemporaryDirectory() as tmp:
        topic = kafka.create_topic(kafka.unique_topic("idle"), 1)
        port = free_port()
        serve = subprocess.Popen(
            [sys.executable, "-m", "compiler.cli", "serve", "--state-dir", f"{tmp}/state",
             "--port", str(port)], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        url = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    call(url, "GET", "/healthz", timeout=2)
                    break
                except ClientError:
                    time.sleep(0.2)
            began = time.perf_counter()
            for i in range(n):
                call(url, "POST", "/queries", {"name": f"idle{i:03d}", "sql": SQL, "args": [
                    "--input", f"llm_requests=kafka:{topic}", "--bootstrap", kafka.bootstrap,
                    "--output", f"{tmp}/out{i}.jsonl"]})
            print(f"{n} queries submitted (compiled) in {time.perf_counter() - began:.1f} s")
            print(f"all RUNNING {wait_all(url, 'RUNNING', n, 900):.1f} s later")
            time.sleep(5)  # settled
            pids = [q["pid"] for q in call(url, "GET", "/queries")]
            rss, uss = memory(pids)
            manager_rss = psutil.Process(serve.pid).memory_info().rss / 1e6
            print(f"per running query: RSS {rss:.0f} MB, USS {uss:.0f} MB "
                  f"(all {n}: USS {uss * n / 1000:.2f} GB); the manager: RSS {manager_rss:.0f} MB")
            print(f"idle CPU of the {n} pipelines: {cpu(pids):.0f}% of one core; the manager "
                  f"{cpu([serve.pid]):.0f}%")
            names = [f"/queries/idle{i:03d}" for i in range(n)]
            print("running, list:     " + latency(url, ["/queries"], 100))
            print("running, describe: " + latency(url, names, 200))
            began = time.perf_counter()
            for i in range(n):
                call(url, "POST", f"/queries/idle{i:03d}/pause")
            print(f"all PAUSED {wait_all(url, 'PAUSED', n, 900):.1f} s after the first pause "
                  f"was asked ({time.perf_counter() - began:.1f} s in all)")
            manager_rss = psutil.Process(serve.pid).memory_info().rss / 1e6
            print(f"paused: no pipeline process; the manager RSS {manager_rss:.0f} MB")
            print("paused, list:      " + latency(url, ["/queries"], 100))
            print("paused, describe:  " + latency(url, names, 200))
            began = time.perf_counter()
            call(url, "POST", "/queries/idle000/resume")
            while call(url, "GET", "/queries/idle000")["state"] != "RUNNING":
                time.sleep(0.05)
            print(f"a resume: RUNNING again {time.perf_counter() - began:.2f} s later "
                  "(the pipeline's start-up)")
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=600)


if __name__ == "__main__":
    main()
