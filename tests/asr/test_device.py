"""Device and precision are decided in one place, with one warning on fallback."""

from __future__ import annotations

import logging

import pytest
import torch

from conftest import clip_path
from livecaption.asr.device import DeviceChoice, resolve_device, supported_precisions
from livecaption.errors import UserError

HAS_CUDA = torch.cuda.is_available()


def test_auto_means_fp16_on_cuda_else_fp32_on_cpu(caplog):
    with caplog.at_level(logging.WARNING, logger="livecaption"):
        choice = resolve_device("auto", "auto")
    if HAS_CUDA:
        assert (choice.device, choice.precision, choice.fallback) == ("cuda:0", "fp16", None)
    else:  # no GPU: the CPU is what auto means here, said nowhere as a fallback or a warning
        assert (choice.device, choice.precision, choice.fallback) == ("cpu", "fp32", None)
        assert caplog.records == []


def test_auto_device_with_a_gpu_precision_and_no_cuda_says_why_it_runs_fp32(caplog):
    if HAS_CUDA:
        pytest.skip("this machine has CUDA")
    with caplog.at_level(logging.WARNING, logger="livecaption"):
        choice = resolve_device("auto", "fp16")
    assert choice.describe() == "cpu fp32 (fallback: CUDA unavailable)"
    assert len(caplog.records) == 1


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16", "int8"])
def test_cpu_takes_every_precision_as_asked(precision):
    assert resolve_device("cpu", precision) == DeviceChoice("cpu", precision)


def test_explicit_cuda_without_cuda_falls_back_once(caplog):
    if HAS_CUDA:
        pytest.skip("this machine has CUDA; the fallback path is for machines without it")
    with caplog.at_level(logging.WARNING, logger="livecaption"):
        choice = resolve_device("cuda:0", "fp16")
    assert choice.describe() == "cpu fp32 (fallback: CUDA unavailable)"
    assert len(caplog.records) == 1


def test_auto_int8_runs_on_cpu():
    assert resolve_device("auto", "int8") == DeviceChoice("cpu", "int8")


@pytest.mark.parametrize("device, precision, message", [
    ("gpu", "auto", "invalid device 'gpu'"),
    ("cpu:1", "auto", "invalid device 'cpu:1'"),
    ("cpu", "fp8", "invalid precision 'fp8'"),
    ("cuda", "int8", "runs on the CPU only"),
])
def test_bad_requests_are_refused_clearly(device, precision, message):
    with pytest.raises(UserError, match=message):
        resolve_device(device, precision)


def test_precision_support_table_explains_what_cuda_cannot_do():
    assert supported_precisions("cpu") == {p: None for p in ("auto", "fp32", "fp16", "bf16", "int8")}
    assert "CPU only" in supported_precisions("cuda:0")["int8"]


def test_cuda_out_of_memory_while_loading_falls_back_to_cpu(monkeypatch, caplog, tiny_fp32):
    """An injected allocator failure on the move to the GPU (CI has no GPU to fill)."""
    from livecaption.asr.whisper.models import resolve_model
    from livecaption.asr.whisper.runtime import WhisperRuntime

    real_to = torch.nn.Module.to

    def to_that_runs_out_of_memory(self, *args, **kwargs):
        target = args[0] if args else kwargs.get("device")
        if isinstance(target, (str, torch.device)) and str(target).startswith("cuda"):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", to_that_runs_out_of_memory)
    with caplog.at_level(logging.WARNING, logger="livecaption"):
        runtime = WhisperRuntime(resolve_model("tiny.en"), DeviceChoice("cuda:0", "fp16"))
    assert runtime.choice.describe() == "cpu fp32 (fallback: CUDA out of memory while loading the model)"
    assert len(caplog.records) == 1
    assert next(runtime.model.parameters()).dtype == torch.float32


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["fp16", "bf16", "fp32"])
def test_cuda_transcribes_jfk(precision):
    from livecaption.asr.whisper.recognizer import WhisperRecognizer
    from livecaption.audio.decode import decode_audio
    from livecaption.metrics import wer
    from conftest import CLIPS

    recognizer = WhisperRecognizer("tiny.en", "cuda", precision)
    result = recognizer.transcribe(decode_audio(clip_path("jfk.flac")))
    assert result.device == "cuda:0"
    assert wer(CLIPS["jfk.flac"]["reference"], result.text) <= 0.05


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_cuda_streaming_reports_per_decode_memory_and_fp16_uses_less_than_fp32():
    from livecaption.asr.whisper.recognizer import WhisperRecognizer, release_memory
    from livecaption.audio.decode import decode_audio
    from livecaption.streaming.replay import stream_file
    from livecaption.streaming.events import StreamStats
    from livecaption.streaming.options import StreamingOptions

    audio = decode_audio(clip_path("jfk.flac"))
    peaks = {}
    for precision in ("fp32", "fp16"):
        stats = []
        recognizer = WhisperRecognizer("tiny.en", "cuda", precision)
        stream_file(recognizer, audio, fast=True, options=StreamingOptions(),
                    on_event=lambda e: stats.append(e) if isinstance(e, StreamStats) else None)
        last = stats[-1]
        assert None not in (last.gpu_allocated, last.gpu_reserved, last.gpu_decode_peak, last.gpu_peak)
        assert last.gpu_decode_peak <= last.gpu_peak <= last.gpu_total and last.gpu_allocated <= last.gpu_reserved
        peaks[precision] = last.gpu_peak
        del recognizer
        release_memory()
    assert peaks["fp16"] < peaks["fp32"]
