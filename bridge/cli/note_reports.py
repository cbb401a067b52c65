"""Release-note checks as CI reports: GitLab Code Quality JSON (the merge request widget) and JUnit XML.

Code Quality fields, as GitLab documents them (docs.gitlab.com/ci/testing/code_quality/,
"Code Quality report format"): a JSON array of issues, each with `description`, `check_name`,
`fingerprint` (unique per issue), `severity` (info, minor, major, critical or blocker) and
`location.path` with `location.lines.begin`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from xml.etree import ElementTree

from bridge.release_notes import (
    FindingCode,
    ItemNeed,
    NoteFinding,
    NoteFindingSeverity,
    ReleaseNote,
    Vocabulary,
)

CODE_QUALITY_SEVERITIES = ("info", "minor", "major", "critical", "blocker")
# An error contradicts the note itself; an unclassified defect stops a retest until the note is fixed.
_MAJOR = frozenset({FindingCode.DEFECT_UNCLASSIFIED})


def code_quality_severity(finding: NoteFinding) -> str:
    """GitLab's severity for a finding: errors and unclassified defects major, other warnings minor."""
    if finding.severity is NoteFindingSeverity.ERROR or finding.code in _MAJOR:
        return "major"
    return "minor" if finding.severity is NoteFindingSeverity.WARNING else "info"


def code_quality(checked: Sequence[tuple[str, ReleaseNote]]) -> list[dict[str, object]]:
    """One Code Quality issue per finding of each note (a missing item on line 1, where it belongs)."""
    issues: list[dict[str, object]] = []
    seen: set[str] = set()
    for path, note in checked:
        for finding in note.findings:
            # The line is left out of the fingerprint so that an edit above a finding does not make it
            # a new issue; a repeat of the same message is told apart by its count.
            base = f"{path}\0{finding.code}\0{finding.message}"
            fingerprint = hashlib.sha256(base.encode("utf-8")).hexdigest()[:32]
            repeat = 1
            while fingerprint in seen:
                repeat += 1
                fingerprint = hashlib.sha256(f"{base}\0{repeat}".encode()).hexdigest()[:32]
            seen.add(fingerprint)
            issues.append(
                {
                    "description": finding.message,
                    "check_name": f"release-note/{finding.code}",
                    "fingerprint": fingerprint,
                    "severity": code_quality_severity(finding),
                    "location": {"path": path, "lines": {"begin": finding.line or 1}},
                }
            )
    return issues


def junit(checked: Sequence[tuple[str, ReleaseNote]], vocabulary: Vocabulary) -> str:
    """JUnit XML: per note, a test case for each required item and one for each other finding."""
    suites = ElementTree.Element("testsuites", name="release notes")
    required = vocabulary.keys_with_need(ItemNeed.REQUIRED)
    for path, note in checked:
        suite = ElementTree.SubElement(suites, "testsuite", name=path)
        failures = 0
        for key in required:
            case = ElementTree.SubElement(suite, "testcase", classname=path, name=f"item: {key}")
            if key in note.missing:
                failures += 1
                failure = ElementTree.SubElement(
                    case, "failure", message=f"{vocabulary.items[key].name} is missing", type="missing-item"
                )
                failure.text = f"{path}: {vocabulary.items[key].name} ({key}) is missing"
        others = [f for f in note.findings if f.code is not FindingCode.MISSING_ITEM]
        for finding in others:
            where = f"line {finding.line}" if finding.line else "the note"
            case = ElementTree.SubElement(
                suite, "testcase", classname=path, name=f"{finding.code} at {where}"
            )
            failure = ElementTree.SubElement(case, "failure", message=finding.message, type=str(finding.code))
            failure.text = f"{path}:{finding.line or 1}: [{finding.severity}] {finding.message}"
            failures += 1
        suite.set("tests", str(len(required) + len(others)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
    ElementTree.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
    )
