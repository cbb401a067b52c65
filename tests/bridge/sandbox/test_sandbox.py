"""`bridge sandbox`: three seeded simulators that the official clients use, and a configuration for them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import gitlab
import pysnow
import pytest
from azure.devops.connection import Connection
from azure.devops.v7_1.work_item_tracking.models import TeamContext, Wiql
from msrest.authentication import BasicAuthentication
from typer.testing import CliRunner

from bridge.cli import app
from bridge.config import load_settings
from bridge.release_notes import parse_release_note
from bridge.sandbox.runner import Sandbox

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path_factory.mktemp("sandbox"))
    with box:
        yield box


@pytest.mark.slow
def test_gitlab_holds_the_demo_releases_with_notes_naming_the_seeded_defects(sandbox: Sandbox) -> None:
    described = sandbox.describe()["gitlab"]
    client = gitlab.Gitlab(described["url"], private_token=described["token"])
    project = client.projects.get("mhhs/dip-platform")
    tags = [r.tag_name for r in project.releases.list(get_all=True)]
    assert tags == ["dip-platform/1.0.1.1", "dip-platform/1.0.1.0", "dip-platform/1.0.0.0"]
    note = parse_release_note(
        project.releases.get("dip-platform/1.0.1.0").description, component="dip-platform"
    )
    seeded = sandbox.seeded
    assert [d.id for d in note.defects_fixed] == [
        seeded.defects["dip-auth-timeout"],
        seeded.defects["dip-mpan-case"],
        seeded.defects["dip-retry-storm"],
    ]
    assert note.rfcs == (seeded.rfcs["dip-1010"],)
    assert note.missing == ()
    assert [p["component"] for p in sandbox.describe()["gitlab"]["projects"]] == [
        "dip-platform",
        "helix-settlement",
    ]


@pytest.mark.slow
def test_servicenow_holds_rfcs_in_several_states(sandbox: Sandbox) -> None:
    described = sandbox.describe()["servicenow"]
    client = pysnow.Client(
        host=described["url"].removeprefix("http://"),
        user=described["user"],
        password=described["password"],
        use_ssl=False,
    )
    records = client.resource(api_path="/table/change_request").get(query={}).all()
    assert len(records) == 6
    assert Counter(r["state"] for r in records) == {"3": 3, "0": 1, "-2": 1, "-5": 1}
    # The environment is a reference, as on many instances: a sys_id with a link, and a name to display.
    assert all(r["u_environment"]["link"].endswith(r["u_environment"]["value"]) for r in records)
    shown = client.resource(api_path="/table/change_request")
    shown.parameters.display_value = True
    assert {r["u_environment"]["display_value"] for r in shown.get(query={}).all()} == {"SIT-A", "SIT-B"}


@pytest.mark.slow
def test_ado_holds_thirty_defects_across_the_states(sandbox: Sandbox) -> None:
    described = sandbox.describe()["ado"]
    connection = Connection(base_url=described["url"], creds=BasicAuthentication("", described["pat"]))
    client = connection.clients_v7_1.get_work_item_tracking_client()
    result = client.query_by_wiql(
        Wiql(query="SELECT [System.Id] FROM WorkItems WHERE [System.WorkItemType] = 'Defect'"),
        team_context=TeamContext(project=described["project"]),
    )
    ids = [item.id for item in result.work_items]
    assert len(ids) == 30
    states = Counter(item.fields["System.State"] for item in client.get_work_items(ids))
    assert set(states) == {
        "New",
        "Open",
        "In Progress",
        "Fixed",
        "Ready for Retest",
        "In Retest",
        "Closed",
        "Rejected",
        "Deferred",
    }


@pytest.mark.slow
def test_the_written_configuration_points_at_the_sandbox_and_loads(sandbox: Sandbox) -> None:
    settings = load_settings(sandbox.config_path)
    assert str(settings.gitlab.url).rstrip("/") == sandbox.url("gitlab")
    assert str(settings.ado.organization_url).rstrip("/") == sandbox.ado_organization_url
    assert settings.servicenow.password is not None
    assert settings.servicenow.password.get_secret_value() == sandbox.secrets.servicenow_password
    assert [p.component for p in settings.gitlab.projects] == ["dip-platform", "helix-settlement"]


def test_print_config_prints_a_valid_configuration_and_starts_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sandbox", "--print-config", "--work-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    path = tmp_path / "printed.toml"
    path.write_text(result.output, encoding="utf-8")
    settings = load_settings(path)
    assert str(settings.gitlab.url).rstrip("/") == "http://127.0.0.1:8181"
    assert not (tmp_path / "bridge.toml").exists()


def test_a_bad_fault_flag_is_refused() -> None:
    result = CliRunner().invoke(app, ["sandbox", "--print-config", "--fault", "ado.latency_ms"])
    assert result.exit_code == 2
    assert "SYSTEM.NAME=VALUE" in result.output


@pytest.mark.slow
def test_webhooks_go_to_the_target_once_subscribed(tmp_path: Path) -> None:
    received: list[str] = []
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from connectors.simulation import RunningServer

    async def hook(request: Request) -> Response:
        received.append(request.url.path)
        return Response(status_code=202)

    receiver = RunningServer(Starlette(routes=[Route("/hooks/{system}", hook, methods=["POST"])]))
    with receiver:
        box = Sandbox(
            ports={"gitlab": 0, "servicenow": 0, "ado": 0}, webhook_target=receiver.url, work_dir=tmp_path
        )
        with box:
            assert received == []  # the seeded history is for polling, not replayed as webhooks
            project_id = box.seeded.projects["mhhs/dip-platform"]
            sha = box.gitlab.add_commit(project_id, "Prepare 1.0.2.0")
            box.gitlab.create_release(project_id, "dip-platform/1.0.2.0", "Patch", ref=sha)
            box.servicenow.update("change_request", box.seeded.rfc_sys_ids["dip-next"], {"state": "-4"})
            box.ado.update_work_item(box.seeded.defects["dip-dup-msg"], {"System.State": "Open"})
            for simulator in (box.gitlab, box.servicenow, box.ado):
                simulator.webhooks.flush()
    assert Counter(received) == {"/hooks/gitlab": 2, "/hooks/servicenow": 1, "/hooks/ado": 1}


@pytest.mark.slow
def test_the_command_describes_itself_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "bridge.cli",
        "sandbox",
        "--describe",
        "--gitlab-port",
        "0",
        "--servicenow-port",
        "0",
        "--ado-port",
        "0",
        "--work-dir",
        str(tmp_path),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=dict(os.environ)
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        described = json.loads(line)
        assert set(described) == {"gitlab", "servicenow", "ado", "config"}
        assert described["ado"]["url"].endswith("/mhhs")
        assert Path(described["config"]).exists()
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.slow
def test_state_kept_in_a_folder_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ports = {"gitlab": 0, "servicenow": 0, "ado": 0}
    with Sandbox(ports=ports, work_dir=tmp_path / "one", state_dir=state) as first:
        defect = first.seeded.defects["dip-dup-msg"]
        first.ado.update_work_item(defect, {"System.State": "Open"})
    assert sorted(p.name for p in state.iterdir()) == ["ado.json", "gitlab.json", "servicenow.json"]
    with Sandbox(ports=ports, work_dir=tmp_path / "two", state_dir=state) as second:
        assert second.ado.get_work_item(defect)["fields"]["System.State"] == "Open"
        assert second.seeded.projects == first.seeded.projects
        records = second.servicenow.save()
        assert "CHG0000007" not in str(records)  # loaded, not seeded a second time


def _one_cycle(box: Sandbox) -> dict[str, object]:
    """One cycle of the bridge on the store the sandbox's configuration names (migrated first)."""
    from bridge.service.runtime.wiring import build_connectors, engine_context, load_mappings
    from bridge.service.worker.processor import Processor
    from bridge.store import Store

    settings = load_settings(box.config_path)
    mappings = load_mappings()
    store = Store.from_settings(settings.database)
    try:
        store.upgrade()
        processor = Processor(store, build_connectors(settings, mappings), engine_context(settings, mappings))
        return processor.run_once()
    finally:
        store.close()


def _bridge_notes(box: Sandbox, key: str, seeded: Sandbox | None = None) -> list[str]:
    journal = box.servicenow.journal((seeded or box).seeded.rfc_sys_ids[key])
    return [entry["value"] for entry in journal if entry["value"].startswith("[Release bridge]")]


@pytest.mark.slow
def test_a_second_start_without_state_gives_the_bridge_a_fresh_store_too(tmp_path: Path) -> None:
    ports = {"gitlab": 0, "servicenow": 0, "ado": 0}
    outcomes = []
    for _ in range(2):
        with Sandbox(ports=ports, work_dir=tmp_path / "sandbox") as box:
            outcomes.append(_one_cycle(box))
            # The bridge writes its work note on the freshly seeded RFC each time: a store kept from the
            # first sandbox would believe it already had, and write nothing to the second.
            assert len(_bridge_notes(box, "helix-1100")) == 1
            assert box.store_path == tmp_path / "sandbox" / "bridge.db"
    assert outcomes[0]["polled"] == outcomes[1]["polled"] == {"gitlab": 5, "servicenow": 6, "ado": 30}


@pytest.mark.slow
def test_with_state_the_store_is_kept_beside_the_simulators(tmp_path: Path) -> None:
    ports = {"gitlab": 0, "servicenow": 0, "ado": 0}
    state = tmp_path / "state"
    with Sandbox(ports=ports, work_dir=tmp_path / "one", state_dir=state) as first:
        _one_cycle(first)
        assert len(_bridge_notes(first, "helix-1100")) == 1
    assert (state / "bridge.db").is_file()
    assert not (tmp_path / "one" / "bridge.db").exists()
    with Sandbox(ports=ports, work_dir=tmp_path / "two", state_dir=state) as second:
        assert second.store_path == state / "bridge.db"
        _one_cycle(second)
        # The same world, remembered: the note the bridge wrote is not written again.
        assert len(_bridge_notes(second, "helix-1100", seeded=first)) == 1


@pytest.mark.slow
def test_a_store_without_the_simulators_it_came_from_is_not_kept(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "bridge.db").write_bytes(b"left from another world")
    (state / "bridge.db-wal").write_bytes(b"")
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "w", state_dir=state):
        assert not (state / "bridge.db").exists()
        assert not (state / "bridge.db-wal").exists()


def test_the_configuration_names_the_same_store_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    box = Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=Path("var/sandbox"))
    config = box.write_config()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    url = load_settings(tmp_path / config).database.url
    assert url == f"sqlite:///{(tmp_path / 'var' / 'sandbox' / 'bridge.db').as_posix()}"
