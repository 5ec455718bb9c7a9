"""The webrtcvad gate on real speech: onset with pre-roll, end after the hangover, nothing on silence."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import clip_path
from livecaption.audio.decode import decode_audio
from livecaption.audio.vad import SAMPLE_RATE, SpeechEnd, SpeechStart, VadGate
from livecaption.errors import UserError
from livecaption.streaming.options import VadOptions
from signals import pink_noise, silence


@pytest.fixture(scope="module")
def speech_with_pauses():
    speech = decode_audio(clip_path("one_two_three.wav"))
    return np.concatenate([silence(2.0), speech, silence(2.0)])


def _first_voiced_frame(gate: VadGate, audio: np.ndarray) -> int:
    for start in range(0, len(audio) - gate.frame, gate.frame):
        if gate.is_speech(audio[start : start + gate.frame]):
            return start
    raise AssertionError("no voiced frame")


def _feed_in_frames(gate: VadGate, audio: np.ndarray):
    """Feed frame by frame; record (event, sample position at which it was emitted)."""
    out = []
    for start in range(0, len(audio), gate.frame):
        for event in gate.process(start, audio[start : start + gate.frame]):
            out.append((event, start + gate.frame))
    return out


@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_onset_includes_pre_roll_and_end_waits_for_hangover(speech_with_pauses, frame_ms):
    options = VadOptions(frame_ms=frame_ms, pre_roll_ms=300, hangover_ms=500)
    onset = _first_voiced_frame(VadGate(options), speech_with_pauses)
    assert 1.9 * SAMPLE_RATE < onset < 2.3 * SAMPLE_RATE  # the clip's speech, not the silence

    events = _feed_in_frames(VadGate(options), speech_with_pauses)
    starts = [(e, at) for e, at in events if isinstance(e, SpeechStart)]
    ends = [(e, at) for e, at in events if isinstance(e, SpeechEnd)]
    assert starts and ends
    assert starts[0][0].index == onset - 300 * SAMPLE_RATE // 1000  # pre-roll: 300 ms before the first voiced frame
    for end, emitted_at in ends:
        # The end is decided exactly one hangover after the last voiced frame, never earlier.
        assert emitted_at - end.index == pytest.approx(500 * SAMPLE_RATE / 1000, abs=gate_frame(frame_ms))
    assert ends[-1][0].index < (2.0 + 2.75) * SAMPLE_RATE


def gate_frame(frame_ms: int) -> int:
    return SAMPLE_RATE * frame_ms // 1000


def test_longer_hangover_bridges_the_pauses_between_words(speech_with_pauses):
    short = [e for e in VadGate(VadOptions(hangover_ms=150)).process(0, speech_with_pauses) if isinstance(e, SpeechEnd)]
    long = [e for e in VadGate(VadOptions(hangover_ms=900)).process(0, speech_with_pauses) if isinstance(e, SpeechEnd)]
    assert len(short) >= 2 and len(long) == 1  # "one, two, three" is one utterance with a long hangover


def test_silence_never_opens_an_utterance():
    assert VadGate().process(0, silence(30)) == []
    assert VadGate().process(0, pink_noise(30, rms=0.005)) == []


def test_chunk_boundaries_do_not_change_decisions(speech_with_pauses):
    whole = VadGate().process(0, speech_with_pauses)
    gate, pieces = VadGate(), []
    for start in range(0, len(speech_with_pauses), 777):  # deliberately not a frame multiple
        pieces += gate.process(start, speech_with_pauses[start : start + 777])
    assert pieces == whole


def test_flush_closes_an_open_utterance(speech_with_pauses):
    gate = VadGate()
    fed = 0
    while not gate.in_speech:  # feed until an utterance is open, then stop mid-speech
        gate.process(fed, speech_with_pauses[fed : fed + gate.frame])
        fed += gate.frame
    end = gate.flush()
    assert isinstance(end, SpeechEnd) and end.index <= fed and not gate.in_speech
    assert gate.flush() is None


@pytest.mark.parametrize("kwargs, message", [
    ({"frame_ms": 25}, "10, 20 or 30"), ({"aggressiveness": 4}, "0-3"), ({"hangover_ms": 5}, "at least one frame"),
])
def test_invalid_vad_options(kwargs, message):
    with pytest.raises(UserError, match=message):
        VadOptions(**kwargs)


def test_pause_reports_the_silence_an_open_utterance_ends_with(speech_with_pauses):
    gate = VadGate(VadOptions(hangover_ms=500))
    seen = []  # (pause start, seconds) after every frame while an utterance is open
    for start in range(0, len(speech_with_pauses), gate.frame):
        events = gate.process(start, speech_with_pauses[start : start + gate.frame])
        if gate.pause is not None:
            seen.append(gate.pause)
        ended = [e for e in events if isinstance(e, SpeechEnd)]
        if ended:
            # The pause grew to the hangover, then the utterance ended where that pause began.
            assert seen and seen[-1][0] == ended[0].index and seen[-1][1] >= 0.5 - 2 * gate.frame / SAMPLE_RATE
            assert gate.pause is None
            break
    else:
        raise AssertionError("the utterance never ended")
    # Within one pause the start stays put and the length grows frame by frame.
    same_start = [s for s in seen if s[0] == seen[-1][0]]
    assert [s[1] for s in same_start] == sorted(s[1] for s in same_start) and len(same_start) >= 10
