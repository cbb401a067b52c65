"""Events: what a connector reports that a system shows, in the programme's words, not the wire's.

Connectors build these from polls and re-read records; the engine consumes them. Each carries the
record's revision, so the same revision seen twice (a poll and a webhook) is recognised as one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bridge.domain.keys import TagKey


class Source(StrEnum):
    """The system an event comes from or an action goes to."""

    GITLAB = "gitlab"
    SERVICENOW = "servicenow"
    ADO = "ado"


class NoteSource(StrEnum):
    """Where a release's note was read from."""

    RELEASE = "release"  # the GitLab Release's description
    TAG_MESSAGE = "tag_message"  # the annotated tag's message, when there is no Release
    NONE = "none"  # a lightweight tag with no Release


class RfcState(StrEnum):
    """The RFC's life in ServiceNow's change model (mapped from the instance's numeric states)."""

    NEW = "new"
    ASSESS = "assess"
    AUTHORIZE = "authorize"
    SCHEDULED = "scheduled"
    IMPLEMENT = "implement"
    REVIEW = "review"
    CLOSED = "closed"
    CANCELED = "canceled"


def text_digest(text: str) -> str:
    """A short, stable digest of a text, for revision keys and write-back identity."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class ReleasePublished:
    """GitLab shows a tag of a configured project, with its note; `removed` when the tag is gone."""

    project: str  # path with namespace, e.g. mhhs/dip-platform
    component: str
    tag: str
    commit_sha: str | None
    note: str
    note_source: NoteSource
    published_at: datetime | None
    # When the connector read it. GitLab gives a release no edit time, so of two readings of one
    # tag the later reading is the newer revision.
    read_at: datetime
    web_url: str | None = None
    removed: bool = False

    @property
    def source(self) -> Source:
        return Source.GITLAB

    @property
    def revision(self) -> str:
        """Tag, commit and note: a release whose note is edited is a new revision of it."""
        return text_digest(f"{self.tag}\n{self.commit_sha}\n{self.removed}\n{self.note}")

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.read_at, self.revision)

    @property
    def record_key(self) -> str:
        return str(TagKey(self.project, self.tag))


@dataclass(frozen=True)
class JournalEntry:
    """A work note (or comment) on an RFC."""

    created_at: datetime
    author: str
    text: str
    kind: str = "work_notes"


@dataclass(frozen=True)
class ChangeUpdated:
    """ServiceNow shows an RFC (a change_request record) at a given sys_mod_count."""

    sys_id: str
    number: str
    mod_count: int
    updated_at: datetime
    state: RfcState
    type: str  # normal, standard, emergency
    approval: str  # not requested, requested, approved, rejected
    close_code: str | None
    close_notes: str
    planned_start: datetime | None
    planned_end: datetime | None
    cab_date: datetime | None
    short_description: str
    description: str
    correlation_id: str
    environment: str | None  # as written on the RFC; the engine resolves aliases
    fields: tuple[tuple[str, str], ...] = ()  # further mapped fields by role, e.g. ("release", "...")
    work_notes: tuple[JournalEntry, ...] | None = None  # None: not read with this revision

    @property
    def source(self) -> Source:
        return Source.SERVICENOW

    @property
    def revision(self) -> int:
        return self.mod_count

    @property
    def record_key(self) -> str:
        return self.sys_id

    def field(self, role: str) -> str | None:
        return next((value for name, value in self.fields if name == role), None)


@dataclass(frozen=True)
class DefectUpdated:
    """ADO shows a defect (a work item) at a given revision."""

    id: int
    rev: int
    state: str
    severity: str | None
    title: str
    changed_at: datetime
    changed_by: str | None
    work_item_type: str = "Defect"
    hyperlinks: tuple[str, ...] = ()

    @property
    def source(self) -> Source:
        return Source.ADO

    @property
    def revision(self) -> int:
        return self.rev

    @property
    def record_key(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class AncestryChecked:
    """GitLab's answer to a CheckAncestry action: is one tag's commit an ancestor of another's."""

    project: str
    ancestor_tag: str
    descendant_tag: str
    is_ancestor: bool
    merge_base: str | None

    @property
    def source(self) -> Source:
        return Source.GITLAB

    @property
    def revision(self) -> str:
        return text_digest(f"{self.ancestor_tag}\n{self.descendant_tag}\n{self.merge_base}")

    @property
    def record_key(self) -> str:
        return f"{self.project}:{self.ancestor_tag}..{self.descendant_tag}"


@dataclass(frozen=True)
class DefectMoved:
    """The bridge moved a defect (reported by the dispatcher once ADO accepted the move)."""

    defect_id: int
    deployment: str  # the deployment the move was for
    from_state: str
    to_state: str
    rev: int  # the defect's revision after the move
    reason: str  # retest, rollback
    at: datetime

    @property
    def source(self) -> Source:
        return Source.ADO

    @property
    def revision(self) -> int:
        return self.rev

    @property
    def record_key(self) -> str:
        return f"{self.defect_id}:{self.rev}"


DomainEvent = ReleasePublished | ChangeUpdated | DefectUpdated | AncestryChecked | DefectMoved


@dataclass(frozen=True)
class RecordRef:
    """A record a webhook names: re-read it before acting, unless `current` says the payload suffices.

    Webhooks are hints (DESIGN.md): a payload alone never moves anything.
    """

    source: Source
    kind: str  # release, change, defect
    key: str  # project:tag, sys_id, work item id
    revision: int | str | None = None
