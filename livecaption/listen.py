"""``livecaption listen``: live captions in the terminal from a microphone.

Committed text is printed once and never rewritten; the tentative tail is redrawn in place
(greyed) on a terminal, and left out when stdout is a file or a pipe. Ctrl-C stops cleanly:
the utterance in progress is decoded and committed, and the transcript saved with ``-o``.
SIGTERM does the same, so a session manager (or a test) can stop it without losing text.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from pathlib import Path

from livecaption.audio.decode import decode_audio
from livecaption.audio.sources import FileReplaySource, MicrophoneSource, list_input_devices
from livecaption.streaming.events import CaptionUpdate, CaptureGap, StreamStats
from livecaption.streaming.options import StreamingOptions
from livecaption.streaming.pipeline import StreamingPipeline
from livecaption.transcript.export import check_writable, format_for, render, write_text_atomic
from livecaption.transcript.journal import Journal, find_session, list_sessions, read_journal
from livecaption.transcript.live import LiveTranscript, session_options

DIM, RESET, CLEAR = "\x1b[2m", "\x1b[0m", "\x1b[K"


class TerminalCaptions:
    """Renders caption updates; called from the worker thread, so it serialises its writes."""

    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self.tty = stream.isatty()
        self.line = ""
        self.lock = threading.Lock()
        self.stats: StreamStats | None = None

    def update(self, event) -> None:
        if isinstance(event, StreamStats):
            self.stats = event
            return
        if not isinstance(event, CaptionUpdate):
            return
        with self.lock:
            self.line += "".join(w.text for w in event.committed)
            width = shutil.get_terminal_size((100, 20)).columns
            if len(self.line) > width - 30:  # too long to redraw in place: settle it on screen
                cut = self.line.rfind(" ", 0, width - 30)
                cut = cut if cut > 0 else len(self.line)
                self._write_line(self.line[:cut])
                self.line = self.line[cut:]
            if event.utterance_ended:
                if self.line.strip():
                    self._write_line(self.line)
                self.line = ""
            elif self.tty:
                tail = f" {DIM}{event.tentative}{RESET}" if event.tentative else ""
                self.stream.write(f"\r{CLEAR}{self.line.strip()}{tail}")
                self.stream.flush()

    def _write_line(self, text: str) -> None:
        prefix = f"\r{CLEAR}" if self.tty else ""
        self.stream.write(f"{prefix}{text.strip()}\n")
        self.stream.flush()


def run_listen(args: argparse.Namespace) -> int:
    from livecaption.cli import load_recognizer, vad_options_from

    output = Path(args.output) if args.output else None
    if output is not None:
        check_writable(output, args.force)
    language = None if args.language in (None, "", "auto") else args.language
    options = StreamingOptions(language=language, pause_commit_ms=args.pause_commit_ms)
    vad_options = vad_options_from(args)
    if args.replay:
        source = FileReplaySource(decode_audio(args.replay), realtime=True, description=f"replay of {args.replay}")
    else:
        source = MicrophoneSource(args.input)
    recognizer = load_recognizer(args)
    choice = recognizer.choice
    recorded = session_options(options, vad_options, language)
    transcript = LiveTranscript(args.model, choice.device, choice.precision, choice.fallback, recorded)
    journal = Journal({"model": args.model, "device": choice.device, "precision": choice.precision,
                       "fallback": choice.fallback, "options": recorded})
    unfinished = [s for s in list_sessions() if not s.finished and s.path != journal.path]
    if unfinished:
        print(f"{len(unfinished)} unfinished session(s) found (a crash?): livecaption recover --list", file=sys.stderr)
    screen = TerminalCaptions()

    def on_event(event) -> None:
        if isinstance(event, CaptionUpdate):
            transcript.add(event)
        elif isinstance(event, CaptureGap):
            transcript.add_gap(event.start, event.end, event.reason)
            after = "captions go on from the newest audio" if event.fell_behind else "capture resumed"
            print(f"[no audio {event.start:.1f}-{event.end:.1f} s: {event.reason}; {after}]", file=sys.stderr)
        screen.update(event)

    pipeline = StreamingPipeline(recognizer, source, options, vad_options, on_event=on_event, journal=journal)
    print(f"listening on {source.description} with {args.model} ({recognizer.describe_device()}); Ctrl-C to stop",
          file=sys.stderr)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    pipeline.start()
    try:
        while not stop.is_set() and not pipeline.wait(timeout=0.2):
            pass
        print("\nstopping...", file=sys.stderr)
        pipeline.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    journal.close()
    print(f"session journal: {journal.path}", file=sys.stderr)
    if output is not None:
        write_text_atomic(output, render(transcript.to_transcription(language or "en"), format_for(args.output)),
                          force=args.force)
        print(f"transcript saved to {output}", file=sys.stderr)
    failure = pipeline.source_failure or pipeline.error
    if failure is not None:
        print(f"livecaption: error: capture stopped: {failure}", file=sys.stderr)
        return 1
    return 0


def run_devices(args: argparse.Namespace) -> int:
    devices = list_input_devices()
    print("index  default  channels  rate     host API        name")
    for d in devices:
        print(f"{d.index:>5}  {'*' if d.is_default else ' ':^7}  {d.channels:>8}  {int(d.default_rate):>6}  "
              f"{d.host_api[:14]:<14}  {d.name}")
    return 0


def run_recover(args: argparse.Namespace) -> int:
    """List unfinished sessions, or export one (from its journal) like any transcript."""
    if args.list or not args.session:
        sessions = list_sessions()
        if not sessions:
            print("no sessions recorded")
        for session in sessions:
            state = "finished" if session.finished else "UNFINISHED"
            print(f"{session.name}\t{state}\t{session.words} words\t{session.header.get('model', '?')}\t{session.path}")
        return 0
    session, transcript = read_journal(find_session(args.session))
    fmt = format_for(args.output, args.format)
    text = render(transcript.to_transcription(session.header.get("options", {}).get("language") or "en"), fmt)
    if args.output:
        write_text_atomic(Path(args.output), text, force=args.force)
        print(f"{session.name} ({session.words} words) -> {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
