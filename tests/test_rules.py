"""Optimizer rules: one fixture file of cases, the plan after each rule is golden,
every rule is idempotent and leaves what it does not change untouched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from compiler.driver import analyze
from compiler.errors import Source
from compiler.explain import explain_logical
from compiler.rules import RULES, optimize

ROOT = Path(__file__).resolve().parent.parent
CATALOG = [str(ROOT / "examples" / "catalog.sql")]
FIXTURES = ROOT / "tests" / "fixtures" / "rules"


def cases() -> list[tuple[str, str]]:
    text = (FIXTURES / "cases.sql").read_text(encoding="utf-8")
    found, comment = [], ""
    for line in text.splitlines():
        if line.startswith("--"):
            comment = line[2:].strip()
        elif line.strip():
            found.append((comment, line.strip()))
    return found


CASES = cases()


def plan_of(sql: str):
    analysis = analyze(Source("case.sql", sql), CATALOG)
    return analysis.script.queries[0].plan


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0][:40] for c in CASES])
def test_rule_trace_is_golden(index: int, check_golden: Callable[[Path, str], None]) -> None:
    comment, sql = CASES[index]
    trace: list = []
    before = plan_of(sql)
    optimize(before, trace)
    text = [f"-- {comment}", sql, "", "== Analyzed ==", explain_logical(before)]
    for rule, after in trace:
        text += ["", f"== After {rule} ==", explain_logical(after)]
    text = "\n".join(text) + "\n"
    check_golden(FIXTURES / f"case{index:02d}.txt", text)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0][:40] for c in CASES])
def test_rules_are_idempotent_and_keep_unchanged_nodes(index: int) -> None:
    plan = optimize(plan_of(CASES[index][1]))
    for rule in RULES:
        again = rule(plan)
        assert again is plan, f"{rule.__name__} changed an optimized plan"


def test_each_rule_does_its_job() -> None:
    texts = [(c, explain_logical(optimize(plan_of(sql)))) for c, sql in CASES]
    by_comment = {c: t for c, t in texts}

    def plan_for(prefix: str) -> str:
        return next(t for c, t in by_comment.items() if c.startswith(prefix))

    folded = plan_for("fold_constants: arithmetic")
    assert "(latency_ms > 1000)" in folded and "TRUE" not in folded and "(latency_ms * 5)" in folded
    nulls = plan_for("fold_constants: NULL")
    assert "-3 AS q" in nulls and "NULL AS n" in nulls and "NOT" not in nulls
    through = plan_for("push_filters: through")
    assert through.splitlines()[1].startswith("  Calc:") and "where=[(latency_ms > 1000)]" in through
    left = plan_for("push_filters: into")
    join_line = next(i for i, l in enumerate(left.splitlines()) if "Join:" in l)
    lines = left.splitlines()
    assert "latency_ms > 100" in "\n".join(lines[join_line + 1:])  # below the join, left side
    assert "rating > 3" in "\n".join(lines[:join_line])  # stays above: right side is NULL-padded
    # prune_columns: the join stores only the feedback columns it or the query reads
    feedback = next(i for i, l in enumerate(lines) if "Scan: source=[user_feedback]" in l)
    assert lines[feedback - 1].strip().startswith("Calc: select=[request_id, rating, event_time]")
    window = plan_for("push_filters: below a window")
    assert window.index("region = 'eu-west'") > window.index("WindowTVF")
    having = plan_for("push_filters: a HAVING")
    assert having.index("model_id <> 'gpt-4o'") > having.index("Aggregate")
    assert having.index("CURRENT_TIMESTAMP") > having.index("Aggregate")
    topn = plan_for("rewrite_topn")
    assert "TopN: partition_by=[model_id], order_by=[latency_ms DESC], limit=[3]" in topn
    assert "Over:" not in topn
    pruned = plan_for("prune_columns")
    scan = next(l for l in pruned.splitlines() if "Scan:" in l)
    assert "fields=[model_id, timestamp_ms, cost, event_time]" in scan
    fused = plan_for("fuse_calc")
    assert fused.count("Calc:") == 1 and "Project:" not in fused and "Filter:" not in fused
