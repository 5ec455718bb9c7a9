"""The window says what failed (issue #18): a GPU failure is not "audio input lost", and the
precision table, which asks the CUDA driver, is computed on the engine thread, not the GUI's."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PySide6")

from ui.engine import EngineController, stream_failure_message  # noqa: E402


def test_a_lost_input_device_is_reported_as_such():
    failure = "input device 'USB mic' disappeared"
    assert stream_failure_message(failure, failure) == f"audio input lost: {failure}"


@pytest.mark.parametrize("error, where", [
    ("RuntimeError: CUDA error: an illegal memory access was encountered", "the GPU"),
    ("RuntimeError: CUDA error: CUBLAS_STATUS_EXECUTION_FAILED when calling `cublasSgemm`", "the GPU"),
    ("ValueError: Whisper's text context holds 448 tokens", "the engine"),
])
def test_an_engine_failure_is_reported_as_what_it_is(error, where):
    message = stream_failure_message(error, None)
    assert "audio input" not in message
    assert message.startswith(f"captioning stopped: {where} failed") and error in message


def test_precision_support_is_probed_on_the_engine_thread(qtbot, monkeypatch):
    from livecaption.asr import device

    threads = []

    def probe(choice_device):
        threads.append(threading.current_thread())
        return {"auto": None, "fp32": None, "fp16": None, "bf16": "no bf16 here", "int8": None}

    monkeypatch.setattr(device, "supported_precisions", probe)
    controller = EngineController()
    try:
        with qtbot.waitSignal(controller.worker.precisions, timeout=10_000) as answer:
            controller.probe_precisions("cuda:0")
        assert answer.args[0]["bf16"] == "no bf16 here"
        assert threads and threads[0] is not threading.main_thread()
    finally:
        controller.shutdown()
