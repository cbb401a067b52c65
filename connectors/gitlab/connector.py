"""GitLabConnector: the Connector protocol for GitLab, wiring the client, poller, webhooks and writer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bridge.config import GitLabSettings
from bridge.connector import ActionOutcome, PollPage, WebhookDelivery
from bridge.domain.actions import Action
from bridge.domain.events import DomainEvent, RecordRef, Source
from bridge.domain.keys import TagKey
from bridge.errors import PermanentError
from connectors.outcomes import RetryPolicy

from .client import GitLabApi
from .poller import GitLabPoller
from .webhooks import WebhookRules, parse_gitlab_webhook
from .wire import release_published, release_view, tag_view
from .writer import apply_action

DEFAULT_MAX_WEBHOOK_BYTES = 1024 * 1024


def _utc_now() -> datetime:
    return datetime.now(UTC)


class GitLabConnector:
    """Release tags and notes of the configured GitLab projects, read through python-gitlab."""

    def __init__(
        self,
        settings: GitLabSettings,
        *,
        retry: RetryPolicy,
        max_webhook_bytes: int = DEFAULT_MAX_WEBHOOK_BYTES,
        clock: Callable[[], datetime] = _utc_now,
        sweep_every: timedelta = timedelta(days=1),
        timeout_s: float = 30.0,
    ) -> None:
        if settings.url is None:
            raise ValueError("gitlab.url is not configured")
        self._url = str(settings.url).rstrip("/")
        self._projects = {p.path: p for p in settings.projects}
        self._clock = clock
        self._api = GitLabApi(self._url, settings.token, retry=retry, timeout_s=timeout_s)
        self._poller = GitLabPoller(self._api, settings.projects, sweep_every=sweep_every)
        self._rules = WebhookRules(settings.webhook_secret, self._projects, max_webhook_bytes)

    def __repr__(self) -> str:
        return f"GitLabConnector(url={self._url!r}, projects={sorted(self._projects)!r})"

    @property
    def source(self) -> Source:
        return Source.GITLAB

    def poll(self, cursor: str | None, *, now: datetime) -> PollPage:
        return self._poller.poll(cursor, now=now)

    def cursor_since(self, since: datetime) -> str:
        return self._poller.cursor_since(since)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        return parse_gitlab_webhook(headers, body, rules=self._rules, now=self._clock())

    def fetch(self, ref: RecordRef) -> DomainEvent | None:
        """The tag and its release by name (one request, two with a release); None when the tag is gone."""
        if ref.source is not Source.GITLAB or ref.kind != "release":
            raise PermanentError(f"GitLab holds releases, not {ref.source.value} {ref.kind}")
        try:
            key = TagKey.parse(ref.key)
        except ValueError as exc:
            raise PermanentError(f"{ref.key!r} names no tag of a configured GitLab project") from exc
        path, tag_name = key.project, key.tag
        project = self._projects.get(path)
        if project is None:
            raise PermanentError(f"{ref.key!r} names no tag of a configured GitLab project")
        now = self._clock()
        data = self._api.tag(path, tag_name)
        if data is None:
            return None
        tag = tag_view(data)
        found = self._api.release(path, tag_name) if tag.has_release else None
        return release_published(project, tag, release_view(found) if found else None, now=now)

    def apply(self, actions: Sequence[Action]) -> list[ActionOutcome]:
        return [apply_action(self._api, self._projects, action) for action in actions]
