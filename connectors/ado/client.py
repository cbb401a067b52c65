"""The ADO calls the connector makes: the official SDK's work item tracking client, and `$batch`."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from azure.devops.v7_1.work_item_tracking import WorkItemTrackingClient
from azure.devops.v7_1.work_item_tracking.models import TeamContext, Wiql
from msrest.authentication import BasicAuthentication
from requests.adapters import HTTPAdapter

from bridge.config import AdoSettings
from bridge.errors import PermanentError
from connectors.ado import errors, wire
from connectors.ado.errors import ResponseLog

log = logging.getLogger(__name__)

T = TypeVar("T")

# Work items per workitemsbatch read and per `$batch` write: ADO's documented maximum for both
# (api-contracts.md 2.3 "Maximum 200", 2.8).
MAX_BATCH = 200

# The most requests the writer may have in flight at once (AdoSettings.parallel_requests' bound).
MAX_PARALLEL = 16


@dataclass(frozen=True)
class QueryResult:
    """A WIQL answer: the matching ids in the query's order and the moment ADO ran it."""

    ids: tuple[int, ...]
    as_of: datetime | None


@dataclass(frozen=True)
class BatchReply:
    """One item of a `$batch` answer: its status, headers and body (a JSON text, api-contracts.md 2.8)."""

    code: int
    headers: dict[str, str]
    body: str


class AdoClient:
    """One organisation and project, through the SDK (queries, single reads) and plain requests (the batch
    read and `$batch`), safe to call from several threads."""

    def __init__(self, settings: AdoSettings, *, timeout_s: float = 30.0) -> None:
        if settings.organization_url is None or not settings.project or settings.pat is None:
            raise PermanentError("ADO settings need organization_url, project and pat")
        self.org_url = str(settings.organization_url).rstrip("/")
        self.project = settings.project
        self._pat = settings.pat
        self._timeout_s = timeout_s
        self._responses = ResponseLog()
        self._wit: Any = None
        self._session: requests.Session | None = None
        # The writer calls from several threads at once; the SDK client and the session are built once.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AdoClient(org_url={self.org_url!r}, project={self.project!r})"

    @property
    def secrets(self) -> list[str | None]:
        return [self._pat.get_secret_value()]

    def _client(self) -> Any:
        with self._lock:
            return self._sdk_client()

    def _sdk_client(self) -> Any:
        if self._wit is None:
            # The client is built directly at the organisation URL rather than through
            # Connection.get_client(): for dev.azure.com organisations (and on-premises servers) the
            # work item tracking area lives at the organisation URL, and building it here lets us set
            # its configuration (Connection keeps the resource-area lookup's client to itself).
            client = WorkItemTrackingClient(
                base_url=self.org_url, creds=BasicAuthentication("", self._pat.get_secret_value())
            )
            config = client.config
            # One tier of retry: RetryPolicy, bounded by a total and honouring Retry-After for every
            # method. msrest's own urllib3 retry covers GET only and sleeps up to 90 s per wait
            # (api-contracts.md 2.10), so it is switched off here.
            # The SDK's session already holds this Retry object, so it is changed in place.
            policy = config.retry_policy.policy
            policy.total = policy.connect = policy.read = 0
            policy.status_forcelist = frozenset()
            policy.respect_retry_after_header = False
            policy.raise_on_status = False
            config.connection.timeout = self._timeout_s
            config.hooks.append(self._responses.hook)
            self._wit = client
        return self._wit

    def _guarded(self, fn: Callable[[], T]) -> T:
        return errors.guarded(fn, log=self._responses, secrets=self.secrets)

    # --- reads ----------------------------------------------------------------------------------

    def query(self, text: str, *, top: int) -> QueryResult:
        """Run a flat WIQL query with time precision (a time in the date literal needs it, 2.6)."""

        def run() -> QueryResult:
            result = self._client().query_by_wiql(
                Wiql(query=text), team_context=TeamContext(project=self.project), time_precision=True, top=top
            )
            ids = tuple(int(ref.id) for ref in result.work_items or ())
            return QueryResult(ids, wire.parse_date(result.as_of))

        return self._guarded(run)

    def read_batch(
        self,
        ids: Sequence[int],
        *,
        fields: Sequence[str] | None = None,
        relations: bool = False,
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Work items by id (at most 200), missing ones left out (errorPolicy=omit).

        `fields` and `$expand=relations` cannot be combined (ADO refuses it, api-contracts.md 2.3): a read
        with relations returns every field. This is the SDK's `get_work_items_batch` request sent as plain
        JSON: the SDK turns each of the 200 items into msrest models (which wire.sdk_item then turns back
        into mappings), and that took most of a 200-item read's time on the client.
        """
        if len(ids) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} ids per read")
        body: dict[str, Any] = {"ids": list(ids), "errorPolicy": "omit"}
        if relations:
            body["$expand"] = "relations"
        else:
            body["fields"] = list(fields or wire.DEFECT_FIELDS)
        if as_of is not None:
            body["asOf"] = wire.format_instant(as_of)
        url = f"{self.org_url}/{quote(self.project, safe='')}/_apis/wit/workItemsBatch"

        def run() -> list[dict[str, Any]]:
            values = self._post_json("POST", url, body, "workitemsbatch").get("value")
            if not isinstance(values, list):
                raise PermanentError("ADO workitemsbatch answered an unexpected body")
            return [item for item in values if isinstance(item, dict)]

        return self._guarded(run)

    def read_item(self, item_id: int) -> dict[str, Any] | None:
        """One work item with its relations, or None when it does not exist (any more: 404, 410)."""

        def run() -> dict[str, Any] | None:
            try:
                item = self._client().get_work_item(item_id, project=self.project, expand="relations")
            except Exception:
                last = self._responses.last
                if last is not None and errors.is_gone(last.status):
                    return None
                raise
            return wire.sdk_item(item)

        return self._guarded(run)

    def type_states(self, work_item_type: str) -> list[str] | None:
        """The state names of a work item type, or None when the type does not exist (404, 410)."""

        def run() -> list[str] | None:
            try:
                states = self._client().get_work_item_type_states(self.project, work_item_type)
            except Exception:
                last = self._responses.last
                if last is not None and errors.is_gone(last.status):
                    return None
                raise
            return [str(s.name) for s in states or ()]

        return self._guarded(run)

    # --- writes ---------------------------------------------------------------------------------

    def send_batch(self, requests_: Sequence[dict[str, Any]]) -> list[BatchReply]:
        """One `$batch` call (at most 200 requests); each item succeeds or fails on its own.

        The SDK has no method for `$batch` (api-contracts.md 2.8), so this is plain requests with the
        same basic auth (any user name, the PAT as password).
        """
        if len(requests_) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} requests per $batch")

        def run() -> list[BatchReply]:
            url = f"{self.org_url}/_apis/wit/$batch"
            values = self._post_json("PATCH", url, list(requests_), "$batch").get("value")
            if not isinstance(values, list) or len(values) != len(requests_):
                raise PermanentError("ADO $batch answered an unexpected body")
            return [_batch_reply(v) for v in values]

        return self._guarded(run)

    def _post_json(self, method: str, url: str, body: object, what: str) -> dict[str, Any]:
        """Send a JSON body (api-version 7.1) and return the JSON object ADO answers; an error status
        raises the bridge's error for it."""
        reply = self._http().request(
            method,
            url,
            params={"api-version": "7.1"},
            json=body,
            headers={"Accept": "application/json"},
            timeout=self._timeout_s,
        )
        if not 200 <= reply.status_code < 300:
            message = errors.ado_message(reply.text, reply.reason or "no message")
            raise errors.for_status(reply.status_code, message, reply.headers)
        try:
            value = reply.json()
        except ValueError:
            # e.g. a sign-in page answered with 203 instead of a 401 (see _http).
            raise PermanentError(f"ADO {what} answered HTTP {reply.status_code} without JSON") from None
        if not isinstance(value, dict):
            raise PermanentError(f"ADO {what} answered an unexpected body")
        return value

    def _http(self) -> requests.Session:
        with self._lock:
            if self._session is not None:
                return self._session
            session = requests.Session()
            # Room for every request the writer sends at once (a pool that is too small opens and drops
            # extra connections).
            session.mount("https://", HTTPAdapter(pool_maxsize=MAX_PARALLEL))
            session.mount("http://", HTTPAdapter(pool_maxsize=MAX_PARALLEL))
            session.auth = ("", self._pat.get_secret_value())
            # As the SDK does (api-contracts.md 2.2): without it, ADO may answer a bad credential with a
            # sign-in redirect or a 203 page instead of a 401.
            session.headers.update({"X-TFS-FedAuthRedirect": "Suppress", "X-VSS-ForceMsaPassThrough": "true"})
            self._session = session
            return session


def _batch_reply(value: object) -> BatchReply:
    if not isinstance(value, dict):
        return BatchReply(0, {}, "")
    body = value.get("body")
    headers = value.get("headers")
    return BatchReply(
        int(value.get("code") or 0),
        {str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
        body if isinstance(body, str) else "" if body is None else json.dumps(body),
    )
