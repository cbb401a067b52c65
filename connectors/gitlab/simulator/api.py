"""The HTTP face of the simulated GitLab: `/api/v4` routes on raw paths, auth, errors, the ASGI app."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from connectors.simulation import SimulatorMiddleware, SystemReplies, control_routes

from .model import GitLabApiError, bad_param
from .paging import PageLink, PageRequest, keyset_page, offset_page, tags_page

if TYPE_CHECKING:
    from .simulator import GitLabSimulator

PREFIX = "/api/v4"
JSON = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One API request as the handlers see it: route parameters, query, body and its own URL."""

    params: dict[str, str]
    query: tuple[tuple[str, str], ...]
    body: JSON
    link: PageLink

    def arg(self, name: str, default: Any = None) -> Any:
        """A parameter from the body or the query string (Grape merges both)."""
        if name in self.body:
            return self.body[name]
        return next((v for k, v in self.query if k == name), default)

    def text(self, name: str, default: str = "") -> str:
        value = self.arg(name, default)
        return default if value is None else str(value)

    def integer(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError as exc:
            raise bad_param(f"{name} is invalid") from exc

    def values(self, name: str) -> list[str]:
        """An array parameter (`refs[]=a&refs[]=b`, or a JSON list in the body)."""
        if isinstance(self.body.get(name), list):
            return [str(v) for v in self.body[name]]
        return [v for k, v in self.query if k in {name, f"{name}[]"}]

    def page(self) -> PageRequest:
        return PageRequest.parse(dict(self.query))


Handler = Callable[["GitLabSimulator", Call], Response]


@dataclass(frozen=True)
class Endpoint:
    """A route: method, path pattern below /api/v4 (`:name` takes one whole segment) and handler."""

    method: str
    pattern: str
    handler: Handler

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        parts = self.pattern.split("/")
        if len(parts) != len(segments):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith(":"):
                params[part[1:]] = segment
            elif part != segment:
                return None
        return params


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)


def listed(items: list[JSON], call: Call) -> Response:
    page, headers = offset_page(items, call.page(), call.link)
    return reply(page, headers=headers)


# --- handlers ---------------------------------------------------------------------------------


def get_user(sim: GitLabSimulator, call: Call) -> Response:
    return reply(sim.current_user())


def get_version(sim: GitLabSimulator, call: Call) -> Response:
    return reply({"version": sim.version, "revision": "0000000000", "kas": {"enabled": False}})


def list_projects(sim: GitLabSimulator, call: Call) -> Response:
    found = sim.list_projects(
        search=call.text("search"),
        order_by=call.text("order_by", "created_at"),
        sort=call.text("sort", "desc"),
    )
    return listed(found, call)


def create_project(sim: GitLabSimulator, call: Call) -> Response:
    name, path = call.arg("name"), call.arg("path")
    if not name and not path:
        raise bad_param("name, path are missing, at least one parameter must be provided")
    namespace_ref = call.arg("namespace_id") or call.arg("namespace")
    created = sim.create_project_in(
        namespace_ref or None,
        name=str(name or path),
        path=str(path or str(name).lower().replace(" ", "-")),
        description=call.arg("description"),
        visibility=call.text("visibility", "private"),
        default_branch=call.text("default_branch", "main"),
    )
    return reply(created, 201)


def get_project(sim: GitLabSimulator, call: Call) -> Response:
    return reply(sim.get_project(call.params["id"]))


def list_branches(sim: GitLabSimulator, call: Call) -> Response:
    return listed(sim.list_branches(call.params["id"], search=call.text("search")), call)


def create_branch(sim: GitLabSimulator, call: Call) -> Response:
    branch, ref = call.text("branch"), call.text("ref")
    _require(branch=branch, ref=ref)
    return reply(sim.create_branch(call.params["id"], branch, ref), 201)


def get_branch(sim: GitLabSimulator, call: Call) -> Response:
    return reply(sim.get_branch(call.params["id"], call.params["branch"]))


def list_commits(sim: GitLabSimulator, call: Call) -> Response:
    every = call.text("all").lower() == "true"
    found = sim.list_commits(call.params["id"], ref_name=call.arg("ref_name"), all_refs=every)
    return listed(found, call)


def get_commit(sim: GitLabSimulator, call: Call) -> Response:
    return reply(sim.get_commit(call.params["id"], call.params["sha"]))


def merge_base(sim: GitLabSimulator, call: Call) -> Response:
    refs = call.values("refs")
    if not refs:
        raise bad_param("refs is missing")
    return reply(sim.merge_base(call.params["id"], refs))


def list_tags(sim: GitLabSimulator, call: Call) -> Response:
    found = sim.list_tags(
        call.params["id"],
        order_by=call.text("order_by", "updated"),
        sort=call.text("sort", "desc"),
        search=call.text("search"),
    )
    if call.text("pagination") == "keyset":
        names = [t["name"] for t in found]
        try:
            page, headers = keyset_page(found, names, call.arg("page_token"), call.page().per_page, call.link)
        except KeyError as exc:
            # lib/api/tags.rb answers Gitlab::Git::InvalidPageToken with 422.
            raise GitLabApiError(422, {"message": "422 Unprocessable Entity"}) from exc
        return reply(page, headers=headers)
    page, headers = tags_page(found, call.page(), call.link)
    return reply(page, headers=headers)


def create_tag(sim: GitLabSimulator, call: Call) -> Response:
    name, ref = call.text("tag_name"), call.text("ref")
    _require(tag_name=name, ref=ref)
    return reply(sim.create_tag(call.params["id"], name, ref, call.arg("message")), 201)


def get_tag(sim: GitLabSimulator, call: Call) -> Response:
    return reply(sim.get_tag(call.params["id"], call.params["tag_name"]))


def delete_tag(sim: GitLabSimulator, call: Call) -> Response:
    sim.delete_tag(call.params["id"], call.params["tag_name"])
    return Response(status_code=204)


def list_releases(sim: GitLabSimulator, call: Call) -> Response:
    found = sim.list_releases(
        call.params["id"], order_by=call.text("order_by", "released_at"), sort=call.text("sort", "desc")
    )
    return listed(found, call)


def create_release(sim: GitLabSimulator, call: Call) -> Response:
    tag_name = call.text("tag_name")
    _require(tag_name=tag_name)
    created = sim.create_release(
        call.params["id"],
        tag_name,
        call.arg("description"),
        name=call.arg("name"),
        ref=call.arg("ref"),
        released_at=call.arg("released_at"),
        tag_message=call.arg("tag_message"),
    )
    return reply(created, 201)


def get_release(sim: GitLabSimulator, call: Call) -> Response:
    return reply(sim.get_release(call.params["id"], call.params["tag_name"]))


def update_release(sim: GitLabSimulator, call: Call) -> Response:
    updated = sim.update_release(
        call.params["id"],
        call.params["tag_name"],
        name=call.arg("name"),
        description=call.arg("description"),
        released_at=call.arg("released_at"),
    )
    return reply(updated)


def delete_release(sim: GitLabSimulator, call: Call) -> Response:
    return reply(sim.delete_release(call.params["id"], call.params["tag_name"]))


def list_hooks(sim: GitLabSimulator, call: Call) -> Response:
    return listed(sim.list_hooks(call.params["id"]), call)


def create_hook(sim: GitLabSimulator, call: Call) -> Response:
    return reply(sim.save_hook(call.params["id"], None, _hook_params(call)), 201)


def get_hook(sim: GitLabSimulator, call: Call) -> Response:
    return reply(sim.get_hook(call.params["id"], call.integer("hook_id")))


def update_hook(sim: GitLabSimulator, call: Call) -> Response:
    return reply(sim.save_hook(call.params["id"], call.integer("hook_id"), _hook_params(call)))


def delete_hook(sim: GitLabSimulator, call: Call) -> Response:
    sim.delete_hook(call.params["id"], call.integer("hook_id"))
    return Response(status_code=204)


def list_hook_events(sim: GitLabSimulator, call: Call) -> Response:
    found = sim.hook_events(call.params["id"], call.integer("hook_id"), status=call.arg("status"))
    return listed(found, call)


def resend_hook_event(sim: GitLabSimulator, call: Call) -> Response:
    status = sim.resend_hook_event(call.params["id"], call.integer("hook_id"), call.integer("hook_event_id"))
    return reply({"response_status": status}, 201)


def _hook_params(call: Call) -> JSON:
    return {**dict(call.query), **call.body}


def _require(**values: str) -> None:
    """Grape's check of required parameters: `{"error": "tag_name is missing, ref is missing"}`."""
    missing = [f"{name} is missing" for name, value in values.items() if not value]
    if missing:
        raise bad_param(", ".join(missing))


ENDPOINTS = (
    Endpoint("GET", "user", get_user),
    Endpoint("GET", "version", get_version),
    Endpoint("GET", "projects", list_projects),
    Endpoint("POST", "projects", create_project),
    Endpoint("GET", "projects/:id", get_project),
    Endpoint("GET", "projects/:id/repository/branches", list_branches),
    Endpoint("POST", "projects/:id/repository/branches", create_branch),
    Endpoint("GET", "projects/:id/repository/branches/:branch", get_branch),
    Endpoint("GET", "projects/:id/repository/commits", list_commits),
    Endpoint("GET", "projects/:id/repository/commits/:sha", get_commit),
    Endpoint("GET", "projects/:id/repository/merge_base", merge_base),
    Endpoint("GET", "projects/:id/repository/tags", list_tags),
    Endpoint("POST", "projects/:id/repository/tags", create_tag),
    Endpoint("GET", "projects/:id/repository/tags/:tag_name", get_tag),
    Endpoint("DELETE", "projects/:id/repository/tags/:tag_name", delete_tag),
    Endpoint("GET", "projects/:id/releases", list_releases),
    Endpoint("POST", "projects/:id/releases", create_release),
    Endpoint("GET", "projects/:id/releases/:tag_name", get_release),
    Endpoint("PUT", "projects/:id/releases/:tag_name", update_release),
    Endpoint("DELETE", "projects/:id/releases/:tag_name", delete_release),
    Endpoint("GET", "projects/:id/hooks", list_hooks),
    Endpoint("POST", "projects/:id/hooks", create_hook),
    Endpoint("GET", "projects/:id/hooks/:hook_id", get_hook),
    Endpoint("PUT", "projects/:id/hooks/:hook_id", update_hook),
    Endpoint("DELETE", "projects/:id/hooks/:hook_id", delete_hook),
    Endpoint("GET", "projects/:id/hooks/:hook_id/events", list_hook_events),
    Endpoint("POST", "projects/:id/hooks/:hook_id/events/:hook_event_id/resend", resend_hook_event),
)


# --- routing on the raw path ------------------------------------------------------------------


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


def authenticated(sim: GitLabSimulator, request: Request) -> bool:
    """A personal access token in PRIVATE-TOKEN, or the same token as an OAuth-style Bearer."""
    given = request.headers.get("private-token")
    if given is None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        given = value if scheme.lower() == "bearer" else None
    return given == sim.token


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


def build_app(sim: GitLabSimulator) -> Starlette:
    """The ASGI app: /api/v4 behind the kit's middleware, and the kit's /_sim/ controls."""

    async def api(request: Request) -> Response:
        found = find(request.method, segments(request.scope))
        if found.endpoint is None:
            # Grape's catch-all route answers unknown paths; a known path with another verb is a 405.
            if found.path_known:
                return reply({"error": "405 Not Allowed"}, 405)
            return reply({"error": "404 Not Found"}, 404)
        if not authenticated(sim, request):
            return reply({"message": "401 Unauthorized"}, 401)
        endpoint, params = found.endpoint, found.params
        try:
            body = await _read_body(request) if request.method in {"POST", "PUT", "PATCH"} else {}
            call = Call(
                params, tuple(parse_qsl(request.url.query, keep_blank_values=True)), body, _link(request)
            )
            # Handlers take the state lock and may wait for a webhook; keep them off the event loop.
            result: Response = await run_in_threadpool(endpoint.handler, sim, call)
            return result
        except GitLabApiError as exc:
            return reply(exc.body, exc.status)

    api_route = Route(PREFIX + "/{path:path}", api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    controls = control_routes(sim.stats, sim.plan, save=sim.save, load=sim.load, deliveries=sim.webhooks)
    return Starlette(
        routes=[*controls, api_route],
        middleware=[
            Middleware(
                SimulatorMiddleware,
                routes=[api_route],
                stats=sim.stats,
                plan=sim.plan,
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
