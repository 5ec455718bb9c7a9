"""``livecaption transcribe``: files in, transcripts out, with every check made before the model loads."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from livecaption.asr.types import TranscribeOptions
from livecaption.audio.decode import check_audio_path, decode_audio
from livecaption.errors import OutputError, UserError
from livecaption.transcript.export import check_writable, format_for, render, write_text_atomic


@dataclass(frozen=True)
class Job:
    source: Path
    output: Path | None  # None = stdout


def _format_for(args: argparse.Namespace) -> str:
    # With several inputs -o is a folder, whose name says nothing about the format.
    return format_for(args.output if len(args.files) == 1 else None, args.format)


def plan_jobs(files: list[str], output: str | None, fmt: str, force: bool) -> list[Job]:
    """Map inputs to outputs and refuse unwritable or clobbering outputs before any work."""
    sources = [Path(f) for f in files]
    if output is None:
        return [Job(src, None) for src in sources]
    out = Path(output)
    if len(sources) == 1 and not out.is_dir():
        check_writable(out, force)
        return [Job(sources[0], out)]
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: several inputs need -o to be a folder, and this is a file")
    if not out.exists():
        try:
            out.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"{out}: cannot create folder ({exc.strerror})") from None
    jobs = [Job(src, out / f"{src.stem}.{fmt}") for src in sources]
    names = [job.output for job in jobs]
    if len(set(names)) != len(names):
        raise OutputError(f"{out}: several inputs share a file name; transcribe them to separate folders")
    for job in jobs:
        check_writable(job.output, force)
    return jobs


def run_transcribe(args: argparse.Namespace) -> int:
    from livecaption.cli import load_recognizer

    fmt = _format_for(args)
    language = None if args.language in (None, "", "auto") else args.language.lower()
    if args.batch_size is not None and not args.batched:
        raise UserError("--batch-size goes with --batched")
    options = TranscribeOptions(language=language, task=args.task, prompt=args.prompt, beam_size=args.beam_size,
                                batched=args.batched, batch_size=args.batch_size)
    jobs = plan_jobs(args.files, args.output, fmt, args.force)
    for job in jobs:  # a typo in a file name should not cost a model load
        check_audio_path(job.source)

    recognizer = load_recognizer(args)
    recognizer.check_options(options)
    failures = 0
    outputs_to_stdout = [job for job in jobs if job.output is None]
    for job in jobs:
        try:
            audio = decode_audio(job.source)
            result = recognizer.transcribe(audio, options)
        except UserError as exc:
            print(f"livecaption: error: {exc}", file=sys.stderr)
            failures += 1
            continue
        if job.output is not None:
            write_text_atomic(job.output, render(result, fmt), force=args.force)
            print(f"{job.source} -> {job.output}", file=sys.stderr)
        elif fmt == "json" and len(outputs_to_stdout) > 1:
            print(json.dumps(json.loads(render(result, fmt)), ensure_ascii=False))  # one line per file
        else:
            if len(outputs_to_stdout) > 1:
                print(f"==> {job.source} <==")
            sys.stdout.write(render(result, fmt))
    return 2 if failures else 0
