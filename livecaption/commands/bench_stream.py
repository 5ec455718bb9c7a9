"""``livecaption bench FILE``: a recording replayed through the full streaming pipeline.

Reports streaming WER (against a reference and against the same model's offline transcript),
word-emission, final and first-word latency percentiles, lag, RTF, dropped audio, peak memory.
``--events`` writes every committed word with its audio times and emission time on the
stream's clock, so any latency can be recomputed from the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path


from livecaption.asr import load_recognizer
from livecaption.asr.types import TranscribeOptions
from livecaption.commands.common import fmt as _fmt, percentile as _percentile, vad_options_from
from livecaption.audio.decode import SAMPLE_RATE, decode_audio
from livecaption.metrics import wer
from livecaption.streaming.options import StreamingOptions
from livecaption.streaming.replay import stream_file
from livecaption.sysinfo import peak_rss_bytes
from livecaption.transcript.export import write_text_atomic


@dataclass
class StreamReport:
    file: str
    audio_seconds: float
    mode: str
    model: str
    device: str
    precision: str
    encoder_window: str
    pause_commit_ms: int
    commit: str
    words: int
    text: str
    offline_text: str
    wer_vs_reference: float | None
    offline_wer_vs_reference: float | None
    wer_vs_offline: float
    emission_latency_p50: float | None
    emission_latency_p95: float | None
    final_latency_p50: float | None
    final_latency_p95: float | None
    first_word_latency_p50: float | None
    first_word_latency_p95: float | None
    lag_max: float
    rtf: float
    dropped_seconds: float
    peak_rss_mb: float | None
    peak_gpu_mb: float | None
    hypotheses_dropped: dict
    speaker_labels: dict | None = None  # with --speakers: speakers found, embedding cost, label delay


def run_stream_bench(args: argparse.Namespace) -> int:
    audio = decode_audio(args.inputs[0] if getattr(args, "inputs", None) else args.file)
    reference = Path(args.ref).read_text(encoding="utf-8") if args.ref else None
    recognizer = load_recognizer(args.model, args.device, args.precision)
    options = StreamingOptions(language=args.language, beam_size=args.beam_size or 1, task=args.task,
                               vocabulary=args.prompt,
                               pause_commit_ms=args.pause_commit_ms, commit=args.commit)
    if args.encoder_padding is not None:
        options = replace(options, encoder_padding_s=None if args.encoder_padding == "full" else args.encoder_padding)
    recognizer.transcribe(audio[: SAMPLE_RATE * 3], TranscribeOptions(beam_size=1))  # warm-up
    offline = recognizer.transcribe(audio, TranscribeOptions(language=args.language, task=args.task,
                                                             prompt=args.prompt)).text
    mode = "fast" if args.fast else "realtime"
    print(f"bench: streaming {args.file} ({len(audio) / SAMPLE_RATE:.1f} s, {mode}) with {args.model} on "
          f"{recognizer.describe_device()}", file=sys.stderr)
    tracker = _speaker_tracker(audio) if args.speakers else None
    pipeline = stream_file(recognizer, audio, args.fast, options, vad_options_from(args),
                           on_event=tracker.event if tracker else None, audio_tap=tracker.audio if tracker else None)
    core, words = pipeline.core, pipeline.committed
    speakers, first_speakers = _speakers_of(tracker, words) if tracker else (None, None)
    emission = [w.emitted - w.end for w in words]
    memory = recognizer.memory_stats()
    peak_rss = peak_rss_bytes()
    text = pipeline.transcript_text
    report = StreamReport(
        file=args.file, audio_seconds=len(audio) / SAMPLE_RATE, mode=mode, model=args.model,
        device=recognizer.choice.device, precision=recognizer.choice.precision,
        encoder_window="full 30 s" if options.encoder_padding_s is None else f"audio + {options.encoder_padding_s:g} s",
        pause_commit_ms=options.pause_commit_ms, commit=options.commit,
        words=len(words), text=text,
        offline_text=offline,
        wer_vs_reference=wer(reference, text) if reference else None,
        offline_wer_vs_reference=wer(reference, offline) if reference else None,
        wer_vs_offline=wer(offline, text),
        emission_latency_p50=_percentile(emission, 50), emission_latency_p95=_percentile(emission, 95),
        final_latency_p50=_percentile(core.final_latencies, 50), final_latency_p95=_percentile(core.final_latencies, 95),
        first_word_latency_p50=_percentile(core.first_word_latencies, 50),
        first_word_latency_p95=_percentile(core.first_word_latencies, 95),
        lag_max=pipeline.lag_max, rtf=pipeline.stats().rtf, dropped_seconds=pipeline.ring.dropped_seconds,
        peak_rss_mb=peak_rss / 2**20 if peak_rss else None,
        peak_gpu_mb=memory["peak"] / 2**20 if memory else None,
        hypotheses_dropped=dict(core.rejections),
        speaker_labels=_speaker_summary(tracker, speakers) if tracker else None,
    )
    if args.json:
        data = asdict(report)
        if data["speaker_labels"] is None:
            del data["speaker_labels"]
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print_report(report)
    if args.events:  # after the report, so a late write failure cannot lose it
        lines = [json.dumps({"word": w.text, "start": round(w.start, 3), "end": round(w.end, 3),
                             "emitted": round(w.emitted, 3),
                             **({"speaker": speakers[i], "first_speaker": first_speakers[i]} if speakers else {})},
                            ensure_ascii=False) for i, w in enumerate(words)]
        # Checked before the run (validation); checked again here, as the run took a while.
        write_text_atomic(Path(args.events), "".join(line + "\n" for line in lines), force=args.force,
                          reads=[args.file, args.ref])
    return 0


def _speaker_tracker(audio):
    """Live speaker labels as the window runs them; the encoder loaded and warmed up first (not timed)."""
    from livecaption.speakers.encoder import shared_encoder
    from livecaption.speakers.live import LiveSpeakerTracker

    shared_encoder().embed(audio[: SAMPLE_RATE * 2])
    return LiveSpeakerTracker()


def _speakers_of(tracker, words) -> tuple[list[str | None], list[str | None]]:
    """Each committed word's speaker as saved (the live labels once the stream has ended, the whole
    session reclustered as the window does at save) and as first shown while it ran (labels may
    change as evidence grows: both are reported)."""
    from livecaption.streaming.events import CaptionUpdate

    tracker.event(CaptionUpdate((), "", 0.0, utterance_ended=True))  # an utterance still open ends here
    tracker.wait(timeout=None)
    first = dict(zip(_keys(tracker.words()), tracker.first_shown))
    tracker.relabel_all(timeout=None)
    tracker.close()
    final = dict(zip(_keys(tracker.words()), tracker.word_labels()))
    keys = _keys([(w.start, w.end) for w in words])  # the tracker saw exactly the committed words
    return [final.get(k) for k in keys], [first.get(k) for k in keys]


def _keys(words) -> list[tuple[int, int]]:
    return [(round(start * 1000), round(end * 1000)) for start, end in words]


def _speaker_summary(tracker, speakers: list[str | None]) -> dict:
    spoken = tracker.speech_seconds
    return {
        "speakers": sorted({s for s in speakers if s}),
        "utterances": len(tracker.utterances),
        "unlabelled_words": sum(1 for s in speakers if s is None),
        "embed_seconds": round(tracker.embed_seconds, 3),
        "speech_seconds_embedded": round(spoken, 2),  # speech in runs judged by their windows (>= 1 s)
        "window_seconds_embedded": round(tracker.window_seconds, 2),
        "embed_seconds_per_speech_second": round(tracker.embed_seconds / spoken, 4) if spoken else None,
        "label_delay_p50": _percentile(tracker.delays, 50),
        "label_delay_p95": _percentile(tracker.delays, 95),
        "label_delays": [round(d, 4) for d in tracker.delays],  # per utterance, for pooling over files
        "error": tracker.error,
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def print_report(r: StreamReport) -> None:
    rows = [
        ("audio", f"{r.audio_seconds:.1f} s, {r.mode}"),
        ("model / device", f"{r.model} / {r.device} {r.precision}"),
        ("encoder window", r.encoder_window),
        ("commit at pauses", f"{r.pause_commit_ms} ms" if r.pause_commit_ms else "off"),
        ("commits inside utterances", r.commit),
        ("WER stream vs reference", _pct(r.wer_vs_reference)),
        ("WER offline vs reference", _pct(r.offline_wer_vs_reference)),
        ("WER stream vs offline", _pct(r.wer_vs_offline)),
        ("word emission latency p50 / p95", f"{_fmt(r.emission_latency_p50)} / {_fmt(r.emission_latency_p95)}"),
        ("final latency p50 / p95", f"{_fmt(r.final_latency_p50)} / {_fmt(r.final_latency_p95)}"),
        ("first-word latency p50 / p95", f"{_fmt(r.first_word_latency_p50)} / {_fmt(r.first_word_latency_p95)}"),
        ("lag max", _fmt(r.lag_max)),
        ("RTF", f"{r.rtf:.3f}"),
        ("dropped audio", _fmt(r.dropped_seconds)),
        ("peak RSS", _fmt(r.peak_rss_mb, " MB")),
        ("peak GPU memory", _fmt(r.peak_gpu_mb, " MB")),
        ("hypotheses dropped", ", ".join(f"{k}: {v}" for k, v in r.hypotheses_dropped.items()) or "none"),
    ]
    if r.speaker_labels:
        s = r.speaker_labels
        rows += [("speakers (live)", ", ".join(s["speakers"]) or "none"),
                 ("speaker embedding per s of speech", _fmt(s["embed_seconds_per_speech_second"])),
                 ("label after utterance end p50 / p95", f"{_fmt(s['label_delay_p50'])} / {_fmt(s['label_delay_p95'])}")]
    for name, value in rows:
        print(f"{name:<34} {value}")
    print(f"\nstream:  {r.text}\noffline: {r.offline_text}")
