"""Actions: the writes the engine decides on, carried out by a connector's writer through the outbox.

Every action has a `key` that names its effect (its text is one of the action keys of
bridge.domain.keys); the outbox holds one row per key, so a decision taken twice (a replay, a second
replica) is one write. Its `kind` names its class in the outbox, and each action says in words what
it does (`summary`) and, once done, what it changed (`describe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

from bridge.domain.events import Source, text_digest
from bridge.domain.keys import (
    AddWorkNoteKey,
    CheckAncestryKey,
    CreateRfcDraftKey,
    MoveDefectKey,
    SetCorrelationKey,
    Subject,
    SubjectKind,
)


@dataclass(frozen=True)
class Hyperlink:
    url: str
    comment: str


@dataclass(frozen=True)
class Effect:
    """What a done action changed, in which record, and why: one line of the audit trail."""

    change: str
    record: Subject
    reason: str


@dataclass(frozen=True)
class MoveDefect:
    """Move a defect to a state, if it is still at the revision the decision was made on.

    A person's change in between (the `test` on `/rev` fails) returns the defect to the engine.
    """

    defect_id: int
    expected_rev: int
    from_state: str
    to_state: str
    comment: str
    deployment: str  # what the move is for: a deployment's key or a note target (bridge.domain.keys)
    links: tuple[Hyperlink, ...] = ()
    reason: str = "retest"  # retest, rollback

    kind: ClassVar[str] = MoveDefectKey.kind

    @property
    def target(self) -> Source:
        return Source.ADO

    @cached_property
    def key(self) -> str:
        return str(MoveDefectKey(self.defect_id, self.expected_rev, self.to_state))

    def summary(self) -> str:
        return f"defect {self.defect_id}: {self.from_state} → {self.to_state}"

    def describe(self) -> Effect | None:
        return Effect(
            f"state {self.from_state} → {self.to_state}, comment added",
            Subject.defect(self.defect_id),
            self.comment,
        )


@dataclass(frozen=True)
class AddWorkNote:
    """Append a work note to an RFC; the same content is written once."""

    rfc_sys_id: str
    rfc_number: str
    text: str

    kind: ClassVar[str] = AddWorkNoteKey.kind

    @property
    def target(self) -> Source:
        return Source.SERVICENOW

    @cached_property
    def key(self) -> str:
        return str(AddWorkNoteKey(self.rfc_sys_id, text_digest(self.text)))

    def summary(self) -> str:
        return f"work note on {self.rfc_number}"

    def describe(self) -> Effect | None:
        return Effect(
            "work note added",
            Subject.rfc(self.rfc_number),
            "the linked releases, their defects and checks changed",
        )


@dataclass(frozen=True)
class SetCorrelation:
    """Name the release on an RFC (`correlation_id` / `correlation_display`), if empty or ours."""

    rfc_sys_id: str
    correlation_id: str
    correlation_display: str

    kind: ClassVar[str] = SetCorrelationKey.kind

    @property
    def target(self) -> Source:
        return Source.SERVICENOW

    @cached_property
    def key(self) -> str:
        return str(SetCorrelationKey(self.rfc_sys_id, self.correlation_id))

    def summary(self) -> str:
        return f"correlation_id {self.correlation_id}"

    def describe(self) -> Effect | None:
        return Effect(
            f"correlation_id set to {self.correlation_id}",
            Subject.rfc_sys_id(self.rfc_sys_id),
            f"the RFC deploys {self.correlation_display}",
        )


@dataclass(frozen=True)
class CreateRfcDraft:
    """Create one RFC in state New for a release no RFC links to; correlated so it is never created twice."""

    correlation_id: str
    short_description: str
    description: str
    environment: str | None

    kind: ClassVar[str] = CreateRfcDraftKey.kind

    @property
    def target(self) -> Source:
        return Source.SERVICENOW

    @cached_property
    def key(self) -> str:
        return str(CreateRfcDraftKey(self.correlation_id))

    def summary(self) -> str:
        return self.key

    def describe(self) -> Effect | None:
        # The audit line names the release by the correlation id the draft carries (as it always has).
        return Effect(
            f"draft RFC created for {self.correlation_id}",
            Subject(SubjectKind.RELEASE, self.correlation_id),
            "no RFC linked to the release within the configured time",
        )


@dataclass(frozen=True)
class CheckAncestry:
    """Ask GitLab whether an emergency release's tag is an ancestor of a later regular release's tag."""

    project: str
    ancestor_tag: str
    descendant_tag: str

    kind: ClassVar[str] = CheckAncestryKey.kind

    @property
    def target(self) -> Source:
        return Source.GITLAB

    @cached_property
    def key(self) -> str:
        return str(CheckAncestryKey(self.project, self.ancestor_tag, self.descendant_tag))

    def summary(self) -> str:
        return self.key

    def describe(self) -> Effect | None:
        return None  # a question, not a change: its answer comes back as an event


Action = MoveDefect | AddWorkNote | SetCorrelation | CreateRfcDraft | CheckAncestry
