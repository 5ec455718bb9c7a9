"""The CTC backend in-process, on tiny random wav2vec2/HuBERT models built from a config (tests/ctc_models.py).

Real speech in, nonsense out: what is checked is the plumbing (the factory, the protocol), the
shapes and times of the result, every precision, the precision monitor's fallbacks and streaming,
never the text.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import clip_path
from ctc_models import build_ctc_folder
from livecaption.asr import describe_model, load_recognizer, model_family
from livecaption.asr.ctc.recognizer import CtcRecognizer, CtcTuning
from livecaption.asr.types import TranscribeOptions
from livecaption.errors import ModelError, UserError

STRIDE_S = 0.02  # 320 samples at 16 kHz: the tiny models keep wav2vec2-base's conv strides


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("ctc")
    return {kind: build_ctc_folder(root / kind, kind) for kind in ("wav2vec2", "hubert")}


@pytest.fixture(scope="module")
def recognizer(folders):
    return load_recognizer(str(folders["wav2vec2"]), "cpu", "fp32")


@pytest.fixture(scope="module")
def jfk():
    from livecaption.audio.decode import decode_audio

    return decode_audio(clip_path("jfk.flac"))


def check_times(result, duration: float) -> None:
    """Words on the 20 ms frame grid, in order, inside the audio; segments spanning their words."""
    assert result.duration == pytest.approx(duration)
    words = [w for seg in result.segments for w in seg.words]
    assert words, "the random model should still emit characters"
    previous_end = 0.0
    for word in words:
        assert previous_end <= word.start <= word.end <= duration
        assert 0.0 <= word.probability <= 1.0 and word.text.startswith(" ")
        assert abs(word.start / STRIDE_S - round(word.start / STRIDE_S)) < 1e-6
        previous_end = word.end
    for seg in result.segments:
        assert (seg.start, seg.end) == (seg.words[0].start, seg.words[-1].end)
        assert seg.text == "".join(w.text for w in seg.words)
        assert np.isfinite(seg.scores["avg_logprob"]) and seg.scores["avg_logprob"] <= 0
    json.dumps(result.to_dict())  # what the exporters write


@pytest.mark.parametrize("kind", ["wav2vec2", "hubert"])
def test_the_factory_loads_a_ctc_folder_as_a_ctc_recognizer(folders, jfk, kind):
    recognizer = load_recognizer(str(folders[kind]), "cpu", "fp32")
    assert isinstance(recognizer, CtcRecognizer) and recognizer.family == "ctc"
    assert recognizer.choice.device == "cpu" and recognizer.choice.precision == "fp32"
    assert recognizer.describe_device() == "cpu fp32"
    assert list(recognizer.languages()) == []
    recognizer.begin_decode()
    assert recognizer.memory_stats() == {}  # nothing to tell on the CPU
    result = recognizer.transcribe(jfk, TranscribeOptions())
    check_times(result, len(jfk) / 16000)
    assert (result.model, result.device, result.precision, result.language) == (str(folders[kind]), "cpu", "fp32", "und")


def test_the_factory_sends_whisper_folders_to_whisper_and_ctc_folders_to_ctc(folders, tmp_path):
    from hostile import small_model

    whisper = small_model(tmp_path / "whisper")  # config and weights only: no tokenizer
    assert model_family(str(whisper)) == "whisper"
    assert model_family(str(folders["hubert"])) == "ctc"
    assert describe_model(str(whisper))["family"].startswith("whisper")
    assert describe_model(str(folders["wav2vec2"]))["family"] == "ctc (wav2vec2)"
    assert describe_model(str(folders["hubert"]))["family"] == "ctc (hubert)"
    with pytest.raises(ModelError, match="tokenizer") as failure:  # Whisper's loader, not CTC's vocab.json
        load_recognizer(str(whisper), "cpu", "fp32", verify_precision=False)
    assert "vocab.json" not in str(failure.value)


def test_long_audio_in_chunks_keeps_every_frame_on_one_grid(recognizer, jfk):
    duration = len(jfk) / 16000
    progress = []
    tuning = CtcTuning(chunk_s=3.0, context_s=0.5)
    result = recognizer.transcribe(jfk, TranscribeOptions(tuning=tuning), on_progress=lambda d, t: progress.append(d))
    check_times(result, duration)
    assert len(progress) == 4 and progress[-1] == pytest.approx(duration)
    # Chunks seam without a frame lost or doubled: as many frames as one pass over the whole clip.
    ids, _, _ = recognizer._frames(jfk, tuning, None)
    assert len(ids) == recognizer.runtime.frames(len(jfk)) == len(recognizer.runtime.logits(jfk))


def test_audio_too_short_for_a_frame_gives_an_empty_transcription(recognizer):
    for samples in (0, 100):
        result = recognizer.transcribe(np.zeros(samples, np.float32), TranscribeOptions())
        assert result.segments == () and result.text == "" and result.duration == samples / 16000


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8", "fp16"])
def test_every_precision_runs_on_the_cpu(folders, jfk, precision):
    recognizer = CtcRecognizer(str(folders["wav2vec2"]), "cpu", precision, verify_precision=False)
    assert recognizer.choice.precision == precision and recognizer.choice.fallback is None
    if precision == "int8":  # dynamic quantization: every Linear layer replaced by its int8 twin
        import torch

        linears = [m for m in recognizer.runtime.model.modules() if type(m) is torch.nn.Linear]
        quantized = [m for m in recognizer.runtime.model.modules() if "quantized" in type(m).__module__]
        assert not linears and quantized
    try:
        result = recognizer.transcribe(jfk[: 16000 * 4], TranscribeOptions())
    except RuntimeError as exc:  # pragma: no cover - depends on the torch build's CPU kernels
        pytest.skip(f"{precision} has no CPU kernel in this torch build: {exc}")
    assert result.precision == precision
    check_times(result, 4.0)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_the_start_check_compares_the_reduced_precision_with_fp32(folders, precision):
    recognizer = load_recognizer(str(folders["wav2vec2"]), "cpu", precision)
    choice = recognizer.choice
    # A random model's words may well differ between precisions: either it passed, or it said why.
    assert (choice.precision, choice.fallback) == (precision, None) or (
        choice.precision == "fp32" and choice.fallback.startswith("start check"))


def test_non_finite_logits_in_a_reduced_precision_fall_back_to_fp32(folders, jfk, monkeypatch):
    import torch

    from livecaption.asr.ctc.runtime import CtcRuntime

    recognizer = CtcRecognizer(str(folders["wav2vec2"]), "cpu", "bf16", verify_precision=False)
    real = CtcRuntime.logits

    def poisoned(self, audio):
        logits = real(self, audio)
        return torch.full_like(logits, float("nan")) if self.choice.precision == "bf16" else logits

    monkeypatch.setattr(CtcRuntime, "logits", poisoned)
    result = recognizer.transcribe(jfk[: 16000 * 3], TranscribeOptions())
    assert recognizer.choice.precision == "fp32" and "NaN" in recognizer.choice.fallback
    assert (result.precision, result.fallback) == ("fp32", recognizer.choice.fallback)
    check_times(result, 3.0)


def test_options_a_ctc_model_cannot_honour_are_refused(recognizer, folders, tmp_path):
    from livecaption.asr.whisper.settings import WhisperTuning

    with pytest.raises(UserError, match="cannot translate"):
        recognizer.check_options(TranscribeOptions(task="translate"))
    with pytest.raises(UserError, match="WhisperTuning"):
        recognizer.check_options(TranscribeOptions(tuning=WhisperTuning()))
    recognizer.check_options(TranscribeOptions(language="fr", prompt="ignored", beam_size=5))  # language unknown
    # A config that names its language: that one only.
    english = build_ctc_folder(tmp_path / "en", language="en")
    named = CtcRecognizer(str(english), "cpu", "fp32")
    assert list(named.languages()) == ["en"]
    named.check_options(TranscribeOptions(language="en"))
    with pytest.raises(UserError, match="transcribes en only"):
        named.check_options(TranscribeOptions(language="de"))
    assert named.transcribe(np.zeros(16000, np.float32), TranscribeOptions()).language == "en"


def test_streaming_replay_runs_to_the_end(recognizer, jfk):
    from livecaption.streaming.options import StreamingOptions
    from livecaption.streaming.replay import stream_file

    pipeline = stream_file(recognizer, jfk, fast=True, options=StreamingOptions())
    assert pipeline.error is None
    assert pipeline.core.decodes > 0 and pipeline.core.log.words
    assert isinstance(pipeline.transcript_text, str)
    for word in pipeline.core.log.words:  # what was committed sits inside the recording
        assert 0.0 <= word.start <= word.end <= len(jfk) / 16000 + 0.5
