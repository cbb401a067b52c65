"""The codec reads back exactly the events and actions it wrote, through JSON."""

from __future__ import annotations

import dataclasses
import json
import types
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.domain.actions import (
    AddWorkNote,
    CheckAncestry,
    CreateRfcDraft,
    Hyperlink,
    MoveDefect,
    SetCorrelation,
)
from bridge.domain.codec import CodecError, decode, decode_event, encode, encode_event
from bridge.domain.events import (
    AncestryChecked,
    ChangeUpdated,
    DefectMoved,
    DefectUpdated,
    JournalEntry,
    NoteSource,
    ReleasePublished,
    RfcState,
)

times = st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
text = st.text(max_size=40)

events = st.one_of(
    st.builds(
        ReleasePublished,
        project=text,
        component=text,
        tag=text,
        commit_sha=st.none() | text,
        note=text,
        note_source=st.sampled_from(NoteSource),
        published_at=st.none() | times,
        read_at=times,
        web_url=st.none() | text,
        removed=st.booleans(),
    ),
    st.builds(
        ChangeUpdated,
        sys_id=text,
        number=text,
        mod_count=st.integers(0, 10**6),
        updated_at=times,
        state=st.sampled_from(RfcState),
        type=text,
        approval=text,
        close_code=st.none() | text,
        close_notes=text,
        planned_start=st.none() | times,
        planned_end=st.none() | times,
        cab_date=st.none() | times,
        short_description=text,
        description=text,
        correlation_id=text,
        environment=st.none() | text,
        fields=st.lists(st.tuples(text, text), max_size=3).map(tuple),
        work_notes=st.none()
        | st.lists(st.builds(JournalEntry, times, text, text, text), max_size=3).map(tuple),
    ),
    st.builds(DefectUpdated, hyperlinks=st.lists(text, max_size=2).map(tuple)),
    st.builds(AncestryChecked),
    st.builds(DefectMoved, at=times),
    st.builds(MoveDefect, links=st.lists(st.builds(Hyperlink), max_size=2).map(tuple)),
)
actions = st.one_of(
    st.builds(MoveDefect, links=st.lists(st.builds(Hyperlink), max_size=2).map(tuple)),
    st.builds(AddWorkNote),
    st.builds(SetCorrelation),
    st.builds(CreateRfcDraft, environment=st.none() | text),
    st.builds(CheckAncestry),
)


@given(events)
def test_every_event_and_action_survives_a_trip_through_json(event: object) -> None:
    document = json.loads(json.dumps(encode_event(event)))
    assert decode_event(document) == event


@given(actions)
def test_every_action_survives_a_trip_through_json(action: object) -> None:
    document = json.loads(json.dumps(encode_event(action)))
    assert decode_event(document) == action


def _encoded_before(value: Any) -> Any:
    """The codec's encode as it was written first (a generic walk over each value): the oracle."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encoded_before(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_encoded_before(item) for item in value]
    if isinstance(value, frozenset | set):
        return sorted((_encoded_before(item) for item in value), key=repr)
    return value


def _decoded_before(hint: Any, value: Any) -> Any:
    """The codec's decode as it was written first (type hints read per value): the oracle."""
    if value is None:
        return None
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        return _decoded_before(options[0], value) if len(options) == 1 else value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = get_type_hints(hint)
        names = {f.name for f in dataclasses.fields(hint)}
        return hint(**{n: _decoded_before(hints[n], item) for n, item in value.items() if n in names})
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decoded_before(args[0], item) for item in value)
        return tuple(_decoded_before(arg, item) for arg, item in zip(args, value, strict=True))
    if origin is frozenset:
        (arg,) = get_args(hint)
        return frozenset(_decoded_before(arg, item) for item in value)
    return value


@given(events | actions)
def test_the_codec_writes_and_reads_exactly_what_its_first_generic_form_did(value: Any) -> None:
    encoded = encode(value)
    assert encoded == _encoded_before(value)
    assert json.dumps(encoded) == json.dumps(_encoded_before(value))
    document = json.loads(json.dumps(encoded))
    decoded = decode(type(value), document)
    assert decoded == _decoded_before(type(value), document)
    assert [type(getattr(decoded, f.name)) for f in dataclasses.fields(decoded)] == [
        type(getattr(value, f.name)) for f in dataclasses.fields(value)
    ]


@given(st.sets(st.integers()) | st.frozensets(text) | st.lists(times) | st.sampled_from(RfcState))
def test_values_outside_a_dataclass_encode_as_they_did(value: Any) -> None:
    assert encode(value) == _encoded_before(value)


@pytest.mark.parametrize(
    "document",
    [
        {"type": "Nonsense", "data": {}},
        {"type": "DefectUpdated", "data": {"id": 1}},
        {"type": "ChangeUpdated", "data": {"updated_at": "yesterday"}},
        {},
    ],
)
def test_a_document_that_describes_nothing_known_is_refused(document: dict[str, object]) -> None:
    with pytest.raises(CodecError):
        decode_event(document)
