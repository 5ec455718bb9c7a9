"""GPU out of memory mid-stream: the decode is retried on the CPU, the engine stays there, nothing is lost.

CI has no GPU to fill, so the allocator failure is injected: the model runs on the CPU while its
device choice says CUDA, and the encoder raises torch.cuda.OutOfMemoryError on one call.
"""

from __future__ import annotations

import logging

import pytest
import torch

from conftest import CLIPS, clip_path
from livecaption.asr.device import DeviceChoice
from livecaption.asr.whisper.recognizer import WhisperRecognizer
from livecaption.audio.decode import decode_audio
from livecaption.streaming.replay import stream_file
from livecaption.metrics import wer
from livecaption.streaming.options import StreamingOptions


@pytest.fixture
def gpu_that_runs_out(monkeypatch):
    recognizer = WhisperRecognizer("tiny.en", "cpu", "fp32")
    recognizer.runtime.choice = DeviceChoice("cuda:0", "fp32")  # pretend: the weights "live on the GPU"
    real_encode, calls = recognizer.runtime.encode, {"n": 0}

    def encode(mel):
        calls["n"] += 1
        if calls["n"] == 3:  # the third decode finds the GPU full
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 120.00 MiB")
        return real_encode(mel)

    monkeypatch.setattr(recognizer.runtime, "encode", encode)
    return recognizer


def test_streaming_survives_out_of_memory_on_the_cpu_with_nothing_lost(gpu_that_runs_out, caplog):
    audio = decode_audio(clip_path("jfk.flac"))
    with caplog.at_level(logging.WARNING, logger="livecaption"):
        pipeline = stream_file(gpu_that_runs_out, audio, fast=True, options=StreamingOptions())
    assert pipeline.error is None
    assert wer(CLIPS["jfk.flac"]["reference"], pipeline.transcript_text) <= 0.15, pipeline.transcript_text
    choice = gpu_that_runs_out.choice
    assert choice.describe() == "cpu fp32 (fallback: CUDA out of memory during decoding)"
    assert pipeline.stats().device == choice  # the stats (and so the UI) say so
    assert [r.message for r in caplog.records if "out of memory" in r.message] == [
        "CUDA out of memory during decoding; using the CPU with fp32 instead"]


def test_out_of_memory_on_the_cpu_is_not_swallowed(monkeypatch):
    recognizer = WhisperRecognizer("tiny.en", "cpu", "fp32")
    monkeypatch.setattr(recognizer.runtime, "encode",
                        lambda mel: (_ for _ in ()).throw(torch.cuda.OutOfMemoryError("out of memory")))
    with pytest.raises(torch.cuda.OutOfMemoryError):
        recognizer.transcribe(decode_audio(clip_path("one_two_three.wav")))
