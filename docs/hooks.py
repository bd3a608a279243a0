"""MkDocs hook: adds the reference pages that docs/gen_reference.py writes from
the compiler's tables, and fails a strict build when a name has no entry."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docs import gen_reference

log = logging.getLogger("mkdocs.plugins.sqlc")


def on_files(files: Files, config) -> Files:
    gen_reference.data.cache_clear()  # `mkdocs serve` rebuilds after a YAML edit
    for problem in gen_reference.problems():
        log.warning(problem)  # --strict turns each into a failure
    for path, markdown in gen_reference.pages().items():
        files.append(File.generated(config, path, content=markdown))
    return files
