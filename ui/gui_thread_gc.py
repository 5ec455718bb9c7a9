"""Python's cyclic garbage collection on the GUI thread only, while an engine thread runs.

CPython collects reference cycles in whichever thread crosses the allocation threshold: the
engine's QThread (loading a model, decoding) or the speaker-label thread. A collection there
destroys the GUI's Qt objects caught in cycles (a closed dialog, a replaced widget) from the wrong
thread, and the GUI's event loop then touches freed memory: the window died with a segmentation
fault in Qt's event loop during a precision switch and during a replayed conversation (both seen in
the window tests, never on purpose). So while an engine controller lives, automatic collection is
off and a GUI-thread timer collects by the interpreter's own thresholds, the way calibre and
pyqtgraph do it; the engine's own ``release_memory`` leaves collection to it (gpu_memory.py).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 250  # how soon garbage made between checks is collected (a generation-0 pass takes ~1 ms)

_holders = 0  # live collections: automatic collection comes back when the last one stops
_was_enabled = True


class GuiThreadCollection(QObject):
    """Turns automatic collection off until ``stop``; collects on the thread that created it."""

    def __init__(self, parent: QObject | None = None) -> None:
        global _holders, _was_enabled
        super().__init__(parent)
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
        self._active = True
        self._timer = QTimer(self, interval=CHECK_MS, timeout=self.collect_due)
        self._timer.start()

    def collect_due(self) -> None:
        """What automatic collection would have done by now: the oldest generation over its threshold."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [generation for generation in range(3) if counts[generation] > thresholds[generation]]
        if due:
            gc.collect(max(due))

    def stop(self) -> None:
        """Collect what is left here, on this thread, and give collection back to the interpreter. Idempotent."""
        global _holders
        if not self._active:
            return
        self._active = False
        self._timer.stop()
        _holders -= 1
        if _holders == 0:
            gc.collect()
            if _was_enabled:
                gc.enable()
