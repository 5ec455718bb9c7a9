"""System audio: the monitors of a real PulseAudio server's output sinks, listed, resolved, and
recorded while paplay plays real speech into them; a sink that vanishes and comes back; the
`devices` command; and odd monitor names and specs (no model involved anywhere here)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audio_files import write_wav
from conftest import REPO, clip_path
from livecaption.audio.decode import decode_audio
from livecaption.audio.pulse import Monitor, SystemAudioSource, list_monitors, resolve_monitor
from livecaption.audio.ring import RingBuffer
from livecaption.errors import UserError
from pulse import SINK, serving

MEETING = "livecaption_meeting"  # a second output device, like a headset next to the speakers
HEADSET = "Meeting Headset"
RATE = 16_000


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    yield from serving(tmp_path_factory.mktemp("pulse-runtime"), extra_sinks={MEETING: HEADSET})


@pytest.fixture
def meeting_sink(pulse):
    """MEETING as a test finds it, and again afterwards, whatever the test unloaded."""
    yield MEETING
    if MEETING not in pulse.pactl("list", "short", "sinks").stdout:
        pulse.load_sink(MEETING, HEADSET)


@pytest.fixture(scope="module")
def speech():
    """'And so my fellow Americans', with a little silence either side (2.6 s)."""
    pad = np.zeros(int(0.2 * RATE), dtype=np.float32)
    return np.concatenate([pad, decode_audio(clip_path("jfk.flac"))[: int(2.2 * RATE)], pad])


@pytest.fixture(scope="module")
def speech_wav(speech, tmp_path_factory):
    return write_wav(tmp_path_factory.mktemp("speech") / "fellow.wav", speech, RATE)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


def align(captured: np.ndarray, played: np.ndarray) -> tuple[np.ndarray, float]:
    """Where ``played`` sits in ``captured`` (by cross-correlation), and how alike the two are there."""
    n = 1 << int(np.ceil(np.log2(len(captured) + len(played))))
    xcorr = np.fft.irfft(np.fft.rfft(captured, n) * np.conj(np.fft.rfft(played, n)), n)
    lag = int(np.argmax(xcorr[: len(captured) - len(played) + 1]))
    segment = captured[lag : lag + len(played)]
    return segment, float(np.corrcoef(segment, played)[0, 1])


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "\r" not in text and text, text
    return text


# -- listing and resolving -------------------------------------------------------------------

def test_every_sink_has_a_monitor_and_the_default_sink_is_marked(pulse):
    monitors = list_monitors()
    assert monitors == [Monitor(f"{SINK}.monitor", "Monitor of Null Output", SINK, True),
                        Monitor(f"{MEETING}.monitor", f"Monitor of {HEADSET}", MEETING, False)]
    pulse.pactl("set-default-sink", MEETING)
    try:
        assert [m.sink for m in list_monitors() if m.is_default] == [MEETING]
        assert resolve_monitor(None).sink == MEETING  # "the default" follows the server's choice
    finally:
        pulse.pactl("set-default-sink", SINK)


def test_a_monitor_is_found_by_name_description_sink_or_fragment(pulse):
    meeting = next(m for m in list_monitors() if m.sink == MEETING)
    for spec in (f"{MEETING}.monitor", f"Monitor of {HEADSET}", MEETING, "headset", "MEETING", "  headset  "):
        assert resolve_monitor(spec) == meeting, spec
    for spec in (None, "", "   "):
        assert resolve_monitor(spec).name == f"{SINK}.monitor", spec


def test_unknown_and_ambiguous_specs_are_one_line_errors_naming_the_monitors(pulse):
    with pytest.raises(UserError) as unknown:
        resolve_monitor("bluetooth")
    text = one_line(unknown)
    assert text.startswith("no system-audio monitor matches 'bluetooth'")
    assert f"{SINK}.monitor (Monitor of Null Output)" in text and f"{MEETING}.monitor (Monitor of {HEADSET})" in text
    with pytest.raises(UserError) as ambiguous:
        resolve_monitor("monitor of")  # both descriptions
    assert one_line(ambiguous).startswith("several system-audio monitors match 'monitor of'")


def test_no_server_is_one_line_error_not_a_traceback(pulse, monkeypatch, tmp_path):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-such-socket")
    for call in (list_monitors, lambda: resolve_monitor("headset"), SystemAudioSource):
        with pytest.raises(UserError) as missing:
            call()
        assert one_line(missing).startswith("system audio needs a PulseAudio or PipeWire server (cannot connect")


def test_missing_bindings_are_one_line_errors_and_the_module_imports_without_them(pulse, monkeypatch):
    monkeypatch.setitem(sys.modules, "pulsectl", None)  # import raises ImportError, as when not installed
    with pytest.raises(UserError) as missing:
        list_monitors()
    assert one_line(missing) == "system audio needs the pulsectl package: pip install pulsectl"
    monkeypatch.delitem(sys.modules, "pulsectl")
    monkeypatch.setitem(sys.modules, "pasimple", None)
    with pytest.raises(UserError) as missing:
        SystemAudioSource(MEETING).open()
    assert one_line(missing) == "system audio needs the pasimple package: pip install pasimple"
    code = ("import sys; sys.modules['pulsectl'] = sys.modules['pasimple'] = None; "
            "import livecaption.audio.pulse, livecaption.commands.devices; print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr


# -- recording -------------------------------------------------------------------------------

def test_two_monitors_record_at_once_each_its_own_sink(pulse, speech, speech_wav):
    """What PULSE_SOURCE cannot do: two streams in one process, each on its own monitor."""
    meeting, speakers = SystemAudioSource(MEETING), SystemAudioSource(SINK)
    rings = RingBuffer(30, RATE), RingBuffer(30, RATE)
    assert meeting.sample_rate == speakers.sample_rate == RATE and meeting.description == f"Monitor of {HEADSET}"
    meeting.start(rings[0])
    speakers.start(rings[1])
    try:
        # A null sink's first block can take ~2 s (it renders in long blocks while idle).
        wait_until(lambda: min(r.written_index for r in rings) > 0, 15, "the first blocks")
        pulse.play(speech_wav, sink=MEETING).wait(timeout=30)
        time.sleep(0.5)
        assert meeting.failure() is None and meeting.outage() is None
    finally:
        began = time.monotonic()
        meeting.stop()
        stopped_in = time.monotonic() - began
        speakers.stop()
    assert stopped_in < 1.0
    assert rings[0].closed and meeting.failure() is None  # stopping is not a failure
    captured, silent = rings[0].read().samples, rings[1].read().samples
    segment, likeness = align(captured, speech)
    print(f"correlation {likeness:.4f}, level {rms(segment) / rms(speech):.3f} of the file's")
    assert likeness > 0.95  # the same samples, through the server's 16-bit round trip
    assert 0.8 < rms(segment) / rms(speech) < 1.25
    assert len(silent) > RATE and np.max(np.abs(silent)) < 1e-3  # nothing was played into the speakers


def test_stop_returns_at_once_even_while_a_read_waits(pulse):
    source = SystemAudioSource(MEETING)
    source.start(RingBuffer(5, RATE))  # the idle null sink has sent nothing yet: the first read blocks
    began = time.monotonic()
    source.stop()
    assert time.monotonic() - began < 1.0
    # The reader frees its stream as soon as its read returns: nothing is left recording.
    wait_until(lambda: pulse.pactl("list", "short", "source-outputs").stdout.strip() == "", 10,
               "the stream to be freed")


def test_a_vanished_sink_is_reported_and_the_same_monitor_reconnected(pulse, meeting_sink, speech, speech_wav):
    source = SystemAudioSource(meeting_sink)
    ring = RingBuffer(60, RATE)
    source.start(ring)
    try:
        wait_until(lambda: ring.written_index > 0, 15, "the first block")
        # PulseAudio moves the stream of a vanished source to another one (here the speakers' monitor,
        # where speech is playing): that is reported as the loss it is, and none of it is recorded.
        player = pulse.play(speech_wav, sink=SINK)
        time.sleep(0.3)
        pulse.unload_sink(meeting_sink)
        try:
            wait_until(lambda: source.failure() is not None, 10, "the loss to be reported")
        finally:
            player.terminate()
            player.wait(timeout=30)
        failure = source.failure()
        assert "\n" not in failure and f"Monitor of {HEADSET}" in failure and "went away" in failure, failure
        assert source.outage() == f"no audio from Monitor of {HEADSET}"
        assert np.max(np.abs(ring.read().samples)) < 1e-3, "the speakers' audio leaked into the headset's capture"

        assert source.reconnect(0.5) is False  # still gone
        outage_while_waiting = []

        def plug_back() -> None:
            outage_while_waiting.append(source.outage())
            pulse.load_sink(meeting_sink, HEADSET)

        threading.Timer(1.0, plug_back).start()
        assert source.reconnect(20) is True
        assert outage_while_waiting == [f"no audio from Monitor of {HEADSET}"]
        assert source.failure() is None and source.outage() is None
        mark = ring.written_index
        wait_until(lambda: ring.written_index > mark, 15, "audio after the reconnect")
        pulse.play(speech_wav, sink=meeting_sink).wait(timeout=30)
        time.sleep(0.5)
    finally:
        source.stop()
    _, likeness = align(ring.read().samples, speech)  # the same ring, speech recorded after the reconnect
    assert likeness > 0.95


def test_a_monitor_that_delivers_nothing_is_reported_stalled(pulse, meeting_sink):
    source = SystemAudioSource(meeting_sink)
    ring = RingBuffer(30, RATE)
    source.start(ring)
    try:
        wait_until(lambda: ring.written_index > 0, 15, "the first block")
        pulse.pactl("suspend-sink", meeting_sink, "1")  # the stream stays, the audio stops
        wait_until(lambda: source.failure() is not None, 15, "the stall to be reported")
        assert source.failure() == f"system audio 'Monitor of {HEADSET}' delivered nothing for 3 s"
        pulse.pactl("suspend-sink", meeting_sink, "0")
        assert source.reconnect(10) is True
        mark = ring.written_index
        wait_until(lambda: ring.written_index > mark, 15, "audio after the reconnect")
    finally:
        pulse.pactl("suspend-sink", meeting_sink, "0")
        source.stop()


def test_stop_ends_a_reconnect_that_is_waiting(pulse, meeting_sink):
    source = SystemAudioSource(meeting_sink)
    source.start(RingBuffer(5, RATE))
    pulse.unload_sink(meeting_sink)
    result = []
    waiting = threading.Thread(target=lambda: result.append(source.reconnect(60)))
    waiting.start()
    time.sleep(0.5)
    source.stop()
    waiting.join(timeout=3)
    assert result == [False]


# -- the devices command ---------------------------------------------------------------------

def devices(env: dict, *args: str) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).parent / "livecaption"  # the installed entry point, as a user runs it
    return subprocess.run([str(cli), "devices", *args], capture_output=True, text=True, env=env, timeout=60, cwd=REPO)


def test_devices_lists_microphones_and_system_audio_in_two_groups(pulse):
    proc = devices(pulse.env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    mics, system = lines.index("Microphones"), lines.index("System audio")
    assert mics < system
    assert any(line.rstrip().endswith(" pulse") for line in lines[mics:system]), proc.stdout
    monitor_rows = [line.split() for line in lines[system + 2 :] if line.strip()]
    assert monitor_rows == [["*", f"{SINK}.monitor", "Monitor", "of", "Null", "Output"],
                            [f"{MEETING}.monitor", "Monitor", "of", *HEADSET.split()]], proc.stdout


def test_devices_json_names_inputs_and_monitors(pulse):
    proc = devices(pulse.env, "--json")
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    assert all(set(item) == {"id", "name", "kind", "default"} for item in listing)
    inputs = [item for item in listing if item["kind"] == "input"]
    assert inputs and all(isinstance(item["id"], int) for item in inputs)
    assert any(item["name"] == "pulse" for item in inputs)
    assert [item for item in listing if item["kind"] == "monitor"] == [
        {"id": f"{SINK}.monitor", "name": "Monitor of Null Output", "kind": "monitor", "default": True},
        {"id": f"{MEETING}.monitor", "name": f"Monitor of {HEADSET}", "kind": "monitor", "default": False},
    ]


def test_devices_without_an_audio_server_still_lists_microphones(pulse, tmp_path):
    env = {**pulse.env, "PULSE_SERVER": f"unix:{tmp_path}/no-such-socket"}
    for args in ((), ("--json",)):
        proc = devices(env, *args)
        assert proc.returncode == 0, proc.stderr
        notices = [line for line in proc.stderr.splitlines() if "system audio unavailable" in line]
        assert len(notices) == 1 and "PulseAudio or PipeWire server" in notices[0], proc.stderr
    assert "Microphones" in devices(env).stdout
    assert all(item["kind"] == "input" for item in json.loads(proc.stdout))


# -- odd specs -------------------------------------------------------------------------------

ODD_MONITORS = [
    Monitor("alsa_output.usb-Logi_[Headset]+(v2)*.monitor", "Monitor of Logi Headset (v2)", "alsa_output.usb-Logi_[Headset]+(v2)*", True),
    Monitor("bluez_output.AA_BB.1.monitor", "Monitor of Écouteurs — Bureau 🎧", "bluez_output.AA_BB.1", False),
    Monitor("alsa_output.pci.hdmi-stereo.monitor", "Monitor of Built-in Audio\nHDMI", "alsa_output.pci.hdmi-stereo", False),
]
ODD_SPECS = ["", " ", "\t\n", ".*", "[", "(v2)*", "+", "\\", "^$", "é", "ÉCOUTEURS", "🎧", "\x00", "\udc80",
             "Monitor of", "monitor", "x" * 100_000, "hdmi\n", "Monitor of Built-in Audio\nHDMI", "%s{0}"]


def check_resolves_or_explains(spec, monitors=ODD_MONITORS):
    try:
        found = resolve_monitor(spec, monitors)
    except UserError as exc:
        text = str(exc)
        assert text and "\n" not in text and "\r" not in text and len(text) < 2_000, text
        return None
    assert found in (monitors or list_monitors())
    return found


@pytest.mark.parametrize("spec", ODD_SPECS + [None])
def test_odd_specs_resolve_or_explain_in_one_line(spec):
    check_resolves_or_explains(spec)


def test_regex_characters_are_plain_text_not_patterns():
    assert resolve_monitor("[Headset]+(v2)*", ODD_MONITORS) is ODD_MONITORS[0]
    assert resolve_monitor("écouteurs", ODD_MONITORS) is ODD_MONITORS[1]
    assert resolve_monitor("built-in audio\nhdmi", ODD_MONITORS) is ODD_MONITORS[2]
    with pytest.raises(UserError):
        resolve_monitor(".*", ODD_MONITORS)  # would match everything as a pattern


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(), st.text(alphabet=".*+?[](){}^$|\\ -_"), st.sampled_from(ODD_SPECS)))
def test_any_spec_resolves_or_explains_in_one_line(spec):
    check_resolves_or_explains(spec)


def test_odd_specs_against_the_real_server(pulse):
    for spec in ODD_SPECS:
        check_resolves_or_explains(spec, None)
