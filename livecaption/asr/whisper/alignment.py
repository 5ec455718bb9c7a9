"""Word timestamps from Whisper's cross-attention, aligned to the audio with dynamic time warping.

Some cross-attention heads of Whisper's decoder (the "alignment heads" listed in the model's
generation config) attend to the audio frame being spoken. Their attention over the decoded
tokens is normalised, median-filtered and averaged, then a monotonic path through the
token x frame matrix (DTW) gives each token its frame; word boundaries come from the tokens.

The attention weights are recomputed from the inputs of those layers (captured with forward
hooks), so this works whatever attention kernel the model runs (SDPA, eager, quantized).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import torch

from livecaption.asr.host import to_host
from livecaption.asr.types import Word
from livecaption.asr.whisper.runtime import TOKENS_PER_SECOND, WhisperRuntime

# Languages written without spaces between words: split them per character instead.
UNSPACED_LANGUAGES = {"zh", "ja", "th", "lo", "my", "yue"}
PREPEND_PUNCTUATION = "\"'“¿([{-"
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"


@dataclass
class _WordTokens:
    text: str
    tokens: list[int]


def dtw_path(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monotonic minimum-cost path through ``cost`` (rows x cols), as (row indices, col indices).

    Each row is filled with a prefix minimum instead of a Python loop over columns:
    acc[j] = x[j] + min(best_from_above[j], acc[j-1]) unrolls to
    acc[j] = S[j] + min_{k<=j}(best_from_above[k] - S[k-1]) with S the running sum of x.
    """
    rows, cols = cost.shape
    acc = np.full((rows + 1, cols + 1), np.inf)
    acc[0, 0] = 0.0
    trace = np.zeros((rows + 1, cols + 1), dtype=np.int8)  # 0 diagonal, 1 up, 2 left
    trace[0, :] = 2
    trace[:, 0] = 1
    for i in range(1, rows + 1):
        diag, up = acc[i - 1, :-1], acc[i - 1, 1:]
        from_above = np.minimum(diag, up)
        x = cost[i - 1].astype(np.float64)
        running = np.cumsum(x)
        before = np.concatenate(([0.0], running[:-1]))
        acc[i, 1:] = running + np.minimum.accumulate(from_above - before)
        left = acc[i, :-1]
        trace[i, 1:] = np.where(left <= from_above, 2, np.where(diag <= up, 0, 1))
        trace[i, 1] = 0 if diag[0] <= up[0] else 1  # column 0 has no left neighbour
    i, j = rows, cols
    path = []
    while i > 0 or j > 0:
        path.append((i - 1, j - 1))
        step = trace[i, j]
        if step == 0:
            i, j = i - 1, j - 1
        elif step == 1:
            i -= 1
        else:
            j -= 1
    path = np.array(path[::-1])
    return path[:, 0], path[:, 1]


def _median_filter(x: torch.Tensor, width: int) -> torch.Tensor:
    pad = width // 2
    if x.shape[-1] <= pad:
        return x
    padded = torch.nn.functional.pad(x, (pad, pad), mode="reflect")
    return padded.unfold(-1, width, 1).median(dim=-1).values


class WordAligner:
    def __init__(self, runtime: WhisperRuntime):
        self.runtime = runtime
        heads = runtime.generation.get("alignment_heads")
        if not heads:  # no list shipped: the upper half of the decoder, every head
            layers = runtime.config["decoder_layers"]
            n_heads = runtime.config["decoder_attention_heads"]
            heads = [[layer, h] for layer in range(layers // 2, layers) for h in range(n_heads)]
        self.heads = [(int(layer), int(head)) for layer, head in heads]

    def _cross_attention_logits(self, tokens: list[int], encoder_states: torch.Tensor, frames: int):
        """Raw q.k scores (heads, tokens, frames) of the alignment heads, and token probabilities."""
        cache, queries = self.runtime.new_cache(), {}
        ids = torch.tensor([tokens], dtype=torch.long, device=encoder_states.device)
        logits = self.runtime.decoder_logits(ids, encoder_states, cache, cross_queries=queries)
        scores = []
        with torch.no_grad():
            for layer, head in self.heads:
                # Only over the frames that hold audio: the rest is padding the model ignores anyway.
                # The cached keys are already scaled by 1/sqrt(d_head).
                q, k_t = queries[layer][0, head].float(), cache.cross_keys_t[layer][0, head, :, :frames].float()
                scores.append(q @ k_t)
        return torch.stack(scores), torch.softmax(logits[0], dim=-1)

    def split_words(self, text_tokens: list[int], language: str) -> list[_WordTokens]:
        """Group tokens into words (per character for unspaced scripts)."""
        decode = self.runtime.tokenizer.decode
        units: list[_WordTokens] = []
        pending: list[int] = []
        for token in text_tokens:
            pending.append(token)
            text = decode(pending)
            if "\ufffd" not in text:  # a whole UTF-8 character decoded
                units.append(_WordTokens(text, pending))
                pending = []
        if pending:
            units.append(_WordTokens(decode(pending), pending))
        if language in UNSPACED_LANGUAGES:
            return units
        words: list[_WordTokens] = []
        for unit in units:
            starts_word = unit.text.startswith(" ") or unit.text.strip() in string.punctuation
            if starts_word or not words:
                words.append(_WordTokens(unit.text, list(unit.tokens)))
            else:
                words[-1].text += unit.text
                words[-1].tokens.extend(unit.tokens)
        return words

    def align(
        self,
        encoder_states: torch.Tensor,
        sot_sequence: list[int],
        text_tokens: list[int],
        num_frames: int,
        language: str,
    ) -> list[Word]:
        """Words of ``text_tokens`` with times in seconds from the window's start."""
        if not text_tokens:
            return []
        tok = self.runtime.tokens
        tokens = [*sot_sequence, tok.no_timestamps, *text_tokens, tok.eot]
        frames = max(1, num_frames // 2)
        scores, probs = self._cross_attention_logits(tokens, encoder_states, frames)
        weights = torch.softmax(scores, dim=-1)
        std, mean = torch.std_mean(weights, dim=-2, keepdim=True, unbiased=False)
        weights = _median_filter((weights - mean) / (std + 1e-8), 7)
        matrix = weights.mean(dim=0)[len(sot_sequence) : -1]
        # Each text token's probability where it was predicted (one position earlier), gathered on
        # the device: DTW's matrix and these come to the host in one copy.
        first_text = len(sot_sequence) + 1
        rows = torch.arange(first_text - 1, first_text - 1 + len(text_tokens), device=probs.device)
        picked = probs[rows, torch.tensor(text_tokens, dtype=torch.long, device=probs.device)]
        cost, token_probs = to_host(-matrix, picked)
        token_rows, frame_cols = dtw_path(cost)
        words = self.split_words(text_tokens, language)
        boundaries = np.cumsum([0] + [len(w.tokens) for w in words])
        jumps = np.concatenate(([True], np.diff(token_rows) != 0))
        jump_times = frame_cols[jumps] / TOKENS_PER_SECOND
        result = []
        for index, word in enumerate(words):
            begin, end = boundaries[index], boundaries[index + 1]
            start_t = float(jump_times[min(begin, len(jump_times) - 1)])
            end_t = float(jump_times[min(end, len(jump_times) - 1)])
            prob = float(np.mean(token_probs[begin:end])) if end > begin else 0.0
            result.append(Word(start=start_t, end=max(start_t, end_t), text=word.text, probability=prob))
        return clamp_long_words(merge_punctuation(result))


def merge_punctuation(words: list[Word]) -> list[Word]:
    """Attach stand-alone punctuation to its neighbour, so '.' never counts as a word."""
    merged: list[Word] = []
    carry: Word | None = None
    for word in words:
        bare = word.text.strip()
        if carry is not None:  # an opening quote or bracket joins the word after it
            word = Word(carry.start, word.end, carry.text + word.text.lstrip(), min(carry.probability, word.probability))
            carry = None
            bare = word.text.strip()
        if bare and all(c in APPEND_PUNCTUATION for c in bare) and merged:
            last = merged[-1]
            merged[-1] = Word(last.start, word.end, last.text + bare, min(last.probability, word.probability))
        elif bare and all(c in PREPEND_PUNCTUATION for c in bare):
            carry = word
        else:
            merged.append(word)
    if carry is not None:
        merged.append(carry)
    return merged


SENTENCE_END = ".。!！?？"


def clamp_long_words(words: list[Word]) -> list[Word]:
    """Trim words that DTW stretched over a pause.

    DTW must give every frame to some token, so silence before a sentence is absorbed by its
    first word and silence after it by its last. A word longer than twice the median word
    (itself capped at 0.7 s) at such a boundary is cut to that length on the silent side.
    """
    durations = [w.end - w.start for w in words if w.end > w.start]
    if not durations:
        return words
    limit = 2 * min(0.7, float(np.median(durations)))
    fixed = list(words)
    for i, word in enumerate(fixed):
        if word.end - word.start <= limit:
            continue
        starts_sentence = i == 0 or fixed[i - 1].text.strip()[-1:] in SENTENCE_END
        ends_sentence = i == len(fixed) - 1 or word.text.strip()[-1:] in SENTENCE_END
        if starts_sentence:
            fixed[i] = Word(word.end - limit, word.end, word.text, word.probability)
        elif ends_sentence:
            fixed[i] = Word(word.start, word.start + limit, word.text, word.probability)
    return fixed
