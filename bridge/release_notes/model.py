"""What a release note says, as parsed: the release, its defects, change requests, items and findings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bridge.versions import ReleaseType, Version


class FindingSeverity(StrEnum):
    """How much a finding matters."""

    ERROR = "error"  # the note contradicts itself or the rules; do not act on it unchecked
    WARNING = "warning"  # the note is incomplete or unclear; a person should look
    INFO = "info"  # worth knowing, nothing to do


class FindingCode(StrEnum):
    """What a finding is about; stable, for matching in code and in RFC work notes."""

    MISSING_ITEM = "missing-item"  # a required item of the approach's list is absent
    EMPTY_SECTION = "empty-section"  # a required item is there but says nothing
    PLACEHOLDER = "placeholder"  # an item says only TBC, TBD, ...
    VERSION_NOT_FOUND = "version-not-found"  # no release number, title version or tag version
    VERSION_INVALID = "version-invalid"  # the release number item is not a 4-part version
    VERSION_CONFLICT = "version-conflict"  # release number and title name different versions
    VERSION_TAG_MISMATCH = "version-tag-mismatch"  # the tag names another version than the note
    TAG_NOT_A_RELEASE = "tag-not-a-release"  # the tag matches no tag pattern
    RELEASE_TYPE_MISMATCH = "release-type-mismatch"  # the declared type is not the version's type
    RELEASE_TYPE_UNKNOWN = "release-type-unknown"  # the declared type names no release type
    DEFECT_FIXED_AND_OUTSTANDING = "defect-fixed-and-outstanding"  # listed as both
    DUPLICATE_DEFECT = "duplicate-defect"  # listed twice in the same list
    DUPLICATE_CHANGE_REQUEST = "duplicate-change-request"  # listed twice
    DEFECT_WITHOUT_ID = "defect-without-id"  # a defect table row with no id
    DEFECT_STATUS_UNKNOWN = "defect-status-unknown"  # a defect in a mixed list, neither fixed nor open
    SEVERITY_UNKNOWN = "severity-unknown"  # a severity that is not one of ADO's values


@dataclass(frozen=True)
class Finding:
    """Something about the note a person should know, with the line (1-based) it concerns."""

    code: FindingCode
    severity: FindingSeverity
    message: str
    line: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "code": str(self.code),
            "severity": str(self.severity),
            "message": self.message,
            "line": self.line,
        }


class ItemSource(StrEnum):
    """Where in the note an item was found."""

    HEADING = "heading"  # a heading of any level
    LABEL = "label"  # a `Label: value` line, a bold label, or a row of an "Item | Detail" table
    TITLE = "title"  # the note's first heading, or read from it (a version or date in the title)


@dataclass(frozen=True)
class NoteItem:
    """One item of the approach's list found in the note: where, and its text when it is a single value."""

    key: str
    line: int
    source: ItemSource
    value: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "line": self.line, "source": str(self.source), "value": self.value}


@dataclass(frozen=True)
class DefectFixed:
    """A defect the release fixes (ADO work item id)."""

    id: int
    severity: str | None
    summary: str | None
    line: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "severity": self.severity, "summary": self.summary}


@dataclass(frozen=True)
class DefectOutstanding:
    """A known defect the release does not fix, with its workaround."""

    id: int
    severity: str | None
    summary: str | None
    workaround: str | None
    line: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity,
            "summary": self.summary,
            "workaround": self.workaround,
        }


@dataclass(frozen=True)
class ChangeRequest:
    """A change request the release addresses, with its id as the note writes it (`CR-031`)."""

    id: str
    title: str | None
    summary: str | None
    line: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "summary": self.summary}


@dataclass(frozen=True)
class ReleaseNote:
    """Everything the parser read from one release note."""

    version: Version | None
    release_type: ReleaseType | None
    tag: str | None
    rfcs: tuple[str, ...]
    defects_fixed: tuple[DefectFixed, ...]
    defects_outstanding: tuple[DefectOutstanding, ...]
    change_requests: tuple[ChangeRequest, ...]
    missing: tuple[str, ...]  # required item keys not found, in the approach's order
    present: tuple[NoteItem, ...]  # required and optional items found, first occurrence each
    findings: tuple[Finding, ...]
    title: str | None = None
    declared_release_type: ReleaseType | None = None  # as the note states it, consistent or not
    component: str | None = None  # as given by the caller, else as the note states it
    defects_mentioned: tuple[int, ...] = ()  # explicit references (AB#123) outside the defect lists

    def item(self, key: str) -> NoteItem | None:
        """The item with this key, if the note has it."""
        return next((item for item in self.present if item.key == key), None)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is FindingSeverity.ERROR)

    def to_json(self) -> dict[str, object]:
        """The note as JSON-ready data; the keys of `bridge notes parse --json`."""
        return {
            "version": str(self.version) if self.version else None,
            "release_type": str(self.release_type) if self.release_type else None,
            "tag": self.tag,
            "rfcs": list(self.rfcs),
            "defects_fixed": [d.to_json() for d in self.defects_fixed],
            "defects_outstanding": [d.to_json() for d in self.defects_outstanding],
            "change_requests": [c.to_json() for c in self.change_requests],
            "missing": list(self.missing),
            "findings": [f.to_json() for f in self.findings],
            "title": self.title,
            "declared_release_type": str(self.declared_release_type) if self.declared_release_type else None,
            "component": self.component,
            "defects_mentioned": list(self.defects_mentioned),
            "present": {item.key: item.line for item in self.present},
        }
