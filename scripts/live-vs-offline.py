"""Issue #16's measurement: live text against offline text, and how much it depends on the load.

For each recording (with its reference in RECORDING.txt, as scripts/make-bench-audio.py writes
it): the offline WER of the same model (whole file, beam 5), then the streaming WER, final and
word-emission latency p50 for each commit mode ("agreement", "pauses") on the simulated clock
with decodes charged their measured compute time ("c") and exactly 0.3 s and 0.8 s (a fast and a
slow machine, reproducibly), and how much the texts at the three speeds differ from each other.
With --realtime, one more run per mode at real-time pace (RealClock).

    .venv/bin/python scripts/live-vs-offline.py /tmp/english.wav [/tmp/long.wav] [--precision int8]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from pathlib import Path

from livecaption.asr import load_recognizer
from livecaption.asr.types import TranscribeOptions
from livecaption.audio.decode import decode_audio
from livecaption.metrics import wer
from livecaption.streaming.clock import RealClock, SimulatedClock
from livecaption.streaming.options import StreamingOptions
from livecaption.streaming.replay import stream_file


def run(recognizer, audio, commit: str, schedule) -> dict:
    if schedule == "realtime":
        clock, fast = RealClock(), False
    else:
        clock, fast = SimulatedClock(decode_seconds=None if schedule == "c" else schedule), True
    pipeline = stream_file(recognizer, audio, fast=fast, options=StreamingOptions(commit=commit), clock=clock)
    core = pipeline.core
    emission = [w.emitted - w.end for w in pipeline.committed]
    return {"text": pipeline.transcript_text,
            "final_p50": statistics.median(core.final_latencies) if core.final_latencies else None,
            "emission_p50": statistics.median(emission) if emission else None}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("recordings", nargs="+")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--realtime", action="store_true")
    parser.add_argument("--json", default=None, help="also write every run here")
    args = parser.parse_args()
    recognizer = load_recognizer(args.model, "cpu", args.precision)
    schedules = ["c", 0.3, 0.8] + (["realtime"] if args.realtime else [])
    rows, dump = [], {}
    for path in args.recordings:
        audio = decode_audio(path)
        reference = Path(path).with_suffix(".txt").read_text(encoding="utf-8")
        offline = recognizer.transcribe(audio, TranscribeOptions(beam_size=5)).text
        for commit in ("agreement", "pauses"):
            runs = {s: run(recognizer, audio, commit, s) for s in schedules}
            dump[f"{Path(path).name} {commit}"] = runs
            fixed = [runs[s]["text"] for s in ("c", 0.3, 0.8)]
            spread = max(wer(a, b) for a, b in itertools.combinations(fixed, 2))
            rows.append((Path(path).name, commit, wer(reference, offline),
                         [wer(reference, runs[s]["text"]) for s in schedules],
                         [runs[s]["final_p50"] for s in schedules], [runs[s]["emission_p50"] for s in schedules],
                         spread))
            print(f"{path} {commit} done", file=sys.stderr)
    names = " / ".join(str(s) for s in schedules)
    print(f"\n{args.model} {args.precision}; schedules {names}\n")
    print(f"| recording | commit | offline WER | stream WER {names} | final latency p50 {names} | "
          f"word emission p50 {names} | largest text difference between c / 0.3 / 0.8 |")
    print("|---|---|---|---|---|---|---|")
    pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
    sec = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    for name, commit, off, wers, finals, emissions, spread in rows:
        print(f"| {name} | {commit} | {pct(off)} | {' / '.join(map(pct, wers))} | {' / '.join(map(sec, finals))} s | "
              f"{' / '.join(map(sec, emissions))} s | {pct(spread)} |")
    if args.json:
        Path(args.json).write_text(json.dumps(dump, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
