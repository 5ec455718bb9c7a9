"""Write the English benchmark recording and its reference from ../shared/speech.

jfk.flac, one_two_three.wav and the English half (first 31 s) of en_de_license.mp3, each
preceded by 1.5 s of silence, plus 1.5 s at the end: 48.3 s of real speech with pauses, the
same audio the streaming WER test uses.

    .venv/bin/python scripts/make-bench-audio.py /tmp/english.wav  # also writes /tmp/english.txt
"""

import json
import sys
import wave
from pathlib import Path

import numpy as np

from livecaption.audio.decode import SAMPLE_RATE, decode_audio

speech = Path(__file__).resolve().parents[1].parent / "shared" / "speech"
clips = {c["file"]: c for c in json.loads((speech / "manifest.json").read_text())["clips"]}
pause = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.float32)
parts = [decode_audio(speech / "jfk.flac"), decode_audio(speech / "one_two_three.wav"),
         decode_audio(speech / "en_de_license.mp3")[: SAMPLE_RATE * 31]]
audio = np.concatenate([np.concatenate([pause, part]) for part in parts] + [pause])
reference = " ".join([clips["jfk.flac"]["reference"], clips["one_two_three.wav"]["reference"],
                      clips["en_de_license.mp3"]["reference_en_part"]])
out = Path(sys.argv[1])
with wave.open(str(out), "wb") as handle:
    handle.setnchannels(1)
    handle.setsampwidth(2)
    handle.setframerate(SAMPLE_RATE)
    handle.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
out.with_suffix(".txt").write_text(reference + "\n")
print(f"{out}: {len(audio) / SAMPLE_RATE:.1f} s; reference in {out.with_suffix('.txt')}")
