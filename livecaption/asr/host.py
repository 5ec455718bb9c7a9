"""The one way a tensor leaves the model's device for the host.

On CUDA every copy to the host waits for the GPU to finish what it was given: a host sync. Done
per token, per row or per value, such syncs are what kept the GPU idle between decoder steps, and
``.numpy()`` on a CUDA tensor is simply an error. So decoding, alignment and batching never call
``.item()``, ``.tolist()``, ``float()`` or ``.numpy()`` on a model tensor: they gather what one
step needs on the device and bring it over here, in one copy. tests/asr/test_device_guard.py holds
the asr package to this.
"""

from __future__ import annotations

import numpy as np
import torch

# Host copies made so far, for tests and profiling (a step should add at most one).
copies = 0


def to_host(*tensors: torch.Tensor):
    """NumPy copies of ``tensors`` made with one device-to-host transfer (one sync on CUDA).

    One tensor comes back as one array, several as a tuple. Several are flattened and sent as one
    float64 buffer (exact for token ids, which are far below 2**53) and cut back into their shapes;
    integer and bool tensors come back as int64/bool, floating ones as float64 (NumPy has no bf16).
    """
    global copies
    copies += 1
    if len(tensors) == 1:
        tensor = tensors[0].detach()
        if tensor.is_floating_point() and tensor.dtype not in (torch.float32, torch.float64):
            tensor = tensor.float()
        return tensor.cpu().numpy()
    flat = torch.cat([t.detach().reshape(-1).to(torch.float64) for t in tensors])
    buffer = flat.cpu().numpy()
    arrays, begin = [], 0
    for tensor in tensors:
        size = tensor.numel()
        part = buffer[begin : begin + size].reshape(tuple(tensor.shape))
        if tensor.dtype == torch.bool:
            part = part != 0
        elif not tensor.is_floating_point():
            part = part.astype(np.int64)
        arrays.append(part)
        begin += size
    return tuple(arrays)
