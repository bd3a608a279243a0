"""Time functions: EXTRACT, DATE_TRUNC, DATE_FORMAT, TIMESTAMPDIFF,
TIMESTAMPADD, TO_TIMESTAMP(_LTZ) and the clock (CURRENT_TIMESTAMP & co.,
pinned by ``pin_now``)."""

from __future__ import annotations

import datetime
import re
import time
import zoneinfo

import numpy as np

from runtime_lib.columns import Column
from runtime_lib.date_patterns import java_pattern
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


# ---------------------------------------------------------------------------
# Java SimpleDateFormat patterns (DATE_FORMAT, FROM_UNIXTIME, UNIX_TIMESTAMP,
# TO_DATE), Locale US, UTC. A pattern is cut into tokens once; each token is
# computed for the whole column with numpy (np.char for padding and joining).

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MONTHS_FULL = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]  # fmt: skip
_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
_DAYS_FULL = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def _zfill(values: np.ndarray, width: int) -> np.ndarray:
    if not len(values):  # np.char.zfill fails on an empty array (a filtered-out batch)
        return np.zeros(0, dtype=f"<U{width}")
    return np.char.zfill(values.astype(np.int64).astype(str), width)


def _weekday(days: np.ndarray) -> np.ndarray:
    """Day of week, Sunday = 0 (1970-01-01 was a Thursday)."""
    return (days + 4) % 7


def _format_token(letter: str, count: int, ms: np.ndarray) -> np.ndarray:
    days, year, month, day = _civil(ms)
    in_day = np.mod(ms, MS_PER_DAY)
    hour = in_day // MS_PER_HOUR
    if letter == "G":
        return np.where(year > 0, "AD", "BC").astype(str)
    if letter in "yY":
        if letter == "Y":  # week year (US weeks: Sunday first, week 1 holds Jan 1)
            year = _civil((days - _weekday(days) + 6) * MS_PER_DAY)[1]
        return _zfill(year % 100, 2) if count == 2 else _zfill(year, count)
    if letter in "ML":
        if count >= 4:
            return np.array(_MONTHS_FULL)[month - 1]
        if count == 3:
            return np.array(_MONTHS)[month - 1]
        return _zfill(month, count)
    if letter == "w":
        saturday = days - _weekday(days) + 6
        sat_year_start = saturday.astype("datetime64[D]").astype("datetime64[Y]").astype(
            "datetime64[D]").astype(np.int64)
        return _zfill((saturday - sat_year_start) // 7 + 1, count)
    if letter == "W":
        first = days - (day - 1)
        return _zfill((day - 1 + _weekday(first)) // 7 + 1, count)
    if letter == "D":
        year_start = days.astype("datetime64[D]").astype("datetime64[Y]").astype(
            "datetime64[D]").astype(np.int64)
        return _zfill(days - year_start + 1, count)
    if letter == "d":
        return _zfill(day, count)
    if letter == "F":
        return _zfill((day - 1) // 7 + 1, count)
    if letter == "E":
        return np.array(_DAYS_FULL if count >= 4 else _DAYS)[_weekday(days)]
    if letter == "u":
        return _zfill((_weekday(days) + 6) % 7 + 1, count)
    if letter == "a":
        return np.where(hour < 12, "AM", "PM").astype(str)
    if letter == "H":
        return _zfill(hour, count)
    if letter == "k":
        return _zfill(np.where(hour == 0, 24, hour), count)
    if letter == "K":
        return _zfill(hour % 12, count)
    if letter == "h":
        return _zfill((hour + 11) % 12 + 1, count)
    if letter == "m":
        return _zfill(in_day // MS_PER_MINUTE % 60, count)
    if letter == "s":
        return _zfill(in_day // MS_PER_SECOND % 60, count)
    if letter == "S":
        return _zfill(in_day % MS_PER_SECOND, count)
    # time zones: sqlc's session time zone is UTC
    text = {"z": "Coordinated Universal Time" if count >= 4 else "UTC", "Z": "+0000",
            "X": "Z"}[letter]  # fmt: skip
    return np.full(len(ms), text)


def _format_ms(ms: np.ndarray, pattern: str) -> np.ndarray:
    """Format epoch milliseconds with a SimpleDateFormat pattern: an object array."""
    n = len(ms)
    out = np.full(n, "", dtype=object)
    pieces = [np.full(n, tok) if isinstance(tok, str) else _format_token(tok[0], tok[1], ms)
              for tok in java_pattern(pattern)]
    if pieces:
        joined = pieces[0].astype(object)
        for piece in pieces[1:]:
            joined = joined + piece.astype(object)  # object + object: str concatenation
        out[:] = joined
    return out


def date_format(ts: Arg, pattern: str, from_type: str | None = None) -> Column:
    """DATE_FORMAT(ts, pattern) with a Java SimpleDateFormat pattern, Locale
    US, UTC: G y Y M L w W D d F E u a H k K h m s S z Z X, 'quoted text'
    and '' for a quote; other characters are literal (see ``java_pattern``).
    A VARCHAR argument is parsed as a timestamp first (NULL if it is not one)."""
    n = _length((ts,))
    if ts is None or pattern is None:
        return _nulls(n)
    if _kind_of(ts) == "O" and (from_type is None or base_type(from_type) in STRING_TYPES):
        ts = try_cast(ts, "TIMESTAMP(3)", "VARCHAR")
    valid = _valid((ts,), n)
    if valid is False:
        return _nulls(n)
    return _result(_format_ms(_ms(ts, n, from_type), pattern), valid, n)


def _parse_regex(pattern: str) -> tuple[re.Pattern, list[tuple[str, int]]]:
    """A regex reading what SimpleDateFormat.parse reads (a prefix of the
    text): numeric fields take any number of digits unless the next token is
    another numeric field (then exactly ``count``); zones +hhmm, +hh:mm, Z."""
    tokens = java_pattern(pattern)
    parts, fields = [], []
    for i, tok in enumerate(tokens):
        if isinstance(tok, str):
            parts.append(re.escape(tok))
            continue
        letter, count = tok
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        adjacent = isinstance(following, tuple) and following[0] in "yYMdHhkKmsSDwWFu"
        if letter in "Mz" and count >= 3 or letter in "EaGz":
            names = {"M": "|".join(_MONTHS_FULL + _MONTHS), "E": "|".join(_DAYS_FULL + _DAYS),
                     "a": "AM|PM", "G": "AD|BC", "z": "UTC|GMT|Z"}[letter]  # fmt: skip
            parts.append(f"({names})")
        elif letter in "ZX":
            parts.append(r"(Z|[+-]\d\d:?(?:\d\d)?)")
        else:
            parts.append(f"(\\d{{{count}}})" if adjacent else r"(\d+)")
        fields.append(tok)
    return re.compile("".join(parts), re.IGNORECASE), fields


def _parse_ms(text: str, pattern: str) -> int | None:
    """Epoch ms of ``text`` read with the pattern (UTC unless it has a zone)."""
    regex, fields = _parse_regex(pattern)
    match = regex.match(text)
    if match is None:
        return None
    v = {"y": 1970, "M": 1, "d": 1, "H": 0, "m": 0, "s": 0, "S": 0, "pm": 0, "h": None}
    offset_ms = 0
    for (letter, count), raw in zip(fields, match.groups()):
        if letter in "yY":
            year = int(raw)
            v["y"] = year + 2000 if count == 2 and len(raw) <= 2 else year  # Java: near now
        elif letter in "ML":
            v["M"] = (int(raw) if raw.isdigit() else
                      [m.lower() for m in _MONTHS].index(raw[:3].lower()) + 1)
        elif letter in "dHmsS":
            v[letter] = int(raw)
        elif letter in "hK":
            v["h"] = int(raw) % 12
        elif letter == "k":
            v["H"] = int(raw) % 24
        elif letter == "a":
            v["pm"] = raw.upper() == "PM"
        elif letter in "ZX" and raw.upper() != "Z":
            digits = raw[1:].replace(":", "")
            minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
            offset_ms = (1 if raw[0] == "+" else -1) * minutes * MS_PER_MINUTE
    if v["h"] is not None:
        v["H"] = v["h"] + (12 if v["pm"] else 0)
    try:
        day = datetime.date(v["y"], v["M"], v["d"]).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    if v["H"] > 23 or v["m"] > 59 or v["s"] > 59:
        return None
    return (day * MS_PER_DAY + v["H"] * MS_PER_HOUR + v["m"] * MS_PER_MINUTE
            + v["s"] * MS_PER_SECOND + v["S"] - offset_ms)


_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
DEFAULT_TIMESTAMP_FORMAT = "yyyy-MM-dd HH:mm:ss"


def from_unixtime(seconds: Arg, pattern: Arg = DEFAULT_TIMESTAMP_FORMAT) -> Column:
    """FROM_UNIXTIME(seconds[, pattern]): epoch seconds formatted with a
    SimpleDateFormat pattern (default 'yyyy-MM-dd HH:mm:ss'), UTC."""
    n = _length((seconds,))
    valid = _valid((seconds, pattern), n)
    if valid is False:
        return _nulls(n)
    ms = np.asarray(_full(seconds, n), dtype=np.int64) * MS_PER_SECOND
    return _result(_format_ms(ms, pattern), valid, n)


#: UNIX_TIMESTAMP of text that does not parse (Flink: Long.MIN_VALUE, not NULL)
UNPARSABLE_SECONDS = -(2**63)


def unix_timestamp(x: Arg, pattern: Arg = None) -> Column:
    """UNIX_TIMESTAMP(text[, pattern]): epoch seconds of a date-time string
    read with a SimpleDateFormat pattern (default 'yyyy-MM-dd HH:mm:ss'; a
    zone in the text, pattern letter X or Z, wins over UTC); like Java's
    parse, trailing text is ignored; text that does not parse is
    -9223372036854775808 (Long.MIN_VALUE), as Flink. UNIX_TIMESTAMP() is
    compiled as UNIX_TIMESTAMP(NOW()): a TIMESTAMP argument gives its epoch
    seconds (floor)."""
    n = _length((x,))
    if _kind_of(x) in "iN" and pattern is None:
        valid = _valid((x,), n)
        if valid is False:
            return _nulls(n, np.int64)
        return _result(np.floor_divide(np.asarray(_full(x, n), dtype=np.int64), MS_PER_SECOND),
                       valid, n)
    fmt = DEFAULT_TIMESTAMP_FORMAT if pattern is None else pattern

    def seconds(text: str, p: str) -> int:
        ms = _parse_ms(text, p)
        return UNPARSABLE_SECONDS if ms is None else ms // MS_PER_SECOND

    return _map_valid(seconds, (x, fmt), np.int64)


def to_date(x: Arg, pattern: Arg = None) -> Column:
    """TO_DATE(text[, pattern]): the DATE (days since 1970-01-01) of text read
    with a SimpleDateFormat pattern (default 'yyyy-MM-dd'); NULL if it does
    not parse."""
    fmt = "yyyy-MM-dd" if pattern is None else pattern

    def days(text: str, p: str) -> int | None:
        ms = _parse_ms(text, p)
        return None if ms is None else ms // MS_PER_DAY

    return _map_valid(days, (x, fmt), np.int64)


# Java's three-letter zone ids (ZoneId.SHORT_IDS, which TimeZone.getTimeZone reads)
_SHORT_ZONE_IDS = {
    "ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
    "ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo",
    "BST": "Asia/Dhaka", "CAT": "Africa/Harare", "CNT": "America/St_Johns",
    "CST": "America/Chicago", "CTT": "Asia/Shanghai", "EAT": "Africa/Addis_Ababa",
    "ECT": "Europe/Paris", "IET": "America/Indiana/Indianapolis", "IST": "Asia/Kolkata",
    "JST": "Asia/Tokyo", "MIT": "Pacific/Apia", "NET": "Asia/Yerevan", "NST": "Pacific/Auckland",
    "PLT": "Asia/Karachi", "PNT": "America/Phoenix", "PRT": "America/Puerto_Rico",
    "PST": "America/Los_Angeles", "SST": "Pacific/Guadalcanal", "VST": "Asia/Ho_Chi_Minh",
    "EST": "-05:00", "MST": "-07:00", "HST": "-10:00",
}  # fmt: skip
_CUSTOM_ZONE = re.compile(r"(?:GMT|UTC)?([+-])(\d{1,2})(?::?(\d\d))?")


def time_zone(name: str) -> datetime.tzinfo | None:
    """The zone of a Java time-zone id: a region ('America/Los_Angeles'), a
    three-letter id ('PST'), 'UTC'/'GMT', or a custom 'GMT-08:00'; None if
    unknown."""
    name = _SHORT_ZONE_IDS.get(name, name)
    if name in ("UTC", "GMT", "Z"):
        return datetime.UTC
    custom = _CUSTOM_ZONE.fullmatch(name)
    if custom is not None:
        sign, hours, minutes = custom.groups()
        delta = datetime.timedelta(hours=int(hours), minutes=int(minutes or 0))
        return datetime.timezone(-delta if sign == "-" else delta)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def convert_tz(text: Arg, tz_from: Arg, tz_to: Arg) -> Column:
    """CONVERT_TZ(text, from, to): the 'yyyy-MM-dd HH:mm:ss' date-time in zone
    ``from`` written in zone ``to``; NULL if the text does not parse or a
    zone is unknown. Daylight-saving offsets differ per instant, so each
    non-NULL row is converted with zoneinfo in Python."""

    def convert(value: str, a: str, b: str) -> str | None:
        source, target = time_zone(a), time_zone(b)
        local_ms = _parse_ms(value, DEFAULT_TIMESTAMP_FORMAT)
        if source is None or target is None or local_ms is None:
            return None
        local = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=local_ms)
        instant = local.replace(tzinfo=source).astimezone(target)
        return instant.strftime("%Y-%m-%d %H:%M:%S")

    return _map_valid(convert, (text, tz_from, tz_to))


# ---------------------------------------------------------------------------
# FLOOR(ts TO unit), CEIL(ts TO unit)

TIME_UNITS = ("MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER",
              "YEAR")


def _round_to(unit: str, ts: Arg, from_type: str | None, up: bool) -> Column:
    n = _length((ts,))
    valid = _valid((ts,), n)
    if valid is False:
        return _nulls(n, np.int64)
    ms = _ms(ts, n, from_type)
    u = _unit(unit)
    if u in _UNIT_MS and u != "WEEK":
        step = _UNIT_MS[u]
        out = -np.floor_divide(-ms, step) * step if up else np.floor_divide(ms, step) * step
    elif u in ("WEEK", "MONTH", "QUARTER", "YEAR"):
        # Calcite's julianDateFloor, as Flink: on the date alone, so that
        # CEIL('2024-03-01 10:00' TO MONTH) is 2024-03-01 00:00; weeks start on Sunday
        days, year, month, day = _civil(ms)
        if u == "WEEK":
            dow = _weekday(days)
            start = days - dow + (7 * (dow > 0) if up else 0)
        else:
            months = (year - 1970) * 12 + (month - 1)
            per = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[u]
            first = months - (month - 1) % per if per != 12 else months - (month - 1)
            if up:
                is_first = (day == 1) & ((month - 1) % per == 0)
                first = np.where(is_first, first, first + per)
            start = first.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        out = start * MS_PER_DAY
    else:
        raise ValueError(f"FLOOR/CEIL unit {unit!r} is not supported")
    if from_type is not None and base_type(from_type) == "DATE":
        out = np.floor_divide(out, MS_PER_DAY)
    if from_type is not None and base_type(from_type) == "TIME":
        out = np.mod(out, MS_PER_DAY)  # CEIL(TIME '23:59:31' TO MINUTE) is 00:00:00
    return _result(np.asarray(out, dtype=np.int64), valid, n)


def floor_to(unit: str, ts: Arg, from_type: str | None = None) -> Column:
    """FLOOR(ts TO unit): the start of ts's unit (MILLISECOND .. YEAR; WEEK
    starts on Sunday, as Flink). ``from_type='DATE'`` for a DATE (days),
    ``'TIME'`` for a TIME (milliseconds of the day; MILLISECOND .. HOUR)."""
    return _round_to(unit, ts, from_type, False)


def ceil_to(unit: str, ts: Arg, from_type: str | None = None) -> Column:
    """CEIL(ts TO unit): ts itself on a unit boundary, else the next one.
    WEEK, MONTH, QUARTER and YEAR look at the date alone, as Flink does."""
    return _round_to(unit, ts, from_type, True)


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


_JAVA_TOKEN = re.compile(r"'([^']*)'|(y+|M+|d+|H+|h+|m+|s+|S+|a|E+|D+)|([A-Za-z])|([^A-Za-z']+)")


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


def now_ms() -> int:
    """The instant CURRENT_TIMESTAMP reads: the pinned one, else the wall clock."""
    return _now_ms()


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


def current_watermark(watermarks: np.ndarray | None, n: int) -> Column:
    """CURRENT_WATERMARK(rowtime): the watermark that held when each row
    arrived (the rows before it decide it, so batch cuts do not matter); NULL
    before the first watermark."""
    from runtime_lib.watermarks import WM_MIN

    if watermarks is None:
        return Column(np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool))
    valid = watermarks > WM_MIN
    return Column(np.where(valid, watermarks, 0).astype(np.int64),
                  None if valid.all() else valid)
