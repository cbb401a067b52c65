"""WIQL over REST: a flat query's work item references, with its columns and order."""

from __future__ import annotations

from datetime import UTC

from starlette.responses import JSONResponse, Response

from connectors.ado.simulator import views, wiql
from connectors.ado.simulator.api.call import Call
from connectors.ado.simulator.errors import AdoError, bad_argument
from connectors.ado.simulator.model import MAX_WIQL_RESULTS, AdoModel
from connectors.ado.simulator.revisions import format_date


def query(model: AdoModel, call: Call) -> Response:
    body = call.json()
    text = body.get("query") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise bad_argument("Value cannot be null.\r\nParameter name: wiql", "ArgumentNullException")
    ctx = wiql.Context(
        project=model.project,
        me=model.pat_owner,
        today=model.clock().astimezone(UTC).date(),
        time_precision=call.flag("timePrecision"),
        field_type=lambda name: d.type if (d := model.process.field(name)) else None,
        reference_name=lambda name: d.reference_name if (d := model.process.field(name)) else None,
    )
    try:
        parsed = wiql.check_fields(wiql.parse(text), ctx)
        ids = wiql.run(parsed, model.rows(), ctx)
    except wiql.WiqlError as exc:
        raise AdoError(400, str(exc), "WorkItemTrackingQueryException", event_id=3200) from exc
    if len(ids) > MAX_WIQL_RESULTS:
        raise AdoError(
            400,
            f"VS402337: The number of work items returned exceeds the size limits of {MAX_WIQL_RESULTS}. "
            "Change the query to return fewer items.",
            "WorkItemTrackingQueryResultSizeLimitExceededException",
            event_id=3200,
        )
    if "$top" in call.query:
        ids = ids[: int(call.query["$top"])]
    return JSONResponse(
        {
            "queryType": "flat",
            "queryResultType": "workItem",
            "asOf": format_date(model.clock()),
            "columns": [views.field_reference(model, c) for c in parsed.columns],
            "sortColumns": [
                {"field": views.field_reference(model, f), "descending": d} for f, d in parsed.order
            ],
            "workItems": [{"id": i, "url": model.item_url(i)} for i in ids],
        }
    )
