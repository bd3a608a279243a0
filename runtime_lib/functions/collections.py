"""ARRAY and MAP access: ``arr[i]`` / ``m[key]`` (ELEMENT_AT) and CARDINALITY.

ARRAY and MAP values are Python lists and dicts in object columns (as the
JSON decoder reads them), so these go row by row over the non-NULL rows.
"""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import DTYPES, Column
from runtime_lib.functions.base import Arg, _map_valid


def _element(container, key):
    if isinstance(container, dict):
        return container.get(key)
    if isinstance(container, (list, tuple)):
        index = int(key)
        return container[index - 1] if 1 <= index <= len(container) else None
    return None


def element_at(container: Arg, key: Arg, kind: str = "O") -> Column:
    """``arr[i]``, ``ELEMENT_AT(arr, i)``: the i-th element, counting from 1, NULL
    outside the array (Flink); ``m[key]``: the key's value, NULL when it is
    absent. ``kind`` is the element's storage kind ('b', 'i', 'f', 'O').

    >>> from runtime_lib.columns import column_from_pylist
    >>> element_at(column_from_pylist([[1, 2], [3], None], "O"), 2, "i").to_pylist()
    [2, None, None]
    >>> element_at(column_from_pylist([{"a": "x"}, {}], "O"), "a").to_pylist()
    ['x', None]
    """
    return _map_valid(_element, (container, key), DTYPES[kind])


def cardinality(container: Arg) -> Column:
    """CARDINALITY(arr | m): the number of elements (entries); NULL of NULL."""
    return _map_valid(len, (container,), DTYPES["i"])


def constant_rows(value: Column, n: int) -> Column:
    """A one-row result of constant arguments (``SPLIT('a,b', ',')``) as ``n``
    rows: the ARRAY and MAP constants the compiler does not fold into literals."""
    values = np.empty(n, dtype=object)
    values[:] = [value.values[0]] * n
    return Column(values, None if value.is_valid()[0] else np.zeros(n, dtype=bool))
