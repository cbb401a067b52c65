"""Snapshots of the engine's state: what the journal folds to up to one row, kept so a worker starts from
the newest snapshot and the journal after it instead of replaying the whole journal.

A snapshot holds each record's newest revision and what earlier revisions showed of an RFC's life
(when it was first seen in each state, its work notes), in the domain codec's form, as compressed JSON.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from bridge.domain.codec import decode_event, encode, encode_event
from bridge.domain.events import ChangeUpdated, RfcState
from bridge.engine.state import ProgrammeState, RfcRecord

FORMAT = 1  # raise when the form changes: a snapshot of another form is ignored (the journal is replayed)


def encode_state(state: ProgrammeState) -> bytes:
    document: dict[str, Any] = {
        "releases": [encode_event(e) for e in state.releases.values()],
        "rfcs": [_encode_rfc(record) for record in state.rfcs.values()],
        "defects": [encode_event(e) for e in state.defects.values()],
        "ancestry": [encode_event(e) for e in state.ancestry.values()],
        "moves": [encode_event(e) for e in state.moves.values()],
    }
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), level=6)


def decode_state(payload: bytes) -> ProgrammeState:
    """The state a snapshot holds; raises ValueError (or a codec error) when it cannot be read."""
    document = json.loads(zlib.decompress(payload))
    state = ProgrammeState()
    for encoded in document["releases"]:
        state.apply(decode_event(encoded))
    for encoded in document["defects"] + document["ancestry"] + document["moves"]:
        state.apply(decode_event(encoded))
    for encoded in document["rfcs"]:
        record = _decode_rfc(encoded)
        state.rfcs[record.change.sys_id] = record
    return state


def _encode_rfc(record: RfcRecord) -> dict[str, Any]:
    # The work notes gathered across revisions ride on the newest revision's own field.
    notes = sorted(record.work_notes, key=lambda note: json.dumps(encode(note), sort_keys=True))
    return {
        "change": encode_event(replace(record.change, work_notes=tuple(notes))),
        "first_seen": [[state.value, at.isoformat()] for state, at in record.first_seen],
        "notes_held": record.change.work_notes is not None,
    }


def _decode_rfc(document: dict[str, Any]) -> RfcRecord:
    change = decode_event(document["change"])
    if not isinstance(change, ChangeUpdated):
        raise ValueError("a snapshot's RFC is not a change")
    notes = frozenset(change.work_notes or ())
    if not document.get("notes_held", True):
        change = replace(change, work_notes=None)
    first_seen = tuple((RfcState(state), datetime.fromisoformat(at)) for state, at in document["first_seen"])
    return RfcRecord(change, first_seen, notes)
