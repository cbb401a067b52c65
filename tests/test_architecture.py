"""The tree's rules: imports go one way, and each connector keeps to its own system."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The composition roots wire adapters to the core; everything else in bridge/ is core or store.
COMPOSITION_ROOTS = ("bridge/cli", "bridge/service", "bridge/sandbox")
# The pure core: no I/O libraries at all.
PURE = ("bridge/versions.py", "bridge/release_notes", "bridge/domain", "bridge/engine")
IO_LIBRARIES = {
    "sqlalchemy",
    "alembic",
    "psycopg",
    "httpx",
    "requests",
    "fastapi",
    "starlette",
    "uvicorn",
    "apscheduler",
    "gitlab",
    "pysnow",
    "azure",
    "msrest",
    "socket",
    "urllib.request",
    "http",
    "subprocess",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(prefix: str) -> list[Path]:
    target = ROOT / prefix
    if target.is_file():
        return [target]
    return sorted(target.rglob("*.py")) if target.is_dir() else []


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_core_imports_no_connector() -> None:
    offenders = [
        f"{_rel(path)} imports {name}"
        for path in _files("bridge")
        if not _rel(path).startswith(COMPOSITION_ROOTS)
        for name in _imports(path)
        if name == "connectors" or name.startswith("connectors.")
    ]
    assert offenders == []


def test_the_pure_core_does_no_io() -> None:
    offenders = [
        f"{_rel(path)} imports {name}"
        for prefix in PURE
        for path in _files(prefix)
        for name in _imports(path)
        if any(name == lib or name.startswith(f"{lib}.") for lib in IO_LIBRARIES)
    ]
    assert offenders == []


def test_a_connector_knows_only_its_own_system() -> None:
    systems = [p.name for p in (ROOT / "connectors").iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert {"gitlab", "servicenow", "ado"} <= set(systems)
    offenders = [
        f"{_rel(path)} imports {name}"
        for system in systems
        for path in _files(f"connectors/{system}")
        for name in _imports(path)
        for other in systems
        if other != system and (name == f"connectors.{other}" or name.startswith(f"connectors.{other}."))
    ]
    assert offenders == []


def test_every_module_says_what_it_is_for() -> None:
    missing = [
        _rel(path)
        for prefix in ("bridge", "connectors")
        for path in _files(prefix)
        if path.stat().st_size and not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert missing == []
