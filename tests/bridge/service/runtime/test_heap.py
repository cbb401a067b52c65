"""The pages process settles its start-up heap: frozen out of the collector's way, collected less often."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SETTLE = textwrap.dedent(
    """
    import gc
    from bridge.service.runtime.processes import PAGE_GC_THRESHOLD, settle_heap

    before = gc.get_threshold()
    settle_heap()
    after = gc.get_threshold()
    print(gc.get_freeze_count() > 10_000, after == (PAGE_GC_THRESHOLD, *before[1:]), before[0] < after[0])
    """
)


def test_settling_freezes_what_start_up_made_and_collects_less_often() -> None:
    # In a fresh interpreter: freezing is for the whole process.
    answer = subprocess.run(
        [sys.executable, "-c", SETTLE],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[4],
    )
    assert answer.stdout.split() == ["True", "True", "True"], answer.stdout + answer.stderr
