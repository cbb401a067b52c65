"""JSON for domain events and actions: plain documents out, typed frozen dataclasses back in.

The field types decide how a value is read back (datetimes, enums, tuples, nested dataclasses), so
a stored event decodes to exactly the event that was stored.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from bridge.domain.actions import AddWorkNote, CheckAncestry, CreateRfcDraft, MoveDefect, SetCorrelation
from bridge.domain.events import (
    AncestryChecked,
    ChangeUpdated,
    DefectMoved,
    DefectUpdated,
    ReleasePublished,
)

EVENT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (ReleasePublished, ChangeUpdated, DefectUpdated, AncestryChecked, DefectMoved)
}
ACTION_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (MoveDefect, AddWorkNote, SetCorrelation, CreateRfcDraft, CheckAncestry)
}


class CodecError(ValueError):
    """A document that does not describe a known event or action."""


def encode(value: Any) -> Any:
    """A JSON-ready document for a dataclass (recursively), datetime, enum, tuple or plain value."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is not None:
        # Plain fields are copied here rather than through a call each: most fields are plain.
        return {name: v if type(v := getattr(value, name)) in _PLAIN else encode(v) for name in names}
    if dataclasses.is_dataclass(kind) and not isinstance(value, type):
        # Each class's fields are looked up once; a dataclass's instances then encode by name.
        _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind))
        return encode(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if isinstance(value, frozenset | set):
        return sorted((encode(item) for item in value), key=repr)
    return value


# Values that encode as themselves, by exact type (a subclass, such as a StrEnum, takes the long way).
_PLAIN: frozenset[type[Any]] = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def encode_event(event: Any) -> dict[str, Any]:
    """`{"type": <class name>, "data": {...}}` for an event or action."""
    return {"type": type(event).__name__, "data": encode(event)}


def decode_event(document: dict[str, Any]) -> Any:
    """The event or action a document from encode_event describes."""
    name = document.get("type")
    cls = EVENT_TYPES.get(str(name)) or ACTION_TYPES.get(str(name))
    if cls is None:
        raise CodecError(f"unknown event or action type {name!r}")
    try:
        return decode(cls, document.get("data", {}))
    except (TypeError, ValueError, KeyError) as exc:
        raise CodecError(f"{name}: {exc}") from exc


@cache
def _field_hints(cls: type[Any]) -> dict[str, Any]:
    """A dataclass's fields and their types, resolved once per class (resolving them is costly)."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def decode(hint: Any, value: Any) -> Any:
    """Read `value` back as the type `hint` says."""
    return _decoder(hint)(value)


Decoder = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


@cache
def _decoder(hint: Any) -> Decoder:
    """How to read a value back as `hint` says, worked out once per type: None reads as None always."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        return _decoder(options[0]) if len(options) == 1 else _same
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_decoder(hint)
    if hint is datetime:
        return _or_none(datetime.fromisoformat)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _or_none(hint)
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return _or_none(lambda value: tuple(item(v) for v in value))
        items = tuple(_decoder(arg) for arg in args)
        return _or_none(lambda value: tuple(d(v) for d, v in zip(items, value, strict=True)))
    if origin is frozenset:
        (arg,) = get_args(hint)
        member = _decoder(arg)
        return _or_none(lambda value: frozenset(member(v) for v in value))
    return _same


def _or_none(read: Decoder) -> Decoder:
    return lambda value: None if value is None else read(value)


def _dataclass_decoder(cls: Any) -> Decoder:
    hints = _field_hints(cls)
    # Fields read as they are (text, numbers) are copied; only the others go through their decoder.
    convert = {name: d for name, d in ((n, _decoder(h)) for n, h in hints.items()) if d is not _same}

    def read(value: Any) -> Any:
        if value is None:
            return None
        return cls(
            **{
                name: (item if (d := convert.get(name)) is None else d(item))
                for name, item in value.items()
                if name in hints
            }
        )

    return read
