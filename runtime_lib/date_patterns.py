"""Java SimpleDateFormat patterns (DATE_FORMAT, TO_TIMESTAMP's format): their
tokens, for the runtime's formatting and parsing (functions/time.py), and the
compiler's check of a literal pattern (numpy-free, so that checking one does
not import the runtime into `sqlc compile`)."""

from __future__ import annotations

_PATTERN_LETTERS = "GyYMLwWDdFEuaHkKhmsSzZX"


def java_pattern(pattern: str) -> list[tuple[str, int] | str]:
    """The tokens of a SimpleDateFormat pattern: (letter, count) for a field,
    a str for literal text ('quoted' text, '' for a quote, any non-letter).
    Raises ValueError where Java does (an unquoted letter that is not a
    pattern letter, an unterminated quote)."""
    tokens: list[tuple[str, int] | str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "'":
            if pattern.startswith("''", i):
                tokens.append("'")
                i += 2
                continue
            end = pattern.find("'", i + 1)
            text = []
            while end != -1 and pattern.startswith("''", end):  # '' inside quotes
                text.append(pattern[i + 1:end] + "'")
                i, end = end + 1, pattern.find("'", end + 2)
            if end == -1:
                raise ValueError(f"unterminated quote in date pattern {pattern!r}")
            tokens.append("".join(text) + pattern[i + 1:end])
            i = end + 1
        elif ("a" <= ch <= "z") or ("A" <= ch <= "Z"):
            if ch not in _PATTERN_LETTERS:
                raise ValueError(f"illegal pattern character {ch!r} in date pattern {pattern!r}")
            j = i
            while j < n and pattern[j] == ch:
                j += 1
            tokens.append((ch, j - i))
            i = j
        else:
            tokens.append(ch)
            i += 1
    return tokens


def date_pattern_error(pattern: str) -> str | None:
    """Why a date pattern is invalid (None if it is valid): for the compiler."""
    try:
        java_pattern(pattern)
    except ValueError as error:
        return str(error)
    return None
