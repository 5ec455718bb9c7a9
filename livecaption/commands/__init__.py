"""The ``livecaption`` commands, one module each; each registers its own subparser.

``common`` holds what several share. Command modules import nothing heavy at module level (no
torch, no Qt): building the parser must stay instant for ``--help`` and for every error message.
"""

from __future__ import annotations

import argparse

from livecaption import __version__
from livecaption.commands import app, bench, devices, listen, models, recover, transcribe
from livecaption.commands.common import Parser

COMMANDS = (app, transcribe, listen, recover, devices, models, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="livecaption", description="Live captions and transcripts with Whisper.")
    parser.add_argument("--version", action="version", version=f"livecaption {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    commands = parser.add_subparsers(dest="command")
    for command in COMMANDS:
        command.register(commands)
    return parser
