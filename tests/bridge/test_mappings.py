"""Mapping files: validated on load, and a bad one is reported with its file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bridge.domain.events import RfcState
from bridge.mappings import (
    EnvironmentMapping,
    MappingError,
    environment_mapping,
    load_mapping,
    servicenow_mapping,
)


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


# --- the shipped mappings ---------------------------------------------------------------------------


def test_the_servicenow_mapping_names_every_change_state() -> None:
    mapping = servicenow_mapping()
    assert set(mapping.states.values()) == set(RfcState)
    assert mapping.rfc_state("-1") is RfcState.IMPLEMENT
    assert mapping.rfc_state(" 0 ") is RfcState.REVIEW
    assert mapping.rfc_state("7") is None
    assert mapping.state_value(RfcState.CLOSED) == "3"
    assert mapping.deployed.states == (RfcState.REVIEW,)
    assert "unsuccessful" in mapping.rolled_back.closed_with_codes


@pytest.mark.parametrize(
    ("text", "environment"),
    [
        ("Deploy dip-platform 1.0.2.0 to SIT-A", "SIT-A"),
        ("deploy to sit a tonight", "SIT-A"),
        ("SITB", "SIT-B"),
        ("Release for SIT Staging", "SIT Staging"),
        ("Staging only", "SIT Staging"),
        ("User Integration Testing window", "UIT"),
        ("deposit a cheque", None),
        ("Deploy to production", None),
    ],
)
def test_environments_are_found_in_sentences_as_whole_words(text: str, environment: str | None) -> None:
    assert environment_mapping().find_in(text) == environment


def test_an_alias_resolves_whatever_its_spelling() -> None:
    mapping = environment_mapping()
    assert [mapping.resolve(t) for t in ("sit_a", "SIT-A", "Sit A", "uit", "", None, "SIT-C")] == [
        "SIT-A",
        "SIT-A",
        "SIT-A",
        "UIT",
        None,
        None,
        None,
    ]


def test_an_alias_that_names_two_environments_is_refused(tmp_path: Path) -> None:
    (tmp_path / "environments.yaml").write_text(
        "version: 1\nenvironments:\n  - {name: SIT-A, aliases: [Test]}\n  - {name: UIT, aliases: [test]}\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingError, match="'test' names both SIT-A and UIT"):
        load_mapping("environments", EnvironmentMapping, tmp_path)


def test_an_environment_name_a_deployment_key_cannot_hold_is_refused(tmp_path: Path) -> None:
    (tmp_path / "environments.yaml").write_text(
        "version: 1\nenvironments:\n  - {name: SIT-A}\n  - {name: 'SIT:B'}\n", encoding="utf-8"
    )
    with pytest.raises(
        MappingError, match=r"environments\.yaml:4: environments\.1\.name: .*'SIT:B' holds ':'"
    ):
        load_mapping("environments", EnvironmentMapping, tmp_path)
