"""`sqlc compile` as a build step: the compiler never imports numba (it costs
most of a second before anything compiles; the kernels are the runtime's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# compile every example in one process, then list the heavy runtime modules loaded
_SCRIPT = """
import sys
from pathlib import Path
from compiler.cli import main
for sql in sorted(Path("examples").glob("*.sql")):
    if sql.name != "catalog.sql":
        main(["compile", str(sql), "-o", str(Path(sys.argv[1]) / (sql.stem + ".py"))])
print(sorted(m for m in sys.modules if m.split(".")[0] in ("numba", "llvmlite")))
"""


def test_compiling_every_example_imports_no_numba(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("*.py"))) > 20  # the compiles ran
    assert result.stdout.strip().splitlines()[-1] == "[]"
