"""Check livecaption.speakers' encoder against Resemblyzer's own on real speech (issue #12).

Needs resemblyzer with its dependencies (librosa, scipy, webrtcvad), which the app does not, so
run it from a scratch environment that also sees the project's packages, e.g.:
    python3 -m venv /tmp/rzvenv
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/rzvenv/lib/python3.11/site-packages/main.pth
    /tmp/rzvenv/bin/pip install librosa scipy && /tmp/rzvenv/bin/pip install --no-deps resemblyzer==0.1.4
    /tmp/rzvenv/bin/python scripts/speakers-check-resemblyzer.py
Prints the mel filterbank and spectrogram differences and the cosine between the two encoders'
embeddings of each clip (all 1.000000 on 2026-11-29).
"""
import sys, time, numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from livecaption.audio.decode import decode_audio
from livecaption.speakers.encoder import VoiceEncoder, mel_filterbank
import librosa
from resemblyzer import VoiceEncoder as RZ, preprocess_wav
from resemblyzer.audio import wav_to_mel_spectrogram
fb = librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)
print("filterbank max abs diff", np.abs(fb - mel_filterbank()).max(), fb.max())
ours, rz = VoiceEncoder(), RZ(device="cpu", verbose=False)
S = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "speech") + "/"
clips = {"jfk": decode_audio(S+"jfk.flac"), "one_two_three": decode_audio(S+"one_two_three.wav"),
         "license": decode_audio(S+"en_de_license.mp3")[:16000*20]}
sample = decode_audio(S+"diarization/sample.wav")
for a,b in [(6.69,7.12),(8.32,10.02),(10.57,14.7),(14.49,17.92),(21.78,28.5)]:
    clips[f"sample {a}-{b}"] = sample[int(a*16000):int(b*16000)]
trn = decode_audio(S+"diarization/trn03.flac")
clips["trn03 1-20s"] = trn[16000:20*16000]
w = preprocess_wav(clips["jfk"])
m1 = wav_to_mel_spectrogram(w); m2 = ours.mel(w).numpy()
print("mel rel diff", np.abs(m1-m2[:len(m1)]).max()/m1.max(), m1.shape, m2.shape)
print("trim same length:", len(w), len(ours.prepare(clips["jfk"])))
for name, wav in clips.items():
    a = rz.embed_utterance(preprocess_wav(wav)); b = ours.embed(wav)
    print(f"{name:22s} {len(wav)/16000:5.2f}s cosine {float(a@b):.6f}")
