"""Test files: finding them, reading them, refusing bad ones with a clear,
positioned message (``file:line: ...``; the CLI exits 2)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path

from compiler.errors import TestFileError

SUFFIX = ".test.yaml"
CASE_KEYS = {"name", "given", "expect", "ordered", "tolerance", "batch_sizes", "now"}
EXPECT_KEYS = {"rows", "changelog", "late_rows", "dead_letters"}
DEFAULT_TOLERANCE = 1e-9
DEFAULT_BATCH_SIZES = (1, 7, 4096)
CHANGELOG_OPS = ("+I", "-U", "+U", "-D")


class _Mapping(dict):
    """A YAML mapping that remembers its line (1-based), for messages."""

    line = 0


@functools.cache
def _loader() -> type:
    """A YAML loader whose mappings know their line (built on first use: yaml
    is not imported by the other commands, `sqlc compile` among them)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):  # type: ignore[override]
            mapping = _Mapping(super().construct_mapping(node, deep=True))
            mapping.line = node.start_mark.line + 1
            return mapping

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                           Loader.construct_mapping)
    return Loader


@dataclass
class Input:
    """One source's or table's rows: inline (``rows``) or a file (``path``)."""

    rows: list | None = None
    path: Path | None = None


@dataclass
class Case:
    name: str
    line: int
    given: dict[str, Input]
    expect: dict
    ordered: bool = False
    tolerance: float = DEFAULT_TOLERANCE
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES
    now: str | None = None


@dataclass
class TestFile:
    path: Path
    query: Path
    cases: list[Case] = field(default_factory=list)
    catalogs: list[Path] | None = None  # None: the project's [tool.sqlc] catalog
    document: dict = field(default_factory=dict)  # as read, for --update

    __test__ = False


def find_test_files(paths: list[Path]) -> list[Path]:
    """The test files of PATHs: a test file itself, the test of a .sql file,
    or every test file under a directory."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.rglob(f"*{SUFFIX}"))
        elif path.name.endswith(SUFFIX):
            if not path.is_file():
                raise TestFileError(f"{path}: no such test file")
            found.append(path)
        elif path.suffix == ".sql":
            test = path.with_name(path.stem + SUFFIX)
            if not test.is_file():
                raise TestFileError(f"{path}: no test file {test.name} beside it")
            found.append(test)
        else:
            raise TestFileError(f"{path}: not a directory, a .sql file or a *{SUFFIX} file")
    return list(dict.fromkeys(p.resolve() for p in found))


def load_test_file(path: Path) -> TestFile:
    import yaml

    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except (OSError, UnicodeDecodeError) as error:
        raise TestFileError(f"{path}: cannot read: {error}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise TestFileError(f"{where}: not valid YAML: {error.problem}") from None
    if not isinstance(document, dict):
        raise TestFileError(f"{path}: expected a mapping with 'tests:' (see `sqlc test --help`)")
    _only(path, document, {"query", "catalog", "tests"}, "the file")
    query = path.with_name(str(document.get("query") or path.name[: -len(SUFFIX)] + ".sql"))
    if not query.is_file():
        raise TestFileError(f"{path}: the query {query.name} does not exist beside it")
    catalogs = document.get("catalog")
    if catalogs is not None:
        if isinstance(catalogs, str):
            catalogs = [catalogs]
        catalogs = [path.parent / str(c) for c in catalogs]
        for catalog in catalogs:
            if not catalog.is_file():
                raise TestFileError(f"{_at(path, document)}: no catalog file {catalog}")
    cases = document.get("tests")
    if not isinstance(cases, list) or not cases:
        raise TestFileError(f"{_at(path, document)}: 'tests:' must be a non-empty list of cases")
    loaded = [_case(path, c, i) for i, c in enumerate(cases)]
    names = [c.name for c in loaded]
    for case in loaded:
        if names.count(case.name) > 1:
            raise TestFileError(f"{path}:{case.line}: two cases are named {case.name!r}")
    return TestFile(path, query, loaded, catalogs, document)


def _at(path: Path, node) -> str:
    line = getattr(node, "line", 0)
    return f"{path}:{line}" if line else str(path)


def _only(path: Path, node: dict, allowed: set[str], what: str) -> None:
    for key in node:
        if key not in allowed:
            raise TestFileError(f"{_at(path, node)}: {what} has an unknown key {key!r} "
                                f"(known: {', '.join(sorted(allowed))})")


def _case(path: Path, node, index: int) -> Case:
    if not isinstance(node, dict):
        raise TestFileError(f"{path}: test {index + 1} is not a mapping")
    where = _at(path, node)
    _only(path, node, CASE_KEYS, f"test {index + 1}")
    name = str(node.get("name") or f"test {index + 1}")
    given = node.get("given")
    if not isinstance(given, dict) or not given:
        raise TestFileError(f"{where}: {name}: 'given:' must map sources to rows")
    expect = node.get("expect")
    if not isinstance(expect, dict) or not expect:
        raise TestFileError(f"{where}: {name}: 'expect:' must give rows or a changelog "
                            "(`sqlc test --update` records the current output)")
    _only(path, expect, EXPECT_KEYS, f"{name}: 'expect:'")
    if "rows" in expect and "changelog" in expect:
        raise TestFileError(f"{where}: {name}: expect either 'rows' or 'changelog', not both")
    for key in ("rows", "changelog"):
        if key in expect and not isinstance(expect[key], list):
            raise TestFileError(f"{where}: {name}: expect.{key} must be a list of rows")
    for row in expect.get("changelog") or ():
        if not isinstance(row, dict) or row.get("op") not in CHANGELOG_OPS:
            raise TestFileError(f"{_at(path, row)}: {name}: each changelog row needs "
                                f"op: one of {', '.join(CHANGELOG_OPS)}")
    for key in ("late_rows", "dead_letters"):
        value = expect.get(key)
        if value is not None and not isinstance(value, int | list) or isinstance(value, bool):
            raise TestFileError(f"{where}: {name}: expect.{key} must be a count or a list")
    default_sizes = (1,) if "changelog" in expect else DEFAULT_BATCH_SIZES
    sizes = node.get("batch_sizes", list(default_sizes))
    if (not isinstance(sizes, list) or not sizes
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)):
        raise TestFileError(f"{where}: {name}: batch_sizes must be a list of positive integers")
    tolerance = node.get("tolerance", DEFAULT_TOLERANCE)
    if not isinstance(tolerance, int | float) or isinstance(tolerance, bool) or tolerance < 0:
        raise TestFileError(f"{where}: {name}: tolerance must be a number >= 0")
    now = node.get("now")
    if isinstance(now, dt.datetime | dt.date):
        now = now.isoformat()
    return Case(name, getattr(node, "line", 0),
                {str(k): _input(path, name, str(k), v) for k, v in given.items()},
                expect, bool(node.get("ordered", False)), float(tolerance), tuple(sizes),
                None if now is None else str(now))


def _input(path: Path, case: str, source: str, node) -> Input:
    if isinstance(node, dict) and set(node) == {"file"}:
        file = path.parent / str(node["file"])
        if not file.is_file():
            raise TestFileError(f"{_at(path, node)}: {case}: given.{source}: no such file "
                                f"{file}")
        return Input(path=file)
    if not isinstance(node, list):
        raise TestFileError(f"{path}: {case}: given.{source} must be a list of rows or "
                            "{file: PATH}")
    for row in node:
        if not isinstance(row, dict) or ("raw" in row and len(row) != 1):
            raise TestFileError(f"{_at(path, row)}: {case}: given.{source}: each row is a "
                                "mapping of columns (or {raw: 'a line as-is'})")
    return Input(rows=node)
