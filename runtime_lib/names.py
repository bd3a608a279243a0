"""SQL names as Python identifiers: the one rule the runtime dispatches by and
the code generator names by (numpy-free, so that ``sqlc compile`` imports it
without the runtime)."""

from __future__ import annotations

import keyword
import re


def identifier(source_name: str) -> str:
    """The Python identifier of an SQL name (``on_<identifier>`` methods, state
    attributes): only [a-z0-9_], never a keyword. The code generator uses this
    same function, so dispatch and generated names cannot drift apart."""
    text = re.sub(r"[^0-9a-zA-Z_]", "_", source_name).lower().strip("_") or "x"
    if text[0].isdigit():
        text = "_" + text
    if keyword.iskeyword(text) or keyword.issoftkeyword(text):
        text += "_"
    return text
