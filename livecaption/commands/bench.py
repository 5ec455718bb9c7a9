"""``livecaption bench``: measured speed and accuracy, as ratios against a baseline from the same run.

``--offline`` times whole-file transcription for each precision on this machine; ``--compare``
adds faster-whisper (CTranslate2) on the very same embedded bundle, audio, beam and options,
and every time is reported as a ratio to faster-whisper int8. The model is loaded and warmed
up before the clock starts, so only transcription is timed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from livecaption.asr.whisper.models import DEFAULT_MODEL, EMBEDDED_MODELS
from livecaption.asr.types import TranscribeOptions
from livecaption.audio.decode import SAMPLE_RATE, decode_audio
from livecaption.commands.common import add_vad_options, ct2_folder_for
from livecaption.errors import UserError
from livecaption.metrics import wer


@dataclass
class BenchRow:
    engine: str
    precision: str
    seconds: float
    rtf: float
    wer: float | None
    text: str
    ratio_to_baseline: float | None = None


def register(commands) -> None:
    bench = commands.add_parser("bench", help="measure latency, speed and accuracy on a recording")
    bench.add_argument("file", metavar="FILE", help="recording to measure on")
    bench.add_argument("--ref", default=None, metavar="TEXT_FILE", help="reference transcript for WER")
    pace = bench.add_mutually_exclusive_group()
    pace.add_argument("--realtime", action="store_true", help="stream at real-time pace (the default)")
    pace.add_argument("--fast", action="store_true", help="stream as fast as the worker allows, on a simulated clock")
    bench.add_argument("--events", default=None, metavar="EVENTS.jsonl", help="write one JSON line per committed word")
    bench.add_argument("--force", action="store_true", help="overwrite an existing --events file")
    bench.add_argument("--offline", action="store_true", help="time whole-file transcription per precision instead")
    bench.add_argument("--compare", action="store_true",
                       help="offline, also through faster-whisper (int8 and fp32; fp16 on CUDA): times as ratios to its int8")
    bench.add_argument("--batched", action="store_true", help="offline: also time livecaption's batched transcription")
    bench.add_argument("--cold", action="store_true",
                       help="time whole processes from launch (transcribe; listen --replay: ready, first caption), "
                            "with peak memory; with --compare next to faster-whisper's whole process")
    bench.add_argument("--model", default=DEFAULT_MODEL, help="model (default: tiny.en)")
    bench.add_argument("--device", default="cpu", help="streaming device (default: cpu)")
    bench.add_argument("--precision", default="auto", help="streaming precision (default: auto)")
    bench.add_argument("--precisions", default="fp32,bf16,int8,fp16", help="with --offline: comma-separated list")
    bench.add_argument("--beam-size", type=int, default=None, help="default: 5 offline, 1 streaming")
    bench.add_argument("--language", default=None)
    bench.add_argument("--task", default="transcribe", choices=("transcribe", "translate"),
                       help="streaming: translate = English captions (multilingual models)")
    bench.add_argument("--prompt", default=None, metavar="TEXT", help="streaming: a vocabulary prompt")
    bench.add_argument("--encoder-padding", default=None, metavar="SECONDS|full", type=_padding,
                       help="streaming: encoder window = the audio plus this padding (default: "
                            "'full', Whisper's whole 30 s window)")
    bench.add_argument("--repeat", type=int, default=1, help="with --offline: timed runs per engine, the best is kept; with --cold: runs per process, the median is kept")
    bench.add_argument("--soak", type=float, default=None, metavar="MINUTES",
                       help="replay FILE as turns of a meeting this long on the simulated clock: memory, lag, "
                            "every turn committed")
    bench.add_argument("--pause", type=float, default=120.0, metavar="SECONDS",
                       help="with --soak: room tone between turns (default 120)")
    bench.add_argument("--speakers", default=None, metavar="auto",
                       help="streaming: label speakers live, as the window does (one embedding per utterance, "
                            "off the caption path); --events lines carry each word's speaker")
    bench.add_argument("--system-audio-file", default=None, metavar="SYSTEM_FILE",
                       help="meeting capture: replay FILE as the microphone and this as the system audio at once "
                            "(each alone first); per-input WER, latency, dropped audio and word attribution")
    bench.add_argument("--system-ref", default=None, metavar="TEXT_FILE",
                       help="with --system-audio-file: its reference transcript (--ref is FILE's)")
    bench.add_argument("--json", action="store_true", help="print the results as JSON")
    add_vad_options(bench)
    bench.set_defaults(func=_dispatch)


def _padding(text: str) -> float | str:
    if text == "full":
        return "full"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is neither a number of seconds nor 'full'") from None
    if not 0 <= value <= 30:
        raise argparse.ArgumentTypeError("padding must be between 0 and 30 s")
    return value


def _dispatch(args: argparse.Namespace) -> int:
    # Options, paths and bounds were checked by livecaption.validation before this runs.
    if args.soak is not None:
        if getattr(args, "inputs", None):  # a pipe was read once by validation: hand over what it gave
            args.file = args.inputs[0]
        from livecaption.commands.soak import run_soak_bench

        return run_soak_bench(args)
    if args.cold:
        from livecaption.commands.bench_cold import run_cold_bench

        return run_cold_bench(args)
    if args.offline or args.compare:  # a comparison with faster-whisper is of whole-file transcription
        if args.beam_size is None:
            args.beam_size = 5
        return run_bench(args)
    if args.system_audio_file is not None:
        from livecaption.commands.bench_meeting import run_meeting_bench

        return run_meeting_bench(args)
    from livecaption.commands.bench_stream import run_stream_bench

    return run_stream_bench(args)


def _timed(run, repeat: int) -> tuple[float, str]:
    best, text = float("inf"), ""
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        text = run()
        best = min(best, time.perf_counter() - start)
    return best, text


def bench_livecaption(model: str, device: str, precision: str, audio, options: TranscribeOptions,
                      repeat: int) -> tuple[float, str]:
    from livecaption.asr import load_recognizer

    recognizer = load_recognizer(model, device, precision)
    recognizer.transcribe(audio[: SAMPLE_RATE * 5], options)  # warm-up: first decode is always slow
    return _timed(lambda: recognizer.transcribe(audio, options).text, repeat)


def bench_faster_whisper(folder: Path, device: str, compute_type: str, audio, options: TranscribeOptions,
                         repeat: int):
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise UserError("--compare needs faster-whisper: pip install 'livecaption[bench]'") from None
    import torch

    from livecaption.asr.whisper.settings import WhisperOptions

    model = WhisperModel(str(folder), device=device, compute_type=compute_type, cpu_threads=torch.get_num_threads())
    options = WhisperOptions.of(options)  # the very settings livecaption's Whisper decodes with
    kwargs = dict(
        language=options.language,
        beam_size=options.beam_size,
        temperature=list(options.temperatures),
        word_timestamps=options.word_timestamps,
        condition_on_previous_text=options.condition_on_previous_text,
    )

    def run() -> str:
        segments, _ = model.transcribe(audio, **kwargs)
        return "".join(seg.text for seg in segments).strip()

    model.transcribe(audio[: SAMPLE_RATE * 5], **kwargs)
    return _timed(run, repeat)


def run_bench(args: argparse.Namespace) -> int:
    import torch

    if args.model not in EMBEDDED_MODELS:
        raise UserError(f"bench runs on an embedded model ({', '.join(EMBEDDED_MODELS)}), not '{args.model}'")
    audio = decode_audio(args.inputs[0] if getattr(args, "inputs", None) else args.file)
    duration = len(audio) / SAMPLE_RATE
    reference = Path(args.ref).read_text(encoding="utf-8") if args.ref else None
    options = TranscribeOptions(language=args.language, beam_size=args.beam_size)
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    rows: list[BenchRow] = []

    def add(engine: str, precision: str, seconds: float, text: str) -> None:
        rows.append(BenchRow(engine, precision, seconds, seconds / duration, wer(reference, text) if reference else None, text))
        print(f"  {engine} {precision}: {seconds:.2f} s", file=sys.stderr)

    print(f"bench: {args.file} ({duration:.1f} s), model {args.model}, beam {args.beam_size}, "
          f"{torch.get_num_threads()} threads", file=sys.stderr)
    if args.compare:
        with tempfile.TemporaryDirectory() as scratch:
            folder = ct2_folder_for(args.model, Path(scratch))
            kinds = [("cpu", "int8", "int8"), ("cpu", "float32", "fp32")]
            if args.device.startswith("cuda"):
                kinds.append(("cuda", "float16", "fp16"))
            for device, compute_type, label in kinds:
                add(f"faster-whisper {device}", label,
                    *bench_faster_whisper(folder, device, compute_type, audio, options, args.repeat))
    # A precision the device cannot run (int8 on CUDA) is left out with a note, not an abort halfway
    # through the table; the default list names int8 for the CPU's sake.
    from livecaption.asr.device import supported_precisions

    unsupported = supported_precisions(args.device)
    for precision in [p for p in precisions if unsupported.get(p)]:
        print(f"  livecaption {args.device} {precision}: skipped ({unsupported[precision]})", file=sys.stderr)
    for precision in [p for p in precisions if not unsupported.get(p)]:
        engine = f"livecaption {args.device}"
        add(engine, precision, *bench_livecaption(args.model, args.device, precision, audio, options, args.repeat))
        if args.batched:
            batched = replace(options, batched=True)
            add(f"{engine} batched", precision,
                *bench_livecaption(args.model, args.device, precision, audio, batched, args.repeat))

    baseline = next((r for r in rows if r.engine == "faster-whisper cpu" and r.precision == "int8"), None)
    for row in rows:
        row.ratio_to_baseline = row.seconds / baseline.seconds if baseline else None
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print_table(rows, baseline is not None)
    return 0


def print_table(rows: list[BenchRow], with_ratio: bool) -> None:
    header = "| engine | precision | seconds | RTF | WER |" + (" time vs faster-whisper int8 |" if with_ratio else "")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        cells = [r.engine, r.precision, f"{r.seconds:.2f}", f"{r.rtf:.3f}", "-" if r.wer is None else f"{100 * r.wer:.1f}%"]
        if with_ratio:
            cells.append(f"{r.ratio_to_baseline:.2f}x")
        print("| " + " | ".join(cells) + " |")
