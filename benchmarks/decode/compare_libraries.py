"""Which library turns JSON lines into the runtime's columns fastest (issue 18).

    PYTHONPATH=$PWD:/tmp/benchlibs taskset -c 1 .venv/bin/python \\
        benchmarks/decode/compare_libraries.py [--events 1000000] [--repeat 3] [--probe]

(polars and pyarrow are not in the venv: ``pip install --target /tmp/benchlibs
polars pyarrow``; a missing library's rows say n/a.)

The step timed is the whole "JSON-lines file -> the numpy columns the runtime
uses" (``runtime_lib/columns.py``): BIGINT as int64, DOUBLE as float64 with
NaN filler + a validity mask where nullable, VARCHAR as an object array of
``str`` (None filler) + mask, on ``bench_stateless.make_events`` events (306
bytes, 12 JSON fields) reading 5 of them: the 4 the filter query
``examples/fr_dql_001_basic_select.sql`` reads (model_id, timestamp_ms,
latency_ms, cost) and region (a nullable VARCHAR a GROUP BY would read).
Each candidate's columns are checked equal to the runtime's (``FileSource``)
before anything is timed.

The "dict" variants keep each VARCHAR as int32 codes (-1 = NULL) + a list of
its distinct values (late materialization) instead of one ``str`` per row.

Baseline: DuckDB, one thread, running the filter query of bench_stateless.py
over the same file (read_json + WHERE latency_ms > 1000 + COPY TO JSON).

Times are CPU seconds of this process (``time.process_time``; pin it with
``taskset -c 1``); rounds go over all candidates in turn, each keeps its best
and its worst round (the spread). ``--probe`` instead feeds every library a
few bad lines and prints what it does with each (error, value, coercion).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import msgspec
import numpy as np

from runtime_lib.io.sources import FileSource
from runtime_lib.schema import Field

try:
    import polars as pl
except ImportError:  # not in the venv
    pl = None
try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pa_json
except ImportError:
    pa = None
import duckdb

FIELDS = [
    Field("model_id", "VARCHAR", False),
    Field("region", "VARCHAR", True),
    Field("timestamp_ms", "BIGINT", False),
    Field("latency_ms", "DOUBLE", True),
    Field("cost", "DOUBLE", True),
]
NAMES = [f.name for f in FIELDS]
STRINGS = ["model_id", "region"]

# A column: (values, valid or None). A dict column: (codes int32, values list).


def _masked(values: np.ndarray, null: np.ndarray | None):
    return values, (None if null is None or not null.any() else ~null)


# -- (a) the runtime's file source ------------------------------------------


def runtime_source(path: Path, dictionary: bool = False) -> dict:
    columns: dict[str, list] = {n: [] for n in NAMES}
    for batch, _dead in FileSource(path, FIELDS, "json", batch_size=65_536):
        for n in NAMES:
            columns[n].append(batch[n])
    out = {}
    for n in NAMES:
        parts = columns[n]
        values = np.concatenate([c.values for c in parts])
        valid = None
        if any(c.valid is not None for c in parts):
            valid = np.concatenate([c.is_valid() for c in parts])
        out[n] = (values, valid)
    if dictionary:  # what it would cost to make codes after the fact
        for n in STRINGS:
            out[n] = _codes_from_objects(*out[n])
    return out


def _codes_from_objects(values: np.ndarray, valid: np.ndarray | None):
    """int32 codes + distinct values of an object column (a Python dict per row)."""
    table: dict = {}
    add = table.setdefault
    codes = np.fromiter((add(v, len(table)) for v in values.tolist()), np.int32, len(values))
    if valid is not None:
        codes[~valid] = -1
    return codes, list(table)


# -- msgspec, the whole file in one decode_lines call (upper bound) ----------


class _Event(msgspec.Struct, array_like=False, gc=False):
    model_id: str
    timestamp_ms: int
    region: str | None = None
    latency_ms: float | None = None
    cost: float | None = None


def msgspec_whole(path: Path, dictionary: bool = False) -> dict:
    rows = msgspec.json.Decoder(_Event).decode_lines(path.read_bytes())
    from operator import attrgetter

    out = {}
    n = len(rows)
    for name in NAMES:
        get = attrgetter(name)
        if name in ("latency_ms", "cost"):
            values = np.fromiter(map(get, rows), np.float64, n)  # None -> NaN
            out[name] = _masked(values, np.isnan(values))
        elif name == "timestamp_ms":
            out[name] = (np.fromiter(map(get, rows), np.int64, n), None)
        else:
            values = np.array(list(map(get, rows)), dtype=object)
            null = values == None
            out[name] = _masked(values, null)
            if dictionary:
                out[name] = _codes_from_objects(*out[name])
    return out


# -- (b) polars ---------------------------------------------------------------


def polars_read(path: Path, dictionary: bool = False) -> dict:
    text = pl.Categorical if dictionary else pl.Utf8
    schema = {"model_id": text, "region": text, "timestamp_ms": pl.Int64,
              "latency_ms": pl.Float64, "cost": pl.Float64}
    df = pl.read_ndjson(path, schema=schema)
    out = {}
    for name in NAMES:
        s = df[name]
        null = s.is_null().to_numpy() if s.null_count() else None
        if name in STRINGS and dictionary:
            arr = s.to_arrow()
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            codes = arr.indices.cast(pa.int32()).fill_null(-1).to_numpy().astype(np.int32, copy=False)
            out[name] = (codes, arr.dictionary.to_pylist())
        elif name in STRINGS:
            out[name] = _masked(s.to_numpy(), null)
        elif name == "timestamp_ms":
            out[name] = (s.to_numpy(), None)
        else:
            out[name] = _masked(s.fill_null(np.nan).to_numpy(), null)
    return out


# -- (c) pyarrow --------------------------------------------------------------


def _arrow_columns(table, dictionary: bool) -> dict:
    out = {}
    for name in NAMES:
        col = table.column(name).combine_chunks()
        null = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else None
        if name in STRINGS and dictionary:
            enc = col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)
            codes = enc.indices.cast(pa.int32()).fill_null(-1).to_numpy(zero_copy_only=False)
            out[name] = (codes.astype(np.int32, copy=False), enc.dictionary.to_pylist())
        elif name in STRINGS:
            out[name] = _masked(col.to_numpy(zero_copy_only=False), null)
        elif name == "timestamp_ms":
            out[name] = (col.to_numpy(), None)
        else:
            out[name] = _masked(col.fill_null(np.nan).to_numpy(), null)
    return out


def pyarrow_read(path: Path, dictionary: bool = False) -> dict:
    schema = pa.schema([("model_id", pa.string()), ("region", pa.string()),
                        ("timestamp_ms", pa.int64()), ("latency_ms", pa.float64()),
                        ("cost", pa.float64())])
    table = pa_json.read_json(
        path, read_options=pa_json.ReadOptions(use_threads=False, block_size=1 << 22),
        parse_options=pa_json.ParseOptions(explicit_schema=schema,
                                           unexpected_field_behavior="ignore"))
    return _arrow_columns(table, dictionary)


# -- (d) DuckDB ---------------------------------------------------------------

_DUCK_COLUMNS = ("{model_id: 'VARCHAR', region: 'VARCHAR', timestamp_ms: 'BIGINT', "
                 "latency_ms: 'DOUBLE', cost: 'DOUBLE'}")


def _duck() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 1")
    return con


def duckdb_read(path: Path, dictionary: bool = False) -> dict:
    con = _duck()
    query = (f"SELECT {', '.join(NAMES)} FROM read_json('{path}', "
             f"format = 'newline_delimited', columns = {_DUCK_COLUMNS})")
    if dictionary:  # through Arrow (needs pyarrow): DuckDB has no code export of VARCHAR
        return _arrow_columns(con.sql(query).to_arrow_table(), True)
    got = con.execute(query).fetchnumpy()
    out = {}
    for name in NAMES:
        v = got[name]
        if isinstance(v, np.ma.MaskedArray):
            null = np.ma.getmaskarray(v)
            fill = None if name in STRINGS else np.nan
            values = v.filled(fill) if name not in STRINGS else np.where(null, None, v.data)
            out[name] = _masked(np.asarray(values, dtype=v.dtype), null)
        elif name in STRINGS:
            out[name] = _masked(v, v == None)
        else:
            out[name] = (v, None)
        if name in ("latency_ms", "cost") and out[name][1] is None:
            null = np.isnan(out[name][0])
            out[name] = _masked(out[name][0], null)
    return out


_DUCK_EXACT = """
SELECT m ->> '$' AS model_id, r ->> '$' AS region, TRY_CAST(t AS BIGINT) AS timestamp_ms,
       TRY_CAST(l AS DOUBLE) AS latency_ms, TRY_CAST(c AS DOUBLE) AS cost,
       json_type(m) IS DISTINCT FROM 'VARCHAR'
       OR (r IS NOT NULL AND json_type(r) NOT IN ('VARCHAR', 'NULL'))
       OR json_type(t) NOT IN ('BIGINT', 'UBIGINT') OR TRY_CAST(t AS BIGINT) IS NULL
       OR (l IS NOT NULL AND json_type(l) NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'NULL'))
       OR (c IS NOT NULL AND json_type(c) NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'NULL'))
       AS bad
FROM read_json('{path}', format = 'newline_delimited',
               columns = {{model_id: 'JSON', region: 'JSON', timestamp_ms: 'JSON',
                           latency_ms: 'JSON', cost: 'JSON'}}) AS j(m, r, t, l, c)"""


# The same check on the raw text (first character, '.'/'e' in integers)
# instead of json_type: the fields are still read as JSON, which is the cost.
_DUCK_EXACT_TEXT = """
SELECT json_extract_string(m, '$') AS model_id, json_extract_string(r, '$') AS region,
       TRY_CAST(t AS BIGINT) AS timestamp_ms,
       TRY_CAST(l AS DOUBLE) AS latency_ms, TRY_CAST(c AS DOUBLE) AS cost,
       m IS NULL OR NOT starts_with(m, '"')
       OR (r IS NOT NULL AND NOT starts_with(r, '"') AND r <> 'null')
       OR TRY_CAST(t AS BIGINT) IS NULL OR contains(t, '.') OR contains(lower(t), 'e')
       OR (l IS NOT NULL AND l <> 'null' AND NOT (l[1] BETWEEN '0' AND '9' OR l[1] = '-'))
       OR (c IS NOT NULL AND c <> 'null' AND NOT (c[1] BETWEEN '0' AND '9' OR c[1] = '-'))
       AS bad
FROM (SELECT m::VARCHAR AS m, r::VARCHAR AS r, t::VARCHAR AS t, l::VARCHAR AS l,
             c::VARCHAR AS c
      FROM read_json('{path}', format = 'newline_delimited',
                     columns = {{model_id: 'JSON', region: 'JSON', timestamp_ms: 'JSON',
                                 latency_ms: 'JSON', cost: 'JSON'}}) AS j(m, r, t, l, c))"""


def duckdb_exact_text(path: Path, dictionary: bool = False) -> dict:
    return duckdb_exact(path, dictionary, _DUCK_EXACT_TEXT)


def duckdb_exact(path: Path, dictionary: bool = False, query: str = _DUCK_EXACT) -> dict:
    """DuckDB with the fields read as JSON and their JSON types checked in SQL
    (a batch with any ``bad`` row would go to the strict path): what its
    silent coercions cost to rule out. (Two objects on a line and duplicate
    keys are refused by DuckDB itself.)"""
    got = _duck().execute(query.format(path=path)).fetchnumpy()
    if got["bad"].any():
        raise ValueError("a record of a wrong JSON type: the strict path decides")
    out = {}
    for name in NAMES:
        v = got[name]
        null = np.ma.getmaskarray(v) if isinstance(v, np.ma.MaskedArray) else None
        data = v.data if isinstance(v, np.ma.MaskedArray) else v
        if name in STRINGS:
            data = np.where(null, None, data) if null is not None else data
            out[name] = _masked(np.asarray(data, dtype=object), null)
        elif name == "timestamp_ms":
            out[name] = (np.asarray(data, np.int64), None)
        else:
            values = np.where(null, np.nan, data) if null is not None else data
            out[name] = _masked(np.asarray(values, np.float64), null)
    return out


def duckdb_filter_query(path: Path, out: Path) -> None:
    """bench_stateless.duckdb_run: the whole filter query, the baseline."""
    from bench_stateless import duckdb_run

    duckdb_run(path, out)


# -- checks and timing --------------------------------------------------------


def _decoded(columns: dict) -> dict:
    """Dict columns back to values + masks, to compare with the runtime's."""
    out = {}
    for name, (a, b) in columns.items():
        if isinstance(b, list):
            lookup = np.array(b + [None], dtype=object)
            values = lookup[a]  # -1 -> the None at the end
            out[name] = _masked(values, values == None)
        else:
            out[name] = (a, b)
    return out


def same_columns(expected: dict, got: dict) -> str | None:
    got = _decoded(got)
    for name in NAMES:
        ev, em = expected[name]
        gv, gm = got[name]
        em = np.ones(len(ev), bool) if em is None else em
        gm = np.ones(len(gv), bool) if gm is None else gm
        if len(ev) != len(gv):
            return f"{name}: {len(gv)} rows, expected {len(ev)}"
        if not np.array_equal(em, gm):
            return f"{name}: NULLs differ"
        if ev.dtype != gv.dtype and not (name in STRINGS and gv.dtype == object):
            return f"{name}: dtype {gv.dtype}, expected {ev.dtype}"
        if not np.array_equal(ev[em], gv[gm]):
            return f"{name}: values differ"
    return None


CANDIDATES = [
    ("(a) runtime FileSource (msgspec decode_lines, 64 KB)", runtime_source, True),
    ("(e) msgspec decode_lines, whole file, no check", msgspec_whole, True),
    ("(b) polars read_ndjson(schema) + to_numpy", polars_read, pl is not None),
    ("(c) pyarrow.json read_json(schema, ignore) + to_numpy", pyarrow_read, pa is not None),
    ("(d) duckdb read_json(columns) + fetchnumpy", duckdb_read, True),
    ("(f) duckdb, fields as JSON + json_type checks (exact)", duckdb_exact, True),
    ("(g) duckdb, fields as JSON + first-character checks", duckdb_exact_text, True),
]


def shared_strings(fn):
    """``fn``'s dictionary variant, its VARCHAR codes then turned back into
    object arrays by one numpy take of the few distinct ``str`` (shared, not
    one per row): the runtime's columns as they are, no runtime change."""

    def read(path: Path, dictionary: bool = False) -> dict:
        out = fn(path, True)
        for name in STRINGS:
            codes, values = out[name]
            out[name] = _masked(np.array(values + [None], dtype=object)[codes], codes < 0)
        return out

    return read


def parse_only(fn_name: str):
    """The library's own reader, no numpy: where the time goes."""

    def polars_parse(path: Path):
        return pl.read_ndjson(path, schema={"model_id": pl.Utf8, "region": pl.Utf8,
                                            "timestamp_ms": pl.Int64,
                                            "latency_ms": pl.Float64, "cost": pl.Float64})

    def pyarrow_parse(path: Path):
        schema = pa.schema([("model_id", pa.string()), ("region", pa.string()),
                            ("timestamp_ms", pa.int64()), ("latency_ms", pa.float64()),
                            ("cost", pa.float64())])
        return pa_json.read_json(
            path, read_options=pa_json.ReadOptions(use_threads=False, block_size=1 << 22),
            parse_options=pa_json.ParseOptions(explicit_schema=schema,
                                               unexpected_field_behavior="ignore"))

    def duckdb_parse(path: Path):
        return _duck().sql(f"SELECT {', '.join(NAMES)} FROM read_json('{path}', "
                           f"format = 'newline_delimited', columns = {_DUCK_COLUMNS})"
                           ).to_arrow_table()

    return {"polars": polars_parse, "pyarrow": pyarrow_parse, "duckdb": duckdb_parse}[fn_name]


def run_benchmark(events: int, repeat: int) -> None:
    path = Path(tempfile.gettempdir()) / "declib" / f"events_{events}.jsonl"
    if not path.exists():
        from bench_stateless import make_events

        path.parent.mkdir(exist_ok=True)
        make_events(path, events)
    size = path.stat().st_size
    print(f"{events:,} events, {size / events:.0f} bytes each, {len(FIELDS)} of 12 fields; "
          f"polars {pl.__version__ if pl else 'n/a'}, pyarrow {pa.__version__ if pa else 'n/a'}, "
          f"duckdb {duckdb.__version__}, msgspec {msgspec.__version__}; "
          f"cpu affinity {sorted(os.sched_getaffinity(0))}")
    expected = runtime_source(path)
    jobs = []
    for label, fn, available in CANDIDATES:
        variants = [("", fn, False)]
        if fn not in (duckdb_exact, duckdb_exact_text):
            variants.append((" [dict]", fn, True))
        if fn in (polars_read, pyarrow_read, duckdb_read):
            variants.append((" [dict -> shared str]", shared_strings(fn), False))
        for suffix, read, dictionary in variants:
            name = label + suffix
            if not available or (suffix and pa is None and fn not in (runtime_source,
                                                                      msgspec_whole)):
                print(f"  {name}: n/a (library missing)")
                continue
            problem = same_columns(expected, read(path, dictionary))
            if problem:
                print(f"  {name}: WRONG COLUMNS ({problem}), not timed")
                continue
            jobs.append((name, lambda read=read, d=dictionary: read(path, d)))
    for lib, available in (("polars", pl is not None), ("pyarrow", pa is not None),
                           ("duckdb", pa is not None)):
        if available:
            reader = parse_only(lib)
            jobs.append((f"    {lib} reader alone (Arrow/DataFrame, no numpy)",
                         lambda reader=reader: reader(path)))
    out = path.parent / "duck_filter.jsonl"
    jobs.insert(0, ("DuckDB 1 thread: the whole filter query (baseline)",
                    lambda: duckdb_filter_query(path, out)))
    times: dict[str, list[float]] = {name: [] for name, _ in jobs}
    for _ in range(repeat):
        for name, fn in jobs:
            gc.collect()
            start = time.process_time()
            result = fn()
            times[name].append(time.process_time() - start)
            del result
    base = min(times[jobs[0][0]])
    print(f"CPU seconds, best and worst of {repeat} rounds (alternating); "
          "'of DuckDB' = DuckDB's whole filter query time / this step's time")
    print(f"{'candidate':70} {'best s':>7} {'worst s':>7} {'M ev/s':>7} {'of DuckDB':>9}")
    for name, _ in jobs:
        best, worst = min(times[name]), max(times[name])
        print(f"{name:70} {best:7.2f} {worst:7.2f} {events / best / 1e6:7.2f} "
              f"{base / best:9.2f}")


# -- what each library does with bad lines ------------------------------------

GOOD = b'{"model_id":"m","region":"r","timestamp_ms":1000,"latency_ms":1.5,"cost":0.1}'
BAD = [
    ("missing NOT NULL model_id", b'{"region":"r","timestamp_ms":1000,"latency_ms":1.5}'),
    ("missing nullable cost", b'{"model_id":"m","timestamp_ms":1000,"latency_ms":1.5}'),
    ("null NOT NULL model_id", b'{"model_id":null,"timestamp_ms":1000}'),
    ("DOUBLE as string \"7\"", b'{"model_id":"m","timestamp_ms":1000,"latency_ms":"7"}'),
    ("DOUBLE as integer 7", b'{"model_id":"m","timestamp_ms":1000,"latency_ms":7}'),
    ("DOUBLE as true", b'{"model_id":"m","timestamp_ms":1000,"latency_ms":true}'),
    ("BIGINT as 1.5", b'{"model_id":"m","timestamp_ms":1.5}'),
    ("BIGINT as string \"7\"", b'{"model_id":"m","timestamp_ms":"7"}'),
    ("BIGINT 2**64 (beyond int64)", b'{"model_id":"m","timestamp_ms":18446744073709551616}'),
    ("VARCHAR as number 7", b'{"model_id":7,"timestamp_ms":1000}'),
    ("VARCHAR as object", b'{"model_id":{"a":1},"timestamp_ms":1000}'),
    ("timestamp as text", b'{"model_id":"m","timestamp_ms":"2025-11-10 10:00:00"}'),
    ("BIGINT as 1.0", b'{"model_id":"m","timestamp_ms":1.0}'),
    ("BIGINT as 1e3", b'{"model_id":"m","timestamp_ms":1e3}'),
    ("DOUBLE 2**64 (integer beyond int64)",
     b'{"model_id":"m","timestamp_ms":1000,"latency_ms":18446744073709551616}'),
    ("DOUBLE 1e400 (overflows)", b'{"model_id":"m","timestamp_ms":1000,"latency_ms":1e400}'),
    ("DOUBLE as NaN literal", b'{"model_id":"m","timestamp_ms":1000,"latency_ms":NaN}'),
    ("VARCHAR with escapes", b'{"model_id":"\\u00e9\\n","timestamp_ms":1000}'),
    ("VARCHAR invalid UTF-8", b'{"model_id":"\xff","timestamp_ms":1000}'),
    ("unread field of a wrong type", b'{"model_id":"m","timestamp_ms":1000,"tokens_used":"x"}'),
    ("two objects on a line", GOOD + b" " + GOOD),
    ("blank line", b""),
    ("malformed JSON", b'{"model_id":"m","timestamp_ms":1000'),
    ("not an object", b'[1,2]'),
    ("duplicate key", b'{"model_id":"m","model_id":"n","timestamp_ms":1000}'),
]


def _probe_one(fn, data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as f:
        f.write(data)
    try:
        cols = _decoded(fn(Path(f.name)))
    except Exception as exc:  # noqa: BLE001  the finding is the exception
        return f"ERROR {type(exc).__name__}: {str(exc).splitlines()[0][:90]}"
    finally:
        os.unlink(f.name)
    row = {}
    for name in NAMES:
        values, valid = cols[name]
        if len(values) != 3:
            return f"{len(values)} rows, not 3 (a record dropped or split)"
        ok = True if valid is None else bool(valid[1])
        row[name] = values[1].item() if hasattr(values[1], "item") and ok else (
            values[1] if ok else None)
    return "row " + ", ".join(f"{k}={v!r}" for k, v in row.items())


def _runtime_probe(path: Path) -> dict:
    batches = list(FileSource(path, FIELDS, "json"))
    dead = [d for _, ds in batches for d in ds]
    if dead:
        raise ValueError(f"dead letter line {dead[0].position}: {dead[0].reason}")
    return runtime_source(path)


def run_probe() -> None:
    probes = [("runtime", _runtime_probe), ("polars", polars_read), ("pyarrow", pyarrow_read),
              ("duckdb", duckdb_read), ("duck-ex", duckdb_exact),
              ("duck-tx", duckdb_exact_text)]
    for case, line in BAD:
        print(f"== {case}: {line.decode(errors='backslashreplace')}")
        data = b"\n".join([GOOD, line, GOOD]) + b"\n"
        for lib, fn in probes:
            if (lib == "polars" and pl is None) or (lib == "pyarrow" and pa is None):
                continue
            print(f"   {lib:8} {_probe_one(fn, data)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--probe", action="store_true", help="bad lines, not timing")
    args = parser.parse_args()
    if args.probe:
        run_probe()
    else:
        run_benchmark(args.events, args.repeat)


if __name__ == "__main__":
    main()
