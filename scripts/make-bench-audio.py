"""Write a benchmark recording and its reference from ../shared/speech.

Default (the streaming benchmark since issue #3): jfk.flac, one_two_three.wav and the English
half (first 31 s) of en_de_license.mp3, each preceded by 1.5 s of silence, plus 1.5 s at the
end: 50.7 s of real speech with pauses, the same audio the streaming WER test uses.

--long (issue #16): four rounds of every English clip in ../shared/speech (the ones above and
each speaker of two_speakers_stereo.wav on its own), shuffled per round with a fixed seed, with
pauses of 0.3-2.5 s between them, so sentences of every length meet pauses short enough to fall
inside an utterance and long enough to end one: about 3.8 minutes.

    .venv/bin/python scripts/make-bench-audio.py /tmp/english.wav         # also writes /tmp/english.txt
    .venv/bin/python scripts/make-bench-audio.py /tmp/long.wav --long     # also writes /tmp/long.txt
    .venv/bin/python scripts/make-bench-audio.py /tmp/meeting.wav --meeting  # + /tmp/meeting-system.wav

--meeting (issue #11): the two sides of a call, 54 s each, for bench --system-audio-file.
"""

import json
import random
import sys
import wave
from pathlib import Path

import numpy as np

from livecaption.audio.decode import SAMPLE_RATE, decode_audio

speech = Path(__file__).resolve().parents[1].parent / "shared" / "speech"
clips = {c["file"]: c for c in json.loads((speech / "manifest.json").read_text())["clips"]}


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def stereo_channels(path: Path) -> list[np.ndarray]:
    with wave.open(str(path)) as handle:
        assert handle.getframerate() == SAMPLE_RATE and handle.getsampwidth() == 2
        frames = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    return [frames[c::handle.getnchannels()].astype(np.float32) / 32768 for c in range(handle.getnchannels())]


def english_parts() -> list[tuple[np.ndarray, str]]:
    parts = [(decode_audio(speech / "jfk.flac"), clips["jfk.flac"]["reference"]),
             (decode_audio(speech / "one_two_three.wav"), clips["one_two_three.wav"]["reference"]),
             (decode_audio(speech / "en_de_license.mp3")[: SAMPLE_RATE * 31], clips["en_de_license.mp3"]["reference_en_part"])]
    return parts


def short_recording() -> tuple[np.ndarray, str]:
    parts = english_parts()
    audio = np.concatenate([np.concatenate([silence(1.5), a]) for a, _ in parts] + [silence(1.5)])
    return audio, " ".join(text for _, text in parts)


def long_recording(rounds: int = 4, seed: int = 16) -> tuple[np.ndarray, str]:
    stereo = "two_speakers_stereo.wav"
    parts = english_parts() + list(zip(stereo_channels(speech / stereo), clips[stereo]["channel_references"]))
    rng = random.Random(seed)
    audio, words = [silence(1.0)], []
    for _ in range(rounds):
        for samples, text in rng.sample(parts, len(parts)):
            audio += [samples, silence(rng.choice((0.3, 0.6, 1.0, 1.5, 2.5)))]
            words.append(text)
    return np.concatenate(audio), " ".join(words)


def meeting_recordings() -> tuple[tuple[np.ndarray, str], tuple[np.ndarray, str]]:
    """A call's two sides (issue #11): the others (system audio) read jfk and the licence; the user
    (microphone) answers between them and twice talks over them."""
    jfk, _, licence = english_parts()
    stereo = "two_speakers_stereo.wav"
    (first, first_text), (second, second_text) = zip(stereo_channels(speech / stereo), clips[stereo]["channel_references"])
    three = (decode_audio(speech / "one_two_three.wav"), clips["one_two_three.wav"]["reference"])
    system = np.concatenate([silence(1.0), jfk[0], silence(3.0), licence[0], silence(8.0)])
    mic = np.zeros_like(system)
    for at, samples in ((12.5, first), (30.0, three[0]), (len(system) / SAMPLE_RATE - 7.0, second)):
        start = int(at * SAMPLE_RATE)
        mic[start:start + len(samples)] += samples[: len(mic) - start]
    return (mic, " ".join([first_text, three[1], second_text])), (system, " ".join([jfk[1], licence[1]]))


def write(out: Path, audio: np.ndarray, reference: str) -> None:
    with wave.open(str(out), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    out.with_suffix(".txt").write_text(reference + "\n")
    print(f"{out}: {len(audio) / SAMPLE_RATE:.1f} s; reference in {out.with_suffix('.txt')}")


if __name__ == "__main__":
    out = Path(sys.argv[1])
    if "--meeting" in sys.argv[2:]:  # OUT is the microphone; OUT-system.wav the other side
        (mic, mic_text), (system, system_text) = meeting_recordings()
        write(out, mic, mic_text)
        write(out.with_name(out.stem + "-system.wav"), system, system_text)
    else:
        write(out, *(long_recording() if "--long" in sys.argv[2:] else short_recording()))
