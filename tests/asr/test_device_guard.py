"""The class of bug behind issue #18, held off without a GPU: read the asr package's source.

Every bug there worked on the CPU and would have failed on the first CUDA run: a tensor made
without a device (so on the CPU) meeting one on the GPU, and ``.numpy()`` on a CUDA tensor. CI
has no GPU, so the source itself is checked: a tensor factory in livecaption/asr must say where
its tensor lives, and ``.numpy()`` may only follow ``.cpu()`` (which only ``asr/host.to_host``,
the one host-copy helper, does).
"""

from __future__ import annotations

import ast
from pathlib import Path

ASR = Path(__file__).resolve().parents[2] / "livecaption" / "asr"
# torch functions that make a new tensor (or generator) on the default device unless told otherwise.
FACTORIES = {"tensor", "as_tensor", "arange", "zeros", "ones", "empty", "full", "Generator", "rand", "randn",
             "randint", "linspace", "eye", "hann_window"}
HOST_HELPER = ("host.py", "to_host")


def _is_torch_factory(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "torch":
        return func.attr if func.attr in FACTORIES else None
    return None


def _numpy_without_cpu(call: ast.Call) -> bool:
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "numpy"):
        return False
    receiver = func.value
    after_cpu = (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute)
                 and receiver.func.attr == "cpu")
    return not after_cpu


def violations(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _is_torch_factory(node)
        if name and not any(keyword.arg == "device" for keyword in node.keywords):
            found.append(f"{filename}:{node.lineno}: torch.{name}(...) without device=")
        if _numpy_without_cpu(node):
            found.append(f"{filename}:{node.lineno}: .numpy() not right after .cpu()")
    return found


def _numpy_calls_outside_the_helper(path: Path) -> list[str]:
    """``.cpu().numpy()`` is a host copy: only the helper may make one."""
    if path.name == HOST_HELPER[0]:
        return []
    tree = ast.parse(path.read_text(), str(path))
    return [f"{path.name}:{node.lineno}: host copy outside {HOST_HELPER[1]}()" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "numpy"]


def test_asr_tensors_say_their_device_and_numpy_only_follows_cpu():
    files = sorted(ASR.rglob("*.py"))
    assert len(files) >= 10, files  # the package was found
    problems = [p for path in files for p in violations(path.read_text(), path.name)]
    assert problems == [], "\n".join(problems)


def test_host_copies_go_through_the_one_helper():
    problems = [p for path in sorted(ASR.rglob("*.py")) for p in _numpy_calls_outside_the_helper(path)]
    assert problems == [], "\n".join(problems)


def test_the_guard_catches_each_pattern_it_is_meant_to():
    bad = (
        "import torch\n"
        "a = torch.tensor([1, 2])\n"
        "g = torch.Generator()\n"
        "z = torch.zeros(3, dtype=torch.long)\n"
        "n = x.double().numpy()\n"
    )
    good = (
        "import torch\n"
        "a = torch.tensor([1, 2], device=d)\n"
        "g = torch.Generator(device=d)\n"
        "n = x.cpu().numpy()\n"
        "b = np.zeros(3)\n"  # NumPy, not torch
    )
    assert [p.split(": ", 1)[1] for p in violations(bad, "bad.py")] == [
        "torch.tensor(...) without device=",
        "torch.Generator(...) without device=",
        "torch.zeros(...) without device=",
        ".numpy() not right after .cpu()",
    ]
    assert violations(good, "good.py") == []
