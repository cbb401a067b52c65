"""The simulated instance's HTTP face: the Table API routes, authentication, the OAuth token endpoint."""

# Wire facts (paths, parameters, status codes, error bodies, headers) follow the Table API reference and
# `reference/api-contracts.md` section 3; each quirk is explained where it is reproduced.

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.servicenow.simulator import query
from connectors.servicenow.simulator.errors import (
    REPLIES,
    failure,
    hibernation_page,
    json_reply,
    not_found,
    not_supported,
    unauthenticated,
)
from connectors.servicenow.simulator.model import ServiceNowModel
from connectors.servicenow.simulator.oauth import TokenIssuer
from connectors.servicenow.simulator.paging import DEFAULT_LIMIT, link_header, number
from connectors.servicenow.simulator.rendering import View, flag, render
from connectors.servicenow.simulator.tables import Table
from connectors.simulation import (
    CONTROL_PREFIX,
    FaultPlan,
    SimulatorMiddleware,
    Stats,
    WebhookSender,
    control_routes,
)


@dataclass(frozen=True)
class Credentials:
    """The integration user the instance knows, for basic auth and the OAuth password grant."""

    user: str
    password: str

    def match(self, user: str, password: str) -> bool:
        return secrets.compare_digest(user, self.user) and secrets.compare_digest(password, self.password)


def create_app(
    model: ServiceNowModel,
    *,
    credentials: Credentials,
    oauth: TokenIssuer,
    stats: Stats,
    plan: FaultPlan,
    deliveries: WebhookSender,
) -> Starlette:
    """The ASGI app: the Table API behind the kit's middleware, the kit's /_sim/ controls, hibernation."""
    api = TableApi(model, credentials, oauth)
    routes = api.routes()
    return Starlette(
        routes=routes
        + control_routes(stats, plan, save=model.save, load=model.load, deliveries=deliveries)
        + [Route(f"{CONTROL_PREFIX}/hibernate", api.hibernate, methods=["POST"])],
        middleware=[Middleware(SimulatorMiddleware, routes=routes, stats=stats, plan=plan, replies=REPLIES)],
    )


class TableApi:
    """`/api/now[/v1|/v2]/table/{table}[/{sys_id}]` over the model, as one instance answers it."""

    def __init__(self, model: ServiceNowModel, credentials: Credentials, oauth: TokenIssuer) -> None:
        self.model = model
        self.credentials = credentials
        self.oauth = oauth

    def routes(self) -> list[BaseRoute]:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        routes: list[BaseRoute] = []
        for prefix in ("/api/now", "/api/now/{version:str}"):
            routes.append(Route(f"{prefix}/table/{{table}}", self.collection, methods=methods))
            routes.append(Route(f"{prefix}/table/{{table}}/{{sys_id}}", self.member, methods=methods))
        routes.append(Route("/api/{rest:path}", self.unknown, methods=methods))
        routes.append(Route("/oauth_token.do", self.oauth.token_endpoint, methods=["POST"]))
        return routes

    def caller(self, request: Request) -> str | None:
        """The user a request authenticates as (basic auth or an OAuth bearer token), or None."""
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return self.oauth.user_of(credentials.strip())
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if self.credentials.match(user, password) else None

    def _guard(self, request: Request) -> tuple[Table | None, Response | None]:
        """The table a request names, or the reply refusing it (authentication comes first)."""
        if self.model.hibernating:
            return None, hibernation_page()
        if self.caller(request) is None:
            return None, unauthenticated()
        version = request.path_params.get("version", "v2")
        name = request.path_params["table"]
        if version not in {"v1", "v2"}:
            return None, failure(400, "Requested URI does not represent any resource", None)
        if name not in self.model.tables:
            return None, failure(400, f"Invalid table {name}", None)
        return self.model.tables[name], None

    async def hibernate(self, request: Request) -> Response:
        """`POST /_sim/hibernate {"hibernating": true|false}`: put the instance to sleep or wake it."""
        try:
            body = await request.json()
            self.model.hibernating = bool(body["hibernating"])
        except (ValueError, KeyError, TypeError):
            return json_reply({"error": 'send {"hibernating": true|false}'}, 400)
        return json_reply({"hibernating": self.model.hibernating})

    async def unknown(self, request: Request) -> Response:
        if self.model.hibernating:
            return hibernation_page()
        if self.caller(request) is None:
            return unauthenticated()
        return failure(400, "Requested URI does not represent any resource", None)

    async def collection(self, request: Request) -> Response:
        table, refused = self._guard(request)
        if table is None:
            return refused or not_found()
        if request.method == "GET":
            return self._list(request, table)
        if request.method == "POST":
            fields = await _body(request)
            if isinstance(fields, Response):
                return fields
            with self.model.lock:
                row = self.model.insert(table, fields, self._writer(request), by_name=_by_name(request))
                rendered = render(self.model, table, row, View.of(request))
            location = (
                f"{request.url.scheme}://{request.url.netloc}/api/now/table/{table.name}/{row['sys_id']}"
            )
            return _reply(request, {"result": rendered}, 201, {"Location": location})
        return not_supported()

    async def member(self, request: Request) -> Response:
        table, refused = self._guard(request)
        if table is None:
            return refused or not_found()
        sys_id = request.path_params["sys_id"]
        if request.method == "GET":
            with self.model.lock:
                row = self.model.rows[table.name].get(sys_id)
                rendered = render(self.model, table, row, View.of(request)) if row else None
            return not_found() if rendered is None else json_reply({"result": rendered})
        if request.method in {"PUT", "PATCH"}:
            fields = await _body(request)
            if isinstance(fields, Response):
                return fields
            with self.model.lock:
                row = self.model.update(
                    table, sys_id, fields, self._writer(request), by_name=_by_name(request)
                )
                rendered = render(self.model, table, row, View.of(request)) if row else None
            return not_found() if rendered is None else _reply(request, {"result": rendered}, 200)
        if request.method == "DELETE":
            gone = self.model.delete(table, sys_id)
            return not_found() if gone is None else Response(status_code=204)
        return not_supported()

    def _writer(self, request: Request) -> str:
        """Who a write is stamped with: the user the credentials speak for."""
        return self.caller(request) or self.credentials.user

    def _list(self, request: Request, table: Table) -> Response:
        params = request.query_params
        text = params.get("sysparm_query", "")
        if not text:
            # name=value pairs stand in for sysparm_query when it is absent (Table API docs).
            text = "^".join(f"{k}={v}" for k, v in params.items() if not k.startswith("sysparm_"))
        limit = number(params, "sysparm_limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
        offset = number(params, "sysparm_offset", 0)
        view = View.of(request)
        with self.model.lock:
            matched = query.parse(text, table).apply(list(self.model.rows[table.name].values()))
            page = [render(self.model, table, dict(r), view) for r in matched[offset : offset + limit]]
        if not page and request.path_params.get("version") == "v1":
            # Version 1 of the endpoint answers an empty result with 404 (Table API docs, api_version).
            return failure(
                404,
                "No Record found",
                "Records matching query not found. Check query parameter or offset parameter",
            )
        headers: dict[str, str] = {}
        if not flag(params, "sysparm_no_count"):
            headers["X-Total-Count"] = str(len(matched))
        link = link_header(request, len(matched), limit, offset)
        if link and not flag(params, "sysparm_suppress_pagination_header"):
            headers["Link"] = link
        return json_reply({"result": page}, 200, headers)


def _reply(request: Request, body: Any, status: int, headers: Mapping[str, str] | None = None) -> Response:
    # X-no-response-body: true suppresses the body of a write (Table API docs, request headers).
    if request.headers.get("x-no-response-body", "").lower() == "true":
        return Response(status_code=status, headers=dict(headers or {}))
    return json_reply(body, status, headers)


def _by_name(request: Request) -> bool:
    """Whether a write gives references by their records' names (sysparm_input_display_value)."""
    return flag(request.query_params, "sysparm_input_display_value")


async def _body(request: Request) -> Mapping[str, Any] | Response:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        fields = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return failure(400, "Exception while reading request", "The payload is not valid JSON.")
    if not isinstance(fields, dict):
        return failure(400, "Exception while reading request", "The payload is not a JSON object.")
    return fields
