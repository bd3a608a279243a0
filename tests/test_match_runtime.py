"""Compiled MATCH_RECOGNIZE pipelines against a reference matcher, and Flink's
documented examples ("Pattern Recognition") with their documented output.

The reference (``reference_matches``) is written apart from the runtime: it
enumerates the ways the PATTERN's terms match a sorted list of rows per
partition from each start row in turn (alternatives in order of preference:
greedy one more row first, reluctant one fewer) and keeps Flink's CEP match,
the first to complete: the shortest, ties to the preferred. A greedy
quantifier (a loop, or {n,m} with n < m) is left only on a row its variable
would not take, as Flink's NFACompiler guards the way out; the next start is
chosen by AFTER MATCH SKIP. Its DEFINEs are Python functions written next to
the SQL they mirror, with SQL's three-valued logic. Lateness is decided here
independently too, by Flink's rule: a row is late when its time is at or
below ``max(time of the rows before it) - bound``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from compiler import logical as lg
from compiler.analyze.match_pattern import parse_pattern
from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Diagnostics, Source, Span
from tests.test_match_recognize import GREEDY, OUTPUT_MODE, PRICE_DOWN, WITHIN  # Flink's page

BOUND_MS = 1_000
CATALOG = """
CREATE STREAM ev (
    i BIGINT NOT NULL,
    k VARCHAR,
    v BIGINT,
    ts BIGINT NOT NULL,
    rowtime AS TO_TIMESTAMP(ts),
    WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'ev', 'format' = 'json');
CREATE STREAM Ticker (
    symbol VARCHAR NOT NULL,
    price BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    rowtime AS TO_TIMESTAMP(ts),
    WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'ticker', 'format' = 'json');
"""
BATCH_SIZES = (1, 7, 10_000)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("match")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


def compile_to(workspace: Path, sql: str, tag: str) -> Path:
    compiled = compile_source(Source(f"{tag}.sql", sql), [str(workspace / "catalog.sql")])
    module = workspace / f"{tag}.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    return module


def run(module: Path, events: list[dict], workspace: Path, batch: int,
        source: str = "ev") -> list[dict]:
    data = workspace / f"{module.stem}.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    out = workspace / f"{module.stem}.out.jsonl"
    assert run_module(module, ["--input", f"{source}={data}", "--output", str(out), "--quiet",
                               "--batch-size", str(batch)]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def on_time(events: list[dict]) -> list[dict]:
    kept, high = [], None
    for e in events:
        if high is None or e["ts"] > high - BOUND_MS:
            kept.append(e)
        high = e["ts"] if high is None else max(high, e["ts"])
    return kept


# --------------------------------------------------------------- the reference

def _lt(a, b):
    return None if a is None or b is None else a < b


def _gt(a, b):
    return None if a is None or b is None else a > b


def _ge(a, b):
    return None if a is None or b is None else a >= b


def _or(a, b):
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _values(path: list, var: str | None, column: str) -> list:
    return [row[column] for row, v in path if var is None or v == var]


def _last(path: list, var: str | None, column: str, offset: int = 0):
    found = _values(path, var, column)
    return found[-1 - offset] if offset < len(found) else None


# A reference DEFINE: (rows matched so far with the candidate as its variable) -> SQL truth
Define = Callable[[list], object]

# (SQL of the DEFINE of variable {v}, the same in Python)
DEFINES: list[tuple[str, Callable[[str], Define]]] = [
    ("{v}.v < 5", lambda v: lambda p: _lt(_last(p, v, "v"), 5)),
    ("{v}.v > 2", lambda v: lambda p: _gt(_last(p, v, "v"), 2)),
    ("{v}.v >= LAST({v}.v, 1) OR LAST({v}.v, 1) IS NULL",
     lambda v: lambda p: _or(_ge(_last(p, v, "v"), _last(p, v, "v", 1)),
                             _last(p, v, "v", 1) is None)),
    ("SUM({v}.v) < 12",
     lambda v: lambda p: _lt(sum(x for x in _values(p, v, "v") if x is not None)
                             if any(x is not None for x in _values(p, v, "v")) else None, 12)),
    ("{v}.v > A.v", lambda v: lambda p: _gt(_last(p, v, "v"), _last(p, "A", "v"))),
    ("COUNT({v}.*) <= 2", lambda v: lambda p: len(_values(p, v, "i")) <= 2),
    ("LAST(v, 1) IS NULL OR {v}.v <> LAST(v, 1)",
     lambda v: lambda p: _or(_last(p, None, "v", 1) is None,
                             None if _last(p, v, "v") is None else _last(p, v, "v") != _last(p, None, "v", 1))),
]

MEASURES = ("FIRST(i) AS first_i, LAST(i) AS last_i, COUNT(*) AS n, COUNT(B.*) AS nb, "
            "LAST(A.i) AS la, SUM(B.v) AS sb, FIRST(C.i, 1) AS c1, AVG(v) AS av, "
            "CLASSIFIER() AS cls")


def measures_of(path: list) -> dict:
    vs = [x for x in _values(path, None, "v") if x is not None]
    bs = [x for x in _values(path, "B", "v") if x is not None]
    cs = _values(path, "C", "i")
    return {"first_i": path[0][0]["i"], "last_i": path[-1][0]["i"], "n": len(path),
            "nb": len(_values(path, "B", "i")), "la": _last(path, "A", "i"),
            "sb": sum(bs) if bs else None, "c1": cs[1] if len(cs) > 1 else None,
            "av": sum(vs) / len(vs) if vs else None, "cls": path[-1][1]}


def _term(text: str) -> lg.PatternTerm:
    return parse_pattern(Diagnostics(Source("p.sql", text)), text, Span(0, len(text)))


def _first_variables(term) -> set[str]:
    """The variables the first row of ``term`` can be."""
    if isinstance(term, lg.PatternVariable):
        return {term.name.upper()}
    if isinstance(term, lg.PatternQuantified):
        return _first_variables(term.term)
    if isinstance(term, lg.PatternAlternation):
        return set().union(*(_first_variables(o) for o in term.options))
    found: set[str] = set()
    for part in term.terms:
        found |= _first_variables(part)
        if not _optional(part):
            break
    return found


def _optional(term) -> bool:
    if isinstance(term, lg.PatternVariable):
        return False
    if isinstance(term, lg.PatternQuantified):
        return term.min == 0 or _optional(term.term)
    if isinstance(term, lg.PatternConcat):
        return all(_optional(t) for t in term.terms)
    return any(_optional(o) for o in term.options)


def _greedy(term: lg.PatternQuantified) -> bool:
    """Flink's greedy: loops and {n,m} with n < m; not ? nor {n}."""
    return term.greedy and term.min != term.max and (term.min, term.max) != (0, 1)


def _rejects(defines, path, row, variables) -> bool:
    """No variable of ``variables`` would take ``row`` after ``path``."""
    return all((cond := defines.get(v)) is not None and cond(path + [(row, v)]) is not True
               for v in variables)


def _match(term, rows, pos, path, unless, defines, k, shorter=None):
    """Continuation-passing enumeration of the ways to match ``term`` from
    ``pos``, in order of preference, each handed to ``k(pos, path, unless)``;
    ``unless``: the variables the next row must not be (left by a greedy
    quantifier); ``shorter()``: the length a path must stay below. Returns
    True to stop."""
    if isinstance(term, lg.PatternVariable):
        if pos >= len(rows) or (shorter is not None and len(path) + 1 >= shorter()):
            return False
        if not _rejects(defines, path, rows[pos], unless):
            return False
        name = term.name.upper()  # SQL names: ``a`` and ``A`` are one variable
        candidate = path + [(rows[pos], name)]
        cond = defines.get(name)
        if cond is not None and cond(candidate) is not True:
            return False
        return k(pos + 1, candidate, frozenset())
    if isinstance(term, lg.PatternConcat):
        def chain(i, p, pa, un):
            if i == len(term.terms):
                return k(p, pa, un)
            return _match(term.terms[i], rows, p, pa, un, defines,
                          lambda p2, pa2, un2: chain(i + 1, p2, pa2, un2), shorter)
        return chain(0, pos, path, unless)
    if isinstance(term, lg.PatternAlternation):
        return any(_match(o, rows, pos, path, unless, defines, k, shorter) for o in term.options)

    guard = _first_variables(term.term) if _greedy(term) else set()

    def repeat(count, p, pa, un):
        if count < term.min:
            return _match(term.term, rows, p, pa, un, defines,
                          lambda p2, pa2, un2: repeat(count + 1, p2, pa2, un2), shorter)

        def more():
            if term.max is not None and count >= term.max:
                return False
            # a repetition must consume a row (no empty loops)
            return _match(term.term, rows, p, pa, un, defines,
                          lambda p2, pa2, un2: p2 > p and repeat(count + 1, p2, pa2, un2), shorter)

        def stop():  # leaving a greedy quantifier: the next row must not be one it takes
            return k(p, pa, un | guard)

        return any(attempt() for attempt in ((more, stop) if term.greedy else (stop, more)))
    return repeat(0, pos, path, unless)


def reference_match(term, rows, start, defines, within):
    """Flink's CEP match from row ``start``: the first to complete, i.e. the
    shortest; of equally short ones the first in order of preference. A
    match ending where a greedy quantifier was left is decided on its last
    row: it must not be one the quantifier takes (Flink's end of a match)."""
    best: list = []

    def complete(pos, path, unless):
        if best and len(path) >= len(best[0]):
            return False
        if not path or (within is not None and path[-1][0]["ts"] - path[0][0]["ts"] > within):
            return False
        if unless and not _rejects(defines, path[:-1], path[-1][0], unless):
            return False
        best[:] = [path]
        return len(path) == 1  # nothing is shorter

    _match(term, rows, start, [], frozenset(), defines, complete,
           lambda: len(best[0]) if best else len(rows) + 1)
    return best[0] if best else None


def reference_matches(rows: list[dict], pattern: str, defines: dict[str, Define], after: str,
                      within: int | None) -> list[list]:
    """The matches of one partition's rows (sorted), each as [(row, variable)]."""
    term = _term(pattern)
    matches, start = [], 0
    while start < len(rows):
        found = reference_match(term, rows, start, defines, within)
        if found is None:
            start += 1
            continue
        matches.append(found)
        index = {id(row): n for n, row in enumerate(rows)}
        positions = [(index[id(row)], v) for row, v in found]
        if after == "SKIP PAST LAST ROW":
            start = positions[-1][0] + 1
        elif after.startswith(("SKIP TO FIRST", "SKIP TO LAST")):
            var = after.split()[3]
            mine = [p for p, v in positions if v == var]
            target = (mine[0] if "FIRST" in after else mine[-1]) if mine else start
            start = target if target > start else start + 1
        else:
            start += 1
    return matches


def expected_rows(events, pattern, defines, after, within) -> list[dict]:
    by_key: dict = {}
    for e in on_time(events):
        by_key.setdefault(e["k"], []).append(e)
    out = []
    for key, rows in by_key.items():
        rows.sort(key=lambda e: (e["ts"], e["i"]))  # ties by arrival
        for path in reference_matches(rows, pattern, defines, after, within):
            out.append({"k": key, **measures_of(path)})
    return out


def canonical(rows: list[dict]) -> list:
    def norm(v):
        return round(v, 9) if isinstance(v, float) else v
    return sorted((tuple((k, norm(v)) for k, v in sorted(r.items())) for r in rows), key=repr)


# ------------------------------------------------------------- query and streams

def query(pattern: str, defines: dict[str, str], after: str, within: int | None) -> str:
    define_sql = ",\n        ".join(f"{v} AS {sql}" for v, sql in defines.items())
    within_sql = f" WITHIN INTERVAL '{within}' MILLISECOND" if within is not None else ""
    return f"""SELECT * FROM ev MATCH_RECOGNIZE (
    PARTITION BY k
    ORDER BY rowtime
    MEASURES {MEASURES}
    AFTER MATCH {after}
    PATTERN ({pattern}){within_sql}
    {"DEFINE " + define_sql if defines else ""}
);
"""


QUANTIFIERS = ["", "*", "+", "?", "{2}", "{1,2}", "{2,}", "*?", "+?", "{1,3}?", "{2,}?"]
# the last element: Flink refuses a greedy quantifier there
LAST_QUANTIFIERS = ["", "{2}", "*?", "+?", "{1,3}?"]
SKIPS = ["SKIP PAST LAST ROW", "SKIP TO NEXT ROW", "SKIP TO FIRST B", "SKIP TO LAST B",
         "SKIP TO LAST A"]


@st.composite
def patterns(draw):
    """A PATTERN over A, B, C (each once, in that order), some DEFINEs."""
    names = ["A", "B", "C"]  # the MEASURES read all three
    quants = [draw(st.sampled_from(QUANTIFIERS)) for _ in names[:-1]]
    quants.append(draw(st.sampled_from(LAST_QUANTIFIERS)))
    if all(q in ("*", "?", "*?") for q in quants):  # it must not match nothing
        quants[0] = "+"
    pattern = " ".join(f"{v}{q}" for v, q in zip(names, quants))
    defines = {}
    for v in names:
        choice = draw(st.integers(-1, len(DEFINES) - 1))
        if choice >= 0 and not (DEFINES[choice][0].startswith("{v}.v > A.v") and v == "A"):
            defines[v] = choice
    skip = draw(st.sampled_from([s for s in SKIPS if s.split()[-1] in names + ["ROW"]]))
    if skip == "SKIP TO FIRST A":
        skip = "SKIP TO NEXT ROW"
    within = draw(st.one_of(st.none(), st.sampled_from([1, 1_500, 4_000])))
    return pattern, defines, skip, within


@st.composite
def streams(draw):
    """Out of order within the bound, some far-late rows, equal times, NULL
    values, several keys (NULL one too)."""
    n = draw(st.integers(0, 40))
    clock, events = 1_700_000_000_000, []
    for _ in range(n):
        clock += draw(st.sampled_from([0, 300, 700, 1_000, 2_500]))
        ts = clock + draw(st.sampled_from([0, 0, -400, -999, -5_000]))
        events.append({"k": draw(st.sampled_from(["a", "b", None])),
                       "v": draw(st.one_of(st.none(), st.integers(0, 9))), "ts": ts})
    return [dict(e, i=i) for i, e in enumerate(events)]


def check(workspace: Path, tag: str, case, events, batches=BATCH_SIZES) -> None:
    pattern, chosen, skip, within = case
    sql = {v: DEFINES[c][0].format(v=v) for v, c in chosen.items()}
    python = {v: DEFINES[c][1](v) for v, c in chosen.items()}
    module = compile_to(workspace, query(pattern, sql, skip, within), tag)
    expected = canonical(expected_rows(events, pattern, python, skip, within))
    for batch in batches:
        got = canonical(run(module, events, workspace, batch))
        assert got == expected, (pattern, sql, skip, within, batch)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=patterns(), events=streams())
def test_matches_equal_the_reference(workspace: Path, case, events) -> None:
    check(workspace, "hyp", case, events, batches=(1, 7, 10_000))


FIXED = 1_700_000_000_000


def _stream(values: list, keys: str = "ab", step: int = 500) -> list[dict]:
    return [{"i": i, "k": keys[i % len(keys)], "v": v, "ts": FIXED + i * step - (i % 3) * 300}
            for i, v in enumerate(values)]


VALUES = [1, 7, 3, None, 9, 9, 2, 4, 8, 0, 3, 3, 6, None, 1, 5, 7, 2, 2, 9] * 3


@pytest.mark.parametrize("quantifier", QUANTIFIERS)
def test_every_quantifier(workspace: Path, quantifier: str) -> None:
    case = (f"A B{quantifier} C", {"A": 0, "B": 1, "C": 0}, "SKIP PAST LAST ROW", None)
    check(workspace, "quant", case, _stream(VALUES))


@pytest.mark.parametrize("skip", SKIPS)
def test_every_skip(workspace: Path, skip: str) -> None:
    case = ("A+ B* C", {"A": 1, "B": 2, "C": 0}, skip, None)
    check(workspace, "skip", case, _stream(VALUES, keys="a"))


@pytest.mark.parametrize("within", [1, 500, 1_000, 3_000])
def test_within(workspace: Path, within: int) -> None:
    case = ("A B+? C", {"A": 0, "B": 1, "C": 0}, "SKIP TO NEXT ROW", within)
    check(workspace, "within", case, _stream(VALUES, keys="a", step=400))


def test_alternation_and_groups_in_the_automaton(workspace: Path) -> None:
    from compiler.analyze.match_automaton import build_automaton

    auto = build_automaton(_term("(A | B C) D+?"))
    assert [s.state for s in auto.start] == [0, 1]
    assert [v for v, _ in auto.states] == ["A", "B", "D", "C"]
    # a greedy group is left only on a row its first variables would not take
    (_, loop), *_ = [s for s in build_automaton(_term("(A | B C)+ D")).states if s[0] == "A"]
    assert [(s.state, s.unless) for s in loop] == [(0, ()), (1, ()), (2, ("A", "B"))]


def _grouped(draw, names: list[str], last: bool) -> str:
    """A random PATTERN over ``names`` (in that order): a variable, or a
    concatenation / alternation of parts, each maybe a quantified group."""
    if len(names) == 1 or draw(st.integers(0, 3)) == 0:
        if len(names) == 1:
            return names[0] + draw(st.sampled_from(LAST_QUANTIFIERS if last else QUANTIFIERS))
    cut = draw(st.integers(1, len(names) - 1))
    left, right = _grouped(draw, names[:cut], False), _grouped(draw, names[cut:], last)
    if draw(st.booleans()):
        return f"{left} {right}"
    body = f"({left} | {right})" if draw(st.booleans()) else f"({left} {right})"
    return body + draw(st.sampled_from(LAST_QUANTIFIERS if last else QUANTIFIERS))


@st.composite
def grouped_patterns(draw):
    """Patterns with alternation and quantified groups (a small grammar over
    A, B, C in that order, A and C maybe twice), the ones Flink accepts but
    for those two (sqlc runs them), with random DEFINEs."""
    from compiler.analyze.match_pattern import flink_refusals

    names = draw(st.sampled_from([["A", "B", "C"], ["A", "B", "A", "C"], ["A", "C", "B", "C"]]))
    pattern = _grouped(draw, names, last=True)
    assume(not flink_refusals(_term(pattern)))
    _, defines, skip, within = draw(patterns())
    return pattern, defines, skip, within


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
@given(case=grouped_patterns(), events=streams())
def test_alternation_and_groups_equal_the_reference(workspace: Path, case, events) -> None:
    check(workspace, "hypgroup", case, events, batches=(1, 7, 10_000))


# leftmost option first; greedy groups take one more iteration, reluctant one fewer
GROUPED = ["(A | B) C", "(B | A C)", "(B C | A)", "A (B C)+?", "(A B)+ C", "(A B)*? C",
           "(A | B)+? C", "(A | B){2} C", "(A B | C)", "A (B | C){1,3}?", "(A B?){2,} C"]


# a variable written twice (Flink refuses it): one variable, whichever occurrence a row matched
GROUPED += ["(A B | A C)", "A B a C", "(A B)+ A C", "A B* A+? C", "(A | B) (A | C)",
            "A (B | A)+ C"]


@pytest.mark.parametrize("pattern", GROUPED)
def test_alternation_and_groups(workspace: Path, pattern: str) -> None:
    case = (pattern, {"A": 0, "B": 1, "C": 0}, "SKIP TO NEXT ROW", None)
    check(workspace, "group", case, _stream(VALUES))


# Flink's CEP on small cases, worked out by hand from its NFACompiler (a greedy
# quantifier ANDs NOT(its variable's DEFINE) into every way out of it; ``?`` and
# ``{n}`` are not greedy there) and its NFA (the first match of a start to
# complete is the one emitted): (PATTERN, DEFINEs, AFTER MATCH, v per row,
# (first i, last i) of each match). The reference must agree with them too.
FLINK_CASES = [
    # A+ C, SUM(A) < 12: from row 2 (2, 8: SUM 10, then 1: 11) A can take every
    # row to the end, so C is never tried (a backtracking matcher gives A = 2, 8, C = 1)
    ("A+ C", {"A": "SUM(A.v) < 12"}, "SKIP TO NEXT ROW", [3, 4, 2, 8, 1], [(0, 3), (1, 3)]),
    # after its last repetition too: from row 0 (1, 2) C would be 3, which is an A
    ("A{1,2} C", {"A": "A.v < 5"}, "SKIP PAST LAST ROW", [1, 2, 3, 9, 4, 9], [(1, 3), (4, 5)]),
    # and on skipping it: from row 0, C = 3 is an A, and after A = 3 the NULL is neither
    ("X A* C", {"X": "X.v = 0", "A": "A.v < 5", "C": "C.v > 2"}, "SKIP PAST LAST ROW",
     [0, 3, None, 0, 4, 9], [(3, 5)]),
    # A? is not greedy in Flink: A C completes on row 1, before A B C could on row 2
    ("A B? C", {"A": "A.v < 5", "B": "B.v > 2", "C": "C.v > 2"}, "SKIP PAST LAST ROW",
     [1, 3, 4], [(0, 1)]),
    # a match cannot end right after a greedy A+ (its last row is an A): A+ B*? needs a B
    ("A+ B*?", {"A": "A.v < 5"}, "SKIP PAST LAST ROW", [1, 2, 9, 3], [(0, 2)]),
    # reluctant: no guard, the shortest
    ("A+? C", {"A": "A.v < 5"}, "SKIP PAST LAST ROW", [1, 2, 3, 9], [(0, 1), (2, 3)]),
]


@pytest.mark.parametrize(("pattern", "defines", "skip", "values", "expected"), FLINK_CASES)
def test_greedy_as_flink_cep(workspace: Path, pattern: str, defines: dict, skip: str,
                             values: list, expected: list) -> None:
    events = [{"i": i, "k": "a", "v": v, "ts": FIXED + i * 1_000} for i, v in enumerate(values)]
    sql = query(pattern, defines, skip, None).replace(
        MEASURES, "FIRST(i) AS first_i, LAST(i) AS last_i")
    module = compile_to(workspace, sql, "flink_case")
    for batch in (1, 10_000):
        got = [(r["first_i"], r["last_i"]) for r in run(module, events, workspace, batch)]
        assert got == expected, batch

    def sql_define(sql: str):
        var, op, bound = sql.replace("SUM(", "").replace(")", "").replace(".v", "").split()
        compare = {"<": _lt, ">": _gt, "=": lambda a, b: None if a is None else a == b}[op]
        if sql.startswith("SUM("):
            return lambda p: compare(sum(_values(p, var, "v")), int(bound))
        return lambda p: compare(_last(p, var, "v"), int(bound))

    found = reference_matches(events, pattern, {v: sql_define(d) for v, d in defines.items()},
                              skip, None)
    assert [(m[0][0]["i"], m[-1][0]["i"]) for m in found] == expected


# ------------------------------------------------- Flink's documented examples

def ticker(symbol: str, start: str, step_s: int, prices: list[int], taxes: list[int]) -> list[dict]:
    from datetime import UTC, datetime

    t0 = int(datetime.fromisoformat(start).replace(tzinfo=UTC).timestamp() * 1000)
    return [{"symbol": symbol, "price": p, "tax": t, "ts": t0 + i * step_s * 1000}
            for i, (p, t) in enumerate(zip(prices, taxes))]


def flink_example(workspace: Path, tag: str, sql: str, rows: list[dict]) -> list[list]:
    """The example's output at every batch size (they must agree), as value lists."""
    module = compile_to(workspace, sql, tag)
    outputs = [[list(r.values()) for r in run(module, rows, workspace, b, "ticker")]
               for b in BATCH_SIZES]
    assert outputs[1:] == outputs[:1] * (len(outputs) - 1)
    return outputs[0]


def test_flink_price_down_example(workspace: Path) -> None:
    rows = ticker("ACME", "2011-04-01 10:00:00", 1, [12, 17, 19, 21, 25, 18, 15, 14, 24, 25, 19],
                  [1, 2, 1, 3, 2, 1, 1, 2, 2, 2, 1])
    assert flink_example(workspace, "price_down", PRICE_DOWN, rows) == [
        ["ACME", "2011-04-01 10:00:04.000", "2011-04-01 10:00:07.000", "2011-04-01 10:00:08.000"]]


AVG_BELOW_15 = """SELECT * FROM Ticker MATCH_RECOGNIZE (
    PARTITION BY symbol
    ORDER BY rowtime
    MEASURES
        FIRST(A.rowtime) AS start_tstamp,
        LAST(A.rowtime) AS end_tstamp,
        AVG(A.price) AS avgPrice
    ONE ROW PER MATCH
    AFTER MATCH SKIP PAST LAST ROW
    PATTERN (A+ B)
    DEFINE
        A AS AVG(A.price) < 15
) MR;
"""


def test_flink_aggregation_example(workspace: Path) -> None:
    rows = ticker("ACME", "2011-04-01 10:00:00", 1, [12, 17, 13, 16, 25, 2, 4, 10, 15, 25, 25, 30],
                  [1, 2, 1, 3, 2, 1, 1, 2, 2, 2, 1, 1])
    assert flink_example(workspace, "avg_below", AVG_BELOW_15, rows) == [
        ["ACME", "2011-04-01 10:00:00.000", "2011-04-01 10:00:03.000", 14.5],
        ["ACME", "2011-04-01 10:00:05.000", "2011-04-01 10:00:10.000", 13.5]]


@pytest.mark.parametrize(("quantifier", "expected"), [("*", [16]), ("*?", [13, 16])])
def test_flink_greedy_and_reluctant_example(workspace: Path, quantifier: str,
                                            expected: list[int]) -> None:
    rows = ticker("XYZ", "2018-09-17 10:00:02", 1, [10, 11, 12, 13, 14, 16], [1, 2, 1, 2, 1, 2])
    got = flink_example(workspace, f"greedy{len(quantifier)}",
                        GREEDY.replace("{quantifier}", quantifier), rows)
    assert got == [["XYZ", price] for price in expected]


def test_flink_within_example(workspace: Path) -> None:
    rows = ticker("ACME", "2011-04-01 10:00:00", 20 * 60,
                  [20, 17, 18, 11, 14, 9, 15, 14, 24, 1, 19], [1, 2, 1, 3, 2, 1, 1, 2, 2, 2, 1])
    assert flink_example(workspace, "within_doc", WITHIN, rows) == [
        ["ACME", "2011-04-01 13:00:00.000", 14]]


def test_flink_output_mode_example(workspace: Path) -> None:
    """The page shows one row; it leaves out AFTER MATCH, whose default Flink 2.3
    was observed to be SKIP TO NEXT ROW (FLINK_SEMANTICS.md), which also
    matches from 12 and from 13. With SKIP PAST LAST ROW the page's row alone."""
    rows = ticker("XYZ", "2018-09-17 10:00:02", 1, [10, 12, 13, 11], [1, 2, 1, 2])
    assert flink_example(workspace, "output_mode", OUTPUT_MODE, rows) == [
        ["XYZ", 10, 13, 11], ["XYZ", 12, 13, 11], ["XYZ", 13, 13, 11]]
    past = OUTPUT_MODE.replace("ONE ROW PER MATCH", "ONE ROW PER MATCH AFTER MATCH SKIP PAST LAST ROW")
    assert flink_example(workspace, "output_mode_past", past, rows) == [["XYZ", 10, 13, 11]]


# ------------------------------------------- the FR-ADV-001 golden, by the reference

def test_fr_adv_001_golden_is_the_reference_on_the_sample() -> None:
    """The checked-in golden of FR-ADV-001 (A B+ C on latency, per model, SKIP TO
    NEXT ROW) equals the reference matcher's matches of the sample's on-time rows
    (watermark delay 30 s)."""
    root = Path(__file__).resolve().parent.parent
    lines = (root / "examples" / "data" / "llm_requests.jsonl").read_text().splitlines()
    events = [dict(json.loads(line), ts=json.loads(line)["timestamp_ms"], i=n)
              for n, line in enumerate(lines)]
    kept, high = [], None
    for e in events:
        if high is None or e["ts"] > high - 30_000:
            kept.append(e)
        high = e["ts"] if high is None else max(high, e["ts"])
    lat = "latency_ms"
    defines = {"A": lambda p: _lt(_last(p, "A", lat), 100), "B": lambda p: _gt(_last(p, "B", lat), 1000),
               "C": lambda p: _lt(_last(p, "C", lat), 100)}
    expected = []
    by_model: dict = {}
    for e in kept:
        by_model.setdefault(e["model_id"], []).append(e)
    for model, rows in by_model.items():
        rows.sort(key=lambda e: (e["ts"], e["i"]))
        for path in reference_matches(rows, "A B+ C", defines, "SKIP TO NEXT ROW", None):
            expected.append({"model_id": model, "first_request": _last(path, "A", "request_id"),
                             "last_request": _last(path, "B", "request_id"),
                             "pattern_count": len(path)})
    golden = root / "tests" / "golden" / "output" / "fr_adv_001_match_recognize.jsonl"
    got = [json.loads(line) for line in golden.read_text().splitlines()]
    assert len(expected) == 18
    assert canonical(got) == canonical(expected)


# -------------------------------------- order ties, late rows, bounded state

SECONDARY = """SELECT * FROM ev MATCH_RECOGNIZE (
    PARTITION BY k
    ORDER BY rowtime, v DESC
    MEASURES FIRST(i) AS first_i, LAST(i) AS last_i, COUNT(*) AS n
    AFTER MATCH SKIP PAST LAST ROW
    PATTERN (A B+? C)
    DEFINE A AS A.v > 2, B AS B.v < 5, C AS C.v > 2
);
"""


def test_secondary_order_by_breaks_ties(workspace: Path) -> None:
    """ORDER BY rowtime, v DESC: rows of one time by v descending (NULLs last),
    then arrival; the reference sorts the same way."""
    events = [{"i": i, "k": "ab"[i % 2], "v": [3, None, 1, 7, 4, 0, 8, 2, None, 6][i % 10],
               "ts": FIXED + (i // 4) * 100} for i in range(80)]
    defines = {"A": DEFINES[1][1]("A"), "B": DEFINES[0][1]("B"), "C": DEFINES[1][1]("C")}
    expected = []
    by_key: dict = {}
    for e in on_time(events):
        by_key.setdefault(e["k"], []).append(e)
    for key, rows in by_key.items():
        rows.sort(key=lambda e: (e["ts"], e["v"] is None, -(e["v"] or 0), e["i"]))
        for path in reference_matches(rows, "A B+? C", defines, "SKIP PAST LAST ROW", None):
            expected.append({"k": key, "first_i": path[0][0]["i"], "last_i": path[-1][0]["i"],
                             "n": len(path)})
    assert expected
    module = compile_to(workspace, SECONDARY, "secondary")
    for batch in BATCH_SIZES:
        assert canonical(run(module, events, workspace, batch)) == canonical(expected)


def test_late_rows_are_dropped_counted_and_written(workspace: Path) -> None:
    module = compile_to(workspace, SECONDARY, "late")
    events = _stream(VALUES[:30], keys="a")
    events.append({"i": 99, "k": "a", "v": 9, "ts": FIXED})  # far behind the watermark
    data, late = workspace / "late_in.jsonl", workspace / "late_rows.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    assert run_module(module, ["--input", f"ev={data}", "--output", str(workspace / "late.out"),
                               "--quiet", "--late-events", str(late)]) == 0
    (record,) = [json.loads(line) for line in late.read_text().splitlines()]
    assert record["operator"] == "match" and record["row"]["i"] == 99


def _query_of(module: Path):
    import importlib.util

    from runtime_lib.pipeline import Context

    class Out:
        def __init__(self) -> None:
            self.rows: list = []

        def write(self, batch, ops=None):
            self.rows.extend(batch.to_rows())

    class Counters:
        rows_out = 0

    spec = importlib.util.spec_from_file_location(module.stem, module)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    out = Out()
    return loaded.Query(Context([out], None, None, Counters())), out


def test_within_bounds_the_state_and_counts_what_it_discards(workspace: Path) -> None:
    """A partial match that never completes (A, then B for ever) is discarded
    once WITHIN has passed, counted, and its rows freed: the rows held stay
    about WITHIN's worth however long the stream."""
    import numpy as np

    from runtime_lib.columns import Batch, column_from_pylist
    from runtime_lib.watermarks import Watermarks

    sql = query("A B+ C", {"A": "A.v < 5", "B": "B.v > 5", "C": "C.v < 5"},
                "SKIP PAST LAST ROW", 2_000)
    query_, out = _query_of(compile_to(workspace, sql, "bounded"))
    wm = Watermarks(BOUND_MS)
    held = []
    for b in range(40):
        ts = [FIXED + (b * 50 + j) * 100 for j in range(50)]
        v = [1 if (b * 50 + j) % 500 == 0 else 9 for j in range(50)]  # an A every 50 s
        before, current = wm.observe(0, np.array(ts, np.int64), now_ms=0)
        cols = {"i": column_from_pylist(list(range(b * 50, b * 50 + 50)), "i"),
                "k": column_from_pylist(["a"] * 50, "O"), "v": column_from_pylist(v, "i"),
                "ts": column_from_pylist(ts, "i"), "rowtime": column_from_pylist(ts, "i")}
        query_.on_ev(Batch(cols, 50, before))
        query_.advance({"ev": current})
        held.append(query_.match.held_rows)
    assert query_.match.timed_out == 4 and not out.rows
    assert max(held) <= 2 * (2_000 + BOUND_MS) // 100 + 50  # rows of WITHIN + bound + a batch


@pytest.mark.parametrize("batch", [1, 7, 10_000])
def test_fr_adv_001_output_is_the_same_bytes_at_any_batch_size(tmp_path: Path, batch: int) -> None:
    """Matches leave by the time of their last row (then key, then first row),
    so not only the set but the order of the output is independent of the cuts."""
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "out.jsonl"
    data = root / "examples" / "data" / "llm_requests.jsonl"
    assert run_module(root / "generated" / "fr_adv_001_match_recognize.py",
                      ["--input", f"llm_requests={data}", "--output", str(out), "--quiet",
                       "--batch-size", str(batch)]) == 0
    golden = root / "tests" / "golden" / "output" / "fr_adv_001_match_recognize.jsonl"
    assert out.read_bytes() == golden.read_bytes()


def test_fr_adv_001_stopped_and_resumed_from_a_checkpoint_equals_one_run(tmp_path: Path) -> None:
    """SIGTERM mid-run, then the same command again: it resumes from the last
    checkpoint (the matcher's held rows, partitions and open attempts restored)
    and the output equals an uninterrupted run's, nothing read twice."""
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parent.parent
    module = str(root / "generated" / "fr_adv_001_match_recognize.py")
    events = root / "examples" / "data" / "llm_requests.jsonl"
    out = tmp_path / "out.jsonl"
    args = [sys.executable, module, "--input", f"llm_requests={events}", "--output", str(out),
            "--checkpoint-dir", str(tmp_path / "checkpoints"), "--batch-size", "5",
            "--checkpoint-interval", "20"]
    first = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not out.exists() or out.stat().st_size == 0:  # a checkpoint committed a match
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first.send_signal(signal.SIGTERM)
    _, err1 = first.communicate(timeout=60)
    assert first.returncode == 0 and "stopped by a signal" in err1, err1
    second = subprocess.run(args, check=False, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and "resumed from checkpoint" in second.stderr, second.stderr

    def read(stderr: str) -> int:
        line = [x for x in stderr.splitlines() if "records read" in x][-1]
        return int(line.split("sqlc: ")[1].split(" records read")[0])

    assert 0 < read(err1) < 4998 and read(err1) + read(second.stderr) == 4998
    golden = root / "tests" / "golden" / "output" / "fr_adv_001_match_recognize.jsonl"
    assert out.read_bytes() == golden.read_bytes()


def test_the_benchmark_runs() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(root / "benchmarks" / "match" / "bench_match.py"),
                           "--events", "3000", "--repeat", "1"], check=False, capture_output=True,
                          text=True, timeout=300, cwd=root, env={"PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert "| open=1000 | " in done.stdout


def test_an_older_checkpoint_of_open_matches_is_refused_clearly() -> None:
    """Open threads were checkpointed as step lists before Flink's greedy rule;
    such a checkpoint is refused with a message, not a TypeError mid-restore."""
    from runtime_lib.operators.match_recognize import _partition_from_data

    old = {"key": 0, "base": 0, "floor": 0, "rows": [],
           "attempts": [{"start": 0, "start_time": 0, "found": None, "threads": [[[1, 2], [0], [0]]]}]}
    with pytest.raises(ValueError, match="older sqlc"):
        _partition_from_data(old)
