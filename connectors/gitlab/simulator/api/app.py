"""The HTTP face of the simulated GitLab: `/api/v4` routed on raw paths, auth, errors, the ASGI app."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from connectors.simulation import FaultPlan, SimulatorMiddleware, Stats, SystemReplies, control_routes

from ..errors import GitLabApiError, bad_param
from ..hooks import GitLabHooks
from ..model import GitLabModel
from ..paging import PageLink
from .call import JSON, Backend, Call, Endpoint, reply
from .endpoints import ENDPOINTS

PREFIX = "/api/v4"


def segments(scope: Scope) -> list[str] | None:
    """The path below /api/v4, split on `/` before decoding, so `mhhs%2Fdip-platform` stays one segment."""
    raw = scope.get("raw_path") or str(scope.get("path", "")).encode()
    path = bytes(raw).split(b"?", 1)[0].decode("latin-1")
    if not path.startswith(PREFIX + "/"):
        return None
    return [unquote(part) for part in path[len(PREFIX) + 1 :].rstrip("/").split("/")]


@dataclass(frozen=True)
class Found:
    """What the router found for a method and path: the endpoint, or whether the path exists at all."""

    endpoint: Endpoint | None
    params: dict[str, str]
    path_known: bool


def find(method: str, parts: Sequence[str] | None) -> Found:
    path_known = False
    for endpoint in ENDPOINTS if parts is not None else ():
        params = endpoint.match(parts or [])
        if params is not None:
            if endpoint.method == method:
                return Found(endpoint, params, True)
            path_known = True
    return Found(None, {}, path_known)


def route_template(routes: list[BaseRoute], scope: Scope) -> str:
    """The stats key's path part: `/api/v4/projects/:id/repository/tags`, or the raw path."""
    found = find(str(scope.get("method", "")), segments(scope))
    if found.endpoint is not None:
        return f"{PREFIX}/{found.endpoint.pattern}"
    return str(scope.get("path", ""))


def authenticated(token: str, request: Request) -> bool:
    """A personal access token in PRIVATE-TOKEN, or the same token as an OAuth-style Bearer."""
    given = request.headers.get("private-token")
    if given is None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        given = value if scheme.lower() == "bearer" else None
    return given == token


async def _read_body(request: Request) -> JSON:
    raw = await request.body()
    if not raw.strip():
        return {}
    if "json" in request.headers.get("content-type", "") or raw.lstrip().startswith(b"{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise bad_param("The request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise bad_param("The request body must be a JSON object")
        return data
    return dict(parse_qsl(raw.decode(), keep_blank_values=True))


def _link(request: Request) -> PageLink:
    # Built from the request's own Host, so a client never sees another base URL (python-gitlab warns).
    host = request.headers.get("host", f"{request.url.hostname}:{request.url.port}")
    raw_path = bytes(request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    return PageLink(f"{request.url.scheme}://{host}{raw_path}", tuple(parse_qsl(request.url.query)))


def create_app(
    model: GitLabModel, hooks: GitLabHooks, *, token: str, version: str, stats: Stats, plan: FaultPlan
) -> Starlette:
    """The ASGI app: /api/v4 behind the kit's middleware, and the kit's /_sim/ controls."""
    backend = Backend(model, hooks, version)

    async def api(request: Request) -> Response:
        found = find(request.method, segments(request.scope))
        if found.endpoint is None:
            # Grape's catch-all route answers unknown paths; a known path with another verb is a 405.
            if found.path_known:
                return reply({"error": "405 Not Allowed"}, 405)
            return reply({"error": "404 Not Found"}, 404)
        if not authenticated(token, request):
            return reply({"message": "401 Unauthorized"}, 401)
        endpoint, params = found.endpoint, found.params
        try:
            body = await _read_body(request) if request.method in {"POST", "PUT", "PATCH"} else {}
            call = Call(
                params, tuple(parse_qsl(request.url.query, keep_blank_values=True)), body, _link(request)
            )
            # Handlers take the state lock and may wait for a webhook; keep them off the event loop.
            result: Response = await run_in_threadpool(endpoint.handler, backend, call)
            return result
        except GitLabApiError as exc:
            return reply(exc.body, exc.status)

    api_route = Route(PREFIX + "/{path:path}", api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    controls = control_routes(
        stats, plan, save=model.state.save, load=model.state.load, deliveries=hooks.sender
    )
    return Starlette(
        routes=[*controls, api_route],
        middleware=[
            Middleware(
                SimulatorMiddleware,
                routes=[api_route],
                stats=stats,
                plan=plan,
                replies=REPLIES,
                template=route_template,
            )
        ],
    )


def rate_limited(retry_after_s: int) -> Response:
    """A throttled request as Rack::Attack answers it in GitLab (user_and_ip_rate_limits.md)."""
    now = int(time.time())
    reset = now + retry_after_s
    limit = 2000  # GitLab.com's authenticated API limit per minute
    headers = {
        "Retry-After": str(retry_after_s),
        "RateLimit-Name": "throttle_authenticated_api",
        "RateLimit-Limit": str(limit),
        "RateLimit-Observed": str(limit + 1),
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(reset),
        "RateLimit-ResetTime": formatdate(reset, usegmt=True),
    }
    return PlainTextResponse("Retry later\n", 429, headers=headers)


def server_error(status: int) -> Response:
    words = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    return reply({"message": f"{status} {words.get(status, 'Error')}"}, status)


REPLIES = SystemReplies(rate_limited=rate_limited, server_error=server_error)
