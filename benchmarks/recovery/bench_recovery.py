"""Recovery time: from a restart to the first new output row, with N events
of state in open windows, after SIGKILL (spec RTO under 60 s; target 5 s).

    .venv/bin/python benchmarks/recovery/bench_recovery.py --events 1000000

The query holds every event: a 1-day TUMBLE per model with exact percentiles
(PERCENTILE_CONT keeps every value), plus a stateless filter on the same
stream, written by its own INSERT-less SELECT into the output file. The first
run reads the file and is killed once a checkpoint holding ~N events exists;
the restart is timed: process start -> "resumed from checkpoint" (imports,
reading the checkpoint, restoring) -> the first new row in the output file.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SQL = """
SELECT model_id, window_start, COUNT(*) AS requests, AVG(latency_ms) AS avg_latency,
       PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency
FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' DAY))
GROUP BY model_id, window_start
EMIT CHANGES;
"""


def main() -> None:
    from tests.exactly_once import copies_for, scaled

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sqlc-bench-rto-"))
    data = work / "events.jsonl"
    rows = scaled("llm_requests", copies_for(args.events))
    with data.open("w") as handle:
        for row in rows:
            row["timestamp_ms"] = 1_762_732_800_000 + (row["timestamp_ms"] % 86_000_000)
            handle.write(json.dumps(row) + "\n")  # one day: every window stays open
    query = work / "rto.sql"
    query.write_text(SQL)
    module = work / "rto.py"
    subprocess.run([sys.executable, "-m", "compiler.cli", "compile", str(query), "--catalog",
                    str(ROOT / "examples" / "catalog.sql"), "-o", str(module)], check=True,
                   cwd=ROOT)
    out, checkpoints = work / "out.jsonl", work / "checkpoints"
    cmd = [sys.executable, str(module), "--input", f"llm_requests={data}", "--output", str(out),
           "--checkpoint-dir", str(checkpoints), "--checkpoint-interval", "200ms",
           "--batch-size", "10000"]
    first = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    while True:  # kill once a checkpoint holds half of the input or more
        time.sleep(0.05)
        done = sorted(checkpoints.glob("chk-*/MANIFEST.json"))
        if done:
            line = json.loads(done[-1].read_text())["positions"]["llm_requests"]["line"]
            if line >= 0.5 * len(rows):
                break
        if first.poll() is not None:
            raise SystemExit("the first run ended before it could be killed: use more --events")
    first.send_signal(signal.SIGKILL)
    first.wait()
    size = sum(f.stat().st_size for f in checkpoints.rglob("*") if f.is_file()) / 1e6
    length = out.stat().st_size
    began = time.monotonic()
    restart = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    resumed = None
    for message in restart.stderr:
        if "resumed from checkpoint" in message:
            resumed = time.monotonic() - began
            break
    while out.stat().st_size <= length and restart.poll() is None:
        time.sleep(0.005)
    first_row = time.monotonic() - began
    restart.communicate()
    print(f"{len(rows):,} events, checkpoint at line {line:,} ({size:.1f} MB on disk, "
          f"{len(done)} checkpoint(s)): restart -> resumed {resumed:.2f} s, -> first new row "
          f"{first_row:.2f} s")


if __name__ == "__main__":
    main()
