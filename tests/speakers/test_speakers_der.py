"""The DER scorer on hand-built cases with known answers, and against pyannote.metrics where installed."""

from __future__ import annotations

import random

import pytest

from livecaption.speakers.der import diarization_error, hungarian


def approx(value):
    return pytest.approx(value, abs=1e-9)


def test_perfect_and_relabelled_hypothesis_score_zero():
    ref = [(0, 5, "A"), (5, 10, "B")]
    assert diarization_error(ref, [(0, 5, "x"), (5, 10, "y")], collar=0).der == 0


def test_missed_false_alarm_and_confusion_in_seconds():
    ref = [(0, 10, "A"), (10, 20, "B")]
    hyp = [(2, 10, "x"), (10, 15, "x"), (15, 22, "y")]  # 2 s missed, 5 s confused, 2 s false alarm
    result = diarization_error(ref, hyp, collar=0)
    assert (result.missed, result.confusion, result.false_alarm, result.total) == (approx(2), approx(5), approx(2), approx(20))
    assert result.der == approx(9 / 20)


def test_collar_is_each_side_of_every_reference_boundary():
    ref = [(0, 10, "A")]
    hyp = [(0.2, 9.8, "x")]  # off by 0.2 s at both ends: inside a 0.25 s collar, outside a 0.1 s one
    assert diarization_error(ref, hyp, collar=0.25).der == 0
    assert diarization_error(ref, hyp, collar=0.1).missed == approx(0.2)  # (0.1..0.2) and (9.8..9.9)


def test_overlap_is_scored_per_speaker():
    ref = [(0, 10, "A"), (5, 10, "B")]  # 15 s of speaker time
    one = diarization_error(ref, [(0, 10, "x")], collar=0)
    assert (one.missed, one.total) == (approx(5), approx(15))
    both = diarization_error(ref, [(0, 10, "x"), (5, 10, "y")], collar=0)
    assert both.der == 0


def test_uem_limits_the_scored_region_and_mapping_is_one_to_one():
    ref = [(0, 10, "A"), (20, 30, "B")]
    hyp = [(0, 10, "x"), (20, 30, "x"), (40, 50, "x")]
    result = diarization_error(ref, hyp, collar=0, uem=[(0, 30)])
    assert result.confusion == approx(10) and result.false_alarm == 0  # x maps to one speaker only
    assert sorted(hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]])) == [(0, 1), (1, 0), (2, 2)]  # cost 5


def test_matches_pyannote_metrics():
    pytest.importorskip("pyannote.metrics", reason="pyannote.metrics not installed (only this check uses it)")
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(turns):
        out = Annotation()
        for i, (start, end, label) in enumerate(turns):
            out[Segment(start, end), i] = label
        return out

    rng = random.Random(12)

    def turns(labels):
        out = []
        for _ in range(rng.randint(1, 12)):
            start = round(rng.uniform(0, 30), 2)
            turn = (start, round(start + rng.uniform(0.1, 6), 2), rng.choice(labels))
            # pyannote counts a speaker twice where its own turns overlap (md-eval and we, once)
            if all(turn[2] != t[2] or turn[1] <= t[0] or turn[0] >= t[1] for t in out):
                out.append(turn)
        return out

    for trial in range(300):
        ref, hyp = turns("ABC"), turns("wxyz")
        uem = [(0.0, 30.0)] if trial % 2 else None
        theirs = DiarizationErrorRate(collar=0.5)(  # pyannote's collar is the total width
            annotation(ref), annotation(hyp), uem=Timeline([Segment(*uem[0])]) if uem else None)
        assert diarization_error(ref, hyp, collar=0.25, uem=uem).der == pytest.approx(theirs, abs=1e-9), trial
