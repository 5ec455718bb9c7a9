"""The QObject adapter between the engine and the window.

The engine is started, stopped and (re)loaded by ``EngineWorker`` on its own QThread (wired the
Buzz way: ``moveToThread``, requests as queued signals), so the GUI thread never loads a model,
decodes or waits for audio. The stream's own worker threads (one per input in a meeting capture,
built by ui/engine_streams.py) emit the engine's typed events as Qt signals; Qt queues them into
the GUI thread. Word times stay monotonic across restarts: each new stream is shifted by the time
the earlier ones ran.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, Signal, Slot

from livecaption.streaming.events import CaptureGap, EngineRestarted, SpeechActivity, StreamEnded
from livecaption.transcript.journal import Journal
from ui import engine_streams as streams
from ui.engine_streams import NO_MICROPHONE, stream_failure_message
from ui.gui_thread_gc import GuiThreadCollection
# The window's names (ui/engine_names.py), re-exported: the rest of ui/ imports them from here.
from ui.engine_names import (FORMATS, MICROPHONE, SOURCE_SPEAKERS, SYSTEM, CaptionUpdate, DeviceChoice,  # noqa: F401
                             LiveTranscript, SpeakerLabels, StreamStats, UserError, embedded_model_names,
                             list_input_devices, list_monitors, list_sessions, mark_recovered, new_transcript,
                             read_journal, recorded_options, render, sessions_dir, speakers_available,
                             write_text_atomic)

__all__ = ["CaptionUpdate", "DeviceChoice", "EngineConfig", "EngineController", "FORMATS", "LiveTranscript",
           "MICROPHONE", "NO_MICROPHONE", "SOURCE_SPEAKERS", "SYSTEM", "SpeakerLabels", "StreamStats", "UserError",
           "embedded_model_names", "list_input_devices", "list_monitors", "list_sessions", "mark_recovered",
           "new_transcript", "read_journal", "render", "sessions_dir", "speakers_available", "stream_failure_message",
           "write_text_atomic"]


@dataclass(frozen=True)
class EngineConfig:
    model: str = "tiny.en"
    device: str = "auto"
    precision: str = "auto"
    language: str | None = None
    input_device: str | None = None  # None = the system default input; NO_MICROPHONE = the system audio alone
    system_audio: str | None = None  # caption what the computer plays: a monitor's name, "" = the default output's
    replay_file: str | None = None  # replay a recording at real-time pace instead of a microphone
    replay_from: float = 0.0  # seconds into the recording (a switch mid-replay goes on where it was)
    reconnect_s: float = 30.0  # how long to try to get a lost input device back
    speakers: bool = False  # label who speaks (issue #12): one embedding per utterance, off the caption path
    task: str = "transcribe"  # or "translate" (issue #14)
    vocabulary: str | None = None  # names and terms that prime the decoder


class LoadCancelled(Exception):
    pass


class EngineWorker(QObject):
    loading = Signal(str, int)  # what, percent
    started = Signal(object)  # DeviceChoice: where the model runs, and any fallback with its reason
    stopped = Signal()
    failed = Signal(str)
    caption = Signal(object)  # CaptionUpdate, times on the session clock
    stats = Signal(object)  # StreamStats
    activity = Signal(object)  # SpeechActivity
    gap = Signal(object)  # CaptureGap: the device was lost and came back
    restarted = Signal(object)  # EngineRestarted: a decode failed, captioning went on
    precisions = Signal(object)  # {precision: None, or why the device asked about cannot run it}
    resolved_device = Signal(str)  # what "auto" means on this machine ("cpu" without a GPU)
    languages = Signal(str, object)  # model, frozenset of language codes (empty: English-only; None: unknown)
    finished = Signal(str)  # a replayed recording reached its end (what was replayed)
    switch_failed = Signal(str)  # a model/precision switch could not load; the old model goes on
    speakers = Signal(object)  # SpeakerLabels: a moment after the captions, possibly relabelling earlier ones
    input_lost = Signal(str, str)  # a meeting's input ended for good (its id, the banner); the others go on

    def __init__(self):
        super().__init__()
        self.cancel = threading.Event()
        self.pipeline = None  # the stream running: a StreamingPipeline, or a MeetingCapture (ui/engine_streams.py)
        self._recognizer = None
        self._recognizer_key = None
        self.offset = 0.0  # session seconds before the current stream began
        self.journal: Journal | None = None  # one per window session, across engine restarts
        self.tracker = None  # LiveSpeakerTracker: one per window session, like the journal
        self.source_names: dict[str, str] = {}  # a meeting's inputs as the user renamed them, this session

    def rename_source(self, source: str, name: str) -> None:
        """Call a meeting input's lines ``name`` from now on, journaled (on the GUI thread: see streams.rename)."""
        self.source_names[source] = name
        streams.rename(self.pipeline, self.journal, source, name)

    def _load(self, config: EngineConfig):
        from livecaption.asr import load_recognizer, release_memory

        key = (config.model, config.device, config.precision)
        if self._recognizer_key == key:
            return self._recognizer
        self._recognizer, self._recognizer_key = None, None
        release_memory()  # the old model's memory goes before the new one loads

        def progress(done: int, total: int, what: str) -> None:
            if self.cancel.is_set():
                raise LoadCancelled()
            self.loading.emit(f"converting {config.model}: {what}", int(100 * done / total))

        self.loading.emit(f"loading {config.model}…", 0)
        recognizer = load_recognizer(config.model, config.device, config.precision, progress=progress)
        if self.cancel.is_set():
            raise LoadCancelled()
        self._recognizer, self._recognizer_key = recognizer, key
        return recognizer

    def _source(self, config: EngineConfig):
        """What ``config`` captions: one source, or a meeting's {input: source} (tests stand one in here)."""
        return streams.build_sources(config)

    def _pipeline(self, recognizer, config: EngineConfig):
        """The stream for ``config`` (ui/engine_streams.py): a pipeline, or a meeting capture."""
        holder: list = []  # which stream an event comes from: a replaced one's end is no news
        # The stream writes the session's journal and delivers every event on the session's
        # clock: this stream's times continue those of the streams before it.
        journal = self._session_journal(recognizer, config)
        tracker = self._speaker_tracker(journal) if config.speakers else None
        stream = streams.build_stream(recognizer, config, self._source(config),
                                      lambda event: self._forward(event, holder, tracker), journal, self.offset,
                                      self.source_names, audio_tap=tracker.audio if tracker is not None else None)
        holder.append(stream)
        return stream

    @Slot(object)
    def start(self, config: EngineConfig) -> None:
        if self.pipeline is not None:  # a second Start queued behind the first: one stream at a time
            self.started.emit(self.pipeline.recognizer.choice)
            return
        self.cancel.clear()
        pipeline = None
        try:
            recognizer = self._load(config)
            self._check_language(recognizer, config)
            self.loading.emit("ready", 100)
            # Inside the try: an unwritable data folder is a banner, not a hang.
            pipeline = self._pipeline(recognizer, config)
            pipeline.start()
        except LoadCancelled:
            self.failed.emit("model loading cancelled")
            return
        except UserError as exc:
            self._abandon(pipeline)
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # anything else must reach the window as a banner, not a crash
            self._abandon(pipeline)
            self.failed.emit(f"could not start: {type(exc).__name__}: {exc}")
            return
        self.pipeline = pipeline
        self.started.emit(recognizer.choice)

    def _session_journal(self, recognizer, config: EngineConfig) -> Journal:
        """The window session's journal, made with its first stream; later streams append to it."""
        if self.journal is None:
            choice = recognizer.choice
            self.journal = Journal({"model": config.model, "device": choice.device, "precision": choice.precision,
                                    "fallback": choice.fallback,
                                    "options": recorded_options(config.language, config.task, config.vocabulary)})
        return self.journal

    def _speaker_tracker(self, journal: Journal):
        """The session's speaker labeller (created with its first labelled stream): journaled, then shown."""
        if self.tracker is None:
            from livecaption.speakers.live import journaled_tracker

            self.tracker = journaled_tracker(journal, self.speakers.emit)
        return self.tracker

    @staticmethod
    def _check_language(recognizer, config: EngineConfig) -> None:
        """A language the model lacks (German left selected when switching to tiny.en) is refused
        before any audio, as `listen` does, not found by every decode."""
        from livecaption.asr.types import TranscribeOptions

        recognizer.check_options(TranscribeOptions(language=config.language, task=config.task))

    def _abandon(self, pipeline) -> None:
        """A stream that failed to start is stopped if it got as far as capturing (a meeting stops its own)."""
        if pipeline is not None and getattr(pipeline, "ring", None) is not None:  # it got as far as capturing
            pipeline.stop()
        if self.journal is not None and self.journal.discard_if_empty():
            self.journal = None  # a session that never captioned leaves no header-only journal
            if self.tracker is not None:  # it wrote to that journal: the next one gets its own
                self.tracker.close()
                self.tracker = None

    @Slot(object)
    def switch(self, config: EngineConfig) -> None:
        """Change model or precision while captioning: the new model loads while the old one keeps
        captioning (a load takes seconds; speech in them is not lost), then one swaps for the other.
        A replay goes on where it was. A microphone is closed for the old stream's last decode and
        reopened; that short stretch is marked as not captioned rather than passed off as silence."""
        old = self.pipeline
        if old is None:
            self.start(config)
            return
        self.cancel.clear()
        try:
            recognizer = self._load(config)
            self._check_language(recognizer, config)
        except LoadCancelled:
            self.switch_failed.emit("switch cancelled; captioning goes on with the previous model")
            return
        except Exception as exc:  # the old stream still runs: say why and keep it
            self.switch_failed.emit(f"could not switch ({type(exc).__name__}: {exc}); "
                                    "captioning goes on with the previous model")
            return
        self.loading.emit("ready", 100)
        replay = streams.replay_position(old)
        stopped_at = streams.session_end(old)
        self.pipeline = None  # its end is a switch, not news
        old.stop()
        if replay is not None:
            # Nothing of a recording is lost: the new stream goes on at the file position, and
            # session times go on from where the old stream was (the session may have run before
            # this replay, so the file position is not the session time).
            self.offset = old.session_offset + replay[1]  # its start on the session clock, plus what it played
            config = dataclasses.replace(config, replay_from=replay[0])
        else:
            self.offset = streams.session_end(old)
        try:
            pipeline = self._pipeline(recognizer, config)
            pipeline.start()
        except Exception as exc:
            self.failed.emit(f"could not restart captioning after the switch: {type(exc).__name__}: {exc}")
            self.stopped.emit()
            return
        self.pipeline = pipeline
        if self.journal is not None:  # translation or vocabulary may have changed with the switch
            self.journal.append_settings(recorded_options(config.language, config.task, config.vocabulary))
        if replay is None and self.offset - stopped_at > 0.05:
            for each in streams.inputs(pipeline).values():  # every input of a meeting missed it
                each.report_gap(stopped_at - self.offset, 0.0, "switching model or precision")
        self.started.emit(recognizer.choice)

    def _forward(self, event, holder=None, tracker=None) -> None:  # runs on the pipeline's worker thread
        # Times are the session's already, and captions and gaps are on disk (the pipeline journals
        # them before delivering).
        if tracker is not None:
            tracker.event(event)  # only queues a finished utterance: the embedding runs on its thread
        if isinstance(event, CaptionUpdate):
            self.caption.emit(event)
        elif isinstance(event, StreamStats):
            self.stats.emit(event)
        elif isinstance(event, SpeechActivity):
            self.activity.emit(event)
        elif isinstance(event, CaptureGap):
            self.gap.emit(event)
        elif isinstance(event, EngineRestarted):
            self.restarted.emit(event)
        elif isinstance(event, StreamEnded):
            pipeline = holder[0] if holder else self.pipeline
            if pipeline is None or pipeline is not self.pipeline:
                return  # stopped or replaced on purpose
            if event.source is not None:  # one input of a meeting ended (a lost monitor): the others go on
                if event.error:
                    self.input_lost.emit(event.source, streams.lost_input_message(pipeline, event.source, event.error))
                return
            if event.error:
                # Capture or the engine died under us: what was said is committed; say which it
                # was and stop cleanly from the engine thread.
                self.failed.emit(streams.failure_message(pipeline, event.error))
            else:  # a replayed recording ran out: a one-off, so the session stops by itself
                self.finished.emit(streams.description(pipeline))
            QMetaObject.invokeMethod(self, "stop", Qt.QueuedConnection)

    @Slot(str)
    def probe_precisions(self, device: str) -> None:
        """Which precisions ``device`` runs. Asks the CUDA driver (and imports torch): here, on the
        engine thread, never on the GUI thread."""
        from livecaption.asr.device import auto_device, supported_precisions

        self.precisions.emit(supported_precisions(device))
        self.resolved_device.emit(auto_device() if device == "auto" else device)

    @Slot(str)
    def probe_languages(self, model: str) -> None:
        """The languages ``model`` knows, read from its metadata (a tokenizer file of megabytes):
        here, on the engine thread, so the window never waits for it."""
        from livecaption.asr import declared_languages

        try:
            languages = declared_languages(model)
        except Exception:  # an unreadable folder: no restriction known, loading will say more
            languages = None
        self.languages.emit(model, languages)

    @Slot()
    def end_session(self) -> None:
        """The window started a new session: the journal of the old one is complete."""
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        self.offset = 0.0
        self.source_names = {}

    @Slot()
    def stop(self) -> None:
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            pipeline.stop()  # decodes and commits the utterance in progress
            self.offset = streams.session_end(pipeline)
        self.stopped.emit()


class EngineController(QObject):
    """Lives in the GUI thread; every call returns at once."""

    _start_requested = Signal(object)
    _stop_requested = Signal()
    _probe_requested = Signal(str)
    _languages_requested = Signal(str)
    _switch_requested = Signal(object)

    def __init__(self):
        super().__init__()
        # Before the engine's thread exists: cycles are collected on this (the GUI) thread only.
        self.collection = GuiThreadCollection(self)
        self.thread = QThread()
        self.thread.setObjectName("livecaption-engine")
        self.worker = EngineWorker()
        self.worker.moveToThread(self.thread)
        self._start_requested.connect(self.worker.start)
        self._stop_requested.connect(self.worker.stop)
        self._probe_requested.connect(self.worker.probe_precisions)
        self._languages_requested.connect(self.worker.probe_languages)
        self._switch_requested.connect(self.worker.switch)
        self.thread.finished.connect(self.worker.deleteLater)
        self.thread.start()
        self.running = False
        self.worker.started.connect(lambda *_: setattr(self, "running", True))
        self.worker.stopped.connect(lambda: setattr(self, "running", False))

    def start(self, config: EngineConfig) -> None:
        self._start_requested.emit(config)

    def stop(self) -> None:
        self._stop_requested.emit()

    def probe_precisions(self, device: str) -> None:
        """Ask the engine thread which precisions ``device`` runs; the answer is ``worker.precisions``."""
        self._probe_requested.emit(device)

    def probe_languages(self, model: str) -> None:
        """Ask the engine thread which languages ``model`` knows; the answer is ``worker.languages``."""
        self._languages_requested.emit(model)

    def switch(self, config: EngineConfig) -> None:
        """Change model or precision while running: load first, then swap (see ``EngineWorker.switch``)."""
        self._switch_requested.emit(config)

    def input_outage(self) -> str | None:
        """``"no audio from <device>"`` while a live input is lost or being reconnected, else None.
        Reads one flag of each capture source: cheap enough for a GUI timer."""
        stream = self.worker.pipeline
        return streams.outage(stream) if stream is not None else None

    def inputs_going_on(self) -> str:
        """In a meeting capture, the inputs still delivering audio ("the microphone"); else ""."""
        stream = self.worker.pipeline
        return streams.going_on(stream) if stream is not None else ""

    def rename_source(self, source: str, name: str) -> None:
        """A meeting input's new name (You → a name): journaled, and used by later streams of the session."""
        self.worker.rename_source(source, name)

    def relabel_speakers(self) -> list:
        """At save: the whole session's voices re-clustered (after the labels still being computed);
        every utterance's ``UtteranceSpeaker``, so the export and the window show the same."""
        tracker = self.worker.tracker
        return tracker.relabel_session() if tracker is not None else []

    def rename_speaker(self, old: str, new: str) -> bool:
        """Give a voice a name; the relabelled lines come back as a ``speakers`` event (and are journaled)."""
        tracker = self.worker.tracker
        return tracker is not None and tracker.rename(old, new)

    def restart(self, config: EngineConfig) -> None:
        """Stop (committing what was said), then start with the new settings; queued in order."""
        self._stop_requested.emit()
        self._start_requested.emit(config)

    def cancel_loading(self) -> None:
        self.worker.cancel.set()

    def end_session(self) -> None:
        """Close the session's journal and restart the session clock (after the engine stops)."""
        QMetaObject.invokeMethod(self.worker, "end_session", Qt.QueuedConnection)

    def shutdown(self) -> None:
        """Stop (blocking: the last utterance is committed) and end the engine thread. Idempotent."""
        if not self.thread.isRunning():
            self.collection.stop()
            return
        QMetaObject.invokeMethod(self.worker, "stop", Qt.BlockingQueuedConnection)
        QMetaObject.invokeMethod(self.worker, "end_session", Qt.BlockingQueuedConnection)
        self.thread.quit()
        self.thread.wait(30_000)
        self.collection.stop()
