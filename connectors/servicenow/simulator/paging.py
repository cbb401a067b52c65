"""Table API paging: `sysparm_limit` and `sysparm_offset`, and the Link header ServiceNow sends."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request

DEFAULT_LIMIT = 10000  # Table API default for sysparm_limit


def number(params: Mapping[str, str], name: str, default: int) -> int:
    """A whole-number sysparm; a negative one counts as 0, one that is not a number as the default."""
    try:
        return max(int(params.get(name, "")), 0)
    except ValueError:
        return default


def link_header(request: Request, total: int, limit: int, offset: int) -> str:
    """first/prev/next/last links as ServiceNow sends them: the request's parameters, then offset and limit.

    No header when everything fits on one page (reported by clients; api-contracts.md 3.1).
    """
    if total <= limit and offset == 0:
        return ""
    # The links repeat the request's own query string as it was sent, then the new offset and limit.
    kept = [
        part
        for part in request.url.query.split("&")
        if part and part.split("=", 1)[0] not in {"sysparm_offset", "sysparm_limit"}
    ]
    base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"

    def link(at: int, rel: str) -> str:
        params = "&".join([*kept, f"sysparm_offset={at}", f"sysparm_limit={limit}"])
        return f'<{base}?{params}>;rel="{rel}"'

    last = max((total - 1) // limit * limit, 0)
    links = [link(0, "first")]
    if offset > 0:
        links.append(link(max(offset - limit, 0), "prev"))
    if offset + limit < total:
        links.append(link(offset + limit, "next"))
    links.append(link(last, "last"))
    return ",".join(links)
