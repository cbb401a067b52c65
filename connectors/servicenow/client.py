"""The Table API through pysnow: typed reads and writes of one instance, errors already translated."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pysnow
import requests

from bridge.config import ServiceNowSettings
from connectors.servicenow.errors import calling, is_gone

Row = dict[str, str]
JOURNAL_TABLE = "sys_journal_field"
DEFAULT_TIMEOUT_S = 30.0


def build_client(settings: ServiceNowSettings) -> pysnow.Client:
    """A pysnow client for the configured instance: basic auth, or an OAuth bearer token on a session."""
    if settings.url is None:
        raise ValueError("servicenow.url is not set")
    parts = urlsplit(str(settings.url))
    # pysnow takes the host verbatim (port included) and picks the scheme from use_ssl.
    use_ssl = parts.scheme == "https"
    if settings.oauth_token is not None:
        # pysnow accepts a ready session instead of user and password (pysnow docs, "Using a custom
        # session"); the bearer token rides on it as the Authorization header.
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {settings.oauth_token.get_secret_value()}"
        return pysnow.Client(host=parts.netloc, session=session, use_ssl=use_ssl)
    if not settings.user or settings.password is None:
        raise ValueError("servicenow needs user and password, or oauth_token")
    return pysnow.Client(
        host=parts.netloc, user=settings.user, password=settings.password.get_secret_value(), use_ssl=use_ssl
    )


def secrets_of(settings: ServiceNowSettings) -> list[str | None]:
    """Every secret in the settings, for redaction."""
    return [
        s.get_secret_value() if s is not None else None
        for s in (settings.password, settings.oauth_token, settings.webhook_secret)
    ]


def encoded(value: str) -> str:
    """A value made safe inside an encoded query: a caret is written twice (Table API docs)."""
    return value.replace("^", "^^")


class TableClient:
    """Reads and writes of the Table API through pysnow; every failure raised as a bridge error.

    Replies are read as streams so that an error inside a 200 surfaces as pysnow's ResponseError.

    pysnow never retries (api-contracts.md 3.5): callers wrap these calls in a RetryPolicy.
    """

    def __init__(
        self,
        client: pysnow.Client,
        *,
        secrets: list[str | None],
        timeout_s: float = DEFAULT_TIMEOUT_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._secrets = secrets
        self._timeout_s = timeout_s
        self._clock = clock

    def __repr__(self) -> str:
        return f"TableClient({self._client.base_url})"

    def _resource(
        self, table: str, fields: Sequence[str] = (), *, displayed: bool = False, links: bool = False
    ) -> Any:
        resource = self._client.resource(api_path=f"/table/{table}", timeout=self._timeout_s)
        # Plain sys_ids for references, stored values (never labels) for choices: the same values the
        # business rule's events carry (config/servicenow/README.md). Where display values are wanted
        # too, `all` gives every field as {"display_value", "value"} and the stored values stay at hand.
        resource.parameters.exclude_reference_link = not links
        resource.parameters.display_value = "all" if displayed else False
        if fields:
            resource.parameters.fields = list(fields)
        return resource

    def _call(self, fn: Callable[[], Any]) -> Any:
        return calling(fn, secrets=self._secrets, now=self._clock)

    def select(
        self,
        table: str,
        query: str,
        *,
        fields: Sequence[str],
        limit: int,
        offset: int = 0,
        displayed: Collection[str] = (),
    ) -> list[Row]:
        """One page of a query, in the query's order (pysnow does not follow `Link`); the `displayed`
        fields by their display values (a reference's record name), the others by their stored ones."""
        rows = self.select_raw(
            table, query, fields=fields, limit=limit, offset=offset, displayed=bool(displayed)
        )
        return [_strings(row, displayed) for row in rows]

    def select_raw(
        self,
        table: str,
        query: str,
        *,
        fields: Sequence[str],
        limit: int,
        offset: int = 0,
        displayed: bool = False,
        links: bool = False,
    ) -> list[dict[str, Any]]:
        """One page of a query as the instance sent it (references, display values and links as asked)."""
        resource = self._resource(table, displayed=displayed, links=links)
        rows: list[Any] = self._call(
            lambda: list(
                resource.get(query=query, fields=list(fields), limit=limit, offset=offset, stream=True).all()
            )
        )
        return [row for row in rows if isinstance(row, dict)]

    def get(
        self, table: str, sys_id: str, *, fields: Sequence[str], displayed: Collection[str] = ()
    ) -> Row | None:
        """One record by sys_id, None when the instance says it is gone (404, 410); `displayed` as for
        select()."""
        resource = self._resource(table, fields, displayed=bool(displayed))

        def read() -> Any:
            try:
                return _first(resource.request("GET", path_append=f"/{sys_id}", stream=True))
            except requests.exceptions.HTTPError as exc:
                if exc.response is not None and is_gone(exc.response.status_code):
                    return None
                raise

        found = self._call(read)
        return None if found is None else _strings(found, displayed)

    def patch(self, table: str, sys_id: str, payload: dict[str, str], *, fields: Sequence[str]) -> Row:
        """Write exactly the given fields of one record.

        pysnow's own update() reads the record first and then PUTs (api-contracts.md 3.5); a PATCH of
        the fields alone is one request and sends nothing else (STYLE.md point 8).
        """
        resource = self._resource(table, fields)
        written = self._call(
            lambda: _first(
                resource.request("PATCH", path_append=f"/{sys_id}", data=json.dumps(payload), stream=True)
            )
        )
        return _strings(written)

    def create(
        self, table: str, payload: dict[str, str], *, fields: Sequence[str], displayed: Collection[str] = ()
    ) -> Row:
        """Insert one record; the created record as the instance shows it (`displayed` as for select())."""
        resource = self._resource(table, fields, displayed=bool(displayed))
        created = self._call(lambda: _first(resource.request("POST", data=json.dumps(payload), stream=True)))
        return _strings(created, displayed)


def _first(response: Any) -> Any:
    """The record of a single-record reply, read as a stream (None when it holds none).

    Only pysnow's stream parser looks for an `error` object in a 2xx body and raises ResponseError; the
    buffered one reports such a body as a missing result (pysnow/response.py).
    """
    return next(iter(response.all()), None)


def _strings(row: Any, displayed: Collection[str] = ()) -> Row:
    """A Table API record as plain strings: each field's stored value (a reference's sys_id), or for the
    `displayed` fields the display value (a reference's record name, a choice's label) when one came."""
    if not isinstance(row, dict):
        return {}
    out: Row = {}
    for name, value in row.items():
        if isinstance(value, dict):
            shown = value.get("display_value") if name in displayed else None
            plain = shown if shown not in (None, "") else value.get("value", "")
        else:
            plain = value
        out[str(name)] = "" if plain is None else str(plain)
    return out
