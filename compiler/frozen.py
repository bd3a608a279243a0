"""``@frozen_dataclass``: what ``@dataclass(frozen=True)`` makes, at a tenth of its cost.

dataclasses builds each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__`` and ``__delattr__`` by generating their source
and ``exec``-ing it, about half a millisecond a class; the compiler's 110
syntax-tree and plan nodes made that a fifth of a ``sqlc compile`` command
before it read any SQL. Here the fields are dataclasses' own ``Field``
records, collected as dataclasses collects them (by dataclasses itself for a
class with a ``ClassVar``), so ``fields``, ``replace``, ``is_dataclass``,
``asdict`` and ``__match_args__`` work unchanged; the six methods are closures
over each class's field names, built without ``exec``, with the same
behaviour:

- ``__init__(positional fields..., *, kw_only fields...)`` with the same
  defaults and ``default_factory`` calls, then ``__post_init__`` if the class
  has one; the fields are set in declaration order, as dataclasses does;
- ``__eq__`` compares the ``compare=True`` fields, as a tuple, of two objects
  of exactly the same class (``NotImplemented`` otherwise); ``__hash__`` is the
  hash of that tuple (fields with ``hash=`` given follow it);
- ``__repr__`` is ``Name(a=..., b=...)`` over the ``repr=True`` fields;
- assigning or deleting a field raises ``dataclasses.FrozenInstanceError``
  (as does any attribute of an instance of the decorated class itself);
- the class's ``__doc__``, when it has none, is its signature, and its
  ``__dataclass_params__`` are those of ``@dataclass(frozen=True)``, so real
  frozen dataclasses may inherit from it and it from them.

Only the plain form is offered (no ``order``, ``slots``, ``init=False``
fields, ``InitVar``); anything else is refused when the class is created.
``tests/test_frozen_dataclass.py`` checks each behaviour against
``@dataclass(frozen=True)`` on the same classes, and that every class
decorated in the compiler has the fields, parameters, ``__match_args__`` and
``__doc__`` that ``@dataclass(frozen=True)`` gives it.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import operator
import re
import reprlib
import sys
import typing
from dataclasses import MISSING, FrozenInstanceError
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


@dataclasses.dataclass(init=False, repr=False, eq=False)  # generates no method
class _Fields:
    pass


def _frozen_params() -> object:
    """The ``__dataclass_params__`` of ``@dataclass(frozen=True)`` (a copy of
    ``_Fields``' with init, repr, eq and frozen on: a real frozen dataclass
    here would exec its six methods)."""
    plain = _Fields.__dataclass_params__  # type: ignore[attr-defined]
    params = object.__new__(type(plain))
    for slot in type(plain).__slots__:
        setattr(params, slot, getattr(plain, slot))
    for switch in ("init", "repr", "eq", "frozen"):
        setattr(params, switch, True)
    return params


_FIELDS_PARAMS = _Fields.__dataclass_params__  # type: ignore[attr-defined]
_FROZEN_PARAMS = _frozen_params()


@typing.dataclass_transform(frozen_default=True)  # type checkers see @dataclass(frozen=True)
def frozen_dataclass(cls: T) -> T:
    """``@dataclass(frozen=True)``, without generating code."""
    if "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: frozen_dataclass does not handle __slots__")
    for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        if name in cls.__dict__ and not (name == "__hash__" and cls.__dict__[name] is None):
            raise TypeError(f"{cls.__name__} defines {name}: use @dataclass(frozen=True)")
    documented = bool(cls.__doc__)
    if not documented:
        cls.__doc__ = "-"  # dataclasses would compute one from the inherited __init__
    bases = [b for b in cls.__mro__[1:-1] if "__dataclass_params__" in b.__dict__]
    if any(not b.__dict__["__dataclass_params__"].frozen for b in bases):
        raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
    if not _collect_plain_fields(cls):
        # dataclasses collects the fields; the frozen bases pass for plain ones
        # meanwhile (it refuses a non-frozen dataclass over a frozen one)
        for base in bases:
            base.__dataclass_params__ = _FIELDS_PARAMS  # type: ignore[attr-defined]
        try:
            dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
        finally:
            for base in bases:
                base.__dataclass_params__ = _FROZEN_PARAMS  # type: ignore[attr-defined]
    fields = dataclasses.fields(cls)  # not the ClassVar and InitVar pseudo-fields
    pseudo = cls.__dataclass_fields__.keys() - {f.name for f in fields}  # type: ignore[attr-defined]
    for f in fields + tuple(cls.__dataclass_fields__[n] for n in sorted(pseudo)):  # type: ignore
        if not f.init or "InitVar" in str(f.type):
            raise TypeError(f"{cls.__name__}.{f.name}: frozen_dataclass handles plain fields only")
    if any("__slots__" in base.__dict__ for base in cls.__mro__[1:-1]):
        raise TypeError(f"{cls.__name__}: frozen_dataclass does not handle __slots__")
    cls.__dataclass_params__ = _FROZEN_PARAMS  # type: ignore[attr-defined]
    names = tuple(f.name for f in fields)
    cls.__init__ = _init(cls, fields)  # type: ignore[misc]
    cls.__repr__ = _repr(cls, tuple(f.name for f in fields if f.repr))  # type: ignore[assignment]
    compared = tuple(f.name for f in fields if f.compare)
    cls.__eq__ = _eq(cls, compared)  # type: ignore[assignment]
    hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    cls.__hash__ = _hash(cls, hashed)  # type: ignore[assignment]
    cls.__setattr__, cls.__delattr__ = _frozen(cls, frozenset(names))  # type: ignore[assignment]
    if not documented:
        cls.__doc__ = cls.__name__ + _signature(fields)
    return cls


_NAME = re.compile(r"^(?:\s*(\w+)\s*\.)?\s*(\w+)")  # dataclasses' reading of a string annotation
_SPECIAL = (typing.ClassVar, dataclasses.InitVar, dataclasses.KW_ONLY)


def _collect_plain_fields(cls: type) -> bool:
    """What ``@dataclass`` records for a class whose annotations are all plain
    fields' strings (``from __future__ import annotations``): its fields
    (inherited ones first), their defaults as class attributes,
    ``__dataclass_fields__`` and ``__match_args__``. False, having changed
    nothing, for anything else (ClassVar, InitVar, KW_ONLY or a name that may
    be one of them; annotations that are not strings; a Python without
    dataclasses' field marker): dataclasses itself collects those."""
    marker = getattr(dataclasses, "_FIELD", None)
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (as dataclasses reads them)
    module = sys.modules.get(cls.__module__)
    namespace = module.__dict__ if module is not None else {}
    for annotation in annotations.values():
        found = _NAME.match(annotation) if isinstance(annotation, str) else None
        if found is None or marker is None:
            return False
        prefix, name = found.groups()
        if prefix is not None and namespace.get(prefix) in (typing, dataclasses):
            return False
        if prefix is None and (namespace.get(name) in _SPECIAL or name in ("ClassVar", "InitVar",
                                                                           "KW_ONLY")):
            return False
    fields: dict[str, dataclasses.Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        fields.update(getattr(base, "__dataclass_fields__", None) or {})
    own = []
    for name, annotation in annotations.items():
        default = getattr(cls, name, MISSING)
        f = default if isinstance(default, dataclasses.Field) else dataclasses.field(default=default)
        if f.default is not MISSING and f.default.__class__.__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: "
                             "use default_factory")
        own.append((name, annotation, f))
    for name, value in cls.__dict__.items():
        if isinstance(value, dataclasses.Field) and name not in annotations:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    for name, annotation, f in own:
        f.name, f.type, f._field_type = name, annotation, marker  # type: ignore[attr-defined]
        if f.kw_only is MISSING:
            f.kw_only = False
        fields[name] = f
        if isinstance(cls.__dict__.get(name), dataclasses.Field):
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    positional = [f for f in fields.values() if f.init and not f.kw_only]
    for before, after in itertools.pairwise(positional):
        if _has_default(before) and not _has_default(after):
            raise TypeError(f"non-default argument {after.name!r} follows default argument")
    cls.__dataclass_fields__ = fields  # type: ignore[attr-defined]
    if "__match_args__" not in cls.__dict__:
        cls.__match_args__ = tuple(f.name for f in positional)  # type: ignore[attr-defined]
    return True


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not MISSING or f.default_factory is not MISSING


def _method(cls: type, name: str, function: Any) -> Any:
    function.__name__ = name
    function.__qualname__ = f"{cls.__qualname__}.{name}"
    function.__module__ = cls.__module__
    return function


def _init(cls: type, fields: tuple[dataclasses.Field, ...]) -> Any:
    names = tuple(f.name for f in fields)
    positional = tuple(f.name for f in fields if not f.kw_only)
    accepted = frozenset(names)
    defaults = {f.name: f.default for f in fields if f.default is not MISSING}
    factories = {f.name: f.default_factory for f in fields if f.default_factory is not MISSING}
    required_positional = [n for n in positional if n not in defaults and n not in factories]
    post_init = hasattr(cls, "__post_init__")
    qualname = f"{cls.__qualname__}.__init__"

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(positional):
            raise TypeError(f"{qualname}() takes {len(positional) + 1} positional arguments "
                            f"but {len(args) + 1} were given")
        values = dict(zip(positional, args))
        for name in kwargs:
            if name not in accepted:
                raise TypeError(f"{qualname}() got an unexpected keyword argument {name!r}")
            if name in values:
                raise TypeError(f"{qualname}() got multiple values for argument {name!r}")
        values.update(kwargs)
        if len(values) < len(names):
            for name in names:
                if name in values:
                    continue
                if name in defaults:
                    values[name] = defaults[name]
                elif name in factories:
                    values[name] = factories[name]()
                else:
                    kind = "positional" if name in required_positional else "keyword-only"
                    raise TypeError(f"{qualname}() missing 1 required {kind} argument: {name!r}")
        state = self.__dict__
        for name in names:
            state[name] = values[name]
        if post_init:
            self.__post_init__()

    return _method(cls, "__init__", __init__)


def _repr(cls: type, names: tuple[str, ...]) -> Any:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({inner})"

    return _method(cls, "__repr__", __repr__)


def _values(names: tuple[str, ...]) -> Any:
    """A function from an object to the tuple of its ``names`` attributes."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        (name,) = names
        return lambda self: (getattr(self, name),)
    return lambda self: ()


def _eq(cls: type, names: tuple[str, ...]) -> Any:
    values = _values(names)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return _method(cls, "__eq__", __eq__)


def _hash(cls: type, names: tuple[str, ...]) -> Any:
    values = _values(names)

    def __hash__(self: Any) -> int:
        return hash(values(self))

    return _method(cls, "__hash__", __hash__)


def _frozen(cls: type, names: frozenset[str]) -> tuple[Any, Any]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return _method(cls, "__setattr__", __setattr__), _method(cls, "__delattr__", __delattr__)


def _signature(fields: tuple[dataclasses.Field, ...]) -> str:
    """``(a: 'str', b: 'int' = 0, *, span: 'Span' = ...)`` as ``inspect.signature``
    prints dataclasses' generated ``__init__`` (for the class's ``__doc__``)."""

    def parameter(f: dataclasses.Field) -> str:
        text = f"{f.name}: {inspect.formatannotation(f.type)}"
        if f.default is not MISSING:
            text += f" = {f.default!r}"
        elif f.default_factory is not MISSING:
            text += " = <factory>"
        return text

    plain = [parameter(f) for f in fields if not f.kw_only]
    keyword = [parameter(f) for f in fields if f.kw_only]
    return "(" + ", ".join(plain + (["*"] + keyword if keyword else [])) + ")"
