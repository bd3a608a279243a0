"""SQL types as the analyzer sees them, and the rules that combine them.

``SqlType`` is immutable; ``nullable`` is part of the type, as in Flink.
``time_attribute`` marks an event-time (``ROWTIME``) or processing-time
(``PROCTIME``) attribute: a TIMESTAMP column windows and OVER may order by.
A ROW type's ``children`` are its fields' types, ``fields`` their names.
"""

from __future__ import annotations

from dataclasses import replace

from compiler.frozen import frozen_dataclass
from runtime_lib.schema import KINDS as RUNTIME_KINDS

INTEGERS = ("TINYINT", "SMALLINT", "INT", "BIGINT")
FLOATS = ("FLOAT", "DOUBLE", "DECIMAL")
NUMERICS = INTEGERS + FLOATS
STRINGS = ("VARCHAR", "CHAR")
TIMESTAMPS = ("TIMESTAMP", "TIMESTAMP_LTZ")
TEMPORALS = TIMESTAMPS + ("DATE", "TIME")

# numpy storage kind per SQL type: the runtime's table (runtime_lib.schema.KINDS),
# for the types the analyzer knows; INTERVAL exists at compile time only
# (tests/test_storage_kinds.py checks every type against the runtime)
_RUNTIME_TYPES = ("BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE", "DECIMAL",
                  "VARCHAR", "CHAR", "TIMESTAMP", "TIMESTAMP_LTZ", "DATE", "TIME", "ARRAY", "MAP",
                  "ROW", "NULL")
STORAGE = {name: RUNTIME_KINDS[name] for name in _RUNTIME_TYPES} | {"INTERVAL": "i"}

KNOWN = set(STORAGE) - {"NULL"}

ALIASES = {
    "INTEGER": "INT",
    "STRING": "VARCHAR",
    "TEXT": "VARCHAR",
    "REAL": "FLOAT",
    "NUMERIC": "DECIMAL",
    "DEC": "DECIMAL",
    "BOOL": "BOOLEAN",
    "DOUBLE PRECISION": "DOUBLE",
}


@frozen_dataclass
class SqlType:
    name: str
    nullable: bool = True
    params: tuple[int, ...] = ()
    children: tuple[SqlType, ...] = ()
    time_attribute: str | None = None  # ROWTIME | PROCTIME
    fields: tuple[str, ...] = ()  # a ROW's field names, one per child

    def __str__(self) -> str:
        if self.name == "ROW":  # Flink's spelling: ROW<`name` TYPE, ...>
            text = "ROW<" + ", ".join(f"{quote_name(n)} {c}"
                                      for n, c in zip(self.fields, self.children)) + ">"
        elif self.name == "ARRAY":
            text = f"ARRAY<{self.children[0]}>"
        elif self.name == "MAP":
            text = f"MAP<{self.children[0]}, {self.children[1]}>"
        elif self.name == "INTERVAL":
            text = "INTERVAL"
        elif self.name in TIMESTAMPS and not self.params:
            text = f"{self.name}(3)"
        elif self.params:
            text = f"{self.name}({', '.join(str(p) for p in self.params)})"
        else:
            text = self.name
        if self.time_attribute:
            text += f" *{self.time_attribute}*"
        if not self.nullable:
            text += " NOT NULL"
        return text

    @property
    def storage(self) -> str:
        return STORAGE[self.name]

    @property
    def is_numeric(self) -> bool:
        return self.name in NUMERICS

    @property
    def is_integer(self) -> bool:
        return self.name in INTEGERS

    @property
    def is_string(self) -> bool:
        return self.name in STRINGS

    @property
    def is_timestamp(self) -> bool:
        return self.name in TIMESTAMPS

    @property
    def is_null(self) -> bool:
        return self.name == "NULL"

    @property
    def is_row(self) -> bool:
        return self.name == "ROW"

    def field(self, name: str) -> tuple[str, SqlType] | None:
        """A ROW's field by name (case-insensitively, as columns are), as declared."""
        lowered = name.lower()
        for field_name, child in zip(self.fields, self.children):
            if field_name.lower() == lowered:
                return field_name, child
        return None

    def with_nullable(self, nullable: bool) -> SqlType:
        return self if self.nullable == nullable else replace(self, nullable=nullable)

    def plain(self) -> SqlType:
        """The same type without a time attribute marker (after a computation)."""
        return replace(self, time_attribute=None) if self.time_attribute else self

    def sql(self) -> str:
        """The type as SQL text, without the nullability and time marker."""
        return str(replace(self, nullable=True, time_attribute=None))


BOOLEAN = SqlType("BOOLEAN")
INT = SqlType("INT")
BIGINT = SqlType("BIGINT")
DOUBLE = SqlType("DOUBLE")
VARCHAR = SqlType("VARCHAR")
TIMESTAMP = SqlType("TIMESTAMP", params=(3,))
TIMESTAMP_LTZ = SqlType("TIMESTAMP_LTZ", params=(3,))
DATE = SqlType("DATE")
TIME = SqlType("TIME")
INTERVAL = SqlType("INTERVAL", nullable=False)
NULL = SqlType("NULL")


def from_name(name: str, params: tuple[int, ...] = (), children: tuple[SqlType, ...] = (),
              fields: tuple[str, ...] = ()) -> SqlType:
    name = ALIASES.get(name, name)
    if name in TIMESTAMPS and not params:
        params = (3,)
    return SqlType(name, True, params, children, fields=fields)


def quote_name(name: str) -> str:
    """A field name as Flink prints it in a ROW type: in backquotes, doubled inside."""
    return "`" + name.replace("`", "``") + "`"


def row_leaves(name: str, typ: SqlType) -> list[tuple[tuple[str, ...], SqlType]]:
    """The scalar fields of a column, each with its path from the column: a ROW
    column ``bid ROW<price BIGINT, ...>`` has ``(("bid", "price"), BIGINT)``...
    (nested ROWs in turn), any other column is its own one leaf. A field of a
    nullable ROW is nullable: a missing or null object makes every field NULL."""
    if not typ.is_row:
        return [((name,), typ)]
    leaves = []
    for field_name, child in zip(typ.fields, typ.children):
        for path, leaf in row_leaves(field_name, child):
            leaves.append(((name, *path), leaf.with_nullable(True) if typ.nullable else leaf))
    return leaves


def leaf_name(path: tuple[str, ...]) -> str:
    """The column a nested field is read into: its path joined by dots (``bid.price``)."""
    return ".".join(path)


def numeric_rank(t: SqlType) -> int:
    order = ("TINYINT", "SMALLINT", "INT", "BIGINT", "DECIMAL", "FLOAT", "DOUBLE")
    return order.index(t.name)


def common_type(a: SqlType, b: SqlType) -> SqlType | None:
    """The type two values are compared or combined in, or None if incompatible."""
    nullable = a.nullable or b.nullable
    if a.is_null:
        return b.plain().with_nullable(True)
    if b.is_null:
        return a.plain().with_nullable(True)
    if a.is_numeric and b.is_numeric:
        wider = a if numeric_rank(a) >= numeric_rank(b) else b
        if wider.name == "DECIMAL" and (a.name in FLOATS[:2] or b.name in FLOATS[:2]):
            wider = DOUBLE
        return SqlType(wider.name, nullable, wider.params)
    if a.is_string and b.is_string:
        return VARCHAR.with_nullable(nullable)
    if a.is_timestamp and b.is_timestamp:
        return SqlType(a.name, nullable, a.params)
    if a.name == b.name:
        return a.plain().with_nullable(nullable)
    return None


def arithmetic_type(a: SqlType, b: SqlType, op: str) -> SqlType | None:
    """Result of ``a op b`` for + - * / %; sqlc computes decimals in DOUBLE."""
    nullable = a.nullable or b.nullable
    if a.is_null or b.is_null:
        other = b if a.is_null else a
        return other.plain().with_nullable(True) if other.is_numeric or other.is_null else None
    if a.is_numeric and b.is_numeric:
        if a.is_integer and b.is_integer:
            wider = a if numeric_rank(a) >= numeric_rank(b) else b
            name = wider.name
            if name in ("TINYINT", "SMALLINT"):
                name = "INT"
            return SqlType(name, nullable)
        return DOUBLE.with_nullable(nullable)
    return None


def is_comparable(a: SqlType, b: SqlType) -> bool:
    if a.is_null or b.is_null:
        return True
    if a.is_string and b.is_timestamp or a.is_timestamp and b.is_string:
        return True  # event_time > '2025-01-01 00:00:00'
    return common_type(a, b) is not None
