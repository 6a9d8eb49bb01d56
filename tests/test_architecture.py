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


# --- one owner of musical time (issue 21) -----------------------------------------------------

# The modules that may turn seconds into beats, bars or ticks with their own arithmetic: the
# tempo map, and the tempo fit that searches tempos (it builds maps and scores them with numpy).
TIME_OWNERS = {"v2m_bridge.music.tempo_map", "v2m_bridge.music.tempo_fit"}
_CLOCK_CONSTANTS = {60, 1e6, 60e6}  # seconds per minute; microseconds per second
_CLOCK_WORDS = ("bpm", "tempo", "beat", "tick", "bar")
_CLOCK_ATTRIBUTES = {"seconds_per_beat", "seconds_per_bar"}


def _words(node: ast.AST) -> list[str]:
    return [name.lower() for child in ast.walk(node) for name in (
        [child.id] if isinstance(child, ast.Name) else
        [child.attr] if isinstance(child, ast.Attribute) else [])]


def own_clock_arithmetic(source: str) -> list[str]:
    """Expressions in ``source`` that convert between seconds and musical time themselves: a
    product or quotient of 60 (or 1e6, 60e6) with a tempo, beat, tick or bar value, or a
    seconds-per-beat/bar value."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _CLOCK_ATTRIBUTES:
            found.append(ast.unparse(node))
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div))):
            continue
        constants = [side.value for side in (node.left, node.right)
                     if isinstance(side, ast.Constant) and not isinstance(side.value, bool)
                     and isinstance(side.value, (int, float))]
        if any(value in _CLOCK_CONSTANTS for value in constants) and any(
                word in name for name in _words(node) for word in _CLOCK_WORDS):
            found.append(ast.unparse(node))
    return found


def test_only_the_tempo_map_converts_seconds_to_musical_time():
    offenders = {}
    for name, path in package_modules().items():
        if name in TIME_OWNERS:
            continue
        found = own_clock_arithmetic(path.read_text(encoding="utf-8"))
        if found:
            offenders[name] = found
    assert not offenders, ("ask the TempoMap (v2m_bridge.music.tempo_map) instead of converting "
                           f"seconds and beats here: {offenders}")


def test_the_clock_rule_finds_home_made_conversions():
    assert own_clock_arithmetic("bar = 60.0 / bpm * beats_per_bar")
    assert own_clock_arithmetic("q = seconds * composition.tempo_bpm / 60.0")
    assert own_clock_arithmetic("step = grid.seconds_per_beat * 0.25")
    assert own_clock_arithmetic("ticks = round(t * tempo / 60 * 480)")
    assert not own_clock_arithmetic("minutes = hours * 60 + minutes")
    assert not own_clock_arithmetic("rate = 60.0 * changes / seconds")
