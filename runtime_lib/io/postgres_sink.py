"""PostgreSQL as a sink: ``INSERT INTO`` a table declared with
``'connector' = 'postgres'`` (or Flink's ``'jdbc'``), written with psycopg 3.

The table must exist (it is never created: a missing table, a missing column
or a key without a unique index is an error at start, exit code 2). Its
properties are those of a PostgreSQL lookup table (``runtime_lib.io.tables``):
``url`` (``postgresql://...``, also ``jdbc:postgresql://...``) or
``hostname``/``port``/``database``, ``username``, ``password`` (``${VAR}``),
``table-name`` (``schema.table`` allowed; ``schema`` qualifies a bare name),
and for the sink ``sink.buffer-flush.max-rows`` (rows buffered before they are
sent, default 10000) and ``sink.max-retries`` (default 3).

Rows are written as Flink's JDBC sink writes them:

- a table without a PRIMARY KEY (an append-only result): every row is inserted;
- a table with one: +I and +U rows are upserted (``INSERT ... ON CONFLICT (key)
  DO UPDATE``), -D rows deleted by key. A -U row counts as a delete of its key
  that the +U after it (in the same write: the pair of an update is never cut)
  cancels, so an update is one upsert in place and the -U is in effect skipped;
  a -U that no +U follows (the new value failed a HAVING) deletes the row, as
  in Flink's JDBC executor (``TableBufferReducedStatementExecutor``: UPDATE_BEFORE
  and DELETE both delete; the last change of a key in the buffer wins).

Few round trips: the rows buffered since the last send are reduced to the last
change of each key (PostgreSQL refuses to change one row twice in a statement,
and only the last change counts), then go as one ``INSERT ... SELECT FROM
unnest(%s::int8[], %s::text[], ...)`` and at most one ``DELETE ... WHERE (key)
IN (SELECT ... FROM unnest(...))``: one array parameter per column, whatever
the number of rows. Column conversion (the arrays' element types, then SQL):

==========================  ==============================================
our column                  sent as
==========================  ==============================================
BOOLEAN                     boolean
TINYINT .. BIGINT           int8 (PostgreSQL casts to the column's type)
FLOAT, DOUBLE, DECIMAL      float8 (NaN and +-Infinity as PostgreSQL's)
VARCHAR, CHAR               text; BYTES: bytea
TIMESTAMP(p)                int8 epoch ms -> ``timestamp`` (UTC wall time)
TIMESTAMP_LTZ(p)            int8 epoch ms -> ``timestamptz``
DATE, TIME                  days since 1970 -> ``date``; ms of the day -> ``time``
ARRAY, MAP, ROW             JSON text -> ``jsonb`` (a json, jsonb or text column)
==========================  ==============================================

Delivery. Without checkpoints (``recover`` never called) each ``flush()``
commits what was written (at-least-once, like the Kafka sink; an upsert
converges on replay); a lost connection is retried ``sink.max-retries`` times
with backoff, sending again every row since the last commit. With checkpoints,
``recover(pipeline_id)`` reads the id of the last checkpoint this sink
committed from the marker table ``sqlc_checkpoints`` (in the target table's
schema, created if missing), and from then on rows go into one open
transaction: ``commit(checkpoint_id)`` commits them together with the marker
row, so a checkpoint's rows and its marker are both in the database or neither
is; ``close()`` rolls back what no checkpoint covers (it is replayed). Faults
while running (a lost connection, a row PostgreSQL refuses) raise
``runtime_lib.io.sinks.SinkFault`` (exit code 1).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Sequence

import numpy as np
import orjson

from runtime_lib.columns import Batch, Column, concat_batches
from runtime_lib.io.sinks import (
    SinkConfigError,
    SinkCounters,
    SinkFault,
    column_to_json_values,
    op_codes,
)
from runtime_lib.io.tables.stores import _pg_connect_params
from runtime_lib.schema import Field, as_schema

__all__ = ["MARKER_TABLE", "PostgresSink"]

#: the table (in the target's schema) holding each pipeline's last committed checkpoint
MARKER_TABLE = "sqlc_checkpoints"

_MS = "{} * INTERVAL '1 millisecond'"
# base type -> (array element type, SQL of the value from the unnest column {})
_SEND: dict[str, tuple[str, str]] = {
    "BOOLEAN": ("boolean", "{}"),
    "TINYINT": ("int8", "{}"), "SMALLINT": ("int8", "{}"), "INT": ("int8", "{}"),
    "BIGINT": ("int8", "{}"),
    "FLOAT": ("float8", "{}"), "DOUBLE": ("float8", "{}"), "DECIMAL": ("float8", "{}"),
    "VARCHAR": ("text", "{}"), "CHAR": ("text", "{}"), "BYTES": ("bytea", "{}"),
    "TIMESTAMP": ("int8", "TIMESTAMP '1970-01-01' + " + _MS),
    "TIMESTAMP_LTZ": ("int8", "TIMESTAMPTZ '1970-01-01 00:00:00+00' + " + _MS),
    "DATE": ("int8", "DATE '1970-01-01' + {}::int4"),
    "TIME": ("int8", "TIME '00:00' + " + _MS),
    "NULL": ("text", "{}"),
}
_JSON = ("text", "{}::jsonb")  # ARRAY, MAP, ROW, MULTISET
_DEFAULT_BUFFER_ROWS = 10_000
_DEFAULT_RETRIES = 3


class PostgresSink:
    """Rows of one output to a PostgreSQL table; see the module docstring."""

    transactional = True

    def __init__(self, fields: Iterable[Field], key: Sequence[str], properties: dict[str, str],
                 what: str) -> None:
        import psycopg
        from psycopg import sql

        self._psycopg = psycopg
        self._sql = sql
        self.fields = as_schema(fields)
        self.key = tuple(key)
        self.what = what
        self.counters = SinkCounters()
        self.deleted = 0
        table_name = properties.get("table-name", "")
        if not table_name:
            raise SinkConfigError(f"{what}: needs 'table-name'")
        if "." not in table_name and properties.get("schema"):
            table_name = f"{properties['schema']}.{table_name}"
        self.table_name = table_name
        self._buffer_rows = _int_property(properties, "sink.buffer-flush.max-rows",
                                          _DEFAULT_BUFFER_ROWS, what)
        self._retries = _int_property(properties, "sink.max-retries", _DEFAULT_RETRIES, what)
        for f in self.fields:
            if f.base not in _SEND and f.base not in ("ARRAY", "MAP", "ROW", "MULTISET"):
                raise SinkConfigError(f"{what}: a {f.type_name} column ({f.name}) cannot be "
                                      "written to PostgreSQL")
        port = properties.get("port")
        self._conninfo, self._params = _pg_connect_params(
            None, properties.get("url"), properties.get("hostname"),
            int(port) if port else None, properties.get("database"),
            properties.get("username"), properties.get("password"), 5)
        self._params["autocommit"] = False
        self._checkpointing = False
        self._failed = False  # a fault was raised: the open transaction is lost
        self._pending: list[tuple[Batch, np.ndarray | None]] = []  # not sent yet
        self._pending_rows = 0
        self._sent: list[tuple[Batch, np.ndarray | None]] = []  # sent, not committed
        try:
            self._conn = self._connect()
        except psycopg.Error as error:
            raise SinkConfigError(f"{what}: cannot connect to PostgreSQL at {self.where()}: "
                                  f"{_reason(error)}") from None
        try:
            self._prepare()
        except psycopg.Error as error:
            self._close_connection()
            raise SinkConfigError(f"{what}: {_reason(error)}") from None
        except SinkConfigError:
            self._close_connection()
            raise

    # ------------------------------------------------------------ the protocol

    def recover(self, pipeline_id: str) -> int | None:
        """The id of the last checkpoint whose rows this sink committed for
        ``pipeline_id`` (None: never). Creates the marker table if it is missing;
        from now on rows are written into one open transaction that ``commit``
        commits."""
        sql = self._sql
        create = sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (pipeline_id text PRIMARY KEY, "
            "checkpoint_id bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now())"
        ).format(self._marker)
        select = sql.SQL("SELECT checkpoint_id FROM {} WHERE pipeline_id = %s").format(
            self._marker)
        try:
            self._conn.rollback()
            try:
                self._conn.execute(create)
                self._conn.commit()
            except self._psycopg.errors.UniqueViolation:  # created at the same time elsewhere
                self._conn.rollback()
            row = self._conn.execute(select, (pipeline_id,)).fetchone()
            self._conn.commit()
        except self._psycopg.Error as error:
            raise self._fault("cannot read the checkpoint marker", error) from None
        self._checkpointing = True
        self._pipeline_id = pipeline_id
        return None if row is None else int(row[0])

    def write(self, batch: Batch, ops: Sequence | np.ndarray | None = None) -> None:
        n = batch.num_rows
        if not n:
            return
        if ops is None:
            ops = batch.ops
        codes = None if ops is None else op_codes(np.asarray(ops, dtype=object))
        if codes is not None and not self.key and bool((codes % 2 == 1).any()):
            raise SinkFault(f"{self.what}: the result retracts rows (-U/-D), and table "
                            f"{self.table_name} has no PRIMARY KEY to delete them by")
        self._pending.append((Batch(batch.columns, n), codes))
        self._pending_rows += n
        if self._pending_rows >= self._buffer_rows:
            self._send_pending()

    def flush(self) -> None:
        """Send the buffered rows; without checkpoints also commit them."""
        self._send_pending()
        if not self._checkpointing:
            self._commit_plain()

    def commit(self, checkpoint_id: int) -> None:
        """Commit the rows written since the last commit and the marker row
        ``(pipeline_id, checkpoint_id)`` in one transaction."""
        if not self._checkpointing:
            raise RuntimeError("commit(checkpoint_id) needs recover(pipeline_id) first")
        self._send_pending()
        marker = self._sql.SQL(
            "INSERT INTO {} (pipeline_id, checkpoint_id, committed_at) VALUES (%s, %s, now()) "
            "ON CONFLICT (pipeline_id) DO UPDATE SET checkpoint_id = EXCLUDED.checkpoint_id, "
            "committed_at = EXCLUDED.committed_at").format(self._marker)
        try:
            self._conn.execute(marker, (self._pipeline_id, int(checkpoint_id)))
            self._conn.commit()
        except self._psycopg.Error as error:
            raise self._fault(f"checkpoint {checkpoint_id} not committed", error) from None

    def close(self) -> None:
        """Without checkpoints: commit what was written. With them: roll back
        what no checkpoint committed (the driver replays it)."""
        if self._conn is None:
            return
        try:
            if self._checkpointing or self._failed:
                with contextlib.suppress(self._psycopg.Error):  # a lost connection rolls back too
                    self._conn.rollback()
                self._pending.clear()
            else:
                self.flush()
        finally:
            self._close_connection()

    # ------------------------------------------------------------ start

    def where(self) -> str:
        info = {}
        if self._conninfo:
            with contextlib.suppress(Exception):
                info = self._psycopg.conninfo.conninfo_to_dict(self._conninfo)
        host = self._params.get("host") or info.get("host", "localhost")
        port = self._params.get("port") or info.get("port", 5432)
        db = self._params.get("dbname") or info.get("dbname", "")
        return f"{host}:{port}/{db}"

    def _connect(self):
        try:
            return self._psycopg.connect(self._conninfo, **self._params)
        except self._psycopg.ProgrammingError as error:  # an unreadable URL
            raise SinkConfigError(f"{self.what}: cannot read the PostgreSQL url: "
                                  f"{_reason(error)}") from None

    def _prepare(self) -> None:
        """Check the table (it exists, has every column, a unique index on the
        key) and build the statements."""
        sql = self._sql
        table = sql.Identifier(*self.table_name.split("."))
        conn = self._conn
        found = conn.execute("SELECT to_regclass(%s)::oid", (table.as_string(conn),)).fetchone()
        if found is None or found[0] is None:
            raise SinkConfigError(
                f"{self.what}: table {self.table_name} does not exist in {self.where()}; "
                "sqlc writes to an existing table and does not create it (CREATE TABLE it "
                "in PostgreSQL first)")
        oid = found[0]
        schema = conn.execute("SELECT n.nspname FROM pg_class c JOIN pg_namespace n "
                              "ON n.oid = c.relnamespace WHERE c.oid = %s", (oid,)).fetchone()[0]
        columns = dict(conn.execute(
            "SELECT attname, attnum FROM pg_attribute WHERE attrelid = %s AND attnum > 0 "
            "AND NOT attisdropped", (oid,)).fetchall())
        lowered = {name.lower(): name for name in columns}
        names = {}
        for f in self.fields:
            actual = f.name if f.name in columns else lowered.get(f.name.lower())
            if actual is None:
                raise SinkConfigError(
                    f"{self.what}: table {self.table_name} has no column {f.name} (it has "
                    + ", ".join(columns) + ")")
            names[f.name] = actual
        if self.key:
            wanted = sorted(columns[names[k]] for k in self.key)
            indexes = conn.execute("SELECT indkey::int2[] FROM pg_index WHERE indrelid = %s "
                                   "AND indisunique AND indpred IS NULL", (oid,)).fetchall()
            if not any(sorted(cols) == wanted for (cols,) in indexes):
                raise SinkConfigError(
                    f"{self.what}: table {self.table_name} has no PRIMARY KEY or UNIQUE "
                    f"constraint on ({', '.join(names[k] for k in self.key)}), which rows are "
                    f"upserted by; add one (ALTER TABLE {self.table_name} ADD PRIMARY KEY "
                    f"({', '.join(names[k] for k in self.key)}))")
        conn.rollback()  # the catalog reads ran in a transaction
        self._marker = sql.Identifier(schema, MARKER_TABLE)
        self._insert = self._insert_statement(table, names)
        self._delete = self._delete_statement(table, names) if self.key else None

    def _rows_from(self, fields: Sequence[Field]):
        """``SELECT <converted columns> FROM unnest(%s::type[], ...) AS u(c0, ...)``."""
        sql = self._sql
        sends = [_SEND.get(f.base, _JSON) for f in fields]
        cols = [sql.Identifier(f"c{i}") for i in range(len(fields))]
        exprs = sql.SQL(", ").join(sql.SQL(expr).format(c) for c, (_, expr) in zip(cols, sends))
        arrays = sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(array))
                                    for array, _ in sends)
        return sql.SQL("SELECT {} FROM unnest({}) AS u({})").format(
            exprs, arrays, sql.SQL(", ").join(cols))

    def _insert_statement(self, table, names: dict[str, str]):
        sql = self._sql
        target = sql.SQL(", ").join(sql.Identifier(names[f.name]) for f in self.fields)
        statement = sql.SQL("INSERT INTO {} ({}) {}").format(table, target,
                                                            self._rows_from(self.fields))
        if not self.key:
            return statement
        keys = sql.SQL(", ").join(sql.Identifier(names[k]) for k in self.key)
        rest = [names[f.name] for f in self.fields if f.name not in self.key]
        if not rest:
            return sql.SQL("{} ON CONFLICT ({}) DO NOTHING").format(statement, keys)
        updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
                                     for c in rest)
        return sql.SQL("{} ON CONFLICT ({}) DO UPDATE SET {}").format(statement, keys, updates)

    def _delete_statement(self, table, names: dict[str, str]):
        sql = self._sql
        key_fields = [self.fields[k] for k in self.key]
        keys = sql.SQL(", ").join(sql.Identifier(names[k]) for k in self.key)
        return sql.SQL("DELETE FROM {} WHERE ({}) IN ({})").format(
            table, keys, self._rows_from(key_fields))

    # ------------------------------------------------------------ sending

    def _send_pending(self) -> None:
        if not self._pending:
            return
        chunk = self._reduce(self._pending)
        self._pending, self._pending_rows = [], 0
        if not self._checkpointing:
            self._sent.append(chunk)  # kept until committed, to send again after a reconnect
        try:
            self._execute(chunk)
        except self._psycopg.OperationalError as error:
            if self._checkpointing:
                raise self._fault("rows not written", error) from None
            self._reconnect_and_resend(error)
        except self._psycopg.Error as error:  # a row PostgreSQL refuses
            raise self._fault("rows not written", error) from None

    def _reduce(self, parts: list[tuple[Batch, np.ndarray | None]]
                ) -> tuple[Batch, np.ndarray | None]:
        """The buffered rows as one batch; with a key only the last change of
        each key, with its code (0/2 upsert, 1/3 delete)."""
        batch = parts[0][0] if len(parts) == 1 else concat_batches([b for b, _ in parts])
        if not self.key:
            return batch, None
        n = batch.num_rows
        codes = np.concatenate([c if c is not None else np.zeros(b.num_rows, dtype=np.int64)
                                for b, c in parts])
        key_lists = [batch[k].to_pylist() for k in self.key]
        last = {k: i for i, k in enumerate(zip(*key_lists))}
        if len(last) == n:
            return batch, codes
        index = np.fromiter(sorted(last.values()), dtype=np.int64, count=len(last))
        return batch.take(index), codes[index]

    def _execute(self, chunk: tuple[Batch, np.ndarray | None]) -> None:
        batch, codes = chunk
        conn = self._conn
        gone = None if codes is None else codes % 2 == 1  # -U, -D
        if gone is None or not gone.any():
            upserts, deletes = batch, None
        else:
            upserts = batch.take(~gone)
            deletes = batch.take(gone)
        if upserts.num_rows:
            conn.execute(self._insert, [_array(upserts[f.name], f) for f in self.fields])
        if deletes is not None and deletes.num_rows:
            assert self._delete is not None
            conn.execute(self._delete, [_array(deletes[k], self.fields[k]) for k in self.key])
            self.deleted += deletes.num_rows
        self.counters.count(batch.num_rows, 0, None)

    def _commit_plain(self) -> None:
        """Without checkpoints: commit what was sent (retried after a lost connection)."""
        if not self._sent:
            return
        try:
            self._conn.commit()
        except self._psycopg.OperationalError as error:
            self._reconnect_and_resend(error)
            return
        except self._psycopg.Error as error:
            raise self._fault("rows not committed", error) from None
        self._sent.clear()

    def _reconnect_and_resend(self, error: Exception) -> None:
        """A lost connection without checkpoints: connect again (backoff 0.5 s,
        doubling) and send every row since the last commit, then commit."""
        delay = 0.5
        for attempt in range(1, self._retries + 1):
            print(f"sqlc: {self.what}: PostgreSQL at {self.where()}: {_reason(error)}; "
                  f"retrying in {delay:g} s (attempt {attempt})", file=sys.stderr)
            time.sleep(delay)
            delay *= 2
            self._close_connection()
            try:
                self._conn = self._psycopg.connect(self._conninfo, **self._params)
                for chunk in self._sent:
                    self._execute(chunk)
                self._conn.commit()
            except self._psycopg.OperationalError as again:
                error = again
                continue
            except self._psycopg.Error as other:
                raise self._fault("rows not written", other) from None
            self._sent.clear()
            return
        raise self._fault(f"rows not written (gave up after {self._retries} retries)",
                          error) from None

    def _fault(self, what: str, error: Exception) -> SinkFault:
        """The fault to raise; the transaction is lost, so nothing of it is
        committed later (``close`` only closes)."""
        self._failed = True
        self._pending.clear()
        self._sent.clear()
        return SinkFault(f"{self.what}: table {self.table_name} at {self.where()}: {what}: "
                         f"{_reason(error)}")

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # already broken: closing may fail too
                self._conn.close()
            self._conn = None


def _array(col: Column, f: Field) -> list:
    """One column as the Python list psycopg sends as an array (None for NULL)."""
    if f.base in _SEND:
        return col.to_pylist()
    return [None if v is None else orjson.dumps(v).decode()
            for v in column_to_json_values(col, f.type_name)]


def _int_property(properties: dict[str, str], name: str, default: int, what: str) -> int:
    text = properties.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise SinkConfigError(f"{what}: '{name}' takes a whole number >= 0, got {text!r}")
    return value


def _reason(error: Exception) -> str:
    """psycopg's message, on one line."""
    return " ".join(str(error).split()) or type(error).__name__
