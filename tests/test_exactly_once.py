"""Exactly-once through restarts, against the real broker (tests/exactly_once.py).

A pipeline reading a three-partition topic is killed with SIGKILL (or stopped
with SIGTERM) at random moments and restarted with the same --checkpoint-dir;
its final sink content must equal an uninterrupted run's: nothing lost,
nothing duplicated. This is the reduced form for CI (20,000 events, 3
interruptions per case, 12 of the 18 query/sink pairs); the full form
(200,000 events, 20 kills, every pair) is

    .venv/bin/python -m tests.exactly_once --events 200000 --kills 20

On tansu, records of aborted transactions reach read_committed consumers
(tests/services/README.md): such duplicates are counted apart (``aborted``)
and only they may remain; against a broker that hides them
(SQLC_TEST_KAFKA_BOOTSTRAP), none may.

The PostgreSQL sink (each query compiled as ``INSERT INTO`` a table of its own,
no key for an append-only result, so a row written twice is an extra row)
has no such exception: its table must hold exactly the reference rows.
"""

from __future__ import annotations

import signal

import pytest

from tests.exactly_once import QUERIES, kill_test

EVENTS_COPIES = 4  # 4 x 4,998 sample events


@pytest.fixture
def server(request, sink):
    """The PostgreSQL server for the postgres sink (started only for it)."""
    return request.getfixturevalue("postgres") if sink == "postgres" else None


#: CI's share of the full matrix (every query x every sink, ``python -m
#: tests.exactly_once``): every query into Kafka, the hardest sink, and each of
#: the other sinks under half of the queries
CASES = ([(query, "kafka") for query in QUERIES]
         + [(query, "file") for query in ("tumble_changes", "session", "interval_join")]
         + [(query, "postgres") for query in ("filter", "tumble", "group_by")])


@pytest.mark.parametrize(("query", "sink"), CASES)
def test_sigkill_loses_and_duplicates_nothing(kafka_broker, server, tmp_path, query, sink):
    outcome = kill_test(kafka_broker, tmp_path, query, sink, EVENTS_COPIES, restarts=3,
                        seed=sum(map(ord, query + sink)), postgres=server)
    print(outcome.row(), *outcome.notes, sep="\n  ")
    assert outcome.expected > 0
    assert outcome.lost == 0, outcome.row()
    if sink == "postgres":
        assert outcome.duplicated == 0, outcome.row()
    elif kafka_broker.is_tansu:
        assert outcome.duplicated == outcome.aborted, outcome.row()
    else:
        assert outcome.duplicated == 0, outcome.row()


@pytest.mark.parametrize(("query", "sink"), [("tumble", "kafka"), ("group_by", "kafka"),
                                           ("session", "postgres")])
def test_sigterm_restarts_replay_nothing(kafka_broker, server, tmp_path, query, sink):
    """A graceful stop takes a savepoint: nothing lost, nothing written twice,
    not even on tansu (no transaction is left to abort)."""
    outcome = kill_test(kafka_broker, tmp_path, query, sink, EVENTS_COPIES, restarts=3,
                        sig=signal.SIGTERM, seed=7, postgres=server)
    print(outcome.row(), *outcome.notes, sep="\n  ")
    assert (outcome.lost, outcome.duplicated) == (0, 0), outcome.row()
