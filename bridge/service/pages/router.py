"""The pages' routes: the stylesheet and the readiness report, on the processor's newest plan."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from bridge.engine.reconcile import Plan
from bridge.service.pages.rendering import (
    navigation,
    render_report_html,
    render_report_markdown,
    stylesheet,
)
from bridge.service.processor import Processor
from bridge.service.report import ReadinessReport, build_report, period_start, plan_from_journal

CSS_PATH = "/assets/bridge.css"
REPORT_PATH = "/report"
# Paths this router serves, for the navigation; the other pages come with the read API's views.
SERVED = {REPORT_PATH}


def _css_url() -> str:
    # The content's digest in the URL lets browsers keep the file for a long time, safely.
    digest = hashlib.sha256(stylesheet().encode("utf-8")).hexdigest()[:10]
    return f"{CSS_PATH}?v={digest}"


def _plan(processor: Processor) -> Plan:
    """The processor's newest plan; before its first one, a plan folded from the journal (read only)."""
    return processor.last_plan or plan_from_journal(processor.store, processor.context, processor.clock())


def readiness_report(processor: Processor, since: date | None) -> ReadinessReport:
    """The readiness report from `since` (default: the last seven days) to now."""
    now = processor.clock()
    result = _plan(processor)
    with processor.store.transaction(readonly=True) as tx:
        return build_report(result, tx, processor.context, since=period_start(since, now), now=now)


def pages_router(processor: Processor) -> APIRouter:
    """The pages of the running service; include it in the app beside the read API."""
    router = APIRouter(tags=["pages"], include_in_schema=False)

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
        html = render_report_html(data, nav=navigation(SERVED, REPORT_PATH), css_url=_css_url())
        return HTMLResponse(html)

    return router
