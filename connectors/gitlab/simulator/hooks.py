"""The simulated GitLab's project webhooks: their settings, their deliveries, the log of recent events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from connectors.simulation import Delivery, WebhookSender

from . import entities as ent
from .errors import GitLabApiError, api_message, bad_param
from .model import GitLabState, ProjectRecord, ProjectRef
from .model.records import HOOK_EVENT_DEFAULTS, Hook, HookEvent
from .model.state import JSON, new_event_uuid


class GitLabHooks:
    """Project hooks and what they send, through the kit's sender; each method behaves as its REST call."""

    def __init__(self, state: GitLabState, sender: WebhookSender, *, version: str) -> None:
        self.state = state
        self.sender = sender
        self.version = version

    # --- settings -------------------------------------------------------------------------------

    def add_hook(
        self,
        project_id: ProjectRef,
        url: str,
        *,
        token: str | None = None,
        tag_push_events: bool = True,
        releases_events: bool = True,
        push_events: bool = False,
    ) -> JSON:
        """Add a project hook (seeding form: tag push and release events on by default)."""
        return self.save_hook(
            project_id,
            None,
            {
                "url": url,
                "token": token,
                "tag_push_events": tag_push_events,
                "releases_events": releases_events,
                "push_events": push_events,
            },
        )

    def save_hook(self, project_id: ProjectRef, hook_id: int | None, params: Mapping[str, Any]) -> JSON:
        """POST /hooks (hook_id None) or PUT /hooks/:hook_id with GitLab's parameters."""
        url = params.get("url")
        if not url:
            raise bad_param("url is missing")
        parts = urlsplit(str(url))
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise GitLabApiError(422, {"error": "Invalid url given"})
        with self.state.lock:
            rec = self.state.record(project_id)
            old = rec.hooks.get(hook_id) if hook_id is not None else None
            if hook_id is not None and old is None:
                raise api_message(404, "404 Not found")
            flags = {f: f in old.events for f in HOOK_EVENT_DEFAULTS} if old else dict(HOOK_EVENT_DEFAULTS)
            for flag in HOOK_EVENT_DEFAULTS:
                if params.get(flag) is not None:
                    flags[flag] = _boolean(params[flag], flag)
            hook = Hook(
                id=old.id if old else self.state.next_id("hook"),
                project_id=rec.project.id,
                url=str(url),
                token=params["token"] if params.get("token") is not None else (old.token if old else None),
                events=tuple(sorted(f for f, on in flags.items() if on)),
                name=str(params.get("name") or (old.name if old else "")),
                description=str(params.get("description") or (old.description if old else "")),
                enable_ssl_verification=_boolean(
                    params.get("enable_ssl_verification", True), "enable_ssl_verification"
                ),
                push_events_branch_filter=str(params.get("push_events_branch_filter") or ""),
                created_at=old.created_at if old else self.state.now(),
            )
            rec.hooks[hook.id] = hook
            return ent.hook_json(hook)

    def _hook(self, rec: ProjectRecord, hook_id: int) -> Hook:
        hook = rec.hooks.get(hook_id)
        if hook is None:
            # `hooks.find` raises RecordNotFound, which lib/api/api.rb renders as "404 Not found".
            raise api_message(404, "404 Not found")
        return hook

    def get_hook(self, project_id: ProjectRef, hook_id: int) -> JSON:
        with self.state.lock:
            rec = self.state.record(project_id)
            return ent.hook_json(self._hook(rec, hook_id))

    def list_hooks(self, project_id: ProjectRef) -> list[JSON]:
        with self.state.lock:
            rec = self.state.record(project_id)
            return [ent.hook_json(h) for h in sorted(rec.hooks.values(), key=lambda h: h.id)]

    def delete_hook(self, project_id: ProjectRef, hook_id: int) -> None:
        with self.state.lock:
            rec = self.state.record(project_id)
            self._hook(rec, hook_id)
            del rec.hooks[hook_id]

    # --- deliveries -----------------------------------------------------------------------------

    def emit(self, rec: ProjectRecord, flag: str, payload: JSON, event_uuid: str) -> None:
        """Send a payload to every hook of the project that has the `flag` event switched on."""
        event, trigger = _HOOK_KINDS[flag]
        body = json.dumps(payload)
        for hook in sorted(rec.hooks.values(), key=lambda h: h.id):
            if flag in hook.events:
                self._deliver(hook, trigger, event, body, event_uuid, str(uuid.uuid4()))

    def _deliver(
        self, hook: Hook, trigger: str, event: str, body: str, event_uuid: str, idempotency_key: str
    ) -> HookEvent:
        logged = HookEvent(
            id=self.state.next_id("hook_event"),
            hook_id=hook.id,
            url=hook.url,
            trigger=trigger,
            event=event,
            body=body,
            idempotency_key=idempotency_key,
            webhook_uuid=str(uuid.uuid4()),
            event_uuid=event_uuid,
            created_at=self.state.now(),
        )
        self.state.hook_events[logged.id] = logged
        url, auth = _split_credentials(hook.url)
        headers = self._delivery_headers(logged, hook.token)
        self.sender.send(Delivery(url, body.encode(), headers, event, auth))
        return logged

    def _delivery_headers(self, logged: HookEvent, token: str | None) -> dict[str, str]:
        # The headers and their order from WebHookService#build_headers (doc: "Delivery headers").
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"GitLab/{self.version}",
            "Idempotency-Key": logged.idempotency_key,
            "X-Gitlab-Event": logged.event,
            "X-Gitlab-Webhook-UUID": logged.webhook_uuid,
            "X-Gitlab-Instance": self.state.instance_url,
            "X-Gitlab-Event-UUID": logged.event_uuid,
        }
        if token:
            headers["X-Gitlab-Token"] = token
        return headers

    def _outcome(self, webhook_uuid: str) -> tuple[bool, int | None]:
        """Whether the sender has finished the delivery, and the receiver's status if it answered."""
        for record in reversed(self.sender.log()):
            if record["headers"].get("X-Gitlab-Webhook-UUID") == webhook_uuid:
                return True, record["status"]
        return False, None

    def hook_events(self, project_id: ProjectRef, hook_id: int, *, status: str | None = None) -> list[JSON]:
        """GET /hooks/:hook_id/events: finished deliveries, newest first, optionally by status."""
        with self.state.lock:
            rec = self.state.record(project_id)
            hook = self._hook(rec, hook_id)
            events = sorted(
                (e for e in self.state.hook_events.values() if e.hook_id == hook.id), key=lambda e: -e.id
            )
        shown = []
        for event in events:
            done, code = self._outcome(event.webhook_uuid)
            if done and _status_matches(code, status):
                shown.append(ent.hook_event_json(event, self._delivery_headers(event, hook.token), code))
        return shown

    def resend_hook_event(self, project_id: ProjectRef, hook_id: int, event_id: int) -> int | None:
        """POST /hooks/:hook_id/events/:hook_event_id/resend: the same body and Idempotency-Key, sent now.

        Answers the receiver's status (None if it could not be reached), as GitLab's
        WebHooks::Events::ResendService runs the delivery before it replies.
        """
        with self.state.lock:
            rec = self.state.record(project_id)
            hook = self._hook(rec, hook_id)
            event = self.state.hook_events.get(event_id)
            if event is None or event.hook_id != hook.id:
                raise api_message(404, "404 Not found")
            if event.url != hook.url:
                raise api_message(422, "The hook URL has changed, and this log entry cannot be retried")
            again = self._deliver(
                hook, event.trigger, event.event, event.body, new_event_uuid(), event.idempotency_key
            )
        self.sender.flush()
        return self._outcome(again.webhook_uuid)[1]


# X-Gitlab-Event and the hook scope (WebHookLog#trigger) per hook switch.
_HOOK_KINDS = {
    "tag_push_events": ("Tag Push Hook", "tag_push_hooks"),
    "releases_events": ("Release Hook", "release_hooks"),
}

_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


def _boolean(value: Any, name: str) -> bool:
    """Grape's Boolean coercion: JSON booleans or their usual spellings; anything else is a 400."""
    if isinstance(value, bool):
        return value
    if str(value).lower() in _TRUE:
        return True
    if str(value).lower() in _FALSE:
        return False
    raise bad_param(f"{name} is invalid")


def _status_matches(code: int | None, wanted: str | None) -> bool:
    """The `status` filter of the hook events list: a code or successful/client_failure/server_failure."""
    if not wanted:
        return True
    ranges = {"successful": (200, 299), "client_failure": (400, 499), "server_failure": (500, 599)}
    if wanted in ranges:
        low, high = ranges[wanted]
        return code is not None and low <= code <= high
    return str(code) == wanted


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """A hook URL's `user:password@` becomes HTTP Basic auth and leaves the URL (webhooks.md)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc)), (parts.username, parts.password or "")
