"""The tree's rules: imports go one way (domain <- engine <- worker, read <- web, CLI), each room of the
service keeps to the rooms below it, and each connector keeps to its own system."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The composition roots wire adapters to the core; everything else in bridge/ is core or store. In the
# service, only the runtime builds connectors (wiring, doctor): the worker takes them as the Protocol.
COMPOSITION_ROOTS = ("bridge/cli", "bridge/service/runtime", "bridge/sandbox")
# What the core is not: the service, the CLI and the sandbox, which the core never imports.
OUTER = ("bridge/service", "bridge/cli", "bridge/sandbox")
OUTER_MODULES = tuple(prefix.replace("/", ".") for prefix in OUTER)
# The service's rooms and which other rooms each may import (the core it may always import). The
# worker (the application core) and the read side import no other room; the web and the runtime sit
# above them. Of the runtime, only the runner and the processes it starts (the worker's, the pages')
# build the web app: its composition roots.
SERVICE = "bridge/service"
ROOMS = ("worker", "read", "web", "runtime")
ROOM_IMPORTS: dict[str, frozenset[str]] = {
    "bridge/service/worker": frozenset(),
    "bridge/service/read": frozenset(),
    "bridge/service/web": frozenset({"worker", "read", "runtime"}),
    "bridge/service/runtime/runner.py": frozenset({"worker", "read", "web"}),
    "bridge/service/runtime/processes.py": frozenset({"worker", "read", "web"}),
    "bridge/service/runtime": frozenset({"worker", "read"}),
}
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


def _is_under(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == module or name.startswith(f"{module}.") for module in modules)


def test_the_core_imports_neither_the_service_nor_the_cli_nor_the_sandbox() -> None:
    # The domain, the engine, the store, configuration and mappings: what the outer rooms build on.
    offenders = [
        f"{_rel(path)} imports {name}"
        for path in _files("bridge")
        if not _rel(path).startswith(OUTER)
        for name in _imports(path)
        if _is_under(name, OUTER_MODULES)
    ]
    assert offenders == []


def test_connectors_import_neither_the_service_nor_the_cli_nor_the_sandbox() -> None:
    offenders = [
        f"{_rel(path)} imports {name}"
        for path in _files("connectors")
        for name in _imports(path)
        if _is_under(name, OUTER_MODULES)
    ]
    assert offenders == []


def _rooms_imported(path: Path) -> set[str]:
    """The rooms of the service a module imports (`from bridge.service import web` names one too)."""
    rooms: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "bridge.service":
                names = [f"bridge.service.{alias.name}" for alias in node.names]
        else:
            continue
        rooms |= {name.split(".")[2] for name in names if name.startswith("bridge.service.")}
    return rooms


def _room_rule(path: Path) -> tuple[str, frozenset[str]] | None:
    """The room a module of the service is in, and the other rooms it may import (the most specific rule)."""
    rel = _rel(path)
    for prefix in sorted(ROOM_IMPORTS, key=len, reverse=True):
        if rel == prefix or rel.startswith(f"{prefix}/"):
            return rel.split("/")[2], ROOM_IMPORTS[prefix]
    return None


def test_every_module_of_the_service_is_in_one_of_its_rooms() -> None:
    assert {p.name for p in (ROOT / SERVICE).iterdir() if (p / "__init__.py").exists()} == set(ROOMS)
    outside = [
        _rel(path)
        for path in _files(SERVICE)
        if _room_rule(path) is None and _rel(path) != f"{SERVICE}/__init__.py"
    ]
    assert outside == []


def test_each_room_of_the_service_imports_only_the_rooms_below_it() -> None:
    offenders = []
    for path in _files(SERVICE):
        rule = _room_rule(path)
        if rule is None:
            continue
        room, allowed = rule
        offenders += [
            f"{_rel(path)} ({room}) imports bridge.service.{other}"
            for other in sorted(_rooms_imported(path) - {room} - allowed)
        ]
        offenders += [
            f"{_rel(path)} imports {name}"
            for name in _imports(path)
            if _is_under(name, ("bridge.cli", "bridge.sandbox"))
        ]
    assert offenders == []


def test_the_web_runs_on_its_protocols_not_on_the_processor() -> None:
    # The read API, the pages and the webhook intake take ReadModels and Intake (web/backend.py), which
    # the worker's Processor satisfies; they never name the Processor itself.
    offenders = [
        f"{_rel(path)} imports Processor"
        for path in _files(f"{SERVICE}/web")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and node.module == "bridge.service.worker.processor"
        and any(alias.name == "Processor" for alias in node.names)
    ]
    assert offenders == []


def test_the_room_rules_read_the_tree_as_laid_out() -> None:
    # The rules above are only as good as their reading of the tree: each module is placed in its room,
    # the runner by its own rule, and an import of a room is seen as one.
    assert _room_rule(ROOT / SERVICE / "worker" / "processor.py") == ("worker", frozenset())
    runner = _room_rule(ROOT / SERVICE / "runtime" / "runner.py")
    assert runner == ("runtime", ROOM_IMPORTS[f"{SERVICE}/runtime/runner.py"])
    assert "web" not in ROOM_IMPORTS[f"{SERVICE}/runtime"]
    assert _rooms_imported(ROOT / SERVICE / "web" / "app.py") >= {"web", "worker", "runtime"}


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


# --- import circles -----------------------------------------------------------------------------

OWN_PACKAGES = ("bridge", "connectors")


def _module_names() -> dict[str, Path]:
    """Every module of ours by dotted name; a package is named by its `__init__.py`."""
    names: dict[str, Path] = {}
    for package in OWN_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _executed_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports a module runs: at the top and deferred into functions; not those for type checkers."""
    for node in body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _executed_imports(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _executed_imports([child])
            elif isinstance(child, ast.ExceptHandler | ast.match_case):
                yield from _executed_imports(child.body)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Our modules an import statement loads: `from pkg import sub` loads pkg.sub when that is a module."""

    def nearest(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    if isinstance(node, ast.Import):
        targets = {nearest(alias.name) for alias in node.names}
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            source = ".".join([*base, *([node.module] if node.module else [])])
        else:
            source = node.module or ""
        targets = {
            f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else nearest(source)
            for alias in node.names
        }
    return {t for t in targets if t is not None and t != module}


def _import_graph() -> dict[str, set[str]]:
    modules = _module_names()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        graph[name] = set()
        for node in _executed_imports(tree.body):
            graph[name] |= _imported(node, name, is_package, known)
    return graph


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One circle through each group of modules that import each other (strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_circle(graph, group) for group in groups]


def _circle(graph: Mapping[str, set[str]], group: list[str]) -> list[str]:
    """The shortest way from the group's first module back to itself, through the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    pending = [start]
    while pending:
        node = pending.pop(0)
        for other in sorted(graph[node] & members):
            if other == start:
                return [*paths[node], start]
            if other not in paths:
                paths[other] = [*paths[node], other]
                pending.append(other)
    raise AssertionError(f"no circle in {group}")


def test_no_module_of_ours_imports_itself_round_a_circle() -> None:
    # Deferred imports (inside functions) count: they are how a circle is usually hidden, and one still
    # breaks when the order of first imports changes. Imports under `if TYPE_CHECKING:` never run.
    circles = [" -> ".join(circle) for circle in _cycles(_import_graph())]
    assert circles == []


def test_the_circle_finder_names_the_modules_of_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c", "d"}, "c": {"a"}, "d": set()}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
