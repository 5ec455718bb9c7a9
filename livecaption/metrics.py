"""Word and character error rates, with the light normalisation used for every figure we report."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s']|(?<!\w)'|'(?!\w)")


_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
          "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _number_words(token: str) -> str:
    """'3' -> 'three', '42' -> 'forty two': Whisper writes small numbers either way."""
    if not token.isdigit() or len(token) > 2:
        return token
    value = int(token)
    if value < 20:
        return _UNITS[value]
    tens, units = divmod(value, 10)
    return _TENS[tens] + ("" if units == 0 else " " + _UNITS[units])


def normalize(text: str) -> str:
    """Lower case, punctuation removed, whitespace collapsed (apostrophes inside words kept),
    and numbers below 100 spelled out in English words so '3' and 'three' compare equal."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_number_words(token) for token in _PUNCT.sub(" ", text).split())


def _edit_distance(ref: list[str], hyp: list[str]) -> int:
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    if not ref:
        return 0.0 if not hyp else 1.0
    return _edit_distance(ref, hyp) / len(ref)


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate over non-space characters (for languages written without spaces)."""
    ref = list(normalize(reference).replace(" ", ""))
    hyp = list(normalize(hypothesis).replace(" ", ""))
    if not ref:
        return 0.0 if not hyp else 1.0
    return _edit_distance(ref, hyp) / len(ref)
