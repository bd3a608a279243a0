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
Strings come as int codes (``codes.OrderedCodes``): MIN/MAX compare them by
``rank[code]``, their place in code-point order; the others only carry them.

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
def _plus(v, ok, rows, cnt, tot, mean, m2):
    """The frame's sums with a row added (Welford for mean and M2)."""
    rows += 1
    if ok:
        cnt += 1
        tot += v
        d = v - mean
        mean += d / cnt
        m2 += d * (v - mean)
    return rows, cnt, tot, mean, m2


@jit
def _minus(v, ok, rows, cnt, tot, mean, m2):
    """The frame's sums with a row taken out."""
    rows -= 1
    if ok:
        cnt -= 1
        tot -= v
        if cnt == 0:
            mean = 0.0
            m2 = 0.0
        else:
            d = v - mean
            mean -= d / cnt
            m2 -= d * (v - mean)
            if m2 < 0.0:
                m2 = 0.0
    return rows, cnt, tot, mean, m2


@jit
def _ord(v, rank):
    """What MIN/MAX compare: a string code's rank (``rank`` not empty), else the value."""
    if len(rank):
        return rank[np.int64(v)]
    return v


@jit
def over_frame(keys, ts, vals, ok, dflt, dflt_ok, out_v, out_ok, fn, mode, start, end,
               ring_ts, ring_v, ring_ok, head_a, tail_a, rows_a, cnt_a, tot_a, mean_a, m2_a,
               dq, dq_h_a, dq_t_a, run_v_a, run_has_a, rank):
    """One OVER call over the released rows (sorted by key, time, arrival):
    ``out_v``/``out_ok`` get each row's result; the key state goes on.
    ``rank``: the order of string codes for MIN/MAX, empty for numbers.

    Each key's state is loaded into locals for the run of its rows and stored
    back after it (a per-row helper taking the arrays would pay reference
    counting on each of them, per row)."""
    n = len(keys)
    cap = ring_ts.shape[1]
    bounded = start >= 0
    ringed = mode == ROWS or bounded  # the rows go into the ring
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
        e = i + 1
        while e < n and keys[e] == k:
            e += 1
        head, tail, rows, cnt = head_a[k], tail_a[k], rows_a[k], cnt_a[k]
        tot, mean, m2 = tot_a[k], mean_a[k], m2_a[k]
        dq_h, dq_t, run_v, run_has = dq_h_a[k], dq_t_a[k], run_v_a[k], run_has_a[k]
        r = i
        while r < e:
            j = r + 1  # the row and (RANGE) its peers: one result
            if mode == RANGE:
                while j < e and ts[j] == ts[r]:
                    j += 1
            if mode == RANGE and bounded:  # rows older than the frame leave, first:
                # the sums then see the same operations whatever evicted them
                # before (``evict_before`` at a watermark), bit for bit
                lo = ts[r] - start
                while head < tail and ring_ts[k, head % cap] < lo:
                    slot = head % cap
                    rows, cnt, tot, mean, m2 = _minus(ring_v[k, slot], ring_ok[k, slot],
                                                      rows, cnt, tot, mean, m2)
                    if policy > 0 and dq_t > dq_h and dq[k, dq_h % cap] == head:
                        dq_h += 1
                    head += 1
            for q in range(r, j):
                seq = tail
                if mode == ROWS and bounded:
                    old = seq - start - 1
                    if old >= 0:  # leaves the frame: before its slot is reused
                        slot = old % cap
                        rows, cnt, tot, mean, m2 = _minus(ring_v[k, slot], ring_ok[k, slot],
                                                          rows, cnt, tot, mean, m2)
                        if policy > 0 and dq_t > dq_h and dq[k, dq_h % cap] == old:
                            dq_h += 1
                        head = old + 1
                if ringed:
                    slot = seq % cap
                    ring_ts[k, slot] = ts[q]
                    ring_v[k, slot] = vals[q]
                    ring_ok[k, slot] = ok[q]
                tail = seq + 1
                if fn == 12:
                    continue
                added = seq - end if mode == ROWS else seq
                if added < 0:
                    continue
                if ringed:
                    slot = added % cap
                    v = ring_v[k, slot]
                    valid = ring_ok[k, slot]
                else:
                    v = vals[q]
                    valid = ok[q]
                rows, cnt, tot, mean, m2 = _plus(v, valid, rows, cnt, tot, mean, m2)
                if valid and policy > 0:
                    if bounded:  # the deque: pop what the new row dominates
                        if policy == 1:
                            while dq_t > dq_h and (_ord(ring_v[k, dq[k, (dq_t - 1) % cap] % cap], rank)
                                                   >= _ord(v, rank)):
                                dq_t -= 1
                        elif policy == 2:
                            while dq_t > dq_h and (_ord(ring_v[k, dq[k, (dq_t - 1) % cap] % cap], rank)
                                                   <= _ord(v, rank)):
                                dq_t -= 1
                        dq[k, dq_t % cap] = added
                        dq_t += 1
                    elif (not run_has or fn == 7 or (policy == 1 and _ord(v, rank) < _ord(run_v, rank))
                          or (policy == 2 and _ord(v, rank) > _ord(run_v, rank))):
                        run_v = v
                        run_has = True
            for q in range(r, j):  # the result
                if fn == 0:
                    out_v[q] = rows
                    out_ok[q] = True
                elif fn == 1:
                    out_v[q] = cnt
                    out_ok[q] = True
                elif fn == 2:
                    out_ok[q] = cnt > 0
                    out_v[q] = tot if cnt > 0 else 0
                elif fn == 3:
                    out_ok[q] = cnt > 0
                    out_v[q] = tot / cnt if cnt > 0 else 0.0
                elif fn <= 7:
                    if not bounded:
                        out_v[q] = run_v
                        out_ok[q] = run_has
                    elif dq_t > dq_h:
                        at = dq_h if fn != 7 else dq_t - 1
                        out_v[q] = ring_v[k, dq[k, at % cap] % cap]
                        out_ok[q] = True
                    else:
                        out_v[q] = 0
                        out_ok[q] = False
                elif fn == 12:  # LAG: the row ``end`` back, or the default
                    back = tail - 1 - end
                    if back >= 0:
                        out_v[q] = ring_v[k, back % cap]
                        out_ok[q] = ring_ok[k, back % cap]
                    else:
                        out_v[q] = dflt[q]
                        out_ok[q] = dflt_ok[q]
                else:
                    var = 0.0
                    valid = cnt > 0
                    if fn == 8 or fn == 10:
                        if valid:
                            var = m2 / cnt
                    else:
                        valid = cnt > 1
                        if valid:
                            var = m2 / (cnt - 1)
                    if fn >= 10:
                        var = math.sqrt(var)
                    out_v[q] = var
                    out_ok[q] = valid
            r = j
        head_a[k], tail_a[k], rows_a[k], cnt_a[k] = head, tail, rows, cnt
        tot_a[k], mean_a[k], m2_a[k] = tot, mean, m2
        dq_h_a[k], dq_t_a[k], run_v_a[k], run_has_a[k] = dq_h, dq_t, run_v, run_has
        i = e


@jit
def evict_before(lo, ring_ts, ring_v, ring_ok, head_a, tail_a, rows_a, cnt_a, tot_a, mean_a,
                 m2_a, dq, dq_h_a, dq_t_a, policy):
    """RANGE: take the rows older than ``lo`` out of every key's frame (no row
    to come can reach them: they are older than the watermark minus the range)."""
    cap = ring_ts.shape[1]
    for k in range(len(head_a)):
        head, tail = head_a[k], tail_a[k]
        if head == tail or ring_ts[k, head % cap] >= lo:
            continue
        rows, cnt, tot, mean, m2, dq_h = rows_a[k], cnt_a[k], tot_a[k], mean_a[k], m2_a[k], dq_h_a[k]
        while head < tail and ring_ts[k, head % cap] < lo:
            slot = head % cap
            rows, cnt, tot, mean, m2 = _minus(ring_v[k, slot], ring_ok[k, slot], rows, cnt, tot,
                                              mean, m2)
            if policy > 0 and dq_t_a[k] > dq_h and dq[k, dq_h % cap] == head:
                dq_h += 1
            head += 1
        head_a[k], rows_a[k], cnt_a[k], tot_a[k], mean_a[k], m2_a[k], dq_h_a[k] = (
            head, rows, cnt, tot, mean, m2, dq_h)


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


__all__ = ["DEQUE", "FUNCS", "RANGE", "ROWS", "evict_before", "frame_reference", "np", "over_frame",
           "regrow"]
