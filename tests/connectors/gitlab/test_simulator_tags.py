"""GitLab simulator: repository tags through python-gitlab: create, get, list, order, pages, delete."""

from __future__ import annotations

import re
from typing import Any

import gitlab
import pytest
import requests

from connectors.gitlab.simulator import GitLabApiError, GitLabSimulator

TAG = "dip-platform/1.0.2.0"
COMMIT_KEYS = [
    "id", "short_id", "created_at", "parent_ids", "title", "message", "author_name", "author_email",
    "authored_date", "committer_name", "committer_email", "committed_date", "trailers",
    "extended_trailers", "web_url",
]  # fmt: skip
GIT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+00:00$")


def test_an_annotated_tag_has_its_own_object_and_the_commit_beneath(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    sha = sim.add_commit(project["id"], "Fix rounding in settlement\n\nAB#1234")
    tag = gl.projects.get(project["id"], lazy=True).tags.create(
        {"tag_name": TAG, "ref": "main", "message": "Release 1.0.2.0"}
    )
    data = tag.asdict()
    assert list(data) == ["name", "message", "target", "commit", "release", "protected", "created_at"]
    assert data["name"] == TAG
    assert data["message"] == "Release 1.0.2.0"
    assert re.fullmatch(r"[0-9a-f]{40}", data["target"]) and data["target"] != sha
    assert list(data["commit"]) == COMMIT_KEYS
    assert data["commit"]["id"] == sha
    assert data["commit"]["short_id"] == sha[:8]
    assert data["commit"]["title"] == "Fix rounding in settlement"
    assert data["commit"]["message"] == "Fix rounding in settlement\n\nAB#1234"
    assert len(data["commit"]["parent_ids"]) == 1
    assert GIT_TIME.match(data["commit"]["authored_date"])
    assert (data["release"], data["protected"]) == (None, False)
    assert data["created_at"] == "2026-03-02T09:00:00.000+00:00"


def test_a_lightweight_tag_targets_the_commit_and_has_no_date(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    sha = sim.add_commit(project["id"], "Fix")
    tag = gl.projects.get(project["id"], lazy=True).tags.create({"tag_name": "v1.0.0.0", "ref": sha[:10]})
    assert (tag.message, tag.target, tag.commit["id"], tag.created_at) == (None, sha, sha, None)


def test_a_tag_name_with_a_slash_is_fetched_url_encoded(
    instance: Any, gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    sim.create_tag(project["id"], TAG, "main", "Release 1.0.2.0")
    tag = gl.projects.get(project["id"], lazy=True).tags.get(TAG)
    assert tag.name == TAG
    assert instance.sim.stats.snapshot()["requests"] == {
        "GET /api/v4/projects/:id/repository/tags/:tag_name": 1
    }
    raw = requests.get(
        instance.api("projects/1/repository/tags/dip-platform%2F9.9.9.9"), headers=instance.auth
    )
    assert (raw.status_code, raw.json()) == (404, {"message": "404 Tag Not Found"})


def test_a_tag_shows_its_release(gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]) -> None:
    sim.create_release(project["id"], TAG, "## Defects fixed\n- 1234", ref="main")
    tag = gl.projects.get(project["id"], lazy=True).tags.get(TAG)
    assert tag.release == {"tag_name": TAG, "description": "## Defects fixed\n- 1234"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"tag_name": TAG, "ref": "main"}, f"Tag {TAG} already exists"),
        ({"tag_name": "v2", "ref": "no-such-branch"}, "Target no-such-branch is invalid"),
        ({"tag_name": "bad..name", "ref": "main"}, "Tag name invalid"),
    ],
)
def test_tag_creation_refusals_are_400_with_gitlabs_words(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any], body: dict[str, str], message: str
) -> None:
    sim.create_tag(project["id"], TAG, "main")
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        gl.projects.get(project["id"], lazy=True).tags.create(body)
    assert (caught.value.response_code, caught.value.error_message) == (400, message)


def test_missing_parameters_are_named_as_grape_names_them(instance: Any, project: dict[str, Any]) -> None:
    reply = requests.post(instance.api("projects/1/repository/tags"), headers=instance.auth, json={})
    assert (reply.status_code, reply.json()) == (400, {"error": "tag_name is missing, ref is missing"})


def test_tags_order_by_name_version_and_update_both_ways(
    instance: Any, gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    for name in ["v1.0.10.0", "v1.0.9.0", "v1.0.2.0"]:
        instance.clock.advance(60)
        sim.add_commit(project["id"], f"work for {name}")
        sim.create_tag(project["id"], name, "main", f"Release {name}")
    tags = gl.projects.get(project["id"], lazy=True).tags

    def names(**options: Any) -> list[str]:
        return [t.name for t in tags.list(get_all=True, **options)]

    assert names() == ["v1.0.2.0", "v1.0.9.0", "v1.0.10.0"], "default: updated, newest first"
    assert names(order_by="updated", sort="asc") == ["v1.0.10.0", "v1.0.9.0", "v1.0.2.0"]
    assert names(order_by="name", sort="asc") == ["v1.0.10.0", "v1.0.2.0", "v1.0.9.0"]
    assert names(order_by="version", sort="asc") == ["v1.0.2.0", "v1.0.9.0", "v1.0.10.0"]
    assert names(order_by="version", sort="desc") == ["v1.0.10.0", "v1.0.9.0", "v1.0.2.0"]
    assert names(search="^v1.0.1") == ["v1.0.10.0"]
    assert names(search="9.0$") == ["v1.0.9.0"]
    assert names(search="0.2") == ["v1.0.2.0"]
    bad = requests.get(instance.api("projects/1/repository/tags?order_by=date"), headers=instance.auth)
    assert (bad.status_code, bad.json()) == (400, {"error": "order_by does not have a valid value"})


def test_45_tags_are_walked_in_pages_of_20(instance: Any, gl: gitlab.Gitlab, sim: GitLabSimulator) -> None:
    sim.create_project("mhhs/dip-platform")
    for n in range(45):
        sim.create_tag(1, f"dip-platform/1.0.{n}.0", "main")
    tags = gl.projects.get(1, lazy=True).tags
    walked = [t.name for t in tags.list(iterator=True, per_page=20, order_by="version", sort="asc")]
    assert walked == [f"dip-platform/1.0.{n}.0" for n in range(45)]
    requests_made = instance.sim.stats.snapshot()["requests"]["GET /api/v4/projects/:id/repository/tags"]
    assert requests_made == 3
    # One page only without get_all/iterator; python-gitlab warns because X-Total shows more.
    with pytest.warns(UserWarning, match="get_all=True"):
        assert len(tags.list(per_page=20)) == 20


def test_the_first_tags_page_carries_gitalys_made_up_offset_headers(
    instance: Any, sim: GitLabSimulator
) -> None:
    # GitalyKeysetPager announces page 2 and total/per_page + 1 pages, even when one page holds all.
    sim.create_project("mhhs/dip-platform")
    for n in range(5):
        sim.create_tag(1, f"v1.0.{n}.0", "main")
    first = requests.get(instance.api("projects/1/repository/tags?per_page=5"), headers=instance.auth)
    h = first.headers
    assert len(first.json()) == 5
    assert (h["X-Page"], h["X-Next-Page"], h["X-Total"], h["X-Total-Pages"]) == ("1", "2", "5", "2")
    assert 'rel="next"' in h["Link"]
    second = requests.get(instance.api("projects/1/repository/tags?per_page=5&page=2"), headers=instance.auth)
    assert second.json() == []
    assert second.headers["X-Next-Page"] == ""
    assert 'rel="next"' not in second.headers["Link"]


def test_link_urls_use_the_requests_own_host(instance: Any, sim: GitLabSimulator) -> None:
    sim.create_project("mhhs/dip-platform")
    for n in range(3):
        sim.create_tag(1, f"v{n}", "main")
    localhost = instance.url.replace("127.0.0.1", "localhost")
    reply = requests.get(
        f"{localhost}/api/v4/projects/mhhs%2Fdip-platform/repository/tags?per_page=2&order_by=name",
        headers=instance.auth,
    )
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', reply.headers["Link"]))
    assert links["next"] == (
        f"{localhost}/api/v4/projects/mhhs%2Fdip-platform/repository/tags?order_by=name&page=2&per_page=2"
    )
    assert set(links) == {"next", "first", "last"}


def test_keyset_pagination_follows_page_token(instance: Any, sim: GitLabSimulator) -> None:
    sim.create_project("mhhs/dip-platform")
    for n in range(5):
        sim.create_tag(1, f"v{n}", "main")
    url = instance.api("projects/1/repository/tags?pagination=keyset&order_by=name&sort=asc&per_page=2")
    seen: list[str] = []
    while url:
        reply = requests.get(url, headers=instance.auth)
        seen += [t["name"] for t in reply.json()]
        assert "X-Total" not in reply.headers
        match = re.search(r'<([^>]+)>; rel="next"', reply.headers.get("Link", ""))
        url = match.group(1) if match else ""
    assert seen == ["v0", "v1", "v2", "v3", "v4"]
    bad = requests.get(
        instance.api("projects/1/repository/tags?pagination=keyset&page_token=nope"), headers=instance.auth
    )
    assert bad.status_code == 422


def test_deleting_a_tag_deletes_its_release(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    sim.create_release(project["id"], TAG, "note", ref="main")
    tags = gl.projects.get(project["id"], lazy=True).tags
    tags.delete(TAG)
    with pytest.raises(gitlab.GitlabGetError):
        tags.get(TAG)
    with pytest.raises(GitLabApiError) as caught:
        sim.get_release(project["id"], TAG)
    assert caught.value.status == 404
    with pytest.raises(gitlab.GitlabDeleteError) as again:
        tags.delete(TAG)
    assert again.value.error_message == "404 Tag Not Found"
