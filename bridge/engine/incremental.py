"""Incremental planning: the programme's plan held between events, planned again only where a change reaches.

`plan()` derives everything from the whole state on every call. The `Planner` keeps what it derived,
scope by scope, and after each batch of events runs the same rules on the scopes the changes can
reach, so an event costs what it touches, not what the programme has gathered over the years.
`plan()` stays the oracle: the property tests compare the two on random histories.

The scopes, and what reaches each:
- a component: its releases, their versions and notes, regressions and carry-forward
  (its tags; GitLab's ancestry answers);
- a release-RFC pair: the link between them (the release's note; the RFC's texts and existence);
- an RFC: its deployments and own findings (its record, its links);
- a place (environment, component): its ledger (its deployments);
- a release: its control points (the release, its RFCs' records);
- a defect: its retest and rollback moves, and where it stands for each release that lists it fixed
  (its record and the bridge's moves, the deployments of the releases that list it, and whether each
  is undone);
- an RFC's write-backs: its work note and correlation (its releases, their control points, and the
  findings about them or about it);
- drafts: the releases no RFC links (and the time).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from bridge.domain.actions import Action, MoveDefect
from bridge.domain.events import (
    AncestryChecked,
    ChangeUpdated,
    DefectMoved,
    DefectUpdated,
    DomainEvent,
    ReleasePublished,
    RfcState,
)
from bridge.domain.findings import Finding
from bridge.domain.fixes import Fix
from bridge.domain.keys import CorrelationId, NoteTarget, Subject, SubjectKind
from bridge.domain.links import LinkKind
from bridge.engine.carry_forward import CarryForward, carry_forward
from bridge.engine.context import EngineContext
from bridge.engine.control_points import ControlPoint, control_points
from bridge.engine.deployments import Deployment, LedgerEntry, deployments_of, stays
from bridge.engine.links import Link, defect_links, named_links, note_links, versions_named
from bridge.engine.reconcile import (
    Plan,
    change_window_findings,
    failed_points,
    regressions,
    unique_findings,
)
from bridge.engine.releases import Release, chain_of, release_of
from bridge.engine.retest import (
    RETEST,
    ROLLBACK,
    Target,
    fix_of,
    retest_move,
    rollback_move,
)
from bridge.engine.state import ProgrammeState, RfcRecord
from bridge.engine.write_backs import correlation, drafts, work_note

Place = tuple[str, str]  # (environment, component)
Unit = tuple[str, str]  # (scope, key): what one set of findings and actions was derived for

# The order in which plan() gathers findings: of two units finding the same thing, the earlier's
# evidence is kept, as plan() keeps the first.
_RANK = {"component": 0, "rfc": 1, "defect": 2, "release": 3, "note": 4, "drafts": 5}


@dataclass(frozen=True)
class PlanChanges:
    """What one batch of events changed in the plan, for the store to write just that."""

    subjects: frozenset[str]  # subjects whose findings changed
    added: tuple[Action, ...]  # actions the plan wants that it did not before
    gone: frozenset[str]  # keys of actions the plan no longer wants
    links: frozenset[tuple[str, str, str]]  # (kind, release key, other) whose link changed
    releases: frozenset[str]  # release keys whose release changed, came or went
    places: frozenset[Place]  # places whose ledger changed
    points: frozenset[str]  # release keys whose control points changed
    components: frozenset[str]  # components whose carry-forward verdicts changed
    fixes: frozenset[int] = frozenset()  # defects where one stands for a release that lists it changed

    @property
    def empty(self) -> bool:
        return not (
            self.subjects
            or self.added
            or self.gone
            or self.links
            or self.releases
            or self.places
            or self.points
            or self.components
            or self.fixes
        )


@dataclass
class _Dirty:
    """Scopes to plan again, filled as the changes spread from stage to stage."""

    components: set[str] = field(default_factory=set)
    notes_read: set[str] = field(default_factory=set)  # release keys whose note links to read again
    rfcs: set[str] = field(default_factory=set)  # sys_ids whose named links to read again
    numbers: set[str] = field(default_factory=set)  # RFC numbers that came or went
    deployments: set[str] = field(default_factory=set)  # sys_ids whose deployments to plan again
    places: set[Place] = field(default_factory=set)
    defects: set[int] = field(default_factory=set)
    points: set[str] = field(default_factory=set)  # release keys
    write_backs: set[str] = field(default_factory=set)  # RFC numbers


@dataclass
class _Changed:
    """What changed so far in this batch (for PlanChanges)."""

    subjects: set[str] = field(default_factory=set)
    actions: dict[str, Action | None] = field(default_factory=dict)  # key → before (None: new)
    links: set[tuple[str, str, str]] = field(default_factory=set)
    releases: set[str] = field(default_factory=set)
    places: set[Place] = field(default_factory=set)
    points: set[str] = field(default_factory=set)
    components: set[str] = field(default_factory=set)
    fixes: set[int] = field(default_factory=set)


class Planner:
    """The plan of a programme kept up to date event by event: the same rules as `plan()`, per scope."""

    def __init__(self, context: EngineContext) -> None:
        self.context = context
        self.state = ProgrammeState()
        # Releases, and what finds them: by key, by component, by version, by the defects and RFCs
        # their notes list.
        self._tags: dict[str, set[tuple[str, str]]] = defaultdict(set)  # component → (project, tag)
        self._read: dict[tuple[str, str], tuple[ReleasePublished, Release | Finding | None]] = {}
        self._chains: dict[str, dict[str, Release]] = {}  # component → release key → release
        self._releases: dict[str, Release] = {}
        self._by_version: dict[str, dict[str, Release]] = defaultdict(dict)
        self._fixed_in: dict[int, set[str]] = defaultdict(set)  # defect → release keys
        self._noted: dict[str, set[str]] = defaultdict(set)  # RFC number → release keys naming it
        # RFCs and links.
        self._numbers: dict[str, str] = {}  # number → sys_id
        self._number_of: dict[str, str] = {}  # sys_id → number
        self._mentions: dict[str, set[str]] = defaultdict(set)  # version → sys_ids mentioning it
        self._mentioned: dict[str, set[str]] = {}  # sys_id → versions it mentions
        self._named: dict[str, list[Link]] = {}  # sys_id → the links it names
        self._links: dict[tuple[str, str], Link] = {}  # (release key, number) → release-RFC link
        self._rfcs_of: dict[str, set[str]] = defaultdict(set)  # release key → numbers
        self._releases_of_rfc: dict[str, set[str]] = defaultdict(set)  # number → release keys
        self._unlinked: set[str] = set()  # release keys no RFC links
        # Deployments and the ledger.
        self._deployments: dict[str, tuple[Deployment, ...]] = {}  # sys_id → deployments
        self._deployment: dict[str, Deployment] = {}  # key → deployment
        self._at_place: dict[Place, dict[str, Deployment]] = defaultdict(dict)
        self._deployed: dict[str, set[str]] = defaultdict(set)  # release key → deployment keys
        self._ledger: dict[Place, tuple[LedgerEntry, ...]] = {}
        self._undone: set[str] = set()
        self._moves_of: dict[int, set[tuple[int, str, str]]] = defaultdict(set)
        self._moved_for: dict[str, set[int]] = defaultdict(set)  # deployment key → defects
        # What each scope derived.
        self._points: dict[str, tuple[ControlPoint, ...]] = {}
        self._verdicts: dict[str, tuple[CarryForward, ...]] = {}
        self._fixes: dict[int, tuple[Fix, ...]] = {}  # defect → where it stands for each release
        self._findings: dict[Unit, tuple[Finding, ...]] = {}
        self._actions: dict[Unit, tuple[Action, ...]] = {}
        self._about: dict[str, set[Unit]] = defaultdict(set)  # subject → units with findings on it
        self._wanted: dict[str, Action] = {}  # action key → action
        self._cached: Plan | None = None

    @classmethod
    def of(cls, state: ProgrammeState, context: EngineContext, now: datetime | None) -> Planner:
        """A planner holding a copy of `state`, planned whole (as on a start from a snapshot)."""
        planner = cls(context)
        planner.state = state.copy()
        dirty = _Dirty()
        for project, tag in state.releases:
            component = context.component(project)
            if component is not None:
                planner._tags[component.name].add((project, tag))
                dirty.components.add(component.name)
        dirty.rfcs.update(state.rfcs)
        dirty.defects.update(state.defects)
        for key in state.moves:
            planner._moves_of[key[0]].add(key)
            planner._moved_for[key[1]].add(key[0])
            dirty.defects.add(key[0])
        planner._settle(dirty, now)
        return planner

    # --- the batch -------------------------------------------------------------------------------

    def apply(self, events: Iterable[DomainEvent], now: datetime | None) -> PlanChanges:
        """Merge events into the state and plan again what they reach; returns what changed.

        `now` decides the draft RFCs (the only rule that depends on the time); None keeps the drafts
        as they were planned last.
        """
        dirty = _Dirty()
        for event in events:
            if self.state.apply(event):
                self._mark(event, dirty)
        return self._settle(dirty, now)

    def _settle(self, dirty: _Dirty, now: datetime | None) -> PlanChanges:
        changed = _Changed()
        self._plan_components(dirty, changed)
        self._plan_rfc_records(dirty)
        self._plan_links(dirty, changed)
        self._plan_deployments(dirty, changed)
        self._plan_places(dirty, changed)
        self._plan_defects(dirty, changed)
        self._plan_points(dirty, changed)
        self._plan_write_backs(dirty, changed)
        if now is not None and self.context.create_rfc_drafts:
            self._plan_drafts(now, changed)
        if _anything(changed):
            self._cached = None
        gone = frozenset(k for k, before in changed.actions.items() if before and k not in self._wanted)
        added = tuple(
            self._wanted[k]
            for k, before in changed.actions.items()
            if k in self._wanted and before != self._wanted[k]
        )
        return PlanChanges(
            subjects=frozenset(changed.subjects),
            added=added,
            gone=gone,
            links=frozenset(changed.links),
            releases=frozenset(changed.releases),
            places=frozenset(changed.places),
            points=frozenset(changed.points),
            components=frozenset(changed.components),
            fixes=frozenset(changed.fixes),
        )

    def _mark(self, event: DomainEvent, dirty: _Dirty) -> None:
        if isinstance(event, ReleasePublished):
            component = self.context.component(event.project)
            if component is not None:
                self._tags[component.name].add((event.project, event.tag))
                dirty.components.add(component.name)
        elif isinstance(event, ChangeUpdated):
            dirty.rfcs.add(event.sys_id)
        elif isinstance(event, DefectUpdated):
            dirty.defects.add(event.id)
        elif isinstance(event, AncestryChecked):
            component = self.context.component(event.project)
            if component is not None:
                dirty.components.add(component.name)
        elif isinstance(event, DefectMoved):
            key = (event.defect_id, event.deployment, event.reason)
            self._moves_of[event.defect_id].add(key)
            self._moved_for[event.deployment].add(event.defect_id)
            dirty.defects.add(event.defect_id)

    # --- components: releases, versions, notes, regressions, carry-forward -----------------------

    def _plan_components(self, dirty: _Dirty, changed: _Changed) -> None:
        for name in sorted(dirty.components):
            candidates: list[Release] = []
            findings: list[Finding] = []
            for tag in sorted(self._tags[name]):
                read = self._release_read(tag)
                if isinstance(read, Release):
                    candidates.append(read)
                elif read is not None:
                    findings.append(read)
            chain, findings = chain_of(candidates, findings)
            findings += regressions(chain)
            verdicts, checks, carried = carry_forward(chain, self.state.ancestry)
            findings += carried
            self._set(("component", name), findings, checks, changed)
            if self._verdicts.get(name, ()) != tuple(verdicts):
                self._verdicts[name] = tuple(verdicts)
                changed.components.add(name)
            before = self._chains.get(name, {})
            after = {release.key: release for release in chain}
            self._chains[name] = after
            for key in sorted(before.keys() | after.keys()):
                # The same tag's unchanged event gives the same release object: no deep compare.
                if before.get(key) is not after.get(key) and before.get(key) != after.get(key):
                    self._release_changed(key, before.get(key), after.get(key), dirty, changed)

    def _release_read(self, key: tuple[str, str]) -> Release | Finding | None:
        """The release a tag shows, read again only when its event changed (notes are parsed once)."""
        event = self.state.releases[key]
        held = self._read.get(key)
        if held is not None and held[0] is event:
            return held[1]
        read = release_of(event, self.context)
        self._read[key] = (event, read)
        return read

    def _release_changed(
        self, key: str, before: Release | None, after: Release | None, dirty: _Dirty, changed: _Changed
    ) -> None:
        changed.releases.add(key)
        for release, present in ((before, False), (after, True)):
            if release is None:
                continue
            changed.links.update(
                (link.kind.value, link.release, link.other) for link in defect_links([release])
            )
            version = str(release.version)
            for defect_id in release.fixed_ids:
                _toggle(self._fixed_in[defect_id], key, present)
            for number in release.note.rfcs:
                _toggle(self._noted[number], key, present)
            if present:
                self._releases[key] = release
                self._by_version[version][key] = release
            dirty.defects.update(release.fixed_ids)
            dirty.rfcs.update(s for s in self._mentions.get(version, ()) if self._may_name(s, release))
        if after is None:
            self._releases.pop(key, None)
            self._by_version[str(before.version if before else "")].pop(key, None)
            self._unlinked.discard(key)
        elif not self._rfcs_of.get(key):
            self._unlinked.add(key)
        dirty.notes_read.add(key)
        dirty.points.add(key)
        for number in self._rfcs_of.get(key, ()):
            dirty.write_backs.add(number)
            if (sys_id := self._numbers.get(number)) is not None:
                dirty.deployments.add(sys_id)

    # --- RFCs and links --------------------------------------------------------------------------

    def _plan_rfc_records(self, dirty: _Dirty) -> None:
        """Index the RFCs whose records changed: their numbers and the versions they mention."""
        for sys_id in sorted(dirty.rfcs):
            record = self.state.rfcs[sys_id]
            number = record.change.number
            held = self._number_of.get(sys_id)
            if held != number:
                if held is not None and self._numbers.get(held) == sys_id:
                    del self._numbers[held]
                    dirty.numbers.add(held)
                self._numbers[number] = sys_id
                self._number_of[sys_id] = number
                dirty.numbers.add(number)
            mentioned = versions_named(record, self.context)
            for version in self._mentioned.get(sys_id, set()) - mentioned:
                self._mentions[version].discard(sys_id)
            for version in mentioned:
                self._mentions[version].add(sys_id)
            self._mentioned[sys_id] = mentioned
            dirty.deployments.add(sys_id)

    def _may_name(self, sys_id: str, release: Release) -> bool:
        """Whether an RFC that mentions a release's version may name it: every way of naming a release
        holds its component's name (in its tag or beside the version) or is the bridge's correlation id."""
        change = self.state.rfcs[sys_id].change
        if CorrelationId.owns(change.correlation_id):
            return True
        texts = (change.field(self.context.release_field) or "", change.short_description, change.description)
        component = release.component.lower()
        return any(component in text.lower() for text in texts)

    def _plan_links(self, dirty: _Dirty, changed: _Changed) -> None:
        pairs: set[tuple[str, str]] = set()
        for key in dirty.notes_read:
            pairs.update((key, number) for number in self._rfcs_of.get(key, ()))
            release = self._releases.get(key)
            if release is not None:
                pairs.update((key, number) for number in release.note.rfcs)
        for number in dirty.numbers:
            pairs.update((key, number) for key in self._noted.get(number, ()))
            pairs.update((key, number) for key in self._releases_of_rfc.get(number, ()))
        for sys_id in dirty.rfcs:
            record = self.state.rfcs[sys_id]
            by_version = {
                version: sorted(self._by_version[version].values(), key=lambda r: r.component)
                for version in self._mentioned.get(sys_id, ())
                if self._by_version.get(version)
            }
            named = named_links(record, by_version, self.context)
            held = self._named.get(sys_id, [])
            self._named[sys_id] = named
            pairs.update((link.release, link.other) for link in [*held, *named])
        for key, number in sorted(pairs):
            self._relink(key, number, dirty, changed)

    def _relink(self, key: str, number: str, dirty: _Dirty, changed: _Changed) -> None:
        release = self._releases.get(key)
        link: Link | None = None
        if release is not None and number in self._numbers:
            noted = note_links(release, (number,))
            link = noted[0] if noted else None
            if link is None:
                named = self._named.get(self._numbers[number], [])
                link = next((held for held in named if held.release == key), None)
        if self._links.get((key, number)) == link:
            return
        if link is None:
            del self._links[(key, number)]
            self._rfcs_of[key].discard(number)
            self._releases_of_rfc[number].discard(key)
            if release is not None and not self._rfcs_of[key]:
                self._unlinked.add(key)
        else:
            self._links[(key, number)] = link
            self._rfcs_of[key].add(number)
            self._releases_of_rfc[number].add(key)
            self._unlinked.discard(key)
        changed.links.add((LinkKind.RELEASE_RFC.value, key, number))
        dirty.points.add(key)
        dirty.write_backs.add(number)
        if (sys_id := self._numbers.get(number)) is not None:
            dirty.deployments.add(sys_id)

    # --- deployments and the ledger --------------------------------------------------------------

    def _plan_deployments(self, dirty: _Dirty, changed: _Changed) -> None:
        for sys_id in sorted(dirty.deployments):
            record = self.state.rfcs[sys_id]
            number = record.change.number
            if self._numbers.get(number) != sys_id:
                continue  # another record holds this number
            keys = sorted(self._releases_of_rfc.get(number, ()))
            links = [self._links[(key, number)] for key in keys]
            releases = [self._releases[key] for key in keys]
            found, findings = deployments_of(releases, {sys_id: record}, links, self.context)
            findings += change_window_findings({sys_id: record})
            self._set(("rfc", sys_id), findings, (), changed)
            before = self._deployments.get(sys_id, ())
            after = tuple(found)
            dirty.points.update(keys)
            dirty.write_backs.add(number)
            if before == after:
                continue
            self._deployments[sys_id] = after
            for deployment in before:
                self._forget_deployment(deployment, dirty)
            for deployment in after:
                place = (deployment.environment, deployment.component)
                self._deployment[deployment.key] = deployment
                self._at_place[place][deployment.key] = deployment
                self._deployed[deployment.release_key].add(deployment.key)
                dirty.places.add(place)
                self._touch_deployment(deployment, dirty)

    def _forget_deployment(self, deployment: Deployment, dirty: _Dirty) -> None:
        place = (deployment.environment, deployment.component)
        self._deployment.pop(deployment.key, None)
        self._at_place[place].pop(deployment.key, None)
        self._deployed[deployment.release_key].discard(deployment.key)
        dirty.places.add(place)
        self._touch_deployment(deployment, dirty)

    def _touch_deployment(self, deployment: Deployment, dirty: _Dirty) -> None:
        """The defects a deployment's change can move: those its release lists, those moved for it."""
        release = self._releases.get(deployment.release_key)
        if release is not None:
            dirty.defects.update(release.fixed_ids)
        dirty.defects.update(self._moved_for.get(deployment.key, ()))

    def _plan_places(self, dirty: _Dirty, changed: _Changed) -> None:
        for place in sorted(dirty.places):
            deployments = sorted(
                self._at_place.get(place, {}).values(),
                key=lambda d: (d.at, d.environment, d.component, d.version, d.rfc_number),
            )
            entries = tuple(stays(deployments))
            before = {entry.deployment: entry for entry in self._ledger.get(place, ())}
            after = {entry.deployment: entry for entry in entries}
            if before == after:
                continue
            self._ledger[place] = entries
            changed.places.add(place)
            for key in before.keys() | after.keys():
                if before.get(key) == after.get(key):
                    continue
                entry = after.get(key)
                if entry is not None and entry.undone:
                    self._undone.add(key)
                else:
                    self._undone.discard(key)
                held = self._deployment.get(key)
                if held is not None:
                    self._touch_deployment(held, dirty)
                dirty.defects.update(self._moved_for.get(key, ()))

    # --- defects: retest and rollback ------------------------------------------------------------

    def _plan_defects(self, dirty: _Dirty, changed: _Changed) -> None:
        for defect_id in sorted(dirty.defects):
            moves, findings = self._defect_moves(defect_id)
            unit = ("defect", str(defect_id))
            self._set(unit, findings, moves, changed)
            fixes = self._fixes_of(defect_id, self._actions.get(unit, ()))
            if self._fixes.get(defect_id, ()) != fixes:
                if fixes:
                    self._fixes[defect_id] = fixes
                else:
                    self._fixes.pop(defect_id, None)
                changed.fixes.add(defect_id)

    def _fixes_of(self, defect_id: int, actions: Iterable[Action]) -> tuple[Fix, ...]:
        """Where the defect stands for each release that lists it fixed."""
        defect = self.state.defects.get(defect_id)
        moved = [self.state.moves[key] for key in self._moves_of.get(defect_id, ())]
        wanted = [a for a in actions if isinstance(a, MoveDefect)]
        fixes = []
        for key in sorted(self._fixed_in.get(defect_id, ())):
            placed = [
                self._deployment[d] for d in sorted(self._deployed.get(key, ())) if d not in self._undone
            ]
            fixes.append(fix_of(self._releases[key], defect_id, defect, moved, wanted, placed, self.context))
        return tuple(fixes)

    def _defect_moves(self, defect_id: int) -> tuple[list[Action], list[Finding]]:
        defect = self.state.defects.get(defect_id)
        listing = sorted(self._fixed_in.get(defect_id, ()))
        in_place = [
            Target(key, self._releases[release_key], self._deployment[key])
            for release_key in listing
            for key in sorted(self._deployed.get(release_key, ()))
            if key not in self._undone
        ]
        if self.context.retest_on == "release_note":
            targets = [
                Target(str(NoteTarget(self._releases[k].ref)), self._releases[k], None) for k in listing
            ]
        else:
            targets = in_place
        places: dict[str, list[Target]] = defaultdict(list)
        for target in targets:
            if target.deployment is not None and not target.deployment.approved:
                continue
            places[target.key if target.deployment is None else target.deployment.environment].append(target)
        actions: list[Action] = []
        findings: list[Finding] = []
        for where in sorted(places):
            move, finding = retest_move(defect_id, places[where], defect, self.state.moves, self.context)
            actions += [move] if move else []
            findings += [finding] if finding else []
        carried = {
            (t.deployment.environment, t.deployment.component)
            for t in in_place
            if t.deployment is not None and t.deployment.approved
        }
        for move_key in sorted(self._moves_of.get(defect_id, ())):
            _, deployment_key, reason = move_key
            deployment = self._deployment.get(deployment_key) if deployment_key in self._undone else None
            if (
                reason != RETEST
                or deployment is None
                or (defect_id, deployment_key, ROLLBACK) in self.state.moves
            ):
                continue
            still = (deployment.environment, deployment.component) in carried
            move, finding = rollback_move(self.state.moves[move_key], deployment, still, defect, self.context)
            actions += [move] if move else []
            findings += [finding] if finding else []
        return actions, findings

    # --- control points, write-backs, drafts -----------------------------------------------------

    def _plan_points(self, dirty: _Dirty, changed: _Changed) -> None:
        for key in sorted(dirty.points):
            release = self._releases.get(key)
            if release is None:
                self._set(("release", key), (), (), changed)
                if self._points.pop(key, None) is not None:
                    changed.points.add(key)
                continue
            records = [self._record(number) for number in sorted(self._rfcs_of.get(key, ()))]
            points = tuple(control_points(release, records, self.context))
            self._set(("release", key), failed_points([release], {key: points}), (), changed)
            if self._points.get(key) != points:
                self._points[key] = points
                changed.points.add(key)
                dirty.write_backs.update(self._rfcs_of.get(key, ()))

    def _plan_write_backs(self, dirty: _Dirty, changed: _Changed) -> None:
        for subject in changed.subjects:
            parsed = Subject.parse(subject)
            if parsed.kind is SubjectKind.RELEASE:
                dirty.write_backs.update(self._rfcs_of.get(parsed.id, ()))
            elif parsed.kind is SubjectKind.RFC:
                dirty.write_backs.add(parsed.id)
        for number in sorted(dirty.write_backs):
            actions: list[Action] = []
            keys = self._releases_of_rfc.get(number)
            sys_id = self._numbers.get(number)
            if keys and sys_id is not None:
                record = self.state.rfcs[sys_id]
                if record.change.state is not RfcState.CANCELED:
                    ordered = sorted(
                        (self._releases[k] for k in keys), key=lambda r: (r.component, r.version)
                    )
                    subjects = [r.subject for r in ordered] + [str(Subject.rfc(number))]
                    about = unique_findings([f for s in subjects for f in self.findings_about(s)])
                    points = {k: list(self._points.get(k, ())) for k in keys}
                    actions.append(work_note(record, ordered, points, about, self.context))
                    if len(ordered) == 1 and (named := correlation(record, ordered[0])) is not None:
                        actions.append(named)
            self._set(("note", number), (), actions, changed)

    def _plan_drafts(self, now: datetime, changed: _Changed) -> None:
        unlinked = sorted((self._releases[k] for k in self._unlinked), key=lambda r: (r.component, r.version))
        self._set(("drafts", ""), (), drafts(unlinked, set(), self.context, now), changed)

    def _record(self, number: str) -> RfcRecord:
        return self.state.rfcs[self._numbers[number]]

    # --- what each scope derived -----------------------------------------------------------------

    def _set(
        self, unit: Unit, findings: Iterable[Finding], actions: Iterable[Action], changed: _Changed
    ) -> None:
        new_findings = tuple(_first_of_each(findings))
        held_findings = self._findings.get(unit, ())
        if new_findings != held_findings:
            for finding in held_findings:
                self._about[finding.subject].discard(unit)
            for finding in new_findings:
                self._about[finding.subject].add(unit)
            if new_findings:
                self._findings[unit] = new_findings
            else:
                self._findings.pop(unit, None)
            # Only the subjects whose findings differ: a component's unit holds findings about each of
            # its releases, and one new release must not make the store rewrite them all.
            changed.subjects.update(_differing_subjects(held_findings, new_findings))
        unique: dict[str, Action] = {}
        for action in actions:
            unique.setdefault(action.key, action)
        new_actions = tuple(unique.values())
        held_actions = self._actions.get(unit, ())
        if new_actions != held_actions:
            for action in held_actions:
                changed.actions.setdefault(action.key, action)
                self._wanted.pop(action.key, None)
            for action in new_actions:
                changed.actions.setdefault(action.key, None)
                self._wanted[action.key] = action
            if new_actions:
                self._actions[unit] = new_actions
            else:
                self._actions.pop(unit, None)

    def findings_about(self, subject: str) -> list[Finding]:
        """The findings on one subject, as `plan()` would list them."""
        found = [
            f for unit in sorted(self._about.get(subject, ()), key=_unit_order) for f in self._findings[unit]
        ]
        return unique_findings([f for f in found if f.subject == subject])

    # --- the whole plan --------------------------------------------------------------------------

    def plan(self) -> Plan:
        """The whole plan, as `plan()` makes it from the same state (built once per change)."""
        if self._cached is None:
            self._cached = self._whole()
        return self._cached

    def _whole(self) -> Plan:
        releases = sorted(self._releases.values(), key=lambda r: (r.component, r.version))
        findings = unique_findings(
            [f for unit in sorted(self._findings, key=_unit_order) for f in self._findings[unit]]
        )
        links = [*sorted(self._links.values(), key=lambda link: (link.release, link.other))]
        links += defect_links(releases)
        deployments = sorted(
            self._deployment.values(),
            key=lambda d: (d.at, d.environment, d.component, d.version, d.rfc_number),
        )
        ledger = sorted(
            (entry for entries in self._ledger.values() for entry in entries),
            key=lambda e: (e.environment, e.component, e.deployed_from, e.version),
        )
        verdicts = [v for name in sorted(self._verdicts) for v in self._verdicts[name]]
        return Plan(
            releases=tuple(releases),
            links=tuple(links),
            deployments=tuple(deployments),
            ledger=tuple(ledger),
            control_points={r.key: self._points.get(r.key, ()) for r in releases},
            carry_forward=tuple(verdicts),
            actions=tuple(self._wanted.values()),
            findings=tuple(findings),
            fixes=tuple(sorted((f for held in self._fixes.values() for f in held), key=_fix_order)),
        )

    # --- reads for the store ---------------------------------------------------------------------

    def release(self, key: str) -> Release | None:
        return self._releases.get(key)

    def link(self, kind: str, release: str, other: str) -> Link | None:
        if kind == LinkKind.RELEASE_RFC.value:
            return self._links.get((release, other))
        held = self._releases.get(release)
        if held is None:
            return None
        return next(
            (link for link in defect_links([held]) if link.kind.value == kind and link.other == other), None
        )

    def ledger_of(self, place: Place) -> tuple[LedgerEntry, ...]:
        return self._ledger.get(place, ())

    def points_of(self, key: str) -> tuple[ControlPoint, ...]:
        return self._points.get(key, ())

    def verdicts_of(self, component: str) -> tuple[CarryForward, ...]:
        return self._verdicts.get(component, ())

    def fixes_of(self, defect_id: int) -> tuple[Fix, ...]:
        return self._fixes.get(defect_id, ())

    def fixed_defects(self) -> set[int]:
        """The defects some release lists as fixed."""
        return set(self._fixes)

    def actions(self) -> Iterator[Action]:
        return iter(self._wanted.values())


def _differing_subjects(held: tuple[Finding, ...], new: tuple[Finding, ...]) -> set[str]:
    by_subject: dict[str, list[list[Finding]]] = defaultdict(lambda: [[], []])
    for side, findings in enumerate((held, new)):
        for finding in findings:
            by_subject[finding.subject][side].append(finding)
    return {subject for subject, (before, after) in by_subject.items() if before != after}


def _fix_order(fix: Fix) -> tuple[str, int]:
    return fix.release, fix.defect_id


def _unit_order(unit: Unit) -> tuple[int, str]:
    return _RANK[unit[0]], unit[1]


def _first_of_each(findings: Iterable[Finding]) -> Iterator[Finding]:
    seen: set[tuple[str, str, str]] = set()
    for finding in findings:
        key = (finding.code, finding.subject, finding.message)
        if key not in seen:
            seen.add(key)
            yield finding


def _toggle(keys: set[str], key: str, present: bool) -> None:
    if present:
        keys.add(key)
    else:
        keys.discard(key)


def _anything(changed: _Changed) -> bool:
    return bool(
        changed.subjects
        or changed.actions
        or changed.links
        or changed.releases
        or changed.places
        or changed.points
        or changed.components
        or changed.fixes
    )
