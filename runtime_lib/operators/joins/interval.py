"""IntervalJoin (FR-JOIN-003): a time-bounded join of two append-only streams;
see ``runtime_lib.operators.joins`` for the semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.operators.joins.buffers import (
    FROM_BATCH,
    FROM_STATE,
    NULL,
    L,
    R,
    Sides,
    clamp,
    empty_batch,
)
from runtime_lib.watermarks import CLAMP, WM_MAX, WM_MIN


class JoinResult(NamedTuple):
    """What ``process_left`` / ``process_right`` return: the joined rows and the
    indices (into the input batch) of the rows that arrived behind the
    watermark (joined all the same: a metric, nothing is dropped)."""

    rows: Batch
    late: np.ndarray


class IntervalJoin(Sides):
    """Time-bounded join of two append-only streams; see the module docstring.

    ``IntervalJoin(kind, key_kinds, lower_ms, upper_ms, left_names, right_names,
    left_kinds, right_kinds, residual=None)``: rows match when the keys are
    equal and ``left.t + lower_ms <= right.t <= left.t + upper_ms``. For the SQL
    ``r.t BETWEEN l.t - INTERVAL '10' SECOND AND l.t + INTERVAL '5' SECOND``:
    ``lower_ms=-10_000, upper_ms=5_000``. ``left_names``/``right_names`` name the
    output columns of each side's rows (in the order of the columns of the
    batches given to ``process_left``/``process_right``); ``*_kinds`` are their
    storage kinds ('b', 'i', 'f', 'O')."""

    def __init__(self, kind: str, key_kinds: list[str], lower_ms: int, upper_ms: int,
                 left_names: list[str], right_names: list[str], left_kinds: list[str], right_kinds: list[str],
                 residual: Callable[[Batch], np.ndarray] | None = None):
        super().__init__(kind, key_kinds, left_names, right_names, left_kinds, right_kinds, residual)
        self.lower_ms, self.upper_ms = int(lower_ms), int(upper_ms)
        self.output_delay_ms = max(self.upper_ms, -self.lower_ms, 0)
        self.late_count = 0
        self.late_left = 0
        self.late_right = 0
        self.peak_state_rows = 0
        self._wm = WM_MIN

    @property
    def watermark(self) -> int:
        """The join's input watermark (the highest seen or advanced to)."""
        return self._wm

    def output_watermark(self, watermark: int) -> int:
        """The watermark downstream operators get when the join's input
        watermark is ``watermark`` (held back by ``output_delay_ms``)."""
        w = int(watermark)
        if w in (WM_MIN, WM_MAX):
            return w
        return max(WM_MIN, w - self.output_delay_ms)

    def _out_wm(self, w: np.ndarray) -> np.ndarray:
        return np.where(w <= -CLAMP, WM_MIN, w - self.output_delay_ms)

    def process_left(self, keys: list[Column], ts, rows: Batch, watermark_before=None) -> JoinResult:
        """Join a micro-batch of left rows (in arrival order) with the buffered
        right rows; returns (joined rows, indices of the late rows)."""
        return self._process(L, keys, ts, rows, watermark_before)

    def process_right(self, keys: list[Column], ts, rows: Batch, watermark_before=None) -> JoinResult:
        """Join a micro-batch of right rows with the buffered left rows."""
        return self._process(R, keys, ts, rows, watermark_before)

    def _bounds(self, s: int, ts: np.ndarray):
        """(lowest partner time, highest partner time = the row's bound)."""
        if s == L:
            return ts + self.lower_ms, ts + self.upper_ms
        return ts - self.upper_ms, ts - self.lower_ms

    def _process(self, s: int, keys, ts, rows: Batch, watermark_before) -> JoinResult:
        o = 1 - s
        ts, cols, eff = self._arrival(s, ts, rows, watermark_before)
        if eff is None:
            return JoinResult(empty_batch(self.names, self.kinds, True), np.zeros(0, np.int64))
        n = len(ts)
        wm0 = self._wm
        late_idx = np.flatnonzero(ts <= eff)  # behind the watermark: joined all the same
        self.late_count += len(late_idx)
        if s == L:
            self.late_left += len(late_idx)
        else:
            self.late_right += len(late_idx)
        kid = self._encode(keys, n)
        seqs = self._new_seqs(n)
        lo, bound = self._bounds(s, ts)

        # pairs with the other side's buffered rows; a partner whose bound the
        # watermark before row i reached was freed before row i (only a row
        # behind the watermark can meet one)
        qi, pos = self.state[o].probe(kid, lo, bound)
        if len(late_idx) and len(qi):
            alive = self.state[o].bound[pos] > eff[qi]
            qi, pos = qi[alive], pos[alive]
        qi, pos = self._apply_residual(s, cols, qi, pos)
        hits = np.bincount(qi, minlength=n).astype(np.int64)
        if len(pos):
            np.add.at(self.state[o].hits, pos, 1)

        # (position in the batch, sub-order, tiebreak) of every output row:
        # sub 0 = NULL-padded rows whose bound the watermark passed just before
        # row `position`; sub 1 = row `position`'s own output
        parts = []  # (lsrc, lidx, rsrc, ridx, position, sub, tie1, tie2, wm)

        def wm_before_position(p):
            prev = np.concatenate([[wm0], eff[:-1]])
            return prev[p]

        if len(qi):
            src_b = np.full(len(qi), FROM_BATCH, np.int8)
            src_s = np.full(len(qi), FROM_STATE, np.int8)
            sides = (src_b, qi, src_s, pos) if s == L else (src_s, pos, src_b, qi)
            parts.append((*sides, qi, np.ones(len(qi), np.int64), np.zeros(len(qi), np.int64),
                          np.arange(len(qi), dtype=np.int64), eff[qi]))

        # buffered rows (either side) whose bound the watermark passes in this batch
        for side in (L, R):
            st = self.state[side]
            due = st.due(int(eff[-1]))
            if not len(due):
                continue
            at = np.searchsorted(eff, st.bound[due], side="left")
            if self.outer[side]:
                emit = st.hits[due] == 0
                self._null_part(parts, side, FROM_STATE, due[emit], at[emit], 0, st.bound[due[emit]],
                                st.seq[due[emit]], wm_before_position(at[emit]))
            st.kill(due)

        # this batch's rows: NULL-padded now, later in the batch, or buffered
        keep = np.ones(n, bool)
        exp_at = np.searchsorted(eff, bound, side="left")  # first row whose watermark reaches the bound
        null_key = keep & (kid < 0)
        at_arrival = keep & (kid >= 0) & (exp_at <= np.arange(n))
        mid_batch = keep & (kid >= 0) & ~at_arrival & (exp_at < n)
        buffered = keep & (kid >= 0) & (exp_at >= n)
        if self.outer[s]:
            now = np.flatnonzero((null_key | at_arrival) & (hits == 0))
            self._null_part(parts, s, FROM_BATCH, now, now, 1, np.zeros(len(now), np.int64),
                            seqs[now], eff[now])
            later = np.flatnonzero(mid_batch & (hits == 0))
            self._null_part(parts, s, FROM_BATCH, later, exp_at[later], 0, bound[later], seqs[later],
                            wm_before_position(exp_at[later]))
        sel = np.flatnonzero(buffered)
        if len(sel):
            self.state[s].append([c.take(sel) for c in cols], kid[sel], ts[sel], bound[sel], seqs[sel], hits[sel])
        self._wm = int(eff[-1])
        self.peak_state_rows = max(self.peak_state_rows, self.state_rows)
        out = self._emit(s, cols, parts)
        self._compact()
        return JoinResult(out, late_idx)

    def _null_part(self, parts, side, src, idx, position, sub, tie1, tie2, wm) -> None:
        if not len(idx):
            return
        m = len(idx)
        null = np.full(m, NULL, np.int8)
        mine = np.full(m, src, np.int8)
        zero = np.zeros(m, np.int64)
        sides = (mine, idx, null, zero) if side == L else (null, zero, mine, idx)
        parts.append((*sides, np.asarray(position, np.int64), np.full(m, sub, np.int64),
                      np.asarray(tie1, np.int64), np.asarray(tie2, np.int64), np.asarray(wm, np.int64)))

    def _emit(self, s, cols, parts) -> Batch:
        if not parts:
            return empty_batch(self.names, self.kinds, True)
        lsrc, lidx, rsrc, ridx, position, sub, tie1, tie2, wm = (np.concatenate(x) for x in zip(*parts))
        order = np.lexsort((tie2, tie1, sub, position))
        return self._assemble(s, cols, lsrc[order], lidx[order], rsrc[order], ridx[order],
                              watermarks=self._out_wm(wm[order]))

    def advance(self, watermark: int) -> Batch:
        """Move the join's watermark to ``watermark``: buffered rows whose bound
        it reaches are freed, and the unmatched ones of an outer side are
        returned NULL-padded (by bound, then arrival)."""
        w = max(clamp(watermark), self._wm)
        prev = self._wm
        parts = []
        for side in (L, R):
            st = self.state[side]
            due = st.due(w)
            if not len(due):
                continue
            if self.outer[side]:
                emit = due[st.hits[due] == 0]
                self._null_part(parts, side, FROM_STATE, emit, np.zeros(len(emit), np.int64), 0,
                                st.bound[emit], st.seq[emit], np.full(len(emit), prev, np.int64))
            st.kill(due)
        self._wm = w
        out = self._emit(L, None, parts)
        self._compact()
        return out

    # -- snapshot ----------------------------------------------------------

    def snapshot(self) -> dict:
        """State as numpy arrays and JSON-able values (no pickle)."""
        self._compact(force=True)
        return {"wm": self._wm, "seq": self._seq, "late_count": self.late_count,
                "late_left": self.late_left, "late_right": self.late_right,
                "peak_state_rows": self.peak_state_rows, "keys": self.keys.snapshot(),
                "left": self.state[L].snapshot(), "right": self.state[R].snapshot()}

    def restore(self, data: dict) -> None:
        """Bring a freshly constructed join of the same configuration back to ``data``."""
        for name in ("late_count", "late_left", "late_right", "peak_state_rows"):
            setattr(self, name, int(data[name]))
        self._wm, self._seq = int(data["wm"]), int(data["seq"])
        self.keys.restore(data["keys"])
        self.state[L].restore(data["left"])
        self.state[R].restore(data["right"])
