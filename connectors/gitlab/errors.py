"""GitLab's HTTP outcomes: its status table, and the one place client exceptions become bridge errors."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import gitlab
import requests

from bridge.errors import BridgeError, PermanentError, TransientError
from connectors.outcomes import DEFAULT_STATUSES, Outcome, classify, error_for, redact, retry_after_seconds

# The common table plus GitLab's quirks.
GITLAB_STATUSES: Mapping[int, Outcome] = {
    **DEFAULT_STATUSES,
    # lib/api/tags.rb answers an unknown keyset `page_token` with 422; repeating it cannot help.
    422: Outcome.FAIL,
    # Instances behind Cloudflare answer 520-530 while GitLab is unreachable; python-gitlab counts
    # them as transient (gitlab/const.py RETRYABLE_TRANSIENT_ERROR_CODES).
    **{status: Outcome.RETRY for status in range(520, 531)},
}

TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class GitLabNotFoundError(PermanentError):
    """GitLab answered 404 (or 410): the project, tag, release or merge base does not exist."""


class StalePageTokenError(PermanentError):
    """A keyset page asked to start after a tag that has since been deleted (lib/api/tags.rb: 422)."""


class ResponseLog:
    """The headers of the last failed reply on this thread.

    python-gitlab's exceptions keep the status and body but not the headers, and the bridge needs the
    server's `Retry-After` (doc/administration/settings/user_and_ip_rate_limits.md); a requests
    response hook is the documented way to see every reply.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if not response.ok:
            self._local.headers = dict(response.headers)
        return response

    def take(self) -> dict[str, str]:
        headers: dict[str, str] = getattr(self._local, "headers", {})
        self._local.headers = {}
        return headers


def bridge_error(exc: Exception, *, headers: Mapping[str, str], secrets: list[str | None]) -> BridgeError:
    """The bridge error for what python-gitlab or requests raised, with the server's message."""
    if isinstance(exc, TRANSPORT_ERRORS):
        kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
        return TransientError(redact(f"GitLab {kind}: {type(exc).__name__}: {exc}", secrets))
    if isinstance(exc, gitlab.GitlabAuthenticationError):
        return PermanentError(redact(f"HTTP 401: GitLab refused the token: {exc.error_message}", secrets))
    if isinstance(exc, gitlab.GitlabError) and exc.response_code is not None:
        status = exc.response_code
        message = redact(str(exc.error_message), secrets)
        # python-gitlab retries a 409 "Resource lock" as transient (gitlab/utils.py Retry): a
        # repository being written to, not a conflict with our change.
        if status == 409 and "Resource lock" in message:
            return TransientError(f"HTTP 409: {message}")
        outcome = classify(status, GITLAB_STATUSES)
        if outcome is Outcome.GONE:
            return GitLabNotFoundError(f"HTTP {status}: {message}")
        wait = retry_after_seconds(headers) if outcome is Outcome.RETRY else None
        return error_for(status, message, retry_after_s=wait, table=GITLAB_STATUSES)
    if isinstance(exc, gitlab.GitlabParsingError):
        # A reply cut short or garbled on the way (a proxy's error page): worth another try.
        return TransientError(redact(f"GitLab reply not understood: {exc.error_message}", secrets))
    return PermanentError(redact(f"GitLab client error: {type(exc).__name__}: {exc}", secrets))
