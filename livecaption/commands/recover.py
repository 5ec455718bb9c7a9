"""``livecaption recover``: list recorded sessions, or export one from its journal (after a crash)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from livecaption.commands.common import notify_unreadable
from livecaption.transcript.export import check_writable, format_for, render, write_text_atomic
from livecaption.transcript.journal import find_session, read_journal, scan_sessions


def register(commands) -> None:
    recover = commands.add_parser("recover", help="list or export sessions from their journals (after a crash)")
    recover.add_argument("session", nargs="?", help="session name (from --list) or journal path")
    recover.add_argument("--list", action="store_true", help="list recorded sessions (the default without SESSION)")
    recover.add_argument("--format", choices=("txt", "srt", "vtt", "json"), default=None,
                         help="output format (default: from -o's extension, else txt)")
    recover.add_argument("-o", "--output", default=None, help="write here instead of stdout")
    recover.add_argument("--force", action="store_true", help="overwrite an existing output file")
    recover.set_defaults(func=run_recover)


def run_recover(args: argparse.Namespace) -> int:
    """List unfinished sessions, or export one (from its journal) like any transcript."""
    if args.list or not args.session:
        sessions, problems = scan_sessions()
        notify_unreadable(problems)
        if not sessions:
            print("no sessions recorded")
        for session in sessions:
            state = "finished" if session.finished else "UNFINISHED"
            damaged = f" ({session.skipped} damaged records skipped)" if session.skipped else ""
            print(f"{session.name}\t{state}\t{session.words} words{damaged}\t{session.header['model']}\t{session.path}")
        return 0
    path = find_session(args.session)
    fmt = format_for(args.output, args.format)
    if args.output:  # before reading: an output that is the journal itself is refused whatever the flags
        check_writable(Path(args.output), args.force, [path])
    session, transcript = read_journal(path)
    if session.skipped:
        print(f"livecaption: notice: {session.name}: {session.skipped} damaged record(s) skipped, "
              f"{session.words} words recovered", file=sys.stderr)
    text = render(transcript.to_transcription(session.language), fmt)
    if args.output:
        write_text_atomic(Path(args.output), text, force=args.force, reads=[path])
        print(f"{session.name} ({session.words} words) -> {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
