"""CUDA memory of one model's device, for every backend: the figures the status bar and the
benches show, and giving a dropped model's memory back.

The session's peak is kept aside while each decode measures its own: a long session's peak and
the latest decode's are both worth showing. On the CPU every figure is absent (an empty dict).
Importing this module never imports torch (the window's adapter reaches ``release_memory``).
"""

from __future__ import annotations

import gc
import sys


class CudaPeaks:
    """Mixed into a backend's runtime, which sets ``self.choice`` and ``self._session_peak = 0``."""

    def _cuda_index(self) -> int | None:
        import torch

        if not self.choice.is_cuda or not torch.cuda.is_available():
            return None
        return torch.device(self.choice.device).index or 0

    def begin_decode(self) -> None:
        """Start a new per-decode peak (CUDA); the session's peak is kept aside."""
        import torch

        index = self._cuda_index()
        if index is not None:
            self._session_peak = max(self._session_peak, int(torch.cuda.max_memory_allocated(index)))
            torch.cuda.reset_peak_memory_stats(index)

    def reset_peaks(self) -> None:
        """Forget the peaks so far (CUDA): the session's peak starts now. Called after the precision
        start check, whose fp32 reference model shared the device with this one for a while."""
        import torch

        self._session_peak = 0
        index = self._cuda_index()
        if index is not None:
            torch.cuda.reset_peak_memory_stats(index)

    def memory_stats(self) -> dict[str, int]:
        """CUDA memory of this model's device: allocated, reserved (held by torch's caching
        allocator), peak of the last decode, peak of the session, total; empty on the CPU."""
        import torch

        index = self._cuda_index()
        if index is None:
            return {}
        decode_peak = int(torch.cuda.max_memory_allocated(index))
        return {
            "allocated": int(torch.cuda.memory_allocated(index)),
            "reserved": int(torch.cuda.memory_reserved(index)),
            "decode_peak": decode_peak,
            "peak": max(self._session_peak, decode_peak),
            "total": int(torch.cuda.get_device_properties(index).total_memory),
        }


def release_memory() -> None:
    """Give a dropped model's accelerator memory back (a model or precision switch): collected first,
    as a reference cycle can hold GPU tensors until the collector runs. Never imports torch.

    Not when automatic collection is off: a host that turned it off collects on a thread of its
    choosing (the window: its GUI thread, ui/gui_thread_gc.py), and a collection here, on the engine's
    thread, would destroy that host's objects from the wrong thread."""
    if gc.isenabled():
        gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
