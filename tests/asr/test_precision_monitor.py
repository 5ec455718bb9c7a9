"""The precision monitor: a reduced precision that misbehaves is caught and replaced by fp32.

The misbehaviour is real, not mocked: a forward hook makes the model's own output NaN (what an
fp16 overflow does), or the token embeddings are perturbed so the model says something else.
"""

from __future__ import annotations

import pytest
import torch

from conftest import CLIPS
from livecaption.asr.whisper.decoding import WindowDecodeResult, is_greedy_loop
from livecaption.asr.precision_monitor import LOOP_LIMIT, LOOP_WINDOW, PrecisionMonitor
from livecaption.asr.types import TranscribeOptions
from livecaption.asr.whisper.recognizer import WhisperRecognizer
from livecaption.metrics import wer

JFK_REF = CLIPS["jfk.flac"]["reference"]


def _nan_output(module, inputs, output):
    return output * float("nan")


@pytest.fixture
def int8_unchecked():
    return WhisperRecognizer("tiny.en", "cpu", "int8", verify_precision=False)


def test_nan_logits_mid_transcription_fall_back_to_fp32_and_nothing_is_lost(int8_unchecked, jfk_audio):
    recognizer = int8_unchecked
    recognizer.runtime.model.proj_out.register_forward_hook(_nan_output)
    result = recognizer.transcribe(jfk_audio, TranscribeOptions(beam_size=1))
    assert result.precision == "fp32" and "NaN/inf" in result.fallback
    assert wer(JFK_REF, result.text) <= 0.05, result.text  # the window was redone in fp32
    assert "fp32 (fallback: NaN/inf" in recognizer.describe_device()  # what stats and the status bar show
    assert recognizer.monitor.non_finite == 1


def test_start_check_catches_nan_and_switches_before_any_audio(int8_unchecked):
    int8_unchecked.runtime.model.proj_out.register_forward_hook(_nan_output)
    reason = int8_unchecked.verify_precision()
    assert reason is not None and "NaN/inf" in reason
    assert int8_unchecked.choice.precision == "fp32" and int8_unchecked.choice.fallback == reason


def test_start_check_catches_a_model_that_says_something_else(int8_unchecked, jfk_audio):
    embeddings = int8_unchecked.runtime.model.model.decoder.embed_tokens.weight
    with torch.no_grad():
        embeddings.add_(torch.randn(embeddings.shape, generator=torch.Generator().manual_seed(0)) * embeddings.std() * 3)
    reason = int8_unchecked.verify_precision()
    assert reason is not None and "differ from fp32" in reason
    assert wer(JFK_REF, int8_unchecked.transcribe(jfk_audio, TranscribeOptions(beam_size=1)).text) <= 0.05


def test_a_healthy_reduced_precision_passes_the_start_check(int8_unchecked):
    assert int8_unchecked.verify_precision() is None
    assert int8_unchecked.choice.precision == "int8" and int8_unchecked.choice.fallback is None


def _result(compression: float, temperature: float = 0.0, non_finite: bool = False) -> tuple[bool, bool]:
    """What the Whisper recognizer tells the monitor about one window decode."""
    result = WindowDecodeResult(tokens=(), text="", avg_logprob=-0.2, no_speech_prob=0.0, temperature=temperature,
                                compression_ratio=compression, non_finite=non_finite)
    return result.non_finite, is_greedy_loop(result)


def test_loops_count_only_in_a_run_and_only_greedy_ones():
    monitor = PrecisionMonitor()
    # A loop now and then is Whisper on hard audio, in any precision.
    for i in range(3 * LOOP_WINDOW):
        assert monitor.verdict(*_result(3.0 if i % LOOP_WINDOW == 0 else 1.2)) is None
    # Sampled decodes (temperature > 0) that loop are the fallback doing its job, not the precision.
    for _ in range(LOOP_WINDOW):
        assert monitor.verdict(*_result(3.0, temperature=0.4)) is None
    verdicts = [monitor.verdict(*_result(3.0)) for _ in range(LOOP_LIMIT)]
    assert verdicts[:-1] == [None] * (LOOP_LIMIT - 1) and "decoder loops" in verdicts[-1]
    assert "NaN/inf" in PrecisionMonitor().verdict(*_result(1.0, non_finite=True))
