"""Everything codegen takes from ``runtime_lib``, in one place.

``RUNTIME_IMPORTS`` is the one table of the runtime symbols generated code
names (tests/test_runtime_names.py checks that each exists): a generated
module imports the ones it uses, from these modules. When a runtime symbol
moves, this table is the only thing to edit. The imports below are what
the compiler itself shares with the runtime at compile time.
"""

from __future__ import annotations

# (numba-free) aggregate functions that can take rows back; an aggregate call, and the
# names its accumulator is checkpointed under (the state layout records them)
from runtime_lib.aggregate_specs import RETRACTABLE, Agg, accumulator_names
from runtime_lib.names import identifier  # SQL name -> Python identifier, the runtime's rule

__all__ = ["RETRACTABLE", "Agg", "accumulator_names", "RUNTIME_IMPORTS", "SCALAR_MODULE", "identifier"]

# Every runtime symbol the generated code names, in one place (a test checks
# that each exists in runtime_lib).
RUNTIME_IMPORTS = {
    "runtime_lib.columns": ("Batch", "null_column", "unnest"),
    "runtime_lib.pipeline": ("Context", "Field", "Output", "Pipeline", "Source", "Watermark",
                             "main"),
    "runtime_lib.operators.aggregates": ("Agg",),
    "runtime_lib.operators.joins": ("IntervalJoin", "Join", "TemporalJoin"),
    "runtime_lib.operators.lookup_join": ("LookupJoin",),
    "runtime_lib.io.tables": ("open_lookup_table",),
    "runtime_lib.operators.temporal_sort": ("TemporalSort",),
    "runtime_lib.operators.limit": ("Limit",),
    "runtime_lib.operators.over": ("OverAggregate", "OverFn"),
    "runtime_lib.operators.window_tvf": ("window_rows",),
    "runtime_lib.operators.session_rows": ("SessionRows",),
    "runtime_lib.operators.window_rank": ("WindowRank",),
    "runtime_lib.operators.rank": ("Rank",),
    "runtime_lib.operators.deduplicate": ("Deduplicate",),
    "runtime_lib.operators.match_recognize": ("ACCEPT", "MatchAutomaton", "MatchRecognize",
                                              "MatchValue", "MatchVariable", "Unless"),
    "runtime_lib.watermarks": ("WM_MIN", "held_back", "processing_time"),
    "runtime_lib.operators.group_aggregate": ("GroupAggregate",),
    "runtime_lib.operators.windows": ("AfterWatermark", "Changes", "Cumulate", "Hop", "Session",
                                      "Tumble", "WindowAggregate"),
}
# the scalar functions, imported as ``sql`` (``sql.upper(...)``)
SCALAR_MODULE = "runtime_lib.functions"
