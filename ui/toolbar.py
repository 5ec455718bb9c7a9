"""The window's toolbar: Start, and labelled pickers for input, model, precision and language.

Each picker stores its value as item data and shows words for it, so a label can say more than
the value ("fp16 · ~8× slower on CPU", "German") while settings and the engine get the value.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFontMetrics
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar

from ui.engine import embedded_model_names
from ui.languages import picker_entries
from ui.settings import PRECISIONS

OPEN_FOLDER, HUB_ID = "Open folder…", "Hugging Face id…"
START_LABELS = ("Start", "Stop", "Loading…", "Stopping…")
PRECISION_TIPS = {
    "auto": "The fastest precision this device runs well",
    "fp32": "Full precision: exact, the CPU's best",
    "fp16": "Half precision: fast on a GPU",
    "bf16": "bfloat16: fast on recent GPUs",
    "int8": "8-bit weights: fastest on the CPU, slightly less accurate",
}
CPU_SLOW = ("fp16", "bf16")  # the CPU emulates these: about 8x slower than fp32 there


def _label(text: str, tip: str) -> QLabel:
    label = QLabel(text)
    label.setToolTip(tip)
    label.setContentsMargins(8, 0, 2, 0)
    return label


def build_toolbar(window) -> QToolBar:
    """Create the toolbar's widgets as attributes of ``window`` (start_action, device_combo, …)."""
    bar = QToolBar("Session", window)
    bar.setMovable(False)
    window.addToolBar(bar)
    window.start_action = QAction("Start", window)
    window.start_action.setToolTip("Start or stop captioning the selected input (Space)")
    bar.addAction(window.start_action)
    button = window.start_button = bar.widgetForAction(window.start_action)
    # The label changes (Start, Loading…, Stop): a fixed width keeps the pickers from jumping.
    metrics = QFontMetrics(button.font())
    button.setFixedWidth(max(metrics.horizontalAdvance(text) for text in START_LABELS) + 28)
    button.setStyleSheet("font-weight: bold;")
    bar.addSeparator()

    bar.addWidget(_label("Input:", "What is captioned: a microphone, what the computer plays (System audio), or "
                               "both for a call"))
    window.device_combo = QComboBox(window)
    window.device_combo.setMinimumWidth(200)
    # An output's monitor can have a long name: the picker keeps its width (the popup shows it whole).
    window.device_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    window.device_combo.setMinimumContentsLength(26)
    window.device_combo.setToolTip("The audio input to caption")
    bar.addWidget(window.device_combo)
    window.refresh_action = QAction("⟳", window)
    window.refresh_action.setToolTip("Look for input devices again (finds newly plugged-in ones)")
    bar.addAction(window.refresh_action)

    bar.addWidget(_label("Model:", "The Whisper model: bigger ones are more accurate and slower"))
    window.model_combo = QComboBox(window)
    window.model_combo.addItems(embedded_model_names() + [OPEN_FOLDER, HUB_ID])
    if window.settings.model not in embedded_model_names():
        window.model_combo.insertItem(0, window.settings.model)
    window.model_combo.setCurrentText(window.settings.model)
    bar.addWidget(window.model_combo)

    bar.addWidget(_label("Precision:", "Number format of the model's arithmetic"))
    window.precision_combo = QComboBox(window)
    for precision in PRECISIONS:
        window.precision_combo.addItem(precision, precision)
        window.precision_combo.setItemData(window.precision_combo.count() - 1, PRECISION_TIPS[precision],
                                           Qt.ToolTipRole)
    window.precision_combo.setCurrentIndex(max(0, window.precision_combo.findData(window.settings.precision)))
    window.precision_combo.setToolTip("Precision: auto picks the best for this device")
    bar.addWidget(window.precision_combo)

    bar.addWidget(_label("Language:", "The spoken language; automatic detection needs a multilingual model"))
    window.language_combo = QComboBox(window)
    window.language_combo.setMinimumWidth(150)
    bar.addWidget(window.language_combo)
    set_languages(window.language_combo, None, window.settings.language)
    bar.addSeparator()

    window.overlay_action = QAction("Overlay", window)
    window.overlay_action.setCheckable(True)
    window.overlay_action.setShortcut("Ctrl+Shift+O")
    window.overlay_action.setToolTip("Captions in a strip that stays on top of other windows (Ctrl+Shift+O)")
    bar.addAction(window.overlay_action)
    return bar


def set_languages(combo: QComboBox, known: frozenset[str] | None, wanted: str) -> None:
    """Fill the language picker for a model: names shown, codes stored, what the model cannot do
    disabled with the reason as tooltip. ``wanted`` stays selected when the model can do it."""
    combo.blockSignals(True)
    combo.clear()
    model = combo.model()
    for code, label, why in picker_entries(known):
        combo.addItem(label, code)
        item = model.item(combo.count() - 1)
        item.setEnabled(why is None)
        item.setToolTip(why or label)
    index = combo.findData(wanted)
    if index < 0 or not model.item(index).isEnabled():
        index = 0
    combo.setCurrentIndex(index)
    english_only = known is not None and not known
    combo.setToolTip("This model is English-only" if english_only else "The spoken language")
    combo.blockSignals(False)


def mark_precisions(combo: QComboBox, reasons: dict, on_cpu: bool) -> None:
    """Disable what the device cannot run (the reason as tooltip); on the CPU, say that fp16 and
    bf16 run but about 8x slower than fp32 there."""
    model = combo.model()
    for row in range(combo.count()):
        precision = combo.itemData(row)
        item = model.item(row)
        item.setEnabled(reasons.get(precision) is None)
        slow = on_cpu and precision in CPU_SLOW
        item.setText(f"{precision} · ~8× slower on CPU" if slow else precision)
        tip = reasons.get(precision) or PRECISION_TIPS[precision]
        item.setToolTip(tip + (" (the CPU emulates it: about 8× slower than fp32)" if slow else ""))
