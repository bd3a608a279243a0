"""Running one test case: the compiled query on the case's rows, in this
process, through the same driver as ``sqlc run`` (``runtime_lib.pipeline.run``)
with temporary files for inputs and outputs."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
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
    """Run ``query`` (a generated ``Query`` class) on the case's inputs with
    the driver of ``sqlc run`` (``runtime_lib.driver.drive``), every output
    (INSERT INTO targets too) into a file: nothing leaves the process."""
    from runtime_lib import functions as scalar
    from runtime_lib.driver import drive
    from runtime_lib.functions.time import now_ms
    from runtime_lib.io import sinks
    from runtime_lib.io.sources import ValuesReader
    from runtime_lib.pipeline import Context, Counters, DeadLetterRouter, LateEventSink
    from runtime_lib.temporal import parse_instant
    from runtime_lib.watermarks import use_test_clock

    # a VALUES table's rows are the module's own: no case gives them
    sources = {s.name.lower(): s for s in query.sources if s.rows is None}
    tables = {t.lower(): t for t in query.tables}
    for name in case.given:
        if name.lower() not in sources and name.lower() not in tables:
            known = ", ".join([*(s.name for s in sources.values()), *query.tables])
            raise TestFileError(f"{where}: given.{name}: the query reads no source or "
                                f"table of that name (it reads {known})")
    given = {name.lower(): value for name, value in case.given.items()}
    with tempfile.TemporaryDirectory(prefix="sqlc-test-") as tmp:
        folder = Path(tmp)
        inputs = {table: str(_input_file(folder, table, given[key], {}))
                  for key, table in tables.items() if key in given}
        readers = {s.name: _Segments(s, _segments(folder, s, given.get(key), where), batch_size)
                   for key, s in sources.items()}
        readers.update({s.name: ValuesReader(s.fields, s.rows, batch_size)
                        for s in query.sources if s.rows is not None})
        outputs = [sinks.JsonLinesFileSink(folder / f"out-{i}.jsonl", out.fields)
                   for i, out in enumerate(query.outputs)]
        dead_letters = DeadLetterRouter(sinks.DeadLetterSink(folder / "dead.jsonl", append=False),
                                        {})
        late = LateEventSink(str(folder / "late.jsonl"))
        counters = Counters()
        # (the clock: `now:`, moved by {processing_time: T} entries; put back after).
        # State TTLs and idle timeouts read it too, so they expire as the test moves it.
        previous = scalar.pin_now(None)
        scalar.pin_now(previous if case.now is None else parse_instant(case.now))
        previous_clock = use_test_clock(now_ms)
        try:
            pipeline = query(Context(outputs, dead_letters, late, counters, inputs))
            drive(pipeline, query.sources, readers, counters)
        except (ValueError, KeyError, OSError) as error:
            raise TestFileError(f"{where}: the pipeline could not run: {error}") from None
        finally:
            scalar.pin_now(previous)
            use_test_clock(previous_clock)
            for thing in (*outputs, dead_letters, late):
                thing.close()
        rows = [row for i in range(len(outputs)) for row in _lines(folder / f"out-{i}.jsonl")]
        return Observed(_changelog(rows), [r["row"] for r in _lines(folder / "late.jsonl")],
                        _lines(folder / "dead.jsonl"))


class _Segments:
    """One source's rows as a driver reader (the interface of
    ``pipeline.FileReader``): files of rows read in micro-batches, each
    file's last chunk carrying the explicit watermark that follows it; a
    file after a ``{processing_time: T}`` entry is read with the clock at T."""

    commits = False
    partitions = (0,)
    dead_letter_topic = None

    def __init__(self, source, segments: list[Segment], batch_size: int) -> None:
        self._chunks = self._read(source, segments, batch_size)
        self.finished = False

    @staticmethod
    def _read(source, segments, batch_size):
        from runtime_lib.functions import pin_now
        from runtime_lib.io.sources import FileSource
        from runtime_lib.pipeline import FileReader

        for segment in segments:
            if segment.clock is not None:  # its rows are processed at T, T fires the windows
                pin_now(segment.clock)
            path, watermark = segment.path, segment.watermark
            fmt = "csv" if path.suffix.lower() == ".csv" else "json"
            reader = FileReader(FileSource(str(path), source.fields, format=fmt,
                                           batch_size=batch_size, source_name=source.name))
            last = None
            while (chunk := reader.read()) is not None:
                if last is not None:
                    yield last
                last = chunk
            if last is not None:
                last.watermark = watermark
                yield last

    def read(self, timeout: float = 0.0):
        chunk = next(self._chunks, None)
        self.finished = chunk is None
        return chunk

    def commit(self, offsets: dict) -> bool:
        return True

    def close(self) -> None:
        pass


@dataclass
class Segment:
    """Rows of one source up to an explicit watermark or clock entry."""

    path: Path
    watermark: int | None = None  # {watermark: T} after the rows
    clock: int | None = None  # {processing_time: T} before them


def _segments(folder: Path, source, given: Input | None, where: str) -> list[Segment]:
    """The source's rows as files, cut at each ``{watermark: T}`` entry (it
    follows the rows before it) and ``{processing_time: T}`` entry (the clock
    reads T for the rows after it)."""
    fields = {f.name: f.type_name for f in source.fields}
    if given is None:
        given = Input(rows=[])
    if given.path is not None:
        return [Segment(given.path)]
    segments: list[Segment] = []
    rows: list[dict] = []
    clock = None
    for row in given.rows or ():
        if len(row) == 1 and ("watermark" in row or "processing_time" in row):
            key = next(iter(row))
            if key == "watermark" and not rows:
                raise TestFileError(f"{where}: given.{source.name}: a watermark must follow "
                                    "rows (it is applied after the rows before it)")
            ms = _instant_ms(row[key], f"{where}: given.{source.name}: {key}")
            if rows or key == "watermark":
                segments.append(Segment(_write(folder, source.name, len(segments), rows, fields),
                                        ms if key == "watermark" else None, clock))
                rows, clock = [], None
            if key == "processing_time":
                clock = ms
        else:
            rows.append(row)
    if rows or not segments or clock is not None:
        segments.append(Segment(_write(folder, source.name, len(segments), rows, fields),
                                None, clock))
    return segments


def _instant_ms(value, where: str) -> int:
    """Epoch ms of a YAML time (a timestamp, an ISO text with its zone, or ms)."""
    from runtime_lib.temporal import parse_instant

    if isinstance(value, dt.date):
        return epoch_ms(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return parse_instant(str(value))
    except ValueError:
        raise TestFileError(f"{where}: {value!r} is not a time (for example "
                            "2025-11-10T10:31:00Z)") from None


def _write(folder: Path, name: str, index: int, rows: list[dict], fields: dict) -> Path:
    return _input_file(folder, f"{name}-{index}", Input(rows=rows), fields)


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
