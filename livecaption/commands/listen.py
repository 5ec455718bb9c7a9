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
from livecaption.streaming.events import (MICROPHONE, SOURCE_SPEAKERS, SYSTEM, CaptionUpdate, CaptureGap, StreamEnded,
                                         StreamStats)
from livecaption.streaming.meeting import INPUT_NAMES, MeetingCapture
from livecaption.streaming.options import StreamingOptions
from livecaption.streaming.pipeline import StreamingPipeline
from livecaption.transcript.export import check_writable, format_for, render, write_text_atomic
from livecaption.transcript.journal import Journal, scan_sessions
from livecaption.transcript.live import LiveTranscript, session_options

DIM, RESET, CLEAR = "\x1b[2m", "\x1b[0m", "\x1b[K"


class TerminalCaptions:
    """Renders caption updates; called from the worker threads, so it serialises its writes. In a
    meeting capture each input has its own line, printed with its name ("You: …", "Others: …")."""

    def __init__(self, stream=sys.stdout, names: dict[str, str] | None = None):
        self.stream = stream
        self.tty = stream.isatty()
        self.names = names or {}
        self.lines: dict[str | None, str] = {}
        self.lock = threading.Lock()
        self.stats: StreamStats | None = None

    @property
    def line(self) -> str:
        return self.lines.get(None, "")

    def update(self, event) -> None:
        if isinstance(event, StreamStats):
            self.stats = event
            return
        if not isinstance(event, CaptionUpdate):
            return
        with self.lock:
            source = event.source
            line = self.lines.get(source, "") + "".join(w.text for w in event.committed)
            width = shutil.get_terminal_size((100, 20)).columns
            if len(line) > width - 30:  # too long to redraw in place: settle it on screen
                cut = line.rfind(" ", 0, width - 30)
                cut = cut if cut > 0 else len(line)
                self._write_line(source, line[:cut])
                line = line[cut:]
            if event.utterance_ended:
                if line.strip():
                    self._write_line(source, line)
                line = ""
            elif self.tty:
                tail = f" {DIM}{event.tentative}{RESET}" if event.tentative else ""
                self.stream.write(f"\r{CLEAR}{self._who(source)}{line.strip()}{tail}")
                self.stream.flush()
            self.lines[source] = line

    def _who(self, source: str | None) -> str:
        return f"{self.names[source]}: " if source in self.names else ""

    def _write_line(self, source: str | None, text: str) -> None:
        prefix = f"\r{CLEAR}" if self.tty else ""
        self.stream.write(f"{prefix}{self._who(source)}{text.strip()}\n")
        self.stream.flush()


def register(commands) -> None:
    listen = commands.add_parser("listen", help="live captions in the terminal from a microphone")
    listen.add_argument("--input", default=None, metavar="DEV",
                        help="microphone: input device index or name (default: system default); none: no microphone")
    listen.add_argument("--system-audio", nargs="?", const="", default=None, metavar="MONITOR",
                        help="also caption what the computer plays (the other side of a call), from this output's "
                             "monitor (default: the default output's); lines are labelled You / Others "
                             "(livecaption devices lists the monitors)")
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
    sources = _sources(args)  # a device that does not exist is one line before the model loads
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
        pipeline = _run_session(args, recognizer, sources, options, vad_options, transcript, journal, tracker)
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


def _sources(args: argparse.Namespace) -> dict:
    """The inputs to caption: a replay, or the microphone and/or the system audio (meeting capture)."""
    if args.replay:
        return {None: FileReplaySource(decode_audio(args.inputs[0]), realtime=True, description=f"replay of {args.replay}")}
    microphone = None if args.input == "none" else MicrophoneSource(args.input)
    if args.system_audio is None:
        return {None: microphone}
    from livecaption.audio.pulse import SystemAudioSource

    sources = {MICROPHONE: microphone} if microphone is not None else {}
    sources[SYSTEM] = SystemAudioSource(args.system_audio or None)
    return sources


def _run_session(args, recognizer, sources, options, vad_options, transcript, journal,
                 tracker=None):
    """Caption until Ctrl-C, SIGTERM or the end of the sources; returns the stopped pipeline (or
    meeting capture)."""
    meeting = None not in sources
    if meeting:
        transcript.name_sources(SOURCE_SPEAKERS)
    screen = TerminalCaptions(names={sid: SOURCE_SPEAKERS[sid] for sid in sources} if meeting else None)

    def on_event(event) -> None:
        if tracker is not None:
            tracker.event(event)
        if isinstance(event, CaptionUpdate):
            transcript.add(event)
        elif isinstance(event, CaptureGap):
            transcript.add_gap(event.start, event.end, event.reason, event.source)
            after = ("captions go on from the newest audio" if event.fell_behind
                     else "the other input went on" if event.input_lost else "capture resumed")
            where = f" on {INPUT_NAMES[event.source]}" if event.source else ""
            print(f"[no audio{where} {event.start:.1f}-{event.end:.1f} s: {event.reason}; {after}]", file=sys.stderr)
        elif isinstance(event, StreamEnded) and event.source and event.error:
            print(f"[{INPUT_NAMES[event.source]} stopped: {event.error}; the other input goes on]", file=sys.stderr)
        screen.update(event)

    if meeting:
        pipeline = MeetingCapture(recognizer, sources, options, vad_options, on_event=on_event, journal=journal)
    else:
        pipeline = StreamingPipeline(recognizer, sources[None], options, vad_options, on_event=on_event,
                                     journal=journal, audio_tap=tracker.audio if tracker is not None else None)
    heard = " and ".join(f"{INPUT_NAMES.get(sid, 'input')} ({source.description})" if sid else source.description
                         for sid, source in sources.items())
    print(f"listening on {heard} with {args.model} ({recognizer.describe_device()}); Ctrl-C to stop", file=sys.stderr)
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
