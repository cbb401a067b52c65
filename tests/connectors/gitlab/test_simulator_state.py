"""GitLab simulator: saving and loading state, the /_sim/ controls, and request accounting by route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gitlab
import pytest
import requests

from connectors.gitlab.simulator import GitLabSimulator


def _seed(sim: GitLabSimulator) -> None:
    sim.create_project("mhhs/dip-platform")
    sim.add_commit(1, "Fix rounding")
    sim.create_release(1, "dip-platform/1.0.2.0", "note", ref="main", tag_message="Release 1.0.2.0")
    sim.add_hook(1, "http://127.0.0.1:9/hooks/gitlab", token="s3cret")


def test_state_round_trips_through_json(tmp_path: Path, clock: Any) -> None:
    first = GitLabSimulator(token="t", clock=clock)
    _seed(first)
    first.save_to(tmp_path / "gitlab.json")
    second = GitLabSimulator(token="t", clock=clock)
    second.load_from(tmp_path / "gitlab.json")
    assert second.save() == first.save()
    assert second.get_release(1, "dip-platform/1.0.2.0") == first.get_release(1, "dip-platform/1.0.2.0")
    assert second.list_tags("mhhs/dip-platform") == first.list_tags("mhhs/dip-platform")
    assert second.create_project("mhhs/other")["id"] == 2, "ids continue after a load"
    first.close()
    second.close()


def test_state_is_read_and_replaced_over_http(instance: Any, gl: gitlab.Gitlab, clock: Any) -> None:
    source = GitLabSimulator(token="t", clock=clock)
    _seed(source)
    put = requests.put(f"{instance.url}/_sim/state", json=source.save())
    assert put.json() == {"loaded": True}
    assert gl.projects.get("mhhs/dip-platform").releases.get("dip-platform/1.0.2.0").description == "note"
    got = requests.get(f"{instance.url}/_sim/state").json()
    assert json.dumps(got, sort_keys=True) == json.dumps(source.save(), sort_keys=True)
    bad = requests.put(f"{instance.url}/_sim/state", json={"counters": "nope"})
    assert bad.status_code == 400
    source.close()


def test_requests_are_counted_by_gitlab_route(
    instance: Any, gl: gitlab.Gitlab, project: dict[str, Any]
) -> None:
    remote = gl.projects.get("mhhs/dip-platform")
    remote.tags.create({"tag_name": "a/b", "ref": "main"})
    remote.tags.get("a/b")
    remote.releases.list()
    requests.get(instance.api("nowhere"), headers=instance.auth)
    assert requests.get(f"{instance.url}/_sim/stats").json()["requests"] == {
        "GET /api/v4/nowhere": 1,
        "GET /api/v4/projects/:id": 1,
        "GET /api/v4/projects/:id/releases": 1,
        "GET /api/v4/projects/:id/repository/tags/:tag_name": 1,
        "POST /api/v4/projects/:id/repository/tags": 1,
    }


def test_a_bad_state_is_refused_in_process(sim: GitLabSimulator) -> None:
    with pytest.raises(ValueError):
        sim.load({"counters": {}, "namespaces": [{"id": "x"}], "projects": [], "hook_events": []})
