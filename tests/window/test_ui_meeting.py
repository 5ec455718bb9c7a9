"""Meeting capture in the window (issue #11): the Input picker offers the system audio and both at
once, read from a real PulseAudio server; each line is marked You or Others in the caption view,
the level meters, the saved transcript and the journal; renaming Others reaches all of them; losing
the loudspeakers' sink mid-meeting is said for that input while the microphone goes on captioning.

One null sink stands in for the room the microphone hears (its monitor is the default source,
opened through sounddevice as the "pulse" device), another for the loudspeakers (its monitor is the
system audio), as in tests/audio/test_meeting_pulse.py. Only the last test runs in real time.
"""

from __future__ import annotations

import re
import time

import pytest

from audio_files import stereo_channel, write_wav
from conftest import CLIPS, clip_path
from livecaption.audio.decode import decode_audio
from livecaption.metrics import wer
from livecaption.streaming.events import CaptionUpdate, CommittedWord
from pulse import LIVE_JFK_MAX_WER, SINK, SPEAKERS, play_at, serving_meeting
from ui_windows import closed, shown_window

JFK_REF = CLIPS["jfk.flac"]["reference"]
USER_REF = CLIPS["two_speakers_stereo.wav"]["channel_references"][0]  # "He began a confused complaint ..."


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    yield from serving_meeting(tmp_path_factory, "pulse-window-meeting")


@pytest.fixture
def loaded_model(monkeypatch, tiny_fp32):
    """The engine builds its recognizer by name on its own thread: hand it the one already loaded."""
    import livecaption.asr.whisper.recognizer as whisper

    monkeypatch.setattr(whisper, "WhisperRecognizer", lambda *args, **kwargs: tiny_fp32)
    return tiny_fp32


def _entries(win) -> list[tuple[str, str | None]]:
    combo = win.device_combo
    return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count()) if combo.itemText(i)]


def _choose(win, data: str) -> None:
    index = win.device_combo.findData(data)
    assert index >= 0, (data, _entries(win))
    win.device_combo.setCurrentIndex(index)


def test_the_picker_offers_system_audio_from_the_server_and_remembers_the_choice(qtbot, pulse, tmp_path,
                                                                                monkeypatch):
    from ui.inputs import MEETING, SYSTEM_AUDIO
    from ui.settings import AppSettings

    path = tmp_path / "settings.ini"
    win = shown_window(qtbot, path)
    win.refresh_action.trigger()  # ⟳: PortAudio may have listed the devices before this server existed
    entries = _entries(win)
    texts = [text for text, _ in entries]
    # Each microphone, then what the computer plays (the default output's first, each other output
    # by its description), then both at once.
    assert texts[0].startswith("System default input") and "pulse (ALSA)" in texts
    assert texts[-3:] == ["System audio (Monitor of Null Output)", "System audio (Monitor of Loudspeakers)",
                          "Microphone + system audio"], texts
    assert [data for _, data in entries][-3:] == [SYSTEM_AUDIO, SYSTEM_AUDIO + f"{SPEAKERS}.monitor", MEETING]
    _choose(win, f"{SYSTEM_AUDIO}{SPEAKERS}.monitor")
    config = win.config()
    assert (config.input_device, config.system_audio) == ("none", f"{SPEAKERS}.monitor")  # the system audio alone
    _choose(win, "pulse")  # the microphone a meeting uses: the one picked last
    _choose(win, MEETING)
    config = win.config()
    assert (config.input_device, config.system_audio) == ("pulse", "")
    saved = AppSettings.load(path)
    assert (saved.capture, saved.input_device, saved.monitor) == ("both", "pulse", f"{SPEAKERS}.monitor")
    closed(win)

    again = shown_window(qtbot, path)  # a restart: the same choice, no notice
    assert again.device_combo.currentData() == MEETING and again.config().input_device == "pulse"
    assert again.banner.isHidden()
    closed(again)

    # A remembered output that is gone: the default output's instead, with a notice.
    AppSettings(capture="system", monitor="usb_headset.monitor").save(path)
    gone = shown_window(qtbot, path)
    assert gone.device_combo.currentData() == SYSTEM_AUDIO
    assert "System audio 'usb_headset.monitor' is not available" in gone.banner.label.text()
    closed(gone)

    # No audio server: no system-audio entries, and the picker (and a banner, once) says why.
    AppSettings(capture="both", input_device="pulse").save(path)
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-server")
    alone = shown_window(qtbot, path)
    assert not [text for text, _ in _entries(alone) if "System audio" in text or "system audio" in text]
    assert "PulseAudio or PipeWire server" in alone.device_combo.toolTip()
    assert "PulseAudio or PipeWire server" in alone.banner.label.text() and alone.config().system_audio is None
    alone.banner.hide()
    alone.refresh_devices()  # as every Start does: said once is enough
    assert alone.banner.isHidden()
    closed(alone)


def _words(*texts: str, start: float) -> tuple[CommittedWord, ...]:
    return tuple(CommittedWord(" " + t, start + i * 0.4, start + i * 0.4 + 0.3, start + i * 0.4 + 1, 0.9)
                 for i, t in enumerate(texts))


def _choice():
    from ui.engine import DeviceChoice

    return DeviceChoice("cpu", "fp32", None)


def test_both_inputs_speaking_at_once_never_share_a_line(qtbot, pulse, tmp_path):
    """Scripted captions of both inputs, interleaved as a meeting delivers them (no audio)."""
    from ui.engine import MICROPHONE, SYSTEM, StreamStats
    from ui.inputs import MEETING

    win = shown_window(qtbot, tmp_path / "settings.ini")
    try:
        _choose(win, MEETING)
        win.speakers_action.setChecked(True)  # voices are not labelled in a meeting: its inputs are
        assert not win.config().speakers
        win._engine_started(_choice())  # what the engine's start signal runs
        assert "Speaker labels are off with Microphone + system audio" in win.banner.label.text()
        assert (win.status.level_label.text(), win.status.system_label.text()) == ("You", "Others")
        assert win.status.system_level.isVisibleTo(win)

        def say(source, *words, start, ended=False, guess=""):
            win._caption(CaptionUpdate(_words(*words, start=start) if words else (), guess, start + 2,
                                       utterance_ended=ended, source=source))

        say(SYSTEM, "ask", "not", start=1.0, guess="what your")
        say(MICROPHONE, "he", "began", start=2.0, guess="a confused")
        # Each input's guess on its own line, after its own words.
        assert win.captions.text.toPlainText().splitlines() == [
            "[00:00:01] Others: ask not what your", "[00:00:02] You: he began a confused"]
        say(SYSTEM, "what", start=1.8, ended=True)
        say(SYSTEM, guess="your country", start=3.0)
        say(MICROPHONE, "a", "confused", start=2.8, ended=True)
        say(SYSTEM, "your", "country", start=3.0, ended=True)
        say(SYSTEM, "can", "do", start=5.0, ended=True)  # the same turn goes on: the same paragraph
        assert win.captions.text.toPlainText().splitlines() == [
            "[00:00:01] Others: ask not what", "[00:00:02] You: he began a confused",
            "[00:00:03] Others: your country can do"]
        assert win.captions.overlay_parts(2) == (["You: he began a confused", "Others: your country can do"], "")

        win._stats(StreamStats(time=6.0, device=win.running_on or _choice(), final_latency_last=None,
                               final_latency_p50=None, first_word_latency_last=None, lag=0.1, lag_max=0.1, rtf=0.2,
                               step=1.0, dropped_seconds=0.0, rss_bytes=2**28, input_level_db=-20.0, source=SYSTEM))
        assert win.status.system_level.value() == 40 and win.status.level.value() == 0

        assert win.rename_speaker("Others", "Dana")
        assert win.captions.text.toPlainText().splitlines()[-1] == "[00:00:03] Dana: your country can do"
        assert win.status.system_label.text() == "Dana"
        assert not win.rename_speaker("Dana", "You")  # two inputs cannot share a name
        out = tmp_path / "meeting.txt"
        win.save_transcript(out, "txt")
        assert out.read_text().split("\n\n") == ["[00:00:01] Dana: ask not what",
                                                 "[00:00:02] You: he began a confused",
                                                 "[00:00:03] Dana: your country can do\n"]
    finally:
        closed(win)


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("window-meeting-speech")
    user = stereo_channel(clip_path("two_speakers_stereo.wav"), 0)  # the first speaker alone
    return {"jfk": write_wav(folder / "jfk.wav", decode_audio(clip_path("jfk.flac")), 16_000),
            "user": write_wav(folder / "user.wav", user, 16_000),
            "123": write_wav(folder / "123.wav", decode_audio(clip_path("one_two_three.wav")), 16_000)}


def _poll_every(callback, parent, interval_ms: int = 50):
    from PySide6.QtCore import QTimer

    timer = QTimer(parent)
    timer.timeout.connect(callback)
    timer.start(interval_ms)
    return timer


def _said(win) -> dict[str, str]:
    said: dict[str, str] = {}
    for seg in win.transcript.to_transcription().segments:
        if seg.words:
            said[seg.speaker] = said.get(seg.speaker, "") + seg.text
    return said


@pytest.mark.slow
def test_a_meeting_is_captioned_per_input_renamed_saved_and_survives_losing_the_loudspeakers(
        qtbot, pulse, wavs, tmp_path, loaded_model):
    from ui.inputs import MEETING
    from ui.settings import AppSettings
    from livecaption.transcript.journal import read_journal

    # The loudspeakers are the default output (what "Microphone + system audio" takes as Others);
    # the microphone hears the other sink, as a headset's would.
    pulse.pactl("set-default-sink", SPEAKERS)
    AppSettings(precision="fp32", capture="both", input_device="pulse").save(tmp_path / "settings.ini")
    win = shown_window(qtbot, tmp_path / "settings.ini")
    win.reconnect_s = 2.0  # the loudspeakers do not come back in this test
    levels = {"You": 0, "Others": 0}

    def note_levels():
        levels["You"] = max(levels["You"], win.status.level.value())
        levels["Others"] = max(levels["Others"], win.status.system_level.value())

    meter = _poll_every(note_levels, win)
    try:
        assert win.device_combo.currentData() == MEETING
        win.toggle_running()
        qtbot.waitUntil(lambda: win.start_action.text() == "Stop", timeout=120_000)  # the window took it in
        assert "Listening: Microphone + system audio" in win.status.listening.text()
        assert (win.status.level_label.text(), win.status.system_label.text()) == ("You", "Others")
        time.sleep(1.0)
        # The others speak; the user answers while they are still talking.
        player = play_at(pulse, [(0.0, wavs["jfk"], SPEAKERS), (7.0, wavs["user"], SINK)])
        qtbot.waitUntil(lambda: not player.is_alive(), timeout=60_000)  # the window lives on meanwhile
        qtbot.waitUntil(lambda: "complaint" in _said(win).get("You", "").lower()
                        and "country" in _said(win).get("Others", "").lower(), timeout=30_000)
        qtbot.wait(2_000)
        said = _said(win)
        assert wer(JFK_REF, said.get("Others", "")) <= LIVE_JFK_MAX_WER, said
        assert wer(USER_REF, said.get("You", "")) <= LIVE_JFK_MAX_WER, said
        shown = win.captions.text.toPlainText()
        assert "] Others: " in shown and "] You: " in shown, shown
        assert levels["You"] > 10 and levels["Others"] > 10, levels  # each input's meter moved

        # Others get a name, mid-meeting: the window, the meter, the export and the journal follow.
        assert win.rename_speaker("Others", "Dana")
        assert "] Dana: " in win.captions.text.toPlainText() and "Others" not in win.captions.text.toPlainText()
        assert win.status.system_label.text() == "Dana"

        # A switch mid-meeting (precision here): a new capture of both inputs, the names kept; any
        # stretch the switch missed is marked once, not once per input.
        first = win.controller.worker.pipeline
        with qtbot.waitSignal(win.controller.worker.started, timeout=60_000):
            win.precision_combo.setCurrentIndex(win.precision_combo.findData("int8"))
        qtbot.waitUntil(lambda: win.start_action.text() == "Stop", timeout=30_000)
        assert win.controller.worker.pipeline is not first and win.controller.worker.pipeline.names["system"] == "Dana"
        assert win.captions.text.toPlainText().count("switching model or precision]") <= 1
        assert (win.status.level_label.text(), win.status.system_label.text()) == ("You", "Dana")

        # The loudspeakers' sink goes away: said for that input; the microphone goes on.
        pulse.unload_sink(SPEAKERS)
        qtbot.waitUntil(lambda: "System audio (Monitor of Loudspeakers) was lost" in win.banner.label.text(),
                        timeout=30_000)
        assert "the microphone goes on" in win.banner.label.text() and win.start_action.text() == "Stop"
        assert win.status.system_label.text() == "Dana (lost)"
        before = len(_said(win).get("You", ""))
        pulse.play(wavs["123"], sink=SINK).wait(timeout=30)
        # "One, two, three." (tiny.en writes it "1. 2. 3." as often)
        qtbot.waitUntil(lambda: re.search(r"\b(three|3)\b", _said(win).get("You", "")[before:].lower()),
                        timeout=30_000)
        assert win.controller.running

        journal = win.controller.worker.journal.path
        with qtbot.waitSignal(win.controller.worker.stopped, timeout=60_000):
            win.toggle_running()
        out = tmp_path / "meeting.txt"
        win.save_transcript(out, "txt")
        paragraphs = out.read_text().strip().split("\n\n")
        assert any(p.startswith("[00:00:") and "] Dana: " in p for p in paragraphs), paragraphs
        assert any("] You: " in p for p in paragraphs), paragraphs
        assert all(p[0] == "[" and p[9:11] == "] " for p in paragraphs), paragraphs
        recovered = read_journal(journal)[1].to_transcription()
        assert {seg.speaker for seg in recovered.segments if seg.words} == {"Dana", "You"}
        win.dirty = False
        win.open_session(journal)  # File → Past sessions: the meeting comes back labelled
        shown = win.captions.text.toPlainText()
        assert "] Dana: " in shown and "] You: " in shown and "Others" not in shown, shown
    finally:
        meter.stop()
        closed(win)
        pulse.load_sink(SPEAKERS, "Loudspeakers")
        pulse.pactl("set-default-sink", SINK)
