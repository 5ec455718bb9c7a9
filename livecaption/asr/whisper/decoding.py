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

import numpy as np
import torch

from livecaption.asr.host import to_host
from livecaption.asr.whisper.runtime import WhisperRuntime

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


LOOP_COMPRESSION = 2.4


def is_greedy_loop(result: WindowDecodeResult) -> bool:
    """A greedy decode that repeats itself (what the precision monitor counts): sampled decodes that
    loop are the temperature fallback doing its job, not a sign of a broken precision."""
    return result.temperature == 0 and result.compression_ratio > LOOP_COMPRESSION


def compression_ratio(text: str) -> float:
    """How well ``text`` compresses; loops and repetitions score high (> 2.4)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0



class LogitRules:
    """Applies suppression and timestamp rules to a batch of next-token logits in place.

    The rules read the tokens sampled so far from host lists the decoder keeps anyway (it chose
    them), never from a device tensor: reading those back would be one GPU->CPU sync per row and
    step. Index tensors live on the logits' device, made there once.
    """

    def __init__(self, runtime: WhisperRuntime, request: WindowDecodeRequest, sample_begin: int):
        tok = runtime.tokens
        self.eot = tok.eot
        self.ts_begin = tok.timestamp_begin
        self.no_timestamps = tok.no_timestamps
        self.sample_begin = sample_begin
        self.request = request
        suppress = set(runtime.generation.get("suppress_tokens") or [])
        suppress.update(t for t in (tok.transcribe, tok.translate, tok.sot, tok.sot_prev, tok.sot_lm, tok.no_speech) if t is not None)
        device = runtime.device
        self.suppress = torch.tensor(sorted(suppress), dtype=torch.long, device=device)
        self.blank = torch.tensor(runtime.encode_text(" ") + [tok.eot], dtype=torch.long, device=device)

    def apply(self, logits: torch.Tensor, sampled: list[list[int]]) -> None:
        """``sampled``: per row, the tokens sampled so far (after the start sequence)."""
        at_start = len(sampled[0]) == 0
        if self.request.suppress_blank and at_start:
            logits[:, self.blank] = -float("inf")
        logits[:, self.suppress] = -float("inf")
        if self.request.with_timestamps:
            self._timestamp_rules(logits, sampled, at_start)

    def _timestamp_rules(self, logits: torch.Tensor, sampled: list[list[int]], at_start: bool) -> None:
        ts = self.ts_begin
        logits[:, self.no_timestamps] = -float("inf")
        for row, tokens in enumerate(sampled):
            last_ts = len(tokens) >= 1 and tokens[-1] >= ts
            penultimate_ts = len(tokens) < 2 or tokens[-2] >= ts
            if last_ts:
                if penultimate_ts:  # a pair just closed: text (or eot) must follow
                    logits[row, ts:] = -float("inf")
                else:  # an opening timestamp: another timestamp or eot must follow
                    logits[row, : self.eot] = -float("inf")
            stamps = [t for t in tokens if t >= ts]
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
        # masked_fill, not logits[mask, :ts] = ...: boolean indexing asks the host for the mask's size.
        logits[:, :ts].masked_fill_((stamp_mass > best_text).unsqueeze(1), -float("inf"))


class WindowDecoder:
    """Runs one decode over an encoded window.

    Every tensor it makes is made on the model's device, and each decoder step brings what it
    needs to the host in one copy (``to_host``): the chosen token(s) and their log-probability.
    """

    def __init__(self, runtime: WhisperRuntime, seed: int = 0):
        self.runtime = runtime
        # Sampling (temperature fallback) draws from a seeded generator: same audio, same text. It
        # lives on the model's device (multinomial refuses a CPU generator for CUDA probabilities),
        # and is made again, from the seed, when the model moves.
        self._seed = seed
        self._generator: torch.Generator | None = None

    def reseed(self, seed: int = 0) -> None:
        self._seed, self._generator = seed, None

    @property
    def generator(self) -> torch.Generator:
        device = torch.device(self.runtime.device)
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(self._seed)
        return self._generator

    def _tokens(self, rows: list[list[int]]) -> torch.Tensor:
        return torch.tensor(rows, dtype=torch.long, device=self.runtime.device)

    @torch.inference_mode()  # logits are inference tensors, edited in place by the rules
    def detect_language(self, encoder_states: torch.Tensor) -> tuple[str, dict[str, float]]:
        tok = self.runtime.tokens
        if not tok.languages:
            return "en", {"en": 1.0}
        logits = self.runtime.decoder_logits(self._tokens([[tok.sot]]), encoder_states, self.runtime.new_cache())[0, -1]
        codes = list(tok.languages)
        ids = torch.tensor([tok.languages[c] for c in codes], dtype=torch.long, device=logits.device)
        probs = to_host(torch.softmax(logits[ids], dim=-1)).tolist()
        ranked = dict(sorted(zip(codes, probs), key=lambda kv: -kv[1]))
        return next(iter(ranked)), ranked

    def _no_speech(self, sot_logits: torch.Tensor) -> torch.Tensor:
        """P(<|nospeech|>) per row of (rows, vocab) logits, left on the device (zeros without the token)."""
        no_speech = self.runtime.tokens.no_speech
        if no_speech is None:
            return torch.zeros(sot_logits.shape[0], device=sot_logits.device)
        return torch.softmax(sot_logits, dim=-1)[:, no_speech]

    @torch.inference_mode()  # logits are inference tensors, edited in place by the rules
    def decode(self, encoder_states: torch.Tensor, request: WindowDecodeRequest) -> WindowDecodeResult:
        initial = list(request.prompt_tokens) + list(request.sot_sequence)
        sample_begin = len(initial)
        sot_index = len(request.prompt_tokens)
        rules = LogitRules(self.runtime, request, sample_begin)
        beams = request.beam_size if request.temperature == 0 else 1
        max_tokens = min(request.max_new_tokens, MAX_SAMPLE_TOKENS, 448 - sample_begin)

        cache = self.runtime.new_cache()
        states = encoder_states.expand(beams, -1, -1)
        logits = self.runtime.decoder_logits(self._tokens([initial] * beams), states, cache)
        no_speech = self._no_speech(logits[:1, sot_index])  # travels with the first step's copy
        logits = logits[:, -1]
        if beams == 1:
            sampled, sum_logprob, no_speech_prob = self._greedy(logits, states, cache, rules, request.temperature,
                                                                max_tokens, no_speech)
        else:
            sampled, sum_logprob, no_speech_prob = self._beam(logits, initial, states, cache, rules, request,
                                                              max_tokens, no_speech)
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
        logits = self.runtime.decoder_logits(self._tokens([initial] * batch), encoder_states, cache)
        no_speech = self._no_speech(logits[:, 0])
        logits = logits[:, -1]
        sampled: list[list[int]] = [[] for _ in range(batch)]
        # What each row was fed after the start sequence; a finished row keeps stepping on
        # <|endoftext|> (ignored), so the rules see the same history as the device does.
        fed: list[list[int]] = [[] for _ in range(batch)]
        sums = [0.0] * batch
        done = [False] * batch
        finished = torch.zeros(batch, dtype=torch.bool, device=logits.device)
        no_speech_probs = None
        for _ in range(min(request.max_new_tokens, MAX_SAMPLE_TOKENS)):
            rules.apply(logits, fed)
            logprobs = torch.log_softmax(logits, dim=-1)
            chosen = logits.argmax(dim=-1).masked_fill(finished, eot)
            picked = logprobs.gather(1, chosen.unsqueeze(1)).squeeze(1)
            if no_speech_probs is None:
                chosen_h, picked_h, no_speech_probs = to_host(chosen, picked, no_speech)
            else:
                chosen_h, picked_h = to_host(chosen, picked)
            for row in range(batch):
                token = int(chosen_h[row])
                fed[row].append(token)
                if done[row] or token == eot:
                    done[row] = True
                    continue
                sampled[row].append(token)
                sums[row] += float(picked_h[row])
            if all(done):
                break
            finished = chosen == eot
            logits = self.runtime.decoder_logits(chosen.unsqueeze(1), encoder_states, cache)[:, -1]
        if no_speech_probs is None:  # no step was allowed
            no_speech_probs = to_host(no_speech)
        return [self._result(sampled[row], sums[row], float(no_speech_probs[row]), 0.0) for row in range(batch)]

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

    def _greedy(self, logits, states, cache, rules, temperature, max_tokens, no_speech):
        eot = self.runtime.tokens.eot
        sampled: list[int] = []
        sum_logprob = 0.0
        no_speech_prob = None
        for _ in range(max_tokens):
            rules.apply(logits, [sampled])
            logprobs = torch.log_softmax(logits, dim=-1)
            if temperature > 0:
                probs = torch.softmax(logits[0] / temperature, dim=-1)
                chosen = torch.multinomial(probs, 1, generator=self.generator)
            else:
                chosen = logits[0].argmax().reshape(1)
            picked = logprobs[0, chosen]
            if no_speech_prob is None:
                token, logprob, first = to_host(chosen, picked, no_speech)
                no_speech_prob = float(first[0])
            else:
                token, logprob = to_host(chosen, picked)
            next_token = int(token[0])
            if next_token == eot:
                break
            sum_logprob += float(logprob[0])
            sampled.append(next_token)
            logits = self.runtime.decoder_logits(chosen.view(1, 1), states, cache)[:, -1]
        if no_speech_prob is None:  # no step was allowed
            no_speech_prob = float(to_host(no_speech)[0])
        return sampled, sum_logprob, no_speech_prob

    def _beam(self, logits, initial, states, cache, rules, request, max_tokens, no_speech):
        eot = self.runtime.tokens.eot
        beams = request.beam_size
        sample_begin = len(initial)
        wanted_finished = max(1, round(beams * request.patience))
        # The beams' token sequences and scores live on the host: each step brings the top
        # candidates over in one copy and everything else is decided here.
        seqs: list[tuple[int, ...]] = [tuple(initial)] * beams
        scores = [0.0] * beams
        finished: dict[tuple[int, ...], float] = {}
        no_speech_prob = None
        for _ in range(max_tokens):
            rules.apply(logits, [list(seq[sample_begin:]) for seq in seqs])
            top_lp, top_tok = torch.log_softmax(logits, dim=-1).topk(beams + 1, dim=-1)
            if no_speech_prob is None:
                top_lp, top_tok, first = to_host(top_lp, top_tok, no_speech)
                no_speech_prob = float(first[0])
            else:
                top_lp, top_tok = to_host(top_lp, top_tok)
            candidates: dict[tuple[int, ...], tuple[float, int]] = {}
            for row, prefix in enumerate(seqs):
                for lp, tok in zip(top_lp[row].tolist(), top_tok[row].tolist()):
                    seq = prefix + (tok,)
                    score = scores[row] + lp
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
            cache.reorder_cache(torch.tensor(sources, dtype=torch.long, device=states.device))
            # Live scores are held in float32, as the log-probabilities themselves are.
            seqs, scores = kept_seqs, np.asarray(kept_scores, dtype=np.float32).tolist()
            step = self._tokens([[seq[-1]] for seq in seqs])
            logits = self.runtime.decoder_logits(step, states[: len(seqs)], cache)[:, -1]
        if no_speech_prob is None:  # no step was allowed
            no_speech_prob = float(to_host(no_speech)[0])
        if not finished:  # ran out of length: take the live beams as they are
            for seq, score in zip(seqs, scores):
                finished[seq[sample_begin:]] = score

        def ranked(item):
            seq, score = item
            return score / max(1, len(seq) + 1) ** request.length_penalty

        best, score = max(finished.items(), key=ranked)
        return list(best), score, no_speech_prob
