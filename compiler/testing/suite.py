"""``sqlc test [PATH...] [--update]``: every test file's cases, each run at
each of its batch sizes; a report per failing case with diff tables; exit 0
(all passed), 1 (a case failed) or 2 (a bad test file or query)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from compiler.testing.compare import compare, fold
from compiler.testing.files import Case, TestFile, find_test_files, load_test_file
from compiler.testing.rewrite import rewrite_expects
from compiler.testing.runner import Observed, load_query, run_case


def run_tests(paths: list[Path], update: bool = False, out=None) -> int:
    """Run (or with ``update``, record) the tests under ``paths``."""
    out = out or sys.stdout
    files = [load_test_file(p) for p in find_test_files(paths)]
    if not files:
        print(f"no *.test.yaml files under {', '.join(map(str, paths))}", file=out)
        return 1
    began = time.perf_counter()
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="sqlc-test-modules-") as tmp:
        for test_file in files:
            query = _compile(test_file, Path(tmp))
            observed_by_case = {}
            for case in test_file.cases:
                where = f"{test_file.path}:{case.line}: {case.name}"
                failures, first = _run(query, case, where, record=update)
                observed_by_case[case.name] = first
                if failures:
                    failed += 1
                    print(f"FAIL {_short(test_file.path)}:{case.line}: {case.name}", file=out)
                    for failure in failures:
                        print("  " + failure.replace("\n", "\n  "), file=out)
                else:
                    passed += 1
            if update:
                changed = _record(test_file, observed_by_case)
                print(f"{'updated' if changed else 'up to date:'} {_short(test_file.path)}",
                      file=out)
    elapsed = time.perf_counter() - began
    verb = "recorded" if update else "passed"
    print(f"{passed + failed if update else passed} {verb}"
          + ("" if update else f", {failed} failed") + f" ({len(files)} files, {elapsed:.2f} s)",
          file=out)
    return 0 if update or not failed else 1


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _compile(test_file: TestFile, folder: Path):
    """The query's ``Query`` class, compiled with its project's catalogs."""
    from compiler.driver import compile_source, read_source
    from compiler.project import find_project, project_config

    root = find_project(test_file.query.parent)
    catalogs = [str(c) for c in test_file.catalogs or ()]
    if root is not None and test_file.catalogs is None:
        catalogs = [str(root / c) for c in project_config(root).get("catalog", [])]
    display = str(test_file.query.relative_to(root)) if root is not None else str(
        test_file.query)
    compiled = compile_source(read_source(str(test_file.query)), catalogs, display)
    module_path = folder / f"{test_file.query.stem}.py"
    module_path.write_text(compiled.module, encoding="utf-8")
    return load_query(module_path)


def _run(query, case: Case, where: str, record: bool) -> tuple[list[str], Observed]:
    """The case's failures (the first batch size that fails), and what the
    first run observed."""
    first = None
    for size in case.batch_sizes:
        observed = run_case(query, case, size, where)
        first = first or observed
        if record:
            break
        failures = compare(case, observed)
        if failures:
            return [f"(batch size {size}) " + f for f in failures], first
    assert first is not None
    return [], first


def _record(test_file: TestFile, observed: dict[str, Observed]) -> bool:
    """Write what the cases observed into their ``expect`` (a case whose
    expectation already holds is left as written); whether any changed."""
    document = _plain(test_file.document)
    expects: list[dict | None] = []
    for node, case in zip(document["tests"], test_file.cases):
        seen = observed[case.name]
        if not compare(case, seen):
            expects.append(None)
            continue
        expect = node.setdefault("expect", {})
        if "changelog" in expect:
            expect["changelog"] = seen.changelog
        else:
            expect["rows"] = fold(seen.changelog)
        if isinstance(expect.get("late_rows"), list):
            expect["late_rows"] = seen.late_rows
        elif "late_rows" in expect or seen.late_rows:
            expect["late_rows"] = len(seen.late_rows)
        if isinstance(expect.get("dead_letters"), list):
            expect["dead_letters"] = [{"source": d["source"], "reason": d["reason"]}
                                      for d in seen.dead_letters]
        elif "dead_letters" in expect or seen.dead_letters:
            expect["dead_letters"] = len(seen.dead_letters)
        expects.append(expect)
    if all(e is None for e in expects):
        return False
    # only the expect blocks change: comments and the layout of the rest stay
    text = rewrite_expects(test_file.path.read_text(encoding="utf-8"), expects)
    test_file.path.write_text(text, encoding="utf-8")
    return True


def _plain(node):
    """The document as plain dicts and lists (the loader's mappings carry lines)."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
