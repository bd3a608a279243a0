"""The expression emitter: a bound expression -> Python source over a batch."""

from __future__ import annotations

from compiler import logical as lg
from compiler.codegen.text import literal
from compiler.functions import NONDETERMINISTIC, OPERATORS, SCALARS


class ExprEmitter:
    """Python source for a bound expression over the columns of ``schema``."""

    def __init__(self, schema: lg.Schema, batch: str = "batch"):
        self.schema = schema
        self.batch = batch

    def emit(self, expr: lg.BoundExpr) -> str:
        if isinstance(expr, lg.ColumnRef):
            return f"{self.batch}[{self.schema[expr.index].name!r}]"
        if isinstance(expr, lg.Const):
            return literal(expr.value)
        args = [self.emit(a) for a in expr.args]
        fn = expr.fn
        if fn in ("CAST", "TRY_CAST"):
            # TIMESTAMP, DATE and TIME are all int64 underneath: say which one it is
            source = expr.args[0].type
            from_type = "" if source.is_null else f", {source.sql()!r}"
            return f"sql.{OPERATORS[fn]}({args[0]}, {expr.type.sql()!r}{from_type})"
        if fn in ("EXTRACT", "DATE_FORMAT"):
            temporal = expr.args[1] if fn == "EXTRACT" else expr.args[0]
            name = OPERATORS.get(fn) or SCALARS[fn].runtime
            return f"sql.{name}({', '.join(args)}, {temporal.type.sql()!r})"
        if fn == "CURRENT_WATERMARK":  # what held when each row arrived
            return f"sql.current_watermark({self.batch}.watermarks, {self.batch}.num_rows)"
        if fn == "ELEMENT_AT":  # the element's storage kind: the column it becomes
            return f"sql.element_at({args[0]}, {args[1]}, {expr.type.storage!r})"
        if fn == "CASE":
            conditions = ", ".join(args[0:-1:2])
            values = ", ".join(args[1:-1:2])
            return f"sql.case_when([{conditions}], [{values}], {args[-1]})"
        if fn in ("IN", "NOT IN"):
            return f"sql.{OPERATORS[fn]}({args[0]}, [{', '.join(args[1:])}])"
        if fn in NONDETERMINISTIC and not expr.args:
            return f"sql.{SCALARS[fn].runtime}({self.batch}.num_rows)"
        if fn in OPERATORS:
            return f"sql.{OPERATORS[fn]}({', '.join(args)})"
        if fn in SCALARS:
            return f"sql.{SCALARS[fn].runtime}({', '.join(args)})"
        raise TypeError(f"no runtime function for {fn}")

    def column(self, expr: lg.BoundExpr) -> str:
        """Like ``emit``, but always a column of the batch's length: a constant
        (SELECT 'x' AS a, SUM(1)) becomes a constant column."""
        if isinstance(expr, lg.Const):
            return (f"sql.literal({literal(expr.value)}, {self.batch}.num_rows, "
                    f"{expr.type.sql()!r})")
        if expr.type.name in ("ARRAY", "MAP") and not lg.referenced(expr):
            # a container of constants is not folded: its one row, repeated
            return f"sql.constant_rows({self.emit(expr)}, {self.batch}.num_rows)"
        return self.emit(expr)

    def mask(self, expr: lg.BoundExpr) -> str:
        """The rows a condition keeps, as a boolean array."""
        if isinstance(expr, lg.Const):
            return f"sql.filter_mask({literal(expr.value)}, {self.batch}.num_rows)"
        return f"sql.filter_mask({self.emit(expr)})"
