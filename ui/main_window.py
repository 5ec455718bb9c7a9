"""The live-caption window: toolbar pickers, caption area, status bar, menus, overlay, banner."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QPushButton, QToolBar, QVBoxLayout, QWidget)

from livecaption.asr.models import EMBEDDED_MODELS
from livecaption.audio.sources import list_input_devices
from livecaption.errors import UserError
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.transcript.export import FORMATS, render, write_text_atomic
from livecaption.streaming.events import CaptionUpdate
from livecaption.transcript.journal import list_sessions, mark_recovered, read_journal
from livecaption.transcript.live import LiveTranscript, session_options
from ui.caption_view import CaptionView
from ui.engine import EngineConfig, EngineController
from ui.overlay import CaptionOverlay
from ui.settings import PRECISIONS, AppSettings
from ui.status import StatusPanel

LANGUAGES = ["auto", "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "it", "nl", "sv", "ar", "hi", "uk"]
OPEN_FOLDER, HUB_ID = "Open folder…", "Hugging Face id…"


class Banner(QWidget):
    """A non-modal strip for errors, notices and model-loading progress (with Cancel)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel("", self)
        self.label.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.cancel = QPushButton("Cancel", self)
        self.close_button = QPushButton("✕", self)
        self.close_button.setFixedWidth(28)
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
        self.setStyleSheet("background: #eef6e8;")
        self.label.setText(text)
        self.progress.setValue(percent)
        self.progress.show()
        self.cancel.show()
        self.close_button.hide()
        self.show()


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, settings_path: Path, controller: EngineController | None = None):
        super().__init__()
        self.settings, self.settings_path = settings, settings_path
        self.controller = controller or EngineController()
        self.replay_file: str | None = None
        self.reconnect_s = 30.0  # how long a lost input device is waited for before the session stops
        self.setWindowTitle("livecaption")
        self.resize(1000, 560)
        self.transcript = self._new_transcript("", "", None)
        self.last_stats = None
        self.running_on = ""

        self.banner = Banner(self)
        self.captions = CaptionView(self, settings.font_size)
        self.captions.show_timestamps = settings.show_timestamps
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.addWidget(self.banner)
        layout.addWidget(self.captions)
        self.setCentralWidget(body)
        self.status = StatusPanel(self.statusBar())
        self.overlay = CaptionOverlay(settings.overlay_font_size)
        self.overlay.restore_geometry_text(settings.overlay_geometry)

        self._build_toolbar()
        self._build_menus()
        self._connect_engine()
        self.refresh_devices(rescan=False)
        if settings.overlay_visible:
            self.toggle_overlay(True)
        self.restore_unfinished_session()

    def restore_unfinished_session(self) -> None:
        """After a crash or kill, bring the last unfinished session's captions back into the window."""
        unfinished = [s for s in list_sessions() if not s.finished and s.words]
        if not unfinished:
            return
        session, restored = read_journal(unfinished[-1].path)
        for segment in restored.groups():
            self._caption(CaptionUpdate(committed=tuple(segment), tentative="", time=0.0, utterance_ended=True))
        mark_recovered(session.path)
        self.banner.show_message(f"Restored {session.words} words from an unfinished session ({session.name}); "
                                 "save them with File → Save transcript.", error=False)

    # -- construction --------------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        bar = QToolBar("Session", self)
        bar.setMovable(False)
        self.addToolBar(bar)
        self.start_action = QAction("Start", self)
        self.start_action.triggered.connect(self.toggle_running)
        bar.addAction(self.start_action)
        bar.addSeparator()
        self.device_combo = QComboBox(self)
        self.device_combo.setMinimumWidth(180)
        self.device_combo.setToolTip("input device")
        bar.addWidget(self.device_combo)
        refresh = QAction("⟳", self)
        refresh.setToolTip("refresh the input devices (finds newly plugged-in ones)")
        refresh.triggered.connect(lambda: self.refresh_devices(rescan=not self.controller.running))
        bar.addAction(refresh)
        self.model_combo = QComboBox(self)
        self.model_combo.addItems(list(EMBEDDED_MODELS) + [OPEN_FOLDER, HUB_ID])
        if self.settings.model not in EMBEDDED_MODELS:
            self.model_combo.insertItem(0, self.settings.model)
        self.model_combo.setCurrentText(self.settings.model)
        bar.addWidget(self.model_combo)
        self.precision_combo = QComboBox(self)
        self.precision_combo.addItems(list(PRECISIONS))
        self.precision_combo.setCurrentText(self.settings.precision)
        bar.addWidget(self.precision_combo)
        self.language_combo = QComboBox(self)
        self.language_combo.addItems(LANGUAGES)
        self.language_combo.setCurrentText(self.settings.language if self.settings.language in LANGUAGES else "auto")
        bar.addWidget(self.language_combo)
        self.overlay_action = QAction("Overlay", self)
        self.overlay_action.setCheckable(True)
        self.overlay_action.toggled.connect(self.toggle_overlay)
        bar.addAction(self.overlay_action)
        self.device_combo.currentIndexChanged.connect(self._settings_changed)
        self.model_combo.activated.connect(self._model_chosen)
        self.precision_combo.currentIndexChanged.connect(self._settings_changed)
        self.language_combo.currentIndexChanged.connect(self._settings_changed)
        self.banner.cancel.clicked.connect(self.controller.cancel_loading)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        save = file_menu.addAction("&Save transcript as…")
        save.setShortcut(QKeySequence.Save)
        save.triggered.connect(self.save_dialog)
        file_menu.addAction("&New session", self.new_session)
        file_menu.addAction("&Replay a recording…", self.replay_dialog)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.Quit)
        view = self.menuBar().addMenu("&View")
        view.addAction("Larger text", lambda: self.change_font(+2)).setShortcuts([QKeySequence("Ctrl++"), QKeySequence("Ctrl+=")])
        view.addAction("Smaller text", lambda: self.change_font(-2)).setShortcut(QKeySequence("Ctrl+-"))
        stamps = view.addAction("Timestamps")
        stamps.setCheckable(True)
        stamps.setChecked(self.settings.show_timestamps)
        stamps.toggled.connect(self.set_timestamps)
        view.addAction(self.overlay_action)
        view.addAction("Overlay text larger", lambda: self.change_overlay_font(+2)).setShortcut(QKeySequence("Ctrl+Shift++"))
        view.addAction("Overlay text smaller", lambda: self.change_overlay_font(-2)).setShortcut(QKeySequence("Ctrl+Shift+-"))
        for keys in ("Space", "Ctrl+R"):
            QShortcut(QKeySequence(keys), self, activated=self.toggle_running)

    def _connect_engine(self) -> None:
        worker = self.controller.worker
        worker.loading.connect(self.banner.show_progress)
        worker.started.connect(self._engine_started)
        worker.stopped.connect(self._engine_stopped)
        worker.failed.connect(self._engine_failed)
        worker.caption.connect(self._caption)
        worker.stats.connect(self._stats)
        worker.gap.connect(self._gap)
        worker.restarted.connect(self._engine_restarted)
        worker.precisions.connect(self._mark_precisions)
        self.controller.probe_precisions(self.settings.device)  # the answer marks the combo

    # -- engine ----------------------------------------------------------------------------------

    def config(self) -> EngineConfig:
        language = self.language_combo.currentText()
        return EngineConfig(
            model=self.model_combo.currentText(), device=self.settings.device,
            precision=self.precision_combo.currentText(), language=None if language == "auto" else language,
            input_device=self.device_combo.currentData() or None, replay_file=self.replay_file,
            reconnect_s=self.reconnect_s,
        )

    def _new_transcript(self, device: str, precision: str, fallback: str | None) -> LiveTranscript:
        language = self.settings.language if self.settings.language != "auto" else None
        return LiveTranscript(self.settings.model, device, precision, fallback,
                              session_options(StreamingOptions(language=language), VadOptions(), language))

    @Slot()
    def toggle_running(self) -> None:
        if self.controller.running:
            self.controller.stop()
            self.start_action.setText("Stopping…")
        else:
            self.controller.start(self.config())
            self.start_action.setText("Loading…")

    def _engine_started(self, description: str, fallback: str) -> None:
        self.start_action.setText("Stop")
        self.running_on = description  # what the status bar shows; stats may later say otherwise
        self.status.set_device(description)
        device, precision = description.split()[:2]
        self.transcript.device, self.transcript.precision = device, precision
        self.transcript.model = self.model_combo.currentText()
        if fallback:
            self.banner.show_message(f"Running on {description}", error=False)
        else:
            self.banner.hide()

    def _engine_stopped(self) -> None:
        self.start_action.setText("Start")

    def _engine_failed(self, message: str) -> None:
        self.start_action.setText("Start")
        self.banner.show_message(message)

    def _caption(self, update) -> None:
        self.transcript.add(update)
        self.captions.add_committed([(w.start, w.text) for w in update.committed], update.utterance_ended,
                                    update.tentative)
        self.overlay.show_lines(self.captions.last_lines(2))

    def _gap(self, gap) -> None:
        self.transcript.add_gap(gap.start, gap.end, gap.reason)
        if gap.engine_error:
            return  # _engine_restarted says what happened
        if gap.fell_behind:
            self.banner.show_message(f"Captions fell behind and {gap.end - gap.start:.1f} s of audio were skipped: "
                                     "this machine decodes slower than real time. A smaller model or int8 helps; "
                                     "the gap is marked in the transcript.", error=False)
            return
        self.banner.show_message(f"Audio input was lost for {gap.end - gap.start:.0f} s ({gap.reason}); "
                                 "capture resumed and the gap is marked in the transcript.", error=False)

    def _engine_restarted(self, event) -> None:
        lost = (f"; {event.end - event.start:.1f} s that could not be captioned are marked in the transcript"
                if event.end > event.start else "")
        self.banner.show_message(f"A decode failed ({event.error}) and captioning restarted{lost}.", error=False)

    def _stats(self, stats) -> None:
        self.last_stats = stats
        self.status.update(stats)
        if self.running_on and stats.device != self.running_on:
            # The engine changed device or precision mid-session (GPU out of memory, or the precision
            # monitor gave up on fp16/bf16/int8): say so where the user looks, keep the transcript.
            self.running_on = stats.device
            self.status.set_device(stats.device)
            device, precision = stats.device.split()[:2]
            self.transcript.device, self.transcript.precision = device, precision
            self.banner.show_message(f"Now running on {stats.device}; captions continue.", error=False)

    def _settings_changed(self) -> None:
        self.settings.input_device = self.device_combo.currentData() or ""
        self.settings.model = self.model_combo.currentText()
        self.settings.precision = self.precision_combo.currentText()
        self.settings.language = self.language_combo.currentText()
        self.settings.save(self.settings_path)
        if self.controller.running:  # switch while live: restart, the transcript stays
            self.controller.restart(self.config())

    def _model_chosen(self) -> None:
        choice = self.model_combo.currentText()
        if choice in (OPEN_FOLDER, HUB_ID):
            if choice == OPEN_FOLDER:
                value = QFileDialog.getExistingDirectory(self, "Transformers Whisper model folder")
            else:
                value, ok = QInputDialog.getText(self, "Hugging Face model", "Model id (e.g. openai/whisper-small):")
                value = value.strip() if ok else ""
            if not value:
                self.model_combo.setCurrentText(self.settings.model)
                return
            self.model_combo.insertItem(0, value)
            self.model_combo.setCurrentIndex(0)
        self._settings_changed()

    def _mark_precisions(self, reasons: dict) -> None:
        """Precisions the device cannot run stay visible but disabled, with the reason as tooltip
        (``reasons`` comes from the engine thread, which may ask the CUDA driver)."""
        model = self.precision_combo.model()
        for row, precision in enumerate(PRECISIONS):
            item = model.item(row)
            item.setEnabled(reasons[precision] is None)
            item.setToolTip(reasons[precision] or "")

    # -- actions -------------------------------------------------------------------------------------

    def refresh_devices(self, rescan: bool = True) -> None:
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItem("System default input", "")
        try:
            devices = list_input_devices(rescan=rescan)
        except UserError as exc:
            devices = []
            self.banner.show_message(str(exc))
        for device in devices:
            self.device_combo.addItem(f"{device.name} ({device.host_api})", device.name)
        wanted = self.settings.input_device
        index = self.device_combo.findData(wanted) if wanted else 0
        if index < 0:
            self.banner.show_message(f"Input device '{wanted}' is not connected; using the system default.", error=False)
            index = 0
        self.device_combo.setCurrentIndex(index)
        self.device_combo.blockSignals(False)

    def save_transcript(self, path: Path, fmt: str) -> None:
        write_text_atomic(Path(path), render(self.transcript.to_transcription(), fmt), force=True)

    def save_dialog(self) -> None:
        filters = ";;".join(f"{fmt.upper()} (*.{fmt})" for fmt in FORMATS)
        path, chosen = QFileDialog.getSaveFileName(self, "Save transcript", "meeting.txt", filters)
        if not path:
            return
        fmt = Path(path).suffix.lstrip(".").lower()
        fmt = fmt if fmt in FORMATS else chosen.split()[0].lower()
        try:
            self.save_transcript(Path(path), fmt)
        except UserError as exc:
            self.banner.show_message(str(exc))
        else:
            self.banner.show_message(f"Saved {path}", error=False)

    def new_session(self, confirm: bool = True) -> None:
        if confirm and self.transcript.words():
            answer = QMessageBox.question(self, "New session", "Start a new session? The current transcript "
                                          "will be cleared from the window (save it first if you need it).")
            if answer != QMessageBox.Yes:
                return
        self.transcript = self._new_transcript(self.transcript.device, self.transcript.precision, self.transcript.fallback)
        self.captions.clear()
        self.overlay.show_lines([])
        if self.controller.running:
            self.controller.stop()
            self.start_action.setText("Start")
        self.controller.end_session()

    def replay_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Replay a recording as if it were the microphone")
        if path:
            self.replay_file = path
            self.controller.start(self.config())

    def change_font(self, delta: int) -> None:
        self.settings.font_size = max(8, min(72, self.settings.font_size + delta))
        self.captions.set_font_size(self.settings.font_size)
        self.settings.save(self.settings_path)

    def change_overlay_font(self, delta: int) -> None:
        self.settings.overlay_font_size = max(10, min(96, self.settings.overlay_font_size + delta))
        self.overlay.set_font_size(self.settings.overlay_font_size)
        self.overlay.show_lines(self.captions.last_lines(2))
        self.settings.save(self.settings_path)

    def set_timestamps(self, on: bool) -> None:
        self.settings.show_timestamps = self.captions.show_timestamps = on
        self.captions.rerender()
        self.settings.save(self.settings_path)

    def toggle_overlay(self, visible: bool) -> None:
        self.overlay_action.blockSignals(True)
        self.overlay_action.setChecked(visible)
        self.overlay_action.blockSignals(False)
        self.overlay.setVisible(visible)
        self.settings.overlay_visible = visible
        self.settings.save(self.settings_path)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.settings.overlay_geometry = self.overlay.geometry_text()
        self.settings.save(self.settings_path)
        self.controller.shutdown()
        self.overlay.close()
        super().closeEvent(event)
