"""Hash and identifier functions: MD5, SHA256 (hex digests of the UTF-8
bytes) and UUID (random, RFC 4122 version 4). hashlib has no vectorized form,
so each non-NULL row is hashed in Python."""

from __future__ import annotations

import hashlib
import uuid as _uuid

import numpy as np

from runtime_lib.columns import Column
from runtime_lib.functions.base import Arg, _map_valid


def md5(s: Arg) -> Column:
    """MD5(s): 32 lower-case hexadecimal digits."""
    return _map_valid(lambda v: hashlib.md5(v.encode("utf-8")).hexdigest(), (s,))


def sha256(s: Arg) -> Column:
    """SHA256(s): 64 lower-case hexadecimal digits."""
    return _map_valid(lambda v: hashlib.sha256(v.encode("utf-8")).hexdigest(), (s,))


def uuid(n: int) -> Column:
    """UUID() for a batch of n rows: a new random UUID string per row."""
    values = np.empty(n, dtype=object)
    values[:] = [str(_uuid.uuid4()) for _ in range(n)]
    return Column(values)
