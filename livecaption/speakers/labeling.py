"""Speaker labels for a whole file: which words and segments each voice said.

A Whisper segment often spans a change of speaker (tiny.en's segments on the 30 s meeting
clips are 4-10 s long while turns are 0.4-7 s), so one embedding per segment cannot label it.
Instead:
1. the words' timings are joined into speech runs (gaps under ``join_gap``);
2. each run of at least ``min_seconds`` is covered by windows of ``window`` seconds every ``hop``
   seconds, and each window gets a GE2E embedding (a 1.5 s window is one partial utterance);
3. the windows are clustered over the whole file (``auto``: agglomerative cuts into 2..max
   clusters, clusters holding under ``min_cluster_seconds`` folded into their nearest neighbour,
   and the cut with the best silhouette kept if it beats ``min_silhouette``, else one speaker;
   or exactly N clusters);
4. each word takes the majority label of the windows over its middle;
5. runs shorter than ``min_seconds`` are never judged by their own voice: they take the label of
   the runs on both sides when those agree, else stay unlabeled (None).

Choices measured on the diarization clips by scripts/diarize-eval.py (docs/benchmarks.md): a
fixed distance threshold that suits the clean two-speaker sample (0.30) splits the noisier AMI
meetings' single voices apart, while the silhouette choice works for both; a hop of 0.5 s
follows short turns better than 0.75 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import numpy as np

from livecaption.speakers.clustering import MIN_SECONDS, agglomerative, centroids, fill_short

SAMPLE_RATE = 16_000
Speakers = Union[str, int]  # "auto" or a number of speakers


@dataclass(frozen=True)
class FileLabelOptions:
    window: float = 1.5
    hop: float = 0.5
    join_gap: float = 0.5  # words closer than this belong to one speech run
    min_seconds: float = MIN_SECONDS
    max_speakers: int = 6  # for "auto"
    min_cluster_seconds: float = 3.0  # a "speaker" heard for less than this is folded into the nearest
    min_silhouette: float = 0.1  # below this, several speakers do not explain the voices better than one
    # A cut with more clusters must beat the best so far by this much (0: any gain). Live mode sets
    # it: reclustered after every utterance, a near tie that splits one voice would flicker.
    prefer_fewer: float = 0.0

    def __post_init__(self):
        if not 0 < self.hop <= self.window:
            raise ValueError(f"hop must be in (0, window]: {self.hop}, {self.window}")
        if self.max_speakers < 1:
            raise ValueError(f"max_speakers must be at least 1: {self.max_speakers}")


def speaker_name(index: int) -> str:
    return f"Speaker {index + 1}"


def _check_speakers(speakers: Speakers) -> int | None:
    if speakers == "auto":
        return None
    if isinstance(speakers, int) and not isinstance(speakers, bool) and speakers >= 1:
        return speakers
    raise ValueError(f"speakers must be 'auto' or a positive number, not {speakers!r}")


def speech_runs(spans: Sequence[tuple[float, float]], join_gap: float) -> list[tuple[float, float]]:
    runs: list[list[float]] = []
    for start, end in sorted((float(s), float(e)) for s, e in spans):
        if runs and start - runs[-1][1] <= join_gap:
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end])
    return [(s, e) for s, e in runs]


def windows_over(run: tuple[float, float], window: float, hop: float) -> list[tuple[float, float]]:
    start, end = run
    if end - start <= window:
        return [(start, end)]
    out, t = [], start
    while t + window < end:
        out.append((t, t + window))
        t += hop
    out.append((end - window, end))  # the last window ends with the run, so its tail is heard
    return out


def _fold_small(embeddings: np.ndarray, labels: np.ndarray, min_count: float) -> np.ndarray:
    """Fold clusters with fewer than ``min_count`` windows into the nearest larger cluster."""
    for _ in range(3):
        counts = np.bincount(labels)
        keep = [k for k in range(len(counts)) if counts[k] >= min_count]
        if len(keep) in (0, len(counts)):
            break
        nearest = np.argmax(embeddings @ centroids(embeddings, labels)[keep].T, axis=1)
        labels = np.unique(np.asarray(keep)[nearest], return_inverse=True)[1]
    return labels


def silhouette(embeddings: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette on cosine distance; -1 for a single cluster."""
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return -1.0
    distance = 1.0 - embeddings @ embeddings.T
    means = np.stack([distance[:, labels == k].mean(axis=1) for k in clusters], axis=1)
    sizes = np.array([(labels == k).sum() for k in clusters])
    own = np.searchsorted(clusters, labels)
    rows = np.arange(len(labels))
    # a: mean distance to the rest of one's own cluster (the zero self-distance left out)
    a = means[rows, own] * sizes[own] / np.maximum(sizes[own] - 1, 1)
    others = means.copy()
    others[rows, own] = np.inf
    b = others.min(axis=1)
    score = np.where(sizes[own] > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(score.mean())


def cluster_windows(embeddings: np.ndarray, speakers: Speakers, options: FileLabelOptions) -> np.ndarray:
    """Cluster index per window embedding (rows must be finite and unit-norm)."""
    wanted = _check_speakers(speakers)
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    min_count = options.min_cluster_seconds / options.hop
    if wanted is not None:
        # A plain cut at N spends clusters on outlier windows (a cough, a laugh): cut finer, then
        # fold the smallest cluster into its nearest until N are left, keeping the N largest voices.
        labels = agglomerative(embeddings, n_clusters=min(n, wanted + 3))
        while len(np.unique(labels)) > wanted:
            counts = np.bincount(labels)
            smallest = int(np.argmin(np.where(counts > 0, counts, np.inf)))
            keep = [k for k in range(len(counts)) if counts[k] > 0 and k != smallest]
            nearest = np.argmax(embeddings @ centroids(embeddings, labels)[keep].T, axis=1)
            labels = np.where(labels == smallest, np.asarray(keep)[nearest], labels)
        return np.unique(labels, return_inverse=True)[1]
    best, best_labels = options.min_silhouette, np.zeros(n, dtype=int)
    for k in range(2, min(options.max_speakers, n - 1) + 1):
        labels = _fold_small(embeddings, agglomerative(embeddings, n_clusters=k), min_count)
        if len(np.unique(labels)) < k:
            continue  # folding undid this cut: a smaller k already covers it
        score = silhouette(embeddings, labels)
        if score > best + (options.prefer_fewer if best > options.min_silhouette else 0.0):
            best, best_labels = score, labels
    return best_labels


def word_clusters(words: Sequence[tuple[float, float]], run_of_word: Sequence[int | None],
                  runs: Sequence[tuple[float, float]], spans: Sequence[tuple[float, float]],
                  window_labels: np.ndarray, min_seconds: float = MIN_SECONDS) -> list[int | None]:
    """Each word's cluster from the windows' clusters (file mode and live mode share this).

    A word takes the majority cluster of the windows over its middle (``window_labels`` -1: a window
    with no usable embedding); ``spans`` must be sorted by start, as ``windows_over`` makes them.
    Runs shorter than ``min_seconds`` are never judged by their own voice: a short run takes the
    label of the runs on both sides when those agree, else stays None (``fill_short``).
    """
    starts = np.array([s for s, _ in spans], dtype=np.float64)
    ends = np.array([e for _, e in spans], dtype=np.float64)
    longest = float((ends - starts).max()) if len(spans) else 0.0
    word_labels: list[int | None] = []
    for start, end in words:
        middle = (start + end) / 2
        # Windows over the middle start within `longest` before it: only those are compared.
        lo, hi = np.searchsorted(starts, middle - longest - 1e-9), np.searchsorted(starts, middle, side="right")
        near = slice(lo, hi)
        votes = window_labels[near][(middle <= ends[near]) & (window_labels[near] >= 0)]
        word_labels.append(int(np.bincount(votes).argmax()) if len(votes) else None)

    # The short-run rule, applied run by run: a run is labeled by its words' majority.
    members: list[list[int]] = [[] for _ in runs]
    for lab, r in zip(word_labels, run_of_word):
        if r is not None and lab is not None:
            members[r].append(lab)
    run_labels = [max(set(labels), key=labels.count) if labels else None for labels in members]
    filled = fill_short(run_labels, [e - s for s, e in runs], min_seconds)
    final: list[int | None] = []
    for lab, r in zip(word_labels, run_of_word):
        if r is None:
            final.append(None)
        elif runs[r][1] - runs[r][0] < min_seconds:
            final.append(filled[r])
        else:
            final.append(lab)
    return final


def label_words(audio: np.ndarray, words: Sequence[tuple[float, float]], speakers: Speakers = "auto",
                options: FileLabelOptions = FileLabelOptions(), encoder=None) -> list[str | None]:
    """``Speaker N`` (numbered by first appearance) or None for each (start, end) word, in seconds."""
    if encoder is None:
        from livecaption.speakers.encoder import shared_encoder

        encoder = shared_encoder()
    runs = speech_runs([w for w in words if w[1] > w[0]], options.join_gap)
    long_runs = [r for r in runs if r[1] - r[0] >= options.min_seconds]
    spans = [w for r in long_runs for w in windows_over(r, options.window, options.hop)]
    clips = [audio[int(s * SAMPLE_RATE):int(e * SAMPLE_RATE)] for s, e in spans]
    embeddings = encoder.embed_utterances(clips) if clips else np.zeros((0, 256), np.float32)
    usable = ~np.isnan(embeddings).any(axis=1)
    window_labels = np.full(len(spans), -1)
    window_labels[usable] = cluster_windows(embeddings[usable], speakers, options)

    middles = [(start + end) / 2 for start, end in words]
    run_of_word = [next((i for i, (a, b) in enumerate(runs) if a <= middle <= b), None) for middle in middles]
    final = word_clusters(words, run_of_word, runs, spans, window_labels, options.min_seconds)
    # Number speakers by first appearance, so the first voice heard is Speaker 1.
    order = {lab: rank for rank, lab in enumerate(dict.fromkeys(lab for lab in final if lab is not None))}
    return [speaker_name(order[lab]) if lab is not None else None for lab in final]


def label_segments(audio: np.ndarray, segments: Sequence[tuple[float, float]], speakers: Speakers = "auto",
                   words: Sequence[Sequence[tuple[float, float]]] | None = None,
                   options: FileLabelOptions = FileLabelOptions(), encoder=None) -> list[str | None]:
    """One label per segment: the speaker of most of its words' time (its whole span without words).

    Give ``words`` (each segment's word timings) when the transcript has them: labels then follow
    speaker changes inside segments; use ``label_words`` to split segments at those changes.
    """
    if words is None:
        words = [[(float(s), float(e))] for s, e in segments]
    flat = [w for ws in words for w in ws]
    labels = iter(label_words(audio, flat, speakers, options, encoder))
    out: list[str | None] = []
    for ws in words:
        time: dict[str, float] = {}
        for (start, end), lab in zip(ws, labels):
            if lab is not None:
                time[lab] = time.get(lab, 0.0) + max(end - start, 1e-3)
        out.append(max(time, key=time.get) if time else None)
    return out


def speaker_turns(words: Sequence[tuple[float, float]], labels: Sequence[str | None],
                  join_gap: float = 0.5) -> list[tuple[float, float, str]]:
    """Consecutive words of one speaker joined into (start, end, speaker) turns; unlabeled words left out."""
    turns: list[list] = []
    for (start, end), lab in zip(words, labels):
        if lab is None or end <= start:
            continue
        if turns and turns[-1][2] == lab and start - turns[-1][1] <= join_gap:
            turns[-1][1] = max(turns[-1][1], end)
        else:
            turns.append([start, end, lab])
    return [(s, e, lab) for s, e, lab in turns]
