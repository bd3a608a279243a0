"""Checkpoints of a running pipeline, and recovery from them (exactly-once).

With ``--checkpoint-dir DIR`` the driver takes a checkpoint every
``--checkpoint-interval`` (default 10 s), on SIGTERM (a savepoint) and at the
end of a bounded run. It is taken between two micro-batches, which is one
consistent point: nothing is in flight inside the single-threaded query. It
holds

* every stateful operator's ``snapshot()`` (``Query.operators``),
* each source's watermarks (per partition) and its position: Kafka offsets per
  partition, a file's count of lines read,
* each sink's position: the length of the output, dead-letter and late-event
  files (flushed and fsynced first),

and its manifest names the query (``Query.sql_hash``, the operators, their
``Query.state_layout``: a query edited in a way that keeps the layout, such as
a changed projection after an aggregate, restores from it). On a
start with a checkpoint in DIR the driver restores all of it: operators,
watermarks, sources seek to their positions, and files are cut back to their
checkpointed length, so what the crashed run wrote after its last checkpoint
is written again, once.

Sinks that commit (``transactional = True``: the Kafka sinks with
``'sink.delivery-guarantee' = 'exactly-once'``, PostgreSQL) write inside a
transaction that commits, after the checkpoint is durable, together with a
marker "checkpoint N is committed". A crash between the two leaves a checkpoint
whose output was never committed; ``choose`` skips such checkpoints by asking
the sinks which checkpoint they committed last (``recover``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import sys
import time
from pathlib import Path

from runtime_lib.checkpoint import Checkpoint, CheckpointError, CheckpointStore
from runtime_lib.state import operators_of

DEFAULT_INTERVAL_S = 10.0
KEEP = 3  # checkpoints kept: one more than a pending one needs to fall back


class RecoveryError(Exception):
    """A checkpoint that does not fit this query, or files it cannot restore."""


def parse_interval(text: str, where: str = "--checkpoint-interval") -> float:
    """Seconds of '10s', '10 s', '500 ms', '1 min', read by the one duration
    reader the runtime has (``io.tables.duration_ms``: a bare number is
    milliseconds, as in Flink's configuration).

    >>> parse_interval("10s"), parse_interval("500 ms"), parse_interval("2 min")
    (10.0, 0.5, 120.0)
    """
    from runtime_lib.io.tables import duration_ms

    try:
        ms = duration_ms(text)
    except ValueError:
        raise RecoveryError(f"{where}: '{text}' is not a duration (for example 10s, 500 ms, "
                            "1 min)") from None
    if not ms or ms <= 0:
        raise RecoveryError(f"{where}: the interval must be positive, got '{text}'")
    return ms / 1000


def checkpoint_directory(text: str, where: str = "--checkpoint-dir") -> str:
    """The local directory a checkpoint location names: a path, or a ``file://``
    URI as Flink writes them; other file systems (s3://, hdfs://) are refused.

    >>> checkpoint_directory("file:///var/lib/sqlc/q02"), checkpoint_directory("chk/q02")
    ('/var/lib/sqlc/q02', 'chk/q02')
    """
    found = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if found is None:
        return text
    if found.group(1).lower() != "file":
        raise RecoveryError(f"{where}: sqlc checkpoints to a local directory, not to "
                            f"{found.group(1)}:// ('{text}')")
    return text[len(found.group(0)):]


def pipeline_id(directory: str | Path) -> str:
    """The pipeline's stable name for markers and Kafka transactional ids: the
    checkpoint directory's absolute path, hashed (the same directory, the same
    pipeline: a restarted process fences its predecessor)."""
    path = os.path.realpath(directory)
    return "sqlc-" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:16]


def identity(query) -> dict:
    """What a checkpoint records of the query that wrote it: the SQL's hash,
    the stateful operators (name -> class) of ``query`` (an instance of a
    generated Query) and their state layout (``Query.state_layout``)."""
    from runtime_lib.layout import acknowledgements

    sql = getattr(sys.modules.get(type(query).__module__), "__doc__", None) or ""
    return {"sql": type(query).sql_hash,
            "operators": {name: type(op).__name__ for name, op in operators_of(query).items()},
            "layout": type(query).state_layout,
            "sources": sorted(s.name for s in type(query).sources),
            # operators whose incompatible state the query acknowledges (a line
            # '-- sqlc-state: allow-incompatible NAME' in its SQL): they start over
            "acknowledged": sorted(acknowledgements(sql.split("\nPhysical plan:\n")[0]))}


def differences(found: dict, expected: dict) -> list[str]:
    """Why a checkpoint's state cannot be restored into this query, in words
    (none: it can). With a state layout on both sides, the layouts decide
    (runtime_lib.layout): a changed projection or a new filter downstream
    leaves them alone; a changed key, window or join bound does not. A
    checkpoint without one (an older sqlc) must come from the same SQL."""
    from runtime_lib.layout import INCOMPATIBLE, compare

    if found.get("layout") is not None and expected.get("layout") is not None:
        out = [f"operator {v.operator}" + (f" (line {v.line})" if v.line else "") + ": "
               + ", ".join(v.reasons)
               for v in compare(found["layout"], expected["layout"])
               if v.level == INCOMPATIBLE and not _acknowledges(expected, v.operator)]
        if "sources" in found and found["sources"] != expected["sources"]:  # another query
            out.append(f"it read the sources {', '.join(found.get('sources') or [])}, this "
                       f"query reads {', '.join(expected['sources'])}")
        return out
    out = []
    if found.get("sql") != expected["sql"]:
        out.append(f"it was written by the query {found.get('sql')!r}, this module was "
                   f"generated from {expected['sql']!r}")
    theirs, ours = found.get("operators") or {}, expected["operators"]
    for name in sorted(set(theirs) | set(ours)):
        if name not in ours:
            out.append(f"it holds state of operator {name} ({theirs[name]}), which this query "
                       "does not have")
        elif name not in theirs:
            out.append(f"it holds no state of operator {name} ({ours[name]})")
        elif theirs[name] != ours[name]:
            out.append(f"operator {name} is a {theirs[name]} there and a {ours[name]} here")
    return out


def _acknowledges(expected: dict, operator: str) -> bool:
    names = expected.get("acknowledged") or ()
    return operator in names or "all" in names


def reset_operators(found: dict, expected: dict) -> dict[str, str]:
    """The operators that start empty instead of restoring from a checkpoint
    whose query was ``found``: the new ones, and those whose incompatible
    state this query acknowledges (name -> why)."""
    from runtime_lib.layout import INCOMPATIBLE, compare

    if found.get("layout") is None or expected.get("layout") is None:
        return {}
    return {v.operator: "; ".join(v.reasons) for v in compare(found["layout"], expected["layout"])
            if v.level == INCOMPATIBLE and v.reset and _acknowledges(expected, v.operator)}


def incompatible_operators(found: dict, expected: dict) -> list[str]:
    """The operators whose state from a checkpoint of ``found`` this query
    cannot take (also those where only an aggregate would restart), and its
    operators the checkpoint has no state of."""
    from runtime_lib.layout import INCOMPATIBLE, compare, pairs

    if found.get("layout") is None or expected.get("layout") is None:
        return []
    paired = pairs(found["layout"], expected["layout"])
    return [v.operator for v in compare(found["layout"], expected["layout"])
            if v.level == INCOMPATIBLE or (v.operator in expected["layout"]
                                           and v.operator not in paired)]


def state_sources(found: dict, expected: dict) -> dict[str, str]:
    """Which operator of the checkpoint's query each operator restores from:
    its own name, or the one it was renamed from (``layout.pairs``)."""
    from runtime_lib.layout import pairs

    if found.get("layout") is None or expected.get("layout") is None:
        return {name: name for name in expected["operators"]}
    return pairs(found["layout"], expected["layout"])


class Recovery:
    """The checkpoints of one pipeline: which one to start from, and taking them."""

    def __init__(self, directory: str | Path, interval_s: float = DEFAULT_INTERVAL_S,
                 keep: int = KEEP) -> None:
        self.store = CheckpointStore(directory, keep=keep)
        self.interval_s = interval_s
        self.id = pipeline_id(directory)
        self.last = time.monotonic()
        self.taken = 0
        self.durations: list[float] = []
        # the sinks that commit with each checkpoint (recover(), commit(id), close())
        self.committers: list = []
        self.rebuild = False  # --rebuild-state: replay incompatible operators
        self.rebuilding: list[str] = []  # the operators the restore left to be replayed
        # --key-groups / --max-parallelism as given (None: what the checkpoint has, or
        # every key group of DEFAULT_MAX_PARALLELISM), and the key groups this process
        # owns once restored (written into each of its checkpoints' manifests)
        self.key_groups_text: str | None = None
        self.max_parallelism: int | None = None
        self.owned = None

    def choose(self, committed: list[int | None]) -> Checkpoint | None:
        """The checkpoint to start from. ``committed`` holds, per committing
        sink, the last checkpoint whose transaction it committed (None: none).
        For each sink the start may be that checkpoint, or a later one if every
        checkpoint after it had nothing pending in that sink (its manifest's
        ``pending``): the output of any other later checkpoint was aborted, so
        such checkpoints are dropped and their input is read again."""
        ids = self.store.ids()
        if not committed:
            chosen = self.store.latest()
            for warning in self.store.warnings:
                _say(warning)
            return chosen
        pending = {n: self._pending_of(n) for n in ids}
        valid = [n for n in ids if all(self._reaches(n, c or 0, sink, ids, pending)
                                       for sink, c in enumerate(committed))]
        start = max(valid, default=0)
        for number in [n for n in ids if n > start]:
            self.store.discard(number)
            _say(f"checkpoint {number} skipped: its output was never committed")
        if start == 0:
            if any(c for c in committed):
                raise RecoveryError(
                    f"the sinks committed the output of checkpoint {max(c or 0 for c in committed)}"
                    f", which is no longer in {self.store.directory}: starting from the sources' "
                    "startup positions would write that output twice. Restore the directory, "
                    "or start with a new one and new sink tables/topics")
            return None
        try:
            return self.store.read(start)
        except CheckpointError as error:
            raise RecoveryError(f"checkpoint {start}, the one whose output the sinks committed, "
                                f"cannot be read ({error}); an older one would write output "
                                "twice") from None

    def _pending_of(self, number: int) -> list | None:
        try:
            import json

            manifest = json.loads((self.store.directory / f"chk-{number:06d}" /
                                   "MANIFEST.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return manifest.get("pending")

    @staticmethod
    def _reaches(number: int, committed: int, sink: int, ids: list[int], pending: dict) -> bool:
        """Whether starting from checkpoint ``number`` loses and repeats nothing
        of sink ``sink``, which committed checkpoint ``committed``."""
        if number == committed:
            return True
        if number < committed:
            return False
        for n in ids:
            if committed < n <= number:
                marks = pending.get(n)
                if not isinstance(marks, list) or sink >= len(marks) or marks[sink] != 0:
                    return False
        return True

    def check(self, checkpoint: Checkpoint, expected: dict) -> None:
        """Refuse a checkpoint written by another query (RecoveryError)."""
        problems = differences(checkpoint.manifest.get("query") or {}, expected)
        if problems:
            raise RecoveryError(
                f"checkpoint {checkpoint.path} does not fit this query: "
                + "; ".join(problems)
                + ". Start it with another --checkpoint-dir, or remove that directory to "
                "start from the sources' startup positions")

    @staticmethod
    def _say_caveats(chosen: Checkpoint, expected: dict) -> None:
        """What a restore across an edit of the query changes, on stderr."""
        from runtime_lib.layout import CAVEATS, INCOMPATIBLE, compare

        found = (chosen.manifest.get("query") or {}).get("layout")
        if found is None or expected.get("layout") is None:
            return
        for verdict in compare(found, expected["layout"]):
            # (an acknowledged aggregate that computes something else restarts alone)
            if verdict.level == CAVEATS or (verdict.level == INCOMPATIBLE and not verdict.reset
                                            and _acknowledges(expected, verdict.operator)):
                _say(f"restoring checkpoint {chosen.id}: operator {verdict.operator}: "
                     + "; ".join(verdict.reasons))

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.interval_s

    def write(self, state: dict, query_identity: dict, positions: dict,
              pending: list[int] | None = None) -> Checkpoint:
        """Write one checkpoint (state already taken); return it once durable.
        ``pending``: per committing sink, the records its commit will make visible."""
        began = time.monotonic()
        owned = self.owned if self.owned is not None else self._owned(None)
        try:
            done = self.store.write(state, {"query": query_identity, "positions": positions,
                                            "pending": pending or [],
                                            "key_groups": owned.as_data(),
                                            "created_ms": int(time.time() * 1000)})
        except (CheckpointError, OSError, TypeError) as error:
            raise RecoveryError(f"cannot write a checkpoint to {self.store.directory}: "
                                f"{error}") from None
        self.last = time.monotonic()
        self.taken += 1
        self.durations.append(self.last - began)
        return done


    # -- starting ----------------------------------------------------------

    def restore(self, query, readers: dict, outputs: list, dead_letters,
                late_events) -> Checkpoint | None:
        """Choose the checkpoint to start from and bring everything back to it:
        operators, file sources' positions, file sinks' lengths (Kafka positions
        and watermarks follow in ``kafka_positions``/``restore_watermarks``).
        Without one, the files start empty and sources at their startup positions."""
        committed = [sink.recover(self.id) for sink in self.committers]
        chosen = self.choose(committed)
        expected = identity(query)
        if self.rebuild:  # every incompatible operator is rebuilt, so none refuses
            expected = {**expected, "acknowledged": sorted({*expected.get("acknowledged", ()),
                                                            "all"})}
        if chosen is None:
            self.owned = self._owned(None)
            self._retain(query, self.owned, "starting")
            self._resume_files(outputs, dead_letters, late_events, None)
            return None
        self.check(chosen, expected)
        self.owned = self._owned(chosen)
        self._say_caveats(chosen, expected)
        state = chosen.state
        reset = reset_operators(chosen.manifest.get("query") or {}, expected)
        if self.rebuild:
            self.rebuilding = incompatible_operators(chosen.manifest.get("query") or {},
                                                     expected)
        for name, why in reset.items():
            if name in self.rebuilding:
                continue  # said once rebuilt
            _say(f"restoring checkpoint {chosen.id}: operator {name} starts empty, as the "
                 f"query's '-- sqlc-state: allow-incompatible' line acknowledges ({why})")
        was = state_sources(chosen.manifest.get("query") or {}, expected)
        for name, operator in operators_of(query).items():
            before = was.get(name)
            if before not in state["operators"] or name in reset or name in self.rebuilding:
                continue  # new in this query, or acknowledged (said above): it starts empty
            try:
                operator.restore(state["operators"][before])
            except (KeyError, TypeError, ValueError) as error:
                raise RecoveryError(f"checkpoint {chosen.path}: the state of operator {name} "
                                    f"cannot be restored ({type(error).__name__}: {error})"
                                    ) from None
        self._retain(query, self.owned, f"restoring checkpoint {chosen.id}")
        for name, reader in readers.items():
            where = state["sources"].get(name)
            if where and "line" in where and hasattr(reader, "resume"):
                reader.resume(where)
        self._resume_files(outputs, dead_letters, late_events, state["sinks"])
        _say(f"resumed from checkpoint {chosen.id} ({chosen.path}), taken "
             f"{_age(chosen.manifest.get('created_ms'))}")
        return chosen

    def _owned(self, chosen: Checkpoint | None):
        """The key groups this process owns: ``--key-groups`` of the job's max
        parallelism (the checkpoint's: fixed for the life of the job), else
        the checkpoint's own (every key group of a checkpoint that records none:
        an older sqlc, one process)."""
        from runtime_lib.keygroups import DEFAULT_MAX_PARALLELISM, KeyGroupError, KeyGroups

        found = None if chosen is None else chosen.manifest.get("key_groups")
        try:
            held = KeyGroups.from_data(found) if found else None
        except (KeyError, TypeError, ValueError, KeyGroupError):
            raise RecoveryError(f"checkpoint {chosen.path}: its manifest's key_groups "
                                f"{found!r} are not a range of key groups") from None
        job = held.max_parallelism if held is not None else None
        if job is None and chosen is not None:
            job = DEFAULT_MAX_PARALLELISM  # an older sqlc's checkpoint: the default
        if self.max_parallelism is not None and job is not None and self.max_parallelism != job:
            raise RecoveryError(
                f"--max-parallelism {self.max_parallelism}: the checkpoints in "
                f"{self.store.directory} split keyed state into {job} key groups, which is "
                "fixed for the life of the job (every key would move to another group). Keep "
                f"--max-parallelism {job}, or start with a new --checkpoint-dir")
        job = job or self.max_parallelism or DEFAULT_MAX_PARALLELISM
        if held is None:
            held = KeyGroups.all(job)
        if self.key_groups_text is None:
            return held
        try:
            owned = KeyGroups.parse(self.key_groups_text, job)
        except KeyGroupError as error:
            raise RecoveryError(str(error)) from None
        if not (held.start <= owned.start and owned.end <= held.end):
            raise RecoveryError(
                f"--key-groups {owned.start}-{owned.end}: checkpoint {chosen.path} holds the "
                f"state of key groups {held}, written by a process that owned only those; "
                "merge the checkpoints of the processes that owned the others first "
                "(runtime_lib.recovery.merge_checkpoints)")
        return owned

    @staticmethod
    def _retain(query, owned, doing: str) -> None:
        """Keep each operator's state of the key groups ``owned`` only; refuse
        operators whose state is not split by key when it is not every group."""
        from runtime_lib.keygroups import KeyGroupError, retain

        if owned.covers_all:
            return
        for name, operator in operators_of(query).items():
            try:
                retain(operator, name, owned)
            except KeyGroupError as error:
                raise RecoveryError(f"{doing}: {error}") from None

    @staticmethod
    def _resume_files(outputs: list, dead_letters, late_events, sinks: dict | None) -> None:
        files = [*outputs, dead_letters, late_events]
        names = [*(f"output {i}" for i in range(len(outputs))), "dead letters", "late events"]
        # a file is found by its path first: an edit that added an output in front
        # (an INSERT INTO) moves the --output file to another "output N"
        by_path = {str(where.get("path")): where for where in (sinks or {}).values() if where}
        for name, sink in zip(names, files):
            if sink is not None and hasattr(sink, "resume"):
                where = None if sinks is None else sinks.get(name)
                if sinks is not None and getattr(sink, "path", None) is not None:
                    where = by_path.get(str(sink.path), where)
                sink.resume(where)

    @staticmethod
    def kafka_positions(chosen: Checkpoint | None, source: str) -> dict | None:
        """``{(topic, partition): next offset}`` of a Kafka source in a checkpoint."""
        if chosen is None:
            return None
        where = chosen.state["sources"].get(source) or {}
        return {(t, int(p)): int(o) for t, p, o in where.get("kafka", [])}

    @staticmethod
    def restore_watermarks(chosen: Checkpoint, marks: dict, current: dict) -> None:
        for name, mark in marks.items():
            saved = chosen.state["watermarks"].get(name)
            if saved is not None:
                mark.restore(saved)
                current[name] = mark.current

    # -- running -------------------------------------------------------------

    def take(self, query, readers: dict, positions: dict, marks: dict, current: dict,
             delivery, watermarks: dict | None = None) -> Checkpoint:
        """One checkpoint, between two micro-batches: results delivered (file
        sinks flushed and fsynced, Kafka acknowledged), state and positions
        written durably, then the transactional sinks commit with its id."""
        if delivery is not None and not delivery.flush(timeout=float("inf")):
            raise RecoveryError("results not delivered: no checkpoint taken")
        outputs = delivery.outputs if delivery is not None else []
        sinks = {}
        for name, sink in [*((f"output {i}", o) for i, o in enumerate(outputs)),
                           ("dead letters", getattr(delivery, "dead_letters", None)),
                           ("late events", getattr(delivery, "late_events", None))]:
            if sink is not None and hasattr(sink, "position"):
                sinks[name] = sink.position()
        sources: dict = {}
        for name, reader in readers.items():
            if name in positions:
                sources[name] = {"kafka": [[t, p, o] for (t, p), o in sorted(positions[name].items())]}
            elif hasattr(reader, "position"):
                sources[name] = reader.position()
        state = {
            "operators": {name: op.snapshot() for name, op in operators_of(query).items()},
            "watermarks": watermarks if watermarks is not None else {
                name: mark.snapshot() for name, mark in marks.items()},
            "sources": sources,
            "sinks": sinks,
        }
        done = self.write(state, identity(query), sources,
                          [getattr(sink, "pending", lambda: 1)() for sink in self.committers])
        for sink in self.committers:
            sink.commit(done.id)
        return done


def replay_start_ms(window, watermark_ms: int, delay_ms: int = 0) -> int:
    """The earliest event time a rebuilt window aggregate needs replayed: the
    start of the earliest window of ``window`` (a ``Tumble``, ``Hop`` or
    ``Cumulate`` of runtime_lib.operators.windows) that has not fired at the
    checkpoint's watermark (a window fires once ``window_end - 1 + delay_ms
    <= watermark``). Rows before it only reach windows that had fired by
    then, whose results a rebuild must not write again (``replay_start``
    decides where it applies).

    >>> from runtime_lib.operators.windows.base import Hop, Tumble
    >>> replay_start_ms(Tumble(size_ms=300_000), 299_999)  # [0, 5 min) has fired
    300000
    >>> replay_start_ms(Tumble(size_ms=300_000), 299_998)
    0
    >>> replay_start_ms(Hop(slide_ms=60_000, size_ms=300_000), 600_000)
    360000
    """
    size = getattr(window, "size_ms", None) or window.max_size_ms
    # every CUMULATE window of one period starts where the period does
    slide = getattr(window, "slide_ms", None) or getattr(window, "max_size_ms", None) or size
    offset = window.offset_ms
    # unfired: start + size - 1 + delay > watermark, i.e. start >= watermark + 2 - delay - size
    lowest = watermark_ms + 2 - delay_ms - size - offset
    return -(-lowest // slide) * slide + offset


def replay_start(query, rebuilding: list[str], checkpoint: Checkpoint) -> int | None:
    """Where the replay of a ``--rebuild-state`` may start, in event time
    (``replay_start_ms`` at the checkpoint's watermark), or None: from the
    start of the sources.

    It is bounded only when rows before it cannot matter to what is rebuilt:
    the query's one stateful operator is the rebuilt window aggregate (TUMBLE,
    HOP or CUMULATE over event time), so its input is the sources' rows
    through stateless steps only, and every source has a watermark. Anything
    else (a SESSION window, a non-windowed GROUP BY, a join without TTL, an
    OVER without bound, a window aggregate behind another stateful operator)
    replays from the start.

    >>> from types import SimpleNamespace as NS
    >>> from runtime_lib.operators.windows import WindowAggregate
    >>> from runtime_lib.operators.windows.base import Session, Tumble
    >>> class Query:
    ...     processing_time = False
    ...     sources = (NS(name="s", watermark=NS(column="ts")),)
    ...     def __init__(self, window):
    ...         self.operators = {"w": WindowAggregate(window=window, key_kinds=[], aggs=[])}
    >>> at = NS(state={"watermarks": {"s": {"current": 130_000}}})
    >>> replay_start(Query(Tumble(60_000)), ["w"], at)  # [60 s, 120 s) has fired
    120000
    >>> replay_start(Query(Session(60_000)), ["w"], at) is None
    True
    """
    from runtime_lib.operators.windows.base import Cumulate, Hop, Tumble, WindowAggregate
    from runtime_lib.watermarks import WM_MIN

    operators = operators_of(query)
    if list(operators) != list(rebuilding) or len(operators) != 1 or query.processing_time:
        return None
    (operator,) = operators.values()
    if not (isinstance(operator, WindowAggregate)
            and isinstance(operator.window, (Tumble, Hop, Cumulate))):
        return None
    marks = []
    for source in type(query).sources:
        saved = checkpoint.state["watermarks"].get(source.name)
        if source.watermark is None or saved is None:
            return None
        marks.append(int(saved["current"]))
    watermark = min(marks, default=WM_MIN)
    if watermark <= WM_MIN:
        return None  # nothing has fired: every row counts
    return replay_start_ms(operator.window, watermark, operator.delay)


def _age(created_ms) -> str:
    if not isinstance(created_ms, int):
        return "at an unknown time"
    seconds = max(0.0, time.time() - created_ms / 1000)
    return f"{seconds:.1f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"


def truncate_to(path: str | Path, length: int, what: str) -> None:
    """Cut a file a checkpoint recorded back to its checkpointed length."""
    path = Path(path)
    size = path.stat().st_size if path.exists() else -1
    if size < length:
        raise RecoveryError(
            f"{what} {path} is {'missing' if size < 0 else f'{size} bytes'}, but the checkpoint "
            f"recorded {length} bytes: it was changed outside sqlc. Restore it, or remove the "
            "checkpoint directory to start over")
    if size > length:
        os.truncate(path, length)


def file_length(handle) -> int:
    """Flush and fsync an open file; its length."""
    handle.flush()
    os.fsync(handle.fileno())
    return os.fstat(handle.fileno()).st_size  # (tell() of an append-mode file may lag)


def _say(message: str) -> None:
    print(f"sqlc: {message}", file=sys.stderr)


def _mergeable() -> dict[str, type]:
    """The operator classes whose snapshots of disjoint key groups merge, by name."""
    from runtime_lib.operators.deduplicate import Deduplicate
    from runtime_lib.operators.group_aggregate import GroupAggregate
    from runtime_lib.operators.joins import IntervalJoin, Join, TemporalJoin
    from runtime_lib.operators.rank import Rank
    from runtime_lib.operators.windows.panes import PaneWindowAggregate

    return {cls.__name__: cls for cls in (GroupAggregate, PaneWindowAggregate, Join,
                                          IntervalJoin, TemporalJoin, Deduplicate, Rank)}


def _merge_watermarks(pieces: list[dict]) -> dict:
    """Per source: the lowest watermark; per partition the highest event time
    seen (the partition's owner read furthest)."""
    out = {}
    for name in pieces[0]:
        marks = [p[name] for p in pieces if name in p]
        furthest: dict = {}
        for mark in marks:
            for partition, seen in mark.get("partitions", []):
                key = repr(partition)
                if key not in furthest or seen > furthest[key][1]:
                    furthest[key] = (partition, seen)
        out[name] = {**marks[0], "current": min(int(m["current"]) for m in marks),
                     "partitions": [[p, seen] for p, seen in furthest.values()]}
    return out


def merge_checkpoints(sources: list[str | Path], target: str | Path) -> Checkpoint:
    """The newest checkpoints of several processes that owned disjoint,
    adjacent key-group ranges of one job (``--key-groups``), as one checkpoint
    in ``target`` that a process owning all of them restores (N into 1).

    Per operator the snapshots are merged (``keygroups.merge``: key
    dictionaries and state one after the other, counters summed, fired
    watermarks the minimum); the sources' watermarks take the lowest watermark
    and each partition's highest event time; Kafka offsets each partition's
    highest (its owner's). Refused (``RecoveryError``): pieces of different
    queries or max parallelism, overlapping or non-adjacent ranges, an operator
    that does not merge yet, file sources (each process read its own file:
    their line counts do not add up to one position). The merged checkpoint
    records no sink positions: the merged process starts its output files."""
    from runtime_lib.keygroups import DEFAULT_MAX_PARALLELISM, KeyGroupError, KeyGroups

    chosen = []
    for source in sources:
        found = CheckpointStore(source).latest()
        if found is None:
            raise RecoveryError(f"{source}: no readable checkpoint to merge")
        chosen.append(found)
    groups = [KeyGroups.from_data(c.manifest.get("key_groups"))
              or KeyGroups.all(DEFAULT_MAX_PARALLELISM) for c in chosen]
    order = sorted(range(len(chosen)), key=lambda i: groups[i].start)
    chosen, groups = [chosen[i] for i in order], [groups[i] for i in order]
    if len({g.max_parallelism for g in groups}) > 1:
        raise RecoveryError("the checkpoints split state into different numbers of key groups: "
                            + ", ".join(f"{c.path}: {g}" for c, g in zip(chosen, groups)))
    for (c1, g1), (c2, g2) in itertools.pairwise(zip(chosen, groups)):
        if g2.start != g1.end + 1:
            raise RecoveryError(f"{c1.path} holds key groups {g1} and {c2.path} {g2}: merged "
                                "checkpoints must hold adjacent ranges, none twice")
    queries = [c.manifest.get("query") or {} for c in chosen]
    if any(q.get("layout") != queries[0].get("layout") or q.get("sql") != queries[0].get("sql")
           for q in queries):
        raise RecoveryError("the checkpoints were written by different queries")
    classes = _mergeable()
    operators = {}
    for name, kind in (queries[0].get("operators") or {}).items():
        if kind not in classes:
            raise RecoveryError(f"operator {name} ({kind}): merging the checkpoints of several "
                                "processes is not supported for it yet")
        merged = chosen[0].state["operators"][name]
        try:
            for piece in chosen[1:]:
                merged = classes[kind].merge_snapshots(merged, piece.state["operators"][name])
        except (KeyError, ValueError, KeyGroupError) as error:
            raise RecoveryError(f"operator {name}: the pieces do not merge ({error})") from None
        operators[name] = merged
    sources_state: dict = {}
    for name in chosen[0].state["sources"]:
        where = [c.state["sources"].get(name) or {} for c in chosen]
        if any("kafka" not in w for w in where):
            raise RecoveryError(f"source {name}: only Kafka positions merge (each process read "
                                "its own file)")
        furthest: dict = {}
        for w in where:
            for topic, partition, offset in w["kafka"]:
                furthest[(topic, partition)] = max(offset, furthest.get((topic, partition), 0))
        sources_state[name] = {"kafka": [[t, p, o] for (t, p), o in sorted(furthest.items())]}
    state = {"operators": operators,
             "watermarks": _merge_watermarks([c.state["watermarks"] for c in chosen]),
             "sources": sources_state, "sinks": {}}
    whole = KeyGroups(groups[0].start, groups[-1].end, groups[0].max_parallelism)
    manifest = {"query": queries[0], "positions": sources_state, "pending": [],
                "key_groups": whole.as_data(), "created_ms": int(time.time() * 1000),
                "merged_from": [str(c.path) for c in chosen]}
    return CheckpointStore(target).write(state, manifest)
