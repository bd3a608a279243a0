"""Whether operator state carries over an edit of the query: two state
layouts (``Query.state_layout`` of the old and the new module, or the one a
checkpoint recorded), compared operator by operator.

Per operator the verdict is one of

* ``identical``: the same layout;
* ``compatible``: only where it sits in the SQL moved;
* ``caveats``: the state is restored, but something changes for what it
  already holds (a new EMIT applies to open windows, a changed WHERE in front
  of it: rows already in state were chosen by the old one; an operator new in
  the query starts empty; a removed one's state is dropped);
* ``incompatible``: the state means something else (another group key or key
  type, window, aggregates, join bound or condition, OVER frame, buffered
  columns): it cannot be restored.

>>> old = {"agg": {"operator": "WindowAggregateExec", "line": 4, "keys": ["m VARCHAR"],
...                "window": "TUMBLE(size=[1 min])", "aggs": ["COUNT(*)"]}}
>>> [v.level for v in compare(old, old)]
['identical']
>>> new = {"agg": {**old["agg"], "window": "TUMBLE(size=[5 min])"}}
>>> v = compare(old, new)[0]
>>> v.level, v.reasons
('incompatible', ['window changed: TUMBLE(size=[1 min]) -> TUMBLE(size=[5 min])'])
"""

from __future__ import annotations

from dataclasses import dataclass, field

IDENTICAL, COMPATIBLE, CAVEATS, INCOMPATIBLE = "identical", "compatible", "caveats", "incompatible"
_RANK = {IDENTICAL: 0, COMPATIBLE: 1, CAVEATS: 2, INCOMPATIBLE: 3}

#: what a change of each layout field means for restored state
_CAVEAT_FIELDS = {
    "emit": "windows already open fire by the new EMIT",
    "input": "rows already in state were chosen by the old WHERE",
    "ttl": "rows already in state expire by the new 'state.ttl'",
}
_INFO_FIELDS = {"line"}


@dataclass
class Verdict:
    operator: str
    level: str
    line: int | None = None
    reasons: list[str] = field(default_factory=list)

    def render(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        text = f"  {self.operator}{where}: {self.level}"
        return text + "".join(f"\n      {r}" for r in self.reasons)


def compare(old: dict, new: dict) -> list[Verdict]:
    """The verdict per operator, in the new layout's order, then the dropped ones."""
    verdicts = []
    for name, layout in new.items():
        if name not in old:
            verdicts.append(Verdict(name, CAVEATS, layout.get("line"),
                                    [f"new {layout.get('operator')}: starts with empty state"]))
            continue
        verdicts.append(_one(name, old[name], layout))
    for name, layout in old.items():
        if name not in new:
            verdicts.append(Verdict(name, CAVEATS, layout.get("line"),
                                    [f"{layout.get('operator')} removed: its state is dropped"]))
    return verdicts


def _one(name: str, old: dict, new: dict) -> Verdict:
    verdict = Verdict(name, IDENTICAL, new.get("line"))
    if old == new:
        return verdict
    if old.get("operator") != new.get("operator"):
        verdict.level = INCOMPATIBLE
        verdict.reasons.append(f"was a {old.get('operator')}, is a {new.get('operator')}")
        return verdict
    level = COMPATIBLE
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after or key in _INFO_FIELDS:
            continue
        if key in _CAVEAT_FIELDS:
            level = max(level, CAVEATS, key=_RANK.get)
            verdict.reasons.append(f"{key} changed: {_text(before)} -> {_text(after)} "
                                   f"({_CAVEAT_FIELDS[key]})")
        else:
            level = INCOMPATIBLE
            verdict.reasons.append(_incompatible(key, before, after))
    verdict.level = level
    return verdict


def _incompatible(key: str, before, after) -> str:
    if isinstance(before, list) and isinstance(after, list) and key == "aggs":
        added = [a for a in after if a not in before]
        removed = [a for a in before if a not in after]
        parts = [f"added {', '.join(added)}"] if added else []
        parts += [f"removed {', '.join(removed)}"] if removed else []
        return (f"aggregates changed: {'; '.join(parts) or 'reordered'} (accumulators are "
                "restored by position: another list cannot carry state over yet)")
    return f"{key} changed: {_text(before)} -> {_text(after)}"


def _text(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + "; ".join(_text(v) for v in value) + "]"
    return str(value)


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
