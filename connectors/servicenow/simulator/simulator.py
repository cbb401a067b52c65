"""ServiceNowSimulator: the model, its change events and its Table API app, with the seeding calls."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.servicenow.simulator.api import Credentials, create_app
from connectors.servicenow.simulator.hooks import ServiceNowEvents
from connectors.servicenow.simulator.model import ServiceNowModel
from connectors.servicenow.simulator.oauth import TokenIssuer
from connectors.simulation import FaultPlan, Faults, Stats, WebhookSender


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
        self.stats = Stats()
        self.plan = FaultPlan(faults)
        self.webhooks = WebhookSender(self.plan)
        self.events = ServiceNowEvents(self.webhooks, event_url, event_secret)
        self.model = ServiceNowModel(
            extra_fields=extra_fields,
            references=references,
            first_number=first_number,
            clock=clock or (lambda: datetime.now(UTC)),
            on_write=self.events.announce,
        )
        credentials = Credentials(user, password)
        self.oauth = TokenIssuer(
            oauth_clients or {},
            credentials.match,
            lambda: self.model.clock().astimezone(UTC),
            (oauth_token, user) if oauth_token else None,
        )
        self.app = create_app(
            self.model,
            credentials=credentials,
            oauth=self.oauth,
            stats=self.stats,
            plan=self.plan,
            deliveries=self.webhooks,
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
        model = self.model
        with model.lock:
            row = model.insert(model.table(table), fields, as_user or self.user, by_name=input_display_value)
            return dict(row)

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
        model = self.model
        with model.lock:
            found = model.update(
                model.table(table), sys_id, fields, as_user or self.user, by_name=input_display_value
            )
            if found is None:
                raise KeyError(f"no {table} record {sys_id}")
            return dict(found)

    def delete(self, table: str, sys_id: str) -> bool:
        """Delete a record; whether there was one."""
        return self.model.delete(self.model.table(table), sys_id) is not None

    def get(self, table: str, sys_id: str) -> dict[str, str] | None:
        """A record as the Table API returns it with display_value=false and plain reference values."""
        with self.model.lock:
            found = self.model.rows[self.model.table(table).name].get(sys_id)
            return dict(found) if found is not None else None

    def journal(self, sys_id: str) -> list[dict[str, str]]:
        """The work notes and comments written on a record, oldest first (its sys_journal_field rows)."""
        with self.model.lock:
            return [dict(r) for r in self.model.journal(sys_id)]

    def set_event_target(self, url: str | None, secret: str | None) -> None:
        """Where change events go and the key they are signed with (None: no events / unsigned)."""
        # Under the model's lock, so no write announces itself to half a new target.
        with self.model.lock:
            self.events.url, self.events.secret = url, secret

    def set_hibernating(self, hibernating: bool) -> None:
        """Put the instance to sleep, as an idle developer instance goes: every API call then gets the
        hibernation page with status 200, an error a client only sees when it parses the body."""
        self.model.hibernating = hibernating

    def close(self) -> None:
        """Stop the webhook sender's thread."""
        self.webhooks.stop()

    # --- state ------------------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """The instance's data as JSON-serialisable state."""
        return self.model.save()

    def load(self, state: dict[str, Any]) -> None:
        """Replace the instance's data with saved state; ValueError if it is not a state this reads."""
        self.model.load(state)

    def save_to(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.save(), indent=1, sort_keys=True), encoding="utf-8")

    def load_from(self, path: str | Path) -> None:
        self.load(json.loads(Path(path).read_text(encoding="utf-8")))
