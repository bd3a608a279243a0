"""One module per page of Flink's documentation; ``ALL_PAGES`` in the order of
the docs' navigation (queries, then CREATE, then functions)."""

from tests.flink_docs.pages import (
    create_table,
    functions,
    group_agg,
    joins,
    match_recognize,
    over_agg,
    set_ops,
    topn,
    window_agg,
    window_join,
    window_topn,
    window_tvf,
)

ALL_PAGES = [*window_tvf.PAGES, *window_agg.PAGES, *group_agg.PAGES, *over_agg.PAGES,
             *joins.PAGES, *window_join.PAGES, *set_ops.PAGES, *topn.PAGES, *window_topn.PAGES,
             *match_recognize.PAGES, *create_table.PAGES, *functions.PAGES]
