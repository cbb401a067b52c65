"""Random programme histories for the engine's property tests: releases, RFCs, defects, the bridge's
own moves and GitLab's ancestry answers, with the variety a real programme shows."""

from __future__ import annotations

from hypothesis import strategies as st

from bridge.domain.events import AncestryChecked, DefectMoved, DomainEvent, ReleasePublished, RfcState
from support.programme import at, defect, release, rfc

DEFECTS = list(range(48200, 48212))
STATES = ["New", "Open", "In Progress", "Fixed", "Resolved", "Closed"]
STATES_VARIED = [*STATES, "Ready for Retest"]
LIFE = [RfcState.NEW, RfcState.SCHEDULED, RfcState.IMPLEMENT, RfcState.REVIEW, RfcState.CLOSED]
VERSIONS = ["1.0.0.0", "1.0.1.0", "1.0.1.1", "1.0.2.0", "1.0.3.0", "1.1.0.0"]
VERSIONS_VARIED = sorted([*VERSIONS, "1.0.1.2"])
COMPONENTS = {"dip-platform": "{component}/{version}", "helix-settlement": "{component}@{version}"}


def tag_of(component: str, version: str) -> str:
    return COMPONENTS[component].format(component=component, version=version)


@st.composite
def histories(draw: st.DrawFn, *, edited_notes: bool = True, varied: bool = False) -> list[DomainEvent]:
    """A small programme's history: releases with notes, RFCs through their states, defects changing.

    `varied` adds what a long-running programme also shows: a second component, RFCs that name their
    release in their texts instead of the note naming them, RFCs naming releases of both components,
    unapproved and backed-out RFCs, tags that are not releases and tags removed, the bridge's own
    moves (some for deployments that exist, some for ones that do not), and GitLab's ancestry answers.
    """
    events: list[DomainEvent] = []
    components = ["dip-platform", "helix-settlement"] if varied else ["dip-platform"]
    rfc_index = 0
    deployments: list[str] = []
    for component in components:
        versions = VERSIONS_VARIED if varied else VERSIONS
        chosen = draw(st.lists(st.sampled_from(versions), min_size=1, max_size=4, unique=True))
        for index, version in enumerate(sorted(chosen)):
            fixed = tuple(draw(st.lists(st.sampled_from(DEFECTS), max_size=5, unique=True)))
            outstanding = tuple(draw(st.lists(st.sampled_from(DEFECTS), max_size=2, unique=True)))
            number = f"CHG00310{rfc_index:02d}"
            rfc_index += 1
            in_note = not varied or draw(st.booleans())
            events.append(
                release(
                    version,
                    component=component,
                    fixed=fixed,
                    outstanding=outstanding,
                    rfc=number if in_note else None,
                    published=at(index * 10),
                )
            )
            if edited_notes and draw(st.booleans()):
                # an edited note: a later reading of the same tag
                events.append(
                    release(
                        version,
                        component=component,
                        fixed=fixed[:1],
                        rfc=number if in_note else None,
                        read=at(index * 10 + 1),
                    )
                )
            if varied and draw(st.integers(0, 9)) == 0:
                gone = release(version, component=component, read=at(index * 10 + 2))
                events.append(
                    ReleasePublished(
                        gone.project,
                        gone.component,
                        gone.tag,
                        gone.commit_sha,
                        "",
                        gone.note_source,
                        gone.published_at,
                        gone.read_at,
                        gone.web_url,
                        removed=True,
                    )
                )
            short = ""
            if not in_note:
                short = f"Deploy {component} {version}"
                if draw(st.booleans()):
                    other = next(c for c in components if c != component)
                    short += f" and {other} {draw(st.sampled_from(VERSIONS_VARIED))}"
            environment = draw(st.sampled_from(["SIT-A", "SIT-A", "SIT-B", *([None] if varied else [])]))
            approval = (
                draw(st.sampled_from(["approved", "approved", "approved", "requested"]))
                if varied
                else "approved"
            )
            last = draw(st.integers(0, len(LIFE) - 1))
            # RFCs of a component need not follow its versions' order: an older version is
            # redeployed after a newer one, which undoes the newer.
            start = draw(st.integers(0, 60)) if varied else index * 10
            close_code = draw(st.sampled_from(["successful", "unsuccessful"]))
            for step, state in enumerate(LIFE[: last + 1]):
                events.append(
                    rfc(
                        number,
                        state,
                        mod=step + 1,
                        updated=at(start + step + 2),
                        environment=environment,
                        short_description=short,
                        approval=approval,
                        close_code=close_code if state is RfcState.CLOSED else None,
                        close_notes="done" if state is RfcState.CLOSED else "",
                    )
                )
            if environment:
                deployments.append(f"{environment}:{component}:{version}:{number}")
        if varied:
            # redeployments of versions already released, at any time: rollbacks by older versions
            for _ in range(draw(st.integers(0, 2))):
                version = draw(st.sampled_from(sorted(chosen)))
                number = f"CHG00310{rfc_index:02d}"
                rfc_index += 1
                environment = draw(st.sampled_from(["SIT-A", "SIT-B"]))
                start = draw(st.integers(0, 80))
                final = draw(st.sampled_from([RfcState.REVIEW, RfcState.CLOSED]))
                close_code = draw(st.sampled_from(["successful", "unsuccessful"]))
                for step, state in enumerate([RfcState.SCHEDULED, RfcState.IMPLEMENT, final]):
                    events.append(
                        rfc(
                            number,
                            state,
                            mod=step + 1,
                            updated=at(start + step),
                            environment=environment,
                            short_description=f"Redeploy {component} {version}",
                            close_code=close_code if state is RfcState.CLOSED else None,
                            close_notes="done" if state is RfcState.CLOSED else "",
                        )
                    )
                deployments.append(f"{environment}:{component}:{version}:{number}")
            emergency = [v for v in VERSIONS_VARIED if v.endswith((".1", ".2"))]
            for ancestor in draw(st.lists(st.sampled_from(emergency), max_size=2, unique=True)):
                descendant = draw(st.sampled_from(VERSIONS_VARIED))
                events.append(
                    AncestryChecked(
                        f"mhhs/{component}",
                        tag_of(component, ancestor),
                        tag_of(component, descendant),
                        draw(st.booleans()),
                        None,
                    )
                )
            if draw(st.booleans()):
                events.append(release("not-a-version", component=component, tag=f"{component}/nightly"))
    for defect_id in DEFECTS:
        revisions = draw(st.lists(st.sampled_from(STATES_VARIED if varied else STATES), max_size=3))
        for rev, state in enumerate(revisions, start=1):
            events.append(defect(defect_id, state, rev=rev, changed=at(rev)))
    if varied and deployments:
        revisions: set[tuple[int, int]] = set()  # ADO gives each revision of a defect once
        for _ in range(draw(st.integers(0, 10))):
            reason = draw(st.sampled_from(["retest", "retest", "rollback"]))
            defect_id, rev = draw(st.sampled_from(DEFECTS)), draw(st.integers(1, 4))
            if (defect_id, rev) in revisions:
                continue
            revisions.add((defect_id, rev))
            events.append(
                DefectMoved(
                    defect_id,
                    draw(st.sampled_from([*deployments, "SIT-B:dip-platform:9.9.9.9:CHG9999999"])),
                    "Fixed" if reason == "retest" else "Ready for Retest",
                    "Ready for Retest" if reason == "retest" else "Fixed",
                    rev,
                    reason,
                    at(draw(st.integers(0, 50))),
                )
            )
    return events
