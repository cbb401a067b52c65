"""Findings: first-class records of what is wrong or worth knowing, with their evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FindingSeverity(StrEnum):
    """How much a finding matters to a release manager."""

    ERROR = "error"  # a rule of the approach is broken
    WARNING = "warning"  # something is missing or doubtful
    INFO = "info"  # worth knowing, nothing to do


@dataclass(frozen=True)
class Finding:
    """A finding about a subject (a release, an RFC, a defect), with the evidence that shows it."""

    code: str  # stable, e.g. version.skip, note.missing_item, retest.ineligible_state
    severity: FindingSeverity
    subject: str  # e.g. release:dip-platform:1.0.2.0, rfc:CHG0031245, defect:48211
    message: str
    evidence: tuple[tuple[str, str], ...] = field(default=())  # (what, where), e.g. ("note line", "12")
