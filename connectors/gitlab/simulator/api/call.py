"""What a GitLab route handler is given and returns: the decoded request, the backend, a route."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response

from ..errors import bad_param
from ..hooks import GitLabHooks
from ..model import GitLabModel
from ..paging import PageLink, PageRequest, offset_page

JSON = dict[str, Any]


@dataclass(frozen=True)
class Backend:
    """What the routes act on: the model's operations, the project hooks, and the version to report."""

    model: GitLabModel
    hooks: GitLabHooks
    version: str


@dataclass(frozen=True)
class Call:
    """One API request as the handlers see it: route parameters, query, body and its own URL."""

    params: dict[str, str]
    query: tuple[tuple[str, str], ...]
    body: JSON
    link: PageLink

    def arg(self, name: str, default: Any = None) -> Any:
        """A parameter from the body or the query string (Grape merges both)."""
        if name in self.body:
            return self.body[name]
        return next((v for k, v in self.query if k == name), default)

    def text(self, name: str, default: str = "") -> str:
        value = self.arg(name, default)
        return default if value is None else str(value)

    def integer(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError as exc:
            raise bad_param(f"{name} is invalid") from exc

    def values(self, name: str) -> list[str]:
        """An array parameter (`refs[]=a&refs[]=b`, or a JSON list in the body)."""
        if isinstance(self.body.get(name), list):
            return [str(v) for v in self.body[name]]
        return [v for k, v in self.query if k in {name, f"{name}[]"}]

    def page(self) -> PageRequest:
        return PageRequest.parse(dict(self.query))


Handler = Callable[[Backend, Call], Response]


@dataclass(frozen=True)
class Endpoint:
    """A route: method, path pattern below /api/v4 (`:name` takes one whole segment) and handler."""

    method: str
    pattern: str
    handler: Handler

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        parts = self.pattern.split("/")
        if len(parts) != len(segments):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith(":"):
                params[part[1:]] = segment
            elif part != segment:
                return None
        return params


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)


def listed(items: list[JSON], call: Call) -> Response:
    page, headers = offset_page(items, call.page(), call.link)
    return reply(page, headers=headers)


def require(**values: str) -> None:
    """Grape's check of required parameters: `{"error": "tag_name is missing, ref is missing"}`."""
    missing = [f"{name} is missing" for name, value in values.items() if not value]
    if missing:
        raise bad_param(", ".join(missing))
