"""The routes of the simulated organisation: method, path pattern, the template counted in stats, handler."""

from __future__ import annotations

from connectors.ado.simulator.api import batch, comments, metadata, queries, subscriptions, work_items
from connectors.ado.simulator.api.call import ApiRoute, route

_ORG = r"/(?P<org>[^/]+)"
# Project (and team) names cannot start with "_" in ADO, which keeps them apart from `_apis`.
_PROJECT = _ORG + r"(?:/(?P<project>[^/_][^/]*))?"
_TEAM = _PROJECT + r"(?:/(?P<team>[^/_][^/]*))?"
_WIT = _PROJECT + r"/_apis/wit"
_W = "/{org}/{project}/_apis/wit"

ROUTES: tuple[ApiRoute, ...] = (
    route("OPTIONS", _ORG + r"/_apis", "/{org}/_apis", metadata.options, versioned=False),
    route(
        "GET",
        _ORG + r"/_apis/ResourceAreas(?:/(?P<area>[^/]+))?",
        "/{org}/_apis/ResourceAreas",
        metadata.resource_areas,
    ),
    route("PATCH POST", _ORG + r"/_apis/wit/\$batch", "/{org}/_apis/wit/$batch", batch.batch_update),
    route("GET", _WIT + r"/workitems", f"{_W}/workItems", work_items.list_items),
    route(
        "POST PATCH", _WIT + r"/workitems/\$(?P<type>[^/]+)", f"{_W}/workItems/${{type}}", work_items.create
    ),
    route("GET", _WIT + r"/workitems/(?P<id>-?\d+)", f"{_W}/workItems/{{id}}", work_items.get_item),
    route("PATCH", _WIT + r"/workitems/(?P<id>-?\d+)", f"{_W}/workItems/{{id}}", work_items.update),
    route("POST", _WIT + r"/workitemsbatch", f"{_W}/workItemsBatch", work_items.get_batch),
    route(
        "GET",
        _WIT + r"/workitems/(?P<id>\d+)/revisions",
        f"{_W}/workItems/{{id}}/revisions",
        work_items.revisions,
    ),
    route(
        "GET",
        _WIT + r"/workitems/(?P<id>\d+)/revisions/(?P<rev>\d+)",
        f"{_W}/workItems/{{id}}/revisions/{{revisionNumber}}",
        work_items.revision,
    ),
    route(
        "GET", _WIT + r"/workitems/(?P<id>\d+)/updates", f"{_W}/workItems/{{id}}/updates", work_items.updates
    ),
    route(
        "GET",
        _WIT + r"/workitems/(?P<id>\d+)/updates/(?P<n>\d+)",
        f"{_W}/workItems/{{id}}/updates/{{updateNumber}}",
        work_items.update_one,
    ),
    route(
        "GET",
        _WIT + r"/workitems/(?P<id>\d+)/comments",
        f"{_W}/workItems/{{workItemId}}/comments",
        comments.comments,
        preview=True,
    ),
    route(
        "POST",
        _WIT + r"/workitems/(?P<id>\d+)/comments",
        f"{_W}/workItems/{{workItemId}}/comments",
        comments.add_comment,
        preview=True,
    ),
    route(
        "GET",
        _WIT + r"/workitems/(?P<id>\d+)/comments/(?P<cid>\d+)",
        f"{_W}/workItems/{{workItemId}}/comments/{{commentId}}",
        comments.comment,
        preview=True,
    ),
    route("POST", _TEAM + r"/_apis/wit/wiql", "/{org}/{project}/{team}/_apis/wit/wiql", queries.query),
    route("GET", _WIT + r"/workitemtypes", f"{_W}/workItemTypes", metadata.types),
    route("GET", _WIT + r"/workitemtypes/(?P<type>[^/]+)", f"{_W}/workItemTypes/{{type}}", metadata.type_one),
    route(
        "GET",
        _WIT + r"/workitemtypes/(?P<type>[^/]+)/states",
        f"{_W}/workItemTypes/{{type}}/states",
        metadata.type_states,
    ),
    route(
        "GET",
        _WIT + r"/workitemtypes/(?P<type>[^/]+)/fields",
        f"{_W}/workItemTypes/{{type}}/fields",
        metadata.type_fields,
    ),
    route("GET", _WIT + r"/fields", f"{_W}/fields", metadata.fields),
    route(
        "GET",
        _WIT + r"/fields/(?P<field>[^/]+)",
        f"{_W}/fields/{{fieldNameOrRefName}}",
        metadata.field_one,
    ),
    route(
        "GET POST",
        _ORG + r"/_apis/hooks/subscriptions",
        "/{org}/_apis/hooks/subscriptions",
        subscriptions.subscriptions,
    ),
    route(
        "GET DELETE",
        _ORG + r"/_apis/hooks/subscriptions/(?P<sid>[^/]+)",
        "/{org}/_apis/hooks/subscriptions/{subscriptionId}",
        subscriptions.subscription_one,
    ),
)
