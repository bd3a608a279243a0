"""Bounded file sources: a JSON-lines or CSV file read in micro-batches.

One file is one partition; its offset is the number of lines consumed, so a
checkpoint can store it and ``FileSource(..., start_line=offset)`` resumes
after it. Iterating yields ``(Batch, list[DeadLetter])`` per micro-batch of at
most ``batch_size`` records and ends at end of file.

Positions in dead letters are 1-based line numbers. Blank lines are not
records (skipped without a dead letter). A CSV record may span lines inside a
quoted field; its position is the line it starts on. Line endings ``\\n`` and
``\\r\\n`` are both accepted.

JSON lines are decoded in pieces of whole lines (``JsonDecoder.decode_lines``);
a piece with a blank or bad line is split and decoded record by record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from runtime_lib.columns import Batch, Column, concat_batches
from runtime_lib.io.decode import CsvDecoder, DeadLetter, JsonDecoder, between_objects
from runtime_lib.schema import Field, Schema, as_schema

DEFAULT_BATCH_SIZE = 65_536
_READ_SIZE = 1 << 22  # bytes per read() call
_PIECE = 1 << 16  # bytes of JSON lines decoded in one call (their structs stay in the CPU cache)
_NEWLINE = ord("\n")


def _line_blocks(
    path: Path, start_line: int, quotes: bool = False
) -> Iterator[tuple[int, list[bytes], bool]]:
    """(1-based number of the first line, the lines, whether any holds a '"'
    (looked for only when ``quotes``)) per block read, without line terminators
    (``\\n`` or ``\\r\\n``), skipping the first ``start_line`` lines."""
    number = 0
    with open(path, "rb") as handle:
        tail = b""
        while True:
            block = handle.read(_READ_SIZE)
            if not block:
                break
            quoted = quotes and (b'"' in block or b'"' in tail)
            lines = block.split(b"\n")
            lines[0] = tail + lines[0]  # the line the previous block cut
            tail = lines.pop()
            if b"\r" in block or lines and lines[0].endswith(b"\r"):
                lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
            first = number + 1
            number += len(lines)
            if number > start_line:
                skip = max(0, start_line - first + 1)
                yield first + skip, lines[skip:] if skip else lines, quoted
        if tail:
            number += 1
            if number > start_line:
                yield number, [tail[:-1] if tail.endswith(b"\r") else tail], b'"' in tail


def _json_pieces(path: Path) -> Iterator[tuple[bytes | memoryview, int | None]]:
    """The file's lines in pieces of about ``_PIECE`` bytes: each piece whole
    lines joined by their line breaks (without the break after its last
    line), every line in exactly one piece, in order. Read in blocks of
    ``_READ_SIZE``; a piece is a view of its block, except the first of a
    block, which is joined to the line the previous block cut.

    With each piece comes its number of lines when every line break inside it
    stands between two objects (``decode.between_objects``, looked at once
    per block: one numpy pass instead of one per piece), 0 when some break
    does not (a blank line, a bad line, two objects on a line: the piece is
    split), None for the first piece of a block (checked by the decoder)."""
    with open(path, "rb") as handle:
        carry = b""
        while True:
            block = handle.read(_READ_SIZE)
            if not block:
                break
            data = np.frombuffer(block, dtype=np.uint8)
            breaks = np.flatnonzero(data == _NEWLINE)
            if not len(breaks):  # no line ends in this block
                carry += block
                continue
            end = int(breaks[-1])
            cuts = []  # the break after each piece
            pos = 0
            while pos <= end:
                cut = block.find(b"\n", min(pos + _PIECE, end))
                cuts.append(cut)
                pos = cut + 1
            # per piece: its lines, and whether a break inside it is not between objects
            at = np.searchsorted(breaks, cuts)
            lines = np.diff(at, prepend=-1).tolist()
            dirty = np.concatenate(([0], np.cumsum(~between_objects(data, breaks))))
            inside = (dirty[at] - dirty[np.concatenate(([0], at[:-1] + 1))]).tolist()
            view = memoryview(block)
            pos = 0
            for i, cut in enumerate(cuts):
                if i == 0:
                    yield (carry + view[pos:cut] if carry else view[pos:cut]), None
                else:
                    yield view[pos:cut], 0 if inside[i] else lines[i]
                pos = cut + 1
            carry = bytes(view[end + 1 :])
        if carry:
            yield carry, None


class _JsonRecords:
    """JSON-lines records on their way into batches: runs already decoded by
    ``decode_lines`` (a batch of consecutive lines, each a record) and runs of
    raw records with their line numbers, decoded by ``decode`` when their
    batch is cut. ``count`` records in all, bad ones included."""

    def __init__(self, decoder: JsonDecoder) -> None:
        self.decoder = decoder
        self.runs: list[tuple] = []  # ("rows", batch, dead, count, first) | ("raw", records, positions)
        self.count = 0

    def add_decoded(self, batch: Batch, dead: list[DeadLetter], count: int, first: int) -> None:
        if count:
            self.runs.append(("rows", batch, dead, count, first))
            self.count += count

    def add_records(self, records: list[bytes], positions: list[int] | range) -> None:
        if not records:
            return
        self.count += len(records)
        if self.runs and self.runs[-1][0] == "raw":
            _, before, where = self.runs.pop()
            records, positions = before + records, _concat_positions(where, positions)
        self.runs.append(("raw", records, positions))

    def take(self, size: int) -> tuple[Batch, list[DeadLetter], int, int]:
        """The first ``size`` records: (their batch, their dead letters,
        ``size``, the line of the last one)."""
        batches, dead, wanted, last = [], [], size, 0
        while wanted:
            run = self.runs.pop(0)
            if run[0] == "raw":
                _, records, positions = run
                if len(records) > wanted:
                    self.runs.insert(0, ("raw", records[wanted:], positions[wanted:]))
                    records, positions = records[:wanted], positions[:wanted]
                batch, bad = self.decoder.decode(records, positions)
                wanted -= len(records)
                last = positions[-1]
            else:
                _, batch, bad, count, first = run
                if count > wanted:
                    head, tail = _split_run(batch, bad, first, wanted)
                    self.runs.insert(0, ("rows", *tail, count - wanted, first + wanted))
                    batch, bad, count = *head, wanted
                wanted -= count
                last = first + count - 1
            batches.append(batch)
            dead.extend(bad)
        self.count -= size
        return concat_batches(batches), dead, size, last


def _split_run(batch: Batch, dead: list[DeadLetter], first: int, k: int):
    """A decoded run of lines ``first``... cut after its first ``k`` lines:
    ((batch, dead letters) of those, (batch, dead letters) of the rest)."""
    head_dead = [d for d in dead if int(d.position) < first + k]
    rows = k - len(head_dead)
    head = {name: Column(c.values[:rows], None if c.valid is None else c.valid[:rows])
            for name, c in batch.columns.items()}
    tail = {name: Column(c.values[rows:], None if c.valid is None else c.valid[rows:])
            for name, c in batch.columns.items()}
    return ((Batch(_normalized(head), rows), head_dead),
            (Batch(_normalized(tail), batch.num_rows - rows), dead[len(head_dead):]))


def _normalized(columns: dict[str, Column]) -> dict[str, Column]:
    """Columns whose mask says no NULL have none (as the decoder builds them)."""
    return {name: Column(c.values) if c.valid is not None and c.valid.all() else c
            for name, c in columns.items()}


def _non_blank(first: int, lines: list[bytes]) -> tuple[list[bytes], list[int] | range]:
    """The lines that are records (not blank) and their 1-based numbers.

    No line is blank when the smallest starts with a byte above the space: an
    empty line, or one that starts with whitespace (all bytes up to b" "),
    would be smaller. One C-level min() instead of a look at each line.
    """
    if lines and min(lines)[:1] > b" ":
        return lines, range(first, first + len(lines))
    numbers = [first + i for i, line in enumerate(lines) if line and not line.isspace()]
    return [lines[n - first] for n in numbers], numbers


def _concat_positions(a: list[int] | range, b: list[int] | range) -> list[int] | range:
    """Two runs of line numbers as one; stays a ``range`` while they are contiguous."""
    if not len(a):
        return b
    if isinstance(a, range) and isinstance(b, range) and (not len(b) or a.stop == b.start):
        return range(a.start, b.stop if len(b) else a.stop)
    return list(a) + list(b)


class FileSource:
    """Micro-batches from one file, ``format`` 'json' (JSON lines) or 'csv'
    (header row first)."""

    def __init__(
        self,
        path: str | Path,
        schema: Schema | Iterable[Field],
        format: str = "json",
        batch_size: int = DEFAULT_BATCH_SIZE,
        start_line: int = 0,
        source_name: str | None = None,
        csv_delimiter: str = ",",
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if format not in ("json", "csv"):
            raise ValueError(f"unsupported file format {format!r} (json or csv)")
        self.path = Path(path)
        self.schema = as_schema(schema)
        self.format = format
        self.batch_size = batch_size
        self.start_line = start_line
        self.source_name = source_name or str(path)
        self.csv_delimiter = csv_delimiter
        self.offset = start_line  # lines consumed so far (checkpointed)
        self.records_read = 0
        self.dead_letters = 0

    @property
    def partition(self) -> str:
        return str(self.path)

    def __iter__(self) -> Iterator[tuple[Batch, list[DeadLetter]]]:
        if self.format == "json":
            yield from self._json_batches()
        else:
            yield from self._csv_batches()

    def _json_batches(self) -> Iterator[tuple[Batch, list[DeadLetter]]]:
        """Pieces of about ``_PIECE`` bytes of whole lines, each decoded in one
        call (``JsonDecoder.decode_lines``: no ``bytes`` object per line, no
        Python work per record); a piece with a blank or bad line, or one
        before ``start_line``, is split into lines and goes the way of
        ``decode``, which names the bad records. Batches are cut at exactly
        ``batch_size`` records whichever way their pieces went."""
        decoder = JsonDecoder(self.schema, self.source_name)
        pending = _JsonRecords(decoder)
        number = 0  # lines before the piece
        for piece, checked in _json_pieces(self.path):
            decoded = None
            if number >= self.start_line and checked != 0:
                decoded = decoder.decode_lines(piece, number + 1, checked)
            if decoded is not None:
                batch, dead, count = decoded
                pending.add_decoded(batch, dead, count, number + 1)
            else:
                data = bytes(piece)
                count = data.count(b"\n") + 1
                if number + count > self.start_line:  # (else only counted)
                    lines = data.split(b"\n")
                    if b"\r" in data:
                        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
                    skip = max(0, self.start_line - number)
                    kept, where = _non_blank(number + 1 + skip, lines[skip:] if skip else lines)
                    pending.add_records(kept, where)
            number += count
            while pending.count >= self.batch_size:
                yield self._emit(*pending.take(self.batch_size))
        if pending.count:
            batch, dead, records, _ = pending.take(pending.count)
            yield self._emit(batch, dead, records, number)
        self.offset = max(self.offset, number)

    def _emit(self, batch, dead, records, last_line):
        self.offset = last_line
        self.records_read += records
        self.dead_letters += len(dead)
        return batch, dead

    def _decode_emit(self, decoder, records, positions, last_line):
        batch, dead = decoder.decode(records, positions)
        return self._emit(batch, dead, len(records), last_line)

    def _csv_batches(self) -> Iterator[tuple[Batch, list[DeadLetter]]]:
        """Blocks without a '"' are records line for line (as JSON lines are);
        a block with quotes is walked line by line, since a quoted field may
        hold line breaks."""
        blocks = _line_blocks(self.path, 0, quotes=True)
        found = _csv_header(blocks, self.csv_delimiter)
        if found is None:
            return
        header, first, lines, quoted = found
        decoder = CsvDecoder(self.schema, header, self.source_name, self.csv_delimiter)
        records = _CsvRecords()
        last = first - 1
        while True:
            last = first + len(lines) - 1
            skip = max(0, self.start_line - first + 1)
            records.add(first + skip, lines[skip:], quoted)
            while len(records.records) >= self.batch_size:
                batch, positions, end = records.take(self.batch_size)
                yield self._decode_emit(decoder, batch, positions, end)
            try:
                first, lines, quoted = next(blocks)
            except StopIteration:
                break
        records.finish()
        if records.records:
            batch, positions, _ = records.take(len(records.records))
            yield self._decode_emit(decoder, batch, positions, last)
        self.offset = max(self.offset, last)


def _csv_header(
    blocks: Iterator[tuple[int, list[bytes], bool]], delimiter: str
) -> tuple[list[str], int, list[bytes], bool] | None:
    """The header (the first non-blank line) and the rest of its block."""
    import csv

    for first, lines, quoted in blocks:
        for i, line in enumerate(lines):
            if line.strip():
                header = next(csv.reader([line.decode("utf-8-sig")], delimiter=delimiter))
                return header, first + i + 1, lines[i + 1 :], quoted
    return None


class _CsvRecords:
    """CSV records gathered from blocks of lines: each with the line it
    starts on (its position) and the line it ends on (the offset after it)."""

    def __init__(self) -> None:
        self.records: list[bytes] = []
        self.starts: list[int] | range = range(0)
        self.ends: list[int] | range = range(0)
        self.pending: list[bytes] = []  # lines of a record inside a quoted field
        self.pending_start = 0

    def add(self, first: int, lines: list[bytes], quoted: bool) -> None:
        if not quoted and not self.pending:
            kept, numbers = _non_blank(first, lines)
            self.records.extend(kept)
            self.starts = _concat_positions(self.starts, numbers)
            self.ends = _concat_positions(self.ends, numbers)
            return
        starts, ends = list(self.starts), list(self.ends)
        for number, line in enumerate(lines, first):
            if not self.pending:
                if not line.strip():
                    continue
                self.pending_start = number
            self.pending.append(line)
            record = b"\n".join(self.pending)
            if record.count(b'"') % 2:  # inside a quoted field: record goes on
                continue
            self.pending = []
            self.records.append(record)
            starts.append(self.pending_start)
            ends.append(number)
        self.starts, self.ends = starts, ends

    def finish(self) -> None:
        """An unterminated quote at end of file: the rest is one record."""
        if self.pending:
            self.records.append(b"\n".join(self.pending))
            self.starts = list(self.starts) + [self.pending_start]
            self.ends = list(self.ends) + [self.pending_start]
            self.pending = []

    def take(self, size: int) -> tuple[list[bytes], list[int] | range, int]:
        """The first ``size`` records, their positions and the last line they
        consume."""
        out = self.records[:size], self.starts[:size], self.ends[size - 1]
        self.records = self.records[size:]
        self.starts, self.ends = self.starts[size:], self.ends[size:]
        return out


class ValuesReader:
    """The rows of a VALUES table (constants of the generated module) behind
    the reader interface the driver uses, in micro-batches of at most
    ``batch_size`` rows; bounded. Its position is the rows handed out, so a
    run resumed from a checkpoint does not read them twice."""

    commits = False
    partitions = (0,)
    dead_letter_topic = None

    def __init__(self, fields: Iterable[Field], rows: tuple[tuple, ...],
                 batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.fields = tuple(fields)
        self.rows = rows
        self.batch_size = batch_size
        self.offset = 0
        self.finished = not rows

    def read(self, timeout: float = 0.0):
        from runtime_lib.columns import column_from_pylist
        from runtime_lib.io.kafka import Chunk

        if self.finished:
            return None
        rows = self.rows[self.offset:self.offset + self.batch_size]
        self.offset += len(rows)
        self.finished = self.offset >= len(self.rows)
        columns = {f.name: column_from_pylist([row[i] for row in rows], f.kind)
                   for i, f in enumerate(self.fields)}
        return Chunk(Batch(columns, len(rows)), [])

    def commit(self, offsets: dict) -> bool:
        return True

    def position(self) -> dict:
        return {"line": self.offset}

    def resume(self, position: dict) -> None:
        self.offset = int(position["line"])
        self.finished = self.offset >= len(self.rows)

    def close(self) -> None:
        pass
