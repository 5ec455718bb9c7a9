"""What several commands share: model and VAD options, loading a model with progress, notices.

Command modules import from here (and from the engine); nothing here imports a command module,
and ``livecaption.cli`` only assembles them: no import cycles (tests/test_import_graph.py).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from livecaption.asr.device import DEVICES_HELP, PRECISIONS
from livecaption.asr.whisper.models import DEFAULT_MODEL, EMBEDDED_MODELS


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other error (the usage is in --help)."""

    def error(self, message: str):
        self.exit(2, f"livecaption: error: {message}; see {self.prog} --help\n")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="embedded model (tiny.en, base), a local transformers folder (Whisper, wav2vec2 or "
                             f"HuBERT CTC), or a Hugging Face id (default: {DEFAULT_MODEL})")
    parser.add_argument("--device", default="auto", help=f"{DEVICES_HELP} (default: auto)")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="auto = fp16 on CUDA, fp32 on CPU; int8 = dynamic quantization on CPU")


def add_vad_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vad-aggressiveness", type=int, default=3, choices=(0, 1, 2, 3),
                        help="how strict the VAD is about what counts as speech (default: 3)")
    parser.add_argument("--hangover-ms", type=int, default=500,
                        help="silence that ends an utterance, in ms (default: 500)")
    parser.add_argument("--pause-commit-ms", type=int, default=250, metavar="MS",
                        help="commit the words before a pause this long inside an utterance, without waiting "
                             "for its end; 0 waits (default: 250)")
    parser.add_argument("--commit", default="agreement", choices=("agreement", "pauses"),
                        help="what commits words inside an utterance: two agreeing partial decodes (sooner), "
                             "or only pauses and ends (the same text however loaded the machine is) "
                             "(default: agreement)")


def vad_options_from(args: argparse.Namespace):
    from livecaption.streaming.options import VadOptions

    return VadOptions(aggressiveness=args.vad_aggressiveness, hangover_ms=args.hangover_ms)


def load_recognizer_for(args: argparse.Namespace):
    """The model the command's ``--model/--device/--precision`` name, with conversion progress on stderr."""
    from livecaption.asr import load_recognizer
    from livecaption.progress import ConversionProgress

    return load_recognizer(args.model, args.device, args.precision, progress=ConversionProgress(args.model))


def notify_unreadable(problems: list[str]) -> None:
    for problem in problems:  # a damaged or foreign file in the sessions folder must never block anything
        print(f"livecaption: notice: {problem}", file=sys.stderr)


def percentile(values, q: float) -> float | None:
    """The q-th percentile of ``values`` (None for none): the benches' latency figures."""
    import numpy as np

    return float(np.percentile(values, q)) if len(values) else None


def fmt(value: float | None, unit: str = " s") -> str:
    """A figure for a bench's printed report ("-" when there is none)."""
    return "-" if value is None else f"{value:.2f}{unit}"


def ct2_folder_for(model_name: str, scratch: Path) -> Path:
    """A folder faster-whisper can load for an embedded model (split parts joined in ``scratch``)."""
    model = EMBEDDED_MODELS[model_name]
    bundle, parts = model.locate()
    if len(parts) == 1 and parts[0].parent == bundle:
        return bundle
    target = scratch / f"ct2-{model_name}"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if (bundle / name).exists():
            shutil.copyfile(bundle / name, target / name)
    with open(target / "model.bin", "wb") as joined:
        for part in parts:
            with open(part, "rb") as piece:
                shutil.copyfileobj(piece, joined)
    return target
