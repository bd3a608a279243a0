"""Keyed state split by key group (``runtime_lib.keygroups``).

The hash is pinned (a change would move keys between processes and make the
checkpoints of running jobs unsplittable) and checked against a plain
Python FNV-1a written from its definition. Then, for every keyed operator
of the state-protocol registry (``test_state_protocol.CASES``), hypothesis
draws an input, a checkpoint cut and a key-group split point; the test

1. runs the operator over the whole input (the uninterrupted run);
2. runs another to the cut and snapshots it (through ``roundtrip``: what a
   checkpoint gives back);
3. restores the snapshot into two new operators, the first keeping the key
   groups below the split point, the second the rest
   (``retain_key_groups``), and feeds each only the rows whose key is in its
   key groups (co-partitioned input, as a topic partitioned by the key gives);

and asserts, step by step, that the union of the two outputs is the
uninterrupted run's (the rows as a multiset; per input row, the late flags),
and that their counters add up to its counters.
"""

from __future__ import annotations

import math
import struct
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime_lib.columns import column_from_pylist
from runtime_lib.keygroups import (
    DEFAULT_MAX_PARALLELISM,
    KeyGroupError,
    KeyGroups,
    key_group,
    key_hash,
    merge,
    retain,
    split_evenly,
)
from tests.runtime.test_state_protocol import CASES
from tests.state_roundtrip import roundtrip

M = DEFAULT_MAX_PARALLELISM


# -- the hash -------------------------------------------------------------------

def _fnv(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h


def _fmix(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) % 2**64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) % 2**64
    return h ^ (h >> 33)


def _reference(row: tuple, kinds: str) -> int:
    """The hash of one key, from the encoding the module docstring states."""
    data = b""
    for value, kind in zip(row, kinds):
        if value is None:
            data += b"\x00"
        elif kind == "O":
            text = value.encode("utf-8")
            data += b"\x03" + struct.pack("<I", len(text)) + text
        elif kind == "f":
            value = 0.0 if value == 0 else value
            data += b"\x02" + (struct.pack("<Q", 0x7FF8000000000000) if math.isnan(value)
                               else struct.pack("<d", value))
        else:
            data += b"\x01" + struct.pack("<q", int(value))
    return _fmix(_fnv(data))


KEY_VALUES = {"O": st.one_of(st.none(), st.text(max_size=12)),
              "i": st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.booleans().map(int)),
              "f": st.one_of(st.none(), st.floats(allow_nan=True))}


@settings(max_examples=60, deadline=None)
@given(kinds=st.text("Oif", min_size=1, max_size=3), data=st.data())
def test_hash_is_fnv1a_of_the_documented_encoding(kinds, data):
    rows = data.draw(st.lists(st.tuples(*(KEY_VALUES[k] for k in kinds)), min_size=1, max_size=8))
    columns = [column_from_pylist([r[j] for r in rows], k) for j, k in enumerate(kinds)]
    assert key_hash(columns).tolist() == [_reference(r, kinds) for r in rows]


def test_hash_values_are_pinned():
    """These must never change: a running job's checkpoints are split by them."""
    keys = [column_from_pylist(["gpt-4", "claude", None, ""], "O"),
            column_from_pylist([1, 2, None, -1], "i")]
    assert key_hash(keys).tolist() == [_reference(r, "Oi") for r in
                                       [("gpt-4", 1), ("claude", 2), (None, None), ("", -1)]]
    assert key_group(keys, 128).tolist() == [47, 48, 109, 24]
    assert key_group([column_from_pylist([0.0, -0.0, float("nan")], "f")], 128).tolist() == [50, 50, 22]


def test_ranges():
    assert KeyGroups.parse("0-63").covers_all is False
    assert KeyGroups.parse("0-127").covers_all
    assert [(g.start, g.end) for g in split_evenly(2)] == [(0, 63), (64, 127)]
    for text in ("64-200", "7-3", "x"):
        with pytest.raises(KeyGroupError):
            KeyGroups.parse(text)


# -- splitting operators --------------------------------------------------------

def _key_groups(rows, key=lambda r: r[0]) -> np.ndarray:
    return key_group([column_from_pylist([key(r) for r in rows], "O")], M)


def _window_step(s, mask):
    rows, before, current, retracted = s
    keep = np.flatnonzero(mask)
    return ([rows[i] for i in keep], np.asarray(before)[keep], current,
            None if retracted is None else retracted[keep])


def _group_step(s, mask):
    rows, retracted = s
    keep = np.flatnonzero(mask)
    return [rows[i] for i in keep], None if retracted is None else retracted[keep]


def _side_step(s, mask):
    """A join input's step: (side, rows, per-row values..., the rest), rows cut."""
    side, rows, *rest = s
    keep = np.flatnonzero(mask)
    return (side, [rows[i] for i in keep],
            *(np.asarray(v)[keep] if isinstance(v, (list, np.ndarray)) else v for v in rest))


def _timed_step(s, mask):
    rows, before, current = s
    keep = np.flatnonzero(mask)
    return [rows[i] for i in keep], np.asarray(before)[keep], current


def _rows_step(s, mask):
    return [s[i] for i in np.flatnonzero(mask)]


#: case name -> (the step's rows, the step cut to the rows of a mask)
SPLITTERS = {
    **{name: (lambda s: s[0], _window_step) for name in
       ("tumble", "tumble-changes", "tumble-retract", "hop", "hop-changes", "hop-retract-changes",
        "cumulate", "session")},
    **{name: (lambda s: s[0], _group_step) for name in
       ("group-aggregate", "group-aggregate-having", "group-aggregate-retract")},
    **{name: (lambda s: s[1], _side_step) for name in
       ("interval-join-full", "interval-join-inner", "temporal-join-left", "temporal-join-inner",
        "join-full-ttl-(4, None)", "join-inner-ttl-None")},
    **{name: (lambda s: s[0], _timed_step) for name in
       ("deduplicate-first", "deduplicate-last")},
    "rank": (lambda s: s, _rows_step),
    "rank-retract": (lambda s: s, _rows_step),
    # (not the TTL cases: their processing time is the largest t of a step's rows, which
    # differs between the parts; the TTL's counter of expired keys is split as the others)
}
UNSPLITTABLE = {"session-global-changes", "limit-offset-0", "limit-offset-3", "temporal-sort"}


def _is_flags(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, bool) for v in value)


def _combine(outs: list, masks: list[np.ndarray]):
    """The outputs of one step of each part, as one: rows as a multiset, late
    flags back in input order, counts summed, counters summed (but peaks)."""
    first = outs[0]
    if first is None:
        return None
    if isinstance(first, dict):
        return {k: sum(o[k] for o in outs) for k in first if not k.startswith("peak")}
    if isinstance(first, tuple):
        return tuple(_combine([o[i] for o in outs], masks) for i in range(len(first)))
    if all(isinstance(o, list) and not o for o in outs):
        return []
    if any(isinstance(o, list) and o and isinstance(o[0], tuple) for o in outs):
        return Counter(row for o in outs for row in o)
    if all(isinstance(o, list) for o in outs) and any(
            o and not isinstance(o[0], (bool, np.bool_)) for o in outs):  # indices of late rows
        return sorted(int(np.flatnonzero(m)[i]) for o, m in zip(outs, masks) for i in o)
    if _is_flags(first):
        flags = [None] * sum(int(m.sum()) for m in masks)
        for o, m in zip(outs, masks):
            for i, flag in zip(np.flatnonzero(m), o):
                flags[i] = flag
        return flags
    if isinstance(first, (int, np.integer)):
        return sum(outs)
    raise AssertionError(f"cannot combine {first!r}")


def _normal(out):
    if isinstance(out, dict):
        return {k: v for k, v in out.items() if not k.startswith("peak")}
    if isinstance(out, tuple):
        return tuple(_normal(o) for o in out)
    if isinstance(out, list) and out and isinstance(out[0], tuple):
        return Counter(out)
    return out


SPLIT_CASES = [c for c in CASES if c.name in SPLITTERS]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=repr)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_split_restore_equals_the_uninterrupted_run(case, data):
    rows_of_step, cut_step = SPLITTERS[case.name]
    steps = data.draw(case.steps, label="steps")
    cut = data.draw(st.integers(0, len(steps)), label="cut")
    split = data.draw(st.integers(1, M - 1), label="split point")
    whole = case.make()
    expected = [case.step(whole, s) for s in steps] + [case.end(whole)]

    first = case.make()
    for s in steps[:cut]:
        case.step(first, s)
    snap = first.snapshot()
    owners = [KeyGroups(0, split - 1, M), KeyGroups(split, M - 1, M)]
    parts = []
    for owned in owners:
        part = case.make()
        part.restore(roundtrip(snap))
        retain(part, case.name, owned)
        parts.append(part)
    tags = _untagged if case.name in JOIN_SPLITS else (lambda out: out)
    for s, want in zip(steps[cut:], expected[cut:]):
        groups = _key_groups(rows_of_step(s))
        masks = [owned.contains(groups) for owned in owners]
        outs = [case.step(part, cut_step(s, m)) for part, m in zip(parts, masks)]
        assert tags(_combine(outs, masks)) == tags(_normal(want))
    ends = [case.end(part) for part in parts]
    assert tags(_combine(ends, [np.zeros(0, bool)] * 2)) == tags(_normal(expected[-1]))


#: A join tags a NULL-padded row that a watermark releases with the last row
#: watermark its process saw; a process fed only some keys' rows saw fewer and
#: tags it lower (hypothesis: MIN against -15), and releases it at the step's
#: advance rather than within the batch. The tag stays below the row's time in
#: both (the join holds its output watermark back by the bound), so no downstream
#: operator treats the row differently: a step's rows are compared untagged, the
#: batch's and the advance's together.
JOIN_SPLITS = {"interval-join-full", "interval-join-inner", "temporal-join-left",
               "temporal-join-inner", "join-full-ttl-(4, None)", "join-inner-ttl-None"}


def _untagged(out):
    rows = (Counter, list)
    if (isinstance(out, tuple) and len(out) == 3 and isinstance(out[0], rows)
            and isinstance(out[1], list) and isinstance(out[2], rows)):
        # (rows of the batch, late, rows of the advance): a process that got none of
        # the batch's rows releases a padded row at the advance instead of within
        # the batch: the same step, the same watermark
        return _untagged(out[0]) + _untagged(out[2]), out[1]
    if isinstance(out, tuple):
        return tuple(_untagged(o) for o in out)
    if isinstance(out, list) and not out:
        return Counter()
    if isinstance(out, Counter):
        untagged: Counter = Counter()
        for (op, row, _wm), n in out.items():
            untagged[op, row] += n
        return untagged
    return out


@pytest.mark.parametrize("case", [c for c in CASES if c.name in UNSPLITTABLE], ids=repr)
def test_state_not_split_by_key_is_refused(case):
    op = case.make()
    retain(op, case.name, KeyGroups.all(M))  # one process owning every group: fine
    with pytest.raises(KeyGroupError, match=f"operator {case.name} .* cannot run in a "
                                            "process owning only key groups 0-63 of 128"):
        retain(op, case.name, KeyGroups(0, 63, M))


# -- merging operators ----------------------------------------------------------

MERGE_CASES = [c for c in SPLIT_CASES if c.name in
               ("tumble", "tumble-changes", "tumble-retract", "hop", "hop-changes",
                "hop-retract-changes", "cumulate", "group-aggregate", "group-aggregate-having",
                "group-aggregate-retract", "interval-join-full", "interval-join-inner",
                "temporal-join-left", "temporal-join-inner", "join-full-ttl-(4, None)",
                "join-inner-ttl-None", "deduplicate-first", "deduplicate-last", "rank",
                "rank-retract")]


@pytest.mark.parametrize("case", MERGE_CASES, ids=repr)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_split_then_merged_equals_the_uninterrupted_run(case, data):
    """One operator split in two at one cut, the two merged back into one at a
    later cut (``keygroups.merge``), that one fed every row: the outputs
    equal the uninterrupted run's, and the merged operator's counters too."""
    rows_of_step, cut_step = SPLITTERS[case.name]
    steps = data.draw(case.steps, label="steps")
    cut = data.draw(st.integers(0, len(steps)), label="split at")
    back = data.draw(st.integers(cut, len(steps)), label="merged at")
    split = data.draw(st.integers(1, M - 1), label="split point")
    whole = case.make()
    expected = [case.step(whole, s) for s in steps] + [case.end(whole)]

    first = case.make()
    for s in steps[:cut]:
        case.step(first, s)
    snap = roundtrip(first.snapshot())
    owners = [KeyGroups(0, split - 1, M), KeyGroups(split, M - 1, M)]
    parts = []
    for owned in owners:
        part = case.make()
        part.restore(snap)
        retain(part, case.name, owned)
        parts.append(part)
    for s in steps[cut:back]:
        masks = [owned.contains(_key_groups(rows_of_step(s))) for owned in owners]
        for part, m in zip(parts, masks):
            case.step(part, cut_step(s, m))
    merged = case.make()
    merged.restore(roundtrip(merge(merged, case.name, [roundtrip(p.snapshot()) for p in parts])))
    got = [case.step(merged, s) for s in steps[back:]] + [case.end(merged)]
    assert [_normal(g) for g in got] == [_normal(e) for e in expected[back:]]


def test_operators_that_do_not_merge_say_so():
    op = next(c for c in CASES if c.name == "session").make()
    with pytest.raises(KeyGroupError, match="operator j .SessionWindowAggregate.: merging the checkpoints of "
                                            "several processes is not supported for it yet"):
        merge(op, "j", [op.snapshot(), op.snapshot()])


@pytest.mark.parametrize("name", ["tumble", "group-aggregate"])
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.data_too_large,
                                                                HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_merge_checkpoints_of_two_processes(tmp_path_factory, name, data):
    """``recovery.merge_checkpoints``: the checkpoints (on disk) of two
    processes split at a key group merge into one whose operator state goes on
    as the uninterrupted run, whose Kafka offsets are each partition's
    furthest, whose watermark is the lower one and whose key groups are all."""
    from runtime_lib.checkpoint import CheckpointStore
    from runtime_lib.recovery import RecoveryError, merge_checkpoints

    case = next(c for c in CASES if c.name == name)
    rows_of_step, cut_step = SPLITTERS[name]
    steps = data.draw(case.steps, label="steps")
    back = data.draw(st.integers(0, len(steps)), label="merged at")
    split = data.draw(st.integers(1, M - 1), label="split point")
    whole = case.make()
    expected = [case.step(whole, s) for s in steps] + [case.end(whole)]
    owners = [KeyGroups(0, split - 1, M), KeyGroups(split, M - 1, M)]
    root = tmp_path_factory.mktemp("merge")
    dirs = []
    for i, owned in enumerate(owners):
        part = case.make()
        for s in steps[:back]:
            case.step(part, cut_step(s, owned.contains(_key_groups(rows_of_step(s)))))
        state = {"operators": {"agg": part.snapshot()},
                 "watermarks": {"s": {"bound_ms": 5, "current": 100 + i,
                                      "partitions": [[["t", i], 200 + i]]}},
                 "sources": {"s": {"kafka": [["t", 0, 10 if i == 0 else 3],
                                             ["t", 1, 2 if i == 0 else 7]]}},
                 "sinks": {"output 0": {"path": f"out-{i}", "length": 9}}}
        query = {"sql": "q", "layout": {"agg": {"operator": type(part).__name__}},
                 "operators": {"agg": type(part).__name__}}
        CheckpointStore(root / f"p{i}").write(state, {"query": query, "positions": {},
                                                       "key_groups": owned.as_data()})
        dirs.append(root / f"p{i}")
    done = merge_checkpoints(list(reversed(dirs)), root / "merged")
    read = CheckpointStore(root / "merged").latest()
    assert read.manifest["key_groups"] == {"start": 0, "end": M - 1, "max_parallelism": M}
    assert read.state["sources"]["s"]["kafka"] == [["t", 0, 10], ["t", 1, 7]]
    assert read.state["watermarks"]["s"]["current"] == 100
    assert sorted(map(tuple, (tuple(p) for p, _ in read.state["watermarks"]["s"]["partitions"]))) \
        == [("t", 0), ("t", 1)]
    assert read.state["sinks"] == {} and done.id == 1
    merged = case.make()
    merged.restore(read.state["operators"]["agg"])
    got = [case.step(merged, s) for s in steps[back:]] + [case.end(merged)]
    assert [_normal(g) for g in got] == [_normal(e) for e in expected[back:]]
    with pytest.raises(RecoveryError, match="must hold adjacent ranges"):
        merge_checkpoints([dirs[0], dirs[0]], root / "twice")
