"""The CI soak: a few minutes of meeting turns through the full pipeline on the simulated clock.

The one-hour run is `livecaption bench FILE --soak 60` (recorded in docs/benchmarks.md); this is
the same code, shorter, so CI stays within its time.
"""

from __future__ import annotations

from conftest import CLIPS
from livecaption.audio.decode import SAMPLE_RATE
from livecaption.commands.soak import meeting_audio, run_soak


def test_meeting_audio_places_every_turn_after_its_pause(jfk_audio):
    meeting = meeting_audio(jfk_audio, minutes=1.0, pause_s=10.0)
    assert len(meeting.turns) == int(60 // (10 + len(jfk_audio) / SAMPLE_RATE))
    start, end = meeting.turns[1]
    first = int(start * SAMPLE_RATE)
    assert abs(float(meeting.audio[first + 1000]) - float(jfk_audio[1000])) < 0.01
    # The pauses are quiet room tone, not digital silence.
    pause = meeting.audio[int((start - 5) * SAMPLE_RATE) : first]
    assert 0 < float(pause.std()) < 0.01


def test_three_minute_soak_commits_every_turn_with_flat_memory_and_bounded_lag(tiny_fp32, jfk_audio):
    report = run_soak(tiny_fp32, jfk_audio, minutes=3.0, pause_s=20.0, reference=CLIPS["jfk.flac"]["reference"],
                      warm_minute=1)
    assert report.turns == 5
    assert report.turns_committed == report.turns
    assert report.turn_wer_max <= 0.15, report
    assert report.rss_growth_mb <= 50, report.rss_mb_by_minute
    assert report.dropped_seconds == 0.0
    assert report.lag_max < 5.0, report
