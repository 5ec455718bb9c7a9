"""Tiny wav2vec2 and HuBERT CTC model folders built from a config, for offline tests of the CTC backend.

No real CTC weights can be downloaded where the tests run, so each folder holds a randomly
initialised model of a few hundred thousand parameters with the real feature-encoder geometry
(conv strides 5·2·2·2·2·2·2 = 320 samples: 20 ms frames, as in wav2vec2-base), a character
vocabulary written here, and the tokenizer/preprocessor files saved by transformers' own classes.
Transcripts are nonsense: tests check plumbing, shapes, precisions, times and errors, never text.

The CTC head is scaled up so the random model is confident about *something* on each frame (its
best token is then well above the others); otherwise every hypothesis would sit at the floor of a
uniform guess and the streaming guard would rightly drop them all.
"""

from __future__ import annotations

import json
from pathlib import Path

LETTERS = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ'")
# transformers' Wav2Vec2 convention: blank (= pad) first, then the specials, the delimiter, letters.
VOCAB = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, **{c: 5 + i for i, c in enumerate(LETTERS)}}
HEAD_SCALE = 40.0


def tiny_config(kind: str = "wav2vec2", **overrides):
    from transformers import HubertConfig, Wav2Vec2Config

    fields = dict(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, pad_token_id=0,
        mask_time_prob=0.0, layerdrop=0.0, ctc_loss_reduction="mean",
    )
    fields.update(overrides)
    return (Wav2Vec2Config if kind == "wav2vec2" else HubertConfig)(**fields)


def build_ctc_folder(folder: Path, kind: str = "wav2vec2", seed: int = 0, **overrides) -> Path:
    """A complete tiny CTC model folder (config, safetensors weights, vocab, tokenizer, preprocessor)."""
    import torch
    from transformers import HubertForCTC, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = (Wav2Vec2ForCTC if kind == "wav2vec2" else HubertForCTC)(tiny_config(kind, **overrides))
    with torch.no_grad():
        model.lm_head.weight.mul_(HEAD_SCALE)
        model.lm_head.bias[0] += 2.0  # blanks common, as in a real CTC model, so words and pauses both occur
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "vocab.json").write_text(json.dumps(VOCAB))
    tokenizer = Wav2Vec2CTCTokenizer(str(folder / "vocab.json"), word_delimiter_token="|")
    tokenizer.save_pretrained(folder)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                             return_attention_mask=False).save_pretrained(folder)
    return folder
