"""`bridge run` started and stopped at random moments, as a platform does: SIGTERM to the process or to
its process group, during start-up or while running, always ends with exit 0 and an honest log; and
/readyz answers 200 only once the worker process is up and has said so."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connectors.simulation import free_port
from tests.bridge.service.test_e2e_support import children

# Starts processes: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
# Lines that must never follow a stop: a worker taken for dead, or for stuck, when it drained.
FALSE_ALARMS = ("ended on its own", "did not drain", "Traceback")


def start(tmp_path: Path, run: int, **service: str) -> tuple[subprocess.Popen[bytes], Path, str]:
    port = free_port()
    config = tmp_path / f"bridge-{run}.toml"
    extra = "".join(f"{key} = {value}\n" for key, value in service.items())
    config.write_text(
        f'log_format = "text"\n[database]\nurl = "sqlite:///{tmp_path / "bridge.db"}"\n'
        f"[service]\nport = {port}\n{extra}",
        encoding="utf-8",
    )
    log = tmp_path / f"bridge-{run}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "run", "--config", str(config)],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, as under a container runtime
        )
    return process, log, f"http://127.0.0.1:{port}"


def workers_of(pid: int) -> list[int]:
    return children(pid, "bridge-worker")


# Moments from the start of the command to a running service (it is serving after about 2-4 s here),
# one in each 1.2 s (reading the configuration, migrating, starting the worker, serving), drawn the same
# way on every run. The first 0.1 s, the interpreter starting before it has read a line of the bridge,
# is out of any program's reach.
DRAW = random.Random(15)
MOMENTS = [0.4 + step * 1.2 + DRAW.uniform(0, 1.2) for step in range(4)]


@pytest.mark.parametrize("group", [False, True], ids=["process", "process group"])
def test_a_sigterm_at_any_moment_ends_with_exit_0_and_no_false_alarm(tmp_path: Path, group: bool) -> None:
    for run, moment in enumerate(MOMENTS):
        process, log, _ = start(tmp_path, run)
        time.sleep(moment)
        if group:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        text = log.read_text(errors="replace")
        assert status == 0, f"SIGTERM after {moment:.2f} s: exit {status}\n{text}"
        assert not [line for line in text.splitlines() if any(alarm in line for alarm in FALSE_ALARMS)], text
        deadline = time.monotonic() + 10
        while workers_of(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)


def test_readyz_answers_200_only_once_the_worker_and_pages_processes_have_started(tmp_path: Path) -> None:
    process, log, url = start(tmp_path, 0)
    answers: list[tuple[int, str, str]] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"{url}/readyz", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.02)
                continue
            text = log.read_text(errors="replace")
            started = {name for name in ("worker", "pages") if f"{name} process started" in text}
            answers.append((answer.status_code, answer.json()["worker"], answer.json()["pages"]))
            if answer.status_code == 200:
                assert started == {"worker", "pages"}, (
                    f"/readyz said ready before both had started: {answers}"
                )
                assert workers_of(process.pid), "no worker process"
                assert children(process.pid, "bridge-pages"), "no pages process"
                break
            assert {answer.json()["worker"], answer.json()["pages"]} <= {"starting", "up"}
            assert "starting" in {answer.json()["worker"], answer.json()["pages"]}
        assert answers[-1] == (200, "up", "up"), answers
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()


def test_readyz_answers_503_once_the_worker_process_is_gone(tmp_path: Path) -> None:
    process, log, url = start(tmp_path, 0)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        (worker,) = workers_of(process.pid)
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while httpx.get(f"{url}/readyz", timeout=2).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        answer = httpx.get(f"{url}/readyz", timeout=2)
        assert (answer.status_code, answer.json()["worker"]) == (503, "starting")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()
