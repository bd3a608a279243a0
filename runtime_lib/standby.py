"""``--standby FILE``: the new version of a query starts while the old one
still runs, and takes over only when told (an upgrade without the start-up
in the output gap, ``sqlc upgrade`` or docs/guides/operations.md by hand)::

    new version:  import, parse flags, metrics port, connect Kafka, compile kernels
                  -- standing by -- (FILE appears) restore, open outputs, run
    old version:  ...running... SIGTERM: final checkpoint, exit

Standing by, it holds nothing the old version uses: its outputs are not
opened (a file sink is cut back to the checkpoint on opening, a
transactional Kafka producer would fence the old one's) and the checkpoint
directory is not read, so the old version's final checkpoint is the one it
restores. It says so on stderr and as ``sqlc_standby 1`` on its metrics port.
A SIGTERM while it stands by ends it cleanly (exit 0, nothing read), as any
stop while starting; so does its parent going away (a manager that died
mid-upgrade leaves no process waiting for ever).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

POLL_S = 0.02


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--standby", metavar="FILE",
                        help="start, connect and compile, then wait until FILE exists before "
                             "restoring the newest checkpoint and opening the outputs (an "
                             "upgrade: stop the old version once this one stands by, then "
                             "create FILE)")


def stand_by(path: str, query, metrics) -> None:
    """Warm up, then return once ``path`` exists; raises ``StopRequested`` (by
    the run's signal handler, or here when the parent went) to stop instead."""
    from runtime_lib.stopping import StopRequested

    began = time.perf_counter()
    warm_up(query)
    if metrics is not None:
        metrics.standby = True
    print(f"sqlc: standing by ({time.perf_counter() - began:.1f} s to warm up): waiting for "
          f"{path}", file=sys.stderr, flush=True)
    parent = os.getppid()
    while not os.path.exists(path):
        if os.getppid() != parent:
            raise StopRequested
        time.sleep(POLL_S)
    if metrics is not None:
        metrics.standby = False
    print("sqlc: taking over", file=sys.stderr, flush=True)


def warm_up(query) -> None:
    """Compile (or load from numba's cache) the kernels of the query's
    operators on a twin of the pipeline, so that no batch after the takeover
    waits for them. Best effort: the real pipeline, built after the takeover,
    reports whatever is wrong."""
    from runtime_lib.pipeline import Context, Counters
    from runtime_lib.state import operators_of

    try:
        twin = query(Context([], None, None, Counters()))
        for operator in operators_of(twin).values():
            warmup = getattr(operator, "warmup", None)
            if warmup is not None:
                warmup()
    except Exception:  # noqa: BLE001 -- warming is an optimisation, never the error
        return
