"""GroupAggregate: GROUP BY without a window, an updating result (Flink's
``GroupAggregate``).

Every micro-batch changes some groups; their new result rows come out as a
changelog coalesced per group (``+I``, ``-U``/``+U``, ``-D`` with HAVING or
when every row of a group is taken back). State grows with the number of
groups (no watermark frees it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from runtime_lib.columns import FILLERS, Batch, Column
from runtime_lib.keys import KeyEncoder
from runtime_lib.operators.aggregates import Agg, AggregateStates
from runtime_lib.operators.changelog import EmittedRows


class GroupAggregate:
    """Non-windowed GROUP BY over an append-only stream: an updating result.

    ``process(keys, args, filters)`` adds a micro-batch and returns its
    changelog, coalesced per group: ``+I`` for a new group, ``-U`` (old row)
    then ``+U`` (new row) for a changed one, nothing for an unchanged one. With
    ``having`` (a callable from a Batch of candidate result rows, columns named
    as the output, to a boolean mask), a group that stops satisfying it emits
    ``-D`` (its last emitted row) and one that starts emits ``+I``. Late rows
    do not exist here (Flink keeps them). State grows with the number of groups.
    Over an updating input, ``retract`` marks the rows taken back (-D/-U); a
    group whose rows are all taken back emits ``-D`` (as Flink does).

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
                 op_name: str = "op", arg_names: list[str] | None = None,
                 filter_names: list[str] | None = None):
        self.key_kinds, self.arg_kinds, self.aggs = list(key_kinds), list(arg_kinds), list(aggs)
        self.keys = KeyEncoder(self.key_kinds)
        self.states = AggregateStates(self.aggs, self.arg_kinds, arg_names, filter_names)
        nk = len(self.key_kinds)
        self.names = list(names) if names is not None else (
            [f"key_{i}" for i in range(nk)] + [f"agg_{i}" for i in range(len(self.aggs))])
        if len(self.names) != nk + len(self.aggs):
            raise ValueError("wrong number of output names")
        self.op_name = op_name
        self.having = having
        self.kinds = ["O"] + self.key_kinds + self.states.output_kinds
        self._emitted = EmittedRows(self.states.output_kinds, self.names[nk:])
        self._first_seq = np.zeros(16, np.int64)
        self._seq = 0

    @property
    def groups(self) -> int:
        return len(self.keys)

    def process(self, keys: list[Column], args: list[Column] = (), filters: list = (),
                num_rows: int | None = None, retract: np.ndarray | None = None) -> Batch:
        n = num_rows if num_rows is not None else (len(keys[0]) if keys else len(args[0]))
        n_before = len(self.keys)
        kid = self.keys.encode_rows(keys, n)
        seqs = np.arange(self._seq, self._seq + n, dtype=np.int64)
        self._seq += n
        n_keys = len(self.keys)
        if n_keys > len(self._first_seq):
            self._first_seq = np.concatenate([self._first_seq, np.zeros(max(n_keys, 2 * len(self._first_seq)), np.int64)])
        if n_keys > n_before:
            new_ids, first = np.unique(kid[kid >= n_before], return_index=True)
            self._first_seq[new_ids] = seqs[np.flatnonzero(kid >= n_before)[first]]
        self.states.ensure(n_keys)
        self.states.update(kid, list(args), list(filters), seqs, retract)
        touched = np.unique(kid)
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

    def snapshot(self) -> dict:
        return {"seq": self._seq, "first_seq": self._first_seq[: len(self.keys)].copy(),
                "keys": self.keys.snapshot(), "states": self.states.snapshot(),
                "emitted": self._emitted.snapshot()}

    def restore(self, data: dict) -> None:
        self._seq = int(data["seq"])
        fs = np.asarray(data["first_seq"], np.int64)
        self._first_seq = np.zeros(max(16, len(fs)), np.int64)
        self._first_seq[: len(fs)] = fs
        self.keys.restore(data["keys"])
        self.states.restore(data["states"])
        self._emitted.restore(data["emitted"])
