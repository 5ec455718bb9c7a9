"""The live-caption window: toolbar, caption area, status bar, menus, overlay, banner.

Widgets live in their own modules (toolbar, banner, status, overlay, sessions dialog); this one
wires them to the engine adapter (ui/engine.py) and keeps the session's state: the transcript,
whether it was saved, and whether a one-off replay is running.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMainWindow, QVBoxLayout, QWidget

from ui import shortcuts
from ui.banner import Banner
from ui.caption_view import CaptionView
from ui.engine import (MICROPHONE, SYSTEM, CaptionUpdate, DeviceChoice, EngineConfig, EngineController, LiveTranscript,
                       new_transcript, recorded_options)
from ui.inputs import INPUTS, OUTAGE_POLL_MS, RESCAN_MS, InputActions
from ui.overlay import CaptionOverlay
from ui.session_actions import SessionActions
from ui.sessions_dialog import SessionsDialog
from ui.language_actions import LanguageActions
from ui.speaker_actions import SpeakerActions
from ui.status import StatusPanel
from ui.toolbar import HUB_ID, OPEN_FOLDER, build_toolbar, mark_precisions, set_languages


class MainWindow(SessionActions, SpeakerActions, LanguageActions, InputActions, QMainWindow):
    def __init__(self, settings, settings_path: Path, controller: EngineController | None = None):
        super().__init__()
        self.settings, self.settings_path = settings, settings_path
        self.controller = controller or EngineController()
        self.replay_file: str | None = None  # a one-off: the next Start replays it, then it is forgotten
        self.active_replay: str | None = None  # the recording being replayed now
        self.viewing_past_session = False  # a journal opened from File → Past sessions is on show
        self.replay_next: str | None = None  # replayed once the running stream has stopped
        self.reconnect_s = 30.0  # how long a lost input device is waited for before the session stops
        self.resolved_device = ""  # what "auto" is here ("cpu" on a machine without a GPU)
        self.dirty = False  # captions nobody saved yet
        self.setWindowTitle("livecaption")
        self.resize(1100, 600)
        self.transcript = self._new_transcript()
        self.last_stats = None
        self.running_on: DeviceChoice | None = None

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
        self.sessions_dialog: SessionsDialog | None = None

        build_toolbar(self)
        self._connect_toolbar()
        self._build_menus()
        self._connect_engine()
        self.refresh_devices(rescan=False)
        self._show_guidance()
        self.outage_timer = QTimer(self, interval=OUTAGE_POLL_MS, timeout=self._poll_outage)
        self.rescan_timer = QTimer(self, interval=RESCAN_MS, timeout=self._rescan_lost_input)
        if settings.overlay_visible:
            self.toggle_overlay(True)
        self.restore_unfinished_session()

    # -- construction --------------------------------------------------------------------------

    def _connect_toolbar(self) -> None:
        self.start_action.triggered.connect(self.toggle_running)
        self.refresh_action.triggered.connect(lambda: self.refresh_devices(rescan=not self.controller.running))
        self.overlay_action.toggled.connect(self.toggle_overlay)
        self.device_combo.currentIndexChanged.connect(self._input_chosen)
        self.model_combo.activated.connect(self._model_chosen)
        self.precision_combo.currentIndexChanged.connect(self._settings_changed)
        self.language_combo.currentIndexChanged.connect(self._settings_changed)
        self.banner.cancel.clicked.connect(self.controller.cancel_loading)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        save = file_menu.addAction("&Save transcript as…")
        save.setShortcut(QKeySequence.Save)
        save.triggered.connect(self.save_dialog)
        file_menu.addAction("&New session", self.new_session).setShortcut(QKeySequence("Ctrl+N"))
        file_menu.addAction("&Past sessions…", self.show_sessions).setShortcut(QKeySequence("Ctrl+O"))
        file_menu.addAction("&Replay a recording…", self.replay_dialog)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.Quit)
        view = self.menuBar().addMenu("&View")
        view.addAction("Larger text", lambda: self.change_font(+2)).setShortcuts([QKeySequence("Ctrl+="),
                                                                                   QKeySequence("Ctrl++")])
        view.addAction("Smaller text", lambda: self.change_font(-2)).setShortcut(QKeySequence("Ctrl+-"))
        stamps = view.addAction("Timestamps")
        stamps.setCheckable(True)
        stamps.setChecked(self.settings.show_timestamps)
        stamps.toggled.connect(self.set_timestamps)
        view.addAction(self.overlay_action)
        # On a US keyboard "+" is Shift+=: Ctrl+Shift+= is what people press for Ctrl+Shift++.
        view.addAction("Overlay text larger", lambda: self.change_overlay_font(+2)).setShortcuts(
            [QKeySequence("Ctrl+Shift++"), QKeySequence("Ctrl+Shift+=")])
        view.addAction("Overlay text smaller", lambda: self.change_overlay_font(-2)).setShortcuts(
            [QKeySequence("Ctrl+Shift+-"), QKeySequence("Ctrl+Shift+_")])
        for keys in ("Space", "Ctrl+R"):
            QShortcut(QKeySequence(keys), self, activated=self.toggle_running)
        self.overlay_keys = shortcuts.install(QApplication.instance(), self)
        self._build_speaker_menu()
        self._build_language_menu()

    def _connect_engine(self) -> None:
        worker = self.controller.worker
        worker.loading.connect(self.banner.show_progress)
        worker.started.connect(self._engine_started)
        worker.stopped.connect(self._engine_stopped)
        worker.failed.connect(self._engine_failed)
        worker.finished.connect(self._replay_finished)
        worker.switch_failed.connect(self._switch_failed)
        worker.caption.connect(self._caption)
        worker.stats.connect(self._stats)
        worker.activity.connect(lambda event: event.speaking and self.status.mark_speech())
        worker.gap.connect(self._gap)
        worker.restarted.connect(self._engine_restarted)
        worker.precisions.connect(self._mark_precisions)
        worker.resolved_device.connect(self._device_resolved)
        worker.languages.connect(self._model_languages)
        worker.speakers.connect(self._speakers_labelled)
        worker.input_lost.connect(self._input_lost)
        self.controller.probe_precisions(self.settings.device)  # the answers mark the pickers
        self.controller.probe_languages(self.model_combo.currentText())

    # -- engine ----------------------------------------------------------------------------------

    def config(self) -> EngineConfig:
        microphone, system_audio = self.input_choice()
        return EngineConfig(
            model=self.model_combo.currentText(), device=self.settings.device,
            precision=self.precision_combo.currentData() or "auto",
            language=None if self.language_combo.currentData() in (None, "auto") else self.language_combo.currentData(),
            input_device=microphone, system_audio=system_audio, replay_file=self.active_replay,
            reconnect_s=self.reconnect_s, speakers=self.speaker_labels_on() and not self.meeting_selected(),
            task=self.task(), vocabulary=self.vocabulary(),
        )

    def _end_lines(self) -> None:
        """Every input's unfinished line ends (the stream ended, or a new one begins)."""
        self.captions.end_line()
        for source in (None, MICROPHONE, SYSTEM):
            self.transcript.add(CaptionUpdate((), "", 0.0, utterance_ended=True, source=source))

    def _new_transcript(self, choice: DeviceChoice | None = None) -> LiveTranscript:
        language = self.settings.language if self.settings.language != "auto" else None
        return new_transcript(self.settings.model, choice, language, self.settings.task, self.settings.vocabulary or None)

    def source_label(self) -> str:
        return f"the recording {Path(self.active_replay).name}" if self.active_replay else self.device_combo.currentText()

    @Slot()
    def toggle_running(self) -> None:
        if self.controller.running:
            self.controller.stop()
            self.start_action.setText("Stopping…")
            return
        if self.start_action.text() in ("Loading…", "Stopping…"):
            return  # a second press while the engine is busy would queue a second session
        if self.viewing_past_session:
            # A past session on show is read-only: Start begins a new one (its times start at 0 and
            # would interleave with the old session's in a save).
            self.viewing_past_session = False
            self.new_session(confirm=False)
        self.active_replay, self.replay_file = self.replay_file, None  # Start means the selected input
        if not self.active_replay:
            self.refresh_devices(rescan=True)  # the audio server may have come back since the last look
        self.rescan_timer.stop()
        self.controller.start(self.config())
        self.start_action.setText("Loading…")

    def _engine_started(self, choice: DeviceChoice) -> None:
        self.start_action.setText("Stop")
        # A new stream (a start, or the far side of a switch) never continues the old one's line.
        self._end_lines()
        self._name_inputs()
        self.running_on = choice  # what the status bar shows; stats may later say otherwise
        # Without a GPU, "auto" running on the CPU is the plan, not a fallback worth a warning.
        expected = choice.fallback == "CUDA unavailable" and self.resolved_device == "cpu"
        self.status.set_device(dataclasses.replace(choice, fallback=None) if expected else choice)
        self.status.set_listening(self.source_label())
        self._record_choice(choice)
        self.transcript.model = self.model_combo.currentText()
        config = self.config()  # what this stream runs with is what the saved transcript says
        self.transcript.options = recorded_options(config.language, config.task, config.vocabulary)
        self._show_guidance()
        self.outage_timer.start()
        if choice.fallback and not expected:
            self.banner.show_message(f"Running on {choice.describe()}", error=False)
        elif self.meeting_selected() and self.speaker_labels_on():  # as `listen` refuses --speakers with it
            self.banner.show_message("Speaker labels are off with Microphone + system audio: each line is labelled "
                                     "with its input (You / Others; Speakers → Rename speaker… names them).",
                                     error=False)
        else:
            self.banner.hide()

    def _stream_over(self) -> None:
        """No stream any more (stopped, finished, failed): no figure or guess stays on show."""
        # A replay is a one-off: once its stream is over, Start and switches mean the selected input
        # (unless this stop is the first half of going from the input to a replay).
        self.active_replay, self.replay_next = self.replay_next, None
        self.start_action.setText("Start")
        self.outage_timer.stop()
        self.status.reset()
        self._end_lines()
        self._update_overlay()
        self._show_guidance()

    def _engine_stopped(self) -> None:
        self._stream_over()

    def _engine_failed(self, message: str) -> None:
        self._stream_over()
        self.banner.show_message(message)
        if message.startswith("audio input lost") or "no audio input device" in message:
            self.rescan_timer.start()  # say when it is back, without anyone pressing ⟳

    def _replay_finished(self, what: str) -> None:
        self.banner.show_message(f"Replay of {Path(what).name} finished. Start (Space) captions "
                                 f"{self.device_combo.currentText()} again.", error=False)

    def _switch_failed(self, message: str) -> None:
        self.start_action.setText("Stop")
        self.banner.show_message(message)

    def _caption(self, update) -> None:
        self.transcript.add(update)
        self.captions.add_committed([(w.start, w.text) for w in update.committed], update.utterance_ended,
                                    update.tentative, update.source)
        if update.committed:
            self.dirty = True
            if update.time:  # live, not restored: how long these words took to become final
                self.status.add_final_delay(max(0.0, max(w.emitted - w.end for w in update.committed)))
        if update.committed or update.tentative:
            self.status.mark_speech()
        if update.language and update.committed:
            self.status.set_spoken_language(update.language, self.task() == "translate")
        self._update_overlay()

    def _update_overlay(self) -> None:
        self.overlay.show_lines(*self.captions.overlay_parts(2))

    def _gap(self, gap) -> None:
        self.transcript.add_gap(gap.start, gap.end, gap.reason, gap.source)
        switching = gap.reason.startswith("switching")  # every input of a meeting missed it: one mark
        where = f" on {INPUTS[gap.source]}" if gap.source in INPUTS and not switching else ""
        mark = f"[not captioned {gap.start:.0f}–{gap.end:.0f} s{where}: {gap.reason}]"
        if gap.source is None:
            self.captions.add_marker(gap.start, mark)
        elif not (switching and self.captions.lines and self.captions.lines[-1][1] == mark):
            self.captions.add_marker(gap.start, mark, gap.source)  # the other input's line goes on
        if gap.engine_error or gap.input_lost:
            return  # _engine_restarted, or the lost input's own banner, said what happened
        if gap.fell_behind:
            self.banner.show_message(f"Captions fell behind and {gap.end - gap.start:.1f} s of audio were skipped: "
                                     "this machine decodes slower than real time. A smaller model or int8 helps; "
                                     "the gap is marked in the transcript.", error=False)
        elif not switching:
            what = INPUTS.get(gap.source, "audio input").capitalize()
            self.banner.show_message(f"{what} was lost for {gap.end - gap.start:.0f} s; capture resumed and "
                                     "the gap is marked in the transcript.", error=False)

    def _engine_restarted(self, event) -> None:
        # The words after it start a new line (and cue), not the unfinished one (that input's, in a meeting).
        self.captions.end_line(event.source)
        self.transcript.add(CaptionUpdate((), "", event.time, utterance_ended=True, source=event.source))
        lost = (f"; {event.end - event.start:.1f} s that could not be captioned are marked in the transcript"
                if event.end > event.start else "")
        self.banner.show_message(f"A decode failed ({event.error}) and captioning restarted{lost}.", error=False)

    def _stats(self, stats) -> None:
        self.last_stats = stats
        self.status.update(stats)
        if self.running_on and (stats.device.device, stats.device.precision) != (
                self.running_on.device, self.running_on.precision):
            # The engine changed device or precision mid-session (GPU out of memory, or the precision
            # monitor gave up on fp16/bf16/int8): say so where the user looks, keep the transcript.
            self.running_on = stats.device
            self.status.set_device(stats.device)
            self._record_choice(stats.device)
            self.banner.show_message(f"Now running on {stats.device.describe()}; captions continue.", error=False)

    def _record_choice(self, choice: DeviceChoice) -> None:
        """The transcript's header says where its words were made; the precision menu follows."""
        self.transcript.device, self.transcript.precision = choice.device, choice.precision
        self.transcript.fallback = choice.fallback
        self._follow_precision(choice.precision)

    def _follow_precision(self, precision: str) -> None:
        """The toolbar shows the precision that runs (after a fallback too), without making it the
        saved choice: the next session tries the chosen one again."""
        if self.precision_combo.currentData() in ("auto", precision):
            return
        self.precision_combo.blockSignals(True)
        self.precision_combo.setCurrentIndex(max(0, self.precision_combo.findData(precision)))
        self.precision_combo.blockSignals(False)

    def _settings_changed(self) -> None:
        model_changed = self.settings.model != self.model_combo.currentText()
        self.settings.model = self.model_combo.currentText()
        self.settings.precision = self.precision_combo.currentData() or "auto"
        self.settings.language = self.language_combo.currentData() or "auto"
        self.settings.save(self.settings_path)
        if model_changed:
            self.controller.probe_languages(self.settings.model)
        self._show_guidance()
        if self.controller.running:  # the old model captions while the new one loads, then they swap
            self.controller.switch(self.config())
            self.start_action.setText("Loading…")

    def _model_chosen(self) -> None:
        choice = self.model_combo.currentText()
        if choice in (OPEN_FOLDER, HUB_ID):
            if choice == OPEN_FOLDER:
                value = QFileDialog.getExistingDirectory(self, "Model folder (Whisper, or wav2vec2 / HuBERT for CTC)")
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
        self.precision_reasons = reasons
        mark_precisions(self.precision_combo, reasons, on_cpu=self.resolved_device.startswith("cpu"))

    def _device_resolved(self, device: str) -> None:
        self.resolved_device = device
        if getattr(self, "precision_reasons", None) is not None:
            self._mark_precisions(self.precision_reasons)

    def _model_languages(self, model: str, known) -> None:
        if model == self.model_combo.currentText():
            set_languages(self.language_combo, known, self.settings.language)
            self.follow_model_languages(known)

    def _show_guidance(self) -> None:
        source = self.source_label() if self.controller.running else self.device_combo.currentText()
        if self.controller.running:
            self.captions.set_guidance(
                f"<p style='font-size:20pt; color:#c62828'>● Listening to {source}</p>"
                "<p style='font-size:13pt'>Captions appear here when someone speaks.<br>"
                "Grey italic words are a first guess; black words are final. Space stops.</p>")
            return
        self.captions.set_guidance(
            f"<p style='font-size:20pt'>Press <b>Space</b> (or <b>Start</b>) to caption<br><b>{source}</b></p>"
            "<p style='font-size:12pt'>Captions appear here as people speak: grey italic words are a first guess, "
            "black words are final.<br><b>Input</b> picks what is captioned: a microphone, what this computer "
            "plays (System audio), or both for a call, each line marked You or Others.<br><b>Overlay</b> shows "
            "captions on top of other windows. <b>File → Past sessions</b> has every earlier session.</p>")

    # -- actions -------------------------------------------------------------------------------------

    def change_font(self, delta: int) -> None:
        self.settings.font_size = max(8, min(72, self.settings.font_size + delta))
        self.captions.set_font_size(self.settings.font_size)
        self.settings.save(self.settings_path)

    def change_overlay_font(self, delta: int) -> None:
        self.settings.overlay_font_size = max(10, min(96, self.settings.overlay_font_size + delta))
        self.overlay.set_font_size(self.settings.overlay_font_size)
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
        if not self.settle_unsaved("Quit livecaption", "quit"):
            event.ignore()
            return
        QApplication.instance().removeEventFilter(self.overlay_keys)
        self.settings.overlay_geometry = self.overlay.geometry_text()
        self.settings.save(self.settings_path)
        self.controller.shutdown()
        self.overlay.close()
        if self.sessions_dialog is not None:
            self.sessions_dialog.close()
        super().closeEvent(event)
