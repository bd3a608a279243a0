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
>>> from runtime_lib.io.tables import FileTable
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

The tables (files, PostgreSQL, Redis, changelog and Kafka tables, their
cache and retry policy) are in ``runtime_lib.io.tables``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from runtime_lib.columns import DTYPES, FILLERS, Batch, Column, truth_mask
from runtime_lib.state import Stateful


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
            found = found & truth_mask(self.residual(joined), n)
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
