"""Identities: the keys that name releases, deployments, move targets, finding subjects and actions.

Each is a small frozen value with one `parse(text)` (raising ValueError on text that is not one) and
one `__str__`, and together they are the only code that writes or reads these strings. The texts are
exactly the ones the store, the outbox and the journal hold: `dip-platform:1.0.2.0` (a release),
`SIT-A:dip-platform:1.0.2.0:CHG0031245` (a deployment), `note:dip-platform:1.0.2.0` (a move for a
published note), `release:dip-platform:1.0.2.0` / `rfc:CHG0031245` / `defect:48211` (a finding's
subject, an audit record), `move_defect:48211:7:Ready for Retest` (an action).

Parts are separated by `:`. A name (a component, an environment, a sys_id, a project, a tag) is never
empty and holds no `:` and no character that does not print, and a version is a 4-part version as the
bridge writes it (`1.0.2.0`), so a key reads back as it was written and a key with its parts in another
order is refused; the last part of some keys is free text (an RFC number, a state, a correlation id, a
subject's id) and takes the rest of the text, `:` included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import ClassVar, Self

from bridge.versions import Version, VersionError

SEPARATOR = ":"
_INTEGER = re.compile(r"-?[0-9]+")


def key_name(value: str, what: str) -> str:
    """`value` when it can be a name in a key (not free text), else a ValueError saying why not.

    Configuration checks its component and environment names with it, so that a bad one stops the
    service at start-up rather than the engine later.
    """
    if not value:
        raise ValueError(f"{what} is empty")
    if SEPARATOR in value:
        raise ValueError(f"{what} {value!r} holds {SEPARATOR!r}, which separates the parts of a key")
    if not value.isprintable():
        raise ValueError(f"{what} {value!r} holds a character that does not print")
    return value


def _version(value: str, what: str) -> str:
    """`value` when it is a version as the bridge writes it (`1.0.2.0`), else a ValueError saying why not."""
    try:
        written = str(Version.parse(value))
    except VersionError:
        written = None
    if written != value:
        raise ValueError(f"{what} {value!r} is not a 4-part version as written by the bridge, e.g. 1.0.2.0")
    return value


def _parts(text: str, count: int, *, free_last: bool = False) -> list[str]:
    """`text` cut into its `count` parts; with `free_last`, the last part takes the rest of the text."""
    parts = text.split(SEPARATOR, count - 1) if free_last else text.split(SEPARATOR)
    if len(parts) != count:
        raise ValueError(f"it has {len(parts)} part{'s' if len(parts) != 1 else ''}, not {count}")
    return parts


def _after(text: str, prefix: str) -> str:
    """The text after `prefix`, which it must start with."""
    if not text.startswith(prefix):
        raise ValueError(f"it does not start with {prefix!r}")
    return text[len(prefix) :]


def _integer(text: str, what: str) -> int:
    if _INTEGER.fullmatch(text) is None:
        raise ValueError(f"its {what} {text!r} is not a whole number")
    return int(text)


def _unreadable(text: str, shape: str, why: ValueError) -> ValueError:
    """The error of a parse: which text, what it should have been, and what is wrong with it."""
    return ValueError(f"{text!r} is not {shape}: {why}")


# --- releases, deployments and what a move is for --------------------------------------------------


@dataclass(frozen=True)
class ReleaseKey:
    """A release of a component: `component:version`, e.g. `dip-platform:1.0.2.0`."""

    component: str
    version: str

    SHAPE: ClassVar[str] = "a release key (component:version)"

    def __post_init__(self) -> None:
        key_name(self.component, "a release key's component")
        _version(self.version, "a release key's version")

    def __str__(self) -> str:
        return f"{self.component}{SEPARATOR}{self.version}"

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            component, version = _parts(text, 2)
            return cls(component, version)
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None

    @property
    def label(self) -> str:
        """The release in words, as pages and reports show it: `dip-platform 1.0.2.0`."""
        return f"{self.component} {self.version}"


@dataclass(frozen=True)
class TagKey:
    """A tag of a GitLab project, and its release: `project path:tag`, e.g. `mhhs/dip-platform:v1.0.2.0`
    (neither a project path nor a git tag name can hold a colon)."""

    project: str
    tag: str

    SHAPE: ClassVar[str] = "a tag key (project path:tag)"

    def __post_init__(self) -> None:
        key_name(self.project, "a tag key's project")
        key_name(self.tag, "a tag key's tag")

    def __str__(self) -> str:
        return f"{self.project}{SEPARATOR}{self.tag}"

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            project, tag = _parts(text, 2)
            return cls(project, tag)
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None


@dataclass(frozen=True)
class DeploymentKey:
    """A release deployed to an environment under an RFC: `environment:component:version:rfc`.

    The RFC number is empty for a stay of the ledger that names no RFC.
    """

    environment: str
    component: str
    version: str
    rfc_number: str

    SHAPE: ClassVar[str] = "a deployment key (environment:component:version:rfc)"

    def __post_init__(self) -> None:
        key_name(self.environment, "a deployment key's environment")
        key_name(self.component, "a deployment key's component")
        _version(self.version, "a deployment key's version")

    def __str__(self) -> str:
        return SEPARATOR.join((self.environment, self.component, self.version, self.rfc_number))

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            environment, component, version, rfc_number = _parts(text, 4, free_last=True)
            return cls(environment, component, version, rfc_number)
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None

    @property
    def release(self) -> ReleaseKey:
        return ReleaseKey(self.component, self.version)


@dataclass(frozen=True)
class NoteTarget:
    """What a move is for under the `release_note` policy, a published note: `note:{release key}`."""

    release: ReleaseKey

    PREFIX: ClassVar[str] = f"note{SEPARATOR}"
    SHAPE: ClassVar[str] = "a note target (note:component:version)"

    def __str__(self) -> str:
        return f"{self.PREFIX}{self.release}"

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            component, version = _parts(_after(text, cls.PREFIX), 2)
            return cls(ReleaseKey(component, version))
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None


MoveTarget = DeploymentKey | NoteTarget
"""What a move of a defect is for (`MoveDefect.deployment`): a deployment, or a published note."""


@lru_cache(maxsize=4096)
def parse_target(text: str) -> MoveTarget:
    """The deployment or the note a move's target names; ValueError when it names neither.

    Kept per text (the keys are frozen): the engine reads the same few targets for every defect a
    release lists.
    """
    if text.startswith(NoteTarget.PREFIX):
        return NoteTarget.parse(text)
    return DeploymentKey.parse(text)


@dataclass(frozen=True)
class CorrelationId:
    """The `correlation_id` the bridge writes on an RFC to name its release: `release-bridge:{release}`."""

    release: ReleaseKey

    PREFIX: ClassVar[str] = f"release-bridge{SEPARATOR}"
    SHAPE: ClassVar[str] = "the bridge's correlation id (release-bridge:component:version)"

    def __str__(self) -> str:
        return f"{self.PREFIX}{self.release}"

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            component, version = _parts(_after(text, cls.PREFIX), 2)
            return cls(ReleaseKey(component, version))
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None

    @classmethod
    def owns(cls, text: str) -> bool:
        """Whether a correlation id is the bridge's to write (any other is someone else's link)."""
        return text.startswith(cls.PREFIX)


# --- what a finding is about, what an audit line or a timeline names -------------------------------


class SubjectKind(StrEnum):
    """What kind of record a subject names."""

    RELEASE = "release"  # a release by its key; a drafted RFC's audit line names its correlation id
    RFC = "rfc"  # an RFC by number (or, as a link's evidence revision, `sys_id@mod_count`)
    RFC_SYS_ID = "rfc-sys-id"  # an RFC by sys_id (the audit line of a correlation written)
    DEFECT = "defect"  # an ADO defect by id
    TAG = "tag"  # a GitLab tag that is not a release: `project:tag`
    NOTE = "note"  # a release note, by its tag (the source of a control point or a timeline line)


@dataclass(frozen=True)
class Subject:
    """A record a finding is about or an audit line names: `kind:id`, e.g. `rfc:CHG0031245`.

    The id is free text; it is empty only where the record is unknown (a stay of the ledger without
    an RFC names `rfc:`).
    """

    kind: SubjectKind
    id: str

    SHAPE: ClassVar[str] = "a subject (kind:id)"

    def __str__(self) -> str:
        return f"{self.kind.value}{SEPARATOR}{self.id}"

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            kind, id_ = _parts(text, 2, free_last=True)
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None
        try:
            return cls(SubjectKind(kind), id_)
        except ValueError:
            kinds = ", ".join(k.value for k in SubjectKind)
            raise _unreadable(text, cls.SHAPE, ValueError(f"its kind {kind!r} is none of {kinds}")) from None

    @classmethod
    def release(cls, key: ReleaseKey) -> Self:
        return cls(SubjectKind.RELEASE, str(key))

    @classmethod
    def rfc(cls, number: str) -> Self:
        return cls(SubjectKind.RFC, number)

    @classmethod
    def rfc_revision(cls, sys_id: str, mod_count: int) -> Self:
        """An RFC at one revision: the evidence of a link the RFC's texts make."""
        return cls(SubjectKind.RFC, f"{sys_id}@{mod_count}")

    @classmethod
    def rfc_sys_id(cls, sys_id: str) -> Self:
        return cls(SubjectKind.RFC_SYS_ID, sys_id)

    @classmethod
    def defect(cls, defect_id: int) -> Self:
        return cls(SubjectKind.DEFECT, str(defect_id))

    @classmethod
    def tag(cls, project: str, tag: str) -> Self:
        return cls(SubjectKind.TAG, f"{project}{SEPARATOR}{tag}")

    @classmethod
    def note(cls, tag: str) -> Self:
        return cls(SubjectKind.NOTE, tag)

    @property
    def defect_id(self) -> int:
        """The id of the defect this subject names; ValueError for another kind of subject."""
        if self.kind is not SubjectKind.DEFECT:
            raise ValueError(f"{self} names no defect")
        try:
            return _integer(self.id, "id")
        except ValueError as exc:
            raise _unreadable(str(self), "a defect subject", exc) from None


# --- actions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoveDefectKey:
    """A move of a defect at a revision to a state: `move_defect:{defect id}:{rev}:{to state}`."""

    defect_id: int
    expected_rev: int
    to_state: str

    kind: ClassVar[str] = "move_defect"
    SHAPE: ClassVar[str] = "a move key (move_defect:defect:rev:state)"

    def __post_init__(self) -> None:
        if not self.to_state:
            raise ValueError("a move key's state is empty")

    def __str__(self) -> str:
        return SEPARATOR.join((self.kind, str(self.defect_id), str(self.expected_rev), self.to_state))

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            rest = _after(text, f"{cls.kind}{SEPARATOR}")
            defect_id, rev, to_state = _parts(rest, 3, free_last=True)
            return cls(_integer(defect_id, "defect id"), _integer(rev, "revision"), to_state)
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None

    @classmethod
    def of_defect(cls, defect_id: int) -> str:
        """The text every move key of one defect starts with."""
        return SEPARATOR.join((cls.kind, str(defect_id), ""))


@dataclass(frozen=True)
class AddWorkNoteKey:
    """A work note of some content on an RFC: `add_work_note:{sys_id}:{text digest}`."""

    rfc_sys_id: str
    digest: str

    kind: ClassVar[str] = "add_work_note"
    SHAPE: ClassVar[str] = "a work note key (add_work_note:sys_id:digest)"

    def __post_init__(self) -> None:
        key_name(self.rfc_sys_id, "a work note key's sys_id")
        if not self.digest:
            raise ValueError("a work note key's digest is empty")

    def __str__(self) -> str:
        return SEPARATOR.join((self.kind, self.rfc_sys_id, self.digest))

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            rfc_sys_id, digest = _parts(_after(text, f"{cls.kind}{SEPARATOR}"), 2, free_last=True)
            return cls(rfc_sys_id, digest)
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None


@dataclass(frozen=True)
class SetCorrelationKey:
    """A correlation id written on an RFC: `set_correlation:{sys_id}:{correlation id}`."""

    rfc_sys_id: str
    correlation_id: str

    kind: ClassVar[str] = "set_correlation"
    SHAPE: ClassVar[str] = "a correlation key (set_correlation:sys_id:correlation id)"

    def __post_init__(self) -> None:
        key_name(self.rfc_sys_id, "a correlation key's sys_id")
        if not self.correlation_id:
            raise ValueError("a correlation key's correlation id is empty")

    def __str__(self) -> str:
        return SEPARATOR.join((self.kind, self.rfc_sys_id, self.correlation_id))

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            rest = _after(text, f"{cls.kind}{SEPARATOR}")
            rfc_sys_id, correlation_id = _parts(rest, 2, free_last=True)
            return cls(rfc_sys_id, correlation_id)
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None


@dataclass(frozen=True)
class CreateRfcDraftKey:
    """A draft RFC raised for a release: `create_rfc_draft:{correlation id}`."""

    correlation_id: str

    kind: ClassVar[str] = "create_rfc_draft"
    SHAPE: ClassVar[str] = "a draft key (create_rfc_draft:correlation id)"

    def __post_init__(self) -> None:
        if not self.correlation_id:
            raise ValueError("a draft key's correlation id is empty")

    def __str__(self) -> str:
        return f"{self.kind}{SEPARATOR}{self.correlation_id}"

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            return cls(_after(text, f"{cls.kind}{SEPARATOR}"))
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None


@dataclass(frozen=True)
class CheckAncestryKey:
    """A question to GitLab about two tags: `check_ancestry:{project}:{ancestor tag}:{descendant tag}`."""

    project: str
    ancestor_tag: str
    descendant_tag: str

    kind: ClassVar[str] = "check_ancestry"
    SHAPE: ClassVar[str] = "an ancestry key (check_ancestry:project:ancestor:descendant)"

    def __post_init__(self) -> None:
        key_name(self.project, "an ancestry key's project")
        key_name(self.ancestor_tag, "an ancestry key's ancestor tag")
        if not self.descendant_tag:
            raise ValueError("an ancestry key's descendant tag is empty")

    def __str__(self) -> str:
        return SEPARATOR.join((self.kind, self.project, self.ancestor_tag, self.descendant_tag))

    @classmethod
    def parse(cls, text: str) -> Self:
        try:
            rest = _after(text, f"{cls.kind}{SEPARATOR}")
            project, ancestor_tag, descendant_tag = _parts(rest, 3, free_last=True)
            return cls(project, ancestor_tag, descendant_tag)
        except ValueError as exc:
            raise _unreadable(text, cls.SHAPE, exc) from None


ActionKey = MoveDefectKey | AddWorkNoteKey | SetCorrelationKey | CreateRfcDraftKey | CheckAncestryKey
