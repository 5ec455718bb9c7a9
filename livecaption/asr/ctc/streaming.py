"""How a CTC model decodes inside the streaming core: once, greedily, with one guard of its own.

A CTC decode is deterministic and has no settings worth retrying with (no temperature, no prompt,
no encoder window): a rejected hypothesis is simply replaced by the next partial decode, and a
final decode is not repeated. CTC cannot loop or invent subtitle credits the way a decoder with a
language model can, so Whisper's phantom-phrase and compression guards do not apply; what it does
produce on noise or music is a scatter of letters it barely believes, which the guard below drops.
The generic guards (empty, repeated words, bracketed annotations) still run in ``streaming.guards``.
"""

from __future__ import annotations

from dataclasses import dataclass

from livecaption.asr.types import TranscribeOptions, Transcription

# Mean best-token probability of a hypothesis's words below which it is noise read as letters:
# a fine-tuned model on speech is above 0.8; a near-uniform guess over a vocabulary of 32 is 0.03.
MIN_WORD_PROBABILITY = 0.2


@dataclass(frozen=True)
class CtcStreamingPolicy:
    min_word_probability: float = MIN_WORD_PROBABILITY

    def attempts(self, audio_seconds: float, request: TranscribeOptions, final: bool) -> list[TranscribeOptions]:
        return [request]

    def retry(self, reason: str, attempt: TranscribeOptions) -> bool:
        return False  # the same audio decodes the same way: nothing to gain from a second attempt

    def rejection_reason(self, result: Transcription) -> str | None:
        words = [word for seg in result.segments for word in seg.words]
        if words and sum(w.probability for w in words) / len(words) < self.min_word_probability:
            return "low confidence"
        return None
