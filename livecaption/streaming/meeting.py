"""Meeting capture (issue #11): the microphone and the system audio at once, one model for both.

Each input keeps what a single input has: its own capture, ring buffer, VAD, streaming core and
worker thread, with its own overload handling (a ring that overflows drops that input's oldest
audio and marks the gap on that input only). What they share:

- the model, behind ``DecodeTurns``: one decode at a time, taken in the order asked for, so
  neither input starves while both talk (each one's adaptive step grows with the waits);
- the journal and the lock around it: captions of both inputs reach the disk in one order;
- the echo check: with loudspeakers, the microphone hears the meeting too. A microphone caption
  that repeats, at the same time, words the system audio carried is the room's echo, not the
  user: it is dropped and the system audio's copy kept. Microphone captions are held only until
  the system audio's captions for the same moment are settled (at once when the others are
  silent), and never longer than ``ECHO_MAX_HOLD_S``.

Every event carries its input (``source``); the transcript names the microphone "You" and the
system audio "Others" until the user renames them.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from typing import Callable

from livecaption.audio.sources import AudioSource
from livecaption.metrics import normalize
from livecaption.streaming.clock import RealClock, StreamClock
from livecaption.streaming.events import MICROPHONE, SOURCE_SPEAKERS, SYSTEM, CaptionUpdate, Event, StreamEnded
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.streaming.pipeline import StreamingPipeline

log = logging.getLogger("livecaption")

INPUT_NAMES = {MICROPHONE: "the microphone", SYSTEM: "the system audio"}  # in messages
# Words of the system audio within this many seconds of a microphone caption's words are its
# candidates (the room's delay is tens of ms; word times from two decodes differ by more).
ECHO_WINDOW_S = 1.0
ECHO_MIN_SHARE = 0.6  # this share of a microphone caption's words heard on the system audio: echo
ECHO_MAX_HOLD_S = 6.0  # a microphone caption is never held longer than this (wall clock)


class DecodeTurns:
    """A first-come, first-served lock: with two inputs waiting, each gets every other decode."""

    def __init__(self):
        self._cond = threading.Condition()
        self._queue: collections.deque = collections.deque()

    def __enter__(self):
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            self._cond.wait_for(lambda: self._queue[0] is ticket)

    def __exit__(self, *exc):
        with self._cond:
            self._queue.popleft()
            self._cond.notify_all()


class SharedRecognizer:
    """One recognizer for several streams: decodes take turns; everything else is the recognizer's."""

    def __init__(self, recognizer, turns: DecodeTurns):
        self._recognizer, self._turns = recognizer, turns

    def __getattr__(self, name):
        return getattr(self._recognizer, name)

    def transcribe(self, audio, options=None, *args, **kwargs):
        with self._turns:
            return self._recognizer.transcribe(audio, options, *args, **kwargs)


class EchoGate:
    """Holds the microphone's captions until the system audio's words for the same moment are
    known, then drops those that repeat them (see the module's docstring)."""

    def __init__(self, system: StreamingPipeline):
        self.system = system
        self.held: collections.deque = collections.deque()  # (wall time held, CaptionUpdate)
        self.dropped_words = 0
        self.system_tentative = ""  # the system audio's latest tentative tail (MeetingCapture keeps it)

    def __call__(self, events: list, final: bool) -> list:
        out = []
        for event in events:
            if isinstance(event, CaptionUpdate) and (event.committed or self.held):
                self.held.append((time.monotonic(), event))
            elif isinstance(event, CaptionUpdate) and event.tentative and self._echoing(event.tentative):
                out.append(dataclasses.replace(event, tentative=""))  # the echo's tail would flicker away
            else:
                out.append(event)
        return self._release(final) + out

    def _settled_until(self) -> float:
        core = self.system.core
        return core.settled_until() if core is not None else float("inf")

    def _release(self, final: bool) -> list:
        released = []
        settled = self._settled_until()
        while self.held:
            held_at, update = self.held[0]
            end = max((w.end for w in update.committed), default=0.0)
            if not (final or end + ECHO_WINDOW_S <= settled or time.monotonic() - held_at > ECHO_MAX_HOLD_S):
                break
            self.held.popleft()
            released.append(self._without_echo(update))
        return released

    def _system_words(self, start: float, end: float) -> list[str]:
        return [normalize(w.text) for w in list(self.system.committed)
                if w.end >= start - ECHO_WINDOW_S and w.start <= end + ECHO_WINDOW_S]

    def _without_echo(self, update: CaptionUpdate) -> CaptionUpdate:
        if not update.committed:
            return update
        heard = self._system_words(update.committed[0].start, update.committed[-1].end)
        said = [normalize(w.text) for w in update.committed]
        if heard and sum(word in heard for word in said) >= ECHO_MIN_SHARE * len(said):
            self.dropped_words += len(said)
            log.info("dropped %d words the microphone heard from the loudspeakers", len(said))
            return dataclasses.replace(update, committed=())
        return update

    def _echoing(self, tentative: str) -> bool:
        """Whether the microphone's tentative tail is words the system audio is saying right now."""
        recent = [normalize(w.text) for w in list(self.system.committed)[-20:]]
        tail = normalize(self.system_tentative)
        said = normalize(tentative).split()
        heard = set(recent) | set(tail.split())
        return bool(said) and sum(word in heard for word in said) >= ECHO_MIN_SHARE * len(said)


class MeetingCapture:
    """Several inputs captioned at once (see the module's docstring). ``sources`` maps an input's
    id (``MICROPHONE``, ``SYSTEM``) to its AudioSource; events reach ``on_event`` from the inputs'
    worker threads, each stamped with its input; one ``StreamEnded`` (source None) ends it all."""

    def __init__(self, recognizer, sources: dict[str, AudioSource], options: StreamingOptions = StreamingOptions(),
                 vad_options: VadOptions = VadOptions(), on_event: Callable[[Event], None] | None = None,
                 journal=None, clock_factory: Callable[[], StreamClock] = RealClock, echo: bool = True,
                 names: dict[str, str] | None = None):
        if not sources:
            raise ValueError("a meeting capture needs at least one input")
        self.recognizer = recognizer
        self.on_event = on_event or (lambda event: None)
        self.journal = journal
        self.names = {sid: (names or {}).get(sid, SOURCE_SPEAKERS.get(sid, sid)) for sid in sources}
        self._lock = threading.RLock()
        self._ended: dict[str, StreamEnded] = {}
        shared = SharedRecognizer(recognizer, DecodeTurns())
        self.pipelines = {
            sid: StreamingPipeline(shared, source, options, vad_options, clock=clock_factory(),
                                   on_event=self._forward, journal=journal, source_id=sid, deliver_lock=self._lock)
            for sid, source in sources.items()
        }
        self.echo: EchoGate | None = None
        if echo and MICROPHONE in self.pipelines and SYSTEM in self.pipelines:
            self.echo = EchoGate(self.pipelines[SYSTEM])
            self.pipelines[MICROPHONE].commit_gate = self.echo

    def start(self) -> None:
        if self.journal is not None:
            self.journal.append_source_names(self.names)
        started = []
        try:
            for pipeline in self.pipelines.values():
                pipeline.start()
                started.append(pipeline)
        except BaseException:
            for pipeline in started:
                pipeline.stop()
            raise

    def stop(self) -> None:
        for pipeline in self.pipelines.values():
            pipeline.source.stop()
            if pipeline.ring is not None:
                pipeline.ring.close()
        self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for pipeline in self.pipelines.values():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not pipeline.wait(left):
                return False
        return True

    def rename(self, source: str, name: str) -> None:
        """Call an input's lines by another name (journaled, so a recovered transcript has it)."""
        name = " ".join(name.split())
        if source not in self.names or not name:
            raise ValueError(f"no input '{source}' to rename, or an empty name")
        with self._lock:
            self.names[source] = name
            if self.journal is not None:
                self.journal.append_source_names({source: name})

    def _forward(self, event: Event) -> None:
        if isinstance(event, StreamEnded):
            with self._lock:
                self._ended[event.source] = event
                everything_ended = len(self._ended) == len(self.pipelines)
            self.on_event(event)  # one input's end (a lost monitor): the other goes on
            if everything_ended:
                errors = [f"{self._label(e.source)}: {e.error}" for e in self._ended.values() if e.error]
                self.on_event(StreamEnded(event.time, "; ".join(errors) or None))
            return
        if self.echo is not None and isinstance(event, CaptionUpdate) and event.source == SYSTEM:
            self.echo.system_tentative = event.tentative
        self.on_event(event)

    def _label(self, source: str | None) -> str:
        return INPUT_NAMES.get(source, source or "input")

    @property
    def source_failure(self) -> str | None:
        """Why capture stopped, once every input has stopped for good (one lost input alone is not
        the end of the meeting: the other went on)."""
        failures = [(sid, p.source_failure) for sid, p in self.pipelines.items() if p.source_failure]
        if len(failures) < len(self.pipelines):
            return None
        return "; ".join(f"{self._label(sid)}: {failure}" for sid, failure in failures)

    # -- what a single pipeline offers, over both ---------------------------------------------------

    @property
    def committed(self) -> list:
        words = [w for pipeline in self.pipelines.values() for w in pipeline.committed]
        return sorted(words, key=lambda w: w.start)

    @property
    def transcript_text(self) -> str:
        return "".join(w.text for w in self.committed).strip()

    @property
    def error(self) -> BaseException | None:
        return next((p.error for p in self.pipelines.values() if p.error is not None), None)
