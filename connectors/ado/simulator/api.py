"""The simulated organisation's REST routes: case-insensitive matching, auth, api-versions, handlers."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.ado.simulator import hooks, views, wiql
from connectors.ado.simulator.errors import AdoError, bad_argument, unauthorized
from connectors.ado.simulator.locations import resource_locations
from connectors.ado.simulator.store import (
    MAX_BATCH_IDS,
    MAX_WIQL_RESULTS,
    AdoStore,
    check_expand,
    format_date,
)
from connectors.ado.simulator.versions import ApiVersion, negotiate, requested

_ORG = r"/(?P<org>[^/]+)"
# Project (and team) names cannot start with "_" in ADO, which keeps them apart from `_apis`.
_PROJECT = _ORG + r"(?:/(?P<project>[^/_][^/]*))?"
_TEAM = _PROJECT + r"(?:/(?P<team>[^/_][^/]*))?"
_WIT = _PROJECT + r"/_apis/wit"


@dataclass(frozen=True)
class Call:
    """One API request, decoded: route values, query (keys in lower case), body, version, caller."""

    method: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    version: ApiVersion | None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except json.JSONDecodeError as exc:
            raise AdoError(
                400,
                f"The request body is not valid JSON: {exc.msg}.",
                "VssRequestContentException",
                namespace="Microsoft.VisualStudio.Services.WebApi",
            ) from exc

    def flag(self, name: str) -> bool:
        return self.query.get(name.lower(), "").lower() == "true"

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError as exc:
            raise bad_argument(
                f"The value '{self.params[name]}' is not a valid {name}.", "FormatException"
            ) from exc


Handler = Callable[[Call], Response]


@dataclass(frozen=True)
class ApiRoute:
    """A route: methods, a path pattern (matched without case), the template it is counted under."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    versioned: bool = True
    preview_only: bool = False


def _route(
    methods: str,
    pattern: str,
    template: str,
    handler: Handler,
    *,
    versioned: bool = True,
    preview: bool = False,
) -> ApiRoute:
    return ApiRoute(
        frozenset(methods.split()),
        re.compile(f"^{pattern}/?$", re.IGNORECASE),
        template,
        handler,
        versioned,
        preview,
    )


class AdoApi:
    """Serves the REST API over an AdoStore."""

    def __init__(self, store: AdoStore, *, pat: str) -> None:
        self.store = store
        self.pat = pat
        w = "/{org}/{project}/_apis/wit"
        self.routes: list[ApiRoute] = [
            _route("OPTIONS", _ORG + r"/_apis", "/{org}/_apis", self.options, versioned=False),
            _route(
                "GET",
                _ORG + r"/_apis/ResourceAreas(?:/(?P<area>[^/]+))?",
                "/{org}/_apis/ResourceAreas",
                self.resource_areas,
            ),
            _route("PATCH POST", _ORG + r"/_apis/wit/\$batch", "/{org}/_apis/wit/$batch", self.batch_update),
            _route("GET", _WIT + r"/workitems", f"{w}/workItems", self.list_items),
            _route(
                "POST PATCH", _WIT + r"/workitems/\$(?P<type>[^/]+)", f"{w}/workItems/${{type}}", self.create
            ),
            _route("GET", _WIT + r"/workitems/(?P<id>-?\d+)", f"{w}/workItems/{{id}}", self.get_item),
            _route("PATCH", _WIT + r"/workitems/(?P<id>-?\d+)", f"{w}/workItems/{{id}}", self.update),
            _route("POST", _WIT + r"/workitemsbatch", f"{w}/workItemsBatch", self.get_batch),
            _route(
                "GET",
                _WIT + r"/workitems/(?P<id>\d+)/revisions",
                f"{w}/workItems/{{id}}/revisions",
                self.revisions,
            ),
            _route(
                "GET",
                _WIT + r"/workitems/(?P<id>\d+)/revisions/(?P<rev>\d+)",
                f"{w}/workItems/{{id}}/revisions/{{revisionNumber}}",
                self.revision,
            ),
            _route(
                "GET", _WIT + r"/workitems/(?P<id>\d+)/updates", f"{w}/workItems/{{id}}/updates", self.updates
            ),
            _route(
                "GET",
                _WIT + r"/workitems/(?P<id>\d+)/updates/(?P<n>\d+)",
                f"{w}/workItems/{{id}}/updates/{{updateNumber}}",
                self.update_one,
            ),
            _route(
                "GET",
                _WIT + r"/workitems/(?P<id>\d+)/comments",
                f"{w}/workItems/{{workItemId}}/comments",
                self.comments,
                preview=True,
            ),
            _route(
                "POST",
                _WIT + r"/workitems/(?P<id>\d+)/comments",
                f"{w}/workItems/{{workItemId}}/comments",
                self.add_comment,
                preview=True,
            ),
            _route(
                "GET",
                _WIT + r"/workitems/(?P<id>\d+)/comments/(?P<cid>\d+)",
                f"{w}/workItems/{{workItemId}}/comments/{{commentId}}",
                self.comment,
                preview=True,
            ),
            _route("POST", _TEAM + r"/_apis/wit/wiql", "/{org}/{project}/{team}/_apis/wit/wiql", self.query),
            _route("GET", _WIT + r"/workitemtypes", f"{w}/workItemTypes", self.types),
            _route(
                "GET", _WIT + r"/workitemtypes/(?P<type>[^/]+)", f"{w}/workItemTypes/{{type}}", self.type_one
            ),
            _route(
                "GET",
                _WIT + r"/workitemtypes/(?P<type>[^/]+)/states",
                f"{w}/workItemTypes/{{type}}/states",
                self.type_states,
            ),
            _route(
                "GET",
                _WIT + r"/workitemtypes/(?P<type>[^/]+)/fields",
                f"{w}/workItemTypes/{{type}}/fields",
                self.type_fields,
            ),
            _route("GET", _WIT + r"/fields", f"{w}/fields", self.fields),
            _route(
                "GET",
                _WIT + r"/fields/(?P<field>[^/]+)",
                f"{w}/fields/{{fieldNameOrRefName}}",
                self.field_one,
            ),
            _route(
                "GET POST",
                _ORG + r"/_apis/hooks/subscriptions",
                "/{org}/_apis/hooks/subscriptions",
                self.subscriptions,
            ),
            _route(
                "GET DELETE",
                _ORG + r"/_apis/hooks/subscriptions/(?P<sid>[^/]+)",
                "/{org}/_apis/hooks/subscriptions/{subscriptionId}",
                self.subscription_one,
            ),
        ]

    # --- dispatch -------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        allowed: tuple[ApiRoute, dict[str, str]] | None = None
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if method in route.methods:
                return route, {k: v for k, v in found.groupdict().items() if v is not None}
            allowed = allowed or (route, {})
        return allowed

    def template(self, method: str, path: str) -> str:
        """The route template a request is counted under in `/_sim/stats`."""
        found = self.match(method, path)
        return found[0].template if found else path

    async def dispatch(self, request: Request) -> Response:
        path = request.url.path
        self.store.base = f"{request.url.scheme}://{request.url.netloc}"
        try:
            found = self.match(request.method, path)
            if found is None or request.method not in found[0].methods:
                raise AdoError(
                    404,
                    f"The resource '{path}' does not exist.",
                    "ResourceNotFoundException",
                    namespace="Microsoft.VisualStudio.Services.WebApi",
                )
            route, params = found
            self._check_auth(request.headers.get("authorization"))
            self._check_scope(params)
            query = {k.lower(): v for k, v in request.query_params.items()}
            version = None
            if route.versioned:
                text = requested(request.headers.get("accept"), query.get("api-version"))
                version = negotiate(text, request.method, preview_only=route.preview_only)
            call = Call(request.method, params, query, await request.body(), version)
            response = route.handler(call)
        except AdoError as error:
            headers = (
                {"WWW-Authenticate": 'Basic realm="https://dev.azure.com/"'} if error.status == 401 else None
            )
            return error.response(headers)
        if version is not None and response.media_type == "application/json":
            # ADO names the version it answered with in the content type.
            response.headers["content-type"] = f"application/json; charset=utf-8; api-version={version.text}"
        return response

    def _check_auth(self, header: str | None) -> None:
        # A PAT goes as the password of basic auth, with any user name (api-contracts.md 2.1).
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            raise unauthorized()
        try:
            _, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise unauthorized() from exc
        if password != self.pat:
            raise unauthorized(anonymous=False)

    def _check_scope(self, params: Mapping[str, str]) -> None:
        if params.get("org", "").lower() != self.store.organization.lower():
            raise AdoError(
                404,
                f"TF400813: The organization '{params.get('org')}' does not exist or you do not have access "
                "to it.",
                "OrganizationNotFoundException",
                namespace="Microsoft.VisualStudio.Services.Organization",
            )
        project = params.get("project")
        if project is not None and not self.store.is_project(project):
            raise AdoError(
                404,
                f"TF200016: The following project does not exist: {project}. Verify that the name of the "
                "project is correct and that the project exists on the specified Azure DevOps Server.",
                "ProjectDoesNotExistWithNameException",
                namespace="Microsoft.TeamFoundation.Core.WebApi",
            )

    # --- discovery ------------------------------------------------------------------------------

    def options(self, call: Call) -> Response:
        return JSONResponse(resource_locations())

    def resource_areas(self, call: Call) -> Response:
        # An empty list means "everything lives at the organisation URL" to the SDK (api-contracts.md 2.2).
        return JSONResponse({"count": 0, "value": []})

    # --- work items -----------------------------------------------------------------------------

    def _fields_param(self, call: Call) -> list[str] | None:
        raw = call.query.get("fields")
        return self._known_fields([f.strip() for f in raw.split(",") if f.strip()]) if raw else None

    def _known_fields(self, names: list[str]) -> list[str]:
        for name in names:
            if self.store.process.field(name) is None:
                raise AdoError(
                    400,
                    f"TF51535: Cannot find field {name}.",
                    "WorkItemTrackingFieldDefinitionNotFoundException",
                )
        return names

    def _render(
        self, item_id: int, revision: Mapping[str, Any], expand: str, fields: list[str] | None
    ) -> dict[str, Any]:
        return views.work_item(self.store, item_id, revision, expand=expand, fields=fields)

    def get_item(self, call: Call) -> Response:
        item_id = call.int_param("id")
        fields = self._fields_param(call)
        expand = check_expand(call.query.get("$expand"), fields)
        revision = self.store.revision(item_id, as_of=call.query.get("asof"))
        return JSONResponse(self._render(item_id, revision, expand, fields))

    def list_items(self, call: Call) -> Response:
        raw = call.query.get("ids")
        if not raw:
            raise bad_argument("Value cannot be null.\r\nParameter name: ids", "ArgumentNullException")
        try:
            ids = [int(i) for i in raw.split(",") if i.strip()]
        except ValueError as exc:
            raise bad_argument(f"The value '{raw}' is not a valid list of ids.", "FormatException") from exc
        fields = self._fields_param(call)
        expand = check_expand(call.query.get("$expand"), fields)
        policy = call.query.get("errorpolicy", "fail")
        return JSONResponse(views.collection(self._many(ids, fields, expand, call.query.get("asof"), policy)))

    def _many(
        self, ids: list[int], fields: list[str] | None, expand: str, as_of: str | None, policy: str
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
                out.append(self._render(item_id, self.store.revision(item_id, as_of=as_of), expand, fields))
            except AdoError as error:
                # errorPolicy=omit leaves a null where an item is missing (api-contracts.md 2.3).
                if policy.lower() != "omit" or error.status != 404:
                    raise
                out.append(None)
        return out

    def get_batch(self, call: Call) -> Response:
        body = call.json()
        if not isinstance(body, dict) or not isinstance(body.get("ids"), list) or not body["ids"]:
            raise bad_argument("Value cannot be null.\r\nParameter name: ids", "ArgumentNullException")
        fields = self._known_fields([str(f) for f in body.get("fields") or []]) or None
        expand = check_expand(body.get("$expand"), fields)
        ids = [int(i) for i in body["ids"]]
        found = self._many(ids, fields, expand, body.get("asOf"), str(body.get("errorPolicy") or "fail"))
        return JSONResponse(views.collection(found))

    def create(self, call: Call) -> Response:
        revision = self.store.create(
            call.params["type"],
            call.json(),
            bypass_rules=call.flag("bypassRules"),
            validate_only=call.flag("validateOnly"),
        )
        item_id = int(revision["fields"]["System.Id"])
        expand = check_expand(call.query.get("$expand"), None)
        return JSONResponse(self._render(item_id, revision, expand, None))

    def update(self, call: Call) -> Response:
        item_id = call.int_param("id")
        revision = self.store.update(
            item_id,
            call.json(),
            bypass_rules=call.flag("bypassRules"),
            validate_only=call.flag("validateOnly"),
        )
        expand = check_expand(call.query.get("$expand"), None)
        return JSONResponse(self._render(item_id, revision, expand, None))

    def revisions(self, call: Call) -> Response:
        item_id = call.int_param("id")
        expand = check_expand(call.query.get("$expand"), None)
        chosen = _page(self.store.revisions(item_id), call)
        body = [views.work_item(self.store, item_id, r, expand=expand, as_revision=True) for r in chosen]
        return JSONResponse(views.collection(body))

    def revision(self, call: Call) -> Response:
        item_id = call.int_param("id")
        expand = check_expand(call.query.get("$expand"), None)
        found = self.store.revision(item_id, rev=call.int_param("rev"))
        return JSONResponse(views.work_item(self.store, item_id, found, expand=expand, as_revision=True))

    def updates(self, call: Call) -> Response:
        return JSONResponse(views.collection(_page(self.store.updates(call.int_param("id")), call)))

    def update_one(self, call: Call) -> Response:
        updates = self.store.updates(call.int_param("id"))
        number = call.int_param("n")
        if not 1 <= number <= len(updates):
            raise AdoError(
                404,
                f"TF401306: Update {number} of work item {call.params['id']} does not exist.",
                "WorkItemIdRevisionNotFoundException",
                event_id=3200,
            )
        return JSONResponse(updates[number - 1])

    # --- comments -------------------------------------------------------------------------------

    def add_comment(self, call: Call) -> Response:
        body = call.json()
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise bad_argument("Value cannot be null.\r\nParameter name: text", "ArgumentNullException")
        comment_format = (call.query.get("format") or "html").lower()
        created = self.store.add_comment(call.int_param("id"), text, comment_format=comment_format)
        return JSONResponse(views.comment(self.store, created))

    def comments(self, call: Call) -> Response:
        item_id = call.int_param("id")
        every = [
            c for c in self.store.comment_list(item_id) if not c["isDeleted"] or call.flag("includeDeleted")
        ]
        if call.query.get("ids"):
            wanted = {int(i) for i in call.query["ids"].split(",") if i.strip()}
            every = [c for c in every if c["id"] in wanted]
        # Newest first unless `order=asc` [UNVERIFIED default].
        if call.query.get("order", "desc").lower() != "asc":
            every.reverse()
        top = int(call.query.get("$top", "200"))
        start = int(call.query.get("continuationtoken", "0") or 0)
        page = every[start : start + top]
        url = f"{self.store.item_url(item_id)}/comments"
        body: dict[str, Any] = {
            "totalCount": len(every),
            "count": len(page),
            "comments": [views.comment(self.store, c) for c in page],
            "url": url,
        }
        if start + top < len(every):
            body["continuationToken"] = str(start + top)
            body["nextPage"] = f"{url}?continuationToken={start + top}&$top={top}"
        return JSONResponse(body)

    def comment(self, call: Call) -> Response:
        cid = call.int_param("cid")
        for c in self.store.comment_list(call.int_param("id")):
            if c["id"] == cid:
                return JSONResponse(views.comment(self.store, c))
        raise AdoError(
            404,
            f"Comment {cid} does not exist.",
            "CommentNotFoundException",
            namespace="Microsoft.TeamFoundation.Comments.Server",
        )

    # --- WIQL -----------------------------------------------------------------------------------

    def query(self, call: Call) -> Response:
        body = call.json()
        text = body.get("query") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise bad_argument("Value cannot be null.\r\nParameter name: wiql", "ArgumentNullException")
        ctx = wiql.Context(
            project=self.store.project,
            me=self.store.pat_owner,
            today=self.store.clock().astimezone(UTC).date(),
            time_precision=call.flag("timePrecision"),
            field_type=lambda name: d.type if (d := self.store.process.field(name)) else None,
            reference_name=lambda name: d.reference_name if (d := self.store.process.field(name)) else None,
        )
        try:
            parsed = wiql.check_fields(wiql.parse(text), ctx)
            ids = wiql.run(parsed, self.store.rows(), ctx)
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
                "asOf": format_date(self.store.clock()),
                "columns": [views.field_reference(self.store, c) for c in parsed.columns],
                "sortColumns": [
                    {"field": views.field_reference(self.store, f), "descending": d} for f, d in parsed.order
                ],
                "workItems": [{"id": i, "url": self.store.item_url(i)} for i in ids],
            }
        )

    # --- process metadata -----------------------------------------------------------------------

    def _type(self, name: str) -> Any:
        wit = self.store.process.work_item_type(name)
        if wit is None:
            raise AdoError(
                404,
                f"VS402323: Work item type {name} does not exist.",
                "WorkItemTypeNotFoundException",
                event_id=3200,
            )
        return wit

    def types(self, call: Call) -> Response:
        return JSONResponse(
            views.collection(
                [views.work_item_type(self.store, t) for t in self.store.process.work_item_types]
            )
        )

    def type_one(self, call: Call) -> Response:
        return JSONResponse(views.work_item_type(self.store, self._type(call.params["type"])))

    def type_states(self, call: Call) -> Response:
        return JSONResponse(views.collection(views.states(self._type(call.params["type"]))))

    def type_fields(self, call: Call) -> Response:
        return JSONResponse(
            views.collection(
                views.work_item_type(self.store, self._type(call.params["type"]))["fieldInstances"]
            )
        )

    def fields(self, call: Call) -> Response:
        return JSONResponse(views.collection([views.field(self.store, f) for f in self.store.process.fields]))

    def field_one(self, call: Call) -> Response:
        definition = self.store.process.field(call.params["field"])
        if definition is None:
            raise AdoError(
                400,
                f"TF51535: Cannot find field {call.params['field']}.",
                "WorkItemTrackingFieldDefinitionNotFoundException",
            )
        return JSONResponse(views.field(self.store, definition))

    # --- $batch ---------------------------------------------------------------------------------

    def batch_update(self, call: Call) -> Response:
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
                f"VS402337: The batch contains {len(requests)} requests; at most {MAX_BATCH_IDS} are "
                "allowed.",
                "InvalidBatchWorkItemUpdateJsonException",
                event_id=3200,
            )
        results = [self._batch_item(r) for r in requests]
        return JSONResponse(views.collection(results))

    def _batch_item(self, request: object) -> dict[str, Any]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            body = self._run_batch_item(request)
            code = 200
        except AdoError as error:
            body, code = error.body(), error.status
        # ADO returns each item's body as a JSON string, not as an object (api-contracts.md 2.8).
        return {"code": code, "headers": headers, "body": json.dumps(body)}

    def _run_batch_item(self, request: object) -> dict[str, Any]:
        if not isinstance(request, dict):
            raise bad_argument("Each batch request must be an object with method, uri, headers and body.")
        method = str(request.get("method", "")).upper()
        uri = str(request.get("uri", "")).split("?", 1)[0]
        ops = request.get("body")
        created = re.match(
            r"^(?:/(?P<project>[^/_][^/]*))?/_apis/wit/workitems/\$(?P<type>[^/]+)/?$", uri, re.I
        )
        updated = re.match(r"^(?:/(?P<project>[^/_][^/]*))?/_apis/wit/workitems/(?P<id>\d+)/?$", uri, re.I)
        if created and method in {"POST", "PATCH"}:
            self._check_scope(
                {"org": self.store.organization, **{k: v for k, v in created.groupdict().items() if v}}
            )
            revision = self.store.create(created.group("type"), ops)
        elif updated and method == "PATCH":
            self._check_scope(
                {"org": self.store.organization, **{k: v for k, v in updated.groupdict().items() if v}}
            )
            revision = self.store.update(int(updated.group("id")), ops)
        else:
            raise bad_argument(f"The batch request {method} {uri} is not a work item create or update.")
        return views.work_item(self.store, int(revision["fields"]["System.Id"]), revision)

    # --- service hook subscriptions -------------------------------------------------------------

    def subscriptions(self, call: Call) -> Response:
        if call.method == "GET":
            subs = [
                hooks.shown(s)
                for s in self.store.subscriptions.values()
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
                self.store,
                str(body.get("eventType")),
                str(inputs["url"]),
                basic_auth=auth,
                headers={k.strip(): v.strip() for k, v in headers.items()},
                publisher_inputs={k: str(v) for k, v in (body.get("publisherInputs") or {}).items()},
            )
        except ValueError as exc:
            raise bad_argument(str(exc)) from exc
        self.store.add_subscription(sub)
        return JSONResponse(hooks.shown(sub))

    def subscription_one(self, call: Call) -> Response:
        sub = self.store.subscriptions.get(call.params["sid"])
        if sub is None:
            raise AdoError(
                404,
                f"Subscription {call.params['sid']} does not exist.",
                "SubscriptionNotFoundException",
                namespace="Microsoft.VisualStudio.Services.ServiceHooks",
            )
        if call.method == "DELETE":
            with self.store.lock:
                self.store.subscriptions.pop(call.params["sid"], None)
            return Response(status_code=204)
        return JSONResponse(hooks.shown(sub))


def _page(values: list[dict[str, Any]], call: Call) -> list[dict[str, Any]]:
    skip = int(call.query.get("$skip", "0") or 0)
    top = call.query.get("$top")
    chosen = values[skip:]
    return chosen[: int(top)] if top else chosen
