"""sqlglot statements and queries -> ``compiler.ast``, keeping spans.

``StatementConverter`` converts what sqlglot parsed itself: INSERT, queries
(SELECT, set operations, CTEs, LIMIT), FROM items and joins, MATCH_RECOGNIZE
and GROUP BY with GROUPING SETS / ROLLUP / CUBE. Statements the dialect owns
(CREATE, DROP, SHOW, DESCRIBE, EXPLAIN) and window TVFs arrive already built,
carried by ``_Node``.
"""

from __future__ import annotations

from sqlglot import exp

from compiler import ast
from compiler.errors import SqlSyntaxError, UnsupportedError
from compiler.parse.expressions import ExpressionConverter, _Node


class StatementConverter(ExpressionConverter):
    """Turns sqlglot statements and queries into ``compiler.ast`` nodes."""

    # -- statements --------------------------------------------------------------

    def statement(self, node: exp.Expression) -> ast.Statement:
        if isinstance(node, _Node):
            return node.args["node"]
        if isinstance(node, exp.Insert):
            target = node.this
            columns: tuple[str, ...] = ()
            if isinstance(target, exp.Schema):
                columns = tuple(c.name for c in target.expressions)
                target = target.this
            if node.expression is None:
                return self.fail(SqlSyntaxError, "Expected a SELECT query after INSERT INTO "
                                 f"{self.table_name(target)}", node)
            return ast.Insert(
                self.table_name(target), self.query(node.expression), columns,
                target_span=self.sp(target.this if isinstance(target, exp.Table) else target),
                span=self.sp(node),
            )
        if isinstance(node, (exp.Query, exp.Values)):
            return ast.QueryStatement(self.query(node), span=self.sp(node))
        if isinstance(node, exp.Command):
            return self.fail(UnsupportedError, f"Unsupported statement: {node.this}", node)
        return self.fail(UnsupportedError, f"Unsupported statement: {node.key.upper()}", node)

    def table_name(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Table):
            return ".".join(p.name for p in node.parts)
        return node.name

    # -- queries ---------------------------------------------------------------------

    def query(self, node: exp.Expression) -> ast.Query:
        if isinstance(node, exp.Subquery) and not node.alias:
            inner = self.query(node.this)
            return inner
        ctes = tuple(
            ast.CTE(cte.alias, self.query(cte.this), span=self.sp(cte))
            for cte in (node.args.get("with_") or node.args.get("with") or exp.With()).expressions
        )
        emit = node.meta.get("sqlc_emit")
        order_by = self.order(node.args.get("order"))
        limit = self.limit(node)
        offset = self.offset(node, limit, order_by)
        if isinstance(node, exp.SetOperation):
            if isinstance(node, exp.Union):
                op = "UNION" if node.args.get("distinct") else "UNION ALL"
            else:
                op = "INTERSECT" if isinstance(node, exp.Intersect) else "EXCEPT"
                op += "" if node.args.get("distinct") else " ALL"
            return ast.SetOp(
                op,
                self.query(node.this),
                self.query(node.expression),
                order_by,
                limit,
                emit,
                ctes,
                op_span=node.meta.get("sqlc_op_span") or self.sp(node),
                span=self.sp(node),
            )
        if isinstance(node, exp.Values) and not node.alias:
            # VALUES (...), (...) as a query (INSERT INTO t VALUES ...): SELECT * of it
            return ast.Select((ast.SelectItem(ast.Star(span=self.sp(node)), None,
                                              span=self.sp(node)),),
                              self.values(node), ctes=ctes, span=self.sp(node))
        if not isinstance(node, exp.Select):
            return self.fail(SqlSyntaxError, f"Expected a SELECT query, found {node.key.upper()}",
                             node)
        # WINDOW w AS (...): what OVER w in this SELECT stands for (not in subqueries)
        outer_windows = getattr(self, "named_windows", {})
        self.named_windows = {w.this.name.lower(): w for w in node.args.get("windows") or []}
        try:
            return self._select(node, order_by, limit, offset, emit, ctes)
        finally:
            self.named_windows = outer_windows

    def _select(self, node: exp.Select, order_by, limit, offset, emit, ctes) -> ast.Select:
        relation = self.from_clause(node)
        match = node.args.get("match")
        if match is not None:
            relation = self.match_recognize(match, relation)
        group = node.args.get("group")
        return ast.Select(
            items=tuple(self.select_item(e) for e in node.expressions),
            from_=relation,
            where=self.expr(node.args["where"].this) if node.args.get("where") else None,
            group_by=self.group_by(group) if group else (),
            having=self.expr(node.args["having"].this) if node.args.get("having") else None,
            order_by=order_by,
            limit=limit,
            offset=offset,
            distinct=bool(node.args.get("distinct")),
            emit=emit,
            ctes=ctes,
            span=self.sp(node),
        )

    def limit(self, node: exp.Expression, clause: str = "limit") -> int | None:
        """LIMIT n (or, with ``clause='offset'``, OFFSET m): an integer literal."""
        limit = node.args.get(clause)
        if limit is None:
            return None
        value = limit.expression
        if not (isinstance(value, exp.Literal) and not value.is_string and value.is_int):
            return self.fail(SqlSyntaxError, f"{clause.upper()} takes an integer literal",
                             value)
        return int(value.this)

    def offset(self, node: exp.Expression, limit: int | None, order_by: tuple) -> int | None:
        """OFFSET m, with or without LIMIT n, on a stream without ORDER BY (the m
        rows that arrive first are skipped; without LIMIT every later row goes
        on, as Flink's Limit with no fetch); elsewhere refused, never ignored."""
        offset = self.limit(node, "offset")
        if offset is None:
            return None
        where = node.args["offset"]
        if order_by or not isinstance(node, exp.Select):
            return self.fail(UnsupportedError, "OFFSET runs only on a SELECT without ORDER BY "
                             "(the rows that arrive first are skipped)", where)
        return offset

    def select_item(self, node: exp.Expression) -> ast.SelectItem:
        if isinstance(node, exp.Alias):
            return ast.SelectItem(self.expr(node.this), node.alias, span=self.sp(node))
        return ast.SelectItem(self.expr(node), None, span=self.sp(node))

    def from_clause(self, node: exp.Select) -> ast.Relation | None:
        from_ = node.args.get("from_") or node.args.get("from")
        if from_ is None:
            return None
        relation = self.relation(from_.this)
        for join in node.args.get("joins") or []:
            relation = self.join(relation, join)
        return relation

    def join(self, left: ast.Relation, join: exp.Join) -> ast.Join:
        side = (join.side or "").upper()
        kind = (join.kind or "").upper()
        if (join.method or "").upper() == "NATURAL":
            return self.fail(UnsupportedError,
                             "NATURAL JOIN is not supported; write JOIN ... ON or USING (...)",
                             join)
        if kind == "CROSS" or join.meta.get("sqlc_comma"):
            join_kind = "CROSS"
        elif side in ("LEFT", "RIGHT", "FULL"):
            join_kind = side
        else:
            join_kind = "INNER"
        on = join.args.get("on")
        using = tuple(ast.Column(u.name, span=self.sp(u)) for u in join.args.get("using") or [])
        return ast.Join(
            join_kind,
            left,
            self.relation(join.this),
            self.expr(on) if on is not None else None,
            using,
            span=self.sp(join),
        )

    def relation(self, node: exp.Expression) -> ast.Relation:
        if isinstance(node, _Node):
            return node.args["node"]
        if isinstance(node, exp.Table):
            if not isinstance(node.this, exp.Identifier):
                return self.fail(UnsupportedError, "Unsupported table expression", node)
            version = node.args.get("version")
            system_time = None
            if version is not None:
                system_time = self.expr(version.expression)
            return ast.TableRef(
                self.table_name(node), node.alias or None, system_time, span=self.sp(node)
            )
        if isinstance(node, exp.Subquery):
            return ast.SubqueryRef(self.query(node.this), node.alias or None, span=self.sp(node))
        if isinstance(node, exp.Unnest) and len(node.expressions) == 1 and not node.args.get(
                "offset"):
            alias = node.args.get("alias")
            columns = tuple(c.name for c in alias.columns) if alias is not None else ()
            return ast.Unnest(self.expr(node.expressions[0]), node.alias or None, columns,
                              span=self.sp(node))
        if isinstance(node, exp.Values):
            return self.values(node)
        return self.fail(UnsupportedError, f"Unsupported FROM item: {node.sql()}", node)

    def values(self, node: exp.Values) -> ast.Values:
        rows = []
        for row in node.expressions:
            cells = row.expressions if isinstance(row, exp.Tuple) else [row]
            rows.append(tuple(self.expr(c) for c in cells))
        alias = node.args.get("alias")
        columns = tuple(c.name for c in alias.columns) if alias is not None else ()
        return ast.Values(tuple(rows), node.alias or None, columns, span=self.sp(node))

    def match_recognize(self, node: exp.MatchRecognize, relation: ast.Relation | None
                        ) -> ast.MatchRecognize:
        if relation is None:
            return self.fail(SqlSyntaxError, "MATCH_RECOGNIZE needs a FROM table", node)
        measures = []
        for measure in node.args.get("measures") or []:
            measures.append(self.select_item(measure.this))
        define = []
        for item in node.args.get("define") or []:
            name = item.args.get("alias")
            define.append(ast.Define(item.alias, self.expr(item.this),
                                     name_span=self.sp(name) if name else self.sp(item),
                                     span=self.sp(item)))
        pattern = node.args.get("pattern")
        rows = node.args.get("rows")
        after = node.args.get("after")
        alias = node.args.get("alias")
        within = node.meta.get("sqlc_within")
        return ast.MatchRecognize(
            input=relation,
            partition_by=tuple(self.expr(e) for e in node.args.get("partition_by") or []),
            order_by=self.order(node.args.get("order")),
            measures=tuple(measures),
            pattern=pattern.name if pattern is not None else "",
            define=tuple(define),
            after_match=after.name.removeprefix("AFTER MATCH ") if after is not None else None,
            rows_per_match=rows.name if rows is not None else None,
            within=self.expr(within) if within is not None else None,
            alias=alias.name if alias is not None else None,
            span=self.sp(node),
            pattern_span=self.sp(pattern) if pattern is not None else self.sp(node),
            rows_span=self.sp(rows) if rows is not None else self.sp(node),
            after_variable_span=(after.meta.get("sqlc_variable_span") if after is not None
                                 else None) or self.sp(node),
        )

    def group_by(self, node: exp.Group) -> tuple[ast.GroupItem, ...]:
        items: list[ast.GroupItem] = []
        elements = list(node.expressions)
        for key in ("grouping_sets", "rollup", "cube"):
            elements.extend(node.args.get(key) or [])
        for element in elements:
            if isinstance(element, exp.GroupingSets):
                sets = tuple(self.grouping_set(s) for s in element.expressions)
                items.append(ast.GroupingSets(sets, span=self.sp(element)))
            elif isinstance(element, exp.Rollup):
                exprs = [self.expr(e) for e in element.expressions]
                sets = tuple(tuple(exprs[:i]) for i in range(len(exprs), -1, -1))
                items.append(ast.GroupingSets(sets, "ROLLUP", span=self.sp(element)))
            elif isinstance(element, exp.Cube):
                exprs = [self.expr(e) for e in element.expressions]
                n = len(exprs)
                sets = tuple(
                    tuple(exprs[i] for i in range(n) if mask & (1 << (n - 1 - i)))
                    for mask in range((1 << n) - 1, -1, -1)
                )
                items.append(ast.GroupingSets(sets, "CUBE", span=self.sp(element)))
            else:
                items.append(self.expr(element))
        return tuple(items)

    def grouping_set(self, node: exp.Expression) -> tuple[ast.Expr, ...]:
        if isinstance(node, exp.Tuple):
            return tuple(self.expr(e) for e in node.expressions)
        if isinstance(node, exp.Paren):
            return (self.expr(node.this),)
        return (self.expr(node),)
