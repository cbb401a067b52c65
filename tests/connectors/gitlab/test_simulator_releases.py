"""GitLab simulator: releases through python-gitlab: create (with or without the tag), get, list, update."""

from __future__ import annotations

from typing import Any

import gitlab
import pytest
import requests

from connectors.gitlab.simulator import GitLabSimulator

TAG = "dip-platform/1.0.2.0"
NOTE = "# DIP Platform 1.0.2.0\n\n## Defects fixed\n| ID | Severity |\n|---|---|\n| 1234 | S2 |\n"


def test_a_release_on_an_existing_tag_has_gitlabs_shape(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any], fixture_json: Any
) -> None:
    sha = sim.add_commit(project["id"], "Fix rounding")
    sim.create_tag(project["id"], TAG, "main", "Release 1.0.2.0")
    release = gl.projects.get(project["id"], lazy=True).releases.create(
        {"tag_name": TAG, "description": NOTE}
    )
    assert release.asdict() == fixture_json("release_rest.json")
    assert release.commit["id"] == sha


def test_a_release_creates_its_tag_from_ref(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    sha = sim.add_commit(project["id"], "Fix rounding")
    remote = gl.projects.get(project["id"], lazy=True)
    release = remote.releases.create(
        {"tag_name": TAG, "name": "DIP Platform 1.0.2.0", "description": NOTE, "ref": "main"}
    )
    assert (release.name, release.tag_name, release.commit["id"]) == ("DIP Platform 1.0.2.0", TAG, sha)
    tag = remote.tags.get(TAG)
    assert (tag.target, tag.message) == (sha, None), "a tag made by a release is lightweight"
    assert tag.release == {"tag_name": TAG, "description": NOTE}


def test_release_refusals(
    instance: Any, gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    releases = gl.projects.get(project["id"], lazy=True).releases
    with pytest.raises(gitlab.GitlabCreateError) as no_ref:
        releases.create({"tag_name": TAG, "description": NOTE})
    assert (no_ref.value.response_code, no_ref.value.error_message) == (422, "Ref is not specified")
    releases.create({"tag_name": TAG, "description": NOTE, "ref": "main"})
    with pytest.raises(gitlab.GitlabCreateError) as twice:
        releases.create({"tag_name": TAG, "description": NOTE})
    assert (twice.value.response_code, twice.value.error_message) == (409, "Release already exists")
    with pytest.raises(gitlab.GitlabCreateError) as bad_ref:
        releases.create({"tag_name": "v9", "ref": "nowhere"})
    assert (bad_ref.value.response_code, bad_ref.value.error_message) == (400, "Target nowhere is invalid")
    with pytest.raises(gitlab.GitlabGetError) as missing:
        releases.get("dip-platform/9.9.9.9")
    assert (missing.value.response_code, missing.value.error_message) == (404, "404 Not Found")
    no_tag = requests.put(instance.api("projects/1/releases/v7"), headers=instance.auth, json={"name": "x"})
    assert (no_tag.status_code, no_tag.json()) == (404, {"message": "Tag does not exist"})
    sim.create_tag(project["id"], "v7", "main")
    no_release = requests.put(
        instance.api("projects/1/releases/v7"), headers=instance.auth, json={"name": "x"}
    )
    assert (no_release.status_code, no_release.json()) == (404, {"message": "Release does not exist"})
    empty = requests.put(
        instance.api(f"projects/1/releases/{TAG.replace('/', '%2F')}"), headers=instance.auth
    )
    assert (empty.status_code, empty.json()) == (400, {"message": "params is empty"})


def test_a_release_is_got_by_url_encoded_tag_and_updated_with_save(
    instance: Any, gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    sim.create_release(project["id"], TAG, NOTE, ref="main")
    instance.clock.advance(3600)
    releases = gl.projects.get("mhhs/dip-platform", lazy=True).releases
    release = releases.get(TAG)
    release.description = NOTE + "\n## Known issues\n- 1240\n"
    release.save()
    again = releases.get(TAG)
    assert again.description.endswith("- 1240\n")
    assert again.created_at == "2026-03-02T09:00:00.000Z", "an update keeps the creation time"
    assert instance.sim.stats.snapshot()["requests"] == {
        "GET /api/v4/projects/:id/releases/:tag_name": 2,
        "PUT /api/v4/projects/:id/releases/:tag_name": 1,
    }


def test_releases_list_by_released_or_created_time(
    instance: Any, gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    sim.create_release(project["id"], "v1", "one", ref="main", released_at="2026-01-10T10:00:00Z")
    instance.clock.advance(60)
    sim.create_release(project["id"], "v2", "two", ref="main", released_at="2026-01-05T10:00:00Z")
    instance.clock.advance(60)
    upcoming = sim.create_release(
        project["id"], "v3", "three", ref="main", released_at="2026-12-01T00:00:00Z"
    )
    assert upcoming["upcoming_release"] is True
    releases = gl.projects.get(project["id"], lazy=True).releases

    def tags(**options: Any) -> list[str]:
        return [r.tag_name for r in releases.list(get_all=True, **options)]

    assert tags() == ["v3", "v1", "v2"]
    assert tags(order_by="created_at", sort="asc") == ["v1", "v2", "v3"]
    assert tags(order_by="released_at", sort="asc") == ["v2", "v1", "v3"]


def test_deleting_a_release_keeps_the_tag(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    sim.create_release(project["id"], TAG, NOTE, ref="main")
    remote = gl.projects.get(project["id"], lazy=True)
    remote.releases.delete(TAG)
    assert remote.tags.get(TAG).release is None
    with pytest.raises(gitlab.GitlabDeleteError) as again:
        remote.releases.delete(TAG)
    assert again.value.error_message == "Release does not exist"
