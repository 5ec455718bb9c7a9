"""A failed decode does not end a meeting's captions: the worker marks what it lost, says so once,
and goes on captioning; a fault that keeps coming back ends the session with the real error."""

from __future__ import annotations

import numpy as np

from conftest import CLIPS, clip_path
from livecaption.audio.decode import decode_audio
from livecaption.audio.sources import FileReplaySource
from livecaption.metrics import wer
from livecaption.streaming.clock import SimulatedClock
from livecaption.streaming.events import CaptionUpdate, CaptureGap, EngineRestarted, StreamEnded
from livecaption.streaming.pipeline import StreamingPipeline
from livecaption.transcript.export import render
from livecaption.transcript.journal import Journal, read_journal
from livecaption.transcript.live import LiveTranscript
from fake_recognizer import FailingRecognizer
from signals import silence


def run(recognizer, audio, tmp_path):
    events = []
    journal = Journal({"model": "tiny.en"}, folder=tmp_path)
    # A fixed cost per decode: which decode is the failing one must not depend on the machine's load.
    pipeline = StreamingPipeline(recognizer, FileReplaySource(audio, realtime=False),
                                 clock=SimulatedClock(decode_seconds=0.4),
                                 on_event=events.append, journal=journal)
    pipeline.start()
    pipeline.wait()
    journal.close()
    return pipeline, events, journal


def test_a_failed_decode_restarts_captioning_and_marks_the_lost_stretch(tiny_fp32, tmp_path):
    jfk = decode_audio(clip_path("jfk.flac"))
    three = decode_audio(clip_path("one_two_three.wav"))
    audio = np.concatenate([silence(1.0), jfk, silence(2.0), three, silence(1.5)])
    recognizer = FailingRecognizer(tiny_fp32, fail_on={3})  # early in jfk, while it is being spoken
    pipeline, events, journal = run(recognizer, audio, tmp_path)

    assert pipeline.error is None, pipeline.error
    ended = [e for e in events if isinstance(e, StreamEnded)]
    assert len(ended) == 1 and ended[0].error is None  # the session did not end in failure
    restarts = [e for e in events if isinstance(e, EngineRestarted)]
    assert len(restarts) == 1 and restarts[0].error == "IndexError: list index out of range"
    gaps = [e for e in events if isinstance(e, CaptureGap)]
    assert len(gaps) == 1 and "caption engine error" in gaps[0].reason
    assert (gaps[0].start, gaps[0].end) == (restarts[0].start, restarts[0].end) and gaps[0].end > gaps[0].start

    # Captioning went on: the clip after the failure is captioned as well as ever.
    # The failure hit the start of jfk ("And so my fellow" is lost); the rest of it and the next clip
    # are captioned as well as ever.
    after = "".join(w.text for w in pipeline.committed if w.start >= gaps[0].end)
    rest_of_jfk = CLIPS["jfk.flac"]["reference"].split("Americans")[-1]
    assert wer("Americans" + rest_of_jfk + " " + CLIPS["one_two_three.wav"]["reference"], after) <= 0.25, after
    # The unfinished line was closed at the failure, so later words do not join it.
    failed_at = next(i for i, e in enumerate(events) if isinstance(e, EngineRestarted))
    closing = [e for e in events[:failed_at] if isinstance(e, CaptionUpdate)][-1]
    assert closing.utterance_ended and closing.tentative == "" and closing.committed == ()
    # No words inside the stretch it could not caption, and the mark is in the file and the journal.
    assert not any(gaps[0].start + 0.05 < w.start < gaps[0].end - 0.05 for w in pipeline.committed)
    transcript = LiveTranscript("tiny.en", "cpu", "fp32", None, {})
    for event in events:
        if isinstance(event, CaptionUpdate):
            transcript.add(event)
        elif isinstance(event, CaptureGap):
            transcript.add_gap(event.start, event.end, event.reason)
    assert "[not captioned" in render(transcript.to_transcription(), "txt")
    _, recovered = read_journal(journal.path)
    assert len(recovered.gaps) == 1


def test_a_fault_that_keeps_coming_back_ends_the_session_with_the_real_error(tiny_fp32, tmp_path):
    audio = np.concatenate([silence(0.5), decode_audio(clip_path("jfk.flac")), silence(1.0)])
    recognizer = FailingRecognizer(tiny_fp32, fail_on=set(range(1, 1000)))
    pipeline, events, _ = run(recognizer, audio, tmp_path)
    assert isinstance(pipeline.error, IndexError)
    ended = [e for e in events if isinstance(e, StreamEnded)]
    assert len(ended) == 1 and ended[0].error == "IndexError: list index out of range"
    assert 1 <= len([e for e in events if isinstance(e, EngineRestarted)]) <= 3


def test_a_setting_the_model_cannot_do_ends_the_session_at_once_instead_of_restarting(tiny_fp32, tmp_path):
    from livecaption.errors import UserError

    class EnglishOnly(FailingRecognizer):
        def transcribe(self, audio, options=None):
            raise UserError("model 'tiny.en' is English-only")

    audio = np.concatenate([silence(0.5), decode_audio(clip_path("jfk.flac")), silence(1.0)])
    pipeline, events, _ = run(EnglishOnly(tiny_fp32, set()), audio, tmp_path)
    assert isinstance(pipeline.error, UserError)
    assert not [e for e in events if isinstance(e, EngineRestarted)]  # no decode will ever succeed
