"""Reading the words of a release note: plain text from Markdown, defect and change request ids, severities.

Every pattern here runs on untrusted text of any length, so each one is linear: repetition is bounded
or anchored on a literal, and nothing nests a repeat inside a repeat.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

from bridge.release_notes.vocabulary import Vocabulary

# --- plain text --------------------------------------------------------------------------------------

_NEEDS_CLEANING = re.compile(r"[*_`\\\[<&~!\t\n\r\f\v\xa0]")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_IMAGE_OR_LINK = re.compile(r"!?\[([^\[\]\n]{0,500})\](?:\([^()\n]{0,2000}\)|\[[^\[\]\n]{0,200}\])")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^<>\s]{1,2000})>", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]{0,30}(?:\s[^<>\n]{0,1000})?/?>")
_STRONG = re.compile(r"\*\*|__|~~")
_EMPHASIS_STAR = re.compile(r"(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])")
_SPACES = re.compile(r"\s+")
# Escaped characters are parked in the private use area so that later steps leave them alone.
_PARK = 0xE000


_WORK_ITEM_URL = re.compile(r"_workitems/edit/(\d{1,9})(?!\d)")


def _link_text(match: re.Match[str]) -> str:
    """A link's text; a link to an ADO work item keeps the item's id (`[the fix](…/_workitems/edit/7)`)."""
    text = match.group(1)
    work_item = _WORK_ITEM_URL.search(match.group(0), len(text))
    if work_item is not None and work_item.group(1) not in text:
        return f"{text} (AB#{work_item.group(1)})"
    return text


def plain(text: str) -> str:
    """One line or cell of Markdown as the words a reader sees: no emphasis, code marks, links or tags."""
    if "  " not in text and not _NEEDS_CLEANING.search(text):
        return text.strip()
    parked = "\\" in text
    if parked:
        text = _ESCAPE.sub(lambda m: chr(_PARK + ord(m.group(1))), text)
    if "[" in text:
        text = _IMAGE_OR_LINK.sub(_link_text, text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", _AUTOLINK.sub(r"\1", text))
    if "`" in text:
        text = text.replace("`", "")
    if "*" in text or "_" in text or "~" in text:
        text = _STRONG.sub("", text)
        if "*" in text:
            text = _EMPHASIS_STAR.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    if parked:
        text = "".join(chr(ord(c) - _PARK) if _PARK < ord(c) < _PARK + 128 else c for c in text)
    return _SPACES.sub(" ", text).strip()


# --- labels -----------------------------------------------------------------------------------------

# `Programme: MHHS` (bold already removed). The label is short and starts with a letter, so a defect
# line such as `48190: replay ...` or a URL is never taken for one.
# A bullet or emoji pasted before the label ("• Programme: MHHS", "🏷️ Tag: ...") is not part of it.
_LABEL_LINE = re.compile(
    r"\s{0,3}(?:[^\w\s:#|(\[]{1,4}\s{0,2})?([A-Za-z][^:\n]{0,59}?)\s{0,3}:(?!//)\s{0,20}(.*)", re.DOTALL
)


def split_label(text: str) -> tuple[str, str] | None:
    """(`label`, `value`) of a `Label: value` line, or None."""
    match = _LABEL_LINE.match(text)
    if not match:
        return None
    return match.group(1).strip(), match.group(2).strip()


# --- references ---------------------------------------------------------------------------------------

# AB#123 (the ADO mention), #123, Bug 123, Defect 123, Work item 123, and ADO's work item URLs.
_DEFECT_REF = re.compile(
    r"(?<![\w#/&])(?:AB#|#|(?:bugs?|defects?|work\s?items?)\s{0,3}(?:#|no\.?|number)?\s{0,3})(\d{1,9})(?!\w)(?!\.\d)"
    r"|_workitems/edit/(\d{1,9})(?!\d)",
    re.IGNORECASE,
)
# A defect line that starts with its id: `48190: ...`, `50101 – ...`, `(48211) ...`, `48211 Router ...`.
_LEADING_ID = re.compile(r"[(\[]?(\d{1,9})(?!\d)(?!\.\d)([)\]]?)(\s{0,3}[:|–—\-,]|\s|$)")
_FIRST_WORD = re.compile(r"[^\s,.;:()]{1,20}")
_RFC = re.compile(r"(?<![A-Za-z0-9])CHG\d{7}(?!\d)", re.IGNORECASE)
# ADO's work item ids are 32-bit.
MAX_DEFECT_ID = 2**31 - 1


@dataclass(frozen=True)
class Reference:
    """A defect id found in text, and the characters it took."""

    id: int
    start: int
    end: int


# The words before a `#123`, squashed, to tell "Incident #123" or "MR #12" from a defect.
_WORDS_BEFORE = re.compile(r"([A-Za-z][A-Za-z ]{0,30})\s{0,2}$")


# "@jdoe (#412)", "by @jdoe in #412": a generated changelog's author and pull or merge request.
_AFTER_AUTHOR = re.compile(r"@[\w.-]{1,40}\s{0,3}(?:\(|in\s{1,3})?$")


def _named_as_other(text: str, start: int, not_prefixes: tuple[str, ...]) -> bool:
    """Whether the `#123` at `start` is another record: after a word such as incident, MR or story, or
    after an author's @name (a changelog's pull request)."""
    if not not_prefixes or not text.startswith("#", start):
        return False
    if _AFTER_AUTHOR.search(text[max(0, start - 48) : start]):
        return True
    before = _WORDS_BEFORE.search(text[max(0, start - 32) : start])
    if before is None:
        return False
    squashed = re.sub(r"[^a-z]", "", before.group(1).lower())
    return any(squashed.endswith(prefix) for prefix in not_prefixes)


def defect_references(text: str, not_prefixes: tuple[str, ...] = ()) -> list[Reference]:
    """Explicit defect references (AB#123, #123, Bug 123, Defect 123, work item links).

    A `#123` after one of `not_prefixes` ("Incident #123", "MR #12") is another system's record.
    """
    if "#" not in text:
        # Most prose names no defect; checking for the words first is much cheaper than the pattern.
        lower = text.lower()
        if "bug" not in lower and "defect" not in lower and "item" not in lower:
            return []
    found = []
    for match in _DEFECT_REF.finditer(text):
        number = int(match.group(1) or match.group(2))
        if 0 < number <= MAX_DEFECT_ID and not _named_as_other(text, match.start(), not_prefixes):
            found.append(Reference(number, match.start(), match.end()))
    return found


def leading_defect_id(text: str, vocabulary: Vocabulary, *, strict: bool) -> Reference | None:
    """The plain id a defect line starts with (`48190: ...`), or None when the number is not an id.

    `strict` (for prose lines) wants a separator after the number; a list item may use a space. The
    reference ends after the number (and its closing bracket), before the separator.
    """
    match = _LEADING_ID.match(text)
    if not match:
        return None
    digits, separator = match.group(1), match.group(3).strip()
    word = _FIRST_WORD.match(text[match.end() : match.end() + 40].lstrip())
    first = word.group(0).lower() if word else ""
    if not separator:
        if strict or len(digits) < 3 or first in vocabulary.quantity_words:
            return None
    elif len(digits) == 1 and vocabulary.severity(f"{digits} {first}") is not None:
        return None  # "2 - High" is a severity, not defect 2
    number = int(digits)
    if not 0 < number <= MAX_DEFECT_ID:
        return None
    return Reference(number, 0, match.end(2))


def ids_in_cell(text: str, not_prefixes: tuple[str, ...] = ()) -> list[int]:
    """Defect ids in a table's id column: references, or plain numbers (`48211`, `48211, 48212`).

    A number inside a word (`INC0012345`, `a1b2c3d`) is not an id.
    """
    if text.isdecimal() and len(text) <= 9:
        return [int(text)] if int(text) > 0 else []
    refs = defect_references(text, not_prefixes)
    if refs:
        return [r.id for r in refs]
    return [n for n in (int(m) for m in re.findall(r"(?<![\w.#!])\d{1,9}(?![\w]|\.\d)", text)) if n > 0]


def rfc_numbers(text: str) -> Iterator[str]:
    """ServiceNow change numbers (CHG + 7 digits) in text, upper-cased."""
    for match in _RFC.finditer(text):
        yield match.group(0).upper()


def change_request_pattern(vocabulary: Vocabulary) -> re.Pattern[str]:
    """The pattern of change request ids (`CR-031`, `CR031`, `DCR 7`) for the mapping's prefixes."""
    prefixes = "|".join(
        re.escape(p) for p in sorted(vocabulary.change_request_prefixes, key=len, reverse=True)
    )
    return re.compile(rf"(?<![A-Za-z0-9])(?:{prefixes})[-_ ]?\d{{1,6}}(?!\w)", re.IGNORECASE)


# --- severities and workarounds ----------------------------------------------------------------------

# "Severity 2", "Sev 1 - Critical", "Severity: High", "Sev2".
_SEVERITY_NAMED = re.compile(
    r"\b(?:severity|sev)\s{0,3}[:=]?\s{0,3}(?:([1-9])(?!\d)(?:\s{0,3}[-–—:]?\s{0,3}([A-Za-z]{3,12})\b)?|([A-Za-z]{3,12})\b)",
    re.IGNORECASE,
)
# "2 - High", "1 – Critical".
_SEVERITY_PAIR = re.compile(r"(?<![\w.])([1-9])\s{0,3}[-–—]\s{0,3}([A-Za-z]{3,12})\b")
# "(High)", "[Critical]", "(S2)".
_SEVERITY_BRACKETED = re.compile(r"[(\[]\s{0,3}([A-Za-z][A-Za-z0-9]{1,11})\s{0,3}[)\]]")
_FIELD_SEPARATOR = re.compile(r"\s{1,3}[–—|]\s{0,3}|\s{0,3}[–—|]\s{1,3}|\s{1,3}-\s{1,3}")
_WORKAROUND = re.compile(
    r"(\(\s{0,3})?\b(?:work\s?-?arounds?|mitigation)\b\s{0,3}[:\-–—]\s{0,3}", re.IGNORECASE
)


# A field longer than this is a summary, not a severity ("Severity 1 - Critical" is 21).
_LONGEST_SEVERITY = 24


@dataclass(frozen=True)
class SeverityMention:
    """A severity written in a line: ADO's value (None when the words do not name one) and where."""

    value: str | None
    raw: str
    start: int
    end: int


_PRIORITY_BEFORE = re.compile(r"\b(?:priority|prio|pri)\W{0,5}$", re.IGNORECASE)


def _after_priority(text: str, start: int) -> bool:
    """Whether the words at `start` follow "Priority": a priority, which is never a severity."""
    return _PRIORITY_BEFORE.search(text[max(0, start - 16) : start]) is not None


def severity_in_text(text: str, vocabulary: Vocabulary) -> SeverityMention | None:
    """The severity a defect line states, by the forms people write; a bare word in prose is not one."""
    match = _SEVERITY_NAMED.search(text)
    if match:
        number, word, only_word = match.group(1), match.group(2), match.group(3)
        if number:
            end = match.end(1)
            raw = number
            if word and vocabulary.severity(word) is not None:
                end, raw = match.end(2), f"{number} - {word}"
            return SeverityMention(
                vocabulary.severity(raw), match.group(0)[: end - match.start()], match.start(), end
            )
        if vocabulary.severity(only_word) is not None:
            return SeverityMention(vocabulary.severity(only_word), match.group(0), match.start(), match.end())
    for match in _SEVERITY_PAIR.finditer(text):
        if vocabulary.severity(match.group(2)) is not None and not _after_priority(text, match.start()):
            return SeverityMention(
                vocabulary.severity(match.group(0)), match.group(0), match.start(), match.end()
            )
    for match in _SEVERITY_BRACKETED.finditer(text):
        value = vocabulary.severity(match.group(1))
        if value is not None and not match.group(1).isdigit() and not _after_priority(text, match.start()):
            return SeverityMention(value, match.group(1), match.start(), match.end())
    position = 0
    for field in _FIELD_SEPARATOR.split(text):
        start = text.find(field, position)
        position = start + len(field)
        stripped = field.strip()
        if (
            stripped
            and len(stripped) <= _LONGEST_SEVERITY
            and not stripped.isdigit()
            and not _after_priority(text, start)
        ):
            value = vocabulary.severity(stripped)
            if value is not None:
                return SeverityMention(value, stripped, start, position)
    return None


def split_workaround(text: str) -> tuple[str, str | None]:
    """(`text before`, `workaround`) of a line such as `... (workaround: replay on request)`."""
    match = _WORKAROUND.search(text)
    if not match:
        return text, None
    workaround = text[match.end() :].strip()
    if match.group(1) and workaround.endswith(")"):
        workaround = workaround[:-1].strip()
    return text[: match.start()], workaround or None


# --- summaries ---------------------------------------------------------------------------------------

# "Fixes #48256 — ...": the verb before a reference is not part of the summary.
_LEAD_IN = re.compile(
    r"\s{0,3}(?:(?:fix\s?for|fix(?:es|ed)?|resolve[sd]?|close[sd]?|addresse[sd]|address(?:es)?)\b)?"
    r"\s{0,3}[:\-–—]?\s{0,3}",
    re.IGNORECASE,
)
_EMPTY_BRACKETS = re.compile(r"\(\s{0,5}\)|\[\s{0,5}\]")
_LOOSE_IN_BRACKETS = re.compile(r"[\s,;]{1,10}(?=[)\]])|(?<=[(\[])[\s,;]{1,10}")
_EDGE_PUNCTUATION = " \t:;,.|–—-"
# What a generated changelog adds to an entry: a link to the merge request or commit, a trailer verb
# whose id was taken out ("Fixes AB#7" -> "Fixes").
_CHANGELOG_NOISE = re.compile(
    r"\(\s{0,3}(?:merge request|pull request|commit|mr|!\d{1,9}|[0-9a-f]{7,40})\s{0,3}\)", re.IGNORECASE
)
_TRAILING_VERB_ENDINGS = (
    "fix",
    "fixes",
    "fixed",
    "close",
    "closes",
    "closed",
    "resolve",
    "resolves",
    "resolved",
    "ref",
    "refs",
    "see",
)
_AUTHOR_CREDIT = re.compile(
    r"\s{0,3}(?:by\s{1,3})?@[\w.-]{1,60}(?:\s{1,3}in\s{1,3}#\d{1,9}|\s{0,3}\(#\d{1,9}\))?"
)
_TRAILING_VERB = re.compile(
    r"[\s,;]{1,5}(?:fix(?:es|ed)?|close[sd]?|resolve[sd]?|refs?|see)[\s,;.]{0,5}$", re.IGNORECASE
)


def lead_in_end(text: str) -> int:
    """Where a line's lead-in ("Fixes", "Resolves:") ends: the start of the ids it introduces."""
    match = _LEAD_IN.match(text)
    return match.end() if match else 0


def without_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with the given character ranges taken out."""
    if not spans:
        return text
    pieces = []
    position = 0
    for start, end in sorted(spans):
        if start >= position:
            pieces.append(text[position:start])
        position = max(position, end)
    pieces.append(text[position:])
    return " ".join(p for p in pieces if p)


def tidy_summary(text: str) -> str | None:
    """A summary freed of what was taken out of it: stray separators and empty brackets."""
    if "(" in text or "[" in text:
        if ")" in text:
            text = _CHANGELOG_NOISE.sub(" ", text)
        text = _EMPTY_BRACKETS.sub(" ", _LOOSE_IN_BRACKETS.sub("", text))
    if "@" in text:
        text = _AUTHOR_CREDIT.sub("", text)
    if text.rstrip(" ,;.").lower().endswith(_TRAILING_VERB_ENDINGS):
        text = _TRAILING_VERB.sub("", text)
    if "  " in text:
        text = _SPACES.sub(" ", text)
    text = text.lstrip(_EDGE_PUNCTUATION + ")]").rstrip(_EDGE_PUNCTUATION + "([")
    if text.endswith(")") and text.count("(") < text.count(")"):
        text = text[:-1].rstrip(_EDGE_PUNCTUATION)
    return text or None
