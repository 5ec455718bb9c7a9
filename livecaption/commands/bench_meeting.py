"""``livecaption bench MIC_FILE --system-audio-file SYSTEM_FILE``: two recordings replayed as the
microphone and the system audio of one meeting capture, one model decoding both (issue #11).

Each recording is first replayed alone through the same pipeline, then both at once. Per input:
WER (against ``--ref``/``--system-ref``, else against that input's offline transcript) alone and
together, final latency p50/p95 (the microphone's including the echo check's hold: what the user
waits for), dropped audio; and RTF over both (the model's decode time, not the waits for a turn).
Word attribution is the share of committed words whose input was speaking then (its VAD heard
voice within the word's span): a word invented on a silent input counts against it; an echo, which
is voice on the microphone too, does not (the echo check's own tests cover that).
With ``--fast`` each input runs on its own simulated clock while the echo check and the turns are
timed on the wall clock: its text figures hold, its latencies and holds do not.
``--events`` writes one JSON line per committed word with its ``source`` and ``speaker``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from livecaption.asr import load_recognizer
from livecaption.asr.types import TranscribeOptions
from livecaption.audio.decode import SAMPLE_RATE, decode_audio
from livecaption.audio.sources import FileReplaySource
from livecaption.audio.vad import VadGate
from livecaption.commands.common import fmt as _fmt, percentile as _percentile, vad_options_from
from livecaption.metrics import wer
from livecaption.streaming.clock import RealClock, SimulatedClock
from livecaption.streaming.events import MICROPHONE, SOURCE_SPEAKERS, SYSTEM
from livecaption.streaming.meeting import MeetingCapture
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.streaming.replay import stream_file
from livecaption.transcript.export import write_text_atomic

FRAME = 480  # 30 ms at 16 kHz: webrtcvad's frame


@dataclass
class InputReport:
    source: str
    speaker: str
    file: str
    audio_seconds: float
    words: int
    wer_alone: float
    wer_together: float
    wer_against: str  # "reference" or "offline"
    final_latency_p50_alone: float | None
    final_latency_p50: float | None
    final_latency_p95: float | None
    dropped_seconds: float
    rtf_alone: float
    # The microphone's captions wait for the echo check before anyone sees them: on top of the
    # final latency above (None for the system audio, which never waits).
    echo_hold_p50: float | None = None
    echo_hold_p95: float | None = None


@dataclass
class MeetingReport:
    mode: str
    model: str
    device: str
    precision: str
    inputs: list
    rtf_together: float
    word_attribution: float
    echo_words_dropped: int


def voiced_at(audio: np.ndarray) -> np.ndarray:
    """Per 30 ms frame: did webrtcvad (mode 2) hear voice in it."""
    gate = VadGate(VadOptions(aggressiveness=2))
    return np.array([gate.is_speech(audio[i:i + FRAME]) for i in range(0, len(audio) - FRAME + 1, FRAME)], dtype=bool)


def attributed(word, voiced: np.ndarray, slack_s: float = 0.3) -> bool:
    """Whether the input a word was labelled with had voice within its span (a little slack: word
    times from decoding are approximate)."""
    first = max(0, int((word.start - slack_s) * SAMPLE_RATE) // FRAME)
    last = int((word.end + slack_s) * SAMPLE_RATE) // FRAME + 1
    return bool(voiced[first:last].any())


def run_meeting_bench(args: argparse.Namespace) -> int:
    inputs = getattr(args, "inputs", None) or [args.file, args.system_audio_file]  # checked; a pipe read once
    audio = {sid: decode_audio(name) for sid, name in zip((MICROPHONE, SYSTEM), inputs)}
    files = {MICROPHONE: str(args.file), SYSTEM: str(args.system_audio_file)}
    refs = {MICROPHONE: args.ref, SYSTEM: args.system_ref}
    references = {sid: Path(ref).read_text(encoding="utf-8") if ref else None for sid, ref in refs.items()}
    recognizer = load_recognizer(args.model, args.device, args.precision)
    options = StreamingOptions(language=args.language, pause_commit_ms=args.pause_commit_ms, commit=args.commit)
    vad_options = vad_options_from(args)
    recognizer.transcribe(audio[MICROPHONE][: SAMPLE_RATE * 3], TranscribeOptions(beam_size=1))  # warm-up
    offline = {sid: recognizer.transcribe(a, TranscribeOptions(language=args.language)).text for sid, a in audio.items()}
    truth = {sid: references[sid] or offline[sid] for sid in files}
    mode = "fast" if args.fast else "realtime"
    print(f"bench: {files[MICROPHONE]} as the microphone and {files[SYSTEM]} as the system audio ({mode}) with "
          f"{args.model} on {recognizer.describe_device()}; each alone first", file=sys.stderr)
    alone = {sid: stream_file(recognizer, a, args.fast, options, vad_options) for sid, a in audio.items()}
    capture = MeetingCapture(recognizer, {sid: FileReplaySource(a, realtime=not args.fast) for sid, a in audio.items()},
                             options, vad_options, clock_factory=SimulatedClock if args.fast else RealClock)
    capture.start()
    capture.wait()
    if capture.error is not None:
        raise capture.error
    voiced = {sid: voiced_at(a) for sid, a in audio.items()}
    together = capture.pipelines
    words = [(sid, w) for sid, pipeline in together.items() for w in pipeline.committed]
    right = sum(attributed(w, voiced[sid]) for sid, w in words)
    compute = capture.shared.busy_seconds  # the model's own time: waits for turns are not compute
    holds = capture.echo.hold_seconds if capture.echo else []
    # Final latency as the user meets it: the microphone's utterance ends also waited for the echo check.
    shown = {sid: list(p.core.final_latencies) for sid, p in together.items()}
    if capture.echo is not None:
        shown[MICROPHONE] = [lat + hold for lat, hold in zip(shown[MICROPHONE], capture.echo.final_holds)]
    inputs = [InputReport(
        source=sid, speaker=SOURCE_SPEAKERS[sid], file=files[sid], audio_seconds=len(audio[sid]) / SAMPLE_RATE,
        words=len(together[sid].committed),
        wer_alone=wer(truth[sid], alone[sid].transcript_text), wer_together=wer(truth[sid], together[sid].transcript_text),
        wer_against="reference" if references[sid] else "offline",
        final_latency_p50_alone=_percentile(alone[sid].core.final_latencies, 50),
        final_latency_p50=_percentile(shown[sid], 50),
        final_latency_p95=_percentile(shown[sid], 95),
        dropped_seconds=together[sid].ring.dropped_seconds, rtf_alone=alone[sid].stats().rtf,
        echo_hold_p50=_percentile(holds, 50) if sid == MICROPHONE else None,
        echo_hold_p95=_percentile(holds, 95) if sid == MICROPHONE else None,
    ) for sid in files]
    report = MeetingReport(
        mode=mode, model=args.model, device=recognizer.choice.device, precision=recognizer.choice.precision,
        inputs=inputs, rtf_together=compute / max(max(r.audio_seconds for r in inputs), 1e-9),
        word_attribution=right / len(words) if words else 1.0,
        echo_words_dropped=capture.echo.dropped_words if capture.echo else 0,
    )
    if args.json:
        print(json.dumps(asdict(report), indent=2, ensure_ascii=False))
    else:
        print_meeting_report(report)
    if args.fast:
        print("note: --fast: text figures only; latencies and echo holds need --realtime", file=sys.stderr)
    if args.events:
        lines = [json.dumps({"word": w.text, "start": round(w.start, 3), "end": round(w.end, 3),
                             "emitted": round(w.emitted, 3), "source": sid, "speaker": SOURCE_SPEAKERS[sid]},
                            ensure_ascii=False)
                 for sid, w in sorted(words, key=lambda item: item[1].start)]
        write_text_atomic(Path(args.events), "".join(line + "\n" for line in lines), force=args.force,
                          reads=[*files.values(), args.ref, args.system_ref])
    return 0


def print_meeting_report(r: MeetingReport) -> None:
    print(f"{r.mode}, {r.model} on {r.device} {r.precision}; RTF both inputs {r.rtf_together:.3f}; "
          f"word attribution {100 * r.word_attribution:.1f}%; echo words dropped {r.echo_words_dropped}")
    print(f"{'input':<12} {'WER alone':>9} {'together':>9} {'final p50 alone':>15} {'p50':>7} {'p95':>7} "
          f"{'dropped':>8} {'echo hold p95':>13}  vs")
    for i in r.inputs:
        print(f"{i.speaker:<12} {100 * i.wer_alone:>8.1f}% {100 * i.wer_together:>8.1f}% "
              f"{_fmt(i.final_latency_p50_alone):>15} {_fmt(i.final_latency_p50):>7} {_fmt(i.final_latency_p95):>7} "
              f"{_fmt(i.dropped_seconds):>8} {_fmt(i.echo_hold_p95):>13}  {i.wer_against}")
