"""Run a generated pipeline module with timing probes, for latency_breakdown.py:

    SQLC_TRACE_FILE=trace.json python benchmarks/kafka/trace_run.py MODULE.py [ARGS...]

The runtime is not changed: the probes wrap ``KafkaSource.read`` (when each
``consume`` returned, how many records, their oldest and newest CreateTime),
``KafkaSink.write`` (when each batch was handed to the producer) and add a
``gc.callbacks`` hook (each collection's generation and pause).
``SQLC_TRACE_PRODUCER`` / ``SQLC_TRACE_CONSUMER`` (JSON objects) change the
runtime's client defaults for the run; ``SQLC_TRACE_PROFILE=FILE`` writes a
cProfile of it. At exit the
records go to ``SQLC_TRACE_FILE`` as JSON (times: ``time.time()`` seconds, so
that they compare with the producer's and the consumer's clocks).
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import runpy
import sys
import time
from pathlib import Path

# the runtime comes from PYTHONPATH (latency_breakdown.py --runtime compares two)
from runtime_lib.io.kafka import sink as kafka_sink
from runtime_lib.io.kafka import source as kafka_source

reads: list[tuple[float, float, int, int, int]] = []  # (entered, returned, n, ts min, ts max)
writes: list[tuple[float, float, int]] = []  # (entered, returned, rows)
collections: list[tuple[int, float, float]] = []  # (generation, started, seconds)
_gc_started = [0.0]


def _on_gc(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        collections.append((info["generation"], time.time(),
                            time.perf_counter() - _gc_started[0]))


_chunk = kafka_source.KafkaSource._chunk
_read = kafka_source.KafkaSource.read
_write = kafka_sink.KafkaSink.write
_entered = [0.0]


def traced_chunk(self, messages):
    returned = time.time()
    stamps = [m.timestamp()[1] for m in messages if m.error() is None]
    if stamps:
        reads.append((_entered[0], returned, len(stamps), min(stamps), max(stamps)))
    return _chunk(self, messages)


def traced_read(self, timeout=0.1):
    _entered[0] = time.time()
    return _read(self, timeout)


def traced_write(self, batch, ops=None):
    entered = time.time()
    _write(self, batch, ops)
    writes.append((entered, time.time(), batch.num_rows))


def dump() -> None:
    target = os.environ.get("SQLC_TRACE_FILE")
    if target:
        Path(target).write_text(json.dumps({"reads": reads, "writes": writes,
                                            "gc": collections}))


# client settings to try, merged into the runtime's defaults (JSON objects)
from runtime_lib.io.kafka import client as kafka_client

kafka_client.PRODUCER_DEFAULTS.update(json.loads(os.environ.get("SQLC_TRACE_PRODUCER", "{}")))
kafka_client.CONSUMER_DEFAULTS.update(json.loads(os.environ.get("SQLC_TRACE_CONSUMER", "{}")))

kafka_source.KafkaSource._chunk = traced_chunk
kafka_source.KafkaSource.read = traced_read
kafka_sink.KafkaSink.write = traced_write
gc.callbacks.append(_on_gc)
atexit.register(dump)

if __name__ == "__main__":
    module = sys.argv[1]
    sys.argv = sys.argv[1:]
    profile = os.environ.get("SQLC_TRACE_PROFILE")  # a cProfile of the whole run, to this file
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        atexit.register(lambda: profiler.dump_stats(profile))
        profiler.enable()
    runpy.run_path(module, run_name="__main__")
