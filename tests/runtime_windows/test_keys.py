"""Key dictionaries: ids in order of first appearance, NULL and NaN keys of
their own, -0.0 == 0.0, decode inverts encode, compaction renumbers in order."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime_lib.columns import column_from_pylist
from runtime_lib.keys import KeyEncoder, PairTable

VALUES = {
    "b": st.one_of(st.none(), st.booleans()),
    "i": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    "f": st.one_of(st.none(), st.sampled_from([0.0, -0.0, math.nan, math.inf, 1.5]), st.floats()),
    "O": st.one_of(st.none(), st.text(max_size=3)),
}


def canon(v):
    if isinstance(v, float):
        return "nan" if math.isnan(v) else v + 0.0
    return v


@settings(max_examples=200, deadline=None)
@given(kinds=st.lists(st.sampled_from("bifO"), min_size=1, max_size=3), data=st.data())
def test_encode_decode(kinds, data):
    n = data.draw(st.integers(0, 40))
    rows = [tuple(data.draw(VALUES[k]) for k in kinds) for _ in range(n)]
    enc = KeyEncoder(kinds)
    cols = [column_from_pylist([r[j] for r in rows], k) for j, k in enumerate(kinds)]
    half = n // 2
    ids = np.concatenate([enc.encode([c.take(np.arange(half)) for c in cols]),
                          enc.encode([c.take(np.arange(half, n)) for c in cols])])
    # same canonical key <=> same id; ids dense in order of first appearance
    first: dict = {}
    for r, i in zip(rows, ids.tolist()):
        first.setdefault(tuple(canon(v) for v in r), i)
        assert first[tuple(canon(v) for v in r)] == i
    assert list(first.values()) == list(range(len(first)))  # dense, in order of first appearance
    decoded = list(zip(*(c.to_pylist() for c in enc.decode(np.arange(len(enc))))))
    assert [tuple(canon(v) for v in r) for r in decoded] == list(first)
    # compaction keeps the chosen ids, in order
    live = np.arange(0, len(enc), 2)
    before = [tuple(canon(v) for v in r) for r in zip(*(c.to_pylist() for c in enc.decode(live)))]
    remap = enc.compact(live)
    assert remap[live].tolist() == list(range(len(live)))
    after = [tuple(canon(v) for v in r) for r in zip(*(c.to_pylist() for c in enc.decode(np.arange(len(live)))))]
    assert before == after and len(enc) == len(live)


def test_pair_table_grows_and_skips_negative():
    t = PairTable()
    a = np.arange(10_000, dtype=np.int64) % 3000
    b = -(np.arange(10_000, dtype=np.int64) % 7)
    a[5] = -1
    ids = t.insert(a, b)
    assert ids[5] == -1 and t.n == len({(x, y) for x, y in zip(a.tolist(), b.tolist()) if x >= 0})
    assert (t.lookup(a, b) == ids).all()
    assert (t.keys1[ids[ids >= 0]] == a[ids >= 0]).all()
