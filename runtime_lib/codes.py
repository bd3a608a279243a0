"""Dense codes of hashable values: the one value -> code table of the runtime.

Group keys (``keys.Dictionary`` for string columns), join keys
(``joins._KeyIds``) and the distinct keys of a lookup batch
(``lookup.distinct_keys``) all number their values with ``Codes``. It needs
no numba, so stateless pipelines with a lookup join start without it.
"""

from __future__ import annotations

from itertools import repeat

import numpy as np


class Codes:
    """Dense codes of hashable values (strings, tuples of key values, the NULL
    marker), handed out in order of first appearance; ``by_code[code]`` is the
    value of a code.

    >>> c = Codes()
    >>> c.encode(["b", "a", "b"]).tolist(), c.encode(["c", "a"]).tolist(), c.by_code
    ([0, 1, 0], [2, 1], ['b', 'a', 'c'])
    """

    __slots__ = ("by_code", "index")

    def __init__(self):
        self.index: dict = {}
        self.by_code: list = []

    def __len__(self) -> int:
        return len(self.by_code)

    def encode(self, values) -> np.ndarray:
        """Codes of ``values`` (an object array or a list). Every loop runs in C
        (map, dict.fromkeys, dict.update); new values cost one more pass."""
        n = len(values)
        codes = np.fromiter(map(self.index.get, values, repeat(-1)), np.int64, count=n)
        miss = codes < 0
        if miss.any():
            if not isinstance(values, np.ndarray):
                values = np.fromiter(values, object, count=n)
            missing = values[miss]
            fresh = dict.fromkeys(missing.tolist())  # the new values, in order
            n0 = len(self.by_code)
            fresh.update(zip(fresh, range(n0, n0 + len(fresh))))
            self.index.update(fresh)
            self.by_code.extend(fresh)
            codes[miss] = np.fromiter(map(fresh.__getitem__, missing), np.int64, count=len(missing))
        return codes
