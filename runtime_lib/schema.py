"""Runtime schema: the column names, SQL types and nullability a pipeline sees.

The compiler emits schemas as literal ``Field`` tuples with *normalized* type
names, so the runtime never parses SQL. A normalized type name is upper case
with no spaces::

    BOOLEAN  TINYINT  SMALLINT  INT  BIGINT  FLOAT  DOUBLE  DECIMAL(10,2)
    VARCHAR  CHAR(3)  DATE  TIME  TIMESTAMP(3)  TIMESTAMP_LTZ(3)
    ARRAY<BIGINT>  MAP<VARCHAR,BIGINT>  ROW<a INT, b VARCHAR>  BYTES

``normalize_type_name`` accepts the common spellings (``STRING``, ``INTEGER``,
``VARCHAR(100)``, ``timestamp_ltz(3)``, ``DOUBLE PRECISION``) and is what tests
and hand-written pipelines use; generated code already carries normalized names.

The physical storage of each type is the numpy *kind* of ``columns.py``:
'b' bool, 'i' int64, 'f' float64, 'O' object.

>>> Field("latency_ms", "DOUBLE").kind
'f'
>>> base_type("TIMESTAMP_LTZ(3)"), type_args("DECIMAL(10,2)")
('TIMESTAMP_LTZ', ('10', '2'))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# base type name -> numpy kind (columns.py conventions); the compiler's table
# (compiler.types.STORAGE) is read from this one, tests/test_storage_kinds.py
KINDS: dict[str, str] = {
    "BOOLEAN": "b",
    "TINYINT": "i",
    "SMALLINT": "i",
    "INT": "i",
    "BIGINT": "i",
    "FLOAT": "f",
    "DOUBLE": "f",
    "DECIMAL": "f",
    "VARCHAR": "O",
    "CHAR": "O",
    "BYTES": "O",
    "DATE": "i",
    "TIME": "i",
    "TIMESTAMP": "i",
    "TIMESTAMP_LTZ": "i",
    "ARRAY": "O",
    "MAP": "O",
    "MULTISET": "O",
    "ROW": "O",
    "NULL": "O",
}

# Inclusive value ranges of the integer types (Flink: 8, 16, 32, 64 bit).
INT_RANGES: dict[str, tuple[int, int]] = {
    "TINYINT": (-(2**7), 2**7 - 1),
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INT": (-(2**31), 2**31 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
}

INTEGER_TYPES = frozenset(INT_RANGES)
FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE", "DECIMAL"})
NUMERIC_TYPES = INTEGER_TYPES | FLOAT_TYPES
STRING_TYPES = frozenset({"VARCHAR", "CHAR"})
TIMESTAMP_TYPES = frozenset({"TIMESTAMP", "TIMESTAMP_LTZ"})

_ALIASES = {
    "STRING": "VARCHAR",
    "TEXT": "VARCHAR",
    "INTEGER": "INT",
    "LONG": "BIGINT",
    "BOOL": "BOOLEAN",
    "REAL": "FLOAT",
    "DOUBLEPRECISION": "DOUBLE",
    "NUMERIC": "DECIMAL",
    "DEC": "DECIMAL",
    "BINARY": "BYTES",
    "VARBINARY": "BYTES",
    "TIMESTAMP_WITH_LOCAL_TIME_ZONE": "TIMESTAMP_LTZ",
    "TIMESTAMPWITHLOCALTIMEZONE": "TIMESTAMP_LTZ",
    "TIMESTAMPWITHOUTTIMEZONE": "TIMESTAMP",
}
# Length arguments that do not change the runtime representation.
_DROP_ARGS = frozenset({"VARCHAR", "BYTES"})

_HEAD = re.compile(r"([A-Z_]+)(.*)", re.DOTALL)


class SchemaError(ValueError):
    """A type name or schema the runtime cannot represent."""


def normalize_type_name(type_name: str) -> str:
    """Canonical spelling of a SQL type: upper case, aliases resolved, no spaces.

    >>> normalize_type_name("string"), normalize_type_name("timestamp(3)")
    ('VARCHAR', 'TIMESTAMP(3)')
    >>> normalize_type_name("map<string, bigint>")
    'MAP<VARCHAR,BIGINT>'
    """
    text = type_name.strip().upper()
    text = re.sub(r"\s+NOT\s+NULL$", "", text)
    if text.startswith("TIMESTAMP") and "LOCAL TIME ZONE" in text:
        precision = re.search(r"\((\d+)\)", text)
        return f"TIMESTAMP_LTZ({precision.group(1) if precision else 6})"
    if text.startswith(("ARRAY<", "MAP<", "MULTISET<")):
        head, inner = text.split("<", 1)
        parts = [normalize_type_name(p) for p in _split_top_level(inner.rstrip(">").strip())]
        return f"{head}<{','.join(parts)}>"
    if text.startswith(("ROW<", "ROW(")):
        return "ROW" + re.sub(r"\s*,\s*", ", ", text[3:])
    compact = re.sub(r"\s+", "", text)
    match = _HEAD.fullmatch(compact)
    if not match:
        raise SchemaError(f"unknown SQL type {type_name!r}")
    head, rest = match.groups()
    head = _ALIASES.get(head, head)
    if head not in KINDS:
        raise SchemaError(f"unknown SQL type {type_name!r}")
    if head in _DROP_ARGS:
        rest = ""
    return head + rest


def _split_top_level(text: str) -> list[str]:
    """Split 'VARCHAR, ARRAY<INT>' at commas not nested in <> or ()."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def base_type(type_name: str) -> str:
    """'TIMESTAMP' for 'TIMESTAMP(3)', 'ARRAY' for 'ARRAY<BIGINT>'."""
    match = _HEAD.match(type_name.strip().upper())
    if not match:
        raise SchemaError(f"unknown SQL type {type_name!r}")
    head = match.group(1)
    return _ALIASES.get(head, head)


def type_args(type_name: str) -> tuple[str, ...]:
    """The arguments of a parameterized type: ('10', '2') for DECIMAL(10,2),
    ('VARCHAR', 'BIGINT') for MAP<VARCHAR,BIGINT>, () for BIGINT."""
    text = type_name.strip()
    for open_, close in (("(", ")"), ("<", ">")):
        if open_ in text and text.endswith(close):
            inner = text[text.index(open_) + 1 : -1]
            return tuple(_split_top_level(inner))
    return ()


def numpy_kind(type_name: str) -> str:
    """The numpy kind ('b', 'i', 'f', 'O') a column of this SQL type is stored as."""
    try:
        return KINDS[base_type(type_name)]
    except KeyError:
        raise SchemaError(f"unknown SQL type {type_name!r}") from None


def timestamp_precision(type_name: str) -> int:
    """Declared precision of TIMESTAMP(p)/TIMESTAMP_LTZ(p); storage is always ms."""
    args = type_args(type_name)
    return int(args[0]) if args else 6


@dataclass(frozen=True, slots=True)
class Field:
    """One column: its name, normalized SQL type and nullability."""

    name: str
    type_name: str
    nullable: bool = True
    note: str = ""  # why the column is required, for dead-letter reasons
    # a field of a ROW column: its path in the record (("bid", "price") for the
    # column "bid.price"); () reads the column by its name
    path: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return numpy_kind(self.type_name)

    @property
    def base(self) -> str:
        return base_type(self.type_name)

    def __str__(self) -> str:
        return f"{self.name} {self.type_name}{'' if self.nullable else ' NOT NULL'}"


@dataclass(frozen=True, slots=True)
class Schema:
    """An ordered tuple of fields with unique names."""

    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SchemaError(f"duplicate column names {duplicates}")
        for field in self.fields:
            numpy_kind(field.type_name)  # refuse unknown types at construction

    @classmethod
    def of(cls, fields: Iterable[Field | tuple]) -> Schema:
        """Build from Fields or (name, type_name[, nullable]) tuples."""
        return cls(tuple(f if isinstance(f, Field) else Field(*f) for f in fields))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __getitem__(self, name: str) -> Field:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)

    def select(self, names: Iterable[str]) -> Schema:
        """The sub-schema of the named columns, in the order given (projection
        pushdown: a decoder given fewer fields skips the rest cheaply)."""
        return Schema(tuple(self[n] for n in names))


def as_schema(schema: Schema | Iterable[Field | tuple]) -> Schema:
    return schema if isinstance(schema, Schema) else Schema.of(schema)
