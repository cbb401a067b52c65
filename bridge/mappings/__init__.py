"""Mappings: versioned YAML data beside this module (`bridge/mappings/*.yaml`, shipped in the wheel), each
validated by a pydantic model on load."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from bridge.domain.events import RfcState
from bridge.domain.keys import key_name

# The mappings the package ships; an operator's own folder is named by BRIDGE_MAPPINGS_DIR.
MAPPINGS_DIR = Path(__file__).resolve().parent
MAPPINGS_ENV = "BRIDGE_MAPPINGS_DIR"


def mappings_dir() -> Path:
    """Where the mapping files are: `BRIDGE_MAPPINGS_DIR`, else the ones the package ships."""
    return Path(os.environ.get(MAPPINGS_ENV) or MAPPINGS_DIR)


M = TypeVar("M", bound=BaseModel)


class MappingError(Exception):
    """A mapping file is missing, is not YAML, or does not fit its model; the message names where."""


def load_mapping(name: str, model: type[M], directory: Path | None = None) -> M:
    """Load `mappings/<name>.yaml` into `model`, or raise MappingError naming the file, line and key."""
    path = (directory or mappings_dir()) / f"{name}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        line = _line_of(node, first["loc"])
        at = f":{line}" if line else ""
        raise MappingError(f"{path}{at}: {where or '(top)'}: {first['msg']}") from exc


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at `loc`, as deep as the path can be followed."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == str(key)]
            if not match:
                break
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


# --- the mappings the bridge ships ----------------------------------------------------------------


class _MappingModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeployedRule(_MappingModel):
    states: tuple[RfcState, ...] = ()
    closed_with_codes: tuple[str, ...] = ()


class ApprovedRule(_MappingModel):
    approval_values: tuple[str, ...] = ()
    preapproved_types: tuple[str, ...] = ()


class ServiceNowMapping(_MappingModel):
    """`mappings/servicenow.yaml`: numeric change states and what they mean for a deployment."""

    version: int
    states: dict[str, RfcState]
    deployed: DeployedRule
    rolled_back: DeployedRule
    approved: ApprovedRule

    def rfc_state(self, value: str) -> RfcState | None:
        """The bridge's name for an instance state value (`"-1"` → implement), None if unknown."""
        return self.states.get(value.strip())

    def state_value(self, state: RfcState) -> str:
        """The instance's value for a state; ServiceNow must be sent the numeric string."""
        return next(value for value, name in self.states.items() if name is state)


class Environment(_MappingModel):
    name: str
    aliases: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _name_is_a_key_name(cls, value: str) -> str:
        # The name is a part of every deployment key of the environment (bridge.domain.keys).
        return key_name(value, "the environment's name")


class EnvironmentMapping(_MappingModel):
    """`mappings/environments.yaml`: the test environments and the other names written for them."""

    version: int
    environments: tuple[Environment, ...]

    @model_validator(mode="after")
    def _names_are_unambiguous(self) -> EnvironmentMapping:
        seen: dict[str, str] = {}
        for environment in self.environments:
            for name in (environment.name, *environment.aliases):
                key = _fold(name)
                if seen.get(key, environment.name) != environment.name:
                    raise ValueError(f"{name!r} names both {seen[key]} and {environment.name}")
                seen[key] = environment.name
        return self

    def resolve(self, text: str | None) -> str | None:
        """The environment a name or alias stands for, or None."""
        if not text:
            return None
        key = _fold(text)
        for environment in self.environments:
            if key in {_fold(n) for n in (environment.name, *environment.aliases)}:
                return environment.name
        return None

    def canonical(self, name: str) -> str:
        """The configured name `name` stands for; `name` as given when the mapping does not know it (an
        environment only the ledger has)."""
        return self.resolve(name) or name

    def find_in(self, text: str) -> str | None:
        """The environment named anywhere in a sentence ("Deploy dip-platform 1.0.2.0 to SIT-A").

        Names match as whole words; the longest name found wins ("SIT Staging" over "Staging").
        """
        words = _words(text)
        best: tuple[int, str] | None = None
        for environment in self.environments:
            for name in (environment.name, *environment.aliases):
                wanted = _words(name)
                size = len(wanted)
                found = any(words[i : i + size] == wanted for i in range(len(words) - size + 1))
                if found and (best is None or len("".join(wanted)) > best[0]):
                    best = (len("".join(wanted)), environment.name)
        return best[1] if best else None


def _fold(text: str) -> str:
    return re.sub(r"[\s_-]+", "", text).casefold()


def _words(text: str) -> list[str]:
    return [w.casefold() for w in re.findall(r"[A-Za-z0-9]+", text)]


def servicenow_mapping(directory: Path | None = None) -> ServiceNowMapping:
    return load_mapping("servicenow", ServiceNowMapping, directory)


def environment_mapping(directory: Path | None = None) -> EnvironmentMapping:
    return load_mapping("environments", EnvironmentMapping, directory)
