"""`bridge sandbox`: the three simulators on loopback, seeded, serving until interrupted."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from bridge.sandbox.runner import DEFAULT_BRIDGE_URL, DEFAULT_PORTS, Sandbox


def parse_faults(specs: list[str]) -> dict[str, dict[str, Any]]:
    """Read `SYSTEM.NAME=VALUE` (SYSTEM is gitlab, servicenow, ado or all) into faults per system."""
    faults: dict[str, dict[str, Any]] = {}
    for spec in specs:
        target, _, value = spec.partition("=")
        system, _, name = target.partition(".")
        if not value or not name or system not in {"gitlab", "servicenow", "ado", "all"}:
            raise typer.BadParameter(
                f"{spec!r}: write SYSTEM.NAME=VALUE, e.g. ado.latency_ms=20", param_hint="--fault"
            )
        try:
            number: Any = json.loads(value)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"{spec!r}: {value!r} is not a number", param_hint="--fault") from exc
        for each in ("gitlab", "servicenow", "ado") if system == "all" else (system,):
            faults.setdefault(each, {})[name] = number
    return faults


def sandbox(
    host: Annotated[str, typer.Option(help="Address to serve on (loopback).")] = "127.0.0.1",
    gitlab_port: Annotated[int, typer.Option(help="GitLab simulator port.")] = DEFAULT_PORTS["gitlab"],
    servicenow_port: Annotated[int, typer.Option(help="ServiceNow simulator port.")] = DEFAULT_PORTS[
        "servicenow"
    ],
    ado_port: Annotated[int, typer.Option(help="Azure DevOps simulator port.")] = DEFAULT_PORTS["ado"],
    seed: Annotated[str, typer.Option(help="demo (a small programme) or empty.")] = "demo",
    webhook_target: Annotated[
        str | None,
        typer.Option(help="Bridge base URL; the systems post to URL/hooks/gitlab, /servicenow and /ado."),
    ] = None,
    bridge_url: Annotated[str, typer.Option(help="Bridge URL written into the printed configuration.")] = (
        DEFAULT_BRIDGE_URL
    ),
    fault: Annotated[
        list[str] | None,
        typer.Option(help="SYSTEM.NAME=VALUE, e.g. ado.latency_ms=20 or all.rate_503=0.1 (repeatable)."),
    ] = None,
    work_dir: Annotated[Path, typer.Option(help="Where the sandbox writes its bridge configuration.")] = Path(
        "var/sandbox"
    ),
    state: Annotated[
        Path | None,
        typer.Option(
            help=(
                "Keep the simulators' state and the bridge's store together in this folder: loaded at start"
                " if there, saved at stop. Without it, both start afresh each run."
            )
        ),
    ] = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Only print the bridge configuration.")
    ] = False,
    describe: Annotated[
        bool,
        typer.Option("--describe", help="Print one JSON line describing the sandbox, then keep serving."),
    ] = False,
) -> None:
    """Start simulators of GitLab, ServiceNow and Azure DevOps on loopback, seeded, until Ctrl-C."""
    if seed not in {"demo", "empty"}:
        raise typer.BadParameter("choose demo or empty", param_hint="--seed")
    box = Sandbox(
        host=host,
        ports={"gitlab": gitlab_port, "servicenow": servicenow_port, "ado": ado_port},
        seed="demo" if seed == "demo" else "empty",
        webhook_target=webhook_target,
        faults=parse_faults(fault or []),
        work_dir=work_dir,
        state_dir=state,
    )
    if print_config:
        typer.echo(box.config_toml(bridge_url), nl=False)
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        box.start()
    except (OSError, RuntimeError) as exc:
        typer.echo(f"error: the sandbox could not start: {exc}", err=True)
        raise typer.Exit(1) from exc
    box.write_config(bridge_url)
    try:
        if describe:
            typer.echo(box.describe_line())
            sys.stdout.flush()
        else:
            typer.echo(box.config_toml(bridge_url))
            typer.echo(f"GitLab      {box.url('gitlab')}/api/v4")
            typer.echo(f"ServiceNow  {box.url('servicenow')}/api/now/table/change_request")
            typer.echo(f"ADO         {box.ado_organization_url}")
            kept = f"kept in {box.state_dir}" if box.state_dir else "fresh this run"
            typer.echo(f"Bridge store  {box.store_path} ({kept})")
            typer.echo(f"Configuration written to {box.config_path}; Ctrl-C stops the sandbox.")
        stop.wait()
    finally:
        box.stop()
