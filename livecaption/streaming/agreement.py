"""LocalAgreement: commit a word once two successive hypotheses agree on it.

Each decode re-reads the whole current decode window (the utterance, or its part after the last
cut), so every hypothesis repeats the words already committed from that window, sometimes
slightly changed. They are matched by text, not by time (word times wobble between decodes):
the hypothesis is cut where its prefix best aligns, by edit distance, with the window's
committed words; only the rest is new. The new part's prefix that agrees with the previous
hypothesis's new part is committed; what follows is the tentative tail. Committed words are
never changed or retracted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from livecaption.metrics import normalize

MAX_ECHO_WORDS = 20
MIN_ECHO_WORDS = 2  # a single repeated word ("that that") is ordinary speech
EDGE_GUARD = 0.3  # seconds


@dataclass(frozen=True)
class TimedWord:
    text: str
    start: float
    end: float
    probability: float


def _key(word: TimedWord) -> str:
    return normalize(word.text)


def best_cut(committed: list[TimedWord], hypothesis: list[TimedWord]) -> int:
    """How many leading hypothesis words re-state ``committed``.

    The cut minimises the edit distance between ``committed`` and the hypothesis prefix. Ties
    (a revised word, or committed words the new decode left out) are settled by time: the
    first new word should start where the committed words ended.
    """
    if not committed or not hypothesis:
        # Nothing to re-state, or nothing said: a decode can come back empty (silence after a
        # pause, a rejected loop) while words of the window are already committed.
        return 0
    keys_c, keys_h = [_key(w) for w in committed], [_key(w) for w in hypothesis]
    previous = list(range(len(keys_h) + 1))  # row for the empty committed prefix
    for i, word in enumerate(keys_c, start=1):
        current = [i] + [0] * len(keys_h)
        for j, hyp in enumerate(keys_h, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != hyp))
        previous = current
    best = min(previous)
    committed_end = committed[-1].end

    def distance_in_time(j: int) -> float:
        boundary = hypothesis[j].start if j < len(hypothesis) else hypothesis[-1].end
        return abs(boundary - committed_end)

    return min((j for j, cost in enumerate(previous) if cost == best), key=distance_in_time)


SENTENCE_ENDS = (".", "?", "!")
ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "approx", "inc", "ltd", "jr", "sr"}


def continues_sentence_case(previous: TimedWord | None, word: TimedWord) -> TimedWord:
    """``word`` with a capital first letter when the committed word before it ended a sentence.

    Each decode punctuates what it heard up to its own edge: one puts a period after "Americans"
    at a pause, the next, hearing more, goes on in lower case ("ask not"). Both words are right
    and committed words are never changed, so the casing of the new word follows the committed
    punctuation: "Americans. Ask not", never "Americans. ask not".
    """
    before = previous.text.strip() if previous is not None else ""
    text = word.text
    first = len(text) - len(text.lstrip())
    # "U.S.", "e.g.", "a.m." (a dot inside) and "Mr." end in a period without ending a sentence.
    abbreviation = "." in before[:-1] or before.rstrip(".").lower() in ABBREVIATIONS
    if (before.endswith(SENTENCE_ENDS) and not before.endswith("...") and not abbreviation
            and text[first:first + 1].islower()):
        return replace(word, text=text[:first] + text[first].upper() + text[first + 1:])
    return word


class CommittedLog:
    """Every word committed in the stream, in order; times never go backwards."""

    def __init__(self) -> None:
        self.words: list[TimedWord] = []
        self.last_end = 0.0

    def append(self, words: list[TimedWord]) -> list[TimedWord]:
        fixed = []
        for word in words:
            start = max(word.start, self.last_end)
            word = continues_sentence_case(fixed[-1] if fixed else (self.words[-1] if self.words else None), word)
            word = replace(word, start=start, end=max(word.end, start))
            self.last_end = word.end
            fixed.append(word)
        self.words.extend(fixed)
        return fixed


class LocalAgreement:
    """Agreement state of one utterance; commits go to the stream's shared ``CommittedLog``."""

    def __init__(self, log: CommittedLog) -> None:
        self.log = log
        self._window: list[TimedWord] = []  # committed from the current decode window
        self._previous: list[TimedWord] = []  # uncommitted tail of the last hypothesis

    @property
    def tentative(self) -> list[TimedWord]:
        return list(self._previous)

    def start_window(self) -> None:
        """The decode window moved (a long utterance was cut): earlier words are no longer re-read."""
        self._window = []
        self._previous = []

    def _new_part(self, hypothesis: list[TimedWord]) -> list[TimedWord]:
        words = [w for w in hypothesis if _key(w)]
        fresh = words[best_cut(self._window, words):]
        # Whisper sometimes echoes its prompt (the committed text) at the start of a short window.
        tail = [_key(w) for w in self.log.words[-MAX_ECHO_WORDS:]]
        for size in range(min(len(tail), len(fresh)), MIN_ECHO_WORDS - 1, -1):
            if tail[-size:] == [_key(w) for w in fresh[:size]]:
                return fresh[size:]
        return fresh

    def insert(self, hypothesis: list[TimedWord], audio_end: float = float("inf")) -> list[TimedWord]:
        """Take a new hypothesis; returns the words it commits (the agreed prefix).

        Words ending within ``EDGE_GUARD`` of ``audio_end`` stay tentative even when agreed: the
        model has not heard what follows them yet, and two short decodes agree on guesses too.
        """
        fresh = self._new_part(hypothesis)
        agreed = 0
        while (agreed < min(len(fresh), len(self._previous))
               and _key(fresh[agreed]) == _key(self._previous[agreed])
               and fresh[agreed].end <= audio_end - EDGE_GUARD):
            agreed += 1
        newly = self._commit(fresh[:agreed])
        self._previous = fresh[agreed:]
        return newly

    def commit_all(self, hypothesis: list[TimedWord], audio_end: float | None = None) -> list[TimedWord]:
        """End of utterance: the hypothesis is committed whole. With ``audio_end`` (a forced cut
        of a long utterance) words at the audio's edge are left for the next window."""
        fresh = self._new_part(hypothesis)
        if audio_end is not None:
            fresh = [w for w in fresh if w.end <= audio_end - EDGE_GUARD]
        newly = self._commit(fresh)
        self._previous = []
        return newly

    def propose(self, hypothesis: list[TimedWord]) -> None:
        """Show a hypothesis as tentative without committing any of it (commits at pauses only)."""
        self._previous = self._new_part(hypothesis)

    def discard_tentative(self) -> None:
        self._previous = []

    def _commit(self, words: list[TimedWord]) -> list[TimedWord]:
        fixed = self.log.append(words)
        self._window.extend(fixed)
        return fixed
