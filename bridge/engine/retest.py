"""Retest and rollback moves: which defects go to Ready for Retest, and which go back.

Retest: for the deployment in place in each environment (or, with `retest_on = "release_note"`, for
every published note), each defect listed as fixed that ADO shows in an eligible state moves, once per
deployment. Rollback: for an undone deployment, each defect the bridge moved for it and still in Ready
for Retest goes back to the state it had; one already retested is reported, not touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.domain.actions import Hyperlink, MoveDefect
from bridge.domain.events import DefectMoved, DefectUpdated
from bridge.domain.findings import Finding, FindingSeverity
from bridge.engine.context import EngineContext
from bridge.engine.deployments import Deployment
from bridge.engine.releases import Release

RETEST = "retest"
ROLLBACK = "rollback"


@dataclass(frozen=True)
class Target:
    """Why defects may move now: a deployment in place, or (release_note policy) a published note."""

    key: str
    release: Release
    deployment: Deployment | None


def note_target_key(release: Release) -> str:
    return f"note:{release.key}"


def retest_moves(
    targets: list[Target],
    defects: dict[int, DefectUpdated],
    moves: dict[tuple[int, str, str], DefectMoved],
    context: EngineContext,
) -> tuple[list[MoveDefect], list[Finding]]:
    actions: list[MoveDefect] = []
    findings: list[Finding] = []
    for target in targets:
        release = target.release
        if target.deployment is not None and not target.deployment.approved:
            continue  # reported with the deployment
        for defect_id in release.fixed_ids:
            if (defect_id, target.key, RETEST) in moves:
                continue
            defect = defects.get(defect_id)
            subject = f"defect:{defect_id}"
            if defect is None:
                findings.append(
                    Finding(
                        "retest.defect_not_found",
                        FindingSeverity.WARNING,
                        subject,
                        f"The note of {release.component} {release.version} lists defect {defect_id} as "
                        "fixed, but ADO shows no such defect (yet).",
                    )
                )
                continue
            if defect.state == context.ready_for_retest:
                continue
            if defect.state not in context.eligible_states:
                findings.append(
                    Finding(
                        "retest.left_alone",
                        FindingSeverity.INFO,
                        subject,
                        f"Defect {defect_id} is {defect.state}, not {' or '.join(context.eligible_states)}: "
                        f"left alone for {release.component} {release.version}"
                        + (f" in {target.deployment.environment}." if target.deployment else "."),
                        (("state", defect.state), ("revision", str(defect.rev))),
                    )
                )
                continue
            actions.append(
                MoveDefect(
                    defect_id=defect_id,
                    expected_rev=defect.rev,
                    from_state=defect.state,
                    to_state=context.ready_for_retest,
                    comment=_retest_comment(release, target.deployment),
                    deployment=target.key,
                    links=_links(release, target.deployment, context),
                    reason=RETEST,
                )
            )
    return actions, findings


def rollback_moves(
    undone: list[Deployment],
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
        defect = defects.get(defect_id)
        if defect is None:
            continue
        if defect.state != context.ready_for_retest:
            findings.append(
                Finding(
                    "rollback.already_retested",
                    FindingSeverity.WARNING,
                    f"defect:{defect_id}",
                    f"{deployment.component} {deployment.version} was rolled back in "
                    f"{deployment.environment}, but defect {defect_id} is already {defect.state}: "
                    "not moved back.",
                    (("state", defect.state), ("deployment", deployment_key)),
                )
            )
            continue
        actions.append(
            MoveDefect(
                defect_id=defect_id,
                expected_rev=defect.rev,
                from_state=defect.state,
                to_state=move.from_state,
                comment=(
                    f"Release bridge: {deployment.component} {deployment.version} was rolled back in "
                    f"{deployment.environment} (RFC {deployment.rfc_number}); the fix is no longer deployed "
                    f"there, so this defect returns to {move.from_state}."
                ),
                deployment=deployment_key,
                reason=ROLLBACK,
            )
        )
    return actions, findings


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
