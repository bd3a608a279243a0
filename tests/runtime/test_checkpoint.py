"""The checkpoint store: what is written is read back equal, as data (never
pickle), and a half-written or damaged checkpoint is never used."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from runtime_lib.checkpoint import FORMAT, CheckpointError, CheckpointStore

MANIFEST = {"query": {"sql_sha256": "ab" * 32}, "positions": {"llm_requests": {"0": 17}}}

arrays = hnp.arrays(
    dtype=st.sampled_from([np.int64, np.float64, np.bool_, np.int32]),
    shape=hnp.array_shapes(max_dims=1, min_side=0, max_side=20),
)
leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                   st.floats(allow_nan=False), st.text(max_size=8), arrays)
states = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text("abcxyz._", min_size=1, max_size=6), inner,
                                            max_size=4)),
    max_leaves=20,
)


def assert_same(a, b) -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert type(a) is type(b) or (isinstance(a, (int, float)) and a == b)
        assert a == b


@settings(max_examples=60, deadline=None)
@given(state=st.dictionaries(st.text("abc", min_size=1, max_size=3), states, max_size=4))
def test_what_is_written_is_read_back(tmp_path_factory, state) -> None:
    store = CheckpointStore(tmp_path_factory.mktemp("chk"))
    written = store.write(state, MANIFEST)
    read = store.latest()
    assert read is not None and read.id == written.id
    assert_same(state, read.state)
    assert read.manifest["positions"] == MANIFEST["positions"]
    assert read.manifest["format"] == FORMAT


def test_infinite_watermarks_survive(tmp_path) -> None:
    store = CheckpointStore(tmp_path)
    store.write({"wm": float("-inf"), "hi": float("inf")}, MANIFEST)
    state = store.latest().state
    assert state == {"wm": float("-inf"), "hi": float("inf")}


@pytest.mark.parametrize("bad, where", [
    ({"op": {"keys": np.array(["a", None], dtype=object)}}, "state.op.keys"),
    ({"op": {"pairs": {(1, 2)}}}, "state.op.pairs"),
    ({"op": [1, ("a",)]}, "state.op[1]"),
    ({"op": {3: 1}}, "state.op"),
])
def test_state_that_would_need_pickle_is_refused(tmp_path, bad, where) -> None:
    store = CheckpointStore(tmp_path)
    with pytest.raises(CheckpointError) as raised:
        store.write(bad, MANIFEST)
    assert str(raised.value).startswith(where + ":")
    assert store.ids() == []


def test_no_file_is_a_pickle(tmp_path) -> None:
    store = CheckpointStore(tmp_path)
    chk = store.write({"a": np.arange(5), "s": ["x", None]}, MANIFEST)
    for path in chk.path.rglob("*.npy"):
        np.load(path, allow_pickle=False)  # raises for a pickled array


def test_a_checkpoint_without_its_manifest_is_never_read(tmp_path) -> None:
    store = CheckpointStore(tmp_path)
    store.write({"n": 1}, MANIFEST)
    second = store.write({"n": 2}, MANIFEST)
    (second.path / "MANIFEST.json").unlink()  # as if the process died before it
    (tmp_path / "chk-000009.tmp").mkdir()  # a crash while writing the 9th
    assert store.ids() == [1]
    assert store.latest().state == {"n": 1}
    assert store.write({"n": 3}, MANIFEST).id == 2  # the unfinished one is written over


@pytest.mark.parametrize("damage", ["state", "array", "manifest", "format", "missing"])
def test_a_damaged_checkpoint_falls_back_to_the_one_before(tmp_path, damage) -> None:
    store = CheckpointStore(tmp_path)
    store.write({"n": 1, "a": np.arange(3)}, MANIFEST)
    last = store.write({"n": 2, "a": np.arange(4)}, MANIFEST)
    if damage == "state":
        (last.path / "state.json").write_text('{"n": 3}')
    elif damage == "array":
        with open(last.path / "arrays" / "0.npy", "r+b") as f:
            f.seek(-1, 2)
            f.write(b"\xff")
    elif damage == "manifest":
        (last.path / "MANIFEST.json").write_text("{not json")
    elif damage == "format":
        manifest = json.loads((last.path / "MANIFEST.json").read_text())
        (last.path / "MANIFEST.json").write_text(json.dumps({**manifest, "format": "other/9"}))
    else:
        (last.path / "arrays" / "0.npy").unlink()
    chk = store.latest()
    assert chk.id == 1 and chk.state["n"] == 1
    [warning] = store.warnings
    assert warning.startswith(f"checkpoint skipped: {last.path}: ")


def test_only_the_last_few_are_kept(tmp_path) -> None:
    store = CheckpointStore(tmp_path, keep=2)
    for n in range(5):
        store.write({"n": n}, MANIFEST)
    assert store.ids() == [4, 5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chk-000004", "chk-000005"]


def test_no_checkpoint_yet(tmp_path) -> None:
    assert CheckpointStore(tmp_path / "not-there").latest() is None
