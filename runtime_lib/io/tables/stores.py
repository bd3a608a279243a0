"""Lookup tables in external stores, behind ``CachedTable``'s cache:
``PostgresTable`` (psycopg 3) and ``RedisTable`` (redis-py). See
``runtime_lib.io.tables``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from runtime_lib.columns import Column
from runtime_lib.io.tables.base import EPOCH, CachedTable, column_of, converter, to_str
from runtime_lib.schema import Field


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
            dt = EPOCH + timedelta(milliseconds=ms)
            return dt if base == "TIMESTAMP_LTZ" else dt.replace(tzinfo=None)
        return to_dt
    if base == "DATE":
        return lambda days: EPOCH.date() + timedelta(days=days)
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
        return [{to_str(k): v for k, v in h.items()} if h else None for h in pipe.execute()]


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
