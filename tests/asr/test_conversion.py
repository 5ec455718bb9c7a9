"""The CTranslate2 -> transformers conversion: container parsing, folder contents, atomicity, and
proof that the converted weights compute what CTranslate2 computes from the same bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import CLIPS, clip_path
from livecaption.asr.whisper import convert as convert_module
from livecaption.asr.whisper.ct2_format import read_ct2_model
from livecaption.asr.whisper.models import EMBEDDED_MODELS, resolve_model
from livecaption.errors import ModelError

ENGLISH_CLIPS = [name for name, clip in CLIPS.items() if clip["language"] == "en" or name == "en_de_license.mp3"]


def test_container_reads_every_tiny_variable():
    bundle, parts = EMBEDDED_MODELS["tiny.en"].locate()
    model = read_ct2_model(parts)
    assert model.spec_name == "WhisperSpec"
    assert model.get("decoder/embeddings/weight").shape == (51864, 384)
    # The output projection is stored once and aliased to the embeddings.
    assert model.get("decoder/projection/weight") is model.get("decoder/embeddings/weight")
    assert model.scalar("encoder/num_heads") == 6


def test_split_base_model_reads_as_one_stream():
    _, parts = EMBEDDED_MODELS["base"].locate()
    assert len(parts) == 2
    model = read_ct2_model(parts)
    assert model.get("encoder/conv1/weight").shape == (512, 80, 3)
    assert sum(1 for name in model.variables if name.startswith("decoder/layer_") and name.endswith("ffn/linear_0/weight")) == 6


def test_truncated_container_is_a_clear_error(tmp_path):
    _, parts = EMBEDDED_MODELS["tiny.en"].locate()
    cut = tmp_path / "model.bin"
    cut.write_bytes(parts[0].read_bytes()[:1_000_000])
    with pytest.raises(ModelError, match="truncated"):
        read_ct2_model([cut])


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVECAPTION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_conversion_writes_complete_folder_with_progress_and_is_reused(fresh_cache):
    seen = []
    resolved = resolve_model("tiny.en", progress=lambda done, total, what: seen.append((done, total)))
    assert resolved.path == fresh_cache / "models" / "tiny.en"
    assert seen and seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == sorted(d for d, _ in seen)
    files = {p.name for p in resolved.path.iterdir()}
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "preprocessor_config.json"} <= files
    assert not [p for p in resolved.path.parent.iterdir() if p.name.startswith(".")], "staging folder left behind"

    bundle_config = json.loads((EMBEDDED_MODELS["tiny.en"].locate()[0] / "config.json").read_text())
    generation = json.loads((resolved.path / "generation_config.json").read_text())
    assert generation["alignment_heads"] == bundle_config["alignment_heads"]
    assert generation["suppress_tokens"] == bundle_config["suppress_ids"]
    assert generation["begin_suppress_tokens"] == bundle_config["suppress_ids_begin"]
    assert generation["is_multilingual"] is False
    # Written without importing transformers, read by transformers as its own (other tools use the folder).
    from transformers import WhisperFeatureExtractor

    features = json.loads((resolved.path / "preprocessor_config.json").read_text())
    reference = WhisperFeatureExtractor(feature_size=80)
    reference.save_pretrained(str(fresh_cache / "reference"))
    assert features == json.loads((fresh_cache / "reference" / "preprocessor_config.json").read_text())

    stamp = (resolved.path / "model.safetensors").stat().st_mtime_ns
    again = []
    resolve_model("tiny.en", progress=lambda *a: again.append(a))
    assert again == [] and (resolved.path / "model.safetensors").stat().st_mtime_ns == stamp


def test_base_generation_config_carries_language_and_task_tokens(fresh_cache):
    path = resolve_model("base").path
    generation = json.loads((path / "generation_config.json").read_text())
    assert generation["is_multilingual"] is True
    assert generation["lang_to_id"]["<|en|>"] == 50259 and generation["lang_to_id"]["<|zh|>"] == 50260
    assert len(generation["lang_to_id"]) == 99
    assert generation["task_to_id"] == {"transcribe": 50359, "translate": 50358}
    assert generation["alignment_heads"][0] == [3, 1]


def test_interrupted_conversion_leaves_nothing_behind(fresh_cache, monkeypatch):
    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("safetensors.numpy.save_file", explode)
    with pytest.raises(KeyboardInterrupt):
        resolve_model("tiny.en")
    models_dir = fresh_cache / "models"
    assert not (models_dir / "tiny.en").exists()
    assert list(models_dir.iterdir()) == []


def test_incomplete_previous_conversion_is_redone(fresh_cache):
    target = fresh_cache / "models" / "tiny.en"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")  # no marker: a foreign or broken folder
    assert resolve_model("tiny.en").path == target
    assert convert_module.is_converted(target)


@pytest.fixture(scope="module")
def ct2_tiny():
    ctranslate2 = pytest.importorskip("ctranslate2")  # installed by the test extra
    bundle, _ = EMBEDDED_MODELS["tiny.en"].locate()
    return ctranslate2.models.Whisper(str(bundle), device="cpu", compute_type="float32")


@pytest.mark.parametrize("name", ENGLISH_CLIPS)
def test_converted_model_decodes_the_same_tokens_as_ctranslate2(name, tiny_fp32, ct2_tiny):
    """Same mel window in, greedy decoding with timestamps: token-for-token identical output."""
    import ctranslate2

    from livecaption.asr.whisper.decoding import WindowDecodeRequest
    from livecaption.audio.decode import decode_audio
    from livecaption.asr.whisper.runtime import N_FRAMES

    runtime = tiny_fp32.runtime
    audio = decode_audio(clip_path(name))
    mel = runtime.log_mel(audio, pad_samples=160)[:, :N_FRAMES]
    mel = np.pad(mel.numpy(), ((0, 0), (0, N_FRAMES - mel.shape[1])))
    sot = (runtime.tokens.sot,)

    reference = ct2_tiny.generate(ctranslate2.StorageView.from_array(mel[None].astype(np.float32)), [list(sot)],
                                  beam_size=1, return_no_speech_prob=True)[0]
    import torch

    states = runtime.encode(torch.from_numpy(mel))
    ours = tiny_fp32.decoder.decode(states, WindowDecodeRequest((), sot, 0.0, 1, 1.0, 1.0, True, 50, True))
    assert list(ours.tokens) == [t for t in reference.sequences_ids[0]]
    assert ours.no_speech_prob == pytest.approx(reference.no_speech_prob, abs=2e-3)


@pytest.mark.parametrize("name", ["jfk.flac", "one_two_three.wav"])
def test_file_transcription_text_equals_faster_whisper(name, tiny_fp32):
    """Whole pipeline (features, windows, greedy decode) against faster-whisper on the same bundle."""
    faster_whisper = pytest.importorskip("faster_whisper")
    from livecaption.asr.whisper.settings import whisper_options
    from livecaption.audio.decode import decode_audio

    bundle, _ = EMBEDDED_MODELS["tiny.en"].locate()
    audio = decode_audio(clip_path(name))
    reference_model = faster_whisper.WhisperModel(str(bundle), device="cpu", compute_type="float32")
    segments, _ = reference_model.transcribe(audio, beam_size=1, temperature=0.0, language="en")
    reference = "".join(seg.text for seg in segments).strip()
    ours = tiny_fp32.transcribe(audio, whisper_options(beam_size=1, temperatures=(0.0,), language="en"))
    assert ours.text == reference
