"""Mappings: versioned YAML data under `mappings/`, each validated by a pydantic model on load."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

# The project's own mappings; an installed copy (the container) names its folder in BRIDGE_MAPPINGS_DIR.
MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"
MAPPINGS_ENV = "BRIDGE_MAPPINGS_DIR"


def mappings_dir() -> Path:
    """Where the mapping files are: `BRIDGE_MAPPINGS_DIR`, else the project's `mappings/`."""
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
