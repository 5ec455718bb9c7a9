"""``livecaption transcribe``: files in, transcripts out, with every check made before the model loads.

The options and paths were checked by ``livecaption.validation`` before this runs; what is left
here is mapping inputs to outputs (checked too, before the model loads) and the work itself.
With several inputs, a bad one is reported and skipped and the others are transcribed; the exit
status is 2 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from livecaption.asr.types import TranscribeOptions
from livecaption.audio.decode import AudioInput, decode_audio
from livecaption.commands.common import add_model_options, load_recognizer_for
from livecaption.errors import OutputError, UserError
from livecaption.outputs import check_output, write_exclusive
from livecaption.transcript.export import format_for, render


def register(commands) -> None:
    tr = commands.add_parser("transcribe", help="transcribe audio files")
    tr.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, mp3, ogg, aiff, ...)")
    add_model_options(tr)
    tr.add_argument("--language", default="auto", help="language code, or auto to detect (default: auto)")
    tr.add_argument("--task", default="transcribe", choices=("transcribe", "translate"))
    tr.add_argument("--prompt", default=None, help="text that primes vocabulary and style")
    tr.add_argument("--beam-size", type=int, default=5, help="beam width; 1 = greedy (default: 5)")
    tr.add_argument("--batched", action="store_true",
                    help="decode speech windows cut at pauses in batches (faster on long files, greedy batches)")
    tr.add_argument("--batch-size", type=int, default=None, metavar="N",
                    help="with --batched: windows per batch (default: from free memory)")
    tr.add_argument("--speakers", default=None, metavar="auto|N",
                    help="label who speaks: auto, or the number of speakers (needs 'livecaption[speakers]')")
    tr.add_argument("--format", choices=("txt", "srt", "vtt", "json"), default=None,
                    help="output format (default: from -o's extension, else txt)")
    tr.add_argument("-o", "--output", default=None,
                    help="output file (one input) or folder (several inputs); default: stdout")
    tr.add_argument("--force", action="store_true", help="overwrite existing output files")
    tr.set_defaults(func=run_transcribe)


@dataclass(frozen=True)
class Job:
    source: AudioInput
    output: Path | None  # None = stdout


def _format_for(args: argparse.Namespace) -> str:
    # With several inputs -o is a folder, whose name says nothing about the format.
    return format_for(args.output if len(args.files) == 1 and not _names_folder(args.output) else None, args.format)


def _names_folder(output: str | None) -> bool:
    """``-o out/`` names a folder even when it does not exist yet (Path() would drop the slash)."""
    return bool(output) and (output.endswith(os.sep) or Path(output).is_dir())


def _check_folder_can_be_made(out: Path) -> None:
    for ancestor in (out, *out.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise OutputError(f"{out}: cannot create folder: {ancestor} is a file")
            if not os.access(ancestor, os.W_OK):
                raise OutputError(f"{out}: cannot create folder: {ancestor} is not writable")
            return


def plan_jobs(sources: list[AudioInput], output: str | None, fmt: str, force: bool,
              reads: list[Path] = (), named: int | None = None) -> list[Job]:
    """Map inputs to outputs and refuse unwritable, clobbering or self-overwriting outputs before any work.

    Nothing is created here: an output folder is made when the first transcript is written, so a
    run that transcribes nothing leaves nothing behind."""
    if output is None:
        return [Job(src, None) for src in sources]
    reads = [src.path for src in sources] + list(reads)
    out = Path(output)
    # How many inputs the user named decides it, not how many survived validation: with
    # `a.wav missing.wav -o outdir`, outdir is a folder even though only a.wav is left.
    single = (named if named is not None else len(sources)) == 1
    if single and not _names_folder(output) and not (out.exists() and out.is_dir()):
        check_output(out, force, reads)
        return [Job(sources[0], out)]
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: several inputs need -o to be a folder, and this is a file")
    _check_folder_can_be_made(out)
    jobs = [Job(src, out / f"{src.path.stem}.{fmt}") for src in sources]
    names = [job.output for job in jobs]
    if len(set(names)) != len(names):
        raise OutputError(f"{out}: several inputs share a file name; transcribe them to separate folders")
    if out.is_dir():
        for job in jobs:
            check_output(job.output, force, reads)
    return jobs


def _write(job: Job, text: str, force: bool, reads: list[Path]) -> None:
    folder = job.output.parent
    if not folder.is_dir():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create folder ({exc.strerror})") from None
    write_exclusive(job.output, text, force=force, reads=reads)


def run_transcribe(args: argparse.Namespace) -> int:
    from livecaption.validation import model_files

    failures = len(args.input_errors)
    for message in args.input_errors:  # found by validation; the other files are still transcribed
        print(f"livecaption: error: {message}", file=sys.stderr)
    if not args.inputs:
        return 2
    fmt = _format_for(args)
    options = TranscribeOptions(language=args.language, task=args.task, prompt=args.prompt, beam_size=args.beam_size,
                                batched=args.batched, batch_size=args.batch_size)
    reads = [src.path for src in args.inputs] + model_files(args.model)
    jobs = plan_jobs(args.inputs, args.output, fmt, args.force, reads, named=len(args.files))

    # The first file is decoded before the model loads: a file that cannot be decoded (corrupt,
    # all NaN) is then reported before that slow step, and a single bad file costs no load at all.
    # The others are decoded one at a time, so that only one recording is held in memory.
    decoded: dict[int, object] = {}
    try:
        decoded[0] = decode_audio(jobs[0].source)
    except UserError as exc:
        print(f"livecaption: error: {exc}", file=sys.stderr)
        failures += 1
        jobs = jobs[1:]
        if not jobs:
            return 2
    recognizer = load_recognizer_for(args)
    recognizer.check_options(options)
    outputs_to_stdout = [job for job in jobs if job.output is None]
    for index, job in enumerate(jobs):
        try:
            audio = decoded.pop(index) if index in decoded else decode_audio(job.source)
            result = recognizer.transcribe(audio, options)
            if args.speakers is not None:  # checked by validation: "auto" or a number, encoder present
                from livecaption.speakers.transcripts import label_transcription

                result = label_transcription(audio, result, args.speakers)
            if job.output is not None:
                _write(job, render(result, fmt), args.force, reads)
        except UserError as exc:
            print(f"livecaption: error: {exc}", file=sys.stderr)
            failures += 1
            continue
        if job.output is not None:
            print(f"{job.source} -> {job.output}", file=sys.stderr)
        elif fmt == "json" and len(outputs_to_stdout) > 1:
            print(json.dumps(json.loads(render(result, fmt)), ensure_ascii=False))  # one line per file
        else:
            if len(outputs_to_stdout) > 1:
                print(f"==> {job.source} <==")
            sys.stdout.write(render(result, fmt))
    return 2 if failures else 0
