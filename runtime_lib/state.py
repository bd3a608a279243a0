"""The state protocol: what every stateful operator gives a checkpoint and takes back.

An operator that holds state between micro-batches (window aggregates,
sessions, GROUP BY, joins, lookup joins, temporal sort, watermark assigners)
implements ``Stateful``:

* ``snapshot() -> dict``: the operator's state as *data*: dicts with string
  keys, lists, str, int, float, bool, None and numpy arrays of numbers or
  booleans (numpy scalars count as int/float). No object arrays, tuples,
  sets or instances: a checkpoint is written as JSON plus ``.npy`` files and
  read back without pickle. Strings are lists of str/None (or dictionary
  codes plus such a list). The data does not change when the operator goes
  on (arrays are copies), and the operator must have nothing pending: call
  it between micro-batches, after ``advance``.
* ``restore(data) -> None``: brings an operator *freshly constructed with the
  same configuration* back to that state; it then produces the same output
  as the operator it was taken from.

``check_state(data)`` walks a snapshot and says where it breaks the rules.
``operators_of(query)`` is how the driver finds a generated query's
operators: the ``operators`` dict its ``__init__`` fills.

>>> import numpy as np
>>> check_state({"n": 1, "keys": ["a", None], "ts": np.array([1, 2])})
>>> check_state({"keys": np.array(["a", None], dtype=object)})
Traceback (most recent call last):
...
runtime_lib.state.StateError: state.keys: an object array needs pickle (give its values as a list)
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from runtime_lib.columns import DTYPES


@runtime_checkable
class Stateful(Protocol):
    """One operator's state, as data (see the module docstring)."""

    def snapshot(self) -> dict:
        """The state as dicts, lists, scalars and numeric numpy arrays."""
        ...

    def restore(self, data: dict) -> None:
        """Bring a freshly constructed operator back to ``data``."""
        ...


class StateError(TypeError):
    """A snapshot holds something a checkpoint cannot store without pickle."""


_SCALARS = (type(None), bool, int, float, str, np.bool_, np.integer, np.floating)


def check_state(data: Any, where: str = "state") -> None:
    """Raise ``StateError`` naming the first value of ``data`` that is not
    checkpoint data (the rules of the module docstring)."""
    if isinstance(data, _SCALARS):
        return
    if isinstance(data, np.ndarray):
        if data.dtype.hasobject:
            raise StateError(f"{where}: an object array needs pickle (give its values as a list)")
        if data.dtype.kind not in "biuf":
            raise StateError(f"{where}: a numpy array of dtype {data.dtype} is not numbers or booleans")
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str) or key.startswith("$"):
                raise StateError(f"{where}: key {key!r} is not a string without a leading '$'")
            check_state(value, f"{where}.{key}")
        return
    if isinstance(data, list):
        for i, value in enumerate(data):
            check_state(value, f"{where}[{i}]")
        return
    raise StateError(f"{where}: a {type(data).__name__} is not checkpoint data")


def values_data(values: np.ndarray) -> np.ndarray | list:
    """An array of column values as checkpoint data: a copy, or for an object
    array (strings, NULL as None) a list."""
    return values.tolist() if values.dtype.hasobject else values.copy()


def values_from_data(data, kind: str) -> np.ndarray:
    """The array ``values_data`` gave, as storage kind ``kind``."""
    if kind == "O":
        return np.fromiter(data, object, count=len(data))
    return np.asarray(data, DTYPES[kind]).copy()


def operators_of(query) -> dict[str, Stateful]:
    """The stateful operators of a generated query, by name: the ``operators``
    dict its ``__init__`` fills (what a checkpoint snapshots). Anything listed
    there must keep the state protocol."""
    found = dict(getattr(query, "operators", None) or {})
    for name, operator in found.items():
        if not isinstance(operator, Stateful):
            raise TypeError(f"{type(query).__name__}.operators[{name!r}] has no "
                            "snapshot()/restore()")
    return found
