"""The live pipeline: source -> ring buffer -> worker thread -> typed events.

The capture side only writes into the ring buffer. One worker thread reads it, resamples to
16 kHz, runs the VAD and the streaming core, and hands every event to ``on_event`` (from the
worker thread: a UI must marshal them to its own thread). The worker blocks on the ring
buffer's condition variable; it never polls with sleep.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
import threading
from typing import Callable

from livecaption.audio.resample import StreamResampler
from livecaption.audio.ring import RingBuffer
from livecaption.audio.sources import AudioSource
from livecaption.audio.vad import SAMPLE_RATE, VadGate
from livecaption.errors import UserError
from livecaption.streaming.clock import RealClock, SimulatedClock, StreamClock
from livecaption.streaming.events import (CaptionUpdate, CaptureGap, CommittedWord, EngineRestarted, Event, StreamEnded,
                                         StreamStats, shifted)
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.streaming.transcriber import StreamingTranscriber
from livecaption.sysinfo import process_rss_bytes

log = logging.getLogger("livecaption")

POLL_SECONDS = 0.1  # the longest the worker leaves captured audio unread while it is idle
# More failed decodes than this within the window is a fault that will not pass: end the session.
MAX_FAILURES_IN_WINDOW, FAILURE_WINDOW_S = 3, 60.0


def level_db(samples) -> float:
    """RMS level of ``samples`` in dBFS (floor -120)."""
    import numpy as np

    if len(samples) == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(-120.0, 20 * np.log10(rms)) if rms > 0 else -120.0


class StreamingPipeline:
    def __init__(
        self,
        recognizer,
        source: AudioSource,
        options: StreamingOptions = StreamingOptions(),
        vad_options: VadOptions = VadOptions(),
        clock: StreamClock | None = None,
        on_event: Callable[[Event], None] | None = None,
        journal=None,
        session_offset: float = 0.0,
        audio_tap: Callable | None = None,
        source_id: str | None = None,
        deliver_lock: threading.RLock | None = None,
    ):
        self.recognizer = recognizer
        self.source = source
        self.options = options
        self.vad_options = vad_options
        self.clock = clock or RealClock()
        self.on_event = on_event or (lambda event: None)
        # The journal's one writer: committed words reach the disk (fsync) before anyone sees them.
        self.journal = journal
        # Seconds of the session before this stream began (the window restarts streams within one
        # session): captions, gaps and restarts are journaled and delivered on the session's clock.
        self.session_offset = session_offset
        # Called with (session seconds, 16 kHz samples) for every block the worker decodes: speaker
        # labels (livecaption.speakers.live) embed utterances from it, on their own thread.
        self.audio_tap = audio_tap
        # In a meeting capture (streaming/meeting.py) two pipelines share the journal and the lock
        # around it, and each stamps its events with its input ("microphone", "system").
        self.source_id = source_id
        self._deliver_lock = deliver_lock or threading.RLock()
        # Called with each batch of events (and whether it is the stream's last) before the journal
        # sees them; it may hold captions back and release them later (a meeting's echo check).
        self.commit_gate: Callable[[list, bool], list] | None = None
        # What the worker had decoded when it last delivered (``StreamingTranscriber.heard``), taken
        # on its own thread with the committed words it delivered: what another input may compare with.
        self.heard: tuple[float, list] | None = None
        self.committed: list[CommittedWord] = []
        self.lag_max = 0.0
        self.longest_iteration = 0.0  # clock seconds of the slowest read-decode-deliver round
        self.input_level_db = -120.0
        self.error: BaseException | None = None
        self.source_failure: str | None = None
        self._failure_times: list[float] = []  # clock times of recent failed decodes
        self.core: StreamingTranscriber | None = None
        self.ring: RingBuffer | None = None
        self._worker: threading.Thread | None = None

    # -- control --------------------------------------------------------------------------

    def start(self) -> None:
        self.source.open()
        self.ring = RingBuffer(self.options.ring_seconds, self.source.sample_rate)
        self.core = StreamingTranscriber(self.recognizer, self.options, VadGate(self.vad_options), self.clock)
        self.source.start(self.ring)
        self._worker = threading.Thread(target=self._run, name="livecaption-worker", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        """Stop capturing; the worker decodes what is left, commits it, and ends."""
        self.source.stop()
        if self.ring is not None:
            self.ring.close()
        self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        if self._worker is not None:
            self._worker.join(timeout)
            return not self._worker.is_alive()
        return True

    # -- worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # surfaced to the caller; the transcript so far is kept
            log.exception("streaming worker failed")
            self.error = exc
            if self.commit_gate is not None:  # captions it was holding back are the transcript too
                try:
                    self._deliver([], final=True)
                except Exception:
                    log.exception("held captions could not be delivered")
        reason = self.source_failure or (f"{type(self.error).__name__}: {self.error}" if self.error else None)
        self.on_event(StreamEnded(self.clock.now(), reason, source=self.source_id))

    def _await_audio(self, needed: int) -> None:
        ring = self.ring
        if isinstance(self.clock, SimulatedClock):
            # Like a live device, the source has written everything due by now, needed or not.
            self.source.pump(self.clock.now())
            while ring.available < needed and self.source.pump(self.clock.now()):
                shortfall = (needed - ring.available) / ring.sample_rate
                self.clock.advance_to(max(self.source.next_block_time() or 0.0, self.clock.now() + shortfall))
        else:
            ring.wait(needed, timeout=POLL_SECONDS)

    def _loop(self) -> None:
        core, ring = self.core, self.ring
        resampler = StreamResampler(ring.sample_rate)
        index = 0  # 16 kHz sample index of the next sample handed to the core
        while True:
            # The VAD sees audio at least every POLL_SECONDS, so a pause or an utterance's end is acted
            # on within that, not up to a whole decode step later (decodes still wait for their step).
            # Never wait for more than half the ring holds: waiting for more would only drop audio.
            self._await_audio(min(int(min(core.step, POLL_SECONDS) * ring.sample_rate), ring.capacity // 2))
            chunk = ring.read()
            if len(chunk.samples) == 0:
                failure = self.source.failure()
                if failure is not None:  # the device is gone: try to get it back, else end cleanly
                    log.warning("%s", failure)
                    lost_at = index
                    reconnect = getattr(self.source, "reconnect", None)
                    if reconnect is not None and reconnect(self.options.reconnect_s):
                        # Audio time follows the wall clock: the gap is as long as the outage.
                        index = max(index, int(self.clock.now() * SAMPLE_RATE))
                        self._mark_gap(resampler, lost_at, index, failure)
                        continue
                    self.source_failure = failure
                    break
                if ring.closed:
                    break
                continue
            if chunk.dropped_before:
                # Decoding was slower than real time for longer than the ring holds: its drop policy
                # threw the oldest audio away. Skip over it and mark it, so the transcript never
                # passes lost speech off as silence.
                gap_start = index
                index += round(chunk.dropped_before * SAMPLE_RATE / ring.sample_rate)
                seconds = chunk.dropped_before / ring.sample_rate
                log.warning("fell behind: %.2f s of audio dropped", seconds)
                reason = f"fell behind: decoding was slower than real time, {seconds:.1f} s of audio dropped"
                self._mark_gap(resampler, gap_start, index, reason, fell_behind=True)
            if index == 0:
                # The first audio: the stream's time 0 is when its first sample was captured, and the
                # session's times follow (what came before was the device opening, not silence).
                self.session_offset += self.clock.anchor(ring.written_index / ring.sample_rate)
            samples = resampler.process(chunk.samples)
            self.input_level_db = level_db(chunk.samples)
            began = self.clock.now()
            start, index = index, index + len(samples)
            if self.audio_tap is not None:
                self.audio_tap(self.session_offset + start / SAMPLE_RATE, samples)
            try:
                core.insert_audio(start, samples)
                events = core.process_iter()
            except Exception as exc:  # a decode failed: captioning goes on, the lost stretch is marked
                self._restart_after(exc, index)
                continue
            self._deliver(events)
            # With the ring's size, this bounds the lag: unread audio never exceeds the ring.
            self.longest_iteration = max(self.longest_iteration, self.clock.now() - began)
        try:
            events = core.finish()
        except Exception as exc:
            self._restart_after(exc, index)
            events = []
        self._deliver(events, final=True)

    def _restart_after(self, exc: Exception, index: int) -> None:
        """One failed decode must not end a meeting's captions: drop the speech in flight (what
        was committed stays), mark it as not captioned, say so, and carry on with the next audio.
        A fault that keeps coming back is not transient: then the session ends with the error."""
        if isinstance(exc, UserError):
            raise exc  # a setting the model cannot do (a language it lacks): no decode will succeed
        now = self.clock.now()
        self._failure_times = [t for t in self._failure_times if now - t < FAILURE_WINDOW_S] + [now]
        if len(self._failure_times) > MAX_FAILURES_IN_WINDOW:
            raise exc
        error = f"{type(exc).__name__}: {exc}"
        log.error("a decode failed (%s); captioning restarted", error, exc_info=exc)
        span = self.core.abandon_speech(index)
        events: list = [CaptionUpdate((), "", now, utterance_ended=True)]  # the unfinished line ends here
        if span is not None:
            events.append(CaptureGap(span[0], span[1], f"caption engine error ({error}), captioning restarted", now,
                                     engine_error=True))
        resumed = index / SAMPLE_RATE
        events.append(EngineRestarted(now, error, *(span or (resumed, resumed))))
        self._deliver(events)

    def _mark_gap(self, resampler: StreamResampler, start: int, end: int, reason: str,
                  fell_behind: bool = False) -> None:
        """Audio between two 16 kHz indices never reached the worker (device lost, or dropped by the
        ring): the resampler starts afresh after it, and the transcript and journal mark it."""
        resampler.reset()
        self._deliver([CaptureGap(start / SAMPLE_RATE, end / SAMPLE_RATE, reason, self.clock.now(),
                                  fell_behind=fell_behind)])

    def report_gap(self, start: float, end: float, reason: str, input_lost: bool = False) -> None:
        """Mark audio (stream seconds) that no stream captioned, e.g. while the window switched model."""
        self._deliver([CaptureGap(start, end, reason, self.clock.now(), input_lost=input_lost)])

    def _deliver(self, events: list, final: bool = False) -> None:
        with self._deliver_lock:  # the worker and report_gap (another thread) write one journal
            self._deliver_locked(events if self.commit_gate is None else self.commit_gate(events, final))

    def _deliver_locked(self, events: list) -> None:
        for event in events:
            if isinstance(event, CaptionUpdate):
                self.committed.extend(event.committed)
            event = shifted(event, self.session_offset)
            if self.source_id is not None and isinstance(event, (CaptionUpdate, CaptureGap, EngineRestarted)):
                event = dataclasses.replace(event, source=self.source_id)
            if isinstance(event, CaptionUpdate) and self.journal is not None:
                self.journal.append(event)
            elif isinstance(event, CaptureGap) and self.journal is not None:
                self.journal.append_gap(event.start, event.end, event.reason, event.source)
            self.on_event(event)
        if self.core is not None and threading.current_thread() is self._worker:
            self.heard = self.core.heard()
        self.on_event(self.stats())

    # -- measurements ---------------------------------------------------------------------

    def stats(self) -> StreamStats:
        core = self.core
        now = self.clock.now()
        lag = max(0.0, now - core.processed_index / SAMPLE_RATE)
        self.lag_max = max(self.lag_max, lag)
        audio_seconds = core.processed_index / SAMPLE_RATE
        memory = self.recognizer.memory_stats()
        return StreamStats(
            time=now,
            device=self.recognizer.choice,
            final_latency_last=core.final_latencies[-1] if core.final_latencies else None,
            final_latency_p50=statistics.median(core.final_latencies) if core.final_latencies else None,
            first_word_latency_last=core.first_word_latencies[-1] if core.first_word_latencies else None,
            lag=lag,
            lag_max=self.lag_max,
            rtf=core.compute_seconds / audio_seconds if audio_seconds else 0.0,
            step=core.step,
            dropped_seconds=self.ring.dropped_seconds,
            rss_bytes=process_rss_bytes(),
            input_level_db=self.input_level_db,
            gpu_allocated=memory.get("allocated"),
            gpu_peak=memory.get("peak"),
            gpu_decode_peak=memory.get("decode_peak"),
            gpu_reserved=memory.get("reserved"),
            gpu_total=memory.get("total"),
            source=self.source_id,
        )

    @property
    def transcript_text(self) -> str:
        return "".join(w.text for w in self.committed).strip()
