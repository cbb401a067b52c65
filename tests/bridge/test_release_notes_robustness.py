"""The release-note parser on text nobody planned for: it never raises, and it stays fast."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.release_notes import ItemNeed, ReleaseNote, default_vocabulary, parse_release_note
from bridge.release_notes.blocks import read_blocks

ROBUST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(note: ReleaseNote) -> None:
    """What must hold of any result, whatever the text."""
    data = note.to_json()
    assert isinstance(data["missing"], list)
    assert all(isinstance(d.id, int) and d.id > 0 for d in note.defects_fixed)
    assert all(len(r) == 10 and r.startswith("CHG") for r in note.rfcs)
    assert all(f.line is None or f.line >= 1 for f in note.findings)
    assert set(note.missing) <= set(default_vocabulary().keys_with_need(ItemNeed.REQUIRED))


@ROBUST
@given(st.text(max_size=2000))
def test_arbitrary_text_never_raises(text: str) -> None:
    _check(parse_release_note(text))


@ROBUST
@given(st.binary(max_size=1000))
def test_arbitrary_bytes_decoded_never_raise(data: bytes) -> None:
    _check(parse_release_note(data.decode("utf-8", errors="replace")))


# Pieces a note is made of, with the awkward cases among them: ids, severities, versions, stray
# markup, HTML, unbalanced brackets.
WORDS = st.sampled_from(
    [
        "Defects fixed",
        "Known issues",
        "Fixes",
        "Change requests",
        "Backout plan",
        "Release number",
        "Tag",
        "Programme",
        "48211",
        "AB#48190",
        "#12",
        "Bug 7",
        "CR-031",
        "CHG0031245",
        "1.0.2.0",
        "v2.0.0.0",
        "dip-platform/1.0.2.0",
        "2 - High",
        "Sev 1",
        "(Critical)",
        "P2",
        "workaround:",
        "None",
        "TBC",
        "**",
        "`",
        "[",
        "](",
        "<td>",
        "</table>",
        "<![x[",
        "&amp;",
        "\\|",
        "|",
        ":",
        "–",
        "(",
        ")",
        "13 → 14",
        "42 checks",
        "**Known Issues / Outstanding Defects**",
        "**3.1",
        "Fixes deferred",
        "Fixed (3 changes)",
        "Total: 20 min",
        "Deployment Team",
        "closes",
        "INC0012345",
        "!412",
        "Priority",
        "Programme: MHHS.",
        "[2.3.0.0]",
        "_workitems/edit/7",
        "text",
        "",
    ]
)
LINE = st.lists(WORDS, max_size=8).map(" ".join)
CELL = LINE.map(lambda s: s.replace("|", "/"))


@st.composite
def markdown_blocks(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(["heading", "table", "list", "numbered", "label", "bold", "prose", "html", "code"])
    )
    if kind == "heading":
        return "#" * draw(st.integers(1, 7)) + " " + draw(LINE)
    if kind == "table":
        width = draw(st.integers(1, 5))
        rows = draw(st.lists(st.lists(CELL, min_size=width, max_size=width), max_size=5))
        header = draw(st.lists(CELL, min_size=width, max_size=width))
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    if kind in ("list", "numbered"):
        items = draw(st.lists(st.tuples(st.integers(0, 3), LINE), min_size=1, max_size=6))
        marker = "-" if kind == "list" else "1."
        return "\n".join("  " * depth + f"{marker} {text}" for depth, text in items)
    if kind == "label":
        return f"**{draw(WORDS)}:** {draw(LINE)}"
    if kind == "bold":
        return f"**{draw(LINE)}**" + draw(st.sampled_from(["", ":"]))
    if kind == "html":
        cells = draw(st.lists(CELL, max_size=4))
        return "<table><tr>" + "".join(f"<td>{c}" for c in cells) + draw(st.sampled_from(["</table>", ""]))
    if kind == "code":
        return "```\n" + draw(LINE) + "\n```"
    return draw(LINE)


MARKDOWNISH = st.lists(markdown_blocks(), max_size=25).flatmap(
    lambda blocks: st.sampled_from(["\n", "\n\n", "\r\n"]).map(lambda end: end.join(blocks))
)


@ROBUST
@given(MARKDOWNISH)
def test_markdownish_text_never_raises(text: str) -> None:
    _check(parse_release_note(text))


@ROBUST
@given(MARKDOWNISH, st.sampled_from([None, "dip-platform", "helix-settlement"]))
def test_a_component_changes_nothing_but_the_tag_check(text: str, component: str | None) -> None:
    plain = parse_release_note(text)
    with_component = parse_release_note(text, component=component)
    assert with_component.defects_fixed == plain.defects_fixed
    assert with_component.rfcs == plain.rfcs


SIMPLE_ITEM = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
    min_size=1,
    max_size=40,
)


@ROBUST
@given(
    st.lists(
        st.tuples(st.sampled_from(["- ", "* ", "+ ", "1. ", "2) ", "  - ", "    "]), SIMPLE_ITEM), max_size=12
    ),
    st.sampled_from(["\n", "\n\n"]),
)
def test_the_fast_list_rule_reads_lists_like_markdown_it(items: list[tuple[str, str]], end: str) -> None:
    text = end.join(marker + item for marker, item in items)
    assert read_blocks(text) == read_blocks(text, fast_lists=False)


# Inputs that make careless patterns or parsers go quadratic; each must stay linear.
ADVERSARIAL = {
    "brackets": "[" * 200_000,
    "angle brackets": "<" * 200_000,
    "stars": "*" * 200_000,
    "backslashes": "\\" * 200_000,
    "spaces": "a" + " " * 200_000 + "b",
    "digits": "1" * 200_000,
    "dotted digits": "1." * 100_000,
    "hashes in a defect section": "## Defects fixed\n" + "#1 " * 60_000,
    "severity words": "## Fixes\n- 12345 " + "Severity " * 20_000,
    "workarounds": "## Known issues\n- 48190 " + "(workaround " * 15_000,
    "field separators": "## Fixes\n- 12345" + " - x" * 50_000,
    "a very wide table": "## Defects fixed\n" + "|a" * 50_000 + "\n" + "|-" * 50_000 + "\n" + "|1" * 50_000,
    "an unclosed html table": "<table><tr>" + "<td>" * 40_000,
    "colons": "Programme" + ":" * 200_000,
    "links": "[a](" * 50_000,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_pathological_text_parses_in_linear_time(name: str) -> None:
    default_vocabulary()
    started = time.perf_counter()
    _check(parse_release_note(ADVERSARIAL[name]))
    assert time.perf_counter() - started < 2.0, name
