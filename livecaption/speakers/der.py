"""Diarization error rate, scored the way md-eval and pyannote.metrics score it.

DER = (missed speech + false alarm + speaker confusion) / reference speech, all in seconds:
- the scored region is the UEM (default: from the earliest to the latest turn of either side);
- a collar of ``collar`` seconds on *each side* of every reference turn boundary is not scored
  (md-eval's ``-c 0.25``; pyannote.metrics calls the same thing ``collar=0.5``, the total width);
- overlapping speech is scored: in every stretch where the reference has R speakers and the
  hypothesis H, missed = max(0, R - H), false alarm = max(0, H - R), confusion =
  min(R, H) - (speakers correctly matched), each times the stretch's length;
- hypothesis labels are mapped one-to-one onto reference labels so that the total time they
  share is largest (Hungarian assignment), as both tools do.

Checked against pyannote.metrics in tests/speakers/test_speakers_der.py where it is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

Turn = tuple[float, float, str]  # (start, end, speaker) in seconds


@dataclass(frozen=True)
class DerResult:
    missed: float
    false_alarm: float
    confusion: float
    total: float  # reference speech scored, in seconds (overlap counted once per speaker)

    @property
    def der(self) -> float:
        errors = self.missed + self.false_alarm + self.confusion
        if self.total <= 0:
            return 0.0 if errors <= 0 else 1.0  # pyannote.metrics' convention for an empty reference
        return errors / self.total

    def __add__(self, other: "DerResult") -> "DerResult":
        return DerResult(self.missed + other.missed, self.false_alarm + other.false_alarm,
                         self.confusion + other.confusion, self.total + other.total)


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for start, end in a:
        cursor = start
        for cut_start, cut_end in b:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                out.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def _by_speaker(turns: list[Turn], region: list[tuple[float, float]]) -> dict[str, list[tuple[float, float]]]:
    """Each speaker's speech, merged (a speaker counts once however its turns overlap) and cropped."""
    speakers: dict[str, list[tuple[float, float]]] = {}
    for start, end, label in turns:
        speakers.setdefault(label, []).append((float(start), float(end)))
    cropped = {label: _intersect(_union(spans), region) for label, spans in speakers.items()}
    return {label: spans for label, spans in cropped.items() if spans}


def hungarian(cost: list[list[float]]) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one assignment of rows to columns (rows <= columns): (row, column) pairs."""
    n, m = len(cost), len(cost[0]) if cost else 0
    if n == 0 or m == 0:
        return []
    if n > m:  # transpose so every row gets a column
        return [(i, j) for j, i in hungarian([list(col) for col in zip(*cost)])]
    inf = float("inf")
    u, v, p, way = [0.0] * (n + 1), [0.0] * (m + 1), [0] * (m + 1), [0] * (m + 1)
    for i in range(1, n + 1):  # the classic potentials formulation, O(n^2 m)
        p[0], j0 = i, 0
        minv, used = [inf] * (m + 1), [False] * (m + 1)
        while True:
            used[j0], i0, delta, j1 = True, p[j0], inf, 0
            for j in range(1, m + 1):
                if not used[j]:
                    reduced = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if reduced < minv[j]:
                        minv[j], way[j] = reduced, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    return [(p[j] - 1, j - 1) for j in range(1, m + 1) if p[j]]


def _duration(spans: list[tuple[float, float]]) -> float:
    return sum(end - start for start, end in spans)


def optimal_mapping(reference: dict, hypothesis: dict) -> dict[str, str]:
    """Hypothesis label → reference label, maximising the time they share."""
    refs, hyps = list(reference), list(hypothesis)
    shared = [[_duration(_intersect(reference[r], hypothesis[h])) for h in hyps] for r in refs]
    pairs = hungarian([[-x for x in row] for row in shared])
    return {hyps[j]: refs[i] for i, j in pairs if shared[i][j] > 0}


def diarization_error(reference: list[Turn], hypothesis: list[Turn], collar: float = 0.25,
                      uem: list[tuple[float, float]] | None = None) -> DerResult:
    """Missed speech, false alarm and confusion of ``hypothesis`` against ``reference``."""
    if uem is None:
        edges = [t for turn in list(reference) + list(hypothesis) for t in turn[:2]]
        uem = [(min(edges), max(edges))] if edges else []
    region = _union(list(uem))
    if collar > 0:
        boundaries = [t for start, end, _ in reference for t in (start, end)]
        region = _subtract(region, _union([(t - collar, t + collar) for t in boundaries]))
    ref, hyp = _by_speaker(reference, region), _by_speaker(hypothesis, region)
    mapping = optimal_mapping(ref, hyp)
    # Hypothesis speakers left unmapped keep a name no reference speaker has.
    hyp = {mapping.get(label, ("\0unmapped", label)): spans for label, spans in hyp.items()}
    cuts = sorted({t for spans in list(ref.values()) + list(hyp.values()) for span in spans for t in span})
    missed = false_alarm = confusion = total = 0.0
    for start, end in zip(cuts, cuts[1:]):
        middle = (start + end) / 2
        in_ref = {label for label, spans in ref.items() if any(a <= middle < b for a, b in spans)}
        in_hyp = {label for label, spans in hyp.items() if any(a <= middle < b for a, b in spans)}
        length = end - start
        correct = len(in_ref & in_hyp)
        total += length * len(in_ref)
        missed += length * max(0, len(in_ref) - len(in_hyp))
        false_alarm += length * max(0, len(in_hyp) - len(in_ref))
        confusion += length * (min(len(in_ref), len(in_hyp)) - correct)
    return DerResult(missed, false_alarm, confusion, total)


def read_rttm(path: str | Path, file_id: str | None = None) -> list[Turn]:
    """Speaker turns of one file id (all if None) from an RTTM file."""
    turns = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER" and (file_id is None or fields[1] == file_id):
            start, length = float(fields[3]), float(fields[4])
            turns.append((start, start + length, fields[7]))
    return turns


def read_uem(path: str | Path, file_id: str) -> list[tuple[float, float]]:
    spans = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == file_id:
            spans.append((float(fields[2]), float(fields[3])))
    return spans
