"""Stateful streaming operators: what a generated module builds in ``Query.__init__``.

==========================  ==================================================
module                      operator (Flink's name)
==========================  ==================================================
``windows``                 WindowAggregate: TUMBLE, HOP, CUMULATE (``panes``)
                            and SESSION (``sessions``) windows
``group_aggregate``         GroupAggregate: GROUP BY without a window
``aggregates``              the aggregate functions' state and numba kernels,
                            shared by both
``changelog``               the rows an updating result emitted last
``joins``                   IntervalJoin, Join (regular)
``lookup_join``             LookupJoin (the tables are in ``runtime_lib.io``)
``temporal_sort``           TemporalSort: ORDER BY event time
``limit``                   Limit: LIMIT n [OFFSET m] without ORDER BY
``over``                    OverAggregate: agg(x) OVER (... ORDER BY event time)
                            (kernels in ``over_kernels``)
``match_recognize``         Match: MATCH_RECOGNIZE, ONE ROW PER MATCH
==========================  ==================================================

Each operator keeps its state in numpy arrays and implements
``runtime_lib.state.Stateful`` (``snapshot()``/``restore(data)``).
"""
