"""The QObject adapter between the engine and the window.

The engine is started, stopped and (re)loaded by ``EngineWorker`` on its own QThread (wired the
Buzz way: ``moveToThread``, requests as queued signals), so the GUI thread never loads a model,
decodes or waits for audio. The pipeline's own worker thread emits the engine's typed events
as Qt signals; Qt queues them into the GUI thread. Word times stay monotonic across restarts:
each new stream is shifted by the time the earlier ones ran.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, Signal, Slot

from livecaption.audio.decode import decode_audio
from livecaption.audio.sources import FileReplaySource, MicrophoneSource
from livecaption.errors import UserError
from livecaption.streaming.events import (CaptionUpdate, CaptureGap, EngineRestarted, SpeechActivity, StreamEnded,
                                         StreamStats)
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.streaming.pipeline import StreamingPipeline
from livecaption.transcript.journal import Journal
from livecaption.transcript.live import session_options


@dataclass(frozen=True)
class EngineConfig:
    model: str = "tiny.en"
    device: str = "auto"
    precision: str = "auto"
    language: str | None = None
    input_device: str | None = None  # None = the system default input
    replay_file: str | None = None  # replay a recording at real-time pace instead of a microphone
    reconnect_s: float = 30.0  # how long to try to get a lost input device back


class LoadCancelled(Exception):
    pass


def stream_failure_message(error: str, source_failure: str | None) -> str:
    """The banner for a stream that ended on an error: a lost input device only when capture is
    what failed; an engine failure (a CUDA error, a bug) as what it is."""
    if source_failure is not None and error == source_failure:
        return f"audio input lost: {error}"
    where = "the GPU" if any(word in error for word in ("CUDA", "cuda", "cuBLAS", "CUBLAS", "cuDNN")) else "the engine"
    return f"captioning stopped: {where} failed ({error}); what was said so far is kept"


class EngineWorker(QObject):
    loading = Signal(str, int)  # what, percent
    started = Signal(str, str)  # device description, fallback notice ("" if none)
    stopped = Signal()
    failed = Signal(str)
    caption = Signal(object)  # CaptionUpdate, times on the session clock
    stats = Signal(object)  # StreamStats
    activity = Signal(object)  # SpeechActivity
    gap = Signal(object)  # CaptureGap: the device was lost and came back
    restarted = Signal(object)  # EngineRestarted: a decode failed, captioning went on
    precisions = Signal(object)  # {precision: None, or why the device asked about cannot run it}

    def __init__(self):
        super().__init__()
        self.cancel = threading.Event()
        self.pipeline: StreamingPipeline | None = None
        self._recognizer = None
        self._recognizer_key = None
        self.offset = 0.0  # session seconds before the current stream began
        self.journal: Journal | None = None  # one per window session, across engine restarts

    def _load(self, config: EngineConfig):
        from livecaption.asr.whisper import WhisperRecognizer, release_memory

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
        recognizer = WhisperRecognizer(config.model, config.device, config.precision, progress=progress)
        if self.cancel.is_set():
            raise LoadCancelled()
        self._recognizer, self._recognizer_key = recognizer, key
        return recognizer

    def _source(self, config: EngineConfig):
        if config.replay_file:
            return FileReplaySource(decode_audio(config.replay_file), realtime=True, description=config.replay_file)
        return MicrophoneSource(config.input_device or None)

    @Slot(object)
    def start(self, config: EngineConfig) -> None:
        self.cancel.clear()
        try:
            recognizer = self._load(config)
            self.loading.emit("ready", 100)
            pipeline = StreamingPipeline(recognizer, self._source(config),
                                         StreamingOptions(language=config.language, reconnect_s=config.reconnect_s),
                                         VadOptions(),
                                         on_event=self._forward)
            pipeline.start()
        except LoadCancelled:
            self.failed.emit("model loading cancelled")
            return
        except UserError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # anything else must reach the window as a banner, not a crash
            self.failed.emit(f"could not start: {type(exc).__name__}: {exc}")
            return
        self.pipeline = pipeline
        if self.journal is None:
            choice = recognizer.choice
            self.journal = Journal({"model": config.model, "device": choice.device, "precision": choice.precision,
                                    "fallback": choice.fallback,
                                    "options": session_options(StreamingOptions(language=config.language),
                                                               VadOptions(), config.language)})
        self.started.emit(recognizer.describe_device(), recognizer.choice.fallback or "")

    def _forward(self, event) -> None:  # runs on the pipeline's worker thread
        if isinstance(event, CaptionUpdate):
            shift = self.offset
            committed = tuple(dataclasses.replace(w, start=w.start + shift, end=w.end + shift,
                                                  emitted=w.emitted + shift) for w in event.committed)
            update = dataclasses.replace(event, committed=committed, time=event.time + shift)
            if self.journal is not None:
                self.journal.append(update)  # on disk (fsync) before the window shows it
            self.caption.emit(update)
        elif isinstance(event, StreamStats):
            self.stats.emit(event)
        elif isinstance(event, SpeechActivity):
            self.activity.emit(event)
        elif isinstance(event, CaptureGap):
            start, end = event.start + self.offset, event.end + self.offset
            if self.journal is not None:
                self.journal.append_gap(start, end, event.reason)
            self.gap.emit(dataclasses.replace(event, start=start, end=end))
        elif isinstance(event, EngineRestarted):
            self.restarted.emit(dataclasses.replace(event, start=event.start + self.offset, end=event.end + self.offset))
        elif isinstance(event, StreamEnded) and event.error:
            # Capture or the engine died under us: what was said is committed; say which it was
            # and stop cleanly from the engine thread.
            pipeline = self.pipeline
            self.failed.emit(stream_failure_message(event.error, pipeline.source_failure if pipeline else None))
            QMetaObject.invokeMethod(self, "stop", Qt.QueuedConnection)

    @Slot(str)
    def probe_precisions(self, device: str) -> None:
        """Which precisions ``device`` runs. Asks the CUDA driver (and imports torch): here, on the
        engine thread, never on the GUI thread."""
        from livecaption.asr.device import supported_precisions

        self.precisions.emit(supported_precisions(device))

    @Slot()
    def end_session(self) -> None:
        """The window started a new session: the journal of the old one is complete."""
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        self.offset = 0.0

    @Slot()
    def stop(self) -> None:
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            pipeline.stop()  # decodes and commits the utterance in progress
            self.offset += pipeline.clock.now()
        self.stopped.emit()


class EngineController(QObject):
    """Lives in the GUI thread; every call returns at once."""

    _start_requested = Signal(object)
    _stop_requested = Signal()
    _probe_requested = Signal(str)

    def __init__(self):
        super().__init__()
        self.thread = QThread()
        self.thread.setObjectName("livecaption-engine")
        self.worker = EngineWorker()
        self.worker.moveToThread(self.thread)
        self._start_requested.connect(self.worker.start)
        self._stop_requested.connect(self.worker.stop)
        self._probe_requested.connect(self.worker.probe_precisions)
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
            return
        QMetaObject.invokeMethod(self.worker, "stop", Qt.BlockingQueuedConnection)
        QMetaObject.invokeMethod(self.worker, "end_session", Qt.BlockingQueuedConnection)
        self.thread.quit()
        self.thread.wait(30_000)
