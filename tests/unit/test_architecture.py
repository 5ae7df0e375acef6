"""The package's shape: no import cycle (counting imports inside functions too), no module
over 500 lines, one place that runs docker, templates shipped inside the package."""

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
