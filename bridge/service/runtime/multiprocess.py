"""Where the processes of one run keep their Prometheus figures (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
RUN_PREFIX = "run-"
# Held by the process that made a run's directory for as long as the run lasts; free, the run is over.
RUN_LOCK = "lock"


@contextmanager
def run_directory(root: Path) -> Iterator[Path | None]:
    """A fresh directory under `root` for this run's figures, named in PROMETHEUS_MULTIPROC_DIR to this
    process and the worker processes it starts, removed at the end (with those of runs that ended
    without removing theirs). None, with nothing made or set, once prometheus_client is loaded: it
    chose on loading to keep this process's figures in memory, and that holds for good."""
    if "prometheus_client.values" in sys.modules:
        yield None
        return
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as starting:
        # One start at a time: another's directory is never taken for stale before it is locked.
        fcntl.flock(starting, fcntl.LOCK_EX)
        _remove_ended_runs(root)
        directory = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=root))
        held = (directory / RUN_LOCK).open("a")
        fcntl.flock(held, fcntl.LOCK_EX)
    previous = os.environ.get(ENV)
    os.environ[ENV] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        shutil.rmtree(directory, ignore_errors=True)
        held.close()


def _remove_ended_runs(root: Path) -> None:
    # A run killed before it could remove its directory left it behind; its figures are not this run's.
    for directory in root.glob(f"{RUN_PREFIX}*"):
        try:
            with (directory / RUN_LOCK).open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a run still going
        except OSError:
            pass  # no lock to take: a start died between making the directory and locking it
        shutil.rmtree(directory, ignore_errors=True)


def active_directory() -> Path | None:
    """The directory this process's figures are kept in, or None when prometheus_client keeps them in
    memory (it was loaded without PROMETHEUS_MULTIPROC_DIR)."""
    from prometheus_client import values

    named = os.environ.get(ENV)
    if values.ValueClass is values.MutexValue or not named or not Path(named).is_dir():
        return None
    return Path(named)
