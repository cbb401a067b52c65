"""The codec reads back exactly the events and actions it wrote, through JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.domain.actions import Hyperlink, MoveDefect
from bridge.domain.codec import CodecError, decode_event, encode_event
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


@given(events)
def test_every_event_and_action_survives_a_trip_through_json(event: object) -> None:
    document = json.loads(json.dumps(encode_event(event)))
    assert decode_event(document) == event


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
