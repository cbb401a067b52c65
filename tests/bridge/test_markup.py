"""Text from the systems made safe for Markdown, HTML and ServiceNow journals, checked by a renderer."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bridge.domain.markup import LINK_SCHEMES, html_text, journal_text, link_url, markdown_text

HOSTILE = [
    "<img src=x onerror=alert(document.domain)> see [plan](javascript:alert(1))",
    "<script>alert(1)</script>",
    "[click](JaVaScRiPt:alert(1))",
    "![x](data:text/html;base64,PHNjcmlwdD4=)",
    "[a][ref]\n\n[ref]: vbscript:msgbox(1)",
    "<javascript:alert(1)>",
    "<a href='javascript:alert(1)'>x</a>",
    "&#106;avascript:alert(1) and &lt;img&gt;",
    "\\[escaped\\](javascript:alert(1))",
    "`code` </td></tr><tr><td onclick=alert(1)>",
    "<svg/onload=alert(1)>",
    "[ok](https://example.com) | pipe",
]


def rendered(markdown: str) -> str:
    # html=True renders raw HTML as a wiki or pack tool that allows it would.
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_renders_as_the_text_itself(text: str) -> None:
    html = rendered(markdown_text(text))
    assert not re.search(r"<(img|script|svg|a|td|tr)\b", html), html
    assert not re.search(r"<[a-z]+[^>]*\b(href|src|on\w+)=", html), html
    # What the reader sees is what the system said (the link's scheme with its colon as an entity).
    shown = re.sub(r"&#58;", ":", re.sub(r"</?p>|\n", "", html))
    shown = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    assert shown.replace(" ", "") == text.replace("\n", "").replace(" ", "")


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_keeps_a_table_row_whole(text: str) -> None:
    flat = " ".join(text.split())
    table = f"| a | b |\n|---|---|\n| {markdown_text(flat)} | end |\n"
    html = rendered(table)
    assert html.count("<td>") == 2, html
    assert "<td>end</td>" in html


@pytest.mark.parametrize("text", HOSTILE)
def test_html_text_shows_markup_as_text(text: str) -> None:
    out = html_text(text)
    assert "<" not in out and ">" not in out and '"' not in out
    assert not re.search(r"javascript\s*:", out, re.IGNORECASE)


def test_unsafe_schemes_lose_their_colon_however_written() -> None:
    for scheme in ("javascript:", "JAVASCRIPT:", "vbscript:", "data:", "javascript :"):
        assert ":" not in markdown_text(f"go {scheme}x").replace("&#58;", "")
    # An ordinary colon stays.
    assert markdown_text("Release: 1.0.2.0 at 10:30") == "Release: 1.0.2.0 at 10:30"


def test_journal_text_breaks_servicenow_code_tags() -> None:
    for text in ("[code]<img src=x onerror=alert(1)>[/code]", "[CODE]x[/ Code ]", "[ code ]x"):
        assert not re.search(r"\[\s*/?\s*code\s*\]", journal_text(text), re.IGNORECASE)
    assert journal_text("Defects fixed: 101 (High) [see note]") == "Defects fixed: 101 (High) [see note]"


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://gitlab.example/g/p/-/releases/v1", True),
        ("http://gitlab.local:8181/x", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("vbscript:x", False),
        ("//evil.example/x", False),
        ("https:///nohost", False),
        ('https://ok.example/"onmouseover="x', False),
        ("ftp://files.example/x", False),
    ],
)
def test_only_http_addresses_are_linked(url: str, safe: bool) -> None:
    assert (link_url(url) is not None) is safe


def _linkable_before(url: str) -> str | None:
    """link_url as first written (a character-by-character check), the oracle for the faster one."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.netloc:
        return None
    if any(ord(ch) < 0x20 or ch in "<>\"'` " for ch in url.strip()):
        return None
    return url.strip()


@given(
    st.text(max_size=60)
    | st.builds(
        "{}://{}{}".format,
        st.sampled_from(["http", "HTTPS", "javascript", "ftp", ""]),
        st.text(max_size=20),
        st.text(max_size=30),
    )
)
def test_link_url_decides_as_the_character_check_did(url: str) -> None:
    try:
        expected = _linkable_before(url)
    except ValueError:  # urlsplit refuses some addresses (a bad IPv6 host); so must link_url
        with pytest.raises(ValueError):
            link_url(url)
        return
    assert link_url(url) == expected
