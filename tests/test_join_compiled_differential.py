"""Compiled joins against DuckDB on generated data.

The runtime join operators are checked against DuckDB in tests/runtime_joins;
this file checks what the code generator adds on top: key extraction (one and
two columns), the residual part of ON, time bounds written in ON or in WHERE,
the wiring of two sources that each have their own WATERMARK (the join's
watermark is the lower of the two), NULL padding, the changelog of regular
joins, and a lookup table read from a file given with ``--input NAME=PATH``.

Each SQL shape is compiled once (``compile_source``) and run many times with
``run_module`` on JSON-lines files that hypothesis writes: keys from a small
set with keys missing from the other side (or from the table), NULL keys,
duplicate keys, equal event times, rows out of order and pairs exactly on the
interval bounds (and 1 ms outside). The same query runs in DuckDB over the
same files, and the final rows must be equal as multisets.

Why DuckDB is exact for the interval joins without any lateness adjustment:
a row is late for the join (behind its watermark) when its event time is <=
the join's watermark before it, which is ``min(own source's watermark, other source's watermark)``
and so never above the own source's ``max(event time so far) - bound``. The
generator keeps every row less than its own stream's bound behind that
stream's highest event time (``t >= clock - bound + 499 ms`` while every
earlier time is <= ``clock + 1 ms``), so no row is ever late, whatever order
the driver interleaves the two files in. And a row still in time finds every
partner: a buffered row is only dropped once the watermark reaches the last
time a partner may have, and that partner would then be late. So the batch
join of all rows is the streaming result; the tests also check that the
late-events file stays empty. ``test_late_row_goes_to_late_events`` covers a
row that is late on purpose.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

BASE = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
DELAY_MS = (3_000, 1_000)  # WATERMARK bounds of ls and rs (different on purpose)

CATALOG = """
CREATE STREAM ls (
    lseq BIGINT NOT NULL,
    lk VARCHAR,
    lg BIGINT,
    lt BIGINT NOT NULL,
    lx DOUBLE,
    ts AS TO_TIMESTAMP(lt),
    proc AS PROCTIME(),
    WATERMARK FOR ts AS ts - INTERVAL '3' SECOND
) WITH ('connector' = 'file', 'path' = '{dir}/ls.jsonl', 'format' = 'json');

CREATE STREAM rs (
    rseq BIGINT NOT NULL,
    rk VARCHAR,
    rg BIGINT,
    rt BIGINT NOT NULL,
    ry DOUBLE,
    ts AS TO_TIMESTAMP(rt),
    WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'file', 'path' = '{dir}/rs.jsonl', 'format' = 'json');

CREATE TABLE tbl (
    tk VARCHAR,
    tv BIGINT,
    tname VARCHAR,
    PRIMARY KEY (tk) NOT ENFORCED
) WITH ('connector' = 'file', 'path' = '{dir}/tbl.jsonl', 'format' = 'json');
"""

# DuckDB reads the very files the pipeline reads, with the DDL's column types
COLUMNS = {
    "ls": "{'lseq': 'BIGINT', 'lk': 'VARCHAR', 'lg': 'BIGINT', 'lt': 'BIGINT', 'lx': 'DOUBLE'}",
    "rs": "{'rseq': 'BIGINT', 'rk': 'VARCHAR', 'rg': 'BIGINT', 'rt': 'BIGINT', 'ry': 'DOUBLE'}",
    "tbl": "{'tk': 'VARCHAR', 'tv': 'BIGINT', 'tname': 'VARCHAR'}",
}

L_COLS = "l.lseq, l.lk, l.lg, l.lt, l.lx"
R_COLS = "r.rseq, r.rk, r.rg, r.rt, r.ry"
BOTH = f"{L_COLS}, {R_COLS}"
RTS_DUCK = "strftime(epoch_ms(r.rt), '%Y-%m-%d %H:%M:%S.%g') AS rts"


def sec(n: int) -> str:
    return f"INTERVAL '{n}' SECOND"


@dataclass(frozen=True)
class Shape:
    sql: str  # Flink SQL, compiled by sqlc
    duck: str  # the same query for DuckDB; {ls} {rs} {tbl} are table scans
    changelog: bool = False  # an updating result (regular outer join)


def uses(module: Path, operator: str) -> bool:
    """Whether the generated module builds the runtime join ``operator``: time
    bounds in WHERE must still give an IntervalJoin (bounded state), a plain
    JOIN of a table a LookupJoin."""
    return f" = {operator}(" in module.read_text(encoding="utf-8")


INTERVAL = {
    "inner_on_2keys": Shape(
        f"SELECT {BOTH} FROM ls l JOIN rs r ON l.lk = r.rk AND l.lg = r.rg "
        f"AND r.ts BETWEEN l.ts - {sec(3)} AND l.ts + {sec(4)}",
        f"SELECT {BOTH} FROM {{ls}} l JOIN {{rs}} r ON l.lk = r.rk AND l.lg = r.rg "
        "AND r.rt BETWEEN l.lt - 3000 AND l.lt + 4000"),
    "left_on": Shape(
        f"SELECT {BOTH} FROM ls l LEFT JOIN rs r ON l.lk = r.rk "
        f"AND r.ts BETWEEN l.ts - {sec(3)} AND l.ts + {sec(4)}",
        f"SELECT {BOTH} FROM {{ls}} l LEFT JOIN {{rs}} r ON l.lk = r.rk "
        "AND r.rt BETWEEN l.lt - 3000 AND l.lt + 4000"),
    "right_on_2keys_negative": Shape(
        f"SELECT {BOTH} FROM ls l RIGHT JOIN rs r ON l.lk = r.rk AND l.lg = r.rg "
        f"AND r.ts BETWEEN l.ts - {sec(4)} AND l.ts - {sec(1)}",
        f"SELECT {BOTH} FROM {{ls}} l RIGHT JOIN {{rs}} r ON l.lk = r.rk AND l.lg = r.rg "
        "AND r.rt BETWEEN l.lt - 4000 AND l.lt - 1000"),
    "full_on_2keys": Shape(
        f"SELECT {BOTH}, r.ts AS rts FROM ls l FULL JOIN rs r ON l.lk = r.rk AND l.lg = r.rg "
        f"AND r.ts BETWEEN l.ts AND l.ts + {sec(3)}",
        f"SELECT {BOTH}, {RTS_DUCK} FROM {{ls}} l FULL JOIN {{rs}} r "
        "ON l.lk = r.rk AND l.lg = r.rg AND r.rt BETWEEN l.lt AND l.lt + 3000"),
    "inner_where_between": Shape(
        f"SELECT {BOTH} FROM ls l JOIN rs r ON l.lk = r.rk "
        f"WHERE r.ts BETWEEN l.ts - {sec(2)} AND l.ts + {sec(2)}",
        f"SELECT {BOTH} FROM {{ls}} l JOIN {{rs}} r ON l.lk = r.rk "
        "WHERE r.rt BETWEEN l.lt - 2000 AND l.lt + 2000"),
    "inner_where_inequalities_2keys": Shape(
        f"SELECT {BOTH} FROM ls l JOIN rs r ON l.lk = r.rk AND l.lg = r.rg "
        f"WHERE l.ts >= r.ts - {sec(1)} AND l.ts <= r.ts + {sec(3)}",
        f"SELECT {BOTH} FROM {{ls}} l JOIN {{rs}} r ON l.lk = r.rk AND l.lg = r.rg "
        "WHERE l.lt >= r.rt - 1000 AND l.lt <= r.rt + 3000"),
    "left_on_residual": Shape(
        f"SELECT {BOTH} FROM ls l LEFT JOIN rs r ON l.lk = r.rk AND l.lx < r.ry "
        f"AND r.ts BETWEEN l.ts - {sec(3)} AND l.ts + {sec(3)}",
        f"SELECT {BOTH} FROM {{ls}} l LEFT JOIN {{rs}} r ON l.lk = r.rk AND l.lx < r.ry "
        "AND r.rt BETWEEN l.lt - 3000 AND l.lt + 3000"),
    "full_on_2keys_residual": Shape(
        f"SELECT {BOTH} FROM ls l FULL JOIN rs r ON l.lk = r.rk AND l.lg = r.rg "
        f"AND r.ts BETWEEN l.ts - {sec(2)} AND l.ts + {sec(2)} AND l.lx <> r.ry",
        f"SELECT {BOTH} FROM {{ls}} l FULL JOIN {{rs}} r ON l.lk = r.rk AND l.lg = r.rg "
        "AND r.rt BETWEEN l.lt - 2000 AND l.lt + 2000 AND l.lx <> r.ry"),
}

LOOKUP = {
    "left_system_time": Shape(
        f"SELECT {L_COLS}, t.tk, t.tv, t.tname FROM ls l "
        "LEFT JOIN tbl FOR SYSTEM_TIME AS OF l.proc AS t ON l.lk = t.tk",
        f"SELECT {L_COLS}, t.tk, t.tv, t.tname FROM {{ls}} l LEFT JOIN {{tbl}} t ON l.lk = t.tk"),
    "inner_plain": Shape(  # the spec's form: a plain JOIN of a table, run as a lookup join
        f"SELECT {L_COLS}, t.tv, t.tname FROM ls l JOIN tbl t ON l.lk = t.tk",
        f"SELECT {L_COLS}, t.tv, t.tname FROM {{ls}} l JOIN {{tbl}} t ON l.lk = t.tk"),
}

REGULAR = {
    # insert-only, as in Flink (EXPLAIN: changelog=[I]); its rows carry "_op": "+I"
    # all the same, which test_regular_inner_join_writes_an_append_only_result shows
    "inner_2keys": Shape(
        f"SELECT {BOTH} FROM ls l JOIN rs r ON l.lk = r.rk AND l.lg = r.rg",
        f"SELECT {BOTH} FROM {{ls}} l JOIN {{rs}} r ON l.lk = r.rk AND l.lg = r.rg",
        changelog=True),
    "left": Shape(
        f"SELECT {BOTH} FROM ls l LEFT JOIN rs r ON l.lk = r.rk",
        f"SELECT {BOTH} FROM {{ls}} l LEFT JOIN {{rs}} r ON l.lk = r.rk",
        changelog=True),
    "left_2keys_residual": Shape(
        f"SELECT {BOTH} FROM ls l LEFT JOIN rs r ON l.lk = r.rk AND l.lg = r.rg AND l.lx < r.ry",
        f"SELECT {BOTH} FROM {{ls}} l LEFT JOIN {{rs}} r ON l.lk = r.rk AND l.lg = r.rg "
        "AND l.lx < r.ry",
        changelog=True),
}

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ------------------------------------------------------------------ compiling


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory):
    """compiled(sql) -> the generated module's path, compiled once per SQL text."""
    workdir = tmp_path_factory.mktemp("join_compiled")
    catalog = workdir / "catalog.sql"
    catalog.write_text(CATALOG.format(dir=workdir), encoding="utf-8")
    modules: dict[str, Path] = {}

    def get(sql: str) -> Path:
        if sql not in modules:
            module = workdir / f"q{len(modules)}.py"
            module.write_text(compile_source(Source("q.sql", sql), [str(catalog)]).module or "",
                              encoding="utf-8")
            modules[sql] = module
        return modules[sql]

    return get


# ----------------------------------------------------------------------- data

# "a" and 1 more often than the rest, so that two-column keys match often enough
KEYS = (["a", "a", "b", "é", None, "only-l"], ["a", "a", "b", "é", None, "only-r"])
GROUPS = st.sampled_from([1, 1, 2, None])
VALUES = st.one_of(st.none(), st.integers(-2, 2).map(float))
JITTER = st.sampled_from([0, 0, 0, 0, 1, -1])  # 1 ms inside/outside a bound


@st.composite
def two_streams(draw, late: bool = False, max_rounds: int = 12):
    """Rows of ls and rs in arrival (file) order. Both streams follow one clock,
    round by round (0-2 rows of each per round), so they advance together.
    Event times sit on a 500 ms grid (the intervals' bounds are whole seconds,
    so many pairs are exactly on a bound), 1 ms off it now and then. Without
    ``late``, a row is behind the clock by less than its own stream's bound
    (never late, see the module docstring); with ``late``, one row in ten is
    up to 15 s behind."""
    clock = BASE
    out: tuple[list, list] = ([], [])
    for _ in range(draw(st.integers(0, max_rounds))):
        clock += draw(st.sampled_from([0, 500, 1_000, 1_000, 2_000, 4_000]))
        for s in (0, 1):
            for _ in range(draw(st.integers(0, 2))):
                if late and draw(st.integers(0, 9)) == 0:
                    behind = draw(st.integers(DELAY_MS[s], 15_000))
                else:
                    behind = draw(st.sampled_from(range(0, DELAY_MS[s], 500)))
                t = clock - behind + draw(JITTER)
                seq = len(out[s]) + 1_000 * s
                out[s].append((seq, draw(st.sampled_from(KEYS[s])), draw(GROUPS), t, draw(VALUES)))
    return out


TABLES = st.lists(
    st.tuples(st.sampled_from(["a", "b", "é", "only-t"]), st.one_of(st.none(), st.integers(-5, 5)),
              st.one_of(st.none(), st.sampled_from(["x", "ü y", ""]))),
    max_size=4, unique_by=lambda row: row[0])


def write_jsonl(path: Path, names: list[str], rows: list[tuple]) -> None:
    path.write_text("".join(json.dumps(dict(zip(names, r))) + "\n" for r in rows),
                    encoding="utf-8")


def write_inputs(workdir: Path, ls_rows, rs_rows=None, tbl_rows=None) -> dict[str, Path]:
    """The input files (rs and tbl only when given): name -> path."""
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {"ls": workdir / "ls.jsonl"}
    write_jsonl(paths["ls"], ["lseq", "lk", "lg", "lt", "lx"], list(ls_rows))
    if rs_rows is not None:
        paths["rs"] = workdir / "rs.jsonl"
        write_jsonl(paths["rs"], ["rseq", "rk", "rg", "rt", "ry"], list(rs_rows))
    if tbl_rows is not None:
        paths["tbl"] = workdir / "tbl.jsonl"
        write_jsonl(paths["tbl"], ["tk", "tv", "tname"], list(tbl_rows))
    return paths


# -------------------------------------------------------------- run and oracle


@dataclass
class Run:
    records: list[dict]  # output lines, "_op" included when present
    late: list[dict]  # lines of the --late-events file
    dead: str  # the dead-letter file's text


def run(module: Path, paths: dict[str, Path], workdir: Path, batch_size: int) -> Run:
    out, late = workdir / "out.jsonl", workdir / "late.jsonl"
    argv = ["--output", str(out), "--late-events", str(late), "--quiet",
            "--batch-size", str(batch_size)]
    for name, path in paths.items():
        argv += ["--input", f"{name}={path}"]
    assert run_module(module, argv) == 0
    dead = workdir / "out.jsonl.dead-letter.jsonl"
    return Run([json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()],
               [json.loads(line) for line in late.read_text(encoding="utf-8").splitlines()],
               dead.read_text(encoding="utf-8") if dead.exists() else "")


def duck(shape: Shape, paths: dict[str, Path]) -> tuple[list[str], list[tuple]]:
    """DuckDB's column names and rows for the shape's query over the files."""
    scans = {name: f"read_json('{path}', format='newline_delimited', columns={COLUMNS[name]})"
             for name, path in paths.items()}
    cursor = duckdb.connect().execute(shape.duck.format(**scans))
    return [d[0] for d in cursor.description], cursor.fetchall()


def final_rows(records: list[dict], changelog: bool) -> list[tuple]:
    """The result table: an append-only result as is; an updating one after
    applying its changelog (``+I``/``+U`` add a row, ``-U``/``-D`` take back
    one that is there, see runtime_lib/io/sinks.py)."""
    if not changelog:
        assert all("_op" not in r for r in records), "an append-only result carries no _op"
        return [tuple(r.values()) for r in records]
    table: Counter = Counter()
    for record in records:
        op = record.get("_op", "+I")
        row = tuple(v for k, v in record.items() if k != "_op")
        if op in ("+I", "+U"):
            table[row] += 1
        else:
            assert op in ("-U", "-D"), op
            assert table[row] > 0, f"{op} of a row that is not in the result: {row}"
            table[row] -= 1
    return list(table.elements())


def norm(rows) -> list[tuple]:
    """A multiset as a sorted list; NULLs sort first; NaN never occurs here."""
    def key(row):
        return tuple((v is not None, v if v is not None else 0) for v in row)

    for row in rows:
        assert not any(isinstance(v, float) and math.isnan(v) for v in row)
    return sorted((tuple(r) for r in rows), key=key)


def check(shape: Shape, module: Path, paths: dict[str, Path], workdir: Path,
          batch_size: int, insert_only: bool = False) -> list[tuple]:
    result = run(module, paths, workdir, batch_size)
    assert result.dead == "", result.dead
    assert result.late == [], "no row of these streams is late, yet some were dropped"
    if insert_only:
        assert {r.get("_op", "+I") for r in result.records} <= {"+I"}
    retractions = sum(1 for r in result.records if r.get("_op") in ("-U", "-D"))
    got = norm(final_rows(result.records, shape.changelog))
    names, want = duck(shape, paths)
    assert all([k for k in r if k != "_op"] == names for r in result.records)
    assert got == norm(want)
    if currently_in_test_context():  # what the examples exercised, for
        # pytest --hypothesis-show-statistics; column 5 is the first of the other
        # side's (NULL when padded; for lookups, the table's)
        padded = sum(1 for r in got if r[0] is None or r[5] is None)
        bucket = {0: "0", 1: "1-4"}.get(min((len(got) - padded + 4) // 5, 2), "5+")
        event(f"joined rows: {bucket}, NULL-padded rows: {'yes' if padded else 'no'}")
        if shape.changelog:
            event(f"retractions in the changelog: {'yes' if retractions else 'no'}")
    return got


# ---------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", list(INTERVAL))
@SETTINGS
@given(data=two_streams(), batch_size=st.sampled_from([1, 2, 1_000]))
def test_interval_join_equals_duckdb(name: str, data, batch_size: int, compiled) -> None:
    shape = INTERVAL[name]
    module = compiled(shape.sql)
    assert uses(module, "IntervalJoin")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        check(shape, module, write_inputs(workdir, *data), workdir, batch_size)


@pytest.mark.parametrize("name", list(LOOKUP))
@SETTINGS
@given(data=two_streams(late=True), table=TABLES, batch_size=st.sampled_from([1, 3, 1_000]))
def test_lookup_join_on_a_file_table_equals_duckdb(name: str, data, table, batch_size: int,
                                                   compiled) -> None:
    """The table stays the same during a run, so the lookup join's rows are the
    regular join's (FLINK_SEMANTICS: Joins). A lookup join has no lateness:
    the stream may be far out of order."""
    shape = LOOKUP[name]
    module = compiled(shape.sql)
    assert uses(module, "LookupJoin")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        check(shape, module, write_inputs(workdir, data[0], tbl_rows=table), workdir, batch_size)


@pytest.mark.parametrize("name", list(REGULAR))
@SETTINGS
@given(data=two_streams(late=True), batch_size=st.sampled_from([1, 2, 1_000]))
def test_regular_join_changelog_materializes_to_duckdb(name: str, data, batch_size: int,
                                                       compiled) -> None:
    """A regular join keeps every row (no lateness), so far out-of-order rows
    join too; its changelog, applied in order, ends at DuckDB's rows."""
    shape = REGULAR[name]
    module = compiled(shape.sql)
    assert uses(module, "Join")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        check(shape, module, write_inputs(workdir, *data), workdir, batch_size,
              insert_only=name.startswith("inner"))


def test_regular_inner_join_writes_an_append_only_result(compiled, tmp_path: Path) -> None:
    """A regular INNER join of two append-only streams is insert-only (Flink;
    sqlc's EXPLAIN says changelog=[I]), and an insert-only result is written
    without the "_op" key (runtime_lib/io/sinks.py: only updating results carry
    it), like the interval and lookup joins' results."""
    module = compiled(REGULAR["inner_2keys"].sql)
    paths = write_inputs(tmp_path, [(1, "a", 1, BASE, 1.0)], [(1_000, "a", 1, BASE, 2.0)])
    records = run(module, paths, tmp_path, batch_size=1_000).records
    assert records == [{"lseq": 1, "lk": "a", "lg": 1, "lt": BASE, "lx": 1.0,
                        "rseq": 1_000, "rk": "a", "rg": 1, "rt": BASE, "ry": 2.0}]


def test_pairs_exactly_on_both_bounds(compiled, tmp_path: Path) -> None:
    """BETWEEN is inclusive at both ends (r.ts in [l.ts - 3 s, l.ts + 4 s]):
    pairs exactly on either bound match, pairs 1 ms outside are NULL-padded;
    once with right rows around one left row, once the other way round."""
    shape = INTERVAL["inner_on_2keys"]
    full = Shape(shape.sql.replace(" JOIN ", " FULL JOIN ", 1),
                 shape.duck.replace(" JOIN ", " FULL JOIN ", 1))
    t = BASE + 10_000
    around_left = ([(1, "a", 1, t, 0.0)],
                   [(1_000, "a", 1, t - 3_000, 0.0), (1_001, "a", 1, t - 3_001, 0.0),
                    (1_002, "a", 1, t + 4_000, 0.0), (1_003, "a", 1, t + 4_001, 0.0)])
    around_right = ([(1, "a", 1, t - 4_000, 0.0), (2, "a", 1, t - 4_001, 0.0),
                     (3, "a", 1, t + 3_000, 0.0), (4, "a", 1, t + 3_001, 0.0)],
                    [(1_000, "a", 1, t, 0.0)])
    for batch_size in (1, 1_000):
        for case, (ls_rows, rs_rows) in enumerate((around_left, around_right)):
            workdir = tmp_path / f"{batch_size}_{case}"
            got = check(full, compiled(full.sql), write_inputs(workdir, ls_rows, rs_rows),
                        workdir, batch_size)
            pairs = sorted((r[0], r[5]) for r in got if r[0] is not None and r[5] is not None)
            padded = sorted(r[0] if r[5] is None else r[5] for r in got
                            if r[0] is None or r[5] is None)
            if case == 0:
                assert (pairs, padded) == ([(1, 1_000), (1, 1_002)], [1_001, 1_003])
            else:
                assert (pairs, padded) == ([(1, 1_000), (3, 1_000)], [2, 4])


def test_late_row_goes_to_late_events(compiled, tmp_path: Path) -> None:
    """Rows behind the join's watermark are never silently lost: the streaming
    result may differ from the batch join only in rows of late rows, and a late
    row whose batch-join rows did not all come out is written to --late-events
    (with the operator and a reason). No row in time is reported, and the rows
    in time join exactly as in DuckDB.

    One row per micro-batch, so the driver alternates ls, rs, ls, ...: before
    ls row 3 (t = BASE + 1 s) the ls watermark is 20 s - 3 s and the rs
    watermark 20 s - 1 s, so the join's is BASE + 17 s; before rs row 1002
    (BASE + 2 s) it is min(19 s, 17 s) = BASE + 17 s. Both are behind it, and
    in the batch join each has partners (ls 1 and 3 with rs 1000 and 1002)
    that the watermark has freed from state. ls row 4 (BASE + 18 s) is in
    time. The late rows cannot meet any row still buffered, so the rows in
    time come out the same whether a late row is dropped or, as in Flink's
    interval join, joined with what is left (or NULL-padded)."""
    shape = INTERVAL["left_on"]
    module = compiled(shape.sql)
    ls_rows = [(1, "a", 1, BASE, 1.0), (2, "a", 1, BASE + 20_000, 2.0),
               (3, "a", 1, BASE + 1_000, 3.0), (4, "a", 1, BASE + 18_000, 4.0)]
    rs_rows = [(1_000, "a", 1, BASE + 1_000, 1.0), (1_001, "a", 1, BASE + 20_000, 2.0),
               (1_002, "a", 1, BASE + 2_000, 3.0), (1_003, "a", 1, BASE + 19_000, 4.0)]
    behind = {3: BASE + 1_000, 1_002: BASE + 2_000}  # seq -> event time
    paths = write_inputs(tmp_path, ls_rows, rs_rows)
    result = run(module, paths, tmp_path, batch_size=1)
    assert result.dead == ""
    got = norm(final_rows(result.records, changelog=False))

    reported = set()
    for record in result.late:
        seq = record["row"].get("lseq", record["row"].get("rseq"))
        assert record["operator"] == "interval_join_rs" and record["reason"], record
        assert record["row"].get("lt", record["row"].get("rt")) == behind.get(seq), record
        reported.add(seq)
    missing = Counter(norm(duck(shape, paths)[1])) - Counter(got)
    for seq in behind:
        lost = [r for r in missing if seq in (r[0], r[5])]
        assert seq in reported or not lost, f"late row {seq} silently lost its rows {lost}"

    # the rows in time: DuckDB over the files without the late rows
    kept = write_inputs(tmp_path / "kept", [r for r in ls_rows if r[0] not in behind],
                        [r for r in rs_rows if r[0] not in behind])
    in_time = [r for r in got if r[0] not in behind and r[5] not in behind]
    assert in_time == norm(duck(shape, kept)[1])
