"""End to end through a running `bridge run`: a defect the note names only under a heading that does
not say fixed stays where it is in ADO when the release is deployed, while the fixed one moves."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from bridge.sandbox.runner import Sandbox
from connectors.simulation import free_port
from tests.bridge.service.test_e2e_support import (
    bridge_comments,
    bridge_notes,
    running,
    sandbox,
    state,
    wait_for,
)

# Starts processes: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))

FIXED = "dip-dup-msg"  # under "Defects Fixed"
PLANNED = "dip-bst"  # Fixed in ADO too, but under "Fixes planned for the next release"


def _note(box: Sandbox) -> str:
    ids = box.seeded.defects
    return f"""**DIP Platform 1.0.2.0 – patch for SIT Functional Testing in SIT-A**

Programme: MHHS. Release number: 1.0.2.0. Source control tag: dip-platform/1.0.2.0.
RFC: {box.seeded.rfcs["dip-next"]}

**2. Defects Fixed**

- {ids[FIXED]} – duplicate messages on retry (2 - High)

**3. Fixes planned for the next release**

- AB#{ids[PLANNED]} – settlement date shifted across the BST boundary (3 - Medium)
"""


def test_an_unclassified_defect_is_never_moved_and_the_rfc_is_told(tmp_path: Path) -> None:
    port = free_port()
    with (
        sandbox(tmp_path, webhook_target=f"http://127.0.0.1:{port}") as box,
        running(box, tmp_path, database_url=f"sqlite:///{tmp_path / 'bridge.db'}", port=port),
    ):
        before = state(box, PLANNED)
        project = box.seeded.projects["mhhs/dip-platform"]
        sha = box.gitlab.add_commit(project, "Prepare 1.0.2.0")
        box.gitlab.create_release(project, "dip-platform/1.0.2.0", _note(box), ref=sha)
        sys_id = box.seeded.rfc_sys_ids["dip-next"]
        box.servicenow.update("change_request", sys_id, {"approval": "approved", "state": "-1"})
        box.servicenow.update("change_request", sys_id, {"state": "0", "work_notes": "Deployed to SIT-A."})

        wait_for(lambda: state(box, FIXED) == "Ready for Retest", what="the fixed defect moved")
        planned = box.seeded.defects[PLANNED]
        wait_for(
            lambda: any(
                "Defects unclassified" in n and str(planned) in n for n in bridge_notes(box, "dip-next")
            ),
            what="the work note naming the unclassified defect",
        )
        assert state(box, PLANNED) == before
        assert bridge_comments(box, planned) == []
