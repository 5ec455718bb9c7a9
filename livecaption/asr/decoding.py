"""Decoding one 30 s window: greedy, sampling or beam search, with Whisper's logit rules.

The rules follow the Whisper paper's reference decoder (which faster-whisper also follows):
blank and special tokens are suppressed, timestamp tokens come in pairs, never decrease, the
first token is a timestamp no later than ``max_initial_timestamp``, and a timestamp is forced
when the timestamp tokens together outweigh every text token.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import torch

from livecaption.asr.whisper_runtime import WhisperRuntime

MAX_SAMPLE_TOKENS = 224  # half of Whisper's 448-token text context


@dataclass(frozen=True)
class WindowDecodeRequest:
    prompt_tokens: tuple[int, ...]  # <|startofprev|> context, already trimmed
    sot_sequence: tuple[int, ...]  # <|startoftranscript|> [lang] [task] [<|notimestamps|>]
    temperature: float
    beam_size: int
    patience: float
    length_penalty: float
    with_timestamps: bool
    max_initial_timestamp_index: int | None
    suppress_blank: bool
    max_new_tokens: int = MAX_SAMPLE_TOKENS
    last_timestamp_index: int | None = None  # a short encoder window ends here: no timestamp past it


@dataclass(frozen=True)
class WindowDecodeResult:
    tokens: tuple[int, ...]  # sampled text and timestamp tokens, without <|endoftext|>
    text: str
    avg_logprob: float
    no_speech_prob: float
    temperature: float
    compression_ratio: float
    non_finite: bool = False  # a NaN/inf logit: the precision (not the audio) failed


def compression_ratio(text: str) -> float:
    """How well ``text`` compresses; loops and repetitions score high (> 2.4)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


class LogitRules:
    """Applies suppression and timestamp rules to a batch of next-token logits in place."""

    def __init__(self, runtime: WhisperRuntime, request: WindowDecodeRequest, sample_begin: int):
        tok = runtime.tokens
        self.eot = tok.eot
        self.ts_begin = tok.timestamp_begin
        self.no_timestamps = tok.no_timestamps
        self.sample_begin = sample_begin
        self.request = request
        suppress = set(runtime.generation.get("suppress_tokens") or [])
        suppress.update(t for t in (tok.transcribe, tok.translate, tok.sot, tok.sot_prev, tok.sot_lm, tok.no_speech) if t is not None)
        self.suppress = torch.tensor(sorted(suppress), dtype=torch.long)
        self.blank = torch.tensor(runtime.encode_text(" ") + [tok.eot], dtype=torch.long)

    def apply(self, logits: torch.Tensor, tokens: torch.Tensor) -> None:
        if self.suppress.device != logits.device:  # once per decode, not a host copy per token on CUDA
            self.suppress, self.blank = self.suppress.to(logits.device), self.blank.to(logits.device)
        at_start = tokens.shape[1] == self.sample_begin
        if self.request.suppress_blank and at_start:
            logits[:, self.blank] = -float("inf")
        logits[:, self.suppress] = -float("inf")
        if self.request.with_timestamps:
            self._timestamp_rules(logits, tokens, at_start)

    def _timestamp_rules(self, logits: torch.Tensor, tokens: torch.Tensor, at_start: bool) -> None:
        ts = self.ts_begin
        logits[:, self.no_timestamps] = -float("inf")
        for row in range(tokens.shape[0]):
            sampled = tokens[row, self.sample_begin:].tolist()
            last_ts = len(sampled) >= 1 and sampled[-1] >= ts
            penultimate_ts = len(sampled) < 2 or sampled[-2] >= ts
            if last_ts:
                if penultimate_ts:  # a pair just closed: text (or eot) must follow
                    logits[row, ts:] = -float("inf")
                else:  # an opening timestamp: another timestamp or eot must follow
                    logits[row, : self.eot] = -float("inf")
            stamps = [t for t in sampled if t >= ts]
            if stamps:
                # Timestamps never decrease; after a closing one they must strictly increase.
                floor = stamps[-1] if (last_ts and not penultimate_ts) else stamps[-1] + 1
                logits[row, ts:floor] = -float("inf")
        if self.request.last_timestamp_index is not None:
            logits[:, ts + self.request.last_timestamp_index + 1 :] = -float("inf")
        if at_start:
            logits[:, :ts] = -float("inf")
            if self.request.max_initial_timestamp_index is not None:
                logits[:, ts + self.request.max_initial_timestamp_index + 1 :] = -float("inf")
        logprobs = torch.log_softmax(logits, dim=-1)
        stamp_mass = logprobs[:, ts:].logsumexp(dim=-1)
        best_text = logprobs[:, :ts].max(dim=-1).values
        logits[stamp_mass > best_text, :ts] = -float("inf")


class WindowDecoder:
    """Runs one decode over an encoded window."""

    def __init__(self, runtime: WhisperRuntime, seed: int = 0):
        self.runtime = runtime
        # Sampling (temperature fallback) draws from a seeded generator: same audio, same text.
        self.generator = torch.Generator().manual_seed(seed)

    @torch.inference_mode()  # logits are inference tensors, edited in place by the rules
    def detect_language(self, encoder_states: torch.Tensor) -> tuple[str, dict[str, float]]:
        tok = self.runtime.tokens
        if not tok.languages:
            return "en", {"en": 1.0}
        logits = self.runtime.decoder_logits(torch.tensor([[tok.sot]]), encoder_states, self.runtime.new_cache())[0, -1]
        codes = list(tok.languages)
        probs = torch.softmax(logits[[tok.languages[c] for c in codes]], dim=-1).tolist()
        ranked = dict(sorted(zip(codes, probs), key=lambda kv: -kv[1]))
        return next(iter(ranked)), ranked

    @torch.inference_mode()  # logits are inference tensors, edited in place by the rules
    def decode(self, encoder_states: torch.Tensor, request: WindowDecodeRequest) -> WindowDecodeResult:
        initial = list(request.prompt_tokens) + list(request.sot_sequence)
        sample_begin = len(initial)
        sot_index = len(request.prompt_tokens)
        rules = LogitRules(self.runtime, request, sample_begin)
        beams = request.beam_size if request.temperature == 0 else 1
        max_tokens = min(request.max_new_tokens, MAX_SAMPLE_TOKENS, 448 - sample_begin)

        cache = self.runtime.new_cache()
        tokens = torch.tensor([initial] * beams, dtype=torch.long)
        states = encoder_states.expand(beams, -1, -1)
        logits = self.runtime.decoder_logits(tokens, states, cache)
        no_speech_prob = self._no_speech_prob(logits[0, sot_index])
        logits = logits[:, -1]
        if beams == 1:
            sampled, sum_logprob = self._greedy(logits, tokens, states, cache, rules, request.temperature, max_tokens)
        else:
            sampled, sum_logprob = self._beam(logits, tokens, states, cache, rules, request, max_tokens)
        return self._result(sampled, sum_logprob, no_speech_prob, request.temperature)

    @torch.inference_mode()  # logits are inference tensors, edited in place by the rules
    def decode_batch(self, encoder_states: torch.Tensor, request: WindowDecodeRequest) -> list[WindowDecodeResult]:
        """Greedy decoding of every window in ``encoder_states`` (batch, frames, d) at once: the
        same start tokens for all (no prompt), one decoder step for the whole batch."""
        eot = self.runtime.tokens.eot
        batch = encoder_states.shape[0]
        initial = list(request.sot_sequence)
        rules = LogitRules(self.runtime, request, len(initial))
        cache = self.runtime.new_cache()
        tokens = torch.tensor([initial] * batch, dtype=torch.long)
        logits = self.runtime.decoder_logits(tokens, encoder_states, cache)
        no_speech = [self._no_speech_prob(logits[row, 0]) for row in range(batch)]
        logits = logits[:, -1]
        sampled: list[list[int]] = [[] for _ in range(batch)]
        sums = [0.0] * batch
        done = [False] * batch
        for _ in range(min(request.max_new_tokens, MAX_SAMPLE_TOKENS)):
            rules.apply(logits, tokens)
            logprobs = torch.log_softmax(logits, dim=-1)
            chosen = logits.argmax(dim=-1)
            for row in range(batch):
                token = int(chosen[row])
                if done[row] or token == eot:
                    done[row] = True
                    chosen[row] = eot  # a finished window keeps stepping on <|endoftext|>, ignored
                    continue
                sampled[row].append(token)
                sums[row] += float(logprobs[row, token])
            if all(done):
                break
            step = chosen.unsqueeze(1)
            tokens = torch.cat([tokens, step], dim=1)
            logits = self.runtime.decoder_logits(step, encoder_states, cache)[:, -1]
        return [self._result(sampled[row], sums[row], no_speech[row], 0.0) for row in range(batch)]

    def _result(self, sampled: list[int], sum_logprob: float, no_speech_prob: float,
                temperature: float) -> WindowDecodeResult:
        text = self.runtime.decode_text(sampled).strip()
        return WindowDecodeResult(
            tokens=tuple(sampled),
            text=text,
            avg_logprob=sum_logprob / (len(sampled) + 1),
            no_speech_prob=no_speech_prob,
            temperature=temperature,
            compression_ratio=compression_ratio(text),
            # Free to compute: a NaN/inf anywhere in the logits reaches these two sums.
            non_finite=not (math.isfinite(sum_logprob) and math.isfinite(no_speech_prob)),
        )

    def _no_speech_prob(self, sot_logits: torch.Tensor) -> float:
        no_speech = self.runtime.tokens.no_speech
        if no_speech is None:
            return 0.0
        return float(torch.softmax(sot_logits, dim=-1)[no_speech])

    def _greedy(self, logits, tokens, states, cache, rules, temperature, max_tokens):
        eot = self.runtime.tokens.eot
        sampled: list[int] = []
        sum_logprob = 0.0
        for _ in range(max_tokens):
            rules.apply(logits, tokens)
            logprobs = torch.log_softmax(logits, dim=-1)
            if temperature > 0:
                probs = torch.softmax(logits[0] / temperature, dim=-1)
                next_token = int(torch.multinomial(probs, 1, generator=self.generator)[0])
            else:
                next_token = int(logits[0].argmax())
            if next_token == eot:
                break
            sum_logprob += float(logprobs[0, next_token])
            sampled.append(next_token)
            step = torch.tensor([[next_token]])
            tokens = torch.cat([tokens, step], dim=1)
            logits = self.runtime.decoder_logits(step, states, cache)[:, -1]
        return sampled, sum_logprob

    def _beam(self, logits, tokens, states, cache, rules, request, max_tokens):
        eot = self.runtime.tokens.eot
        beams = request.beam_size
        sample_begin = tokens.shape[1]
        wanted_finished = max(1, round(beams * request.patience))
        sum_logprobs = torch.zeros(beams)
        finished: dict[tuple[int, ...], float] = {}
        for _ in range(max_tokens):
            rules.apply(logits, tokens)
            logprobs = torch.log_softmax(logits, dim=-1)
            top_lp, top_tok = logprobs.topk(beams + 1, dim=-1)
            candidates: dict[tuple[int, ...], tuple[float, int]] = {}
            for row in range(tokens.shape[0]):
                prefix = tuple(tokens[row].tolist())
                for lp, tok in zip(top_lp[row].tolist(), top_tok[row].tolist()):
                    seq = prefix + (tok,)
                    score = float(sum_logprobs[row]) + lp
                    if seq not in candidates or candidates[seq][0] < score:
                        candidates[seq] = (score, row)
            kept_seqs, kept_scores, sources = [], [], []
            for seq, (score, row) in sorted(candidates.items(), key=lambda kv: -kv[1][0]):
                if seq[-1] == eot:
                    if len(finished) < wanted_finished:
                        finished[seq[sample_begin:-1]] = score
                    continue
                kept_seqs.append(seq)
                kept_scores.append(score)
                sources.append(row)
                if len(kept_seqs) == beams:
                    break
            if len(finished) >= wanted_finished or not kept_seqs:
                break
            cache.reorder_cache(torch.tensor(sources, device=states.device))
            tokens = torch.tensor(kept_seqs, dtype=torch.long)
            sum_logprobs = torch.tensor(kept_scores)
            logits = self.runtime.decoder_logits(tokens[:, -1:], states[: len(kept_seqs)], cache)[:, -1]
        if not finished:  # ran out of length: take the live beams as they are
            for row in range(tokens.shape[0]):
                finished[tuple(tokens[row, sample_begin:].tolist())] = float(sum_logprobs[row])

        def ranked(item):
            seq, score = item
            return score / max(1, len(seq) + 1) ** request.length_penalty

        best, score = max(finished.items(), key=ranked)
        return list(best), score
