"""What every page shares: the page frame with its navigation and stylesheet, and the pager of a list."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import HTMLResponse

from bridge.service.read.common import Page
from bridge.service.web.pages.rendering import NavItem, navigation, render_page, stylesheet

CSS_PATH = "/assets/bridge.css"


@dataclass(frozen=True)
class Pager:
    """Where a page of a list starts and ends, and the addresses of its neighbours."""

    first: int  # 1-based; 0 when the list is empty
    last: int
    total: int
    previous: str | None
    next: str | None

    @classmethod
    def of(cls, found: Page[Any], address: Callable[[int], str]) -> Pager:
        """The pager of `found`; `address(offset)` is the list's address from `offset`."""
        offset, limit, total = found.offset, found.limit, found.total
        return cls(
            first=offset + 1 if found.items else 0,
            last=offset + len(found.items),
            total=total,
            previous=address(max(offset - limit, 0)) if offset > 0 else None,
            next=address(offset + limit) if offset + limit < total else None,
        )


def css_url() -> str:
    # The content's digest in the URL lets browsers keep the file for a long time, safely.
    digest = hashlib.sha256(stylesheet().encode("utf-8")).hexdigest()[:10]
    return f"{CSS_PATH}?v={digest}"


def page_html(template: str, current: str, **context: object) -> HTMLResponse:
    """A page of the service: `template` with the navigation (`current` marked) and the stylesheet."""
    nav: list[NavItem] = navigation(current)
    return HTMLResponse(render_page(template, nav=nav, css_url=css_url(), **context))
