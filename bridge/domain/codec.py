"""JSON for domain events and actions: plain documents out, typed frozen dataclasses back in.

The field types decide how a value is read back (datetimes, enums, tuples, nested dataclasses), so
a stored event decodes to exactly the event that was stored.
"""

from __future__ import annotations

import dataclasses
import types
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
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if isinstance(value, frozenset | set):
        return sorted((encode(item) for item in value), key=repr)
    return value


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
    if value is None:
        return None
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(options) == 1:
            return decode(options[0], value)
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _field_hints(hint)
        return hint(**{name: decode(hints[name], item) for name, item in value.items() if name in hints})
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], item) for item in value)
        return tuple(decode(arg, item) for arg, item in zip(args, value, strict=True))
    if origin is frozenset:
        (arg,) = get_args(hint)
        return frozenset(decode(arg, item) for item in value)
    return value
