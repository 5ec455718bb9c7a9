"""Speaker labels while captioning, off the caption path (issue #12).

``LiveSpeakerTracker`` sits next to the streaming pipeline: the pipeline hands it every 16 kHz
block it decodes (``audio``) and every event it delivers (``event``). When an utterance ends (its
words committed), the tracker queues it; its own worker thread cuts 1.5 s windows over the
utterance's words, embeds them (GE2E, one torch thread) and hands them to the ``WindowedLabeler``,
which labels word by word, so a voice changing inside an utterance splits it (windowed.py says
why). Captions therefore never wait for a label: the label follows, as a ``SpeakerLabels`` event,
a moment later. Labels of earlier words may change as evidence grows (every utterance reclusters
the session; a short one is labelled once its neighbours agree), so each event carries, for every
utterance with a changed word, all its stretches of one speaker, earlier utterances included;
displays apply them by time, the last word wins.

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

from livecaption.speakers.windowed import WindowedLabeler, WindowedOptions
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
                 options: WindowedOptions = WindowedOptions(), encoder=None, keep_seconds: float = 120.0):
        self.on_labels = on_labels or (lambda event: None)
        self.labeler = WindowedLabeler(options)
        self._encoder = encoder  # None: the shared one, loaded on the worker thread at first use
        # Audio is kept only until its utterance is embedded; an embedding worker more than this far
        # behind leaves the oldest utterances unlabelled rather than memory growing without bound.
        self.keep_seconds = keep_seconds
        self._chunks: deque[tuple[float, np.ndarray]] = deque()  # (session seconds, samples)
        self._chunks_lock = threading.Lock()
        self._open: list = []  # committed words of the utterance in progress
        self.utterances: list[tuple[float, float]] = []  # (start, end) of every finished utterance
        self._shown: list[str | None] = []  # the label last sent for each word of the finished utterances
        self.first_shown: list[str | None] = []  # each word's first label sent (what was seen live)
        self.embed_seconds = 0.0  # compute spent embedding
        self.window_seconds = 0.0  # audio embedded (windows overlap: ~3x the speech)
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
        words = [(w.start, w.end) for w in self._open]
        self._open = []
        self.utterances.append((words[0][0], words[-1][1]))
        self._jobs.put(("utterance", words, time.monotonic()))

    # -- asked by the owner (any thread) ----------------------------------------------------------
    def relabel_all(self, speakers: str | int = "auto", timeout: float | None = 60.0) -> bool:
        """Re-cluster the whole session once every queued utterance is labelled; True when done."""
        return self._call(("relabel", speakers), timeout)

    def relabel_session(self, timeout: float | None = 30.0) -> list[UtteranceSpeaker]:
        """At save: ``relabel_all``, then every stretch of one speaker in every utterance (empty if it
        timed out)."""
        if not self.relabel_all(timeout=timeout):
            return []
        return self._stretches(range(len(self.utterances)), self.word_labels())

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
        """Each finished utterance's label, the speaker of most of it (read after ``wait``)."""
        return [self.labeler.utterance_label(i) for i in range(len(self.labeler.utterance_words))]

    def word_labels(self) -> list[str | None]:
        """The label last sent for every word of the finished utterances (read after ``wait``)."""
        return list(self._shown)

    @property
    def speech_seconds(self) -> float:
        """Seconds of speech judged by its own voice so far (the runs windows cover; read after ``wait``)."""
        o = self.labeler.options
        return sum(e - s for s, e in self.labeler.runs if e - s >= o.min_seconds)

    def words(self) -> list[tuple[float, float]]:
        return list(self.labeler.words)

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
            _, words, ended_at = job
            self.labeler.add(words, self._embed)
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

    def _embed(self, spans: list[tuple[float, float]]) -> np.ndarray:
        """One embedding per window (a row of NaN where its audio is gone: the worker fell far behind)."""
        clips = [self._cut(start, end) for start, end in spans]
        began = time.perf_counter()
        embeddings = self._encoder_now().embed_utterances(clips)
        self.embed_seconds += time.perf_counter() - began
        self.window_seconds += sum(len(clip) for clip in clips) / RATE
        for row, (clip, (start, end)) in enumerate(zip(clips, spans)):
            if len(clip) < RATE * (end - start) / 2:
                embeddings[row] = np.nan
        return embeddings

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
        self.first_shown += [None] * (len(labels) - len(self.first_shown))
        touched = [i for i, (first, last) in enumerate(self.labeler.utterance_words)
                   if relabelled_all or labels[first:last] != self._shown[first:last]]
        changed = self._stretches(touched, labels)
        if relabelled_all:
            changed = [u for u in changed if u.speaker is not None]
        self.first_shown = [seen if seen is not None else now for seen, now in zip(self.first_shown, labels)]
        self._shown = list(labels)
        if ended_at is not None:
            self.delays.append(time.monotonic() - ended_at)
        if changed or relabelled_all:
            self.on_labels(SpeakerLabels(time.monotonic(), tuple(changed), relabelled_all))

    def _stretches(self, utterances, labels: list[str | None]) -> list[UtteranceSpeaker]:
        """Each given utterance's stretches of one speaker, in order: the first starts with the utterance."""
        out = []
        for index in utterances:
            first, last = self.labeler.utterance_words[index]
            for k in range(first, last):
                if k == first or labels[k] != labels[k - 1]:
                    out.append([self.labeler.words[k][0], self.labeler.words[k][1], labels[k]])
                out[-1][1] = max(out[-1][1], self.labeler.words[k][1])
        return [UtteranceSpeaker(start, end, label) for start, end, label in out]

