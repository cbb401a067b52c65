"""GitLab webhooks: verify the X-Gitlab-Token, read Tag Push and Release hooks, name the release."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from bridge.config import GitLabProject
from bridge.connector import WebhookDelivery, WebhookRejectedError
from bridge.domain.events import NoteSource, RecordRef, ReleasePublished, Source, text_digest
from bridge.domain.keys import TagKey
from connectors.webhooks import check_size, json_object, same_secret

from .wire import ZERO_SHA, mapping, parse_time, release_removed

TAG_PUSH = "Tag Push Hook"
RELEASE = "Release Hook"
# object_kind of the payload, for a delivery whose X-Gitlab-Event header was lost on the way.
KINDS = {"tag_push": TAG_PUSH, "release": RELEASE}
RELEASE_ACTIONS = ("create", "update", "delete")
TAG_REF_PREFIX = "refs/tags/"


@dataclass(frozen=True)
class WebhookRules:
    """What a GitLab webhook is checked against."""

    secret: SecretStr | None
    projects: Mapping[str, GitLabProject]  # by path with namespace
    max_bytes: int


def parse_gitlab_webhook(
    headers: Mapping[str, str], body: bytes, *, rules: WebhookRules, now: datetime
) -> WebhookDelivery:
    """Verify a delivery and name the release it is about; raise WebhookRejectedError otherwise.

    A well-formed hook we do not act on (another event kind, a project not configured) is accepted
    with no refs: GitLab disables a hook whose deliveries keep failing (webhooks.md, "Auto-disabled
    webhooks"), and that would cost us the hooks we do want.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    _verify_token(lowered.get("x-gitlab-token"), rules.secret)
    check_size(body, rules.max_bytes)
    payload = json_object(body)
    kind = lowered.get("x-gitlab-event") or KINDS.get(str(payload.get("object_kind")), "")
    key = lowered.get("idempotency-key", "").strip()
    if kind not in (TAG_PUSH, RELEASE):
        return WebhookDelivery(key or f"body:{hashlib.sha256(body).hexdigest()}", ())
    shown = mapping(payload.get("project"))
    path = _required_text(shown, "project.path_with_namespace", "path_with_namespace")
    # A project may be configured by its numeric id (bridge.config.GitLabProject.path).
    project = rules.projects.get(path) or rules.projects.get(str(shown.get("id")))
    reading = _tag_push(payload, path) if kind == TAG_PUSH else _release(payload, path)
    if project is None:
        return WebhookDelivery(key or reading.fallback_key, ())
    event = reading.event(project, now)
    ref = RecordRef(
        Source.GITLAB, "release", str(TagKey(project.path, reading.tag)), event.revision if event else None
    )
    return WebhookDelivery(key or reading.fallback_key, (ref,), (event,) if event is not None else ())


def _verify_token(given: str | None, secret: SecretStr | None) -> None:
    if secret is None or not secret.get_secret_value():
        raise WebhookRejectedError(
            401,
            "no GitLab webhook secret is configured: set gitlab.webhook_secret and the same Secret token "
            "on the project hooks; every GitLab webhook is refused until then",
        )
    if given is None:
        raise WebhookRejectedError(401, "the X-Gitlab-Token header is missing")
    if not same_secret(given, secret.get_secret_value()):
        raise WebhookRejectedError(401, "the X-Gitlab-Token header does not match the configured secret")


def _required_text(data: Mapping[str, Any], name: str, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise WebhookRejectedError(422, f"the payload lacks {name}")
    return value


@dataclass(frozen=True)
class Reading:
    """What a hook says about one tag: enough for a dedupe key, and maybe the whole release."""

    kind: str
    path: str
    tag: str
    commit_sha: str | None
    action: str
    note: str | None  # None: the payload does not carry the release note
    released_at: datetime | None = None
    web_url: str | None = None

    @property
    def fallback_key(self) -> str:
        """Tag + commit + note hash, for a GitLab older than 17.4 that sends no Idempotency-Key."""
        note = text_digest(self.note) if self.note is not None else "-"
        return f"{self.path}:{self.tag}:{self.commit_sha or 'none'}:{self.action}:{note}"

    def event(self, project: GitLabProject, now: datetime) -> ReleasePublished | None:
        """The release as the payload proves it, or None when only a re-read can tell."""
        if self.action == "removed":
            return release_removed(project, self.tag, now=now)
        if self.kind != RELEASE or self.action == "delete" or self.note is None or not self.commit_sha:
            # A new tag may get its release a moment later, and a deleted release leaves the tag with
            # its message: the payload does not show the note the release now has.
            return None
        return ReleasePublished(
            project=project.path,
            component=project.component,
            tag=self.tag,
            commit_sha=self.commit_sha,
            note=self.note,
            note_source=NoteSource.RELEASE,
            published_at=self.released_at,
            read_at=now,
            web_url=self.web_url,
        )


def _tag_push(payload: Mapping[str, Any], path: str) -> Reading:
    """A Tag Push Hook: created when `after` is a sha, deleted when it is 40 zeros (webhook_events.md)."""
    ref = _required_text(payload, "ref", "ref")
    after = _required_text(payload, "after", "after")
    if not ref.startswith(TAG_REF_PREFIX) or len(ref) == len(TAG_REF_PREFIX):
        raise WebhookRejectedError(422, f"ref {ref!r} does not name a tag")
    tag = ref[len(TAG_REF_PREFIX) :]
    if after == ZERO_SHA:
        return Reading(TAG_PUSH, path, tag, None, "removed", "")
    commit = _required_text(payload, "checkout_sha", "checkout_sha")
    message = payload.get("message")
    return Reading(TAG_PUSH, path, tag, commit, "pushed", message if isinstance(message, str) else "")


def _release(payload: Mapping[str, Any], path: str) -> Reading:
    """A Release Hook: `tag` and `action` at the top level (lib/gitlab/hook_data/release_builder.rb)."""
    tag = _required_text(payload, "tag", "tag")
    action = _required_text(payload, "action", "action")
    if action not in RELEASE_ACTIONS:
        raise WebhookRejectedError(
            422, f"release action {action!r} is not one of {', '.join(RELEASE_ACTIONS)}"
        )
    commit = mapping(payload.get("commit")).get("id")
    description = payload.get("description")
    url = payload.get("url")
    return Reading(
        RELEASE,
        path,
        tag,
        commit if isinstance(commit, str) and commit else None,
        action,
        description if isinstance(description, str) else "",
        parse_time(payload.get("released_at")),
        url if isinstance(url, str) else None,
    )
