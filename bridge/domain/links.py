"""The kinds of link the bridge keeps between records."""

from __future__ import annotations

from enum import StrEnum


class LinkKind(StrEnum):
    """What a link says; the left side is always the release (component:version)."""

    RELEASE_RFC = "release-rfc"  # the note names the RFC, or the RFC names the release
    DEFECT_FIXED = "release-defect-fixed"  # the note lists the defect as fixed
    DEFECT_OUTSTANDING = "release-defect-outstanding"  # the note lists the defect as outstanding
