"""The project's import graph: which package may import which, and no import circle anywhere."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

from jobqueue.settings import PROJECT_ROOT

PACKAGES = ("jobqueue", "web", "worker", "models", "tools", "scoring_client")
# package -> the project packages it must never import
FORBIDDEN = {
    "jobqueue": {"web", "worker", "models", "tools"},
    "web": {"worker", "tools"},
    "worker": {"web", "tools"},
    "models": {"web", "worker", "tools"},
    "scoring_client": {"jobqueue", "web", "worker", "models", "tools"},
    "tools": {"web"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every project module ``path`` imports, wherever the import stands (TYPE_CHECKING and function bodies too)."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            # ``from a import b`` imports the module a.b if there is one, else a; and a's package first.
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
    return targets


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def test_each_package_imports_only_what_its_layer_may() -> None:
    broken = sorted(
        (module, target)
        for module, targets in _graph().items()
        for target in targets
        if target.split(".")[0] in FORBIDDEN[module.split(".")[0]]
    )
    assert broken == []


def test_there_is_no_import_circle() -> None:
    try:
        graphlib.TopologicalSorter(_graph()).prepare()
    except graphlib.CycleError as exc:
        raise AssertionError(f"import circle: {' -> '.join(exc.args[1])}") from None


def test_the_graph_sees_real_imports() -> None:
    # Guards the two tests above against a parser that finds nothing.
    graph = _graph()
    assert {"jobqueue.store", "jobqueue.contract"} <= graph["web.submission"]
    assert "worker.context" in graph["worker.fanout"]
