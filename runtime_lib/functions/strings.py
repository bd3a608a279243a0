"""String functions (UPPER ... SPLIT_INDEX) and pattern matching (LIKE,
SIMILAR TO)."""

from __future__ import annotations

import base64
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from runtime_lib.columns import Column
from runtime_lib.functions.base import Arg, _length, _map_valid, _nulls
from runtime_lib.functions.logic import not_

# ---------------------------------------------------------------------------
# strings


def _str_unary(fn: Callable[[str], Any], a: Arg, dtype: Any = object) -> Column:
    return _map_valid(fn, (a,), dtype)


def upper(s: Arg) -> Column:
    return _str_unary(str.upper, s)


def lower(s: Arg) -> Column:
    return _str_unary(str.lower, s)


def length(s: Arg) -> Column:
    """CHAR_LENGTH: number of code points."""
    return _str_unary(len, s, np.int64)


char_length = length
character_length = length


def trim(s: Arg, chars: str = " ") -> Column:
    """TRIM(BOTH chars FROM s); default removes spaces only (not tabs)."""
    return _map_valid(lambda v: v.strip(chars), (s,))


def ltrim(s: Arg, chars: str = " ") -> Column:
    return _map_valid(lambda v: v.lstrip(chars), (s,))


def rtrim(s: Arg, chars: str = " ") -> Column:
    return _map_valid(lambda v: v.rstrip(chars), (s,))


def _substring(text: str, pos: int, count: int | None) -> str | None:
    # Flink BinaryStringDataUtil.substringSQL
    if count is not None and count < 0:
        return None
    n = len(text)
    if n == 0:
        return ""
    if pos > 0:
        start = pos - 1
        if start >= n:
            return ""
    elif pos < 0:
        start = n + pos
        if start < 0:
            return ""
    else:
        start = 0
    end = n if count is None or n - start < count else start + count
    return text[start:end]


def substring(s: Arg, start: Arg, length: Arg = None) -> Column:
    """SUBSTRING(s FROM start [FOR length]), 1-based (Flink rules): start 0 is
    treated as 1; a negative start counts from the end (-3 = the last three
    characters), and before the beginning gives ''; a negative length is NULL."""
    if length is None:
        return _map_valid(lambda v, p: _substring(v, int(p), None), (s, start))
    return _map_valid(lambda v, p, k: _substring(v, int(p), int(k)), (s, start, length))


def concat(*args: Arg) -> Column:
    """CONCAT(a, b, ...): NULL if any argument is NULL."""
    return _map_valid(lambda *vs: "".join(vs), args)


def concat_ws(sep: Arg, *args: Arg) -> Column:
    """CONCAT_WS(sep, a, b, ...): NULL arguments are skipped; NULL sep -> NULL."""
    n = _length((sep, *args))
    if sep is None:
        return _nulls(n)
    lists = [
        a.to_pylist() if isinstance(a, Column) else [a] * n for a in args
    ]
    seps = sep.to_pylist() if isinstance(sep, Column) else [sep] * n
    out = [
        None if s is None else s.join(v for v in row if v is not None)
        for s, row in zip(seps, zip(*lists) if lists else [()] * n)
    ]
    return _from_list(out, object)


def _from_list(values: list, dtype: Any) -> Column:
    n = len(values)
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=n)
    if dtype == object:
        arr = np.empty(n, dtype=object)
        arr[:] = values
    else:
        filler = {np.bool_: False, np.int64: 0, np.float64: 0.0}[dtype]
        arr = np.array([filler if v is None else v for v in values], dtype=dtype)
    return Column(arr, None if valid.all() else valid)


def position(substr: Arg, s: Arg) -> Column:
    """POSITION(substr IN s): 1-based index of the first occurrence, 0 if none
    (POSITION('' IN s) = 1)."""
    return _map_valid(lambda needle, hay: hay.find(needle) + 1, (substr, s), np.int64)


def replace(s: Arg, search: Arg, replacement: Arg) -> Column:
    """REPLACE(s, search, replacement): every occurrence."""
    return _map_valid(lambda v, a, b: v.replace(a, b), (s, search, replacement))


_REGEX_CACHE: dict[str, re.Pattern | None] = {}


def _regex(pattern: str) -> re.Pattern | None:
    if pattern not in _REGEX_CACHE:
        try:
            _REGEX_CACHE[pattern] = re.compile(pattern)
        except re.error:
            _REGEX_CACHE[pattern] = None
    return _REGEX_CACHE[pattern]


def regexp_extract(s: Arg, regex: Arg, group: Arg = 0) -> Column:
    """REGEXP_EXTRACT(s, regex[, group]): the group of the first match (search,
    not full match); NULL when nothing matches, the regex is invalid, or the
    group does not exist. Java regex syntax is read as Python ``re`` (the
    common subset is identical)."""

    def extract(text: str, pattern: str, index: int) -> str | None:
        compiled = _regex(pattern)
        if compiled is None:
            return None
        match = compiled.search(text)
        if match is None:
            return None
        try:
            return match.group(int(index))
        except IndexError:
            return None

    return _map_valid(extract, (s, regex, group))


def regexp_replace(s: Arg, regex: Arg, replacement: Arg) -> Column:
    """REGEXP_REPLACE(s, regex, replacement) of every match ($1 is not
    expanded: the replacement is literal); NULL for an invalid regex."""

    def sub(text: str, pattern: str, repl: str) -> str | None:
        compiled = _regex(pattern)
        return None if compiled is None else compiled.sub(lambda _m: repl, text)

    return _map_valid(sub, (s, regex, replacement))


def split_index(s: Arg, sep: Arg, index: Arg) -> Column:
    """SPLIT_INDEX(s, sep, index): the index-th (0-based) piece of s split at
    the separator string (empty pieces kept); NULL when out of range, for a
    negative index, or for an empty s."""

    def pick(text: str, separator: str, i: int) -> str | None:
        i = int(i)
        if i < 0 or text == "" or separator == "":
            return None
        pieces = text.split(separator)
        return pieces[i] if i < len(pieces) else None

    return _map_valid(pick, (s, sep, index))


def split(s: Arg, sep: Arg) -> Column:
    """SPLIT(s, sep): ARRAY<STRING> of the pieces of s at the separator string
    (empty pieces kept; s itself when sep is absent); an empty sep splits s
    into its characters (Flink)."""

    def pieces(text: str, separator: str) -> list[str]:
        return list(text) if separator == "" else text.split(separator)

    return _map_valid(pieces, (s, sep))



# ---------------------------------------------------------------------------
# LIKE, SIMILAR TO


def _like_regex(pattern: str, escape: str | None) -> re.Pattern:
    parts, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if escape is not None and ch == escape and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


_LIKE_CACHE: dict[tuple[str, str | None], Callable[[str], bool]] = {}


def _like_matcher(pattern: str, escape: str | None) -> Callable[[str], bool]:
    key = (pattern, escape)
    matcher = _LIKE_CACHE.get(key)
    if matcher is None:
        special = set("%_") | ({escape} if escape else set())
        body = pattern.strip("%")
        if not special & set(body):
            if pattern.startswith("%") and pattern.endswith("%") and len(pattern) > 1:
                matcher = lambda s, b=body: b in s  # '%abc%' ('%%' matches all)
            elif pattern.startswith("%"):
                matcher = operator.methodcaller("endswith", body)
            elif pattern.endswith("%"):
                matcher = operator.methodcaller("startswith", body)
            else:
                matcher = pattern.__eq__
            if pattern.count("%") > 2 or pattern == "%":
                matcher = _like_regex(pattern, escape).fullmatch
        else:
            regex = _like_regex(pattern, escape)
            matcher = lambda s, f=regex.fullmatch: f(s) is not None
        _LIKE_CACHE[key] = matcher
    return matcher


def like(x: Arg, pattern: Arg, escape: str | None = None) -> Column:
    """x LIKE pattern [ESCAPE e]: '%' any sequence, '_' one character,
    case-sensitive, matches the whole string."""
    if isinstance(pattern, Column):
        return _map_valid(
            lambda s, p: bool(_like_matcher(p, escape)(s)), (x, pattern), np.bool_
        )
    if pattern is None:
        return _nulls(_length((x,)), np.bool_)
    matcher = _like_matcher(pattern, escape)
    return _map_valid(lambda s: bool(matcher(s)), (x,), np.bool_)


def not_like(x: Arg, pattern: Arg, escape: str | None = None) -> Column:
    return not_(like(x, pattern, escape))


def similar_to(x: Arg, pattern: str) -> Column:
    """x SIMILAR TO pattern: the SQL regex dialect ('%', '_', '|', '*', '+',
    '?', '{m,n}', '[...]', '(...)'), matching the whole string."""
    if pattern is None:
        return _nulls(_length((x,)), np.bool_)
    translated = (
        pattern.replace("\\", "\\\\").replace(".", "\\.").replace("^", "\\^")
        .replace("$", "\\$").replace("%", ".*").replace("_", ".")
    )
    regex = re.compile(translated, re.DOTALL)
    return _map_valid(lambda s: regex.fullmatch(s) is not None, (x,), np.bool_)


# ---------------------------------------------------------------------------
# Flink's further string functions. Strings live in object arrays and numpy has
# no vectorized form of these, so each runs Python's str/re per non-NULL row
# (``_map_valid``); regular expressions are compiled once per pattern.


def regex_error(pattern: str) -> str | None:
    """Why a regular expression does not compile (None when it does): the
    compiler reports it at a literal's position, as Flink's planner would fail
    the job on its first row."""
    try:
        re.compile(pattern)
    except re.error as error:
        return str(error)
    return None


def regexp(s: Arg, regex: Arg) -> Column:
    """REGEXP(s, regex): TRUE if any (possibly empty) substring of s matches
    (search, not full match); NULL for an invalid regex (Flink logs and
    returns NULL)."""

    def matches(text: str, pattern: str) -> bool | None:
        compiled = _regex(pattern)
        return None if compiled is None else compiled.search(text) is not None

    return _map_valid(matches, (s, regex), np.bool_)


def locate(needle: Arg, haystack: Arg, start: Arg = 1) -> Column:
    """LOCATE(needle, haystack[, start]): 1-based position of the first
    occurrence at or after ``start``; 0 if none, or if ``start`` is before 1
    or past the end (Calcite ``position(seek, s, from)``)."""

    def find(seek: str, text: str, begin: int) -> int:
        begin = int(begin) - 1
        if begin < 0 or begin > len(text):
            return 0
        return text.find(seek, begin) + 1

    return _map_valid(find, (needle, haystack, start), np.int64)


def _pad(text: str, length: int, pad: str, left: bool) -> str | None:
    length = int(length)
    if length < 0 or pad == "":
        return None  # Flink: NULL, not an error
    if len(text) >= length:
        return text[:length]
    need = length - len(text)
    filler = (pad * (need // len(pad) + 1))[:need]
    return filler + text if left else text + filler


def lpad(s: Arg, length: Arg, pad: Arg) -> Column:
    """LPAD(s, n, pad): s left-padded with repetitions of pad to n characters,
    or cut to its first n characters; NULL for a negative n or an empty pad."""
    return _map_valid(lambda v, k, p: _pad(v, k, p, True), (s, length, pad))


def rpad(s: Arg, length: Arg, pad: Arg) -> Column:
    """RPAD(s, n, pad): as LPAD, padding on the right."""
    return _map_valid(lambda v, k, p: _pad(v, k, p, False), (s, length, pad))


_WORD = re.compile(r"[A-Za-z0-9]+")


def _initcap_word(match: re.Match) -> str:
    word = match.group(0)
    return word[0].upper() + word[1:].lower()  # ASCII only: the pattern is


def initcap(s: Arg) -> Column:
    """INITCAP(s): in each word (a run of ASCII letters and digits, as
    Calcite) the first letter upper case and the others lower case; every
    other character is kept and separates words."""
    return _map_valid(lambda v: _WORD.sub(_initcap_word, v), (s,))


def reverse(s: Arg) -> Column:
    """REVERSE(s): the characters of s in reverse order."""
    return _map_valid(lambda v: v[::-1], (s,))


def _overlay(s: str, r: str, start: int, length: int | None) -> str:
    begin = max(int(start) - 1, 0)
    end = max(int(start) - 1 + (len(r) if length is None else int(length)), 0)
    return s[:begin] + r + s[end:]


_NO_LENGTH = object()  # OVERLAY without FOR (a NULL length is a NULL result)


def overlay(s: Arg, r: Arg, start: Arg, length: Arg = _NO_LENGTH) -> Column:
    """OVERLAY(s PLACING r FROM start [FOR length]): s with the ``length``
    characters from position ``start`` (1-based) replaced by r; ``length``
    defaults to r's length (Calcite ``SqlFunctions.overlay``:
    ``s.substring(0, start - 1) + r + s.substring(start - 1 + length)``,
    positions past the end clamped to it). NULL if any argument is NULL."""
    if length is _NO_LENGTH:
        return _map_valid(lambda v, w, k: _overlay(v, w, k, None), (s, r, start))
    return _map_valid(_overlay, (s, r, start, length))


def repeat(s: Arg, times: Arg) -> Column:
    """REPEAT(s, n): s repeated n times; '' for n <= 0 (Flink
    ``EncodingUtils.repeat``)."""
    return _map_valid(lambda v, k: v * max(int(k), 0), (s, times))


def ascii(s: Arg) -> Column:
    """ASCII(s): the code of the first character of s; 0 for ''."""
    return _map_valid(lambda v: ord(v[0]) if v else 0, (s,), np.int64)


def chr_(code: Arg) -> Column:
    """CHR(n): the character of code ``n & 0xFF`` (Flink
    ``SqlFunctionUtils.chr``: CHR(353) is 'a'); '' for a negative n."""
    return _map_valid(lambda k: "" if int(k) < 0 else chr(int(k) & 0xFF), (code,))


def to_base64(s: Arg) -> Column:
    """TO_BASE64(s): the base64 of s's UTF-8 bytes."""
    return _map_valid(lambda v: base64.b64encode(v.encode("utf-8")).decode("ascii"), (s,))


def _from_base64(text: str) -> str | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    return raw.decode("utf-8", errors="replace")  # as Java's new String(bytes, UTF_8)


def from_base64(s: Arg) -> Column:
    """FROM_BASE64(s): the string whose UTF-8 bytes s encodes; NULL where s
    is not base64 (Flink fails the job there)."""
    return _map_valid(_from_base64, (s,))


_LONG = (1 << 64) - 1  # Java's Long.toBinaryString/toHexString: two's complement


def bin_(n: Arg) -> Column:
    """BIN(n): n in binary, a negative n as its 64-bit two's complement
    (Flink: ``Long.toBinaryString``)."""
    return _map_valid(lambda v: format(int(v) & _LONG, "b"), (n,))


def _hex(value: Any) -> str:
    if isinstance(value, str):
        return value.encode("utf-8").hex().upper()
    return format(int(value) & _LONG, "X")


def hex_(x: Arg) -> Column:
    """HEX(x): an integer in upper-case hex (64-bit two's complement when
    negative), or a string's UTF-8 bytes in upper-case hex."""
    return _map_valid(_hex, (x,))


_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$",
                  re.DOTALL)
URL_PARTS = ("HOST", "PATH", "QUERY", "REF", "PROTOCOL", "AUTHORITY", "FILE", "USERINFO")


def _url_part(url: str, part: str) -> str | None:
    # java.net.URL's components (Flink's PARSE_URL): an absolute URL only
    match = _URL.match(url)
    if match is None:
        return None
    protocol, authority, path, query, ref = match.groups()
    userinfo, _, hostport = (authority or "").rpartition("@")
    host = hostport
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    elif ":" in host:
        host = host.split(":", 1)[0]
    values = {
        "PROTOCOL": protocol.lower(),
        "AUTHORITY": authority,
        "USERINFO": userinfo or None,
        "HOST": host if authority is not None else "",
        "PATH": path,
        "QUERY": query,
        "REF": ref,
        "FILE": path + ("?" + query if query is not None else ""),
    }
    return values.get(part)


def parse_url(url: Arg, part: Arg, key: Arg = None) -> Column:
    """PARSE_URL(url, part[, key]): part is HOST, PATH, QUERY, REF, PROTOCOL,
    AUTHORITY, FILE or USERINFO, as java.net.URL splits the URL; NULL for an
    unparsable URL or a missing part. With a key (part QUERY): the value of
    the first ``key=value`` query parameter, NULL if absent."""
    if key is None and not isinstance(key, Column):
        return _map_valid(_url_part, (url, part))

    def query_value(text: str, which: str, name: str) -> str | None:
        if which != "QUERY":
            return None
        query = _url_part(text, "QUERY")
        if query is None:
            return None
        match = re.search("(?:&|^)" + re.escape(name) + "=([^&]*)", query)
        return None if match is None else match.group(1)

    return _map_valid(query_value, (url, part, key))


def str_to_map(s: Arg, pair_sep: Arg = ",", kv_sep: Arg = "=") -> Column:
    """STR_TO_MAP(s[, pair_sep, kv_sep]): a MAP<STRING, STRING> from
    ``k1=v1,k2=v2``; both separators are regular expressions (Flink). A pair
    without the key-value separator maps its key to NULL; a later key wins."""

    def split(text: str, pairs: str, kv: str) -> dict | None:
        pair_re, kv_re = _regex(pairs), _regex(kv)
        if pair_re is None or kv_re is None:
            return None
        if text == "":
            return {}
        pairs_ = pair_re.split(text)
        while pairs_ and pairs_[-1] == "":
            pairs_.pop()  # Java's String.split drops trailing empty strings
        out: dict[str, str | None] = {}
        for pair in pairs_:
            pieces = kv_re.split(pair, maxsplit=1)
            out[pieces[0]] = pieces[1] if len(pieces) > 1 else None
        return out

    return _map_valid(split, (s, pair_sep, kv_sep))
