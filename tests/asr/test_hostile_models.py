"""Issue #17: model folders that are damaged or hostile are refused with one clear line, before
transformers sees them; never a SafetensorError traceback, never layers left with random weights."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import clip_path, run_cli
from hostile import SMALL_CONFIG, digest, small_model
from livecaption.asr.whisper.models import check_model_folder, converted_path
from livecaption.errors import ModelError

def test_a_whole_small_folder_passes(tmp_path):
    check_model_folder(small_model(tmp_path / "m"))


@pytest.mark.parametrize("config_text, phrase", [
    ("[]", "config.json is not a JSON object"),
    ('"whisper"', "config.json is not a JSON object"),
    ("{", "unreadable config.json"),
    (json.dumps({k: v for k, v in SMALL_CONFIG.items() if k != "vocab_size"}), "lacks 'vocab_size'"),
    (json.dumps({**SMALL_CONFIG, "vocab_size": "51864"}), 'vocab_size = "51864"; expected an integer'),
    (json.dumps({**SMALL_CONFIG, "d_model": -8}), "d_model = -8"),
    (json.dumps({**SMALL_CONFIG, "encoder_layers": 10**9}), "encoder_layers = 1000000000"),
    (json.dumps({**SMALL_CONFIG, "max_source_positions": 3000}), "max_source_positions = 3000; expected 1500"),
    (json.dumps({**SMALL_CONFIG, "model_type": ["whisper"]}), "'unknown' model, not Whisper"),
])
def test_config_json_that_is_not_a_whisper_config(tmp_path, config_text, phrase):
    folder = small_model(tmp_path / "m")
    (folder / "config.json").write_text(config_text)
    with pytest.raises(ModelError, match=phrase.replace("(", r"\(").replace("[", r"\[")):
        check_model_folder(folder)


@pytest.mark.parametrize("content, phrase", [
    (b"", "empty, not a safetensors file"),
    (bytes(range(256)) * 64, "not a safetensors file"),
    (b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}", "header is not valid JSON"),
    (b"\x02\x00\x00\x00\x00\x00\x00\x00[]", "header is not a JSON object"),
])
def test_safetensors_that_is_empty_random_or_not_a_header(tmp_path, content, phrase):
    folder = small_model(tmp_path / "m")
    (folder / "model.safetensors").write_bytes(content)
    with pytest.raises(ModelError, match=phrase):
        check_model_folder(folder)


def test_truncated_safetensors(tmp_path):
    folder = small_model(tmp_path / "m")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ModelError, match="truncated"):
        check_model_folder(folder)


def test_safetensors_with_none_of_the_weights_is_refused(tmp_path):
    from safetensors.numpy import save_file

    folder = small_model(tmp_path / "m")
    save_file({"some.other.tensor": np.zeros(4, np.float32)}, str(folder / "model.safetensors"))
    with pytest.raises(ModelError, match="lack 50 of the 50 tensors .* refusing to run layers with random weights"):
        check_model_folder(folder)


def test_one_missing_weight_is_refused(tmp_path):
    folder = small_model(tmp_path / "m", drop=("decoder.layers.0.fc2.weight",))
    with pytest.raises(ModelError, match="lack 1 of the 50 tensors .*decoder.layers.0.fc2.weight"):
        check_model_folder(folder)


def test_wrong_shape_names_the_tensor_and_never_an_unseen_report(tmp_path):
    folder = small_model(tmp_path / "m", reshape={"encoder.conv1.weight": (8, 128, 3)})
    with pytest.raises(ModelError) as info:
        check_model_folder(folder)
    assert "encoder.conv1.weight has shape [8, 128, 3], but config.json implies [8, 80, 3]" in str(info.value)
    assert "above report" not in str(info.value)


def test_sharded_index_that_points_outside_the_folder(tmp_path):
    folder = small_model(tmp_path / "m")
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "../../etc/passwd"}}))
    with pytest.raises(ModelError, match="names files outside the folder"):
        check_model_folder(folder)


def test_a_directory_named_model_safetensors(tmp_path):
    folder = small_model(tmp_path / "m")
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors").mkdir()
    with pytest.raises(ModelError, match="is a directory"):
        check_model_folder(folder)


@pytest.mark.parametrize("damage, phrase", [
    ("config-list", "config.json is not a JSON object"),
    ("empty-weights", "empty, not a safetensors file"),
    ("no-weights", "refusing to run layers with random weights"),
])
def test_the_command_says_one_line_and_leaves_the_folder_alone(tmp_path, damage, phrase):
    from safetensors.numpy import save_file

    folder = small_model(tmp_path / "m")
    if damage == "config-list":
        (folder / "config.json").write_text("[1]")
    elif damage == "empty-weights":
        (folder / "model.safetensors").write_bytes(b"")
    else:
        save_file({"x": np.zeros(1, np.float32)}, str(folder / "model.safetensors"))
    before = {p.name: digest(p) for p in folder.iterdir()}
    proc = run_cli("transcribe", str(clip_path("one_two_three.wav")), "--model", str(folder), "--device", "cpu")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "SafetensorError" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("livecaption: error: ") and phrase in lines[0], proc.stderr
    assert {p.name: digest(p) for p in folder.iterdir()} == before


def test_a_truncated_converted_cache_is_converted_again(tmp_path, tiny_fp32):
    cache = tmp_path / "cache"
    shutil.copytree(converted_path("tiny.en"), cache / "models" / "tiny.en")
    weights = cache / "models" / "tiny.en" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    proc = run_cli("transcribe", str(clip_path("one_two_three.wav")), "--beam-size", "1", "--device", "cpu",
                   env={"LIVECAPTION_CACHE_DIR": str(cache)})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "damaged" in proc.stderr and "truncated" in proc.stderr and "three" in proc.stdout.lower()
    check_model_folder(cache / "models" / "tiny.en")


@pytest.mark.parametrize("name, content, phrase", [
    ("tokenizer.json", "garbage{", "unreadable tokenizer.json"),
    ("tokenizer.json", '{"a": 1}', "tokenizer.json lacks its vocabulary model or added tokens"),
    ("preprocessor_config.json", "[1]", "preprocessor_config.json is not a JSON object"),
    ("generation_config.json", "null", "generation_config.json is not a JSON object"),
])
def test_side_files_that_transformers_would_choke_on(tmp_path, name, content, phrase):
    folder = small_model(tmp_path / "m")
    (folder / name).write_text(content)
    with pytest.raises(ModelError, match=phrase):
        check_model_folder(folder)


@pytest.mark.parametrize("name, content, phrase", [
    # Valid JSON of the right shape that the tokenizers library cannot read.
    ("tokenizer.json", '{"model": {"type": "Nonsense"}, "added_tokens": []}', "cannot load tokenizer.json"),
    # Features the runtime does not make (it computes Whisper's log-mel frames itself).
    ("preprocessor_config.json", '{"feature_size": "x"}', 'preprocessor_config.json has feature_size = "x"'),
    ("preprocessor_config.json", '{"feature_size": 80, "sampling_rate": 44100}', "sampling_rate = 44100"),
])
def test_a_user_folder_the_runtime_cannot_use_is_bad_input_not_an_internal_error(tmp_path, tiny_fp32, name, content,
                                                                                  phrase):
    folder = tmp_path / "m"
    folder.mkdir()
    for item in converted_path("tiny.en").iterdir():
        (folder / item.name).symlink_to(item)
    (folder / name).unlink()
    (folder / name).write_text(content)
    proc = run_cli("transcribe", str(clip_path("one_two_three.wav")), "--model", str(folder), "--device", "cpu")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and phrase in lines[0], proc.stderr