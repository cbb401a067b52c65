"""A simulated ServiceNow instance: the Table API for change_request and sys_journal_field, with events."""

# Wire facts (paths, parameters, status codes, error bodies, headers) follow the Table API reference and
# `reference/api-contracts.md` section 3; each quirk is explained where it is reproduced.

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.servicenow.simulator import query
from connectors.servicenow.simulator.events import change_event
from connectors.servicenow.simulator.model import (
    CHANGE_REQUEST,
    DISPLAY_FIELD,
    JOURNAL,
    SYS_ID,
    Column,
    FieldType,
    Table,
    change_request_table,
    display_text,
    journal_table,
    referenced_table,
    stored_text,
)
from connectors.servicenow.simulator.oauth import TokenIssuer
from connectors.simulation import (
    CONTROL_PREFIX,
    FaultPlan,
    Faults,
    SimulatorMiddleware,
    Stats,
    SystemReplies,
    WebhookSender,
    control_routes,
)

JSON_TYPE = "application/json;charset=UTF-8"
DEFAULT_LIMIT = 10000  # Table API default for sysparm_limit
STATE_FORMAT = 1
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
JOURNAL_LABELS = {"work_notes": "Work notes", "comments": "Additional comments"}
# The sys_id of the rate-limit rule a 429 names (sys_rate_limit_rules); any 32-hex id will do.
RATE_LIMIT_RULE = "8d9f2b6e1b7a3010a0f6ea41dd4bcb2f"
RATE_LIMIT_PER_HOUR = 100

Record = dict[str, str]


# --- replies ------------------------------------------------------------------------------------


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(content, status, headers=dict(headers or {}), media_type=JSON_TYPE)


def failure(status: int, message: str, detail: str | None) -> Response:
    """ServiceNow's error shape; the status travels only in the status line."""
    return _json({"error": {"message": message, "detail": detail}, "status": "failure"}, status)


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


# --- request parameters -------------------------------------------------------------------------


def _flag(params: Mapping[str, str], name: str) -> bool:
    # pysnow sends Python's `True`/`False`; an empty value means the default (false).
    return params.get(name, "").strip().lower() == "true"


def _number(params: Mapping[str, str], name: str, default: int) -> int:
    try:
        return max(int(params.get(name, "")), 0)
    except ValueError:
        return default


@dataclass(frozen=True)
class View:
    """How records are rendered: sysparm_display_value, sysparm_exclude_reference_link, sysparm_fields."""

    display: str = "false"  # false, true or all
    exclude_links: bool = False
    fields: tuple[str, ...] = ()  # empty: every field
    base_url: str = ""

    @classmethod
    def of(cls, request: Request) -> View:
        params = request.query_params
        display = params.get("sysparm_display_value", "").strip().lower()
        fields = tuple(f.strip() for f in params.get("sysparm_fields", "").split(",") if f.strip())
        return cls(
            display=display if display in {"true", "all"} else "false",
            exclude_links=_flag(params, "sysparm_exclude_reference_link"),
            fields=fields,
            base_url=f"{request.url.scheme}://{request.url.netloc}",
        )


# --- the instance -------------------------------------------------------------------------------


class ServiceNowSimulator:
    """The Table API of one instance, in memory, with faults, `/_sim/` controls and change events.

    Seed it in-process with `insert`, `update` and `delete`: they act exactly as the REST calls do,
    change events included.
    """

    def __init__(
        self,
        *,
        user: str,
        password: str,
        faults: Faults | None = None,
        event_url: str | None = None,
        event_secret: str | None = None,
        extra_fields: Sequence[str] = (),
        references: Mapping[str, str] | None = None,
        first_number: int = 1,
        clock: Callable[[], datetime] | None = None,
        oauth_clients: Mapping[str, str] | None = None,
        oauth_token: str | None = None,
    ) -> None:
        self.user = user
        self.password = password
        changes = change_request_table(extra_fields, references)
        # Every table a reference field points at is there too, so a reference shows its record's name.
        referenced = dict.fromkeys(c.reference for c in changes.columns if c.kind is FieldType.REFERENCE)
        self.tables = {
            t.name: t for t in (changes, journal_table(), *(referenced_table(n) for n in referenced))
        }
        self.rows: dict[str, dict[str, Record]] = {name: {} for name in self.tables}
        self.next_number = first_number
        self.clock = clock or (lambda: datetime.now(UTC))
        self.oauth = TokenIssuer(
            oauth_clients or {},
            self._password_matches,
            lambda: self.clock().astimezone(UTC),
            (oauth_token, user) if oauth_token else None,
        )
        self.lock = threading.RLock()
        self.event_url = event_url
        self.event_secret = event_secret
        self.hibernating = False
        self.stats = Stats()
        self.plan = FaultPlan(faults)
        self.webhooks = WebhookSender(self.plan)
        routes = self._routes()
        self.app = Starlette(
            routes=routes
            + control_routes(self.stats, self.plan, save=self.save, load=self.load, deliveries=self.webhooks)
            + [Route(f"{CONTROL_PREFIX}/hibernate", self._hibernate, methods=["POST"])],
            middleware=[
                Middleware(
                    SimulatorMiddleware, routes=routes, stats=self.stats, plan=self.plan, replies=REPLIES
                )
            ],
        )

    # --- seeding, in-process ----------------------------------------------------------------------

    def insert(
        self,
        table: str,
        fields: Mapping[str, Any],
        *,
        as_user: str | None = None,
        input_display_value: bool = False,
    ) -> dict[str, str]:
        """Insert a record as `POST /api/now/table/{table}` does; returns it as the Table API shows it.
        `input_display_value`: reference fields may be given by their record's name, as with
        `sysparm_input_display_value=true`."""
        with self.lock:
            return dict(
                self._insert(self._table(table), fields, as_user or self.user, by_name=input_display_value)
            )

    def update(
        self,
        table: str,
        sys_id: str,
        fields: Mapping[str, Any],
        *,
        as_user: str | None = None,
        input_display_value: bool = False,
    ) -> dict[str, str]:
        """Update a record as `PATCH /api/now/table/{table}/{sys_id}` does; KeyError if there is none."""
        with self.lock:
            found = self._update(
                self._table(table), sys_id, fields, as_user or self.user, by_name=input_display_value
            )
            if found is None:
                raise KeyError(f"no {table} record {sys_id}")
            return dict(found)

    def delete(self, table: str, sys_id: str) -> bool:
        """Delete a record; whether there was one."""
        with self.lock:
            return self.rows[self._table(table).name].pop(sys_id, None) is not None

    def get(self, table: str, sys_id: str) -> dict[str, str] | None:
        """A record as the Table API returns it with display_value=false and plain reference values."""
        with self.lock:
            found = self.rows[self._table(table).name].get(sys_id)
            return dict(found) if found is not None else None

    def journal(self, sys_id: str) -> list[dict[str, str]]:
        """The work notes and comments written on a record, oldest first (its sys_journal_field rows)."""
        with self.lock:
            return [dict(r) for r in self.rows[JOURNAL].values() if r["element_id"] == sys_id]

    def set_event_target(self, url: str | None, secret: str | None) -> None:
        """Where change events go and the key they are signed with (None: no events / unsigned)."""
        with self.lock:
            self.event_url, self.event_secret = url, secret

    def set_hibernating(self, hibernating: bool) -> None:
        """Put the instance to sleep, as an idle developer instance goes: every API call then gets the
        hibernation page with status 200, an error a client only sees when it parses the body."""
        self.hibernating = hibernating

    def close(self) -> None:
        """Stop the webhook sender's thread."""
        self.webhooks.stop()

    # --- state ------------------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """The instance's data as JSON-serialisable state."""
        with self.lock:
            return {
                "format": STATE_FORMAT,
                "next_number": self.next_number,
                "tables": {name: [dict(r) for r in rows.values()] for name, rows in self.rows.items()},
            }

    def load(self, state: dict[str, Any]) -> None:
        """Replace the instance's data with saved state; ValueError if it is not a state this reads."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown state format {state.get('format')!r}")
        loaded: dict[str, dict[str, Record]] = {name: {} for name in self.tables}
        for name, records in dict(state["tables"]).items():
            table = self._table(name)
            for record in records:
                row = {c.name: c.default for c in table.columns} | {
                    k: stored_text(v) for k, v in dict(record).items() if table.column(k) is not None
                }
                if not SYS_ID.match(row["sys_id"]):
                    raise ValueError(f"record without a valid sys_id in {name}")
                loaded[name][row["sys_id"]] = row
        with self.lock:
            self.rows = loaded
            self.next_number = int(state["next_number"])

    def save_to(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.save(), indent=1, sort_keys=True), encoding="utf-8")

    def load_from(self, path: str | Path) -> None:
        self.load(json.loads(Path(path).read_text(encoding="utf-8")))

    # --- writes shared by REST and seeding --------------------------------------------------------

    def _table(self, name: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            raise ValueError(f"Invalid table {name}")
        return table

    def _now(self) -> str:
        return self.clock().astimezone(UTC).strftime(TIME_FORMAT)

    def _later(self, previous: str) -> str:
        """Now, or a second after the previous stamp, so an update always moves sys_updated_on."""
        now = self._now()
        if now > previous:
            return now
        return (datetime.strptime(previous, TIME_FORMAT) + timedelta(seconds=1)).strftime(TIME_FORMAT)

    def _insert(self, table: Table, fields: Mapping[str, Any], user: str, *, by_name: bool = False) -> Record:
        row = {c.name: c.default for c in table.columns}
        notes = self._assign(table, row, fields, by_name=by_name)
        wanted = stored_text(fields.get("sys_id"))
        # The Table API takes a caller's sys_id on insert when it is a free, well-formed id.
        row["sys_id"] = wanted if SYS_ID.match(wanted) and wanted not in self.rows[table.name] else _new_id()
        if table.number_prefix and not row.get("number"):
            row["number"] = f"{table.number_prefix}{self.next_number:07d}"
            self.next_number += 1
        now = self._now()
        for name, value in (("sys_created_on", now), ("sys_updated_on", now)):
            if name in row:
                row[name] = value
        for name in ("sys_created_by", "sys_updated_by"):
            if name in row:
                row[name] = user
        self.rows[table.name][row["sys_id"]] = row
        self._write_journal(table, row, notes, user, now)
        self._announce(table, "insert", row)
        return row

    def _update(
        self, table: Table, sys_id: str, fields: Mapping[str, Any], user: str, *, by_name: bool = False
    ) -> Record | None:
        row = self.rows[table.name].get(sys_id)
        if row is None:
            return None
        before = dict(row)
        notes = self._assign(table, row, fields, by_name=by_name)
        if row == before and not notes:
            # GlideRecord.update() writes nothing when nothing changed: no new sys_mod_count, no rule runs.
            return row
        if "sys_mod_count" in row:
            row["sys_mod_count"] = str(int(row["sys_mod_count"] or "0") + 1)
            row["sys_updated_on"] = self._later(row["sys_updated_on"])
            row["sys_updated_by"] = user
        self._write_journal(table, row, notes, user, row.get("sys_updated_on") or self._now())
        self._announce(table, "update", row)
        return row

    def _assign(
        self, table: Table, row: Record, fields: Mapping[str, Any], *, by_name: bool = False
    ) -> list[tuple[str, str]]:
        """Set the writable fields; unknown and system fields are ignored, as the Table API does.

        Values are stored as given; with `by_name` (sysparm_input_display_value=true) a reference given
        by its record's name stores that record's sys_id, as an instance resolves it (Table API FAQs,
        KB0534905). Returns the journal entries (field, text) to write, since journal fields are not
        stored on the row.
        """
        notes: list[tuple[str, str]] = []
        for name, value in fields.items():
            column = table.column(name)
            if column is None or not column.writable:
                continue
            text = stored_text(value)
            if column.kind is FieldType.JOURNAL:
                if text.strip():
                    notes.append((name, text))
            elif column.kind is FieldType.REFERENCE and by_name:
                row[name] = self._referenced_id(column, text)
            else:
                row[name] = text
        return notes

    def _write_journal(
        self, table: Table, row: Record, notes: list[tuple[str, str]], user: str, at: str
    ) -> None:
        for element, text in notes:
            entry_id = _new_id()
            self.rows[JOURNAL][entry_id] = {
                "element": element,
                "element_id": row["sys_id"],
                "name": table.name,
                "value": text,
                "sys_id": entry_id,
                "sys_created_on": at,
                "sys_created_by": user,
            }

    def _referenced_id(self, column: Column, text: str) -> str:
        """The sys_id of the referenced record a value names (its sys_id or its name); else the text."""
        records = self.rows.get(column.reference, {})
        if text in records:
            return text
        return next((sys_id for sys_id, r in records.items() if r.get(DISPLAY_FIELD) == text), text)

    def _referenced(self, column: Column, value: str) -> Record | None:
        return self.rows.get(column.reference, {}).get(value)

    def _announce(self, table: Table, operation: str, row: Record) -> None:
        if table.name == CHANGE_REQUEST and self.event_url:
            self.webhooks.send(change_event(self.event_url, self.event_secret, table.name, operation, row))

    # --- rendering --------------------------------------------------------------------------------

    def _render(self, table: Table, row: Record, view: View) -> dict[str, Any]:
        names = view.fields or table.names
        out: dict[str, Any] = {}
        for name in names:
            column = table.column(name)
            if column is not None:
                out[name] = self._field(column, row, view)
            elif "." in name:
                walked = self._walked(table, row, name, view)
                if walked is not None:
                    out[name] = walked
        return out

    def _walked(self, table: Table, row: Record, name: str, view: View) -> Any:
        """A dot-walked field (`u_environment.name`): the field of the record a reference points at,
        named as asked; None (left out, as an invalid field is) when the path does not lead to one."""
        base, _, rest = name.partition(".")
        column = table.column(base)
        if column is None or column.kind is not FieldType.REFERENCE:
            return None
        target = self.tables.get(column.reference)
        field = target.column(rest) if target is not None else None
        if target is None or field is None:
            return None  # one step only: the referenced tables hold no references themselves
        record = self._referenced(column, row.get(base, "")) or {}
        return self._field(field, record, view)

    def _field(self, column: Column, row: Record, view: View) -> Any:
        value = row.get(column.name, "")
        shown = (
            self._journal_text(row["sys_id"], column.name)
            if column.kind is FieldType.JOURNAL
            else display_text(column, value)
        )
        if column.kind is FieldType.REFERENCE and value:
            # A reference shows its record's name; one to a record the instance does not hold shows its
            # stored value.
            record = self._referenced(column, value)
            shown = record.get(DISPLAY_FIELD, "") if record is not None else value
            link = f"{view.base_url}/api/now/table/{column.reference}/{value}"
            parts: dict[str, str] = {}
            if view.display != "false":
                parts["display_value"] = shown
            if not view.exclude_links:
                parts["link"] = link
            if view.display != "true":
                parts["value"] = value
            return parts if len(parts) > 1 else next(iter(parts.values()))
        if view.display == "all":
            if column.kind is FieldType.DATETIME:
                # Date-times also carry the display value in the internal format (api-contracts.md 3.1).
                return {"display_value": shown, "value": value, "display_value_internal": shown}
            return {"display_value": shown, "value": value}
        return shown if view.display == "true" else value

    def _journal_text(self, sys_id: str, element: str) -> str:
        """A journal field's display value: its entries, newest first, as the activity formatter shows."""
        entries = [
            r for r in self.rows[JOURNAL].values() if r["element_id"] == sys_id and r["element"] == element
        ]
        label = JOURNAL_LABELS.get(element, element)
        return "".join(
            f"{e['sys_created_on']} - {e['sys_created_by']} ({label})\n{e['value']}\n\n"
            for e in reversed(entries)
        )

    # --- HTTP -------------------------------------------------------------------------------------

    def _routes(self) -> list[BaseRoute]:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        routes: list[BaseRoute] = []
        for prefix in ("/api/now", "/api/now/{version:str}"):
            routes.append(Route(f"{prefix}/table/{{table}}", self._collection, methods=methods))
            routes.append(Route(f"{prefix}/table/{{table}}/{{sys_id}}", self._member, methods=methods))
        routes.append(Route("/api/{rest:path}", self._unknown, methods=methods))
        routes.append(Route("/oauth_token.do", self.oauth.token_endpoint, methods=["POST"]))
        return routes

    def _password_matches(self, user: str, password: str) -> bool:
        return secrets.compare_digest(user, self.user) and secrets.compare_digest(password, self.password)

    def _caller(self, request: Request) -> str | None:
        """The user a request authenticates as (basic auth or an OAuth bearer token), or None."""
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return self.oauth.user_of(credentials.strip())
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if self._password_matches(user, password) else None

    def _guard(self, request: Request) -> tuple[Table | None, Response | None]:
        """The table a request names, or the reply refusing it (authentication comes first)."""
        if self.hibernating:
            return None, hibernation_page()
        if self._caller(request) is None:
            return None, unauthenticated()
        version = request.path_params.get("version", "v2")
        name = request.path_params["table"]
        if version not in {"v1", "v2"}:
            return None, failure(400, "Requested URI does not represent any resource", None)
        if name not in self.tables:
            return None, failure(400, f"Invalid table {name}", None)
        return self.tables[name], None

    async def _hibernate(self, request: Request) -> Response:
        try:
            body = await request.json()
            self.set_hibernating(bool(body["hibernating"]))
        except (ValueError, KeyError, TypeError):
            return _json({"error": 'send {"hibernating": true|false}'}, 400)
        return _json({"hibernating": self.hibernating})

    async def _unknown(self, request: Request) -> Response:
        if self.hibernating:
            return hibernation_page()
        if self._caller(request) is None:
            return unauthenticated()
        return failure(400, "Requested URI does not represent any resource", None)

    async def _collection(self, request: Request) -> Response:
        table, refused = self._guard(request)
        if table is None:
            return refused or not_found()
        if request.method == "GET":
            return self._list(request, table)
        if request.method == "POST":
            fields = await _body(request)
            if isinstance(fields, Response):
                return fields
            with self.lock:
                row = self._insert(
                    table, fields, self._caller(request) or self.user, by_name=_by_name(request)
                )
                rendered = self._render(table, row, View.of(request))
            location = (
                f"{request.url.scheme}://{request.url.netloc}/api/now/table/{table.name}/{row['sys_id']}"
            )
            return self._reply(request, {"result": rendered}, 201, {"Location": location})
        return _not_supported()

    async def _member(self, request: Request) -> Response:
        table, refused = self._guard(request)
        if table is None:
            return refused or not_found()
        sys_id = request.path_params["sys_id"]
        if request.method == "GET":
            with self.lock:
                row = self.rows[table.name].get(sys_id)
                rendered = self._render(table, row, View.of(request)) if row else None
            return not_found() if rendered is None else _json({"result": rendered})
        if request.method in {"PUT", "PATCH"}:
            fields = await _body(request)
            if isinstance(fields, Response):
                return fields
            with self.lock:
                row = self._update(
                    table, sys_id, fields, self._caller(request) or self.user, by_name=_by_name(request)
                )
                rendered = self._render(table, row, View.of(request)) if row else None
            return not_found() if rendered is None else self._reply(request, {"result": rendered}, 200)
        if request.method == "DELETE":
            with self.lock:
                gone = self.rows[table.name].pop(sys_id, None)
            return not_found() if gone is None else Response(status_code=204)
        return _not_supported()

    def _list(self, request: Request, table: Table) -> Response:
        params = request.query_params
        text = params.get("sysparm_query", "")
        if not text:
            # name=value pairs stand in for sysparm_query when it is absent (Table API docs).
            text = "^".join(f"{k}={v}" for k, v in params.items() if not k.startswith("sysparm_"))
        limit = _number(params, "sysparm_limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
        offset = _number(params, "sysparm_offset", 0)
        view = View.of(request)
        with self.lock:
            matched = query.parse(text, table).apply(list(self.rows[table.name].values()))
            page = [self._render(table, dict(r), view) for r in matched[offset : offset + limit]]
        if not page and request.path_params.get("version") == "v1":
            # Version 1 of the endpoint answers an empty result with 404 (Table API docs, api_version).
            return failure(
                404,
                "No Record found",
                "Records matching query not found. Check query parameter or offset parameter",
            )
        headers: dict[str, str] = {}
        if not _flag(params, "sysparm_no_count"):
            headers["X-Total-Count"] = str(len(matched))
        link = _link_header(request, len(matched), limit, offset)
        if link and not _flag(params, "sysparm_suppress_pagination_header"):
            headers["Link"] = link
        return _json({"result": page}, 200, headers)

    def _reply(
        self, request: Request, body: Any, status: int, headers: Mapping[str, str] | None = None
    ) -> Response:
        # X-no-response-body: true suppresses the body of a write (Table API docs, request headers).
        if request.headers.get("x-no-response-body", "").lower() == "true":
            return Response(status_code=status, headers=dict(headers or {}))
        return _json(body, status, headers)


def _by_name(request: Request) -> bool:
    """Whether a write gives references by their records' names (sysparm_input_display_value)."""
    return _flag(request.query_params, "sysparm_input_display_value")


def _new_id() -> str:
    return secrets.token_hex(16)


def _not_supported() -> Response:
    return failure(405, "Method not Supported", "The requested method is not supported by this resource")


async def _body(request: Request) -> Mapping[str, Any] | Response:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        fields = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return failure(400, "Exception while reading request", "The payload is not valid JSON.")
    if not isinstance(fields, dict):
        return failure(400, "Exception while reading request", "The payload is not a JSON object.")
    return fields


def _link_header(request: Request, total: int, limit: int, offset: int) -> str:
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
