"""Who said what: offline speaker labels on the CPU (issue #12). No Qt here.

- ``label_segments`` / ``label_words``: a whole file at once (transcribe, bench);
- ``WindowedLabeler`` (via ``live.LiveSpeakerTracker``): while captioning, word by word from 1.5 s
  windows, the session reclustered after each utterance and at save;
- ``OnlineSpeakerLabeler``: one embedding per utterance (the first live labeller; no longer used by
  the tracker, since voices change inside utterances);
- ``VoiceEncoder`` / ``shared_encoder``: the GE2E embeddings both use (torch imported on first use);
- ``diarization_error``: DER for benchmarks and tests.

The voice encoder's weights come from the optional ``resemblyzer`` package
(``pip install 'livecaption[speakers]'``); nothing here imports it.
"""

from livecaption.speakers.der import DerResult, diarization_error, read_rttm, read_uem
from livecaption.speakers.encoder import VoiceEncoder, shared_encoder
from livecaption.speakers.labeling import FileLabelOptions, label_segments, label_words, speaker_turns
from livecaption.speakers.online import OnlineOptions, OnlineSpeakerLabeler
from livecaption.speakers.weights import find_pretrained, load_weights

__all__ = [
    "DerResult", "FileLabelOptions", "OnlineOptions", "OnlineSpeakerLabeler", "VoiceEncoder",
    "diarization_error", "find_pretrained", "label_segments", "label_words", "load_weights",
    "read_rttm", "read_uem", "shared_encoder", "speaker_turns",
]


def available() -> bool:
    """Whether the voice encoder's weights can be found (resemblyzer installed, or already converted)."""
    from livecaption.errors import ModelError
    from livecaption.speakers.weights import converted_weights_path

    if converted_weights_path().is_file():
        return True
    try:
        find_pretrained()
    except ModelError:
        return False
    return True
