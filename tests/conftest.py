"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def shared_dir() -> Path:
    """The programme's shared reference folder, beside the project's root."""
    assert SHARED.is_dir(), f"{SHARED} is missing: ../shared must sit beside the project"
    return SHARED


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
