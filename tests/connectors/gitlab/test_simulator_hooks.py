"""GitLab simulator: project hooks through python-gitlab: add, list, get, edit, delete, refusals."""

from __future__ import annotations

from typing import Any

import gitlab
import pytest
import requests

from connectors.gitlab.simulator import GitLabSimulator

HOOK_KEYS = [
    "id", "url", "name", "description", "project_id", "push_events", "issues_events",
    "confidential_issues_events", "merge_requests_events", "tag_push_events", "note_events",
    "confidential_note_events", "job_events", "pipeline_events", "wiki_page_events", "deployment_events",
    "releases_events", "feature_flag_events", "resource_access_token_events", "repository_update_events",
    "push_events_branch_filter", "enable_ssl_verification", "alert_status", "disabled_until", "url_variables",
    "created_at", "custom_webhook_template", "custom_headers",
]  # fmt: skip


def test_a_hook_is_added_with_gitlabs_defaults_and_never_shows_its_token(
    gl: gitlab.Gitlab, project: dict[str, Any]
) -> None:
    hooks = gl.projects.get(project["id"], lazy=True).hooks
    hook = hooks.create(
        {"url": "https://bridge.example/hooks/gitlab", "token": "s3cret", "tag_push_events": True}
    )
    data = hook.asdict()
    assert list(data) == HOOK_KEYS
    assert "token" not in data
    assert (data["push_events"], data["tag_push_events"], data["releases_events"]) == (True, True, False)
    assert data["created_at"] == "2026-03-02T09:00:00.000Z"
    assert [h.id for h in hooks.list(get_all=True)] == [hook.id]


def test_a_hook_is_edited_with_save_and_deleted(
    gl: gitlab.Gitlab, sim: GitLabSimulator, project: dict[str, Any]
) -> None:
    hooks = gl.projects.get(project["id"], lazy=True).hooks
    hook = hooks.create({"url": "https://bridge.example/hooks/gitlab", "token": "s3cret"})
    hook.url = "https://bridge2.example/hooks/gitlab"
    hook.releases_events = True
    hook.save()
    again = hooks.get(hook.id)
    assert (again.url, again.releases_events, again.push_events) == (
        "https://bridge2.example/hooks/gitlab",
        True,
        True,
    )
    assert sim.save()["projects"][0]["hooks"][0]["token"] == "s3cret", "a save without a token keeps it"
    hooks.delete(hook.id)
    with pytest.raises(gitlab.GitlabGetError) as caught:
        hooks.get(hook.id)
    assert (caught.value.response_code, caught.value.error_message) == (404, "404 Not found")


def test_hook_refusals(instance: Any, gl: gitlab.Gitlab, project: dict[str, Any]) -> None:
    hooks = gl.projects.get(project["id"], lazy=True).hooks
    with pytest.raises(gitlab.GitlabCreateError) as bad_url:
        hooks.create({"url": "not a url"})
    assert (bad_url.value.response_code, bad_url.value.error_message) == (422, "Invalid url given")
    with pytest.raises(gitlab.GitlabDeleteError):
        hooks.delete(42)
    no_url = requests.post(instance.api("projects/1/hooks"), headers=instance.auth, json={})
    assert (no_url.status_code, no_url.json()) == (400, {"error": "url is missing"})
    bad_flag = requests.post(
        instance.api("projects/1/hooks"),
        headers=instance.auth,
        json={"url": "http://x.example", "push_events": "maybe"},
    )
    assert (bad_flag.status_code, bad_flag.json()) == (400, {"error": "push_events is invalid"})
    bad_id = requests.get(instance.api("projects/1/hooks/abc"), headers=instance.auth)
    assert (bad_id.status_code, bad_id.json()) == (400, {"error": "hook_id is invalid"})
