"""Emergency carry-forward: every fix of an emergency release must be in the component's next regular release.

In its note (listed as fixed), and in its code: the emergency tag's commit must be an ancestor of the
regular release's tag, which GitLab answers through a CheckAncestry action fed back as an event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bridge.domain.actions import CheckAncestry
from bridge.domain.events import AncestryChecked
from bridge.domain.findings import Finding, FindingSeverity
from bridge.engine.releases import Release
from bridge.versions import ReleaseType


@dataclass(frozen=True)
class CarryForward:
    """The verdict on one emergency release: carried into which regular release, and what was dropped."""

    emergency: str  # release key
    regular: str | None  # the next regular release's key, None until there is one
    dropped: tuple[int, ...]  # fixes the regular release's note does not list
    ancestry: bool | None  # None until GitLab has answered


def carry_forward(
    releases: list[Release], ancestry: dict[tuple[str, str, str], AncestryChecked]
) -> tuple[list[CarryForward], list[CheckAncestry], list[Finding]]:
    verdicts: list[CarryForward] = []
    actions: list[CheckAncestry] = []
    findings: list[Finding] = []
    by_component: dict[str, list[Release]] = defaultdict(list)
    for release in releases:
        by_component[release.component].append(release)
    for component_releases in by_component.values():
        ordered = sorted(component_releases, key=lambda r: r.version)
        # The next regular release after each position, found walking back once (not a scan each).
        next_regular: list[Release | None] = [None] * len(ordered)
        upcoming: Release | None = None
        for index in range(len(ordered) - 1, -1, -1):
            next_regular[index] = upcoming
            if ordered[index].release_type is not ReleaseType.EMERGENCY:
                upcoming = ordered[index]
        for index, emergency in enumerate(ordered):
            if emergency.release_type is not ReleaseType.EMERGENCY:
                continue
            regular = next_regular[index]
            if regular is None:
                verdicts.append(CarryForward(emergency.key, None, (), None))
                continue
            listed = set(regular.fixed_ids)
            dropped = tuple(d for d in emergency.fixed_ids if d not in listed)
            for defect_id in dropped:
                findings.append(
                    Finding(
                        "carry_forward.dropped_fix",
                        FindingSeverity.ERROR,
                        regular.subject,
                        f"{regular.component} {regular.version} does not list defect {defect_id}, fixed in "
                        f"emergency release {emergency.version}: the fix must be carried forward.",
                        (("emergency release", emergency.tag), ("regular release", regular.tag)),
                    )
                )
            answer = ancestry.get((emergency.project, emergency.tag, regular.tag))
            if answer is None:
                actions.append(CheckAncestry(emergency.project, emergency.tag, regular.tag))
            elif not answer.is_ancestor:
                findings.append(
                    Finding(
                        "carry_forward.not_ancestor",
                        FindingSeverity.ERROR,
                        regular.subject,
                        f"The commit of {emergency.tag} is not an ancestor of {regular.tag}: the emergency "
                        f"fixes of {emergency.version} are not in {regular.version}'s code.",
                        (("merge base", answer.merge_base or "none"),),
                    )
                )
            verdicts.append(
                CarryForward(
                    emergency.key, regular.key, dropped, None if answer is None else answer.is_ancestor
                )
            )
    return verdicts, actions, findings
