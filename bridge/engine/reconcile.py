"""The whole plan: (state, context, now) → plan. Pure: no I/O, time passed in.

The plan is derived from the whole state each time (level-triggered), never from the event alone, so
applying the same events twice, or in another order, ends in the same plan. The outbox turns the
plan's actions into writes once each, by their keys.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from bridge.domain.actions import Action, MoveDefect
from bridge.domain.events import DefectMoved, RfcState
from bridge.domain.findings import Finding, FindingSeverity
from bridge.domain.fixes import Fix
from bridge.domain.keys import NoteTarget, Subject
from bridge.domain.links import LinkKind
from bridge.engine.carry_forward import CarryForward, carry_forward
from bridge.engine.context import EngineContext
from bridge.engine.control_points import ControlPoint, PointStatus, control_points
from bridge.engine.deployments import Deployment, LedgerEntry, deployments_of, ledger_of
from bridge.engine.links import Link, defect_links, rfc_links
from bridge.engine.releases import Release, releases_of
from bridge.engine.retest import (
    Target,
    carried_fixes,
    fix_of,
    retest_moves,
    rollback_moves,
)
from bridge.engine.state import ProgrammeState, RfcRecord
from bridge.engine.write_backs import correlation, drafts, work_note


@dataclass(frozen=True)
class Plan:
    """What the state implies: links, deployments, the ledger, control points, actions and findings."""

    releases: tuple[Release, ...]
    links: tuple[Link, ...]
    deployments: tuple[Deployment, ...]
    ledger: tuple[LedgerEntry, ...]
    control_points: dict[str, tuple[ControlPoint, ...]]
    carry_forward: tuple[CarryForward, ...]
    actions: tuple[Action, ...]
    findings: tuple[Finding, ...]
    fixes: tuple[Fix, ...] = ()  # by release key, then defect


def plan(state: ProgrammeState, context: EngineContext, now: datetime) -> Plan:
    releases, findings = releases_of(state.releases, context)
    by_key = {r.key: r for r in releases}
    links = rfc_links(releases, state.rfcs, context) + defect_links(releases)
    deployments, deployment_findings = deployments_of(releases, state.rfcs, links, context)
    findings += deployment_findings
    ledger = ledger_of(deployments)
    findings += change_window_findings(state.rfcs)

    undone_keys = {e.deployment for e in ledger if e.undone}
    in_place = [Target(d.key, by_key[d.release_key], d) for d in deployments if d.key not in undone_keys]
    if context.retest_on == "release_note":
        targets = [Target(str(NoteTarget(r.ref)), r, None) for r in releases]
    else:
        targets = in_place
    moves, retest_findings = retest_moves(targets, state.defects, state.moves, context)
    undone = [d for d in deployments if d.key in undone_keys]
    back, rollback_findings = rollback_moves(
        undone, carried_fixes(in_place), state.defects, state.moves, context
    )
    findings += retest_findings + rollback_findings
    findings += regressions(releases)

    verdicts, ancestry_checks, carry_findings = carry_forward(releases, state.ancestry)
    findings += carry_findings

    rfcs_of: dict[str, list[RfcRecord]] = defaultdict(list)
    by_number = {record.change.number: record for record in state.rfcs.values()}
    releases_of_rfc: dict[str, list[Release]] = defaultdict(list)
    for link in links:
        if link.kind is LinkKind.RELEASE_RFC and link.other in by_number and link.release in by_key:
            rfcs_of[link.release].append(by_number[link.other])
            releases_of_rfc[link.other].append(by_key[link.release])
    points = {r.key: tuple(control_points(r, rfcs_of.get(r.key, []), context)) for r in releases}
    findings += failed_points(releases, points)

    findings = unique_findings(findings)
    write_backs: list[Action] = []
    for number, linked in sorted(releases_of_rfc.items()):
        record = by_number[number]
        if record.change.state is RfcState.CANCELED:
            continue
        ordered = sorted(linked, key=lambda r: (r.component, r.version))
        write_backs.append(
            work_note(record, ordered, {k: list(v) for k, v in points.items()}, findings, context)
        )
        if len(ordered) == 1 and (set_correlation := correlation(record, ordered[0])) is not None:
            write_backs.append(set_correlation)
    new_drafts = drafts(releases, set(rfcs_of), context, now)

    actions: list[Action] = [*moves, *back, *write_backs, *ancestry_checks, *new_drafts]
    unique = _unique_actions(actions)
    wanted: dict[int, list[MoveDefect]] = defaultdict(list)
    for action in unique:
        if isinstance(action, MoveDefect):
            wanted[action.defect_id].append(action)
    moved: dict[int, list[DefectMoved]] = defaultdict(list)
    for (defect_id, _, _), move in state.moves.items():
        moved[defect_id].append(move)
    placed: dict[str, list[Deployment]] = defaultdict(list)
    for target in in_place:
        if target.deployment is not None:
            placed[target.release.key].append(target.deployment)
    fixes = tuple(
        fix_of(r, d, state.defects.get(d), moved[d], wanted[d], placed[r.key], context)
        for r in sorted(releases, key=lambda r: r.key)
        for d in sorted(set(r.fixed_ids))
    )
    return Plan(
        releases=tuple(releases),
        links=tuple(links),
        deployments=tuple(deployments),
        ledger=tuple(ledger),
        control_points=points,
        carry_forward=tuple(verdicts),
        actions=tuple(unique),
        findings=tuple(findings),
        fixes=fixes,
    )


def change_window_findings(rfcs: dict[str, RfcRecord]) -> list[Finding]:
    """An RFC that reached Implement outside its planned start and end."""
    findings = []
    for record in rfcs.values():
        change = record.change
        started = record.first_seen_in(RfcState.IMPLEMENT)
        if started is None or change.planned_start is None or change.planned_end is None:
            continue
        if not change.planned_start <= started <= change.planned_end:
            findings.append(
                Finding(
                    "rfc.outside_change_window",
                    FindingSeverity.ERROR,
                    str(Subject.rfc(change.number)),
                    f"{change.number} reached Implement at {started:%Y-%m-%d %H:%M}, outside its "
                    f"planned window {change.planned_start:%Y-%m-%d %H:%M} "
                    f"to {change.planned_end:%Y-%m-%d %H:%M}.",
                )
            )
    return findings


def regressions(releases: list[Release]) -> list[Finding]:
    # The parser reports a defect both fixed and outstanding within one note; across releases of one
    # component, a defect fixed earlier and listed outstanding later means the fix was lost.
    findings = []
    by_component: dict[str, list[Release]] = defaultdict(list)
    for release in releases:
        by_component[release.component].append(release)
    for component_releases in by_component.values():
        first_fixed: dict[int, Release] = {}
        for release in sorted(component_releases, key=lambda r: r.version):
            for defect_id in sorted(set(release.outstanding_ids)):
                earlier = first_fixed.get(defect_id)
                if earlier is not None:
                    findings.append(
                        Finding(
                            "defect.regressed",
                            FindingSeverity.WARNING,
                            release.subject,
                            f"Defect {defect_id} was fixed in {earlier.version} but {release.version} "
                            "lists it as outstanding.",
                        )
                    )
            for defect_id in release.fixed_ids:
                first_fixed.setdefault(defect_id, release)
    return findings


def failed_points(releases: list[Release], points: dict[str, tuple[ControlPoint, ...]]) -> list[Finding]:
    findings = []
    for release in releases:
        for point in points.get(release.key, ()):
            if point.status is PointStatus.FAIL:
                findings.append(
                    Finding(
                        f"control_point.{point.number}",
                        FindingSeverity.WARNING,
                        release.subject,
                        f"Control point {point.number} ({point.name}) failed: {point.evidence}",
                        (("source", point.source),) if point.source else (),
                    )
                )
    return findings


def unique_findings(findings: list[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        seen.setdefault((finding.code, finding.subject, finding.message), finding)
    return sorted(seen.values(), key=lambda f: (f.subject, f.code, f.message))


def _unique_actions(actions: list[Action]) -> list[Action]:
    seen: dict[str, Action] = {}
    for action in actions:
        seen.setdefault(action.key, action)
    return list(seen.values())
