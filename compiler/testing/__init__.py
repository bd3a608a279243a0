"""``sqlc test``: offline fixture tests of queries, next to the queries.

A query ``q01_request_rate.sql`` is tested by ``q01_request_rate.test.yaml``
beside it (``query:`` names another file). The format is dbt-unit-test-like,
given/expect, one file per query, several cases per file::

    query: q01_request_rate.sql        # optional: default is <stem>.sql beside this file
    catalog: [catalog.sql]             # optional: default is the project's [tool.sqlc] catalog
    tests:
      - name: two models in the first minute
        given:                         # per source, rows in arrival order
          llm_requests:
            - {model_id: gpt-4o, timestamp_ms: 2025-11-10 10:00:05}
            - {model_id: gpt-4o, timestamp_ms: 1762768810000}
            - {watermark: 2025-11-10 10:01:00}   # explicit: the watermark moves up to it here
            - raw: '{"model_id": '    # a line as-is: a malformed record
          model_configs:               # a lookup table: its rows
            - {model_id: gpt-4o, max_tokens: 4096}
          user_feedback:
            file: data/feedback.jsonl  # or a JSON-lines / CSV file (relative to this file)
        expect:
          rows:                        # the final result (a changelog folded by its key)
            - {model_id: gpt-4o, window_start: 2025-11-10 10:00:00, request_count: 2}
          late_rows: 0                 # a count, or rows (only the columns given are compared)
          dead_letters:                # a count, or dead letters (subset: source, reason, raw)
            - {source: llm_requests}
        # options
        ordered: false                 # rows in this order (default: any order)
        tolerance: 1.0e-9              # relative and absolute, for floats
        batch_sizes: [1, 7, 4096]      # each run must meet the expectation
        now: 2025-11-10T13:00:00Z      # CURRENT_TIMESTAMP & co.

``expect: changelog:`` instead of ``rows:`` lists every emitted row with its
``op`` (+I, -U, +U, -D), in order (``ordered: false`` to ignore it); it runs at
batch size 1 unless ``batch_sizes`` says otherwise, since how often an
updating result emits depends on the micro-batches.

Values: a YAML timestamp (``2025-11-10 10:00:05``, UTC) given for a BIGINT
source column is its epoch milliseconds; elsewhere it is the text
``2025-11-10 10:00:05.000``, as outputs print timestamps.

A ``{watermark: T}`` entry moves that source's watermark up to T after the
rows before it (it never goes back; the rows' own watermark, max event time
minus the WATERMARK delay, still applies too). A ``{processing_time: T}``
entry moves the clock (``now:``) to T: the rows after it are processed at T,
and processing-time windows that T has passed fire first; state TTLs expire by
the same clock.

The runner compiles the query (with the project's catalogs) and runs it in
this process with the driver of ``sqlc run``, on temporary files: every
output, INSERT INTO a Kafka or PostgreSQL sink too, goes to a file; no
Kafka, no database. ``sqlc test --update``
writes the observed results into the ``expect`` of each case whose
expectation fails (it keeps the keys, ``rows`` or ``changelog``, that a case
has), rewriting only those blocks (``rewrite.py``): comments and layout stay.
"""

from compiler.testing.files import Case, TestFile, TestFileError, find_test_files, load_test_file
from compiler.testing.runner import Observed, run_case

__all__ = ["Case", "Observed", "TestFile", "TestFileError", "find_test_files",
           "load_test_file", "run_case"]
