"""The numba decorator of the runtime's kernels, with its on-disk cache.

Every module with kernels says ``jit = kernel_jit(__name__)``. Kernels compile
lazily, once per argument dtype, on first call; ``cache=True`` keeps the
machine code in numba's on-disk cache (``__pycache__`` next to the module, or
``NUMBA_CACHE_DIR``) so that a pipeline that starts again does not compile
again. numba writes cache files atomically (temporary file + rename);
``tests/runtime_windows/test_kernels.py::test_cache_two_processes`` starts two
cold processes at once against one cache directory to check that this holds.
Cold start (empty cache) compiles for several seconds;
``WindowAggregate.warmup()`` does it before the first batch.

``SQLC_NUMBA_CACHE=0`` turns the cache off. So does importing a kernel module
under a name outside ``runtime_lib`` (run as a script, ``python -m doctest
file.py``): numba keys its cache by source file and function, not by module
name, and the cached code refers to the module by name, so such an import
would write entries that fail to load under the module's real name.
"""

from __future__ import annotations

import os

from numba import njit


def kernel_jit(module_name: str):
    """``numba.njit`` for the kernels of module ``module_name`` (its ``__name__``)."""
    cache = os.environ.get("SQLC_NUMBA_CACHE", "1") != "0" and module_name.startswith("runtime_lib.")
    return njit(cache=cache, nogil=True)
