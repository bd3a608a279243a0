"""INSERT INTO a filesystem table: part files in a directory, one directory per
partition, made visible by checkpoints (Flink's FileSystem connector, streaming).

    path/dt=2025-11-10/hm=10:00/part-<uuid>-0-7      committed: readers see it
    path/dt=2025-11-10/hm=10:01/.part-<uuid>-0-8.inprogress   being written
    path/dt=2025-11-10/hm=10:00/_SUCCESS              the partition is complete

Rows go to the part file open for their partition; the partition columns are
the directories (``column=value``, Hive's escaping), not fields of the files,
as in Flink. A part file rolls (is closed) when it reaches
'sink.rolling-policy.file-size', when it has been open
'sink.rolling-policy.rollover-interval', and at every checkpoint.

Exactly-once with checkpoints: a checkpoint closes the open files and lists
them; once the checkpoint is durable they are renamed to their final names
and a marker (``_sqlc_commit.<pipeline>``, hidden from readers by its ``_``)
records its id. A restore finishes the renames the checkpoint listed, deletes
the in-progress files written after it and the part files of a checkpoint that
was dropped, and numbers new files from where the checkpoint stopped, so the
replayed rows land in the same files once. Without checkpoints, a file is
committed when it rolls and at the end of the run.

Partition commit ('sink.partition-commit.policy.kind' = 'success-file'): once
a partition's files are committed, a ``_SUCCESS`` file is written into it when
the trigger says the partition is complete: 'process-time' (the default) at
creation time + 'sink.partition-commit.delay'; 'partition-time' when the
watermark passes the time its values name
('partition.time-extractor.timestamp-pattern', e.g. '$dt $hm:00') + the delay.
The end of a bounded input completes every partition.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from runtime_lib.checkpoint import _fsync  # (a directory too: the renames in it)
from runtime_lib.columns import Batch, Column
from runtime_lib.io.sinks import (
    SinkConfigError,
    SinkCounters,
    SinkFault,
    column_to_json_values,
    encode_json_lines,
    op_codes,
)
from runtime_lib.schema import Field, Schema, as_schema
from runtime_lib.watermarks import WM_MAX, WM_MIN

DEFAULT_FILE_SIZE = 128 * 1024 * 1024  # Flink's 'sink.rolling-policy.file-size'
DEFAULT_ROLLOVER_MS = 30 * 60 * 1000  # 'sink.rolling-policy.rollover-interval'
DEFAULT_PARTITION = "__DEFAULT_PARTITION__"  # 'partition.default-name': NULL or ''
# characters Hive (and Flink's PartitionPathUtils) write as %XX in a partition value
_ESCAPED = set('"#%\'*/:=?\\\x7f{[]^') | {chr(c) for c in range(32)}
_SIZE = re.compile(r"\s*(\d+)\s*([kmgt]?)(i?b?)?\s*", re.IGNORECASE)


def size_bytes(text: str, key: str) -> int:
    """'128MB', '1 gb', '4096' (bytes) -> bytes, as Flink's MemorySize reads them."""
    match = _SIZE.fullmatch(text)
    if not match or int(match.group(1)) < 1:
        raise SinkConfigError(f"'{key}' = '{text}' is not a size (write e.g. '128MB' or '1 gb')")
    return int(match.group(1)) * 1024 ** " kmgt".index(match.group(2).lower() or " ")


def escape_partition_value(value: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


@dataclass
class _Part:
    """One part file being written."""

    directory: str  # the partition's directory, relative to the table's path ('' unpartitioned)
    number: int
    handle: IO[bytes]
    opened_ms: int
    written_ms: int
    size: int = 0


class FileSystemSink:
    """A filesystem table written by INSERT INTO (see the module docstring)."""

    transactional = True  # a committer once the pipeline checkpoints (recover() says so)

    def __init__(self, fields: tuple[Field, ...], partitioned_by: tuple[str, ...],
                 properties: dict[str, str], what: str) -> None:
        from runtime_lib.durations import duration_ms

        self.what = what
        self.schema = as_schema(fields)
        self.partitioned_by = tuple(partitioned_by)
        by_name = {f.name: f for f in self.schema}
        self.data_fields = Schema(tuple(f for f in self.schema if f.name not in partitioned_by))
        self.partition_fields = tuple(by_name[name] for name in partitioned_by)
        self.path = Path(_local_path(properties.get("path", ""), what))
        self.format = properties.get("format", "json")
        self.delimiter = properties.get("csv.delimiter", ",")
        if self.format not in ("json", "csv"):
            raise SinkConfigError(f"{what}: format '{self.format}' cannot be written (json, csv)")

        def duration(key: str, default: int) -> int:
            try:
                found = duration_ms(properties.get(key))
            except ValueError as error:
                raise SinkConfigError(f"{what}: '{key}': {error}") from None
            return default if found is None else found

        self.file_size = (size_bytes(properties["sink.rolling-policy.file-size"],
                                     "sink.rolling-policy.file-size")
                          if "sink.rolling-policy.file-size" in properties else DEFAULT_FILE_SIZE)
        self.rollover_ms = duration("sink.rolling-policy.rollover-interval", DEFAULT_ROLLOVER_MS)
        self.inactivity_ms = duration("sink.rolling-policy.inactivity-interval", 0)
        self.trigger = properties.get("sink.partition-commit.trigger", "process-time")
        self.delay_ms = duration("sink.partition-commit.delay", 0)
        policies = [p.strip() for p in properties.get("sink.partition-commit.policy.kind",
                                                      "").split(",") if p.strip()]
        for policy in policies:
            if policy != "success-file":
                raise SinkConfigError(
                    f"{what}: partition commit policy '{policy}' is not available: sqlc has no "
                    "metastore and no custom policies; 'success-file' writes a _SUCCESS file")
        self.success_file = (properties.get("sink.partition-commit.success-file.name", "_SUCCESS")
                             if policies and partitioned_by else None)
        zone = properties.get("sink.partition-commit.watermark-time-zone", "UTC")
        if zone.upper() not in ("UTC", "Z", "+00:00", "GMT"):
            raise SinkConfigError(f"{what}: 'sink.partition-commit.watermark-time-zone' = "
                                  f"'{zone}': sqlc's session time zone is UTC")
        self.pattern = properties.get("partition.time-extractor.timestamp-pattern")
        formatter = properties.get("partition.time-extractor.timestamp-formatter")
        if formatter not in (None, "yyyy-MM-dd HH:mm:ss"):
            raise SinkConfigError(f"{what}: 'partition.time-extractor.timestamp-formatter' = "
                                  f"'{formatter}': sqlc reads partition times as yyyy-MM-dd "
                                  "HH:mm:ss (or a date) only")
        self.default_name = properties.get("partition.default-name", DEFAULT_PARTITION)
        self.counters = SinkCounters()
        self.uuid = str(uuid.uuid4())
        self.next_number = 0
        self.open: dict[str, _Part] = {}
        self.to_commit: list[tuple[str, int]] = []  # closed, waiting for the checkpoint
        self.partitions: dict[str, int] = {}  # committed files, no _SUCCESS yet: first seen ms
        self.watermark_ms = WM_MIN
        self.checkpointing = False
        self.pipeline: str | None = None
        self.path.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------ names

    def _name(self, number: int, in_progress: bool) -> str:
        name = f"part-{self.uuid}-0-{number}"
        return f".{name}.inprogress" if in_progress else name

    def _file(self, directory: str, number: int, in_progress: bool) -> Path:
        return self.path / directory / self._name(number, in_progress)

    def _marker(self) -> Path:
        return self.path / f"_sqlc_commit.{self.pipeline}"

    # ------------------------------------------------------------ writing

    def write(self, batch: Batch, ops=None) -> None:
        n = batch.num_rows
        if not n:
            return
        ops = ops if ops is not None else getattr(batch, "ops", None)
        if ops is not None and bool((op_codes(np.asarray(ops, dtype=object)) != 0).any()):
            raise SinkFault(f"{self.what}: a filesystem table takes only appended rows, and "
                            "the result retracts or updates rows")
        now = _now_ms()
        for directory, rows in self._partitions_of(batch):
            part = batch if rows is None else batch.take(rows)
            data = self._encode(part)
            target = self.open.get(directory)
            if target is None:
                target = self._open(directory, now)
            target.handle.write(data)
            target.size += len(data)
            target.written_ms = now
            self.counters.count(part.num_rows, len(data), None)
            if target.size >= self.file_size:
                self._roll(directory)

    def _partitions_of(self, batch: Batch):
        """(directory, row indices or None for all) per partition in the batch.
        Each partition column is reduced to its distinct values first, so only
        those are formatted and escaped; the rows carry a code per partition."""
        if not self.partitioned_by:
            yield "", None
            return
        codes = np.zeros(batch.num_rows, dtype=np.int64)
        levels: list[tuple[list[str], np.ndarray]] = []
        for f in self.partition_fields:
            names, inverse = self._distinct_names(batch, f)
            levels.append((names, inverse))
            # renumbered at each level, so the codes stay below the row count
            _, codes = np.unique(codes * len(names) + inverse, return_inverse=True)
        first = np.unique(codes, return_index=True)[1]
        directories = ["/".join(f"{escape_partition_value(f.name)}={names[inverse[row]]}"
                                for f, (names, inverse) in zip(self.partition_fields, levels))
                       for row in first]
        if len(first) == 1:
            yield directories[0], None
            return
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(first) + 1))
        for code, directory in enumerate(directories):
            yield directory, order[bounds[code]:bounds[code + 1]]

    def _distinct_names(self, batch: Batch, f: Field) -> tuple[list[str], np.ndarray]:
        """A partition column's distinct values as directory names (NULL and ''
        are 'partition.default-name', the rest as the sinks print them,
        escaped), and each row's index among them."""
        col = batch[f.name]
        values, valid = col.values, col.valid
        if values.dtype.kind == "O":
            filled = values if valid is None else np.where(valid, values, "")
            distinct, inverse = np.unique(filled, return_inverse=True)
            shown: list = distinct.tolist()
        else:
            filled = values if valid is None else np.where(valid, values, values.dtype.type(0))
            distinct, inverse = np.unique(filled, return_inverse=True)
            shown = column_to_json_values(Column(distinct), f.type_name)
            if valid is not None:
                inverse = np.where(valid, inverse, len(shown))
                shown.append(None)
        names = []
        for value in shown:
            if value is None or value == "":
                names.append(self.default_name)
            elif isinstance(value, bool):
                names.append("true" if value else "false")
            else:
                names.append(escape_partition_value(str(value)))
        return names, inverse

    def _encode(self, batch: Batch) -> bytes:
        if self.format == "json":
            return encode_json_lines(batch, self.data_fields)
        columns = []
        for f in self.data_fields:
            values = column_to_json_values(batch[f.name], f.type_name)
            if f.kind == "b":
                values = [None if v is None else ("true" if v else "false") for v in values]
            columns.append(values)
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.delimiter, lineterminator="\n").writerows(
            zip(*columns))
        return buffer.getvalue().encode("utf-8")

    def _open(self, directory: str, now: int) -> _Part:
        number = self.next_number
        self.next_number += 1
        path = self._file(directory, number, in_progress=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = _Part(directory, number, open(path, "wb"), now, now)  # noqa: SIM115 (closed as it rolls)
        self.open[directory] = part
        if directory:
            self.partitions.setdefault(directory, now)
        return part

    def _roll(self, directory: str) -> None:
        """Close the partition's open file; it is committed by the next checkpoint
        (without checkpoints: now)."""
        part = self.open.pop(directory)
        part.handle.flush()
        if self.checkpointing:
            os.fsync(part.handle.fileno())
        part.handle.close()
        self.to_commit.append((part.directory, part.number))
        if not self.checkpointing:
            self._commit_files()

    def _commit_files(self) -> None:
        for directory, number in self.to_commit:
            source = self._file(directory, number, in_progress=True)
            if source.exists():
                os.replace(source, self._file(directory, number, in_progress=False))
        for directory in {d for d, _ in self.to_commit}:
            if self.checkpointing:
                _fsync(self.path / directory)
        self.to_commit = []

    def _commit_partitions(self) -> None:
        """_SUCCESS into each partition the trigger says is complete, once its
        files are committed. Without checkpoints a complete partition's open
        file rolls (is committed) at once: no more rows are expected in it."""
        if self.success_file is None:
            self.partitions.clear()
            return
        now = _now_ms()
        for directory, first_seen in list(self.partitions.items()):
            if not self._due(directory, first_seen, now):
                continue
            if directory in self.open and not self.checkpointing:
                self._roll(directory)
            if directory in self.open or any(d == directory for d, _ in self.to_commit):
                continue  # its _SUCCESS once those files are committed
            (self.path / directory / self.success_file).write_bytes(b"")
            del self.partitions[directory]

    def _due(self, directory: str, first_seen: int, now: int) -> bool:
        if self.watermark_ms == WM_MAX:  # the end of input completes every partition
            return True
        if self.trigger == "partition-time":
            at = self._partition_time(directory)
            return at is not None and self.watermark_ms > WM_MIN and (
                at + self.delay_ms <= self.watermark_ms)
        return first_seen + self.delay_ms <= now

    def _partition_time(self, directory: str) -> int | None:
        from urllib.parse import unquote

        from runtime_lib.temporal import parse_timestamp

        values = {}
        for level in directory.split("/"):
            name, _, value = level.partition("=")
            values[unquote(name)] = unquote(value)
        if self.pattern is None:
            text = values.get(self.partitioned_by[0], "")
        else:
            text = self.pattern
            for name in sorted(values, key=len, reverse=True):
                text = text.replace(f"${name}", values[name])
        return parse_timestamp(text)

    def watermark(self, watermark_ms: int) -> None:
        """The query's watermark (WM_MAX at the end of input): partition-time
        commits follow it; the end of input also rolls every file."""
        self.watermark_ms = watermark_ms
        if watermark_ms == WM_MAX:
            for directory in list(self.open):
                self._roll(directory)
        if not self.checkpointing:
            self._commit_partitions()

    def flush(self) -> None:
        """Called about once a second: files open too long roll, and without
        checkpoints partitions whose time has come get their _SUCCESS."""
        now = _now_ms()
        for directory, part in list(self.open.items()):
            part.handle.flush()
            if now - part.opened_ms >= self.rollover_ms or (
                    self.inactivity_ms and now - part.written_ms >= self.inactivity_ms):
                self._roll(directory)
        if not self.checkpointing:
            self._commit_partitions()

    # ------------------------------------------------------------ checkpoints

    def recover(self, pipeline_id: str) -> int | None:
        """The id of the last checkpoint whose files were committed here."""
        self.checkpointing = True
        self.pipeline = pipeline_id
        try:
            return int(json.loads(self._marker().read_text(encoding="utf-8"))["checkpoint"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SinkConfigError(f"{self.what}: unreadable commit marker {self._marker()} "
                                  f"({type(error).__name__})") from None

    def position(self) -> dict:
        """For a checkpoint: every open file closed and listed to be committed."""
        for directory in list(self.open):
            self._roll(directory)
        return {"path": str(self.path), "uuid": self.uuid, "next": self.next_number,
                "commit": [[d, n] for d, n in self.to_commit],
                "partitions": dict(self.partitions)}

    def pending(self) -> int:
        return len(self.to_commit)

    def commit(self, checkpoint_id: int) -> None:
        """The checkpoint is durable: its files become visible, then the marker."""
        if not self.to_commit:
            self._commit_partitions()
            return
        self._commit_files()
        marker = self._marker()
        temporary = marker.with_name(marker.name + ".tmp")
        temporary.write_text(json.dumps({"checkpoint": int(checkpoint_id)}), encoding="utf-8")
        os.replace(temporary, marker)
        _fsync(self.path)
        self._commit_partitions()

    def resume(self, position: dict | None) -> None:
        """After a restore: the checkpoint's files committed, anything written
        after it removed, new files numbered on from it."""
        if position is None:
            return  # no checkpoint: a new run writes files of its own
        self.uuid = str(position["uuid"])
        self.next_number = int(position["next"])
        self.partitions = {str(d): int(t) for d, t in position.get("partitions", {}).items()}
        listed = {(str(d), int(n)) for d, n in position.get("commit", [])}
        self.to_commit = sorted(listed)
        self._commit_files()
        prefix = f"part-{self.uuid}-0-"
        for file in self.path.rglob(f"*part-{self.uuid}-0-*"):
            name = file.name.lstrip(".").removesuffix(".inprogress")
            number = name[len(prefix):]
            if not name.startswith(prefix) or not number.isdigit():
                continue
            if file.name.endswith(".inprogress") or int(number) >= self.next_number:
                file.unlink()  # written after the checkpoint: the replay writes it again

    def close(self) -> None:
        """Without checkpoints: what is open is committed. With them: what no
        checkpoint covers is removed (a restore writes it again)."""
        for directory in list(self.open):
            part = self.open.pop(directory)
            part.handle.close()
            if self.checkpointing:
                self._file(directory, part.number, in_progress=True).unlink(missing_ok=True)
            else:
                self.to_commit.append((directory, part.number))
        if not self.checkpointing:
            self._commit_files()
            self._commit_partitions()


def _local_path(path: str, what: str) -> str:
    if path.startswith("file://"):
        path = path[len("file://"):]
    elif path.startswith("file:"):
        path = path[len("file:"):]
    elif re.match(r"^[a-z][a-z0-9+.-]*://", path):
        raise SinkConfigError(f"{what}: 'path' = '{path}': sqlc writes local directories only "
                              "(file:///... or a path)")
    if not path:
        raise SinkConfigError(f"{what}: 'path' is empty")
    if Path(path).exists() and not Path(path).is_dir():
        raise SinkConfigError(f"{what}: 'path' = '{path}' is a file; a filesystem table is a "
                              "directory of part files")
    return path


def _now_ms() -> int:
    return int(time.time() * 1000)

