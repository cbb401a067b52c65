"""The operations pages: findings with their filters, and the outbox with a retry for each dead action."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bridge.service.read.common import MAX_OFFSET, Page, Window
from bridge.service.read.findings import finding_codes, list_findings
from bridge.service.read.outbox import (
    ActionView,
    NotDeadError,
    UnknownActionError,
    list_outbox,
    outbox_counts,
    retry_all_dead,
    retry_dead_action,
)
from bridge.service.web.backend import ReadModels
from bridge.service.web.pages.access import HOW_TO_SET, Form, Gate, Verdict
from bridge.service.web.pages.layout import Pager, page_html
from bridge.service.web.pages.options import PageOptions
from bridge.store.outbox import ActionStatus

log = logging.getLogger(__name__)

FINDINGS_PATH = "/findings"
OUTBOX_PATH = "/outbox"
FINDINGS_PER_PAGE = 50
OUTBOX_PER_SECTION = 100
SEVERITIES = ("error", "warning", "info")
ActionId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The action's id in the outbox.")]


@dataclass(frozen=True)
class FindingFilters:
    """The findings page's filters as the form sends them (blank fields mean no filter)."""

    subject: str = ""
    code: str = ""
    severity: str = ""
    include_resolved: bool = False

    def query(self, offset: int = 0) -> str:
        """The page's address with these filters, from `offset`."""
        values = {"subject": self.subject, "code": self.code, "severity": self.severity}
        params = {name: value for name, value in values.items() if value}
        if self.include_resolved:
            params["include_resolved"] = "true"
        if offset:
            params["offset"] = str(offset)
        return f"{FINDINGS_PATH}?{urlencode(params)}" if params else FINDINGS_PATH

    def api_query(self) -> str:
        return "/api" + self.query()


@dataclass(frozen=True)
class OutboxSection:
    """The actions of one status, newest first (at most a page of them), with how many there are."""

    status: str
    heading: str
    anchor: str
    actions: Page[ActionView]


def operations_router(models: ReadModels, options: PageOptions | None = None) -> APIRouter:
    """The findings page and the outbox page (with its retry forms)."""
    router = APIRouter()
    gate = Gate.from_options(options)

    @router.get(FINDINGS_PATH, response_class=HTMLResponse)
    def findings(
        subject: Annotated[str, Query(max_length=500)] = "",
        code: Annotated[str, Query(max_length=200)] = "",
        severity: Annotated[str, Query(max_length=20)] = "",
        include_resolved: bool = False,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> HTMLResponse:
        """Findings, newest first, filtered by subject prefix, code and severity, a page at a time."""
        filters = FindingFilters(subject.strip(), code.strip(), severity.strip(), include_resolved)
        window = Window(limit=FINDINGS_PER_PAGE, offset=offset)
        with models.store.transaction(readonly=True) as tx:
            found = list_findings(
                tx,
                window,
                subject_prefix=filters.subject or None,
                code=filters.code or None,
                severity=filters.severity or None,
                include_resolved=filters.include_resolved,
            )
            codes = finding_codes(tx)
        return page_html(
            "findings.html",
            FINDINGS_PATH,
            found=found,
            filters=filters,
            pager=Pager.of(found, filters.query),
            codes=codes,
            severities=SEVERITIES,
            findings_path=FINDINGS_PATH,
        )

    def outbox_page(notice: str | None = None, problem: str | None = None, status: int = 200) -> HTMLResponse:
        window = Window(limit=OUTBOX_PER_SECTION)
        with models.store.transaction(readonly=True) as tx:
            counts = outbox_counts(tx)
            sections = [
                OutboxSection(wanted.value, heading, wanted.value, list_outbox(tx, window, status=wanted))
                for wanted, heading in (
                    (ActionStatus.DEAD, "Dead: failed for good, waiting for an operator"),
                    (ActionStatus.RETRY, "Retrying: failed for now, due again later"),
                    (ActionStatus.PENDING, "Pending: waiting for their first attempt"),
                )
            ]
        answer = page_html(
            "outbox.html",
            OUTBOX_PATH,
            counts=counts,
            sections=sections,
            notice=notice,
            problem=problem,
            token_configured=gate.configured,
            how_to_set=HOW_TO_SET,
            outbox_path=OUTBOX_PATH,
        )
        answer.status_code = status
        return answer

    @router.get(OUTBOX_PATH, response_class=HTMLResponse)
    def outbox(
        retried: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
        revived: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    ) -> HTMLResponse:
        """Pending, retrying and dead actions, with counts and last errors; a retry for each dead one."""
        notice = None
        if retried is not None:
            notice = f"Action {retried} is queued again with a fresh budget of attempts."
        elif revived is not None:
            notice = f"{revived} dead action{'' if revived == 1 else 's'} queued again."
        return outbox_page(notice=notice)

    def refused(verdict: Verdict) -> HTMLResponse | None:
        """The page that refuses a retry without the operator token, or None to go ahead."""
        if verdict is Verdict.ALLOWED:
            return None
        if verdict is Verdict.UNSET:
            turned_off = "Retrying from the pages is turned off: no operator token is configured."
            return outbox_page(problem=f"{turned_off} {HOW_TO_SET}", status=403)
        what = (
            "No operator token was given" if verdict is Verdict.MISSING else "That is not the operator token"
        )
        return outbox_page(problem=f"{what}, so nothing was retried. Nothing has changed.", status=403)

    @router.post(OUTBOX_PATH + "/{action_id}/retry", response_model=None)
    def retry(action_id: ActionId, fields: Form) -> Response:
        """Put a dead action back in the queue, given the operator token."""
        refusal = refused(gate.check(fields.get("token")))
        if refusal is not None:
            return refusal
        try:
            with models.store.transaction() as tx:
                retry_dead_action(tx, action_id, now=models.clock())
        except UnknownActionError:
            return outbox_page(problem=f"There is no action {action_id} in the outbox.", status=404)
        except NotDeadError as exc:
            return outbox_page(problem=f"Not retried: {exc}.", status=409)
        log.info("dead action queued again from the pages", extra={"action_id": action_id})
        return RedirectResponse(f"{OUTBOX_PATH}?retried={action_id}#dead", status_code=303)

    @router.post(OUTBOX_PATH + "/retry-dead", response_model=None)
    def retry_all(fields: Form) -> Response:
        """Put every dead action back in the queue, given the operator token."""
        refusal = refused(gate.check(fields.get("token")))
        if refusal is not None:
            return refusal
        with models.store.transaction() as tx:
            revived = retry_all_dead(tx, now=models.clock())
        log.info("every dead action queued again from the pages", extra={"revived": revived})
        return RedirectResponse(f"{OUTBOX_PATH}?revived={revived}#dead", status_code=303)

    return router
