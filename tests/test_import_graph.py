"""The layering, read from the source: no import cycles anywhere, the engine never imports Qt, the
window reaches the engine only through its adapter (the ``ui.engine*`` modules: ``ui.engine``, the
worker and controller, and ``ui.engine_names``, the names it re-exports to the window), only the
factory names a backend, and nothing the window imports at start pulls in torch.

Every import counts, including those inside functions (a lazy import is still a dependency, and a
cycle through one is still a cycle), except where a rule says otherwise.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGES = ("livecaption", "ui")
# Exactly these ui/ modules may import livecaption: the worker and controller, the names they
# re-export to the window, and ui.engine_streams, which builds the worker's streams (a pipeline, or a
# meeting capture of the microphone and the system audio, #11) so that ui.engine stays small.
ADAPTER = ("ui.engine", "ui.engine_names", "ui.engine_streams")
HEAVY = ("torch", "transformers")
WHISPER_DATA = ("livecaption.asr.whisper.models", "livecaption.asr.whisper.convert", "livecaption.asr.whisper.settings")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")[: -node.level] if not module.endswith("__init__") else module.split(".")
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Modules ``path`` imports (``from a.b import c`` counts as a.b, and as a.b.c when that is a module)."""
    module = _module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    names: set[str] = set()
    for node in nodes:
        if top_level_only and isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks never run
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _graph(top_level_only: bool = False) -> dict[str, set[str]]:
    files = {_module_name(p): p for package in PACKAGES for p in (REPO / package).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        targets = {t for t in _imports(path, top_level_only) if t in files}
        # Importing a.b.c runs a/__init__ and a/b/__init__ first.
        for target in list(targets):
            parts = target.split(".")
            targets.update(".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in files)
        graph[name] = targets - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles_anywhere():
    # A package's __init__ importing its own submodules is how packages are built, not a cycle.
    graph = {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in _graph().items()}
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_engine_never_imports_qt_or_the_window():
    for path in (REPO / "livecaption").rglob("*.py"):
        if _module_name(path) == "livecaption.commands.app":  # launches the window, lazily
            continue
        roots = {name.split(".")[0] for name in _imports(path)}
        assert not {"PySide6", "ui"} & roots, path


def test_the_window_reaches_the_engine_only_through_its_adapter():
    for path in (REPO / "ui").rglob("*.py"):
        if _module_name(path) in ADAPTER:
            continue
        engine = sorted(name for name in _imports(path) if name.split(".")[0] == "livecaption")
        assert engine == [], f"{path.name} imports {engine}; go through ui/engine.py"


def test_only_the_factory_names_a_backend():
    backends = ("livecaption.asr.whisper", "livecaption.asr.ctc")
    for path in (REPO / "livecaption").rglob("*.py"):
        name = _module_name(path)
        if name.startswith(backends) or name == "livecaption.asr":
            continue
        for imported in _imports(path):
            if imported.startswith(backends):
                # Whisper's embedded-model catalogue (names, conversion state) and its decode settings
                # are data, not a backend: the commands that list, validate and bench the embedded
                # models (against faster-whisper, with the same settings) read them.
                assert imported.startswith(WHISPER_DATA), f"{path}: imports {imported}"
        text = path.read_text()
        assert "WhisperRecognizer" not in text and "CtcRecognizer" not in text, f"{path} names a backend class"


def test_nothing_the_window_imports_at_start_pulls_in_torch():
    """What ``ui.app`` imports at module level, transitively, never reaches torch or transformers:
    the engine imports them on its own thread when a model loads."""
    graph = _graph(top_level_only=True)
    files = {_module_name(p): p for package in PACKAGES for p in (REPO / package).rglob("*.py")}
    seen, todo = set(), ["ui.app", "ui.main_window", "livecaption.cli"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        heavy = {n for n in _imports(files[module], top_level_only=True) if n.split(".")[0] in HEAVY}
        assert not heavy, f"{module} imports {sorted(heavy)} at module level"
        todo.extend(graph[module])
    assert "ui.engine" in seen and "livecaption.streaming.pipeline" in seen  # the walk went deep
