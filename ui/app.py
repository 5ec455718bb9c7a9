"""``livecaption`` / ``livecaption app``: the desktop window. Never imports torch."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from ui.main_window import MainWindow
from ui.settings import AppSettings


def run_app(model: str | None = None, device: str | None = None, precision: str | None = None,
            settings_path: Path | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("livecaption")
    path = settings_path or AppSettings.default_path()
    settings = AppSettings.load(path)
    # Command-line choices win over saved settings for this run (and are remembered).
    for name, value in (("model", model), ("device", device), ("precision", precision)):
        if value:
            setattr(settings, name, value)
    window = MainWindow(settings, path)
    window.show()
    return app.exec()
