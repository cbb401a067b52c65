"""The words release notes use for items, columns and severities, from `mappings/release_notes.yaml`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.mappings import load_mapping
from bridge.versions import ReleaseType

MAPPING_NAME = "release_notes"

# Item keys the parser reads for its own logic; the mapping must define every one of them.
PARSER_ITEMS = (
    "title",
    "release_date",
    "release_number",
    "source_tag",
    "bill_of_materials",
    "defects_fixed",
    "defects_outstanding",
    "change_requests",
    "backout_plan",
    "defects",
    "release_type",
    "component",
)
COLUMN_ROLES = (
    "defect_id",
    "severity",
    "summary",
    "workaround",
    "status",
    "change_request_id",
    "change_request_title",
    "change_request_summary",
    "key",
    "value",
    "kind",
)

T = TypeVar("T")

_NON_WORD = re.compile(r"[^0-9a-z]+")
_PARENTHESES = re.compile(r"\([^()]*\)")
_APOSTROPHE = re.compile(r"['’`]")


class ItemNeed(StrEnum):
    """Whether a note must have an item."""

    REQUIRED = "required"  # listed in `missing` when the note lacks it
    OPTIONAL = "optional"  # reported when present ("if applicable" in the approach)
    EXTRA = "extra"  # read for the parser's own use, never reported missing


class ItemSpec(BaseModel):
    """How one item of the approach's list shows in a note."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    need: ItemNeed
    name: str
    headings: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)


class SeveritySpec(BaseModel):
    """One of ADO's severity values and what a note may write for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str
    number: int = Field(ge=1, le=9)
    words: list[str] = Field(default_factory=list)


class DefectStatuses(BaseModel):
    """Row statuses that say a defect is fixed in the release, or still outstanding."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fixed: list[str]
    outstanding: list[str]


class ContentChecks(BaseModel):
    """What the approach asks of an item's content, in the words notes use for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step_sections: list[str]  # items whose list items and table rows are steps (who, how long)
    total_time_sections: list[str]  # items that must state their total time
    owner_columns: list[str]  # table headers naming who performs a step
    duration_columns: list[str]  # table headers naming how long a step takes
    owner_words: list[str]  # words in a step's text that name who performs it
    duration_units: list[str]  # units after a number that make it a duration ("5 min")
    total_words: list[str]  # words that introduce a total ("Total: 20 min")
    version_columns: list[str]  # bill-of-materials headers naming an item's version
    date_columns: list[str]  # bill-of-materials headers naming an item's date
    reason_words: list[str]  # words in a title that say why the release is made
    most_findings_per_check: int = Field(default=20, ge=1)  # the rest of one check's are summed up


class ReleaseNotesMapping(BaseModel):
    """The file `mappings/release_notes.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    items: dict[str, ItemSpec]
    ignore_phrases: list[str] = Field(default_factory=list)
    severities: list[SeveritySpec]
    columns: dict[str, list[str]]
    defect_statuses: DefectStatuses
    release_types: dict[ReleaseType, list[str]]
    change_request_prefixes: list[str]
    nothing: list[str] = Field(default_factory=list)
    placeholders: list[str] = Field(default_factory=list)
    quantity_words: list[str] = Field(default_factory=list)
    not_fixed_words: list[str] = Field(default_factory=list)
    not_defect_prefixes: list[str] = Field(default_factory=list)
    not_defect_kinds: list[str] = Field(default_factory=list)
    mixed_words: list[str] = Field(default_factory=list)
    content_checks: ContentChecks

    @field_validator("items")
    @classmethod
    def _parser_items_defined(cls, items: dict[str, ItemSpec]) -> dict[str, ItemSpec]:
        absent = [key for key in PARSER_ITEMS if key not in items]
        if absent:
            raise ValueError(f"the parser needs these items defined: {', '.join(absent)}")
        return items

    @field_validator("columns")
    @classmethod
    def _column_roles_known(cls, columns: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(columns) - set(COLUMN_ROLES))
        if unknown:
            raise ValueError(f"unknown column roles {unknown}; known: {', '.join(COLUMN_ROLES)}")
        return columns

    @field_validator("change_request_prefixes")
    @classmethod
    def _prefixes_are_letters(cls, prefixes: list[str]) -> list[str]:
        bad = [p for p in prefixes if not re.fullmatch(r"[A-Za-z]{1,8}", p)]
        if bad:
            raise ValueError(f"change request prefixes must be 1 to 8 letters: {bad}")
        return prefixes

    @model_validator(mode="after")
    def _checked_sections_are_items(self) -> ReleaseNotesMapping:
        checks = self.content_checks
        unknown = sorted(set(checks.step_sections + checks.total_time_sections) - set(self.items))
        if unknown:
            raise ValueError(f"content_checks names items that are not defined: {unknown}")
        return self

    @model_validator(mode="after")
    def _severity_numbers_unique(self) -> ReleaseNotesMapping:
        numbers = [s.number for s in self.severities]
        if len(numbers) != len(set(numbers)):
            raise ValueError("severities: each number may be used once")
        return self


def squash(text: str) -> str:
    """The matching form of a word or phrase: lower case, letters and digits only."""
    return _NON_WORD.sub("", _APOSTROPHE.sub("", text.lower()))


def words_of(text: str) -> list[str]:
    """The lower-case words of a phrase, for boundary-aware matching."""
    return [w for w in _NON_WORD.split(_APOSTROPHE.sub("", text.lower())) if w]


@dataclass(frozen=True)
class Vocabulary:
    """A mapping compiled into lookups; build once with `Vocabulary.from_mapping` and pass it around."""

    items: Mapping[str, ItemSpec]
    heading_phrases: Mapping[str, frozenset[str]]  # squashed phrase -> item keys
    label_phrases: Mapping[str, frozenset[str]]
    ignore_suffixes: tuple[tuple[str, ...], ...]  # word lists, longest first
    severity_by_word: Mapping[str, str]
    severity_by_number: Mapping[int, str]
    columns: Mapping[str, tuple[str, ...]]  # role -> squashed header names, best first
    fixed_statuses: frozenset[str]
    outstanding_statuses: frozenset[str]
    status_phrases: Mapping[str, str]  # squashed status phrase -> "fixed" or "outstanding"
    release_type_by_word: Mapping[str, ReleaseType]
    release_type_words: tuple[tuple[str, ReleaseType], ...]  # word lists as phrases, longest first
    change_request_prefixes: tuple[str, ...]
    nothing: frozenset[str]
    placeholders: frozenset[str]
    quantity_words: frozenset[str]  # lower case, as written
    not_fixed_words: frozenset[str]  # words that withdraw a heading's "fixed" reading
    not_defect_prefixes: tuple[str, ...]  # squashed words before `#123` that make it no defect
    not_defect_kinds: frozenset[str]  # squashed work item types that are no defect (a user story)
    mixed_words: frozenset[str]  # words beside "fixes" in a heading that make it fixes and other work
    checks: ContentChecks

    @classmethod
    def from_mapping(cls, mapping: ReleaseNotesMapping) -> Vocabulary:
        """Compile a validated mapping."""
        headings: dict[str, set[str]] = {}
        labels: dict[str, set[str]] = {}
        for key, spec in mapping.items.items():
            # An item written under its own name ("Tag in source control: ...") is that item.
            own_name = squash(_PARENTHESES.sub(" ", spec.name))
            for phrase in [*spec.headings, own_name]:
                headings.setdefault(squash(phrase), set()).add(key)
            for phrase in [*spec.labels, *spec.headings, own_name]:
                labels.setdefault(squash(phrase), set()).add(key)
        severity_by_word: dict[str, str] = {}
        for severity in mapping.severities:
            severity_by_word[squash(severity.value)] = severity.value
            severity_by_word[str(severity.number)] = severity.value
            for word in severity.words:
                severity_by_word[squash(word)] = severity.value
        release_type_by_word = {
            squash(word): release_type
            for release_type, words in mapping.release_types.items()
            for word in words
        }
        return cls(
            items=dict(mapping.items),
            heading_phrases=_freeze(headings),
            label_phrases=_freeze(labels),
            ignore_suffixes=tuple(
                sorted((tuple(words_of(p)) for p in mapping.ignore_phrases), key=len, reverse=True)
            ),
            severity_by_word=severity_by_word,
            severity_by_number={s.number: s.value for s in mapping.severities},
            columns={
                role: tuple(squash(name) for name in mapping.columns.get(role, [])) for role in COLUMN_ROLES
            },
            fixed_statuses=frozenset(squash(s) for s in mapping.defect_statuses.fixed),
            outstanding_statuses=frozenset(squash(s) for s in mapping.defect_statuses.outstanding),
            status_phrases={
                **{squash(s): "fixed" for s in mapping.defect_statuses.fixed},
                **{squash(s): "outstanding" for s in mapping.defect_statuses.outstanding},
            },
            release_type_by_word=release_type_by_word,
            release_type_words=tuple(
                sorted(
                    ((word, release_type) for word, release_type in release_type_by_word.items()),
                    key=lambda pair: len(pair[0]),
                    reverse=True,
                )
            ),
            change_request_prefixes=tuple(p.upper() for p in mapping.change_request_prefixes),
            nothing=frozenset(squash(w) for w in mapping.nothing),
            placeholders=frozenset(squash(w) for w in mapping.placeholders),
            quantity_words=frozenset(w.lower() for w in mapping.quantity_words),
            not_fixed_words=frozenset(squash(w) for w in mapping.not_fixed_words),
            not_defect_prefixes=tuple(squash(w) for w in mapping.not_defect_prefixes),
            not_defect_kinds=frozenset(squash(w) for w in mapping.not_defect_kinds),
            mixed_words=frozenset(squash(w) for w in mapping.mixed_words),
            checks=mapping.content_checks,
        )

    def keys_with_need(self, need: ItemNeed) -> tuple[str, ...]:
        """Item keys of one need, in the mapping's order."""
        return tuple(key for key, spec in self.items.items() if spec.need is need)

    def severity(self, text: str) -> str | None:
        """ADO's severity value for a word, number or `2 - High` form; None when the text names none."""
        squashed = squash(text)
        if not squashed:
            return None
        found = self.severity_by_word.get(squashed)
        if found is not None:
            return found
        # "Sev 2", "Severity 2 - High", "2 (High)": the number decides, the word must not contradict it.
        match = re.fullmatch(r"(?:severity|sev|s)?([1-9])([a-z]*)", squashed)
        if match:
            by_number = self.severity_by_number.get(int(match.group(1)))
            word = match.group(2)
            if by_number is not None and (not word or self.severity_by_word.get(word) == by_number):
                return by_number
        return None


# Longest phrase of any list, in words; headings are searched for phrases up to this long.
_MAX_PHRASE_WORDS = 8
# Only the start of a very long heading is searched: the words that name an item come first.
_MAX_HEADING_WORDS = 40


def best_phrase(words: list[str], table: Mapping[str, T]) -> tuple[str, T] | None:
    """The longest phrase of `table` that `words` contain as whole consecutive words (earliest on a tie).

    Phrases are compared squashed, so "pre-requisites" (two words) finds "prerequisites".
    """
    best: tuple[str, T] | None = None
    words = words[:_MAX_HEADING_WORDS]
    for start in range(len(words)):
        joined = ""
        for end in range(start, min(len(words), start + _MAX_PHRASE_WORDS)):
            joined += words[end]
            found = table.get(joined)
            if found is not None and (best is None or len(joined) > len(best[0])):
                best = (joined, found)
    return best


def all_phrases(words: list[str], table: Mapping[str, T]) -> list[tuple[int, int, T]]:
    """Every phrase of `table` in `words` as (first word, last word + 1, value), leaving out a phrase
    that lies inside a longer one ("fixed" inside "defects not fixed")."""
    found: list[tuple[int, int, T]] = []
    words = words[:_MAX_HEADING_WORDS]
    for start in range(len(words)):
        joined = ""
        for end in range(start, min(len(words), start + _MAX_PHRASE_WORDS)):
            joined += words[end]
            value = table.get(joined)
            if value is not None:
                found.append((start, end + 1, value))
    return [
        (start, end, value)
        for start, end, value in found
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in found)
    ]


def _freeze(table: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    return {phrase: frozenset(keys) for phrase, keys in table.items() if phrase}


def load_vocabulary(directory: Path | None = None) -> Vocabulary:
    """Read and compile `release_notes.yaml` (from `directory`, else the configured mappings folder)."""
    return Vocabulary.from_mapping(load_mapping(MAPPING_NAME, ReleaseNotesMapping, directory))


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The project's own vocabulary, read once per process."""
    return load_vocabulary()
