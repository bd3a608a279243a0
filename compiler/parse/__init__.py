"""Parse: SQL text -> ``compiler.ast.Script``. The only package that imports sqlglot.

sqlglot parses standard SQL; ``SqlcDialect`` subclasses its tokenizer and parser
for what Flink SQL and the spec add (``CREATE STREAM``, computed columns,
``WATERMARK FOR``, ``METADATA FROM``, window TVFs with positional or named
arguments and ``PARTITION BY``, ``EMIT``, ``SHOW``/``DESCRIBE``/``EXPLAIN``,
plural interval units, ``MATCH_RECOGNIZE``, ``FOR SYSTEM_TIME AS OF``).
Statements the dialect owns are parsed straight into ``compiler.ast`` nodes;
everything else is converted from sqlglot's tree by ``StatementConverter``.

Every node keeps its source span: the parser records, for each expression
it builds, the first and last token it consumed (``_with_span``).

    >>> script = parse_sql("SELECT model_id FROM llm_requests WHERE latency_ms > 1000")
    >>> script.statements[0].query.where
    Binary(op='>', left=Column(name='latency_ms', table=None), right=Literal(value=1000, kind='integer'))

The modules, in the order a statement goes through them:

==============  ===============================================================
script.py       ``parse_script`` / ``parse_sql``: tokens cut into statements,
                each parsed and converted, every error collected
dialect.py      ``SqlcDialect``, ``SqlcTokenizer``, ``SqlcParser``: statement
                dispatch, DESCRIBE, EXPLAIN, window TVFs, EMIT, spans
ddl.py          ``DdlParser``: CREATE STREAM/TABLE/VIEW, DROP, SHOW
base.py         ``ParserBase``: where errors point, names and column references
statements.py   ``StatementConverter``: INSERT, queries, FROM, joins, GROUP BY
expressions.py  ``ExpressionConverter``: expressions, calls, types, intervals
errors.py       ``ConversionError``, ``span_of``, sqlglot's messages rephrased
==============  ===============================================================
"""

from compiler.parse.script import parse_script, parse_sql

__all__ = ["parse_script", "parse_sql"]
