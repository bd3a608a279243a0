"""One SQL type -> storage kind table: the compiler reads the runtime's.

The compiler decides the kinds the generated code hands to operators
(``key_kinds=["O", "i"]``); the runtime decides how a decoded column of a
declared type is stored. If they disagreed, an operator would be built for
one kind and fed another."""

from __future__ import annotations

import pytest

from compiler import types as t
from runtime_lib.schema import KINDS, numpy_kind


@pytest.mark.parametrize("name", sorted(t.STORAGE))
def test_compiler_and_runtime_store_each_type_alike(name):
    if name == "INTERVAL":  # a compile-time type: folded into milliseconds, never a column type
        assert name not in KINDS and t.STORAGE[name] == "i"
        return
    assert t.SqlType(name).storage == numpy_kind(name) == KINDS[name]


def test_every_runtime_type_the_analyzer_knows_is_shared():
    # BYTES and MULTISET the runtime can store, the analyzer does not know yet
    assert set(KINDS) - set(t.STORAGE) == {"BYTES", "MULTISET"}
