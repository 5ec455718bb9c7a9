"""Diarization error rate of speaker-labelled transcripts on ../shared/speech/diarization (issue #12).

For each recording: label it with the app's own commands, ``python -m livecaption transcribe
FILE --speakers auto --format json`` (and ``--speakers N``, the reference's number of speakers;
embedded tiny.en), give each word its segment's speaker, join them into speaker turns and score
them against the reference RTTM (0.25 s collar each side, overlap scored, train.uem for the AMI
clips). With ``--live`` also the live path, ``livecaption bench FILE --fast --speakers auto
--events E.jsonl``, whose events lines carry each word's speaker as saved (``speaker``: the
live labels after the stream's end, reclustered as at save) and as first shown live
(``first_speaker``); both are scored. The baseline labels every
transcribed word as one speaker, so all share the same speech detection (the transcript's word
timings) and differ only in labels.

    .venv/bin/python scripts/diarize-eval.py                      # transcripts into a temp folder
    .venv/bin/python scripts/diarize-eval.py --transcripts /tmp/dia/json --reuse
    .venv/bin/python scripts/diarize-eval.py --livecaption-root /path/to/checkout  # its transcribe

Also prints the embedding cost (seconds of compute per second of embedded speech) and the
"floor": the DER that perfect labels would still get from this speech detection (missed overlap,
untranscribed speech, transcript time outside reference speech).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from livecaption.audio.decode import decode_audio  # noqa: E402
from livecaption.speakers.encoder import EncoderOptions, VoiceEncoder  # noqa: E402
from livecaption.speakers.der import DerResult, diarization_error, read_rttm, read_uem  # noqa: E402
from livecaption.speakers.labeling import FileLabelOptions, label_words, speaker_turns  # noqa: E402

SPEECH = ROOT.parent / "shared" / "speech"


class TimedEncoder:
    """The shared encoder, counting compute seconds and seconds of audio embedded."""

    def __init__(self, threads: int | None):
        self.inner = VoiceEncoder(options=EncoderOptions(threads=threads))
        self.seconds, self.audio = 0.0, 0.0

    def embed_utterances(self, wavs):
        started = time.perf_counter()
        out = self.inner.embed_utterances(wavs)
        self.seconds += time.perf_counter() - started
        self.audio += sum(len(w) for w in wavs) / 16000
        return out


def recordings(folder: Path) -> list[tuple[str, Path, list, list | None]]:
    manifest = json.loads((folder.parent / "manifest.json").read_text())["diarization"]
    out = []
    for name in manifest["files"]:
        file_id = Path(name).stem
        if name == "sample.wav":
            out.append((file_id, folder / name, read_rttm(folder / "sample.rttm"), None))
        else:
            out.append((file_id, folder / name, read_rttm(folder / "train.rttm", file_id),
                        read_uem(folder / "train.uem", file_id)))
    return out


def transcribe(path: Path, target: Path, reuse: bool, root: Path, speakers: str) -> float:
    if reuse and target.is_file():
        return 0.0
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "livecaption", "transcribe", str(path), "--speakers", speakers,
                    "--format", "json", "-o", str(target), "--force"], cwd=root, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def live_bench(path: Path, target: Path, reuse: bool, root: Path) -> dict:
    """``bench --fast --speakers auto``: its events (one line per word, with speaker) and its JSON report."""
    report = target.with_suffix(".report.json")
    if not (reuse and target.is_file() and report.is_file()):
        done = subprocess.run([sys.executable, "-m", "livecaption", "bench", str(path), "--fast", "--speakers", "auto",
                               "--events", str(target), "--force", "--json"], cwd=root, check=True,
                              capture_output=True, text=True)
        report.write_text(done.stdout)
    return json.loads(report.read_text())


def labelled_words(transcript: Path) -> tuple[list[tuple[float, float]], list[str | None]]:
    """Each word's (start, end) and its segment's speaker, from a ``transcribe --speakers`` JSON."""
    data = json.loads(transcript.read_text())
    words, labels = [], []
    for segment in data["segments"]:
        for word in segment.get("words") or [{"start": segment["start"], "end": segment["end"]}]:
            words.append((float(word["start"]), float(word["end"])))
            labels.append(segment.get("speaker"))
    return words, labels


def event_words(events: Path) -> tuple[list[tuple[float, float]], list[str | None], list[str | None]]:
    """Each word's times, its speaker as saved and its speaker as first shown live."""
    lines = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    return ([(float(e["start"]), float(e["end"])) for e in lines], [e.get("speaker") for e in lines],
            [e.get("first_speaker") for e in lines])


def floor(reference, words, uem) -> DerResult:
    """DER with the best possible single label per instant: labels copied from the reference."""
    turns = []
    for start, end in words:
        talking = [(min(e, end) - max(s, start), label) for s, e, label in reference if s < end and e > start]
        if talking:
            turns.append((start, end, max(talking)[1]))
        else:
            turns.append((start, end, "\0nobody"))
    return diarization_error(reference, turns, uem=uem)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=Path, help="folder for the JSON transcripts (default: a temp folder)")
    parser.add_argument("--reuse", action="store_true", help="reuse transcripts already in --transcripts")
    parser.add_argument("--livecaption-root", type=Path, default=ROOT,
                        help="checkout whose `python -m livecaption transcribe` makes the transcripts")
    parser.add_argument("--threads", type=int, default=1, help="torch threads while embedding (0: torch's default)")
    parser.add_argument("--live", action="store_true", help="also score the live path (bench --fast --speakers auto)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    folder = args.transcripts or Path(tempfile.mkdtemp(prefix="diarize-eval-"))
    folder.mkdir(parents=True, exist_ok=True)
    encoder = TimedEncoder(args.threads or None)
    encoder.embed_utterances([decode_audio(SPEECH / "jfk.flac")])  # warm-up, not counted
    encoder.seconds = encoder.audio = 0.0

    rows, totals = [], {}
    modes = ("one speaker", "auto", "N given", "floor") + (("live", "live first", "live floor") if args.live else ())
    print(f"{'file':8s} {'speakers':>8s} " + " ".join(f"{m:>11s}" for m in modes) + "  found")
    live_cost, live_delays = [], []
    for file_id, path, reference, uem in recordings(SPEECH / "diarization"):
        n_ref = len({label for *_, label in reference})
        results = {}
        for mode, speakers in (("auto", "auto"), ("N given", str(n_ref))):
            target = folder / f"{file_id}.{speakers}.json"
            transcribe(path, target, args.reuse, args.livecaption_root, speakers)
            words, labels = labelled_words(target)
            results[mode] = diarization_error(reference, speaker_turns(words, labels), uem=uem)
            if mode == "auto":
                found = len({lab for lab in labels if lab is not None})
                auto_words = words
        words = auto_words
        results["one speaker"] = diarization_error(reference, [(s, e, "one") for s, e in words if e > s], uem=uem)
        results["floor"] = floor(reference, words, uem)
        if args.live:
            report = live_bench(path, folder / f"{file_id}.live.jsonl", args.reuse, args.livecaption_root)
            live_words, live_labels, first_labels = event_words(folder / f"{file_id}.live.jsonl")
            results["live"] = diarization_error(reference, speaker_turns(live_words, live_labels), uem=uem)
            results["live first"] = diarization_error(reference, speaker_turns(live_words, first_labels), uem=uem)
            results["live floor"] = floor(reference, live_words, uem)
            summary = report["speaker_labels"]
            live_cost.append((summary["embed_seconds"], summary["speech_seconds_embedded"]))
            live_delays += summary.get("label_delays", [])
        # The embedding cost, measured here in one process (the CLI's own labelling runs in a subprocess).
        audio = decode_audio(path)
        if words:
            label_words(audio, words, "auto", FileLabelOptions(), encoder)
        for key, value in results.items():
            if file_id != "sample":
                totals[key] = totals[key] + value if key in totals else value
        rows.append({"file": file_id, "speakers": n_ref, "found": found,
                     **{k: {"der": v.der, "missed": v.missed, "false_alarm": v.false_alarm,
                            "confusion": v.confusion, "total": v.total} for k, v in results.items()}})
        print(f"{file_id:8s} {n_ref:8d} " + " ".join(f"{results[m].der:11.1%}" for m in modes) + f"  {found}", flush=True)
    ami = [r for r in rows if r["file"] != "sample"]
    for key in modes:
        mean = np.mean([r[key]["der"] for r in ami])
        pooled = totals[key]
        print(f"AMI {key:12s}: mean of files {mean:7.1%}; pooled {pooled.der:6.1%} (missed {pooled.missed:.1f} s, "
              f"false alarm {pooled.false_alarm:.1f} s, confusion {pooled.confusion:.1f} s of {pooled.total:.1f} s)")
    if live_cost:
        spent, speech = map(sum, zip(*live_cost))
        print(f"live embedding: {spent:.2f} s for {speech:.1f} s of utterances = {spent / max(speech, 1e-9):.4f} s "
              "per second of speech (1.5 s windows every 0.5 s, on the labels' own thread)")
        if live_delays:
            print(f"live label delay after the utterance's captions: p50 {np.percentile(live_delays, 50):.3f} s, "
                  f"p95 {np.percentile(live_delays, 95):.3f} s, max {max(live_delays):.3f} s ({len(live_delays)} utterances)")
    cost = encoder.seconds / max(encoder.audio, 1e-9)
    print(f"embedding: {encoder.seconds:.2f} s for {encoder.audio:.1f} s of windows = {cost:.4f} s per second "
          f"of speech ({platform.processor() or platform.machine()}, embedding threads: "
          f"{args.threads or __import__('torch').get_num_threads()}, {date.today()})")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "embedding_seconds_per_second": cost}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
