"""4-part versions: parsing, order, release types, successor rules and tag patterns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.versions import (
    FIRST_RELEASE,
    ReleaseType,
    TagPattern,
    TagPatternError,
    Version,
    VersionError,
    check_successor,
    successor_type,
    version_from_tag,
    version_order,
)

parts = st.integers(min_value=0, max_value=10_000)
versions = st.builds(Version, parts, parts, parts, parts)
V = Version.parse


@given(versions)
def test_format_and_parse_round_trip(version: Version) -> None:
    assert Version.parse(str(version)) == version


@given(versions, versions, versions)
def test_order_is_total_and_follows_the_parts(a: Version, b: Version, c: Version) -> None:
    assert (a < b) + (b < a) + (a == b) == 1
    assert (a < b) == (a.parts < b.parts)
    if a <= b <= c:
        assert a <= c


@given(versions)
def test_the_four_successors_are_valid_each_with_its_own_type(version: Version) -> None:
    successors = version.successors()
    assert set(successors) == set(ReleaseType)
    for release_type, successor in successors.items():
        assert successor_type(version, successor) is release_type
        assert check_successor(successor, [version]).valid


@given(versions, st.integers(0, 3), st.sampled_from([-1, 1, 2]))
def test_nothing_else_one_step_away_is_a_valid_successor(version: Version, index: int, step: int) -> None:
    parts_ = list(version.parts)
    parts_[index] += step
    if parts_[index] < 0:
        return
    candidate = Version(*parts_)
    if candidate in version.successors().values():
        return
    assert successor_type(version, candidate) is None


@given(versions, versions)
def test_every_valid_successor_has_exactly_one_type(a: Version, b: Version) -> None:
    types = [t for t, s in a.successors().items() if s == b]
    assert len(types) <= 1
    assert successor_type(a, b) == (types[0] if types else None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.0.2.0", (1, 0, 2, 0)), ("v2.0.0.0", (2, 0, 0, 0)), (" 1.0.1.7 ", (1, 0, 1, 7))],
)
def test_parse_accepts_the_programme_forms(text: str, expected: tuple[int, ...]) -> None:
    assert V(text).parts == expected


@pytest.mark.parametrize("text", ["1.0.2", "1.0.2.0.1", "1.a.2.0", "", "1..2.0", "-1.0.0.0", "1.0.2.0-rc1"])
def test_parse_refuses_anything_else(text: str) -> None:
    with pytest.raises(VersionError, match="not a 4-part version"):
        V(text)


@pytest.mark.parametrize(
    ("previous", "new", "release_type"),
    [
        ("1.0.1.7", "1.0.1.8", ReleaseType.EMERGENCY),
        ("1.0.1.7", "1.0.2.0", ReleaseType.PATCH),
        ("1.0.1.7", "1.1.0.0", ReleaseType.MINOR),
        ("1.0.1.7", "2.0.0.0", ReleaseType.MAJOR),
        ("1.0.0.0", "1.0.0.1", ReleaseType.EMERGENCY),
    ],
)
def test_the_approach_examples(previous: str, new: str, release_type: ReleaseType) -> None:
    verdict = check_successor(V(new), [V(previous)])
    assert verdict.valid
    assert verdict.release_type is release_type
    assert verdict.previous == V(previous)


@pytest.mark.parametrize(
    ("new", "released", "problems"),
    [
        ("1.0.3.0", ["1.0.1.0"], ["1.0.3.0 skips 1.0.2.0"]),
        ("1.1.0.2", ["1.0.5.0"], ["1.1.0.2 does not reset the emergency part"]),
        ("1.0.2.0", ["1.0.1.7", "1.0.2.0"], ["1.0.2.0 already released"]),
        ("2.0.0.0", [], ["2.0.0.0 is not a first release: the first release is 1.0.0.0"]),
        (
            "1.2.1.1",
            ["1.0.4.0"],
            [
                "1.2.1.1 skips 1.1.0.0",
                "1.2.1.1 does not reset the patch part",
                "1.2.1.1 does not reset the emergency part",
            ],
        ),
        ("0.9.0.0", ["1.0.0.0"], ["0.9.0.0 is lower than every released version (1.0.0.0)"]),
        ("1.0.1.1", ["1.0.1.0", "1.1.0.0"], ["1.0.1.1 comes after 1.1.0.0 was already released"]),
    ],
)
def test_problems_are_said_in_release_manager_words(
    new: str, released: list[str], problems: list[str]
) -> None:
    verdict = check_successor(V(new), [V(v) for v in released])
    assert not verdict.valid
    assert list(verdict.problems) == problems


def test_the_first_release_is_1_0_0_0_and_a_major() -> None:
    verdict = check_successor(FIRST_RELEASE, [])
    assert verdict.valid
    assert verdict.release_type is ReleaseType.MAJOR


def test_the_reference_is_the_latest_earlier_version_whatever_the_order_given() -> None:
    verdict = check_successor(V("1.0.2.0"), [V("1.0.1.7"), V("1.0.0.0"), V("1.0.1.0")])
    assert verdict.valid
    assert verdict.previous == V("1.0.1.7")


@pytest.mark.parametrize(
    ("tag", "component", "patterns", "expected"),
    [
        ("dip-platform/1.0.2.0", "dip-platform", None, "1.0.2.0"),
        ("v1.0.2.0", "dip-platform", None, "1.0.2.0"),
        ("helix-settlement@2.0.0.0", "helix-settlement", None, "2.0.0.0"),
        ("other-component/1.0.2.0", "dip-platform", None, None),
        ("dip-platform/1.0.2", "dip-platform", None, None),
        ("release-candidate", "dip-platform", None, None),
        ("rel_1.0.2.0_final", "x", ["rel_{version}_final"], "1.0.2.0"),
        ("v1.0.2.0", "x", ["{component}/{version}"], None),
    ],
)
def test_tags_map_to_versions_through_patterns(
    tag: str, component: str, patterns: list[str] | None, expected: str | None
) -> None:
    found = (
        version_from_tag(tag, component) if patterns is None else version_from_tag(tag, component, patterns)
    )
    assert (str(found) if found else None) == expected


@pytest.mark.parametrize("template", ["{component}/", "{component}/{version}/{build}"])
def test_a_bad_tag_pattern_is_refused(template: str) -> None:
    with pytest.raises(TagPatternError):
        TagPattern(template)


@given(versions, st.sampled_from(["{component}/{version}", "{component}@{version}", "v{version}"]))
def test_a_formatted_tag_reads_back_as_its_version(version: Version, template: str) -> None:
    pattern = TagPattern(template)
    assert version_from_tag(pattern.format("dip-platform", version), "dip-platform", [pattern]) == version


@given(st.lists(st.tuples(*[st.integers(0, 10**9 - 1)] * 4), min_size=2, max_size=20))
def test_the_version_order_sorts_as_versions_do_and_texts_after(
    parts: list[tuple[int, int, int, int]],
) -> None:
    texts = [".".join(map(str, p)) for p in parts] + ["next", "v-draft"]
    by_order = sorted(texts, key=version_order)
    assert by_order[: len(parts)] == [str(v) for v in sorted(Version(*p) for p in parts)]
    assert by_order[len(parts) :] == ["next", "v-draft"]
    assert version_order("v1.0.2.0") == version_order("1.0.2.0")
