"""What generated modules import at run time (no sqlglot, jinja2 or black).

The layout is the architecture:

* ``pipeline`` -- what a generated ``Query`` is (``Pipeline``, ``Source``,
  ``Output``) and ``run``: flags, opening sources and sinks, the summary;
  ``driver`` -- the loop: reads sources, computes watermarks, calls the
  ``Query``, commits offsets; ``recovery`` and ``checkpoint`` -- checkpoints,
  restoring them, exactly-once commits.
* ``operators/`` -- the stateful operators a ``Query`` builds: ``windows/``
  (TUMBLE/HOP/CUMULATE ``panes``, ``sessions``), ``group_aggregate``,
  ``aggregates/`` (aggregate state and its numba kernels), ``joins/``
  (interval and regular), ``lookup_join``, ``temporal_sort``.
* ``io/`` -- sources that report and seek to a position (``sources``, Kafka),
  decoders, sinks (files, stdout, Kafka in ``kafka``, PostgreSQL tables in
  ``postgres_sink``), and the lookup tables (``tables/``).
* ``functions/`` -- the vectorized SQL scalar functions, by family; the
  generated code imports the package as ``sql``.
* Shared pieces: ``columns`` (Column, Batch), ``schema`` (SQL type -> storage
  kind), ``codes`` and ``keys`` (dictionary encoding of keys), ``watermarks``,
  ``temporal`` (timestamp text), ``env`` (``${VAR}`` in properties),
  ``state`` (the ``Stateful`` protocol of checkpoints), ``jit`` and
  ``kernel_registry`` (numba kernels and their references).
"""

from runtime_lib import stopping as _stopping

# first thing, before numpy and numba load: a stop while a pipeline starts is clean
_stopping.install_early()
