"""Timestamp texts parsed for a whole column at once (the canonical
'YYYY-MM-DD HH:MM:SS.fff' of Flink's TIMESTAMP(3)) give what the
value-by-value path gives, for canonical texts and for every near miss."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime_lib.temporal import (
    _canonical_timestamps,
    _normalize_timestamp,
    _parse_iso,
    parse_timestamps,
)

MILLIS = st.integers(-62_135_596_800_000, 253_402_300_799_999)  # years 1..9999


def render(ms: int, separator: str) -> str:
    text = np.datetime64(ms, "ms").astype(str)  # 'YYYY-MM-DDTHH:MM:SS.fff'
    return text.replace("T", separator)


def one_by_one(texts: list[str]) -> tuple[list[int], list[bool]]:
    values, ok = _parse_iso([_normalize_timestamp(t) for t in texts], "ms")
    return [int(v) for v, good in zip(values, ok) if good], ok.tolist()


CANONICAL = st.builds(render, MILLIS, st.sampled_from([" ", "T"]))
# one character changed, dropped or added: month 13, Feb 30, a letter, no millis, ...
NEAR_MISS = st.builds(
    lambda text, at, ch, how: {"change": text[:at] + ch + text[at + 1:],
                               "drop": text[:at] + text[at + 1:],
                               "add": text[:at] + ch + text[at:]}[how],
    CANONICAL, st.integers(0, 22), st.sampled_from(list("0139 T:-.Zx٣")),
    st.sampled_from(["change", "drop", "add"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(CANONICAL, CANONICAL, NEAR_MISS), min_size=1, max_size=6))
def test_the_column_at_once_equals_value_by_value(texts: list[str]) -> None:
    values, ok = parse_timestamps(texts)
    assert ([int(v) for v, good in zip(values, ok) if good], ok.tolist()) == one_by_one(texts)


@given(st.lists(CANONICAL, min_size=1, max_size=6))
def test_canonical_texts_take_the_column_path(texts: list[str]) -> None:
    fast = _canonical_timestamps(texts)
    assert fast is not None and fast.tolist() == one_by_one(texts)[0]


def test_a_text_out_of_the_calendar_leaves_it_to_the_value_path() -> None:
    texts = ["2024-02-29 10:00:00.000", "2023-02-29 10:00:00.000", "2023-01-01 24:00:00.000"]
    assert _canonical_timestamps(texts) is None
    assert parse_timestamps(texts)[1].tolist() == [True, False, False]
