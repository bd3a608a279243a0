"""State is bounded by watermark progress, not by stream length: 10 million
events through a TUMBLE aggregate keep open windows and RSS flat.
Runs in the normal suite (about 10-20 s); select alone with ``-m memory``."""

from __future__ import annotations

import numpy as np
import pytest

from runtime_lib.columns import Column
from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.windows import Tumble, WindowAggregate
from runtime_lib.watermarks import Watermarks


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def stream(op, n_total, batch, key_fn, seed=0):
    rng = np.random.default_rng(seed)
    wm = Watermarks(bound_ms=5_000)
    t0 = 1_700_000_000_000
    samples = []
    for b in range(n_total // batch):
        base = t0 + b * batch * 2  # about 500 events per second of event time
        ts = base + np.arange(batch) * 2 - rng.integers(0, 5_000, batch)
        keys = key_fn(b, rng, batch, ts)
        before, cur = wm.observe(0, ts)
        op.process(keys=[keys], ts=ts, watermark_before=before, args=[Column(rng.gamma(2.0, 300.0, batch))])
        op.advance(cur)
        samples.append((b, op.state_slots, len(op.keys), rss_mb()))
    op.advance(wm.finish())
    return samples


AGGS = [Agg("count_star"), Agg("avg", arg=0), Agg("sum", arg=0), Agg("max", arg=0),
        Agg("percentile_cont", arg=0, param=0.95)]


@pytest.mark.memory
def test_tumble_10m_events_flat_memory():
    op = WindowAggregate(window=Tumble(60_000), key_kinds=["O"], arg_kinds=["f"], aggs=AGGS)
    names = np.array([f"model-{i}" for i in range(100)], dtype=object)
    samples = stream(op, 10_000_000, 100_000, lambda b, rng, n, ts: Column(names[rng.integers(0, 100, n)]))
    slots = [s[1] for s in samples]
    rss = [s[3] for s in samples]
    assert max(slots) <= 100 * 3  # keys x (open windows: current, previous within the bound, next)
    warm = rss[len(rss) // 5]
    assert max(rss[len(rss) // 5:]) - warm < 40, (warm, max(rss))  # MB; 10M events would be > 300 MB
    assert op.state_slots == 0


@pytest.mark.memory
def test_churning_keys_do_not_grow_the_dictionary():
    """Keys that live for one window only (request ids): dictionaries are compacted."""
    op = WindowAggregate(window=Tumble(10_000), key_kinds=["i"], arg_kinds=["f"], aggs=AGGS)
    samples = stream(op, 2_000_000, 50_000,
                     lambda b, rng, n, ts: Column((ts // 10_000) * 1000 + rng.integers(0, 1000, n)))
    n_keys = [s[2] for s in samples]
    assert max(n_keys) < 20_000, max(n_keys)  # 200 windows x 1000 keys were seen
