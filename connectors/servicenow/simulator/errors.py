"""How the simulated instance refuses: ServiceNow's failure shape, and its replies to injected faults."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from connectors.simulation import SystemReplies

JSON_TYPE = "application/json;charset=UTF-8"
# The sys_id of the rate-limit rule a 429 names (sys_rate_limit_rules); any 32-hex id will do.
RATE_LIMIT_RULE = "8d9f2b6e1b7a3010a0f6ea41dd4bcb2f"
RATE_LIMIT_PER_HOUR = 100


def json_reply(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(content, status, headers=dict(headers or {}), media_type=JSON_TYPE)


def failure(status: int, message: str, detail: str | None) -> Response:
    """ServiceNow's error shape; the status travels only in the status line."""
    return json_reply({"error": {"message": message, "detail": detail}, "status": "failure"}, status)


def unauthenticated() -> Response:
    response = failure(401, "User Not Authenticated", "Required to provide Auth information")
    response.headers["WWW-Authenticate"] = 'BASIC realm="Service-now"'
    return response


def not_found() -> Response:
    return failure(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")


def rate_limited(retry_after_s: int) -> Response:
    """A 429 as inbound REST rate limiting sends it (inbound-REST-API-rate-limiting.md)."""
    response = failure(
        429,
        "Rate limit exceeded",
        f"Rate limit of {RATE_LIMIT_PER_HOUR} requests per hour for Table API exceeded",
    )
    response.headers.update(
        {
            "Retry-After": str(retry_after_s),
            "X-RateLimit-Limit": str(RATE_LIMIT_PER_HOUR),
            "X-RateLimit-Reset": str(int(time.time()) + retry_after_s),
            "X-RateLimit-Rule": RATE_LIMIT_RULE,
        }
    )
    return response


def server_error(status: int) -> Response:
    if status == 503:
        return failure(503, "Service Unavailable", "The instance is temporarily unavailable")
    return failure(
        status, "Internal Server Error", "An unexpected error occurred while processing the request"
    )


def hibernation_page() -> Response:
    # A hibernating developer instance answers every URL with this page and 200 OK [3P], so a client
    # such as pysnow fails on the body, not on the status.
    page = (
        "<!DOCTYPE html><html><head><title>Instance Hibernating page</title></head>"
        "<body><h1>Your instance is hibernating</h1>"
        "<p>Sign in to the developer site to wake it up.</p></body></html>"
    )
    return Response(page, 200, media_type="text/html;charset=UTF-8")


REPLIES = SystemReplies(rate_limited=rate_limited, server_error=server_error)


def not_supported() -> Response:
    return failure(405, "Method not Supported", "The requested method is not supported by this resource")
