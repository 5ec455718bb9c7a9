"""Device and precision are decided here and nowhere else.

``auto`` means fp16 on CUDA and fp32 on the CPU. int8 is dynamic quantization of the Linear
layers, which PyTorch implements on the CPU only. Falling back from CUDA to the CPU logs exactly
one warning, and the reason travels with the choice so every result can report it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from livecaption.errors import UserError

log = logging.getLogger("livecaption")

DEVICES_HELP = "auto, cpu, cuda or cuda:N"
PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")
_DEVICE = re.compile(r"^(auto|cpu|cuda)(:(\d+))?$")


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cpu" or "cuda:N"
    precision: str  # "fp32", "fp16", "bf16" or "int8"
    fallback: str | None = None  # why the requested device/precision was not used

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def describe(self) -> str:
        text = f"{self.device} {self.precision}"
        return f"{text} (fallback: {self.fallback})" if self.fallback else text

    def fall_back_to_cpu(self, reason: str) -> "DeviceChoice":
        """The CPU equivalent of this choice, logging the one warning users see."""
        # fp32: half precisions have no fast CPU kernels (bf16 is ~3x slower than fp32 there).
        precision = "int8" if self.precision == "int8" else "fp32"
        log.warning("%s; using the CPU with %s instead", reason, precision)
        return replace(self, device="cpu", precision=precision, fallback=reason)


def torch_dtype(precision: str):
    """The torch dtype that weights are held in for ``precision`` (int8 loads as fp32 first)."""
    import torch

    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16, "int8": torch.float32}[precision]


def _cuda_state() -> tuple[bool, int]:
    """(available, device count) without failing where torch lacks CUDA."""
    import torch

    try:
        if not torch.cuda.is_available():
            return False, 0
        return True, torch.cuda.device_count()
    except (RuntimeError, AssertionError):  # a broken driver reads as "no CUDA"
        return False, 0


BF16_MIN_CAPABILITY = (8, 0)  # Ampere: the first GPUs with bf16 arithmetic of their own


def bf16_supported(device: str) -> bool:
    """Whether ``device`` (cuda:N) computes in bf16 natively.

    Not ``torch.cuda.is_bf16_supported()``: it counts emulation (so says yes on T4, V100 and RTX 20xx,
    where bf16 runs slower than fp32) and asks the current device, not the one chosen.
    """
    import torch

    try:
        return tuple(torch.cuda.get_device_capability(torch.device(device))) >= BF16_MIN_CAPABILITY
    except (RuntimeError, AssertionError, ValueError):
        return False


# How CUDA allocation failures read when they do not arrive as torch.cuda.OutOfMemoryError: context
# creation (the first call that touches a device) and cuBLAS/cuDNN workspaces raise RuntimeError.
_OOM_MARKERS = ("out of memory", "CUBLAS_STATUS_ALLOC_FAILED", "CUDNN_STATUS_ALLOC_FAILED",
                "CUDA_ERROR_OUT_OF_MEMORY", "cudaErrorMemoryAllocation")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` means the GPU had no memory left, whatever type it came as."""
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(marker in str(exc) for marker in _OOM_MARKERS)


def resolve_device(device: str = "auto", precision: str = "auto") -> DeviceChoice:
    """Validate the user's request and decide what will actually run."""
    device = (device or "auto").strip().lower()
    precision = (precision or "auto").strip().lower()
    match = _DEVICE.match(device)
    if not match or (match.group(1) != "cuda" and match.group(2)):
        raise UserError(f"invalid device '{device}': use {DEVICES_HELP}")
    if precision not in PRECISIONS:
        raise UserError(f"invalid precision '{precision}': use one of {', '.join(PRECISIONS)}")

    kind, index = match.group(1), int(match.group(3) or 0)
    if kind == "cuda" and precision == "int8":
        raise UserError(
            "int8 is dynamic quantization, which PyTorch runs on the CPU only; "
            "use --device cpu --precision int8, or fp16 on CUDA"
        )
    if kind == "cpu" or (kind == "auto" and precision == "int8"):
        return DeviceChoice("cpu", "fp32" if precision == "auto" else precision)

    available, count = _cuda_state()
    wanted = DeviceChoice(f"cuda:{index}", "fp16" if precision == "auto" else precision)
    if not available:
        if kind == "auto" and precision in ("auto", "fp32"):
            # "auto" asked for the GPU only if there is one: the CPU is the answer, not a fallback,
            # and a warning on every run of a GPU-less machine would read like an error (and make
            # any later error message two lines).
            log.info("no CUDA GPU: running on the CPU with fp32")
            return DeviceChoice("cpu", "fp32")
        return wanted.fall_back_to_cpu("CUDA unavailable")
    if index >= count:
        raise UserError(f"device cuda:{index} does not exist; this machine has {count} CUDA device(s)")
    if wanted.precision == "bf16" and not bf16_supported(wanted.device):
        log.warning("this GPU has no bf16 support; using fp16 instead")
        return replace(wanted, precision="fp16", fallback="no bf16 on this GPU")
    return wanted


def supported_precisions(choice_device: str) -> dict[str, str | None]:
    """Each precision mapped to None if it runs on ``choice_device``, else the reason it does not.
    Asks the driver: call it off the GUI thread (ui/engine.py does)."""
    reasons: dict[str, str | None] = {p: None for p in PRECISIONS}
    if choice_device == "auto":
        choice_device = auto_device()
    if choice_device.startswith("cuda"):
        device = choice_device if ":" in choice_device else "cuda:0"
        reasons["int8"] = "int8 dynamic quantization runs on the CPU only"
        if not bf16_supported(device):
            reasons["bf16"] = "this GPU has no bf16 arithmetic (compute capability below 8.0)"
    return reasons


def auto_device() -> str:
    """What ``--device auto`` resolves to on this machine, without loading anything."""
    return "cuda:0" if _cuda_state()[0] else "cpu"


def quantize_int8(model):
    """Dynamic int8 quantization of the Linear layers (CPU), one scale per output row (as
    CTranslate2 does), not one per matrix: a fused q/k/v projection stacks three matrices with
    different ranges. torch.ao's dynamic quantization is deprecated in favour of torchao but is the
    one int8 path that ships with torch itself; its warnings are ours to track, not the user's."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
        # In place: a copy would hold the float model beside the quantized one at the peak.
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear: qconfig}, dtype=torch.qint8, inplace=True)
