"""GitLab simulator: projects, authentication and error shapes, through python-gitlab and raw HTTP."""

from __future__ import annotations

from typing import Any

import gitlab
import pytest
import requests

from connectors.gitlab.simulator import GitLabApiError, GitLabSimulator

PROJECT = "mhhs/dip-platform"


def test_a_project_is_found_by_url_encoded_path_and_by_id(gl: gitlab.Gitlab, project: dict[str, Any]) -> None:
    by_path = gl.projects.get(PROJECT)
    by_id = gl.projects.get(project["id"])
    assert by_path.id == by_id.id == project["id"]
    assert by_path.path_with_namespace == PROJECT
    assert by_path.default_branch == "main"
    assert by_path.web_url == f"https://gitlab.example.com/{PROJECT}"
    assert by_path.namespace["full_path"] == "mhhs"
    assert gl.projects.get("MHHS/Dip-Platform").id == project["id"], "paths match in any case"


def test_the_raw_request_uses_the_encoded_path(instance: Any, project: dict[str, Any]) -> None:
    reply = requests.get(
        f"{instance.url}/api/v4/projects/mhhs%2Fdip-platform", headers=instance.auth, timeout=5
    )
    assert reply.status_code == 200
    assert reply.json()["id"] == project["id"]
    stats = instance.sim.stats.snapshot()["requests"]
    assert stats == {"GET /api/v4/projects/:id": 1}


def test_a_missing_project_is_gitlabs_404(gl: gitlab.Gitlab, instance: Any) -> None:
    with pytest.raises(gitlab.GitlabGetError) as caught:
        gl.projects.get("mhhs/nothing")
    assert caught.value.response_code == 404
    assert caught.value.error_message == "404 Project Not Found"
    raw = requests.get(f"{instance.url}/api/v4/projects/999", headers=instance.auth, timeout=5)
    assert raw.json() == {"message": "404 Project Not Found"}


def test_wrong_or_missing_credentials_are_401(instance: Any, project: dict[str, Any]) -> None:
    bad = gitlab.Gitlab(instance.url, private_token="glpat-wrong")
    with pytest.raises(gitlab.GitlabAuthenticationError) as caught:
        bad.auth()
    assert caught.value.response_code == 401
    with pytest.raises(gitlab.GitlabAuthenticationError):
        bad.projects.get(PROJECT)
    anonymous = requests.get(f"{instance.url}/api/v4/projects/1", timeout=5)
    assert (anonymous.status_code, anonymous.json()) == (401, {"message": "401 Unauthorized"})


def test_a_bearer_token_is_accepted_like_a_private_token(instance: Any, project: dict[str, Any]) -> None:
    # The simulated instance calls itself gitlab.example.com; keep the loopback URL python-gitlab was given.
    oauth = gitlab.Gitlab(instance.url, oauth_token=instance.token, keep_base_url=True)
    oauth.auth()
    assert oauth.user is not None
    assert oauth.user.username == instance.sim.user.username
    assert oauth.projects.get(PROJECT).id == project["id"]


def test_an_unknown_route_and_a_wrong_verb_answer_as_grape_does(instance: Any) -> None:
    headers = instance.auth
    unknown = requests.get(f"{instance.url}/api/v4/nowhere/at/all", headers=headers, timeout=5)
    assert (unknown.status_code, unknown.json()) == (404, {"error": "404 Not Found"})
    wrong = requests.patch(f"{instance.url}/api/v4/projects/1/repository/tags", headers=headers, timeout=5)
    assert (wrong.status_code, wrong.json()) == (405, {"error": "405 Not Allowed"})


def test_projects_are_created_through_the_api_in_an_existing_group(
    gl: gitlab.Gitlab, project: dict[str, Any]
) -> None:
    created = gl.projects.create({"name": "Helix Settlement", "namespace_id": project["namespace"]["id"]})
    assert created.path == "helix-settlement"
    assert created.path_with_namespace == "mhhs/helix-settlement"
    assert gl.projects.get("mhhs/helix-settlement").id == created.id
    with pytest.raises(gitlab.GitlabCreateError) as taken:
        gl.projects.create({"name": "Helix Settlement", "namespace_id": project["namespace"]["id"]})
    assert taken.value.response_code == 400
    with pytest.raises(gitlab.GitlabCreateError) as unnamed:
        gl.projects.create({"description": "no name"})
    assert unnamed.value.response_code == 400
    with pytest.raises(gitlab.GitlabCreateError) as nowhere:
        gl.projects.create({"name": "x", "namespace_id": 999})
    assert nowhere.value.error_message == "404 Namespace Not Found"


def test_projects_list_pages_with_gitlabs_headers(instance: Any, sim: GitLabSimulator) -> None:
    for n in range(25):
        instance.clock.advance(1)
        sim.create_project(f"mhhs/component-{n:02d}")
    first = requests.get(f"{instance.url}/api/v4/projects", headers=instance.auth, timeout=5)
    assert len(first.json()) == 20
    assert first.json()[0]["path"] == "component-24", "newest first by default"
    h = first.headers
    assert (h["X-Page"], h["X-Per-Page"], h["X-Next-Page"], h["X-Prev-Page"]) == ("1", "20", "2", "")
    assert (h["X-Total"], h["X-Total-Pages"]) == ("25", "2")
    gl = instance.client()
    walked = gl.projects.list(iterator=True, order_by="name", sort="asc")
    assert [p.path for p in walked] == [f"component-{n:02d}" for n in range(25)]


def test_seeding_refuses_what_the_api_refuses(sim: GitLabSimulator, project: dict[str, Any]) -> None:
    with pytest.raises(GitLabApiError) as caught:
        sim.create_project(PROJECT)
    assert caught.value.status == 400
    assert caught.value.body == {
        "message": {"name": ["has already been taken"], "path": ["has already been taken"]}
    }
