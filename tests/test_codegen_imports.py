"""A generated module imports exactly the runtime names its code mentions as
whole words (``\\bname\\b``, the rule ``_imports`` keeps by splitting the body
into words once instead of searching it once per name)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from compiler.codegen.module import _imports
from compiler.codegen.runtime import RUNTIME_IMPORTS, SCALAR_MODULE

NAMES = sorted({n for names in RUNTIME_IMPORTS.values() for n in names} | {"np", "sql"})


def reference(body: str) -> list[str]:
    def used(name: str) -> bool:
        return re.search(rf"\b{name}\b", body) is not None

    imports = ["import numpy as np", ""] if used("np") else []
    package, _, scalar = SCALAR_MODULE.rpartition(".")
    imports += [f"from {package} import {scalar} as sql"] if used("sql") else []
    for module, names in sorted(RUNTIME_IMPORTS.items()):
        needed = sorted(n for n in names if used(n))
        if needed:
            imports.append(f"from {module} import {', '.join(needed)}")
    return imports


pieces = st.sampled_from(NAMES) | st.sampled_from(list(" ._()'\"\n,=x1é_")) | st.text(max_size=3)


@given(st.lists(pieces, max_size=12).map("".join))
def test_imports_are_the_whole_words_used(body):
    assert _imports(body) == reference(body)


def test_names_inside_other_words_are_not_imports():
    assert _imports("Tumbled = np_x; xsql(Field)") == reference("Tumbled = np_x; xsql(Field)")
    assert _imports("Field(") == ["from runtime_lib.pipeline import Field"]
