"""Greedy CTC decoding with word times read off the frames: no second model, no forced alignment.

A CTC model emits one distribution per frame (20 ms for wav2vec2/HuBERT base: the product of the
feature encoder's conv strides over 16 kHz). Greedy decoding takes each frame's best token; a run
of the same token is one character, blanks separate runs (so a doubled letter needs a blank between
its two runs), and the word delimiter ``|`` separates words. Because every character is tied to the
frames that emitted it, a word's time is simply its first character's first frame to its last
character's last frame, and its probability the mean of those frames' best-token probability.

Scripts written without spaces (Chinese, Japanese) have vocabularies of whole characters and
usually no delimiter: each such character is a word of its own, without a leading space.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from livecaption.asr.types import Segment, Word

# A pause this long between two words starts a new segment: a sentence-level break that exports
# (SRT/VTT cues) and the transcript view both read as one.
SEGMENT_GAP_S = 0.5


@dataclass(frozen=True)
class Vocabulary:
    """What decoding needs from the tokenizer: each id's text, the blank, the delimiter, and the ids
    that emit nothing (bos/eos/unk: treated as blanks, never printed as '<unk>')."""

    tokens: tuple[str, ...]  # index = token id
    blank: int
    delimiter: int | None
    silent: frozenset[int] = frozenset()
    lowercase: bool = False  # an all-capitals vocabulary (wav2vec2-base-960h) is shown in lower case

    def text(self, token: int) -> str:
        text = self.tokens[token] if 0 <= token < len(self.tokens) else ""
        return text.lower() if self.lowercase else text


@dataclass(frozen=True)
class FrameWord:
    """A word in frame units: ``start`` its first frame, ``end`` its last (inclusive)."""

    text: str
    start: int
    end: int
    probability: float
    spaced: bool  # written with a leading space (not a character of a script without spaces)


def _unspaced(text: str) -> bool:
    """Characters of scripts written without spaces between words (CJK ideographs, kana, Thai...)."""
    return len(text) == 1 and unicodedata.name(text, "").startswith(
        ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN"))


def frames_to_words(ids: np.ndarray, probs: np.ndarray, vocab: Vocabulary,
                    pause_frames: int | None = None) -> list[FrameWord]:
    """Words from greedy frame labels ``ids`` (T,) and each frame's best probability ``probs`` (T,).

    A pause of more than ``pause_frames`` blank frames also ends a word: a model that dropped the
    delimiter across a silence must not make one word (and so one segment) of both sides of it.
    """
    words: list[FrameWord] = []
    chars: list[str] = []
    frames: list[int] = []  # the frames whose best token is one of the current word's characters

    def close() -> None:
        if chars:
            words.append(FrameWord("".join(chars), frames[0], frames[-1], float(np.mean(probs[frames])), True))
            chars.clear()
            frames.clear()

    previous = -1
    for t, token in enumerate(ids.tolist()):
        repeat = token == previous
        previous = token
        if token == vocab.blank or token in vocab.silent:
            continue
        if token == vocab.delimiter:
            close()
            continue
        text = vocab.text(token)
        if _unspaced(text):
            if repeat and words and not chars and words[-1].end == t - 1 and not words[-1].spaced:
                old = words.pop()  # the same character held over several frames
                frames_held = list(range(old.start, t + 1))
                words.append(FrameWord(old.text, old.start, t, float(np.mean(probs[frames_held])), False))
                continue
            close()
            words.append(FrameWord(text, t, t, float(probs[t]), False))
            continue
        if frames and pause_frames is not None and t - frames[-1] - 1 > pause_frames:
            close()
        if not repeat or not frames or frames[-1] != t - 1:
            chars.append(text)  # a new character (a repeat after a blank is a doubled letter)
        frames.append(t)
    close()
    return words


def build_segments(words: list[FrameWord], logprobs: np.ndarray, stride_s: float,
                   duration: float, gap_s: float = SEGMENT_GAP_S) -> list[Segment]:
    """Segments of ``words`` split at pauses longer than ``gap_s``, times in seconds clipped to the audio.

    A word runs from the start of its first frame to the end of its last; ``avg_logprob`` is the
    mean log-probability of the greedy path over the segment's frames (blanks included), the figure
    Whisper's segments carry under the same name.
    """
    groups: list[list[FrameWord]] = []
    for word in words:
        if groups and (word.start - groups[-1][-1].end - 1) * stride_s <= gap_s:
            groups[-1].append(word)
        else:
            groups.append([word])
    segments = []
    for group in groups:
        timed = []
        for word in group:
            start = min(word.start * stride_s, duration)
            end = min((word.end + 1) * stride_s, duration)
            text = " " + word.text if word.spaced else word.text  # Word's convention: its leading space
            timed.append(Word(round(start, 3), round(max(end, start), 3), text, round(word.probability, 4)))
        span = logprobs[group[0].start : group[-1].end + 1]
        segments.append(Segment(
            start=timed[0].start,
            end=timed[-1].end,
            text="".join(w.text for w in timed),
            words=tuple(timed),
            scores={"avg_logprob": round(float(np.mean(span)), 4) if span.size else 0.0},
        ))
    return segments


def greedy_frames(logits) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(best ids, their probabilities, their log-probabilities, any non-finite logit) from float
    logits (T, vocab) as a torch tensor; the softmax runs in fp32 whatever the model's precision."""
    import torch

    from livecaption.asr.host import to_host

    logits = logits.float()
    finite = torch.isfinite(logits).all()
    logp = torch.log_softmax(torch.nan_to_num(logits), dim=-1)
    best, ids = logp.max(dim=-1)
    ids, best, finite = to_host(ids, best, finite)  # one device-to-host copy for all three
    return ids, np.exp(best), best, not bool(finite)
