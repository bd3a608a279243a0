"""One emitter per physical operator, by class: the operators that run.

Each family has its module: ``sources`` (sources and Calc), ``aggregates``
(window and group aggregates), ``joins`` (interval, regular, temporal, lookup), ``sort``,
``over`` (OVER aggregates), ``window_tvf`` (window TVF rows), ``rank`` (Top-N,
with and without windows), ``match_recognize`` (MATCH_RECOGNIZE), ``union``,
``correlate`` (UNNEST), ``limit`` and ``sink``. An operator missing from ``EMITTERS``
compiles and EXPLAINs but is refused by codegen with the words of ``NOT_YET``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from compiler.codegen.emit.base import Emitter
from compiler.physical import (
    CalcExec,
    CorrelateExec,
    DeduplicateExec,
    Exec,
    GroupAggregateExec,
    IntervalJoinExec,
    JoinExec,
    LimitExec,
    LookupJoinExec,
    MatchExec,
    OverAggregateExec,
    RankExec,
    SessionWindowRowsExec,
    SinkExec,
    SourceExec,
    TemporalJoinExec,
    TemporalSortExec,
    UnionExec,
    WindowAggregateExec,
    WindowRankExec,
    WindowTableFunctionExec,
)


class _Emitters(Mapping[type[Exec], Emitter]):
    """The emitter of each operator class, its family's module imported when a
    plan first has one of its operators (a query without joins, MATCH_RECOGNIZE
    or OVER does not load their emitters: `sqlc compile one.sql` is a build step)."""

    def __init__(self, where: dict[type[Exec], tuple[str, str]]) -> None:
        self._where = where  # class -> (module in compiler/codegen/emit, its emitter's name)
        self._loaded: dict[type[Exec], Emitter] = {}

    def __getitem__(self, cls: type[Exec]) -> Emitter:
        emitter = self._loaded.get(cls)
        if emitter is None:
            module, name = self._where[cls]  # KeyError: an operator without an emitter
            emitter = getattr(importlib.import_module(f"{__name__}.{module}"), name)
            self._loaded[cls] = emitter
        return emitter

    def __iter__(self) -> Iterator[type[Exec]]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


EMITTERS: Mapping[type[Exec], Emitter] = _Emitters({
    SourceExec: ("sources", "SOURCE"),
    CalcExec: ("sources", "CALC"),
    CorrelateExec: ("correlate", "CORRELATE"),
    WindowAggregateExec: ("aggregates", "WINDOW_AGGREGATE"),
    GroupAggregateExec: ("aggregates", "GROUP_AGGREGATE"),
    IntervalJoinExec: ("joins", "INTERVAL_JOIN"),
    JoinExec: ("joins", "JOIN"),
    LookupJoinExec: ("joins", "LOOKUP_JOIN"),
    TemporalJoinExec: ("joins", "TEMPORAL_JOIN"),
    TemporalSortExec: ("sort", "TEMPORAL_SORT"),
    OverAggregateExec: ("over", "OVER_AGGREGATE"),
    MatchExec: ("match_recognize", "MATCH_RECOGNIZE"),
    UnionExec: ("union", "UNION"),
    SinkExec: ("sink", "SINK"),
    WindowTableFunctionExec: ("window_tvf", "WINDOW_TABLE_FUNCTION"),
    SessionWindowRowsExec: ("window_tvf", "SESSION_WINDOW_ROWS"),
    WindowRankExec: ("rank", "WINDOW_RANK"),
    RankExec: ("rank", "RANK"),
    DeduplicateExec: ("rank", "DEDUPLICATE"),
    LimitExec: ("limit", "LIMIT"),
})

# what users are told an operator without an emitter is
NOT_YET: dict[type[Exec], str] = {}
