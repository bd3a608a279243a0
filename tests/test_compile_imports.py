"""`sqlc compile` as a build step: the compiler never imports numba (it costs
most of a second before anything compiles; the kernels are the runtime's), and
compiling one query imports neither numpy, nor yaml (test files), nor
urllib (the query manager's client): each is a tenth of the command's CPU
time. (A query whose constants are folded, or whose regex or JSON path is
checked, imports numpy with the runtime functions that do it: one
implementation of each function.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


# the modules `sqlc compile one.sql` leaves out, in a fresh process
_ONE = """
import sys
from compiler.cli import main
code = main(["compile", sys.argv[1], "-o", sys.argv[2]])
heavy = ("numba", "llvmlite", "numpy", "yaml", "urllib.request", "http.server")
print(code, sorted(m for m in sys.modules if m in heavy or m.split(".")[0] in heavy[:4]))
"""


@pytest.mark.parametrize("query", ["fr_dql_001_basic_select", "fr_dql_003_tumble",
                                   "fr_join_002_stream_stream", "s01_latency_classes"])
def test_compiling_one_query_imports_no_numpy_yaml_or_urllib(tmp_path, query):
    result = subprocess.run(
        [sys.executable, "-c", _ONE, f"examples/{query}.sql", str(tmp_path / "out.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 []"
