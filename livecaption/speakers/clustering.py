"""Offline clustering of speaker embeddings, and the rule for utterances too short to judge.

Average-linkage agglomerative clustering on cosine distance: every embedding starts as its own
cluster and the two closest clusters merge until the closest pair is further apart than a
threshold (``auto``) or the wanted number of clusters is left. It needs no guess of how many
speakers there are, its one threshold has a meaning (how unlike two voices must be), and it is
deterministic. numpy only; memory O(n²) for n embeddings (a one-hour file at one embedding per
0.75 s is ~4,800, about 180 MB in float64), time about O(n²).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Cosine distance (1 - cosine similarity) above which two clusters are different voices. The GE2E
# encoder puts windows of one voice at similarity ~0.75-0.9 and different voices at ~0.4-0.7;
# chosen on the diarization clips (scripts/diarize-eval.py), see docs/benchmarks.md.
DEFAULT_THRESHOLD = 0.30
MAX_SPEAKERS = 10  # more than this in one file is far more likely noise than people
MIN_SECONDS = 1.0  # shorter than this, an utterance's embedding is not trusted on its own


def cosine_distances(embeddings: np.ndarray) -> np.ndarray:
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return np.clip(1.0 - unit @ unit.T, 0.0, 2.0)


def agglomerative(embeddings: np.ndarray, n_clusters: int | None = None,
                  threshold: float = DEFAULT_THRESHOLD, max_clusters: int = MAX_SPEAKERS,
                  weights: Sequence[float] | None = None) -> np.ndarray:
    """Cluster index per row of ``embeddings``, numbered 0, 1, ... in order of first appearance.

    ``n_clusters``: merge until exactly that many are left (capped by the number of rows);
    otherwise merge while the closest pair is within ``threshold``, then further while more than
    ``max_clusters`` remain. ``weights`` (e.g. seconds of speech) weigh each row in the average.
    """
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    distance = cosine_distances(np.asarray(embeddings, dtype=np.float64)).astype(np.float64)
    np.fill_diagonal(distance, np.inf)
    size = np.ones(n) if weights is None else np.maximum(np.asarray(weights, dtype=np.float64), 1e-6)
    members = {i: [i] for i in range(n)}
    nearest = distance.argmin(axis=1)
    nearest_value = distance[np.arange(n), nearest]
    target = max(1, min(n_clusters, n)) if n_clusters else 1
    while len(members) > target:
        i = int(nearest_value.argmin())
        j = int(nearest[i])
        if not n_clusters and nearest_value[i] > threshold and len(members) <= max_clusters:
            break
        # Lance-Williams update for average linkage: the merged cluster's distance to k is the
        # size-weighted mean of its parts' distances.
        merged = (size[i] * distance[i] + size[j] * distance[j]) / (size[i] + size[j])
        distance[i], distance[:, i] = merged, merged
        distance[j], distance[:, j] = np.inf, np.inf
        distance[i, i] = np.inf
        size[i] += size[j]
        members[i].extend(members.pop(j))
        nearest_value[j] = np.inf
        # Rows whose nearest cluster was i or j must look again; the others only compare with i.
        stale = np.flatnonzero((nearest == i) | (nearest == j))
        for k in list(stale) + [i]:
            if k in members:
                nearest[k] = distance[k].argmin()
                nearest_value[k] = distance[k, nearest[k]]
        closer = distance[:, i] < nearest_value
        nearest[closer], nearest_value[closer] = i, distance[closer, i]
    labels = np.empty(n, dtype=int)
    for rank, (_, rows) in enumerate(sorted(members.items(), key=lambda item: min(item[1]))):
        labels[rows] = rank
    return labels


def centroids(embeddings: np.ndarray, labels: np.ndarray, weights: Sequence[float] | None = None) -> np.ndarray:
    """Unit-norm mean embedding of each cluster, row k for label k."""
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    out = np.zeros((int(labels.max()) + 1 if len(labels) else 0, embeddings.shape[1]))
    for k in range(len(out)):
        mean = (embeddings[labels == k] * weights[labels == k, None]).sum(axis=0)
        out[k] = mean / max(np.linalg.norm(mean), 1e-12)
    return out


def fill_short(labels: Sequence, durations: Sequence[float], min_seconds: float = MIN_SECONDS) -> list:
    """The short-utterance rule: an utterance under ``min_seconds`` is never judged by its own voice.

    It takes the label of its neighbours when the nearest long utterances on both sides agree, and
    stays unlabeled (None) otherwise, including at the start or end of the recording.
    """
    labels = list(labels)
    long_ = [i for i, d in enumerate(durations) if d >= min_seconds and labels[i] is not None]
    out: list = [None] * len(labels)
    for i in long_:
        out[i] = labels[i]
    for i, d in enumerate(durations):
        if d >= min_seconds:
            continue
        before = next((labels[k] for k in reversed(long_) if k < i), None)
        after = next((labels[k] for k in long_ if k > i), None)
        if before is not None and before == after:
            out[i] = before
    return out
