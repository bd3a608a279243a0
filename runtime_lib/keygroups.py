"""Key groups: how a keyed operator's state is split between processes.

As in Flink, a job has a fixed number of *key groups* (its max parallelism,
``DEFAULT_MAX_PARALLELISM`` = 128 unless the checkpoint directory's first
checkpoint said otherwise; it is recorded in every checkpoint's manifest and
cannot change for the life of the job). A row's key group is a stable hash of
its operator's key (the GROUP BY columns, a join's equality columns, a
dedup's or TopN's PARTITION BY) modulo the max parallelism; a process owns a
contiguous range of key groups (``KeyGroups``, ``--key-groups 0-63``) and
restores only the state of the keys in it.

The hash (``key_hash``) is FNV-1a 64 over a canonical encoding of the key's
columns, finished with murmur3's ``fmix64`` (FNV's low bits alone are weak
for a modulo by a power of two). It is computed with numpy, vectorized over
the rows (a loop over the bytes of the longest string, not over the rows),
and depends on nothing but the key's values: not on Python's ``hash()``
(salted per process), not on the Python or numpy version, not on the order
keys were seen. No murmur3/xxhash package is installed here, and a pure
numpy FNV needs none. Each column contributes, per row,

* a NULL: the byte ``0x00``;
* a BOOLEAN, integer, TIMESTAMP, DATE, TIME: ``0x01`` and the int64 value,
  8 bytes little-endian (``TRUE`` is 1);
* a FLOAT/DOUBLE: ``0x02`` and the float64 bits, little-endian, with
  ``-0.0`` as ``0.0`` and every NaN as the one quiet NaN (SQL groups them so);
* a string: ``0x03``, its UTF-8 length as 4 bytes little-endian, the UTF-8
  bytes (other objects, ARRAY/MAP/ROW values: their JSON text, keys sorted).

``tests/runtime/test_keygroups.py`` pins the values of a few keys, so a
change of the hash (which would move every key to another process and make
every checkpoint unsplittable) fails a test.

>>> from runtime_lib.columns import column_from_pylist
>>> key_group([column_from_pylist(["gpt-4", "claude", None], "O")], 128).tolist()
[26, 0, 123]
>>> KeyGroups.parse("0-63", 128), KeyGroups.parse("64-127", 128).covers_all
(KeyGroups(start=0, end=63, max_parallelism=128), False)
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import numpy as np

from runtime_lib.columns import Column

DEFAULT_MAX_PARALLELISM = 128

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_QUIET_NAN = np.array([np.nan], np.float64).view(np.int64)[0]


class KeyGroupError(Exception):
    """State that cannot be split or merged as asked; the message says why."""


@dataclass(frozen=True)
class KeyGroups:
    """The key groups ``start..end`` (inclusive) of ``max_parallelism``."""

    start: int
    end: int
    max_parallelism: int = DEFAULT_MAX_PARALLELISM

    def __post_init__(self) -> None:
        if self.max_parallelism < 1:
            raise KeyGroupError(f"the max parallelism must be at least 1, got "
                                f"{self.max_parallelism}")
        if not 0 <= self.start <= self.end < self.max_parallelism:
            raise KeyGroupError(f"key groups {self.start}-{self.end} are not within 0-"
                                f"{self.max_parallelism - 1} (the job's max parallelism is "
                                f"{self.max_parallelism})")

    @classmethod
    def all(cls, max_parallelism: int = DEFAULT_MAX_PARALLELISM) -> KeyGroups:
        return cls(0, max_parallelism - 1, max_parallelism)

    @classmethod
    def parse(cls, text: str, max_parallelism: int = DEFAULT_MAX_PARALLELISM) -> KeyGroups:
        """``'0-63'`` (or one group, ``'5'``) of ``max_parallelism`` groups."""
        lo, sep, hi = str(text).strip().partition("-")
        try:
            start = int(lo)
            end = int(hi) if sep else start
        except ValueError:
            raise KeyGroupError(f"--key-groups: '{text}' is not a range of key groups (for "
                                f"example 0-63 of 0-{max_parallelism - 1})") from None
        return cls(start, end, max_parallelism)

    @property
    def covers_all(self) -> bool:
        return self.start == 0 and self.end == self.max_parallelism - 1

    def contains(self, groups: np.ndarray) -> np.ndarray:
        """A mask: which of ``groups`` (key group numbers) are in this range."""
        groups = np.asarray(groups, np.int64)
        return (groups >= self.start) & (groups <= self.end)

    def __str__(self) -> str:
        return f"{self.start}-{self.end} of {self.max_parallelism}"

    def as_data(self) -> dict:
        return {"start": self.start, "end": self.end, "max_parallelism": self.max_parallelism}

    @classmethod
    def from_data(cls, data: dict | None) -> KeyGroups | None:
        return None if data is None else cls(int(data["start"]), int(data["end"]),
                                             int(data["max_parallelism"]))


def split_evenly(parts: int, max_parallelism: int = DEFAULT_MAX_PARALLELISM) -> list[KeyGroups]:
    """``parts`` contiguous ranges covering every key group, as even as can be
    (Flink's ``KeyGroupRangeAssignment``: range i starts at i * groups / parts, rounded up).

    >>> [str(g) for g in split_evenly(3, 128)]
    ['0-42 of 128', '43-85 of 128', '86-127 of 128']
    """
    if not 1 <= parts <= max_parallelism:
        raise KeyGroupError(f"cannot split {max_parallelism} key groups into {parts} parts")
    bounds = [(i * max_parallelism + parts - 1) // parts for i in range(parts + 1)]
    return [KeyGroups(lo, hi - 1, max_parallelism) for lo, hi in itertools.pairwise(bounds)]


def _fnv_bytes(h: np.ndarray, data: np.ndarray, width: int) -> np.ndarray:
    """Fold ``width`` little-endian bytes of the uint64 ``data`` into ``h``."""
    for i in range(width):
        byte = (data >> np.uint64(8 * i)) & np.uint64(0xFF)
        h = (h ^ byte) * _FNV_PRIME
    return h


def _fnv_strings(h: np.ndarray, texts: list[bytes], rows: np.ndarray) -> np.ndarray:
    """Fold each of ``texts`` (the UTF-8 of rows ``rows``) into ``h``."""
    if not len(rows):
        return h
    lengths = np.fromiter((len(t) for t in texts), np.int64, count=len(texts))
    sub = _fnv_bytes(h[rows], lengths.astype(np.uint64), 4)
    longest = int(lengths.max())
    if longest:
        matrix = np.zeros((len(texts), longest), np.uint8)
        flat = np.frombuffer(b"".join(texts), np.uint8)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        row_of = np.repeat(np.arange(len(texts)), lengths)
        matrix[row_of, np.arange(len(flat)) - np.repeat(starts, lengths)] = flat
        for j in range(longest):
            live = lengths > j
            sub = np.where(live, (sub ^ matrix[:, j].astype(np.uint64)) * _FNV_PRIME, sub)
    h[rows] = sub
    return h


def _text(value) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, sort_keys=True, default=str).encode("utf-8")


def key_hash(columns: list[Column]) -> np.ndarray:
    """The stable 64-bit hash of each row's key (the module docstring)."""
    n = len(columns[0]) if columns else 0
    h = np.full(n, _FNV_OFFSET, np.uint64)
    with np.errstate(over="ignore"):
        for column in columns:
            valid = column.is_valid()
            values = column.values
            tag = np.zeros(n, np.uint64)
            if values.dtype == object:
                tag[valid] = 3
                h = _fnv_bytes(h, tag, 1)
                rows = np.flatnonzero(valid)
                h = _fnv_strings(h, [_text(values[i]) for i in rows.tolist()], rows)
                continue
            if values.dtype.kind == "f":
                floats = np.where(values == 0, 0.0, values).astype(np.float64)
                bits = floats.view(np.int64).copy()
                bits[np.isnan(floats)] = _QUIET_NAN
                tag[valid] = 2
            else:
                bits = values.astype(np.int64)
                tag[valid] = 1
            h = _fnv_bytes(h, tag, 1)
            h = np.where(valid, _fnv_bytes(h, bits.view(np.uint64), 8), h)
        # murmur3 fmix64
        h = h ^ (h >> np.uint64(33))
        h = h * np.uint64(0xFF51AFD7ED558CCD)
        h = h ^ (h >> np.uint64(33))
        h = h * np.uint64(0xC4CEB9FE1A85EC53)
        h = h ^ (h >> np.uint64(33))
    return h


def key_group(columns: list[Column], max_parallelism: int = DEFAULT_MAX_PARALLELISM) -> np.ndarray:
    """The key group (0..max_parallelism-1) of each row's key, as int64."""
    return (key_hash(columns) % np.uint64(max_parallelism)).astype(np.int64)


def retain(operator, name: str, owned: KeyGroups) -> None:
    """Keep only the state of ``operator`` that belongs to the key groups
    ``owned`` (restored from a checkpoint of more of them). An operator
    whose state is not split by key (a global aggregate, LIMIT, a TopN
    without PARTITION BY, a sort by time) cannot be restored into a process
    that owns only some key groups: ``KeyGroupError``."""
    if owned.covers_all:
        return
    method = getattr(operator, "retain_key_groups", None)
    why = getattr(operator, "unsplittable", None)
    why = why() if callable(why) else None
    if method is None or why:
        raise KeyGroupError(
            f"operator {name} ({type(operator).__name__}) cannot run in a process owning "
            f"only key groups {owned}: {why or 'its state is not split by key'}. Run it as one "
            f"process (--key-groups omitted, or 0-{owned.max_parallelism - 1})")
    method(owned)


def owned_keys(keys, owned: KeyGroups) -> np.ndarray:
    """The ids of a ``KeyEncoder``'s keys that fall in the key groups ``owned``
    (sorted): what a keyed operator keeps in ``retain_key_groups``."""
    n = len(keys)
    if not n:
        return np.zeros(0, np.int64)
    groups = key_group(keys.decode(np.arange(n, dtype=np.int64)), owned.max_parallelism)
    return np.flatnonzero(owned.contains(groups)).astype(np.int64)


def keeps_counters(owned: KeyGroups) -> bool:
    """Whether a process owning ``owned`` keeps an operator's counters (late
    rows, expired keys) of a checkpoint it was split from: the one owning key
    group 0 does, the others start them at 0, so that their sum over the
    processes is the count of the process they came from (and merging sums)."""
    return owned.start == 0


# -- merging the snapshots of disjoint key groups ------------------------------------
#
# The pieces come from processes that owned disjoint key groups, so their keys are
# disjoint: a merged key dictionary is theirs one after the other (ids of the second
# piece shifted by the first's count), and so are the arrays per key or per slot.

#: what an accumulator's snapshot (``aggregates.states``) holds other than one entry
#: per slot: slot numbers (shifted), value codes into its dictionary, flat buffers
_SLOT_REFERENCES = {"slot", "ent_slot"}


def _concat(a, b):
    if isinstance(a, list) or isinstance(b, list):
        return list(a) + list(b)
    return np.concatenate([np.asarray(a), np.asarray(b)])


def _concat_part(a: dict, b: dict, slots_a: int) -> dict:
    out = {}
    if "dictionary" in a:  # COUNT(DISTINCT) of strings: codes into a dictionary each
        merged = list(a["dictionary"])
        where = {v: i for i, v in enumerate(merged)}
        for v in b["dictionary"]:
            if v not in where:
                where[v] = len(merged)
                merged.append(v)
        out["dictionary"] = merged
        recode = np.array([where[v] for v in b["dictionary"]], np.int64)
        codes_b = recode[np.asarray(b["code"], np.int64)] if len(recode) else np.asarray(
            b["code"], np.int64)
        out["code"] = np.concatenate([np.asarray(a["code"], np.int64), codes_b])
    for key, mine in a.items():
        if key in out:
            continue
        if key in _SLOT_REFERENCES:
            out[key] = np.concatenate([np.asarray(mine, np.int64),
                                       np.asarray(b[key], np.int64) + slots_a])
        elif key == "neg" and (len(mine) == 0) != (len(b[key]) == 0):
            # a sketch allocates its negative histograms on its first negative value
            out[key] = np.concatenate([
                np.asarray(p[key]) if len(p[key]) else np.zeros(np.shape(p["pos"]), np.int32)
                for p in (a, b)])
        else:
            out[key] = _concat(mine, b[key])
    return out


def merge_aggregate_states(a: dict, b: dict) -> dict:
    """Two ``AggregateStates`` snapshots of disjoint slots as one (``a``'s slots first)."""
    if a.get("names") != b.get("names"):
        raise KeyGroupError("the pieces hold other aggregates")
    n_a = int(a["n_slots"])
    return {"n_slots": n_a + int(b["n_slots"]), "rows": _concat(a["rows"], b["rows"]),
            "parts": [_concat_part(pa, pb, n_a) for pa, pb in zip(a["parts"], b["parts"],
                                                                              strict=True)],
            **({"names": a["names"]} if "names" in a else {})}


def merge_key_dictionaries(a: dict, b: dict) -> dict:
    """Two ``KeyEncoder`` snapshots of disjoint keys as one (``a``'s ids first)."""
    out = {"n": int(a["n"]) + int(b["n"])}
    for key, mine in a.items():
        if key != "n":
            out[key] = _concat(mine, b[key])
    return out


def merge_emitted(a: dict, b: dict, keys_a: int) -> dict:
    """Two ``EmittedRows`` snapshots whose ``a`` is a key id, as one."""
    out = {"a": np.concatenate([np.asarray(a["a"], np.int64),
                                np.asarray(b["a"], np.int64) + keys_a]),
           "b": _concat(a["b"], b["b"]),
           "values": [_concat(x, y) for x, y in zip(a["values"], b["values"], strict=True)],
           "valid": [_concat(x, y) for x, y in zip(a["valid"], b["valid"], strict=True)]}
    if "names" in a:
        out["names"] = a["names"]
    return out


def merge_rows(a: list, b: list) -> list:
    """Two lists of checkpointed columns (``state.values_data``: a list of
    values or an array each) as one, ``a``'s rows first."""
    return [_concat(x, y) for x, y in zip(a, b, strict=True)]


def padded(values, n: int, fill) -> np.ndarray:
    """A per-key array cut or grown to ``n`` keys (arrays an operator grows
    only where its mode uses them)."""
    values = np.asarray(values)
    out = np.full(n, fill, values.dtype if values.size else np.asarray(fill).dtype)
    out[: min(n, len(values))] = values[:n]
    return out


def merge(operator, name: str, pieces: list[dict]) -> dict:
    """The snapshots ``pieces`` of ``operator``'s kind, taken by processes that
    owned disjoint key groups, as one snapshot of all their keys (restored
    with ``operator.restore``). Counters add up, watermarks take the minimum,
    arrival numbers the maximum. ``KeyGroupError`` for an operator that does
    not merge (yet)."""
    method = getattr(type(operator), "merge_snapshots", None)
    if method is None:
        raise KeyGroupError(f"operator {name} ({type(operator).__name__}): merging the "
                            "checkpoints of several processes is not supported for it yet")
    merged = pieces[0]
    for piece in pieces[1:]:
        merged = method(merged, piece)
    return merged
