"""Join: a regular join of two streams without a time bound, an updating
result (Flink's ``StreamingJoinOperator``); see the class docstring.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.operators.joins.buffers import (
    FROM_BATCH,
    FROM_STATE,
    NULL,
    L,
    R,
    Sides,
    empty_batch,
)
from runtime_lib.watermarks import CLAMP, monotonic_ms

_RETRACT = ("-D", "-U")


class Join(Sides):
    """A regular join (no time bound) of two streams: an updating result, as
    Flink's ``StreamingJoinOperator``.

    ``Join(kind, key_kinds, left_names, right_names, left_kinds, right_kinds,
    residual=None, state_ttl_ms=None, clock=None)``;
    ``process_left(keys, rows, now_ms=None) -> Batch`` and ``process_right``.
    Both inputs are kept in state (every row with a non-NULL key) and each
    arriving row is joined with every stored row of the other side with the
    same key (and ``residual`` true). Output rows carry their changelog kind in
    ``Batch.ops``:

    * INNER: ``+I`` per pair (the input row's kind when the input is itself a
      changelog: ``+U``, ``-U``, ``-D``).
    * An outer side's row with no match comes out ``+I`` NULL-padded at once;
      when its first match arrives, ``-D`` of that NULL-padded row comes
      first, then ``+I`` of the pair; when its last match is retracted, ``+I``
      of the NULL-padded row again.
    * Input rows with kind ``-D``/``-U`` retract a stored equal row (if any)
      and every pair it formed (``-D``). Insert-only input runs vectorized;
      retraction rows are handled one at a time.

    ``insert_only`` (the compiler's promise for an INNER join of insert-only
    inputs): the output carries no ``ops``, as any append-only result.

    ``state_ttl_ms`` (Flink's ``'table.exec.state.ttl'``, processing time):
    a stored row not written for that long is dropped silently (a later match
    is then missed, as in Flink); one value for both sides, or a pair
    ``(left, right)`` with None for a side kept for ever (Flink's per-table
    ``STATE_TTL`` hint; sqlc reads it from each stream's ``'state.ttl'``).
    Without it state grows with the number of distinct rows: the compiler warns. ``now_ms``/``clock`` give processing
    time (default: a monotonic clock).

    >>> from runtime_lib.columns import Batch, column_from_pylist
    >>> j = Join(kind="LEFT", key_kinds=["O"], left_names=["req", "lat"], right_names=["fb_req", "rating"],
    ...          left_kinds=["O", "i"], right_kinds=["O", "i"])
    >>> left = Batch({"req": column_from_pylist(["r1", "r2"], "O"), "lat": column_from_pylist([10, 20], "i")}, 2)
    >>> out = j.process_left([left["req"]], left)
    >>> list(zip(out.ops, out.to_rows()))
    [('+I', ('r1', 10, None, None)), ('+I', ('r2', 20, None, None))]
    >>> right = Batch({"fb_req": column_from_pylist(["r1", "r1"], "O"), "rating": column_from_pylist([5, 3], "i")}, 2)
    >>> out = j.process_right([right["fb_req"]], right)
    >>> list(zip(out.ops, out.to_rows()))
    [('-D', ('r1', 10, None, None)), ('+I', ('r1', 10, 'r1', 5)), ('+I', ('r1', 10, 'r1', 3))]
    """

    def __init__(self, kind: str, key_kinds: list[str], left_names: list[str], right_names: list[str],
                 left_kinds: list[str], right_kinds: list[str], residual: Callable | None = None,
                 state_ttl_ms: int | tuple[int | None, int | None] | None = None,
                 clock: Callable[[], int] | None = None, insert_only: bool = False):
        super().__init__(kind, key_kinds, left_names, right_names, left_kinds, right_kinds, residual)
        if insert_only and kind != "INNER":
            raise ValueError("only an INNER join of insert-only inputs is insert-only")
        self.insert_only = insert_only
        pair = state_ttl_ms if isinstance(state_ttl_ms, (tuple, list)) else (state_ttl_ms, state_ttl_ms)
        self.ttl = tuple(None if t is None else int(t) for t in pair)
        if any(t is not None and t <= 0 for t in self.ttl):
            raise ValueError("state_ttl_ms must be positive")
        self.clock = clock or monotonic_ms
        self.expired_rows = 0
        self.peak_state_rows = 0

    def process_left(self, keys: list[Column], rows: Batch, now_ms: int | None = None) -> Batch:
        """Join a micro-batch of left rows (in arrival order); returns the changelog."""
        return self._process(L, keys, rows, now_ms)

    def process_right(self, keys: list[Column], rows: Batch, now_ms: int | None = None) -> Batch:
        """Join a micro-batch of right rows; returns the changelog."""
        return self._process(R, keys, rows, now_ms)

    def expire(self, now_ms: int | None = None) -> int:
        """Drop stored rows older than the TTL (also done by every process call);
        returns how many."""
        if self.ttl == (None, None):
            return 0
        now = self.clock() if now_ms is None else int(now_ms)
        dropped = 0
        for st in self.state:
            due = st.due(now)
            st.kill(due)
            dropped += len(due)
        self.expired_rows += dropped
        self._compact()
        return dropped

    def _until(self, side: int, now: int) -> int:
        """The expiry deadline of a row of ``side`` written at ``now``."""
        ttl = self.ttl[side]
        return CLAMP if ttl is None else now + ttl

    def _process(self, s: int, keys, rows: Batch, now_ms) -> Batch:
        n = rows.num_rows
        cols = self._input_columns(s, rows)
        now = self.clock() if now_ms is None else int(now_ms)
        self.expire(now)
        if n == 0:
            return empty_batch(self.names, self.kinds, False, True)
        kid = self._encode(keys, n)
        ops = rows.ops
        retract = np.zeros(n, bool) if ops is None else np.isin(ops, _RETRACT)
        kinds = np.full(n, "+I", object) if ops is None else np.asarray(ops, object)
        parts: list = []
        # runs of accumulate rows (vectorized) and single retraction rows
        cuts = np.flatnonzero(retract[1:] != retract[:-1]) + 1
        bounds = np.concatenate([[0], cuts, [n]])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            if retract[a]:
                for i in range(a, b):
                    self._retract_one(s, cols, kid, kinds, i, now, parts)
            else:
                self._accumulate(s, cols, kid, kinds, a, b, now, parts)
        out = self._emit(s, cols, parts)
        self.peak_state_rows = max(self.peak_state_rows, self.state_rows)
        self._compact()
        if self.insert_only:  # every row is +I: a plain append-only result
            out = Batch(out.columns, out.num_rows, out.watermarks)
        return out

    def _pairs(self, s, cols, kid_rows, rows_idx):
        """Pairs (input row index, other-side position) of the given input rows."""
        o = 1 - s
        zero = np.zeros(len(rows_idx), np.int64)
        qi, pos = self.state[o].probe(kid_rows, zero, zero)
        qi = rows_idx[qi]
        if self.residual is not None and len(qi):
            alive = self.state[o].alive[pos]
            qi, pos = qi[alive], pos[alive]
            qi, pos = self._apply_residual(s, cols, qi, pos)
        elif len(qi):
            alive = self.state[o].alive[pos]  # freed (expired) rows may linger in the index
            qi, pos = qi[alive], pos[alive]
        return qi, pos

    def _accumulate(self, s, cols, kid, kinds, a, b, now, parts) -> None:
        o = 1 - s
        idx = np.arange(a, b, dtype=np.int64)
        qi, pos = self._pairs(s, cols, kid[a:b], idx)
        other = self.state[o]
        n_pairs = np.bincount(qi - a, minlength=b - a).astype(np.int64)
        if len(pos):
            if self.outer[o]:
                # the first pair of a stored outer row that had no match retracts its NULL row
                _, first = np.unique(pos, return_index=True)
                first = first[other.hits[pos[first]] == 0]
                self._part(parts, o, FROM_STATE, pos[first], qi[first], 0, "-D", np.arange(len(first)))
            np.add.at(other.hits, pos, 1)
            if self.outer[o]:  # the match count of an outer row is state: the write refreshes its TTL
                other.bound[np.unique(pos)] = self._until(o, now)
            out_kind = "+I" if self.outer[s] else kinds[qi]
            self._pair_part(parts, s, qi, pos, out_kind)
        if self.outer[s]:
            lone = np.flatnonzero(n_pairs == 0) + a
            self._part(parts, s, FROM_BATCH, lone, lone, 1, "+I", np.zeros(len(lone), np.int64))
        keep = np.flatnonzero(kid[a:b] >= 0) + a
        if len(keep):
            self.state[s].append([c.take(keep) for c in cols], kid[keep], np.zeros(len(keep), np.int64),
                                 np.full(len(keep), self._until(s, now), np.int64), self._new_seqs(len(keep)),
                                 n_pairs[keep - a])

    def _retract_one(self, s, cols, kid, kinds, i, now, parts) -> None:
        o = 1 - s
        own = self.state[s]
        one = np.array([i], np.int64)
        if kid[i] >= 0:  # remove one stored row equal to this one
            zero = np.zeros(1, np.int64)
            _, cand = own.probe(kid[one], zero, zero)
            cand = cand[own.alive[cand]]
            for j, c in enumerate(cols):
                if not len(cand):
                    break
                v, ok = own.column(j, cand)
                same_null = ok == bool(c.is_valid()[i])
                same_val = ~ok | _equal(v, c.values[i])
                cand = cand[same_null & same_val]
            if len(cand):
                own.kill(cand[:1])
        qi, pos = self._pairs(s, cols, kid[one], one)
        if not len(pos):
            if self.outer[s]:
                self._part(parts, s, FROM_BATCH, one, one, 1, "-D", np.zeros(1, np.int64))
            return
        self._pair_part(parts, s, qi, pos, "-D" if self.outer[s] else kinds[i])
        other = self.state[o]
        if self.outer[o]:
            back = pos[other.hits[pos] == 1]
            self._part(parts, o, FROM_STATE, back, np.full(len(back), i), 2, "+I", np.arange(len(back)))
        other.hits[pos] = np.maximum(other.hits[pos] - 1, 0)
        if self.outer[o]:
            other.bound[pos] = self._until(o, now)

    def _pair_part(self, parts, s, qi, pos, kind) -> None:
        m = len(qi)
        src_b = np.full(m, FROM_BATCH, np.int8)
        src_s = np.full(m, FROM_STATE, np.int8)
        sides = (src_b, qi, src_s, pos) if s == L else (src_s, pos, src_b, qi)
        ops = np.empty(m, object)
        ops[:] = kind
        parts.append((*sides, qi, np.ones(m, np.int64), np.arange(m, dtype=np.int64), ops))

    def _part(self, parts, side, src, idx, position, sub, kind, tie) -> None:
        """NULL-padded rows of ``side`` (from the batch or from state)."""
        m = len(idx)
        if not m:
            return
        null = np.full(m, NULL, np.int8)
        mine = np.full(m, src, np.int8)
        zero = np.zeros(m, np.int64)
        sides = (mine, idx, null, zero) if side == L else (null, zero, mine, idx)
        ops = np.empty(m, object)
        ops[:] = kind
        parts.append((*sides, np.asarray(position, np.int64), np.full(m, sub, np.int64),
                      np.asarray(tie, np.int64), ops))

    def _emit(self, s, cols, parts) -> Batch:
        if not parts:
            return empty_batch(self.names, self.kinds, False, True)
        lsrc, lidx, rsrc, ridx, position, sub, tie, ops = (np.concatenate(x) for x in zip(*parts))
        order = np.lexsort((tie, sub, position))
        return self._assemble(s, cols, lsrc[order], lidx[order], rsrc[order], ridx[order], ops=ops[order])

    def snapshot(self) -> dict:
        """State as numpy arrays and JSON-able values (no pickle). Processing-time
        TTL deadlines are stored as they are (monotonic clock: restore on the
        same host, or pass a ``clock`` that continues it)."""
        self._compact(force=True)
        return {"seq": self._seq, "expired_rows": self.expired_rows, "peak_state_rows": self.peak_state_rows,
                "keys": self.keys.snapshot(), "left": self.state[L].snapshot(), "right": self.state[R].snapshot()}

    def restore(self, data: dict) -> None:
        self._seq, self.expired_rows = int(data["seq"]), int(data["expired_rows"])
        self.peak_state_rows = int(data["peak_state_rows"])
        self.keys.restore(data["keys"])
        self.state[L].restore(data["left"])
        self.state[R].restore(data["right"])


def _equal(values: np.ndarray, x) -> np.ndarray:
    """values == x elementwise, NaN equal to NaN (rows are compared as wholes)."""
    if values.dtype == object:
        return np.fromiter((v == x for v in values.tolist()), bool, count=len(values))
    eq = values == x
    if values.dtype.kind == "f" and x != x:  # noqa: PLR0124 (NaN test)
        eq |= values != values  # noqa: PLR0124
    return eq
