"""Reading a release note's blocks into a ReleaseNote: items, version, tag, RFCs, defects, CRs, findings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from bridge.release_notes import content
from bridge.release_notes.blocks import Block, Code, Heading, Table, TextLine, read_blocks
from bridge.release_notes.model import (
    ChangeRequest,
    DefectFixed,
    DefectOutstanding,
    DefectUnclassified,
    FindingCode,
    ItemSource,
    NoteFinding,
    NoteFindingSeverity,
    NoteItem,
    ReleaseNote,
)
from bridge.release_notes.text import (
    Reference,
    change_request_pattern,
    defect_references,
    ids_in_cell,
    lead_in_end,
    leading_defect_id,
    plain,
    rfc_numbers,
    severity_in_text,
    split_label,
    split_workaround,
    tidy_summary,
    without_spans,
)
from bridge.release_notes.vocabulary import (
    ItemNeed,
    Vocabulary,
    all_phrases,
    best_phrase,
    default_vocabulary,
    squash,
    words_of,
)
from bridge.versions import (
    DEFAULT_TAG_PATTERNS,
    VERSION_IN_TEXT,
    ReleaseType,
    TagPattern,
    Version,
    version_from_tag,
)


def parse_release_note(
    text: str,
    *,
    component: str | None = None,
    tag_patterns: Sequence[str | TagPattern] = DEFAULT_TAG_PATTERNS,
    vocabulary: Vocabulary | None = None,
) -> ReleaseNote:
    """Read a release note (Markdown, as a GitLab release description) into what it says.

    `component` (e.g. `dip-platform`) lets the tag be checked against the tag patterns; without it any
    `<name>/<version>`, `<name>@<version>` or `v<version>` tag is accepted. Problems in the note are
    findings in the result; nothing in the text makes this raise.
    """
    reader = _NoteReader(vocabulary or default_vocabulary(), component, tuple(tag_patterns))
    return reader.read(read_blocks(text))


def explain_release_note(
    text: str,
    *,
    component: str | None = None,
    tag_patterns: Sequence[str | TagPattern] = DEFAULT_TAG_PATTERNS,
    vocabulary: Vocabulary | None = None,
) -> tuple[ReleaseNote, list[tuple[int, str]]]:
    """The note as `parse_release_note` reads it, and how each line was read: (line, reading) in order."""
    reader = _NoteReader(vocabulary or default_vocabulary(), component, tuple(tag_patterns))
    reader.trace = []
    note = reader.read(read_blocks(text))
    return note, sorted(reader.trace, key=lambda entry: entry[0])


# --- sections ------------------------------------------------------------------------------------------


class _DefectList(Enum):
    """Which list a defect section feeds."""

    FIXED = "fixed"
    OUTSTANDING = "outstanding"
    MIXED = "mixed"  # each defect's own status says; without one, the context's fallback
    UNCLASSIFIED = "unclassified"  # the place says neither: the defect is reported, never moved


# A line such as "Defects fixed:" or "**Known issues**" acts as a heading below every real one, and a
# bold line under such a line ("**Critical**") as one level further down.
_LABEL_HEADING_LEVEL = 7
_SUB_LABEL_HEADING_LEVEL = 8
# "**7.1 Pre-requisites**" sits under "**7. Installation**": each part of the number is a level down.
_SECTION_NUMBER = re.compile(r"\s{0,3}(\d{1,3}(?:\.\d{1,3}){0,4})\.?\s")
# A line ending with a colon is a heading only when short; longer ones are sentences.
_LONGEST_COLON_HEADING = 100
_LONGEST_SUBJECT = 150
# Items whose first line of content is their value when they are headings ("## Release number").
_VALUE_KEYS = frozenset(
    {
        "programme",
        "title",
        "release_date",
        "release_number",
        "released_to",
        "issued_by",
        "source_tag",
        "release_type",
        "component",
    }
)
# Sections that name other releases' RFCs (the one backed out to, the one required first, a
# component's own); an RFC there is not this release's.
_NOT_THIS_RELEASES_RFCS = frozenset({"backout_plan", "prerequisites", "bill_of_materials"})
_DEFECT_ATTRIBUTES = ("workaround", "severity", "summary", "status")
_NUMBERING = re.compile(r"\s{0,3}(?:\d{1,3}(?:\.\d{1,3}){0,4}\.?|[A-Za-z][.)])\s{1,5}")
# "Programme: MHHS. Released to: SIT-A. Tag: dip-platform/1.0.2.1.": where a label may start in a sentence.
_SENTENCE_LABEL = re.compile(
    r"(?:^|(?<=[.;|]\s)|(?<=[.;|]\s\s))([A-Za-z][A-Za-z0-9 /&'’()-]{0,50}?)\s{0,2}:(?!//)\s"
)
_PARENTHESES = re.compile(r"\([^()]{0,200}\)")
_ID_JOINER = re.compile(r"\s{0,3}(?:,|&|/|\+|\band\b)\s{0,3}", re.IGNORECASE)
_TITLE_SPLIT = re.compile(r":\s|\s[–—-]\s|\s[–—]|[–—]\s")
_DATE = re.compile(
    r"\b\d{1,2}(?:st|nd|rd|th)?[-\s/.](?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}[-\s/.,]{1,2}\d{2,4}\b"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
    re.IGNORECASE,
)
_TAG_TOKEN = re.compile(r"[\w.\-/@+%]{1,200}")
_TAG_NAME = re.compile(r"(?P<component>.+)[/@]\d{1,9}\.\d{1,9}\.\d{1,9}\.\d{1,9}$")
_MAX_COLUMNS = 40
_VERSION_HEADING = re.compile(r"\[?[vV]?\d{1,9}\.\d{1,9}\.\d{1,9}\.\d{1,9}\b")
_FIX_TRAILER = re.compile(r"\s{0,3}(?:fix(?:es|ed)?|resolve[sd]?|close[sd]?)\b", re.IGNORECASE)
_NO_WORKAROUND = re.compile(r"\bno\s{1,3}(?:known\s{1,3})?work\s?-?arounds?\b", re.IGNORECASE)
_NOT_A_VALUE = frozenset({"", "-", "--", "—", "–"})


@dataclass
class _Section:
    level: int
    line: int
    keys: frozenset[str]
    severity: str | None = None
    status: _DefectList | None = None
    text: str | None = None  # the heading as written, to name the place of an unclassified defect
    other_release: bool = False  # an earlier release's section of a changelog
    mixed: bool = False  # fixes beside other work ("Fixes & improvements")
    content: int = 0
    first_text: str | None = None
    first_text_line: int | None = None


@dataclass
class _DefectDraft:
    id: int
    line: int
    severity: str | None = None
    summary: str | None = None
    workaround: str | None = None
    workaround_stated: bool = False  # a workaround, or "none", is written for it


@dataclass
class _Context:
    """What the current section is, worked out when headings change, read for every block."""

    keys: frozenset[str] = frozenset()
    defects: _DefectList | None = None
    severity: str | None = None
    change_requests: bool = False
    names_rfcs: bool = True
    line: int = 0  # of the heading that gave the keys
    fallback: _DefectList = _DefectList.UNCLASSIFIED  # for a defect without a status in a MIXED place
    place: str | None = None  # the innermost heading, as written
    other_release: bool = False  # under an earlier release's heading: defects there are only mentions


@dataclass
class _Values:
    """Values of the single-valued items, each with its line, in the order found."""

    entries: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def add(self, key: str, value: str, line: int) -> None:
        self.entries.setdefault(key, []).append((value, line))

    def all(self, key: str) -> list[tuple[str, int]]:
        return self.entries.get(key, [])

    def first(self, key: str) -> tuple[str, int] | None:
        found = self.entries.get(key)
        return found[0] if found else None


class _NoteReader:
    """One pass over a note's blocks; single use."""

    def __init__(
        self, vocabulary: Vocabulary, component: str | None, tag_patterns: tuple[str | TagPattern, ...]
    ):
        self.vocabulary = vocabulary
        self.component = component
        self.tag_patterns = tag_patterns
        self.items: dict[str, NoteItem] = {}
        self.values = _Values()
        self.findings: list[NoteFinding] = []
        self.rfcs: dict[str, None] = {}
        self.mentioned: dict[int, None] = {}
        self.fixed: dict[int, _DefectDraft] = {}
        self.outstanding: dict[int, _DefectDraft] = {}
        self.unclassified: dict[int, tuple[_DefectDraft, str | None]] = {}
        self.change_requests: dict[str, ChangeRequest] = {}
        self.stack: list[_Section] = []
        self.context = _Context()
        self.title: tuple[str, int] | None = None
        self.version_heading: tuple[str, int] | None = None
        self.trace: list[tuple[int, str]] | None = None  # how each line was read, when asked
        self.headings_seen = 0
        self.pending_value: tuple[frozenset[str], int] | None = None
        self.last_defect: _DefectDraft | None = None
        self.cr_pattern = change_request_pattern(vocabulary)
        self.severity_memo: dict[str, str | None] = {}
        self.nothing_memo: dict[str, bool] = {}
        checks = vocabulary.checks
        self.step_keys = frozenset(checks.step_sections)
        self.total_keys = frozenset(checks.total_time_sections)
        self.checked_keys = self.step_keys | self.total_keys | {"bill_of_materials"}
        self.steps: list[content.Entry] = []
        self.bom: list[content.Entry] = []
        self.totals: set[str] = set()
        self.attribute_labels = {
            name: role for role in _DEFECT_ATTRIBUTES for name in vocabulary.columns.get(role, ())
        }

    # --- the walk -------------------------------------------------------------------------------------

    def read(self, blocks: list[Block]) -> ReleaseNote:
        for index, block in enumerate(blocks):
            if index == 0 and isinstance(block, TextLine) and self._subject_line(block):
                continue
            if isinstance(block, Heading):
                self._heading(block)
                continue
            # Another item's label ends the section a bare "Defects fixed:" line opened.
            if (
                isinstance(block, TextLine)
                and not block.strong
                and self.stack
                and self.stack[-1].level >= _LABEL_HEADING_LEVEL
                and self._item_label(block) is not None
            ):
                self._close_sections(_LABEL_HEADING_LEVEL)
            if isinstance(block, TextLine) and self._pseudo_heading(block):
                continue
            self._count_content(block)
            if self.context.keys & self.checked_keys:
                self._collect(block)
            if self.context.names_rfcs:
                self._scan_rfcs(block)
            if isinstance(block, TextLine):
                self._text_line(block)
            elif isinstance(block, Table):
                self._table(block)
        self._close_sections(0)
        self._settle_pending()
        return self._result()

    def _collect(self, block: Block) -> None:
        """Keep the steps and bill-of-materials items of this section for the content checks."""
        keys = self.context.keys
        checks = self.vocabulary.checks
        if isinstance(block, TextLine):
            if content.is_total(block.text, checks):
                self.totals |= keys & self.total_keys
            elif block.depth == 1:
                self._entry(keys, block.line, block.text)
        elif isinstance(block, Table):
            roles = {
                index: role
                for index, cell in enumerate(block.header[:_MAX_COLUMNS])
                if (role := content.column_role(plain(cell), checks)) is not None
            }
            for row in block.rows:
                cells = [plain(cell) for cell in row.cells]
                text = " | ".join(cell for cell in cells if cell)
                if not text:
                    continue
                if content.is_total(text, checks):
                    self.totals |= keys & self.total_keys
                    continue
                named = tuple((role, cells[i] if i < len(cells) else "") for i, role in roles.items())
                self._entry(keys, row.line, text, frozenset(roles.values()), named)

    def _entry(
        self,
        keys: frozenset[str],
        line: int,
        text: str,
        columns: frozenset[str] = frozenset(),
        cells: tuple[tuple[str, str], ...] = (),
    ) -> None:
        for key in keys & self.step_keys:
            self.steps.append(content.Entry(key, line, text, columns, cells))
        if "bill_of_materials" in keys:
            self.bom.append(content.Entry("bill_of_materials", line, text, columns, cells))

    def _content_findings(self, title: tuple[str, int] | None) -> None:
        """The approach's asks of the content: defects, workarounds, BOM items, steps, total, title."""
        found: list[NoteFinding] = []
        for draft in self.fixed.values():
            lacking = [
                what
                for what, value in (("severity", draft.severity), ("summary", draft.summary))
                if not value
            ]
            if lacking:
                found.append(
                    NoteFinding(
                        FindingCode.DEFECT_INCOMPLETE,
                        NoteFindingSeverity.WARNING,
                        f"fixed defect {draft.id} has no {' and no '.join(lacking)}",
                        draft.line,
                    )
                )
        for draft in self.outstanding.values():
            if not draft.workaround_stated:
                found.append(
                    NoteFinding(
                        FindingCode.WORKAROUND_MISSING,
                        NoteFindingSeverity.WARNING,
                        f"outstanding defect {draft.id} has no workaround"
                        " (write 'Workaround: none' if there is none)",
                        draft.line,
                    )
                )
        checks = self.vocabulary.checks
        found += content.bom_findings(self.bom)
        names = {key: self._name(key) for key in self.step_keys}
        found += content.step_findings(self.steps, names, checks)
        self.findings += content.bounded(found, checks.most_findings_per_check)
        for key in sorted(self.total_keys - self.totals):
            if any(step.key == key for step in self.steps):
                item = self.items.get(key)
                self._finding(
                    FindingCode.TOTAL_TIME_MISSING,
                    NoteFindingSeverity.WARNING,
                    f"{self._name(key)}: the total time is not stated (e.g. 'Total: 45 min')",
                    item.line if item else None,
                )
        if title is not None and not content.says_why(title[0], checks):
            self._finding(
                FindingCode.TITLE_WITHOUT_REASON,
                NoteFindingSeverity.WARNING,
                f"the title {title[0]!r} does not say why the release is made (e.g. '... for SIT functional"
                " testing')",
                title[1],
            )

    def _heading(self, heading: Heading) -> None:
        self._settle_pending()
        self._close_sections(heading.level)
        first = self.headings_seen == 0
        self.headings_seen += 1
        # The note's first heading is its title unless it is exactly an item's name: a title such as
        # "DIP 1.0.1.4 – known issues fix" names the release, not a section.
        keys = self._exact_heading_keys(heading.text) if first else self._heading_keys(heading.text)
        section = _Section(heading.level, heading.line, keys, text=heading.text)
        section.mixed = not first and self._mixed_with_other_work(heading.text, keys)
        if keys and any(self._is_nothing(m.group(0)[1:-1]) for m in _PARENTHESES.finditer(heading.text)):
            section.content = 1  # "Known issues (none)" says so in its heading
        if not keys:
            if first:
                self.title = (heading.text, heading.line)
                self._found("title", heading.line, ItemSource.TITLE, heading.text)
            elif _VERSION_HEADING.match(heading.text):
                if self.version_heading is None and not self._names_a_version(self.title):
                    # A changelog's "## 3.0.1.0 (2024-07-02)" under a "# Changelog" title.
                    self.version_heading = (heading.text, heading.line)
                elif self._names_a_version(self.version_heading or self.title):
                    # A changelog's earlier release: what it lists is not this release's.
                    section.other_release = True
            elif self.context.defects is not None:
                section.severity = self._severity_word(heading.text)
                section.status = self._subheading_status(heading.text, numbered=False)
        if self.context.other_release:
            keys = frozenset()  # an earlier release's items are not this note's
            section = _Section(heading.level, heading.line, keys, text=heading.text, other_release=True)
        for key in sorted(keys):
            self._found(key, heading.line, ItemSource.HEADING)
        if keys & _VALUE_KEYS:
            self.pending_value = (keys & _VALUE_KEYS, heading.line)
        self.stack.append(section)
        self._update_context()
        if self.context.names_rfcs:
            self._add_rfcs(heading.text)
        if self.trace is not None:
            if first and not keys:
                self._explain(heading.line, "title of the release")
            else:
                self._explain(heading.line, f"heading: {self._describe_section()}")

    def _explain(self, line: int, reading: str) -> None:
        if self.trace is not None:
            self.trace.append((line, reading))

    def _describe_section(self) -> str:
        """The current section as `explain` shows it: its items and what a defect in it becomes."""
        context = self.context
        if context.other_release:
            return "an earlier release's section: its defects are only mentions, its items not this note's"
        items = ", ".join(self._name(key) for key in sorted(context.keys)) or "no item of the approach"
        lists = {
            _DefectList.FIXED: "defects here are fixed",
            _DefectList.OUTSTANDING: "defects here are outstanding",
            _DefectList.UNCLASSIFIED: "defects here are unclassified (never moved)",
            _DefectList.MIXED: f"each defect's status decides, else it is {context.fallback.value}",
        }
        if context.defects is None:
            return items
        severity = f"; severity {context.severity}" if context.severity else ""
        return f"{items}; {lists[context.defects]}{severity}"

    @staticmethod
    def _names_a_version(heading: tuple[str, int] | None) -> bool:
        return heading is not None and VERSION_IN_TEXT.search(heading[0]) is not None

    def _subject_line(self, line: TextLine) -> bool:
        """A note's first line as its title when it is a plain line, as a tag message's subject is."""
        if line.is_list_item or line.strong or len(line.text) > _LONGEST_SUBJECT:
            return False
        split = split_label(line.text)
        if (split is not None and self._label_keys(split[0])) or self._exact_heading_keys(line.text):
            return False
        self._heading(Heading(line.line, 1, line.text))
        return True

    def _pseudo_heading(self, line: TextLine) -> bool:
        """A bold line or a short line ending with a colon that heads what follows; True if it did.

        A recognised item opens a section like a heading. In a defect section, an unrecognised one is
        a subheading: it names a severity or a status, or (numbered, or with words such as "deferred"
        or "not") makes the defects under it unclassified, or else (unnumbered, under a real heading)
        keeps the section's list. Any other unrecognised bold line ends the section a bold line opened.
        """
        text = line.text
        colon = text.endswith(":") and len(text) <= _LONGEST_COLON_HEADING and not line.is_list_item
        if not (line.strong or colon):
            return False
        split = split_label(text)
        if split is not None and split[1] and self._label_keys(split[0]):
            return False  # "**Programme: MHHS**" is a label with its value
        bare = text.rstrip(": ").strip()
        if not bare:
            return False
        if self.headings_seen == 0 and line.strong and not self._exact_heading_keys(bare):
            # A note whose title is a bold line.
            self._heading(Heading(line.line, 1, bare))
            return True
        number = _SECTION_NUMBER.match(bare)
        level = _LABEL_HEADING_LEVEL + (number.group(1).count(".") if number else 0)
        keys = self._heading_keys(bare)
        if keys:
            self._settle_pending()
            for key in sorted(keys):
                self._found(key, line.line, ItemSource.HEADING)
            self._open_label_section(keys, line.line, bare, level, self._mixed_with_other_work(bare, keys))
            self._explain(
                line.line,
                f"{'bold line' if line.strong else 'line ending with a colon'} as a heading: "
                + self._describe_section(),
            )
            return True
        numbered = _NUMBERING.match(bare) is not None
        if self.context.defects is not None:
            severity = self._severity_word(bare)
            status = self._subheading_status(bare, numbered=numbered)
            top = self.stack[-1] if self.stack else None
            under_a_label = top is not None and top.level >= _LABEL_HEADING_LEVEL
            if severity is None and status is None and (not line.strong or under_a_label):
                if not line.strong and not under_a_label:
                    return False  # a sentence ending with a colon, under a defect heading
            else:
                sub = max(
                    level, top.level + 1 if under_a_label and top is not None else _SUB_LABEL_HEADING_LEVEL
                )
                self._close_sections(sub)
                self.stack.append(_Section(sub, line.line, frozenset(), severity, status, bare))
                self._update_context()
                self._explain(line.line, f"subheading: {self._describe_section()}")
                return True
        if not line.strong and self.context.defects is None:
            return False
        # An unrecognised bold line, or a line ending with a colon in a defect list a label opened
        # ("Defects fixed:" ... "Notes:"), ends the section the last bold line or label opened.
        self._settle_pending()
        self._close_sections(level)
        self.stack.append(_Section(level, line.line, frozenset(), text=bare))
        self._update_context()
        self._explain(
            line.line, "a heading naming no item: ends the section above; defects here are unclassified"
        )
        return True

    def _open_label_section(
        self,
        keys: frozenset[str],
        line: int,
        text: str | None,
        level: int = _LABEL_HEADING_LEVEL,
        mixed: bool = False,
    ) -> None:
        self._close_sections(level)
        self.stack.append(_Section(level, line, keys, text=text, mixed=mixed))
        self._update_context()
        if keys & _VALUE_KEYS:
            self.pending_value = (keys & _VALUE_KEYS, line)

    def _subheading_status(self, text: str, *, numbered: bool) -> _DefectList | None:
        """What a subheading in a defect section says of the defects under it, if anything."""
        words = words_of(text)
        status = self._status_of(text)
        if status is None:
            statuses = {found for _, _, found in all_phrases(words, self.vocabulary.status_phrases)}
            if "outstanding" in statuses:
                status = _DefectList.OUTSTANDING
            elif "fixed" in statuses and not self._negated(words):
                status = _DefectList.FIXED
        if status is None and (numbered or self._negated(words)):
            return _DefectList.UNCLASSIFIED
        if status is _DefectList.FIXED and self._negated(words):
            return _DefectList.UNCLASSIFIED
        return status

    def _negated(self, words: list[str]) -> bool:
        return any(word in self.vocabulary.not_fixed_words for word in words)

    def _close_sections(self, level: int) -> None:
        while self.stack and self.stack[-1].level >= level:
            self._close_section(self.stack.pop())
        self.last_defect = None
        self._update_context()

    def _close_section(self, section: _Section) -> None:
        needed = [key for key in sorted(section.keys) if self._need(key) is ItemNeed.REQUIRED]
        if not needed:
            return
        names = ", ".join(self._name(key) for key in needed)
        if section.content == 0:
            self._finding(
                FindingCode.EMPTY_SECTION,
                NoteFindingSeverity.WARNING,
                f"{names}: there, but empty",
                section.line,
            )
        elif section.content == 1 and self._is_placeholder(section.first_text):
            self._finding(
                FindingCode.PLACEHOLDER,
                NoteFindingSeverity.WARNING,
                f"{names}: says only {section.first_text!r}",
                section.first_text_line,
            )

    def _update_context(self) -> None:
        keys: frozenset[str] = frozenset()
        severity: str | None = None
        status: _DefectList | None = None
        line = 0
        mixed = False
        place = self.stack[-1].text if self.stack else None
        if any(section.other_release for section in self.stack):
            self.context = _Context(names_rfcs=False, other_release=True, place=place)
            return
        for section in reversed(self.stack):
            if severity is None:
                severity = section.severity
            if status is None:
                status = section.status
            if section.keys:
                keys, line, mixed = section.keys, section.line, section.mixed
                break
        defects, fallback = self._defect_list_of(keys, mixed)
        if defects is not None and status is not None:
            defects = status  # a subheading that says "Resolved", "Still open" or "Deferred to ..."
        names_rfcs = not any(s.keys & _NOT_THIS_RELEASES_RFCS for s in self.stack)
        self.context = _Context(
            keys, defects, severity, "change_requests" in keys, names_rfcs, line, fallback, place
        )

    @staticmethod
    def _defect_list_of(keys: frozenset[str], mixed: bool = False) -> tuple[_DefectList | None, _DefectList]:
        """The list a section with these item keys feeds, and where a defect without a status goes.

        A section that names both lists is read as the safer one: each defect's status decides, and a
        defect without one is outstanding. A section of "Defects" that names neither, or of fixes
        mixed with other work ("Fixes & improvements"), leaves a defect without a status unclassified.
        """
        fixed, outstanding = "defects_fixed" in keys, "defects_outstanding" in keys
        if fixed and outstanding:
            return _DefectList.MIXED, _DefectList.OUTSTANDING
        if fixed and mixed:
            return _DefectList.MIXED, _DefectList.UNCLASSIFIED  # "Fixes & improvements"
        if fixed:
            return _DefectList.FIXED, _DefectList.UNCLASSIFIED
        if outstanding:
            return _DefectList.OUTSTANDING, _DefectList.UNCLASSIFIED
        if "defects" in keys:
            return _DefectList.MIXED, _DefectList.UNCLASSIFIED
        return None, _DefectList.UNCLASSIFIED

    def _count_content(self, block: Block) -> None:
        if isinstance(block, TextLine):
            has_content = bool(block.text)
        elif isinstance(block, Table):
            has_content = bool(block.rows)
        else:
            has_content = isinstance(block, Code) and bool(block.text.strip())
        if not has_content:
            return
        for section in self.stack:
            section.content += 1
            if section.first_text is None and isinstance(block, TextLine):
                section.first_text, section.first_text_line = block.text, block.line

    # --- lines ----------------------------------------------------------------------------------------

    def _text_line(self, line: TextLine) -> None:
        text = line.text
        if not text:
            return
        if self.context.defects is not None and self._defect_line(line):
            return
        if self.context.change_requests and self._change_request_line(text, line.line):
            return
        if not line.is_list_item and self._label_sentences(line):
            return
        if self._label_line(line):
            return
        if self._trailer_line(line) or self._unclassified_line(line):
            return
        if self.pending_value is not None:
            keys, _ = self.pending_value
            for key in keys:
                self.values.add(key, text, line.line)
            self.pending_value = None
        if self.context.defects is None:
            for reference in defect_references(text, self.vocabulary.not_defect_prefixes):
                self.mentioned[reference.id] = None
                self._explain(line.line, f"mentions defect {reference.id} (not in a defect list)")

    def _label_sentences(self, line: TextLine) -> bool:
        """`Label: value` pairs written as sentences of one line: two or more, or one after a sentence
        (a paragraph wrapped mid-pair: "team. Tag: dip-platform/1.0.2.1."); True if it held any."""
        if ":" not in line.text:
            return False
        starts = [
            (match.start(1), match.end(), keys)
            for match in _SENTENCE_LABEL.finditer(line.text)
            if (keys := self._label_keys(match.group(1)))
        ]
        if not starts or (len(starts) == 1 and starts[0][0] == 0):
            return False
        for index, (_, value_start, keys) in enumerate(starts):
            end = starts[index + 1][0] if index + 1 < len(starts) else len(line.text)
            value = line.text[value_start:end].strip().rstrip(".;|").strip()
            self._label(keys, value, line.line, in_table=False)
        return True

    def _trailer_line(self, line: TextLine) -> bool:
        """A line that starts with a fix verb and the ids it fixes ("Fixes AB#48290 ...", "Resolves
        Bug 48291"), outside the defect lists: a row that says fixed, as a commit trailer does. With a
        word such as "partially" or "next" it does not say so, and its defects are unclassified."""
        if self.context.other_release or not _FIX_TRAILER.match(line.text):
            return False
        references = defect_references(line.text, self.vocabulary.not_defect_prefixes)
        if not references or references[0].start != lead_in_end(line.text):
            return False
        target = _DefectList.UNCLASSIFIED if self._negated(words_of(line.text)) else _DefectList.FIXED
        return self._defect_text(line.text, line.line, target, list_item=True, report_without_id=False)

    def _unclassified_line(self, line: TextLine) -> bool:
        """A list item naming a defect (AB#123, Bug 123, a work item link) in a place that is no item."""
        if self.context.keys or not line.is_list_item or self.context.other_release:
            return False
        if not defect_references(line.text, self.vocabulary.not_defect_prefixes):
            return False
        return self._defect_text(
            line.text, line.line, _DefectList.MIXED, list_item=True, report_without_id=False
        )

    def _label_line(self, line: TextLine) -> bool:
        """A `Label: value` line, or a line that is only an item's name (a heading in all but form)."""
        found = self._item_label(line)
        if found is None:
            return False
        self._label(found[0], found[1], line.line, in_table=False)
        return True

    def _item_label(self, line: TextLine) -> tuple[frozenset[str], str] | None:
        """(item keys, value) of a line that labels an item, else None."""
        split = split_label(line.text)
        if split is not None:
            keys = self._label_keys(split[0])
            if keys:
                return keys, split[1]
        if not line.is_list_item and len(line.text) < 80:
            keys = self._exact_heading_keys(line.text.rstrip(":"))
            if keys:
                return keys, ""
        return None

    def _label(self, keys: frozenset[str], value: str, line: int, *, in_table: bool) -> None:
        self._settle_pending()
        if self.trace is not None:
            names = ", ".join(self._name(key) for key in sorted(keys))
            self._explain(line, f"item {names}: {value!r}" if value else f"item {names}: the lines below")
        for key in sorted(keys):
            self._found(key, line, ItemSource.LABEL, value or None)
        if value in _NOT_A_VALUE:
            if in_table:
                self._empty_label(keys, line)
                return
            # "Defects fixed:" with the list below it: a section until the next heading or such line.
            self._open_label_section(keys, line, None)
            return
        for key in keys:
            self.values.add(key, value, line)
        if self._is_placeholder(value):
            needed = [self._name(k) for k in sorted(keys) if self._need(k) is ItemNeed.REQUIRED]
            if needed:
                self._finding(
                    FindingCode.PLACEHOLDER,
                    NoteFindingSeverity.WARNING,
                    f"{', '.join(needed)}: says only {value!r}",
                    line,
                )
        if self.context.names_rfcs:
            self._add_rfcs(value)
        target, fallback = self._defect_list_of(keys)
        if target is not None:
            saved = self.context
            self.context = _Context(
                saved.keys,
                saved.defects,
                saved.severity,
                saved.change_requests,
                saved.names_rfcs,
                saved.line,
                fallback,
                ", ".join(self._name(k) for k in sorted(keys)),
            )
            for piece in re.split(r"[,;]", value):
                self._defect_text(piece.strip(), line, target, list_item=True, report_without_id=False)
            self.context = saved
        if "change_requests" in keys:
            for piece in value.split(";"):
                self._change_request_line(piece.strip(), line)

    def _settle_pending(self) -> None:
        """A heading or label still waiting for its value gets none; its section reports it if empty."""
        self.pending_value = None

    def _empty_label(self, keys: frozenset[str], line: int) -> None:
        needed = [self._name(k) for k in sorted(keys) if self._need(k) is ItemNeed.REQUIRED]
        if needed:
            self._finding(
                FindingCode.EMPTY_SECTION,
                NoteFindingSeverity.WARNING,
                f"{', '.join(needed)}: no value given",
                line,
            )

    # --- defects --------------------------------------------------------------------------------------

    def _defect_line(self, line: TextLine) -> bool:
        """A line in a defect section; False when it is not about a defect (a label, prose)."""
        text = line.text
        if self._is_nothing(text):
            return True
        split = split_label(text)
        if split is not None and self.last_defect is not None:
            role = self.attribute_labels.get(squash(split[0]))
            if role is not None:
                self._defect_attribute(self.last_defect, role, split[1], line.line)
                return True
        assert self.context.defects is not None
        # A top-level list item in a defect section is a defect; without an id nobody can retest it.
        report = line.is_list_item and line.depth <= 1
        return self._defect_text(
            text, line.line, self.context.defects, list_item=line.is_list_item, report_without_id=report
        )

    def _defect_text(
        self, text: str, line: int, target: _DefectList, *, list_item: bool, report_without_id: bool
    ) -> bool:
        """Defects named by one line or list item; True if it named any."""
        if not text or self._is_nothing(text):
            return bool(text)
        references = defect_references(text, self.vocabulary.not_defect_prefixes)
        ids, end = self._leading_ids(text, references, strict=not list_item)
        leading = bool(ids)
        if ids:
            rest = text[end:]
            for reference in references:
                if reference.start >= end:
                    self.mentioned[reference.id] = None
        elif references:
            ids = [r.id for r in references]
            rest = without_spans(text, [(r.start, r.end) for r in references]) if list_item else ""
        else:
            if report_without_id and split_label(text) is None:
                self._finding(
                    FindingCode.DEFECT_WITHOUT_ID,
                    NoteFindingSeverity.WARNING,
                    f"a defect is listed without an id: {text[:80]!r}",
                    line,
                )
            return False
        rest, workaround = split_workaround(rest)
        workaround_stated = workaround is not None or _NO_WORKAROUND.search(rest) is not None
        if self._is_nothing(workaround):
            workaround = None
        spans: list[tuple[int, int]] = []
        severity = self.context.severity
        mention = severity_in_text(rest, self.vocabulary)
        if mention is not None:
            spans.append((mention.start, mention.end))
            severity = mention.value
            if mention.value is None:
                self._severity_unknown(mention.raw, line)
        if target is _DefectList.MIXED:
            status, span = self._status_in_text(rest)
            if span is not None:
                spans.append(span)
            elif leading and _FIX_TRAILER.match(text):
                # "Fixes AB#48511 – ..." says fixed itself, unless it hedges ("partially", "next").
                status = _DefectList.UNCLASSIFIED if self._negated(words_of(text)) else _DefectList.FIXED
            target = status or self.context.fallback
        summary = tidy_summary(without_spans(rest, spans)) if rest else None
        for number in ids:
            self._add_defect(
                _DefectDraft(
                    number,
                    line,
                    severity,
                    summary,
                    workaround if target is not _DefectList.FIXED else None,
                    workaround_stated,
                ),
                target,
            )
        return True

    def _leading_ids(self, text: str, references: list[Reference], *, strict: bool) -> tuple[list[int], int]:
        """The ids a line starts with ("AB#1, AB#2 – ...", "48190: ..."), and where they end."""
        by_start = {r.start: r for r in references}

        def id_at(position: int) -> Reference | None:
            found = by_start.get(position)
            if found is None:
                plain_id = leading_defect_id(text[position : position + 40], self.vocabulary, strict=strict)
                if plain_id is not None and plain_id.start == 0:
                    found = Reference(plain_id.id, position, position + plain_id.end)
            return found

        position = lead_in_end(text)
        ids: list[int] = []
        reference = id_at(position)
        while reference is not None:
            ids.append(reference.id)
            position = reference.end
            joiner = _ID_JOINER.match(text, position)
            if joiner is None or joiner.end() == position:
                break
            reference = id_at(joiner.end())
        return ids, position

    def _defect_attribute(self, defect: _DefectDraft, role: str, value: str, line: int) -> None:
        value = value.strip()
        if role == "workaround":
            defect.workaround = None if self._is_nothing(value) else value or None
            defect.workaround_stated = defect.workaround_stated or bool(value)
        elif role == "severity":
            defect.severity = self._severity(value, line)
        elif role == "summary" and value:
            defect.summary = value

    def _add_defect(self, draft: _DefectDraft, target: _DefectList) -> None:
        if target is _DefectList.UNCLASSIFIED:
            self._add_unclassified(draft)
            return
        if "defects" in self.context.keys:
            # One list of all defects, each with its status, gives both items of the approach.
            self._found("defects_fixed", self.context.line, ItemSource.HEADING)
            self._found("defects_outstanding", self.context.line, ItemSource.HEADING)
        defects = self.fixed if target is _DefectList.FIXED else self.outstanding
        if self.trace is not None:
            severity = f", {draft.severity}" if draft.severity else ", no severity"
            self._explain(draft.line, f"defect {draft.id}: {target.value}{severity}")
        existing = defects.get(draft.id)
        if existing is None:
            defects[draft.id] = draft
            self.last_defect = draft
            return
        kind = "fixed" if target is _DefectList.FIXED else "outstanding"
        self._finding(
            FindingCode.DUPLICATE_DEFECT,
            NoteFindingSeverity.WARNING,
            f"defect {draft.id} is listed as {kind} twice (first on line {existing.line})",
            draft.line,
        )
        existing.severity = existing.severity or draft.severity
        existing.summary = existing.summary or draft.summary
        existing.workaround = existing.workaround or draft.workaround
        existing.workaround_stated = existing.workaround_stated or draft.workaround_stated
        self.last_defect = existing

    def _add_unclassified(self, draft: _DefectDraft) -> None:
        place = self.context.place
        self._explain(
            draft.line, f"defect {draft.id}: unclassified (never moved), under {place or 'no heading'}"
        )
        first = draft.id not in self.unclassified
        if first:
            self.unclassified[draft.id] = (draft, place)
        where = f"under {place!r}" if place else "outside any section"
        # One finding per line, however many ids the line names.
        if (
            self.findings
            and self.findings[-1].line == draft.line
            and (self.findings[-1].code is FindingCode.DEFECT_UNCLASSIFIED)
        ):
            return
        self._finding(
            FindingCode.DEFECT_UNCLASSIFIED,
            NoteFindingSeverity.WARNING,
            f"defect {draft.id} is listed {where}, which says neither fixed nor outstanding: it is not"
            " moved; list it under a defects-fixed or outstanding-defects heading, or give it a status",
            draft.line,
        )

    def _defect_table(self, table: Table) -> None:
        columns = self._columns(
            table.header, ("defect_id", "severity", "summary", "workaround", "status", "kind")
        )
        id_column = columns.get("defect_id")
        if "status" in columns and self.context.defects is None and table.rows:
            # A defect table under no heading whose status column says, row by row, gives both lists.
            self._found("defects_fixed", table.line, ItemSource.HEADING)
            self._found("defects_outstanding", table.line, ItemSource.HEADING)
        for row in table.rows:
            raw = row.cells

            def cell(role: str, raw: tuple[str, ...] = raw) -> str:
                index = columns.get(role)
                return plain(raw[index]) if index is not None and index < len(raw) else ""

            ids = (
                ids_in_cell(cell("defect_id"), self.vocabulary.not_defect_prefixes)
                if id_column is not None
                else []
            )
            cells: list[str] = []
            if not ids:
                cells = [plain(c) for c in raw]
                ids = [r.id for c in cells for r in defect_references(c, self.vocabulary.not_defect_prefixes)]
            if not ids and id_column is None and cells:
                first = leading_defect_id(cells[0], self.vocabulary, strict=False)
                ids = [first.id] if first is not None else []
            if not ids:
                if any(c and not self._is_nothing(c) and c not in _NOT_A_VALUE for c in cells):
                    self._finding(
                        FindingCode.DEFECT_WITHOUT_ID,
                        NoteFindingSeverity.WARNING,
                        f"a defect row has no id: {' | '.join(cells)[:80]!r}",
                        row.line,
                    )
                continue
            if squash(cell("kind")) in self.vocabulary.not_defect_kinds:
                # An ADO query's user story or task beside the bugs: named, never a defect.
                for number in ids:
                    self.mentioned[number] = None
                    self._explain(row.line, f"mentions {cell('kind')} {number} (not a defect)")
                continue
            summary_text = cell("summary")
            severity = self.context.severity
            if "severity" in columns:
                severity = self._severity(cell("severity"), row.line) or (
                    None if cell("severity") else self.context.severity
                )
            elif summary_text:
                mention = severity_in_text(summary_text, self.vocabulary)
                if mention is not None and mention.value is not None:
                    severity = mention.value
                    summary_text = without_spans(summary_text, [(mention.start, mention.end)])
            target = self.context.defects or _DefectList.MIXED
            if "status" in columns:
                stated = cell("status")
                status = self._status_of(stated)
                if status is not None:
                    target = status
                elif stated and stated not in _NOT_A_VALUE:
                    target = _DefectList.UNCLASSIFIED  # a status the vocabulary does not know
            if target is _DefectList.MIXED:
                target = self.context.fallback
            workaround = cell("workaround")
            for number in ids:
                self._add_defect(
                    _DefectDraft(
                        number,
                        row.line,
                        severity,
                        tidy_summary(summary_text) if summary_text else None,
                        None if self._is_nothing(workaround) or workaround in _NOT_A_VALUE else workaround,
                        workaround not in _NOT_A_VALUE,
                    ),
                    target,
                )

    def _severity(self, text: str, line: int) -> str | None:
        """ADO's value for a severity cell; a finding when the text is there but names none."""
        if text in self.severity_memo:
            value = self.severity_memo[text]
        elif not text or text in _NOT_A_VALUE or self._is_nothing(text):
            return None
        else:
            value = self.severity_memo[text] = self.vocabulary.severity(text)
        if value is None:
            self._severity_unknown(text, line)
        return value

    def _severity_unknown(self, text: str, line: int) -> None:
        self._finding(
            FindingCode.SEVERITY_UNKNOWN,
            NoteFindingSeverity.WARNING,
            f"severity {text!r} is not one of ADO's (1 - Critical, 2 - High, 3 - Medium, 4 - Low)",
            line,
        )

    def _severity_word(self, text: str) -> str | None:
        """A subheading in a defect section that names a severity ("### Critical", "### Severity 2")."""
        found = self.vocabulary.severity(text)
        if found is None:
            words = words_of(text)
            found = self.vocabulary.severity(words[0]) if words else None
        if found is None:
            mention = severity_in_text(text, self.vocabulary)
            found = mention.value if mention is not None else None
        return found

    def _status_of(self, text: str) -> _DefectList | None:
        squashed = squash(text)
        if squashed in self.vocabulary.fixed_statuses:
            return _DefectList.FIXED
        if squashed in self.vocabulary.outstanding_statuses:
            return _DefectList.OUTSTANDING
        return None

    def _status_in_text(self, text: str) -> tuple[_DefectList | None, tuple[int, int] | None]:
        position = 0
        for piece in re.split(r"[()\[\],;]|\s[–—|-]\s", text):
            start = text.find(piece, position)
            position = start + len(piece)
            status = self._status_of(piece) if len(piece) < 40 else None
            if status is not None:
                return status, (start, position)
        return None, None

    # --- change requests ------------------------------------------------------------------------------

    def _change_request_line(self, text: str, line: int) -> bool:
        if self._is_nothing(text):
            return True
        matches = list(self.cr_pattern.finditer(text))
        if not matches:
            return False
        start = lead_in_end(text)
        leading = []
        for match in matches:
            if match.start() != start:
                break
            leading.append(match)
            joiner = _ID_JOINER.match(text, match.end())
            start = joiner.end() if joiner else match.end()
        chosen = leading or matches
        rest = without_spans(text, [(m.start(), m.end()) for m in chosen])
        title, summary = self._title_and_summary(rest)
        for match in chosen:
            self._add_change_request(ChangeRequest(match.group(0), title, summary, line))
        return True

    def _title_and_summary(self, text: str) -> tuple[str | None, str | None]:
        text = text.strip(" \t:;,.|–—-")
        if not text:
            return None, None
        parts = _TITLE_SPLIT.split(text, maxsplit=1)
        title = tidy_summary(parts[0])
        summary = tidy_summary(parts[1]) if len(parts) > 1 else None
        return title, summary

    def _change_request_table(self, table: Table) -> None:
        columns = self._columns(
            table.header, ("change_request_id", "change_request_title", "change_request_summary")
        )
        for row in table.rows:
            cells = [plain(cell) for cell in row.cells]

            def cell(role: str, cells: list[str] = cells) -> str:
                index = columns.get(role)
                return cells[index] if index is not None and index < len(cells) else ""

            ids: list[str] = []
            id_text = cell("change_request_id")
            if id_text:
                found = [m.group(0) for m in self.cr_pattern.finditer(id_text)]
                ids = found or ([id_text] if len(id_text) <= 30 and not self._is_nothing(id_text) else [])
            if not ids and "change_request_id" not in columns:
                ids = [m.group(0) for c in cells for m in self.cr_pattern.finditer(c)][:1]
            title = cell("change_request_title") or None
            summary = cell("change_request_summary") or None
            for number in ids:
                self._add_change_request(ChangeRequest(number, title, summary, row.line))

    def _add_change_request(self, change: ChangeRequest) -> None:
        self._explain(change.line or 0, f"change request {change.id}")
        key = squash(change.id)
        existing = self.change_requests.get(key)
        if existing is None:
            self.change_requests[key] = change
            return
        self._finding(
            FindingCode.DUPLICATE_CHANGE_REQUEST,
            NoteFindingSeverity.WARNING,
            f"change request {change.id} is listed twice (first on line {existing.line})",
            change.line,
        )

    # --- tables ---------------------------------------------------------------------------------------

    def _table(self, table: Table) -> None:
        if self.context.other_release:
            return
        if self._titled_table(table):
            return
        columns = self._columns(table.header, ("key", "value"))
        if "key" in columns and "value" in columns:
            self._label_table(table, columns["key"], columns["value"], header_is_row=False)
        elif len(table.header) == 2 and self._label_keys(plain(table.header[0])):
            # A two-column table without a header row: the "header" is the first item.
            self._label_table(table, 0, 1, header_is_row=True)
        elif self.context.defects is not None:
            self._defect_table(table)
        elif self.context.change_requests:
            self._change_request_table(table)
        elif self._is_defect_table(table.header):
            # A defect table where no heading says which list it is: each row's status decides.
            self._defect_table(table)

    def _titled_table(self, table: Table) -> bool:
        """A table whose header row is one cell naming an item ("| Defects fixed in this release | | |"),
        as documents put a table's title in its first row: that title heads the rows below it."""
        named = [plain(cell) for cell in table.header if plain(cell)]
        if len(named) != 1 or len(table.header) < 2 or not table.rows:
            return False
        keys = self._heading_keys(named[0])
        if not keys:
            return False
        self._open_label_section(
            keys, table.line, named[0], mixed=self._mixed_with_other_work(named[0], keys)
        )
        for key in sorted(keys):
            self._found(key, table.line, ItemSource.HEADING)
        self.stack[-1].content = len(table.rows)
        self._explain(table.line, f"a table's title row as a heading: {self._describe_section()}")
        first, rest = table.rows[0], table.rows[1:]
        roles = ("defect_id", "severity", "summary", "change_request_id", "change_request_title")
        if rest and len(self._columns(first.cells, roles)) >= 2:
            self._table(Table(first.line, first.cells, rest))  # the next row names the columns
            return True
        for row in table.rows:
            text = " – ".join(cell for cell in (plain(c) for c in row.cells) if cell)
            if text:
                self._text_line(TextLine(row.line, text, depth=1))
        return True

    def _is_defect_table(self, header: tuple[str, ...]) -> bool:
        """A table whose columns are a defect list's: an id, and a severity, workaround or status."""
        columns = self._columns(header, ("defect_id", "severity", "summary", "workaround", "status"))
        if "defect_id" not in columns:
            return False
        named = squash(plain(header[columns["defect_id"]]))
        return bool({"severity", "workaround", "status"} & set(columns)) or any(
            word in named for word in ("defect", "bug", "workitem", "ado")
        )

    def _label_table(self, table: Table, key: int, value: int, *, header_is_row: bool) -> None:
        rows = [(table.line, table.header)] if header_is_row else []
        rows += [(row.line, row.cells) for row in table.rows]
        for line, cells in rows:
            if max(key, value) >= len(cells):
                continue
            keys = self._label_keys(plain(cells[key]))
            if keys:
                self._label(keys, plain(cells[value]), line, in_table=True)

    def _columns(self, header: tuple[str, ...], roles: tuple[str, ...]) -> dict[str, int]:
        """Which column holds each role, by header name; each column serves one role at most.

        Exact names are placed first ("Change request title" is the title even though it contains
        "change request"), then names that contain a role's word ("Defect ID (ADO)").
        """
        # Columns past the first few dozen are never a note's id, severity or summary.
        header = header[:_MAX_COLUMNS]
        names = [squash(plain(cell)) for cell in header]
        found: dict[str, int] = {}
        taken: set[int] = set()
        for exact in (True, False):
            for role in roles:
                if role in found:
                    continue
                synonyms = self.vocabulary.columns.get(role, ())
                ranks = {synonym: rank for rank, synonym in enumerate(synonyms)}
                best: tuple[int, int] | None = None  # (rank, column)
                for index, name in enumerate(names):
                    if index in taken or not name:
                        continue
                    if exact:
                        rank = ranks.get(name)
                    else:
                        match = best_phrase(words_of(plain(header[index])), ranks)
                        rank = match[1] if match is not None else None
                    if rank is not None and (best is None or rank < best[0]):
                        best = (rank, index)
                if best is not None:
                    found[role] = best[1]
                    taken.add(best[1])
        return found

    # --- items, versions, tags ------------------------------------------------------------------------

    def _heading_keys(self, text: str) -> frozenset[str]:
        """The items a heading names: every item phrase in it, a shorter one inside a longer one aside.

        A heading that names defects fixed with a word such as "not", "deferred" or "next" does not
        say they are fixed: with an outstanding status ("still open", "deferred") it names both lists
        (read as the safer one), else only "defects" (unclassified unless each defect says).
        """
        words = words_of(text)
        keys: set[str] = set()
        for _, _, found in all_phrases(words, self.vocabulary.heading_phrases):
            keys |= found
        if "defects_fixed" in keys and "defects_outstanding" not in keys and self._negated(words):
            statuses = {found for _, _, found in all_phrases(words, self.vocabulary.status_phrases)}
            if "outstanding" in statuses:
                keys.add("defects_outstanding")  # "Fixes deferred", "Fixed and still open": both lists
            else:
                keys.discard("defects_fixed")
                keys.add("defects")
        return frozenset(keys)

    def _mixed_with_other_work(self, text: str, keys: frozenset[str]) -> bool:
        """A heading of fixes beside other work ("Fixes & improvements"): each line must say which."""
        if "defects_fixed" not in keys or "defects_outstanding" in keys:
            return False
        # "Fixed (4 changes)" counts its entries; only the words outside brackets name other work.
        return any(word in self.vocabulary.mixed_words for word in words_of(_PARENTHESES.sub(" ", text)))

    def _exact_heading_keys(self, text: str) -> frozenset[str]:
        return self.vocabulary.heading_phrases.get(self._label_form(text), frozenset())

    def _label_keys(self, label: str) -> frozenset[str]:
        if len(label) > 80:
            return frozenset()
        return self.vocabulary.label_phrases.get(self._label_form(label), frozenset())

    def _label_form(self, text: str) -> str:
        """A label or heading as matched: no numbering, no parentheses, no trailing filler phrases."""
        numbering = _NUMBERING.match(text)
        if numbering:
            text = text[numbering.end() :]
        words = words_of(_PARENTHESES.sub(" ", text))
        trimmed = True
        while trimmed and words:
            trimmed = False
            for suffix in self.vocabulary.ignore_suffixes:
                if len(suffix) < len(words) and tuple(words[-len(suffix) :]) == suffix:
                    words = words[: -len(suffix)]
                    trimmed = True
                    break
        return "".join(words)

    def _found(self, key: str, line: int, source: ItemSource, value: str | None = None) -> None:
        if key not in self.items:
            self.items[key] = NoteItem(key, line, source, value)

    def _need(self, key: str) -> ItemNeed | None:
        spec = self.vocabulary.items.get(key)
        return spec.need if spec else None

    def _name(self, key: str) -> str:
        spec = self.vocabulary.items.get(key)
        return spec.name if spec else key

    def _is_nothing(self, text: str | None) -> bool:
        # "Not applicable", "No outstanding defects": nothing longer is ever one of these words.
        if not text or len(text) >= 40:
            return False
        found = self.nothing_memo.get(text)
        if found is None:
            found = self.nothing_memo[text] = squash(text) in self.vocabulary.nothing
        return found

    def _is_placeholder(self, text: str | None) -> bool:
        return text is not None and len(text) < 60 and squash(text) in self.vocabulary.placeholders

    def _finding(
        self, code: FindingCode, severity: NoteFindingSeverity, message: str, line: int | None
    ) -> None:
        self.findings.append(NoteFinding(code, severity, message, line))

    def _scan_rfcs(self, block: Block) -> None:
        if isinstance(block, TextLine | Code):
            self._add_rfcs(block.text)
        elif isinstance(block, Table):
            self._add_rfcs(" ".join(block.header))
            for row in block.rows:
                self._add_rfcs(" ".join(row.cells))

    def _add_rfcs(self, text: str) -> None:
        if "chg" in text or "CHG" in text or "Chg" in text:
            for number in rfc_numbers(text):
                self.rfcs[number] = None

    def _version(self) -> tuple[Version | None, str | None, ReleaseType | None]:
        """The release's version, its tag, and the declared type; findings for what disagrees."""
        candidates: list[tuple[Version, str, int]] = []
        for value, line in self.values.all("release_number"):
            match = VERSION_IN_TEXT.search(value)
            if match:
                candidates.append((Version.parse(match.group(1)), "release number", line))
            elif re.search(r"\d\.\d", value):
                self._finding(
                    FindingCode.VERSION_INVALID,
                    NoteFindingSeverity.ERROR,
                    f"release number {value!r} is not a 4-part version (major.minor.patch.emergency)",
                    line,
                )
        titles = list(self.values.all("title"))
        if self.title is not None:
            titles.append(self.title)
        if self.version_heading is not None:
            titles.append(self.version_heading)
        for value, line in titles:
            match = VERSION_IN_TEXT.search(value)
            if match:
                candidates.append((Version.parse(match.group(1)), "title", line))
        version = candidates[0][0] if candidates else None
        if version is not None:
            first_source = candidates[0][1]
            for other, source, line in candidates[1:]:
                if other != version:
                    self._finding(
                        FindingCode.VERSION_CONFLICT,
                        NoteFindingSeverity.ERROR,
                        f"the {source} says {other}, the {first_source} says {version}",
                        line,
                    )
                    break
        tag, tag_line = self._tag()
        if tag is not None and tag_line is not None:
            tagged = self._version_of_tag(tag)
            if tagged is None:
                whose = f" for component {self.component}" if self.component else ""
                self._finding(
                    FindingCode.TAG_NOT_A_RELEASE,
                    NoteFindingSeverity.WARNING,
                    f"tag {tag!r} matches no release tag pattern{whose}",
                    tag_line,
                )
            elif version is None:
                version = tagged
            elif tagged != version:
                self._finding(
                    FindingCode.VERSION_TAG_MISMATCH,
                    NoteFindingSeverity.ERROR,
                    f"tag {tag} names {tagged}, but the note is for {version}",
                    tag_line,
                )
        if version is None:
            self._finding(
                FindingCode.VERSION_NOT_FOUND,
                NoteFindingSeverity.ERROR,
                "no 4-part version in the release number, the title or the tag",
                None,
            )
        if "release_number" not in self.items and candidates:
            self._found("release_number", candidates[0][2], ItemSource.TITLE, str(candidates[0][0]))
        return version, tag, self._declared_type(titles)

    def _tag(self) -> tuple[str | None, int | None]:
        found = self.values.first("source_tag")
        if found is None:
            return None, None
        value, line = found
        if self._is_nothing(value) or self._is_placeholder(value):
            return None, line
        names = []
        for token in _TAG_TOKEN.findall(value):
            # A link to the tag's page names it after "/-/tags/", URL-encoded.
            name = token.split("/-/tags/", 1)[1] if "/-/tags/" in token else token
            names.append(name.replace("%2F", "/").replace("%2f", "/").replace("%40", "@").rstrip(".,;"))
        # The tag is the first name with a version-like digit in it, else the first that looks like one.
        for name in names:
            if any(c.isdigit() for c in name):
                return name, line
        for name in names:
            if any(c in name for c in "-/@._"):
                return name, line
        return None, line

    def _version_of_tag(self, tag: str) -> Version | None:
        if self.component is not None:
            return version_from_tag(tag, self.component, self.tag_patterns)
        named = _TAG_NAME.match(tag)
        for component in ([named.group("component")] if named else []) + [""]:
            version = version_from_tag(tag, component, self.tag_patterns)
            if version is not None:
                return version
        return None

    def _declared_type(self, titles: list[tuple[str, int]]) -> ReleaseType | None:
        stated = self.values.first("release_type")
        if stated is not None:
            value, line = stated
            match = best_phrase(words_of(value), self.vocabulary.release_type_by_word)
            if match is None:
                self._finding(
                    FindingCode.RELEASE_TYPE_UNKNOWN,
                    NoteFindingSeverity.WARNING,
                    f"release type {value!r} is none of major, minor, patch, emergency",
                    line,
                )
                return None
            return match[1]
        # Else a title's "Patch release ...", "Emergency release".
        for value, _ in titles:
            words = words_of(value)
            for index in range(1, len(words)):
                if words[index] == "release":
                    found = self.vocabulary.release_type_by_word.get(words[index - 1])
                    if found is None and index > 1:
                        found = self.vocabulary.release_type_by_word.get(words[index - 2] + words[index - 1])
                    if found is not None:
                        return found
        return None

    # --- the result -----------------------------------------------------------------------------------

    def _result(self) -> ReleaseNote:
        version, tag, declared = self._version()
        release_type = version.release_type if version is not None else declared
        if declared is not None and version is not None and declared != version.release_type:
            stated = self.values.first("release_type")
            self._finding(
                FindingCode.RELEASE_TYPE_MISMATCH,
                NoteFindingSeverity.ERROR,
                f"the note says {declared} release, but {version} is a {version.release_type} release",
                stated[1] if stated else (self.title[1] if self.title else None),
            )
        for heading in (self.title, self.version_heading):
            dated = _DATE.search(heading[0]) if heading is not None else None
            if "release_date" not in self.items and dated is not None and heading is not None:
                self._found("release_date", heading[1], ItemSource.TITLE, dated.group(0))
        for number, defect in self.outstanding.items():
            fixed = self.fixed.get(number)
            if fixed is not None:
                self._finding(
                    FindingCode.DEFECT_FIXED_AND_OUTSTANDING,
                    NoteFindingSeverity.ERROR,
                    f"defect {number} is listed as fixed (line {fixed.line})"
                    f" and as outstanding (line {defect.line})",
                    max(defect.line, fixed.line),
                )
        title_value = self.values.first("title")
        self._content_findings(title_value or self.title)
        required = self.vocabulary.keys_with_need(ItemNeed.REQUIRED)
        reported = set(required) | set(self.vocabulary.keys_with_need(ItemNeed.OPTIONAL))
        missing = tuple(key for key in required if key not in self.items)
        findings = sorted(self.findings, key=lambda f: f.line if f.line is not None else 1 << 62)
        findings += [
            NoteFinding(
                FindingCode.MISSING_ITEM,
                NoteFindingSeverity.WARNING,
                f"{self._name(key)} ({key}) is missing",
                None,
            )
            for key in missing
        ]
        title_value = self.values.first("title")
        title = title_value[0] if title_value else (self.title[0] if self.title else None)
        component_value = self.values.first("component")
        listed = set(self.fixed) | set(self.outstanding)
        return ReleaseNote(
            version=version,
            release_type=release_type,
            tag=tag,
            rfcs=tuple(self.rfcs),
            defects_fixed=tuple(
                DefectFixed(d.id, d.severity, d.summary, d.line) for d in self.fixed.values()
            ),
            defects_outstanding=tuple(
                DefectOutstanding(d.id, d.severity, d.summary, d.workaround, d.line)
                for d in self.outstanding.values()
            ),
            change_requests=tuple(self.change_requests.values()),
            missing=missing,
            present=tuple(sorted((i for k, i in self.items.items() if k in reported), key=lambda i: i.line)),
            findings=tuple(findings),
            title=title,
            declared_release_type=declared,
            component=self.component or (component_value[0] if component_value else None),
            defects_mentioned=tuple(
                n for n in self.mentioned if n not in listed and n not in self.unclassified
            ),
            defects_unclassified=tuple(
                DefectUnclassified(d.id, d.severity, d.summary, d.line, place)
                for d, place in self.unclassified.values()
            ),
        )
