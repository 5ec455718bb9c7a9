"""The placeholder window opens offscreen and names its model; the UI never imports torch."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO


def test_window_opens_with_the_chosen_model(qtbot):
    from ui.app import MainWindow

    window = MainWindow("tiny.en", "auto", "auto")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "livecaption"
    assert "tiny.en" in window.statusBar().currentMessage()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_layering_ui_never_imports_torch_and_engine_never_imports_qt():
    for path in (REPO / "ui").rglob("*.py"):
        assert "torch" not in _imports(path), path
    for path in (REPO / "livecaption").rglob("*.py"):
        if path.name == "cli.py":  # the entry point launches the window (lazily), nothing else does
            continue
        assert not {"PySide6", "ui"} & _imports(path), path
