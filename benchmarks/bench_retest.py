"""1,000 fixed defects to Ready for Retest when their RFC reaches Review, 20 ms a request, vs a baseline."""

from __future__ import annotations

import os
import tempfile
import time
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


def run() -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="bench-retest-"))
    os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", str(work / "ado-cache"))
    from bridge.config import load_settings
    from bridge.domain.events import Source
    from bridge.sandbox.runner import Sandbox
    from bridge.service.runtime.wiring import build_processor
    from bridge.store import Store

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
        settings = load_settings(box.config_path)
        store = Store.from_url(f"sqlite:///{work / 'bridge.db'}")
        store.upgrade()
        processor = build_processor(settings, store=store)
        processor.run_once()  # everything read and planned: the RFC is in Implement, nothing moves yet
        in_writer = _timed_apply(processor.connectors[Source.ADO])

        for simulator in (box.gitlab, box.servicenow, box.ado):
            simulator.plan.configure({"latency_ms": LATENCY_MS})
        box.ado.stats.reset()
        started = time.perf_counter()
        box.servicenow.update("change_request", sys_id, {"state": "0"})  # the RFC event: Review
        processor.run_once()
        bridge_s = time.perf_counter() - started
        moved = sum(_state(box, i) == "Ready for Retest" for i in bridge_ids)
        bridge_stats = box.ado.stats.snapshot()
        bridge_requests = _ado_requests(bridge_stats)

        box.ado.stats.reset()
        started = time.perf_counter()
        _baseline(box, baseline_ids)
        baseline_s = time.perf_counter() - started
        baseline_moved = sum(_state(box, i) == "Ready for Retest" for i in baseline_ids)
        baseline_requests = _ado_requests(box.ado.stats.snapshot())
        store.close()

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


def _baseline(box: Any, ids: list[int]) -> None:
    """What a user would write with the azure-devops SDK: read each defect, then update it."""
    from azure.devops.connection import Connection
    from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation
    from msrest.authentication import BasicAuthentication

    connection = Connection(
        base_url=box.ado_organization_url, creds=BasicAuthentication("", box.secrets.ado_pat)
    )
    client = connection.clients_v7_1.get_work_item_tracking_client()
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
