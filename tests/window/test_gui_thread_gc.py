"""Reference cycles are collected on the GUI thread while the engine runs (ui/gui_thread_gc.py): a
collection on the engine's thread destroyed the window's Qt objects from the wrong thread (a
segmentation fault in Qt's event loop during a precision switch)."""

from __future__ import annotations

import gc
import threading

import pytest

pytest.importorskip("PySide6")

from livecaption.asr.gpu_memory import release_memory  # noqa: E402
from ui.engine import EngineController  # noqa: E402


class _Cycle:
    """Garbage only the cyclic collector frees; records the thread that freed it."""

    freed_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_on.append(threading.current_thread().name)


def _allocate_a_lot_in_a_thread() -> None:
    def churn() -> None:
        for _ in range(5_000):  # cyclic garbage, far past generation 0's threshold (700)
            cycle: list = []
            cycle.append(cycle)
        release_memory()  # what the engine calls before loading a model

    worker = threading.Thread(target=churn, name="engine-like")
    worker.start()
    worker.join()


def test_cycles_made_on_the_gui_thread_are_freed_there_not_on_the_engines(qtbot):
    assert gc.isenabled()
    controller = EngineController()
    try:
        _Cycle.freed_on.clear()
        _Cycle()
        _allocate_a_lot_in_a_thread()
        assert _Cycle.freed_on == []  # neither the thread's allocations nor release_memory collected it
        qtbot.waitUntil(lambda: _Cycle.freed_on == [threading.main_thread().name], timeout=5000)
    finally:
        controller.shutdown()
    assert gc.isenabled()  # collection is the interpreter's again once the engine is gone


def test_automatic_collection_comes_back_only_when_the_last_controller_ends(qtbot):
    first, second = EngineController(), EngineController()
    first.shutdown()
    assert not gc.isenabled()
    second.shutdown()
    second.shutdown()  # idempotent: the count of live collections is not decremented twice
    assert gc.isenabled()
    _Cycle.freed_on.clear()
    _Cycle()
    _allocate_a_lot_in_a_thread()
    assert _Cycle.freed_on == ["engine-like"]  # the baseline this guards against: without it, any thread collects
