"""Releases as the engine sees them: GitLab tags of configured components, their versions and notes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache

from bridge.domain.events import NoteSource, ReleasePublished
from bridge.domain.findings import Finding, FindingSeverity
from bridge.domain.keys import ReleaseKey, Subject
from bridge.engine.context import EngineContext
from bridge.release_notes import ReleaseNote, parse_release_note
from bridge.versions import ReleaseType, Version, check_successor, version_from_tag


@dataclass(frozen=True)
class Release:
    """One release of a component: a tag matching the component's patterns, with its parsed note."""

    component: str
    project: str
    version: Version
    tag: str
    commit_sha: str | None
    published_at: datetime | None
    web_url: str | None
    note_source: NoteSource
    note_text: str
    note: ReleaseNote

    @cached_property
    def ref(self) -> ReleaseKey:
        return ReleaseKey(self.component, str(self.version))

    @cached_property
    def key(self) -> str:
        """The release key's text: what links, fixes and control points are stored by."""
        return str(self.ref)

    @cached_property
    def subject(self) -> str:
        return str(Subject.release(self.ref))

    @property
    def release_type(self) -> ReleaseType | None:
        return self.version.release_type

    @property
    def fixed_ids(self) -> tuple[int, ...]:
        return tuple(d.id for d in self.note.defects_fixed)

    @property
    def outstanding_ids(self) -> tuple[int, ...]:
        return tuple(d.id for d in self.note.defects_outstanding)


@lru_cache(maxsize=4096)
def _parse(note: str, component: str, patterns: tuple[str, ...]) -> ReleaseNote:
    # Notes are parsed once per distinct text: the engine derives everything again on each plan.
    return parse_release_note(note, component=component, tag_patterns=patterns)


def releases_of(
    events: dict[tuple[str, str], ReleasePublished], context: EngineContext
) -> tuple[list[Release], list[Finding]]:
    """The releases the tags show, and findings about tags and versions."""
    releases: list[Release] = []
    findings: list[Finding] = []
    for event in (events[key] for key in sorted(events)):
        read = release_of(event, context)
        if isinstance(read, Release):
            releases.append(read)
        elif read is not None:
            findings.append(read)
    return chain_of(releases, findings)


def chain_of(releases: list[Release], findings: list[Finding]) -> tuple[list[Release], list[Finding]]:
    """The releases of one version each, and the findings about their versions and notes after `findings`."""
    findings = [*findings, *_version_findings(releases)]
    for release in releases:
        findings.extend(_note_findings(release))
    return _unique_versions(releases), findings


def release_of(event: ReleasePublished, context: EngineContext) -> Release | Finding | None:
    """The release a tag shows; a finding when the tag names no version; None when it is not a
    configured component's, or is gone."""
    component = context.component(event.project)
    if component is None or event.removed:
        return None
    version = version_from_tag(event.tag, component.name, component.tag_patterns)
    if version is None:
        return Finding(
            "tag.not_a_release",
            FindingSeverity.INFO,
            str(Subject.tag(event.project, event.tag)),
            f"Tag {event.tag} of {event.project} matches none of the tag patterns "
            f"({', '.join(component.tag_patterns)}), so it is not a release.",
        )
    return Release(
        component=component.name,
        project=event.project,
        version=version,
        tag=event.tag,
        commit_sha=event.commit_sha,
        published_at=event.published_at,
        web_url=event.web_url,
        note_source=event.note_source,
        note_text=event.note,
        note=_parse(event.note, component.name, component.tag_patterns),
    )


def _unique_versions(releases: list[Release]) -> list[Release]:
    """One release per (component, version): the first tag by name when a version is reused."""
    chosen: dict[str, Release] = {}
    for release in sorted(releases, key=lambda r: (r.key, r.tag)):
        chosen.setdefault(release.key, release)
    return sorted(chosen.values(), key=lambda r: (r.component, r.version))


def _version_findings(releases: list[Release]) -> list[Finding]:
    findings: list[Finding] = []
    by_component: dict[str, list[Release]] = defaultdict(list)
    for release in releases:
        by_component[release.component].append(release)
    for component_releases in by_component.values():
        by_version: dict[Version, list[Release]] = defaultdict(list)
        for release in component_releases:
            by_version[release.version].append(release)
        versions = sorted(by_version)
        for index, version in enumerate(versions):
            tags = sorted(r.tag for r in by_version[version])
            subject = by_version[version][0].subject
            if len(tags) > 1:
                findings.append(
                    Finding(
                        "version.reused",
                        FindingSeverity.ERROR,
                        subject,
                        f"{version} already released: tags {', '.join(tags)} name the same version.",
                        tuple(("tag", t) for t in tags),
                    )
                )
            # Only the nearest earlier version decides a successor (and reuse is caught above),
            # so each check is against that one: linear in the component's releases.
            verdict = check_successor(version, versions[index - 1 : index])
            for problem in verdict.problems:
                findings.append(
                    Finding(
                        "version.invalid_successor",
                        FindingSeverity.ERROR,
                        subject,
                        problem,
                        (("previous", str(verdict.previous) if verdict.previous else "none"),),
                    )
                )
    return findings


def _note_findings(release: Release) -> list[Finding]:
    findings: list[Finding] = []
    if release.note_source is NoteSource.NONE:
        findings.append(
            Finding(
                "note.absent",
                FindingSeverity.ERROR,
                release.subject,
                f"{release.tag} has no release note: neither a GitLab Release nor a tag message.",
            )
        )
        return findings
    if release.note.missing:
        findings.append(
            Finding(
                "note.missing_items",
                FindingSeverity.WARNING,
                release.subject,
                "The release note lacks: " + ", ".join(release.note.missing) + ".",
                tuple(("missing", key) for key in release.note.missing),
            )
        )
    for note_finding in release.note.findings:
        if str(note_finding.code) == "missing-item":
            continue  # summarised above
        findings.append(
            Finding(
                f"note.{note_finding.code}",
                FindingSeverity(str(note_finding.severity)),
                release.subject,
                note_finding.message,
                (("note line", str(note_finding.line)),) if note_finding.line else (),
            )
        )
    return findings
