"""What the approach asks of a note's content: steps that say who and how long, a stated total time,
bill-of-materials items with a version and a date, a title that says why the release is made.

The parser hands over the steps and items it met, in their sections; this module only judges them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.release_notes.model import FindingCode, NoteFinding, NoteFindingSeverity
from bridge.release_notes.vocabulary import ContentChecks, all_phrases, squash, words_of

_DATE = re.compile(
    r"\b\d{1,2}(?:st|nd|rd|th)?[-\s/.](?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}[-\s/.,]{1,2}\d{2,4}\b"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{8}\b",
    re.IGNORECASE,
)
_VERSION = re.compile(
    r"(?<![\w.])(?:v|r|rev\s?)?\d{1,6}(?:\.\d{1,9}){1,4}(?![\w])|(?<![\w.])[vr]\d{1,6}(?![\w.])", re.I
)
_WORD = re.compile(r"[a-z]+")
_NOT_A_VALUE = frozenset({"", "-", "--", "—", "–", "n/a", "tbc", "tbd"})
_LONGEST_QUOTE = 60


@dataclass(frozen=True, slots=True)
class Entry:
    """A step or a bill-of-materials item: its section, line, text, and the cells of its named columns."""

    key: str  # the item whose section holds it
    line: int
    text: str
    columns: frozenset[str] = frozenset()  # "owner", "duration", "version", "date": named by the table
    cells: tuple[tuple[str, str], ...] = ()  # (column role, cell text) for those columns

    def cell(self, role: str) -> str | None:
        """The cell of a named column (None when the table has no such column)."""
        return next((text for name, text in self.cells if name == role), None)


@dataclass(frozen=True)
class _Patterns:
    duration: re.Pattern[str]
    owner: re.Pattern[str]  # "by Ops", "Who: DBA"
    owner_words: frozenset[str]  # one-word owners ("team", "dba"), found among a step's words
    owner_phrases: tuple[str, ...]  # owners of several words ("on call"), found in its lower-case text
    total: re.Pattern[str]

    def names_owner(self, text: str) -> bool:
        lower = text.lower()
        if not self.owner_words.isdisjoint(_WORD.findall(lower)):
            return True
        return any(phrase in lower for phrase in self.owner_phrases) or self.owner.search(text) is not None


# Compiled once per mapping (a ContentChecks holds lists, so it cannot be a cache key itself).
_COMPILED: dict[int, tuple[ContentChecks, _Patterns]] = {}


def _patterns(checks: ContentChecks) -> _Patterns:
    cached = _COMPILED.get(id(checks))
    if cached is not None and cached[0] is checks:
        return cached[1]
    patterns = _compile(checks)
    _COMPILED[id(checks)] = (checks, patterns)
    return patterns


def _compile(checks: ContentChecks) -> _Patterns:
    units = "|".join(re.escape(u) for u in sorted(checks.duration_units, key=len, reverse=True))
    totals = "|".join(
        r"\s+".join(re.escape(w) for w in phrase.split())
        for phrase in sorted(checks.total_words, key=len, reverse=True)
    )
    return _Patterns(
        duration=re.compile(
            rf"(?<![\w.])\d{{1,4}}(?:[.,]\d{{1,2}})?\s{{0,2}}(?:{units})\b|\b\d{{1,2}}:\d{{2}}\b", re.I
        ),
        owner=re.compile(r"\bby\s{1,3}[A-Z@]|\b(?:who|owner|performed by)\s{0,2}:", re.I),
        owner_words=frozenset(w.lower() for w in checks.owner_words if " " not in w.strip()),
        owner_phrases=tuple(f" {w.lower().strip()} " for w in checks.owner_words if " " in w.strip()),
        total=re.compile(rf"\b(?:{totals})\b", re.I),
    )


def column_role(header: str, checks: ContentChecks) -> str | None:
    """Which of owner, duration, version, date a table header names, if any."""
    name = squash(header)
    for role, names in (
        ("owner", checks.owner_columns),
        ("duration", checks.duration_columns),
        ("version", checks.version_columns),
        ("date", checks.date_columns),
    ):
        if name in {squash(n) for n in names}:
            return role
    return None


def is_total(text: str, checks: ContentChecks) -> bool:
    """A line or row that states a total time ("Total: 20 min", "| | Overall | 45 minutes |")."""
    patterns = _patterns(checks)
    return patterns.total.search(text) is not None and patterns.duration.search(text) is not None


def _filled(text: str | None) -> bool:
    return text is not None and text.strip().lower() not in _NOT_A_VALUE


def _quote(text: str) -> str:
    return repr(text if len(text) <= _LONGEST_QUOTE else text[: _LONGEST_QUOTE - 1] + "…")


def step_findings(steps: list[Entry], names: dict[str, str], checks: ContentChecks) -> list[NoteFinding]:
    """One finding per step that does not say who performs it, or how long it takes."""
    patterns = _patterns(checks)
    findings = []
    for step in steps:
        if "owner" in step.columns:
            has_owner = _filled(step.cell("owner"))
        else:
            has_owner = patterns.names_owner(f" {step.text} ")
        if "duration" in step.columns:
            has_duration = _filled(step.cell("duration"))
        else:
            has_duration = patterns.duration.search(step.text) is not None
        lacking = [
            what
            for what, has in (("who performs it", has_owner), ("how long it takes", has_duration))
            if not has
        ]
        if lacking:
            findings.append(
                NoteFinding(
                    FindingCode.STEP_INCOMPLETE,
                    NoteFindingSeverity.WARNING,
                    f"{names.get(step.key, step.key)}: step {_quote(step.text)} does not say "
                    + " or ".join(lacking),
                    step.line,
                )
            )
    return findings


def bom_findings(items: list[Entry]) -> list[NoteFinding]:
    """One finding per bill-of-materials item without a version or a date."""
    findings = []
    for item in items:
        if "version" in item.columns:
            has_version = _filled(item.cell("version"))
        else:
            has_version = _VERSION.search(item.text) is not None
        if "date" in item.columns:
            has_date = _filled(item.cell("date"))
        else:
            has_date = _DATE.search(item.text) is not None
        lacking = [what for what, has in (("version", has_version), ("date", has_date)) if not has]
        if lacking:
            findings.append(
                NoteFinding(
                    FindingCode.BOM_ITEM_INCOMPLETE,
                    NoteFindingSeverity.WARNING,
                    f"bill of materials item {_quote(item.text)} has no " + " and no ".join(lacking),
                    item.line,
                )
            )
    return findings


def bounded(findings: list[NoteFinding], most: int) -> list[NoteFinding]:
    """At most `most` findings of each check; the rest summed up in one, so that a long note's report
    (and the RFC work note that repeats it) stays readable."""
    kept: list[NoteFinding] = []
    over: dict[FindingCode, list[NoteFinding]] = {}
    counts: dict[FindingCode, int] = {}
    for finding in findings:
        counts[finding.code] = counts.get(finding.code, 0) + 1
        if counts[finding.code] <= most:
            kept.append(finding)
        else:
            over.setdefault(finding.code, []).append(finding)
    for code, rest in over.items():
        lines = [f.line for f in rest if f.line is not None]
        span = f" (lines {min(lines)} to {max(lines)})" if lines else ""
        kept.append(
            NoteFinding(
                code,
                rest[0].severity,
                f"and {len(rest)} more like the {most} above{span}: {rest[0].message}",
                rest[0].line,
            )
        )
    return kept


def says_why(title: str, checks: ContentChecks) -> bool:
    """Whether a title gives a reason for the release ("... for SIT functional testing", "hotfix ...")."""
    reasons = {squash(word): True for word in checks.reason_words}
    return bool(all_phrases(words_of(title), reasons))
