"""The read API under /api: releases, RFCs, defects, environments, findings, outbox and audit, as JSON;
and the one write, retrying a dead action, for the operator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel

from bridge.domain.events import Source
from bridge.service.read import audit, defects, environments, findings, outbox, releases, rfcs
from bridge.service.read.common import MAX_OFFSET, MAX_PAGE, Page, Window
from bridge.service.web.backend import ReadModels
from bridge.service.web.pages.access import Gate
from bridge.service.web.pages.options import PageOptions
from bridge.store.outbox import ActionStatus
from bridge.store.store import Tx
from bridge.versions import ReleaseType

Result = TypeVar("Result")
# ADO work item ids are positive 32-bit integers; the store keeps them as 64-bit.
DefectId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The ADO work item id.")]
ActionId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The action's id in the outbox.")]


class Problem(BaseModel):
    """What went wrong with a request."""

    detail: str


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "No such item."}}


def window(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> Window:
    return Window(limit=limit, offset=offset)


Paged = Annotated[Window, Depends(window)]


def release_filter(
    component: Annotated[str | None, Query(description="Only this component.")] = None,
    release_type: Annotated[ReleaseType | None, Query(alias="type", description="Only this type.")] = None,
    environment: Annotated[
        str | None, Query(description="Only releases deployed there, now or before.")
    ] = None,
    has_findings: Annotated[
        bool | None, Query(description="Only releases with (true) or without (false) open findings.")
    ] = None,
) -> releases.ReleaseFilter:
    return releases.ReleaseFilter(
        component, release_type.value if release_type else None, environment, has_findings
    )


ReleaseFilters = Annotated[releases.ReleaseFilter, Depends(release_filter)]


def refuse_nul(request: Request) -> None:
    """Refuse a NUL character in a path or query value: PostgreSQL text cannot hold one."""
    values = [*request.path_params.values(), *request.query_params.values()]
    if any("\x00" in str(value) for value in values):
        raise HTTPException(422, "a path or query value contains a NUL character")


def create_router(models: ReadModels, pages: PageOptions | None = None) -> APIRouter:
    """The read API over what the worker stored (`models`' store); `pages` carries the operator token
    (for the retry, and for every request when `protect_pages` is set)."""
    gate = Gate.from_options(pages)
    router = APIRouter(prefix="/api", dependencies=[Depends(refuse_nul), Depends(gate.api)])
    environment_names = [e.name for e in models.context.environments.environments]

    def read(query: Callable[[Tx], Result]) -> Result:
        with models.store.transaction(readonly=True) as tx:
            return query(tx)

    def found(item: Result | None, what: str) -> Result:
        if item is None:
            raise HTTPException(404, f"no {what} known to the bridge")
        return item

    @router.get("/releases", tags=["releases"])
    def list_releases(page: Paged, only: ReleaseFilters) -> Page[releases.ReleaseOverview]:
        """Releases by component, newest version first, with their RFCs, fixes, note check and findings."""
        if only.environment is not None:
            only = replace(only, environment=models.context.environments.canonical(only.environment))
        return read(lambda tx: releases.release_overviews(tx, models.context, page, only))

    @router.get("/releases/{component}/{version}", tags=["releases"], responses=NOT_FOUND)
    def get_release(component: str, version: str) -> releases.ReleaseDetail:
        """A release: linked RFCs and defects, control points, carry-forward, findings and note check."""
        detail = read(lambda tx: releases.release_detail(tx, models.context, component, version))
        return found(detail, f"release {version} of {component}")

    @router.get("/rfcs", tags=["rfcs"])
    def list_rfcs(
        page: Paged, state: Annotated[str | None, Query(description="Only RFCs in this state.")] = None
    ) -> Page[rfcs.RfcSummary]:
        """RFCs by number."""
        return read(lambda tx: rfcs.list_rfcs(tx, page, state=state))

    @router.get("/rfcs/{number}", tags=["rfcs"], responses=NOT_FOUND)
    def get_rfc(number: str) -> rfcs.RfcDetail:
        """An RFC with its linked releases and the bridge's work notes."""
        return found(read(lambda tx: rfcs.rfc_detail(tx, number)), f"RFC {number}")

    @router.get("/defects", tags=["defects"])
    def list_defects(
        page: Paged, state: Annotated[str | None, Query(description="Only defects in this state.")] = None
    ) -> Page[defects.DefectSummary]:
        """Defects by id."""
        return read(lambda tx: defects.list_defects(tx, page, state=state))

    @router.get("/defects/{defect_id}", tags=["defects"], responses=NOT_FOUND)
    def get_defect(defect_id: DefectId) -> defects.DefectDetail:
        """A defect: its state, the releases that list it, and the bridge's moves of it."""
        return found(read(lambda tx: defects.defect_detail(tx, defect_id)), f"defect {defect_id}")

    @router.get("/environments", tags=["environments"])
    def list_environments() -> list[environments.EnvironmentSummary]:
        """Every environment with the version of each component deployed there now."""
        return read(lambda tx: environments.list_environments(tx, environment_names))

    @router.get("/environments/{name}", tags=["environments"], responses=NOT_FOUND)
    def get_environment(
        name: str, component: Annotated[str | None, Query(description="Only this component.")] = None
    ) -> environments.EnvironmentHistory:
        """An environment's history: every version of each component, newest first."""
        canonical = models.context.environments.canonical(name)
        history = read(
            lambda tx: environments.environment_history(
                tx, canonical, component=component, known=environment_names
            )
        )
        return found(history, f"environment {name}")

    @router.get("/findings", tags=["findings"])
    def list_findings(
        page: Paged,
        subject: Annotated[
            str | None, Query(description="Subject prefix, e.g. release:dip-platform or rfc:CHG0031245.")
        ] = None,
        code: Annotated[str | None, Query(description="Only this code, e.g. control_point.7.")] = None,
        severity: Annotated[str | None, Query(description="error, warning or info.")] = None,
        include_resolved: Annotated[bool, Query(description="Resolved findings too.")] = False,
    ) -> Page[findings.FindingView]:
        """Findings, newest first."""
        return read(
            lambda tx: findings.list_findings(
                tx,
                page,
                subject_prefix=subject,
                code=code,
                severity=severity,
                include_resolved=include_resolved,
            )
        )

    @router.get("/outbox", tags=["outbox"])
    def list_outbox(
        page: Paged,
        status: Annotated[ActionStatus | None, Query(description="Only actions in this status.")] = None,
        target: Annotated[Source | None, Query(description="Only actions for this system.")] = None,
    ) -> Page[outbox.ActionView]:
        """Actions, newest first."""
        return read(
            lambda tx: outbox.list_outbox(tx, page, status=status, target=target.value if target else None)
        )

    @router.get("/outbox/dead", tags=["outbox"])
    def list_dead(page: Paged) -> Page[outbox.ActionView]:
        """Actions that failed for good, with their last error; they wait for an operator's retry."""
        return read(lambda tx: outbox.list_outbox(tx, page, status=ActionStatus.DEAD))

    @router.post(
        "/outbox/{action_id}/retry",
        tags=["outbox"],
        dependencies=[Depends(gate.operator)],
        responses={
            401: {"model": Problem, "description": "No operator token (`Authorization: Bearer <token>`)."},
            403: {"model": Problem, "description": "Not the operator token, or none is configured."},
            **NOT_FOUND,
            409: {"model": Problem, "description": "The action is not dead: nothing to retry."},
        },
    )
    def retry_dead(action_id: ActionId) -> outbox.ActionView:
        """Put a dead action back in the queue, due now with a fresh budget of attempts."""
        try:
            with models.store.transaction() as tx:
                return outbox.retry_dead_action(tx, action_id, now=models.clock())
        except outbox.UnknownActionError as exc:
            raise HTTPException(404, str(exc)) from exc
        except outbox.NotDeadError as exc:
            raise HTTPException(409, str(exc)) from exc

    @router.get("/outbox/counts", tags=["outbox"])
    def outbox_counts() -> dict[str, int]:
        """How many actions are in each status."""
        return read(outbox.outbox_counts)

    @router.get("/audit", tags=["audit"])
    def list_audit(
        page: Paged,
        record: Annotated[
            str | None, Query(description="A record, e.g. defect:48211 or rfc:CHG0031245.")
        ] = None,
        action_key: Annotated[str | None, Query(description="An action's key.")] = None,
    ) -> Page[audit.AuditView]:
        """What the bridge changed, newest first."""
        return read(lambda tx: audit.list_audit(tx, page, record=record, action_key=action_key))

    return router
