"""The simulated GitLab's refusals: the HTTP status and JSON body GitLab's API answers with."""

from __future__ import annotations

from typing import Any


class GitLabApiError(Exception):
    """A refusal as GitLab's API words it: the HTTP status and the JSON body it sends."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def api_message(status: int, message: Any) -> GitLabApiError:
    """An error GitLab renders with `render_api_error!`: `{"message": ...}`."""
    return GitLabApiError(status, {"message": message})


def not_found(what: str | None = None) -> GitLabApiError:
    """GitLab's `not_found!(what)`: `404 <What> Not Found`, or `404 Not Found` without a subject."""
    return api_message(404, f"404 {what} Not Found" if what else "404 Not Found")


def bad_param(message: str) -> GitLabApiError:
    """A parameter Grape refuses before the endpoint runs: 400 with `{"error": ...}`."""
    return GitLabApiError(400, {"error": message})
