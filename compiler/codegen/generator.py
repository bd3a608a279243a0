"""The generator: walks the physical plans and collects the module's pieces.

Each source gets an ``on_<source>`` method that pushes its rows up the plan
(``Generator.chain``) through stateless operators to the next stateful one or
to a sink; each stateful operator gets its state in ``__init__`` and an
``on_<operator>`` method its output leaves by; ``advance`` fires what the
watermarks allow. What an operator's code looks like is its emitter's business
(``emit.EMITTERS``, by class); an operator without one is refused here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.codegen.emit import EMITTERS, NOT_YET, sink, sources
from compiler.codegen.emit.aggregates import processing_time_window
from compiler.codegen.text import comment
from compiler.errors import Diagnostic, Source, Span, UnsupportedError
from compiler.layout import output_filters, state_layout
from compiler.physical import (
    Exec,
    IntervalJoinExec,
    LookupJoinExec,
    SinkExec,
    SourceExec,
    TemporalJoinExec,
    WindowAggregateExec,
    walk,
)


@dataclass
class ModuleParts:
    """The pieces of a module as they are generated, and the names they took."""

    source: Source
    sources: list[str] = field(default_factory=list)
    source_names: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)  # "'source': self.on_source"
    operators: list[str] = field(default_factory=list)  # "'name': self.name", in flow order
    functions: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    layout: dict[str, dict] = field(default_factory=dict)  # Query.state_layout
    names: set[str] = field(default_factory=set)
    processing_time: bool = False  # a window fires by the clock (Pipeline.processing_time)

    def unique(self, base: str) -> str:
        name, n = base, 2
        while name in self.names:
            name, n = f"{base}_{n}", n + 1
        self.names.add(name)
        return name

    def where(self, span: Span) -> str:
        line, col = self.source.line_col(span.start)
        return comment(f"{self.source.path.rsplit('/', 1)[-1]}:{line}:{col}")

    def span_entry(self, name: str, span: Span) -> None:
        self.spans[name] = self.source.line_col(span.start)


def _post_order(root: Exec):
    for child in root.inputs:
        yield from _post_order(child)
    yield root


class Generator:
    def __init__(self, source: Source, roots: list[Exec]):
        self.m = ModuleParts(source)
        self.roots = roots
        self.parent: dict[int, Exec] = {}
        for root in roots:
            for e in walk(root):
                for child in e.inputs:
                    self.parent[id(child)] = e
        self.op_names: dict[int, str] = {}
        self.sink_index: dict[int, int] = {}
        self.stateful: list[tuple[Exec, str]] = []
        self.scans: dict[str, list[SourceExec]] = {}
        self.emitted: set[str] = set()

    def refuse_unsupported(self) -> None:
        """Every operator without an emitter, and what the emitters say does
        not run yet: all of it, in plan order, in one UnsupportedError."""
        problems: list[Diagnostic] = []
        for root in self.roots:
            for e in walk(root):
                emitter = EMITTERS.get(type(e))
                if emitter is None:
                    what = NOT_YET.get(type(e), e.name)
                    problems.append(Diagnostic(
                        "UnsupportedError",
                        f"{what} ({e.name}) compile and EXPLAIN but do not run yet",
                        e.span,
                    ))
                    continue
                problems += emitter.problems(e)
        if problems:
            raise UnsupportedError(problems, self.m.source)

    # -- naming -----------------------------------------------------------------

    def name_of(self, e: Exec) -> str:
        key = id(e)
        if key not in self.op_names:
            emitter = EMITTERS[type(e)]
            base = emitter.naming(self, e) if emitter.naming is not None else emitter.name
            self.op_names[key] = self.m.unique(base)
        return self.op_names[key]

    # -- the module -------------------------------------------------------------------

    def generate(self) -> None:
        self.refuse_unsupported()
        scans: dict[str, list[SourceExec]] = {}
        tables = {id(e.inputs[1]) for root in self.roots for e in walk(root)
                  if isinstance(e, LookupJoinExec)}
        for root in self.roots:
            for e in walk(root):
                if isinstance(e, SourceExec) and id(e) not in tables:
                    scans.setdefault(e.logical.source, []).append(e)
                if isinstance(e, SinkExec):
                    sink.output(self, e)
        # VALUES tables first: the driver reads its sources in this order, so their
        # rows are in a join's state before the first row of a stream arrives
        scans = dict(sorted(scans.items(), key=lambda item: item[1][0].logical.rows is None))
        self.scans = scans  # the sources read, by name (lookup tables are not)
        for source_name, execs in scans.items():
            sources.source(self, source_name, execs)
        # stateful operators in data-flow order (inputs first): state in __init__,
        # their output in a method each
        for root in self.roots:
            for e in _post_order(root):
                declare = EMITTERS[type(e)].declare
                if declare is not None:
                    declare(self, e)
        self.m.operators = [f"{name!r}: self.{name}" for _, name in self.stateful]
        after = output_filters(self.roots)
        self.m.layout = {name: state_layout(e, self.m.source.line_col(e.span.start)[0],
                                            after.get(id(e), ""))
                         for e, name in self.stateful}
        self.advance_method()

    def stateful_operator(self, e: Exec, name: str, doc: str,
                          prelude: list[str] = ()) -> None:
        """Register ``self.<name>`` as a stateful operator (checkpointed, listed
        in ``self.operators``) and write its ``on_<name>`` method: ``prelude``
        lines, then the push of its rows up the plan."""
        method = [f"    def on_{name}(self, batch: Batch) -> None:", f'        """{doc}"""',
                  *prelude]
        method += self.chain(e, "batch", "        ")
        self.m.methods.append("\n".join(method))
        self.stateful.append((e, name))

    def chain(self, start: Exec, var: str, indent: str) -> list[str]:
        """Code that pushes ``var`` (the output of ``start``) up to the next stateful
        operator or sink."""
        lines: list[str] = []
        current = start
        while True:
            parent = self.parent.get(id(current))
            if parent is None:
                return lines
            emitter = EMITTERS[type(parent)]
            assert emitter.push is not None, f"nothing pushes rows into {parent.name}"
            lines += emitter.push(self, parent, current, var, indent)
            if not emitter.inline:  # a stateful operator or a sink took the rows
                return lines
            current = parent

    def watermark_of(self, e: Exec, latest: bool = False) -> str:
        """The expression of the watermark that reaches operator ``e``'s output:
        from ``advance``'s argument, or (``latest``) from the latest watermarks
        the pipeline saw, while a batch is processed."""
        if isinstance(e, SourceExec):
            source = e.logical.source
            if latest or e.logical.watermark is None:  # none: processing time only
                return f"self.watermarks.get({source!r}, WM_MIN)" if latest else \
                    f"watermarks.get({source!r}, WM_MIN)"
            return f"watermarks[{source!r}]"
        if isinstance(e, LookupJoinExec):
            # a lookup table has no watermark: the stream side's passes through
            return self.watermark_of(e.inputs[0], latest)
        if isinstance(e, IntervalJoinExec):
            inner = (f"min({self.watermark_of(e.inputs[0], latest)}, "
                     f"{self.watermark_of(e.inputs[1], latest)})")
            # an interval join holds its output back: the downstream watermark lags
            return f"self.{self.name_of(e)}.output_watermark({inner})"
        if processing_time_window(e):
            return self.fire_watermark(e, latest)
        if isinstance(e, WindowAggregateExec) and e.logical.emit_delay_ms:
            # EMIT ... WITH DELAY: its windows' rows come that long after the
            # watermark passed them, so the watermark after it trails by as much
            return f"held_back({self.watermark_of(e.inputs[0], latest)}, {e.logical.emit_delay_ms})"
        parts = sorted({self.watermark_of(child, latest) for child in e.inputs})
        return parts[0] if len(parts) == 1 else f"min({', '.join(parts)})"

    def fire_watermark(self, e: Exec, latest: bool = False) -> str:
        """The watermark operator ``e`` fires on: its input's (a join: the lower
        of its inputs'); a processing-time window's is the clock."""
        if len(e.inputs) == 1:
            watermark = " ".join(self.watermark_of(e.inputs[0], latest).split())
        else:
            watermark = (f"min({self.watermark_of(e.inputs[0], latest)}, "
                         f"{self.watermark_of(e.inputs[1], latest)})")
        return f"processing_time({watermark})" if processing_time_window(e) else watermark

    def advance_method(self) -> None:
        """``advance``: fire what the new watermarks allow, lowest operators first."""
        timed = [(e, name) for e, name in self.stateful if EMITTERS[type(e)].fires]
        if not timed:
            return
        order = {id(e): i for root in self.roots for i, e in enumerate(_post_order(root))}
        timed.sort(key=lambda pair: order[id(pair[0])])
        lines = ["    def advance(self, watermarks: dict[str, int]) -> None:",
                 '        """Fire the windows and join bounds the watermarks have passed."""']
        if any(isinstance(e, (IntervalJoinExec, TemporalJoinExec)) for e, _ in timed):
            lines.append("        self.watermarks = watermarks")
        for e, name in timed:
            lines.append(f"        self.on_{name}(self.{name}.advance({self.fire_watermark(e)}))")
        self.m.methods.append("\n".join(lines))
