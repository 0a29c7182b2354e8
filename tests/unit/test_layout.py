"""The layout the architecture page promises: arrows point one way and nothing imports in a circle.

Imports are read from the source with `ast` (function-level imports included, since a lazy import
is still an arrow), so the test needs none of the optional extras installed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The installed name of each folder (pyproject's package-dir).
PACKAGE_DIRS = {
    "longwrite": "longwrite",
    "agent": "longwrite.agent",
    "model": "longwrite.model",
    "ui": "longwrite.ui",
    "eval": "longwrite.eval",
    "training": "longwrite.training",
}
# Lower layers never import higher ones: cli / api -> training -> {ui, eval} -> agent -> model -> core.
LAYERS = {
    "longwrite.core": 0,
    "longwrite.model": 1,
    "longwrite.agent": 2,
    "longwrite.eval": 3,
    "longwrite.ui": 3,
    "longwrite.training": 4,
    "longwrite.cli": 5,
    "longwrite.api": 5,
}


def module_files() -> dict[str, Path]:
    modules = {}
    for folder, package in PACKAGE_DIRS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


MODULES = module_files()


def imported_modules(path: Path) -> set[str]:
    """Our modules a file imports: `from a.b import c` names a.b.c when that is a module, else a.b."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != "longwrite":
                found.add(name)
    return found


GRAPH = {name: imported_modules(path) - {name} for name, path in MODULES.items()}


def layer_of(module: str) -> tuple[str, int]:
    if module == "longwrite":  # its __init__ re-exports the Python API
        return "longwrite.api", LAYERS["longwrite.api"]
    for prefix, rank in sorted(LAYERS.items(), key=lambda item: -len(item[0])):
        if module == prefix or module.startswith(prefix + "."):
            return prefix, rank
    raise AssertionError(f"{module} is in no layer; add its package to LAYERS and to docs/ARCHITECTURE.md")


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(sorted(group))
    return groups


def test_the_walk_sees_the_whole_house():
    # a walk that found nothing would pass every check below
    assert len(MODULES) > 90
    assert "longwrite.agent.graph" in GRAPH["longwrite.agent.jobs"] or any(
        "longwrite.agent.graph" in deps for deps in GRAPH.values()
    )
    assert "longwrite.core.errors" in GRAPH["longwrite.core.limits"]


def test_no_module_imports_itself_through_others():
    circles = [group for group in strongly_connected(GRAPH) if len(group) > 1]
    assert circles == []


def test_the_tarjan_walk_finds_a_circle_when_there_is_one():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [group for group in strongly_connected(graph) if len(group) > 1] == [["a", "b", "c"]]


def test_core_imports_nothing_of_ours_outside_itself():
    outside = {
        (module, target)
        for module, targets in GRAPH.items()
        if module.startswith("longwrite.core")
        for target in targets
        if not target.startswith("longwrite.core")
    }
    assert outside == set()


def beside_or_above(module: str, target: str) -> bool:
    (layer, rank), (target_layer, target_rank) = layer_of(module), layer_of(target)
    return target_rank > rank or (target_rank == rank and target_layer != layer)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_arrows_point_down(module):
    upward = sorted(target for target in GRAPH[module] if beside_or_above(module, target))
    assert upward == [], f"{module} ({layer_of(module)[0]}) imports a layer above or beside it"


def test_an_arrow_up_or_sideways_is_seen():
    assert beside_or_above("longwrite.agent.graph", "longwrite.ui.api")
    assert beside_or_above("longwrite.eval.judge", "longwrite.ui.service")
    assert not beside_or_above("longwrite.training.synth", "longwrite.eval.data")
