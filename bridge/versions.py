"""The programme's 4-part release versions (major.minor.patch.emergency) and their tag names.

The rules are the approach's *Naming Versioning*: a release bumps exactly one part by one and resets
every part to its right to 0; the first release of a component is 1.0.0.0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import total_ordering

PART_NAMES = ("major", "minor", "patch", "emergency")
FIRST_RELEASE_TEXT = "1.0.0.0"

_VERSION_RE = re.compile(r"^\s*[vV]?(\d{1,9})\.(\d{1,9})\.(\d{1,9})\.(\d{1,9})\s*$")


class VersionError(ValueError):
    """A text is not a 4-part version."""


# How version_order begins for a version (and for anything else).
VERSION_ORDER_PREFIX = "0 "
NOT_A_VERSION_ORDER_PREFIX = "1 "


def version_order(text: str) -> str:
    """A key that sorts version texts part by part (1.0.10.0 after 1.0.9.0), as text, so that a database
    can order by it too; anything not a version sorts after every version, by its text."""
    match = _VERSION_RE.match(text)
    if match is None:
        return f"{NOT_A_VERSION_ORDER_PREFIX}{text}"
    return VERSION_ORDER_PREFIX + ".".join(f"{int(part):09d}" for part in match.groups())


class ReleaseType(StrEnum):
    """The kind of release, named after the version part it bumps."""

    MAJOR = "major"  # significant additions of functionality
    MINOR = "minor"  # minor additions of functionality
    PATCH = "patch"  # a bundle of defect fixes, e.g. the weekly patch
    EMERGENCY = "emergency"  # a fix for a blocking defect that cannot wait for the next patch


@total_ordering
@dataclass(frozen=True)
class Version:
    """One release version; ordered part by part."""

    major: int
    minor: int
    patch: int
    emergency: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """Read `1.0.2.0` (a leading `v` is allowed); raise VersionError for anything else."""
        match = _VERSION_RE.match(text)
        if not match:
            raise VersionError(
                f"{text!r} is not a 4-part version (major.minor.patch.emergency, e.g. 1.0.2.0)"
            )
        return cls(*(int(g) for g in match.groups()))

    @property
    def parts(self) -> tuple[int, int, int, int]:
        return (self.major, self.minor, self.patch, self.emergency)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}.{self.emergency}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor, self.patch, self.emergency) < (
            other.major,
            other.minor,
            other.patch,
            other.emergency,
        )

    @property
    def release_type(self) -> ReleaseType | None:
        """The type a valid bump to this version has: its last non-zero part (None for 0.0.0.0)."""
        for index in range(3, -1, -1):
            if self.parts[index]:
                return ReleaseType(PART_NAMES[index])
        return None

    def bump(self, release_type: ReleaseType) -> Version:
        """The next version of the given type: that part plus one, every part to its right 0."""
        index = PART_NAMES.index(release_type.value)
        parts = list(self.parts)
        parts[index] += 1
        parts[index + 1 :] = [0] * (3 - index)
        return Version(*parts)

    def successors(self) -> dict[ReleaseType, Version]:
        """The four valid next versions, one per release type."""
        return {t: self.bump(t) for t in ReleaseType}


FIRST_RELEASE = Version.parse(FIRST_RELEASE_TEXT)


def successor_type(previous: Version, new: Version) -> ReleaseType | None:
    """The release type of going from `previous` to `new`, or None if `new` is not a valid successor."""
    for release_type, candidate in previous.successors().items():
        if candidate == new:
            return release_type
    return None


@dataclass(frozen=True)
class Verdict:
    """What the rules say of a new version given the component's existing ones."""

    version: Version
    release_type: ReleaseType | None
    previous: Version | None
    problems: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


def check_successor(new: Version, existing: Iterable[Version] = ()) -> Verdict:
    """Judge `new` against the component's released versions, in words a release manager uses.

    The reference is the latest existing version lower than `new`; a version equal to an existing one
    is a reuse whatever else is true.
    """
    released = sorted(set(existing))
    earlier = [v for v in released if v < new]
    previous = earlier[-1] if earlier else None
    problems: list[str] = []
    if new in released:
        problems.append(f"{new} already released")
    elif previous is None:
        if new != FIRST_RELEASE:
            if released:
                problems.append(f"{new} is lower than every released version ({released[0]})")
            else:
                problems.append(f"{new} is not a first release: the first release is {FIRST_RELEASE}")
    else:
        problems.extend(_successor_problems(previous, new))
        later = [v for v in released if v > new]
        if later and not problems:
            problems.append(f"{new} comes after {later[-1]} was already released")
    return Verdict(new, intended_type(previous, new), previous, tuple(problems))


def intended_type(previous: Version | None, new: Version) -> ReleaseType | None:
    """The type a release means to be: the first part that differs from the previous version.

    For a valid successor it is the bumped part; for a first release, its last non-zero part.
    """
    if previous is None or previous == new:
        return new.release_type
    index = next(i for i in range(4) if new.parts[i] != previous.parts[i])
    return ReleaseType(PART_NAMES[index])


def _successor_problems(previous: Version, new: Version) -> list[str]:
    """Why `new` is not a valid successor of `previous` (empty if it is)."""
    if successor_type(previous, new) is not None:
        return []
    intended = intended_type(previous, new)
    assert intended is not None
    index = PART_NAMES.index(intended.value)
    expected = previous.bump(intended)
    problems: list[str] = []
    if new.parts[index] > expected.parts[index]:
        problems.append(f"{new} skips {expected}")
    unreset = [PART_NAMES[i] for i in range(index + 1, 4) if new.parts[i] != 0]
    for name in unreset:
        problems.append(f"{new} does not reset the {name} part")
    if not problems:
        problems.append(f"{new} is not a valid successor of {previous}; expected one of {_list(previous)}")
    return problems


def _list(previous: Version) -> str:
    return ", ".join(str(v) for v in previous.successors().values())


# --- tags ---------------------------------------------------------------------------------------

DEFAULT_TAG_PATTERNS = (
    "{component}/{version}",
    "{component}@{version}",
    "v{version}",
    "{version}",
)

_VERSION_GROUP = r"(?P<version>\d{1,9}\.\d{1,9}\.\d{1,9}\.\d{1,9})"


class TagPatternError(ValueError):
    """A tag pattern lacks `{version}` or holds an unknown placeholder."""


@dataclass(frozen=True)
class TagPattern:
    """A tag name template with `{version}` and optionally `{component}`, e.g. `{component}/{version}`."""

    template: str

    def __post_init__(self) -> None:
        if "{version}" not in self.template:
            raise TagPatternError(f"tag pattern {self.template!r} has no {{version}} placeholder")
        rest = self.template.replace("{version}", "").replace("{component}", "")
        if "{" in rest or "}" in rest:
            raise TagPatternError(
                f"tag pattern {self.template!r}: only {{component}} and {{version}} may be used"
            )

    def regex(self, component: str) -> re.Pattern[str]:
        pieces = re.split(r"(\{version\}|\{component\})", self.template)
        out = []
        for piece in pieces:
            if piece == "{version}":
                out.append(_VERSION_GROUP)
            elif piece == "{component}":
                out.append(re.escape(component))
            else:
                out.append(re.escape(piece))
        return re.compile("^" + "".join(out) + "$")

    def format(self, component: str, version: Version) -> str:
        return self.template.replace("{component}", component).replace("{version}", str(version))


def version_from_tag(
    tag: str, component: str, patterns: Sequence[str | TagPattern] = DEFAULT_TAG_PATTERNS
) -> Version | None:
    """The version a tag names under the first pattern it matches, or None: then it is not a release."""
    for pattern in patterns:
        tag_pattern = pattern if isinstance(pattern, TagPattern) else TagPattern(pattern)
        match = tag_pattern.regex(component).match(tag)
        if match:
            return Version.parse(match.group("version"))
    return None


# A version inside prose: four dot-separated numbers not glued to other digits or dots.
VERSION_IN_TEXT = re.compile(r"(?<![\d.])[vV]?(\d{1,9}\.\d{1,9}\.\d{1,9}\.\d{1,9})(?![\d]|\.\d)")
