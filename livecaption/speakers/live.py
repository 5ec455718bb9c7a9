"""Speaker labels while captioning, off the caption path (issue #12).

``LiveSpeakerTracker`` sits next to the streaming pipeline: the pipeline hands it every 16 kHz
block it decodes (``audio``) and every event it delivers (``event``). When an utterance ends (its
words committed), the tracker queues it; its own worker thread cuts the utterance's audio, embeds
it (one GE2E embedding per utterance, one torch thread) and asks the ``OnlineSpeakerLabeler``.
Captions therefore never wait for a label: the label follows, as a ``SpeakerLabels`` event, a
moment later. A short utterance is labelled only once its neighbours agree, so each event carries
every utterance whose label changed, earlier ones included; displays apply them by time.

At save time ``relabel_all`` re-clusters the whole session; ``rename`` gives a voice a name. Both
run on the worker thread too, so the labeler is only ever touched by one thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from typing import Callable

import numpy as np

from livecaption.speakers.online import OnlineOptions, OnlineSpeakerLabeler
from livecaption.streaming.events import CaptionUpdate, CaptureGap, SpeakerLabels, UtteranceSpeaker

log = logging.getLogger("livecaption")
RATE = 16_000


def journaled_tracker(journal, emit: Callable[[SpeakerLabels], None], **kwargs) -> "LiveSpeakerTracker":
    """A tracker whose labels reach the session's journal before ``emit`` shows them (as captions do)."""

    def labelled(event: SpeakerLabels) -> None:  # on the tracker's own thread
        if journal is not None:
            journal.append_speakers(event)
        emit(event)

    return LiveSpeakerTracker(labelled, **kwargs)


class LiveSpeakerTracker:
    def __init__(self, on_labels: Callable[[SpeakerLabels], None] | None = None,
                 options: OnlineOptions = OnlineOptions(), encoder=None, keep_seconds: float = 120.0):
        self.on_labels = on_labels or (lambda event: None)
        self.labeler = OnlineSpeakerLabeler(options)
        self._encoder = encoder  # None: the shared one, loaded on the worker thread at first use
        # Audio is kept only until its utterance is embedded; an embedding worker more than this far
        # behind leaves the oldest utterances unlabelled rather than memory growing without bound.
        self.keep_seconds = keep_seconds
        self._chunks: deque[tuple[float, np.ndarray]] = deque()  # (session seconds, samples)
        self._chunks_lock = threading.Lock()
        self._open: list = []  # committed words of the utterance in progress
        self.utterances: list[tuple[float, float]] = []  # (start, end) of every finished utterance
        self._shown: list[str | None] = []  # the label last sent for each utterance
        self.embed_seconds = 0.0  # compute spent embedding
        self.speech_seconds = 0.0  # audio embedded
        self.delays: list[float] = []  # wall seconds from an utterance's end to its first label event
        self.error: str | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="livecaption-speakers", daemon=True)
        self._worker.start()

    # -- fed by the pipeline (its worker thread) ----------------------------------------------
    def audio(self, start: float, samples: np.ndarray) -> None:
        with self._chunks_lock:
            self._chunks.append((start, np.asarray(samples, dtype=np.float32)))
            latest = start + len(samples) / RATE
            while self._chunks and self._chunks[0][0] + len(self._chunks[0][1]) / RATE < latest - self.keep_seconds:
                self._chunks.popleft()

    def event(self, event) -> None:
        if isinstance(event, CaptionUpdate):
            self._open.extend(event.committed)
            if event.utterance_ended:
                self._close_utterance()
        elif isinstance(event, CaptureGap):  # as LiveTranscript: a gap ends the utterance in progress
            self._close_utterance()

    def _close_utterance(self) -> None:
        if not self._open:
            return
        start, end = self._open[0].start, self._open[-1].end
        self._open = []
        self.utterances.append((start, end))
        self._jobs.put(("utterance", len(self.utterances) - 1, start, end, time.monotonic()))

    # -- asked by the owner (any thread) ----------------------------------------------------------
    def relabel_all(self, speakers: str | int = "auto", timeout: float | None = 60.0) -> bool:
        """Re-cluster the whole session once every queued utterance is labelled; True when done."""
        return self._call(("relabel", speakers), timeout)

    def relabel_session(self, timeout: float | None = 30.0) -> list[UtteranceSpeaker]:
        """At save: ``relabel_all``, then every utterance with its label (empty if it timed out)."""
        if not self.relabel_all(timeout=timeout):
            return []
        return [UtteranceSpeaker(start, end, label) for (start, end), label in zip(self.utterances, self.labels())]

    def rename(self, old: str, new: str) -> bool:
        """Queued behind the utterances in flight; the relabelled lines arrive as a SpeakerLabels event.
        False (nothing queued) when no voice is called ``old`` or ``new`` is blank."""
        if not new.strip() or old not in self.labeler.speakers:
            return False
        self._jobs.put(("rename", old, new))
        return True

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until every queued utterance is labelled (the end of a stream, a bench)."""
        return self._call(("sync",), timeout)

    def close(self) -> None:
        self._jobs.put(None)
        self._worker.join(10.0)

    def labels(self) -> list[str | None]:
        """The label last sent for every finished utterance (read after ``wait``)."""
        return list(self._shown)

    def _call(self, job: tuple, timeout: float | None) -> bool:
        done = threading.Event()
        self._jobs.put((*job, done))
        return done.wait(timeout)

    # -- the worker -------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._do(job)
            except Exception as exc:  # labels are an extra: a failure leaves lines unlabelled, captions go on
                log.exception("speaker labelling failed")
                self.error = f"{type(exc).__name__}: {exc}"
            finally:
                if isinstance(job[-1], threading.Event):
                    job[-1].set()

    def _do(self, job: tuple) -> None:
        kind = job[0]
        if kind == "utterance":
            _, index, start, end, ended_at = job
            self.labeler.add(self._embed(start, end), end - start)
            self._publish(ended_at=ended_at)
        elif kind == "relabel":
            self.labeler.relabel_all(job[1])
            self._publish(relabelled_all=True)
        elif kind == "rename":
            try:
                self.labeler.rename(job[1], job[2])
            except (KeyError, ValueError) as exc:
                log.warning("rename refused: %s", exc)
                return
            self._publish()

    def _encoder_now(self):
        if self._encoder is None:
            from livecaption.speakers.encoder import shared_encoder

            self._encoder = shared_encoder()
        return self._encoder

    def _embed(self, start: float, end: float) -> np.ndarray | None:
        if end - start < self.labeler.options.min_seconds:
            return None  # never judged by its own voice: no need to spend the compute
        clip = self._cut(start, end)
        if len(clip) < RATE * self.labeler.options.min_seconds / 2:
            return None  # its audio is gone (the worker fell far behind) or was never captured
        began = time.perf_counter()
        embedding = self._encoder_now().embed(clip)
        self.embed_seconds += time.perf_counter() - began
        self.speech_seconds += len(clip) / RATE
        return embedding

    def _cut(self, start: float, end: float) -> np.ndarray:
        with self._chunks_lock:
            parts = []
            for chunk_start, samples in self._chunks:
                chunk_end = chunk_start + len(samples) / RATE
                if chunk_end <= start or chunk_start >= end:
                    continue
                a = max(0, int(round((start - chunk_start) * RATE)))
                b = min(len(samples), int(round((end - chunk_start) * RATE)))
                parts.append(samples[a:b])
            # What is embedded is no longer needed, nor anything before it.
            while self._chunks and self._chunks[0][0] + len(self._chunks[0][1]) / RATE <= start:
                self._chunks.popleft()
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def _publish(self, ended_at: float | None = None, relabelled_all: bool = False) -> None:
        labels = self.labeler.labels()
        self._shown += [None] * (len(labels) - len(self._shown))
        changed = [UtteranceSpeaker(*self.utterances[i], labels[i])
                   for i in range(len(labels)) if labels[i] != self._shown[i] or (relabelled_all and labels[i])]
        self._shown = list(labels)
        if ended_at is not None:
            self.delays.append(time.monotonic() - ended_at)
        if changed or relabelled_all:
            self.on_labels(SpeakerLabels(time.monotonic(), tuple(changed), relabelled_all))
