"""botocore's service models as a rule source: the shapes an API call's input must fit.

A :class:`Target` is where a resource's inputs go (an operation's input, or a named shape when
the API takes the value in a patch or an attribute map); :func:`shape_at` finds a member in it
and :func:`violations` checks one value against that member's shape: type, ``min``/``max``
(a number's range, a string's length, a list's or map's size), ``enum`` and ``pattern``.

Patterns are matched against the whole value, as the services apply them, with the ``regex``
module, which knows the Java-style classes (``\\p{L}``) the models use.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
import regex
from botocore.model import ListShape, MapShape, Shape, StructureShape

__all__ = ["Target", "shape_at", "violations"]

_LISTED_ENUM_VALUES = 12
"""Enums longer than this are named by size in messages, with the closest values suggested."""


@cache
def _service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


@cache
def _compiled(pattern: str) -> regex.Pattern[str] | None:
    try:
        return regex.compile(pattern)
    except regex.error:
        return None


@dataclass(frozen=True)
class Target:
    """An operation's input (``operation``) or a named shape (``shape``) of one service."""

    service: str
    operation: str | None = None
    shape: str | None = None

    @property
    def name(self) -> str:
        return self.operation or self.shape or self.service

    @property
    def source(self) -> str:
        return f"botocore {self.service} model"

    def root(self) -> StructureShape:
        model = _service_model(self.service)
        if self.operation:
            return model.operation_model(self.operation).input_shape
        return model.shape_for(self.shape)

    def required(self, member: str) -> bool:
        """Whether a top-level ``member`` must be present."""
        return member in self.root().required_members


def shape_at(root: StructureShape, member_path: str) -> Shape:
    """The shape of ``Member.Sub`` (``[]`` steps into a list's items: ``KeySchema[].KeyType``)."""
    shape: Shape = root
    for step in member_path.split("."):
        name, items = step.removesuffix("[]"), step.endswith("[]")
        if not isinstance(shape, StructureShape) or name not in shape.members:
            raise KeyError(f"{root.name} has no member {member_path}")
        shape = shape.members[name]
        if items:
            if not isinstance(shape, ListShape):
                raise KeyError(f"{root.name}: {name} in {member_path} is not a list")
            shape = shape.member
    return shape


def violations(value: Any, shape: Shape, prop: str, where: str) -> Iterator[str]:
    """What is wrong with ``value`` (the resource's ``prop``) as ``where`` (``X's Member``)."""
    kind = shape.type_name
    if kind in ("integer", "long", "double", "float"):
        yield from _number(value, shape, prop, where, integral=kind in ("integer", "long"))
    elif kind == "boolean":
        if not isinstance(value, bool):
            yield f"{prop} {value!r} is not a boolean, as {where} requires"
    elif kind == "string":
        yield from _string(value, shape, prop, where)
    elif isinstance(shape, ListShape):
        yield from _list(value, shape, prop, where)
    elif isinstance(shape, MapShape):
        yield from _map(value, shape, prop, where)


def _number(value: Any, shape: Shape, prop: str, where: str, integral: bool) -> Iterator[str]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        yield f"{prop} {value!r} is not a number, as {where} requires"
        return
    if integral and not float(value).is_integer():
        yield f"{prop} {value!r} is not an integer, as {where} requires"
        return
    shown = _number_text(value)
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        yield f"{prop} {shown} is below {where} minimum {low}"
    if high is not None and value > high:
        yield f"{prop} {shown} is above {where} maximum {high}"


def _string(value: Any, shape: Shape, prop: str, where: str) -> Iterator[str]:
    if not isinstance(value, str):
        yield f"{prop} {value!r} is not a string, as {where} requires"
        return
    if shape.enum and value not in shape.enum:
        yield f"{prop} {value!r} is not one of {where} values ({_enum_text(value, shape.enum)})"
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and len(value) < low:
        yield f"{prop} {value!r} is shorter than {where} minimum length {low}"
    if high is not None and len(value) > high:
        yield f"{prop} {value[:40]!r}… is longer than {where} maximum length {high}"
    pattern = shape.metadata.get("pattern")
    compiled = _compiled(pattern) if pattern else None
    if compiled is not None and not compiled.fullmatch(value):
        yield f"{prop} {value!r} does not match {where} pattern {pattern}"


def _list(value: Any, shape: ListShape, prop: str, where: str) -> Iterator[str]:
    # pulumi-aws flattens single-item lists (MaxItemsOne) to the item itself.
    items = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    yield from _size(len(items), shape, prop, where, "items")
    for index, item in enumerate(items):
        yield from violations(item, shape.member, f"{prop}[{index}]", f"{where} item")


def _map(value: Any, shape: MapShape, prop: str, where: str) -> Iterator[str]:
    if not isinstance(value, Mapping):
        yield f"{prop} {value!r} is not a map, as {where} requires"
        return
    yield from _size(len(value), shape, prop, where, "entries")
    for key, item in value.items():
        yield from violations(key, shape.key, f"{prop} key", f"{where} key")
        yield from violations(item, shape.value, f"{prop}.{key}", f"{where} value")


def _size(count: int, shape: Shape, prop: str, where: str, unit: str) -> Iterator[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and count < low:
        yield f"{prop} has {count} {unit}; {where} takes at least {low}"
    if high is not None and count > high:
        yield f"{prop} has {count} {unit}; {where} takes at most {high}"


def _enum_text(value: str, enum: list[str]) -> str:
    if len(enum) <= _LISTED_ENUM_VALUES:
        return ", ".join(enum)
    close = difflib.get_close_matches(value, enum, n=3)
    hint = f"; closest: {', '.join(close)}" if close else ""
    return f"{len(enum)} values{hint}"


def _number_text(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
