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
from livecaption.commands.common import (
    add_model_options, add_vad_options, load_recognizer_for, notify_unreadable, vad_options_from)
from livecaption.errors import OutputError
from livecaption.audio.sources import FileReplaySource, MicrophoneSource
from livecaption.streaming.events import CaptionUpdate, CaptureGap, StreamStats
from livecaption.streaming.options import StreamingOptions
from livecaption.streaming.pipeline import StreamingPipeline
from livecaption.transcript.export import check_writable, format_for, render, write_text_atomic
from livecaption.transcript.journal import Journal, scan_sessions
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


def register(commands) -> None:
    listen = commands.add_parser("listen", help="live captions in the terminal from a microphone")
    listen.add_argument("--input", default=None, metavar="DEV", help="input device index or name (default: system default)")
    add_model_options(listen)
    listen.add_argument("--language", default="auto",
                        help="language code, or auto to detect it per utterance (default: auto)")
    listen.add_argument("--task", default="transcribe", choices=("transcribe", "translate"),
                        help="translate: captions in English, the spoken language still recorded (multilingual models)")
    listen.add_argument("--prompt", default=None, metavar="TEXT",
                        help="names and terms the captions should get right (e.g. \"Dana, Kubernetes, OKR\")")
    listen.add_argument("-o", "--output", default=None, help="save the transcript here on exit (txt/srt/vtt/json by extension)")
    listen.add_argument("--force", action="store_true", help="overwrite an existing output file")
    listen.add_argument("--replay", default=None, metavar="FILE",
                        help="caption a recording played at real-time pace instead of a microphone")
    listen.add_argument("--speakers", action="store_true",
                        help="label who speaks (Speaker 1, 2, …) in the journal and the -o transcript; "
                             "needs 'livecaption[speakers]'")
    add_vad_options(listen)
    listen.set_defaults(func=run_listen)


def run_listen(args: argparse.Namespace) -> int:
    from livecaption.asr.types import TranscribeOptions
    from livecaption.validation import model_files

    # Options and paths were checked by livecaption.validation; the output is checked again here
    # against the files read, right before the session starts.
    output = Path(args.output) if args.output else None
    reads = [args.replay, *model_files(args.model)]
    if output is not None:
        check_writable(output, args.force, reads)
    language = args.language
    options = StreamingOptions(language=language, pause_commit_ms=args.pause_commit_ms, commit=args.commit,
                               task=args.task, vocabulary=args.prompt)
    vad_options = vad_options_from(args)
    if args.replay:
        source = FileReplaySource(decode_audio(args.inputs[0]), realtime=True, description=f"replay of {args.replay}")
    else:
        source = MicrophoneSource(args.input)
    recognizer = load_recognizer_for(args)
    recognizer.check_options(TranscribeOptions(language=language, task=args.task))  # models whose metadata said nothing
    choice = recognizer.choice
    recorded = session_options(options, vad_options, language)
    transcript = LiveTranscript(args.model, choice.device, choice.precision, choice.fallback, recorded)
    sessions, problems = scan_sessions()
    notify_unreadable(problems)
    unfinished = [s for s in sessions if not s.finished]
    if unfinished:
        print(f"{len(unfinished)} unfinished session(s) found (a crash?): livecaption recover --list", file=sys.stderr)
    journal = Journal({"model": args.model, "device": choice.device, "precision": choice.precision,
                       "fallback": choice.fallback, "options": recorded})
    tracker = None
    if args.speakers:  # labels follow the captions on their own thread, journaled like them
        from livecaption.speakers.live import journaled_tracker

        tracker = journaled_tracker(journal, lambda event: transcript.set_speakers(event.utterances))
    try:
        pipeline = _run_session(args, recognizer, source, options, vad_options, transcript, journal, tracker)
    except BaseException:
        # A session that never started leaves no header-only journal behind; one that committed
        # words stays unfinished, to be recovered.
        journal.discard_if_empty()
        raise
    failure = pipeline.source_failure or pipeline.error
    if tracker is not None:  # the whole session is known now: re-cluster it for the saved transcript
        transcript.set_speakers(tracker.relabel_session(timeout=120.0))
        tracker.close()
    if failure is None or not journal.discard_if_empty():
        journal.close()
        print(f"session journal: {journal.path}", file=sys.stderr)
    if output is not None:
        try:
            write_text_atomic(output, render(transcript.to_transcription(language), format_for(args.output)),
                              force=args.force, reads=reads)
        except OutputError as exc:  # e.g. the name was taken during the session: say where the words are
            kept = f"; the session is kept: livecaption recover {journal.session} -o FILE" if journal.words_written else ""
            print(f"livecaption: error: {exc}{kept}", file=sys.stderr)
            return 2
        print(f"transcript saved to {output}", file=sys.stderr)
    if failure is not None:
        print(f"livecaption: error: capture stopped: {failure}", file=sys.stderr)
        return 1
    return 0


def _run_session(args, recognizer, source, options, vad_options, transcript, journal,
                 tracker=None) -> StreamingPipeline:
    """Caption until Ctrl-C, SIGTERM or the end of the source; returns the stopped pipeline."""
    screen = TerminalCaptions()

    def on_event(event) -> None:
        if tracker is not None:
            tracker.event(event)
        if isinstance(event, CaptionUpdate):
            transcript.add(event)
        elif isinstance(event, CaptureGap):
            transcript.add_gap(event.start, event.end, event.reason)
            after = "captions go on from the newest audio" if event.fell_behind else "capture resumed"
            print(f"[no audio {event.start:.1f}-{event.end:.1f} s: {event.reason}; {after}]", file=sys.stderr)
        screen.update(event)

    pipeline = StreamingPipeline(recognizer, source, options, vad_options, on_event=on_event, journal=journal,
                                 audio_tap=tracker.audio if tracker is not None else None)
    print(f"listening on {source.description} with {args.model} ({recognizer.describe_device()}); Ctrl-C to stop",
          file=sys.stderr)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        pipeline.start()
        while not stop.is_set() and not pipeline.wait(timeout=0.2):
            pass
        print("\nstopping...", file=sys.stderr)
        pipeline.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return pipeline
