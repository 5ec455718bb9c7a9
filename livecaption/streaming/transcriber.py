"""The streaming core: audio in, caption updates out, with a push API and no threads.

``insert_audio`` feeds 16 kHz samples (and runs the VAD), ``process_iter`` decodes what is due,
``finish`` closes the stream. The pipeline drives it from a worker thread; tests and the
simulated clock can drive it directly.

Each step re-decodes the current utterance (from its start, or from the last cut) with the
recently committed text as prompt; LocalAgreement commits the words two successive hypotheses
agree on. At a pause inside it (``pause_commit_ms`` of silence) the words so far are committed
whole; at end of speech what is left is decoded once more and committed whole.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from livecaption.asr.types import TranscribeOptions, Transcription
from livecaption.audio.vad import SAMPLE_RATE, SpeechEnd, SpeechPause, SpeechStart, VadGate
from livecaption.streaming.agreement import CommittedLog, LocalAgreement, TimedWord
from livecaption.streaming.clock import StreamClock
from livecaption.streaming.events import CaptionUpdate, CommittedWord, SpeechActivity
from livecaption.streaming.guards import drop_unlikely_repeats, rejection_reason
from livecaption.streaming.options import StreamingOptions

log = logging.getLogger("livecaption")

MIN_DECODE_SECONDS = 0.3  # less audio than this holds no word worth showing
IDLE_HISTORY_SECONDS = 2.0  # audio kept while idle, enough for any pre-roll
MAX_PROMPT_WORDS = 100
PROMPT_TIME_SLACK = 0.05
# Language per utterance (with language auto on a multilingual model): a detection is believed when
# the model is sure of it on at least MIN_LANGUAGE_SECONDS of audio, or fairly sure on a clear
# stretch; otherwise the utterance keeps the language spoken before it (no flapping on "OK.").
MIN_LANGUAGE_SECONDS, SURE_LANGUAGE = 1.5, 0.9  # seconds decoded: pre-roll and tail included
CLEAR_LANGUAGE_SECONDS, CLEAR_LANGUAGE = 2.0, 0.5


@dataclass
class Utterance:
    onset_time: float  # audio seconds of the first voiced frame
    window_start: int  # absolute 16 kHz index decodes read from (pre-roll included; moves forward at a cut)
    agreement: LocalAgreement
    end: int | None = None  # set by the VAD's end of speech
    audio: np.ndarray | None = None  # its own copy of the audio once the shared buffer moved on (after a drop)
    audio_start: int = 0  # absolute index of audio[0]
    # The latest accepted partial hypothesis and the absolute index its audio ended at: when it
    # already covers the utterance's end, it is the final decode's answer and the decode is skipped.
    last_words: list[TimedWord] | None = None
    last_words_end: int = 0
    first_shown: bool = False
    committed: list[CommittedWord] = field(default_factory=list)
    paused_at: int = -1  # the pause (its first sample) whose words were committed last
    pauses: list[int] = field(default_factory=list)  # pauses the VAD reported, not committed yet
    language: str | None = None  # settled once per utterance (see ``_settle_language``)
    detected: str | None = None  # the latest unclear detection, for a first utterance with nothing to keep


class DecodeDeferred(Exception):
    """Raised by a shared model for a partial decode it will not wait for (streaming/meeting.py)."""


class StreamingTranscriber:
    def __init__(self, recognizer, options: StreamingOptions, vad: VadGate, clock: StreamClock):
        self.recognizer = recognizer
        self.policy = recognizer.streaming_policy(options)
        self.options = options
        self.vad = vad
        self.clock = clock
        self.log = CommittedLog()
        self.decoded_until = 0  # utterances never re-read audio an earlier utterance decoded
        self.audio = np.zeros(0, dtype=np.float32)
        self.audio_start = 0  # absolute index of self.audio[0]
        self.current: Utterance | None = None
        self.finished: list[Utterance] = []  # ended, waiting for their final decode
        self.last_decode_end = 0
        self.step = options.step_s
        self.compute_seconds = 0.0
        self.final_latencies: list[float] = []
        self.first_word_latencies: list[float] = []
        self.rejections: dict[str, int] = {}
        self.decodes = 0
        self.cuts = 0  # long utterances cut at a committed word boundary
        self._activity: list[SpeechActivity] = []
        self.vad.pause_ms = options.pause_commit_ms
        self.language: str | None = None  # the last utterance's, kept by unclear ones

    # -- input ----------------------------------------------------------------------------

    @property
    def tail(self) -> int:
        """Samples decoded after an utterance's (or a pause's) last voiced frame: soft consonants."""
        return SAMPLE_RATE * self.vad.options.tail_ms // 1000

    @property
    def processed_index(self) -> int:
        return self.audio_start + len(self.audio)

    def heard(self) -> tuple[float, list]:
        """For a check across inputs (a meeting's echo check): the audio seconds every word of which
        was decoded at least once, and the words there still tentative (absolute times)."""
        in_flight = self.finished + ([self.current] if self.current is not None else [])
        if not in_flight:
            return self.processed_index / SAMPLE_RATE, []
        tentative = self.current.agreement.tentative if self.current is not None else []
        return max(self.last_decode_end / SAMPLE_RATE, self.log.last_end), tentative

    def insert_audio(self, start_index: int, samples: np.ndarray) -> None:
        """Append 16 kHz samples that begin at absolute ``start_index`` (a jump marks lost audio)."""
        if start_index > self.processed_index:  # audio was dropped: close what was open, restart clean
            self._close_current(self.processed_index)
            for utt in self.finished:  # still to be decoded: they keep the audio they need
                if utt.audio is None:
                    utt.audio = self._slice(utt.window_start, self.processed_index)
                    utt.audio_start = utt.window_start
            self.audio = np.zeros(0, dtype=np.float32)
            self.audio_start = start_index
        self.audio = np.concatenate([self.audio, np.asarray(samples, dtype=np.float32)])
        for event in self.vad.process(start_index, samples):
            if isinstance(event, SpeechStart):
                onset = event.index + SAMPLE_RATE * self.vad.options.pre_roll_ms // 1000
                start = max(event.index, self.audio_start, self.decoded_until)
                self.current = Utterance(onset_time=onset / SAMPLE_RATE, window_start=start,
                                         agreement=LocalAgreement(self.log))
                self._activity.append(SpeechActivity(True, event.index / SAMPLE_RATE, self.clock.now()))
            elif isinstance(event, SpeechEnd):
                self._close_current(event.index)
            elif isinstance(event, SpeechPause) and self.current is not None:
                self.current.pauses.append(event.index)
        self._trim_history()

    def abandon_speech(self, resume_index: int) -> tuple[float, float] | None:
        """After a decode failed: drop the open and waiting utterances and start afresh at
        ``resume_index``. Their committed words stay; their tentative words are dropped, never
        promoted to committed (a guess must not become the record). Returns the audio seconds
        that were not captioned, or None when no speech was in flight."""
        in_flight = self.finished + ([self.current] if self.current is not None else [])
        self.finished, self.current, self._activity = [], None, []
        self.vad.reset(resume_index)
        self.audio = np.zeros(0, dtype=np.float32)
        self.audio_start = self.decoded_until = self.last_decode_end = resume_index
        self.step = self.options.step_s
        if not in_flight:
            return None
        start = max(in_flight[0].window_start / SAMPLE_RATE, self.log.last_end)
        return start, max(start, resume_index / SAMPLE_RATE)

    def _close_current(self, end_index: int) -> None:
        if self.current is not None:
            self.current.end = end_index
            self.decoded_until = end_index + self.tail
            self.finished.append(self.current)
            self._activity.append(SpeechActivity(False, end_index / SAMPLE_RATE, self.clock.now()))
            self.current = None

    def _trim_history(self) -> None:
        keep_from = self.processed_index - int(IDLE_HISTORY_SECONDS * SAMPLE_RATE)
        for utt in self.finished + ([self.current] if self.current else []):
            keep_from = min(keep_from, utt.window_start)
        if keep_from > self.audio_start:
            self.audio = self.audio[keep_from - self.audio_start :]
            self.audio_start = keep_from

    # -- decoding -------------------------------------------------------------------------

    def process_iter(self) -> list[CaptionUpdate | SpeechActivity]:
        """Decode whatever is due now, in the order it happened: each finished utterance's pauses
        and end, then the current utterance's pauses, else a partial decode of it."""
        out: list[CaptionUpdate | SpeechActivity] = self._activity
        self._activity = []
        while self.finished:
            utt = self.finished.pop(0)
            out.extend(self._commit_in_order(utt, cut_before=utt.end or self.processed_index))
            out.append(self._final(utt))
        utt = self.current
        due = self.processed_index - self.last_decode_end >= int(self.step * SAMPLE_RATE)
        settled = self._commit_in_order(utt, cut_before=self.processed_index + 1) if utt is not None else []
        out.extend(settled)
        if (utt is not None and not settled and due
                and self.processed_index - utt.window_start >= MIN_DECODE_SECONDS * SAMPLE_RATE):
            update = self._partial(utt)
            if update is not None:
                out.append(update)
        return out

    def _commit_in_order(self, utt: Utterance, cut_before: int) -> list[CaptionUpdate]:
        """Commit at each pause the VAD reported in ``utt`` (once the tail after it has arrived)
        and, with commits at pauses only, cut at each ``max_utterance_s`` edge, in the order they
        occur in the audio, however late the worker gets to them: which words are committed where
        depends on the audio, not on the machine's load. Cuts are made at edges before ``cut_before``."""
        out = []
        limit = int(self.options.max_utterance_s * SAMPLE_RATE)
        while True:
            utt.pauses = [p for p in utt.pauses
                          if p > utt.paused_at and p - utt.window_start >= MIN_DECODE_SECONDS * SAMPLE_RATE]
            pause = utt.pauses[0] if utt.pauses else None
            edge = utt.window_start + limit if self.options.commit == "pauses" else None
            if edge is not None and edge < cut_before and edge <= self.processed_index and (pause is None or edge <= pause):
                out.append(self._cut_at(utt, edge))
            elif pause is not None and pause + self.tail <= self.processed_index:
                utt.pauses.pop(0)
                out.append(self._commit_at_pause(utt, pause))
            else:
                return out

    def finish(self) -> list[CaptionUpdate | SpeechActivity]:
        end = self.vad.flush()
        if end is not None:
            self._close_current(end.index)
        return self.process_iter()

    def _slice(self, start: int, end: int, utt: Utterance | None = None) -> np.ndarray:
        """Audio between two absolute indices, from the utterance's own copy if it has one."""
        audio, first = (utt.audio, utt.audio_start) if utt is not None and utt.audio is not None else (
            self.audio, self.audio_start)
        return audio[max(0, start - first) : max(0, end - first)]

    def _decode(self, utt: Utterance, start: int, end: int, final: bool = False, closing: bool = False
                ) -> tuple[Transcription | None, list[TimedWord]]:
        audio = self._slice(start, end, utt)
        # The prompt is what was committed *before* this window: given words the window re-reads,
        # Whisper takes them as already said and skips them in the audio.
        window_start_s = start / SAMPLE_RATE + PROMPT_TIME_SLACK
        before = [w for w in self.log.words[-MAX_PROMPT_WORDS:] if w.end <= window_start_s]
        vocabulary = self.options.vocabulary
        # The model keeps the end of a long prompt: the recent text gives way to the vocabulary.
        room = max(0, self.options.prompt_chars - len(vocabulary or ""))
        recent = "".join(w.text for w in before)
        recent = recent[len(recent) - room:] if room else ""
        prompt = (f"{vocabulary} {recent.strip()}".strip() if vocabulary else recent) or None
        # The backend decides how: its attempts (a final decode may retry), its own guards.
        request = TranscribeOptions(language=self.options.language or utt.language, task=self.options.task,
                                    beam_size=self.options.beam_size, prompt=prompt)
        seconds = len(audio) / SAMPLE_RATE
        self.recognizer.begin_decode()
        began = time.perf_counter()
        result, reason = self._attempts(audio, request, final)
        if reason is None and request.language is None:
            kept = self._settle_language(utt, result, seconds, closing)
            if kept is not None and final:  # unclear, and not the language spoken so far: decode in that one
                redo, redo_reason = self._attempts(audio, dataclasses.replace(request, language=kept), final)
                if redo_reason is None:
                    result = redo
                elif closing:  # the redo was not believed: the words heard first stand, in their language
                    utt.language = result.language
            elif kept is not None:
                reason = "language unclear"  # a partial: no tentative text in a language that may flap
        spent = time.perf_counter() - began
        self.compute_seconds += spent
        took = self.clock.charge(spent)
        self.last_decode_end = end
        # The step adapts: never ask for decodes faster than they can be made.
        self.step = min(self.options.max_step_s, max(self.options.step_s, took))
        if reason is not None:
            return None, []
        log.debug("hypothesis %.2f-%.2f s: %r", start / SAMPLE_RATE, end / SAMPLE_RATE, result.text)
        offset = start / SAMPLE_RATE
        words = [
            TimedWord(w.text, offset + w.start, offset + w.end, w.probability)
            for seg in result.segments for w in seg.words
            if w.text.strip() and w.probability >= self.options.min_word_probability
        ]
        return result, drop_unlikely_repeats(words)

    def _attempts(self, audio: np.ndarray, request: TranscribeOptions, final: bool) -> tuple[Transcription, str | None]:
        for options in self.policy.attempts(len(audio) / SAMPLE_RATE, request, final):
            result, reason = self._run_model(audio, options)
            if reason is None or not self.policy.retry(reason, options):
                break
        return result, reason

    def _settle_language(self, utt: Utterance, result: Transcription, seconds: float, closing: bool) -> str | None:
        """Pin ``utt``'s language from a decode that detected it. A detection is believed when it is
        sure, or clear on enough audio; an unclear one keeps the language spoken so far (pinned only
        by the utterance's closing decode: a pause's short stretch must not fix the language of what
        follows it). Returns that kept language when it differs from what this decode heard."""
        detected, probability = result.language, result.language_probability
        if probability is None:  # the model has one language, or was told: nothing to settle
            utt.language = detected
            return None
        sure = seconds >= MIN_LANGUAGE_SECONDS and probability >= SURE_LANGUAGE
        clear = seconds >= CLEAR_LANGUAGE_SECONDS and probability >= CLEAR_LANGUAGE
        if sure or clear:
            utt.language = detected
            return None
        utt.detected = detected
        if self.language is None:  # the first utterance: nothing to keep, what was heard stands
            return None
        if closing:
            utt.language = self.language
        return self.language if detected != self.language else None

    def _run_model(self, audio: np.ndarray, options: TranscribeOptions) -> tuple[Transcription, str | None]:
        self.decodes += 1
        result = self.recognizer.transcribe(audio, options)
        reason = rejection_reason(result, self.policy)
        if reason is not None:
            self.rejections[reason] = self.rejections.get(reason, 0) + 1
            log.debug("hypothesis dropped (%s): %r", reason, result.text)
        return result, reason

    def _emit(self, utt: Utterance, newly: list[TimedWord], ended: bool) -> CaptionUpdate:
        now = self.clock.now()
        committed = tuple(CommittedWord(w.text, w.start, w.end, now, w.probability) for w in newly)
        utt.committed.extend(committed)
        tentative = "" if ended else "".join(w.text for w in utt.agreement.tentative).strip()
        if not utt.first_shown and (committed or tentative):
            utt.first_shown = True
            self.first_word_latencies.append(now - utt.onset_time)
        if ended:  # an utterance that never settled one keeps the last (or, the first, what was heard)
            utt.language = utt.language or self.language or utt.detected
            self.language = utt.language
        return CaptionUpdate(committed=committed, tentative=tentative, time=now, utterance_ended=ended,
                             language=utt.language or self.options.language)

    def _partial(self, utt: Utterance) -> CaptionUpdate | None:
        try:
            _, words = self._decode(utt, utt.window_start, self.processed_index)
        except DecodeDeferred:  # another input has the model (meeting capture): retried with the next audio
            return None
        utt.last_words, utt.last_words_end = (words, self.processed_index) if words else (None, 0)
        if self.options.commit == "pauses":  # shown as tentative; committed at the next pause or end
            newly = []
            utt.agreement.propose(words)
        else:
            newly = utt.agreement.insert(words, self.processed_index / SAMPLE_RATE) if words else []
        if not words:
            utt.agreement.discard_tentative()
        if self.options.commit != "pauses":  # with commits at pauses only, cuts come in audio order
            newly += self._cut_if_long(utt, words)
        return self._emit(utt, newly, ended=False)

    def _cut_if_long(self, utt: Utterance, words: list[TimedWord]) -> list[TimedWord]:
        """Keep the decode window under the limit by restarting it at a committed word boundary;
        returns words this had to commit (when nothing was agreed for a whole window)."""
        limit = int(self.options.max_utterance_s * SAMPLE_RATE)
        if self.processed_index - utt.window_start < limit:
            return []
        forced: list[TimedWord] = []
        boundary = int(self.log.last_end * SAMPLE_RATE)
        if boundary <= utt.window_start:  # nothing agreed in a whole window: take the settled part as it is
            forced = utt.agreement.commit_all(words, audio_end=self.processed_index / SAMPLE_RATE)
            boundary = int(self.log.last_end * SAMPLE_RATE) if forced else self.processed_index
        self._restart_window(utt, min(boundary, self.processed_index))
        return forced

    def _cut_at(self, utt: Utterance, edge: int) -> CaptionUpdate:
        """Commits at pauses only: the window reached ``edge`` (max_utterance_s) with no pause
        committed in it, or restarts after the last one. Exactly the window's audio is decoded (not
        whatever the worker has by now), so where the cut falls depends on the audio alone."""
        forced: list[TimedWord] = []
        boundary = int(self.log.last_end * SAMPLE_RATE)
        if boundary <= utt.window_start:
            settled = self._decode(utt, utt.window_start, edge, final=True)[1]
            forced = utt.agreement.commit_all(settled, audio_end=edge / SAMPLE_RATE)
            boundary = int(self.log.last_end * SAMPLE_RATE) if forced else edge
        self._restart_window(utt, min(boundary, edge))
        return self._emit(utt, forced, ended=False)

    def _restart_window(self, utt: Utterance, at: int) -> None:
        utt.window_start = max(utt.window_start, at)
        utt.last_words = None  # it read the old window
        utt.agreement.start_window()
        self.cuts += 1

    def _settled_words(self, utt: Utterance, end: int, closing: bool = False) -> list[TimedWord] | None:
        """The utterance's words up to ``end`` (its end or a pause, plus the tail), decoded with the
        final decode's care; None when too little audio is left to hold a word."""
        covered = utt.last_words_end == end if self.options.commit == "pauses" else utt.last_words_end >= end
        if utt.last_words is not None and covered:
            # The last partial decode already read all of this audio (and the silence after it) and
            # was accepted: decoding the same audio again would give the same greedy answer.
            return utt.last_words
        if end - utt.window_start >= MIN_DECODE_SECONDS * SAMPLE_RATE:
            return self._decode(utt, utt.window_start, end, final=True, closing=closing)[1]
        return None

    def _commit_at_pause(self, utt: Utterance, pause_start: int) -> CaptionUpdate:
        end = pause_start + self.tail
        words = self._settled_words(utt, end) or []
        # Only words that began before the pause: anything later would be read out of silence.
        words = [w for w in words if w.start < pause_start / SAMPLE_RATE]
        newly = utt.agreement.commit_all(words)
        # The window is not restarted: if speech resumes, later decodes still read the whole
        # utterance (Whisper drops words that resemble its prompt when a window starts mid-thought),
        # and the agreement skips what is committed. If the pause becomes the utterance's end, this
        # hypothesis already covers it and the final decode is skipped.
        utt.paused_at = pause_start
        utt.last_words, utt.last_words_end = words, end
        self.last_decode_end = self.processed_index
        return self._emit(utt, newly, ended=False)

    def _final(self, utt: Utterance) -> CaptionUpdate:
        end = min(self.processed_index, (utt.end or self.processed_index) + self.tail)
        words = self._settled_words(utt, end, closing=True)
        newly: list[TimedWord] = []
        if words is not None:
            newly = utt.agreement.commit_all(words)
        else:
            utt.agreement.discard_tentative()
        update = self._emit(utt, newly, ended=True)
        if utt.committed and utt.end is not None:
            self.final_latencies.append(max(w.emitted for w in utt.committed) - utt.end / SAMPLE_RATE)
        return update
