"""CI installs what was tested: constraints.txt pins every dependency, the
README's commands and .ci/run install from it, and this environment has the
pinned versions (a drifted venv fails here, not somewhere obscure)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[_canonical(name)] = version
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    names = {_canonical(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in requirements}
    return names - {"sqlc-streaming"}


def test_every_dependency_is_pinned():
    missing = sorted(_requirement_names() - set(_pins()))
    assert missing == []


def test_this_environment_has_the_pinned_versions():
    drifted = []
    for name, version in sorted(_pins().items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            drifted.append(f"{name}: not installed (pinned {version})")
            continue
        if installed != version:
            drifted.append(f"{name}: {installed} installed, {version} pinned")
    assert drifted == [], "pip install -c constraints.txt -e '.[dev]' restores the pins"


def test_readme_and_ci_install_from_the_constraints():
    readme = (ROOT / "README.md").read_text()
    commands = readme.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(commands) == 2
    assert all("-c constraints.txt" in c for c in commands)
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci
