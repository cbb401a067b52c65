"""Support for the end-to-end tests: a `bridge run` process on free ports against an in-process sandbox."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bridge.config import to_toml
from bridge.sandbox.runner import Sandbox
from bridge.store import Store
from connectors.simulation import free_port

ROOT = Path(__file__).resolve().parents[3]
SYSTEMS = ("gitlab", "servicenow", "ado")
# Long enough that nothing is polled again while a test runs: only the poll at start happens.
NEVER_S = 3600.0


def wait_for(
    check: Callable[[], Any], *, timeout_s: float = 20.0, every_s: float = 0.05, what: str = ""
) -> Any:
    """Call `check` until it returns something true; its value, or AssertionError after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or check.__name__}")
        time.sleep(every_s)


def children(pid: int, name: str) -> list[int]:
    """The processes `pid` started that go by `name` in /proc (the service names its own: bridge-worker,
    bridge-pages); multiprocessing's resource tracker, another child, is left out."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        # The command name (in parentheses) may hold spaces: the fields after it are fixed.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and comm == name:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, ended but not yet reaped, does not)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def write_config(
    box: Sandbox,
    work: Path,
    port: int,
    *,
    database_url: str,
    poll_interval_s: float | Mapping[str, float] = NEVER_S,
) -> Path:
    """A bridge configuration for the sandbox, on the given database, with the given poll intervals."""
    config = box.bridge_config(f"http://127.0.0.1:{port}")
    config["database"]["url"] = database_url
    for system in SYSTEMS:
        interval = poll_interval_s if isinstance(poll_interval_s, float | int) else poll_interval_s[system]
        config[system]["poll_interval_s"] = interval
    path = work / f"bridge-{port}.toml"
    path.write_text(to_toml(config), encoding="utf-8")
    return path


@dataclass
class BridgeProcess:
    """`bridge run` in a subprocess; its log is kept beside the configuration."""

    config: Path
    port: int
    work: Path
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.work / f"bridge-{self.port}-{self.starts}.log"

    def start(self) -> BridgeProcess:
        self.starts += 1
        env = {**os.environ, "AZURE_DEVOPS_CACHE_DIR": str(self.work / "ado-cache")}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bridge.cli",
                    "run",
                    "--config",
                    str(self.config),
                    "--port",
                    str(self.port),
                    *self.extra_args,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def ready(self, sources: tuple[str, ...] = SYSTEMS, timeout_s: float = 30.0) -> dict[str, Any]:
        """Wait until the service answers and each source has been polled once; /readyz's report."""

        def polled() -> dict[str, Any] | None:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            try:
                report: dict[str, Any] = httpx.get(f"{self.url}/readyz", timeout=2).json()
            except (httpx.HTTPError, ValueError):
                return None
            done = all(report.get("sources", {}).get(s, {}).get("last_success_at") for s in sources)
            return report if done else None

        result: dict[str, Any] = wait_for(polled, timeout_s=timeout_s, what=f"{self.url}/readyz")
        return result

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not drained within 20 s; a clean drain exits 0."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(f"{self.url} did not drain within 20 s") from None
        assert status == 0, f"{self.url} exited {status} after SIGTERM; see {self.log}"

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@contextmanager
def running(
    box: Sandbox,
    work: Path,
    *,
    database_url: str,
    port: int | None = None,
    poll_interval_s: float | Mapping[str, float] = NEVER_S,
    extra_args: tuple[str, ...] = (),
) -> Iterator[BridgeProcess]:
    """A started bridge, polled once by each source, stopped at the end."""
    port = port or free_port()
    config = write_config(box, work, port, database_url=database_url, poll_interval_s=poll_interval_s)
    bridge = BridgeProcess(config, port, work, extra_args).start()
    try:
        bridge.ready()
        yield bridge
    finally:
        bridge.stop()


def sandbox(work: Path, **options: Any) -> Sandbox:
    """A sandbox on free ports (not yet started)."""
    return Sandbox(ports=dict.fromkeys(SYSTEMS, 0), work_dir=work / "sandbox", **options)


def state(box: Sandbox, defect_key: str) -> str:
    return str(box.ado.get_work_item(box.seeded.defects[defect_key])["fields"]["System.State"])


def bridge_comments(box: Sandbox, defect_id: int) -> list[str]:
    return [
        str(c.get("text", ""))
        for c in box.ado.model.comment_list(defect_id)
        if "Release bridge" in str(c.get("text", ""))
    ]


def bridge_notes(box: Sandbox, rfc_key: str) -> list[str]:
    return [
        entry["value"]
        for entry in box.servicenow.journal(box.seeded.rfc_sys_ids[rfc_key])
        if entry["value"].startswith("[Release bridge]")
    ]


def writes(box: Sandbox) -> dict[str, int]:
    """Requests that change something, per system (everything but GET and the ADO/ServiceNow reads)."""
    counts: dict[str, int] = {}
    for name in SYSTEMS:
        requests: dict[str, int] = getattr(box, name).stats.snapshot()["requests"]
        counts[name] = sum(n for route, n in requests.items() if _is_write(route))
    return counts


def _is_write(route: str) -> bool:
    method, _, path = route.partition(" ")
    if method in {"GET", "HEAD", "OPTIONS"} or path.startswith("/_sim"):
        return False
    # ADO reads by POST too: a WIQL query and a batch read of work items.
    return not path.lower().endswith(("/wiql", "/workitemsbatch"))


def open_store(url: str) -> Store:
    return Store.from_url(url)


Delivery = tuple[dict[str, str], bytes]


@contextmanager
def taken_ado_hooks(box: Sandbox) -> Iterator[list[Delivery]]:
    """ADO service hook deliveries (the simulator's own payloads, headers and basic auth) made inside
    the block, taken from its sender instead of posted, so that a test can replay them at speed."""
    taken: list[Any] = []
    secrets = box.secrets
    box.ado.add_subscription(
        "workitem.created",
        "http://127.0.0.1:9/hooks/ado",  # never posted to: the deliveries are taken before sending
        basic_auth=(secrets.ado_hook_user, secrets.ado_hook_password),
    )
    box.ado.webhooks.send = taken.append  # type: ignore[method-assign]
    deliveries: list[Delivery] = []
    try:
        yield deliveries
    finally:
        del box.ado.webhooks.send
    for delivery in taken:
        if delivery.url.startswith("http://127.0.0.1:9/"):
            credentials = base64.b64encode(":".join(delivery.auth).encode()).decode()
            deliveries.append(({**delivery.headers, "Authorization": f"Basic {credentials}"}, delivery.body))


def post_all(
    urls: list[str],
    deliveries: list[Delivery],
    *,
    senders: int = 16,
    on_accepted: Callable[[int], None] | None = None,
) -> set[int]:
    """Post every delivery from `senders` threads, spread over `urls`; the indexes answered 200 or 202.

    A delivery whose connection fails is not accepted (the caller may send it again).
    """
    accepted: set[int] = set()
    lock = threading.Lock()
    pending = list(range(len(deliveries)))

    def sender(url: str) -> None:
        with httpx.Client(timeout=5) as client:
            while True:
                with lock:
                    if not pending:
                        return
                    index = pending.pop()
                headers, body = deliveries[index]
                try:
                    answer = client.post(url, content=body, headers=headers)
                except httpx.HTTPError:
                    continue
                if answer.status_code in (200, 202):
                    with lock:
                        accepted.add(index)
                        if on_accepted is not None:
                            on_accepted(len(accepted))

    threads = [threading.Thread(target=sender, args=(urls[n % len(urls)],)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted
