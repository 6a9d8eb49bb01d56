"""The package's shape: no import cycles, no imports hidden in functions to dodge one, a fast CLI.

These read the source with :mod:`ast` (no import side effects), so they fail on the commit that
adds a cycle, not when some later test happens to import things in an unlucky order.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "v2m_bridge"

# Heavy third-party modules that may be imported inside a function, so that `v2m-bridge --help`
# and `import v2m_bridge.features` stay instant.
HEAVY_MODULES = {"torch", "torchvision", "open_clip", "huggingface_hub", "cv2", "matplotlib",
                 "scenedetect", "rtmidi", "mido", "tqdm", "librosa"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(node: ast.Import | ast.ImportFrom, modules: dict[str, Path],
                     importer: str) -> list[str]:
    """The package modules an import statement loads (``from pkg import mod`` counts ``mod``)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative import
            anchor = importer.split(".")
            if modules[importer].name != "__init__.py":
                anchor = anchor[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        names = [base] + [f"{base}.{alias.name}" for alias in node.names]
    found = []
    for name in names:
        # the deepest package module the name refers to
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name.startswith("v2m_bridge"):
            found.append(name)
    return found


def is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported (module body, try/if blocks, not functions,
    not ``if TYPE_CHECKING:``)."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, (ast.If, ast.Try)) and not is_type_checking_block(node):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    pending.extend(child.body if isinstance(child, ast.ExceptHandler)
                                   else [child])
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        targets = set()
        for node in top_level_imports(tree):
            targets.update(imported_modules(node, modules, name))
        # importing a.b.c runs a/__init__ and a/b/__init__ first
        for target in list(targets):
            parts = target.split(".")
            targets.update(".".join(parts[:i]) for i in range(1, len(parts)))
        targets.discard(name)
        graph[name] = {target for target in targets if target in modules}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or ``None``."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            # a package importing its own submodules is how packages work, not a cycle
            if target.startswith(node + "."):
                continue
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycles():
    graph = import_graph()
    assert graph.get("v2m_bridge.pipeline"), "graph is empty"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def function_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    found = []
    for func in ast.walk(tree):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(func):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.append(node)
    return found


def test_no_package_imports_hidden_inside_functions_outside_the_cli():
    """A function-level import of our own code usually hides a cycle. Only the CLI defers its
    imports (so --help does not load torch); elsewhere only heavy third-party modules may be
    imported late."""
    modules = package_modules()
    offenders = []
    for name, path in modules.items():
        if name.startswith("v2m_bridge.cli"):
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in function_level_imports(tree):
            ours = sorted(set(imported_modules(node, modules, name)))
            if isinstance(node, ast.ImportFrom):
                top = (node.module or "").split(".")[0]
            else:
                top = node.names[0].name.split(".")[0]
            if ours:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} "
                                 f"imports {', '.join(ours)}")
            elif not ours and top not in HEAVY_MODULES and top != "v2m_bridge":
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} "
                                 f"imports {top} inside a function (not a heavy module)")
    assert not offenders, "\n".join(offenders)


def test_help_does_not_load_torch_or_opencv():
    code = ("import sys; from v2m_bridge.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'cv2', 'open_clip', 'matplotlib') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_the_feature_record_imports_without_torch_or_opencv():
    code = ("import sys, v2m_bridge.features; "
            "print(sorted(m for m in ('torch', 'cv2', 'open_clip', 'scenedetect') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"
