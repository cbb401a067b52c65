"""The HTTP face of the simulated organisation: case-insensitive routing, PAT auth, api-versions, the app."""

from __future__ import annotations

import base64
import binascii

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from connectors.ado.simulator import errors
from connectors.ado.simulator.api.call import ApiRoute, Call, check_scope
from connectors.ado.simulator.api.routes import ROUTES
from connectors.ado.simulator.errors import AdoError, unauthorized
from connectors.ado.simulator.model import AdoModel
from connectors.ado.simulator.versions import negotiate, requested
from connectors.simulation import (
    FaultPlan,
    SimulatorMiddleware,
    Stats,
    SystemReplies,
    WebhookSender,
    control_routes,
)

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
REPLIES = SystemReplies(rate_limited=errors.rate_limited, server_error=errors.server_error)


def create_app(
    model: AdoModel, *, pat: str, stats: Stats, plan: FaultPlan, deliveries: WebhookSender
) -> Starlette:
    """The ASGI app: the REST API behind the kit's middleware, and the kit's /_sim/ controls."""

    async def dispatch(request: Request) -> Response:
        path = request.url.path
        model.base = f"{request.url.scheme}://{request.url.netloc}"
        try:
            found = match(request.method, path)
            if found is None or request.method not in found[0].methods:
                raise AdoError(
                    404,
                    f"The resource '{path}' does not exist.",
                    "ResourceNotFoundException",
                    namespace="Microsoft.VisualStudio.Services.WebApi",
                )
            route, params = found
            check_auth(request.headers.get("authorization"), pat)
            check_scope(model, params)
            query = {k.lower(): v for k, v in request.query_params.items()}
            version = None
            if route.versioned:
                text = requested(request.headers.get("accept"), query.get("api-version"))
                version = negotiate(text, request.method, preview_only=route.preview_only)
            call = Call(request.method, params, query, await request.body(), version)
            response = route.handler(model, call)
        except AdoError as error:
            headers = (
                {"WWW-Authenticate": 'Basic realm="https://dev.azure.com/"'} if error.status == 401 else None
            )
            return error.response(headers)
        if version is not None and response.media_type == "application/json":
            # ADO names the version it answered with in the content type.
            response.headers["content-type"] = f"application/json; charset=utf-8; api-version={version.text}"
        return response

    routes: list[BaseRoute] = [Route("/{path:path}", dispatch, methods=ALL_METHODS)]
    return Starlette(
        routes=[
            *control_routes(stats, plan, save=model.save, load=model.load, deliveries=deliveries),
            *routes,
        ],
        middleware=[
            Middleware(
                SimulatorMiddleware,
                routes=routes,
                stats=stats,
                plan=plan,
                replies=REPLIES,
                template=_template,
            )
        ],
    )


def match(method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
    """The route for a method and path; a route of the path with other methods if none has this one."""
    allowed: tuple[ApiRoute, dict[str, str]] | None = None
    for route in ROUTES:
        found = route.pattern.match(path)
        if found is None:
            continue
        if method in route.methods:
            return route, {k: v for k, v in found.groupdict().items() if v is not None}
        allowed = allowed or (route, {})
    return allowed


def template(method: str, path: str) -> str:
    """The route template a request is counted under in `/_sim/stats`."""
    found = match(method, path)
    return found[0].template if found else path


def _template(routes: list[BaseRoute], scope: Scope) -> str:
    return template(str(scope.get("method", "")), str(scope.get("path", "")))


def check_auth(header: str | None, pat: str) -> None:
    """A PAT goes as the password of basic auth, with any user name (api-contracts.md 2.1)."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        raise unauthorized()
    try:
        _, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise unauthorized() from exc
    if password != pat:
        raise unauthorized(anonymous=False)
