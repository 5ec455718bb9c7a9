"""When decoding is slower than real time: bounded lag, dropped audio reported and marked, flat memory.

The machine is made slow on the simulated clock, so the real model on real speech cannot keep
up and the ring buffer's drop policy has to act. Every decode is charged a fixed time there,
whatever this machine's speed or load: a slowdown calibrated on wall time (a first version)
dropped nothing once when the machine was busy during calibration and idle during the run.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import CLIPS, clip_path
from livecaption.audio.decode import SAMPLE_RATE, decode_audio
from livecaption.audio.sources import FileReplaySource
from livecaption.streaming.clock import SimulatedClock
from livecaption.streaming.events import CaptionUpdate, CaptureGap, StreamStats
from livecaption.streaming.options import StreamingOptions
from livecaption.streaming.pipeline import StreamingPipeline
from livecaption.transcript.export import render
from livecaption.transcript.journal import Journal, read_journal
from livecaption.transcript.live import LiveTranscript

RING_SECONDS = 4.0
# Every decode costs this much on the simulated machine: more than the ring holds, so every
# decode made during speech has to drop audio.
SIMULATED_DECODE_S = 5.0


def test_a_slow_worker_drops_the_oldest_audio_reports_and_marks_it(tiny_fp32, tmp_path):
    licence = decode_audio(clip_path("en_de_license.mp3"))[: SAMPLE_RATE * 31]
    audio = np.concatenate([decode_audio(clip_path("jfk.flac")), licence])
    options = StreamingOptions(ring_seconds=RING_SECONDS, max_utterance_s=3.0)
    events, buffered = [], []
    pipeline = None

    def on_event(event):
        events.append(event)
        buffered.append(len(pipeline.core.audio))  # what the worker holds, sampled after every step

    journal = Journal({"model": "tiny.en"}, folder=tmp_path)
    pipeline = StreamingPipeline(tiny_fp32, FileReplaySource(audio, realtime=False), options,
                                 clock=SimulatedClock(decode_seconds=SIMULATED_DECODE_S), on_event=on_event, journal=journal)
    pipeline.start()
    pipeline.wait()
    journal.close()
    assert pipeline.error is None

    gaps = [e for e in events if isinstance(e, CaptureGap)]
    stats = [e for e in events if isinstance(e, StreamStats)]
    dropped = pipeline.ring.dropped_seconds
    # It did fall behind, and every dropped second is reported and marked where it happened.
    assert dropped > 5.0 and gaps, f"dropped {dropped:.2f} s"
    assert gaps and all(g.fell_behind and "fell behind" in g.reason for g in gaps)
    assert sum(g.end - g.start for g in gaps) == pytest.approx(dropped, abs=0.01 * len(gaps))
    assert stats[-1].dropped_seconds == dropped
    assert all(a.end <= b.start for a, b in zip(gaps, gaps[1:]))

    # Lag is bounded by the drop policy: the ring's size plus one round of (slow) decodes, however long
    # the stream (more than the ring was dropped, so without the policy lag would have exceeded it).
    # (Once the recording has ended no new audio arrives, so lag is only meaningful while it plays.)
    lags = [s.lag for s in stats if s.time <= len(audio) / SAMPLE_RATE]
    assert max(lags) <= RING_SECONDS + pipeline.longest_iteration + 0.1
    # Memory stays flat: the worker never holds more than one window of audio plus idle history.
    assert max(buffered) <= (options.max_utterance_s + options.max_step_s + RING_SECONDS) * SAMPLE_RATE

    # What was decoded still makes sense and never lies inside a gap.
    words = pipeline.committed
    assert words, "nothing was committed at all"
    for word in words:
        assert not any(g.start + 0.05 < word.start < g.end - 0.05 for g in gaps), (word, gaps)
    reference = (CLIPS["jfk.flac"]["reference"] + " " + CLIPS["en_de_license.mp3"]["reference_en_part"]).lower()
    found = [w.text.strip(" ,.").lower() for w in words if len(w.text.strip(" ,.")) > 3]
    assert sum(w in reference for w in found) >= 0.8 * len(found), pipeline.transcript_text

    # The saved transcript and the journal both carry the marks.
    transcript = LiveTranscript("tiny.en", "cpu", "fp32", None, {})
    for event in events:
        if isinstance(event, CaptionUpdate):
            transcript.add(event)
        elif isinstance(event, CaptureGap):
            transcript.add_gap(event.start, event.end, event.reason)
    text = render(transcript.to_transcription(), "txt")
    assert text.count("fell behind") == len(gaps)
    _, recovered = read_journal(journal.path)
    assert len(recovered.gaps) == len(gaps)
