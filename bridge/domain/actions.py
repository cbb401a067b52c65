"""Actions: the writes the engine decides on, carried out by a connector's writer through the outbox.

Every action has a `key` that names its effect; the outbox holds one row per key, so a decision taken
twice (a replay, a second replica) is one write.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.domain.events import Source, text_digest


@dataclass(frozen=True)
class Hyperlink:
    url: str
    comment: str


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
    deployment: str  # the deployment this move is for (see bridge.engine.deployments)
    links: tuple[Hyperlink, ...] = ()
    reason: str = "retest"  # retest, rollback

    @property
    def target(self) -> Source:
        return Source.ADO

    @property
    def kind(self) -> str:
        return "move_defect"

    @property
    def key(self) -> str:
        return f"move_defect:{self.defect_id}:{self.expected_rev}:{self.to_state}"


@dataclass(frozen=True)
class AddWorkNote:
    """Append a work note to an RFC; the same content is written once."""

    rfc_sys_id: str
    rfc_number: str
    text: str

    @property
    def target(self) -> Source:
        return Source.SERVICENOW

    @property
    def kind(self) -> str:
        return "add_work_note"

    @property
    def key(self) -> str:
        return f"add_work_note:{self.rfc_sys_id}:{text_digest(self.text)}"


@dataclass(frozen=True)
class SetCorrelation:
    """Name the release on an RFC (`correlation_id` / `correlation_display`), if empty or ours."""

    rfc_sys_id: str
    correlation_id: str
    correlation_display: str

    @property
    def target(self) -> Source:
        return Source.SERVICENOW

    @property
    def kind(self) -> str:
        return "set_correlation"

    @property
    def key(self) -> str:
        return f"set_correlation:{self.rfc_sys_id}:{self.correlation_id}"


@dataclass(frozen=True)
class CreateRfcDraft:
    """Create one RFC in state New for a release no RFC links to; correlated so it is never created twice."""

    correlation_id: str
    short_description: str
    description: str
    environment: str | None

    @property
    def target(self) -> Source:
        return Source.SERVICENOW

    @property
    def kind(self) -> str:
        return "create_rfc_draft"

    @property
    def key(self) -> str:
        return f"create_rfc_draft:{self.correlation_id}"


@dataclass(frozen=True)
class CheckAncestry:
    """Ask GitLab whether an emergency release's tag is an ancestor of a later regular release's tag."""

    project: str
    ancestor_tag: str
    descendant_tag: str

    @property
    def target(self) -> Source:
        return Source.GITLAB

    @property
    def kind(self) -> str:
        return "check_ancestry"

    @property
    def key(self) -> str:
        return f"check_ancestry:{self.project}:{self.ancestor_tag}:{self.descendant_tag}"


Action = MoveDefect | AddWorkNote | SetCorrelation | CreateRfcDraft | CheckAncestry
