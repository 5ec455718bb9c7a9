"""The README's app command as a user meets it: the real ``livecaption`` process opens its window on
an X screen with Qt's xcb platform (not offscreen), Space starts it, and speech played into the
audio server is captioned.

Offscreen Qt loads no xcb plugin, so only this test catches a system library the window needs
and setup.sh does not install. The captions are read back from the session journal, which the
app writes (fsync'd) before the window shows each caption; the screenshot is kept for a person.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audio_files import write_wav
from conftest import CLIPS, REPO, clip_path
from livecaption.audio.decode import decode_audio
from livecaption.metrics import wer
from pulse import PulseServer
from xvfb import XvfbScreen, journal_words

# Live decoding on 2 shared cores: the same bound as the other live jfk capture tests.
from pulse import LIVE_JFK_MAX_WER


@pytest.fixture
def screen():
    xvfb = XvfbScreen().start()
    yield xvfb
    xvfb.stop()


@pytest.fixture
def pulse(tmp_path):
    server = PulseServer(tmp_path / "pulse-runtime").start()
    yield server
    server.stop()


def test_the_app_opens_a_real_xcb_window_and_captions_speech(screen, pulse, tmp_path):
    data_dir, config_dir = tmp_path / "data", tmp_path / "config"
    wav = write_wav(tmp_path / "jfk16k.wav", decode_audio(clip_path("jfk.flac")), 16_000)
    env = {**screen.env, **{k: pulse.env[k] for k in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")},
           "QT_QPA_PLATFORM": "xcb", "LIVECAPTION_DATA_DIR": str(data_dir), "XDG_CONFIG_HOME": str(config_dir),
           "HF_HUB_OFFLINE": "1"}
    log_path = tmp_path / "app.log"
    with open(log_path, "w") as log:
        app = subprocess.Popen([sys.executable, "-m", "livecaption"], env=env, cwd=REPO, stdout=log, stderr=log)
    try:
        try:
            window = screen.wait_for_window("^livecaption$", timeout=60, alive=lambda: app.poll() is None)
        except AssertionError as exc:  # e.g. Qt: "could not load the Qt platform plugin xcb"
            raise AssertionError(f"{exc}; app exit status {app.poll()}: {log_path.read_text()[-3000:]}") from None
        screen.press(window, "space")  # Start, as the first screen says
        deadline = time.monotonic() + 180  # a first run converts tiny.en before it listens
        while not journal_words(data_dir)[0]:  # the journal opens once capture is live
            assert app.poll() is None, f"the app exited: {log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the app never started listening: {log_path.read_text()[-3000:]}"
            time.sleep(0.2)
        time.sleep(1.0)
        pulse.play(wav).wait(timeout=60)
        deadline = time.monotonic() + 45  # the last words are final ~1-3 s after the clip; more on a busy machine
        text = ""
        while time.monotonic() < deadline:
            text = journal_words(data_dir)[1]
            if wer(CLIPS["jfk.flac"]["reference"], text) <= LIVE_JFK_MAX_WER:
                break
            time.sleep(0.5)
        shot = screen.screenshot(tmp_path / "app-window.png")
        keep = os.environ.get("LIVECAPTION_SCREENSHOT_DIR")
        if keep and shot:
            shutil.copy(shot, Path(keep) / "app-window-xcb.png")
        assert wer(CLIPS["jfk.flac"]["reference"], text) <= LIVE_JFK_MAX_WER, (text, log_path.read_text()[-3000:])
        assert app.poll() is None, "the app died while captioning"
    finally:
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
    assert "Traceback" not in log_path.read_text(), log_path.read_text()[-3000:]
