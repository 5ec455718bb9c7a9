"""Meeting capture on a real PulseAudio server (issue #11): one null sink stands in for the room
the microphone hears (its monitor is the default source, opened through sounddevice like a
microphone), another for the loudspeakers (its monitor is the system audio, recorded through
libpulse). Speech is played into each with paplay and captioned by the real model. (Both sides
talking over each other, under the right labels, is tests/window/test_ui_meeting.py's real-time
test, on the same kind of server.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from audio_files import stereo_channel, write_wav
from conftest import CLIPS, REPO, clip_path
from livecaption.audio.decode import decode_audio
from livecaption.metrics import wer
from pulse import LIVE_JFK_MAX_WER, SINK, SPEAKERS, play_at, serving_meeting

JFK_REF = CLIPS["jfk.flac"]["reference"]
USER_REF = CLIPS["two_speakers_stereo.wav"]["channel_references"][0]  # "He began a confused complaint ..."


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    yield from serving_meeting(tmp_path_factory, "pulse-meeting")


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("meeting-speech")
    jfk = decode_audio(clip_path("jfk.flac"))
    user = stereo_channel(clip_path("two_speakers_stereo.wav"), 0)  # the first speaker alone
    delay = int(0.05 * 16_000)  # loudspeaker to microphone across a room
    echo = np.concatenate([np.zeros(delay, np.float32), 0.3 * jfk])
    return {"jfk": write_wav(folder / "jfk.wav", jfk, 16_000), "user": write_wav(folder / "user.wav", user, 16_000),
            "echo": write_wav(folder / "echo.wav", echo, 16_000)}


def _listen(pulse, tmp_path, *extra):
    out = tmp_path / "meeting.json"
    proc = subprocess.Popen([sys.executable, "-m", "livecaption", "listen", "--input", "pulse", "--system-audio",
                             *extra, "-o", str(out)],
                            env={**pulse.env, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO)
    banner, deadline = "", time.monotonic() + 120
    while "listening on" not in banner and time.monotonic() < deadline:  # capture is live
        banner += proc.stderr.readline()
    assert "listening on" in banner, banner + proc.stderr.read()
    proc.banner = banner
    return proc, out


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 0, stderr
    return stdout, stderr


def _said(out) -> dict:
    segments = json.loads(out.read_text())["segments"]
    said: dict = {}
    for seg in segments:
        if seg.get("words"):
            assert seg["speaker"] == {"microphone": "You", "system": "Others"}[seg["source"]], seg
            said[seg["speaker"]] = said.get(seg["speaker"], "") + seg["text"]
    return said


def test_the_microphones_echo_of_the_loudspeakers_is_captioned_once(pulse, wavs, tmp_path, tiny_fp32):
    pulse.pactl("set-default-sink", SPEAKERS)
    try:
        proc, out = _listen(pulse, tmp_path)  # bare --system-audio: the default sink's monitor
        time.sleep(1.5)
        # Loudspeakers, no headset: the microphone hears the others a little later and quieter;
        # then the user speaks with the loudspeakers quiet.
        play_at(pulse, [(0.0, wavs["jfk"], SPEAKERS), (0.0, wavs["echo"], SINK), (13.0, wavs["user"], SINK)]).join()
        time.sleep(3.0)
        stdout, _ = _stop(proc)
    finally:
        pulse.pactl("set-default-sink", SINK)
    said = _said(out)
    assert wer(JFK_REF, said.get("Others", "")) <= LIVE_JFK_MAX_WER, said
    assert "country" not in said.get("You", "").lower(), said  # the echo was not captioned as the user
    assert wer(USER_REF, said.get("You", "")) <= LIVE_JFK_MAX_WER, said
    # The terminal names each line's speaker too, and said which inputs it heard.
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines and all(line.startswith(("You: ", "Others: ")) for line in lines), stdout
    assert "the system audio (Monitor of Loudspeakers)" in proc.banner, proc.banner


def test_losing_the_loudspeakers_leaves_the_microphone_captioning(pulse, wavs, tiny_fp32):
    from livecaption.audio.pulse import SystemAudioSource
    from livecaption.audio.sources import MicrophoneSource
    from livecaption.streaming.events import MICROPHONE, SYSTEM, CaptureGap, StreamEnded
    from livecaption.streaming.meeting import MeetingCapture
    from livecaption.streaming.options import StreamingOptions

    pulse.load_sink("doomed_speakers", "Headphones")
    events = []
    capture = MeetingCapture(tiny_fp32, {MICROPHONE: MicrophoneSource("pulse"),
                                         SYSTEM: SystemAudioSource("doomed_speakers")},
                             StreamingOptions(reconnect_s=2.0), on_event=events.append)
    capture.start()
    time.sleep(1.5)
    player = play_at(pulse, [(0.0, wavs["jfk"], SINK)])
    time.sleep(2.0)
    pulse.unload_sink("doomed_speakers")  # headphones unplugged mid-sentence
    player.join()
    time.sleep(3.0)
    capture.stop()
    mic = capture.pipelines[MICROPHONE]
    assert wer(JFK_REF, mic.transcript_text) <= LIVE_JFK_MAX_WER, mic.transcript_text
    ended = [e for e in events if isinstance(e, StreamEnded)]
    lost = [e for e in ended if e.source == SYSTEM]
    assert len(lost) == 1 and "Headphones" in lost[0].error  # said once, for that input only
    assert not [e for e in events if isinstance(e, CaptureGap) and e.source == MICROPHONE]
    assert capture.source_failure is None  # the meeting went on: not a failed session
    # What the lost input never heard, to the session's end, is marked on it (never passed off as silence).
    marks = [e for e in events if isinstance(e, CaptureGap) and e.source == SYSTEM and e.input_lost]
    session_end = mic.session_offset + mic.core.processed_index / 16_000  # the microphone heard to the end
    assert len(marks) == 1 and marks[0].start < 6.0 and abs(marks[0].end - session_end) < 0.2, (marks, session_end)
