"""What a release note says, as parsed: the release, its defects, change requests, items and findings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bridge.versions import ReleaseType, Version


class NoteFindingSeverity(StrEnum):
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
    DEFECT_UNCLASSIFIED = "defect-unclassified"  # a defect in a place that says neither fixed nor open
    SEVERITY_UNKNOWN = "severity-unknown"  # a severity that is not one of ADO's values
    DEFECT_INCOMPLETE = "defect-incomplete"  # a fixed defect without its severity or summary
    WORKAROUND_MISSING = "workaround-missing"  # an outstanding defect that says no workaround, not even none
    BOM_ITEM_INCOMPLETE = "bom-item-incomplete"  # a bill-of-materials item without its version or date
    STEP_INCOMPLETE = "step-incomplete"  # an installation or backout step that says not who or how long
    TOTAL_TIME_MISSING = "total-time-missing"  # installation instructions without their total time
    TITLE_WITHOUT_REASON = "title-without-reason"  # the title does not say why the release is made


@dataclass(frozen=True)
class NoteFinding:
    """Something about the note a person should know, with the line (1-based) it concerns."""

    code: FindingCode
    severity: NoteFindingSeverity
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
class DefectUnclassified:
    """A defect the note names where it does not say whether it is fixed: never moved, reported instead."""

    id: int
    severity: str | None
    summary: str | None
    line: int | None = None
    place: str | None = None  # the heading or label it was under, as written

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity,
            "summary": self.summary,
            "line": self.line,
            "place": self.place,
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
    findings: tuple[NoteFinding, ...]
    title: str | None = None
    declared_release_type: ReleaseType | None = None  # as the note states it, consistent or not
    component: str | None = None  # as given by the caller, else as the note states it
    defects_mentioned: tuple[int, ...] = ()  # explicit references (AB#123) outside the defect lists
    defects_unclassified: tuple[DefectUnclassified, ...] = ()  # neither fixed nor outstanding: never moved

    def item(self, key: str) -> NoteItem | None:
        """The item with this key, if the note has it."""
        return next((item for item in self.present if item.key == key), None)

    @property
    def errors(self) -> tuple[NoteFinding, ...]:
        return tuple(f for f in self.findings if f.severity is NoteFindingSeverity.ERROR)

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
            "defects_unclassified": [d.to_json() for d in self.defects_unclassified],
            "present": {item.key: item.line for item in self.present},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReleaseNote:
        """The note back from `to_json`'s data (as stored with a release); lines of items and defects
        that `to_json` leaves out come back as None or the item's line."""
        version = data.get("version")
        release_type = data.get("release_type")
        declared = data.get("declared_release_type")
        return cls(
            version=Version.parse(version) if version else None,
            release_type=ReleaseType(release_type) if release_type else None,
            tag=data.get("tag"),
            rfcs=tuple(data.get("rfcs", ())),
            defects_fixed=tuple(
                DefectFixed(d["id"], d.get("severity"), d.get("summary"))
                for d in data.get("defects_fixed", ())
            ),
            defects_outstanding=tuple(
                DefectOutstanding(d["id"], d.get("severity"), d.get("summary"), d.get("workaround"))
                for d in data.get("defects_outstanding", ())
            ),
            change_requests=tuple(
                ChangeRequest(c["id"], c.get("title"), c.get("summary"))
                for c in data.get("change_requests", ())
            ),
            missing=tuple(data.get("missing", ())),
            present=tuple(
                NoteItem(key, line, ItemSource.HEADING) for key, line in dict(data.get("present", {})).items()
            ),
            findings=tuple(
                NoteFinding(
                    FindingCode(f["code"]), NoteFindingSeverity(f["severity"]), f["message"], f.get("line")
                )
                for f in data.get("findings", ())
            ),
            title=data.get("title"),
            declared_release_type=ReleaseType(declared) if declared else None,
            component=data.get("component"),
            defects_mentioned=tuple(data.get("defects_mentioned", ())),
            defects_unclassified=tuple(
                DefectUnclassified(
                    d["id"], d.get("severity"), d.get("summary"), d.get("line"), d.get("place")
                )
                for d in data.get("defects_unclassified", ())
            ),
        )
