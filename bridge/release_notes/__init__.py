"""Release notes: read a GitLab release description into the release, its defects, CRs, items and findings."""

from __future__ import annotations

from bridge.release_notes.model import (
    ChangeRequest,
    DefectFixed,
    DefectOutstanding,
    DefectUnclassified,
    FindingCode,
    ItemSource,
    NoteFinding,
    NoteFindingSeverity,
    NoteItem,
    ReleaseNote,
)
from bridge.release_notes.parser import explain_release_note, parse_release_note
from bridge.release_notes.vocabulary import (
    ItemNeed,
    ReleaseNotesMapping,
    Vocabulary,
    default_vocabulary,
    load_vocabulary,
)

__all__ = [
    "ChangeRequest",
    "DefectFixed",
    "DefectOutstanding",
    "DefectUnclassified",
    "FindingCode",
    "ItemNeed",
    "ItemSource",
    "NoteFinding",
    "NoteFindingSeverity",
    "NoteItem",
    "ReleaseNote",
    "ReleaseNotesMapping",
    "Vocabulary",
    "default_vocabulary",
    "explain_release_note",
    "load_vocabulary",
    "parse_release_note",
]
