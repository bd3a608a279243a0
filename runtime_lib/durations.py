"""Durations in connector properties ('60 s', '10 min'), read by the lookup
tables at run time and checked by the catalog at compile time (a numpy-free
module, so that ``sqlc compile`` does not import the tables' runtime)."""

from __future__ import annotations

import re

_UNITS = {"ms": 1, "s": 1000, "sec": 1000, "second": 1000, "seconds": 1000, "min": 60_000, "m": 60_000,
          "minute": 60_000, "minutes": 60_000, "h": 3_600_000, "hour": 3_600_000,
          "hours": 3_600_000, "d": 86_400_000, "day": 86_400_000, "days": 86_400_000}


def duration_ms(text: str | None) -> int | None:
    """'60 s', '10min', '500 ms', '2 h' -> milliseconds; None stays None."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*([a-z]*)\s*", text.lower())
    if not match or (match.group(2) and match.group(2) not in _UNITS):
        raise ValueError(f"cannot read the duration {text!r} (write e.g. '60 s' or '10 min')")
    return int(match.group(1)) * _UNITS.get(match.group(2) or "ms", 1)
