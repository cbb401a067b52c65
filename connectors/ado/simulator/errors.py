"""ADO's error replies: the `WrappedException` body of every failure, and the ones the simulator raises."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response

# Server assemblies named in `typeName`, as ADO spells them.
WIT_SERVER = "Microsoft.TeamFoundation.WorkItemTracking.Server"
WEBAPI = "Microsoft.VisualStudio.Services.WebApi"
FRAMEWORK = "Microsoft.TeamFoundation.Framework.Server"


@dataclass(frozen=True)
class AdoError(Exception):
    """A failure ADO reports with a status and a `WrappedException` body."""

    status: int
    message: str
    type_key: str
    namespace: str = WIT_SERVER
    assembly: str | None = None
    event_id: int = 3000
    error_code: int = 0
    custom_properties: Mapping[str, Any] | None = field(default=None)

    def body(self) -> dict[str, Any]:
        """The `WrappedException` JSON (azure/devops/_models.py WrappedException)."""
        body: dict[str, Any] = {"$id": "1"}
        if self.custom_properties is not None:
            body["customProperties"] = dict(self.custom_properties)
        body.update(
            {
                "innerException": None,
                "message": self.message,
                "typeName": f"{self.namespace}.{self.type_key}, {self.assembly or self.namespace}",
                "typeKey": self.type_key,
                "errorCode": self.error_code,
                "eventId": self.event_id,
            }
        )
        return body

    def response(self, headers: Mapping[str, str] | None = None) -> Response:
        return JSONResponse(self.body(), status_code=self.status, headers=dict(headers or {}))


def work_item_not_found(work_item_id: int) -> AdoError:
    # Missing and unreadable look the same on purpose (WorkItemUnauthorizedAccessException maps to 404).
    return AdoError(
        404,
        f"TF401232: Work item {work_item_id} does not exist, or you do not have permissions to read it.",
        "WorkItemUnauthorizedAccessException",
        event_id=3200,
        error_code=600122,
    )


def rule_error(field_name: str, reference_name: str, flags: list[str]) -> AdoError:
    """TF401320, the rule error a refused field value gets (400 RuleValidationException)."""
    codes = ", ".join(f[:1].upper() + f[1:] for f in flags)
    message = f"TF401320: Rule Error for field {field_name}. Error code: {codes}."
    status_flags = ", ".join(flags)
    return AdoError(
        400,
        message,
        "RuleValidationException",
        event_id=3200,
        error_code=600171,
        custom_properties={
            "FieldReferenceName": reference_name,
            "FieldStatusFlags": status_flags,
            "ErrorMessage": message,
            "RuleValidationErrors": [
                {
                    "fieldReferenceName": reference_name,
                    "fieldStatusFlags": status_flags,
                    "errorMessage": message,
                }
            ],
        },
    )


def test_failed(path: str, actual: object, expected: object) -> AdoError:
    """A failed JSON Patch `test`: 412 TestPatchOperationFailedException, VS403351 [3P, reports]."""
    return AdoError(
        412,
        f"VS403351: Test Operation for path {path} failed, value {actual} was not equal to test value "
        f"{expected}.",
        "TestPatchOperationFailedException",
        namespace=f"{WEBAPI}.Patch",
        assembly=WEBAPI,
    )


def patch_failed(message: str) -> AdoError:
    return AdoError(
        400, message, "PatchOperationFailedException", namespace=f"{WEBAPI}.Patch", assembly=WEBAPI
    )


def bad_argument(message: str, type_key: str = "ArgumentException") -> AdoError:
    return AdoError(400, message, type_key, namespace="System", assembly="mscorlib")


def unauthorized(*, anonymous: bool = True) -> AdoError:
    """401 UnauthorizedRequestException, worded by whether any credentials came at all [3P, recorded]."""
    # Sent with `X-TFS-FedAuthRedirect: Suppress` (as the SDK does) ADO answers 401, not a sign-in redirect.
    message = (
        "TF400813: Resource not available for anonymous access. Client authentication required."
        if anonymous
        else "TF400813: The user '' is not authorized to access this resource."
    )
    return AdoError(401, message, "UnauthorizedRequestException", namespace=FRAMEWORK)


def rate_limited(retry_after_s: int) -> Response:
    """HTTP 429 as docs/integrate/concepts/rate-limits.md describes a blocked request."""
    resource = "WorkItemTracking/ATCPU"
    error = AdoError(
        429,
        "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource "
        f"'{resource}' in namespace 'User'.",
        "RequestBlockedException",
        namespace=FRAMEWORK,
    )
    headers = {
        "Retry-After": str(retry_after_s),
        "X-RateLimit-Resource": resource,
        "X-RateLimit-Delay": f"{float(retry_after_s):.3f}",
        "X-RateLimit-Limit": "200",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(time.time()) + retry_after_s),
    }
    return error.response(headers)


def server_error(status: int) -> Response:
    """A 500 or 503 with a `WrappedException`; ADO names the activity so support can find it."""
    activity = uuid.uuid4()
    if status == 503:
        error = AdoError(
            503,
            f"TF400898: The service is temporarily unavailable. Try again later. Activity Id: {activity}.",
            "ServiceUnavailableException",
            namespace=FRAMEWORK,
        )
    else:
        error = AdoError(
            status,
            f"TF400898: An Internal Error Occurred. Activity Id: {activity}.",
            "VssServiceException",
            namespace="Microsoft.VisualStudio.Services.Common",
        )
    return error.response()
