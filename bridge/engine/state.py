"""The engine's state: the newest revision of every record, and the bridge's own moves.

Merging is forward-only and commutative: a revision older than the one held changes nothing, the same
revision twice changes nothing, and facts gathered across revisions (when an RFC was first seen in a
state, its work notes) are unions and minimums. So the state after a set of events does not depend on
their order or on duplicates, and everything the engine derives from it inherits that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bridge.domain.events import (
    AncestryChecked,
    ChangeUpdated,
    DefectMoved,
    DefectUpdated,
    DomainEvent,
    JournalEntry,
    ReleasePublished,
    RfcState,
)


@dataclass(frozen=True)
class RfcRecord:
    """The newest revision of an RFC, with what earlier revisions showed of its life."""

    change: ChangeUpdated
    first_seen: tuple[tuple[RfcState, datetime], ...] = ()  # earliest revision time seen in each state
    work_notes: frozenset[JournalEntry] = frozenset()

    def first_seen_in(self, state: RfcState) -> datetime | None:
        return next((at for s, at in self.first_seen if s is state), None)


@dataclass
class ProgrammeState:
    """Everything the engine knows, keyed by record."""

    releases: dict[tuple[str, str], ReleasePublished] = field(default_factory=dict)  # (project, tag)
    rfcs: dict[str, RfcRecord] = field(default_factory=dict)  # sys_id
    defects: dict[int, DefectUpdated] = field(default_factory=dict)
    ancestry: dict[tuple[str, str, str], AncestryChecked] = field(default_factory=dict)
    moves: dict[tuple[int, str, str], DefectMoved] = field(
        default_factory=dict
    )  # (defect, deployment, reason)

    def apply(self, event: DomainEvent) -> bool:
        """Merge one event; True when the state changed."""
        if isinstance(event, ReleasePublished):
            return self._apply_release(event)
        if isinstance(event, ChangeUpdated):
            return self._apply_change(event)
        if isinstance(event, DefectUpdated):
            held = self.defects.get(event.id)
            if held is not None and held.rev >= event.rev:
                return False
            self.defects[event.id] = event
            return True
        if isinstance(event, AncestryChecked):
            key = (event.project, event.ancestor_tag, event.descendant_tag)
            if self.ancestry.get(key) == event:
                return False
            self.ancestry[key] = event
            return True
        move_key = (event.defect_id, event.deployment, event.reason)
        held_move = self.moves.get(move_key)
        if held_move is not None and (held_move.rev, held_move.at) <= (event.rev, event.at):
            return False  # the first move for a deployment is the one that counts
        self.moves[move_key] = event
        return True

    def _apply_release(self, event: ReleasePublished) -> bool:
        key = (event.project, event.tag)
        held = self.releases.get(key)
        if held is not None and held.order >= event.order:
            return False
        self.releases[key] = event
        return True

    def _apply_change(self, event: ChangeUpdated) -> bool:
        held = self.rfcs.get(event.sys_id)
        seen = dict(held.first_seen) if held else {}
        if event.state not in seen or event.updated_at < seen[event.state]:
            seen[event.state] = event.updated_at
        notes = (held.work_notes if held else frozenset()) | frozenset(event.work_notes or ())
        newest = event if held is None or event.mod_count > held.change.mod_count else held.change
        first_seen = tuple(sorted(seen.items(), key=lambda item: (item[1], item[0].value)))
        record = RfcRecord(newest, first_seen, notes)
        if held == record:
            return False
        self.rfcs[event.sys_id] = record
        return True

    def copy(self) -> ProgrammeState:
        return ProgrammeState(
            dict(self.releases), dict(self.rfcs), dict(self.defects), dict(self.ancestry), dict(self.moves)
        )
