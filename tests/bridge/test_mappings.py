"""Mapping files: validated on load, and a bad one is reported with its file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bridge.mappings import MappingError, load_mapping


class _States(BaseModel):
    version: int
    states: dict[str, list[str]]


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "states.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_good_mapping_loads(tmp_path: Path) -> None:
    mapping = load_mapping("states", _States, _write(tmp_path, "version: 1\nstates:\n  deployed: [Review]\n"))
    assert mapping.states == {"deployed": ["Review"]}


def test_a_wrong_value_names_the_line_and_key(tmp_path: Path) -> None:
    directory = _write(tmp_path, "version: 1\nstates:\n  deployed: [Review]\n  eligible: Fixed\n")
    with pytest.raises(MappingError, match=r"states\.yaml:4: states\.eligible: Input should be a valid list"):
        load_mapping("states", _States, directory)


def test_a_missing_key_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"states\.yaml:1: version: Field required"):
        load_mapping("states", _States, _write(tmp_path, "states: {}\n"))


def test_broken_yaml_and_a_missing_file_are_reported(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping("states", _States, _write(tmp_path, "version: [1\n"))
    with pytest.raises(MappingError, match="cannot be read"):
        load_mapping("absent", _States, tmp_path)


def test_the_folder_can_be_named_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_MAPPINGS_DIR", str(_write(tmp_path, "version: 2\nstates: {}\n")))
    assert load_mapping("states", _States).version == 2
