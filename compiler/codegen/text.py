"""The only channels by which SQL names and text reach a generated module.

Identifiers and literals from the SQL reach the module only through ``repr()``
(string keys, literal values, ``Field(...)`` specs) or through ``identifier``
(operator and source names, reduced to ``[a-z0-9_]``), and comments are
flattened to one line, so no SQL text can become code.
"""

from __future__ import annotations

from compiler import logical as lg
from compiler.codegen import runtime


def identifier(name: str) -> str:
    """A Python identifier for an SQL name (the runtime's rule, shared)."""
    return runtime.identifier(name)


def _printable(text: str, keep: str = "") -> str:
    """Control characters (NUL, CR, ...) written as escapes: a module may not
    contain them raw, and a CR would end a comment line."""
    plain = text
    for allowed in keep:
        plain = plain.replace(allowed, "")
    if plain.isprintable():  # nearly always: the text as it is, without a look at each char
        return text
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


def comment(text: str, limit: int = 90) -> str:
    """One line of text for a comment or a one-line docstring: whitespace
    (newlines too) flattened, control characters escaped."""
    flat = _printable(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def docstring_safe(text: str) -> str:
    """Text that can sit inside a triple-quoted string and not end it."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    text = _printable(text, keep="\n\t")
    return text[:-1] + '\\"' if text.endswith('"') else text


def literal(value: object) -> str:
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, dict):  # a folded MAP (STR_TO_MAP of literals), item by item
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot emit literal {value!r}")


def field_call(f: lg.Field, note: str = "") -> str:
    """The runtime's ``Field(name, type, nullable)`` spec of a column."""
    extra = f", {note!r}" if note else ""
    if f.path:  # a field of a ROW column, read from the nested object
        extra += f", path={f.path!r}"
    return f"Field({f.name!r}, {f.type.sql()!r}, {f.type.nullable!r}{extra})"
