"""The sinks' JSON-lines encoding (``runtime_lib.io.sinks.encode_json_lines``):

    PYTHONPATH=. .venv/bin/python benchmarks/decode/bench_encode.py [--rows 500000] [--repeat 5]

Rows shaped like the filter query's output (request_id unique, model_id from
six values, a nullable DOUBLE latency, a DOUBLE cost, a TIMESTAMP(3)), encoded
in batches of 65,536; rows per CPU-second of this process, best of
``--repeat``, and the SHA-256 of the output (equal across versions: the format
did not change). Run it with another checkout on PYTHONPATH to compare.
"""

from __future__ import annotations

import argparse
import hashlib
import time

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.io.sinks import encode_json_lines
from runtime_lib.schema import Field

FIELDS = [Field("request_id", "VARCHAR", False), Field("model_id", "VARCHAR", False),
          Field("latency_ms", "DOUBLE"), Field("cost", "DOUBLE"),
          Field("event_time", "TIMESTAMP(3)")]
MODELS = ["gpt-4o", "claude-3-opus", "claude-3-haiku", "llama-3-70b", "mistral-large",
          "gemini-1.5-pro"]


def batches(n: int, size: int = 65_536) -> list[Batch]:
    rng = np.random.default_rng(1)
    out = []
    for start in range(0, n, size):
        m = min(size, n - start)
        out.append(Batch({
            "request_id": Column(np.array([f"req-{i:08d}" for i in range(start, start + m)],
                                          dtype=object)),
            "model_id": Column(np.array(MODELS, dtype=object)[rng.integers(0, 6, m)]),
            "latency_ms": Column(np.round(rng.lognormal(6.5, 0.9, m), 1), rng.random(m) > 0.05),
            "cost": Column(np.round(rng.random(m) * 0.01, 6)),
            "event_time": Column(1_762_768_800_000 + np.arange(start, start + m) * 7),
        }, m))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = batches(args.rows)
    times, digest = [], hashlib.sha256()
    for _ in range(args.repeat):
        started = time.process_time()
        encoded = [encode_json_lines(b, FIELDS) for b in data]
        times.append(time.process_time() - started)
    for chunk in encoded:
        digest.update(chunk)
    print(f"encode_json_lines: {args.rows / min(times) / 1e6:.2f} M rows/s "
          f"(best of {args.repeat}, {args.rows:,} rows), sha256 {digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
