"""The runs' metrics directories: fresh for each run, named to prometheus_client before it loads, removed
at the end with those of runs that were killed; and the CLI loads prometheus_client only once set up."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.service.runtime.multiprocess import ENV, RUN_LOCK, run_directory

ROOT = Path(__file__).resolve().parents[4]


@pytest.mark.slow  # starts a process
def test_loading_the_cli_does_not_load_prometheus_client() -> None:
    # It chooses on loading where a process keeps its figures: `bridge run` names its run's directory
    # first (bridge/cli/run.py), which it could not do had any command's module loaded it already.
    check = (
        "import sys, bridge.cli.commands; print(sorted(m for m in sys.modules if m.startswith('prometheus')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


@pytest.mark.slow  # starts a process
def test_a_metrics_dir_that_cannot_be_made_stops_bridge_run_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "a-file").touch()
    config = tmp_path / "bridge.toml"
    config.write_text('[service]\nmetrics_dir = "a-file/metrics"\n', encoding="utf-8")
    command = [sys.executable, "-m", "bridge.cli", "run", "--config", str(config)]
    answer = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert answer.returncode == 2, answer.stderr
    assert f"error: service.metrics_dir {tmp_path / 'a-file' / 'metrics'}: Not a directory" in answer.stderr


def _run(root: Path, name: str) -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / RUN_LOCK).touch()
    (directory / "counter_123.db").write_bytes(b"\0" * 8)
    return directory


def test_a_run_gets_a_fresh_directory_named_in_the_environment_and_removed_at_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "prometheus_client.values", raising=False)  # as if not loaded yet
    monkeypatch.setenv(ENV, "/somewhere/else")
    killed = _run(tmp_path, "run-killed")
    live = _run(tmp_path, "run-live")
    with (live / RUN_LOCK).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a running service holds its own
        with run_directory(tmp_path) as directory:
            assert directory is not None and directory.parent == tmp_path
            assert directory not in (killed, live) and list(directory.glob("*.db")) == []
            assert os.environ[ENV] == str(directory)
            assert not killed.exists(), "a killed run's directory is removed"
            assert live.is_dir(), "a running one's is left alone"
    assert not directory.exists()
    assert os.environ[ENV] == "/somewhere/else"


def test_no_directory_once_prometheus_client_is_loaded(tmp_path: Path) -> None:
    import prometheus_client.values  # noqa: F401 - loaded, as in this test process

    with run_directory(tmp_path / "metrics") as directory:
        assert directory is None
    assert not (tmp_path / "metrics").exists()


def test_a_scrape_waits_out_a_file_another_process_is_making(tmp_path: Path) -> None:
    import threading

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    from bridge.service.runtime.metrics import SettledCollector

    def write(name: str, value: float) -> None:
        figures = MmapedDict(str(tmp_path / name))
        figures.write_value(mmap_key("bridge_polls_total", "bridge_polls_total", [], [], "counter"), value, 0)
        figures.close()

    write("counter_1.db", 2.0)
    (tmp_path / "counter_2.db").touch()  # a worker that has just opened its file, not yet written it
    maker = threading.Timer(0.03, write, args=("counter_2.db", 3.0))
    maker.start()
    registry = CollectorRegistry()
    SettledCollector(registry, path=str(tmp_path))
    text = generate_latest(registry).decode()
    maker.join()
    assert "bridge_polls_total 5.0" in text
