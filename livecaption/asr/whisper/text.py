"""Whisper's tokenizer from the model folder's ``tokenizer.json``, with the ``tokenizers`` library.

transformers' ``WhisperTokenizerFast`` wraps the same ``tokenizers.Tokenizer``; the runtime only
needs ids to text (of ordinary tokens: it strips special ones first), text to ids without special
tokens, and the ids of named special tokens. Using the library directly keeps transformers' import
(~3 s, ~110 MB) off the start of every session (issue #15). tests/asr/test_network.py holds it
to transformers' tokenizer on real transcripts and random token runs.
"""

from __future__ import annotations

from pathlib import Path

from livecaption.errors import ModelError


class WhisperText:
    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        try:
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises a bare Exception for a malformed file
            raise ModelError(f"model folder {folder}: cannot load tokenizer.json ({str(exc)[:120]})") from None

    def token_id(self, token: str) -> int | None:
        return self._tokenizer.token_to_id(token)

    def added_tokens(self) -> dict[str, int]:
        """The tokens added to the vocabulary (special tokens: languages, tasks, timestamps ...)."""
        return {added.content: token_id for token_id, added in self._tokenizer.get_added_tokens_decoder().items()}

    def decode(self, token_ids: list[int]) -> str:
        return self._tokenizer.decode(list(token_ids), skip_special_tokens=False)

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids
