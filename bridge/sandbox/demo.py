"""The demo: the sandbox and the service side by side, and a scripted release played through the real APIs."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import gitlab
import uvicorn

from bridge.config import load_settings, secret_values
from bridge.domain.events import RfcState
from bridge.domain.keys import ReleaseKey, Subject
from bridge.domain.links import LinkKind
from bridge.mappings import servicenow_mapping
from bridge.sandbox.programme import Programme
from bridge.sandbox.runner import DEFAULT_PORTS, FIELDS, REFERENCES, SYSTEMS, Sandbox
from bridge.service.runtime.logs import configure_logging, unconfigure_logging
from bridge.service.runtime.multiprocess import run_directory
from bridge.store.store import Tx
from connectors.servicenow.client import TableClient, build_client, secrets_of
from connectors.simulation import free_port

if TYPE_CHECKING:  # loaded once the run's metrics directory is set up (see DemoStack.start)
    from bridge.service.runtime.runner import Service

PROJECT = "mhhs/dip-platform"
COMPONENT = "dip-platform"
VERSION = "1.0.2.0"
TAG = f"{COMPONENT}/{VERSION}"
RFC = "dip-next"
ENVIRONMENT = "SIT-A"
# What the note lists, by the demo programme's keys: the seed leaves the first four Fixed and the last
# In Progress; the emergency release's fixes are carried forward, as the approach requires.
FIXED = ("dip-dup-msg", "dip-bst", "dip-empty-mpan", "dip-audit-tz", "dip-replay-ui")
CARRIED = ("dip-large-msg", "dip-pool")
OUTSTANDING = (
    ("dip-dead-letter", "Operations replay the queue on request"),
    ("dip-export-cols", "Re-order columns after export"),
)
DEFAULT_BRIDGE_PORT = 8080
# The RFC's life up to Review (the instance's numeric states are in mappings/servicenow.yaml).
RFC_STEPS: tuple[tuple[RfcState, dict[str, str]], ...] = (
    (RfcState.ASSESS, {}),
    (RfcState.AUTHORIZE, {}),
    (RfcState.SCHEDULED, {"approval": "approved"}),
    (
        RfcState.IMPLEMENT,
        {"work_notes": "Deployment started on SIT-A; router node 2 took 4 minutes to drain."},
    ),
    (RfcState.REVIEW, {}),
)
BRIDGE_MARK = "Release bridge"


@dataclass(frozen=True)
class DefectOutcome:
    """Where a defect the note lists ended, and why."""

    id: int
    title: str
    state: str
    moved: bool
    comment: str


@dataclass
class Account:
    """What the scripted release made the bridge do, read back from the three systems and the bridge."""

    rfc_number: str
    rfc_links: list[str] = field(default_factory=list)
    defects: list[DefectOutcome] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)
    work_note: str | None = None
    environment_version: str | None = None
    environment_rfc: str | None = None
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    complete: bool = False


def _port_or_free(host: str, preferred: int) -> int:
    """`preferred` when it can be bound, else a free port (0 asks for a free one)."""
    if preferred:
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
            try:
                sock.bind((host, preferred))
                return preferred
            except OSError:
                pass
    return free_port(host)


class DemoStack:
    """The sandbox posting webhooks to a bridge service on embedded SQLite, both on loopback threads."""

    def __init__(
        self, work_dir: Path, *, bridge_port: int = DEFAULT_BRIDGE_PORT, free_ports: bool = False
    ) -> None:
        self.host = "127.0.0.1"
        self.work_dir = work_dir
        self.bridge_port = _port_or_free(self.host, 0 if free_ports else bridge_port)
        ports = {s: _port_or_free(self.host, 0 if free_ports else DEFAULT_PORTS[s]) for s in SYSTEMS}
        self.box = Sandbox(host=self.host, ports=ports, work_dir=work_dir, webhook_target=self.bridge_url)
        self.service: Service | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._metrics_dir = contextlib.ExitStack()

    @property
    def log_path(self) -> Path:
        """The bridge's log for this run."""
        return self.work_dir / "bridge.log"

    @property
    def bridge_url(self) -> str:
        return f"http://{self.host}:{self.bridge_port}"

    def start(self) -> DemoStack:
        """A fresh database, the seeded sandbox, then the service (its first polls read the programme)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.box.start()  # seeded afresh, and so is the bridge's store beside it
        config = self.box.write_config(self.bridge_url)
        # The account is the demo's story: the bridge's log goes to a file, only its warnings and
        # errors to the console (the worker process logs the same way, from the same settings).
        self.log_path.unlink(missing_ok=True)
        settings = load_settings(config).model_copy(update={"log_file": self.log_path.resolve()})
        configure_logging(settings.log_format, secrets=secret_values(settings), log_file=settings.log_file)
        # Before the service is loaded, as in `bridge run` (which see).
        self._metrics_dir.enter_context(run_directory(settings.service.metrics_dir))
        from bridge.service.runtime.runner import Service

        self.service = Service(settings)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.service.app,
                host=self.host,
                port=self.bridge_port,
                log_level="warning",
                access_log=False,
                log_config=None,  # uvicorn's records go through the bridge's handlers
                lifespan="on",
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="bridge-service", daemon=True)
        self._thread.start()
        _until(lambda: self._server is not None and self._server.started, 30, "the bridge service to start")
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=60)
        self._metrics_dir.close()
        self.box.stop()
        unconfigure_logging()

    def __enter__(self) -> DemoStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_until_read(self, timeout_s: float = 60) -> None:
        """Until each source has been polled once: the bridge knows the programme before the script."""
        service = self.service
        assert service is not None

        def polled() -> bool:
            with service.processor.store.transaction(readonly=True) as tx:
                done = {p.source for p in tx.cursors.list() if p.last_success_at is not None}
                waiting = tx.inbox.stats().unprocessed
                planned = tx.planned.furthest()
                _, newest = tx.journal.span()
            polled_all = done >= set(service.processor.connectors)
            return polled_all and waiting == 0 and planned is not None and planned >= newest

        _until(polled, timeout_s, "the first polls")

    def environment_reference(self) -> tuple[str, str, str, str, str | None]:
        """How the demo RFC holds its environment and what the bridge read: (RFC number, field, stored
        sys_id, referenced table, the environment the bridge stored for the RFC)."""
        box = self.box
        field = FIELDS["environment"]
        sys_id = box.seeded.rfc_sys_ids[RFC]
        record = box.servicenow.get("change_request", sys_id) or {}
        environment = None
        if self.service is not None:
            with self.service.processor.store.transaction(readonly=True) as tx:
                stored = tx.rfcs.get(sys_id)
            environment = str(stored.fields.get("environment") or "") or None if stored is not None else None
        return record.get("number", ""), field, record.get(field, ""), REFERENCES.get(field, ""), environment

    def urls(self) -> dict[str, str]:
        box = self.box
        return {
            "bridge pages": f"{self.bridge_url}/",
            "the release": f"{self.bridge_url}/releases/{COMPONENT}/{VERSION}",
            "bridge API": f"{self.bridge_url}/docs",
            "bridge health": f"{self.bridge_url}/readyz",
            "GitLab": f"{box.url('gitlab')}/api/v4/projects",
            "ServiceNow": f"{box.url('servicenow')}/api/now/table/change_request",
            "Azure DevOps": f"{box.ado_organization_url}/{box.secrets.ado_project}/_apis/wit/workitems",
        }


def _until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(0.05)


# --- the script -----------------------------------------------------------------------------------


def release_note(programme: Programme, defects: dict[str, int], rfc_number: str) -> str:
    """The 1.0.2.0 release note, in the programme's format, naming the RFC and the defects by ADO id."""
    titles = {d.key: (d.severity, d.title) for d in programme.defects}
    fixed = "\n".join(
        f"| {defects[key]} | {titles[key][0]} | {titles[key][1]} |" for key in (*FIXED, *CARRIED)
    )
    outstanding = "\n".join(
        f"| {defects[key]} | {titles[key][0]} | {titles[key][1]} | {workaround} |"
        for key, workaround in OUTSTANDING
    )
    today = datetime.now(UTC)
    return f"""# DIP Platform — Release {VERSION} (Patch release for SIT Functional Testing in {ENVIRONMENT})

| Item | Detail |
|---|---|
| Programme | MHHS |
| Release number | {VERSION} |
| Release date | {today:%d-%b-%Y} |
| Release type | Patch |
| Released to | SI Environment Manager, {ENVIRONMENT} |
| Issued by | DIP Release Manager |
| Source control tag | `{TAG}` |
| RFC | {rfc_number} |

## Release content
Weekly patch bundling defect fixes raised during SIT Functional testing, with the fixes of emergency
release 1.0.1.1 carried forward. No schema change.

## Defects fixed

| ID | Severity | Summary |
|---|---|---|
{fixed}

## Outstanding defects

| ID | Severity | Summary | Workaround |
|---|---|---|---|
{outstanding}

## Change Requests

| ID | Title | Summary |
|---|---|---|
| CR-031 | Extend retry window | Retry window raised from 30 to 60 minutes |

## Bill of Materials

| File / configuration item | Version | Date |
|---|---|---|
| dip-router.jar | {VERSION} | {today:%d-%b-%Y} |
| dip-schemas.zip | {VERSION} | {today:%d-%b-%Y} |

## Installation instructions

### Pre-requisites
| Step | Description | Who | Estimate |
|---|---|---|---|
| 1 | Take a backup of router.yaml and the message store | Deployment Team | 15 min |

### Release instructions
| Step | Description | Who | Estimate |
|---|---|---|---|
| 1 | Stop the router service on all nodes | Deployment Team | 5 min |
| 2 | Deploy dip-router.jar and dip-schemas.zip | Deployment Team | 10 min |
| 3 | Start the router service and check the health endpoint returns 200 | Deployment Team | 5 min |

### Post-release checks
1. Send the smoke-test message set and confirm delivery to all subscribers.
2. Confirm the version endpoint reports {VERSION}.

## Backout plan
| Step | Description | Who | Estimate |
|---|---|---|---|
| 1 | Stop the router service | Deployment Team | 5 min |
| 2 | Redeploy the 1.0.1.1 artefacts and restore router.yaml from the backup | Deployment Team | 15 min |

## Service impact
The router is unavailable for about 20 minutes; messages queue at the edge and are delivered afterwards.
"""


def publish_release(box: Sandbox) -> None:
    """A developer's commit, then the tag and the GitLab Release with its note, through python-gitlab."""
    assert box.programme is not None
    # The simulator has no push endpoint; the commit stands for `git push` of the release's work.
    box.gitlab.add_commit(PROJECT, f"Prepare {VERSION}")
    client = gitlab.Gitlab(box.url("gitlab"), private_token=box.secrets.gitlab_token)
    project = client.projects.get(PROJECT)
    project.tags.create({"tag_name": TAG, "ref": "main", "message": f"DIP Platform {VERSION}"})
    note = release_note(box.programme, box.seeded.defects, box.seeded.rfcs[RFC])
    project.releases.create({"name": f"DIP Platform {VERSION}", "tag_name": TAG, "description": note})


def _servicenow(box: Sandbox) -> TableClient:
    """The ServiceNow connector's Table API client, as the sandbox's configuration sets it up."""
    settings = load_settings(box.config_path).servicenow
    assert settings is not None
    return TableClient(build_client(settings), secrets=secrets_of(settings))


def progress_rfc(box: Sandbox, on_step: Callable[[str], None] = lambda _state: None) -> None:
    """The release manager takes the RFC from New to Review through the Table API, as a person would."""
    table = _servicenow(box)
    states = servicenow_mapping()
    start = datetime.now(UTC)
    planned = {
        "short_description": f"Deploy {COMPONENT} {VERSION} to {ENVIRONMENT}",
        "start_date": f"{start:%Y-%m-%d %H:%M:%S}",
        "end_date": f"{start + timedelta(hours=2):%Y-%m-%d %H:%M:%S}",
    }
    for state, extra in RFC_STEPS:
        payload = {
            "state": states.state_value(state),
            **extra,
            **(planned if state is RfcState.ASSESS else {}),
        }
        table.patch("change_request", box.seeded.rfc_sys_ids[RFC], payload, fields=["state"])
        on_step(state.value.capitalize())


# --- the account ----------------------------------------------------------------------------------


def _bridge_comment(box: Sandbox, defect_id: int) -> str:
    comments = [str(c.get("text", "")) for c in box.ado.model.comment_list(defect_id)]
    return next((c for c in reversed(comments) if BRIDGE_MARK in c), "")


def _work_note(box: Sandbox) -> str | None:
    """The bridge's newest work note on the RFC, read back through the Table API (sys_journal_field)."""
    query = f"element_id={box.seeded.rfc_sys_ids[RFC]}^element=work_notes"
    rows = _servicenow(box).select_raw("sys_journal_field", query, fields=["value"], limit=1000)
    notes = [str(r.get("value", "")) for r in rows if f"[{BRIDGE_MARK}]" in str(r.get("value", ""))]
    mentioning = [n for n in notes if VERSION in n]
    return mentioning[-1] if mentioning else None


def account(stack: DemoStack, started: float) -> Account:
    """Read back what the bridge did: defects in ADO, the RFC's work note, links and ledger in the bridge."""
    box = stack.box
    assert box.programme is not None and stack.service is not None
    result = Account(rfc_number=box.seeded.rfcs[RFC], seconds=time.monotonic() - started)
    titles = {d.key: d.title for d in box.programme.defects}
    for key in FIXED:
        defect_id = box.seeded.defects[key]
        fields = box.ado.get_work_item(defect_id)["fields"]
        state = str(fields["System.State"])
        comment = _bridge_comment(box, defect_id)
        result.defects.append(DefectOutcome(defect_id, titles[key], state, bool(comment), comment))
    result.work_note = _work_note(box)
    with stack.service.processor.store.transaction(readonly=True) as tx:
        _from_store(result, tx)
    moved = [d for d in result.defects if d.moved]
    result.complete = (
        len(moved) == len(FIXED) - 1
        and result.work_note is not None
        and result.environment_version == VERSION
    )
    return result


def _from_store(result: Account, tx: Tx) -> None:
    """What the bridge decided about the demo's release, as its worker stored it."""
    release = ReleaseKey(COMPONENT, VERSION)
    result.rfc_links = sorted(
        link.right for link in tx.links.list(kind=LinkKind.RELEASE_RFC, left=str(release))
    )
    for row in tx.ledger.deployed(ENVIRONMENT):
        if row.component == COMPONENT and not row.rolled_back:
            result.environment_version = row.version
            result.environment_rfc = row.rfc_number
    about = [f for d in result.defects for f in tx.findings.list(str(Subject.defect(d.id)))]
    result.left_alone = [f.message for f in about if f.code == "retest.left_alone"]
    subjects = [str(Subject.release(release)), str(Subject.rfc(result.rfc_number))]
    result.findings = [
        f"[{f.severity.value}] {f.message}"
        for subject in subjects
        for f in tx.findings.list(subject)
        if f.code != "retest.left_alone"
    ]


def play(stack: DemoStack, *, on_step: Callable[[str], None], timeout_s: float = 90) -> Account:
    """Publish the release, take its RFC to Review, wait for the bridge (webhooks) and read the outcome."""
    publish_release(stack.box)
    on_step(f"GitLab: tag {TAG} and its Release published")
    progress_rfc(stack.box, lambda state: on_step(f"ServiceNow: {stack.box.seeded.rfcs[RFC]} → {state}"))
    started = time.monotonic()  # the RFC is in Review: the deployment is done, the bridge's turn
    deadline = started + timeout_s
    while True:
        outcome = account(stack, started)
        if outcome.complete or time.monotonic() > deadline:
            return outcome
        time.sleep(0.2)
