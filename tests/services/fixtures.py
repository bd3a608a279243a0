"""Pytest plugin: session-scoped fixtures that start real components.

Register it from tests/conftest.py with::

    pytest_plugins = ["tests.services.fixtures"]

(or run ``python -m pytest -p tests.services.fixtures`` from the repo root).

Fixtures (each started once per session, on first use, and stopped at the end):

- ``kafka_broker`` -> KafkaBroker: ``.bootstrap``, ``create_topic()``, ``produce()``,
  ``consume_all()``, ``consumer_config()``, ... (env SQLC_TEST_KAFKA_BOOTSTRAP)
- ``postgres`` -> PostgresServer: ``.dsn``, ``.host``, ``.port``, ``.user``,
  ``.password``, ``.dbname``, ``stop()``, ``start()``, ``connect()`` (env SQLC_TEST_POSTGRES_DSN)
- ``redis_server`` -> RedisServer: ``.url``, ``.host``, ``.port``, ``stop()``,
  ``start()``, ``client()`` (env SQLC_TEST_REDIS_URL)

A test that stops a server should make sure it is running again when it ends,
even on failure: use the function-scoped ``postgres_restartable`` /
``redis_restartable`` / ``kafka_restartable`` fixtures, which start the server
again after the test (and skip the test when the server is external).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ._proc import reap_orphans
from .kafka_service import KafkaBroker
from .postgres_service import PostgresServer
from .redis_service import RedisServer

_started: list[tuple[str, object, float]] = []
_reaped = False


def _reap_once() -> None:
    global _reaped
    if not _reaped:
        _reaped = True
        reap_orphans()


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    _reap_once()
    t0 = time.monotonic()
    broker = KafkaBroker.from_env()
    _started.append(("kafka", broker, time.monotonic() - t0))
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    _reap_once()
    t0 = time.monotonic()
    server = PostgresServer.from_env()
    _started.append(("postgres", server, time.monotonic() - t0))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    _reap_once()
    t0 = time.monotonic()
    server = RedisServer.from_env()
    _started.append(("redis", server, time.monotonic() - t0))
    try:
        yield server
    finally:
        server.close()


def _restartable(server):
    if not server.managed:
        pytest.skip(f"{server!r} is external: this test stops and starts it")
    try:
        yield server
    finally:
        server.start()


@pytest.fixture
def postgres_restartable(postgres: PostgresServer) -> Iterator[PostgresServer]:
    """``postgres``, for a test that stops it: started again after the test."""
    yield from _restartable(postgres)


@pytest.fixture
def redis_restartable(redis_server: RedisServer) -> Iterator[RedisServer]:
    """``redis_server``, for a test that stops it: started again after the test."""
    yield from _restartable(redis_server)


@pytest.fixture
def kafka_restartable(kafka_broker: KafkaBroker) -> Iterator[KafkaBroker]:
    """``kafka_broker``, for a test that stops it (all topics are lost then):
    started again after the test."""
    yield from _restartable(kafka_broker)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _started:
        return
    parts = []
    for name, svc, secs in _started:
        kind = "managed" if getattr(svc, "managed", False) else "external"
        init = getattr(svc, "init_seconds", None)
        extra = ""
        if init is not None:
            how = "template copy" if getattr(svc, "from_template", False) else "initdb"
            extra = f" (data dir: {how} {init:.2f}s)"
        parts.append(f"{name} [{kind}] {secs:.2f}s{extra}")
    terminalreporter.write_line("services started: " + ", ".join(parts))
