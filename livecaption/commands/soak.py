"""The soak: a long meeting replayed on the simulated clock through the full pipeline.

A recording is played again and again with pauses of quiet room tone between the turns, like a
meeting where people take turns, for as many minutes as asked. The simulated clock makes an hour
cost only the compute it needs. What it proves: resident memory stays flat once warm, lag stays
bounded, and every turn is committed (each one's WER against the reference is reported).

    livecaption bench FILE --soak MINUTES [--pause SECONDS] [--ref REF] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from livecaption.asr import load_recognizer
from livecaption.commands.common import vad_options_from
from livecaption.audio.decode import SAMPLE_RATE, decode_audio
from livecaption.metrics import wer
from livecaption.streaming.events import StreamStats
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.streaming.replay import stream_file

ROOM_TONE_RMS = 0.001  # -60 dBFS: a quiet room, below what the VAD takes for speech
WARM_MINUTES = 5  # memory growth is measured from here (model, caches and allocator are warm by then)


@dataclass(frozen=True)
class MeetingAudio:
    audio: np.ndarray
    turns: list[tuple[float, float]]  # (start, end) seconds of each replay of the recording


def meeting_audio(speech: np.ndarray, minutes: float, pause_s: float, seed: int = 0) -> MeetingAudio:
    """``speech`` repeated with ``pause_s`` of room tone before each turn, cut to whole turns."""
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * SAMPLE_RATE)
    pause = int(pause_s * SAMPLE_RATE)
    turn_len = pause + len(speech)
    count = max(1, total // turn_len)
    audio = (rng.standard_normal(count * turn_len) * ROOM_TONE_RMS).astype(np.float32)
    turns = []
    for i in range(count):
        start = i * turn_len + pause
        audio[start : start + len(speech)] += speech
        turns.append((start / SAMPLE_RATE, (start + len(speech)) / SAMPLE_RATE))
    return MeetingAudio(audio, turns)


@dataclass
class SoakReport:
    audio_minutes: float
    turns: int
    turns_committed: int  # turns with at least one committed word
    turn_wer_max: float | None
    turn_wer_mean: float | None
    rss_mb_by_minute: list[float] = field(default_factory=list)  # peak RSS within each simulated minute
    rss_growth_mb: float = 0.0  # highest turn-cycle peak after `warm_minute` minus the first such peak
    rss_growth_by_minute_mb: float = 0.0  # the same on minute peaks (stricter: aliases with the turns)
    rss_mb_by_turn: list[float] = field(default_factory=list)
    warm_minute: int = WARM_MINUTES
    lag_max: float = 0.0
    dropped_seconds: float = 0.0
    compute_seconds: float = 0.0
    words: int = 0


def run_soak(recognizer, speech: np.ndarray, minutes: float, pause_s: float, reference: str | None,
             options: StreamingOptions = StreamingOptions(), warm_minute: int = WARM_MINUTES,
             vad_options: VadOptions = VadOptions()) -> SoakReport:
    meeting = meeting_audio(speech, minutes, pause_s)
    cycle_s = pause_s + len(speech) / SAMPLE_RATE
    rss_by_minute: dict[int, int] = {}
    rss_by_turn: dict[int, int] = {}  # peak over each pause+turn cycle: the same workload every time

    def on_event(event) -> None:  # only stats are kept: the soak itself must not grow
        if isinstance(event, StreamStats):
            minute, turn = int(event.time // 60), int(event.time // cycle_s)
            rss_by_minute[minute] = max(rss_by_minute.get(minute, 0), event.rss_bytes)
            rss_by_turn[turn] = max(rss_by_turn.get(turn, 0), event.rss_bytes)

    pipeline = stream_file(recognizer, meeting.audio, fast=True, options=options, vad_options=vad_options,
                           on_event=on_event)
    per_turn = [[w for w in pipeline.committed if start - 0.5 <= w.start < end + 0.5] for start, end in meeting.turns]
    wers = [wer(reference, "".join(w.text for w in words)) for words in per_turn] if reference else []
    minutes_seen = [rss_by_minute[m] / 2**20 for m in sorted(rss_by_minute)]
    # Growth compares like with like: the peak of every cycle that starts after the warm-up minute
    # against the first such cycle (a minute-by-minute peak aliases with the turns' rhythm).
    warm = [rss for turn, rss in sorted(rss_by_turn.items())
            if turn * cycle_s >= warm_minute * 60 and turn < len(meeting.turns)]
    strict = [rss for m, rss in sorted(rss_by_minute.items()) if m >= warm_minute]
    return SoakReport(
        audio_minutes=len(meeting.audio) / SAMPLE_RATE / 60,
        turns=len(meeting.turns),
        turns_committed=sum(1 for words in per_turn if words),
        turn_wer_max=max(wers) if wers else None,
        turn_wer_mean=float(np.mean(wers)) if wers else None,
        rss_mb_by_minute=[round(v, 1) for v in minutes_seen],
        rss_growth_mb=(max(warm) - warm[0]) / 2**20 if warm else 0.0,
        rss_growth_by_minute_mb=(max(strict) - strict[0]) / 2**20 if strict else 0.0,
        rss_mb_by_turn=[round(rss_by_turn[t] / 2**20, 1) for t in sorted(rss_by_turn)],
        warm_minute=warm_minute,
        lag_max=pipeline.lag_max,
        dropped_seconds=pipeline.ring.dropped_seconds,
        compute_seconds=pipeline.core.compute_seconds,
        words=len(pipeline.committed),
    )


def run_soak_bench(args: argparse.Namespace) -> int:
    speech = decode_audio(args.file)
    reference = Path(args.ref).read_text(encoding="utf-8") if args.ref else None
    recognizer = load_recognizer(args.model, args.device, args.precision)
    print(f"soak: {args.soak:g} min of {args.file} turns with {args.pause:g} s pauses, {args.model} on "
          f"{recognizer.describe_device()}, simulated clock", file=sys.stderr)
    # The same VAD and pause-commit settings as any other run of the bench: a soak measures the
    # configuration the user asked for.
    report = run_soak(recognizer, speech, args.soak, args.pause, reference,
                      options=StreamingOptions(pause_commit_ms=args.pause_commit_ms, commit=args.commit,
                                               language=args.language, task=args.task, vocabulary=args.prompt,
                                               beam_size=args.beam_size or 1,
                                               encoder_padding_s=None if args.encoder_padding in (None, "full")
                                               else args.encoder_padding),
                      warm_minute=min(WARM_MINUTES, max(1, int(args.soak) // 2)),
                      vad_options=vad_options_from(args))
    if args.json:
        print(json.dumps(asdict(report), indent=2))
        return 0
    wer_text = "-" if report.turn_wer_max is None else f"{100 * report.turn_wer_mean:.1f}% / {100 * report.turn_wer_max:.1f}%"
    rows = [
        ("audio", f"{report.audio_minutes:.1f} min, {report.turns} turns"),
        ("turns with committed words", f"{report.turns_committed} of {report.turns}"),
        ("WER per turn mean / max", wer_text),
        ("committed words", str(report.words)),
        (f"RSS growth from minute {report.warm_minute}, per turn cycle", f"{report.rss_growth_mb:.1f} MB"),
        (f"RSS growth from minute {report.warm_minute}, per minute", f"{report.rss_growth_by_minute_mb:.1f} MB"),
        ("RSS peak per turn cycle (MB)", " ".join(f"{v:.0f}" for v in report.rss_mb_by_turn)),
        ("RSS peak per minute (MB)", " ".join(f"{v:.0f}" for v in report.rss_mb_by_minute)),
        ("lag max", f"{report.lag_max:.2f} s"),
        ("dropped audio", f"{report.dropped_seconds:.2f} s"),
        ("compute", f"{report.compute_seconds / 60:.1f} min"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0
