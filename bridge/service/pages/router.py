"""The pages' routes: one router composed of each page's own, on what the worker stored."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import SecretStr

from bridge.config import Settings
from bridge.service.pages.access import DEFAULT_SESSION, Gate, login_router
from bridge.service.pages.rendering import (
    NavItem,
    navigation,
    render_page,
    render_report_html,
    render_report_markdown,
    stylesheet,
)
from bridge.service.processor import Processor
from bridge.service.report import ReadinessReport, build_report, period_start
from bridge.service.views import Page

CSS_PATH = "/assets/bridge.css"
REPORT_PATH = "/report"


@dataclass(frozen=True)
class PageOptions:
    """What the pages need from configuration: the operator token, and whether reading needs it too.

    Links to GitLab, ServiceNow and ADO come from the engine's context, as the bridge writes them.
    """

    operator_token: SecretStr | None = None
    protect_pages: bool = False  # the read pages ask for the token too
    session_secret: SecretStr | None = None  # signs the sign-in cookie with the token; change to sign out all
    session: timedelta = DEFAULT_SESSION  # how long a sign-in lasts
    protect_docs: bool = False  # /docs, /redoc and /openapi.json ask for the token too
    protect_metrics: bool = False  # /metrics asks for the token too

    @classmethod
    def from_settings(cls, settings: Settings) -> PageOptions:
        service = settings.service
        return cls(
            operator_token=service.operator_token,
            protect_pages=service.protect_pages,
            session_secret=service.session_secret,
            session=timedelta(hours=service.session_hours),
            protect_docs=service.protect_docs,
            protect_metrics=service.protect_metrics,
        )


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


def readiness_report(processor: Processor, since: date | None) -> ReadinessReport:
    """The readiness report from `since` (default: the last seven days) to now."""
    now = processor.clock()
    with processor.store.transaction(readonly=True) as tx:
        return build_report(tx, processor.context, since=period_start(since, now), now=now)


def pages_router(processor: Processor, options: PageOptions | None = None) -> APIRouter:
    """The pages of the running service; include it in the app beside the read API.

    With `protect_pages` every page asks for the operator token (the gate lets the sign-in through).
    """
    # Each page's module renders with page_html from here.
    from bridge.service.pages.environments import environments_router
    from bridge.service.pages.operations import operations_router
    from bridge.service.pages.releases import releases_router

    gate = Gate.from_options(options)
    router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(gate.page)])
    router.include_router(login_router(gate))
    router.include_router(releases_router(processor))
    router.include_router(environments_router(processor))
    router.include_router(operations_router(processor, options))

    @router.get(CSS_PATH)
    def css() -> Response:
        return Response(
            stylesheet(),
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @router.get(REPORT_PATH, response_model=None)
    def report(
        since: Annotated[
            date | None, Query(description="First day of the period (default: a week ago).")
        ] = None,
        output: Annotated[str, Query(alias="format", pattern="^(html|md)$")] = "html",
    ) -> HTMLResponse | PlainTextResponse:
        """The readiness report as a page, or as Markdown for the weekly pack (`?format=md`)."""
        data = readiness_report(processor, since)
        if data.since > data.until:
            raise HTTPException(422, "since is after today")
        if output == "md":
            return PlainTextResponse(render_report_markdown(data), media_type="text/markdown; charset=utf-8")
        html = render_report_html(data, nav=navigation(REPORT_PATH), css_url=css_url())
        return HTMLResponse(html)

    return router
