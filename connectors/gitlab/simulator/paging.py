"""GitLab's list pagination: offset headers and Link, the tags' Gitaly first page, keyset by page_token."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from .errors import bad_param

T = TypeVar("T")

DEFAULT_PER_PAGE = 20  # doc/api/rest/_index.md › Offset-based pagination
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class PageLink:
    """Where a list was asked for (from the request's own Host) and with which query."""

    url: str
    query: tuple[tuple[str, str], ...]

    def to(self, **params: str | int) -> str:
        kept = [(k, v) for k, v in self.query if k not in params]
        return f"{self.url}?{urlencode(kept + [(k, str(v)) for k, v in params.items()])}"


@dataclass(frozen=True)
class PageRequest:
    """The `page` and `per_page` a list request asked for, checked as Grape checks them."""

    page: int
    per_page: int
    per_page_given: bool

    @classmethod
    def parse(cls, query: dict[str, str]) -> PageRequest:
        page = _positive(query, "page", 1)
        per_page = _positive(query, "per_page", DEFAULT_PER_PAGE)
        # Kaminari caps per_page at max_per_page instead of refusing it.
        return cls(page, min(per_page, MAX_PER_PAGE), "per_page" in query)


def _positive(query: dict[str, str], name: str, default: int) -> int:
    text = query.get(name, "")
    if text == "":
        return default
    try:
        number = int(text)
    except ValueError as exc:
        raise bad_param(f"{name} is invalid") from exc
    return number if number > 0 else default


def _links(link: PageLink, per_page: int, pages: list[tuple[str, int]]) -> str:
    return ", ".join(f'<{link.to(page=n, per_page=per_page)}>; rel="{rel}"' for rel, n in pages)


def _offset_headers(
    link: PageLink, per_page: int, page: int, next_page: int | None, total: int, total_pages: int
) -> dict[str, str]:
    rels: list[tuple[str, int]] = []
    if page > 1:
        rels.append(("prev", page - 1))
    if next_page is not None:
        rels.append(("next", next_page))
    rels += [("first", 1), ("last", total_pages)]
    return {
        "X-Per-Page": str(per_page),
        "X-Page": str(page),
        "X-Next-Page": str(next_page) if next_page is not None else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
        "Link": _links(link, per_page, rels),
        "X-Total": str(total),
        "X-Total-Pages": str(total_pages),
    }


def offset_page(items: Sequence[T], request: PageRequest, link: PageLink) -> tuple[list[T], dict[str, str]]:
    """One page of `items` with GitLab's offset headers (Gitlab::Pagination::OffsetPagination)."""
    total, per_page, page = len(items), request.per_page, request.page
    total_pages = max(1, -(-total // per_page))
    start = (page - 1) * per_page
    next_page = page + 1 if page < total_pages else None
    return list(items[start : start + per_page]), _offset_headers(
        link, per_page, page, next_page, total, total_pages
    )


def tags_page(items: Sequence[T], request: PageRequest, link: PageLink) -> tuple[list[T], dict[str, str]]:
    """A page of tags: page 1 comes from Gitaly with made-up offset headers, later pages are offset.

    Gitlab::Pagination::GitalyKeysetPager#paginate_first_page_via_gitaly always announces a page 2
    and counts `total / per_page + 1` pages, so a client following Link may fetch an empty last page.
    """
    if request.page != 1:
        return offset_page(items, request, link)
    per_page, total = request.per_page, len(items)
    return list(items[:per_page]), _offset_headers(link, per_page, 1, 2, total, total // per_page + 1)


def keyset_page(
    items: Sequence[T], names: Sequence[str], token: str | None, per_page: int, link: PageLink
) -> tuple[list[T], dict[str, str]]:
    """A keyset page after the item named `token`; Link rel=next only while a page came back full."""
    start = 0
    if token:
        if token not in names:
            raise KeyError(token)
        start = names.index(token) + 1
    chosen = list(items[start : start + per_page])
    headers: dict[str, str] = {}
    if chosen and len(chosen) == per_page:
        last = names[start + per_page - 1]
        headers["Link"] = f'<{link.to(page_token=last, per_page=per_page)}>; rel="next"'
    return chosen, headers
