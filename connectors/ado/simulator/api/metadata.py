"""Discovery and process metadata over REST: resource locations and areas, work item types, fields."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from connectors.ado.simulator import views
from connectors.ado.simulator.api.call import Call
from connectors.ado.simulator.errors import AdoError
from connectors.ado.simulator.locations import resource_locations
from connectors.ado.simulator.model import AdoModel


def options(model: AdoModel, call: Call) -> Response:
    return JSONResponse(resource_locations())


def resource_areas(model: AdoModel, call: Call) -> Response:
    # An empty list means "everything lives at the organisation URL" to the SDK (api-contracts.md 2.2).
    return JSONResponse({"count": 0, "value": []})


def _type(model: AdoModel, name: str) -> Any:
    wit = model.process.work_item_type(name)
    if wit is None:
        raise AdoError(
            404,
            f"VS402323: Work item type {name} does not exist.",
            "WorkItemTypeNotFoundException",
            event_id=3200,
        )
    return wit


def types(model: AdoModel, call: Call) -> Response:
    return JSONResponse(
        views.collection([views.work_item_type(model, t) for t in model.process.work_item_types])
    )


def type_one(model: AdoModel, call: Call) -> Response:
    return JSONResponse(views.work_item_type(model, _type(model, call.params["type"])))


def type_states(model: AdoModel, call: Call) -> Response:
    return JSONResponse(views.collection(views.states(_type(model, call.params["type"]))))


def type_fields(model: AdoModel, call: Call) -> Response:
    return JSONResponse(
        views.collection(views.work_item_type(model, _type(model, call.params["type"]))["fieldInstances"])
    )


def fields(model: AdoModel, call: Call) -> Response:
    return JSONResponse(views.collection([views.field(model, f) for f in model.process.fields]))


def field_one(model: AdoModel, call: Call) -> Response:
    definition = model.process.field(call.params["field"])
    if definition is None:
        raise AdoError(
            400,
            f"TF51535: Cannot find field {call.params['field']}.",
            "WorkItemTrackingFieldDefinitionNotFoundException",
        )
    return JSONResponse(views.field(model, definition))
