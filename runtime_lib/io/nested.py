"""Fields of ROW columns in JSON records, read into flat columns.

A ``Field`` with a ``path`` (``Field("bid.price", "BIGINT", path=("bid",
"price"))``) is read from the nested object ``{"bid": {"price": 7}}``. The
JSON decoder (decode.py) keeps its bulk path: the record's msgspec Struct gets
one nested Struct per ROW column holding only the fields read, and each
field's column is cut out of the nested structs as the flat columns are cut
out of the records. A missing or null object makes every field of it NULL (as
in Flink); an object field of the wrong type is a dead letter naming the
field's path (``field 'bid.price': expected BIGINT, got string 'x'``).
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from itertools import repeat
from operator import attrgetter
from typing import Any

import msgspec

from runtime_lib.schema import Field, Schema

# a node of the record's layout: key -> a field read there, or a nested object
Node = dict[str, "Field | Node"]


def has_paths(schema: Schema) -> bool:
    return any(f.path for f in schema)


class Layout:
    """The Struct of a record whose fields are partly nested, and for each schema
    field where its value is: ``sources[i]`` indexes the lists of structs that
    ``expand`` makes of a chunk of records (0: the records themselves), and
    ``getters[i]`` reads the value from one of them."""

    def __init__(self, schema: Schema, msgspec_type: Callable[[Field], Any]) -> None:
        self._msgspec_type = msgspec_type
        root: Node = {}
        for f in schema:
            node = root
            for key in (f.path or (f.name,))[:-1]:
                node = node.setdefault(key, {})  # type: ignore[assignment]
            node[(f.path or (f.name,))[-1]] = f
        # the nested objects, in the order their lists are made: (parent, attribute, empty)
        self._objects: list[tuple[int, str, Any]] = []
        self._where: dict[int, tuple[int, str]] = {}  # id(field) -> (source, attribute)
        self.struct = self._struct(root, 0, "Record")
        self.sources = [self._where[id(f)][0] for f in schema]
        self.getters = [attrgetter(self._where[id(f)][1]) for f in schema]

    def _struct(self, node: Node, source: int, name: str) -> type:
        fields = []
        for i, (key, child) in enumerate(node.items()):
            attr = f"f{i}"
            if isinstance(child, Field):
                self._where[id(child)] = (source, attr)
                kind, required = self._msgspec_type(child), not child.nullable
            else:
                self._objects.append((source, attr, None))
                index = len(self._objects)
                kind = self._struct(child, index, f"{name}_{i}")
                required = _required(child)
                if not required:  # what a missing or null object reads as
                    self._objects[index - 1] = (source, attr, kind())
            # (typing.Optional: kind may be any msgspec type, Annotated ones too)
            fields.append((attr, kind) if required
                          else (attr, typing.Optional[kind], None))  # noqa: UP045
        rename = {f"f{i}": key for i, key in enumerate(node)}
        return msgspec.defstruct(name, fields, rename=rename, kw_only=True, gc=False,
                                 omit_defaults=False)

    def expand(self, rows: list) -> list[list]:
        """The records, then the list of each nested object (an empty one for NULL)."""
        lists = [rows]
        for parent, attr, empty in self._objects:
            objects = list(map(attrgetter(attr), lists[parent]))
            if empty is not None and None in objects:
                objects = [empty if o is None else o for o in objects]
            lists.append(objects)
        return lists


def _required(node: Node) -> bool:
    """An object must be there when a field in it is NOT NULL."""
    return any(not c.nullable if isinstance(c, Field) else _required(c) for c in node.values())


def locate(obj: dict, field: Field, describe: Callable[[Any], str]
           ) -> tuple[dict, str, str | None]:
    """The object a field's value is in and its key there, for the record-by-record
    path; ({}, key, None) when an object on the way is missing or null (the
    field is NULL), (.., .., reason) when one is no object."""
    path = field.path or (field.name,)
    for depth, key in enumerate(path[:-1]):
        value = obj.get(key)
        if value is None:
            return {}, path[-1], None
        if type(value) is not dict:
            where = ".".join(path[: depth + 1])
            return {}, path[-1], (f"field {where!r}: expected ROW (a JSON object), "
                                  f"got {describe(value)}")
        obj = value
    return obj, path[-1], None


def nest_rows(paths: list[tuple[str, ...]], columns: list[list]) -> list[dict]:
    """Rows as JSON objects, the columns with a path of more than one key written
    into nested objects (a selected ROW: ``{"bid": {"price": 7}}``). An object is
    written with all its fields, NULL ones too: a ROW whose fields are all NULL
    is a ROW of NULLs, as Flink writes ``ROW(NULL, NULL)``. (The reference of
    ``encode_nested_lines``, and what a sink writes where msgspec cannot.)"""
    return _dicts(_tree(paths), columns)


def encode_nested_lines(paths: list[tuple[str, ...]], columns: list[list]) -> bytes | None:
    """``nest_rows`` as JSON lines in one msgspec call: each object level is built
    the innermost first, as one Struct per row from its columns
    (``map(struct, *columns)``, in C and untracked by the garbage collector);
    None when msgspec cannot name a key or refuses a value (the caller then
    encodes ``nest_rows`` with orjson)."""
    try:
        return _ENCODER.encode_lines(_structs(_tree(paths), columns))
    except (TypeError, ValueError, UnicodeEncodeError):
        return None


_ENCODER = msgspec.json.Encoder()


def _tree(paths: list[tuple[str, ...]]) -> dict:
    """key -> the column's index, or the tree of a nested object, in path order."""
    root: dict = {}
    for index, path in enumerate(paths):
        node = root
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = index
    return root


def _dicts(node: dict, columns: list[list]) -> list[dict]:
    values = [columns[child] if isinstance(child, int) else _dicts(child, columns)
              for child in node.values()]
    return list(map(dict, map(zip, repeat(list(node)), zip(*values))))


def _structs(node: dict, columns: list[list]) -> list:
    struct = _object_struct(tuple(node))
    values = [columns[child] if isinstance(child, int) else _structs(child, columns)
              for child in node.values()]
    return list(map(struct, *values))


@functools.lru_cache(maxsize=256)
def _object_struct(keys: tuple[str, ...]) -> type:
    """A Struct encoding as an object of ``keys`` in order (ValueError/TypeError for
    keys msgspec cannot name: a quote, a backslash or a control character)."""
    return msgspec.defstruct("Object", [(f"f{i}", object) for i in range(len(keys))],
                             rename={f"f{i}": k for i, k in enumerate(keys)}, gc=False)
