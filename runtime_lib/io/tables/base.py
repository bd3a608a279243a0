"""What every lookup table is made of: the rows-by-key store (``RowStore``),
converting a store's values to columns, ``FileTable`` (read once), and
``CachedTable``, the LRU cache and retry policy of the tables in external
stores (``stores.py``). See ``runtime_lib.io.tables``.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from decimal import Decimal
from itertools import repeat
from pathlib import Path

import numpy as np

from runtime_lib.codes import Codes
from runtime_lib.columns import DTYPES, FILLERS, Column
from runtime_lib.schema import Field, Schema, as_schema
from runtime_lib.state import values_data, values_from_data
from runtime_lib.temporal import parse_dates, parse_times, parse_timestamps
from runtime_lib.watermarks import monotonic_ms

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT_TEXT = re.compile(r"[+-]?\d+")


class LookupUnavailable(RuntimeError):
    """The lookup store stayed unreachable for ``max_retries`` retries."""


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
        delta = v - EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(v, date):
        return (v - EPOCH.date()).days * 86_400_000
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
        return (v - EPOCH.date()).days
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


def to_str(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return v if isinstance(v, str) else str(v)


def _to_int(v) -> int:
    if isinstance(v, (bytes, str)):
        return int(to_str(v).strip())
    if isinstance(v, float) and not v.is_integer():
        raise ValueError(f"not an integer: {v!r}")
    return int(v)


def _to_float(v) -> float:
    if isinstance(v, (bytes, str)):
        return float(to_str(v).strip())
    return float(v)


def converter(f: Field) -> Callable:
    """Python value from a store (psycopg type, JSON value or text) -> the value
    the column of ``f`` holds."""
    base = f.base
    if base in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        return lambda v: _to_ms(to_str(v) if isinstance(v, bytes) else v)
    if base == "DATE":
        return lambda v: _to_days(to_str(v) if isinstance(v, bytes) else v)
    if base == "TIME":
        return lambda v: _to_time_ms(to_str(v) if isinstance(v, bytes) else v)
    kind = f.kind
    if kind == "i":
        return _to_int
    if kind == "f":
        return lambda v: float(v) if isinstance(v, Decimal) else _to_float(v)
    if kind == "b":
        return lambda v: _to_bool(to_str(v) if isinstance(v, bytes) else v)
    if base in ("VARCHAR", "CHAR"):
        return to_str
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


class RowStore:
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


class Table:
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


class FileTable(Table):
    """A table read once from a JSON-lines or CSV file (``format`` 'json' or
    'csv'; default from the extension, JSON lines otherwise). Lines that do not
    decode are skipped and counted (``dead_letters``, with a message on stderr)."""

    def __init__(self, path: str | Path, fields: Iterable[Field] | Schema, key, format: str | None = None,
                 csv_delimiter: str = ","):
        super().__init__(fields, key)
        from runtime_lib.io.sources import FileSource

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
        self.store = RowStore(self.kinds)
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


class CachedTable(Table):
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
        self.clock = clock or monotonic_ms
        self.sleep = sleep
        self.log = log  # a file; default sys.stderr at the time of writing
        self.cache = RowStore(self.kinds)
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
