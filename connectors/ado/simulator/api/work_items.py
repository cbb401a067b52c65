"""Work items over REST: read one or many, create, update, their revisions and updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

from connectors.ado.simulator import views
from connectors.ado.simulator.api.call import Call
from connectors.ado.simulator.errors import AdoError, bad_argument
from connectors.ado.simulator.model import MAX_BATCH_IDS, AdoModel
from connectors.ado.simulator.revisions import check_expand


def _fields_param(model: AdoModel, call: Call) -> list[str] | None:
    raw = call.query.get("fields")
    return _known_fields(model, [f.strip() for f in raw.split(",") if f.strip()]) if raw else None


def _known_fields(model: AdoModel, names: list[str]) -> list[str]:
    for name in names:
        if model.process.field(name) is None:
            raise AdoError(
                400,
                f"TF51535: Cannot find field {name}.",
                "WorkItemTrackingFieldDefinitionNotFoundException",
            )
    return names


def _render(
    model: AdoModel, item_id: int, revision: Mapping[str, Any], expand: str, fields: list[str] | None
) -> dict[str, Any]:
    return views.work_item(model, item_id, revision, expand=expand, fields=fields)


def get_item(model: AdoModel, call: Call) -> Response:
    item_id = call.int_param("id")
    fields = _fields_param(model, call)
    expand = check_expand(call.query.get("$expand"), fields)
    revision = model.revision(item_id, as_of=call.query.get("asof"))
    return JSONResponse(_render(model, item_id, revision, expand, fields))


def list_items(model: AdoModel, call: Call) -> Response:
    raw = call.query.get("ids")
    if not raw:
        raise bad_argument("Value cannot be null.\r\nParameter name: ids", "ArgumentNullException")
    try:
        ids = [int(i) for i in raw.split(",") if i.strip()]
    except ValueError as exc:
        raise bad_argument(f"The value '{raw}' is not a valid list of ids.", "FormatException") from exc
    fields = _fields_param(model, call)
    expand = check_expand(call.query.get("$expand"), fields)
    policy = call.query.get("errorpolicy", "fail")
    return JSONResponse(views.collection(_many(model, ids, fields, expand, call.query.get("asof"), policy)))


def _many(
    model: AdoModel, ids: list[int], fields: list[str] | None, expand: str, as_of: str | None, policy: str
) -> list[dict[str, Any] | None]:
    if len(ids) > MAX_BATCH_IDS:
        raise bad_argument(
            f"VS402336: The number of work item ids requested ({len(ids)}) exceeds the maximum of "
            f"{MAX_BATCH_IDS}.",
            "ArgumentOutOfRangeException",
        )
    out: list[dict[str, Any] | None] = []
    for item_id in ids:
        try:
            out.append(_render(model, item_id, model.revision(item_id, as_of=as_of), expand, fields))
        except AdoError as error:
            # errorPolicy=omit leaves a null where an item is missing (api-contracts.md 2.3).
            if policy.lower() != "omit" or error.status != 404:
                raise
            out.append(None)
    return out


def get_batch(model: AdoModel, call: Call) -> Response:
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("ids"), list) or not body["ids"]:
        raise bad_argument("Value cannot be null.\r\nParameter name: ids", "ArgumentNullException")
    fields = _known_fields(model, [str(f) for f in body.get("fields") or []]) or None
    expand = check_expand(body.get("$expand"), fields)
    ids = [int(i) for i in body["ids"]]
    found = _many(model, ids, fields, expand, body.get("asOf"), str(body.get("errorPolicy") or "fail"))
    return JSONResponse(views.collection(found))


def create(model: AdoModel, call: Call) -> Response:
    revision = model.create(
        call.params["type"],
        call.json(),
        bypass_rules=call.flag("bypassRules"),
        validate_only=call.flag("validateOnly"),
    )
    item_id = int(revision["fields"]["System.Id"])
    expand = check_expand(call.query.get("$expand"), None)
    return JSONResponse(_render(model, item_id, revision, expand, None))


def update(model: AdoModel, call: Call) -> Response:
    item_id = call.int_param("id")
    revision = model.update(
        item_id,
        call.json(),
        bypass_rules=call.flag("bypassRules"),
        validate_only=call.flag("validateOnly"),
    )
    expand = check_expand(call.query.get("$expand"), None)
    return JSONResponse(_render(model, item_id, revision, expand, None))


def revisions(model: AdoModel, call: Call) -> Response:
    item_id = call.int_param("id")
    expand = check_expand(call.query.get("$expand"), None)
    chosen = _page(model.revisions(item_id), call)
    body = [views.work_item(model, item_id, r, expand=expand, as_revision=True) for r in chosen]
    return JSONResponse(views.collection(body))


def revision(model: AdoModel, call: Call) -> Response:
    item_id = call.int_param("id")
    expand = check_expand(call.query.get("$expand"), None)
    found = model.revision(item_id, rev=call.int_param("rev"))
    return JSONResponse(views.work_item(model, item_id, found, expand=expand, as_revision=True))


def updates(model: AdoModel, call: Call) -> Response:
    return JSONResponse(views.collection(_page(model.updates(call.int_param("id")), call)))


def update_one(model: AdoModel, call: Call) -> Response:
    updates = model.updates(call.int_param("id"))
    number = call.int_param("n")
    if not 1 <= number <= len(updates):
        raise AdoError(
            404,
            f"TF401306: Update {number} of work item {call.params['id']} does not exist.",
            "WorkItemIdRevisionNotFoundException",
            event_id=3200,
        )
    return JSONResponse(updates[number - 1])


def _page(values: list[dict[str, Any]], call: Call) -> list[dict[str, Any]]:
    skip = int(call.query.get("$skip", "0") or 0)
    top = call.query.get("$top")
    chosen = values[skip:]
    return chosen[: int(top)] if top else chosen
