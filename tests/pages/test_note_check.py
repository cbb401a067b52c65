"""A release page shows the defects its note leaves unclassified (never moved), and the note is then not
complete; its JSON twin says the same."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from bridge.domain.events import DefectUpdated
from bridge.service.web.app import create_app
from bridge.service.worker.processor import Processor
from bridge.store import Store
from support.programme import at, context, release

NOTE = "release-notes/ambiguous-and-unknown-headings.md"
PAGE = "/releases/helix-settlement/2.2.6.0"


def test_unclassified_defects_are_listed_and_the_note_is_not_complete(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'bridge.db'}")
    store.upgrade()
    text = (fixtures_dir / NOTE).read_text(encoding="utf-8")
    processor = Processor(store, {}, context())
    event = release("2.2.6.0", component="helix-settlement", text=text, published=at(0))
    defects = [DefectUpdated(d, 2, "Fixed", None, f"Defect {d}", at(1), "Tester") for d in (51215, 51201)]
    with store.transaction() as tx:
        tx.journal.append([event, *defects])
    processor.refresh()

    client = TestClient(create_app(processor))
    check = client.get(f"/api{PAGE}").json()["note_check"]
    assert [d["id"] for d in check["unclassified"]] == [51215, 51220, 51225]
    assert all(d["line"] for d in check["unclassified"])
    assert check["complete"] is False

    page = client.get(PAGE).text
    assert "Defects the note does not classify" in page
    for defect_id in ("51215", "51220", "51225"):
        assert f'<th scope="row">{defect_id}</th>' in page
    with store.transaction(readonly=True) as tx:
        moves = [row.key for row in tx.outbox.moves_of([51215, 51201])]
    assert not any(":51215:" in key for key in moves), "an unclassified defect is never moved"
