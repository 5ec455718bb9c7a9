"""The voice encoder's weights: found without importing resemblyzer, converted once to safetensors,
loaded without unpickling, and a tampered or foreign file refused with one clear line."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from livecaption.errors import ModelError, UserError
from livecaption.speakers import weights
from tests.speakers_audio import needs_encoder, piece


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVECAPTION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@needs_encoder
def test_converts_once_then_loads_safetensors_without_pickle(cache, monkeypatch):
    tensors = weights.load_weights()
    target = cache / "speakers" / weights.WEIGHTS_NAME
    assert target.is_file() and "resemblyzer" not in sys.modules  # located, never imported
    assert set(tensors) == set(weights.EXPECTED_SHAPES)

    def no_pickle(*args, **kwargs):
        raise AssertionError("torch.load called after conversion")

    monkeypatch.setattr(torch, "load", no_pickle)
    again = weights.load_weights()
    assert all(torch.equal(again[k], tensors[k]) for k in tensors)


@needs_encoder
def test_tampered_or_foreign_files_are_refused_in_one_line(cache, tmp_path):
    good = weights.load_weights()
    target = cache / "speakers" / weights.WEIGHTS_NAME
    cases = {}
    wrong_shape = dict(good, **{"linear.weight": torch.zeros(128, 256)})
    save_file(wrong_shape, str(tmp_path / "shape.safetensors"))
    cases["shape"] = tmp_path / "shape.safetensors"
    extra = dict(good, evil=torch.zeros(1))
    save_file(extra, str(tmp_path / "extra.safetensors"))
    cases["unexpected"] = tmp_path / "extra.safetensors"
    (tmp_path / "garbage.safetensors").write_bytes(b"\x00" * 64)
    cases["not a readable"] = tmp_path / "garbage.safetensors"
    torch.save({"model_state": {"x": object()}}, tmp_path / "evil.pt")  # a pickle of an arbitrary object
    cases["refused"] = tmp_path / "evil.pt"
    for words, path in cases.items():
        with pytest.raises(UserError) as caught:
            weights.load_weights(path)
        message = str(caught.value)
        assert isinstance(caught.value, ModelError) and words in message and "\n" not in message, message
    # A cached conversion that was tampered with is refused too, not silently used.
    data = bytearray(target.read_bytes())
    data[10:20] = b"\xff" * 10
    target.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="delete it"):
        weights.load_weights()


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(weights.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="pip install"):
        weights.find_pretrained()


@needs_encoder
def test_encoder_embeds_real_speech_consistently():
    from tests.speakers_audio import encoder

    jfk_a, jfk_b, other = encoder().embed_utterances([piece("jfk", 0), piece("jfk", 1), piece("ami069", 0)])
    assert np.linalg.norm(jfk_a) == pytest.approx(1, abs=1e-5)
    assert jfk_a @ jfk_b > 0.7 and jfk_a @ jfk_b - jfk_a @ other > 0.15  # measured: 0.79 and 0.53
    assert np.isnan(encoder().embed(np.zeros(8000, np.float32))).all()  # silence: nothing to judge
