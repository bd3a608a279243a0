"""GroupAggregate: GROUP BY without a window, an updating result (Flink's
``GroupAggregate``).

Every micro-batch changes some groups; their new result rows come out as a
changelog coalesced per group (``+I``, ``-U``/``+U``, ``-D`` with HAVING or
when every row of a group is taken back). ``SELECT DISTINCT`` is one too, with
no aggregates. State grows with the number of groups (no watermark frees it),
unless ``state_ttl_ms`` is given.

State TTL (the streams' ``'state.ttl'``; Flink's idle-state retention,
``table.exec.state.ttl``): a group that has had no row (added or taken back)
for ``state_ttl_ms`` of processing time (the same monotonic clock as
Deduplicate and the regular Join; ``--now`` does not pin it) is forgotten
at the start of the next micro-batch, without a changelog row: its key, its
accumulators and the row it emitted last go. A later row of that key starts a
fresh accumulator and emits ``+I`` again (no ``-U`` of the forgotten row),
and a row taking back a row of a forgotten group (no row left to take back)
is ignored, as Flink's GroupAggFunction does. As in Flink, with a TTL a
group whose result did not change still emits ``-U``/``+U``, so that the
operators downstream see the key written and keep it as long.

>>> from runtime_lib.columns import column_from_pylist
>>> g = GroupAggregate(key_kinds=["O"], aggs=[Agg("count_star")], names=["k", "n"],
...                    state_ttl_ms=100)
>>> def rows(*ks):
...     return [column_from_pylist(list(ks), "O")]
>>> g.process(rows("a", "b"), now_ms=0).to_rows()
[('+I', 'a', 1), ('+I', 'b', 1)]
>>> g.process(rows("b"), now_ms=80).to_rows()
[('-U', 'b', 1), ('+U', 'b', 2)]
>>> g.process(rows("a"), now_ms=150).to_rows()  # a has had no row for 150 ms
[('+I', 'a', 1)]
>>> g.groups, g.expired_keys
(2, 1)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from runtime_lib.columns import FILLERS, Batch, Column
from runtime_lib.keygroups import (
    keeps_counters,
    merge_aggregate_states,
    merge_emitted,
    merge_key_dictionaries,
    owned_keys,
)
from runtime_lib.keys import KeyEncoder
from runtime_lib.operators.aggregates import Agg, AggregateStates
from runtime_lib.operators.aggregates.kernels import unmatched_retractions
from runtime_lib.operators.changelog import EmittedRows
from runtime_lib.watermarks import monotonic_ms


def _grow(array: np.ndarray, n: int) -> np.ndarray:
    if n <= len(array):
        return array
    grown = np.zeros(max(n, 2 * len(array), 16), array.dtype)
    grown[: len(array)] = array
    return grown


class GroupAggregate:
    """Non-windowed GROUP BY over an append-only stream: an updating result.

    ``process(keys, args, filters)`` adds a micro-batch and returns its
    changelog, coalesced per group: ``+I`` for a new group, ``-U`` (old row)
    then ``+U`` (new row) for a changed one, nothing for an unchanged one. With
    ``having`` (a callable from a Batch of candidate result rows, columns named
    as the output, to a boolean mask), a group that stops satisfying it emits
    ``-D`` (its last emitted row) and one that starts emits ``+I``. Late rows
    do not exist here (Flink keeps them). State grows with the number of groups.
    Over an updating input (``updating_input=True``, which MIN and MAX need),
    ``retract`` marks the rows taken back (-D/-U); a group whose rows are all
    taken back emits ``-D`` (as Flink does).

    >>> from runtime_lib.columns import column_from_pylist
    >>> g = GroupAggregate(key_kinds=["O"], arg_kinds=["i"], aggs=[Agg("sum", arg=0)],
    ...                    names=["k", "total"], having=lambda b: b["total"].values > 5)
    >>> g.process([column_from_pylist(["a", "b", "a"], "O")], [column_from_pylist([1, 9, 2], "i")]).to_rows()
    [('+I', 'b', 9)]
    >>> g.process([column_from_pylist(["a", "b"], "O")], [column_from_pylist([4, -5], "i")]).to_rows()
    [('+I', 'a', 7), ('-D', 'b', 9)]
    """

    def __init__(self, key_kinds: list[str], aggs: list[Agg], arg_kinds: list[str] = (),
                 names: list[str] | None = None, having: Callable[[Batch], np.ndarray] | None = None,
                 op_name: str = "op", state_ttl_ms: int | None = None, clock=None,
                 updating_input: bool = False, arg_names: list[str] | None = None,
                 filter_names: list[str] | None = None):
        if state_ttl_ms is not None and state_ttl_ms <= 0:
            raise ValueError("state_ttl_ms must be positive")
        self.ttl, self.clock = state_ttl_ms, clock or monotonic_ms
        self._written = np.zeros(16, np.int64)  # per key: when it last had a row
        self._oldest = 0  # no key was written before this (a lower bound)
        self.expired_keys = 0
        self.key_kinds, self.arg_kinds, self.aggs = list(key_kinds), list(arg_kinds), list(aggs)
        self.keys = KeyEncoder(self.key_kinds)
        self.states = AggregateStates(self.aggs, self.arg_kinds, updating_input, arg_names,
                                      filter_names)
        nk = len(self.key_kinds)
        self.names = list(names) if names is not None else (
            [f"key_{i}" for i in range(nk)] + [f"agg_{i}" for i in range(len(self.aggs))])
        if len(self.names) != nk + len(self.aggs):
            raise ValueError("wrong number of output names")
        self.op_name = op_name
        self.having = having
        self.kinds = ["O"] + self.key_kinds + self.states.output_kinds
        self._emitted = EmittedRows(self.states.output_kinds, self.states.result_names)
        self._first_seq = np.zeros(16, np.int64)
        self._seq = 0

    @property
    def groups(self) -> int:
        return len(self.keys)

    def process(self, keys: list[Column], args: list[Column] = (), filters: list = (),
                num_rows: int | None = None, retract: np.ndarray | None = None,
                now_ms: int | None = None) -> Batch:
        n = num_rows if num_rows is not None else (len(keys[0]) if keys else len(args[0]))
        if self.ttl is not None:
            now = self.clock() if now_ms is None else int(now_ms)
            self._expire(now)
        n_before = len(self.keys)
        kid = self.keys.encode_rows(keys, n)
        seqs = np.arange(self._seq, self._seq + n, dtype=np.int64)
        self._seq += n
        n_keys = len(self.keys)
        self._first_seq = _grow(self._first_seq, n_keys)
        if n_keys > n_before:
            new_ids, first = np.unique(kid[kid >= n_before], return_index=True)
            self._first_seq[new_ids] = seqs[np.flatnonzero(kid >= n_before)[first]]
        self.states.ensure(n_keys)
        touched = np.unique(kid)
        if self.ttl is not None:
            self._written = _grow(self._written, n_keys)
            self._written[touched] = now
            self._oldest = min(self._oldest, now)  # an injected clock may step back
            if retract is not None and retract.any():
                kid = self._ignore_unmatched(kid, touched, np.asarray(retract, bool))
        self.states.update(kid, list(args), list(filters), seqs, retract)
        touched = touched[np.argsort(self._first_seq[touched], kind="stable")]
        cols = self.states.results(touched, np.arange(len(touched) + 1, dtype=np.int64))
        zeros = np.zeros(len(touched), np.int64)
        nk = len(self.key_kinds)
        if self.having is not None:
            cand = Batch({name: col for name, col in zip(self.names, self.keys.decode(touched) + cols)}, len(touched))
            passes = np.asarray(self.having(cand), bool)
            if passes.shape == ():
                passes = np.full(len(touched), bool(passes))
        else:
            passes = np.ones(len(touched), bool)
        alive = self.states.row_counts(touched, np.arange(len(touched) + 1, dtype=np.int64)) > 0
        passes = passes & alive
        rid, had, changed = self._emitted.diff(touched, zeros, cols)
        if self.ttl is not None:  # Flink: every write is passed on, changed or not
            changed[:] = True
        old = self._emitted.old(rid)
        # per group: (-U, +U) | +I | -D | nothing
        emit_old = had & (~passes | changed)
        emit_new = passes & (~had | changed)
        n_old, n_new = emit_old.astype(np.int64), emit_new.astype(np.int64)
        pos = np.cumsum(n_old + n_new) - n_new  # where the group's new row goes
        total = int((n_old + n_new).sum())
        idx = np.zeros(total, np.int64)
        from_old = np.zeros(total, bool)
        sel = np.flatnonzero(emit_new)
        idx[pos[sel]] = sel
        sel_o = np.flatnonzero(emit_old)
        idx[pos[sel_o] - 1] = sel_o
        from_old[pos[sel_o] - 1] = True
        ops = np.empty(total, object)
        ops[:] = "+I"
        ops[from_old & passes[idx]] = "-U"
        ops[from_old & ~passes[idx]] = "-D"
        ops[~from_old & had[idx]] = "+U"
        self._emitted.store(rid[emit_new], [c.take(emit_new) for c in cols], np.ones(int(emit_new.sum()), bool))
        gone = had & ~passes
        self._emitted.store(rid[gone], [c.take(gone) for c in old], np.zeros(int(gone.sum()), bool))
        out = {self.op_name: Column(ops)}
        for name, col in zip(self.names[:nk], self.keys.decode(touched[idx])):
            out[name] = col
        for name, c_new, c_old in zip(self.names[nk:], cols, old):
            v = c_new.values[idx].copy()
            ok = c_new.is_valid()[idx].copy()
            v[from_old] = c_old.values[idx[from_old]]
            ok[from_old] = c_old.valid[idx[from_old]]
            if not ok.all():
                v[~ok] = FILLERS[v.dtype.kind if v.dtype.kind in FILLERS else "O"]
            out[name] = Column(v, None if ok.all() else ok)
        return Batch(out, total)

    def _ignore_unmatched(self, kid: np.ndarray, touched: np.ndarray, retract: np.ndarray) -> np.ndarray:
        """``kid`` with -1 for the rows that take back a row of a group holding
        none (forgotten by the TTL): Flink ignores them."""
        local = np.searchsorted(touched, kid)
        held = self.states.row_counts(touched, np.arange(len(touched) + 1, dtype=np.int64)).copy()
        ignored = np.zeros(len(kid), bool)
        unmatched_retractions(local, retract, held, ignored)
        return np.where(ignored, -1, kid) if ignored.any() else kid

    def _expire(self, now: int) -> None:
        """Forget the groups without a row for the TTL: the key dictionary, the
        accumulators, the emitted rows and the first-seen order are compacted
        to the live groups."""
        n = len(self.keys)
        horizon = now - int(self.ttl)  # type: ignore[arg-type]
        if not n or self._oldest > horizon:
            return
        live = self._written[:n] > horizon
        kept = np.flatnonzero(live)
        if len(kept) < n:
            self.expired_keys += n - len(kept)
            remap = self.keys.compact(kept)
            self.states.take(kept)
            self._emitted.keep_a(remap)
            self._first_seq = _grow(self._first_seq[kept], 16)
            self._written = _grow(self._written[kept], 16)
        self._oldest = int(self._written[: len(kept)].min()) if len(kept) else now

    # -- key groups (runtime_lib.keygroups) -----------------------------------

    def unsplittable(self) -> str | None:
        return None if self.key_kinds else ("a global aggregate (no GROUP BY key) holds one "
                                            "group that every process would count into")

    def retain_key_groups(self, owned) -> None:
        """Keep only the groups whose key is in the key groups ``owned`` (after
        a restore from a checkpoint of more of them); nothing is emitted for
        the others, whose rows now go to another process."""
        kept = owned_keys(self.keys, owned)
        remap = self.keys.compact(kept)
        self.states.take(kept)
        self._emitted.keep_a(remap)
        self._first_seq = _grow(self._first_seq[kept], 16)
        if self.ttl is not None:
            self._written = _grow(self._written[kept], 16)
            self._oldest = int(self._written[: len(kept)].min()) if len(kept) else 0
            if not keeps_counters(owned):
                self.expired_keys = 0

    @staticmethod
    def merge_snapshots(a: dict, b: dict) -> dict:
        """Two snapshots of disjoint key groups as one (``keygroups.merge``)."""
        keys_a = int(a["keys"]["n"])
        data = {"seq": max(int(a["seq"]), int(b["seq"])),
                "first_seq": np.concatenate([a["first_seq"], b["first_seq"]]),
                "keys": merge_key_dictionaries(a["keys"], b["keys"]),
                "states": merge_aggregate_states(a["states"], b["states"]),
                "emitted": merge_emitted(a["emitted"], b["emitted"], keys_a)}
        if "written" in a:
            data.update(written=np.concatenate([a["written"], b["written"]]),
                        expired=int(a["expired"]) + int(b["expired"]))
        return data

    def snapshot(self) -> dict:
        n = len(self.keys)
        data = {"seq": self._seq, "first_seq": self._first_seq[:n].copy(),
                "keys": self.keys.snapshot(), "states": self.states.snapshot(),
                "emitted": self._emitted.snapshot()}
        if self.ttl is not None:
            data.update(written=self._written[:n].copy(), expired=self.expired_keys)
        return data

    def restore(self, data: dict) -> None:
        self._seq = int(data["seq"])
        self._first_seq = _grow(np.asarray(data["first_seq"], np.int64).copy(), 16)
        if self.ttl is not None:  # a checkpoint taken without a TTL: every key written now
            n = len(data["first_seq"])
            written = data["written"] if "written" in data else np.full(n, self.clock(), np.int64)
            self._written = _grow(np.asarray(written, np.int64).copy(), 16)
            self.expired_keys = int(data.get("expired", 0))
            self._oldest = int(self._written[:n].min()) if n else 0
        self.keys.restore(data["keys"])
        self.states.restore(data["states"])
        self._emitted.restore(data["emitted"])
