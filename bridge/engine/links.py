"""Links: which RFCs and defects belong to which release, each with the evidence that says so."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import IntEnum

from bridge.domain.events import ChangeUpdated
from bridge.domain.keys import CorrelationId, ReleaseKey, Subject
from bridge.domain.links import LinkKind
from bridge.engine.context import EngineContext
from bridge.engine.releases import Release
from bridge.engine.state import RfcRecord


class Evidence(IntEnum):
    """Where a release-RFC link was read, strongest last: the strongest decides between versions."""

    RFC_DESCRIPTION = 1
    RFC_SHORT_DESCRIPTION = 2
    RFC_RELEASE_FIELD = 3
    RFC_CORRELATION = 4
    RELEASE_NOTE = 5


@dataclass(frozen=True)
class Link:
    kind: LinkKind
    release: str  # release key, component:version
    other: str  # RFC number or defect id
    evidence: str  # what text says so, and where
    revision: str  # the record revision the evidence was read at
    strength: int = 0


_VERSION_TOKEN = re.compile(r"(?<![\d.])v?(\d{1,9}\.\d{1,9}\.\d{1,9}\.\d{1,9})(?![\d]|\.\d)")


def defect_links(releases: list[Release]) -> list[Link]:
    links: list[Link] = []
    for release in releases:
        revision = str(Subject.note(release.tag))
        for fixed in release.note.defects_fixed:
            where = f" (line {fixed.line})" if fixed.line else ""
            links.append(
                Link(
                    LinkKind.DEFECT_FIXED,
                    release.key,
                    str(fixed.id),
                    f"release note lists it fixed{where}",
                    revision,
                )
            )
        for open_defect in release.note.defects_outstanding:
            where = f" (line {open_defect.line})" if open_defect.line else ""
            links.append(
                Link(
                    LinkKind.DEFECT_OUTSTANDING,
                    release.key,
                    str(open_defect.id),
                    f"release note lists it outstanding{where}",
                    revision,
                )
            )
    return links


def rfc_links(releases: list[Release], rfcs: dict[str, RfcRecord], context: EngineContext) -> list[Link]:
    """Release-RFC links in both directions: the note names the RFC, or the RFC names the release.

    A note's link is the strongest evidence: where both say so, the note's link is kept.
    """
    numbers = {record.change.number for record in rfcs.values()}
    links: dict[tuple[str, str], Link] = {}
    for release in releases:
        for link in note_links(release, numbers):
            links[(link.release, link.other)] = link
    by_version: dict[str, list[Release]] = {}
    for release in releases:
        by_version.setdefault(str(release.version), []).append(release)
    for record in rfcs.values():
        for link in named_links(record, by_version, context):
            links.setdefault((link.release, link.other), link)
    return sorted(links.values(), key=lambda link: (link.release, link.other))


def note_links(release: Release, numbers: Collection[str]) -> list[Link]:
    """The links of the RFCs a release's note names, of those that exist (`numbers`)."""
    return [
        Link(
            LinkKind.RELEASE_RFC,
            release.key,
            number,
            f"release note of {release.tag} names {number}",
            str(Subject.note(release.tag)),
            Evidence.RELEASE_NOTE,
        )
        for number in release.note.rfcs
        if number in numbers
    ]


def named_links(
    record: RfcRecord, by_version: Mapping[str, list[Release]], context: EngineContext
) -> list[Link]:
    """The links of the releases an RFC names (`by_version`: the releases of each version).

    Of the releases of one component an RFC names, only the best evidenced is kept, and of those the
    first named: "deploy 1.0.2.0, back out to 1.0.1.3" deploys 1.0.2.0, "redeploy 1.0.1.0 after a
    failed 1.0.2.0" deploys 1.0.1.0.
    """
    best: dict[str, tuple[int, int, Release, str]] = {}
    for release, strength, position, where in _releases_named(record, by_version, context):
        held = best.get(release.component)
        if held is None or (strength, -position) > (held[0], -held[1]):
            best[release.component] = (strength, position, release, where)
    return [
        Link(
            LinkKind.RELEASE_RFC,
            release.key,
            record.change.number,
            f"{record.change.number} names {release.component} {release.version} in its {where}",
            str(Subject.rfc_revision(record.change.sys_id, record.change.mod_count)),
            strength,
        )
        for strength, _, release, where in best.values()
    ]


def versions_named(record: RfcRecord, context: EngineContext) -> set[str]:
    """The versions an RFC's texts (and its correlation id) mention: only releases of these can be named."""
    change = record.change
    mentioned = {
        match.group(1) for _, _, text in _texts(record, context) for match in _VERSION_TOKEN.finditer(text)
    }
    ours = _named_by_correlation(change)
    if ours is not None:
        mentioned.add(ours.version)
    return mentioned


def _named_by_correlation(change: ChangeUpdated) -> ReleaseKey | None:
    """The release the RFC's correlation id names, if the bridge wrote it (someone else's says nothing)."""
    try:
        return CorrelationId.parse(change.correlation_id).release
    except ValueError:
        return None


def _texts(record: RfcRecord, context: EngineContext) -> tuple[tuple[Evidence, str, str], ...]:
    change = record.change
    return (
        (Evidence.RFC_RELEASE_FIELD, "release field", change.field(context.release_field) or ""),
        (Evidence.RFC_SHORT_DESCRIPTION, "short description", change.short_description),
        (Evidence.RFC_DESCRIPTION, "description", change.description),
    )


def _releases_named(
    record: RfcRecord, by_version: Mapping[str, list[Release]], context: EngineContext
) -> list[tuple[Release, int, int, str]]:
    """(release, evidence strength, position in the text, where) for each release the RFC names."""
    found: list[tuple[Release, int, int, str]] = []
    ours = _named_by_correlation(record.change)
    texts = _texts(record, context)
    # Every way of naming a release holds its version: only releases of the versions mentioned (or
    # the one the correlation id names) can be named, so the rest are never scanned.
    mentioned = versions_named(record, context)
    candidates = [release for version in sorted(mentioned) for release in by_version.get(version, [])]
    for release in candidates:
        if ours == release.ref:
            found.append((release, Evidence.RFC_CORRELATION, 0, "correlation id"))
            continue
        for strength, where, text in texts:
            position = _named_at(text, release) if text else None
            if position is not None:
                found.append((release, strength, position, where))
                break
    return found


def _named_at(text: str, release: Release) -> int | None:
    """Where the text names the release (its tag, or its component and version as whole words), or None."""
    # A tag names its release alone only when it holds the component's name (`v1.0.2.0` does not).
    if release.component in release.tag:
        start = text.find(release.tag)
        while start >= 0:
            after = text[start + len(release.tag) : start + len(release.tag) + 1]
            if not (after.isdigit() or after == "."):
                return start
            start = text.find(release.tag, start + 1)
    component = re.escape(release.component)
    if re.search(rf"(?<![\w-]){component}(?![\w-])", text, re.IGNORECASE) is None:
        return None
    return next(
        (m.start() for m in _VERSION_TOKEN.finditer(text) if m.group(1) == str(release.version)), None
    )
