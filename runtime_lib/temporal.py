"""Parsing and formatting of TIMESTAMP, DATE and TIME values, vectorized.

Storage (columns.py): TIMESTAMP(p) and TIMESTAMP_LTZ(p) are int64 epoch
milliseconds UTC, DATE is int64 days since 1970-01-01, TIME is int64
milliseconds since midnight. The session time zone is UTC, so TIMESTAMP and
TIMESTAMP_LTZ render the same.

Accepted text forms (decoders, CAST, TO_TIMESTAMP):

- timestamp: ``YYYY-MM-DD HH:MM:SS[.fffffffff]``, also with ``T`` instead of
  the space, without seconds, date only, and with a trailing ``Z``. Digits
  after the millisecond are truncated (storage is milliseconds).
- date: ``YYYY-MM-DD``.
- time: ``HH:MM[:SS[.fff]]``.

Anything else is unparsable (the caller turns that into NULL or a dead letter).
Rendering: ``YYYY-MM-DD HH:MM:SS.fff`` (always three fractional digits, as Flink
prints TIMESTAMP(3)), ``YYYY-MM-DD``, ``HH:MM:SS`` (``.fff`` added when the
milliseconds are not zero).
"""

from __future__ import annotations

import re

import numpy as np

MS_PER_SECOND = 1000
MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000

_TIMESTAMP_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2})(:\d{2}(?:\.(\d{1,9}))?)?)?Z?"
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?")  # Calcite: H:MM too

_MS_SUFFIX = [f".{i:03d}" for i in range(1000)]


def _normalize_timestamp(text: str) -> str | None:
    """'2024-01-01 10:00:00.123456' -> '2024-01-01T10:00:00.123' (numpy's form),
    or None when the text is not a timestamp."""
    match = _TIMESTAMP_RE.fullmatch(text)
    if match is None:
        return None
    date, hm, sec, frac = match.groups()
    if hm is None:
        return date
    if sec is None:
        return f"{date}T{hm}"
    if frac is None:
        return f"{date}T{hm}{sec}"
    return f"{date}T{hm}{sec[:3]}.{frac[:3]}"


def _parse_iso(normalized: list[str | None], unit: str) -> tuple[np.ndarray, np.ndarray]:
    """numpy datetime64 parse of pre-validated strings; None entries are failures.
    numpy checks calendar ranges (month 13, Feb 30, hour 25) and raises for the
    whole array, so on error we retry value by value to find the bad ones."""
    n = len(normalized)
    ok = np.fromiter((s is not None for s in normalized), dtype=bool, count=n)
    texts = [s if s is not None else "1970-01-01" for s in normalized]
    try:
        values = np.array(texts, dtype=f"datetime64[{unit}]").astype(np.int64)
        return values, ok
    except ValueError:
        pass
    values = np.zeros(n, dtype=np.int64)
    for i, text in enumerate(texts):
        if not ok[i]:
            continue
        try:
            values[i] = np.datetime64(text, unit).astype(np.int64)
        except ValueError:
            ok[i] = False
    return values, ok


def parse_timestamps(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Epoch milliseconds and an ok-mask for a list of timestamp strings."""
    canonical = _canonical_timestamps(texts)
    if canonical is not None:
        return canonical, np.ones(len(texts), dtype=bool)
    return _parse_iso([_normalize_timestamp(t) for t in texts], "ms")


# 'YYYY-MM-DD HH:MM:SS.fff' (or with T), the form Flink writes TIMESTAMP(3) in
# and nearly every event carries: checked and parsed for the whole list at once
_CANONICAL_LENGTH = 23
_DIGIT_AT = np.array([i not in (4, 7, 10, 13, 16, 19) for i in range(_CANONICAL_LENGTH)])
_SEPARATOR_AT = [4, 7, 13, 16, 19]
_SEPARATORS = np.array([ord(c) for c in "--::."], dtype=np.uint32)


def _canonical_timestamps(texts: list[str]) -> np.ndarray | None:
    """Epoch milliseconds when every text has the canonical form, else None
    (then the value-by-value path decides, and says which text is bad)."""
    if not texts:
        return None
    array = np.array(texts)
    if array.dtype.kind != "U" or array.dtype.itemsize != 4 * _CANONICAL_LENGTH:
        return None
    # one code point per character; a shorter text is padded with NULs (no digit)
    codes = array.view(np.uint32).reshape(len(texts), _CANONICAL_LENGTH)
    digits, middle = codes[:, _DIGIT_AT], codes[:, 10]
    if not (((digits >= ord("0")) & (digits <= ord("9"))).all()
            and (codes[:, _SEPARATOR_AT] == _SEPARATORS).all()
            and ((middle == ord(" ")) | (middle == ord("T"))).all()):
        return None
    try:
        return array.astype("datetime64[ms]").astype(np.int64)
    except ValueError:  # not in the calendar (month 13, Feb 30, hour 24)
        return None


def parse_dates(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Days since epoch and an ok-mask for a list of 'YYYY-MM-DD' strings."""
    return _parse_iso([t if _DATE_RE.fullmatch(t) else None for t in texts], "D")


def parse_times(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds since midnight and an ok-mask for 'HH:MM[:SS[.fff]]' strings."""
    n = len(texts)
    values = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    for i, text in enumerate(texts):
        match = _TIME_RE.fullmatch(text)
        if match is None:
            continue
        hh, mm, ss, frac = match.groups()
        h, m, s = int(hh), int(mm), int(ss or 0)
        if h > 23 or m > 59 or s > 59:
            continue
        ms = int((frac or "0")[:3].ljust(3, "0"))
        values[i] = h * MS_PER_HOUR + m * MS_PER_MINUTE + s * MS_PER_SECOND + ms
        ok[i] = True
    return values, ok


def parse_timestamp(text: str) -> int | None:
    values, ok = parse_timestamps([text])
    return int(values[0]) if ok[0] else None


#: The instants ``parse_instant`` accepts: years 1..9999, as Python's datetime.
_INSTANT_MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
_INSTANT_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def parse_instant(text: str) -> int:
    """Epoch milliseconds (UTC) of one instant given by a person: digits only
    (an optional leading '-') are epoch milliseconds; anything else is
    ISO-8601 (``2025-11-10T13:00:00Z``, ``2025-11-10 13:00:00.250``,
    ``2025-11-10T14:00:00+01:00``, ``2025-11-10``), UTC unless it names an
    offset, digits after the millisecond truncated. Raises ValueError with the
    accepted forms. (The driver's ``--now``; column values go through
    ``parse_timestamps``, which takes no offsets.)"""
    import datetime as dt

    stripped = text.strip()
    forms = "an ISO-8601 timestamp such as 2025-11-10T13:00:00Z, or epoch milliseconds"
    if re.fullmatch(r"-?\d+", stripped):
        ms = int(stripped)
    else:
        try:
            moment = dt.datetime.fromisoformat(stripped)
        except ValueError:
            raise ValueError(f"expected {forms}, got {text!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        ms = (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(
            milliseconds=1)
    if not _INSTANT_MIN_MS <= ms <= _INSTANT_MAX_MS:
        raise ValueError(f"{text!r} is outside the years 1-9999")
    return ms


def format_timestamps(ms: np.ndarray) -> list[str]:
    """'YYYY-MM-DD HH:MM:SS.fff' (UTC) for each epoch-millisecond value.

    numpy formats each distinct second once (events cluster in time, so a batch
    has few); the milliseconds come from a lookup table.
    """
    ms = np.asarray(ms, dtype=np.int64)
    if len(ms) == 0:
        return []
    seconds, millis = np.divmod(ms, MS_PER_SECOND)
    unique, inverse = np.unique(seconds, return_inverse=True)
    heads = np.datetime_as_string(unique.astype("datetime64[s]"), unit="s").tolist()
    heads = [h.replace("T", " ", 1) for h in heads]
    suffix = _MS_SUFFIX
    return [heads[i] + suffix[f] for i, f in zip(inverse.tolist(), millis.tolist())]


def format_dates(days: np.ndarray) -> list[str]:
    """'YYYY-MM-DD' for each days-since-epoch value."""
    days = np.asarray(days, dtype=np.int64)
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()


def format_times(ms: np.ndarray) -> list[str]:
    """'HH:MM:SS' (plus '.fff' when the milliseconds are not zero)."""
    out = []
    for value in np.asarray(ms, dtype=np.int64).tolist():
        seconds, millis = divmod(value, MS_PER_SECOND)
        text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        out.append(text + _MS_SUFFIX[millis] if millis else text)
    return out
