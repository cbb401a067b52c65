"""The wheel carries all the bridge reads at run time: installed outside the checkout, it still works.

The wheel is built from the checkout and installed, without its dependencies, into a fresh virtual
environment under tmp_path; the dependencies come from the project's own environment (its site-packages
added by a `.pth` file, whose editable install of the bridge is never activated, since `.pth` files inside
an added folder are not read). Every command then runs from a folder outside the checkout, so nothing can
be read from the source tree.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` folder of a fresh virtual environment with the bridge's wheel installed in it."""
    base = tmp_path_factory.mktemp("wheel")
    wheels = base / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("release_bridge-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert install.returncode == 0, install.stderr
    return env_dir / "bin"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working folder outside the checkout."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "PYTHONPATH"))}
    return {**env, **extra}


def _bridge(bin_dir: Path, cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "bridge"), *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Path, outside: Path) -> None:
    found = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import bridge, bridge.mappings as m; print(bridge.__file__); print(m.mappings_dir())",
        ],
        cwd=outside,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(installed.parent in Path(path).parents for path in found), found
    assert all(ROOT not in Path(path).parents for path in found), found


def test_notes_check_reads_the_shipped_mappings(installed: Path, outside: Path, shared_dir: Path) -> None:
    result = _bridge(installed, outside, "notes", "check", str(shared_dir / "samples" / "release-notes"))
    assert "cannot be read" not in result.stderr + result.stdout
    assert "dip-1.0.2.0-patch.md" in result.stdout
    assert "1.0.2.0" in result.stdout
    # Exit 1 names the notes that miss items; what matters here is that every note was read.
    assert result.returncode in (0, 1), result.stderr


def test_the_demo_runs_from_the_wheel(installed: Path, outside: Path) -> None:
    result = _bridge(installed, outside, "demo", "--no-serve", "--free-ports", timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Defects moved to Ready for Retest (4):" in result.stdout
    # The migrations and the store came from the wheel, into the working folder.
    assert (outside / "var" / "demo" / "bridge.db").is_file()


_FREE_PORTS = ("--gitlab-port", "0", "--servicenow-port", "0", "--ado-port", "0")


@pytest.fixture
def sandbox(installed: Path, outside: Path) -> Iterator[dict[str, object]]:
    process = subprocess.Popen(
        [str(installed / "bridge"), "sandbox", "--describe", *_FREE_PORTS],
        cwd=outside,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else ""
        yield json.loads(line)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_doctor_reaches_a_sandbox_from_the_wheel(
    installed: Path, outside: Path, sandbox: dict[str, object]
) -> None:
    config = str(sandbox["config"])
    upgraded = _bridge(installed, outside, "db", "upgrade", "--config", config)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    result = _bridge(installed, outside, "doctor", "--config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("mappings", "gitlab", "servicenow", "ado"):
        assert line in result.stdout
    assert "failed" not in result.stdout
