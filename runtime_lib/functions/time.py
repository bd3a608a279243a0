"""Time functions: EXTRACT, DATE_TRUNC, DATE_FORMAT, TIMESTAMPDIFF,
TIMESTAMPADD, TO_TIMESTAMP(_LTZ) and the clock (CURRENT_TIMESTAMP & co.,
pinned by ``pin_now``)."""

from __future__ import annotations

import re
import time

import numpy as np

from runtime_lib.columns import Column
from runtime_lib.functions.arithmetic import mul
from runtime_lib.functions.base import (
    Arg,
    _full,
    _kind_of,
    _length,
    _map_valid,
    _nulls,
    _result,
    _valid,
)
from runtime_lib.functions.casts import try_cast
from runtime_lib.schema import (
    STRING_TYPES,
    base_type,
)
from runtime_lib.temporal import (
    MS_PER_DAY,
    MS_PER_HOUR,
    MS_PER_MINUTE,
    MS_PER_SECOND,
)

# ---------------------------------------------------------------------------
# time

_UNIT_MS = {
    "MILLISECOND": 1,
    "SECOND": MS_PER_SECOND,
    "MINUTE": MS_PER_MINUTE,
    "HOUR": MS_PER_HOUR,
    "DAY": MS_PER_DAY,
    "WEEK": 7 * MS_PER_DAY,
}


def _unit(unit: str) -> str:
    u = unit.upper().rstrip("S") if unit.upper() not in ("DOW", "DOY") else unit.upper()
    return {"DOW": "DAYOFWEEK", "DOY": "DAYOFYEAR", "DAYOFMONTH": "DAY", "MILLISECOND": "MILLISECOND",
            "MICROSECOND": "MICROSECOND", "YEAR": "YEAR", "SQL_TSI_DAY": "DAY"}.get(u, u)  # fmt: skip


def _ms(ts: Arg, n: int, from_type: str | None) -> np.ndarray:
    values = np.asarray(_full(ts, n), dtype=np.int64)
    if from_type is not None and base_type(from_type) == "DATE":
        return values * MS_PER_DAY
    return values


def _civil(ms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(days since epoch, year, month 1-12, day of month 1-31)."""
    days = np.floor_divide(ms, MS_PER_DAY)
    d = days.astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (d - month_start).astype(np.int64) + 1
    return days, year, month, day


def _iso_week(days: np.ndarray) -> np.ndarray:
    weekday = (days + 3) % 7  # Monday = 0 (1970-01-01 was a Thursday)
    thursday = days - weekday + 3
    year_start = thursday.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]")
    return (thursday - year_start.astype(np.int64)) // 7 + 1


def extract(unit: str, ts: Arg, from_type: str | None = None) -> Column:
    """EXTRACT(unit FROM ts) as BIGINT. Units: YEAR, QUARTER, MONTH, WEEK (ISO),
    DAY, DAYOFWEEK (Sunday=1), DAYOFYEAR, HOUR, MINUTE, SECOND, MILLISECOND
    (seconds*1000 + ms), MICROSECOND, EPOCH (seconds). ``from_type='DATE'`` for
    a DATE argument (days)."""
    n = _length((ts,))
    valid = _valid((ts,), n)
    if valid is False:
        return _nulls(n, np.int64)
    ms = _ms(ts, n, from_type)
    u = _unit(unit)
    in_day = np.mod(ms, MS_PER_DAY)
    if u in ("YEAR", "QUARTER", "MONTH", "DAY", "WEEK", "DAYOFWEEK", "DAYOFYEAR"):
        days, year, month, day = _civil(ms)
        if u == "YEAR":
            out = year
        elif u == "QUARTER":
            out = (month - 1) // 3 + 1
        elif u == "MONTH":
            out = month
        elif u == "DAY":
            out = day
        elif u == "WEEK":
            out = _iso_week(days)
        elif u == "DAYOFWEEK":
            out = (days + 4) % 7 + 1
        else:
            year_start = days.astype("datetime64[D]").astype("datetime64[Y]")
            out = days - year_start.astype("datetime64[D]").astype(np.int64) + 1
    elif u == "HOUR":
        out = in_day // MS_PER_HOUR
    elif u == "MINUTE":
        out = in_day // MS_PER_MINUTE % 60
    elif u == "SECOND":
        out = in_day // MS_PER_SECOND % 60
    elif u == "MILLISECOND":
        out = in_day % MS_PER_MINUTE
    elif u == "MICROSECOND":
        out = in_day % MS_PER_MINUTE * 1000
    elif u == "EPOCH":
        out = np.floor_divide(ms, MS_PER_SECOND)
    else:
        raise ValueError(f"EXTRACT unit {unit!r} is not supported")
    return _result(np.asarray(out, dtype=np.int64), valid, n)


def date_trunc(unit: str, ts: Arg) -> Column:
    """Truncate a TIMESTAMP (ms) to the start of its YEAR, QUARTER, MONTH,
    WEEK (Monday), DAY, HOUR, MINUTE, SECOND or MILLISECOND."""
    n = _length((ts,))
    valid = _valid((ts,), n)
    if valid is False:
        return _nulls(n, np.int64)
    ms = _ms(ts, n, None)
    u = _unit(unit)
    if u in _UNIT_MS and u != "WEEK":
        step = _UNIT_MS[u]
        out = np.floor_divide(ms, step) * step
    elif u == "WEEK":
        days = np.floor_divide(ms, MS_PER_DAY)
        out = (days - (days + 3) % 7) * MS_PER_DAY
    elif u in ("YEAR", "QUARTER", "MONTH"):
        months = np.floor_divide(ms, MS_PER_DAY).astype("datetime64[D]").astype("datetime64[M]")
        m = months.astype(np.int64)
        if u == "YEAR":
            m = m - m % 12
        elif u == "QUARTER":
            m = m - m % 3
        out = m.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) * MS_PER_DAY
    else:
        raise ValueError(f"date_trunc unit {unit!r} is not supported")
    return _result(np.asarray(out, dtype=np.int64), valid, n)


_JAVA_TOKEN = re.compile(r"'([^']*)'|(y+|M+|d+|H+|h+|m+|s+|S+|a|E+|D+)|([A-Za-z])|([^A-Za-z']+)")


def _java_format_fields(pattern: str) -> tuple[str, list[str]]:
    """Translate a Java date pattern to a str.format template over named fields."""
    template, fields = [], []
    for quoted, token, unknown, literal in _JAVA_TOKEN.findall(pattern):
        if unknown:
            raise ValueError(f"date pattern letter {unknown!r} is not supported in {pattern!r}")
        if not token:  # literal text, 'quoted text', or '' (a quote)
            text = literal or quoted or "'"
            template.append(text.replace("{", "{{").replace("}", "}}"))
            continue
        letter, width = token[0], len(token)
        name = {"y": "year", "M": "month", "d": "day", "H": "hour", "m": "minute",
                "s": "second", "S": "milli", "h": "hour12", "a": "ampm", "E": "dayname",
                "D": "dayofyear"}[letter]  # fmt: skip
        fields.append(name)
        if letter == "y" and width == 2:
            template.append("{year2:02d}")
            fields[-1] = "year2"
        elif letter == "S":
            template.append("{milli:03d}")
        elif letter in "aE":
            template.append("{" + name + "}")
        elif letter == "M" and width >= 3:
            template.append("{monthname}" if width == 3 else "{monthfull}")
            fields[-1] = "monthname" if width == 3 else "monthfull"
        else:
            template.append("{" + name + ":0" + str(width) + "d}")
    return "".join(template), fields


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MONTHS_FULL = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]  # fmt: skip
_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]


def date_format(ts: Arg, pattern: str, from_type: str | None = None) -> Column:
    """DATE_FORMAT(ts, pattern) with a Java SimpleDateFormat pattern: yyyy yy
    MM MMM dd HH hh mm ss SSS a E D and 'quoted literal' text; other
    characters are literal. A VARCHAR argument is parsed as a timestamp first."""
    n = _length((ts,))
    if ts is None or pattern is None:
        return _nulls(n)
    if _kind_of(ts) == "O" and (from_type is None or base_type(from_type) in STRING_TYPES):
        ts = try_cast(ts, "TIMESTAMP(3)", "VARCHAR")
    valid = _valid((ts,), n)
    if valid is False:
        return _nulls(n)
    template, fields = _java_format_fields(pattern)
    ms = _ms(ts, n, from_type)
    days, year, month, day = _civil(ms)
    in_day = np.mod(ms, MS_PER_DAY)
    hour = in_day // MS_PER_HOUR
    parts: dict[str, list] = {}
    for name in set(fields):
        if name == "year":
            parts[name] = year.tolist()
        elif name == "year2":
            parts[name] = (year % 100).tolist()
        elif name == "month":
            parts[name] = month.tolist()
        elif name == "monthname":
            parts[name] = [_MONTHS[m - 1] for m in month.tolist()]
        elif name == "monthfull":
            parts[name] = [_MONTHS_FULL[m - 1] for m in month.tolist()]
        elif name == "day":
            parts[name] = day.tolist()
        elif name == "hour":
            parts[name] = hour.tolist()
        elif name == "hour12":
            parts[name] = ((hour + 11) % 12 + 1).tolist()
        elif name == "ampm":
            parts[name] = ["AM" if h < 12 else "PM" for h in hour.tolist()]
        elif name == "minute":
            parts[name] = (in_day // MS_PER_MINUTE % 60).tolist()
        elif name == "second":
            parts[name] = (in_day // MS_PER_SECOND % 60).tolist()
        elif name == "milli":
            parts[name] = (in_day % MS_PER_SECOND).tolist()
        elif name == "dayname":
            parts[name] = [_DAYS[d] for d in ((days + 4) % 7).tolist()]
        elif name == "dayofyear":
            parts[name] = extract("DAYOFYEAR", Column(ms)).values.tolist()
    names = sorted(parts)
    fmt = template.format_map
    out = [fmt(dict(zip(names, row))) for row in zip(*(parts[k] for k in names))] if names else [
        template.replace("{{", "{").replace("}}", "}")
    ] * n
    values = np.empty(n, dtype=object)
    values[:] = out
    return _result(values, valid, n)


def _months_between(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Calcite DateTimeUtils.subtractMonths(t0, t1) on ms timestamps: whole
    months from t1 to t0 (day-of-month clamped), minus one when the day
    matches but t0's time of day is earlier."""

    def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
        d = days.astype("datetime64[D]")
        start = d.astype("datetime64[M]")
        dom = (d - start).astype(np.int64)
        target = (start.astype(np.int64) + months).astype("datetime64[M]")
        next_start = (target.astype(np.int64) + 1).astype("datetime64[M]")
        length_ = (next_start.astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
            np.int64
        )
        return target.astype("datetime64[D]").astype(np.int64) + np.minimum(dom, length_ - 1)

    millis0, millis1 = np.mod(later, MS_PER_DAY), np.mod(earlier, MS_PER_DAY)
    d0, d1 = np.floor_divide(later, MS_PER_DAY), np.floor_divide(earlier, MS_PER_DAY)
    forward = d0 >= d1
    hi, lo = np.where(forward, d0, d1), np.where(forward, d1, d0)
    months_of = lambda d: d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    m = months_of(hi) - months_of(lo)
    m = np.where(add_months(lo, m) > hi, m - 1, m)
    x = np.where(forward, m, -m)
    tie = (add_months(d1, x) == d0) & (millis0 < millis1)
    return x - tie


def timestampdiff(unit: str, a: Arg, b: Arg) -> Column:
    """TIMESTAMPDIFF(unit, a, b) = b - a in whole units, truncated toward zero;
    MONTH/QUARTER/YEAR count whole calendar months (Flink/Calcite rules)."""
    n = _length((a, b))
    valid = _valid((a, b), n)
    if valid is False:
        return _nulls(n, np.int64)
    x, y = _ms(a, n, None), _ms(b, n, None)
    u = _unit(unit)
    if u in _UNIT_MS:
        step = _UNIT_MS[u]
        diff = y - x
        out = np.sign(diff) * (np.abs(diff) // step)
    elif u in ("MONTH", "QUARTER", "YEAR"):
        months = _months_between(y, x)
        per = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[u]
        out = np.sign(months) * (np.abs(months) // per)
    else:
        raise ValueError(f"TIMESTAMPDIFF unit {unit!r} is not supported")
    return _result(np.asarray(out, dtype=np.int64), valid, n)


def timestampadd(unit: str, amount: Arg, ts: Arg) -> Column:
    """TIMESTAMPADD(unit, amount, ts); MONTH/QUARTER/YEAR clamp the day of
    month (Jan 31 + 1 month = Feb 28/29)."""
    n = _length((amount, ts))
    valid = _valid((amount, ts), n)
    if valid is False:
        return _nulls(n, np.int64)
    k = np.asarray(_full(amount, n), dtype=np.int64)
    ms = _ms(ts, n, None)
    u = _unit(unit)
    if u in _UNIT_MS:
        out = ms + k * _UNIT_MS[u]
    elif u in ("MONTH", "QUARTER", "YEAR"):
        months = k * {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[u]
        days = np.floor_divide(ms, MS_PER_DAY)
        in_day = ms - days * MS_PER_DAY
        d = days.astype("datetime64[D]")
        start = d.astype("datetime64[M]")
        dom = (d - start).astype(np.int64)
        target = (start.astype(np.int64) + months).astype("datetime64[M]")
        next_start = (target.astype(np.int64) + 1).astype("datetime64[M]")
        month_len = (next_start.astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
            np.int64
        )
        new_days = target.astype("datetime64[D]").astype(np.int64) + np.minimum(dom, month_len - 1)
        out = new_days * MS_PER_DAY + in_day
    else:
        raise ValueError(f"TIMESTAMPADD unit {unit!r} is not supported")
    return _result(np.asarray(out, dtype=np.int64), valid, n)


def to_timestamp(x: Arg, pattern: str | None = None) -> Column:
    """TO_TIMESTAMP: a BIGINT is epoch milliseconds (sqlc, as the spec's
    examples assume); a VARCHAR is parsed as 'YYYY-MM-DD HH:MM:SS[.fff]'
    (or with the given Java pattern of yyyy MM dd HH mm ss SSS); unparsable
    text is NULL."""
    n = _length((x,))
    if x is None:
        return _nulls(n, np.int64)
    if _kind_of(x) in "ib":
        return _result(np.asarray(_full(x, n), dtype=np.int64), _valid((x,), n), n)
    if _kind_of(x) == "f":
        return try_cast(mul(x, 1), "TIMESTAMP(3)", "DOUBLE")  # seconds, as CAST
    if pattern is None:
        return try_cast(x, "TIMESTAMP(3)", "VARCHAR")
    regex, order = _java_parse_regex(pattern)

    def parse(text: str) -> int | None:
        match = regex.fullmatch(text)
        if match is None:
            return None
        fields = dict(zip(order, map(int, match.groups())))
        iso = (
            f"{fields.get('y', 1970):04d}-{fields.get('M', 1):02d}-{fields.get('d', 1):02d}"
            f"T{fields.get('H', 0):02d}:{fields.get('m', 0):02d}:{fields.get('s', 0):02d}"
            f".{fields.get('S', 0):03d}"
        )
        try:
            return int(np.datetime64(iso, "ms").astype(np.int64))
        except ValueError:
            return None

    return _map_valid(parse, (x,), np.int64)


def _java_parse_regex(pattern: str) -> tuple[re.Pattern, list[str]]:
    parts, order = [], []
    for quoted, token, unknown, literal in _JAVA_TOKEN.findall(pattern):
        if unknown:
            raise ValueError(f"date pattern letter {unknown!r} is not supported in {pattern!r}")
        if token:
            letter = token[0]
            if letter not in "yMdHmsS":
                raise ValueError(f"date pattern {token!r} cannot be parsed")
            order.append(letter)
            parts.append(f"(\\d{{{len(token)}}})" if letter in "yS" else "(\\d{1,2})")
        else:
            parts.append(re.escape(literal or quoted or "'"))
    return re.compile("".join(parts)), order


def to_timestamp_ltz(x: Arg, precision: int = 3) -> Column:
    """TO_TIMESTAMP_LTZ(n, precision): precision 3 reads epoch milliseconds,
    0 epoch seconds. Event time in UTC."""
    n = _length((x,))
    if x is None:
        return _nulls(n, np.int64)
    if precision not in (0, 3):
        raise ValueError("TO_TIMESTAMP_LTZ precision must be 0 or 3")
    valid = _valid((x,), n)
    values = np.asarray(_full(x, n))
    if precision == 0:
        with np.errstate(all="ignore"):
            values = values * MS_PER_SECOND
    if values.dtype.kind == "f":
        good = np.isfinite(values)
        values = np.where(good, np.trunc(values), 0).astype(np.int64)
        valid = good if valid is None else valid & good
    return _result(values.astype(np.int64), valid, n)


#: The instant SQL's clock functions read (epoch ms UTC), None for the wall
#: clock; set by the driver's --now / SQLC_NOW through ``pin_now``.
_pinned_now_ms: int | None = None


def pin_now(ms: int | None) -> int | None:
    """Make CURRENT_TIMESTAMP, NOW(), LOCALTIMESTAMP, CURRENT_DATE and
    PROCTIME() read the instant ``ms`` (epoch milliseconds UTC) instead of the
    wall clock, for replays of history and tests; None returns to the wall
    clock. Returns the previous setting, for the caller to restore. Only these
    SQL functions are pinned: cache and state TTLs and idle timeouts run on
    the real clock."""
    global _pinned_now_ms
    previous, _pinned_now_ms = _pinned_now_ms, ms
    return previous


def _now_ms() -> int:
    if _pinned_now_ms is not None:
        return _pinned_now_ms
    return time.time_ns() // 1_000_000


def current_timestamp(n: int) -> Column:
    """CURRENT_TIMESTAMP for a batch of n rows: one value (now, ms UTC; the
    pinned instant when ``pin_now`` set one)."""
    return Column(np.full(n, _now_ms(), dtype=np.int64))


now = current_timestamp
localtimestamp = current_timestamp


def current_date(n: int) -> Column:
    """CURRENT_DATE (UTC) for a batch of n rows, as days since epoch."""
    return Column(np.full(n, _now_ms() // MS_PER_DAY, dtype=np.int64))
