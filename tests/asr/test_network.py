"""Whisper without transformers at run time (issue #15): the plain-torch network, the tokenizer and
the mel filters are held to transformers' own, and a transcription imports none of transformers."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import REPO, clip_path
from livecaption.asr.whisper.features import mel_filters
from livecaption.asr.whisper.network import load_network
from livecaption.asr.whisper.text import WhisperText
from livecaption.errors import ModelError


@pytest.mark.parametrize("n_mels", [80, 128])  # every Whisper so far, large-v3 included
def test_mel_filters_are_transformers_own(n_mels):
    from transformers import WhisperFeatureExtractor

    theirs = np.asarray(WhisperFeatureExtractor(feature_size=n_mels).mel_filters, dtype=np.float32).T
    assert np.array_equal(mel_filters(n_mels), theirs)


def test_the_tokenizer_reads_and_writes_text_as_transformers_does(base_fp32):
    from transformers import WhisperTokenizerFast

    folder = base_fp32.runtime.resolved.path
    ours, theirs = WhisperText(folder), WhisperTokenizerFast.from_pretrained(str(folder))
    texts = ["And so, my fellow Americans, ask not.", "Hello , world . It 's  fine !", "达摩院 Kubernetes",
             "  leading spaces", "émoji 🎉 \u202e rtl", "<|en|> written out", "Jeden, der diese Software erhält"]
    for text in texts:
        assert ours.encode(text) == theirs.encode(text, add_special_tokens=False)
        assert ours.decode(ours.encode(text)) == theirs.decode(theirs.encode(text, add_special_tokens=False))
    eot = theirs.convert_tokens_to_ids("<|endoftext|>")
    rng = random.Random(7)
    for _ in range(500):  # token runs that split characters too: alignment reads partial UTF-8
        ids = [rng.randrange(eot) for _ in range(rng.randrange(1, 10))]
        assert ours.decode(ids) == theirs.decode(ids)
    assert ours.added_tokens() == theirs.get_added_vocab()
    assert ours.token_id("<|de|>") == theirs.convert_tokens_to_ids("<|de|>")
    assert ours.token_id("<|no such token|>") is None


def test_the_network_computes_transformers_logits(tiny_fp32, tiny_reference, jfk_audio):
    runtime = tiny_fp32.runtime
    mel = runtime.log_mel(jfk_audio)[:, :3000].unsqueeze(0)
    tokens = torch.tensor([[runtime.tokens.sot] + runtime.encode_text(" And so my fellow Americans")])
    with torch.no_grad():
        theirs = tiny_reference(input_features=mel, decoder_input_ids=tokens).logits
        states = runtime.encode(mel[0])
        ours = runtime.decoder_logits(tokens, states, runtime.new_cache())
    assert (ours - theirs).abs().max() < 2e-3
    # The same tensors under the same names (plus the fused q/k/v projection, views of the three).
    ours_shapes = {name: p.shape for name, p in runtime.model.named_parameters() if ".qkv_proj." not in name}
    assert ours_shapes == {name: p.shape for name, p in tiny_reference.named_parameters()}


def test_a_folder_with_another_activation_is_refused(tmp_path, tiny_fp32):
    folder = tiny_fp32.runtime.resolved.path
    config = json.loads((folder / "config.json").read_text())
    with pytest.raises(ModelError, match="activation_function 'relu'"):
        load_network(folder, {**config, "activation_function": "relu"}, torch.float32)


def test_an_untied_output_projection_is_loaded_as_its_own_weight(tmp_path, tiny_fp32):
    from safetensors.torch import load_file, save_file

    source = tiny_fp32.runtime.resolved.path
    weights = load_file(str(source / "model.safetensors"))
    weights["proj_out.weight"] = torch.zeros_like(weights["model.decoder.embed_tokens.weight"])
    save_file(weights, str(tmp_path / "model.safetensors"))
    config = {**json.loads((source / "config.json").read_text()), "tie_word_embeddings": False}
    network = load_network(tmp_path, config, torch.float32)
    assert not network.proj_out.weight.any() and network.model.decoder.embed_tokens.weight.any()


def test_transcribing_imports_nothing_of_transformers():
    code = (
        "import sys\n"
        "from livecaption.asr import load_recognizer\n"
        "from livecaption.audio.decode import decode_audio\n"
        f"recognizer = load_recognizer('tiny.en', 'cpu', 'int8')\n"
        f"text = recognizer.transcribe(decode_audio({str(clip_path('jfk.flac'))!r})).text\n"
        "assert 'country' in text, text\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in ('transformers', 'torch._dynamo'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
