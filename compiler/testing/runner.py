"""Running one test case: the compiled query on the case's rows, in this
process, through the same driver as ``sqlc run`` (``runtime_lib.pipeline.run``)
with temporary files for inputs and outputs."""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path

from compiler.testing.files import Case, Input, TestFileError

INTEGER_TYPES = ("BIGINT", "INT", "INTEGER", "SMALLINT", "TINYINT")


@dataclass
class Observed:
    """What one run produced: every output row (with ``op`` when the result is
    updating), the rows dropped as late, the dead letters."""

    changelog: list[dict]
    late_rows: list[dict]
    dead_letters: list[dict]


def load_query(module_path: Path):
    """The ``Query`` class of a generated module file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"sqlc_test_{module_path.stem}", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Query


def run_case(query, case: Case, batch_size: int, where: str) -> Observed:
    """Run ``query`` (a generated ``Query`` class) on the case's inputs."""
    from runtime_lib.pipeline import run

    sources = {s.name.lower(): s for s in query.sources}
    tables = {t.lower(): t for t in query.tables}
    with tempfile.TemporaryDirectory(prefix="sqlc-test-") as tmp:
        folder = Path(tmp)
        argv = ["--output", str(folder / "out.jsonl"), "--dead-letter", str(folder / "dead.jsonl"),
                "--late-events", str(folder / "late.jsonl"), "--batch-size", str(batch_size),
                "--quiet"]
        if case.now is not None:
            argv += ["--now", case.now]
        for name, given in case.given.items():
            if name.lower() not in sources and name.lower() not in tables:
                known = ", ".join([*(s.name for s in query.sources), *query.tables])
                raise TestFileError(f"{where}: given.{name}: the query reads no source or "
                                    f"table of that name (it reads {known})")
            source = sources.get(name.lower())
            fields = {f.name: f.type_name for f in source.fields} if source is not None else {}
            argv += ["--input", f"{name}={_input_file(folder, name, given, fields)}"]
        missing = [s.name for s in query.sources
                   if s.name.lower() not in {n.lower() for n in case.given}]
        for name in missing:  # a source the case leaves out: no rows
            (folder / f"{name}.jsonl").write_bytes(b"")
            argv += ["--input", f"{name}={folder / (name + '.jsonl')}"]
        errors = io.StringIO()
        with redirect_stderr(errors):
            code = run(query, argv)
        if code != 0:
            raise TestFileError(f"{where}: the pipeline failed (exit {code}): "
                                f"{errors.getvalue().strip()}")
        return Observed(_changelog(_lines(folder / "out.jsonl")),
                        [r["row"] for r in _lines(folder / "late.jsonl")],
                        _lines(folder / "dead.jsonl"))


def _input_file(folder: Path, name: str, given: Input, fields: dict[str, str]) -> Path:
    if given.path is not None:
        return given.path
    path = folder / f"{name}.jsonl"
    lines = []
    for row in given.rows or ():
        if "raw" in row:
            lines.append(str(row["raw"]))
        else:
            lines.append(json.dumps({k: _value(v, fields.get(k, "")) for k, v in row.items()}))
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _value(value, sql_type: str):
    """A YAML value as the JSON a decoder reads: timestamps become epoch ms
    for integer columns, else the text outputs print."""
    if isinstance(value, dt.datetime | dt.date):
        if sql_type.upper() in INTEGER_TYPES:
            return epoch_ms(value)
        return timestamp_text(value)
    return value


def epoch_ms(value: dt.date) -> int:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * 1000)


def timestamp_text(value: dt.date) -> str:
    """How a generated module prints a TIMESTAMP(3) (a DATE: as it is)."""
    if not isinstance(value, dt.datetime):
        return value.isoformat()
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _changelog(rows: list[dict]) -> list[dict]:
    """Output rows with ``op`` first (``_op`` in the JSON lines)."""
    out = []
    for row in rows:
        if "_op" in row:
            row = {"op": row.pop("_op"), **row}
        out.append(row)
    return out
