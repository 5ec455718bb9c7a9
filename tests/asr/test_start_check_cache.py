"""The precision start check runs once per model, precision, device and library versions; its
verdict is remembered (livecaption/asr/start_check_cache.py), a failure included, and any change
of those means a new check. The model is the real tiny.en at int8; the check's decodes are counted."""

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


def test_the_verdict_is_remembered_and_redone_when_precision_or_libraries_change(counted, monkeypatch):
    first = WhisperRecognizer("tiny.en", "cpu", "int8")
    assert counted == ["int8"] and first.choice.precision == "int8"
    again = WhisperRecognizer("tiny.en", "cpu", "int8")  # the next start: no second fp32 model, no decodes
    assert counted == ["int8"] and again.choice.precision == "int8" and again.choice.fallback is None
    versions = start_check_cache.library_versions()
    monkeypatch.setattr(start_check_cache, "library_versions", lambda: {**versions, "torch": "99.0"})
    WhisperRecognizer("tiny.en", "cpu", "int8")  # a torch upgrade: checked again
    assert counted == ["int8", "int8"]


def test_the_key_follows_precision_device_and_weights(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    key = start_check_cache.verdict_key(tmp_path, "int8", "cpu")
    assert key == start_check_cache.verdict_key(tmp_path, "int8", "cpu")
    assert key != start_check_cache.verdict_key(tmp_path, "bf16", "cpu")
    (tmp_path / "model.safetensors").write_bytes(b"y" * 11)  # new weights
    assert key != start_check_cache.verdict_key(tmp_path, "int8", "cpu")


def test_a_remembered_failure_falls_back_at_once_and_new_weights_are_checked_again(monkeypatch, tmp_path):
    real = WhisperRecognizer._start_check

    def nan_everywhere(self):  # the reduced precision's output is NaN: the check fails
        self.runtime.model.proj_out.register_forward_hook(lambda module, inputs, output: output * float("nan"))
        return real(self)

    monkeypatch.setattr(WhisperRecognizer, "_start_check", nan_everywhere)
    failed = WhisperRecognizer("tiny.en", "cpu", "int8")
    assert failed.choice.precision == "fp32" and "NaN/inf" in failed.choice.fallback
    monkeypatch.setattr(WhisperRecognizer, "_start_check", lambda self: pytest.fail("the check ran again"))
    remembered = WhisperRecognizer("tiny.en", "cpu", "int8")
    assert remembered.choice.precision == "fp32" and "NaN/inf" in remembered.choice.fallback
    assert "remembered" in remembered.choice.fallback  # the status bar says where the verdict came from

    # The same model in another folder, its weights written since: a new model, a new check.
    folder = tmp_path / "copy"
    shutil.copytree(remembered.runtime.resolved.path, folder)
    ran = []
    monkeypatch.setattr(WhisperRecognizer, "_start_check", lambda self: ran.append(1))
    WhisperRecognizer(str(folder), "cpu", "int8")
    assert ran == [1]


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
