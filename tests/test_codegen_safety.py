"""Generated modules are safe, checkable and deterministic.

- SQL identifiers and literals can never become executable code: queries whose
  aliases and string literals contain quotes, triple quotes, backslashes,
  newlines, ``#``, ``{{ }}`` and ``__import__(...)`` compile, import and run,
  the values come through unchanged and nothing else runs.
- Every module compiles with ``compile()``, passes ``ruff check`` and
  ``mypy --follow-imports=silent``.
- The same SQL gives the same bytes (also under another PYTHONHASHSEED); the
  first line is the provenance header.
- Secrets stay in the environment: ``${VAR}`` is written as a reference and
  resolved at start-up, and a missing variable is a clear error.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tokenize
import warnings
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, example, given, settings

import compiler
from compiler.cli import run_module
from compiler.driver import compile_source, read_source
from compiler.errors import Source

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "examples" / "catalog.sql"
PYTHON = sys.executable
BIN = Path(sys.executable).parent

PAYLOAD = "<PAYLOAD>"  # replaced by code that would create the canary file


def payload(canary: Path) -> str:
    return f"__import__('pathlib').Path('{canary}').touch()"


# Pieces of aliases and literals: every character that means something to
# Python, to Jinja2 or to a format string, and ways to break out of each.
TOKENS = [
    '"', "'", "`", "``", '"""', "'''", "\\", "\\\\", "\n", "\r\n", "\t", "#", "# c",
    "{{", "}}", "{", "}", "{%", "%}", "{#", "#}", "{{ x }}", "%s", "%(x)s", "$",
    "${PG_SECRET}", ";", "(", ")", ",", ":", "a", "Z", " ", "é", "😀", "\\n", "\\x41",
    "\\N{BULLET}", "u'", 'f"{x}"', "--", "/*", "*/", "__import__", PAYLOAD,
    '"""+' + PAYLOAD + '+"""', "'+" + PAYLOAD + "+'", "\n" + PAYLOAD + "\n",
    "{{ " + PAYLOAD + " }}", "`); " + PAYLOAD + " #", '\\"""' + PAYLOAD,
]
texts = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6).map("".join)


def sql_string(value: str) -> str:
    """A SQL string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier: backticks, a backtick inside doubled."""
    return "`" + name.replace("`", "``") + "`"


def nasty_query(aliases: list[str], literals: list[str], where: str) -> str:
    items = ",\n    ".join(
        f"COALESCE(user_id, {sql_string(lit)}) AS {sql_identifier(alias)}"
        for alias, lit in zip(aliases, literals)
    )
    return (
        "-- a comment with \"\"\" ''' \\ {{ }} # __import__('os')\n"
        "/* and a block comment: \"\"\" \\ {% raw %} */\n"
        f"SELECT\n    {items},\n    request_id\n"
        f"FROM llm_requests\nWHERE prompt_text = {sql_string(where)};\n"
    )


def compile_text(sql: str, path: str = "q.sql", catalogs: list | None = None) -> str:
    compiled = compile_source(Source(path, sql), catalogs or [CATALOG], path)
    assert compiled.module is not None
    return compiled.module


def code_names(module: str) -> set[str]:
    """Every NAME token of the module: what is code, as opposed to string
    literals and comments."""
    tokens = tokenize.generate_tokens(io.StringIO(module).readline)
    return {t.string for t in tokens if t.type == tokenize.NAME}


def run_events(module_text: str, events: list[dict], work: Path) -> list[dict]:
    module = work / "query.py"
    module.write_text(module_text, encoding="utf-8")
    data = work / "events.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    out = work / "out.jsonl"
    code = run_module(module, ["--input", f"llm_requests={data}", "--output", str(out),
                               "--quiet"])
    assert code == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _event(request_id: str, **fields) -> dict:
    return {"request_id": request_id, "model_id": "m", "timestamp_ms": 1_700_000_000_000,
            **fields}


def _distinct(aliases: list[str]) -> bool:
    folded = [a.casefold() for a in aliases]
    return len(set(folded)) == len(folded) and "request_id" not in folded


# --------------------------------------------------------------- no injection


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(aliases=st.lists(texts, min_size=1, max_size=3).filter(_distinct),
       literals=st.lists(texts, min_size=3, max_size=3), where=texts)
@example(aliases=['"""', "x`y\\\n#{{}}", PAYLOAD],
         literals=["'" + PAYLOAD + "'", '"""\n' + PAYLOAD + '\n"""', "\\"],
         where="{{ " + PAYLOAD + " }}\\")
def test_identifiers_and_literals_never_become_code(aliases, literals, where,
                                                    tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    aliases = [a.replace(PAYLOAD, payload(canary)) for a in aliases]
    literals = [v.replace(PAYLOAD, payload(canary)) for v in literals[: len(aliases)]]
    where = where.replace(PAYLOAD, payload(canary))

    module = compile_text(nasty_query(aliases, literals, where))
    compile(module, "query.py", "exec")
    assert not ({"__import__", "touch", "system", "exec", "eval"} & code_names(module))

    rows = run_events(module, [
        _event("r1", prompt_text=where),  # user_id NULL: the literals come out
        _event("r2", user_id="u2", prompt_text=where),
        _event("r3", prompt_text=where + "x"),
        _event("r4", prompt_text=None),
        _event("r5", prompt_text=where.upper() if where.upper() != where else where + " "),
    ], tmp_path)
    assert rows == [
        {**dict(zip(aliases, literals)), "request_id": "r1"},
        {**dict.fromkeys(aliases, "u2"), "request_id": "r2"},
    ]
    assert [list(r) for r in rows] == [aliases + ["request_id"]] * 2
    assert not canary.exists()


def test_literal_select_items_come_through(tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    literal = "a'b\"\"\"c\\d\n#{{x}}" + payload(canary)
    alias = "x`y\"\"\"\\\n# {{ }}" + payload(canary)
    module = compile_text(
        f"SELECT {sql_string(literal)} AS {sql_identifier(alias)}, request_id "
        f"FROM llm_requests WHERE prompt_text = {sql_string(literal)}"
    )
    rows = run_events(module, [_event("r1", prompt_text=literal), _event("r2")], tmp_path)
    assert rows == [{alias: literal, "request_id": "r1"}]
    assert not canary.exists()


def test_nul_character_in_a_literal(tmp_path: Path) -> None:
    module = compile_text(
        "SELECT COALESCE(user_id, 'a\x00b') AS v FROM llm_requests WHERE prompt_text = 'p'"
    )
    rows = run_events(module, [_event("r1", prompt_text="p")], tmp_path)
    assert rows == [{"v": "a\x00b"}]


ODD_NAMES = {
    "triple_quote": 'q"""x.sql',
    "newline": "q\nx.sql",
    "backslash_n": "dir\\N{x}.sql",  # \N{...} inside the Query docstring
    "crlf_payload": "q\r\n" + PAYLOAD + ".sql",
}


@pytest.mark.parametrize("name", list(ODD_NAMES.values()), ids=list(ODD_NAMES))
def test_odd_file_names(name: str, tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    name = name.replace(PAYLOAD, payload(canary).replace("/", "_"))
    module = compile_text("SELECT request_id FROM llm_requests", path=name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an invalid escape sequence is a defect too
        compile(module, "query.py", "exec")
    assert run_events(module, [_event("r1")], tmp_path) == [{"request_id": "r1"}]
    assert not canary.exists()


# ------------------------------------------------------- compile, ruff, mypy


@pytest.fixture(scope="module")
def sample_modules(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A few modules with hostile names and values, and the checked-in ones."""
    out = tmp_path_factory.mktemp("modules")
    canary = out / "pwned"
    cases = [
        (['"""', "x`y\\\n#{{}}"], ["'" + payload(canary) + "'", '"""\\'], "{{ }}\n#"),
        (["select", "from where", "__import__"], ["", "\\", "\r\n"], "'''"),
        (["é😀", "a b", "{%"], ["%s", "${PG_SECRET}", "`"], ""),
    ]
    paths = []
    for i, (aliases, literals, where) in enumerate(cases):
        path = out / f"nasty_{i}.py"
        path.write_text(compile_text(nasty_query(aliases, literals, where)), encoding="utf-8")
        paths.append(path)
    checked_in = sorted((ROOT / "generated").glob("*.py"))
    assert checked_in, "no checked-in generated modules"
    return paths + checked_in


def test_modules_compile(sample_modules: list[Path]) -> None:
    for path in sample_modules:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_modules_pass_ruff(sample_modules: list[Path]) -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
         *map(str, sample_modules)],
        check=False, capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _mypy(paths: list[Path], cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "mypy"), "--follow-imports=silent", "--cache-dir", str(cache),
         *map(str, paths)],
        check=False, capture_output=True, text=True, cwd=ROOT,
    )


def _stateful(path: Path) -> bool:
    return "Aggregate(" in path.read_text(encoding="utf-8")


def test_modules_pass_mypy(sample_modules: list[Path], tmp_path: Path) -> None:
    stateless = [p for p in sample_modules if not _stateful(p)]
    assert len(stateless) >= 5
    result = _mypy(stateless, tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(stateless)} source files" in result.stdout


def test_aggregate_modules_pass_mypy(sample_modules: list[Path], tmp_path: Path) -> None:
    stateful = [p for p in sample_modules if _stateful(p)]
    assert stateful, "no checked-in module with an aggregate"
    result = _mypy(stateful, tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- determinism

HEADER = re.compile(
    r"# Generated by sqlc (?P<version>\S+) from (?P<path>.+) "
    r"\(sha256:(?P<hex>[0-9a-f]+)\)\. Do not edit\.$"
)
EXAMPLES = ["examples/s01_latency_classes.sql", "examples/s02_failed_requests.sql"]


def _compile_example(relative: str) -> str:
    compiled = compile_source(read_source(ROOT / relative), [CATALOG], relative)
    assert compiled.module is not None
    return compiled.module


@pytest.mark.parametrize("relative", EXAMPLES)
def test_same_sql_same_bytes(relative: str, tmp_path: Path) -> None:
    first = _compile_example(relative)
    assert _compile_example(relative) == first
    for seed in ("0", "4242"):
        out = tmp_path / f"seed{seed}.py"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [str(BIN / "sqlc"), "compile", relative, "--catalog", "examples/catalog.sql",
             "-o", str(out)],
            check=False, capture_output=True, text=True, cwd=ROOT, env=env,
        )
        assert result.returncode == 0, result.stderr
        assert out.read_bytes() == first.encode("utf-8"), f"PYTHONHASHSEED={seed} differs"


@pytest.mark.parametrize("relative", EXAMPLES)
def test_header_names_version_path_and_hash(relative: str) -> None:
    text = (ROOT / relative).read_text(encoding="utf-8")
    first_line = _compile_example(relative).splitlines()[0]
    match = HEADER.fullmatch(first_line)
    assert match, first_line
    assert match["version"] == compiler.__version__
    assert match["path"] == relative
    assert len(match["hex"]) >= 12
    assert hashlib.sha256(text.encode("utf-8")).hexdigest().startswith(match["hex"])
    # the hash follows the SQL: a one-character edit changes it
    edited = compile_text(text + "\n-- edited\n", path=relative).splitlines()[0]
    assert HEADER.fullmatch(edited)["hex"] != match["hex"]  # type: ignore[index]


# ------------------------------------------------------------------- secrets

SECRET_DDL = """
CREATE STREAM secured (
    id VARCHAR NOT NULL,
    v BIGINT,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'secured',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'properties.sasl.jaas.config' = 'user="app" password="${PG_SECRET}"',
    'properties.sasl.password' = '${PG_SECRET}'
);

CREATE TABLE accounts (
    id VARCHAR,
    tier VARCHAR,
    PRIMARY KEY (id) NOT ENFORCED
) WITH (
    'connector' = 'postgres',
    'url' = 'postgresql://db.internal/app',
    'table-name' = 'accounts',
    'username' = 'app',
    'password' = '${PG_SECRET}'
);
"""
SECRET_VALUE = "hunter2-s3cr3t-VALUE"


def test_secrets_are_never_written_into_modules(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "catalog.sql"
    catalog.write_text(SECRET_DDL, encoding="utf-8")
    query = tmp_path / "q.sql"
    query.write_text("SELECT id, v FROM secured WHERE v > 0;\n", encoding="utf-8")
    monkeypatch.setenv("PG_SECRET", SECRET_VALUE)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker.internal:9092")

    module = compile_text(query.read_text(encoding="utf-8"), catalogs=[catalog])
    assert SECRET_VALUE not in module
    assert "broker.internal" not in module
    assert "'${PG_SECRET}'" in module or '"${PG_SECRET}"' in module  # the reference stays

    out = tmp_path / "q.py"
    env = {**os.environ, "PG_SECRET": SECRET_VALUE}
    joined = tmp_path / "joined.sql"  # a lookup join: EXPLAIN only so far
    joined.write_text("SELECT s.id, a.tier FROM secured s JOIN accounts "
                      "FOR SYSTEM_TIME AS OF s.event_time AS a ON s.id = a.id;\n",
                      encoding="utf-8")
    for argv in (["compile", str(query), "--catalog", str(catalog), "-o", str(out)],
                 ["explain", str(query), "--catalog", str(catalog)],
                 ["explain", str(joined), "--catalog", str(catalog)]):
        result = subprocess.run([str(BIN / "sqlc"), *argv], check=False, capture_output=True,
                                text=True, cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert SECRET_VALUE not in result.stdout + result.stderr
    assert "${PG_SECRET}" in out.read_text(encoding="utf-8")
    assert SECRET_VALUE not in out.read_text(encoding="utf-8")


FILE_SOURCE_DDL = """
CREATE STREAM filed (
    id VARCHAR NOT NULL,
    v BIGINT,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND
) WITH ('connector' = 'file', 'path' = '${SQLC_TEST_MISSING_PATH}', 'format' = 'json');
"""


def test_missing_environment_variable_is_a_clear_error(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.sql"
    catalog.write_text(FILE_SOURCE_DDL, encoding="utf-8")
    module = tmp_path / "q.py"
    module.write_text(compile_text("SELECT id, v FROM filed WHERE v > 1", catalogs=[catalog]),
                      encoding="utf-8")
    assert "${SQLC_TEST_MISSING_PATH}" in module.read_text(encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "SQLC_TEST_MISSING_PATH"}
    env["PYTHONPATH"] = str(ROOT)

    result = subprocess.run([PYTHON, str(module)], check=False, capture_output=True, text=True,
                            cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "SQLC_TEST_MISSING_PATH" in result.stderr
    assert "not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""

    # the same module runs once the variable names a file: it is resolved at start-up
    events = tmp_path / "events.jsonl"
    events.write_text('{"id": "a", "v": 1, "ts": 1}\n{"id": "b", "v": 5, "ts": 2}\n',
                      encoding="utf-8")
    env["SQLC_TEST_MISSING_PATH"] = str(events)
    result = subprocess.run([PYTHON, str(module)], check=False, capture_output=True, text=True,
                            cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"id": "b", "v": 5}]
