"""The sqlc project: its ``[tool.sqlc]`` configuration (catalogs, the example
queries and where their modules go), and running a generated module in this
process. The CLI, ``sqlc demo`` and the tests use them."""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path


def find_project(start: Path | None = None) -> Path | None:
    """The nearest directory (upwards) whose pyproject.toml has [tool.sqlc]."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError:
                continue
            if "sqlc" in data.get("tool", {}):
                return directory
    return None


def project_config(root: Path) -> dict:
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return data["tool"]["sqlc"]


def default_catalogs(explicit: list[str] | None) -> list[str]:
    if explicit:
        return explicit
    root = find_project()
    if root is None:
        return []
    config = project_config(root)
    return [str(root / c) for c in config.get("catalog", [])]


def configured_entries(root: Path) -> list[tuple[Path, Path]]:
    """(sql file, generated module) pairs from [tool.sqlc]."""
    config = project_config(root)
    excluded = {(root / e).resolve() for e in config.get("exclude", [])}
    excluded |= {(root / c).resolve() for c in config.get("catalog", [])}
    out_dir = root / config.get("out_dir", "generated")
    entries = []
    for pattern in config.get("sources", []):
        for path in sorted(glob.glob(str(root / pattern))):
            p = Path(path).resolve()
            if p in excluded:
                continue
            entries.append((p, out_dir / (p.stem + ".py")))
    return entries


def run_module(module_path: Path, argv: list[str]) -> int:
    """Import a generated module and run its pipeline in this process."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"sqlc_query_{module_path.stem}", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from runtime_lib.pipeline import run

    return run(module.Query, argv)
