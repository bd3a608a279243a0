"""Why a record does not parse, in sqlc's own words.

The decoders (msgspec for JSON, the csv module for CSV) decide *whether* a
record parses; the functions here say *why not*, for its dead letter. A reason
never quotes a library's message: those change between versions (msgspec 0.22
raised UnicodeDecodeError for invalid UTF-8 in a string, 0.23 raises
DecodeError "Invalid UTF-8 encoded string"). Reasons are built from stable
facts only: the ``start`` of the UnicodeDecodeError of ``bytes.decode``, the
position (``pos``) of the stdlib json module's JSONDecodeError, and small scans
of our own (nesting depth, quotes):

>>> json_reason(b'{"user_id": "\\xff"}')
'malformed JSON: invalid UTF-8 at byte 13 (0xff)'
>>> json_reason(b'{"request_id": "r1", "user_id"')
'malformed JSON: truncated at line 1, column 31 (byte 30)'
>>> json_reason(b'{"ts": 1}{"ts": 2}')
'malformed JSON: trailing data after the value at line 1, column 10 (byte 9)'
>>> json_reason(b'[' * 5000, nested=True)
'malformed JSON: nested 5000 levels deep (at byte 4999), deeper than the decoder follows'
>>> csv_reason('a,"b"c,d')
'malformed CSV: text after the closing quote of field 2 (byte 5)'

Positions are 0-based byte offsets into the raw record (what a hex dump
shows); lines and columns (of characters) are 1-based, as editors count.
"""

from __future__ import annotations

import csv
import json
import math
import re

__all__ = ["csv_reason", "json_reason", "nesting", "utf8_reason"]

_JSON_SPACE = " \t\n\r"  # the only whitespace JSON allows (str.strip takes more)
# a JSON string (also one left open at the end of the text), or a bracket
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"?'
_BRACKETS = re.compile(_STRING + r"|[\[\]{}]", re.DOTALL)
_CLOSED_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_ESCAPES = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def utf8_reason(data: bytes) -> str | None:
    """'invalid UTF-8 at byte N (0xNN)', or None when ``data`` is UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start} (0x{data[exc.start]:02x})"
    return None


def nesting(text: str) -> tuple[int, int]:
    """(deepest nesting of arrays and objects, index where it is first reached),
    ignoring brackets inside strings; iterative, so any depth is fine."""
    depth = deepest = at = 0
    for match in _BRACKETS.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, match.start()
        elif token == "]" or token == "}":
            depth -= 1
    return deepest, at


class _Literal(Exception):
    """A literal the stdlib parser takes but msgspec refuses (NaN, 1e400)."""

    def __init__(self, pattern: str, what: str) -> None:
        super().__init__(what)
        self.pattern = pattern  # a regex for the literal's text
        self.what = what


def _constant(name: str):
    raise _Literal(re.escape(name), f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Literal(re.escape(text), "number too large")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # more digits than Python (and msgspec) convert
        raise _Literal(re.escape(text), "integer too large") from None


_PARSER = json.JSONDecoder(parse_constant=_constant, parse_float=_float, parse_int=_int)


def json_reason(raw: bytes, nested: bool = False) -> str:
    """Why ``raw`` is not a JSON document msgspec decodes (it refused it).
    ``nested``: msgspec ran out of depth (RecursionError)."""
    data = bytes(raw)
    bad_utf8 = utf8_reason(data)
    if bad_utf8 is not None:
        return f"malformed JSON: {bad_utf8}"
    text = data.decode("utf-8")
    start = len(text) - len(text.lstrip(_JSON_SPACE))
    if start == len(text):
        return "malformed JSON: empty record"
    if nested:
        return _too_deep(text)
    try:
        _, end = _PARSER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        return _syntax_reason(text, exc.pos)
    except _Literal as literal:
        at = _find_outside_strings(text, literal.pattern)
        return f"malformed JSON: {literal.what}" + (f" at {_where(text, at)}" if at >= 0 else "")
    except RecursionError:
        return _too_deep(text)
    rest = end + len(text[end:]) - len(text[end:].lstrip(_JSON_SPACE))
    if rest < len(text):
        return f"malformed JSON: trailing data after the value at {_where(text, rest)}"
    at = _lone_surrogate(text)
    if at >= 0:
        return f"malformed JSON: unpaired UTF-16 surrogate escape at {_where(text, at)}"
    return "malformed JSON: refused by the decoder"  # no rule above applies


def _too_deep(text: str) -> str:
    depth, at = nesting(text)
    byte = len(text[:at].encode("utf-8"))
    return (f"malformed JSON: nested {depth} levels deep (at byte {byte}), deeper than "
            "the decoder follows")


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {column} (byte {len(text[:pos].encode('utf-8'))})"


def _describe_char(ch: str) -> str:
    return repr(ch) if ch.isprintable() and not ch.isspace() else f"character U+{ord(ch):04X}"


def _syntax_reason(text: str, pos: int) -> str:
    """The reason for a syntax error the stdlib parser found at index ``pos``."""
    if not text[pos:].strip(_JSON_SPACE):
        return f"malformed JSON: truncated at {_where(text, len(text))}"
    ch = text[pos]
    if ch == '"' and not _CLOSED_STRING.match(text, pos):
        return f"malformed JSON: unterminated string at {_where(text, pos)}"
    if ch == "\\" or (ch == "u" and pos > 0 and text[pos - 1] == "\\"):
        at = pos if ch == "\\" else pos - 1
        return f"malformed JSON: invalid escape in a string at {_where(text, at)}"
    if ord(ch) < 0x20:
        return (f"malformed JSON: control character U+{ord(ch):04X} in a string at "
                f"{_where(text, pos)}")
    return f"malformed JSON: unexpected {_describe_char(ch)} at {_where(text, pos)}"


def _find_outside_strings(text: str, pattern: str) -> int:
    """Index of the first match of ``pattern`` that is not inside a string, or -1."""
    for match in re.finditer(_STRING + f"|({pattern})", text, re.DOTALL):
        if match.group(1) is not None:
            return match.start()
    return -1


def _lone_surrogate(text: str) -> int:
    """Index of the first \\uD800-\\uDFFF escape that is not half of a pair, or -1."""
    for string in _CLOSED_STRING.finditer(text):
        escapes = list(_ESCAPES.finditer(string.group()))
        i = 0
        while i < len(escapes):
            code = int(escapes[i].group(1) or "0", 16)
            if 0xD800 <= code <= 0xDBFF:
                pair = escapes[i + 1] if i + 1 < len(escapes) else None
                low = int(pair.group(1) or "0", 16) if pair is not None else 0
                if pair is not None and pair.start() == escapes[i].end() and 0xDC00 <= low <= 0xDFFF:
                    i += 2
                    continue
                return string.start() + escapes[i].start()
            if 0xDC00 <= code <= 0xDFFF:
                return string.start() + escapes[i].start()
            i += 1
    return -1


# ----------------------------------------------------------------------- CSV


def csv_reason(text: str, delimiter: str = ",") -> str:
    """Why one CSV record (text, without its line terminator) does not parse
    with the csv module in strict mode: unterminated quotes, text after a
    closing quote, a line break in an unquoted field, an overlong field."""
    limit = csv.field_size_limit()
    field, i, n = 1, 0, len(text)

    def at(index: int) -> str:
        return f"byte {len(text[:index].encode('utf-8'))}"

    while i <= n:
        begin = i
        if i < n and text[i] == '"':
            j = i + 1
            while True:
                close = text.find('"', j)
                if close < 0:
                    return f"malformed CSV: field {field} opens a quote that is not closed ({at(i)})"
                if text.startswith('""', close):
                    j = close + 2
                    continue
                break
            i = close + 1
            if i < n and text[i] not in (delimiter, "\r", "\n"):
                return f"malformed CSV: text after the closing quote of field {field} ({at(i)})"
            length = close - begin - 1 - text.count('""', begin + 1, close)
        else:
            stop = text.find(delimiter, i)
            stop = n if stop < 0 else stop
            for brk in ("\r", "\n"):
                k = text.find(brk, i, stop)
                if k >= 0 and text[k:].strip("\r\n"):
                    return f"malformed CSV: line break in unquoted field {field} ({at(k)})"
            length = stop - i
            i = stop
        if length > limit:
            return f"malformed CSV: field {field} is longer than {limit} characters"
        if i < n and text[i] == delimiter:
            field += 1
            i += 1
            continue
        break
    return "malformed CSV: not one well-formed record"
