"""One emitter per physical operator, by class: the operators that run.

Each family has its module: ``sources`` (sources and Calc), ``aggregates``
(window and group aggregates), ``joins`` (interval, regular, temporal, lookup), ``sort``,
``over`` (OVER aggregates), ``window_tvf`` (window TVF rows), ``rank`` (Top-N,
with and without windows), ``match_recognize`` (MATCH_RECOGNIZE), ``union``,
``correlate`` (UNNEST), ``limit`` and ``sink``. An operator missing from ``EMITTERS``
compiles and EXPLAINs but is refused by codegen with the words of ``NOT_YET``.
"""

from __future__ import annotations

from compiler.codegen.emit.aggregates import GROUP_AGGREGATE, WINDOW_AGGREGATE
from compiler.codegen.emit.base import Emitter
from compiler.codegen.emit.correlate import CORRELATE
from compiler.codegen.emit.joins import INTERVAL_JOIN, JOIN, LOOKUP_JOIN, TEMPORAL_JOIN
from compiler.codegen.emit.limit import LIMIT
from compiler.codegen.emit.match_recognize import MATCH_RECOGNIZE
from compiler.codegen.emit.over import OVER_AGGREGATE
from compiler.codegen.emit.rank import DEDUPLICATE, RANK, WINDOW_RANK
from compiler.codegen.emit.sink import SINK
from compiler.codegen.emit.sort import TEMPORAL_SORT
from compiler.codegen.emit.sources import CALC, SOURCE
from compiler.codegen.emit.union import UNION
from compiler.codegen.emit.window_tvf import SESSION_WINDOW_ROWS, WINDOW_TABLE_FUNCTION
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

EMITTERS: dict[type[Exec], Emitter] = {
    SourceExec: SOURCE,
    CalcExec: CALC,
    CorrelateExec: CORRELATE,
    WindowAggregateExec: WINDOW_AGGREGATE,
    GroupAggregateExec: GROUP_AGGREGATE,
    IntervalJoinExec: INTERVAL_JOIN,
    JoinExec: JOIN,
    LookupJoinExec: LOOKUP_JOIN,
    TemporalJoinExec: TEMPORAL_JOIN,
    TemporalSortExec: TEMPORAL_SORT,
    OverAggregateExec: OVER_AGGREGATE,
    MatchExec: MATCH_RECOGNIZE,
    UnionExec: UNION,
    SinkExec: SINK,
    WindowTableFunctionExec: WINDOW_TABLE_FUNCTION,
    SessionWindowRowsExec: SESSION_WINDOW_ROWS,
    WindowRankExec: WINDOW_RANK,
    RankExec: RANK,
    DeduplicateExec: DEDUPLICATE,
    LimitExec: LIMIT,
}

# what users are told an operator without an emitter is
NOT_YET: dict[type[Exec], str] = {}
