"""A release note's Markdown as a flat list of blocks (headings, lines, list items, tables, code), with lines.

markdown-it-py finds the structure. Two things are done our own way, both for notes of many megabytes:
pipe tables become one token each (the stock rule makes a dozen tokens per row, which dominates the
time of a note with thousands of defect rows), and inline parsing is skipped: `text.plain` reads the
little inline Markdown a note's words carry. HTML blocks (tables pasted from a document, `<details>`)
are read with the standard library's HTML parser.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token

from bridge.release_notes.text import plain


@dataclass(frozen=True)
class Heading:
    """A heading (`#`..`######`, setext, `<h1>`..`<h6>`, `<summary>`); level 1 is the top."""

    line: int
    level: int
    text: str


@dataclass(frozen=True)
class TextLine:
    """One line of a paragraph, or one whole list item (`depth` 1 for a top-level item, 0 for prose)."""

    line: int
    text: str
    depth: int = 0
    strong: bool = False  # the whole line is bold (`**Known issues**`), as providers write headings

    @property
    def is_list_item(self) -> bool:
        return self.depth > 0


@dataclass(frozen=True)
class TableRow:
    """A table row's cells as written (inline Markdown not yet removed)."""

    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A pipe or HTML table: its header cells and body rows."""

    line: int
    header: tuple[str, ...]
    rows: tuple[TableRow, ...]


@dataclass(frozen=True)
class Code:
    """A fenced or indented code block."""

    line: int
    text: str


Block = Heading | TextLine | Table | Code


def read_blocks(text: str, *, fast_lists: bool = True) -> list[Block]:
    """The blocks of a note, in reading order; lines are 1-based."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    reader = _BlockReader(text.split("\n"))
    reader.read(_markdown(fast_lists).parse(text))
    return reader.blocks()


# A line wholly in bold: `**Defects fixed**`, `__3. Known issues__`, `**Known issues:**`, `**Fixes**:`.
_STRONG_LINE = re.compile(r"\s{0,3}(\*\*|__)(?=\S)(.{1,200}?)(?<=\S)\1\s{0,3}:?\s{0,3}")


def is_strong(raw: str) -> bool:
    """Whether a line of Markdown is bold from start to end (a heading in all but form)."""
    if "**" not in raw and "__" not in raw:
        return False
    match = _STRONG_LINE.fullmatch(raw)
    return match is not None and match.group(1) not in match.group(2)


# --- markdown-it set-up --------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _markdown(fast: bool = True) -> MarkdownIt:
    """The parser; `fast=False` keeps markdown-it's own list rule (tests compare the two)."""
    md = MarkdownIt("commonmark").enable("table")
    md.block.ruler.at("table", _pipe_table, {"alt": ["paragraph", "reference"]})
    if fast:
        md.block.ruler.before("list", "bridge_simple_list", _simple_list)
    md.disable("inline")
    return md


_DELIMITER_CHARS = frozenset("|-: \t")
_DELIMITER_CELL = re.compile(r":?-+:?")


def _source_line(state: StateBlock, line: int) -> str:
    return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]


def _cells(row: str) -> list[str]:
    """The cells of a pipe table row; `\\|` is a pipe inside a cell."""
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    if "\\" not in row:
        return [cell.strip() for cell in row.split("|")]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)]


def _pipe_table(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """A GFM table (header row, delimiter row, body rows up to a blank line) as one `bridge_table` token."""
    if start + 2 > end:
        return False
    delimiter_line = start + 1
    if state.sCount[delimiter_line] < state.blkIndent or state.is_code_block(delimiter_line):
        return False
    if state.is_code_block(start):
        return False
    delimiter = _source_line(state, delimiter_line).strip()
    # Same reading as GFM: only pipes, dashes, colons and spaces, and "- " would be a list item.
    if len(delimiter) < 2 or delimiter[0] not in "|-:" or delimiter.startswith(("- ", "-\t")):
        return False
    if not set(delimiter) <= _DELIMITER_CHARS:
        return False
    aligns = delimiter.split("|")
    if aligns and not aligns[0].strip():
        aligns = aligns[1:]
    if aligns and not aligns[-1].strip():
        aligns = aligns[:-1]
    if not aligns or not all(_DELIMITER_CELL.fullmatch(a.strip()) for a in aligns):
        return False
    header_text = _source_line(state, start).strip()
    if "|" not in header_text:
        return False
    header = _cells(header_text)
    if len(header) != len(aligns):
        return False
    if silent:
        return True

    terminators = state.md.block.ruler.getRules("blockquote")
    rows: list[TableRow] = []
    line = start + 2
    while line < end:
        if state.sCount[line] < state.blkIndent:
            break
        row_text = _source_line(state, line).strip()
        if not row_text or state.is_code_block(line):
            break
        # A line without a pipe ends the table (GFM would make it a one-cell row, but in a note it is
        # the next line of text); a row that starts with a pipe cannot start another block.
        if "|" not in row_text:
            break
        if row_text[0] != "|" and any(rule(state, line, end, True) for rule in terminators):
            break
        rows.append(TableRow(line + 1, tuple(_cells(row_text))))
        line += 1

    token = state.push("bridge_table", "table", 0)
    token.map = [start, line]
    token.meta = {"table": Table(start + 1, tuple(header), tuple(rows))}
    state.line = line
    return True


_BULLET = re.compile(r"([-*+])( {1,4})(?=\S)")
_ORDINAL = re.compile(r"(\d{1,9})([.)])( {1,4})(?=\S)")
# Item text that would open a block of its own inside the item (a nested list, quote, fence, heading,
# HTML, a link definition, a table row): such lists are left to markdown-it's own list rule.
_OPENS_A_BLOCK = re.compile(
    r"[-*+](?:\s|$)|[>#`~<|]|\d{1,9}[.)](?:\s|$)|\[[^\]]{0,999}\]:|[-*_](?:\s*[-*_]){2,}\s*$"
)


_ATX_HEADING = re.compile(r"#{1,6}(?:[ \t]|$)")


def _simple_item(state: StateBlock, line: int) -> tuple[str, str] | None:
    """(`marker`, `text`) of a one-line list item that holds only text, else None."""
    text = _source_line(state, line)
    bullet = _BULLET.match(text)
    if bullet is not None:
        marker, content = bullet.group(1), text[bullet.end() :]
    else:
        ordinal = _ORDINAL.match(text)
        if ordinal is None:
            return None
        marker, content = ordinal.group(2), text[ordinal.end() :]
    if "\t" in text[: len(text) - len(content)] or _OPENS_A_BLOCK.match(content):
        return None
    return marker, content.strip()


def _simple_list(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """A run of one-line, text-only list items as one `bridge_list` token.

    Most notes' lists are exactly that (defects, steps, checks), and markdown-it's list rule costs
    several tokens and rule calls per item. Anything less plain (a continuation line, a nested list, a
    blank line followed by indented text) is left to that rule, which then reads the whole list.
    """
    if silent or state.is_code_block(start) or state.sCount[start] < state.blkIndent:
        return False
    first = _simple_item(state, start)
    if first is None:
        return False
    marker, indent = first[0], state.sCount[start]
    items = [TableRow(start + 1, (first[1],))]
    line = start + 1
    while line < end:
        if state.isEmpty(line):
            following = state.skipEmptyLines(line)
            # Indented text after a blank line continues the last item: markdown-it's list rule's job.
            if following < end and state.sCount[following] > indent:
                return False
            break
        if state.sCount[line] != indent:
            return False
        item = _simple_item(state, line)
        if item is None:
            # A heading may follow straight on; any other text would continue the item.
            if _ATX_HEADING.match(_source_line(state, line)):
                break
            return False
        if item[0] != marker:
            break
        items.append(TableRow(line + 1, (item[1],)))
        line += 1
    token = state.push("bridge_list", "ul", 0)
    token.map = [start, line]
    token.meta = {"items": items}
    state.line = line
    return True


# --- token walk ----------------------------------------------------------------------------------------


@dataclass
class _ItemDraft:
    line: int
    depth: int
    order: int
    pieces: list[str] = field(default_factory=list)


class _BlockReader:
    """Walks markdown-it's tokens and collects blocks; HTML blocks go through `_HtmlBlocks`."""

    def __init__(self, source: list[str]) -> None:
        self._source = source
        self._order = itertools.count()
        self._found: list[tuple[int, int, Block]] = []
        self._html = _HtmlBlocks(self._add)

    def _add(self, block: Block, order: int | None = None) -> None:
        self._found.append((block.line, next(self._order) if order is None else order, block))

    def blocks(self) -> list[Block]:
        self._html.finish()
        self._found.sort(key=lambda entry: (entry[0], entry[1]))
        return [block for _, _, block in self._found]

    def read(self, tokens: list[Token]) -> None:
        items: list[_ItemDraft] = []
        list_depth = 0
        heading_level = 0
        for token in tokens:
            kind = token.type
            first_line = token.map[0] + 1 if token.map else 0
            if kind in ("bullet_list_open", "ordered_list_open"):
                list_depth += 1
            elif kind in ("bullet_list_close", "ordered_list_close"):
                list_depth -= 1
            elif kind == "list_item_open":
                items.append(_ItemDraft(first_line, list_depth, next(self._order)))
            elif kind == "list_item_close" and items:
                draft = items.pop()
                raw = " ".join(draft.pieces)
                self._add(
                    TextLine(draft.line, plain(raw), max(draft.depth, 1), is_strong(raw.strip())), draft.order
                )
            elif kind == "heading_open":
                heading_level = int(token.tag[1:]) if token.tag[1:].isdigit() else 1
            elif kind == "heading_close":
                heading_level = 0
            elif kind == "inline":
                if heading_level:
                    self._add(Heading(first_line, heading_level, plain(token.content.replace("\n", " "))))
                elif items:
                    self._item_text(items[-1], token)
                else:
                    for offset, line_text in enumerate(token.content.split("\n")):
                        text = plain(line_text)
                        if text:
                            self._add(TextLine(first_line + offset, text, strong=is_strong(line_text)))
            elif kind == "bridge_list":
                for row in token.meta["items"]:
                    raw = row.cells[0]
                    self._add(TextLine(row.line, plain(raw), list_depth + 1, is_strong(raw)))
            elif kind == "bridge_table":
                self._add(token.meta["table"])
            elif kind in ("fence", "code_block"):
                self._add(Code(first_line, token.content))
            elif kind == "html_block":
                self._html.feed_block(token.content, first_line)

    def _item_text(self, item: _ItemDraft, token: Token) -> None:
        """A list item's paragraph; a label line at the left margin after it is a line of its own.

        CommonMark joins an unindented line to the item above it ("lazy continuation"); in notes, a
        `Post-release checks: ...` line or a bold line straight after a list is the next item of the
        note instead.
        """
        lines = token.content.split("\n")
        first = token.map[0] if token.map else -1
        kept = [lines[0]]
        for offset in range(1, len(lines)):
            index = first + offset
            source = self._source[index] if 0 <= index < len(self._source) else ""
            if source[:1].strip() and (_LABEL_AT_MARGIN.match(plain(source[:80])) or is_strong(source)):
                for rest in range(offset, len(lines)):
                    text = plain(lines[rest])
                    if text:
                        self._add(TextLine(first + rest + 1, text, strong=is_strong(lines[rest])))
                break
            kept.append(lines[offset])
        item.pieces.append(" ".join(kept))


_LABEL_AT_MARGIN = re.compile(r"[A-Za-z][A-Za-z0-9 /&'’-]{0,59}:(?:\s|$)")


# --- HTML ----------------------------------------------------------------------------------------------

_HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6, "summary": 6}
_LIST_TAGS = ("ul", "ol")
_BREAK_TAGS = ("br", "p", "div", "hr")
_INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "code", "em", "font", "i", "kbd", "mark", "s", "small", "span", "strong", "sub", "sup"}
    | {"time", "u", "tt", "var", "del", "ins"}
)
_CELL = "cell"


@dataclass
class _TableDraft:
    line: int
    header: list[str] | None = None
    rows: list[TableRow] = field(default_factory=list)
    row: list[str] | None = None
    row_line: int = 0
    row_is_header: bool = True
    in_head: bool = False


@dataclass
class _Open:
    """An element whose text is being collected: a cell, a list item or a heading."""

    tag: str
    line: int
    number: int  # list depth of an item, level of a heading
    table: _TableDraft | None = None
    pieces: list[str] = field(default_factory=list)


class _HtmlBlocks(HTMLParser):
    """Headings, list items, tables and text lines of the HTML blocks in a note.

    All the note's HTML blocks go through one parser, padded with newlines so that the parser's line
    numbers are the note's own, and so that a table split by blank lines is still one table. HTML in
    notes is often sloppy (no `</td>`, no `</li>`), so an element also ends where the next one starts.
    """

    def __init__(self, add: Callable[[Block], None]) -> None:
        super().__init__(convert_charrefs=True)
        self._emit = add
        self._fed_lines = 1
        self._tables: list[_TableDraft] = []
        self._open: list[_Open] = []
        self._list_depth = 0
        self._text: list[str] = []
        self._text_line = 0

    def feed_block(self, content: str, first_line: int) -> None:
        if first_line > self._fed_lines:
            self._feed("\n" * (first_line - self._fed_lines))
            self._fed_lines = first_line
        self._feed(content)
        self._fed_lines += content.count("\n")

    def _feed(self, data: str) -> None:
        try:
            self.feed(data)
        except AssertionError:
            # The standard library's markup base asserts on a marked section it does not know
            # (`<![foo[`); the rest of that block is not HTML a note means, so start afresh.
            self.reset()

    def finish(self) -> None:
        try:
            self.close()
        except AssertionError:
            self.reset()
        self._flush_text()
        while self._open:
            self._close_top()
        while self._tables:
            self._close_table()

    def _line(self) -> int:
        return self.getpos()[0]

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1].pieces.append(data)
            return
        # Text outside a cell, item or heading is a line; inline tags (<strong>, <a>) do not split it.
        line = self._line()
        pieces = data.split("\n")
        for offset, piece in enumerate(pieces):
            if offset:
                self._flush_text()
            if not self._text:
                self._text_line = line + offset
            self._text.append(piece)

    def _flush_text(self) -> None:
        text = plain("".join(self._text))
        self._text = []
        if text:
            self._emit(TextLine(self._text_line, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _INLINE_TAGS:
            self._flush_text()
        if tag == "table":
            self._tables.append(_TableDraft(self._line()))
        elif tag in ("tr", "td", "th", "thead", "tbody") and self._tables:
            self._table_start(self._tables[-1], tag)
        elif tag in _LIST_TAGS:
            self._list_depth += 1
        elif tag == "li":
            top = self._open[-1] if self._open else None
            if top is not None and top.tag == "li" and top.number >= max(self._list_depth, 1):
                self._close_top()
            self._open.append(_Open("li", self._line(), max(self._list_depth, 1)))
        elif tag in _HEADING_TAGS:
            self._open.append(_Open(tag, self._line(), _HEADING_TAGS[tag]))
        elif tag in _BREAK_TAGS:
            self.handle_startendtag(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAK_TAGS and not self._open:
            self._flush_text()
            return
        if tag in _BREAK_TAGS:
            self.handle_data(" " if self._open else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag not in _INLINE_TAGS:
            self._flush_text()
        if tag == "table" and self._tables:
            self._close_table()
        elif tag in ("td", "th") and self._tables:
            self._close_cell(self._tables[-1])
        elif tag in ("tr", "thead") and self._tables:
            table = self._tables[-1]
            self._close_row(table)
            if tag == "thead":
                table.in_head = False
        elif tag in _LIST_TAGS:
            if self._open and self._open[-1].tag == "li":
                self._close_top()
            self._list_depth = max(self._list_depth - 1, 0)
        elif tag == "li" or tag in _HEADING_TAGS:
            self._close_up_to(lambda element: element.tag == tag)

    def _table_start(self, table: _TableDraft, tag: str) -> None:
        if tag == "thead":
            table.in_head = True
        elif tag == "tbody":
            self._close_row(table)
            table.in_head = False
        elif tag == "tr":
            self._close_row(table)
            table.row, table.row_line, table.row_is_header = [], self._line(), True
        else:
            self._close_cell(table)
            if table.row is None:
                table.row, table.row_line, table.row_is_header = [], self._line(), True
            if tag == "td":
                table.row_is_header = False
            self._open.append(_Open(_CELL, self._line(), 0, table))

    def _close_up_to(self, wanted: Callable[[_Open], bool]) -> None:
        """Close the innermost open element `wanted` picks, and every element opened inside it."""
        if any(wanted(element) for element in self._open):
            while self._open:
                if wanted(self._close_top()):
                    return

    def _close_top(self) -> _Open:
        element = self._open.pop()
        text = plain(" ".join(element.pieces))
        if element.tag == _CELL:
            if element.table is not None and element.table.row is not None:
                element.table.row.append(text)
        elif element.tag == "li":
            self._emit(TextLine(element.line, text, element.number))
        elif text:
            self._emit(Heading(element.line, element.number, text))
        return element

    def _close_cell(self, table: _TableDraft) -> None:
        self._close_up_to(lambda element: element.tag == _CELL and element.table is table)

    def _close_row(self, table: _TableDraft) -> None:
        self._close_cell(table)
        if table.row is None:
            return
        cells = tuple(table.row)
        if table.header is None and not table.rows and (table.row_is_header or table.in_head):
            table.header = list(cells)
        elif cells:
            table.rows.append(TableRow(table.row_line, cells))
        table.row = None

    def _close_table(self) -> None:
        table = self._tables[-1]
        self._close_row(table)
        self._tables.pop()
        rows = list(table.rows)
        header = table.header
        if header is None and rows:
            # A table without <th> cells: its first row names the columns.
            header = list(rows.pop(0).cells)
        self._emit(Table(table.line, tuple(header or ()), tuple(rows)))
