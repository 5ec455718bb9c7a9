"""The DER scorer on hand-built cases with known answers, and against pyannote.metrics' answers."""

from __future__ import annotations

import json
from pathlib import Path

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
    # 300 random cases scored by pyannote.metrics once (scripts/make-der-fixture.py), so this check
    # runs everywhere without pandas, scipy and scikit-learn for one test.
    fixture = json.loads((Path(__file__).parent / "fixtures" / "pyannote_der.json").read_text())
    assert len(fixture["cases"]) == 300 and fixture["collar_each_side"] == 0.25
    for trial, case in enumerate(fixture["cases"]):
        ref, hyp = [tuple(t) for t in case["ref"]], [tuple(t) for t in case["hyp"]]
        uem = [tuple(u) for u in case["uem"]] if case["uem"] else None
        ours = diarization_error(ref, hyp, collar=0.25, uem=uem).der
        assert ours == pytest.approx(case["der"], abs=1e-9), (trial, case)
