"""The legacy work item `$batch` endpoint: each request runs on its own, one failure stops nothing."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import JSONResponse, Response

from connectors.ado.simulator import views
from connectors.ado.simulator.api.call import Call, check_scope
from connectors.ado.simulator.errors import AdoError, bad_argument
from connectors.ado.simulator.model import MAX_BATCH_IDS, AdoModel


def batch_update(model: AdoModel, call: Call) -> Response:
    """The legacy work item batch endpoint: each request runs on its own; one failure stops nothing."""
    requests = call.json()
    if not isinstance(requests, list):
        raise bad_argument(
            "The batch request must be a JSON array of requests.",
            "InvalidBatchWorkItemUpdateJsonException",
        )
    if len(requests) > MAX_BATCH_IDS:
        raise AdoError(
            400,
            f"VS402337: The batch contains {len(requests)} requests; at most {MAX_BATCH_IDS} are allowed.",
            "InvalidBatchWorkItemUpdateJsonException",
            event_id=3200,
        )
    results = [_batch_item(model, r) for r in requests]
    return JSONResponse(views.collection(results))


def _batch_item(model: AdoModel, request: object) -> dict[str, Any]:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    try:
        body = _run_batch_item(model, request)
        code = 200
    except AdoError as error:
        body, code = error.body(), error.status
    # ADO returns each item's body as a JSON string, not as an object (api-contracts.md 2.8).
    return {"code": code, "headers": headers, "body": json.dumps(body)}


def _run_batch_item(model: AdoModel, request: object) -> dict[str, Any]:
    if not isinstance(request, dict):
        raise bad_argument("Each batch request must be an object with method, uri, headers and body.")
    method = str(request.get("method", "")).upper()
    uri = str(request.get("uri", "")).split("?", 1)[0]
    ops = request.get("body")
    created = re.match(r"^(?:/(?P<project>[^/_][^/]*))?/_apis/wit/workitems/\$(?P<type>[^/]+)/?$", uri, re.I)
    updated = re.match(r"^(?:/(?P<project>[^/_][^/]*))?/_apis/wit/workitems/(?P<id>\d+)/?$", uri, re.I)
    if created and method in {"POST", "PATCH"}:
        check_scope(model, {"org": model.organization, **{k: v for k, v in created.groupdict().items() if v}})
        revision = model.create(created.group("type"), ops)
    elif updated and method == "PATCH":
        check_scope(model, {"org": model.organization, **{k: v for k, v in updated.groupdict().items() if v}})
        revision = model.update(int(updated.group("id")), ops)
    else:
        raise bad_argument(f"The batch request {method} {uri} is not a work item create or update.")
    return views.work_item(model, int(revision["fields"]["System.Id"]), revision)
