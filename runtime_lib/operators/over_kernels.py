"""numba kernels of OVER aggregates: one pass over the rows a watermark
releases, per frame, with the sliding state of each partition key carried
from one call to the next.

The rows come sorted by (key, event time, arrival). Each key keeps, per
OVER call, a ring of the rows its frame can still reach (event time, value,
validity, by the row's sequence number in the key: slot ``seq % capacity``),
the sums of the rows in the frame (added and removed in O(1): row count,
non-NULL count, sum, Welford mean and M2) and, for MIN/MAX/FIRST_VALUE/
LAST_VALUE over a bounded frame, a monotonic deque of sequence numbers in a
second ring (amortized O(1)). Unbounded frames keep running values only.

Frames (``mode``, ``start``, ``end``):

* ROWS: the rows ``seq - start .. seq - end`` of the key (``start`` -1:
  unbounded); LAG(x, o) is ROWS(o, o).
* RANGE: the rows whose time is in ``[t - start, t]``, the row's peers (same
  time) included, all of which get the same result; ``start`` -1: unbounded.
"""

from __future__ import annotations

import math

import numpy as np

from runtime_lib.jit import kernel_jit

jit = kernel_jit(__name__)

ROWS, RANGE = 0, 1

# function codes (OverFn.func -> code)
FUNCS = {"count_star": 0, "count": 1, "sum": 2, "avg": 3, "min": 4, "max": 5,
         "first_value": 6, "last_value": 7, "var_pop": 8, "var_samp": 9, "stddev_pop": 10,
         "stddev_samp": 11, "lag": 12}
# the deque's policy per function: 1 min, 2 max, 3 first/last (a FIFO of non-NULL rows)
DEQUE = {4: 1, 5: 2, 6: 3, 7: 3}


@jit
def _add(k, v, ok, rows, cnt, tot, mean, m2):
    rows[k] += 1
    if ok:
        cnt[k] += 1
        tot[k] += v
        d = v - mean[k]
        mean[k] += d / cnt[k]
        m2[k] += d * (v - mean[k])


@jit
def _remove(k, v, ok, rows, cnt, tot, mean, m2):
    rows[k] -= 1
    if ok:
        cnt[k] -= 1
        tot[k] -= v
        if cnt[k] == 0:
            mean[k] = 0.0
            m2[k] = 0.0
        else:
            d = v - mean[k]
            mean[k] -= d / cnt[k]
            m2[k] -= d * (v - mean[k])
            if m2[k] < 0.0:
                m2[k] = 0.0


@jit
def _push_deque(k, seq, v, policy, ring_v, dq, dq_h, dq_t, cap):
    """Append ``seq`` (a non-NULL row) to the key's deque, popping what it dominates."""
    if policy == 1:
        while dq_t[k] > dq_h[k] and ring_v[k, dq[k, (dq_t[k] - 1) % cap] % cap] >= v:
            dq_t[k] -= 1
    elif policy == 2:
        while dq_t[k] > dq_h[k] and ring_v[k, dq[k, (dq_t[k] - 1) % cap] % cap] <= v:
            dq_t[k] -= 1
    dq[k, dq_t[k] % cap] = seq
    dq_t[k] += 1


@jit
def _result(k, fn, bounded, rows, cnt, tot, mean, m2, ring_v, dq, dq_h, dq_t, run_v, run_has,
            out_v, out_ok, r, cap):
    if fn == 0:
        out_v[r] = rows[k]
        out_ok[r] = True
    elif fn == 1:
        out_v[r] = cnt[k]
        out_ok[r] = True
    elif fn == 2:
        out_ok[r] = cnt[k] > 0
        out_v[r] = tot[k] if cnt[k] > 0 else 0
    elif fn == 3:
        out_ok[r] = cnt[k] > 0
        out_v[r] = tot[k] / cnt[k] if cnt[k] > 0 else 0.0
    elif fn <= 7:
        if bounded:
            if dq_t[k] > dq_h[k]:
                at = dq_h[k] if fn != 7 else dq_t[k] - 1
                out_v[r] = ring_v[k, dq[k, at % cap] % cap]
                out_ok[r] = True
            else:
                out_v[r] = 0
                out_ok[r] = False
        else:
            out_v[r] = run_v[k]
            out_ok[r] = run_has[k]
    else:
        c = cnt[k]
        var = 0.0
        ok = c > 0
        if fn == 8 or fn == 10:
            if ok:
                var = m2[k] / c
        else:
            ok = c > 1
            if ok:
                var = m2[k] / (c - 1)
        if fn >= 10:
            var = math.sqrt(var)
        out_v[r] = var
        out_ok[r] = ok


@jit
def over_frame(keys, ts, vals, ok, dflt, dflt_ok, out_v, out_ok, fn, mode, start, end,
               ring_ts, ring_v, ring_ok, head, tail, rows, cnt, tot, mean, m2,
               dq, dq_h, dq_t, run_v, run_has):
    """One OVER call over the released rows (sorted by key, time, arrival):
    ``out_v``/``out_ok`` get each row's result; the key state goes on."""
    n = len(keys)
    cap = ring_ts.shape[1]
    bounded = start >= 0
    policy = 0
    if fn == 4:
        policy = 1
    elif fn == 5:
        policy = 2
    elif fn == 6 or fn == 7:
        policy = 3
    i = 0
    while i < n:
        k = keys[i]
        j = i + 1
        if mode == RANGE:
            while j < n and keys[j] == k and ts[j] == ts[i]:
                j += 1
        for r in range(i, j):
            seq = tail[k]
            if mode == ROWS:
                if bounded:
                    old = seq - start - 1
                    if old >= 0:  # leaves the frame: before its slot is reused
                        slot = old % cap
                        _remove(k, ring_v[k, slot], ring_ok[k, slot], rows, cnt, tot, mean, m2)
                        if policy > 0 and dq_t[k] > dq_h[k] and dq[k, dq_h[k] % cap] == old:
                            dq_h[k] += 1
                        head[k] = old + 1
                slot = seq % cap
                ring_ts[k, slot] = ts[r]
                ring_v[k, slot] = vals[r]
                ring_ok[k, slot] = ok[r]
                tail[k] = seq + 1
                if fn == 12:  # LAG: the row ``end`` back, or the default
                    back = seq - end
                    if back >= 0:
                        out_v[r] = ring_v[k, back % cap]
                        out_ok[r] = ring_ok[k, back % cap]
                    else:
                        out_v[r] = dflt[r]
                        out_ok[r] = dflt_ok[r]
                    continue
                added = seq - end
                if added >= 0:
                    slot = added % cap
                    v = ring_v[k, slot]
                    valid = ring_ok[k, slot]
                    _add(k, v, valid, rows, cnt, tot, mean, m2)
                    if valid:
                        if bounded and policy > 0:
                            _push_deque(k, added, v, policy, ring_v, dq, dq_h, dq_t, cap)
                        elif policy > 0:
                            if not run_has[k] or (policy == 1 and v < run_v[k]) or (
                                    policy == 2 and v > run_v[k]) or fn == 7:
                                run_v[k] = v
                                run_has[k] = True
                _result(k, fn, bounded, rows, cnt, tot, mean, m2, ring_v, dq, dq_h, dq_t,
                        run_v, run_has, out_v, out_ok, r, cap)
            else:  # RANGE: add the peers, then evict, then one result for all
                v = vals[r]
                valid = ok[r]
                tail[k] = seq + 1
                _add(k, v, valid, rows, cnt, tot, mean, m2)
                if bounded:
                    slot = seq % cap
                    ring_ts[k, slot] = ts[r]
                    ring_v[k, slot] = v
                    ring_ok[k, slot] = valid
                    if valid and policy > 0:
                        _push_deque(k, seq, v, policy, ring_v, dq, dq_h, dq_t, cap)
                elif valid and policy > 0:
                    if not run_has[k] or (policy == 1 and v < run_v[k]) or (
                            policy == 2 and v > run_v[k]) or fn == 7:
                        run_v[k] = v
                        run_has[k] = True
        if mode == RANGE:
            if bounded:
                lo = ts[i] - start
                while head[k] < tail[k] and ring_ts[k, head[k] % cap] < lo:
                    slot = head[k] % cap
                    _remove(k, ring_v[k, slot], ring_ok[k, slot], rows, cnt, tot, mean, m2)
                    if policy > 0 and dq_t[k] > dq_h[k] and dq[k, dq_h[k] % cap] == head[k]:
                        dq_h[k] += 1
                    head[k] += 1
            for r in range(i, j):
                _result(k, fn, bounded, rows, cnt, tot, mean, m2, ring_v, dq, dq_h, dq_t,
                        run_v, run_has, out_v, out_ok, r, cap)
        i = j


@jit
def regrow(old_ts, old_v, old_ok, old_dq, head, tail, dq_h, dq_t, new_ts, new_v, new_ok, new_dq):
    """Copy each key's ring into rings of a larger capacity (slots move: seq % capacity)."""
    old_cap = old_ts.shape[1]
    cap = new_ts.shape[1]
    for k in range(len(head)):
        for seq in range(head[k], tail[k]):
            new_ts[k, seq % cap] = old_ts[k, seq % old_cap]
            new_v[k, seq % cap] = old_v[k, seq % old_cap]
            new_ok[k, seq % cap] = old_ok[k, seq % old_cap]
        for at in range(dq_h[k], dq_t[k]):
            new_dq[k, at % cap] = old_dq[k, at % old_cap]


def frame_reference(fn: str, mode: int, start: int, end: int, ts: list, vals: list,
                    default: list | None = None) -> list:
    """The result of each row of ONE key (rows in order) computed from its frame
    directly: what the kernel must equal (tests)."""
    out = []
    for i in range(len(ts)):
        if mode == ROWS:
            lo = 0 if start < 0 else max(0, i - start)
            frame = list(range(lo, i - end + 1))
            if fn == "lag":
                out.append(vals[i - end] if i - end >= 0 else (default[i] if default else None))
                continue
        else:
            frame = [j for j in range(len(ts)) if ts[j] <= ts[i] and (start < 0 or ts[j] >= ts[i] - start)]
        xs = [vals[j] for j in frame if vals[j] is not None]
        if fn == "count_star":
            out.append(len(frame))
        elif fn == "count":
            out.append(len(xs))
        elif not xs:
            out.append(None)
        elif fn == "sum":
            out.append(sum(xs))
        elif fn == "avg":
            out.append(sum(xs) / len(xs))
        elif fn in ("min", "max"):
            out.append(min(xs) if fn == "min" else max(xs))
        elif fn in ("first_value", "last_value"):
            out.append(xs[0] if fn == "first_value" else xs[-1])
        else:
            mean = sum(xs) / len(xs)
            ss = sum((x - mean) ** 2 for x in xs)
            if fn.endswith("samp"):
                if len(xs) < 2:
                    out.append(None)
                    continue
                var = ss / (len(xs) - 1)
            else:
                var = ss / len(xs)
            out.append(math.sqrt(var) if fn.startswith("stddev") else var)
    return out


__all__ = ["DEQUE", "FUNCS", "RANGE", "ROWS", "frame_reference", "np", "over_frame", "regrow"]
