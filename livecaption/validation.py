"""One validation layer for every command: options, paths and environment, before any slow work.

``cli.main`` calls ``validate(args)`` right after parsing. Everything that can be checked cheaply
is checked here, in the same way for every command, so that a typo never costs a model
conversion, a model load or an opened microphone, and so that no command is more trusting than
another: numbers are bounded (a beam of 60000 would eat all memory before failing), language codes
are normalised and checked against what the model's metadata declares, input files are checked
(and pipes read once), outputs are checked for clobbering and for being one of the inputs, and the
folders named by the environment are checked for being folders.

What it finds is left on ``args`` for the command: ``args.language`` normalised, ``args.inputs``
(checked ``AudioInput``s), ``args.input_errors`` (one line per bad input among several).
"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

from livecaption.errors import AudioError, UserError

# option dest -> (flag, lowest, highest). The highs are far above any useful value and far below
# what would exhaust memory or time before any output.
LIMITS: dict[str, tuple[str, float, float]] = {
    "beam_size": ("--beam-size", 1, 20),
    "batch_size": ("--batch-size", 1, 256),
    "hangover_ms": ("--hangover-ms", 30, 10_000),
    "pause_commit_ms": ("--pause-commit-ms", 0, 10_000),
    "repeat": ("--repeat", 1, 100),
    "soak": ("--soak", 0.1, 24 * 60),
    "pause": ("--pause", 0, 3600),
}
MAX_PROMPT_CHARS = 10_000  # Whisper reads at most 223 prompt tokens; more text is only cost
MAX_REFERENCE_BYTES = 10 * 2**20
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
PRECISION_NAMES = ("auto", "fp32", "fp16", "bf16", "int8")


def check_bounds(args: argparse.Namespace) -> None:
    for dest, (flag, low, high) in LIMITS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"{flag} must be a number from {low:g} to {high:g}, not {value}")
        if not low <= value <= high:
            raise UserError(f"{flag} must be from {low:g} to {high:g}, not {value:g}")


def normalize_language(value: str | None) -> str | None:
    """None for auto-detection, else a lower-case code; 'EN' and ' en ' mean 'en'."""
    code = (value or "").strip().lower()
    if code in ("", "auto"):
        return None
    if not _LANGUAGE.match(code):
        raise UserError(f"invalid language '{value}': use a code such as en, de or fr, or auto")
    return code


def check_language_for_model(model: str, language: str | None, task: str = "transcribe") -> None:
    """Refuse a language (or translation) the model cannot do, from its metadata, before it is
    converted or loaded; the runtime checks again once it is loaded, for models whose metadata
    is not at hand (hub ids)."""
    from livecaption.asr import declared_languages

    languages = declared_languages(model)
    if languages is None:
        return
    if not languages:
        if language not in (None, "en"):
            raise UserError(f"model '{model}' is English-only; it cannot transcribe '{language}'")
        if task == "translate":
            raise UserError(f"model '{model}' is English-only; translation needs a multilingual model")
    elif language is not None and language not in languages:
        raise UserError(f"unknown language '{language}'; this model knows: {', '.join(sorted(languages))}")


def check_device(device: str | None, precision: str | None) -> None:
    if device is not None and not _DEVICE.match(device.strip().lower()):
        raise UserError(f"invalid device '{device}': use auto, cpu, cuda or cuda:N")
    for name in (precision or "auto").split(","):
        if name.strip().lower() not in PRECISION_NAMES:
            raise UserError(f"invalid precision '{name.strip()}': use one of {', '.join(PRECISION_NAMES)}")


def check_env_folder(name: str, writable: bool = False) -> None:
    """A folder named by the environment must be a folder, or creatable as one (and writable, for
    a command that will write there)."""
    value = os.environ.get(name)
    if not value:
        return
    path = Path(value).expanduser()
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                what = "is a file" if candidate == path else f"cannot be created: {candidate} is a file"
                raise UserError(f"{name}={value} {what}, not a folder; point it at a folder or unset it")
            if writable and not os.access(candidate, os.W_OK):
                raise UserError(f"{name}={value}: {candidate} is not writable")
            return


def check_creatable_folder(folder: Path, purpose: str, writable: bool = False) -> None:
    """``folder`` exists as a folder or can be made (the nearest existing ancestor is a folder)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise UserError(f"{folder}: cannot keep {purpose} there: {candidate} is a file, not a folder "
                                "(move it away, or point LIVECAPTION_DATA_DIR / LIVECAPTION_CACHE_DIR elsewhere)")
            if writable and not os.access(candidate, os.W_OK):
                raise UserError(f"{folder}: cannot keep {purpose} there: {candidate} is not writable")
            return


def check_sessions_folder(writable: bool = False) -> None:
    """The journals' folder (in the data folder, wherever the environment puts it)."""
    from livecaption.transcript.journal import sessions_dir

    check_creatable_folder(sessions_dir(), "session journals", writable)


def check_cache_folder() -> None:
    from livecaption.asr.locate import cache_dir

    check_creatable_folder(cache_dir() / "models", "converted models")


def model_files(model: str | None) -> list[Path]:
    """The files of a local model folder: outputs must never land on one of them."""
    folder = Path(model).expanduser() if model else None
    if folder is None or not folder.is_dir():
        return []
    try:
        return [p for p in folder.iterdir() if p.is_file()]
    except OSError:
        return []


def check_reference(path: str) -> Path:
    """``--ref``: an existing, readable, reasonably sized UTF-8 text file."""
    ref = Path(path)
    if not ref.exists():
        raise UserError(f"{ref}: no such file (--ref)")
    if not ref.is_file():
        raise UserError(f"{ref}: not a regular file (--ref needs a text file)")
    if ref.stat().st_size > MAX_REFERENCE_BYTES:
        raise UserError(f"{ref}: larger than {MAX_REFERENCE_BYTES // 2**20} MB; --ref is a transcript, not audio")
    try:
        ref.read_bytes().decode("utf-8")
    except OSError as exc:
        raise UserError(f"{ref}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise UserError(f"{ref}: not UTF-8 text (--ref needs the reference transcript)") from None
    return ref


_PATH_OPTIONS = (("file", "FILE"), ("output", "-o"), ("replay", "--replay"), ("ref", "--ref"), ("events", "--events"),
                 ("session", "SESSION"), ("model", "--model"))


def check_path_name(value: str, what: str) -> None:
    """A name the filesystem cannot even look up: empty (an unset shell variable?) or too long."""
    if value == "":
        raise UserError(f"{what} is an empty name (an unset variable in a script?)")
    parts = os.fsencode(value).split(b"/")
    if len(os.fsencode(value)) > 4095 or any(len(part) > 255 for part in parts):
        raise UserError(f"{value[:60]}...: {what} names a path too long for the filesystem "
                        "(255 bytes per name, 4095 in all)")


def _common(args: argparse.Namespace) -> None:
    for name in getattr(args, "files", None) or []:
        check_path_name(name, "an input file")
    for dest, flag in _PATH_OPTIONS:
        value = getattr(args, dest, None)
        if value is not None:
            check_path_name(value, flag)
    check_bounds(args)
    pause, hangover = getattr(args, "pause_commit_ms", 0), getattr(args, "hangover_ms", None)
    if pause and hangover is not None and pause >= hangover:
        raise UserError(f"--pause-commit-ms ({pause}) must be shorter than --hangover-ms ({hangover}): a silence "
                        "that long already ends the utterance")
    if getattr(args, "batch_size", None) is not None and not getattr(args, "batched", False):
        raise UserError("--batch-size goes with --batched")
    if getattr(args, "prompt", None) is not None and len(args.prompt) > MAX_PROMPT_CHARS:
        raise UserError(f"--prompt is {len(args.prompt)} characters; at most {MAX_PROMPT_CHARS} are useful "
                        "(Whisper reads the last 223 tokens)")
    if hasattr(args, "language"):
        args.language = normalize_language(args.language)
    if hasattr(args, "device"):
        check_device(args.device, getattr(args, "precision", None))


def check_speakers(args: argparse.Namespace) -> None:
    """``--speakers auto|N``: normalised on ``args``, and refused at once without the voice encoder."""
    if getattr(args, "speakers", None) is None:
        return
    from livecaption.speakers.transcripts import parse_speakers, require_encoder

    args.speakers = parse_speakers(args.speakers)
    require_encoder()


def _transcribe(args: argparse.Namespace) -> None:
    check_env_folder("LIVECAPTION_CACHE_DIR")
    check_cache_folder()
    check_speakers(args)
    check_language_for_model(args.model, args.language, args.task)
    output = Path(args.output) if args.output else None
    if output is not None and len(args.files) == 1 and not args.output.endswith(os.sep) and not output.is_dir():
        from livecaption.outputs import check_output

        # The common case, checked before a pipe is read; transcribe_files.plan_jobs checks them all.
        check_output(output, args.force, [args.files[0], *model_files(args.model)])
    args.inputs, args.input_errors = [], []
    for name in args.files:
        try:
            args.inputs.append(_audio(name))
        except AudioError as exc:
            if len(args.files) == 1:
                raise
            args.input_errors.append(str(exc))  # the good files are still transcribed


def _audio(name: str):
    from livecaption.audio.decode import check_audio_path

    return check_audio_path(Path(name))


def _listen(args: argparse.Namespace) -> None:
    from livecaption.outputs import check_output

    check_env_folder("LIVECAPTION_CACHE_DIR")
    check_env_folder("LIVECAPTION_DATA_DIR", writable=True)  # the session journal goes there
    check_sessions_folder(writable=True)
    check_cache_folder()
    check_language_for_model(args.model, args.language, args.task)
    _check_vocabulary(args)
    _check_inputs(args)
    if args.speakers:
        from livecaption.speakers.transcripts import require_encoder

        require_encoder()
    if args.output:
        check_output(Path(args.output), args.force, [args.replay, *model_files(args.model)])
    args.inputs = [_audio(args.replay)] if args.replay else []  # last: it reads a pipe


def _check_inputs(args: argparse.Namespace) -> None:
    """Which inputs ``listen`` captions: the combinations that cannot mean anything are one line."""
    system = getattr(args, "system_audio", None)
    if args.input == "none" and system is None:
        raise UserError("--input none leaves nothing to caption: add --system-audio to caption what the computer plays")
    if args.replay and (system is not None or args.input is not None):
        raise UserError("--replay captions a recording instead of live inputs; for a microphone and a system-audio "
                        "recording together use: livecaption bench MIC_FILE --system-audio-file SYSTEM_FILE")
    if args.speakers and system is not None:
        raise UserError("--speakers labels the voices of one input; with --system-audio lines are labelled "
                        "by input (You / Others)")


def _recover(args: argparse.Namespace) -> None:
    check_env_folder("LIVECAPTION_DATA_DIR")
    check_sessions_folder()
    if args.output and not args.session:
        raise UserError("-o needs a SESSION to export; see livecaption recover --list")


def _check_vocabulary(args: argparse.Namespace) -> None:
    """A live vocabulary prompt (listen/bench --prompt): names and terms, short enough for the prompt."""
    if args.prompt is None:
        return
    from livecaption.streaming.options import MAX_VOCABULARY_CHARS

    args.prompt = " ".join(args.prompt.split()) or None
    if args.prompt is not None and len(args.prompt) > MAX_VOCABULARY_CHARS:
        raise UserError(f"--prompt is {len(args.prompt)} characters; live captions take at most "
                        f"{MAX_VOCABULARY_CHARS} (names and terms, not a text)")


def _bench(args: argparse.Namespace) -> None:
    from livecaption.asr.whisper.models import EMBEDDED_MODELS
    from livecaption.outputs import check_output

    check_env_folder("LIVECAPTION_CACHE_DIR")
    check_cache_folder()
    whole_files = (args.offline or args.compare) and not args.cold
    check_device(args.device, args.precisions if whole_files else args.precision)
    check_language_for_model(args.model, args.language, args.task)
    _check_vocabulary(args)
    streaming_only = [flag for flag, used in (("--task translate", args.task != "transcribe"),
                                               ("--prompt", args.prompt is not None),
                                               ("--commit pauses", args.commit != "agreement")) if used]
    if streaming_only and (args.offline or args.compare):
        raise UserError(f"{', '.join(streaming_only)} go with the streaming bench, not --offline or --compare")
    if (args.offline or args.compare) and args.model not in EMBEDDED_MODELS:
        raise UserError(f"bench runs on an embedded model ({', '.join(EMBEDDED_MODELS)}), not '{args.model}'")
    if args.compare:
        import importlib.util

        if importlib.util.find_spec("faster_whisper") is None:  # known now, not after our own runs
            raise UserError("--compare needs faster-whisper: pip install 'livecaption[bench]'")
    if args.speakers is not None:
        if args.soak is not None or args.offline or args.compare:
            raise UserError("--speakers goes with the streaming bench, not --soak, --offline or --compare")
        if str(args.speakers).strip().lower() != "auto":  # live labelling cannot be told how many
            raise UserError(f"bench --speakers takes auto (live labels find the speakers), not '{args.speakers}'")
        check_speakers(args)
    if args.ref:
        check_reference(args.ref)
    _check_meeting_bench(args)
    _check_cold_bench(args)
    if args.events:
        if args.soak is not None or args.offline or args.compare:
            raise UserError("--events goes with the streaming bench, not --soak, --offline or --compare")
        check_output(Path(args.events), args.force, [args.file, args.ref, args.system_audio_file, args.system_ref,
                                                     *model_files(args.model)])
    args.inputs = [_audio(args.file)]  # last: it reads a pipe
    if args.system_audio_file is not None:
        args.inputs.append(_audio(args.system_audio_file))


def _check_cold_bench(args: argparse.Namespace) -> None:
    if not args.cold:
        return
    others = [flag for flag, used in (("--soak", args.soak is not None), ("--offline", args.offline),
                                      ("--fast", args.fast), ("--speakers", args.speakers is not None),
                                      ("--system-audio-file", args.system_audio_file is not None),
                                      ("--events", args.events is not None), ("--ref", args.ref is not None),
                                      ("--task translate", args.task != "transcribe"), ("--prompt", args.prompt))
              if used]
    if others:
        raise UserError(f"--cold times whole transcribe and listen processes; {', '.join(others)} go without it")
    if args.file == "-":
        raise UserError("--cold starts processes that read the recording themselves: give a file, not -")


def _check_meeting_bench(args: argparse.Namespace) -> None:
    if args.system_audio_file is None:
        if args.system_ref is not None:
            raise UserError("--system-ref goes with --system-audio-file")
        return
    check_path_name(args.system_audio_file, "--system-audio-file")
    others = [flag for flag, used in (("--soak", args.soak is not None), ("--offline", args.offline),
                                      ("--compare", args.compare), ("--speakers", args.speakers is not None),
                                      ("--task translate", args.task != "transcribe"), ("--prompt", args.prompt),
                                      ("--beam-size", args.beam_size is not None),
                                      ("--encoder-padding", args.encoder_padding is not None))
              if used]
    if others:
        raise UserError(f"--system-audio-file benches a meeting capture; {', '.join(others)} go without it")
    if args.system_ref:
        check_path_name(args.system_ref, "--system-ref")
        check_reference(args.system_ref)


_BY_COMMAND = {"transcribe": _transcribe, "listen": _listen, "recover": _recover, "bench": _bench}


def validate(args: argparse.Namespace) -> None:
    """Check and normalise ``args`` for its command; raises UserError with one line."""
    _common(args)
    if args.command in ("app", None):
        check_env_folder("LIVECAPTION_CACHE_DIR")
        check_env_folder("LIVECAPTION_DATA_DIR")
    elif args.command == "models":
        check_env_folder("LIVECAPTION_CACHE_DIR")
    check = _BY_COMMAND.get(args.command)
    if check is not None:
        check(args)
