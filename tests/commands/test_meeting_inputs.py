"""``listen``'s inputs for a meeting capture (issue #11): combinations that cannot mean anything,
and a system audio that cannot be had, are one line before any model loads."""

from __future__ import annotations

import pytest

from conftest import clip_path, run_cli

NO_SERVER = {"PULSE_SERVER": "unix:/nonexistent/livecaption-test-socket"}


@pytest.mark.parametrize("args, says", [
    (["--input", "none"], "--input none leaves nothing to caption"),
    (["--replay", str(clip_path("jfk.flac")), "--system-audio"], "--replay captions a recording"),
    (["--speakers", "--system-audio"], "--speakers labels the voices of one input"),
])
def test_combinations_that_mean_nothing_are_one_line(args, says):
    proc = run_cli("listen", *args)
    assert proc.returncode == 2 and says in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("monitor", [[], ["Headset"]])
def test_system_audio_without_an_audio_server_is_one_line(monitor):
    proc = run_cli("listen", "--input", "none", "--system-audio", *monitor, env=NO_SERVER)
    assert proc.returncode == 2 and "system audio needs a PulseAudio or PipeWire server" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "loading" not in proc.stderr  # said before any model loads
