"""How the Table API shows a record: sysparm_display_value, sysparm_exclude_reference_link, sysparm_fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from connectors.servicenow.simulator.model import Record, ServiceNowModel
from connectors.servicenow.simulator.tables import DISPLAY_FIELD, Column, FieldType, Table, display_text


def flag(params: Mapping[str, str], name: str) -> bool:
    """A boolean sysparm: pysnow sends Python's `True`/`False`; an empty value means the default (false)."""
    return params.get(name, "").strip().lower() == "true"


@dataclass(frozen=True)
class View:
    """How records are rendered: sysparm_display_value, sysparm_exclude_reference_link, sysparm_fields."""

    display: str = "false"  # false, true or all
    exclude_links: bool = False
    fields: tuple[str, ...] = ()  # empty: every field
    base_url: str = ""

    @classmethod
    def of(cls, request: Request) -> View:
        params = request.query_params
        display = params.get("sysparm_display_value", "").strip().lower()
        fields = tuple(f.strip() for f in params.get("sysparm_fields", "").split(",") if f.strip())
        return cls(
            display=display if display in {"true", "all"} else "false",
            exclude_links=flag(params, "sysparm_exclude_reference_link"),
            fields=fields,
            base_url=f"{request.url.scheme}://{request.url.netloc}",
        )


def render(model: ServiceNowModel, table: Table, row: Record, view: View) -> dict[str, Any]:
    """A record as the Table API answers it (hold the model's lock: references and journals are read)."""
    names = view.fields or table.names
    out: dict[str, Any] = {}
    for name in names:
        column = table.column(name)
        if column is not None:
            out[name] = _field(model, column, row, view)
        elif "." in name:
            walked = _walked(model, table, row, name, view)
            if walked is not None:
                out[name] = walked
    return out


def _walked(model: ServiceNowModel, table: Table, row: Record, name: str, view: View) -> Any:
    """A dot-walked field (`u_environment.name`): the field of the record a reference points at,
    named as asked; None (left out, as an invalid field is) when the path does not lead to one."""
    base, _, rest = name.partition(".")
    column = table.column(base)
    if column is None or column.kind is not FieldType.REFERENCE:
        return None
    target = model.tables.get(column.reference)
    field = target.column(rest) if target is not None else None
    if target is None or field is None:
        return None  # one step only: the referenced tables hold no references themselves
    record = model.referenced(column, row.get(base, "")) or {}
    return _field(model, field, record, view)


def _field(model: ServiceNowModel, column: Column, row: Record, view: View) -> Any:
    value = row.get(column.name, "")
    shown = (
        model.journal_text(row["sys_id"], column.name)
        if column.kind is FieldType.JOURNAL
        else display_text(column, value)
    )
    if column.kind is FieldType.REFERENCE and value:
        # A reference shows its record's name; one to a record the instance does not hold shows its
        # stored value.
        record = model.referenced(column, value)
        shown = record.get(DISPLAY_FIELD, "") if record is not None else value
        link = f"{view.base_url}/api/now/table/{column.reference}/{value}"
        parts: dict[str, str] = {}
        if view.display != "false":
            parts["display_value"] = shown
        if not view.exclude_links:
            parts["link"] = link
        if view.display != "true":
            parts["value"] = value
        return parts if len(parts) > 1 else next(iter(parts.values()))
    if view.display == "all":
        if column.kind is FieldType.DATETIME:
            # Date-times also carry the display value in the internal format (api-contracts.md 3.1).
            return {"display_value": shown, "value": value, "display_value_internal": shown}
        return {"display_value": shown, "value": value}
    return shown if view.display == "true" else value
