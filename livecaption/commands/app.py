"""``livecaption app`` (the default): the live-caption window."""

from __future__ import annotations

import argparse

from livecaption.asr.device import DEVICES_HELP, PRECISIONS
from livecaption.errors import UserError


def register(commands) -> None:
    app = commands.add_parser("app", help="open the live-caption window (the default)")
    # No defaults here: what is not given comes from the window's saved settings.
    app.add_argument("--model", default=None, help="model for this run (default: the last one used)")
    app.add_argument("--device", default=None, help=f"{DEVICES_HELP} (default: the last one used)")
    app.add_argument("--precision", default=None, choices=PRECISIONS, help="(default: the last one used)")
    app.set_defaults(func=run_app)


def run_app(args: argparse.Namespace) -> int:
    try:
        from ui.app import run_app as run_window
    except ImportError as exc:
        raise UserError(f"the desktop app needs PySide6 ({exc.name} is missing): pip install 'livecaption[app]'") from None
    return run_window(model=args.model, device=args.device, precision=args.precision)
