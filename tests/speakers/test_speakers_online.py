"""The live labeler: new speakers up to a cap, the short-utterance rule, renames that survive relabel_all."""

from __future__ import annotations

import numpy as np
import pytest

from livecaption.speakers.online import OnlineOptions, OnlineSpeakerLabeler


def voice(k: int, jitter: float = 0.0, seed: int = 0) -> np.ndarray:
    """A unit vector per voice k (orthogonal voices), optionally nudged."""
    vector = np.zeros(16)
    vector[k] = 1.0
    vector += jitter * np.random.default_rng(seed).standard_normal(16)
    return vector / np.linalg.norm(vector)


def test_new_speakers_until_the_cap_then_nearest():
    labeler = OnlineSpeakerLabeler(OnlineOptions(max_speakers=3))
    for k in range(5):
        labeler.add(voice(k), 2.0)
    assert labeler.speakers == ["Speaker 1", "Speaker 2", "Speaker 3"]
    assert labeler.labels()[:3] == ["Speaker 1", "Speaker 2", "Speaker 3"]
    assert all(label in labeler.speakers for label in labeler.labels())


def test_short_utterances_follow_agreeing_neighbours_else_unlabeled():
    labeler = OnlineSpeakerLabeler()
    labeler.add(voice(0), 2.0)
    short = labeler.add(voice(5), 0.4)  # its own voice is never used
    assert labeler.label(short) is None  # nothing after it yet: no guess
    labeler.add(voice(0, 0.05, 1), 3.0)
    assert labeler.label(short) == "Speaker 1"  # the label follows a moment later
    between = labeler.add(voice(0), 0.5)
    labeler.add(voice(1), 2.0)
    assert labeler.label(between) is None
    assert labeler.add(None, 2.0) == 5 and labeler.label(5) is None  # nothing voiced


def test_renames_follow_the_voice_through_relabel_all():
    labeler = OnlineSpeakerLabeler(OnlineOptions(join_similarity=0.99))
    # Voice 1 drifts, so live it is split into two speakers; relabel_all joins them again.
    sequence = [voice(0, 0.02, 1), voice(1, 0.02, 2), voice(1, 0.12, 3), voice(0, 0.02, 4), voice(1, 0.02, 5)]
    for vector in sequence:
        labeler.add(vector, 2.0)
    assert len(labeler.speakers) == 3
    labeler.rename("Speaker 2", "Dana")
    assert labeler.labels()[1] == "Dana"
    with pytest.raises(ValueError):
        labeler.rename("Speaker 1", "Dana")
    with pytest.raises(KeyError):
        labeler.rename("Nobody", "X")
    final = labeler.relabel_all()
    assert final[1] == final[2] == final[4] == "Dana", final
    assert final[0] == final[3] == "Speaker 1"
    labeler.add(voice(2), 2.0)  # live assignment goes on after a relabel, with a fresh number
    assert labeler.labels()[-1] == "Speaker 2" and "Dana" in labeler.speakers
    assert labeler.relabel_all(2) == labeler.labels()
