"""The catalog: streams, tables and views, their columns, watermarks, connectors
and dependencies. Definitions arrive already analyzed (``compiler.analyze``
types computed columns and watermarks); the catalog checks what concerns the
object as a whole: unique names, connector properties, and who depends on whom.
"""

from __future__ import annotations

from dataclasses import field

from compiler import ast
from compiler.errors import Diagnostics, Span, did_you_mean
from compiler.frozen import frozen_dataclass
from compiler.settings import Settings
from compiler.types import SqlType
from runtime_lib.durations import duration_ms

# connector -> (required properties, {property: allowed values}); any other
# property is accepted when it starts with one of the prefixes.
CONNECTORS: dict[str, dict] = {
    "kafka": {
        "required": ("topic", "format"),
        "values": {
            "format": ("json", "csv", "raw"),
            "value.format": ("json", "csv", "raw"),
            "key.format": ("json", "csv", "raw"),
            "scan.startup.mode": (
                "earliest-offset",
                "latest-offset",
                "group-offsets",
                "timestamp",
            ),
            "scan.bounded.mode": ("unbounded", "latest-offset"),
            "scan.rebuild.rewind": ("record-timestamp", "earliest"),
            "sink.delivery-guarantee": ("at-least-once", "exactly-once", "none"),
        },
        "known": (
            "topic",
            "format",
            "value.format",
            "key.format",
            "key.fields",
            "scan.startup.mode",
            "scan.startup.timestamp-millis",
            "scan.bounded.mode",
            "scan.rebuild.rewind",
            "scan.watermark.idle-timeout",
            "dead-letter.topic",
            "late-events.topic",
            "sink.delivery-guarantee",
            "sink.transactional-id-prefix",
            "changelog.op-field",
            "state.ttl",
        ),
        "prefixes": ("properties.",),
    },
    "upsert-kafka": {
        "required": ("topic", "key.format", "value.format"),
        "values": {"key.format": ("json", "csv", "raw"), "value.format": ("json", "csv", "raw")},
        "known": ("topic", "key.format", "value.format", "dead-letter.topic",
                  "changelog.op-field", "state.ttl"),
        "prefixes": ("properties.",),
    },
    "file": {
        "required": ("path",),
        "values": {"format": ("json", "csv"),
                   "sink.partition-commit.trigger": ("process-time", "partition-time"),
                   "partition.time-extractor.kind": ("default",)},
        "known": ("path", "format", "scan.watermark.idle-timeout", "csv.delimiter",
                  "changelog.op-field", "state.ttl",
                  # writing (runtime_lib/io/filesystem_sink.py)
                  "sink.rolling-policy.file-size", "sink.rolling-policy.rollover-interval",
                  "sink.rolling-policy.check-interval", "sink.rolling-policy.inactivity-interval",
                  "sink.partition-commit.trigger", "sink.partition-commit.delay",
                  "sink.partition-commit.policy.kind", "sink.partition-commit.success-file.name",
                  "sink.partition-commit.watermark-time-zone", "partition.default-name",
                  "partition.time-extractor.kind", "partition.time-extractor.timestamp-pattern",
                  "partition.time-extractor.timestamp-formatter",
                  "sink.shuffle-by-partition.enable"),
        "prefixes": (),
    },
    "postgres": {
        "required": ("table-name",),
        "values": {},
        "known": (
            "url",
            "hostname",
            "port",
            "database",
            "schema",
            "table-name",
            "username",
            "password",
            "lookup.cache.max-rows",
            "lookup.cache.ttl",
            "lookup.max-retries",
            "state.ttl",
            "sink.buffer-flush.max-rows",
            "sink.max-retries",
        ),
        "prefixes": (),
    },
    "redis": {
        "required": ("key-pattern",),
        "values": {"value.format": ("hash", "json")},
        "known": (
            "url",
            "host",
            "port",
            "password",
            "db",
            "key-pattern",
            "value.format",
            "lookup.cache.max-rows",
            "lookup.cache.ttl",
            "lookup.max-retries",
        ),
        "prefixes": (),
    },
    "print": {"required": (), "values": {}, "known": ("print-identifier",), "prefixes": ()},
    "blackhole": {"required": (), "values": {}, "known": (), "prefixes": ()},
    "datagen": {
        "required": (),
        "values": {},
        "known": ("rows-per-second", "number-of-rows"),
        "prefixes": ("fields.",),
    },
}
# properties that hold a duration (read by runtime_lib.durations.duration_ms)
DURATIONS = ("state.ttl", "lookup.cache.ttl", "scan.watermark.idle-timeout",
             "sink.rolling-policy.rollover-interval", "sink.rolling-policy.check-interval",
             "sink.rolling-policy.inactivity-interval", "sink.partition-commit.delay")
CONNECTORS["filesystem"] = CONNECTORS["file"]
CONNECTORS["jdbc"] = CONNECTORS["postgres"]
# connectors a table is looked up in (never read as a stream)
LOOKUP_STORES = ("postgres", "jdbc", "redis")
# connectors whose rows only ever arrive (no key they are upserted by)
APPEND_ONLY = ("kafka", "file", "filesystem", "datagen")


@frozen_dataclass
class CatalogColumn:
    name: str
    type: SqlType
    computed: ast.Expr | None = None  # the DDL expression, for computed columns
    metadata_key: str | None = None
    comment: str | None = None
    span: Span = Span(0, 0)

    @property
    def kind(self) -> str:
        if self.computed is not None:
            return "computed"
        if self.metadata_key is not None:
            return "metadata"
        return "physical"


@frozen_dataclass
class Watermark:
    column: str
    expr: ast.Expr
    bound_ms: int | None  # `c - INTERVAL ...` -> the interval; `c` -> 0; other -> None
    text: str  # as written, for SHOW STREAMS

    @property
    def strategy(self) -> str:
        if self.bound_ms is None:
            return f"custom: {self.text}"
        if self.bound_ms == 0:
            return "ascending"
        return f"bounded out-of-orderness {self.bound_ms} ms"


@frozen_dataclass
class SourceDef:
    kind: str  # STREAM | TABLE
    name: str
    columns: tuple[CatalogColumn, ...]
    watermark: Watermark | None
    primary_key: tuple[str, ...]
    properties: dict[str, str]
    span: Span
    property_spans: dict[str, Span] = field(default_factory=dict)
    origin: str = ""  # path of the file that defined it
    # PARTITIONED BY: a filesystem sink writes each partition to a directory of its own
    partition_keys: tuple[str, ...] = ()
    # the statement as analyzed (LIKE resolved), for CREATE TABLE ... LIKE it
    definition: ast.CreateSource | None = field(default=None, compare=False, repr=False)
    text: str = field(default="", compare=False, repr=False)  # as written, for SHOW CREATE

    def column(self, name: str) -> CatalogColumn | None:
        lowered = name.lower()
        for col in self.columns:
            if col.name.lower() == lowered:
                return col
        return None

    @property
    def connector(self) -> str:
        return self.properties.get("connector", "")

    @property
    def is_changelog(self) -> bool:
        """A table kept in state from its changes: upserts by its key
        ('upsert-kafka', 'kafka' with a PRIMARY KEY) or changes with an op
        field ('changelog.op-field')."""
        return (self.connector == "upsert-kafka"
                or (self.connector == "kafka" and bool(self.primary_key))
                or "changelog.op-field" in self.properties)

    @property
    def is_stream(self) -> bool:
        """Whether the source is a stream: it can be either side of a regular,
        interval or window join, be windowed and be grouped. As in Flink, a
        CREATE TABLE is one when it has a WATERMARK or an append-only connector
        (Kafka without a PRIMARY KEY, files without one, datagen); a lookup
        store (PostgreSQL, Redis), a changelog table, and a keyed file or a
        table without a connector are lookup tables, joined by key (a query
        also makes any table one with FOR SYSTEM_TIME AS OF)."""
        if self.kind == "STREAM":
            return True
        if self.connector in LOOKUP_STORES or self.is_changelog:
            return False
        if self.watermark is not None:
            return True
        return self.connector in APPEND_ONLY and not self.primary_key

    @property
    def role(self) -> str:
        """'stream' or 'lookup table', for messages."""
        return "stream" if self.is_stream else "lookup table"


@frozen_dataclass
class ViewDef:
    name: str
    query: ast.Query
    columns: tuple[CatalogColumn, ...]
    dependencies: tuple[str, ...]
    span: Span
    origin: str = ""
    text: str = field(default="", compare=False, repr=False)  # as written, for SHOW CREATE

    kind = "VIEW"


CatalogObject = SourceDef | ViewDef


class Catalog:
    def __init__(self) -> None:
        self._objects: dict[str, CatalogObject] = {}
        # the SET options, kept with the objects as a Flink session keeps both: a
        # catalog file's SETs hold for the queries compiled against it
        self.settings = Settings()

    def copy(self) -> Catalog:
        """Another catalog with the same objects and options, changed apart from
        this one (the objects are frozen: they are shared)."""
        other = Catalog()
        other._objects = dict(self._objects)
        other.settings = self.settings.copy()
        return other

    # -- lookup ------------------------------------------------------------------

    def get(self, name: str) -> CatalogObject | None:
        return self._objects.get(name.lower())

    def names(self) -> list[str]:
        return [obj.name for obj in self._objects.values()]

    def suggest(self, name: str) -> str | None:
        return did_you_mean(name, self.names())

    def objects(self, kind: str | None = None) -> list[CatalogObject]:
        return [o for o in self._objects.values() if kind is None or o.kind == kind]

    def dependents(self, name: str) -> list[ViewDef]:
        lowered = name.lower()
        return [
            o
            for o in self._objects.values()
            if isinstance(o, ViewDef) and lowered in (d.lower() for d in o.dependencies)
        ]

    # -- changes -------------------------------------------------------------------

    def add(self, obj: CatalogObject, if_not_exists: bool, diagnostics: Diagnostics,
            name_span: Span | None = None) -> None:
        """Add ``obj``; ``name_span`` is where its name is written (for "already exists")."""
        existing = self.get(obj.name)
        if existing is not None:
            if if_not_exists:
                return
            where = f" (defined in {existing.origin})" if existing.origin else ""
            diagnostics.error(
                "BindError",
                f"{existing.kind.lower()} '{existing.name}' already exists{where}",
                name_span or obj.span,
                hint="use CREATE ... IF NOT EXISTS, or DROP it first",
            )
            return
        self._objects[obj.name.lower()] = obj

    def drop(self, stmt: ast.Drop, diagnostics: Diagnostics) -> None:
        obj = self.get(stmt.name)
        if obj is None:
            if not stmt.if_exists:
                suggestion = self.suggest(stmt.name)
                diagnostics.error(
                    "BindError",
                    f"cannot drop unknown {stmt.kind.lower()} '{stmt.name}'"
                    + (f"; did you mean '{suggestion}'?" if suggestion else ""),
                    stmt.name_span,
                )
            return
        if obj.kind != stmt.kind and not _drops_source(obj, stmt.kind):
            if isinstance(obj, SourceDef) and stmt.kind == "STREAM":
                diagnostics.error(
                    "BindError",
                    f"'{obj.name}' is a lookup table, not a stream",
                    stmt.kind_span,
                    hint=f"use DROP TABLE {obj.name}",
                )
                return
            diagnostics.error(
                "BindError",
                f"'{obj.name}' is a {obj.kind.lower()}, not a {stmt.kind.lower()}",
                stmt.kind_span,
                hint=f"use DROP {obj.kind} {obj.name}",
            )
            return
        dependents = self.dependents(obj.name)
        if dependents and not stmt.cascade:
            names = ", ".join(v.name for v in dependents)
            diagnostics.error(
                "BindError",
                f"cannot drop {obj.kind.lower()} '{obj.name}': view(s) {names} depend on it",
                stmt.name_span,
                hint="drop the views first, or use DROP ... CASCADE",
            )
            return
        for view in dependents:  # CASCADE, transitively
            self.drop(ast.Drop("VIEW", view.name, True, True, kind_span=stmt.kind_span,
                               name_span=stmt.name_span, span=stmt.span), diagnostics)
        del self._objects[obj.name.lower()]


def _drops_source(obj: CatalogObject, kind: str) -> bool:
    """Whether ``DROP <kind>`` names ``obj`` as the user meant it: Flink has only
    DROP TABLE, so DROP TABLE drops a stream too; DROP STREAM drops a CREATE
    TABLE that is a stream (a WATERMARK or an append-only connector)."""
    if not isinstance(obj, SourceDef):
        return False
    return kind == "TABLE" or (kind == "STREAM" and obj.is_stream)


def check_properties(
    kind: str,
    name: str,
    properties: tuple[ast.Property, ...],
    name_span: Span,
    diagnostics: Diagnostics,
) -> None:
    """Connector properties: known connector, required keys, allowed values.
    ``name_span`` is where the object's name is written (for a missing connector)."""
    seen: dict[str, ast.Property] = {}
    for prop in properties:
        if prop.key in seen:
            diagnostics.error("BindError", f"property '{prop.key}' is set twice", prop.span)
        seen[prop.key] = prop
    connector_prop = seen.get("connector")
    if connector_prop is None:
        if kind == "STREAM" or properties:
            diagnostics.error(
                "BindError",
                f"{kind.lower()} '{name}' has no 'connector' property",
                name_span,
                hint="add WITH ('connector' = 'kafka', ...) or 'file', 'postgres', 'redis'",
            )
        return
    spec = CONNECTORS.get(connector_prop.value)
    if spec is None:
        suggestion = did_you_mean(connector_prop.value, list(CONNECTORS))
        diagnostics.error(
            "BindError",
            f"unknown connector '{connector_prop.value}'"
            + (f"; did you mean '{suggestion}'?" if suggestion else ""),
            connector_prop.span,
            hint="known connectors: " + ", ".join(sorted(CONNECTORS)),
        )
        return
    for required in spec["required"]:
        if required == "format" and "value.format" in seen:
            continue
        if required not in seen:
            diagnostics.error(
                "BindError",
                f"connector '{connector_prop.value}' needs the property '{required}'",
                connector_prop.span,
            )
    for key, prop in seen.items():
        if key == "connector":
            continue
        allowed = spec["values"].get(key)
        if allowed and prop.value not in allowed:
            diagnostics.error(
                "BindError",
                f"property '{key}' = '{prop.value}' is not one of " + ", ".join(allowed),
                prop.span,
            )
        if key in DURATIONS and key in spec["known"] and "${" not in prop.value:
            try:
                duration_ms(prop.value)
            except ValueError:
                diagnostics.error(
                    "BindError", f"property '{key}' = '{prop.value}' is not a duration",
                    prop.span, hint="write e.g. '500 ms', '60 s', '10 min' or '1 h'")
        if key not in spec["known"] and not key.startswith(spec["prefixes"]) and not allowed:
            suggestion = did_you_mean(key, list(spec["known"]))
            diagnostics.error(
                "BindError",
                f"unknown property '{key}' for connector '{connector_prop.value}'"
                + (f"; did you mean '{suggestion}'?" if suggestion else ""),
                prop.span,
            )
    mode = seen.get("scan.startup.mode")
    if mode is not None and mode.value == "timestamp" and "scan.startup.timestamp-millis" not in seen:
        diagnostics.error(
            "BindError",
            "'scan.startup.mode' = 'timestamp' needs 'scan.startup.timestamp-millis'",
            mode.span,
        )
    if "scan.startup.timestamp-millis" in seen and (mode is None or mode.value != "timestamp"):
        diagnostics.error(
            "BindError",
            "'scan.startup.timestamp-millis' is only used with 'scan.startup.mode' = 'timestamp'",
            seen["scan.startup.timestamp-millis"].span,
        )
    if mode is not None and mode.value == "group-offsets" and "properties.group.id" not in seen:
        diagnostics.error(
            "BindError",
            "'scan.startup.mode' = 'group-offsets' needs 'properties.group.id'",
            mode.span,
        )
    if "key.fields" in seen and "key.format" not in seen:
        diagnostics.error("BindError", "'key.fields' needs 'key.format'",
                          seen["key.fields"].span)
    if connector_prop.value in ("postgres", "jdbc", "redis") and kind == "STREAM":
        diagnostics.error(
            "BindError",
            f"connector '{connector_prop.value}' serves lookup tables; use CREATE TABLE",
            connector_prop.span,
        )


def check_changelog_table(stmt: ast.CreateSource, diagnostics: Diagnostics) -> None:
    """A table kept in state from its changes. 'changelog.op-field' and
    'state.ttl' keep a table in state ('state.ttl' on a stream is how long a
    regular join keeps its rows); the op field is a field of each change, not a
    column. A Kafka TABLE with a PRIMARY KEY is such a table when a lookup join
    reads it: it needs its brokers in the DDL (``--bootstrap`` reaches sources,
    not lookup tables), reads the whole topic (earliest offset, unbounded), and
    its 'key.fields' must hold the primary key (a tombstone has only its key)."""
    props = {p.key: p for p in stmt.properties}
    connector = props.get("connector")
    if connector is None:
        return
    if "changelog.op-field" in props and stmt.kind == "STREAM":
        diagnostics.error(
            "BindError",
            "'changelog.op-field' is for tables kept in state (CREATE TABLE), not streams",
            props["changelog.op-field"].span,
        )
    op = props.get("changelog.op-field")
    if op is not None and any(c.name.lower() == op.value.lower() for c in stmt.columns):
        diagnostics.error(
            "BindError",
            f"'changelog.op-field' = '{op.value}' names the field of each change that says "
            "+I/+U/-U/-D; it cannot also be a column of the table",
            op.span,
            hint=f"remove the column {op.value} from the table",
        )
    if (connector.value not in ("kafka", "upsert-kafka") or stmt.kind != "TABLE"
            or stmt.primary_key is None):
        return
    if "properties.bootstrap.servers" not in props:
        diagnostics.error(
            "BindError",
            f"Kafka table '{stmt.name}' has a PRIMARY KEY, so lookup joins read it as a "
            "changelog; it needs 'properties.bootstrap.servers' (--bootstrap reaches sources, "
            "not lookup tables)",
            connector.span,
            hint="add 'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}'",
        )
    for key, only in (("scan.startup.mode", "earliest-offset"), ("scan.bounded.mode", "unbounded")):
        prop = props.get(key)
        if prop is not None and prop.value != only:
            diagnostics.error(
                "BindError",
                f"Kafka table '{stmt.name}' is read as a changelog: from the earliest offset, "
                f"and followed; '{key}' = '{prop.value}' would lose rows",
                prop.span,
                hint=f"remove '{key}' (or set it to '{only}')",
            )
    fields = props.get("key.fields")
    if fields is not None:
        names = {part.strip().lower() for part in fields.value.split(";")}
        missing = [c.name for c in stmt.primary_key.columns if c.name.lower() not in names]
        if missing:
            diagnostics.error(
                "BindError",
                f"'key.fields' must hold the primary key of '{stmt.name}' (missing: "
                + ", ".join(missing) + "): a tombstone (a delete) has only its message key",
                fields.span,
            )
