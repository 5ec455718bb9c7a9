"""The status bar: latency, lag, RTF, memory, device/precision, input level and warnings."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from livecaption.streaming.events import StreamStats

LAG_WARNING_S = 3.0


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.0f} MB"


class StatusPanel:
    def __init__(self, bar: QStatusBar):
        self.latency = QLabel("final latency –")
        self.lag = QLabel("lag –")
        self.rtf = QLabel("RTF –")
        self.memory = QLabel("memory –")
        self.device = QLabel("not started")
        self.warning = QLabel("")
        self.warning.setStyleSheet("color: #b00020; font-weight: bold;")
        self.level = QProgressBar()
        self.level.setRange(0, 60)  # -60 dBFS .. 0 dBFS
        self.level.setTextVisible(False)
        self.level.setFixedWidth(90)
        self.level.setToolTip("input level")
        for widget in (self.latency, self.lag, self.rtf, self.memory, self.device, self.warning):
            bar.addWidget(widget)
        bar.addPermanentWidget(self.level)

    def set_device(self, description: str) -> None:
        self.device.setText(description.replace("cpu", "CPU", 1) if description.startswith("cpu") else description)

    def update(self, stats: StreamStats) -> None:
        if stats.final_latency_last is not None:
            self.latency.setText(f"final latency {stats.final_latency_last:.2f} s (p50 {stats.final_latency_p50:.2f} s)")
        self.lag.setText(f"lag {stats.lag:.1f} s")
        self.rtf.setText(f"RTF {stats.rtf:.2f}")
        if stats.gpu_total is not None:
            self.memory.setText(f"VRAM {_mb(stats.gpu_allocated)} / decode peak {_mb(stats.gpu_decode_peak)} / "
                                f"reserved {_mb(stats.gpu_reserved)} / {_mb(stats.gpu_total)}")
        else:
            self.memory.setText(f"RAM {_mb(stats.rss_bytes)}")
        self.level.setValue(int(max(0.0, min(60.0, stats.input_level_db + 60))))
        warnings = []
        if stats.dropped_seconds > 0:
            warnings.append(f"⚠ {stats.dropped_seconds:.1f} s of audio dropped")
        if stats.lag > LAG_WARNING_S:
            warnings.append(f"⚠ falling behind ({stats.lag:.1f} s)")
        self.warning.setText("  ".join(warnings))
