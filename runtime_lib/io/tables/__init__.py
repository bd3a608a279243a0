"""Lookup tables: what a lookup join (``runtime_lib.operators.lookup_join``)
looks rows up in. ``open_lookup_table`` turns a table's DDL (connector
properties) into one of them.

``--input NAME=PATH`` replaces any table's connector with a JSON-lines or CSV
file, so joins run and are tested on fixtures. ``${VAR}`` references in the
properties are resolved here, when the pipeline starts, never at compile time.

==========================  =================================================
property                    meaning
==========================  =================================================
'connector'                 'postgres' (or 'jdbc'), 'redis', 'file', 'kafka'
                            (with a PRIMARY KEY) or 'upsert-kafka'
'table-name'                PostgreSQL table (schema.table allowed)
'url'                       postgresql://... or redis://... ; for PostgreSQL
                            also 'hostname', 'port', 'database'
'username', 'password'      PostgreSQL credentials (use ``${VAR}``)
'key-pattern'               Redis key of a row, e.g. 'model:{model_id}'
'value.format'              Redis 'hash' (default) or 'json'
'lookup.cache.max-rows'     LRU cache size (default 0 = no cache, as Flink)
'lookup.cache.ttl'          cache entry lifetime, e.g. '60 s', '10 min'
'lookup.max-retries'        give up after this many failed retries
                            (default: wait until the store is back)
'path', 'format'            the file of a 'file' table
'topic', 'format'           the topic of a Kafka table ('value.format' too;
                            'json', 'csv' or 'raw'), read from the earliest
                            offset to its end before the first lookup, then
                            followed: each micro-batch's lookups see the
                            messages that arrived before it
'properties.bootstrap.      the Kafka brokers of a Kafka table (required:
servers'                    ``--bootstrap`` does not reach lookup tables)
'key.format', 'key.fields'  a Kafka table's key columns come from the
                            message key (for 'upsert-kafka': the primary key,
                            'key.fields' implied); otherwise from the value.
                            A tombstone (null value) deletes the key of its
                            message key (JSON unless 'key.format' says)
'dead-letter.topic'         a Kafka table's bad messages (undecodable, no
                            key, unknown change kind) are also written here;
                            they are always counted and shown on stderr
'changelog.op-field'        a 'file' or 'kafka' table given as changes: the
                            column with +I/+U (upsert) and -U/-D (delete);
                            without it each line/message is an upsert
'state.ttl'                 for such a table, entries not written for this
                            long are dropped (processing time), e.g. '1 h'
==========================  =================================================

``--input NAME=PATH`` reads a table with 'changelog.op-field' as a file of
changes (a file without that column: every line an upsert).

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

from runtime_lib.durations import duration_ms
from runtime_lib.env import resolve_properties
from runtime_lib.io.tables.base import CachedTable, FileTable, LookupStats, LookupUnavailable, Table
from runtime_lib.io.tables.changelog import ChangelogTable, KafkaTable
from runtime_lib.io.tables.stores import PostgresTable, RedisTable
from runtime_lib.schema import Field

__all__ = ["CachedTable", "ChangelogTable", "FileTable", "KafkaTable", "LookupStats", "LookupUnavailable",
           "PostgresTable", "RedisTable", "Table", "duration_ms", "open_lookup_table"]

def open_lookup_table(name: str, fields: tuple[Field, ...], key: tuple[str, ...],
                      properties: dict[str, str], path: str | None = None):
    """The lookup table ``name`` as its connector (or ``path``) says."""
    if path is not None:
        if "changelog.op-field" in properties:  # a file of changes (or of rows: no op column)
            return ChangelogTable.from_file(path, fields, list(key),
                                                   op_field=properties["changelog.op-field"])
        return FileTable(path, fields, list(key))
    props = resolve_properties(properties)
    connector = props.get("connector", "")
    cache = {
        "cache_max_rows": int(props.get("lookup.cache.max-rows", "0")),  # Flink: no cache
        "cache_ttl_ms": duration_ms(props.get("lookup.cache.ttl")),
        "max_retries": (int(props["lookup.max-retries"]) if "lookup.max-retries" in props
                        else None),
    }
    if connector in ("file", "filesystem"):
        if "changelog.op-field" in props:  # a mutable table: its changes, applied in order
            return ChangelogTable.from_file(
                props["path"], fields, list(key), op_field=props["changelog.op-field"],
                format=props.get("format"), state_ttl_ms=duration_ms(props.get("state.ttl")))
        return FileTable(props["path"], fields, list(key), format=props.get("format"))
    if connector in ("kafka", "upsert-kafka"):  # a compacted topic, read as a changelog
        return KafkaTable(name, fields, list(key), props,
                                 op_field=props.get("changelog.op-field"),
                                 state_ttl_ms=duration_ms(props.get("state.ttl")))
    if connector in ("postgres", "jdbc"):
        return PostgresTable(
            table_name=props["table-name"], fields=fields, key=list(key), url=props.get("url"),
            host=props.get("hostname"), port=int(props["port"]) if "port" in props else None,
            database=props.get("database"), username=props.get("username"),
            password=props.get("password"), **cache,
        )
    if connector == "redis":
        url = props.get("url") or (
            f"redis://{props.get('host', 'localhost')}:{props.get('port', '6379')}/"
            f"{props.get('db', '0')}")
        return RedisTable(url=url, key_pattern=props["key-pattern"], fields=fields,
                                 key=list(key), value_format=props.get("value.format", "hash"),
                                 **cache)
    raise ValueError(f"table {name} uses connector {connector!r}, which cannot serve lookups; "
                     f"pass --input {name}=FILE to read it from a file")
