"""Text from the three systems made safe for where the bridge writes it: Markdown, HTML, ServiceNow journals.

Whatever a release note, an RFC or a defect says is data. Written into Markdown that is pasted into packs
and wikis, into ADO comments (rendered as HTML) or into a ServiceNow work note (rendered as HTML between
`[code]` tags), it must show as the text it is and never become markup, a script or a link.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import urlsplit

# Schemes a browser runs or loads inline; written as text, their colon is turned into an entity so no
# renderer (nor a linkifier run after the Markdown one) takes the text for a link.
UNSAFE_SCHEMES = re.compile(r"\b(javascript|vbscript|data|file)(\s*):", re.IGNORECASE)
# Characters that start Markdown links and images, raw HTML, entities, code spans and table cells, and
# the backslash itself (so a value cannot undo the escape that follows it).
MARKDOWN_SPECIAL = re.compile(r"[\\`\[\]<>&|]")
MARKDOWN_ESCAPES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
# ServiceNow renders a journal entry's text between [code] and [/code] as HTML.
JOURNAL_CODE_TAG = re.compile(r"\[(\s*/?\s*code\s*)\]", re.IGNORECASE)
LINK_SCHEMES = frozenset({"http", "https"})
# Characters that never stand in an address the bridge links to: controls, quotes, angle brackets, spaces.
UNLINKABLE = re.compile(r"[\x00-\x1f<>\"'` ]")


def markdown_text(value: object) -> str:
    """Text shown as itself in Markdown: no markup, link, image or table cell break can come of it."""
    text = MARKDOWN_SPECIAL.sub(lambda m: MARKDOWN_ESCAPES.get(m.group(), "\\" + m.group()), str(value))
    return UNSAFE_SCHEMES.sub(r"\1\2&#58;", text)


def html_text(value: object) -> str:
    """Text shown as itself in HTML (an ADO comment): markup escaped, unsafe schemes neutralised."""
    return UNSAFE_SCHEMES.sub(r"\1\2&#58;", html.escape(str(value), quote=True))


def journal_text(value: object) -> str:
    """Text for a ServiceNow work note: `[code]` tags, which would make the rest HTML, are broken up."""
    return JOURNAL_CODE_TAG.sub(r"(\1)", str(value))


@lru_cache(maxsize=4096)
def link_url(url: str) -> str | None:
    """The URL when it is safe to link to (http or https with a host), else None.

    Kept per URL: the same few addresses (a release, an RFC) are checked for every defect a release moves.
    """
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.netloc:
        return None
    if UNLINKABLE.search(text):
        return None
    return text
