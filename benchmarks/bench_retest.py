"""1,000 fixed defects to Ready for Retest when their RFC reaches Review, 20 ms a request, vs a baseline."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

DEFECTS = 1000
LATENCY_MS = 20


def _note(ids: list[int], rfc: str) -> str:
    rows = "\n".join(f"| {i} | 3 - Medium | Defect {i} |" for i in ids)
    return (
        "# DIP Platform — Release 1.0.2.0\n\n| Item | Detail |\n|---|---|\n| Release number | 1.0.2.0 |\n"
        f"| RFC | {rfc} |\n\n## Defects fixed\n| ID | Severity | Summary |\n|---|---|---|\n{rows}\n"
    )


def _ado_requests(stats: dict[str, Any]) -> dict[str, int]:
    return {route: count for route, count in stats["requests"].items() if count}


def _sandbox(channel: Connection, work: Path) -> None:
    """The simulators in their own process, as the real systems answer from other machines.

    So their work (the ADO simulator applying a `$batch`) does not share the bridge's interpreter while
    the bridge is timed. It seeds the programme, sends the bridge's configuration and what the parent
    needs to know, then answers the parent's commands until told to stop.
    """
    os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", str(work / "ado-cache"))
    from bridge.sandbox.runner import Sandbox

    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=work / "sandbox") as box:
        bridge_ids = [_fixed(box, n) for n in range(DEFECTS)]
        baseline_ids = [_fixed(box, n) for n in range(DEFECTS)]
        number = box.seeded.rfcs["dip-next"]
        sys_id = box.seeded.rfc_sys_ids["dip-next"]
        project = box.seeded.projects["mhhs/dip-platform"]
        sha = box.gitlab.add_commit(project, "Prepare 1.0.2.0")
        box.gitlab.create_release(project, "dip-platform/1.0.2.0", _note(bridge_ids, number), ref=sha)
        box.servicenow.update(
            "change_request",
            sys_id,
            {
                "state": "-1",
                "approval": "approved",
                "short_description": "Deploy dip-platform 1.0.2.0 to SIT-A",
            },
        )
        channel.send(
            {
                "config_path": str(box.config_path),
                "ado_organization_url": box.ado_organization_url,
                "ado_pat": box.secrets.ado_pat,
                "bridge_ids": bridge_ids,
                "baseline_ids": baseline_ids,
            }
        )
        while True:
            command, argument = channel.recv()
            if command == "stop":
                return
            if command == "latency":
                for simulator in (box.gitlab, box.servicenow, box.ado):
                    simulator.plan.configure({"latency_ms": argument})
                channel.send(None)
            elif command == "review":  # the RFC event: Review
                box.servicenow.update("change_request", sys_id, {"state": "0"})
                channel.send(None)
            elif command == "reset_stats":
                box.ado.stats.reset()
                channel.send(None)
            elif command == "stats":
                channel.send(box.ado.stats.snapshot())
            elif command == "states":
                channel.send([_state(box, i) for i in argument])
            else:
                raise ValueError(f"unknown command {command!r}")


def _ask(channel: Connection, command: str, argument: object = None) -> Any:
    channel.send((command, argument))
    return channel.recv()


def run() -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="bench-retest-"))
    os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", str(work / "ado-cache"))
    from bridge.config import load_settings
    from bridge.domain.events import Source
    from bridge.service.runtime.wiring import build_processor
    from bridge.store import Store

    spawn = multiprocessing.get_context("spawn")
    channel, far_end = spawn.Pipe()
    sandbox = spawn.Process(target=_sandbox, args=(far_end, work), daemon=True)
    sandbox.start()
    try:
        seeded = channel.recv()
        bridge_ids, baseline_ids = seeded["bridge_ids"], seeded["baseline_ids"]
        settings = load_settings(Path(seeded["config_path"]))
        store = Store.from_url(f"sqlite:///{work / 'bridge.db'}")
        store.upgrade()
        # Built as the service's worker process builds its own (bridge.service.runtime.processes): this
        # process runs the bridge and nothing else.
        processor = build_processor(settings, store=store, freeze_heap=True)
        processor.run_once()  # everything read and planned: the RFC is in Implement, nothing moves yet
        in_writer = _timed_apply(processor.connectors[Source.ADO])

        _ask(channel, "latency", LATENCY_MS)
        _ask(channel, "reset_stats")
        started = time.perf_counter()
        _ask(channel, "review")
        processor.run_once()
        bridge_s = time.perf_counter() - started
        moved = _ask(channel, "states", bridge_ids).count("Ready for Retest")
        bridge_stats = _ask(channel, "stats")
        bridge_requests = _ado_requests(bridge_stats)

        _ask(channel, "reset_stats")
        started = time.perf_counter()
        _baseline(seeded["ado_organization_url"], seeded["ado_pat"], baseline_ids)
        baseline_s = time.perf_counter() - started
        baseline_moved = _ask(channel, "states", baseline_ids).count("Ready for Retest")
        baseline_requests = _ado_requests(_ask(channel, "stats"))
        store.close()
        channel.send(("stop", None))
    finally:
        sandbox.join(30)
        if sandbox.is_alive():
            sandbox.kill()

    print(f"   bridge ADO requests by route: {bridge_requests}")
    print(f"   baseline ADO requests by route: {baseline_requests}")
    return {
        "defects": DEFECTS,
        "latency_ms": LATENCY_MS,
        "bridge_s": round(bridge_s, 3),
        "bridge_moved": moved,
        "bridge_ado_requests": sum(bridge_requests.values()),
        # The part of bridge_s spent in the ADO writer (its round trips and its own work); the rest is the
        # polls, the engine and the store.
        "bridge_ado_apply_s": round(in_writer[0], 3),
        "bridge_ado_peak_in_flight": bridge_stats["peak_in_flight"],
        "baseline_s": round(baseline_s, 3),
        "baseline_moved": baseline_moved,
        "baseline_ado_requests": sum(baseline_requests.values()),
        "speedup": round(baseline_s / bridge_s, 1),
        "request_ratio": round(sum(baseline_requests.values()) / max(1, sum(bridge_requests.values())), 1),
    }


def _timed_apply(connector: Any) -> list[float]:
    """Wraps the connector's apply so that the seconds spent in it add up in the list's one value."""
    spent = [0.0]
    apply = connector.apply

    def timed(actions: Any) -> Any:
        started = time.perf_counter()
        try:
            return apply(actions)
        finally:
            spent[0] += time.perf_counter() - started

    connector.apply = timed
    return spent


def _fixed(box: Any, n: int) -> int:
    item = box.ado.create_work_item({"System.Title": f"Bench defect {n}", "System.State": "Fixed"})
    return int(item["id"])


def _state(box: Any, defect_id: int) -> str:
    return str(box.ado.get_work_item(defect_id)["fields"]["System.State"])


def _baseline(organization_url: str, pat: str, ids: list[int]) -> None:
    """What a user would write with the azure-devops SDK: read each defect, then update it."""
    from azure.devops.connection import Connection as AdoConnection
    from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation
    from msrest.authentication import BasicAuthentication

    ado = AdoConnection(base_url=organization_url, creds=BasicAuthentication("", pat))
    client = ado.clients_v7_1.get_work_item_tracking_client()
    for defect_id in ids:
        item = client.get_work_item(defect_id)
        if item.fields["System.State"] == "Fixed":
            client.update_work_item(
                [
                    JsonPatchOperation(op="add", path="/fields/System.State", value="Ready for Retest"),
                    JsonPatchOperation(
                        op="add", path="/fields/System.History", value="Fixed in dip-platform 1.0.2.0"
                    ),
                ],
                defect_id,
            )
