"""The sandbox: the three simulators on loopback, seeded, and the bridge configuration that points at them."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bridge.config import to_toml
from bridge.mappings import environment_mapping
from bridge.sandbox.programme import Programme, Seeded, demo_programme
from bridge.sandbox.programme import seed as seed_programme
from connectors.ado.simulator import AdoSimulator
from connectors.gitlab.simulator import GitLabSimulator
from connectors.servicenow.simulator import ServiceNowSimulator
from connectors.simulation import Faults, RunningServer, free_port

SYSTEMS = ("gitlab", "servicenow", "ado")
# The instance fields the sandbox's ServiceNow has beyond the standard change model, by role.
FIELDS = {
    "environment": "u_environment",
    "release": "u_release",
    "governance_approval": "u_governance_approval",
}
# Which of them are references, to which table: the environment is a record of its own, as programmes
# often configure it, so the bridge reads its display value (a sys_id is stored on the RFC).
REFERENCES = {"u_environment": "u_test_environment"}
DEFAULT_PORTS = {"gitlab": 8181, "servicenow": 8182, "ado": 8183}
DEFAULT_BRIDGE_URL = "http://127.0.0.1:8080"
STORE_FILE = "bridge.db"
Seed = Literal["demo", "empty"]


@dataclass(frozen=True)
class SandboxSecrets:
    """Credentials the simulators accept and the webhook secrets they send; sandbox values only."""

    gitlab_token: str = "sandbox-gitlab-token"
    gitlab_hook_secret: str = "sandbox-gitlab-hook-secret"
    servicenow_user: str = "bridge"
    servicenow_password: str = "sandbox-servicenow-password"
    servicenow_event_secret: str = "sandbox-servicenow-event-secret"
    ado_organization: str = "mhhs"
    ado_project: str = "Programme"
    ado_pat: str = "sandbox-ado-pat"
    ado_hook_user: str = "ado-hooks"
    ado_hook_password: str = "sandbox-ado-hook-password"
    operator_token: str = "sandbox-operator-token"


@dataclass
class Sandbox:
    """GitLab, ServiceNow and ADO simulators on loopback, optionally sending webhooks to a bridge."""

    host: str = "127.0.0.1"
    ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    seed: Seed = "demo"
    webhook_target: str | None = None
    faults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    work_dir: Path = field(default_factory=lambda: Path("var") / "sandbox")
    secrets: SandboxSecrets = field(default_factory=SandboxSecrets)
    programme: Programme | None = None
    seeded: Seeded = field(default_factory=Seeded)
    # Where the simulators' state and the bridge's store are kept together between runs: loaded at
    # start when there, saved at stop. Without it both start afresh on every start.
    state_dir: Path | None = None

    def __post_init__(self) -> None:
        self.ports = {name: self.ports.get(name) or free_port(self.host) for name in SYSTEMS}
        s = self.secrets
        self.gitlab = GitLabSimulator(
            token=s.gitlab_token, instance_url=self.url("gitlab"), faults=self._faults("gitlab")
        )
        self.servicenow = ServiceNowSimulator(
            user=s.servicenow_user,
            password=s.servicenow_password,
            faults=self._faults("servicenow"),
            extra_fields=tuple(FIELDS.values()),
            references=REFERENCES,
        )
        self.ado = AdoSimulator(
            organization=s.ado_organization, project=s.ado_project, pat=s.ado_pat, faults=self._faults("ado")
        )
        # Links in seeded items and hook payloads carry the address the simulator is served on.
        self.ado.base_url = self.url("ado")
        self.servers = {
            "gitlab": RunningServer(self.gitlab.app, self.host, self.ports["gitlab"]),
            "servicenow": RunningServer(self.servicenow.app, self.host, self.ports["servicenow"]),
            "ado": RunningServer(self.ado.app, self.host, self.ports["ado"]),
        }

    def _faults(self, system: str) -> Faults:
        faults = Faults()
        faults.update(self.faults.get(system, {}))
        return faults

    # --- where things are ------------------------------------------------------------------------

    def url(self, system: str) -> str:
        return f"http://{self.host}:{self.ports[system]}"

    @property
    def ado_organization_url(self) -> str:
        return f"{self.url('ado')}/{self.secrets.ado_organization}"

    @property
    def config_path(self) -> Path:
        return self.work_dir / "bridge.toml"

    @property
    def store_path(self) -> Path:
        """The bridge's SQLite store for this sandbox: beside the simulators' kept state, if any."""
        return (self.state_dir or self.work_dir) / STORE_FILE

    # --- life ------------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Serve the three simulators, seed them, then point their webhooks at the bridge."""
        started: list[RunningServer] = []
        try:
            for server in self.servers.values():
                started.append(server.start())
        except Exception:
            for server in started:
                server.stop()
            raise
        if self._load_state():
            self.programme = demo_programme() if self.seed == "demo" else None
            self._reseeded_keys()
        else:
            # Freshly seeded systems: a store filled from earlier ones would hold records that are gone.
            self._forget_store()
            self._seed_environments()
            if self.seed == "demo":
                self.programme = demo_programme()
                self.seeded = seed_programme(self.programme, self.gitlab, self.servicenow, self.ado)
        if self.webhook_target:
            self._subscribe(self.webhook_target.rstrip("/"))
        self.write_config()
        return self

    def stop(self) -> None:
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            for name, simulator in self._simulators().items():
                simulator.save_to(self.state_dir / f"{name}.json")
        for simulator in (self.gitlab, self.servicenow, self.ado):
            simulator.webhooks.stop()
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _simulators(self) -> dict[str, GitLabSimulator | ServiceNowSimulator | AdoSimulator]:
        return {"gitlab": self.gitlab, "servicenow": self.servicenow, "ado": self.ado}

    def _load_state(self) -> bool:
        """Load the simulators' saved state, if every file is there; True when loaded."""
        if self.state_dir is None:
            return False
        files = {name: self.state_dir / f"{name}.json" for name in self._simulators()}
        if not all(path.exists() for path in files.values()):
            return False
        for name, simulator in self._simulators().items():
            simulator.load_from(files[name])
        return True

    def _seed_environments(self) -> None:
        """The instance's environment records, one per environment the mapping names."""
        for environment in environment_mapping().environments:
            self.servicenow.insert(REFERENCES["u_environment"], {"name": environment.name})

    def _forget_store(self) -> None:
        """Remove the bridge's store and SQLite's companion files (journal, WAL, writer lock)."""
        folder = self.store_path.parent
        if folder.is_dir():
            for leftover in folder.glob(f"{STORE_FILE}*"):
                leftover.unlink()

    def _reseeded_keys(self) -> None:
        """Find the demo programme's records again in loaded state (projects by path, RFCs by text)."""
        if self.programme is None:
            return
        for component in self.programme.components:
            project = self.gitlab.get_project(component.project)
            self.seeded.projects[component.project] = int(str(project["id"]))

    def _subscribe(self, target: str) -> None:
        s = self.secrets
        for project_id in self.seeded.projects.values():
            self.gitlab.add_hook(project_id, f"{target}/hooks/gitlab", token=s.gitlab_hook_secret)
        self.servicenow.set_event_target(f"{target}/hooks/servicenow", s.servicenow_event_secret)
        for event_type in ("workitem.created", "workitem.updated"):
            self.ado.add_subscription(
                event_type, f"{target}/hooks/ado", basic_auth=(s.ado_hook_user, s.ado_hook_password)
            )

    # --- what it tells the bridge and tools ------------------------------------------------------

    def components(self) -> list[dict[str, Any]]:
        programme = self.programme or demo_programme()
        return [
            {"path": c.project, "component": c.component, "tag_patterns": list(c.tag_patterns)}
            for c in programme.components
        ]

    def bridge_config(self, bridge_url: str = DEFAULT_BRIDGE_URL) -> dict[str, Any]:
        """A complete bridge configuration for this sandbox, as plain data."""
        s = self.secrets
        port = urllib.parse.urlsplit(bridge_url).port or 8080
        return {
            "log_format": "text",
            # Absolute: the configuration names the same store from whichever folder it is run.
            "database": {"url": f"sqlite:///{self.store_path.resolve().as_posix()}"},
            "service": {
                "host": self.host,
                "port": port,
                "public_url": bridge_url,
                "operator_token": s.operator_token,
                "metrics_dir": (self.store_path.parent / "metrics").resolve().as_posix(),
            },
            "gitlab": {
                "url": self.url("gitlab"),
                "token": s.gitlab_token,
                "webhook_secret": s.gitlab_hook_secret,
                "poll_interval_s": 30,
                "projects": self.components() if self.seed == "demo" else [],
            },
            "servicenow": {
                "url": self.url("servicenow"),
                "user": s.servicenow_user,
                "password": s.servicenow_password,
                "webhook_secret": s.servicenow_event_secret,
                "poll_interval_s": 30,
                "fields": dict(FIELDS),
            },
            "ado": {
                "organization_url": self.ado_organization_url,
                "project": s.ado_project,
                "pat": s.ado_pat,
                "work_item_type": "Defect",
                "webhook_user": s.ado_hook_user,
                "webhook_password": s.ado_hook_password,
                "poll_interval_s": 30,
            },
        }

    def config_toml(self, bridge_url: str = DEFAULT_BRIDGE_URL) -> str:
        header = "# A bridge configuration for the sandbox's simulators (sandbox credentials only).\n"
        return header + to_toml(self.bridge_config(bridge_url))

    def write_config(self, bridge_url: str = DEFAULT_BRIDGE_URL) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config_toml(bridge_url), encoding="utf-8")
        return self.config_path

    def describe(self) -> dict[str, Any]:
        """The one JSON object tools and tests rely on to reach the sandbox."""
        s = self.secrets
        projects = [
            {"id": self.seeded.projects.get(c["path"]), "path": c["path"], "component": c["component"]}
            for c in (self.components() if self.seed == "demo" else [])
        ]
        return {
            "gitlab": {"url": self.url("gitlab"), "token": s.gitlab_token, "projects": projects},
            "servicenow": {
                "url": self.url("servicenow"),
                "user": s.servicenow_user,
                "password": s.servicenow_password,
            },
            "ado": {
                "url": self.ado_organization_url,
                "project": s.ado_project,
                "pat": s.ado_pat,
                "work_item_type": "Defect",
            },
            "config": str(self.config_path.resolve()),
        }

    def describe_line(self) -> str:
        return json.dumps(self.describe())
