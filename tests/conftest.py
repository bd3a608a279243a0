"""Shared test configuration: the real-component fixtures (Kafka, PostgreSQL,
Redis) and the --update-golden switch for golden files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ["tests.services.fixtures"]

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden files (EXPLAIN text, generated modules) from the compiler")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def check_golden(update_golden: bool) -> Callable[[Path, str], None]:
    """``check_golden(path, text)``: ``text`` must equal the golden file at ``path``.
    Only --update-golden writes golden files; a missing one fails the test, so a
    golden that was deleted or never committed cannot pass by writing itself."""

    def check(path: Path, text: str) -> None:
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if update_golden:
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"golden file {name} is missing; run pytest with --update-golden "
                        "to write it, and review it before committing it", pytrace=False)
        assert text == path.read_text(encoding="utf-8"), (
            f"differs from the golden file {name} (if the change is intended: "
            "--update-golden rewrites it)")

    return check


@pytest.fixture
def root() -> Path:
    return ROOT


# CI runs the property tests on a fixed seed so a submission cannot fail by the
# luck of the draw; locally each run explores new examples.
if os.environ.get("CI"):
    settings.register_profile("ci", derandomize=True, database=None)
    settings.load_profile("ci")
