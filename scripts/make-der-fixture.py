"""Write tests/speakers/fixtures/pyannote_der.json: 300 random diarization cases and the DER that
pyannote.metrics gives each, so tests/speakers/test_speakers_der.py holds livecaption's scorer to
the reference implementation on every CI run without installing pyannote (pandas, scipy and
scikit-learn for one check).

    python3 -m venv /tmp/pyv && /tmp/pyv/bin/pip install pyannote.metrics
    /tmp/pyv/bin/python scripts/make-der-fixture.py
"""

import json
import random
from importlib.metadata import version
from pathlib import Path

from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

OUT = Path(__file__).resolve().parents[1] / "tests" / "speakers" / "fixtures" / "pyannote_der.json"


def annotation(turns):
    out = Annotation()
    for i, (start, end, label) in enumerate(turns):
        out[Segment(start, end), i] = label
    return out


def random_turns(rng, labels):
    out = []
    for _ in range(rng.randint(1, 12)):
        start = round(rng.uniform(0, 30), 2)
        turn = (start, round(start + rng.uniform(0.1, 6), 2), rng.choice(labels))
        # pyannote counts a speaker twice where its own turns overlap (md-eval and we, once)
        if all(turn[2] != t[2] or turn[1] <= t[0] or turn[0] >= t[1] for t in out):
            out.append(turn)
    return out


def main():
    rng = random.Random(12)
    cases = []
    for trial in range(300):
        ref, hyp = random_turns(rng, "ABC"), random_turns(rng, "wxyz")
        uem = [(0.0, 30.0)] if trial % 2 else None
        der = DiarizationErrorRate(collar=0.5)(  # pyannote's collar is the total width: 0.25 s a side
            annotation(ref), annotation(hyp), uem=Timeline([Segment(*uem[0])]) if uem else None)
        cases.append({"ref": ref, "hyp": hyp, "uem": uem, "der": der})
    OUT.write_text(json.dumps({"pyannote.metrics": version("pyannote.metrics"), "collar_each_side": 0.25,
                               "cases": cases}) + "\n")
    print(f"{OUT}: {len(cases)} cases from pyannote.metrics {version('pyannote.metrics')}")


if __name__ == "__main__":
    main()
