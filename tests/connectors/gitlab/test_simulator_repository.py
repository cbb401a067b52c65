"""GitLab simulator: commits, branches and merge bases (the ancestry carry-forward checks read)."""

from __future__ import annotations

import re
from typing import Any

import gitlab
import pytest
import requests

from connectors.gitlab.simulator import GitLabApiError, GitLabSimulator


def test_commits_have_shas_parents_and_iso_dates(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    first = sim.add_commit(project["id"], "Add settlement run\n\nAB#100")
    second = sim.add_commit(
        project["id"], "Fix rounding", author_name="Dana Dev", author_email="dana@example.com"
    )
    remote = gl.projects.get(project["id"], lazy=True)
    commit = remote.commits.get(second)
    assert re.fullmatch(r"[0-9a-f]{40}", commit.id)
    assert commit.parent_ids == [first]
    assert (commit.title, commit.author_name, commit.author_email) == (
        "Fix rounding",
        "Dana Dev",
        "dana@example.com",
    )
    assert commit.committed_date == "2026-03-02T09:00:00.000+00:00"
    assert commit.project_id == project["id"]
    assert remote.commits.get(first).message == "Add settlement run\n\nAB#100"
    assert remote.commits.get("main").id == second, "a branch name is a ref too"
    history = [c.id for c in remote.commits.list(get_all=True)]
    assert history[:2] == [second, first] and len(history) == 3, "newest first, down to the initial commit"
    with pytest.raises(gitlab.GitlabGetError) as caught:
        remote.commits.get("0" * 40)
    assert caught.value.error_message == "404 Commit Not Found"


def test_branches_are_created_from_a_ref_and_listed(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    remote = gl.projects.get(project["id"], lazy=True)
    branch = remote.branches.create({"branch": "release/1.0.2", "ref": "main"})
    assert branch.name == "release/1.0.2"
    sim.add_commit(project["id"], "Hotfix", branch="release/1.0.2")
    assert remote.branches.get("release/1.0.2").commit["title"] == "Hotfix"
    assert [b.name for b in remote.branches.list(get_all=True)] == ["main", "release/1.0.2"]
    assert remote.branches.get("main").default is True
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        remote.branches.create({"branch": "release/1.0.2", "ref": "main"})
    assert caught.value.error_message == "Branch already exists"
    with pytest.raises(GitLabApiError) as missing:
        sim.add_commit(project["id"], "x", branch="nope")
    assert missing.value.body == {"message": "404 Branch Not Found"}


def test_merge_base_takes_tags_branches_and_shas(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    pid = project["id"]
    base = sim.add_commit(pid, "Release 1.0.1.0 work")
    sim.create_tag(pid, "dip-platform/1.0.1.0", "main")
    sim.create_branch(pid, "hotfix/1.0.1.1", base)
    fix = sim.add_commit(pid, "Emergency fix AB#7", branch="hotfix/1.0.1.1")
    sim.create_tag(pid, "dip-platform/1.0.1.1", "hotfix/1.0.1.1", "Emergency 1.0.1.1")
    sim.add_commit(pid, "Patch work")
    remote = gl.projects.get(pid, lazy=True)
    found = remote.repository_merge_base(["dip-platform/1.0.1.1", "main"])
    assert isinstance(found, dict)
    assert found["id"] == base, "the fix is not on main yet"
    merged = sim.merge(pid, "hotfix/1.0.1.1")
    sim.create_tag(pid, "dip-platform/1.0.2.0", merged)
    carried = remote.repository_merge_base(["dip-platform/1.0.1.1", "dip-platform/1.0.2.0"])
    assert isinstance(carried, dict)
    assert carried["id"] == fix, "the emergency tag's commit is now an ancestor of the patch tag"
    assert remote.repository_merge_base([fix[:12], "main"])["id"] == fix  # type: ignore[index]


def test_merge_base_refusals(instance: Any, sim: GitLabSimulator, project: dict[str, Any]) -> None:
    one = requests.get(instance.api("projects/1/repository/merge_base?refs[]=main"), headers=instance.auth)
    assert (one.status_code, one.json()) == (400, {"message": "Provide at least 2 refs"})
    unknown = requests.get(
        instance.api("projects/1/repository/merge_base?refs[]=main&refs[]=nope&refs[]=gone"),
        headers=instance.auth,
    )
    assert (unknown.status_code, unknown.json()) == (400, {"message": "Could not find refs: nope, gone"})
    with pytest.raises(GitLabApiError) as caught:
        sim.merge_base(project["id"], ["main", "nope"])
    assert caught.value.body == {"message": "Could not find ref: nope"}
