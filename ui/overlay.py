"""An always-on-top, frameless, semi-transparent caption strip with the last two lines."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QMouseEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class CaptionOverlay(QWidget):
    def __init__(self, font_size: int = 26):
        super().__init__(None, Qt.FramelessWindowHint | Qt.WindowStaysOnTopHint | Qt.Tool)
        self.setAttribute(Qt.WA_TranslucentBackground)
        self.setWindowTitle("livecaption overlay")
        self.setWindowOpacity(0.85)
        self.label = QLabel("", self)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignHCenter | Qt.AlignBottom)
        self.label.setStyleSheet("color: white; background: rgba(0, 0, 0, 170); padding: 10px; border-radius: 8px;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        self.set_font_size(font_size)
        self.resize(900, 130)
        self._drag_from: QPoint | None = None

    def set_font_size(self, size: int) -> None:
        self.font_size = size
        font = QFont()
        font.setPointSize(size)
        self.label.setFont(font)

    def show_lines(self, lines: list[str]) -> None:
        """Show the end of the last two caption lines, trimmed from the front to two rows on screen."""
        words = " ".join(lines[-2:]).split()
        metrics = QFontMetrics(self.label.font())
        width = max(100, self.width() - 40)
        max_height = 2 * metrics.lineSpacing()
        while len(words) > 1:
            box = metrics.boundingRect(QRect(0, 0, width, 10_000), Qt.TextWordWrap, " ".join(words))
            if box.height() <= max_height:
                break
            words.pop(0)
        self.label.setText(" ".join(words))

    def text(self) -> str:
        return self.label.text()

    def geometry_text(self) -> str:
        g = self.geometry()
        return f"{g.x()},{g.y()},{g.width()},{g.height()}"

    def restore_geometry_text(self, text: str) -> None:
        try:
            x, y, w, h = (int(v) for v in text.split(","))
        except ValueError:
            return
        self.setGeometry(x, y, max(200, w), max(60, h))

    # Frameless: drag anywhere to move it.
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        self._drag_from = event.globalPosition().toPoint() - self.frameGeometry().topLeft()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is not None:
            self.move(event.globalPosition().toPoint() - self._drag_from)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_from = None
