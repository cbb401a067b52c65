"""AdoSimulator: the model, its service hooks and its REST app put together, with the seeding calls."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.ado.simulator import hooks, views
from connectors.ado.simulator.api import create_app
from connectors.ado.simulator.model import AdoModel, Change
from connectors.ado.simulator.process import ProcessModel, load_process
from connectors.simulation import FaultPlan, Faults, Stats, WebhookSender


def _now() -> datetime:
    return datetime.now(UTC)


class AdoSimulator:
    """An in-memory ADO organisation with one project, served at `{url}/{organization}`."""

    def __init__(
        self,
        *,
        organization: str = "mhhs",
        project: str = "Programme",
        pat: str,
        faults: Faults | None = None,
        process: ProcessModel | None = None,
        pat_owner: str = "Release Bridge <release.bridge@mhhs.example>",
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.stats = Stats()
        self.plan = FaultPlan(faults)
        self.webhooks = WebhookSender(self.plan)
        self.model = AdoModel(
            organization=organization,
            project=project,
            process=process or load_process(),
            pat_owner=pat_owner,
            clock=clock,
            on_change=self._announce,
        )
        self.app = create_app(self.model, pat=pat, stats=self.stats, plan=self.plan, deliveries=self.webhooks)

    def _announce(self, change: Change) -> None:
        for delivery in hooks.deliveries(self.model, change):
            self.webhooks.send(delivery)

    @property
    def base_url(self) -> str:
        """Where the server answers (scheme, host, port); URLs in bodies and payloads start with it."""
        return self.model.base

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.model.base = value.rstrip("/")

    @property
    def organization_url(self) -> str:
        """The URL to give the SDK's Connection as `base_url`."""
        return self.model.org_url

    # --- seeding: the same effects as the REST calls, service hooks included ----------------------

    def create_work_item(
        self, fields: Mapping[str, object], *, work_item_type: str = "Defect", by: str | None = None
    ) -> dict[str, Any]:
        """Create a work item with these fields (reference names); returns it as GET `$expand=all` would."""
        ops = [{"op": "add", "path": f"/fields/{name}", "value": value} for name, value in fields.items()]
        revision = self.model.create(work_item_type, ops, by=by)
        return self.get_work_item(int(revision["fields"]["System.Id"]))

    def update_work_item(
        self, id: int, fields: Mapping[str, object], *, by: str = "Tester"
    ) -> dict[str, Any]:
        """Change fields as a person would in the web UI; a None value clears the field."""
        ops = [
            {"op": "remove", "path": f"/fields/{name}"}
            if value is None
            else {"op": "add", "path": f"/fields/{name}", "value": value}
            for name, value in fields.items()
        ]
        self.model.update(id, ops, by=by)
        return self.get_work_item(id)

    def add_comment(self, id: int, text: str, *, by: str = "Tester") -> dict[str, Any]:
        """Add a discussion comment as a person would."""
        return views.comment(self.model, self.model.add_comment(id, text, by=by))

    def get_work_item(self, id: int) -> dict[str, Any]:
        """The work item as GET `$expand=all` returns it."""
        return views.work_item(self.model, id, self.model.revision(id), expand="all")

    def add_subscription(
        self,
        event_type: str,
        url: str,
        *,
        basic_auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        publisher_inputs: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Subscribe a Web Hooks consumer to `workitem.created` or `workitem.updated`."""
        sub = hooks.new_subscription(
            self.model,
            event_type,
            url,
            basic_auth=basic_auth,
            headers=headers,
            publisher_inputs=publisher_inputs,
        )
        self.model.add_subscription(sub)
        return hooks.shown(sub)

    # --- state ----------------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """All data as JSON-serialisable values."""
        return self.model.save()

    def load(self, state: dict[str, Any]) -> None:
        """Replace all data with a saved state."""
        self.model.load(state)

    def save_to(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.save(), indent=1), encoding="utf-8")

    def load_from(self, path: Path | str) -> None:
        self.load(json.loads(Path(path).read_text(encoding="utf-8")))

    def close(self) -> None:
        """Stop the webhook sender's thread."""
        self.webhooks.stop()
