"""Whether operator state carries over an edit of the query: two state
layouts (``Query.state_layout`` of the old and the new module, or the one a
checkpoint recorded), compared operator by operator.

Per operator the verdict is one of

* ``identical``: the same layout;
* ``compatible``: only where it sits in the SQL moved;
* ``caveats``: the state is restored, but something changes for what it
  already holds (a new EMIT applies to open windows, a changed WHERE in front
  of it: rows already in state were chosen by the old one; an added
  aggregate starts empty for the windows or groups already open; a changed
  WHERE/HAVING after an updating operator leaves rows emitted under the old
  one unretracted; an operator new in the query starts empty; a removed
  one's state is dropped);
* ``incompatible``: the state means something else (another group key or key
  type, window, an aggregate column that now computes something else, an
  input that turned updating, join bound or condition, OVER frame, buffered
  columns): it cannot be restored.

Aggregates are checkpointed by the name of their accumulator
(``aggregate_specs.accumulator_names``), so a removed aggregate's state is
dropped and reordered ones restore (compatible).

>>> old = {"agg": {"operator": "WindowAggregateExec", "line": 4, "keys": ["m VARCHAR"],
...                "window": "TUMBLE(size=[1 min])", "aggs": ["COUNT(*)"]}}
>>> [v.level for v in compare(old, old)]
['identical']
>>> new = {"agg": {**old["agg"], "window": "TUMBLE(size=[5 min])"}}
>>> v = compare(old, new)[0]
>>> v.level, v.reasons
('incompatible', ['window changed: TUMBLE(size=[1 min]) -> TUMBLE(size=[5 min])'])
>>> old["agg"].update(agg_names=["n"], accumulators=["COUNT(*)"])
>>> new = {"agg": {**old["agg"], "aggs": ["COUNT(*)", "MAX(latency_ms)"],
...                "agg_names": ["n", "slowest"], "accumulators": ["COUNT(*)", "MAX(latency_ms)"]}}
>>> v = compare(old, new)[0]
>>> v.level, v.reasons
('caveats', ['added MAX(latency_ms) AS slowest: starts empty for the windows open at the restore (there it counts only rows after the restore)'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

IDENTICAL, COMPATIBLE, CAVEATS, INCOMPATIBLE = "identical", "compatible", "caveats", "incompatible"
_RANK = {IDENTICAL: 0, COMPATIBLE: 1, CAVEATS: 2, INCOMPATIBLE: 3}

#: what a change of each layout field means for restored state
_CAVEAT_FIELDS = {
    "emit": "windows already open fire by the new EMIT",
    "input": "rows already in state were chosen by the old WHERE",
    "ttl": "rows already in state expire by the new 'state.ttl'",
    "output": "the condition after this updating operator: a row emitted under the old one "
              "that the new one drops is never taken back downstream",
    "limit": "the rows already let through count against the new LIMIT",
}
_INFO_FIELDS = {"line"}
#: fields an older sqlc did not record: missing in the old layout, they are not compared
_RECORDED_SINCE = {"changes_in"}


@dataclass
class Verdict:
    operator: str
    level: str
    line: int | None = None
    reasons: list[str] = field(default_factory=list)
    # incompatible beyond its aggregates: acknowledged, the operator starts empty (an
    # aggregate that computes something else only restarts its own accumulator)
    reset: bool = False

    def render(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        text = f"  {self.operator}{where}: {self.level}"
        return text + "".join(f"\n      {r}" for r in self.reasons)


def compare(old: dict, new: dict) -> list[Verdict]:
    """The verdict per operator, in the new layout's order, then the dropped
    ones. An operator is the old one it is paired with (``pairs``: of its
    name, or of another name and its structure)."""
    verdicts = []
    was = pairs(old, new)
    for name, layout in new.items():
        before = was.get(name)
        if before is None:
            verdicts.append(Verdict(name, CAVEATS, layout.get("line"),
                                    [f"new {layout.get('operator')}: starts with empty state"]))
            continue
        verdict = _one(name, old[before], layout)
        if before != name:
            verdict.reasons.insert(0, f"renamed: was {before} (the same kind, keys, window "
                                   "and inputs), its state carries over")
            verdict.level = max(verdict.level, COMPATIBLE, key=_RANK.get)
        verdicts.append(verdict)
    for name, layout in old.items():
        if name not in was.values():
            verdicts.append(Verdict(name, CAVEATS, layout.get("line"),
                                    [f"{layout.get('operator')} removed: its state is dropped"]))
    return verdicts


#: what identifies an operator whose generated name changed (an alias renamed, an
#: operator added in front): everything that shapes its state but the aggregates,
#: the WHERE in front of it, EMIT and where it is in the SQL
_IDENTITY_IGNORES = ({"line", "input", "emit", "ttl", "output"}
                     | {"aggs", "agg_names", "accumulators"})


def pairs(old: dict, new: dict) -> dict[str, str]:
    """``{new name: old name}``: which old operator's state each new one
    takes. First an operator of the same name and structure (kind, keys,
    window, join, buffered columns...); then one of the same structure under
    another name, if it is the only candidate on both sides (a rename: an
    alias changed, or an operator added in front took the name); then one of
    the same name. The rest are new (and, in ``old``, removed).

    >>> agg = {"operator": "WindowAggregateExec", "keys": ["m VARCHAR"], "window": "TUMBLE"}
    >>> pairs({"window_aggregate": {**agg, "line": 3}},
    ...       {"window_aggregate": {**agg, "keys": []}, "window_aggregate_2": {**agg, "line": 9}})
    {'window_aggregate_2': 'window_aggregate'}
    """
    def identity(layout: dict) -> str:
        return repr(sorted((k, repr(v)) for k, v in layout.items() if k not in _IDENTITY_IGNORES))

    found = {n: n for n in new if n in old and identity(old[n]) == identity(new[n])}
    gone = [n for n in old if n not in found.values()]
    added = [n for n in new if n not in found]
    for name in added:
        same = [g for g in gone if identity(old[g]) == identity(new[name])]
        rivals = [a for a in added if identity(new[a]) == identity(new[name])]
        if len(same) == 1 and len(rivals) == 1:
            found[name] = same[0]
    taken = set(found.values())
    for name in added:
        if name not in found and name in old and name not in taken:
            found[name] = name
    return {n: found[n] for n in new if n in found}


def _one(name: str, old: dict, new: dict) -> Verdict:
    verdict = Verdict(name, IDENTICAL, new.get("line"))
    unrecorded = {k for k in _RECORDED_SINCE if k not in old}  # (an older sqlc's layout)
    if old == {k: v for k, v in new.items() if k not in unrecorded}:
        return verdict
    if old.get("operator") != new.get("operator"):
        verdict.level, verdict.reset = INCOMPATIBLE, True
        verdict.reasons.append(f"was a {old.get('operator')}, is a {new.get('operator')}")
        return verdict
    level = COMPATIBLE
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after or key in _INFO_FIELDS or key in _AGGREGATE_FIELDS or (
                key in _RECORDED_SINCE and before is None):
            continue
        if key in _CAVEAT_FIELDS:
            level = max(level, CAVEATS, key=_RANK.get)
            verdict.reasons.append(f"{key} changed: {_text(before)} -> {_text(after)} "
                                   f"({_CAVEAT_FIELDS[key]})")
        else:
            level, verdict.reset = INCOMPATIBLE, True
            verdict.reasons.append(f"{key} changed: {_text(before)} -> {_text(after)}")
    for agg_level, reason in _aggregates(old, new):
        level = max(level, agg_level, key=_RANK.get)
        verdict.reasons.append(reason)
        # accumulators by position (an older sqlc's state): no part of it restores
        verdict.reset |= agg_level == INCOMPATIBLE and "accumulators" not in old
    verdict.level = level
    return verdict


#: the fields ``_aggregates`` compares (the aggregates, their names and accumulators)
_AGGREGATE_FIELDS = {"aggs", "agg_names", "accumulators"}


def _aggregates(old: dict, new: dict) -> list[tuple[str, str]]:
    """(level, reason) per difference of the aggregates: accumulators are
    restored by name, so an added aggregate starts empty where state is open
    (a caveat), a removed one's state is dropped, a reordered list restores;
    an aggregate whose column keeps its name but computes something else
    starts over while the rows emitted so far had the old one (incompatible).
    Layouts without accumulator names (an older sqlc) restore by position."""
    if old.get("aggs") == new.get("aggs") and old.get("agg_names") == new.get("agg_names"):
        return []
    if "accumulators" not in old or "accumulators" not in new:
        return [] if old.get("aggs") == new.get("aggs") else [(INCOMPATIBLE, _by_position(
            old.get("aggs") or [], new.get("aggs") or []))]
    before = list(zip(old["agg_names"], old["aggs"], old["accumulators"]))
    after = list(zip(new["agg_names"], new["aggs"], new["accumulators"]))
    if sorted(before) == sorted(after):
        return [(COMPATIBLE, "aggregates reordered (their state is restored by name)")]
    open_state = ("the windows open at the restore" if "window" in new
                  else "the groups already in state")
    old_expr = {alias: expr for alias, expr, _ in before}
    old_alias = {expr: alias for alias, expr, _ in before}
    kept = {acc for _, _, acc in before}
    found = []
    for alias, expr, acc in after:
        if old_expr.get(alias) == expr:
            continue
        if acc in kept:
            was = old_alias.get(expr)
            found.append((COMPATIBLE, f"{was} renamed {alias}" if was is not None else
                          f"added {expr} AS {alias}: computed from the restored {acc}"))
        elif alias in old_expr:
            found.append((INCOMPATIBLE, f"{alias} changed: {old_expr[alias]} -> {expr} (it "
                          f"would start empty for {open_state})"))
        else:
            found.append((CAVEATS, f"added {expr} AS {alias}: starts empty for {open_state} "
                          "(there it counts only rows after the restore)"))
    used = {acc for _, _, acc in after}
    new_alias = {alias for alias, _, _ in after}
    new_exprs = {expr for _, expr, _ in after}
    for alias, expr, acc in before:
        if alias not in new_alias and expr not in new_exprs:
            found.append((COMPATIBLE, f"removed {expr} AS {alias}"
                          + (": its state is dropped" if acc not in used else "")))
    return found


def _by_position(before: list, after: list) -> str:
    added = [a for a in after if a not in before]
    removed = [a for a in before if a not in after]
    parts = [f"added {', '.join(added)}"] if added else []
    parts += [f"removed {', '.join(removed)}"] if removed else []
    return (f"aggregates changed: {'; '.join(parts) or 'reordered'} (this state was written "
            "by an older sqlc, which stores accumulators by position: another list cannot "
            "carry it over)")


def _text(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + "; ".join(_text(v) for v in value) + "]"
    return str(value)


def open_state(data: dict) -> str | None:
    """What an aggregation's snapshot holds open, in words: its (group key,
    window pane or session) slots, or its groups (None: not an aggregation)."""
    states = data.get("states")
    if not isinstance(states, dict) or "n_slots" not in states:
        return None
    n = int(states["n_slots"])
    if "slots" in data:  # a window aggregate: a slot per key and pane or session
        return f"{n} open (group key, window pane or session) slot{'s' if n != 1 else ''}"
    return f"{n} group{'s' if n != 1 else ''}"


def overall(verdicts: list[Verdict]) -> str:
    """The worst verdict (identical when there is no operator)."""
    return max((v.level for v in verdicts), key=_RANK.get, default=IDENTICAL)


def report(verdicts: list[Verdict], title: str) -> str:
    """A few lines for a person: the overall verdict, then each operator's."""
    lines = [f"{title}: {overall(verdicts)}"]
    lines += [v.render() for v in verdicts]
    if overall(verdicts) == INCOMPATIBLE:
        lines.append("  what to do: start with a new checkpoint directory (the state is "
                     "rebuilt from the sources' start positions), or keep the old query "
                     "running until its windows have fired")
    return "\n".join(lines)


#: a line in the query's SQL that acknowledges an incompatible change of named
#: operators (or ``all``), e.g. ``-- sqlc-state: allow-incompatible window_aggregate``
_ACKNOWLEDGE = re.compile(r"^[ \t]*--[ \t]*sqlc-state:[ \t]*allow-incompatible[ \t]+([^\n]*)$",
                          re.IGNORECASE | re.MULTILINE)


def acknowledgements(text: str) -> dict[str, str]:
    """The ``-- sqlc-state: allow-incompatible NAME[, NAME...] [-- why]``
    lines of a query (or of a generated module, whose docstring is the SQL):
    operator name (``all`` for every one) -> the line.

    >>> acknowledgements("SELECT 1\\n-- sqlc-state: allow-incompatible agg, join -- 1 h to 5 min")
    {'agg': 'sqlc-state: allow-incompatible agg, join -- 1 h to 5 min', 'join': 'sqlc-state: allow-incompatible agg, join -- 1 h to 5 min'}
    """
    found = {}
    for match in _ACKNOWLEDGE.finditer(text):
        line = match.group(0).strip().lstrip("-").strip()
        names = match.group(1).split("--")[0]
        for name in re.split(r"[,\s]+", names.strip()):
            if name:
                found[name.lower() if name.lower() == "all" else name] = line
    return found


def acknowledged(verdict: Verdict, new: dict[str, str], old: dict[str, str]) -> str | None:
    """The acknowledgement line that covers ``verdict``'s operator: one the
    edit adds (``new``'s lines that ``old``, the previous version, has not got:
    a line acknowledges the edit that adds it, not every later one)."""
    for name in (verdict.operator, "all"):
        line = new.get(name)
        if line is not None and line not in old.values():
            return line
    return None
