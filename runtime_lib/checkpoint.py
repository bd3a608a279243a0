"""Checkpoint files: operator state and positions, written atomically, as data.

A checkpoint is a directory ``chk-<id>`` under the checkpoint directory:

    chk-000007/
      arrays/0.npy ...   numpy arrays of the operators' snapshots (no pickle)
      state.json         everything else, with {"$array": "0"} where an array was
      MANIFEST.json      written last: format, id, the query's identity, positions,
                         and the sha256 of state.json and of every array file

Writing goes to ``chk-<id>.tmp``, fsyncs each file and the directory, renames
the directory, and fsyncs the parent: a checkpoint without its manifest (a
crash mid-write) is never read, and one whose files do not match their
manifest's digests is skipped with a warning in favour of the one before it.
The last ``keep`` checkpoints are kept.

State is what ``Stateful.snapshot()`` returns: dicts, lists, str, int, float,
bool, None and numpy arrays of numbers or booleans. Anything else (an object
array, a set, a tuple of objects) is refused when writing, with the path of
the value, so no checkpoint ever needs pickle to be read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "sqlc-checkpoint/1"
_ARRAY = "$array"


class CheckpointError(Exception):
    """A checkpoint that cannot be written or read; the message says which and why."""


@dataclass(frozen=True)
class Checkpoint:
    id: int
    path: Path
    manifest: dict
    state: dict


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: JSON values that encode as themselves: a list of only these (the strings of a
#: key dictionary, a million of them) is taken whole instead of item by item
_PLAIN = (str, int, bool, type(None))


def _encode(value: Any, arrays: list[np.ndarray], where: str) -> Any:
    """``value`` as JSON, its numpy arrays moved into ``arrays``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isfinite(number):
            return number
        return {"$float": repr(number)}  # inf, -inf, nan: JSON has none
    if isinstance(value, np.ndarray):
        if value.dtype == object or value.dtype.hasobject:
            raise CheckpointError(f"{where}: an object array cannot be checkpointed without "
                                  "pickle; the operator must snapshot it as a list")
        arrays.append(value)
        return {_ARRAY: str(len(arrays) - 1)}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CheckpointError(f"{where}: key {key!r} is not a string")
            if key.startswith("$"):
                raise CheckpointError(f"{where}: key {key!r} starts with '$' (reserved)")
            out[key] = _encode(item, arrays, f"{where}.{key}")
        return out
    if isinstance(value, list):
        if all(type(item) in _PLAIN for item in value):  # a key dictionary: as it is
            return value
        return [_encode(item, arrays, f"{where}[{i}]") for i, item in enumerate(value)]
    raise CheckpointError(f"{where}: a {type(value).__name__} cannot be checkpointed")


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if _ARRAY in value:
            return arrays[value[_ARRAY]]
        if "$float" in value:
            return float(value["$float"])
        return {key: _decode(item, arrays) for key, item in value.items()}
    if isinstance(value, list):
        if all(type(item) in _PLAIN for item in value):
            return value
        return [_decode(item, arrays) for item in value]
    return value


class CheckpointStore:
    """The checkpoints of one pipeline in one directory."""

    def __init__(self, directory: str | Path, keep: int = 3):
        if keep < 1:
            raise ValueError("keep at least one checkpoint")
        self.directory = Path(directory)
        self.keep = keep
        self.warnings: list[str] = []  # checkpoints skipped by latest(), and why

    def ids(self) -> list[int]:
        """Ids of the complete checkpoints (with a manifest), oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for entry in self.directory.iterdir():
            name = entry.name
            if name.startswith("chk-") and name[4:].isdigit() and (
                entry / "MANIFEST.json"
            ).is_file():
                found.append(int(name[4:]))
        return sorted(found)

    def write(self, state: dict, manifest: dict) -> Checkpoint:
        """Write the next checkpoint; return it once it is durable."""
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = self.ids()
        number = (existing[-1] + 1) if existing else 1
        final = self.directory / f"chk-{number:06d}"
        tmp = self.directory / f"chk-{number:06d}.tmp"
        for stale in (tmp, final):  # left by a crash while writing: never complete
            if stale.exists():
                shutil.rmtree(stale)
        arrays: list[np.ndarray] = []
        encoded = _encode(state, arrays, "state")
        (tmp / "arrays").mkdir(parents=True)
        digests = {}
        for index, array in enumerate(arrays):
            path = tmp / "arrays" / f"{index}.npy"
            np.save(path, np.ascontiguousarray(array), allow_pickle=False)
            _fsync(path)
            digests[f"arrays/{index}.npy"] = _sha256(path)
        state_path = tmp / "state.json"
        state_path.write_text(json.dumps(encoded, separators=(",", ":")), encoding="utf-8")
        _fsync(state_path)
        digests["state.json"] = _sha256(state_path)
        full_manifest = {"format": FORMAT, "id": number, **manifest, "files": digests}
        manifest_path = tmp / "MANIFEST.json"
        manifest_path.write_text(json.dumps(full_manifest, indent=1, sort_keys=True),
                                 encoding="utf-8")
        _fsync(manifest_path)
        _fsync(tmp / "arrays")
        _fsync(tmp)
        os.replace(tmp, final)
        _fsync(self.directory)
        self._prune()
        return Checkpoint(number, final, full_manifest, state)

    def _prune(self) -> None:
        for number in self.ids()[:-self.keep]:
            shutil.rmtree(self.directory / f"chk-{number:06d}", ignore_errors=True)

    def discard(self, number: int) -> None:
        """Remove one checkpoint (one whose output was never committed)."""
        shutil.rmtree(self.directory / f"chk-{number:06d}", ignore_errors=True)

    def read(self, number: int) -> Checkpoint:
        """One checkpoint, checked against its manifest; CheckpointError if it is
        unreadable, incomplete or altered."""
        path = self.directory / f"chk-{number:06d}"
        try:
            manifest = json.loads((path / "MANIFEST.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CheckpointError(f"{path}: unreadable manifest ({type(error).__name__})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else None
            raise CheckpointError(f"{path}: format {found!r}, this sqlc reads {FORMAT!r}")
        files = manifest.get("files")
        if not isinstance(files, dict) or "state.json" not in files:
            raise CheckpointError(f"{path}: the manifest lists no state")
        arrays = {}
        for name, digest in sorted(files.items()):
            file = path / name
            if not file.is_file():
                raise CheckpointError(f"{path}: {name} is missing")
            if _sha256(file) != digest:
                raise CheckpointError(f"{path}: {name} does not match its manifest (corrupt)")
            if name.startswith("arrays/"):
                try:
                    arrays[name[len("arrays/"):-len(".npy")]] = np.load(file, allow_pickle=False)
                except ValueError as error:
                    raise CheckpointError(f"{path}: {name} is not a numeric array") from error
        encoded = json.loads((path / "state.json").read_text(encoding="utf-8"))
        return Checkpoint(number, path, manifest, _decode(encoded, arrays))

    def latest(self) -> Checkpoint | None:
        """The newest readable checkpoint; older ones stand in for unreadable ones
        (each skip is recorded in ``warnings``). None when there is none."""
        self.warnings = []
        for number in reversed(self.ids()):
            try:
                return self.read(number)
            except CheckpointError as error:
                self.warnings.append(f"checkpoint skipped: {error}")
        return None
