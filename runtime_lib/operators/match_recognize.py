"""MATCH_RECOGNIZE on a stream (Flink's Match operator), ONE ROW PER MATCH.

Rows are held until the watermark passes their event time; then each
partition's rows are matched in event-time order (ties by the secondary ORDER
BY columns, then by arrival). A row at or below the watermark when it arrives
cannot be put in order any more: it is late, dropped and counted (``process``
returns it, for the late-events sink).

The pattern arrives compiled (``MatchAutomaton``: per state, its variable and
next steps in order of preference, ``ACCEPT`` completing a match; a step
``Unless(state, "B")`` is taken only on a row that B's DEFINE, evaluated as if
the row were a B, rejects: how a greedy quantifier keeps its rows). Every row
may start a match (an *attempt*); an attempt follows all its paths at once,
in preference order, each path a *thread* with the rows it matched and their
variables. As in Flink's CEP, the first thread to accept completes the
attempt's match: the shortest one from its first row, threads that accept on
the same row taken in order of preference. Attempts resolve in start order,
so that AFTER MATCH SKIP (PAST LAST ROW, TO NEXT ROW, TO FIRST v, TO LAST v)
can drop those a match skips.

DEFINE conditions that read only the row being matched come precomputed as
boolean columns (``process(conditions=...)``, vectorized per batch); the
others (navigation, aggregates over the rows matched so far, other
variables' rows) are ``MatchVariable.test`` functions, evaluated for all the
candidate threads of a row at once over a batch of the ``MatchValue``s they
read. MEASURES is one function over a batch of values, one row per match.

WITHIN: a row more than ``within_ms`` after an attempt's first row cannot
join it (exactly ``within_ms`` can: Flink's documented example); an attempt
the watermark makes hopeless is resolved then (its match, if it has one,
emitted; if not, discarded and counted in ``timed_out``). Rows before the first row of the oldest open attempt are
freed: state is bounded by WITHIN and the watermark.

>>> import numpy as np
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> op = MatchRecognize("t", key_kinds=[], arg_kinds=["i"],
...     automaton=MatchAutomaton(start=[0], states=[("A", [1]), ("B", [1, 2]), ("C", [ACCEPT])]),
...     variables=[MatchVariable("A", condition=0), MatchVariable("B", condition=1),
...                MatchVariable("C", condition=0)],
...     values=[MatchValue("first", arg=0, kind="i"), MatchValue("count_star", kind="i")],
...     measures=lambda v: v.project({"first_x": v["v0"], "n": v["v1"]}),
...     out_names=["first_x", "n"], out_kinds=["i", "i"])
>>> x = column_from_pylist([1, 9, 9, 2, 9, 3], "i")
>>> rows = Batch({"t": column_from_pylist([10, 20, 30, 40, 50, 60], "i"), "x": x}, 6)
>>> op.process(rows, keys=[], args=[x], conditions=[x.values < 5, x.values > 5]).tolist()
[]
>>> op.advance(2**63 - 1).to_rows()
[(1, 4), (2, 3)]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from runtime_lib.columns import Batch, Column, column_from_pylist, concat_columns, null_column
from runtime_lib.keys import KeyEncoder
from runtime_lib.state import values_data, values_from_data
from runtime_lib.watermarks import WM_MAX

ACCEPT = -1
_START = -2  # the state of an attempt that has matched no row yet


class Unless:
    """A step to ``state`` (or ACCEPT) taken only on a row that the DEFINE of
    none of ``variables`` accepts, each evaluated as if the row were matched
    as that variable (for ACCEPT: the row just matched)."""

    __slots__ = ("state", "variables")

    def __init__(self, state: int, *variables: str):
        self.state, self.variables = state, variables

    def __repr__(self) -> str:
        return f"Unless({', '.join(map(repr, (self.state, *self.variables)))})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Unless) and (self.state, self.variables)
                == (other.state, other.variables))

    def __hash__(self) -> int:
        return hash((self.state, self.variables))


Step = int | Unless


@dataclass(frozen=True)
class MatchAutomaton:
    """The PATTERN, compiled: ``start`` the steps of a match's first row,
    ``states[i]`` = (variable, steps after a row matched there); a step is a
    state number, ACCEPT or an ``Unless``, in order of preference."""

    start: list[Step]
    states: list[tuple[str, list[Step]]]


@dataclass(frozen=True)
class MatchVariable:
    """A pattern variable and its DEFINE: ``condition`` the index of its
    precomputed boolean column in ``process(conditions=...)``, or ``test``
    a function over a batch of the values it reads (``v<i>`` for value i) to
    a boolean mask; neither: it matches every row."""

    name: str
    condition: int | None = None
    test: Callable[[Batch], np.ndarray] | None = None
    reads: tuple[int, ...] = ()


@dataclass(frozen=True)
class MatchValue:
    """A value read from the rows matched (in DEFINE v: so far, with the row
    being matched as v). ``func``: ``last``/``first`` (argument ``arg`` at
    the row ``offset`` from the last/first row of ``variable``, None: of any),
    an aggregate (``count``, ``count_star``, ``sum``, ``avg``, ``min``,
    ``max``) over the rows of ``variable``, ``rowtime`` (the time of the last
    row), ``proctime``, ``classifier`` (the variable of the last row). ``kind``: its storage kind."""

    func: str
    variable: str | None = None
    arg: int | None = None
    offset: int = 0
    kind: str = "i"


class _Attempt:
    """A match being looked for from row ``start``: its threads (the state of
    the last row matched, _START before the first; the rows matched), or the
    match found."""

    __slots__ = ("found", "start", "start_time", "threads")

    def __init__(self, start: int, start_time: int, threads: list, found: tuple | None = None):
        self.start, self.start_time = start, start_time
        self.threads = threads  # [(state, rows matched)], preferred first
        self.found = found  # the rows of the match, once found (no threads left then)


# The rows a thread matched: a linked list from the last, shared by the threads
# that branched from it (one more row is O(1)): None, or (rows before, position,
# variable index).


def _matched_rows(matched: tuple | None) -> list[tuple[int, int]]:
    """(position, variable index) of each row matched, first to last."""
    out = []
    while matched is not None:
        out.append((matched[1], matched[2]))
        matched = matched[0]
    out.reverse()
    return out


def _linked(rows) -> tuple | None:
    matched: tuple | None = None
    for position, var in rows:
        matched = (matched, position, var)
    return matched


class _Partition:
    """One partition key's rows from the oldest open attempt on (``rows[0]``
    is position ``base``), its attempts in start order, and ``floor``: the
    first position a new match may start at (after a SKIP)."""

    __slots__ = ("attempts", "base", "floor", "rows")

    def __init__(self) -> None:
        self.base, self.floor = 0, 0
        self.rows: list[tuple] = []
        self.attempts: list[_Attempt] = []

    def row(self, position: int) -> tuple:
        return self.rows[position - self.base]


def _aggregate(func: str, values: list):
    if func == "count_star":
        return len(values)
    present = [v for v in values if v is not None]
    if func == "count":
        return len(present)
    if not present:
        return None
    if func == "sum":
        return sum(present)
    if func == "avg":
        return sum(present) / len(present)
    return min(present) if func == "min" else max(present)


class MatchRecognize:
    """``MatchRecognize(time_column, key_kinds, arg_kinds, automaton,
    variables, values, measures, out_names, out_kinds, key_names, order=(),
    after_match='SKIP TO NEXT ROW', within_ms=None)``: ``process`` takes the
    PARTITION BY columns as ``keys``, the columns the values read as ``args``
    and the row-only DEFINE conditions as ``conditions``; ``order`` the
    secondary ORDER BY keys as (arg index, descending, nulls first);
    ``advance`` gives one row per match: the keys, then the measures."""

    def __init__(self, time_column: str, key_kinds: list[str], arg_kinds: list[str],
                 automaton: MatchAutomaton, variables: list[MatchVariable],
                 values: list[MatchValue], measures: Callable[[Batch], Batch],
                 out_names: list[str], out_kinds: list[str], key_names: Sequence[str] = (),
                 order: Sequence[tuple[int, bool, bool]] = (), after_match: str = "SKIP TO NEXT ROW",
                 within_ms: int | None = None):
        self.time_column = time_column
        self.key_kinds, self.arg_kinds = list(key_kinds), list(arg_kinds)
        self.key_names = list(key_names) or [f"key{i}" for i in range(len(key_kinds))]
        self.variables = list(variables)
        self._var_index = {v.name: i for i, v in enumerate(self.variables)}
        self.state_var = [self._var_index[name] for name, _ in automaton.states]
        # per state (and _START): its steps to states as (state, guard variables), the
        # guards of its ACCEPT steps, and the variables to evaluate for a row taking
        # a step of the list (its state's DEFINE, the step's guard, its ACCEPT's guards)
        self._steps: dict[int, tuple[tuple[int, tuple[int, ...]], ...]] = {}
        self._accepts: dict[int, tuple[tuple[int, ...], ...]] = {}
        for state, steps in [(_START, automaton.start), *enumerate(s for _, s in automaton.states)]:
            pairs = [self._pair(step) for step in steps]
            self._steps[state] = tuple(p for p in pairs if p[0] != ACCEPT)
            self._accepts[state] = tuple(g for target, g in pairs if target == ACCEPT)
        self._needs = {state: tuple(dict.fromkeys(
            v for target, guard in steps
            for v in (self.state_var[target], *guard, *(g for a in self._accepts[target] for g in a))))
            for state, steps in self._steps.items()}
        self.start = tuple(target for target, _ in self._steps[_START])
        self.values = list(values)
        self._value_var = [None if v.variable is None else self._var_index[v.variable]
                           for v in self.values]
        self.measures, self.out_names, self.out_kinds = measures, list(out_names), list(out_kinds)
        self._measure_reads = tuple(range(len(self.values)))
        self.order = [(int(arg), bool(desc), bool(nulls)) for arg, desc, nulls in order]
        self.after_match, self.within_ms = after_match, within_ms
        words = after_match.split()
        to_variable = words[1:2] == ["TO"] and words[2] in ("FIRST", "LAST")  # SKIP TO FIRST|LAST v
        self._skip_var = self._var_index[words[3]] if to_variable else None
        self.keys = KeyEncoder(self.key_kinds)
        self.n_conditions = sum(v.condition is not None for v in self.variables)
        self._parts: dict[int, _Partition] = {}
        self._held: list[tuple[np.ndarray, np.ndarray, np.ndarray, list[Column], list[np.ndarray]]] = []
        self._seq = 0
        self.late_count = 0
        self.timed_out = 0  # attempts WITHIN discarded without a match
        self._matches: list[tuple[int, list, list]] = []  # (key id, measure values, order)

    def _pair(self, step: Step) -> tuple[int, tuple[int, ...]]:
        if isinstance(step, Unless):
            return step.state, tuple(self._var_index[v] for v in step.variables)
        return step, ()

    # -- rows in ----------------------------------------------------------------

    def process(self, batch: Batch, keys: list[Column], args: list[Column],
                conditions: list[np.ndarray]) -> np.ndarray:
        """Hold the rows until the watermark passes them; returns the indices of
        those dropped as late."""
        ts = batch[self.time_column].values
        late = np.flatnonzero(ts <= batch.row_watermarks())
        keep = np.ones(batch.num_rows, dtype=bool)
        keep[late] = False
        self.late_count += len(late)
        n = int(keep.sum())
        if n:
            ids = self.keys.encode_rows([k.take(keep) for k in keys], n)
            seq = np.arange(self._seq, self._seq + n, dtype=np.int64)
            self._seq += n
            self._held.append((ids, ts[keep], seq, [a.take(keep) for a in args],
                               [np.asarray(c, bool)[keep] for c in conditions]))
        return late

    @property
    def held_rows(self) -> int:
        """Rows waiting for the watermark plus rows open attempts may read."""
        return sum(len(h[0]) for h in self._held) + sum(len(p.rows) for p in self._parts.values())

    @property
    def open_attempts(self) -> int:
        return sum(len(p.attempts) for p in self._parts.values())

    def _concat_held(self):
        if len(self._held) > 1:
            parts = self._held
            self._held = [(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                           np.concatenate([p[2] for p in parts]),
                           [concat_columns([p[3][i] for p in parts]) for i in range(len(self.arg_kinds))],
                           [np.concatenate([p[4][i] for p in parts]) for i in range(self.n_conditions)])]
        return self._held[0]

    def _due(self, watermark: int) -> tuple[np.ndarray, list[tuple], list[bool]]:
        """The held rows the watermark passed, as (key id, row tuple) in
        matching order, and whether each can start a match; a row tuple is
        (time, *args, *conditions, arrival number)."""
        ids, ts, seq, args, conds = self._concat_held()
        due = ts <= watermark
        rest = ~due
        self._held = ([(ids[rest], ts[rest], seq[rest], [a.take(rest) for a in args],
                        [c[rest] for c in conds])] if rest.any() else [])
        ids, ts, seq = ids[due], ts[due], seq[due]
        args = [a.take(due) for a in args]
        conds = [c[due] for c in conds]
        order = self._sorted(ids, ts, seq, args)
        columns = [ts[order].tolist()] + [a.take(order).to_pylist() for a in args]
        columns += [c[order].tolist() for c in conds] + [seq[order].tolist()]
        return ids[order], list(zip(*columns)), self._can_start(conds, len(ts))[order].tolist()

    def _can_start(self, conds: list[np.ndarray], n: int) -> np.ndarray:
        """Rows whose first step's DEFINE may hold (vectorized; a DEFINE that
        reads the match counts as may)."""
        can = np.zeros(n, bool)
        for var in {self.state_var[s] for s in self.start}:
            spec = self.variables[var]
            if spec.condition is None:
                return np.ones(n, bool)
            can |= conds[spec.condition]
        return can

    def _sorted(self, ids, ts, seq, args) -> np.ndarray:
        """By key, time, the secondary ORDER BY keys, arrival."""
        if not self.order:
            return np.lexsort((seq, ts, ids))
        order = np.argsort(seq, kind="stable").tolist()
        for arg, descending, nulls_first in reversed(self.order):
            values = args[arg].to_pylist()
            present = sorted((i for i in order if values[i] is not None),
                             key=lambda i: values[i], reverse=descending)
            missing = [i for i in order if values[i] is None]
            order = missing + present if nulls_first else present + missing
        order = np.asarray(order, np.int64)
        return order[np.lexsort((ts[order], ids[order]))]

    # -- matching ---------------------------------------------------------------

    def advance(self, watermark: int) -> Batch:
        """Match the rows the watermark passed; one row per match completed."""
        if self._held:
            ids, rows, can_start = self._due(watermark)
            for key, row, can in zip(ids.tolist(), rows, can_start):
                part = self._parts.get(key)
                if part is None or not part.attempts:
                    if not can:  # nothing open, and no match can start here
                        continue
                    if part is None:
                        part = self._parts[key] = _Partition()
                self._step(key, part, row, can)
        for key, part in list(self._parts.items()):
            self._expire(key, part, watermark)
        return self._output()

    def _step(self, key: int, part: _Partition, row: tuple, can_start: bool = True) -> None:
        position = part.base + len(part.rows)
        part.rows.append(row)
        if can_start and position >= part.floor:
            part.attempts.append(_Attempt(position, row[0], [(_START, None)]))
        within = self.within_ms
        live = []
        for attempt in part.attempts:
            if not attempt.threads:
                continue
            if within is not None and row[0] - attempt.start_time > within:
                self._time_out(attempt)
            else:
                live.append(attempt)
        verdicts = self._evaluate(part, position, row, live)
        for attempt in live:
            self._advance_attempt(attempt, position, verdicts)
        self._resolve(key, part)

    def _evaluate(self, part: _Partition, position: int, row: tuple, attempts: list) -> dict:
        """The DEFINE of every variable the attempts' threads need for ``row``
        (their steps' variables and guards): {(id of the thread's rows,
        variable): bool}, tests that read the match evaluated in one batch per
        variable."""
        verdicts: dict = {}
        wanted: dict[int, list[tuple]] = {}
        cond_base = 1 + len(self.arg_kinds)
        for attempt in attempts:
            for state, matched in attempt.threads:
                for var in self._needs[state]:
                    spec = self.variables[var]
                    if (id(matched), var) in verdicts:
                        continue
                    if spec.test is not None:
                        wanted.setdefault(var, []).append(matched)
                        verdicts[(id(matched), var)] = False
                    else:
                        verdicts[(id(matched), var)] = (
                            True if spec.condition is None else row[cond_base + spec.condition])
        for var, threads in wanted.items():
            spec = self.variables[var]
            assert spec.test is not None
            candidates = [(matched, position, var) for matched in threads]
            mask = spec.test(self._value_batch(part, candidates, spec.reads))
            for matched, ok in zip(threads, np.asarray(mask, bool).tolist()):
                verdicts[(id(matched), var)] = ok
        return verdicts

    def _advance_attempt(self, attempt: _Attempt, position: int, verdicts: dict) -> None:
        """The attempt's threads after ``row``, preferred first; the first that
        accepts is the attempt's match (Flink's CEP: the earliest to complete)."""
        threads = []
        for state, matched in attempt.threads:
            key = id(matched)
            taken = []
            for target, guard in self._steps[state]:
                var = self.state_var[target]
                if (target in taken or not verdicts[(key, var)]
                        or any(verdicts[(key, g)] for g in guard)):
                    continue
                taken.append(target)  # another way to the same state: the same future
                now = (matched, position, var)
                if any(not any(verdicts[(key, g)] for g in accept) for accept in self._accepts[target]):
                    attempt.found, attempt.threads = now, []
                    return
                if self._steps[target]:
                    threads.append((target, now))
        attempt.threads = threads

    def _time_out(self, attempt: _Attempt) -> None:
        attempt.threads = []
        if attempt.found is None:
            self.timed_out += 1

    def _resolve(self, key: int, part: _Partition) -> None:
        """Emit the matches of the attempts resolved, in start order; drop the
        attempts a match skips; free the rows no open attempt can read."""
        # an attempt that ended without a match skips nothing: it goes now, not in turn
        attempts = part.attempts = [a for a in part.attempts if a.threads or a.found is not None]
        i = 0
        while i < len(attempts) and not attempts[i].threads:
            attempt = attempts[i]
            i += 1
            if attempt.found is None or attempt.start < part.floor:
                continue
            # the measures' values now: the rows may be freed before the output
            found = attempt.found
            first = part.row(_matched_rows(found)[0][0])
            # out by the time of the last row, key, arrival of the first: whatever the batches
            order = [part.row(found[1])[0], key, first[-1]]
            self._matches.append((key, [self._value(i, part, found) for i in self._measure_reads],
                                  order))
            part.floor = self._skip(attempt.start, attempt.found)
        if i:
            del attempts[:i]
        while attempts and attempts[0].start < part.floor:
            attempts.pop(0)
        # attempts[0] may be skipped later, but its rows stay until it resolves
        oldest = attempts[0].start if attempts else part.base + len(part.rows)
        dead = oldest - part.base
        if dead and (dead >= len(part.rows) or dead > 64):
            del part.rows[:dead]
            part.base = oldest

    def _skip(self, start: int, found) -> int:
        """The first position the next match may start at."""
        how = self.after_match
        if how == "SKIP PAST LAST ROW":
            return found[1] + 1
        if self._skip_var is not None:
            rows = [p for p, v in _matched_rows(found) if v == self._skip_var]
            target = (rows[0] if "FIRST" in how else rows[-1]) if rows else start
            # never the same start again: it would find the same match for ever
            return target if target > start else start + 1
        return start + 1

    def _expire(self, key: int, part: _Partition, watermark: int) -> None:
        """Resolve the attempts no row to come can extend: at the end of input,
        all; with WITHIN, those the next row would be too late for."""
        changed = False
        for attempt in part.attempts:
            if not attempt.threads:
                continue
            if watermark >= WM_MAX:
                attempt.threads = []
                changed = True
            elif self.within_ms is not None and watermark - attempt.start_time >= self.within_ms:
                self._time_out(attempt)
                changed = True
        if changed:
            self._resolve(key, part)
        if not part.attempts and not part.rows:
            del self._parts[key]

    # -- values and output --------------------------------------------------------

    def _value(self, i: int, part: _Partition, matched: tuple):
        spec, var = self.values[i], self._value_var[i]
        func = spec.func
        column = 1 + (spec.arg or 0)  # of the argument, in a row tuple
        if func == "rowtime":
            return part.row(matched[1])[0]
        if func == "proctime":
            return time.time_ns() // 1_000_000
        if func == "classifier":  # the variable of the last row
            return self.variables[matched[2]].name
        if func == "last":  # back from the last row: usually a step or two
            skip = spec.offset
            while matched is not None:
                if var is None or matched[2] == var:
                    if not skip:
                        return part.row(matched[1])[column]
                    skip -= 1
                matched = matched[0]
            return None
        rows = [p for p, v in _matched_rows(matched) if var is None or v == var]
        if func == "first":
            return part.row(rows[spec.offset])[column] if spec.offset < len(rows) else None
        if spec.arg is None:
            return _aggregate(func, rows)
        return _aggregate(func, [part.row(p)[column] for p in rows])

    def _value_batch(self, part: _Partition, candidates: list[tuple], reads) -> Batch:
        cols = {f"v{i}": column_from_pylist([self._value(i, part, m) for m in candidates],
                                            self.values[i].kind) for i in reads}
        return Batch(cols, len(candidates))

    def _output(self) -> Batch:
        matches, self._matches = sorted(self._matches, key=lambda m: m[2]), []
        if not matches:
            cols = {n: null_column(k, 0) for n, k in zip(self.key_names, self.key_kinds)}
            cols.update({n: null_column(k, 0) for n, k in zip(self.out_names, self.out_kinds)})
            return Batch(cols, 0)
        cols = dict(zip(self.key_names, self.keys.decode(np.asarray([m[0] for m in matches]))))
        values = Batch({f"v{i}": column_from_pylist([m[1][j] for m in matches], self.values[i].kind)
                        for j, i in enumerate(self._measure_reads)}, len(matches))
        measured = self.measures(values)
        cols.update((n, measured[n]) for n in self.out_names)
        return Batch(cols, len(matches))

    # -- state ------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Rows waiting for the watermark (key ids, times, arrival numbers,
        arguments, conditions), the key dictionary, and per partition its rows
        (as lists: time, arguments, conditions), floor and open attempts."""
        if self._held:
            ids, ts, seq, args, conds = self._concat_held()
        else:
            ids = ts = seq = np.zeros(0, np.int64)
            args = [null_column(k, 0) for k in self.arg_kinds]
            conds = [np.zeros(0, bool) for _ in range(self.n_conditions)]
        return {
            "late_count": self.late_count, "timed_out": self.timed_out, "seq": self._seq,
            "keys": self.keys.snapshot(),
            "held": {"ids": ids.copy(), "ts": ts.copy(), "arrival": seq.copy(),
                     "arg_values": [values_data(a.values) for a in args],
                     "arg_valid": [a.is_valid().copy() for a in args],
                     "conditions": [c.copy() for c in conds]},
            "partitions": [_partition_data(key, part) for key, part in self._parts.items()],
            "pending": [[key, list(values), list(order)] for key, values, order in self._matches],
        }

    def restore(self, data: dict) -> None:
        self.late_count, self.timed_out = int(data["late_count"]), int(data["timed_out"])
        self._seq = int(data["seq"])
        self.keys.restore(data["keys"])
        held = data["held"]
        self._held = []
        if len(held["ids"]):
            args = [Column(values_from_data(v, k), np.asarray(ok, bool))
                    for k, v, ok in zip(self.arg_kinds, held["arg_values"], held["arg_valid"], strict=True)]
            self._held = [(np.asarray(held["ids"], np.int64), np.asarray(held["ts"], np.int64),
                           np.asarray(held["arrival"], np.int64), args,
                           [np.asarray(c, bool) for c in held["conditions"]])]
        self._parts = dict(_partition_from_data(p) for p in data["partitions"])
        self._matches = [(int(key), list(values), list(order))
                         for key, values, order in data["pending"]]


def _partition_data(key: int, part: _Partition) -> dict:
    def thread_data(matched) -> list:
        rows = _matched_rows(matched)
        return [[p for p, _ in rows], [v for _, v in rows]]

    return {
        "key": key, "base": part.base, "floor": part.floor,
        "rows": [list(col) for col in zip(*part.rows)] if part.rows else [],
        "attempts": [{"start": a.start, "start_time": a.start_time,
                      "found": None if a.found is None else thread_data(a.found),
                      "threads": [[state, *thread_data(m)] for state, m in a.threads]}
                     for a in part.attempts],
    }


def _partition_from_data(data: dict) -> tuple[int, _Partition]:
    def matched(positions: list, variables: list):
        return _linked(zip((int(p) for p in positions), (int(v) for v in variables)))

    if any(isinstance(t[0], list) for a in data["attempts"] for t in a["threads"]):
        # before Flink's greedy rule a thread was checkpointed with its steps, not its state
        raise ValueError("this checkpoint holds MATCH_RECOGNIZE partial matches of an older "
                         "sqlc, whose matcher preferred backtracking to Flink's greedy rule; "
                         "they cannot be continued: start without it")
    part = _Partition()
    part.base, part.floor = int(data["base"]), int(data["floor"])
    part.rows = list(zip(*data["rows"])) if data["rows"] else []
    part.attempts = [
        _Attempt(int(a["start"]), int(a["start_time"]),
                 [(int(state), matched(ps, vs)) for state, ps, vs in a["threads"]],
                 None if a["found"] is None else matched(*a["found"]))
        for a in data["attempts"]]
    return int(data["key"]), part
