"""The full streaming pipeline on replayed real speech, silence and noise (simulated and real clocks)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import CLIPS, clip_path
from livecaption.asr.types import TranscribeOptions
from livecaption.audio.decode import SAMPLE_RATE, decode_audio
from livecaption.audio.sources import FileReplaySource
from livecaption.streaming.replay import stream_file
from livecaption.metrics import wer
from livecaption.streaming.clock import RealClock, SimulatedClock
from livecaption.streaming.events import CaptionUpdate, StreamStats
from livecaption.streaming.options import StreamingOptions
from livecaption.streaming.pipeline import StreamingPipeline
from signals import pink_noise, silence


class CountingRecognizer:
    """The real recognizer, with its decodes counted."""

    def __init__(self, recognizer):
        self.inner, self.calls = recognizer, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def transcribe(self, audio, options):
        self.calls += 1
        return self.inner.transcribe(audio, options)


def test_thirty_seconds_of_silence_is_never_decoded(tiny_fp32):
    counting = CountingRecognizer(tiny_fp32)
    pipeline = stream_file(counting, silence(30), fast=True, options=StreamingOptions())
    assert pipeline.committed == [] and counting.calls == 0


def test_twenty_seconds_of_pink_noise_commits_nothing(tiny_fp32):
    pipeline = stream_file(tiny_fp32, pink_noise(20, rms=0.05), fast=True, options=StreamingOptions())
    assert pipeline.committed == [], pipeline.transcript_text
    # webrtcvad lets loud noise through: what stopped it was the guards, and they say why.
    assert sum(pipeline.core.rejections.values()) > 0


@pytest.fixture(scope="module")
def english_stream(tiny_fp32, english_concat):
    """The 50 s English concatenation streamed once with the default options (pause commits on) on
    the simulated clock, decodes costing what they cost, and the same model's offline transcript."""
    audio, reference = english_concat
    events = []
    pipeline = StreamingPipeline(tiny_fp32, FileReplaySource(audio, realtime=False), StreamingOptions(),
                                 clock=SimulatedClock(), on_event=events.append)
    pipeline.start()
    pipeline.wait()
    assert pipeline.error is None
    return pipeline, events, tiny_fp32.transcribe(audio, TranscribeOptions()).text, reference


def test_streaming_wer_within_3_points_of_offline_and_committed_text_only_grows(english_stream):
    pipeline, events, offline, reference = english_stream
    stream_wer, offline_wer = wer(reference, pipeline.transcript_text), wer(reference, offline)
    print(f"streaming WER {stream_wer:.3f}, offline WER {offline_wer:.3f}")
    assert stream_wer <= offline_wer + 0.03, pipeline.transcript_text

    shown = ""  # what a viewer has seen committed so far must only ever grow
    for event in events:
        if isinstance(event, CaptionUpdate):
            grown = shown + "".join(w.text for w in event.committed)
            assert grown.startswith(shown)
            shown = grown
    assert shown.strip() == pipeline.transcript_text
    times = [w.start for w in pipeline.committed]
    assert times == sorted(times)
    stats = [e for e in events if isinstance(e, StreamStats)]
    assert stats[-1].final_latency_p50 is not None and stats[-1].rtf > 0 and stats[-1].rss_bytes > 50 * 2**20


def test_realtime_replay_never_commits_a_word_before_it_was_spoken(tiny_fp32):
    audio = np.concatenate([silence(0.5), decode_audio(clip_path("one_two_three.wav")), silence(1.0)])
    pipeline = StreamingPipeline(tiny_fp32, FileReplaySource(audio, realtime=True), clock=RealClock())
    pipeline.start()
    assert pipeline.wait(timeout=60)
    assert wer("one two three", pipeline.transcript_text) == 0.0, pipeline.transcript_text
    assert all(w.emitted >= w.end for w in pipeline.committed)
    assert pipeline.ring.dropped_seconds == 0.0


def test_step_grows_when_decoding_is_slower_than_the_step(tiny_fp32):
    options = StreamingOptions(step_s=0.05)  # far below what a decode costs on a CPU
    steps = []
    pipeline = StreamingPipeline(tiny_fp32, FileReplaySource(decode_audio(clip_path("jfk.flac")), realtime=False),
                                 options, clock=SimulatedClock(),
                                 on_event=lambda e: steps.append(e.step) if isinstance(e, StreamStats) else None)
    pipeline.start()
    pipeline.wait()
    assert max(steps) > 0.05
    # Each decode was given at least as much new audio as the previous decode took to run.
    assert pipeline.core.decodes < 11.0 / 0.05


def test_long_utterance_is_cut_at_a_committed_word(tiny_fp32, english_concat):
    licence = decode_audio(clip_path("en_de_license.mp3"))[: SAMPLE_RATE * 31]
    options = StreamingOptions(max_utterance_s=6.0)
    pipeline = stream_file(tiny_fp32, licence, fast=True, options=options)
    assert pipeline.core.cuts >= 1
    reference = CLIPS["en_de_license.mp3"]["reference_en_part"]
    assert wer(reference, pipeline.transcript_text) <= 0.15, pipeline.transcript_text


def test_device_rate_audio_is_resampled_by_the_engine(tiny_fp32):
    """A source at 48 kHz (a typical device rate) is resampled to 16 kHz before the VAD and model."""
    import av

    speech = decode_audio(clip_path("one_two_three.wav"), sample_rate=48_000)
    audio = np.concatenate([np.zeros(24_000, np.float32), speech, np.zeros(48_000, np.float32)])
    pipeline = StreamingPipeline(tiny_fp32, FileReplaySource(audio, realtime=False, sample_rate=48_000),
                                 clock=SimulatedClock())
    pipeline.start()
    pipeline.wait()
    assert pipeline.error is None and av is not None
    assert wer("one two three", pipeline.transcript_text) == 0.0, pipeline.transcript_text
    assert pipeline.core.processed_index == pytest.approx(len(audio) / 3, abs=400)
