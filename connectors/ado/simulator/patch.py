"""JSON Patch on a work item as ADO applies it: field ops, `/rev` tests, relations, then the type's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.ado.simulator.errors import AdoError, patch_failed, rule_error, test_failed
from connectors.ado.simulator.identity import as_text, is_identity, person
from connectors.ado.simulator.process import ProcessModel, WorkItemTypeDefinition
from connectors.simulation import json_copy

# Fields the server keeps; a client may set the dates and people only with bypassRules (used by migrations).
SERVER_FIELDS = {
    "System.Id",
    "System.Rev",
    "System.Watermark",
    "System.TeamProject",
    "System.WorkItemType",
    "System.CommentCount",
    "System.RevisedDate",
    "System.AuthorizedDate",
    "System.AuthorizedAs",
    "Microsoft.VSTS.Common.StateChangeDate",
}
BYPASSABLE_FIELDS = {"System.CreatedDate", "System.CreatedBy", "System.ChangedDate", "System.ChangedBy"}
OPERATIONS = {"add", "remove", "replace", "test", "move", "copy"}


@dataclass(frozen=True)
class PatchResult:
    """What a patch leaves: the new fields and relations, and the history text it added, if any."""

    fields: dict[str, Any]
    relations: list[dict[str, Any]]
    history: str | None
    explicit: frozenset[str]  # fields the patch itself set


@dataclass(frozen=True)
class PatchContext:
    """What a patch is checked against."""

    process: ProcessModel
    wit: WorkItemTypeDefinition
    project: str
    rev: int
    item_id: int
    base: str
    bypass_rules: bool = False


def apply(
    fields: Mapping[str, Any], relations: Sequence[Mapping[str, Any]], ops: object, ctx: PatchContext
) -> PatchResult:
    """Apply the JSON Patch document `ops`, or raise the AdoError ADO would answer with."""
    if not isinstance(ops, list) or not ops:
        raise AdoError(
            400,
            "You must pass a valid patch document in the body of the request.",
            "VssPropertyValidationException",
            namespace="Microsoft.VisualStudio.Services.Common",
        )
    new_fields = json_copy(dict(fields))
    new_fields.pop("System.History", None)
    new_relations = [json_copy(dict(r)) for r in relations]
    explicit: set[str] = set()
    history: str | None = None
    for op in ops:
        kind, path, value = _operation(op)
        if path.lower() in {"/rev", "/id"}:
            _test_scalar(kind, path, value, ctx.rev if path.lower() == "/rev" else ctx.item_id)
        elif path.lower().startswith("/fields/"):
            ref = _field_ref(path[len("/fields/") :], ctx)
            if ref == "System.History" and kind in {"add", "replace"}:
                history = str(value)
                continue
            _field_op(new_fields, ref, kind, value, ctx)
            if kind != "test":
                explicit.add(ref)
        elif path.lower().startswith("/relations/"):
            _relation_op(new_relations, path, kind, value)
        else:
            raise patch_failed(
                f"Work item patch does not support patching the top level property at path {path}."
            )
    return PatchResult(new_fields, new_relations, history, frozenset(explicit))


def _operation(op: object) -> tuple[str, str, Any]:
    if not isinstance(op, Mapping) or not isinstance(op.get("path"), str):
        raise patch_failed("Each patch operation needs an `op` and a `path`.")
    kind = str(op.get("op", "")).lower()
    if kind not in OPERATIONS:
        raise patch_failed(f"Operation {op.get('op')!r} is not a valid patch operation.")
    if kind in {"move", "copy"}:
        raise patch_failed(f"Work item patch does not support the {kind} operation.")
    return kind, str(op["path"]), op.get("value")


def _test_scalar(kind: str, path: str, value: object, actual: int) -> None:
    if kind != "test":
        raise patch_failed(
            f"Work item patch does not support patching the top level property at path {path}."
        )
    if str(value) != str(actual):
        raise test_failed(path, actual, value)


def _field_ref(name: str, ctx: PatchContext) -> str:
    definition = ctx.process.field(name)
    if definition is None:
        raise AdoError(
            400, f"TF51535: Cannot find field {name}.", "WorkItemTrackingFieldDefinitionNotFoundException"
        )
    return definition.reference_name


def _field_op(fields: dict[str, Any], ref: str, kind: str, value: object, ctx: PatchContext) -> None:
    if kind == "test":
        if fields.get(ref) != value and not (
            is_identity(fields.get(ref)) and _same_person(fields[ref], value)
        ):
            raise test_failed(f"/fields/{ref}", fields.get(ref), value)
        return
    read_only = ref in SERVER_FIELDS or (ref in BYPASSABLE_FIELDS and not ctx.bypass_rules)
    if read_only:
        raise AdoError(
            400,
            f"TF401326: Invalid field status 'ReadOnly' for field '{ref}'.",
            "RuleValidationException",
            event_id=3200,
            error_code=600171,
        )
    if kind == "remove":
        fields.pop(ref, None)
        return
    definition = ctx.process.field(ref)
    if definition is not None and definition.type == "identity" and value not in (None, ""):
        value = person(as_text(value) if is_identity(value) else str(value))
    if value is None or value == "":
        fields.pop(ref, None)
    else:
        fields[ref] = value


def _same_person(current: Mapping[str, Any], value: object) -> bool:
    text = str(value).lower()
    return text in {str(current.get("displayName", "")).lower(), str(current.get("uniqueName", "")).lower()}


def _relation_op(relations: list[dict[str, Any]], path: str, kind: str, value: object) -> None:
    tail = path[len("/relations/") :]
    if tail == "-":
        if kind != "add":
            raise patch_failed(f"Operation {kind} is not valid at path {path}.")
        relations.append(_relation(value, relations))
        return
    try:
        index = int(tail.split("/", 1)[0])
        current = relations[index]
    except (ValueError, IndexError) as exc:
        raise patch_failed(f"Index out of range for path {path}.") from exc
    if kind == "remove":
        relations.pop(index)
    elif kind in {"add", "replace"} and "/" in tail:
        # e.g. /relations/0/attributes/comment
        attributes = current.setdefault("attributes", {})
        attributes[tail.rsplit("/", 1)[-1]] = value
    elif kind in {"add", "replace"}:
        relations[index] = _relation(value, [r for i, r in enumerate(relations) if i != index])
    elif kind == "test" and value != current:
        raise test_failed(path, current, value)


def _relation(value: object, existing: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not value.get("rel") or not value.get("url"):
        raise AdoError(
            400,
            f"Value {value} does not match the expected type "
            "Microsoft.TeamFoundation.WorkItemTracking.WebApi.Models.WorkItemRelation.",
            "VssPropertyValidationException",
            namespace="Microsoft.VisualStudio.Services.Common",
        )
    rel, url = str(value["rel"]), str(value["url"])
    for other in existing:
        if str(other.get("rel")).lower() == rel.lower() and str(other.get("url")).lower() == url.lower():
            # ADO refuses a second link of the same type to the same target. [UNVERIFIED wording]
            raise AdoError(
                400,
                f"Relation already exists: {rel} {url}. A work item cannot have two links of the same type "
                "to the same target.",
                "WorkItemLinkInvalidException",
            )
    relation: dict[str, Any] = {"rel": rel, "url": url, "attributes": {}}
    attributes = value.get("attributes")
    if isinstance(attributes, Mapping):
        relation["attributes"] = dict(attributes)
    if rel == "Hyperlink":
        relation["attributes"].setdefault("comment", "")
    return relation


def enforce_rules(result: PatchResult, before: Mapping[str, Any], ctx: PatchContext) -> dict[str, Any]:
    """The work item type's rules: states, allowed values, required fields, tree paths; defaults Reason."""
    fields = dict(result.fields)
    state_changed = fields.get("System.State") != before.get("System.State")
    if not ctx.bypass_rules:
        _check_state(fields, ctx)
        _check_allowed_values(fields, result.explicit, ctx)
        _check_required(fields, ctx)
        _check_tree_paths(fields, ctx)
    if state_changed and "System.Reason" not in result.explicit:
        state = ctx.wit.state(str(fields.get("System.State", "")))
        if state is not None:
            fields["System.Reason"] = state.reason
    if "System.State" in fields:
        state = ctx.wit.state(str(fields["System.State"]))
        if state is not None:
            fields["System.State"] = state.name
    return fields


def _check_state(fields: Mapping[str, Any], ctx: PatchContext) -> None:
    value = fields.get("System.State")
    if value is None or value == "":
        raise rule_error(
            "State", "System.State", ["required", "hasValues", "limitedToValues", "invalidEmpty"]
        )
    if ctx.wit.state(str(value)) is None:
        raise rule_error(
            "State", "System.State", ["hasValues", "limitedToValues", "allowsOldValue", "invalidListValue"]
        )


def _check_allowed_values(fields: Mapping[str, Any], explicit: frozenset[str], ctx: PatchContext) -> None:
    for rule in ctx.wit.fields:
        ref = rule.reference_name
        if not rule.allowed_values or ref not in explicit or ref not in fields:
            continue
        if str(fields[ref]) not in {str(v) for v in rule.allowed_values}:
            definition = ctx.process.field(ref)
            name = definition.name if definition else ref
            raise rule_error(
                name, ref, ["hasValues", "limitedToValues", "allowsOldValue", "invalidListValue"]
            )


def _check_required(fields: Mapping[str, Any], ctx: PatchContext) -> None:
    for rule in ctx.wit.fields:
        if rule.required and fields.get(rule.reference_name) in (None, ""):
            definition = ctx.process.field(rule.reference_name)
            name = definition.name if definition else rule.reference_name
            raise rule_error(name, rule.reference_name, ["required", "invalidEmpty"])


def _check_tree_paths(fields: Mapping[str, Any], ctx: PatchContext) -> None:
    root = ctx.project.lower()
    for ref in ("System.AreaPath", "System.IterationPath"):
        value = str(fields.get(ref, ctx.project)).lower()
        if value != root and not value.startswith(root + "\\"):
            raise AdoError(
                400,
                f"TF401347: Invalid tree name given for work item {ctx.item_id}, field '{ref}'.",
                "WorkItemFieldInvalidTreeNameException",
                event_id=3200,
                error_code=600122,
            )
