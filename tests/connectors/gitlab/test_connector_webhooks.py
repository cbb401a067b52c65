"""GitLab connector webhooks: real deliveries from the simulator and recorded payloads, good and bad."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.connector import WebhookDelivery, WebhookRejectedError
from bridge.domain.events import NoteSource, RecordRef, ReleasePublished, Source
from connectors.gitlab.connector import GitLabConnector
from connectors.gitlab.simulator import GitLabSimulator
from tests.connectors.gitlab import connector_fixtures as fixtures
from tests.connectors.gitlab.connector_fixtures import COMPONENT, PROJECT, SECRET, Connect

connect, connector, sleep = fixtures.connect, fixtures.connector, fixtures.sleep

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gitlab"
TAG = f"{COMPONENT}/1.0.2.0"
REF = RecordRef(Source.GITLAB, "release", f"{PROJECT}:{TAG}")
NOTE = "# DIP Platform 1.0.2.0\n\n## Defects fixed\n| ID | Severity |\n|---|---|\n| 1234 | S2 |\n"


def _recorded(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _headers(event: str, **extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Gitlab-Event": event, "X-Gitlab-Token": SECRET, **extra}


def _rejected(connector: GitLabConnector, headers: dict[str, str], body: bytes) -> WebhookRejectedError:
    with pytest.raises(WebhookRejectedError) as caught:
        connector.parse_webhook(headers, body)
    return caught.value


@pytest.fixture
def hooked(sim: GitLabSimulator, project: dict[str, Any], receiver: Any) -> dict[str, Any]:
    sim.add_commit(project["id"], "Fix rounding in settlement\n\nAB#1234")
    return sim.add_hook(project["id"], receiver.url, token=SECRET)


def _deliveries(sim: GitLabSimulator, receiver: Any) -> list[Any]:
    sim.webhooks.flush()
    return list(receiver.all())


def _parse(connector: GitLabConnector, got: Any) -> WebhookDelivery:
    return connector.parse_webhook(got.headers, got.body)


# --- real deliveries -----------------------------------------------------------------------------


def test_a_release_hook_carries_the_release_and_is_what_a_re_read_shows(
    sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any, connector: GitLabConnector
) -> None:
    sim.create_release(1, TAG, NOTE, ref="main")
    tag_push, release = _deliveries(sim, receiver)
    delivery = _parse(connector, release)
    assert delivery.delivery_key == release.headers["Idempotency-Key"]
    [event] = delivery.events
    assert isinstance(event, ReleasePublished)
    assert (event.tag, event.note, event.note_source) == (TAG, NOTE, NoteSource.RELEASE)
    assert event.commit_sha == sim.get_commit(1, "main")["id"]
    assert event.web_url == f"https://gitlab.example.com/{PROJECT}/-/releases/dip-platform%2F1.0.2.0"
    assert event.published_at is not None and event.published_at.isoformat() == "2026-03-02T09:00:00+00:00"
    assert delivery.refs == (RecordRef(Source.GITLAB, "release", REF.key, event.revision),)
    fetched = connector.fetch(REF)
    assert isinstance(fetched, ReleasePublished) and fetched.revision == event.revision

    pushed = _parse(connector, tag_push)
    assert pushed.refs == (REF,) and pushed.events == ()  # the release may follow: re-read
    assert pushed.delivery_key == tag_push.headers["Idempotency-Key"] != delivery.delivery_key


def test_release_update_and_delete_hooks(
    sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any, connector: GitLabConnector
) -> None:
    sim.create_release(1, TAG, NOTE, ref="main")
    sim.update_release(1, TAG, description=NOTE + "| 1240 | S3 |\n")
    sim.delete_release(1, TAG)
    _, created, updated, deleted = (_parse(connector, got) for got in _deliveries(sim, receiver))
    [before], [after] = created.events, updated.events
    assert isinstance(after, ReleasePublished) and after.note.endswith("| 1240 | S3 |\n")
    assert before.revision != after.revision
    assert deleted.refs == (REF,) and deleted.events == ()  # the tag's message is the note now


def test_a_tag_push_that_deletes_the_tag_says_it_is_removed(
    sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any, connector: GitLabConnector
) -> None:
    sim.create_tag(1, TAG, "main", "Release 1.0.2.0")
    sim.delete_tag(1, TAG)
    created, deleted = (_parse(connector, got) for got in _deliveries(sim, receiver))
    assert created.refs == (REF,) and created.events == ()
    [event] = deleted.events
    assert isinstance(event, ReleasePublished)
    assert (event.tag, event.removed, event.commit_sha) == (TAG, True, None)
    assert connector.fetch(REF) is None


def test_a_redelivery_has_the_same_delivery_key(
    instance: Any, sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any, connector: GitLabConnector
) -> None:
    sim.create_release(1, TAG, NOTE, ref="main")
    first = _deliveries(sim, receiver)[-1]
    [event] = [e for e in sim.hook_events(1, hooked["id"]) if e["trigger"] == "release_hooks"]
    sim.resend_hook_event(1, hooked["id"], event["id"])
    again = _deliveries(sim, receiver)[-1]
    assert again.headers["X-Gitlab-Webhook-UUID"] != first.headers["X-Gitlab-Webhook-UUID"]
    assert _parse(connector, again).delivery_key == _parse(connector, first).delivery_key


def test_hooks_of_one_request_share_an_event_uuid_but_not_a_delivery_key(
    sim: GitLabSimulator, hooked: dict[str, Any], receiver: Any, connector: GitLabConnector
) -> None:
    sim.create_release(1, TAG, NOTE, ref="main")
    tag_push, release = _deliveries(sim, receiver)
    assert tag_push.headers["X-Gitlab-Event-UUID"] == release.headers["X-Gitlab-Event-UUID"]
    assert _parse(connector, tag_push).delivery_key != _parse(connector, release).delivery_key


# --- recorded payloads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "event", "removed", "carries_event"),
    [
        ("tag_push_created_annotated.json", "Tag Push Hook", False, False),
        ("tag_push_created_lightweight.json", "Tag Push Hook", False, False),
        ("tag_push_deleted.json", "Tag Push Hook", True, True),
        ("release_create.json", "Release Hook", False, True),
        ("release_update.json", "Release Hook", False, True),
        ("release_delete.json", "Release Hook", False, False),
    ],
)
def test_recorded_payloads_name_the_release(
    connector: GitLabConnector, name: str, event: str, removed: bool, carries_event: bool
) -> None:
    delivery = connector.parse_webhook(_headers(event, **{"Idempotency-Key": "k-1"}), _recorded(name))
    assert delivery.delivery_key == "k-1"
    assert [(r.source, r.kind, r.key) for r in delivery.refs] == [(REF.source, REF.kind, REF.key)]
    assert len(delivery.events) == int(carries_event)
    if carries_event:
        [found] = delivery.events
        assert isinstance(found, ReleasePublished) and found.removed is removed
        assert delivery.refs[0].revision == found.revision


def test_without_an_idempotency_key_the_key_is_tag_commit_and_note(connector: GitLabConnector) -> None:
    """GitLab before 17.4 sends no Idempotency-Key: the same content is the same delivery."""
    body = _recorded("release_create.json")
    first = connector.parse_webhook(_headers("Release Hook"), body)
    again = connector.parse_webhook(_headers("Release Hook"), body)
    assert first.delivery_key == again.delivery_key
    assert TAG in first.delivery_key
    edited = json.loads(body)
    edited["description"] += "| 1240 | S3 |\n"
    other = connector.parse_webhook(_headers("Release Hook"), json.dumps(edited).encode())
    assert other.delivery_key != first.delivery_key
    pushed = connector.parse_webhook(_headers("Tag Push Hook"), _recorded("tag_push_created_annotated.json"))
    assert pushed.delivery_key != first.delivery_key


def test_header_names_are_matched_in_any_case(connector: GitLabConnector) -> None:
    headers = {k.lower(): v for k, v in _headers("Release Hook", **{"Idempotency-Key": "k-2"}).items()}
    assert connector.parse_webhook(headers, _recorded("release_create.json")).delivery_key == "k-2"


def test_the_event_kind_falls_back_to_object_kind(connector: GitLabConnector) -> None:
    headers = {"X-Gitlab-Token": SECRET}
    assert connector.parse_webhook(headers, _recorded("release_create.json")).refs[0].key == REF.key


# --- accepted and ignored ------------------------------------------------------------------------


def test_a_push_hook_is_accepted_and_names_nothing(connector: GitLabConnector) -> None:
    delivery = connector.parse_webhook(_headers("Push Hook"), _recorded("push_branch.json"))
    assert (delivery.refs, delivery.events) == ((), ())
    assert delivery.delivery_key.startswith("body:")


def test_a_hook_from_a_project_not_configured_is_accepted_and_names_nothing(connect: Connect) -> None:
    connector = connect(projects=("mhhs/helix-settlement",))
    delivery = connector.parse_webhook(_headers("Release Hook"), _recorded("release_create.json"))
    assert (delivery.refs, delivery.events) == ((), ())


def test_a_project_configured_by_its_numeric_id_is_recognised(connect: Connect) -> None:
    connector = connect(projects=("1",))
    delivery = connector.parse_webhook(_headers("Release Hook"), _recorded("release_create.json"))
    assert [r.key for r in delivery.refs] == [f"1:{TAG}"]
    [event] = delivery.events
    assert isinstance(event, ReleasePublished) and event.project == "1"


# --- refused -------------------------------------------------------------------------------------


def test_a_missing_or_wrong_token_is_401_and_the_secret_is_never_echoed(connector: GitLabConnector) -> None:
    body = _recorded("release_create.json")
    missing = _rejected(connector, {"X-Gitlab-Event": "Release Hook"}, body)
    assert (missing.status, str(missing)) == (401, "the X-Gitlab-Token header is missing")
    tampered = SECRET[:-1] + ("x" if SECRET[-1] != "x" else "y")
    wrong = _rejected(connector, {**_headers("Release Hook"), "X-Gitlab-Token": tampered}, body)
    assert wrong.status == 401 and "does not match" in str(wrong)
    assert SECRET not in str(wrong) and tampered not in str(wrong)
    empty = _rejected(connector, {**_headers("Release Hook"), "X-Gitlab-Token": ""}, body)
    assert empty.status == 401


def test_with_no_secret_configured_every_hook_is_refused(connect: Connect) -> None:
    connector = connect(secret=None)
    refused = _rejected(connector, _headers("Release Hook"), _recorded("release_create.json"))
    assert refused.status == 401 and "set gitlab.webhook_secret" in str(refused)


def test_an_oversized_body_is_413(connect: Connect) -> None:
    connector = connect(max_webhook_bytes=1024)
    big = json.loads(_recorded("release_create.json"))
    big["description"] = "x" * 2000
    refused = _rejected(connector, _headers("Release Hook"), json.dumps(big).encode())
    assert refused.status == 413 and "over the limit of 1024" in str(refused)


def test_the_default_limit_is_one_mebibyte(connector: GitLabConnector) -> None:
    body = json.loads(_recorded("release_create.json"))
    body["description"] = "x" * (1024 * 1024)
    assert _rejected(connector, _headers("Release Hook"), json.dumps(body).encode()).status == 413
    body["description"] = "x" * (1024 * 1024 - 4096)
    assert connector.parse_webhook(_headers("Release Hook"), json.dumps(body).encode()).refs


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(connector: GitLabConnector, body: bytes) -> None:
    refused = _rejected(connector, _headers("Release Hook"), body)
    assert refused.status == 400 and "JSON" in str(refused)


@pytest.mark.parametrize(
    ("name", "event", "change", "says"),
    [
        ("release_create.json", "Release Hook", {"tag": None}, "lacks tag"),
        ("release_create.json", "Release Hook", {"action": "publish"}, "release action 'publish'"),
        ("release_create.json", "Release Hook", {"project": {}}, "lacks project.path_with_namespace"),
        ("tag_push_deleted.json", "Tag Push Hook", {"ref": None}, "lacks ref"),
        ("tag_push_deleted.json", "Tag Push Hook", {"ref": "refs/heads/main"}, "does not name a tag"),
        ("tag_push_created_annotated.json", "Tag Push Hook", {"checkout_sha": None}, "lacks checkout_sha"),
        ("tag_push_created_annotated.json", "Tag Push Hook", {"after": ""}, "lacks after"),
    ],
)
def test_a_payload_lacking_what_the_domain_needs_is_422(
    connector: GitLabConnector, name: str, event: str, change: dict[str, Any], says: str
) -> None:
    payload = {**json.loads(_recorded(name)), **change}
    refused = _rejected(connector, _headers(event), json.dumps(payload).encode())
    assert refused.status == 422 and says in str(refused)
