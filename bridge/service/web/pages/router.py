"""The pages' routes: one router composed of each page's own, on what the worker stored."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from bridge.service.read.report import ReadinessReport, build_report, period_start
from bridge.service.web.backend import ReadModels
from bridge.service.web.pages.access import Gate, login_router
from bridge.service.web.pages.environments import environments_router
from bridge.service.web.pages.layout import CSS_PATH, css_url
from bridge.service.web.pages.operations import operations_router
from bridge.service.web.pages.options import PageOptions
from bridge.service.web.pages.releases import releases_router
from bridge.service.web.pages.rendering import (
    navigation,
    render_report_html,
    render_report_markdown,
    stylesheet,
)

REPORT_PATH = "/report"


def readiness_report(models: ReadModels, since: date | None) -> ReadinessReport:
    """The readiness report from `since` (default: the last seven days) to now."""
    now = models.clock()
    with models.store.transaction(readonly=True) as tx:
        return build_report(tx, models.context, since=period_start(since, now), now=now)


def pages_router(models: ReadModels, options: PageOptions | None = None) -> APIRouter:
    """The pages of the running service; include it in the app beside the read API.

    With `protect_pages` every page asks for the operator token (the gate lets the sign-in through).
    """
    gate = Gate.from_options(options)
    router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(gate.page)])
    router.include_router(login_router(gate))
    router.include_router(releases_router(models))
    router.include_router(environments_router(models))
    router.include_router(operations_router(models, options))

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
        data = readiness_report(models, since)
        if data.since > data.until:
            raise HTTPException(422, "since is after today")
        if output == "md":
            return PlainTextResponse(render_report_markdown(data), media_type="text/markdown; charset=utf-8")
        html = render_report_html(data, nav=navigation(REPORT_PATH), css_url=css_url())
        return HTMLResponse(html)

    return router
