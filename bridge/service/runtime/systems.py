"""The systems a store belongs to: the bridge refuses to run a store against other systems than it was
filled from, and `bridge db repoint` changes them on purpose.

A store restored into another deployment, or a configuration pointed at another instance, would
otherwise write moves and work notes from the wrong history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bridge.config import Settings
from bridge.domain.events import Source
from bridge.errors import BridgeError
from bridge.store import Store

# What names each system; GitLab's projects are only added to as the programme grows.
NAMES = {
    Source.GITLAB: ("url",),
    Source.SERVICENOW: ("instance",),
    Source.ADO: ("organization", "project"),
}
TITLES = {Source.GITLAB: "GitLab", Source.SERVICENOW: "ServiceNow", Source.ADO: "Azure DevOps"}
RECORDS = {Source.GITLAB: "releases", Source.SERVICENOW: "RFCs", Source.ADO: "defects"}


def _url(value: object) -> str:
    """A URL as one system is named: scheme and host without case, no trailing slash."""
    parts = urlsplit(str(value))
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def configured_systems(settings: Settings) -> dict[Source, dict[str, Any]]:
    """The identity of each system the settings configure."""
    found: dict[Source, dict[str, Any]] = {}
    if settings.gitlab.url is not None:
        projects = sorted({p.path for p in settings.gitlab.projects})
        found[Source.GITLAB] = {"url": _url(settings.gitlab.url), "projects": projects}
    if settings.servicenow.url is not None:
        found[Source.SERVICENOW] = {"instance": _url(settings.servicenow.url)}
    if settings.ado.organization_url is not None:
        found[Source.ADO] = {
            "organization": _url(settings.ado.organization_url),
            "project": settings.ado.project or "",
        }
    return found


@dataclass(frozen=True)
class Difference:
    """One system the store and the configuration disagree on."""

    source: Source
    recorded: dict[str, Any]
    configured: dict[str, Any]

    def describe(self) -> str:
        return (
            f"{TITLES[self.source]}: the store's is {system_name(self.source, self.recorded)}; "
            f"the configuration's is {system_name(self.source, self.configured)}"
        )


def system_name(source: Source, identity: dict[str, Any]) -> str:
    """What names one system ("instance https://acme.service-now.com")."""
    return " ".join(f"{key} {identity.get(key) or '(none)'}" for key in NAMES[source])


class OtherSystemsError(BridgeError):
    """The configuration names other systems than the store was filled from."""

    def __init__(self, differences: list[Difference]) -> None:
        self.differences = differences
        lines = [d.describe() for d in differences]
        super().__init__(
            "this store was filled from other systems than the configuration names:\n  "
            + "\n  ".join(lines)
            + "\nCheck the configuration and the database URL; `bridge db repoint` makes the store "
            "follow the configuration, on purpose."
        )


def differences(store: Store, settings: Settings) -> list[Difference]:
    """The systems the configuration names differently from the store's record."""
    configured = configured_systems(settings)
    with store.transaction(readonly=True) as tx:
        recorded = tx.systems.by_source()
    return [
        Difference(source, recorded[source].identity, identity)
        for source, identity in configured.items()
        if source in recorded and _differs(source, recorded[source].identity, identity)
    ]


def _differs(source: Source, recorded: dict[str, Any], configured: dict[str, Any]) -> bool:
    return any(recorded.get(key) != configured.get(key) for key in NAMES[source])


def check_systems(store: Store, settings: Settings, *, now: datetime | None = None) -> None:
    """Record the configured systems the store does not know yet; raise OtherSystemsError when the store
    was filled from other ones. A system configured no longer is no conflict: nothing is read from it."""
    configured = configured_systems(settings)
    with store.transaction() as tx:
        for source, identity in configured.items():
            tx.systems.add(source, identity, now=now)
        recorded = tx.systems.by_source()
        found = [
            Difference(source, recorded[source].identity, identity)
            for source, identity in configured.items()
            if _differs(source, recorded[source].identity, identity)
        ]
        if found:
            raise OtherSystemsError(found)
        gitlab = configured.get(Source.GITLAB)
        if gitlab is not None:
            known = set(recorded[Source.GITLAB].identity.get("projects") or ())
            if not set(gitlab["projects"]) <= known:
                merged = {**gitlab, "projects": sorted(known | set(gitlab["projects"]))}
                tx.systems.save(Source.GITLAB, merged, now=now)


def meaning(store: Store, found: list[Difference]) -> list[str]:
    """What repointing means, one sentence per system, with the records it concerns."""
    lines = []
    with store.transaction(readonly=True) as tx:
        for difference in found:
            source = difference.source
            count = tx.systems.count_records(source)
            old = system_name(source, difference.recorded)
            new = system_name(source, difference.configured)
            lines.append(
                f"{TITLES[source]}: the {count} {RECORDS[source]} read from {old} are taken as read from"
                f" {new}: the bridge writes to them there by the ids it stored and polls on from where it"
                " stopped. Right only when it is the same system under another name, or a copy of it (a"
                " restored instance); for another system, start a new store instead."
            )
    return lines


def repoint(store: Store, settings: Settings, *, now: datetime | None = None) -> list[Difference]:
    """Make the store follow the configuration's systems; returns what changed."""
    found = differences(store, settings)
    configured = configured_systems(settings)
    with store.transaction() as tx:
        recorded = tx.systems.by_source()
        for difference in found:
            identity = dict(difference.configured)
            if difference.source is Source.GITLAB:
                known = set(recorded[Source.GITLAB].identity.get("projects") or ())
                identity["projects"] = sorted(known | set(identity["projects"]))
            tx.systems.save(difference.source, identity, now=now)
        for source, identity in configured.items():
            tx.systems.add(source, identity, now=now)
    return found
