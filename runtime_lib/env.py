"""Resolve ``${VAR}`` references in connector properties when a pipeline starts.

Generated modules never contain secrets: a property such as
``'password' = '${POSTGRES_PASSWORD}'`` stays a reference in the code and is
read from the environment here, once, at start-up.

>>> resolve_properties({"url": "postgres://${PGHOST}:5432/db"}, {"PGHOST": "db1"})
{'url': 'postgres://db1:5432/db'}

Rules: a reference is ``${NAME}`` with NAME a letter or underscore followed by
letters, digits or underscores; ``$${`` is a literal ``${``; every other
character (a lone ``$`` too) is kept as written. A variable that is not set
raises ``MissingEnvironmentVariable`` naming the variable and the property; a
variable set to the empty string is used as is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingEnvironmentVariable(LookupError):
    """A ``${VAR}`` in a connector property names an unset variable."""

    def __init__(self, missing: list[tuple[str, str | None]]) -> None:
        self.missing = missing
        self.variable, self.property = missing[0]
        lines = [
            f"environment variable {var} is not set"
            + (f" (used in property {prop!r})" if prop else "")
            for var, prop in missing
        ]
        super().__init__("; ".join(lines))

    def __str__(self) -> str:
        return self.args[0]


def _substitute(
    value: str, prop: str | None, environ: Mapping[str, str], missing: list
) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name is None:  # '$${' escape
            return "${"
        if name not in environ:
            missing.append((name, prop))
            return match.group(0)
        return environ[name]

    return _REFERENCE.sub(replace, value)


def resolve_env(
    value: str, property_name: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """``value`` with every ``${VAR}`` replaced from the environment."""
    missing: list[tuple[str, str | None]] = []
    result = _substitute(value, property_name, os.environ if environ is None else environ, missing)
    if missing:
        raise MissingEnvironmentVariable(missing)
    return result


def resolve_properties(
    properties: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """All properties resolved; every missing variable is reported at once."""
    env = os.environ if environ is None else environ
    missing: list[tuple[str, str | None]] = []
    resolved = {
        key: _substitute(value, key, env, missing) if isinstance(value, str) else value
        for key, value in properties.items()
    }
    if missing:
        raise MissingEnvironmentVariable(missing)
    return resolved


def references(value: str) -> list[str]:
    """The variable names a property value refers to (for EXPLAIN and checks)."""
    return [m.group(1) for m in _REFERENCE.finditer(value) if m.group(1)]
