"""The precision start check runs once per model, precision, device and library versions; its
verdict is remembered (livecaption/asr/start_check_cache.py), a failure included, and any change
of those means a new check: on the real tiny.en at int8, and on a tiny CTC model built here."""

from __future__ import annotations

import shutil

import pytest

from livecaption.asr import start_check_cache
from livecaption.asr.whisper.recognizer import WhisperRecognizer


@pytest.fixture
def counted(monkeypatch):
    """How many start checks ran (each decodes the clip twice: reduced and fp32)."""
    runs = []
    real = WhisperRecognizer._start_check

    def counting(self):
        runs.append(self.choice.precision)
        return real(self)

    monkeypatch.setattr(WhisperRecognizer, "_start_check", counting)
    return runs


def test_the_whisper_verdict_is_remembered(counted):
    first = WhisperRecognizer("tiny.en", "cpu", "int8")
    assert counted == ["int8"] and first.choice.precision == "int8"
    again = WhisperRecognizer("tiny.en", "cpu", "int8")  # the next start: no second fp32 model, no decodes
    assert counted == ["int8"] and again.choice.precision == "int8" and again.choice.fallback is None


@pytest.fixture
def ctc_folder(tmp_path):
    from ctc_models import build_ctc_folder

    return build_ctc_folder(tmp_path / "ctc")


def test_a_library_upgrade_a_failure_and_new_weights(ctc_folder, monkeypatch, tmp_path):
    # The same remembering for any backend (a tiny CTC model: loads in milliseconds).
    from livecaption.asr.ctc.recognizer import CtcRecognizer

    runs = []
    monkeypatch.setattr(CtcRecognizer, "_start_check", lambda self: runs.append(self.choice.precision))
    CtcRecognizer(str(ctc_folder), "cpu", "bf16")
    CtcRecognizer(str(ctc_folder), "cpu", "bf16")
    assert runs == ["bf16"]
    versions = start_check_cache.library_versions()
    monkeypatch.setattr(start_check_cache, "library_versions", lambda: {**versions, "torch": "99.0"})
    CtcRecognizer(str(ctc_folder), "cpu", "bf16")  # a torch upgrade: checked again
    assert runs == ["bf16", "bf16"]

    def failing(self):  # the check fails the way a NaN does, and falls back itself
        self.runtime.switch_to_fp32("NaN/inf in the model's output on the start check")
        return "NaN/inf in the model's output on the start check"

    monkeypatch.setattr(CtcRecognizer, "_start_check", failing)
    failed = CtcRecognizer(str(ctc_folder), "cpu", "int8")
    assert failed.choice.precision == "fp32" and "NaN/inf" in failed.choice.fallback
    monkeypatch.setattr(CtcRecognizer, "_start_check", lambda self: pytest.fail("the check ran again"))
    remembered = CtcRecognizer(str(ctc_folder), "cpu", "int8")  # falls back at once, and says so
    assert remembered.choice.precision == "fp32" and "NaN/inf" in remembered.choice.fallback
    assert "remembered" in remembered.choice.fallback

    copy = tmp_path / "copy"  # the same model elsewhere, its weights written since: checked again
    shutil.copytree(ctc_folder, copy)
    monkeypatch.setattr(CtcRecognizer, "_start_check", lambda self: runs.append("copy"))
    CtcRecognizer(str(copy), "cpu", "int8")
    assert runs[-1] == "copy"


def test_the_key_follows_precision_device_and_weights(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    key = start_check_cache.verdict_key(tmp_path, "int8", "cpu")
    assert key == start_check_cache.verdict_key(tmp_path, "int8", "cpu")
    assert key != start_check_cache.verdict_key(tmp_path, "bf16", "cpu")
    (tmp_path / "model.safetensors").write_bytes(b"y" * 11)  # new weights
    assert key != start_check_cache.verdict_key(tmp_path, "int8", "cpu")


def test_an_unreadable_or_garbled_verdict_file_costs_a_check_not_a_start(tmp_path):
    path = start_check_cache.verdicts_path()
    path.write_text("{not json")
    assert start_check_cache.cached_verdict("k") == (False, None)
    start_check_cache.remember_verdict("k", None)  # written over the garbage
    assert start_check_cache.cached_verdict("k") == (True, None)
    path.write_text('{"k": {"reason": 5}, "j": [1]}')  # verdicts of the wrong shape are no verdicts
    assert start_check_cache.cached_verdict("k") == (False, None) == start_check_cache.cached_verdict("j")
    path.unlink()
    path.mkdir()  # a folder where the file should be: nothing remembered, nothing raised
    start_check_cache.remember_verdict("k", "start check: NaN")
    assert start_check_cache.cached_verdict("k") == (False, None)

    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
