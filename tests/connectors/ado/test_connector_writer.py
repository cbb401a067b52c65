"""ADO connector writes against the simulator: moves in `$batch`, skips, conflicts, refusals, 450 at once."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.connector import OutcomeStatus
from bridge.domain.actions import AddWorkNote, Hyperlink, MoveDefect
from bridge.domain.events import DefectMoved, DefectUpdated
from bridge.errors import TransientError
from connectors.ado.client import AdoClient
from connectors.ado.connector import AdoConnector
from tests.connectors.ado.connector_fixtures import (
    connect,
    connector,
    requests_made,
    reset_requests,
    sleep,
)

__all__ = ["connect", "connector", "sleep"]

BATCH_READ = "POST /{org}/{project}/_apis/wit/workItemsBatch"
BATCH_WRITE = "PATCH /{org}/_apis/wit/$batch"
RELEASE = "https://gitlab.example/mhhs/dip-platform/-/releases/dip-platform%2F1.0.2.0"
RFC = "https://mhhs.service-now.example/change_request.do?sys_id=abc"


def fixed_defect(ado: Any, title: str = "Rounding error") -> dict[str, Any]:
    created = ado.defect(title)
    updated: dict[str, Any] = ado.sim.update_work_item(created["id"], {"System.State": "Fixed"})
    return updated


def move_for(
    item: dict[str, Any], *, rev: int | None = None, to_state: str = "Ready for Retest"
) -> MoveDefect:
    return MoveDefect(
        defect_id=item["id"],
        expected_rev=item["rev"] if rev is None else rev,
        from_state="Fixed",
        to_state=to_state,
        comment="Deployed to SIT-A in dip-platform 1.0.2.0 (CHG0030001)",
        deployment="dip-platform:1.0.2.0@SIT-A",
        links=(Hyperlink(RELEASE, "GitLab release"), Hyperlink(RFC, "RFC CHG0030001")),
    )


def add_hyperlink(ado: Any, item_id: int, url: str) -> None:
    op = {"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": url}}
    ado.sim.model.update(item_id, [op])


def test_a_move_sets_state_comment_and_links_in_one_batch(ado: Any, connector: AdoConnector) -> None:
    item = fixed_defect(ado)
    reset_requests(ado.url)

    [outcome] = connector.apply([move_for(item)])

    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert outcome.key == move_for(item).key
    moved = outcome.fresh
    assert isinstance(moved, DefectMoved)
    assert (moved.defect_id, moved.from_state, moved.to_state, moved.rev) == (
        item["id"],
        "Fixed",
        "Ready for Retest",
        item["rev"] + 1,
    )
    assert moved.deployment == "dip-platform:1.0.2.0@SIT-A" and moved.reason == "retest"
    now = ado.sim.get_work_item(item["id"])
    assert now["fields"]["System.State"] == "Ready for Retest"
    assert now["rev"] == item["rev"] + 1
    assert [r["url"] for r in now["relations"]] == [RELEASE, RFC]
    assert ado.sim.model.comment_list(item["id"])[-1]["text"].startswith("Deployed to SIT-A")
    assert requests_made(ado.url) == {BATCH_READ: 1, BATCH_WRITE: 1}


def test_already_in_the_target_state_is_skipped_without_a_write(ado: Any, connector: AdoConnector) -> None:
    item = fixed_defect(ado)
    ado.sim.update_work_item(item["id"], {"System.State": "Ready for Retest"})
    reset_requests(ado.url)

    [outcome] = connector.apply([move_for(item)])

    assert outcome.status is OutcomeStatus.SKIPPED
    assert "already in Ready for Retest" in outcome.detail
    assert isinstance(outcome.fresh, DefectUpdated) and outcome.fresh.rev == item["rev"] + 1
    assert requests_made(ado.url) == {BATCH_READ: 1}


def test_a_second_apply_of_the_same_move_writes_nothing(ado: Any, connector: AdoConnector) -> None:
    item = fixed_defect(ado)
    assert connector.apply([move_for(item)])[0].status is OutcomeStatus.DONE
    rev = ado.sim.get_work_item(item["id"])["rev"]

    [again] = connector.apply([move_for(item)])

    # Recognised as this move (one revision on, target state, its links): reported, not repeated.
    assert again.status is OutcomeStatus.DONE and "earlier attempt" in again.detail
    assert ado.sim.get_work_item(item["id"])["rev"] == rev


def test_links_already_present_are_not_added_again(ado: Any, connector: AdoConnector) -> None:
    item = fixed_defect(ado)
    add_hyperlink(ado, item["id"], RELEASE)
    current = ado.sim.get_work_item(item["id"])

    [outcome] = connector.apply([move_for(current)])

    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    urls = [r["url"] for r in ado.sim.get_work_item(item["id"])["relations"]]
    assert urls == [RELEASE, RFC]


def test_a_stale_expected_rev_is_a_conflict_found_before_any_write(ado: Any, connector: AdoConnector) -> None:
    item = fixed_defect(ado)
    ado.sim.update_work_item(item["id"], {"System.Title": "Rounding error in settlement"})
    reset_requests(ado.url)

    [outcome] = connector.apply([move_for(item)])

    assert outcome.status is OutcomeStatus.CONFLICT
    assert isinstance(outcome.fresh, DefectUpdated)
    assert outcome.fresh.rev == item["rev"] + 1
    assert outcome.fresh.title == "Rounding error in settlement"
    assert requests_made(ado.url) == {BATCH_READ: 1}


def test_a_person_editing_between_read_and_write_wins(
    ado: Any, connector: AdoConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = fixed_defect(ado)
    other = fixed_defect(ado, "Other")
    send = AdoClient.send_batch

    def person_first(self: AdoClient, requests_: Any) -> Any:
        ado.sim.update_work_item(item["id"], {"System.State": "In Progress"}, by="Pat Tester")
        return send(self, requests_)

    monkeypatch.setattr(AdoClient, "send_batch", person_first)

    first, second = connector.apply([move_for(item), move_for(other)])

    assert first.status is OutcomeStatus.CONFLICT, first.detail
    assert isinstance(first.fresh, DefectUpdated)
    assert (first.fresh.state, first.fresh.rev) == ("In Progress", item["rev"] + 1)
    assert "Pat Tester" in (first.fresh.changed_by or "")
    # The person's change stands; the other defect in the same batch moved.
    assert ado.sim.get_work_item(item["id"])["fields"]["System.State"] == "In Progress"
    assert second.status is OutcomeStatus.DONE


def test_a_refused_state_fails_with_ados_message(ado: Any, connector: AdoConnector) -> None:
    item = fixed_defect(ado)

    [outcome] = connector.apply([move_for(item, to_state="Ready For Nothing")])

    assert outcome.status is OutcomeStatus.FAILED
    assert "TF401320" in outcome.detail
    assert ado.sim.get_work_item(item["id"])["rev"] == item["rev"]


def test_a_missing_defect_fails_and_others_go_ahead(ado: Any, connector: AdoConnector) -> None:
    item = fixed_defect(ado)
    ghost = {"id": 999_999, "rev": 3}

    gone, done = connector.apply([move_for(ghost), move_for(item)])

    assert gone.status is OutcomeStatus.FAILED and "999999 does not exist" in gone.detail
    assert done.status is OutcomeStatus.DONE


def test_actions_for_other_systems_are_refused(connector: AdoConnector) -> None:
    note = AddWorkNote("abc", "CHG0030001", "text")

    [outcome] = connector.apply([note])

    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.key == note.key


def test_450_moves_are_three_batches_of_200_200_and_50(
    ado: Any, connector: AdoConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [ado.sim.create_work_item({"System.Title": f"d{n}", "System.State": "Fixed"}) for n in range(450)]
    sizes: list[int] = []
    send = AdoClient.send_batch

    def counted(self: AdoClient, requests_: Any) -> Any:
        sizes.append(len(requests_))
        return send(self, requests_)

    monkeypatch.setattr(AdoClient, "send_batch", counted)
    reset_requests(ado.url)

    outcomes = connector.apply([move_for(i) for i in items])

    # Groups run in parallel, so the batches may be sent in any order.
    assert sorted(sizes) == [50, 200, 200]

    assert [o.status for o in outcomes] == [OutcomeStatus.DONE] * 450
    assert [o.key for o in outcomes] == [move_for(i).key for i in items]
    assert requests_made(ado.url) == {BATCH_READ: 3, BATCH_WRITE: 3}
    states = {ado.sim.get_work_item(i["id"])["fields"]["System.State"] for i in items}
    assert states == {"Ready for Retest"}


def test_a_write_whose_reply_was_lost_is_recognised_not_repeated(
    ado: Any, connector: AdoConnector, monkeypatch: pytest.MonkeyPatch, sleep: Any
) -> None:
    item = fixed_defect(ado)
    send = AdoClient.send_batch
    attempts: list[int] = []

    def lost_reply(self: AdoClient, requests_: Any) -> Any:
        attempts.append(len(requests_))
        replies = send(self, requests_)
        if len(attempts) == 1:
            raise TransientError("ADO unreachable: connection reset")  # ADO applied it; we never heard
        return replies

    monkeypatch.setattr(AdoClient, "send_batch", lost_reply)

    [outcome] = connector.apply([move_for(item)])

    assert attempts == [1, 1], "the whole call was retried"
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert isinstance(outcome.fresh, DefectMoved) and outcome.fresh.rev == item["rev"] + 1
    assert ado.sim.get_work_item(item["id"])["rev"] == item["rev"] + 1, "written once"
    assert len(ado.sim.model.comment_list(item["id"])) == 1

    # A later attempt of the same action (the outbox's, after a crash) says the same.
    [again] = connector.apply([move_for(item)])
    assert again.status is OutcomeStatus.DONE
    assert isinstance(again.fresh, DefectMoved)
    assert (again.fresh.rev, again.fresh.from_state) == (item["rev"] + 1, "Fixed")


def test_the_comment_is_escaped_for_ados_html_and_unsafe_links_are_not_written(
    ado: Any, connector: AdoConnector
) -> None:
    item = fixed_defect(ado)
    move = MoveDefect(
        defect_id=item["id"],
        expected_rev=item["rev"],
        from_state="Fixed",
        to_state="Ready for Retest",
        comment="Fixed in <img src=x onerror=alert(1)> under [plan](javascript:alert(1)) & co",
        deployment="dip-platform:1.0.2.0@SIT-A",
        links=(
            Hyperlink("javascript:alert(document.domain)", "GitLab release"),
            Hyperlink("data:text/html,<script>alert(1)</script>", "data"),
            Hyperlink(RFC, "RFC CHG0030001"),
        ),
    )
    [outcome] = connector.apply([move])
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    [comment] = ado.sim.model.comment_list(item["id"])
    assert "<img" not in comment["text"] and "&lt;img src=x onerror=alert(1)&gt;" in comment["text"]
    assert "javascript:" not in comment["text"].lower() and "&amp; co" in comment["text"]
    assert [r["url"] for r in ado.sim.get_work_item(item["id"])["relations"]] == [RFC]
    # Applied again (its reply lost), the move is recognised as done from its safe links, not written twice.
    [again] = connector.apply([move])
    assert again.status is OutcomeStatus.DONE and "earlier attempt" in again.detail
    assert len(ado.sim.model.comment_list(item["id"])) == 1
