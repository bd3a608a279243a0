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


class OrderedCodes:
    """Codes of strings (``Codes``) and each code's place in code-point order,
    ``rank[code]``, so that kernels compare strings as integers (MIN/MAX over
    an OVER frame). Codes never change while they are in use, ranks shift as
    new strings come: the new ones are sorted and placed among the known ones
    by binary search (comparisons for the new strings only, then integer work).
    Code 0 is the empty string, the filler of NULL slots; ``compact(live)``
    forgets the strings no state holds any more.

    >>> c = OrderedCodes()
    >>> c.encode(np.array(["b", "a", "b"], object)).tolist(), c.rank.tolist()
    ([1, 2, 1], [0, 2, 1])
    >>> c.encode(np.array(["ab", None], object), np.array([True, False])).tolist()
    [3, 0]
    >>> c.rank.tolist(), c.decode(np.array([3, 1])).tolist()
    ([0, 3, 1, 2], ['ab', 'b'])
    """

    __slots__ = ("_codes", "_sorted", "_sorted_codes", "rank", "strings")

    def __init__(self, strings: list[str] = ()):
        self._codes = Codes()
        self.strings = np.zeros(0, object)  # by code
        self._sorted = np.zeros(0, object)  # the strings in order
        self._sorted_codes = np.zeros(0, np.int64)
        self.rank = np.zeros(0, np.int64)
        self.encode(np.array([""] + [s for s in strings if s != ""], object))

    def __len__(self) -> int:
        return len(self._codes)

    def encode(self, values: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """The codes of ``values`` (an object array of str), 0 where ``valid`` is False."""
        if valid is not None and not valid.all():
            values = np.where(valid, values, "")
        known = len(self._codes)
        codes = self._codes.encode(values)
        if len(self._codes) > known:
            self._place(known)
        return codes

    def _place(self, known: int) -> None:
        new = np.fromiter(self._codes.by_code[known:], object, count=len(self._codes) - known)
        self.strings = np.concatenate([self.strings, new])
        order = np.argsort(new, kind="stable")
        at = np.searchsorted(self._sorted, new[order])
        self._sorted = np.insert(self._sorted, at, new[order])
        self._sorted_codes = np.insert(self._sorted_codes, at, known + order)
        self.rank = np.empty(len(self._codes), np.int64)
        self.rank[self._sorted_codes] = np.arange(len(self._codes))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return self.strings[codes]

    def compact(self, live: np.ndarray) -> np.ndarray:
        """Keep the strings of the codes in ``live``; returns ``remap`` with
        remap[old code] = new code (0 for the forgotten ones)."""
        kept = np.unique(live)
        fresh = OrderedCodes()
        remap = np.zeros(len(self._codes), np.int64)
        remap[kept] = fresh.encode(self.strings[kept])
        for name in self.__slots__:
            setattr(self, name, getattr(fresh, name))
        return remap
