"""The encoder's window: exactly transformers' encoder at 30 s, a cheaper shorter one on request."""

from __future__ import annotations

import pytest
import torch

from conftest import CLIPS
from livecaption.asr.whisper.settings import whisper_options
from livecaption.asr.whisper.runtime import N_FRAMES
from livecaption.errors import UserError
from livecaption.metrics import wer

GREEDY = whisper_options(beam_size=1, temperatures=(0.0,))


def test_full_window_encoding_is_transformers_own_encoder(tiny_fp32, tiny_reference, jfk_audio):
    runtime = tiny_fp32.runtime
    mel = runtime.log_mel(jfk_audio)[:, :N_FRAMES]  # 11 s of speech, zero-padded to 30 s
    ours = runtime.encode(mel)
    with torch.no_grad():
        theirs = tiny_reference.model.encoder(mel.unsqueeze(0)).last_hidden_state
    assert ours.shape == theirs.shape == (1, N_FRAMES // 2, runtime.config["d_model"])
    assert torch.equal(ours, theirs)


def test_a_short_window_encodes_only_the_audio_and_its_padding(tiny_fp32, jfk_audio):
    runtime = tiny_fp32.runtime
    mel = runtime.log_mel(jfk_audio)[:, :1400]
    assert runtime.encode(mel).shape[1] == 700
    with pytest.raises(ValueError, match="even number of frames"):
        runtime.encode(mel[:, :1399])


def test_a_finished_utterance_reads_the_same_in_a_short_window(tiny_fp32, jfk_audio):
    full = tiny_fp32.transcribe(jfk_audio, GREEDY)
    short = tiny_fp32.transcribe(jfk_audio, whisper_options(beam_size=1, temperatures=(0.0,), encoder_padding_s=3.0))
    assert wer(CLIPS["jfk.flac"]["reference"], short.text) <= wer(CLIPS["jfk.flac"]["reference"], full.text) + 0.01
    # No timestamp points past the window the encoder saw (11 s of audio + 3 s).
    assert all(seg.end <= 11.1 for seg in short.segments)
    words = [w for seg in short.segments for w in seg.words]
    assert words[-1].end > 9.5


def test_encoder_padding_out_of_range_is_refused():
    with pytest.raises(UserError, match="encoder padding"):
        whisper_options(encoder_padding_s=-1)
