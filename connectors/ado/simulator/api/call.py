"""What an ADO route handler is given: the decoded request; and what a route is."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from connectors.ado.simulator.errors import AdoError, bad_argument
from connectors.ado.simulator.model import AdoModel
from connectors.ado.simulator.versions import ApiVersion


@dataclass(frozen=True)
class Call:
    """One API request, decoded: route values, query (keys in lower case), body, version, caller."""

    method: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    version: ApiVersion | None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except json.JSONDecodeError as exc:
            raise AdoError(
                400,
                f"The request body is not valid JSON: {exc.msg}.",
                "VssRequestContentException",
                namespace="Microsoft.VisualStudio.Services.WebApi",
            ) from exc

    def flag(self, name: str) -> bool:
        return self.query.get(name.lower(), "").lower() == "true"

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError as exc:
            raise bad_argument(
                f"The value '{self.params[name]}' is not a valid {name}.", "FormatException"
            ) from exc


Handler = Callable[[AdoModel, Call], Response]


@dataclass(frozen=True)
class ApiRoute:
    """A route: methods, a path pattern (matched without case), the template it is counted under."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    versioned: bool = True
    preview_only: bool = False


def route(
    methods: str,
    pattern: str,
    template: str,
    handler: Handler,
    *,
    versioned: bool = True,
    preview: bool = False,
) -> ApiRoute:
    return ApiRoute(
        frozenset(methods.split()),
        re.compile(f"^{pattern}/?$", re.IGNORECASE),
        template,
        handler,
        versioned,
        preview,
    )


def check_scope(model: AdoModel, params: Mapping[str, str]) -> None:
    """The organisation and project a request names must be this one's; else ADO's 404."""
    if params.get("org", "").lower() != model.organization.lower():
        raise AdoError(
            404,
            f"TF400813: The organization '{params.get('org')}' does not exist or you do not have access "
            "to it.",
            "OrganizationNotFoundException",
            namespace="Microsoft.VisualStudio.Services.Organization",
        )
    project = params.get("project")
    if project is not None and not model.is_project(project):
        raise AdoError(
            404,
            f"TF200016: The following project does not exist: {project}. Verify that the name of the "
            "project is correct and that the project exists on the specified Azure DevOps Server.",
            "ProjectDoesNotExistWithNameException",
            namespace="Microsoft.TeamFoundation.Core.WebApi",
        )
