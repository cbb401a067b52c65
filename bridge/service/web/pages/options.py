"""What the pages take from configuration: the operator token, what it guards, how long a sign-in lasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pydantic import SecretStr

from bridge.config import Settings

DEFAULT_SESSION = timedelta(hours=12)  # a working day; then the operator signs in again


@dataclass(frozen=True)
class PageOptions:
    """What the pages need from configuration: the operator token, and whether reading needs it too.

    Links to GitLab, ServiceNow and ADO come from the engine's context, as the bridge writes them.
    """

    operator_token: SecretStr | None = None
    protect_pages: bool = False  # the read pages ask for the token too
    session_secret: SecretStr | None = None  # signs the sign-in cookie with the token; change to sign out all
    session: timedelta = DEFAULT_SESSION  # how long a sign-in lasts
    protect_docs: bool = False  # /docs, /redoc and /openapi.json ask for the token too
    protect_metrics: bool = False  # /metrics asks for the token too

    @classmethod
    def from_settings(cls, settings: Settings) -> PageOptions:
        service = settings.service
        return cls(
            operator_token=service.operator_token,
            protect_pages=service.protect_pages,
            session_secret=service.session_secret,
            session=timedelta(hours=service.session_hours),
            protect_docs=service.protect_docs,
            protect_metrics=service.protect_metrics,
        )
