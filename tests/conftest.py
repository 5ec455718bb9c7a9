"""Shared fixtures: the real speech clips in ../shared/speech and session-wide loaded models.

Converted models live in $LIVECAPTION_CACHE_DIR, else the normal user cache (shared with the
app). CI sets it to an empty folder, so whichever test first needs a model converts it: no test
may rely on an earlier test having converted anything. Tests that exercise conversion itself
point LIVECAPTION_CACHE_DIR at a temporary folder of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# Session journals and settings written by tests go to a scratch folder, never the user's own.
os.environ["LIVECAPTION_DATA_DIR"] = tempfile.mkdtemp(prefix="livecaption-test-data-")
SPEECH_DIR = Path(os.environ.get("LIVECAPTION_SPEECH_DIR", REPO.parent / "shared" / "speech"))


def _manifest() -> dict[str, dict]:
    path = SPEECH_DIR / "manifest.json"
    if not path.is_file():
        raise RuntimeError(f"speech clips not found at {SPEECH_DIR}; set LIVECAPTION_SPEECH_DIR")
    return {clip["file"]: clip for clip in json.loads(path.read_text())["clips"]}


CLIPS = _manifest()


def clip_path(name: str) -> Path:
    return SPEECH_DIR / name


@pytest.fixture(scope="session")
def clips() -> dict[str, dict]:
    return CLIPS


@pytest.fixture(scope="session")
def jfk_audio() -> np.ndarray:
    from livecaption.audio.decode import decode_audio

    return decode_audio(clip_path("jfk.flac"))


@pytest.fixture(scope="session")
def tiny_fp32():
    from livecaption.asr.whisper.recognizer import WhisperRecognizer

    return WhisperRecognizer("tiny.en", "cpu", "fp32")


@pytest.fixture(scope="session")
def base_fp32():
    from livecaption.asr.whisper.recognizer import WhisperRecognizer

    return WhisperRecognizer("base", "cpu", "fp32")


@pytest.fixture(scope="session")
def tiny_reference(tiny_fp32):
    """transformers' own WhisperForConditionalGeneration on tiny.en's converted folder (fp32): the
    reference our network (livecaption/asr/whisper/network.py) and decoder step are held to."""
    import torch
    from transformers import WhisperForConditionalGeneration

    model = WhisperForConditionalGeneration.from_pretrained(str(tiny_fp32.runtime.resolved.path), dtype=torch.float32,
                                                            attn_implementation="sdpa", use_safetensors=True)
    return model.eval()


def run_cli(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the real ``livecaption`` entry point in a subprocess."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "livecaption", *args],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO,
    )


@pytest.fixture(scope="session")
def english_concat():
    """50 s: jfk, one_two_three and the English half of the licence, with 1.5 s pauses, and its reference."""
    from livecaption.audio.decode import SAMPLE_RATE, decode_audio
    from signals import silence

    licence = decode_audio(clip_path("en_de_license.mp3"))[: SAMPLE_RATE * 31]
    parts = [decode_audio(clip_path("jfk.flac")), decode_audio(clip_path("one_two_three.wav")), licence]
    audio = np.concatenate([np.concatenate([silence(1.5), part]) for part in parts] + [silence(1.5)])
    reference = " ".join([CLIPS["jfk.flac"]["reference"], CLIPS["one_two_three.wav"]["reference"],
                          CLIPS["en_de_license.mp3"]["reference_en_part"]])
    return audio, reference


@pytest.fixture(autouse=True)
def own_start_check_verdicts(monkeypatch, tmp_path_factory):
    """Each test starts with no remembered precision start-check verdict (livecaption/asr/
    start_check_cache.py), in process and in the commands it runs, so a check one test ran never
    decides what another sees; tests/asr/test_start_check_cache.py tests the remembering."""
    monkeypatch.setenv("LIVECAPTION_START_CHECKS", str(tmp_path_factory.mktemp("verdicts") / "start-checks.json"))


@pytest.fixture(autouse=True)
def unanswered_questions_discard(monkeypatch):
    """A window closed by a test must never wait for a person: the save-or-discard question
    (ui/prompts.py) answers Discard unless the test answers it itself (tests of the question
    patch ``ask`` again, which wins)."""
    try:
        from ui import prompts
    except ImportError:  # the app extra is not installed: no window in these tests
        return
    monkeypatch.setattr(prompts, "ask", lambda *args, **kwargs: prompts.DISCARD)
