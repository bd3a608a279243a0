"""Every example of the spec parses and analyzes; EXPLAIN text is golden."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from compiler.driver import analyze, plan, read_source
from compiler.explain import explain_logical
from compiler.physical import explain_physical

ROOT = Path(__file__).resolve().parent.parent
CATALOG = [str(ROOT / "examples" / "catalog.sql")]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.sql") if p.name != "catalog.sql")
GOLDEN = ROOT / "tests" / "golden" / "explain"


def test_there_is_an_example_per_spec_query() -> None:
    names = {p.stem for p in EXAMPLES}
    for n in range(1, 21):
        assert any(name.startswith(f"q{n:02d}_") for name in names), f"spec Query {n} missing"
    for fr in ("fr_ddl_003", "fr_dql_001", "fr_dql_002", "fr_dql_003", "fr_dql_004",
               "fr_dql_005", "fr_dql_006", "fr_dql_007", "fr_join_001", "fr_join_002",
               "fr_join_003", "fr_time_002", "fr_adv_001", "fr_adv_002", "fr_adv_003"):
        assert any(name.startswith(fr) for name in names), f"{fr} missing"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_analyzes(path: Path) -> None:
    analysis = analyze(read_source(path), CATALOG)
    assert analysis.script.queries, "every example holds at least one query"
    for query in analysis.script.queries:
        assert query.plan.schema, "a query returns columns"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_explain_golden(path: Path, check_golden: Callable[[Path, str], None]) -> None:
    analysis = analyze(read_source(path), CATALOG)
    compiled = plan(analysis)
    text = "\n\n".join(
        "== Logical Plan ==\n" + explain_logical(lg) + "\n\n== Physical Plan ==\n"
        + explain_physical(ph)
        for lg, ph in zip(compiled.logical, compiled.physical)
    ) + "\n"
    check_golden(GOLDEN / f"{path.stem}.txt", text)


def test_global_session_warns_and_suggests_partition_by() -> None:
    analysis = analyze(read_source(ROOT / "examples" / "q06_session_analytics.sql"), CATALOG)
    messages = [w.message for w in analysis.warnings]
    assert any("global sessions" in m for m in messages), messages
    assert any("PARTITION BY user_id" in (w.hint or "") for w in analysis.warnings)
    per_user = analyze(read_source(ROOT / "examples" / "q06b_session_per_user.sql"), CATALOG)
    assert not per_user.warnings


def test_where_bound_on_left_join_warns_and_becomes_interval_join() -> None:
    analysis = analyze(read_source(ROOT / "examples" / "q07_user_journey_feedback.sql"), CATALOG)
    assert any("INNER interval join" in w.message for w in analysis.warnings)
    compiled = plan(analysis)
    text = explain_physical(compiled.physical[0])
    assert "IntervalJoinExec: type=[INNER]" in text
    assert "interval=[event_time <= fb_event_time <= event_time + 10 min]" in text
