"""The GitLab REST API v4 routes the simulator serves, and their handlers."""

from __future__ import annotations

from starlette.responses import Response

from ..errors import GitLabApiError, bad_param
from ..paging import keyset_page, tags_page
from .call import JSON, Backend, Call, Endpoint, listed, reply, require


def get_user(gl: Backend, call: Call) -> Response:
    return reply(gl.model.projects.current_user())


def get_version(gl: Backend, call: Call) -> Response:
    return reply({"version": gl.version, "revision": "0000000000", "kas": {"enabled": False}})


def list_projects(gl: Backend, call: Call) -> Response:
    found = gl.model.projects.list_projects(
        search=call.text("search"),
        order_by=call.text("order_by", "created_at"),
        sort=call.text("sort", "desc"),
    )
    return listed(found, call)


def create_project(gl: Backend, call: Call) -> Response:
    name, path = call.arg("name"), call.arg("path")
    if not name and not path:
        raise bad_param("name, path are missing, at least one parameter must be provided")
    namespace_ref = call.arg("namespace_id") or call.arg("namespace")
    created = gl.model.projects.create_project_in(
        namespace_ref or None,
        name=str(name or path),
        path=str(path or str(name).lower().replace(" ", "-")),
        description=call.arg("description"),
        visibility=call.text("visibility", "private"),
        default_branch=call.text("default_branch", "main"),
    )
    return reply(created, 201)


def get_project(gl: Backend, call: Call) -> Response:
    return reply(gl.model.projects.get_project(call.params["id"]))


def list_branches(gl: Backend, call: Call) -> Response:
    return listed(gl.model.repository.list_branches(call.params["id"], search=call.text("search")), call)


def create_branch(gl: Backend, call: Call) -> Response:
    branch, ref = call.text("branch"), call.text("ref")
    require(branch=branch, ref=ref)
    return reply(gl.model.repository.create_branch(call.params["id"], branch, ref), 201)


def get_branch(gl: Backend, call: Call) -> Response:
    return reply(gl.model.repository.get_branch(call.params["id"], call.params["branch"]))


def list_commits(gl: Backend, call: Call) -> Response:
    every = call.text("all").lower() == "true"
    found = gl.model.repository.list_commits(call.params["id"], ref_name=call.arg("ref_name"), all_refs=every)
    return listed(found, call)


def get_commit(gl: Backend, call: Call) -> Response:
    return reply(gl.model.repository.get_commit(call.params["id"], call.params["sha"]))


def merge_base(gl: Backend, call: Call) -> Response:
    refs = call.values("refs")
    if not refs:
        raise bad_param("refs is missing")
    return reply(gl.model.repository.merge_base(call.params["id"], refs))


def list_tags(gl: Backend, call: Call) -> Response:
    found = gl.model.tags.list_tags(
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


def create_tag(gl: Backend, call: Call) -> Response:
    name, ref = call.text("tag_name"), call.text("ref")
    require(tag_name=name, ref=ref)
    return reply(gl.model.tags.create_tag(call.params["id"], name, ref, call.arg("message")), 201)


def get_tag(gl: Backend, call: Call) -> Response:
    return reply(gl.model.tags.get_tag(call.params["id"], call.params["tag_name"]))


def delete_tag(gl: Backend, call: Call) -> Response:
    gl.model.tags.delete_tag(call.params["id"], call.params["tag_name"])
    return Response(status_code=204)


def list_releases(gl: Backend, call: Call) -> Response:
    found = gl.model.tags.list_releases(
        call.params["id"], order_by=call.text("order_by", "released_at"), sort=call.text("sort", "desc")
    )
    return listed(found, call)


def create_release(gl: Backend, call: Call) -> Response:
    tag_name = call.text("tag_name")
    require(tag_name=tag_name)
    created = gl.model.tags.create_release(
        call.params["id"],
        tag_name,
        call.arg("description"),
        name=call.arg("name"),
        ref=call.arg("ref"),
        released_at=call.arg("released_at"),
        tag_message=call.arg("tag_message"),
    )
    return reply(created, 201)


def get_release(gl: Backend, call: Call) -> Response:
    return reply(gl.model.tags.get_release(call.params["id"], call.params["tag_name"]))


def update_release(gl: Backend, call: Call) -> Response:
    updated = gl.model.tags.update_release(
        call.params["id"],
        call.params["tag_name"],
        name=call.arg("name"),
        description=call.arg("description"),
        released_at=call.arg("released_at"),
    )
    return reply(updated)


def delete_release(gl: Backend, call: Call) -> Response:
    return reply(gl.model.tags.delete_release(call.params["id"], call.params["tag_name"]))


def list_hooks(gl: Backend, call: Call) -> Response:
    return listed(gl.hooks.list_hooks(call.params["id"]), call)


def create_hook(gl: Backend, call: Call) -> Response:
    return reply(gl.hooks.save_hook(call.params["id"], None, _hook_params(call)), 201)


def get_hook(gl: Backend, call: Call) -> Response:
    return reply(gl.hooks.get_hook(call.params["id"], call.integer("hook_id")))


def update_hook(gl: Backend, call: Call) -> Response:
    return reply(gl.hooks.save_hook(call.params["id"], call.integer("hook_id"), _hook_params(call)))


def delete_hook(gl: Backend, call: Call) -> Response:
    gl.hooks.delete_hook(call.params["id"], call.integer("hook_id"))
    return Response(status_code=204)


def list_hook_events(gl: Backend, call: Call) -> Response:
    found = gl.hooks.hook_events(call.params["id"], call.integer("hook_id"), status=call.arg("status"))
    return listed(found, call)


def resend_hook_event(gl: Backend, call: Call) -> Response:
    status = gl.hooks.resend_hook_event(
        call.params["id"], call.integer("hook_id"), call.integer("hook_event_id")
    )
    return reply({"response_status": status}, 201)


def _hook_params(call: Call) -> JSON:
    return {**dict(call.query), **call.body}


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
