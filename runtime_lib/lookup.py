"""Lookup joins (FR-JOIN-001): a stream enriched with the rows of a table
looked up by key at processing time, INNER or LEFT (Flink's ``LookupJoin``).

A generated module builds the table once from the connector properties and
calls the join once per micro-batch::

    configs = PostgresTable(url=resolve_env("${PG_URL}"), table_name="model_configs",
                            fields=[Field("model_id", "VARCHAR"), Field("max_tokens", "INT"),
                                    Field("cost_per_token", "DOUBLE")],
                            key=["model_id"], username=..., password=resolve_env("${PG_PASSWORD}"),
                            cache_max_rows=10_000, cache_ttl_ms=60_000)
    join = LookupJoin(kind="LEFT", table=configs, key_kinds=["O"],
                      table_names=["c_model_id", "max_tokens", "cost_per_token"])
    for batch, dead in source:
        out_sink.write(join.process([batch["model_id"]], batch))

Runnable, with the file-backed table (``'connector' = 'file'``, and what
``--input NAME=PATH`` puts in place of any table):

>>> import json, tempfile, os
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> from runtime_lib.schema import Field
>>> path = os.path.join(tempfile.mkdtemp(), "model_configs.jsonl")
>>> with open(path, "w") as f:
...     for m, t in [("gpt", 4096), ("llama", 2048)]:
...         print(json.dumps({"model_id": m, "max_tokens": t}), file=f)
>>> table = FileTable(path, fields=[Field("model_id", "VARCHAR"), Field("max_tokens", "INT")],
...                   key=["model_id"])
>>> join = LookupJoin(kind="LEFT", table=table, key_kinds=["O"], table_names=["c_model", "max_tokens"])
>>> stream = Batch({"request_id": column_from_pylist([1, 2, 3, 4], "i"),
...                 "model_id": column_from_pylist(["gpt", "mistral", None, "llama"], "O")}, 4)
>>> join.process([stream["model_id"]], stream).to_rows()
[(1, 'gpt', 'gpt', 4096), (2, 'mistral', None, None), (3, None, None, None), (4, 'llama', 'llama', 2048)]
>>> LookupJoin(kind="INNER", table=table, key_kinds=["O"],
...            table_names=["c_model", "max_tokens"]).process([stream["model_id"]], stream).to_rows()
[(1, 'gpt', 'gpt', 4096), (4, 'llama', 'llama', 2048)]

Semantics (FLINK_SEMANTICS.md, Joins): each stream row is joined with the
table row whose key equals the row's key columns (the table's primary key, in
its order); a NULL in a key column never matches. LEFT gives NULL table
columns when there is no such row, or when ``residual`` (the rest of the ON
condition: a callable from the joined Batch to a boolean mask or BOOLEAN
Column) is not true for the pair; INNER drops those rows. The output is the
stream row's columns (their names) then the table's columns
(``table_names``, default the table's field names); ``watermarks`` and
``ops`` of the stream batch pass through (a lookup join keeps the stream's
time attribute and never retracts). Rows keep their order.

Tables (all give ``names``, ``kinds``, ``key`` and ``lookup(keys)``):

* ``FileTable(path, fields, key, format=None)``: JSON lines or CSV, read once.
  When a key occurs on several lines the last one wins.
* ``PostgresTable(...)``: psycopg 3; one ``SELECT ... WHERE key = ANY(%s)``
  per micro-batch for the distinct keys that are not in the cache.
* ``RedisTable(url, key_pattern, fields, key, value_format='hash'|'json')``:
  one MGET (JSON values) or one round of HGETALL (hashes: a server-side
  script, or a pipeline) per micro-batch for the keys not in the cache;
  ``key_pattern`` such as
  ``'model:{model_id}'`` names the key columns in braces.
* ``ChangelogTable(fields, key, state_ttl_ms=None)``: a mutable table kept in
  state, fed by ``apply(batch)`` with a changelog (``+I``/``+U`` upsert,
  ``-U``/``-D`` delete; no ``ops`` = upserts), e.g. from a file of changes
  (``ChangelogTable.from_file``). Entries not written for ``state_ttl_ms``
  (processing time, Flink's ``'state.ttl'``) are dropped.
* ``KafkaTable(name, fields, key, properties, op_field=None, ...)``: a
  ChangelogTable fed by a Kafka topic, as Flink reads an upsert-kafka table in
  a processing-time lookup join (a versioned table at each row's processing
  time). The first lookup waits until the topic is read from the earliest
  offset to its end (saying so on stderr); every later lookup first applies
  the messages that have arrived, without waiting, so a change is seen by the
  rows of the micro-batches after it arrives. A message upserts its key, a
  tombstone deletes it (kafka.py, "Changelog mode"). Bad messages are counted
  (``dead_letters``), shown on stderr with topic, partition and offset, and
  written to the table's ``'dead-letter.topic'`` when it has one.

The cache of PostgreSQL and Redis tables (``cache_max_rows``, 0 = no cache,
Flink's ``'lookup.cache.max-rows'``; ``cache_ttl_ms``, None = no expiry,
``'lookup.cache.ttl'``) is an LRU over keys at micro-batch granularity; keys
missing from the store are cached too (as missing). ``stats`` counts, per
looked-up row, ``hits`` (served from the cache), ``misses`` (fetched), and
``round_trips``, ``keys_fetched``, ``stale_hits``, ``failures``, ``wait_ms``;
``batch_ms`` holds the duration of recent ``lookup`` calls.

When the store cannot be reached: every needed key that is in the cache,
even past its TTL, is served from it (``stale_hits``) and the batch goes on;
when some key is in no cache the pipeline *waits*: it retries with
exponential backoff (``backoff_initial_ms`` doubling up to
``backoff_max_ms``), says so on stderr at each retry and again when the store
is back, and never emits a LEFT JOIN NULL for a key it could not look up.
``max_retries`` (default None = wait for ever) makes it raise
``LookupUnavailable`` after that many failed retries instead.
"""

from __future__ import annotations

import contextlib
import math
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from itertools import repeat
from pathlib import Path

import numpy as np

from runtime_lib.codes import Codes
from runtime_lib.columns import DTYPES, FILLERS, Batch, Column
from runtime_lib.schema import Field, Schema, as_schema
from runtime_lib.state import Stateful, values_data, values_from_data
from runtime_lib.temporal import parse_dates, parse_times, parse_timestamps

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT_TEXT = re.compile(r"[+-]?\d+")


class LookupUnavailable(RuntimeError):
    """The lookup store stayed unreachable for ``max_retries`` retries."""


def _mask_of(result, n: int) -> np.ndarray:
    if isinstance(result, Column):
        mask = np.asarray(result.values, bool)
        return mask if result.valid is None else mask & result.valid
    mask = np.asarray(result, bool)
    return np.full(n, bool(mask)) if mask.shape == () else mask


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


# ---------------------------------------------------------------------------
# Distinct keys of a micro-batch
# ---------------------------------------------------------------------------


def distinct_keys(keys: list[Column]) -> tuple[list, np.ndarray]:
    """(distinct key values as Python scalars or tuples, code of each row).
    The rows given must have no NULL key."""
    if len(keys) == 1:
        values = keys[0].values
        if values.dtype != object:
            uniq, inverse = np.unique(values, return_inverse=True)
            return uniq.tolist(), inverse.astype(np.int64).reshape(-1)
        codes = Codes()
        return codes.by_code, codes.encode(values)
    codes = Codes()
    tuples = np.fromiter(zip(*(k.values.tolist() for k in keys)), object, count=len(keys[0]))
    return codes.by_code, codes.encode(tuples)


# ---------------------------------------------------------------------------
# Converting store values to column values
# ---------------------------------------------------------------------------


def _to_ms(v) -> int:
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=UTC)
        delta = v - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(v, date):
        return (v - _EPOCH.date()).days * 86_400_000
    if isinstance(v, str):
        if _INT_TEXT.fullmatch(v.strip()):
            return int(v)  # epoch milliseconds, as TO_TIMESTAMP(bigint) reads them
        ms, ok = parse_timestamps([v])
        if ok[0]:
            return int(ms[0])
        raise ValueError(f"not a timestamp: {v!r}")
    return int(v)


def _to_days(v) -> int:
    if isinstance(v, datetime):
        v = v.date()
    if isinstance(v, date):
        return (v - _EPOCH.date()).days
    if isinstance(v, str):
        d, ok = parse_dates([v])
        if ok[0]:
            return int(d[0])
        raise ValueError(f"not a date: {v!r}")
    return int(v)


def _to_time_ms(v) -> int:
    if isinstance(v, dtime):
        return ((v.hour * 60 + v.minute) * 60 + v.second) * 1000 + v.microsecond // 1000
    if isinstance(v, str):
        t, ok = parse_times([v])
        if ok[0]:
            return int(t[0])
        raise ValueError(f"not a time: {v!r}")
    return int(v)


def _to_bool(v) -> bool:
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "t", "1", "yes"):
            return True
        if low in ("false", "f", "0", "no"):
            return False
        raise ValueError(f"not a boolean: {v!r}")
    return bool(v)


def _to_str(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return v if isinstance(v, str) else str(v)


def _to_int(v) -> int:
    if isinstance(v, (bytes, str)):
        return int(_to_str(v).strip())
    if isinstance(v, float) and not v.is_integer():
        raise ValueError(f"not an integer: {v!r}")
    return int(v)


def _to_float(v) -> float:
    if isinstance(v, (bytes, str)):
        return float(_to_str(v).strip())
    return float(v)


def converter(f: Field) -> Callable:
    """Python value from a store (psycopg type, JSON value or text) -> the value
    the column of ``f`` holds."""
    base = f.base
    if base in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        return lambda v: _to_ms(_to_str(v) if isinstance(v, bytes) else v)
    if base == "DATE":
        return lambda v: _to_days(_to_str(v) if isinstance(v, bytes) else v)
    if base == "TIME":
        return lambda v: _to_time_ms(_to_str(v) if isinstance(v, bytes) else v)
    kind = f.kind
    if kind == "i":
        return _to_int
    if kind == "f":
        return lambda v: float(v) if isinstance(v, Decimal) else _to_float(v)
    if kind == "b":
        return lambda v: _to_bool(_to_str(v) if isinstance(v, bytes) else v)
    if base in ("VARCHAR", "CHAR"):
        return _to_str
    return lambda v: v


def column_of(values: list, kind: str) -> Column:
    """A column from converted Python values (None = NULL)."""
    n = len(values)
    if kind == "O":
        arr = np.empty(n, object)
        arr[:] = values
        if None in values:
            return Column(arr, arr != None)
        return Column(arr)
    if None not in values:
        return Column(np.array(values, DTYPES[kind]) if n else np.zeros(0, DTYPES[kind]))
    ok = np.fromiter((v is not None for v in values), bool, count=n)
    filler = FILLERS[kind]
    return Column(np.array([filler if v is None else v for v in values], DTYPES[kind]), ok)


# ---------------------------------------------------------------------------
# Rows by key
# ---------------------------------------------------------------------------


class _RowStore:
    """Rows by key: ``slot_of`` maps a key (Python scalar or tuple) to a slot of
    columnar arrays. ``present`` False marks a key known to be missing from the
    store (a cached miss). ``written``/``used`` are times for TTL and LRU."""

    def __init__(self, kinds: list[str]):
        self.kinds = list(kinds)
        self.slot_of: dict = {}
        self.free: list[int] = []
        self.top = 0  # slots ever handed out
        cap = 64
        self.vals = [np.zeros(cap, DTYPES[k]) if k != "O" else np.empty(cap, object) for k in self.kinds]
        self.ok = [np.zeros(cap, bool) for _ in self.kinds]
        self.present = np.zeros(cap, bool)
        self.written = np.zeros(cap, np.int64)
        self.used = np.zeros(cap, np.int64)
        self.key_of = np.empty(cap, object)

    def __len__(self) -> int:
        return len(self.slot_of)

    def _grow(self, need: int) -> None:
        cap = len(self.present)
        if need <= cap:
            return
        cap = max(need, 2 * cap)

        def grown(a):
            out = np.empty(cap, object) if a.dtype == object else np.zeros(cap, a.dtype)
            out[: len(a)] = a
            return out

        self.vals = [grown(a) for a in self.vals]
        self.ok = [grown(a) for a in self.ok]
        self.present, self.written, self.used, self.key_of = (
            grown(a) for a in (self.present, self.written, self.used, self.key_of))

    def slots(self, keys: list) -> np.ndarray:
        return np.fromiter(map(self.slot_of.get, keys, repeat(-1)), np.int64, count=len(keys))

    def put(self, keys: list, found: np.ndarray, cols: list[Column], now: int) -> np.ndarray:
        """Insert or overwrite the rows of ``keys`` (``found`` False: a known miss)."""
        slots = self.slots(keys)
        new = np.flatnonzero(slots < 0)
        if len(new):
            reuse = min(len(new), len(self.free))
            fresh = len(new) - reuse
            ids = np.empty(len(new), np.int64)
            if reuse:
                ids[:reuse] = self.free[-reuse:]
                del self.free[-reuse:]
            ids[reuse:] = np.arange(self.top, self.top + fresh)
            self.top += fresh
            self._grow(self.top)
            new_keys = [keys[i] for i in new.tolist()]
            self.slot_of.update(zip(new_keys, ids.tolist()))
            self.key_of[ids] = _object_array(new_keys)
            slots[new] = ids
        for v, ok, c in zip(self.vals, self.ok, cols):
            v[slots] = c.values
            ok[slots] = c.is_valid() & found
        self.present[slots] = found
        self.written[slots] = now
        self.used[slots] = now
        return slots

    def remove(self, slots: np.ndarray) -> None:
        if not len(slots):
            return
        for key in self.key_of[slots].tolist():
            del self.slot_of[key]
        for v in self.vals:
            if v.dtype == object:
                v[slots] = None  # let go of the strings
        self.key_of[slots] = None
        self.present[slots] = False
        self.free.extend(slots.tolist())

    def occupied(self) -> np.ndarray:
        return np.fromiter(self.slot_of.values(), np.int64, count=len(self.slot_of))

    def gather(self, slots: np.ndarray) -> tuple[np.ndarray, list[Column]]:
        """(found, columns) per row for slots (-1 = not found)."""
        has = slots >= 0
        s = np.where(has, slots, 0)
        found = has & self.present[s] if len(self.present) else has
        cols = []
        for kind, v, ok in zip(self.kinds, self.vals, self.ok):
            vals = v[s]
            valid = ok[s] & found
            if valid.all():
                cols.append(Column(vals))
                continue
            vals = vals.copy() if kind == "O" else vals
            if kind == "O":
                vals[~valid] = None
            else:
                vals[~valid] = FILLERS[kind]
            cols.append(Column(vals, valid))
        return found, cols


    def snapshot(self) -> dict:
        """The rows as data, in the order their keys were first stored (which
        breaks ties of LRU eviction): the keys (a key of several columns as a
        list), the columns, whether a key is present (False: a cached miss),
        and the write and use times."""
        occ = self.occupied()
        keys = [list(k) if isinstance(k, tuple) else k for k in self.key_of[occ].tolist()]
        return {"keys": keys, "values": [values_data(v[occ]) for v in self.vals],
                "valid": [ok[occ] for ok in self.ok], "present": self.present[occ],
                "written": self.written[occ], "used": self.used[occ]}

    def restore(self, data: dict) -> None:
        self.__init__(self.kinds)
        keys = [tuple(k) if isinstance(k, list) else k for k in data["keys"]]
        if not keys:
            return
        cols = [Column(values_from_data(v, k), np.asarray(ok, bool))
                for k, v, ok in zip(self.kinds, data["values"], data["valid"], strict=True)]
        slots = self.put(keys, np.asarray(data["present"], bool), cols, 0)
        self.written[slots] = data["written"]
        self.used[slots] = data["used"]


def _object_array(values: list) -> np.ndarray:
    arr = np.empty(len(values), object)
    arr[:] = values
    return arr


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def _key_list(key) -> list[str]:
    return [key] if isinstance(key, str) else list(key)


class _Table:
    """What LookupJoin needs from a table: ``names``, ``kinds``, ``key`` (the key
    column names, in the order the join gives key columns) and ``lookup``."""

    def __init__(self, fields, key):
        self.schema: Schema = as_schema(fields)
        self.names = list(self.schema.names)
        self.kinds = [f.kind for f in self.schema]
        self.key = _key_list(key)
        if not self.key:
            raise ValueError("a lookup table needs a key")
        for k in self.key:
            if k not in self.names:
                raise ValueError(f"key column {k!r} is not a field of the table ({self.names})")
        self.key_pos = [self.names.index(k) for k in self.key]

    def lookup(self, keys: list[Column]) -> tuple[np.ndarray, list[Column]]:
        """(found, table columns) for each row of the key columns (no NULLs)."""
        raise NotImplementedError


class FileTable(_Table):
    """A table read once from a JSON-lines or CSV file (``format`` 'json' or
    'csv'; default from the extension, JSON lines otherwise). Lines that do not
    decode are skipped and counted (``dead_letters``, with a message on stderr)."""

    def __init__(self, path: str | Path, fields: Iterable[Field] | Schema, key, format: str | None = None,
                 csv_delimiter: str = ","):
        super().__init__(fields, key)
        from runtime_lib.sources import FileSource

        self.path = Path(path)
        if format is None:
            format = "csv" if self.path.suffix.lower() in (".csv", ".tsv") else "json"
        parts, self.dead_letters = [], []
        for batch, dead in FileSource(self.path, self.schema, format=format, csv_delimiter=csv_delimiter):
            parts.append(batch)
            self.dead_letters.extend(dead)
        if self.dead_letters:
            print(f"sqlc lookup: {len(self.dead_letters)} lines of table file {self.path} do not decode "
                  f"and were skipped (first: {self.dead_letters[0]})", file=sys.stderr)
        from runtime_lib.columns import concat_batches

        if parts:
            table = concat_batches(parts)
            cols = [table.columns[n] for n in self.names]
        else:
            cols = [Column(np.zeros(0, DTYPES[k])) for k in self.kinds]
        self.store = _RowStore(self.kinds)
        key_cols = [cols[p] for p in self.key_pos]
        ok = np.ones(len(cols[0]), bool)
        for c in key_cols:
            ok &= c.is_valid()
        sel = np.flatnonzero(ok)
        uniq, inverse = distinct_keys([c.take(sel) for c in key_cols]) if len(sel) else ([], np.zeros(0, np.int64))
        last = np.full(len(uniq), -1, np.int64)
        last[inverse] = sel  # the last line of each key wins
        self.store.put(uniq, np.ones(len(uniq), bool), [c.take(last) for c in cols], 0)
        self.rows = len(uniq)
        self.stats = LookupStats()

    def lookup(self, keys: list[Column]) -> tuple[np.ndarray, list[Column]]:
        t0 = time.perf_counter()
        uniq, inverse = distinct_keys(keys)
        slots = self.store.slots(uniq)[inverse]
        found, cols = self.store.gather(slots)
        hits = int(found.sum())
        self.stats.hits += hits
        self.stats.misses += len(found) - hits
        self.stats.batch_ms.append((time.perf_counter() - t0) * 1000)
        return found, cols


@dataclass
class LookupStats:
    """Counters of a lookup table. ``hits``/``misses``/``stale_hits`` count rows."""

    hits: int = 0
    misses: int = 0
    stale_hits: int = 0
    round_trips: int = 0
    keys_fetched: int = 0
    failures: int = 0
    wait_ms: int = 0
    batch_ms: deque = field(default_factory=lambda: deque(maxlen=100_000))

    @property
    def hit_ratio(self) -> float:
        total = self.hits + self.misses + self.stale_hits
        return (self.hits + self.stale_hits) / total if total else math.nan


class CachedTable(_Table):
    """A table in an external store, with an LRU cache and the retry policy of
    the module docstring. Subclasses implement ``_fetch(keys)`` (one round
    trip for a list of distinct keys: returns (found mask, columns), one row per
    key), ``_reset()`` (drop the connection after a failure), ``describe()``
    (for messages; never a password) and ``_errors`` (the exception types that
    mean "store unreachable")."""

    _errors: tuple = (OSError,)

    def __init__(self, fields, key, cache_max_rows: int | None = 0, cache_ttl_ms: int | None = None,
                 max_retries: int | None = None, backoff_initial_ms: int = 100, backoff_max_ms: int = 5_000,
                 clock: Callable[[], int] | None = None, sleep: Callable[[float], None] = time.sleep,
                 log=None):
        super().__init__(fields, key)
        self.cache_max_rows = int(cache_max_rows or 0)
        self.cache_ttl_ms = None if cache_ttl_ms is None else int(cache_ttl_ms)
        self.max_retries = max_retries
        self.backoff_initial_ms = backoff_initial_ms
        self.backoff_max_ms = backoff_max_ms
        self.clock = clock or _now_ms
        self.sleep = sleep
        self.log = log  # a file; default sys.stderr at the time of writing
        self.cache = _RowStore(self.kinds)
        self.stats = LookupStats()
        self._down_since: float | None = None

    def describe(self) -> str:
        raise NotImplementedError

    def snapshot(self) -> dict:
        """The cache (rows, known misses, write and use times): after a restore
        it serves the same keys without a round trip, and past their TTL while
        the store is down."""
        return {"cache": self.cache.snapshot()}

    def restore(self, data: dict) -> None:
        self.cache.restore(data["cache"])

    def _fetch(self, keys: list) -> tuple[np.ndarray, list[Column]]:
        raise NotImplementedError

    def _reset(self) -> None:
        pass

    def close(self) -> None:
        self._reset()

    def _say(self, text: str) -> None:
        print(f"sqlc lookup: {text}", file=self.log or sys.stderr, flush=True)

    def lookup(self, keys: list[Column]) -> tuple[np.ndarray, list[Column]]:
        t0 = time.perf_counter()
        uniq, inverse = distinct_keys(keys)
        now = self.clock()
        if self.cache_max_rows:
            slots = self.cache.slots(uniq)
            fresh = slots >= 0
            if self.cache_ttl_ms is not None and fresh.any():
                fresh &= self.cache.written[np.where(fresh, slots, 0)] + self.cache_ttl_ms > now
            need = np.flatnonzero(~fresh)
            per_key_rows = np.bincount(inverse, minlength=len(uniq))
            if len(need):
                need_keys = [uniq[i] for i in need.tolist()]
                result = self._fetch_or_wait(need_keys, slots[need] >= 0)
                if result is None:  # unreachable, every key cached: serve stale
                    self.stats.stale_hits += int(per_key_rows[need].sum())
                else:
                    found, cols = result
                    slots[need] = self.cache.put(need_keys, found, cols, now)
                    self.stats.misses += int(per_key_rows[need].sum())
            self.stats.hits += int(per_key_rows[fresh].sum())
            self.cache.used[slots] = now
            found, cols = self.cache.gather(slots[inverse])
            self._evict()
        else:
            found_k, cols_k = self._fetch_or_wait(uniq, np.zeros(len(uniq), bool))
            self.stats.misses += len(inverse)
            found = found_k[inverse]
            cols = [c.take(inverse) for c in cols_k]
        self.stats.batch_ms.append((time.perf_counter() - t0) * 1000)
        return found, cols

    def _evict(self) -> None:
        """Evict least recently used keys down to 90% of ``cache_max_rows``
        (so that eviction runs once per tenth of the cache, not per batch)."""
        if len(self.cache) <= self.cache_max_rows:
            return
        occ = self.cache.occupied()
        drop = len(occ) - int(self.cache_max_rows * 0.9)
        victims = occ[np.argpartition(self.cache.used[occ], drop - 1)[:drop]] if drop < len(occ) else occ
        self.cache.remove(victims)

    def _fetch_or_wait(self, keys: list, cached: np.ndarray):
        """Fetch ``keys`` in one round trip. When the store is unreachable: None
        if every key has a (stale) cached row, else retry with backoff until it
        answers (or ``max_retries`` is exhausted)."""
        attempt = 0
        delay = self.backoff_initial_ms / 1000
        while True:
            try:
                self.stats.round_trips += 1
                result = self._fetch(keys)
            except self._errors as exc:
                self.stats.failures += 1
                self._reset()
                if self._down_since is None:
                    self._down_since = time.monotonic()
                reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                if cached.all():
                    self._say(f"{self.describe()} unreachable ({reason}); serving {len(keys)} keys from the "
                              f"cache (past their TTL)")
                    return None
                if self.max_retries is not None and attempt >= self.max_retries:
                    raise LookupUnavailable(f"{self.describe()} unreachable after {attempt} retries "
                                            f"({reason})") from exc
                attempt += 1
                missing = int((~cached).sum())
                self._say(f"{self.describe()} unreachable ({reason}); {missing} keys are in no cache, "
                          f"the pipeline waits: retry {attempt} in {delay:.1f} s")
                t = time.monotonic()
                self.sleep(delay)
                self.stats.wait_ms += int((time.monotonic() - t) * 1000)
                delay = min(delay * 2, self.backoff_max_ms / 1000)
                continue
            if self._down_since is not None:
                self._say(f"{self.describe()} reachable again after {time.monotonic() - self._down_since:.1f} s")
                self._down_since = None
            self.stats.keys_fetched += len(keys)
            return result

    def _columns_from_rows(self, keys: list, rows: Sequence[Sequence]) -> tuple[np.ndarray, list[Column]]:
        """(found, columns) per requested key from rows in field order."""
        conv = [converter(f) for f in self.schema]
        converted = [[None if v is None else c(v) for c, v in zip(conv, row)] for row in rows]
        if len(self.key) == 1:
            p = self.key_pos[0]
            index = {r[p]: i for i, r in enumerate(converted)}
        else:
            index = {tuple(r[p] for p in self.key_pos): i for i, r in enumerate(converted)}
        at = np.fromiter(map(index.get, keys, repeat(-1)), np.int64, count=len(keys))
        found = at >= 0
        cols = []
        for j, kind in enumerate(self.kinds):
            vals = [converted[i][j] if i >= 0 else None for i in at.tolist()]
            cols.append(column_of(vals, kind))
        return found, cols


def _pg_connect_params(dsn, url, host, port, database, username, password, connect_timeout_s):
    params: dict = {"autocommit": True, "connect_timeout": connect_timeout_s}
    conninfo = dsn or url or ""
    conninfo = conninfo.removeprefix("jdbc:")
    if host:
        params["host"] = host
    if port:
        params["port"] = int(port)
    if database:
        params["dbname"] = database
    if username:
        params["user"] = username
    if password is not None:
        params["password"] = password
    return conninfo, params


_PG_TYPES = {"BOOLEAN": "boolean", "TINYINT": "int8", "SMALLINT": "int8", "INT": "int8", "BIGINT": "int8",
             "FLOAT": "float8", "DOUBLE": "float8", "DECIMAL": "numeric", "VARCHAR": "text", "CHAR": "text",
             "DATE": "date", "TIME": "time", "TIMESTAMP": "timestamp", "TIMESTAMP_LTZ": "timestamptz"}


def _pg_type(f: Field) -> str:
    """The PostgreSQL array element type key values are sent as (from a fixed table)."""
    try:
        return _PG_TYPES[f.base]
    except KeyError:
        raise ValueError(f"a {f.type_name} column cannot be a lookup key") from None


def _pg_key_value(f: Field):
    """Stored key value -> the Python value psycopg sends for that key column."""
    base = f.base
    if base in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        def to_dt(ms):
            dt = _EPOCH + timedelta(milliseconds=ms)
            return dt if base == "TIMESTAMP_LTZ" else dt.replace(tzinfo=None)
        return to_dt
    if base == "DATE":
        return lambda days: _EPOCH.date() + timedelta(days=days)
    if base == "TIME":
        return lambda ms: (datetime.min + timedelta(milliseconds=ms)).time()
    return None


class PostgresTable(CachedTable):
    """A PostgreSQL table (``'connector' = 'postgres'``) read with psycopg 3.

    Connection: ``dsn`` or ``url`` (``postgresql://...``, also ``jdbc:postgresql://``),
    or ``host``/``port``/``database``; ``username``/``password`` override the
    URL's. ``table_name`` may be ``schema.table``. One query per micro-batch:
    ``SELECT <fields> FROM <table> WHERE <key> = ANY(%s)`` (several key columns:
    ``WHERE (k1, k2) IN (SELECT * FROM unnest(%s, %s))``); identifiers are quoted
    by psycopg, values are parameters."""

    def __init__(self, table_name: str, fields, key, dsn: str | None = None, url: str | None = None,
                 host: str | None = None, port: int | None = None, database: str | None = None,
                 username: str | None = None, password: str | None = None, cache_max_rows: int | None = 0,
                 cache_ttl_ms: int | None = None, max_retries: int | None = None, connect_timeout_s: int = 5,
                 **kwargs):
        super().__init__(fields, key, cache_max_rows=cache_max_rows, cache_ttl_ms=cache_ttl_ms,
                         max_retries=max_retries, **kwargs)
        import psycopg
        from psycopg import sql

        self._psycopg = psycopg
        self._errors = (psycopg.OperationalError, psycopg.InterfaceError)
        self.table_name = table_name
        self._conninfo, self._params = _pg_connect_params(dsn, url, host, port, database, username, password,
                                                          connect_timeout_s)
        self._conn = None
        table = sql.Identifier(*table_name.split("."))
        cols = sql.SQL(", ").join(sql.Identifier(n) for n in self.names)
        if len(self.key) == 1:
            where = sql.SQL("{} = ANY(%s)").format(sql.Identifier(self.key[0]))
        else:
            where = sql.SQL("({}) IN (SELECT * FROM unnest({}))").format(
                sql.SQL(", ").join(sql.Identifier(k) for k in self.key),
                sql.SQL(", ").join(sql.SQL("{}::{}[]").format(sql.Placeholder(), sql.SQL(_pg_type(
                    self.schema[k]))) for k in self.key))
        self._query = sql.SQL("SELECT {} FROM {} WHERE {}").format(cols, table, where)
        self._key_conv = [_pg_key_value(self.schema[k]) for k in self.key]

    def describe(self) -> str:
        info = self._psycopg.conninfo.conninfo_to_dict(self._conninfo) if self._conninfo else {}
        host = self._params.get("host") or info.get("host", "localhost")
        port = self._params.get("port") or info.get("port", 5432)
        db = self._params.get("dbname") or info.get("dbname", "")
        return f"PostgreSQL table {self.table_name!r} at {host}:{port}/{db}"

    def _reset(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # already broken: closing may fail too
                self._conn.close()
            self._conn = None

    def _fetch(self, keys: list) -> tuple[np.ndarray, list[Column]]:
        if self._conn is None or self._conn.closed:
            self._conn = self._psycopg.connect(self._conninfo, **self._params)
        if len(self.key) == 1:
            params = [keys]
        else:
            params = [list(col) for col in zip(*keys)]
        for j, conv in enumerate(self._key_conv):
            if conv is not None:
                params[j] = [conv(v) for v in params[j]]
        rows = self._conn.execute(self._query, params).fetchall()
        return self._columns_from_rows(keys, rows)


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RedisTable(CachedTable):
    """A table in Redis (``'connector' = 'redis'``) read with redis-py.

    ``key_pattern`` is the Redis key of a row with the key columns in braces
    (``'model:{model_id}'``, ``'user:{tenant}:{user_id}'``); ``key`` defaults to
    the names in the pattern, in order. ``value_format`` 'hash': the row is a
    hash whose field names are column names (values as text); 'json': the row
    is a string holding a JSON object. Key columns absent from the value are
    taken from the key. One round trip per batch: MGET for JSON; for hashes one
    script call running HGETALL for each key on the server (``hash_fetch=
    'script'``, about 2.5x faster than redis-py's pipeline here), or a pipeline
    of HGETALL (``'pipeline'``, used by itself when the server refuses scripts).
    Installing ``hiredis`` (redis-py's C reply parser) speeds both up."""

    def __init__(self, url: str, key_pattern: str, fields, key=None, value_format: str = "hash",
                 cache_max_rows: int | None = 0, cache_ttl_ms: int | None = None, max_retries: int | None = None,
                 socket_timeout_s: float = 5.0, hash_fetch: str = "script", **kwargs):
        names = _PLACEHOLDER.findall(key_pattern)
        if not names:
            raise ValueError(f"key pattern {key_pattern!r} names no key column ({{column}})")
        super().__init__(fields, key if key is not None else names, cache_max_rows=cache_max_rows,
                         cache_ttl_ms=cache_ttl_ms, max_retries=max_retries, **kwargs)
        if sorted(names) != sorted(self.key):
            raise ValueError(f"key pattern {key_pattern!r} must name exactly the key columns {self.key}")
        if value_format not in ("hash", "json"):
            raise ValueError("value_format must be 'hash' or 'json'")
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
        self.url = url
        self.key_pattern = key_pattern
        self.value_format = value_format
        self._client = redis.Redis.from_url(url, socket_timeout=socket_timeout_s,
                                            socket_connect_timeout=socket_timeout_s, retry=Retry(NoBackoff(), 0))
        if hash_fetch not in ("script", "pipeline"):
            raise ValueError("hash_fetch must be 'script' or 'pipeline'")
        self.hash_fetch = hash_fetch
        self._script = self._client.register_script(_HGETALL_SCRIPT)
        self._pieces = _PLACEHOLDER.split(key_pattern)  # text, name, text, name, ..., text
        self._conv = [converter(f) for f in self.schema]

    def describe(self) -> str:
        kw = self._client.connection_pool.connection_kwargs
        return f"Redis keys {self.key_pattern!r} at {kw.get('host', '?')}:{kw.get('port', '?')}"

    def redis_key(self, key) -> str:
        values = dict(zip(self.key, key if len(self.key) > 1 else (key,)))
        out = []
        for i, piece in enumerate(self._pieces):
            out.append(piece if i % 2 == 0 else str(values[piece]))
        return "".join(out)

    def _reset(self) -> None:
        self._client.connection_pool.disconnect()

    def close(self) -> None:
        self._client.close()

    def _fetch(self, keys: list) -> tuple[np.ndarray, list[Column]]:
        import orjson

        rkeys = [self.redis_key(k) for k in keys]
        if not rkeys:
            records: list = []
        elif self.value_format == "json":
            records = [None if v is None else orjson.loads(v) for v in self._client.mget(rkeys)]
        else:
            records = self._fetch_hashes(rkeys)
        found = np.fromiter((r is not None for r in records), bool, count=len(records))
        cols = []
        for j, (name, conv, kind) in enumerate(zip(self.names, self._conv, self.kinds)):
            vals = [None if r is None else r.get(name) for r in records]
            if name in self.key:  # a key column absent from the value: taken from the key
                p = self.key.index(name)
                key_vals = keys if len(self.key) == 1 else [k[p] for k in keys]
                vals = [kv if v is None and r is not None else v for v, r, kv in zip(vals, records, key_vals)]
            cols.append(column_of(_convert_all(conv, vals), kind))
        return found, cols

    def _fetch_hashes(self, rkeys: list[str]) -> list[dict | None]:
        """Hashes of ``rkeys`` in one round trip: one script call that runs
        HGETALL per key and returns one JSON string per key (default), or a
        pipeline of HGETALL when the server refuses scripts."""
        import orjson
        import redis

        if self.hash_fetch == "script":
            try:
                raw = self._script(keys=rkeys)
            except redis.exceptions.ResponseError as exc:
                self._say(f"{self.describe()}: scripts refused ({exc}); using pipelined HGETALL")
                self.hash_fetch = "pipeline"
            else:
                out = []
                for r in raw:
                    if r is None:
                        out.append(None)
                        continue
                    flat = orjson.loads(r)
                    out.append(dict(zip(flat[::2], flat[1::2])))
                return out
        pipe = self._client.pipeline(transaction=False)
        for rk in rkeys:
            pipe.hgetall(rk)
        return [{_to_str(k): v for k, v in h.items()} if h else None for h in pipe.execute()]


def _convert_all(conv: Callable, vals: list) -> list:
    """Converted values; a value of the wrong type reads as NULL."""
    try:
        return [None if v is None else conv(v) for v in vals]
    except (ValueError, TypeError):
        pass
    out = []
    for v in vals:
        try:
            out.append(None if v is None else conv(v))
        except (ValueError, TypeError):
            out.append(None)
    return out


# HGETALL for every key of a batch on the server, one JSON array per key (false
# when the key does not exist): one reply element per key instead of 2 per field.
_HGETALL_SCRIPT = """
local out = {}
for i, k in ipairs(KEYS) do
  local h = redis.call('HGETALL', k)
  if #h == 0 then out[i] = false else out[i] = cjson.encode(h) end
end
return out
"""


class ChangelogTable(_Table):
    """A mutable table kept in state, fed by a changelog (``apply``) and looked
    up by key; see the module docstring.

    >>> from runtime_lib.columns import column_from_pylist
    >>> t = ChangelogTable(fields=[("model_id", "VARCHAR"), ("max_tokens", "INT")], key="model_id")
    >>> t.apply(Batch({"model_id": column_from_pylist(["a", "b", "a"], "O"),
    ...                "max_tokens": column_from_pylist([1, 2, 3], "i")}, 3))
    >>> t.apply(Batch({"model_id": column_from_pylist(["b"], "O"),
    ...                "max_tokens": column_from_pylist([2], "i")}, 1, ops=np.array(["-D"], object)))
    >>> found, cols = t.lookup([column_from_pylist(["a", "b"], "O")])
    >>> found.tolist(), cols[1].to_pylist()
    ([True, False], [3, None])
    """

    def __init__(self, fields, key, state_ttl_ms: int | None = None, clock: Callable[[], int] | None = None):
        super().__init__(fields, key)
        self.state_ttl_ms = state_ttl_ms
        self.clock = clock or _now_ms
        self.store = _RowStore(self.kinds)
        self.stats = LookupStats()

    @classmethod
    def from_file(cls, path, fields, key, op_field: str | None = "op", format: str | None = None,
                  **kwargs) -> ChangelogTable:
        """A table holding the result of a file of changes (``op_field`` column
        with +I/-D/-U/+U, or None: every line an upsert)."""
        from runtime_lib.sources import FileSource

        schema = list(as_schema(fields))
        if op_field is not None:
            schema = schema + [Field(op_field, "VARCHAR")]
        table = cls(fields, key, **kwargs)
        path = Path(path)
        if format is None:
            format = "csv" if path.suffix.lower() == ".csv" else "json"
        for batch, _dead in FileSource(path, schema, format=format):
            table.apply(batch.split_ops(op_field) if op_field is not None else batch)
        return table

    def __len__(self) -> int:
        return len(self.store)

    def apply(self, changes: Batch) -> None:
        """Apply a micro-batch of changes in order (columns named as the fields)."""
        n = changes.num_rows
        if n == 0:
            return
        now = self.clock()
        self.expire(now)
        cols = [changes.columns[name] for name in self.names]
        key_cols = [cols[p] for p in self.key_pos]
        ok = np.ones(n, bool)
        for c in key_cols:
            ok &= c.is_valid()
        ops = changes.ops
        delete = np.zeros(n, bool) if ops is None else np.isin(ops, ["-D", "-U"])
        sel = np.flatnonzero(ok)
        uniq, inverse = distinct_keys([c.take(sel) for c in key_cols])
        # only the last change of each key in the batch matters
        last = np.full(len(uniq), -1, np.int64)
        last[inverse] = sel
        is_del = delete[last]
        up = np.flatnonzero(~is_del)
        self.store.put([uniq[i] for i in up.tolist()], np.ones(len(up), bool),
                       [c.take(last[up]) for c in cols], now)
        gone = self.store.slots([uniq[i] for i in np.flatnonzero(is_del).tolist()])
        self.store.remove(gone[gone >= 0])

    def expire(self, now: int | None = None) -> None:
        """Drop entries not written for ``state_ttl_ms``."""
        if self.state_ttl_ms is None or not len(self.store):
            return
        now = self.clock() if now is None else now
        occ = self.store.occupied()
        self.store.remove(occ[self.store.written[occ] + self.state_ttl_ms <= now])

    def snapshot(self) -> dict:
        """The table as numpy arrays and JSON-able lists (no pickle)."""
        return {"rows": self.store.snapshot()}

    def restore(self, data: dict) -> None:
        """Bring a freshly constructed table of the same fields back to ``data``
        (a KafkaTable then still reads its topic from the earliest offset before
        its first lookup: the changes upsert what was restored)."""
        self.store.restore(data["rows"])

    def lookup(self, keys: list[Column]) -> tuple[np.ndarray, list[Column]]:
        t0 = time.perf_counter()
        self.expire()
        uniq, inverse = distinct_keys(keys)
        found, cols = self.store.gather(self.store.slots(uniq)[inverse])
        hits = int(found.sum())
        self.stats.hits += hits
        self.stats.misses += len(found) - hits
        self.stats.batch_ms.append((time.perf_counter() - t0) * 1000)
        return found, cols


class KafkaTable(ChangelogTable):
    """A ChangelogTable fed by a Kafka topic (``'connector' = 'upsert-kafka'``,
    or ``'kafka'`` with a PRIMARY KEY), read as Flink reads an upsert-kafka
    table in a processing-time lookup join; see the module docstring.

    ``properties`` are the table's connector properties, resolved. The first
    ``lookup`` (or ``open()``) reads the topic from the earliest offset to its
    end; later lookups first apply what has arrived since, without waiting.
    ``dead_letters`` counts the bad messages (``KafkaSource`` in changelog
    mode says which: undecodable, no key, an unknown change kind)."""

    warn_limit = 20  # bad messages shown one per line on stderr; later ones are counted

    def __init__(self, name: str, fields, key, properties: dict[str, str], op_field: str | None = None,
                 state_ttl_ms: int | None = None, clock: Callable[[], int] | None = None,
                 connect_timeout: float = 60.0, log=None):
        super().__init__(fields, key, state_ttl_ms=state_ttl_ms, clock=clock)
        from runtime_lib.kafka import KafkaConfigError, KafkaSource

        props = dict(properties)
        if props.get("connector") == "upsert-kafka":  # the message key is the primary key
            props.setdefault("key.fields", ";".join(self.key))
        for prop, only in (("scan.startup.mode", "earliest-offset"), ("scan.bounded.mode", "unbounded")):
            if props.get(prop, only) != only:
                raise KafkaConfigError(f"table {name}: {prop!r} = {props[prop]!r}: a changelog table "
                                       "reads its topic from the earliest offset and follows it")
        schema = list(self.schema) + ([Field(op_field, "VARCHAR")] if op_field else [])
        self.name = name
        self.source = KafkaSource(name, schema, props, connect_timeout=connect_timeout,
                                  changelog_key=self.key, op_field=op_field, what=f"table {name}")
        self.log = log  # a file; default sys.stderr at the time of writing
        self.loaded = False
        self.dead_letters = 0
        self._dead_sink = None
        self._pool = None

    def _say(self, text: str) -> None:
        print(f"sqlc lookup: table {self.name}: {text}", file=self.log or sys.stderr, flush=True)

    def open(self) -> KafkaTable:
        """Connect, and read the topic from the earliest offset to its end."""
        if self.loaded:
            return self
        from runtime_lib.kafka import KafkaDeadLetterSink, ProducerPool

        topic = ", ".join(self.source.topics)
        self._say(f"loading topic {topic} from the earliest offset to its end; lookup joins "
                  "wait until it is loaded")
        started = time.monotonic()
        self.source.open()
        if self.source.dead_letter_topic:
            self._pool = ProducerPool(self.source.connect_timeout)
            self._dead_sink = KafkaDeadLetterSink(self.source.dead_letter_topic, self.name,
                                                  self.source.properties, self._pool)
        said = started
        while not self.source.caught_up:
            self._apply(self.source.read(0.1))
            if time.monotonic() - said >= 10.0:
                said = time.monotonic()
                self._say(f"still loading: {self.source.records_read} messages read")
        self.loaded = True
        self._say(f"loaded {len(self)} rows from {self.source.records_read} messages "
                  f"({self.dead_letters} bad) in {time.monotonic() - started:.2f} s; "
                  "following new messages")
        return self

    def refresh(self) -> None:
        """Apply every change that has arrived, without waiting."""
        for _ in range(64):  # (a bound, should changes arrive faster than they are applied)
            chunk = self.source.read(0)
            if chunk is None:
                break
            self._apply(chunk)

    def _apply(self, chunk) -> None:
        if chunk is None:
            return
        if chunk.dead:
            self._bad(chunk.dead)
        self.apply(chunk.batch)

    def _bad(self, dead: list) -> None:
        """Bad messages: counted, shown on stderr (the first ``warn_limit``), and
        written to the table's 'dead-letter.topic' when it has one."""
        shown = max(0, self.warn_limit - self.dead_letters)
        self.dead_letters += len(dead)
        for d in dead[:shown]:
            self._say(f"bad message in topic {d.topic} partition {d.partition} offset {d.offset} "
                      f"skipped: {d.reason}")
        if shown and len(dead) > shown:
            self._say(f"more than {self.warn_limit} bad messages: the others are only counted"
                      + (f" and written to {self._dead_sink.topic}" if self._dead_sink else ""))
        if self._dead_sink is not None:
            self._dead_sink.write(dead)
            self._pool.flush(30.0)

    def lookup(self, keys: list[Column]) -> tuple[np.ndarray, list[Column]]:
        if self.loaded:
            self.refresh()
        else:
            self.open()
        return super().lookup(keys)

    def close(self) -> None:
        self.source.close()
        if self._pool is not None:
            self._pool.close()


# ---------------------------------------------------------------------------
# LookupJoin
# ---------------------------------------------------------------------------


class LookupJoin:
    """``LookupJoin(kind='INNER'|'LEFT', table, key_kinds, residual=None,
    table_names=None)``; ``process(keys, rows) -> Batch``. See the module
    docstring."""

    def __init__(self, kind: str, table, key_kinds: list[str], residual: Callable | None = None,
                 table_names: list[str] | None = None):
        kind = kind.upper()
        if kind not in ("INNER", "LEFT"):
            raise ValueError(f"a lookup join is INNER or LEFT, got {kind!r}")
        self.kind = kind
        self.table = table
        self.key_kinds = list(key_kinds)
        if len(self.key_kinds) != len(table.key):
            raise ValueError(f"the table's key has {len(table.key)} columns ({table.key}), "
                             f"the join gives {len(self.key_kinds)}")
        self.residual = residual
        self.table_names = list(table_names) if table_names is not None else list(table.names)
        if len(self.table_names) != len(table.names):
            raise ValueError("one name per table column")
        self.rows_in = 0
        self.rows_out = 0

    def process(self, keys: list[Column], rows: Batch) -> Batch:
        n = rows.num_rows
        if len(keys) != len(self.key_kinds):
            raise ValueError(f"expected {len(self.key_kinds)} key columns, got {len(keys)}")
        clash = set(rows.columns) & set(self.table_names)
        if clash:
            raise ValueError(f"output column names clash: {sorted(clash)} (give table_names)")
        ok = np.ones(n, bool)
        for k in keys:
            if k.valid is not None:
                ok &= k.valid
        sel = np.flatnonzero(ok)
        if len(sel) == n:
            found, cols = self.table.lookup(keys) if n else self._nothing(0)
        else:
            found_s, cols_s = self.table.lookup([k.take(sel) for k in keys]) if len(sel) else self._nothing(0)
            found = np.zeros(n, bool)
            found[sel] = found_s
            cols = []
            for kind, c in zip(self.table.kinds, cols_s):
                vals = np.empty(n, object) if kind == "O" else np.zeros(n, DTYPES[kind])
                valid = np.zeros(n, bool)
                vals[sel] = c.values
                valid[sel] = c.is_valid()
                cols.append(Column(vals, valid))
        out = dict(rows.columns)
        out.update(zip(self.table_names, cols))
        joined = Batch(out, n, rows.watermarks, rows.ops)
        if self.residual is not None and found.any():
            found = found & _mask_of(self.residual(joined), n)
        self.rows_in += n
        if self.kind == "INNER":
            result = joined if found.all() else joined.take(found)
        elif found.all():
            result = joined
        else:
            out.update({name: _null_where(c, ~found) for name, c in zip(self.table_names, cols)})
            result = Batch(out, n, rows.watermarks, rows.ops)
        self.rows_out += result.num_rows
        return result

    def snapshot(self) -> dict:
        """The counters, and the table's state: a cache, or the rows of a
        changelog table (None for a table read from a file at start)."""
        table = self.table.snapshot() if isinstance(self.table, Stateful) else None
        return {"rows_in": self.rows_in, "rows_out": self.rows_out, "table": table}

    def restore(self, data: dict) -> None:
        self.rows_in, self.rows_out = int(data["rows_in"]), int(data["rows_out"])
        if data["table"] is not None:
            self.table.restore(data["table"])

    def _nothing(self, n: int):
        return np.zeros(n, bool), [Column(np.zeros(n, DTYPES[k])) for k in self.table.kinds]


def _null_where(c: Column, null: np.ndarray) -> Column:
    valid = c.is_valid() & ~null
    if valid.all():
        return c
    vals = c.values.copy()
    vals[~valid] = FILLERS.get(vals.dtype.kind)
    return Column(vals, valid)
