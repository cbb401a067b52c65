"""Deployments and the environment ledger: which version of each component is where, since when, by which RFC.

A release is deployed to an environment when an RFC linked to it reaches a deployed state (mapping:
Review, or Closed with a successful code). The deployment is undone when its RFC is closed backed out,
or when the environment later gets an older version of the component again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from bridge.domain.events import RfcState
from bridge.domain.findings import Finding, FindingSeverity
from bridge.domain.keys import DeploymentKey, Subject
from bridge.domain.links import LinkKind
from bridge.engine.context import EngineContext
from bridge.engine.links import Link
from bridge.engine.releases import Release
from bridge.engine.state import RfcRecord
from bridge.versions import Version


@dataclass(frozen=True)
class Deployment:
    """A release deployed to an environment under an RFC."""

    environment: str
    component: str
    version: Version
    rfc_number: str
    rfc_sys_id: str
    at: datetime
    approved: bool
    backed_out_at: datetime | None  # the RFC was closed backed out

    @cached_property
    def ref(self) -> DeploymentKey:
        return DeploymentKey(self.environment, self.component, str(self.version), self.rfc_number)

    @cached_property
    def key(self) -> str:
        """The deployment key's text: what a move is for, in the outbox and the ledger."""
        return str(self.ref)

    @cached_property
    def release_key(self) -> str:
        return str(self.ref.release)


@dataclass(frozen=True)
class LedgerEntry:
    """One stay of a version in an environment."""

    environment: str
    component: str
    version: Version
    rfc_number: str
    deployed_from: datetime
    deployed_to: datetime | None  # None while it is the current version
    undone: bool  # rolled back: backed out, or replaced by an older version
    deployment: str  # the deployment's key
    approved: bool = True  # its RFC is approved (no defect moves for it otherwise)
    rfc_sys_id: str = ""

    @property
    def current(self) -> bool:
        return self.deployed_to is None and not self.undone


def is_deployed(record: RfcRecord, context: EngineContext) -> bool:
    rule = context.servicenow.deployed
    change = record.change
    if change.state in rule.states:
        return True
    return change.state is RfcState.CLOSED and (change.close_code or "") in rule.closed_with_codes


def is_backed_out(record: RfcRecord, context: EngineContext) -> bool:
    change = record.change
    codes = context.servicenow.rolled_back.closed_with_codes
    return change.state is RfcState.CLOSED and (change.close_code or "") in codes


def is_approved(record: RfcRecord, context: EngineContext) -> bool:
    rule = context.servicenow.approved
    return record.change.approval in rule.approval_values or record.change.type in rule.preapproved_types


def deployed_at(record: RfcRecord, context: EngineContext) -> datetime | None:
    """When the RFC was first seen deployed: the earliest revision in a deployed state."""
    times = [record.first_seen_in(state) for state in context.servicenow.deployed.states]
    if is_deployed(record, context) and record.change.state is RfcState.CLOSED:
        times.append(record.first_seen_in(RfcState.CLOSED))
    known = [t for t in times if t is not None]
    return min(known) if known else None


def rfc_environment(record: RfcRecord, context: EngineContext) -> str | None:
    """The RFC's environment: its environment field, else one named in its descriptions."""
    change = record.change
    return (
        context.environments.resolve(change.environment)
        or context.environments.find_in(change.short_description)
        or context.environments.find_in(change.description)
    )


def deployments_of(
    releases: list[Release], rfcs: dict[str, RfcRecord], links: list[Link], context: EngineContext
) -> tuple[list[Deployment], list[Finding]]:
    by_key = {release.key: release for release in releases}
    by_number = {record.change.number: record for record in rfcs.values()}
    linked: dict[str, list[Link]] = defaultdict(list)
    for link in links:
        if link.kind is LinkKind.RELEASE_RFC and link.other in by_number:
            linked[link.other].append(link)
    deployments: list[Deployment] = []
    findings: list[Finding] = []
    for number, rfc_links in sorted(linked.items()):
        record = by_number[number]
        at = deployed_at(record, context)
        if at is None:
            continue
        environment = rfc_environment(record, context)
        if environment is None:
            findings.append(
                Finding(
                    "rfc.environment_unknown",
                    FindingSeverity.ERROR,
                    str(Subject.rfc(number)),
                    f"{number} is deployed but names no known environment, so the deployment cannot be "
                    "recorded and no defect moves.",
                    (("environment field", record.change.environment or "(empty)"),),
                )
            )
            continue
        chosen: dict[str, Link] = {}
        for link in rfc_links:
            release = by_key.get(link.release)
            if release is None:
                continue
            held = chosen.get(release.component)
            if held is None or (link.strength, release.version) > (
                held.strength,
                by_key[held.release].version,
            ):
                chosen[release.component] = link
        approved = is_approved(record, context)
        backed_out = record.first_seen_in(RfcState.CLOSED) if is_backed_out(record, context) else None
        for link in chosen.values():
            release = by_key[link.release]
            deployment = Deployment(
                environment,
                release.component,
                release.version,
                number,
                record.change.sys_id,
                at,
                approved,
                backed_out,
            )
            deployments.append(deployment)
            if not approved:
                findings.append(
                    Finding(
                        "deployment.rfc_not_approved",
                        FindingSeverity.ERROR,
                        str(Subject.rfc(number)),
                        f"{release.component} {release.version} was deployed to {environment} under "
                        f"{number}, which is not approved; no defect is moved for it.",
                    )
                )
    return sorted(
        deployments, key=lambda d: (d.at, d.environment, d.component, d.version, d.rfc_number)
    ), findings


def ledger_of(deployments: list[Deployment]) -> list[LedgerEntry]:
    """Every stay of every version in every environment, in order; undone stays are marked."""
    entries: list[LedgerEntry] = []
    by_place: dict[tuple[str, str], list[Deployment]] = defaultdict(list)
    for deployment in deployments:
        by_place[(deployment.environment, deployment.component)].append(deployment)
    for place_deployments in by_place.values():
        entries.extend(stays(place_deployments))
    return sorted(entries, key=lambda e: (e.environment, e.component, e.deployed_from, e.version))


@dataclass
class _Stay:
    deployment: Deployment
    to: datetime | None = None
    undone: bool = False


def stays(deployments: list[Deployment]) -> list[LedgerEntry]:
    # Walk deployments and back-outs in time order, keeping the versions in place as a stack: a
    # back-out takes its deployment off and makes the one below current again; an older version
    # deployed again undoes every newer one in place.
    stays = {d.key: _Stay(d) for d in deployments}
    timeline = [(d.at, 0, d) for d in deployments]
    timeline += [(max(d.backed_out_at, d.at), 1, d) for d in deployments if d.backed_out_at is not None]
    stack: list[_Stay] = []
    for at, is_back_out, d in sorted(timeline, key=lambda t: (t[0], t[1], t[2].version, t[2].rfc_number)):
        stay = stays[d.key]
        if is_back_out:
            stay.to, stay.undone = at, True
            if stay in stack:
                stack.remove(stay)
                if stack:
                    stack[-1].to = None
            continue
        for newer in [s for s in stack if s.deployment.version > d.version]:
            newer.to, newer.undone = at, True
            stack.remove(newer)
        if stack:
            stack[-1].to = at
        stack.append(stay)
    return [
        LedgerEntry(
            d.environment,
            d.component,
            d.version,
            d.rfc_number,
            d.at,
            stays[d.key].to,
            stays[d.key].undone,
            d.key,
            d.approved,
            d.rfc_sys_id,
        )
        for d in deployments
    ]


def undone_deployments(ledger: list[LedgerEntry]) -> set[str]:
    return {entry.deployment for entry in ledger if entry.undone}


def current_deployments(ledger: list[LedgerEntry]) -> set[str]:
    return {entry.deployment for entry in ledger if entry.current}
