"""Releases from tags, version findings, and release-RFC links in both directions."""

from __future__ import annotations

from bridge.domain.events import DomainEvent, RfcState
from bridge.domain.links import LinkKind
from bridge.engine.context import Component
from bridge.engine.reconcile import Plan, plan
from bridge.engine.state import ProgrammeState
from support.programme import at, context, release, rfc


def _plan(*events: DomainEvent) -> Plan:
    state = ProgrammeState()
    for event in events:
        state.apply(event)
    return plan(state, context(), at(100))


def _rfc_links(result: Plan) -> dict[tuple[str, str], str]:
    return {(k.release, k.other): k.evidence for k in result.links if k.kind is LinkKind.RELEASE_RFC}


def test_a_tag_outside_the_patterns_is_not_a_release() -> None:
    result = _plan(release("1.0.0.0"), release("1.0.1.0", tag="nightly-2024-03-04"))
    assert [str(r.version) for r in result.releases] == ["1.0.0.0"]
    assert any(f.code == "tag.not_a_release" and "nightly-2024-03-04" in f.message for f in result.findings)


def test_version_findings_in_release_manager_words_whatever_the_order() -> None:
    events = [release("1.0.0.0"), release("1.0.1.0"), release("1.0.3.0"), release("1.1.0.2")]
    first = _plan(*events)
    second = _plan(*reversed(events))
    messages = sorted(f.message for f in first.findings if f.code == "version.invalid_successor")
    assert messages == ["1.0.3.0 skips 1.0.2.0", "1.1.0.2 does not reset the emergency part"]
    assert first.findings == second.findings


def test_two_tags_for_one_version_are_a_reuse() -> None:
    patterns = ("{component}/{version}", "v{version}")
    ctx = context(components=(Component("mhhs/dip-platform", "dip-platform", patterns),))
    state = ProgrammeState()
    for event in (release("1.0.0.0"), release("1.0.0.0", tag="v1.0.0.0")):
        state.apply(event)
    result = plan(state, ctx, at(100))
    reuse = [f for f in result.findings if f.code == "version.reused"]
    assert [f.message for f in reuse] == [
        "1.0.0.0 already released: tags dip-platform/1.0.0.0, v1.0.0.0 name the same version."
    ]
    assert len(result.releases) == 1


def test_an_edited_note_replaces_the_earlier_reading_by_read_time() -> None:
    old = release("1.0.0.0", fixed=(1,), read=at(1))
    new = release("1.0.0.0", fixed=(1, 2), read=at(2))
    for events in ([old, new], [new, old]):
        result = _plan(*events)
        assert result.releases[0].fixed_ids == (1, 2)


def test_the_note_naming_the_rfc_links_them() -> None:
    result = _plan(
        release("1.0.2.0", rfc="CHG0031245"), rfc("CHG0031245", RfcState.NEW, mod=1, updated=at(1))
    )
    assert (
        "release note of dip-platform/1.0.2.0 names CHG0031245"
        in _rfc_links(result)[("dip-platform:1.0.2.0", "CHG0031245")]
    )


def test_an_rfc_naming_the_release_links_them_by_tag_or_component_and_version() -> None:
    result = _plan(
        release("1.0.2.0"),
        release("2.0.0.0", component="helix-settlement"),
        rfc(
            "CHG0000001", RfcState.NEW, mod=1, updated=at(1), short_description="Deploy dip-platform/1.0.2.0"
        ),
        rfc(
            "CHG0000002",
            RfcState.NEW,
            mod=1,
            updated=at(1),
            short_description="Helix-Settlement 2.0.0.0 to SIT-B",
        ),
        rfc(
            "CHG0000003", RfcState.NEW, mod=1, updated=at(1), short_description="Deploy dip-platform 1.0.2.01"
        ),
        rfc("CHG0000004", RfcState.NEW, mod=1, updated=at(1), short_description="Deploy dip 1.0.2.0"),
    )
    links = _rfc_links(result)
    assert set(links) == {("dip-platform:1.0.2.0", "CHG0000001"), ("helix-settlement:2.0.0.0", "CHG0000002")}
    assert "short description" in links[("dip-platform:1.0.2.0", "CHG0000001")]


def test_the_release_field_and_the_correlation_id_link_too() -> None:
    result = _plan(
        release("1.0.2.0"),
        release("1.0.1.0"),
        rfc("CHG0000001", RfcState.NEW, mod=1, updated=at(1), fields=(("release", "dip-platform 1.0.2.0"),)),
        rfc(
            "CHG0000002",
            RfcState.NEW,
            mod=1,
            updated=at(1),
            correlation_id="release-bridge:dip-platform:1.0.1.0",
        ),
    )
    links = _rfc_links(result)
    assert "release field" in links[("dip-platform:1.0.2.0", "CHG0000001")]
    assert "correlation id" in links[("dip-platform:1.0.1.0", "CHG0000002")]


def test_of_two_versions_an_rfc_names_the_first_named_is_the_link() -> None:
    result = _plan(
        release("1.0.1.3", published=at(-10)),
        release("1.0.2.0"),
        rfc(
            "CHG0000001",
            RfcState.NEW,
            mod=1,
            updated=at(1),
            short_description="Deploy dip-platform 1.0.2.0; backout: redeploy 1.0.1.3",
        ),
    )
    assert set(_rfc_links(result)) == {("dip-platform:1.0.2.0", "CHG0000001")}


def test_defects_link_as_fixed_and_outstanding() -> None:
    result = _plan(release("1.0.2.0", fixed=(48211,), outstanding=(48190,)))
    kinds = {(k.kind, k.other) for k in result.links if k.kind is not LinkKind.RELEASE_RFC}
    assert kinds == {(LinkKind.DEFECT_FIXED, "48211"), (LinkKind.DEFECT_OUTSTANDING, "48190")}
