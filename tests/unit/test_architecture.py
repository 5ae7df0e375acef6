"""The package's shape: floors that import only the floors below them (FLOORS, the one
table), no import cycle (counting imports inside functions too), Invoke only in cli/, one
place that runs docker, templates shipped inside the package. tools/import_graph.py draws
the same graph for docs/architecture.md."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "jitsi_stack"
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


KNOWN = {module_name(p) for p in MODULES}


def imports(path: Path) -> set[str]:
    """Every jitsi_stack module a file imports, anywhere in it (functions included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("jitsi_stack")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("jitsi_stack"):
                continue
            for alias in node.names:  # `from . import render` imports a module, not a name
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in KNOWN else target)
    return {m for m in found if m in KNOWN and m != name}


GRAPH = {module_name(p): imports(p) for p in MODULES}

# The floors, bottom to top (the data flows settings -> deployment -> render -> docker; the
# verbs and the wings sit above it, the CLI on top), and the floors each may import. The
# leaves (errors, ui, validators, the package's __init__) are open to every floor.
LEAVES = ("jitsi_stack", "jitsi_stack.errors", "jitsi_stack.ui", "jitsi_stack.validators")
BASE = {"leaves"}
FLOORS: dict[str, set[str]] = {
    "leaves": set(),
    "store": BASE,  # what jitsi-stack keeps in the project folder
    "docker": BASE,  # Runner, Compose, Engine: the only floor that starts processes
    "settings": BASE | {"store"},
    "deployment": BASE | {"store", "settings"},
    "render": BASE | {"store", "settings", "deployment"},
    "access": BASE | {"store", "settings", "deployment"},
    "helm": BASE | {"store", "settings", "deployment", "render"},
    "swarm": BASE | {"store", "settings", "deployment", "render", "docker"},
    "smoke": BASE | {"store", "settings", "deployment", "docker", "access"},
    # the verbs; backup also archives the Swarm stack's secrets, so ops may read swarm
    "ops": BASE | {"store", "settings", "deployment", "render", "docker", "swarm"},
    "cli": BASE
    | {"store", "settings", "deployment", "render", "docker", "access", "helm", "swarm"}
    | {"smoke", "ops"},
}


def floor_of(module: str) -> str:
    """`jitsi_stack.settings.rules.media` -> settings; the leaves -> leaves; __main__ -> cli."""
    if module in LEAVES:
        return "leaves"
    if module == "jitsi_stack.__main__":
        return "cli"
    return module.split(".")[1]


def forbidden(graph: dict[str, set[str]]) -> list[str]:
    """Every import from one floor into a floor FLOORS does not allow it."""
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if floor_of(target) != floor_of(module)
        and floor_of(target) not in FLOORS.get(floor_of(module), set())
    )


def floor_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The imports between floors, as tools/import_graph.py draws them."""
    edges: dict[str, set[str]] = {floor: set() for floor in FLOORS}
    for module, targets in graph.items():
        for target in targets:
            if floor_of(target) != floor_of(module):
                edges[floor_of(module)].add(floor_of(target))
    return edges


def test_every_module_sits_on_a_floor():
    """Only the leaves and __main__ at the top; every subpackage is a floor of the table."""
    top = sorted(m for m in GRAPH if m.count(".") == 1 and not (PACKAGE / m.split(".")[1]).is_dir())
    assert top == ["jitsi_stack.__main__", *LEAVES[1:]]
    assert {floor_of(m) for m in GRAPH} == set(FLOORS)


def test_each_floor_imports_only_the_floors_below_it():
    assert forbidden(GRAPH) == []


def test_the_floor_table_has_no_cycle():
    """Each floor may import only floors listed before it: FLOORS reads bottom to top."""
    order = list(FLOORS)
    for floor, allowed in FLOORS.items():
        assert all(order.index(other) < order.index(floor) for other in allowed), floor


def test_a_forbidden_import_is_caught():
    """The check itself: settings reaching up into ops, render into docker, store into
    settings are each named; an import inside one floor or into a leaf is not."""
    graph = {
        "jitsi_stack.settings.layers": {"jitsi_stack.ops.stack", "jitsi_stack.errors"},
        "jitsi_stack.render": {"jitsi_stack.docker", "jitsi_stack.render.apply"},
        "jitsi_stack.store.secrets": {"jitsi_stack.settings.upstream"},
    }
    assert forbidden(graph) == [
        "jitsi_stack.render -> jitsi_stack.docker",
        "jitsi_stack.settings.layers -> jitsi_stack.ops.stack",
        "jitsi_stack.store.secrets -> jitsi_stack.settings.upstream",
    ]


def third_party(path: Path) -> set[str]:
    """The top-level names of what a file imports from outside the package."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_only_cli_imports_invoke():
    """Everything below cli/ works without Invoke: `jitsi-stack status`'s shortcut, the
    smoke checks, bench and tests call the floors directly."""
    users = sorted(module_name(p) for p in MODULES if "invoke" in third_party(p))
    assert "jitsi_stack.cli.compat" in users  # the check sees Invoke where it is
    assert [m for m in users if floor_of(m) != "cli"] == []


def test_no_import_cycle():
    """Tarjan's strongly connected components: every one must be a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    assert cycles == []
    assert GRAPH["jitsi_stack.validators"] == set()  # the leaf everyone shares


def test_only_docker_runs_processes():
    runners = [
        module_name(p)
        for p in MODULES
        if "subprocess" in p.read_text(encoding="utf-8") and p.parent != PACKAGE / "docker"
    ]
    assert runners == []


def test_templates_are_package_data():
    """pyproject's package-data patterns, expanded as setuptools does (`*` skips dot files,
    `**` any depth), cover every file under templates/ and data/. The wheel itself is
    checked by tests/unit/test_packaging.py."""
    import glob
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["jitsi_stack"]
    covered = {
        rel
        for pattern in patterns
        for rel in glob.glob(pattern, root_dir=PACKAGE, recursive=True)
        if (PACKAGE / rel).is_file()
    }
    on_disk = {
        str(p.relative_to(PACKAGE))
        for folder in ("templates", "data")
        for p in (PACKAGE / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert "templates/jitsi-meet/.env.j2" in on_disk
    assert sorted(on_disk - covered) == []


def test_the_floor_picture_is_current():
    """docs/architecture-floors.dot is drawn from this graph: `python tools/import_graph.py`."""
    import importlib.util

    tool = PACKAGE.parent / "tools" / "import_graph.py"
    spec = importlib.util.spec_from_file_location("import_graph", tool)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.TARGET.read_text(encoding="utf-8") == module.dot_text()
