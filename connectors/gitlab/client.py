"""The python-gitlab client, configured so that each request is retried by one layer only: RetryPolicy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import gitlab
import requests
from gitlab.v4.objects import Project
from pydantic import SecretStr

from bridge.errors import BridgeError
from connectors.outcomes import RetryPolicy

from .errors import GitLabNotFoundError, ResponseLog, StalePageTokenError, bridge_error

T = TypeVar("T")
JSON = dict[str, Any]

PER_PAGE = 100  # doc/api/rest/_index.md: the largest page GitLab serves

# python-gitlab retries a 429 itself (obey_rate_limit, up to 10 times, sleeping Retry-After) and a 5xx
# or dropped connection with retry_transient_errors (gitlab/client.py http_request). Both are turned off
# on every call, so RetryPolicy.call alone retries: with the server's Retry-After as a floor, within the
# bridge's total, and never 10 client retries inside each of ours.
CALL_OPTIONS: dict[str, Any] = {"obey_rate_limit": False, "retry_transient_errors": False}


@dataclass(frozen=True)
class TagPage:
    """The first page of a project's tags, and how many tags the project has (X-Total), if told."""

    tags: tuple[JSON, ...]
    total: int | None


class GitLabApi:
    """The REST calls the connector makes, each one retried by the policy and mapped to bridge errors."""

    def __init__(self, url: str, token: SecretStr | None, *, retry: RetryPolicy, timeout_s: float) -> None:
        self._url = url
        self._retry = retry
        self._secrets = [token.get_secret_value() if token else None]
        self._gl = gitlab.Gitlab(
            url,
            private_token=self._secrets[0],
            timeout=timeout_s,
            retry_transient_errors=False,
        )
        self._log = ResponseLog()
        self._gl.session.hooks["response"].append(self._log.record)

    def __repr__(self) -> str:
        return f"GitLabApi(url={self._url!r})"

    def call(self, fn: Callable[[], T]) -> T:
        """Run one request under the retry policy; failures leave as TransientError and friends."""
        return self._retry.call(lambda: self._once(fn))

    def _once(self, fn: Callable[[], T]) -> T:
        self._log.take()
        try:
            return fn()
        except BridgeError:
            raise
        except (gitlab.GitlabError, requests.RequestException) as exc:
            raise bridge_error(exc, headers=self._log.take(), secrets=self._secrets) from exc

    def _project(self, path: str) -> Project:
        # lazy: no request; the path is URL-encoded by python-gitlab (grp%2Fproj).
        return self._gl.projects.get(path, lazy=True)

    def recent_tags(self, path: str) -> TagPage:
        """Page 1 of the tags, most recently created first (doc/api/tags.md: order_by=updated)."""

        def read() -> TagPage:
            # get_next=False: one page, with its X-Total; GitLab announces a page 2 on the first page of
            # tags whether or not there is one (GitalyKeysetPager), so never follow it blindly.
            listing = self._project(path).tags.list(
                iterator=True,
                get_next=False,
                order_by="updated",
                sort="desc",
                per_page=PER_PAGE,
                **CALL_OPTIONS,
            )
            return TagPage(tuple(tag.attributes for tag in listing), listing.total)

        return self.call(read)

    def tags_after(self, path: str, after: str | None) -> list[JSON]:
        """A page of tags by name after the tag `after`: keyset pages stay put while tags come and go."""
        token: dict[str, Any] = {"page_token": after} if after else {}

        def read() -> list[JSON]:
            try:
                listing = self._project(path).tags.list(
                    get_all=False,
                    pagination="keyset",
                    order_by="name",
                    sort="asc",
                    per_page=PER_PAGE,
                    **token,
                    **CALL_OPTIONS,
                )
            except gitlab.GitlabListError as exc:
                if after and exc.response_code == 422:
                    raise StalePageTokenError(f"HTTP 422: tag {after!r} is gone") from exc
                raise
            return [tag.attributes for tag in listing]

        return self.call(read)

    def releases(self, path: str, page: int) -> list[JSON]:
        """A page of releases, latest released first."""

        def read() -> list[JSON]:
            listing = self._project(path).releases.list(
                get_all=False,
                page=page,
                per_page=PER_PAGE,
                order_by="released_at",
                sort="desc",
                **CALL_OPTIONS,
            )
            return [release.attributes for release in listing]

        return self.call(read)

    def tag(self, path: str, name: str) -> JSON | None:
        """One tag by name (with `/` encoded), None when it does not exist."""
        return self._gone_is_none(lambda: self._project(path).tags.get(name, **CALL_OPTIONS).attributes)

    def release(self, path: str, tag_name: str) -> JSON | None:
        """One release by its tag name, None when the tag has none."""
        return self._gone_is_none(
            lambda: self._project(path).releases.get(tag_name, **CALL_OPTIONS).attributes
        )

    def merge_base(self, path: str, refs: Sequence[str]) -> JSON | None:
        """The common ancestor commit of refs (doc/api/repositories.md), None when they share none."""

        def read() -> JSON:
            found = self._project(path).repository_merge_base(list(refs), **CALL_OPTIONS)
            return dict(found) if isinstance(found, dict) else {}

        return self._gone_is_none(read)

    def _gone_is_none(self, fn: Callable[[], JSON]) -> JSON | None:
        try:
            return self.call(fn)
        except GitLabNotFoundError:
            return None
