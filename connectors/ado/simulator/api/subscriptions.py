"""Service hook subscriptions over REST: list, create (the Web Hooks consumer only), read, delete."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from connectors.ado.simulator import hooks, views
from connectors.ado.simulator.api.call import Call
from connectors.ado.simulator.errors import AdoError, bad_argument
from connectors.ado.simulator.model import AdoModel


def subscriptions(model: AdoModel, call: Call) -> Response:
    if call.method == "GET":
        subs = [
            hooks.shown(s)
            for s in model.subscriptions.values()
            if call.query.get("eventtype", s["eventType"]) == s["eventType"]
        ]
        return JSONResponse(views.collection(subs))
    body = call.json()
    if not isinstance(body, dict):
        raise bad_argument("The subscription must be a JSON object.")
    inputs = body.get("consumerInputs") or {}
    if body.get("consumerId", "webHooks") != "webHooks" or not inputs.get("url"):
        raise bad_argument("Only the webHooks consumer with a `url` input is simulated.")
    auth = None
    if inputs.get("basicAuthUsername") or inputs.get("basicAuthPassword"):
        auth = (str(inputs.get("basicAuthUsername", "")), str(inputs.get("basicAuthPassword", "")))
    headers = dict(
        line.split(":", 1) for line in str(inputs.get("httpHeaders", "")).splitlines() if ":" in line
    )
    try:
        sub = hooks.new_subscription(
            model,
            str(body.get("eventType")),
            str(inputs["url"]),
            basic_auth=auth,
            headers={k.strip(): v.strip() for k, v in headers.items()},
            publisher_inputs={k: str(v) for k, v in (body.get("publisherInputs") or {}).items()},
        )
    except ValueError as exc:
        raise bad_argument(str(exc)) from exc
    model.add_subscription(sub)
    return JSONResponse(hooks.shown(sub))


def subscription_one(model: AdoModel, call: Call) -> Response:
    sub = model.subscriptions.get(call.params["sid"])
    if sub is None:
        raise AdoError(
            404,
            f"Subscription {call.params['sid']} does not exist.",
            "SubscriptionNotFoundException",
            namespace="Microsoft.VisualStudio.Services.ServiceHooks",
        )
    if call.method == "DELETE":
        with model.lock:
            model.subscriptions.pop(call.params["sid"], None)
        return Response(status_code=204)
    return JSONResponse(hooks.shown(sub))
