"""``compiler.frozen.frozen_dataclass`` behaves as ``@dataclass(frozen=True)``.

The reference is dataclasses itself: the same class bodies decorated both
ways must construct, compare, hash, print, refuse assignment and ``replace``
alike (hypothesis draws the values), and every class the compiler decorates
must have the fields, ``__match_args__``, ``__doc__`` and parameters that
``@dataclass(frozen=True)`` gives it (its module is loaded a second time with
the real decorator in place of ours).
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import sys
from dataclasses import FrozenInstanceError, dataclass, field, replace
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

import compiler.frozen
from compiler.frozen import frozen_dataclass

REFERENCE = dataclass(frozen=True)


def classes(decorate):
    """The same class bodies, decorated by ``decorate``: every kind of field the
    compiler uses (defaults, factories, kw_only, compare/repr off, ClassVar,
    __post_init__, inheritance, no fields, no docstring)."""

    @decorate
    class Empty:
        pass

    @decorate
    class One:
        """A node with one field."""

        name: str

    @decorate
    class Node:
        name: str
        size: int = 0
        parts: tuple = ()
        tags: list = field(default_factory=list, compare=False)
        span: tuple = field(default=(0, 0), compare=False, repr=False, kw_only=True)
        kind: ClassVar[str] = "node"

        @property
        def label(self) -> str:
            return f"{self.name}:{self.size}"

    @decorate
    class Checked(Node):
        """Refuses a negative size when built."""

        size: int = 1
        extra: object = None

        def __post_init__(self) -> None:
            if self.size < 0:
                raise ValueError("negative size")

    return {"Empty": Empty, "One": One, "Node": Node, "Checked": Checked}


OURS, THEIRS = classes(frozen_dataclass), classes(REFERENCE)

values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3) | st.floats(allow_nan=False),
    lambda inner: st.tuples(inner, inner) | st.lists(inner, max_size=2),
    max_leaves=4,
)


def build(family, name, args, kwargs):
    try:
        return family[name](*args, **kwargs), None
    except (TypeError, ValueError) as error:
        return None, type(error)


calls = st.tuples(
    st.sampled_from(sorted(OURS)),
    st.lists(values, max_size=5),
    st.dictionaries(st.sampled_from(["name", "size", "parts", "tags", "span", "extra", "other"]),
                    values, max_size=3),
)


@given(calls, calls)
def test_instances_behave_as_dataclasses(first, second):
    ours = [build(OURS, *call) for call in (first, second)]
    theirs = [build(THEIRS, *call) for call in (first, second)]
    assert [error for _, error in ours] == [error for _, error in theirs]
    if ours[0][0] is None:
        return
    a, b = ours[0][0], theirs[0][0]
    assert repr(a) == repr(b)
    assert vars(a) == vars(b) and list(vars(a)) == list(vars(b))  # same fields, same order
    try:
        expected_hash = hash(b)
    except TypeError:  # an unhashable field value (a list)
        with pytest.raises(TypeError):
            hash(a)
    else:
        assert hash(a) == expected_hash
    assert dataclasses.astuple(a) == dataclasses.astuple(b)
    assert (a == copy.copy(a)) is (b == copy.copy(b)) is True
    if ours[1][0] is not None:
        assert (a == ours[1][0]) == (b == theirs[1][0])
        assert (a != ours[1][0]) == (b != theirs[1][0])
    for attribute in ("name", "size", "anything"):
        with pytest.raises(FrozenInstanceError) as mine:
            setattr(a, attribute, 1)
        with pytest.raises(FrozenInstanceError) as reference:
            setattr(b, attribute, 1)
        assert str(mine.value) == str(reference.value)
        with pytest.raises(FrozenInstanceError):
            delattr(a, attribute)
    if dataclasses.fields(a):
        name = dataclasses.fields(a)[0].name
        assert repr(replace(a, **{name: "x"})) == repr(replace(b, **{name: "x"}))


def test_classes_match_dataclasses():
    for name in OURS:
        ours, theirs = OURS[name], THEIRS[name]
        assert describe(ours) == describe(theirs), name
        assert ours.__init__.__qualname__ == theirs.__init__.__qualname__
    assert OURS["Node"]("a").tags is not OURS["Node"]("a").tags  # a fresh default each time
    assert OURS["Node"]("a") == OURS["Node"]("a", tags=[1], span=(3, 4))  # compare=False


def test_mixes_with_real_frozen_dataclasses():
    @REFERENCE
    class Base:
        a: int

    @frozen_dataclass
    class Middle(Base):
        b: int = 0

    @REFERENCE
    class Leaf(Middle):
        c: int = 1

    assert repr(Leaf(1, 2, 3)).endswith(".Leaf(a=1, b=2, c=3)")
    assert Middle(1) == Middle(1, 0) and Middle(1) != Leaf(1)

    @dataclass
    class Mutable:
        a: int

    with pytest.raises(TypeError):
        frozen_dataclass(type("Frozen", (Mutable,), {"__annotations__": {"b": "int"}}))


def test_refuses_what_it_does_not_build():
    class OwnEq:
        a: int

        def __eq__(self, other):
            return True

    with pytest.raises(TypeError, match="__eq__"):
        frozen_dataclass(OwnEq)

    class NotInit:
        a: int = field(default=0, init=False)

    with pytest.raises(TypeError, match="plain fields"):
        frozen_dataclass(NotInit)


def describe(cls) -> tuple:
    """What dataclasses records about a class, in comparable form."""
    fields = tuple(
        (f.name, str(f.type), shown(f.default), shown(f.default_factory), f.init, f.repr, f.hash,
         f.compare, f.kw_only, dict(f.metadata))
        for f in dataclasses.fields(cls)
    )
    recorded = {name: (f.name, str(f.type), f.kw_only)
                for name, f in cls.__dataclass_fields__.items()}  # ClassVars too
    class_attributes = {name: shown(cls.__dict__[name]) for name in recorded if name in cls.__dict__}
    return (cls.__name__, cls.__qualname__, cls.__doc__, cls.__match_args__, fields,
            repr(cls.__dataclass_params__), dataclasses.is_dataclass(cls), recorded,
            class_attributes)


def shown(default) -> str:
    """A default as comparable text: a function by its name (the second load of
    a module has its own function objects)."""
    return default.__qualname__ if callable(default) else repr(default)


COMPILER_MODULES = ["compiler.ast", "compiler.logical", "compiler.physical", "compiler.types",
                    "compiler.errors", "compiler.catalog", "compiler.settings",
                    "compiler.analyze.scope", "compiler.analyze.group_by",
                    "compiler.analyze.match_automaton", "compiler.codegen.emit.base",
                    "compiler.codegen.emit.sources"]


@pytest.mark.parametrize("module_name", COMPILER_MODULES)
def test_compiler_classes_match_dataclasses(module_name, monkeypatch):
    module = importlib.import_module(module_name)
    spec = importlib.util.find_spec(module_name)
    reference = importlib.util.module_from_spec(spec)
    monkeypatch.setattr(compiler.frozen, "frozen_dataclass", REFERENCE)
    monkeypatch.setitem(sys.modules, module_name, reference)  # for its own forward references
    spec.loader.exec_module(reference)
    ours = [v for v in vars(module).values()
            if isinstance(v, type) and v.__module__ == module_name and dataclasses.is_dataclass(v)]
    for cls in ours:
        assert describe(cls) == describe(getattr(reference, cls.__name__)), cls.__name__
    built_here = [cls for cls in ours if cls.__init__.__code__.co_filename == compiler.frozen.__file__]
    assert built_here
