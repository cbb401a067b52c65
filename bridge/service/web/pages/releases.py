"""The releases pages: every component's releases at a glance (`/`), and one release in full."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse

from bridge.domain.keys import Subject
from bridge.service.read.common import MAX_OFFSET, Window
from bridge.service.read.releases import ReleaseDetail, ReleaseFilter, release_detail, release_overviews
from bridge.service.web.backend import ReadModels
from bridge.service.web.pages.layout import Pager, page_html
from bridge.versions import ReleaseType

PAGE_SIZE = 50
HOME_PATH = "/"

# How each status reads on the page: the word carries the meaning, the tone (colour) repeats it.
FIX_TONES = {"moved": "good", "moved back": "warn", "waiting": "warn", "failed": "bad", "left": ""}
POINT_TONES = {"pass": "good", "fail": "bad", "pending": "warn", "n/a": ""}


def release_path(component: str, version: str) -> str:
    return f"/releases/{quote(component, safe='')}/{quote(version, safe='')}"


@dataclass(frozen=True)
class Choice:
    """An option of a filter's list."""

    value: str
    label: str
    selected: bool


def _choices(values: list[str], chosen: str | None, labels: dict[str, str] | None = None) -> list[Choice]:
    return [Choice(v, (labels or {}).get(v, v), v == chosen) for v in values]


def _blank(value: str | None) -> str | None:
    # A GET form sends an empty value for "any"; the read API's filters take None for it.
    return value.strip() or None if value is not None else None


def _has_findings(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def releases_router(models: ReadModels) -> APIRouter:
    """`/` and `/releases/{component}/{version}`, on the same views as `/api/releases`."""
    router = APIRouter()
    context = models.context

    @router.get(HOME_PATH)
    def releases_page(
        component: Annotated[str | None, Query()] = None,
        release_type: Annotated[str | None, Query(alias="type")] = None,
        environment: Annotated[str | None, Query()] = None,
        findings: Annotated[str | None, Query(pattern="^(|yes|no)$")] = None,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> HTMLResponse:
        """Every component's releases, newest first, with what the bridge linked and found."""
        chosen_type = _blank(release_type)
        if chosen_type is not None and chosen_type not in set(ReleaseType):
            raise HTTPException(422, f"no release type {chosen_type!r}")
        chosen_environment = _blank(environment)
        only = ReleaseFilter(
            component=_blank(component),
            release_type=chosen_type,
            environment=context.environments.canonical(chosen_environment) if chosen_environment else None,
            has_findings=_has_findings(findings),
        )
        window = Window(limit=PAGE_SIZE, offset=offset)
        with models.store.transaction(readonly=True) as tx:
            page = release_overviews(tx, context, window, only)
        query = {
            "component": only.component or "",
            "type": only.release_type or "",
            "environment": only.environment or "",
            "findings": findings or "",
        }
        kept = {key: value for key, value in query.items() if value}

        def at(start: int) -> str:
            return "/?" + urlencode({**kept, "offset": start}) if start else "/?" + urlencode(kept)

        components = sorted({c.name for c in context.components} | {r.component for r in page.items})
        return page_html(
            "releases.html",
            HOME_PATH,
            page=page,
            filtered=bool(kept),
            components=_choices(components, only.component),
            types=_choices([t.value for t in ReleaseType], only.release_type),
            environments=_choices([e.name for e in context.environments.environments], only.environment),
            findings=_choices(["yes", "no"], findings, {"yes": "with open findings", "no": "without"}),
            pager=Pager.of(page, at),
            release_path=release_path,
            fix_tones=FIX_TONES,
            point_tones=POINT_TONES,
        )

    @router.get("/releases/{component}/{version}")
    def release_page(component: str, version: str) -> HTMLResponse:
        """One release: its note's check, control points, RFCs, defects, carry-forward, timeline, findings."""
        with models.store.transaction(readonly=True) as tx:
            detail = release_detail(tx, context, component, version)
        if detail is None:
            raise HTTPException(404, f"no release {version} of {component} known to the bridge")
        return page_html(
            "release.html",
            HOME_PATH,
            release=detail,
            sources=_source_links(detail),
            release_path=release_path,
            fix_tones=FIX_TONES,
            point_tones=POINT_TONES,
        )

    return router


def _source_links(detail: ReleaseDetail) -> dict[str, str]:
    """Where each record a page names as a source can be opened: the RFCs, the defects, the note."""
    links = {str(Subject.rfc(rfc.number)): rfc.url for rfc in detail.rfcs if rfc.url}
    links.update({str(Subject.defect(fix.id)): fix.url for fix in detail.fixes if fix.url})
    if detail.web_url:
        links[str(Subject.note(detail.tag))] = detail.web_url
    return links
