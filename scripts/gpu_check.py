"""The Python part of scripts/gpu-check.sh: what only a GPU can show about the engine (issue #18).

Needs torch and transformers (a GPU machine's image has them) and the model's package; reads
WAV with the stdlib ``wave`` module, so PyAV is not needed here. Writes one JSON file:

- versions, device name, compute capability, memory;
- per precision (fp16, bf16, fp32): CUDA memory after load, after the start check, after a
  decode; jfk with word times, the temperature ladder forced, and batched greedy; speed;
- lean-decoder logits on the device against the CPU;
- a filled-VRAM decode: the fallback to the CPU and ``memory_reserved`` after it.

    python scripts/gpu_check.py --device cuda --speech DIR --out results.json
    python scripts/gpu_check.py --device cpu ...  # the same steps on the CPU, to catch typos
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
import wave
from pathlib import Path

import numpy as np
import torch

MIB = 1024 * 1024


def read_wav(path: Path) -> np.ndarray:
    """16 kHz mono 16-bit PCM (what gpu-check.sh prepare writes) as float32 samples."""
    with wave.open(str(path), "rb") as handle:
        assert handle.getframerate() == 16000 and handle.getnchannels() == 1 and handle.getsampwidth() == 2
        data = handle.readframes(handle.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def mib(stats: dict) -> dict:
    return {key: round(value / MIB, 1) for key, value in stats.items()}


def versions(device: str) -> dict:
    import transformers

    info = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "transformers": transformers.__version__, "device": device}
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        info.update(name=props.name, compute_capability=list(torch.cuda.get_device_capability(torch.device(device))),
                    total_mib=round(props.total_memory / MIB), multiprocessors=props.multi_processor_count,
                    is_bf16_supported_says=bool(torch.cuda.is_bf16_supported()))
    from livecaption.asr.device import supported_precisions

    info["supported_precisions"] = supported_precisions(device)
    return info


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(device: str, run):
    synchronize(device)
    began = time.perf_counter()
    result = run()
    synchronize(device)
    return result, round(time.perf_counter() - began, 3)


def words_of(result) -> list:
    return [[w.text, round(w.start, 2), round(w.end, 2)] for seg in result.segments for w in seg.words]


def precision_run(device: str, precision: str, jfk: np.ndarray, reference: str) -> dict:
    from livecaption.asr.types import TranscribeOptions
    from livecaption.asr.whisper.settings import whisper_options
    from livecaption.asr.whisper.recognizer import WhisperRecognizer, release_memory
    from livecaption.metrics import wer

    out: dict = {}
    recognizer, out["load_s"] = timed(device, lambda: WhisperRecognizer("tiny.en", device, precision,
                                                                        verify_precision=False))
    runtime = recognizer.runtime
    out["choice"] = recognizer.choice.describe()
    out["memory_after_load_mib"] = mib(runtime.memory_stats())
    reason, out["start_check_s"] = timed(device, recognizer.verify_precision)
    out["start_check_failed"] = reason
    out["memory_after_start_check_mib"] = mib(runtime.memory_stats())
    recognizer.transcribe(jfk[:16000 * 5])  # warm-up: kernels chosen, caches made
    runtime.begin_decode()
    result, out["jfk_beam5_words_s"] = timed(device, lambda: recognizer.transcribe(jfk, TranscribeOptions(word_timestamps=True)))
    out["memory_after_decode_mib"] = mib(runtime.memory_stats())
    out["jfk_beam5"] = {"text": result.text, "wer": round(wer(reference, result.text), 4), "words": words_of(result)[:6],
                        "word_count": len(words_of(result))}
    greedy, out["jfk_greedy_s"] = timed(device, lambda: recognizer.transcribe(jfk, TranscribeOptions(beam_size=1)))
    out["jfk_greedy_wer"] = round(wer(reference, greedy.text), 4)
    # A log-probability threshold no decode meets: every temperature of the ladder is sampled (the
    # least bad attempt is kept, often the greedy one, so the decodes themselves are counted).
    decode, decoded = recognizer.decoder.decode, []
    recognizer.decoder.decode = lambda states, request: decoded.append(request.temperature) or decode(states, request)
    hot, out["temperature_ladder_s"] = timed(device, lambda: recognizer.transcribe(jfk, whisper_options(
        beam_size=1, log_prob_threshold=0.0, temperatures=(0.0, 0.4, 0.8))))
    recognizer.decoder.decode = decode
    out["temperature_ladder"] = {"text": hot.text, "temperatures_decoded": decoded,
                                 "kept": [s.temperature for s in hot.segments]}
    three = np.concatenate([jfk, np.zeros(16000, np.float32), jfk, np.zeros(16000, np.float32), jfk])
    batched, out["batched_greedy_s"] = timed(device, lambda: recognizer.transcribe(three, TranscribeOptions(
        beam_size=1, batched=True, batch_size=4)))
    out["batched_greedy_wer"] = round(wer(" ".join([reference] * 3), batched.text), 4)
    out["final_choice"] = recognizer.choice.describe()
    del recognizer, runtime
    release_memory()
    return out


def lean_decoder_logits(device: str, jfk: np.ndarray) -> dict:
    """The same tokens through the lean decoder on the device and on the CPU (fp32 both; fp16 on the
    device too): how far the logits drift, and whether the next token agrees."""
    from livecaption.asr.device import DeviceChoice
    from livecaption.asr.whisper.models import resolve_model
    from livecaption.asr.whisper.runtime import N_FRAMES, WhisperRuntime

    resolved = resolve_model("tiny.en")
    cpu = WhisperRuntime(resolved, DeviceChoice("cpu", "fp32"))
    mel = cpu.log_mel(jfk)[:, :N_FRAMES]
    states = cpu.encode(mel)
    tokens = torch.tensor([[cpu.tokens.sot, cpu.tokens.no_timestamps] + cpu.encode_text(" And so my fellow Americans")],
                          device="cpu")
    reference = cpu.decoder_logits(tokens, states, cpu.new_cache())
    out = {}
    for precision in ("fp32", "fp16"):
        runtime = WhisperRuntime(resolved, DeviceChoice(device, precision))
        on_device = runtime.encode(mel)  # the device's own encoder, as a transcription would use
        logits = runtime.decoder_logits(tokens, on_device, runtime.new_cache()).cpu()
        out[precision] = {"max_abs_diff": round(float((logits - reference).abs().max()), 4),
                          "next_token_agrees": bool((logits.argmax(-1) == reference.argmax(-1)).all())}
        del runtime, on_device, logits
    return out


def filled_vram_fallback(device: str, jfk: np.ndarray) -> dict:
    """Fill the GPU, then decode: the recognizer must finish on the CPU and give its GPU memory back."""
    from livecaption.asr.whisper.recognizer import WhisperRecognizer, release_memory

    if not device.startswith("cuda"):
        return {"skipped": "CUDA only"}
    recognizer = WhisperRecognizer("tiny.en", device, "fp16", verify_precision=False)
    recognizer.transcribe(jfk[:16000 * 5])
    out = {"reserved_before_fill_mib": round(torch.cuda.memory_reserved(device) / MIB, 1),
           "model_allocated_mib": round(torch.cuda.memory_allocated(device) / MIB, 1)}
    release_memory()  # blocks the allocator cached would let the decode run without asking the driver
    hog, chunk = [], 1024 * MIB
    while chunk >= MIB:  # plain allocations (cudaMalloc through torch), never managed memory
        try:
            hog.append(torch.empty(chunk, dtype=torch.uint8, device=device))
        except torch.cuda.OutOfMemoryError:
            chunk //= 2
    hog_bytes = sum(t.numel() for t in hog)
    out["filled_mib"] = round(hog_bytes / MIB)
    began = time.perf_counter()
    try:
        result = recognizer.transcribe(jfk)
        out["text"] = result.text
    except Exception as exc:  # noqa: BLE001 - the point is to report it
        out["error"] = f"{type(exc).__name__}: {exc}"[:400]
    out["seconds"] = round(time.perf_counter() - began, 2)
    out["choice_after"] = recognizer.choice.describe()
    out["allocated_after_fallback_minus_fill_mib"] = round((torch.cuda.memory_allocated(device) - hog_bytes) / MIB, 1)
    out["reserved_after_fallback_mib"] = round(torch.cuda.memory_reserved(device) / MIB, 1)
    out["reserved_after_fallback_minus_fill_mib"] = round((torch.cuda.memory_reserved(device) - hog_bytes) / MIB, 1)
    del hog
    release_memory()
    out["reserved_after_fill_freed_mib"] = round(torch.cuda.memory_reserved(device) / MIB, 1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--speech", type=Path, required=True, help="folder with jfk.wav and manifest.json")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--precisions", default="fp16,bf16,fp32")
    args = parser.parse_args()
    if args.device == "cuda":
        args.device = "cuda:0"
    jfk = read_wav(args.speech / "jfk.wav")
    manifest = json.loads((args.speech / "manifest.json").read_text())
    reference = next(c["reference"] for c in manifest["clips"] if c["file"] == "jfk.flac")
    results: dict = {}
    steps = [("versions", lambda: versions(args.device))]
    steps += [(f"precision_{p}", lambda p=p: precision_run(args.device, p, jfk, reference))
              for p in args.precisions.split(",")]
    steps += [("lean_decoder_logits", lambda: lean_decoder_logits(args.device, jfk)),
              ("filled_vram_fallback", lambda: filled_vram_fallback(args.device, jfk))]
    status = 0
    for name, step in steps:
        began = time.perf_counter()
        try:
            results[name] = step()
        except Exception:  # noqa: BLE001 - one broken step must not hide the others' figures
            results[name] = {"error": traceback.format_exc()[-2000:]}
            status = 1
        print(f"gpu_check: {name} ({time.perf_counter() - began:.1f} s)", file=sys.stderr, flush=True)
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))  # partial results survive a timeout
    return status


if __name__ == "__main__":
    sys.exit(main())
