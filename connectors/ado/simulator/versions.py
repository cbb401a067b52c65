"""REST api-version handling as ADO does it: from `Accept` or the query string, checked per resource."""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.ado.simulator.errors import AdoError

SERVER_VERSION = 7.1
_VERSION = re.compile(
    r"^\s*(?P<number>\d+(?:\.\d+)?)(?P<preview>-preview(?:\.(?P<rev>\d+))?)?\s*$", re.IGNORECASE
)
_ACCEPT = re.compile(r"api-version\s*=\s*(?P<value>[^;,\s]+)", re.IGNORECASE)
_WEBAPI = "Microsoft.VisualStudio.Services.WebApi"


@dataclass(frozen=True)
class ApiVersion:
    """A requested version: number, whether `-preview` was given, and the resource version if any."""

    number: float
    preview: bool
    resource_version: int | None
    text: str


def requested(accept: str | None, query: str | None) -> str | None:
    """The api-version text the client asked for; the SDK sends it only in `Accept` (api-contracts.md 2.2)."""
    if query:
        return query
    match = _ACCEPT.search(accept or "")
    return match.group("value") if match else None


def negotiate(text: str | None, method: str, *, preview_only: bool) -> ApiVersion:
    """Check the requested version against the resource, raising the 400 ADO answers with."""
    if not text:
        raise AdoError(
            400,
            f'No api-version was supplied for the "{method}" request. The version must be supplied either '
            'as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter '
            '(e.g. "?api-version=1.0").',
            "VssVersionNotSpecifiedException",
            namespace=_WEBAPI,
        )
    match = _VERSION.match(text)
    if match is None:
        raise AdoError(
            400,
            f'The api-version \'{text}\' is not valid. Supply a version such as "7.1" or "7.1-preview.1".',
            "VssInvalidApiVersionException",
            namespace=_WEBAPI,
        )
    number = float(match.group("number"))
    if number > SERVER_VERSION:
        raise AdoError(
            400,
            f"The requested REST API version of {match.group('number')} is out of range for this server. "
            f"The latest REST API version this server supports is {SERVER_VERSION}.",
            "VssVersionOutOfRangeException",
            namespace=_WEBAPI,
        )
    preview = match.group("preview") is not None
    if preview_only and not preview:
        raise AdoError(
            400,
            f'The requested version "{text}" of the resource is under preview. The -preview flag must be '
            f'supplied in the api-version for such requests. For example: "{match.group("number")}-preview"',
            "VssInvalidPreviewVersionException",
            namespace=_WEBAPI,
        )
    rev = match.group("rev")
    return ApiVersion(number, preview, int(rev) if rev else None, text)
