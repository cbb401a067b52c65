"""GitLab simulator: Tag Push and Release hooks, field by field, their headers, faults and resending."""

from __future__ import annotations

import re
from typing import Any

import gitlab
import pytest
import requests

from connectors.gitlab.simulator import GitLabSimulator

TAG = "dip-platform/1.0.2.0"
NOTE = "# DIP Platform 1.0.2.0\n\n## Defects fixed\n| ID | Severity |\n|---|---|\n| 1234 | S2 |\n"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# api-contracts.md 1.2 and 1.3: the top-level keys, in the order GitLab's builders write them.
TAG_PUSH_KEYS = [
    "object_kind", "event_name", "before", "after", "ref", "ref_protected", "checkout_sha", "message",
    "user_id", "user_name", "user_username", "user_email", "user_avatar", "project_id", "project",
    "commits", "total_commits_count", "push_options", "repository",
]  # fmt: skip
RELEASE_KEYS = [
    "id", "created_at", "description", "name", "released_at", "tag", "object_kind", "project", "url",
    "action", "assets", "commit",
]  # fmt: skip
PROJECT_KEYS = [
    "id", "name", "description", "web_url", "avatar_url", "git_ssh_url", "git_http_url", "namespace",
    "visibility_level", "path_with_namespace", "default_branch", "ci_config_path", "homepage", "url",
    "ssh_url", "http_url",
]  # fmt: skip


@pytest.fixture
def hooked(sim: GitLabSimulator, project: dict[str, Any], receiver: Any) -> dict[str, Any]:
    """The project with a commit to release and the bridge's hook on tag push and release events."""
    sim.add_commit(project["id"], "Fix rounding in settlement\n\nAB#1234", author_name="Dana Dev",
                   author_email="dana@example.com")  # fmt: skip
    return sim.add_hook(project["id"], receiver.url, token="hook-s3cret")


def _delivered(sim: GitLabSimulator, receiver: Any) -> list[Any]:
    sim.webhooks.flush()
    return list(receiver.all())


def test_an_annotated_tag_push_payload_field_by_field(
    sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any, fixture_json: Any
) -> None:
    sim.create_tag(1, TAG, "main", "Release 1.0.2.0\n\nDefects fixed: 1234")
    [got] = _delivered(sim, receiver)
    payload = got.json()
    assert list(payload) == TAG_PUSH_KEYS
    assert list(payload["project"]) == PROJECT_KEYS
    assert payload == fixture_json("tag_push_created_annotated.json")
    commit = sim.get_commit(1, "main")
    assert payload["before"] == "0" * 40
    assert payload["after"] == sim.get_tag(1, TAG)["target"] != commit["id"]
    assert payload["checkout_sha"] == commit["id"]
    assert payload["commits"][0]["id"] == commit["id"] and payload["total_commits_count"] == 1


def test_a_lightweight_tag_push_has_no_message_and_points_at_the_commit(
    sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any
) -> None:
    sim.create_tag(1, "v1.0.0.0", "main")
    payload = _delivered(sim, receiver)[0].json()
    sha = sim.get_commit(1, "main")["id"]
    assert (payload["message"], payload["after"], payload["checkout_sha"]) == (None, sha, sha)


def test_delivery_headers_are_gitlabs(sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any) -> None:
    sim.create_tag(1, TAG, "main")
    [got] = _delivered(sim, receiver)
    h = got.headers
    assert h["Content-Type"] == "application/json"
    assert h["User-Agent"] == "GitLab/17.5.0"
    assert h["X-Gitlab-Event"] == "Tag Push Hook"
    assert h["X-Gitlab-Token"] == "hook-s3cret"
    assert h["X-Gitlab-Instance"] == "https://gitlab.example.com"
    for name in ("X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID", "Idempotency-Key"):
        assert UUID.match(h[name]), name
    assert len({h["X-Gitlab-Event-UUID"], h["X-Gitlab-Webhook-UUID"], h["Idempotency-Key"]}) == 3


def test_a_release_made_with_its_tag_sends_both_hooks_under_one_event_uuid(
    gl: gitlab.Gitlab, sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any, fixture_json: Any
) -> None:
    gl.projects.get(1, lazy=True).releases.create({"tag_name": TAG, "description": NOTE, "ref": "main"})
    tag_push, release = _delivered(sim, receiver)
    assert [tag_push.headers["X-Gitlab-Event"], release.headers["X-Gitlab-Event"]] == [
        "Tag Push Hook",
        "Release Hook",
    ]
    assert tag_push.headers["X-Gitlab-Event-UUID"] == release.headers["X-Gitlab-Event-UUID"]
    assert tag_push.headers["Idempotency-Key"] != release.headers["Idempotency-Key"]
    assert tag_push.headers["X-Gitlab-Webhook-UUID"] != release.headers["X-Gitlab-Webhook-UUID"]
    payload = release.json()
    assert list(payload) == RELEASE_KEYS
    assert list(payload["project"]) == PROJECT_KEYS
    assert payload == fixture_json("release_create.json")


def test_release_update_and_delete_hooks_carry_their_action(
    instance: Any, gl: gitlab.Gitlab, sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any
) -> None:
    sim.create_release(1, TAG, NOTE, ref="main")
    instance.clock.advance(90)
    release = gl.projects.get(1, lazy=True).releases.get(TAG)
    release.description = NOTE + "\n## Known issues\n- 1240\n"
    release.save()
    gl.projects.get(1, lazy=True).releases.delete(TAG)
    payloads = [r.json() for r in _delivered(sim, receiver) if r.headers["X-Gitlab-Event"] == "Release Hook"]
    assert [p["action"] for p in payloads] == ["create", "update", "delete"]
    assert payloads[1]["description"].endswith("- 1240\n")
    assert payloads[1]["created_at"] == payloads[0]["created_at"] == "2026-03-02 09:00:00 UTC"
    assert payloads[2]["id"] == payloads[0]["id"]


def test_deleting_a_tag_sends_the_release_delete_then_the_tag_push(
    gl: gitlab.Gitlab, sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any, fixture_json: Any
) -> None:
    sim.create_release(1, TAG, NOTE, ref="main", tag_message="Release 1.0.2.0")
    before = sim.get_tag(1, TAG)["target"]
    _delivered(sim, receiver)
    receiver.received.clear()
    gl.projects.get(1, lazy=True).tags.delete(TAG)
    release, tag_push = _delivered(sim, receiver)
    assert release.json()["action"] == "delete"
    assert release.headers["X-Gitlab-Event-UUID"] == tag_push.headers["X-Gitlab-Event-UUID"]
    payload = tag_push.json()
    assert payload["before"] == before
    assert payload == fixture_json("tag_push_deleted.json")


def test_only_subscribed_hooks_get_an_event(
    sim: GitLabSimulator, project: dict[str, Any], receiver: Any
) -> None:
    sim.add_hook(1, receiver.url + "?tags", releases_events=False)
    sim.add_hook(1, receiver.url + "?releases", tag_push_events=False)
    sim.add_hook(1, receiver.url + "?both")
    sim.create_release(1, TAG, NOTE, ref="main")
    got = _delivered(sim, receiver)
    assert sorted(r.headers["X-Gitlab-Event"] for r in got) == ["Release Hook"] * 2 + ["Tag Push Hook"] * 2
    assert len({r.headers["X-Gitlab-Event-UUID"] for r in got}) == 1, "one request, one event UUID"
    assert len({r.headers["Idempotency-Key"] for r in got}) == 4, "one key per hook execution"
    assert all("X-Gitlab-Token" not in r.headers for r in got), "no token configured, no header"


def test_credentials_in_a_hook_url_become_basic_auth(
    sim: GitLabSimulator, project: dict[str, Any], receiver: Any
) -> None:
    sim.add_hook(1, receiver.url.replace("http://", "http://bridge:pa55@"))
    sim.create_tag(1, "v1", "main")
    [got] = _delivered(sim, receiver)
    assert got.auth == "Basic YnJpZGdlOnBhNTU="


def test_a_duplicated_delivery_repeats_its_idempotency_key(
    instance: Any, sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any
) -> None:
    requests.post(f"{instance.url}/_sim/faults", json={"webhook_duplicate_rate": 1})
    sim.create_tag(1, TAG, "main")
    first, second = _delivered(sim, receiver)
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.headers["X-Gitlab-Webhook-UUID"] == second.headers["X-Gitlab-Webhook-UUID"]


def test_a_held_back_delivery_arrives_after_the_next(
    instance: Any, sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any
) -> None:
    requests.post(f"{instance.url}/_sim/faults", json={"webhook_reorder_rate": 1})
    sim.create_tag(1, "v1", "main")
    sim.create_tag(1, "v2", "main")
    got = [r.json()["ref"] for r in _delivered(sim, receiver)]
    assert got == ["refs/tags/v2", "refs/tags/v1"]


def test_a_lost_delivery_is_logged_and_resent_with_the_same_idempotency_key(
    instance: Any, gl: gitlab.Gitlab, sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any
) -> None:
    requests.post(f"{instance.url}/_sim/faults", json={"webhook_fail_rate": 1})
    sim.create_tag(1, TAG, "main")
    assert _delivered(sim, receiver) == []
    requests.delete(f"{instance.url}/_sim/faults")
    events = requests.get(
        instance.api(f"projects/1/hooks/{hooked['id']}/events"), headers=instance.auth
    ).json()
    [lost] = events
    assert (lost["trigger"], lost["response_status"]) == ("tag_push_hooks", "internal error")
    assert lost["request_headers"]["X-Gitlab-Token"] == "[REDACTED]"
    assert lost["request_data"]["ref"] == f"refs/tags/{TAG}"
    resend = requests.post(
        instance.api(f"projects/1/hooks/{hooked['id']}/events/{lost['id']}/resend"), headers=instance.auth
    )
    assert (resend.status_code, resend.json()) == (201, {"response_status": 200})
    [got] = receiver.all()
    assert got.headers["Idempotency-Key"] == lost["request_headers"]["Idempotency-Key"]
    assert got.headers["X-Gitlab-Webhook-UUID"] != lost["request_headers"]["X-Gitlab-Webhook-UUID"]
    assert got.json() == lost["request_data"]
    delivered = requests.get(
        instance.api(f"projects/1/hooks/{hooked['id']}/events?status=successful"), headers=instance.auth
    ).json()
    assert [e["response_status"] for e in delivered] == ["200"]


def test_a_resend_is_refused_once_the_hook_url_changed(
    instance: Any, gl: gitlab.Gitlab, sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any
) -> None:
    sim.create_tag(1, TAG, "main")
    sim.webhooks.flush()
    [event] = sim.hook_events(1, hooked["id"])
    hook = gl.projects.get(1, lazy=True).hooks.get(hooked["id"])
    hook.url = receiver.url + "?moved"
    hook.save()
    refused = requests.post(
        instance.api(f"projects/1/hooks/{hooked['id']}/events/{event['id']}/resend"), headers=instance.auth
    )
    assert (refused.status_code, refused.json()) == (
        422,
        {"message": "The hook URL has changed, and this log entry cannot be retried"},
    )
    missing = requests.post(
        instance.api(f"projects/1/hooks/{hooked['id']}/events/99/resend"), headers=instance.auth
    )
    assert missing.status_code == 404


def test_a_receiver_error_is_logged_with_its_status(
    sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any
) -> None:
    receiver.status = 500
    sim.create_tag(1, TAG, "main")
    sim.webhooks.flush()
    assert [e["response_status"] for e in sim.hook_events(1, hooked["id"], status="server_failure")] == [
        "500"
    ]
    assert sim.hook_events(1, hooked["id"], status="successful") == []
    receiver.status = 200
    assert sim.resend_hook_event(1, hooked["id"], sim.hook_events(1, hooked["id"])[0]["id"]) == 200
