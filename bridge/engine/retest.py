"""Retest and rollback moves: which defects go to Ready for Retest, and which go back.

Releases are cumulative (an emergency fix must be carried into the next regular release), so a fix is
in an environment while any deployment there that lists it fixed is in place, whether it is the
newest or was followed by a later version; only an undone deployment (backed out, or replaced by an
older version) takes its fixes away. Retest: each defect a deployment in place lists as fixed, in an
eligible state, moves once per deployment. Rollback: a defect the bridge moved for an undone
deployment goes back to the state it had, if no deployment in place still carries its fix and it is
still in Ready for Retest; one already retested is reported, not touched. This makes what the bridge
does independent of the order in which it learns of deployments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bridge.domain.actions import Hyperlink, MoveDefect
from bridge.domain.events import DefectMoved, DefectUpdated
from bridge.domain.findings import Finding, FindingSeverity
from bridge.domain.fixes import Fix, FixStatus, PlannedMove, moved_why, queued_why
from bridge.domain.keys import NoteTarget, ReleaseKey, Subject, parse_target
from bridge.engine.context import EngineContext
from bridge.engine.deployments import Deployment
from bridge.engine.releases import Release

RETEST = "retest"
ROLLBACK = "rollback"


@dataclass(frozen=True)
class Target:
    """Why defects may move now: a deployment in place, or (release_note policy) a published note."""

    key: str  # a deployment's key, or a NoteTarget's text
    release: Release
    deployment: Deployment | None


def carried_fixes(targets: list[Target]) -> dict[tuple[str, str], set[int]]:
    """The fixes in place in each (environment, component), from its approved deployments in place."""
    fixes: dict[tuple[str, str], set[int]] = defaultdict(set)
    for target in targets:
        if target.deployment is not None and target.deployment.approved:
            place = (target.deployment.environment, target.deployment.component)
            fixes[place].update(target.release.fixed_ids)
    return fixes


def retest_moves(
    targets: list[Target],
    defects: dict[int, DefectUpdated],
    moves: dict[tuple[int, str, str], DefectMoved],
    context: EngineContext,
) -> tuple[list[MoveDefect], list[Finding]]:
    """Moves for the fixes in place; of several targets listing a defect, the newest not yet used moves it."""
    actions: list[MoveDefect] = []
    findings: list[Finding] = []
    for (_, defect_id), candidates in sorted(listings(targets).items()):
        action, finding = retest_move(defect_id, candidates, defects.get(defect_id), moves, context)
        actions += [action] if action else []
        findings += [finding] if finding else []
    return actions, findings


def listings(targets: list[Target]) -> dict[tuple[str, int], list[Target]]:
    """The targets that list each defect fixed, by place (an environment, or a note) and defect."""
    listing: dict[tuple[str, int], list[Target]] = defaultdict(list)
    for target in targets:
        if target.deployment is not None and not target.deployment.approved:
            continue  # reported with the deployment
        place = target.key if target.deployment is None else target.deployment.environment
        for defect_id in target.release.fixed_ids:
            listing[(place, defect_id)].append(target)
    return listing


def retest_move(
    defect_id: int,
    candidates: list[Target],
    defect: DefectUpdated | None,
    moves: Mapping[tuple[int, str, str], DefectMoved],
    context: EngineContext,
) -> tuple[MoveDefect | None, Finding | None]:
    """The move (or the finding) for one defect that these targets, all in one place, list fixed."""
    candidates = sorted(candidates, key=_newest_last)
    newest = candidates[-1]
    release = newest.release
    subject = str(Subject.defect(defect_id))
    if defect is None:
        return None, Finding(
            "retest.defect_not_found",
            FindingSeverity.WARNING,
            subject,
            f"The note of {release.component} {release.version} lists defect {defect_id} as "
            "fixed, but ADO shows no such defect (yet).",
        )
    if defect.state == context.ready_for_retest or defect.state in context.retested_states:
        return None, None
    if defect.state not in context.eligible_states:
        return None, Finding(
            "retest.left_alone",
            FindingSeverity.INFO,
            subject,
            f"Defect {defect_id} is {defect.state}, not {' or '.join(context.eligible_states)}: "
            f"left alone for {release.component} {release.version}"
            + (f" in {newest.deployment.environment}." if newest.deployment else "."),
            (("state", defect.state), ("revision", str(defect.rev))),
        )
    unused = [t for t in candidates if (defect_id, t.key, RETEST) not in moves]
    if not unused:
        return None, None
    target = unused[-1]
    return MoveDefect(
        defect_id=defect_id,
        expected_rev=defect.rev,
        from_state=defect.state,
        to_state=context.ready_for_retest,
        comment=_retest_comment(target.release, target.deployment),
        deployment=target.key,
        links=_links(target.release, target.deployment, context),
        reason=RETEST,
    ), None


def _newest_last(target: Target) -> tuple[object, ...]:
    if target.deployment is None:
        return (target.release.version, target.key)
    return (target.deployment.at, target.deployment.version, target.key)


def rollback_moves(
    undone: list[Deployment],
    in_place: dict[tuple[str, str], set[int]],
    defects: dict[int, DefectUpdated],
    moves: dict[tuple[int, str, str], DefectMoved],
    context: EngineContext,
) -> tuple[list[MoveDefect], list[Finding]]:
    actions: list[MoveDefect] = []
    findings: list[Finding] = []
    undone_keys = {d.key: d for d in undone}
    for (defect_id, deployment_key, reason), move in sorted(moves.items()):
        deployment = undone_keys.get(deployment_key)
        if reason != RETEST or deployment is None or (defect_id, deployment_key, ROLLBACK) in moves:
            continue
        carried = defect_id in in_place.get((deployment.environment, deployment.component), set())
        action, finding = rollback_move(move, deployment, carried, defects.get(defect_id), context)
        actions += [action] if action else []
        findings += [finding] if finding else []
    return actions, findings


def rollback_move(
    move: DefectMoved,
    deployment: Deployment,
    carried: bool,
    defect: DefectUpdated | None,
    context: EngineContext,
) -> tuple[MoveDefect | None, Finding | None]:
    """Whether a defect the bridge moved for an undone deployment goes back (`carried`: another
    deployment in place there still carries the fix)."""
    if carried or defect is None:
        return None, None
    if defect.state == move.from_state:
        # Already back where it was: the rollback move's reply was lost, or a person moved it.
        return None, None
    defect_id = move.defect_id
    if defect.state != context.ready_for_retest:
        return None, Finding(
            "rollback.already_retested",
            FindingSeverity.WARNING,
            str(Subject.defect(defect_id)),
            f"{deployment.component} {deployment.version} was rolled back in "
            f"{deployment.environment}, but defect {defect_id} is already {defect.state}: "
            "not moved back.",
            (("state", defect.state), ("deployment", deployment.key)),
        )
    return MoveDefect(
        defect_id=defect_id,
        expected_rev=defect.rev,
        from_state=defect.state,
        to_state=move.from_state,
        comment=(
            f"Release bridge: {deployment.component} {deployment.version} was rolled back in "
            f"{deployment.environment} (RFC {deployment.rfc_number}); the fix is no longer deployed "
            f"there, so this defect returns to {move.from_state}."
        ),
        deployment=deployment.key,
        reason=ROLLBACK,
    ), None


def fix_of(
    release: Release,
    defect_id: int,
    defect: DefectUpdated | None,
    moved: Iterable[DefectMoved],
    wanted: Iterable[MoveDefect],
    placed: Sequence[Deployment],
    context: EngineContext,
) -> Fix:
    """Where a defect `release` lists as fixed stands for it, and why.

    `moved` are the bridge's moves of the defect (for any release), `wanted` the moves the plan wants
    of it, `placed` the release's deployments in place.
    """
    key = release.key

    def fix(status: FixStatus, why: str, move: PlannedMove | None = None) -> Fix:
        if defect is None:
            return Fix(key, defect_id, status, why, move)
        return Fix(key, defect_id, status, why, move, defect.title, defect.state)

    mine = sorted((m for m in wanted if _release_of(m.deployment) == release.ref), key=lambda m: m.key)
    if mine:
        move = mine[-1]
        planned = PlannedMove(move.key, move.to_state, where(move.deployment), move.reason == ROLLBACK)
        return fix(FixStatus.WAITING, queued_why(planned.to_state, planned.where, planned.back), planned)
    # A move back follows the move it undoes, even when the two carry the same time.
    done = sorted(moved, key=lambda m: (m.at, m.reason == ROLLBACK, m.deployment))
    ours = [m for m in done if _release_of(m.deployment) == release.ref]
    if ours:
        last = ours[-1]
        back = last.reason == ROLLBACK
        status = FixStatus.MOVED_BACK if back else FixStatus.MOVED
        return fix(status, moved_why(last.to_state, where(last.deployment), back))
    if defect is None:
        return fix(FixStatus.LEFT, "ADO shows no such defect (yet)")
    if defect.state in context.retested_states:
        return fix(FixStatus.LEFT, f"already retested: {defect.state}")
    if defect.state == context.ready_for_retest:
        others = [m for m in done if m.reason == RETEST]
        if others:
            return fix(FixStatus.LEFT, f"already {defect.state}: moved for {where(others[-1].deployment)}")
        return fix(FixStatus.LEFT, f"already {defect.state}")
    if defect.state not in context.eligible_states:
        return fix(FixStatus.LEFT, f"{defect.state}, not {' or '.join(context.eligible_states)}")
    if context.retest_on == "release_note":
        return fix(FixStatus.WAITING, "to be moved at the bridge's next cycle")
    if not placed:
        return fix(FixStatus.WAITING, "waiting for a deployment under an approved RFC")
    if not any(d.approved for d in placed):
        rfcs = ", ".join(sorted({d.rfc_number for d in placed}))
        return fix(FixStatus.WAITING, f"deployed under {rfcs}, which is not approved")
    return fix(FixStatus.WAITING, "to be moved at the bridge's next cycle")


@lru_cache(maxsize=4096)
def _release_of(target: str) -> ReleaseKey | None:
    """The release a move's target names; None for a target this version cannot read."""
    try:
        return parse_target(target).release
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def where(target: str) -> str:
    """What a move's target is, in words: the release note, or a deployment to an environment."""
    try:
        named = parse_target(target)
    except ValueError:
        return target
    if isinstance(named, NoteTarget):
        return "the release note"
    environment, rfc = named.environment, named.rfc_number
    return f"the deployment to {environment} under {rfc}" if rfc else f"the deployment to {environment}"


def _retest_comment(release: Release, deployment: Deployment | None) -> str:
    if deployment is None:
        return (
            f"Release bridge: the release note of {release.component} {release.version} (tag {release.tag}) "
            "lists this defect as fixed; ready for retest."
        )
    return (
        f"Release bridge: fixed in {release.component} {release.version} (tag {release.tag}), deployed to "
        f"{deployment.environment} under RFC {deployment.rfc_number} at "
        f"{deployment.at.strftime('%Y-%m-%d %H:%M UTC')}; ready for retest."
    )


def _links(release: Release, deployment: Deployment | None, context: EngineContext) -> tuple[Hyperlink, ...]:
    links = []
    release_url = release.web_url or context.release_url(release.project, release.tag)
    if release_url:
        links.append(Hyperlink(release_url, f"GitLab release {release.tag}"))
    if deployment is not None:
        rfc_url = context.rfc_url(deployment.rfc_sys_id)
        if rfc_url:
            links.append(Hyperlink(rfc_url, f"ServiceNow RFC {deployment.rfc_number}"))
    return tuple(links)
