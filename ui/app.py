"""The desktop window (PySide6). Never imports torch: it talks to the engine through ``livecaption``.

This first version is a placeholder that opens on the chosen model; live captioning arrives
with the streaming engine.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QVBoxLayout, QWidget


class MainWindow(QMainWindow):
    def __init__(self, model: str, device: str, precision: str):
        super().__init__()
        self.setWindowTitle("livecaption")
        self.resize(900, 480)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        self.caption = QLabel(
            "Live captions are not available yet in this version.\n"
            "Transcribe a recording with:  livecaption transcribe FILE",
            body,
        )
        self.caption.setAlignment(Qt.AlignCenter)
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.setCentralWidget(body)
        self.statusBar().showMessage(f"model {model} · device {device} · precision {precision}")


def run_app(model: str, device: str, precision: str) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(model, device, precision)
    window.show()
    return app.exec()
