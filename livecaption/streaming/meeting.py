"""Meeting capture (issue #11): the microphone and the system audio at once, one model for both.

Each input keeps what a single input has: its own capture, ring buffer, VAD, streaming core and
worker thread, with its own overload handling (a ring that overflows drops that input's oldest
audio and marks the gap on that input only). What they share:

- the model, behind ``DecodeTurns``: one decode at a time, an utterance's final decode before
  partial ones, otherwise in the order asked for, so neither input starves while both talk. A
  partial decode does not wait for the other input's decode (for up to a second): it is skipped
  and retried with the next audio, so an input hears its own end of speech on time;
- the journal and the lock around it: captions of both inputs reach the disk in one order;
- the echo check: with loudspeakers, the microphone hears the meeting too. A microphone caption
  that repeats, at the same time, words the system audio carried is the room's echo, not the
  user: it is dropped and the system audio's copy kept. Microphone captions are held only until
  the system audio has been decoded past them (at once when the others are silent), and never
  longer than ``ECHO_MAX_HOLD_S``.

Every event carries its input (``source``); the transcript names the microphone "You" and the
system audio "Others" until the user renames them.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import difflib
import heapq
import itertools
import logging
import threading
import time
from typing import Callable

from livecaption.audio.sources import AudioSource
from livecaption.audio.vad import SAMPLE_RATE
from livecaption.metrics import normalize
from livecaption.streaming.clock import RealClock, StreamClock
from livecaption.streaming.events import MICROPHONE, SOURCE_SPEAKERS, SYSTEM, CaptionUpdate, Event, StreamEnded
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.streaming.pipeline import StreamingPipeline
from livecaption.streaming.transcriber import DecodeDeferred

log = logging.getLogger("livecaption")

INPUT_NAMES = {MICROPHONE: "the microphone", SYSTEM: "the system audio"}  # in messages
# Words of the system audio within this many seconds of a microphone caption's words are its
# candidates (the room's delay is tens of ms; word times from two decodes differ by more).
ECHO_WINDOW_S = 1.0
# ... but the system audio hears a word before the microphone does (the loudspeaker plays what the
# system audio carries), so a microphone caption is judged once the system audio has been decoded
# this far past it (its committed and tentative words count): at once while the others are silent,
# one decode step later while they talk.
ECHO_SETTLE_S = 0.3
ECHO_MIN_SHARE = 0.6  # this share of a microphone caption's words heard on the system audio: echo
ECHO_CONTINUE_SHARE = 0.34  # ... and this share, for the next words of an utterance that began as one
MAX_PARTIAL_DEFER_S = 1.0  # an input skips partial decodes while the model is busy for at most this long
ECHO_MAX_HOLD_S = 6.0
ECHO_RECENT_S = 5.0  # the system audio's words this recent can be what the microphone's tail echoes  # a microphone caption is never held longer than this (wall clock)


class DecodeTurns:
    """First come, first served, except that an utterance's final decode goes before partial ones:
    the final decode is what the user waits for (final latency), a partial only refreshes the
    tentative tail. With two inputs waiting for partials, each gets every other decode."""

    FINAL, PARTIAL = 0, 1

    def __init__(self):
        self._cond = threading.Condition()
        self._waiting: list[tuple[int, int]] = []  # (priority, arrival): the smallest goes next
        self._arrivals = itertools.count()
        self._held = False  # a decode is running: nobody else enters, however urgent

    def busy(self) -> bool:
        with self._cond:
            return self._held or bool(self._waiting)

    @contextlib.contextmanager
    def turn(self, priority: int = PARTIAL):
        ticket = (priority, next(self._arrivals))
        with self._cond:
            heapq.heappush(self._waiting, ticket)
            self._cond.wait_for(lambda: not self._held and self._waiting[0] == ticket)
            heapq.heappop(self._waiting)  # ours: it is the smallest
            self._held = True
        try:
            yield
        finally:
            with self._cond:
                self._held = False
                self._cond.notify_all()


class _DecodeKind(threading.local):
    final = False  # whether this worker thread's next decodes are an utterance's final ones
    deferred_since: float | None = None  # when this thread's partial decodes began to be deferred


class _FinalAware:
    """A streaming policy that notes, for its worker thread, whether the decodes it plans are final."""

    def __init__(self, policy, kind: _DecodeKind):
        self._policy, self._kind = policy, kind

    def __getattr__(self, name):
        return getattr(self._policy, name)

    def attempts(self, audio_seconds, request, final):
        self._kind.final = final
        return self._policy.attempts(audio_seconds, request, final)


class SharedRecognizer:
    """One recognizer for several streams: decodes take turns (finals first); everything else is
    the recognizer's."""

    def __init__(self, recognizer, turns: DecodeTurns):
        self._recognizer, self._turns = recognizer, turns
        self._kind = _DecodeKind()
        self.busy_seconds = 0.0  # decoding, waits for turns not included: the RTF of both inputs

    def __getattr__(self, name):
        return getattr(self._recognizer, name)

    def streaming_policy(self, options):
        return _FinalAware(self._recognizer.streaming_policy(options), self._kind)

    def begin_decode(self) -> None:
        """Done inside the decode's turn (it resets per-decode figures the other input's decode would
        otherwise be counted in)."""

    def transcribe(self, audio, options=None, *args, **kwargs):
        kind = self._kind
        if not kind.final and self._turns.busy():
            # A partial only refreshes the tentative tail: rather than wait for the other input's
            # decode (and hear this input's end of speech late), skip it and try with the next
            # audio; but not for longer than MAX_PARTIAL_DEFER_S, so neither input's captions stall.
            kind.deferred_since = kind.deferred_since or time.monotonic()
            if time.monotonic() - kind.deferred_since < MAX_PARTIAL_DEFER_S:
                raise DecodeDeferred
        kind.deferred_since = None
        with self._turns.turn(DecodeTurns.FINAL if kind.final else DecodeTurns.PARTIAL):
            began = time.perf_counter()
            try:
                self._recognizer.begin_decode()
                return self._recognizer.transcribe(audio, options, *args, **kwargs)
            finally:
                self.busy_seconds += time.perf_counter() - began


class EchoGate:
    """Holds the microphone's captions until the system audio's words for the same moment are
    known, then drops those that repeat them (see the module's docstring). Once one caption is
    held, every later event of the microphone waits behind it, so nothing overtakes it."""

    def __init__(self, microphone: StreamingPipeline, system: StreamingPipeline):
        self.microphone, self.system = microphone, system
        self.held: collections.deque = collections.deque()  # (wall time held, event)
        self.dropped_words = 0
        self.hold_seconds: list[float] = []  # how long each held microphone caption waited
        self.final_holds: list[float] = []  # per utterance end, in order: what final latency misses
        self.system_ended = False  # its input is gone: nothing more will be heard there
        self._tentative: list = []  # the system audio's tentative words with their times
        self._echo_utterance = False  # the microphone's utterance in progress began as an echo

    def __call__(self, events: list, final: bool) -> list:
        out = []
        for event in events:
            if self.held or (isinstance(event, CaptionUpdate) and event.committed):
                self.held.append((time.monotonic(), event))
                continue
            if isinstance(event, CaptionUpdate):
                if event.utterance_ended:
                    self.final_holds.append(0.0)
                if event.tentative and self._echoing(event.tentative):
                    event = dataclasses.replace(event, tentative="")  # the echo's tail would flicker away
            out.append(event)
        return out + self._release(final)

    def _offset(self) -> float:
        """Microphone seconds to system-audio seconds: the two streams began at different moments."""
        return self.microphone.session_offset - self.system.session_offset

    def _heard(self) -> tuple[float, list]:
        outage = getattr(self.system.source, "outage", None)
        if self.system_ended or (outage is not None and outage()):
            return float("inf"), []  # nothing is coming from there: judge on what was heard
        return self.system.heard or (0.0, [])

    def _release(self, final: bool) -> list:
        released = []
        settled, self._tentative = self._heard()
        while self.held:
            held_at, event = self.held[0]
            if isinstance(event, CaptionUpdate) and event.committed:
                end = event.committed[-1].end + self._offset()
                if not (final or end + ECHO_SETTLE_S <= settled or time.monotonic() - held_at > ECHO_MAX_HOLD_S):
                    break
                self.hold_seconds.append(time.monotonic() - held_at)
                event = self._without_echo(event)
            if isinstance(event, CaptionUpdate) and event.utterance_ended:
                self.final_holds.append(time.monotonic() - held_at)
            self.held.popleft()
            released.append(event)
        return released

    def _system_words(self, start: float, end: float) -> list[str]:
        """What the system audio said around [start, end] (its seconds): committed, or in its latest decode."""
        return [normalize(w.text) for w in [*self.system.committed, *self._tentative]
                if w.end >= start - ECHO_WINDOW_S and w.start <= end + ECHO_WINDOW_S]

    def _without_echo(self, update: CaptionUpdate) -> CaptionUpdate:
        offset = self._offset()
        heard = self._system_words(update.committed[0].start + offset, update.committed[-1].end + offset)
        said = [normalize(w.text) for w in update.committed]
        # The two copies are decoded apart, so they differ here and there ("Ask not! Like your" on
        # the microphone, "Asked not what your" on the system audio): words match loosely, and
        # once an utterance began as an echo, its next words need less to be judged one too.
        share = ECHO_CONTINUE_SHARE if self._echo_utterance else ECHO_MIN_SHARE
        echo = bool(heard) and sum(_heard_in(word, heard) for word in said) >= share * len(said)
        if update.utterance_ended:
            self._echo_utterance = False
        else:
            self._echo_utterance = echo
        if echo:
            self.dropped_words += len(said)
            log.info("dropped %d words the microphone heard from the loudspeakers", len(said))
            return dataclasses.replace(update, committed=())
        return update

    def _echoing(self, tentative: str) -> bool:
        """Whether the microphone's tentative tail is words the system audio is saying right now
        (its last few seconds: the others' words from minutes ago are no echo)."""
        heard = self.system.heard
        now = heard[0] if heard else 0.0
        recent = {normalize(w.text) for w in [*self.system.committed[-40:], *(heard[1] if heard else [])]
                  if w.end >= now - ECHO_RECENT_S}
        said = normalize(tentative).split()
        return bool(said) and sum(_heard_in(word, recent) for word in said) >= ECHO_MIN_SHARE * len(said)


def _heard_in(word: str, heard) -> bool:
    """``word`` among ``heard``, or nearly (one decode's "asked" for the other's "ask")."""
    if word in heard:
        return True
    return len(word) >= 3 and any(len(other) >= 3 and (other.startswith(word) or word.startswith(other)
                                                       or difflib.SequenceMatcher(None, word, other).ratio() >= 0.8)
                                  for other in heard)


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
        self.shared = shared = SharedRecognizer(recognizer, DecodeTurns())
        self.pipelines = {
            sid: StreamingPipeline(shared, source, options, vad_options, clock=clock_factory(),
                                   on_event=self._forward, journal=journal, source_id=sid, deliver_lock=self._lock)
            for sid, source in sources.items()
        }
        self.echo: EchoGate | None = None
        if echo and MICROPHONE in self.pipelines and SYSTEM in self.pipelines:
            self.echo = EchoGate(self.pipelines[MICROPHONE], self.pipelines[SYSTEM])
            self.pipelines[MICROPHONE].commit_gate = self.echo

    def start(self) -> None:
        if self.journal is not None:
            self.journal.append_source_names(self.names)
        started, began = [], time.monotonic()
        try:
            for pipeline in self.pipelines.values():
                pipeline.start()
                started.append(pipeline)
                # Each stream's audio begins when its capture does (opening an input takes a moment):
                # on the session's clock a later one's times are shifted by the difference, so the
                # two inputs' words line up (the echo check compares them to the second). A wall clock
                # does it itself, exactly, at the input's first sample (StreamingPipeline: anchor).
                if pipeline.clock.simulated:
                    pipeline.session_offset += time.monotonic() - began
        except BaseException:
            for pipeline in started:
                pipeline.stop()
            raise

    def stop(self) -> None:
        """Stop capturing; the system audio's last words are decoded first, so the microphone's
        last captions are judged against them (an echo of them is still caught)."""
        order = sorted(self.pipelines, key=lambda sid: sid == MICROPHONE)
        for sid in order:
            pipeline = self.pipelines[sid]
            pipeline.source.stop()
            if pipeline.ring is not None:
                pipeline.ring.close()
            pipeline.wait()

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
            with self._lock:  # like every other event: one input's at a time
                self._ended[event.source] = event
                if event.source == SYSTEM and self.echo is not None:
                    self.echo.system_ended = True
                self.on_event(event)  # one input's end (a lost monitor): the other goes on
                if len(self._ended) == len(self.pipelines):
                    self._mark_lost_inputs()
                    # The meeting failed only if every input did (as ``source_failure`` says).
                    errors = [f"{self._label(e.source)}: {e.error}" for e in self._ended.values() if e.error]
                    failed = len(errors) == len(self.pipelines)
                    self.on_event(StreamEnded(event.time, "; ".join(errors) if failed else None))
            return
        self.on_event(event)

    def _mark_lost_inputs(self) -> None:
        """An input lost for good while another went on heard nothing from then to the session's
        end: its transcript says so, on that input (the journal too), never passing it off as silence."""
        heard_until = {sid: p.core.processed_index / SAMPLE_RATE for sid, p in self.pipelines.items()
                       if p.core is not None}  # each stream's own seconds
        end = max((t + self.pipelines[sid].session_offset for sid, t in heard_until.items()), default=0.0)
        for sid, pipeline in self.pipelines.items():
            own_end = end - pipeline.session_offset
            if pipeline.source_failure and sid in heard_until and own_end - heard_until[sid] > 0.1:
                pipeline.report_gap(heard_until[sid], own_end, f"input lost: {pipeline.source_failure}",
                                    input_lost=True)

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
    def error(self) -> BaseException | None:
        return next((p.error for p in self.pipelines.values() if p.error is not None), None)
