"""The status bar in words people use, with pictures to glance at and the numbers in tooltips.

Left to right: the listening indicator, how long captions take to become final (with a small
sparkline of the latest delays), whether decoding keeps up, a memory gauge, where the model runs,
the input level meter (one per input in a meeting capture, labelled You / Others) and warnings.
Every figure is cleared when a session stops, is replaced or fails, so nothing stale is ever
shown as current.
"""

from __future__ import annotations

import os
from collections import deque

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from ui.engine import MICROPHONE, SYSTEM, DeviceChoice, StreamStats
from ui.languages import NAMES

LAG_WARNING_S = 3.0  # unprocessed audio beyond this is real overload, worth a warning
LOUD_DB = -6.0  # RMS this close to full scale is not speech at a sane gain: noise, or clipping
LOUD_FOR_S = 2.0


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.0f} MB"


def _ram_total() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def device_label(choice: DeviceChoice) -> str:
    """cpu/fp32 -> "CPU · fp32"; the full description (with any fallback) goes in the tooltip."""
    where = "GPU" if choice.is_cuda else "CPU"
    return f"{where} · {choice.precision}"


class Sparkline(QWidget):
    """The latest caption delays as a small line: steady, rising or spiking at a glance."""

    def __init__(self, size: int = 40):
        super().__init__()
        self.values: deque[float] = deque(maxlen=size)
        self.setFixedSize(72, 18)

    def add(self, value: float) -> None:
        self.values.append(value)
        self.update()

    def clear(self) -> None:
        self.values.clear()
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if len(self.values) < 2:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        top = max(max(self.values), 1.0)  # a flat line at the bottom means "fast", not "no scale"
        w, h = self.width() - 2, self.height() - 2
        step = w / (self.values.maxlen - 1)
        x0 = 0.0  # drawn from the left, next to its label, growing until it spans the widget
        points = [QPointF(1 + x0 + i * step, 1 + h - h * v / top) for i, v in enumerate(self.values)]
        painter.setPen(QPen(QColor("#2f6db5"), 1.5))
        painter.drawPolyline(QPolygonF(points))
        painter.end()


class StatusPanel:
    def __init__(self, bar: QStatusBar):
        self.listening = QLabel()
        self.latency = QLabel()
        self.sparkline = Sparkline()
        self.pace = QLabel()
        self.memory = QProgressBar()
        self.memory.setFixedWidth(150)
        self.memory.setTextVisible(True)
        self.memory.setFormat("%v")
        self.device = QLabel()
        self.spoken = QLabel()  # the language of the latest utterance (detected per utterance on Auto)
        self.warning = QLabel("")
        self.warning.setStyleSheet("color: #b00020; font-weight: bold;")
        self.level, self.level_label = _meter(), QLabel("Input")
        # A meeting capture's second input (the system audio); the first meter is the microphone's then.
        self.system_level, self.system_label = _meter(), QLabel("Others")
        self.latency.setToolTip("How long after words are spoken they become final captions.")
        self.sparkline.setToolTip("Caption delay of the latest words (higher = slower).")
        for widget in (self.listening, self.latency, self.sparkline, self.pace, self.memory, self.device,
                       self.spoken, self.warning):
            bar.addWidget(widget)
        for widget in (self.level_label, self.level, self.system_label, self.system_level):
            bar.addPermanentWidget(widget)
        self.ram_total = _ram_total()
        self.reset()

    # -- session state ---------------------------------------------------------------------

    def reset(self) -> None:
        """No session: nothing measured, nothing to warn about."""
        self.spoke = False
        self.outage: str | None = None
        # Per input (None: the one input there is): since when it has been loud, and its lag and drops.
        self.loud_since: dict[str | None, float] = {}
        self.loud = False
        self.lags: dict[str | None, float] = {}
        self.drops: dict[str | None, float] = {}
        self.set_inputs({})
        self.set_listening(None)
        self.latency.setText("")
        self.sparkline.clear()
        self.sparkline.hide()
        self.pace.setText("")
        self.pace.setToolTip("")
        self.memory.hide()
        self.device.setText("")
        self.device.setToolTip("")
        self.spoken.setText("")
        self.warning.setText("")

    def set_inputs(self, names: dict[str, str]) -> None:
        """One level meter ("Input"), or one per input of a meeting capture, labelled with its name."""
        self.names = dict(names)
        self.meters = ({MICROPHONE: (self.level_label, self.level), SYSTEM: (self.system_label, self.system_level)}
                       if names else {None: (self.level_label, self.level)})
        for source, (label, meter) in self.meters.items():
            label.setText(self.names.get(source, "Input"))
            meter.setValue(0)
            meter.setToolTip("Input level: nothing captured yet.")
        self.system_label.setVisible(bool(names))
        self.system_level.setVisible(bool(names))
        for _, meter in self.meters.values():  # two meters take the room of one and a half
            meter.setFixedWidth(64 if names else 90)

    def rename_input(self, source: str, name: str) -> None:
        """A meeting's input was renamed (You → a name): its meter's label follows."""
        if source in self.names:
            self.names[source] = name
            label, _ = self.meters[source]
            label.setText(name + (" (lost)" if label.text().endswith(" (lost)") else ""))

    def input_lost(self, source: str) -> None:
        """A meeting's input ended for good: its meter says so (the other goes on)."""
        self.lags.pop(source, None)  # its audio clock ran on while nothing came: no lag of the meeting's
        self.drops.pop(source, None)
        self.loud_since.pop(source, None)
        label, meter = self.meters.get(source, (None, None))
        if label is not None:
            label.setText(f"{self.names.get(source, 'Input')} (lost)")
            meter.setValue(0)
            meter.setToolTip("This input was lost; the other goes on.")

    def set_spoken_language(self, code: str, translating: bool) -> None:
        """What the latest utterance was spoken in, by name, and into what the captions are put."""
        name = NAMES.get(code, code)
        self.spoken.setText(f"{name} → English" if translating and code != "en" else name)
        self.spoken.setToolTip("The language the latest utterance was spoken in"
                               + (", captioned in English" if translating else ""))

    def set_listening(self, source: str | None) -> None:
        if source:
            self.listening.setText(f"<span style='color:#c62828'>●</span> Listening: {source}")
            self.listening.setToolTip("Captioning is on. Space or Stop ends it.")
        else:
            self.listening.setText("<span style='color:#888'>○</span> Not listening")
            self.listening.setToolTip("Press Space or Start to caption the selected input.")

    def mark_speech(self) -> None:
        """Someone spoke: from now on the pace figure means something."""
        self.spoke = True

    def add_final_delay(self, seconds: float) -> None:
        """Words just became final, ``seconds`` after they were spoken (the engine's own figure
        comes only when an utterance ends, which in a long reading is at its very end)."""
        self.latency.setText(f"Caption delay {seconds:.1f} s")
        self.sparkline.add(seconds)
        self.sparkline.show()

    def set_device(self, choice: DeviceChoice) -> None:
        self.device.setText(device_label(choice))
        self.device.setToolTip(f"The model runs on: {choice.describe()}")

    def set_outage(self, outage: str | None) -> None:
        self.outage = outage
        self._warn()

    # -- figures ---------------------------------------------------------------------------

    def update(self, stats: StreamStats) -> None:
        details = (f"final latency {_s(stats.final_latency_last)} (p50 {_s(stats.final_latency_p50)}), "
                   f"first word {_s(stats.first_word_latency_last)}\nunprocessed audio (lag) {stats.lag:.1f} s, "
                   f"max {stats.lag_max:.1f} s\nRTF {stats.rtf:.2f} (compute seconds per second of audio), "
                   f"decode step {stats.step:.2f} s\ndropped {stats.dropped_seconds:.1f} s")
        self.latency.setToolTip("How long after words are spoken they become final captions.\n" + details)
        source = stats.source if stats.source in self.meters else next(iter(self.meters))
        self.drops[source], self.lags[source] = stats.dropped_seconds, stats.lag
        self.dropped = sum(self.drops.values())
        self.lag = max(self.lags.values())  # in a meeting, the input further behind
        if self.spoke:
            behind = self.lag > LAG_WARNING_S and self.outage is None
            self.pace.setText(f"Behind by {self.lag:.0f} s" if behind else "Keeping up")
            self.pace.setStyleSheet("color: #b00020;" if behind else "color: #2e7d32;")
            self.pace.setToolTip(("Decoding is slower than speech: a smaller model or int8 helps.\n" if behind else
                                  "Decoding keeps pace with speech.\n") + details)
        self._memory(stats)
        _, meter = self.meters[source]
        meter.setValue(int(max(0.0, min(60.0, stats.input_level_db + 60))))
        who = f" of {self.names[source]}" if source in self.names else ""
        meter.setToolTip(f"Input level{who} {stats.input_level_db:.0f} dBFS")
        if stats.input_level_db > LOUD_DB:
            self.loud_since.setdefault(source, stats.time)
        elif stats.input_level_db < LOUD_DB - 6:
            self.loud_since.pop(source, None)
        self.loud = any(stats.time - since >= LOUD_FOR_S for since in self.loud_since.values())
        self._warn()

    def _memory(self, stats: StreamStats) -> None:
        if stats.gpu_total:
            used, total, what = stats.gpu_allocated or 0, stats.gpu_total, "GPU memory"
            tip = (f"VRAM {_mb(stats.gpu_allocated)} in use, decode peak {_mb(stats.gpu_decode_peak)}, "
                   f"reserved {_mb(stats.gpu_reserved)}, of {_mb(stats.gpu_total)}")
        else:
            used, total, what = stats.rss_bytes, self.ram_total or max(stats.rss_bytes, 1), "Memory"
            tip = f"RAM used by livecaption: {_mb(stats.rss_bytes)} of {_mb(self.ram_total)}"
        self.memory.setRange(0, max(1, total // 2**20))
        self.memory.setValue(min(total, used) // 2**20)
        self.memory.setFormat(f"{what} {_mb(used)}")
        self.memory.setToolTip(tip)
        self.memory.show()

    def _warn(self) -> None:
        warnings = []
        if self.outage:
            warnings.append(f"⚠ {self.outage}")  # lag and drops mean nothing while nothing arrives
        elif getattr(self, "dropped", 0) > 0:  # only ever from a ring that overflowed: real overload
            warnings.append(f"⚠ {self.dropped:.1f} s of audio dropped (too slow)")
        if self.loud:
            warnings.append("⚠ input is very loud / clipped")
        self.warning.setText("  ".join(warnings))
        self.warning.setToolTip("The input level has stayed near full scale: lower the input volume (or the "
                                "source's), captions of clipped audio suffer." if self.loud else "")


def _meter() -> QProgressBar:
    meter = QProgressBar()
    meter.setRange(0, 60)  # -60 dBFS .. 0 dBFS
    meter.setTextVisible(False)
    meter.setFixedWidth(90)
    return meter


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"
