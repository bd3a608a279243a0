"""The session options of ``SET 'key' = 'value'`` (Flink's configuration keys):
which sqlc knows, what each takes, and which it accepts only to ignore.

A generated module carries the options it reads (``OPTIONS``) as
``Query.settings``; the pipeline reads them when it starts, after its flags
(runtime_lib/pipeline.py, ``_recovery``). Keys that Flink scripts often set
but that mean nothing here (``IGNORED``) are accepted with a warning saying
why, so a Flink SQL-client script compiles as it is; any other key is an
error, with a suggestion.

    >>> from compiler.errors import Diagnostics, Source
    >>> settings = Settings()
    >>> settings.apply_set(ast.Set("execution.checkpointing.interval", "500 ms"),
    ...                    Diagnostics(Source("<sql>", "")))
    >>> settings.for_module()
    {'execution.checkpointing.interval': '500 ms'}
"""

from __future__ import annotations

from compiler import ast
from compiler.errors import Diagnostics, did_you_mean
from compiler.frozen import frozen_dataclass


@frozen_dataclass
class Option:
    """A key sqlc reads: its kind of value (duration | path | text), its default
    and what it does."""

    key: str
    kind: str
    default: str | None
    description: str


OPTIONS: dict[str, Option] = {
    option.key: option
    for option in (
        Option("execution.checkpointing.interval", "duration", "10s",
               "how often a checkpoint is taken, once checkpointing is on "
               "(--checkpoint-interval wins)"),
        Option("execution.checkpointing.dir", "path", None,
               "the directory checkpoints go to; setting it turns checkpointing on "
               "(--checkpoint-dir wins); ${VAR} is read when the pipeline starts"),
        Option("state.checkpoints.dir", "path", None,
               "Flink 1.x's name of execution.checkpointing.dir (which wins when both are set)"),
        Option("state.checkpoints.num-retained", "count", "3",
               "how many complete checkpoints are kept in the directory, newest first "
               "(--checkpoints-retained wins)"),
        Option("pipeline.name", "text", None, "the pipeline's name, for metrics"),
    )
}

# Flink keys sqlc accepts and ignores: key -> why (one line, shown as a warning)
IGNORED: dict[str, str] = {
    "parallelism.default": "a pipeline is one process; it scales out by Kafka partitions "
                           "across processes",
    "pipeline.max-parallelism": "a pipeline is one process; it scales out by Kafka partitions "
                                "across processes",
    "execution.runtime-mode": "sqlc always runs in streaming mode; a bounded input already ends",
    "execution.checkpointing.mode": "a checkpoint is always one consistent point between two "
                                    "micro-batches; sinks choose with "
                                    "'sink.delivery-guarantee'",
    "table.exec.mini-batch.enabled": "sqlc always processes micro-batches (--batch-size)",
    "table.exec.mini-batch.allow-latency": "sqlc always processes micro-batches (--batch-size)",
    "table.exec.mini-batch.size": "sqlc always processes micro-batches (--batch-size)",
    "table.exec.source.idle-timeout": "write the source property "
                                      "'scan.watermark.idle-timeout' instead",
    "table.exec.state.ttl": "write the table property 'state.ttl' instead",
    "sql-client.execution.result-mode": "sqlc shell does not run queries; sqlc run prints rows "
                                        "as they come",
    "sql-client.verbose": "sqlc errors always point at the SQL",
}

RUNTIME_MODES = ("streaming", "batch", "automatic")


class Settings:
    """The options in effect: a later SET of a key wins, RESET removes it."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def copy(self) -> Settings:
        other = Settings()
        other._values = dict(self._values)
        return other

    def items(self) -> list[tuple[str, str]]:
        """Every option set, ignored ones too (what ``SET;`` lists), in key order."""
        return sorted(self._values.items())

    def for_module(self) -> dict[str, str]:
        """The options a generated module carries: those sqlc reads."""
        return {key: value for key, value in self.items() if key in OPTIONS}

    def apply_set(self, stmt: ast.Set, diagnostics: Diagnostics) -> None:
        assert stmt.key is not None and stmt.value is not None
        if check_option(stmt, diagnostics):
            self._values[stmt.key] = stmt.value

    def apply_reset(self, stmt: ast.Reset, diagnostics: Diagnostics) -> None:
        if stmt.key is None:
            self._values.clear()
        elif known_key(stmt.key, stmt, diagnostics):
            self._values.pop(stmt.key, None)


def known_key(key: str, stmt: ast.Set | ast.Reset, diagnostics: Diagnostics) -> bool:
    """Whether sqlc knows ``key``; an unknown one is reported with a suggestion."""
    if key in OPTIONS or key in IGNORED:
        return True
    suggestion = did_you_mean(key, [*OPTIONS, *IGNORED])
    diagnostics.error(
        "BindError",
        f"unknown option '{key}'" + (f"; did you mean '{suggestion}'?" if suggestion else ""),
        stmt.key_span,
        hint=None if suggestion else "sqlc reads " + ", ".join(OPTIONS),
    )
    return False


def check_option(stmt: ast.Set, diagnostics: Diagnostics) -> bool:
    """Whether ``SET key = value`` is valid; what is not is reported at the key or
    the value, what sqlc ignores is a warning."""
    key, value = stmt.key, stmt.value
    assert key is not None and value is not None
    if not known_key(key, stmt, diagnostics):
        return False
    if key == "execution.runtime-mode":
        mode = value.lower()
        if mode not in RUNTIME_MODES:
            diagnostics.error("BindError", f"{key} takes 'streaming', got '{value}'",
                              stmt.value_span)
            return False
        if mode == "batch":
            diagnostics.error(
                "UnsupportedError", "sqlc runs streaming pipelines only, not batch mode",
                stmt.value_span,
                hint="remove the SET: a bounded input (a file, --until-end) ends, and every "
                     "window fires at its end, as in batch mode",
            )
            return False
    if key in IGNORED:
        diagnostics.warning(f"sqlc ignores '{key}': {IGNORED[key]}", stmt.key_span)
        return True
    problem = _value_problem(OPTIONS[key], value)
    if problem is not None:
        diagnostics.error("BindError", problem, stmt.value_span)
        return False
    return True


def _value_problem(option: Option, value: str) -> str | None:
    # the runtime's own rules; imported here, as they bring numpy (checkpoints)
    from runtime_lib.recovery import RecoveryError, checkpoint_directory, parse_interval

    if option.kind == "duration":
        try:
            parse_interval(value, option.key)
        except RecoveryError:
            return (f"{option.key} takes a positive duration such as '10s', '500 ms' or "
                    f"'1 min', got '{value}'")
    elif option.kind == "path":
        if not value.strip():
            return f"{option.key} takes a directory, got ''"
        if "${" not in value:  # else checked once the pipeline has read the variables
            try:
                checkpoint_directory(value, option.key)
            except RecoveryError as error:
                return str(error)
    elif option.kind == "count" and (not value.strip().isdigit() or int(value) < 1):
        return f"{option.key} takes a whole number, at least 1, got '{value}'"
    return None
