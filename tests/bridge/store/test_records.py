"""Records only move forward: a stale revision never overwrites a newer one, in any order."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.domain.events import ChangeUpdated, DefectUpdated, NoteSource, RfcState
from bridge.store import DefectRecord, ReleaseRecord, RfcRow, Store, defect_record, rfc_record

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)

# One database per test; each example uses records of its own in it.
EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _rfc(sys_id: str, mod_count: int) -> RfcRow:
    return RfcRow(
        sys_id=sys_id,
        number=f"CHG{abs(hash(sys_id)) % 10_000_000:07d}",
        state=f"state-{mod_count}",
        mod_count=mod_count,
        updated_at=T0 + timedelta(minutes=mod_count),
        fields={"mod": mod_count},
    )


def _defect(defect_id: int, rev: int) -> DefectRecord:
    return DefectRecord(
        id=defect_id,
        rev=rev,
        state=f"state-{rev}",
        severity="2 - High",
        title=f"title {rev}",
        changed_at=T0 + timedelta(minutes=rev),
    )


def _release(tag: str, content: str, read_minute: int, version: str = "1.0.2.0") -> ReleaseRecord:
    return ReleaseRecord(
        project="mhhs/dip-platform",
        tag=tag,
        component="dip-platform",
        version=version,
        release_type="patch",
        commit_sha="abc123",
        note_text=f"note {content}",
        note_source=NoteSource.RELEASE,
        parsed_note={"content": content},
        published_at=T0,
        revision=f"rev-{content}",
        read_at=T0 + timedelta(minutes=read_minute),
    )


def test_an_rfc_moves_forward_only(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.rfcs.upsert(_rfc("s1", 3))
        assert not tx.rfcs.upsert(_rfc("s1", 3))  # same revision: a no-op
        assert not tx.rfcs.upsert(_rfc("s1", 2))  # stale: ignored
        assert tx.rfcs.upsert(_rfc("s1", 5))
        stored = tx.rfcs.get("s1")
        assert stored is not None
        assert (stored.mod_count, stored.state, stored.fields) == (5, "state-5", {"mod": 5})
        assert tx.rfcs.by_number(stored.number) == stored


def test_a_defect_moves_forward_only(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.defects.upsert(_defect(48211, 7))
        assert not tx.defects.upsert(_defect(48211, 6))
        assert not tx.defects.upsert(_defect(48211, 7))
        assert tx.defects.upsert(_defect(48211, 9))
        assert tx.defects.get(48211) == _defect(48211, 9)
        assert tx.defects.get_many([48211, 1]) == [_defect(48211, 9)]


def test_a_release_read_again_later_keeps_its_place(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.releases.upsert(_release("v1", "a", 1))
        assert not tx.releases.upsert(_release("v1", "a", 3))  # same content, read later: no change
        assert not tx.releases.upsert(_release("v1", "b", 2))  # read before that: stale
        assert tx.releases.upsert(_release("v1", "b", 4))
        stored = tx.releases.get("mhhs/dip-platform", "v1")
        assert stored == _release("v1", "b", 4)
        assert tx.releases.of("dip-platform", "1.0.2.0") == [stored]


def test_releases_are_listed_in_version_order(store: Store) -> None:
    with store.transaction() as tx:
        for version in ("1.0.10.0", "1.0.9.0", "2.0.0.0", "1.0.9.1"):
            tx.releases.upsert(_release(f"v{version}", "a", 0, version=version))
        listed = [record.version for record in tx.releases.of("dip-platform")]
        assert tx.releases.of("helix-settlement") == []
    assert listed == ["1.0.9.0", "1.0.9.1", "1.0.10.0", "2.0.0.0"]


def test_records_from_events(store: Store) -> None:
    change = ChangeUpdated(
        sys_id="s9",
        number="CHG0031245",
        mod_count=4,
        updated_at=T0,
        state=RfcState.REVIEW,
        type="normal",
        approval="approved",
        close_code=None,
        close_notes="",
        planned_start=T0,
        planned_end=None,
        cab_date=None,
        short_description="Deploy dip-platform 1.0.2.0",
        description="",
        correlation_id="dip-platform:1.0.2.0",
        environment="SIT-A",
        fields=(("release", "dip-platform 1.0.2.0"),),
    )
    defect = DefectUpdated(
        id=7, rev=2, state="Resolved", severity=None, title="t", changed_at=T0, changed_by="someone"
    )
    with store.transaction() as tx:
        assert tx.rfcs.upsert(rfc_record(change))
        assert tx.defects.upsert(defect_record(defect))
    with store.transaction(readonly=True) as tx:
        stored = tx.rfcs.get("s9")
        assert stored is not None
        assert stored.state == "review"
        assert stored.fields["environment"] == "SIT-A"
        assert stored.fields["planned_start"] == T0.isoformat()
        assert stored.fields["mapped"] == {"release": "dip-platform 1.0.2.0"}
        assert tx.defects.get(7) == defect_record(defect)


@EXAMPLES
@given(
    revisions=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=12).flatmap(
        st.permutations
    )
)
def test_shuffled_rfc_revisions_end_at_the_newest(store: Store, revisions: list[int]) -> None:
    sys_id = uuid.uuid4().hex
    for mod_count in revisions:
        with store.transaction() as tx:
            tx.rfcs.upsert(_rfc(sys_id, mod_count))
    with store.transaction(readonly=True) as tx:
        stored = tx.rfcs.get(sys_id)
    assert stored == _rfc(sys_id, max(revisions))


@EXAMPLES
@given(
    revisions=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=12).flatmap(
        st.permutations
    )
)
def test_shuffled_defect_revisions_end_at_the_newest(store: Store, revisions: list[int]) -> None:
    defect_id = uuid.uuid4().int % 2**40
    with store.transaction() as tx:
        changes = [tx.defects.upsert(_defect(defect_id, rev)) for rev in revisions]
        stored = tx.defects.get(defect_id)
    assert stored == _defect(defect_id, max(revisions))
    # Exactly the revisions that were the newest so far changed the record.
    expected = [rev > max(revisions[:i], default=-1) for i, rev in enumerate(revisions)]
    assert changes == expected


@EXAMPLES
@given(
    reads=st.lists(
        st.tuples(st.sampled_from("abc"), st.integers(min_value=0, max_value=30)),
        min_size=1,
        max_size=10,
        unique_by=lambda read: read[1],
    ).flatmap(st.permutations)
)
def test_shuffled_release_reads_end_at_the_latest_read(store: Store, reads: list[tuple[str, int]]) -> None:
    tag = uuid.uuid4().hex
    with store.transaction() as tx:
        for content, minute in reads:
            tx.releases.upsert(_release(tag, content, minute))
        stored = tx.releases.get("mhhs/dip-platform", tag)
    content, minute = max(reads, key=lambda read: read[1])
    assert stored is not None
    assert stored.revision == f"rev-{content}"
    assert stored.read_at == T0 + timedelta(minutes=minute)


def test_processors_applying_revisions_at_once_end_at_the_newest(store: Store) -> None:
    revisions = list(range(40))
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def apply(seed: int) -> None:
        order = random.Random(seed).sample(revisions, len(revisions))
        try:
            start.wait()
            for mod_count in order:
                with store.transaction() as tx:
                    tx.rfcs.upsert(_rfc("shared", mod_count))
                    tx.defects.upsert(_defect(1, mod_count))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with store.transaction(readonly=True) as tx:
        assert tx.rfcs.get("shared") == _rfc("shared", max(revisions))
        assert tx.defects.get(1) == _defect(1, max(revisions))
