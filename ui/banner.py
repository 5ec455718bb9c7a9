"""A non-modal strip above the captions for errors, notices and model-loading progress."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class Banner(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel("", self)
        self.label.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setFixedWidth(160)
        self.cancel = QPushButton("Cancel", self)
        self.close_button = QPushButton("✕", self)
        self.close_button.setFixedWidth(28)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        for widget in (self.label, self.progress, self.cancel, self.close_button):
            layout.addWidget(widget)
        layout.setStretch(0, 1)
        self.hide()

    def show_message(self, text: str, error: bool = True) -> None:
        color = "#fde2e1" if error else "#e3f1fd"
        self.setStyleSheet(f"background: {color};")
        self.label.setText(text)
        self.progress.hide()
        self.cancel.hide()
        self.close_button.show()
        self.show()

    def show_progress(self, text: str, percent: int) -> None:
        """Loading a model reports no steps (only a conversion does): a bar stuck at 0 % reads as
        hung, so until real progress arrives the bar is a busy indicator."""
        self.setStyleSheet("background: #eef6e8;")
        self.label.setText(text)
        if 0 < percent < 100:
            self.progress.setRange(0, 100)
            self.progress.setValue(percent)
        elif percent >= 100:
            self.progress.setRange(0, 100)
            self.progress.setValue(100)
        else:
            self.progress.setRange(0, 0)  # indeterminate: Qt animates it
        self.progress.show()
        self.cancel.show()
        self.close_button.hide()
        self.show()

    def indeterminate(self) -> bool:
        return self.progress.maximum() == 0
