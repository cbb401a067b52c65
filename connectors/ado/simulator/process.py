"""The simulated ADO process (work item types, states, fields), read from `mappings/ado_process.yaml`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bridge.mappings import load_mapping

FieldType = Literal[
    "string",
    "integer",
    "dateTime",
    "plainText",
    "html",
    "treePath",
    "history",
    "double",
    "boolean",
    "identity",
]
StateCategory = Literal["Proposed", "InProgress", "Resolved", "Completed", "Removed"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldDefinition(_Frozen):
    """An organisation-wide field, as `GET _apis/wit/fields` lists it."""

    reference_name: str
    name: str
    type: FieldType
    read_only: bool = False


class StateDefinition(_Frozen):
    """A state of a work item type, its category, colour and the reason set on entering it."""

    name: str
    category: StateCategory
    color: str
    reason: str


class TypeField(_Frozen):
    """A field on a work item type, with the rules the type puts on it."""

    reference_name: str
    required: bool = False
    default: str | int | None = None
    allowed_values: list[str | int] = Field(default_factory=list)


class WorkItemTypeDefinition(_Frozen):
    """A work item type of the process: its states and fields."""

    name: str
    reference_name: str
    description: str = ""
    color: str = "CC293D"
    icon: str = "icon_insect"
    initial_state: str
    states: list[StateDefinition]
    fields: list[TypeField]

    @model_validator(mode="after")
    def _initial_state_is_a_state(self) -> WorkItemTypeDefinition:
        if self.initial_state not in {s.name for s in self.states}:
            raise ValueError(f"initial_state {self.initial_state!r} is not one of the states")
        return self

    def state(self, name: str) -> StateDefinition | None:
        """The state of that name, compared without case as ADO does."""
        return self._states_by_name.get(name.lower())

    def field(self, reference_name: str) -> TypeField | None:
        return self._fields_by_name.get(reference_name.lower())

    # Looked up for every field of every item a batch touches: indexes instead of scans.
    @functools.cached_property
    def _states_by_name(self) -> dict[str, StateDefinition]:
        found: dict[str, StateDefinition] = {}
        for state in self.states:
            found.setdefault(state.name.lower(), state)
        return found

    @functools.cached_property
    def _fields_by_name(self) -> dict[str, TypeField]:
        found: dict[str, TypeField] = {}
        for field in self.fields:
            found.setdefault(field.reference_name.lower(), field)
        return found


class ProcessModel(_Frozen):
    """The whole simulated process: field definitions and work item types."""

    version: Literal[1]
    process: str
    fields: list[FieldDefinition]
    work_item_types: list[WorkItemTypeDefinition]

    @model_validator(mode="after")
    def _type_fields_are_defined(self) -> ProcessModel:
        known = {f.reference_name for f in self.fields}
        for wit in self.work_item_types:
            for f in wit.fields:
                if f.reference_name not in known:
                    raise ValueError(f"{wit.name}: field {f.reference_name} is not in `fields`")
        return self

    def work_item_type(self, name: str) -> WorkItemTypeDefinition | None:
        """The type of that name or reference name, without case."""
        wanted = name.lower()
        return next(
            (t for t in self.work_item_types if wanted in {t.name.lower(), t.reference_name.lower()}), None
        )

    def field(self, name: str) -> FieldDefinition | None:
        """The field of that reference name or friendly name, without case (ADO accepts both)."""
        return self._fields_by_name.get(name.lower())

    @functools.cached_property
    def _fields_by_name(self) -> dict[str, FieldDefinition]:
        # The first field that has the name as its reference name or friendly name, as a scan finds.
        found: dict[str, FieldDefinition] = {}
        for field in self.fields:
            found.setdefault(field.reference_name.lower(), field)
            found.setdefault(field.name.lower(), field)
        return found


def load_process(directory: Path | None = None) -> ProcessModel:
    """Load and validate `mappings/ado_process.yaml`."""
    return load_mapping("ado_process", ProcessModel, directory)
