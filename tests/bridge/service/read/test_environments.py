"""Each component's newest release, as the environments' pages compare deployed versions with it."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bridge.domain.events import NoteSource
from bridge.service.read.environments import newest_versions
from bridge.store import Store
from bridge.store.records import ReleaseRecord
from bridge.versions import Version, VersionError

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def _release(component: str, tag: str, version: str, *, removed: bool = False) -> ReleaseRecord:
    return ReleaseRecord(
        project=f"mhhs/{component}",
        tag=tag,
        component=component,
        version=version,
        release_type=None,
        commit_sha=None,
        note_text="",
        note_source=NoteSource.RELEASE,
        parsed_note=None,
        published_at=T0,
        revision=f"rev-{tag}",
        read_at=T0,
        removed=removed,
    )


def _newest_by_parsing(records: list[ReleaseRecord]) -> dict[str, Version]:
    newest: dict[str, Version] = {}
    for record in records:
        if record.removed:
            continue
        try:
            version = Version.parse(record.version)
        except VersionError:
            continue
        if record.component not in newest or version > newest[record.component]:
            newest[record.component] = version
    return newest


def test_the_newest_is_by_version_part_by_part_never_a_removed_tag_nor_a_text_that_is_no_version(
    store: Store,
) -> None:
    records = [
        _release("dip", "dip/1.0.9.0", "1.0.9.0"),
        _release("dip", "dip/1.0.10.0", "1.0.10.0"),  # after 1.0.9.0, though not as text
        _release("dip", "dip/2.0.0.0", "2.0.0.0", removed=True),
        _release("dip", "dip/next", "next"),  # no version: sorts after every version as text
        _release("helix", "helix/v1.1.0.0", "v1.1.0.0"),
        _release("helix", "helix/1.0.0.3", "1.0.0.3"),
        _release("router", "router/draft", "draft"),  # no version at all: no newest
    ]
    with store.transaction() as tx:
        for record in records:
            tx.releases.upsert(record, now=T0)
    with store.transaction(readonly=True) as tx:
        assert newest_versions(tx) == {"dip": "1.0.10.0", "helix": "v1.1.0.0"}


@pytest.mark.parametrize("seed", range(3))
def test_the_newest_matches_parsing_every_version(store: Store, seed: int) -> None:
    pick = random.Random(seed)
    records = []
    for n in range(120):
        component = f"c{pick.randrange(4)}"
        parts = [pick.randrange(3), pick.randrange(12), pick.randrange(12), pick.randrange(3)]
        version = ".".join(map(str, parts)) if pick.random() > 0.1 else f"rc-{n}"
        records.append(_release(component, f"{component}/{n}", version, removed=pick.random() < 0.1))
    with store.transaction() as tx:
        for record in records:
            tx.releases.upsert(record, now=T0)
    with store.transaction(readonly=True) as tx:
        newest = newest_versions(tx)
    assert {c: Version.parse(v) for c, v in newest.items()} == _newest_by_parsing(records)
