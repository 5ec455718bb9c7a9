"""CTC model folders through the real command: a tiny random model transcribes to JSON with word
times, ``livecaption models`` names its family, and every broken folder is one line with status 2.

Broken folders are caught by ``livecaption.asr.ctc.files`` before transformers sees them (the
config, the safetensors headers and vocab.json are read; the weights never are).
"""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import clip_path, run_cli
from ctc_models import VOCAB, build_ctc_folder
from livecaption.asr.ctc.files import check_folder, describe, folder_languages
from livecaption.errors import ModelError


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return build_ctc_folder(tmp_path_factory.mktemp("ctc") / "wav2vec2")


def test_transcribe_writes_json_with_word_times(good, tmp_path):
    out = tmp_path / "out.json"
    done = run_cli("transcribe", str(clip_path("jfk.flac")), "--model", str(good), "--device", "cpu",
                   "--format", "json", "-o", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert (data["model"], data["device"], data["precision"]) == (str(good), "cpu", "fp32")
    words = [w for seg in data["segments"] for w in seg["words"]]
    assert words and data["text"]
    previous_end = 0.0
    for word in words:  # monotonic, inside jfk.flac's 11 s
        assert previous_end <= word["start"] <= word["end"] <= 11.0
        previous_end = word["end"]
    assert all("avg_logprob" in seg for seg in data["segments"])


def test_models_names_the_family(good):
    done = run_cli("models", str(good))
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("\t", 1) for line in done.stdout.splitlines())
    assert lines["family"] == "ctc (wav2vec2)"
    assert (lines["languages"], lines["translation"], lines["source"]) == ("unknown", "no", "folder")


def test_describe_reads_a_declared_language(tmp_path):
    folder = build_ctc_folder(tmp_path / "hubert", "hubert", language="zh")
    assert describe(str(folder))["languages"] == "zh"
    assert describe(str(folder))["family"] == "ctc (hubert)"
    assert folder_languages(str(folder)) == {"zh"}


def test_an_unnamed_language_is_unknown_not_english_only(good):
    assert folder_languages(str(good)) is None


def _edit_config(folder, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def _pickle_only(folder):
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")


def _truncated(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def _no_ctc_head(folder):
    from safetensors.torch import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    del tensors["lm_head.weight"], tensors["lm_head.bias"]
    save_file(tensors, folder / "model.safetensors")


def _vocab_beyond_the_head(folder):
    (folder / "vocab.json").write_text(json.dumps({**VOCAB, "Ä": 500}))


BROKEN = {
    "pickle-only weights": (_pickle_only, "only pickled weights"),
    "wrong model_type": (lambda f: _edit_config(f, model_type="bert"), "'bert' model"),
    "missing vocab.json": (lambda f: (f / "vocab.json").unlink(), "no vocab.json"),
    "truncated safetensors": (_truncated, "truncated"),
    "no CTC head": (_no_ctc_head, "no CTC head"),
    "vocab beyond the head": (_vocab_beyond_the_head, "outside the model's"),
    "absurd size": (lambda f: _edit_config(f, hidden_size=10**9), "hidden_size"),
    "unreadable vocab.json": (lambda f: (f / "vocab.json").write_text("{"), "unreadable vocab.json"),
}


@pytest.fixture(params=sorted(BROKEN))
def broken(request, good, tmp_path):
    folder = shutil.copytree(good, tmp_path / "model")
    damage, message = BROKEN[request.param]
    damage(folder)
    return folder, message


def test_a_broken_folder_is_refused_before_loading(broken):
    folder, message = broken
    with pytest.raises(ModelError, match=message):
        check_folder(str(folder))


def test_a_broken_folder_is_one_line_and_status_2_from_models(broken):
    folder, message = broken
    done = run_cli("models", str(folder))
    assert done.returncode == 2 and message in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("livecaption: error:")


@pytest.mark.parametrize("name", ["pickle-only weights", "truncated safetensors", "missing vocab.json"])
def test_a_broken_folder_is_one_line_and_status_2_from_transcribe(name, good, tmp_path):
    folder = shutil.copytree(good, tmp_path / "model")
    damage, message = BROKEN[name]
    damage(folder)
    done = run_cli("transcribe", str(clip_path("jfk.flac")), "--model", str(folder), "--device", "cpu")
    assert done.returncode == 2 and message in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("livecaption: error:")
