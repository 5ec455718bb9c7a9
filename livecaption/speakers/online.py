"""Speaker labels while captioning: each utterance is assigned as it ends, all are redone at save.

Live, only the past is known, so each utterance's embedding is compared with the speakers heard
so far (the mean of their utterances' embeddings): close enough joins the nearest, otherwise a
new speaker is opened, up to ``max_speakers`` (after that the nearest is taken, since a room
rarely holds more voices than that and a runaway count is worse than a merged pair).

At save time the whole session is known: ``relabel_all`` clusters every utterance embedding
together and renumbers, mapping each new cluster onto the live speaker that shared most of its
speech, so a name the user gave ("Speaker 2" → "Dana") stays with that voice.

Utterances under ``min_seconds`` are never judged by their own voice (too little audio for a
trustworthy embedding): they take the label of the long utterances on both sides when those
agree, else stay unlabeled. Their label may therefore appear only when the next long utterance
ends. This class does no audio work and holds no lock: the caller embeds off the caption path
(``VoiceEncoder.embed`` takes ~0.02 s per second of speech on a 2-core CPU) and serialises calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livecaption.speakers.clustering import MIN_SECONDS, agglomerative, fill_short
from livecaption.speakers.der import hungarian
from livecaption.speakers.labeling import silhouette, speaker_name


@dataclass(frozen=True)
class OnlineOptions:
    # Cosine similarity to a speaker's mean at or above which an utterance joins that speaker.
    # Whole utterances (averaged over 1.6 s partials) are steadier than file mode's windows.
    join_similarity: float = 0.70
    max_speakers: int = 8
    min_seconds: float = MIN_SECONDS
    min_silhouette: float = 0.1  # relabel_all: the same test as file mode for "more than one voice"

    def __post_init__(self):
        if self.max_speakers < 1:
            raise ValueError(f"max_speakers must be at least 1: {self.max_speakers}")


class OnlineSpeakerLabeler:
    def __init__(self, options: OnlineOptions = OnlineOptions()):
        self.options = options
        self._embeddings: list[np.ndarray | None] = []  # None: too short or nothing voiced
        self._durations: list[float] = []
        self._raw: list[int | None] = []  # speaker id per utterance, before the short rule
        self._sums: list[np.ndarray] = []  # per speaker id: duration-weighted embedding sum
        self._names: dict[int, str] = {}  # speaker id -> display name

    # -- live -----------------------------------------------------------------------------------
    def add(self, embedding: np.ndarray | None, duration: float) -> int:
        """Record one finished utterance; returns its index (for ``label``)."""
        usable = (embedding is not None and duration >= self.options.min_seconds
                  and np.all(np.isfinite(embedding)))
        vector = np.asarray(embedding, dtype=np.float64) if usable else None
        self._embeddings.append(vector)
        self._durations.append(float(duration))
        self._raw.append(self._assign(vector, duration) if vector is not None else None)
        return len(self._raw) - 1

    def _assign(self, vector: np.ndarray, duration: float) -> int:
        if self._sums:
            means = np.stack([s / max(np.linalg.norm(s), 1e-12) for s in self._sums])
            similarity = means @ (vector / max(np.linalg.norm(vector), 1e-12))
            best = int(similarity.argmax())
            if similarity[best] >= self.options.join_similarity or len(self._sums) >= self.options.max_speakers:
                self._sums[best] = self._sums[best] + duration * vector
                return best
        self._sums.append(duration * vector)
        speaker = len(self._sums) - 1
        self._names[speaker] = self._free_name()
        return speaker

    def _free_name(self) -> str:
        used, k = set(self._names.values()), 0
        while speaker_name(k) in used:
            k += 1
        return speaker_name(k)

    def labels(self) -> list[str | None]:
        """The label of every utterance so far, the short-utterance rule applied."""
        filled = fill_short(self._raw, self._durations, self.options.min_seconds)
        return [self._names[s] if s is not None else None for s in filled]

    def label(self, index: int) -> str | None:
        return self.labels()[index]

    @property
    def speakers(self) -> list[str]:
        return [self._names[s] for s in sorted(self._names)]

    def rename(self, old: str, new: str) -> None:
        """Give a speaker a name; every utterance of that voice follows, now and after relabel_all."""
        new = new.strip()
        if not new:
            raise ValueError("a speaker name cannot be empty")
        ids = [s for s, name in self._names.items() if name == old]
        if not ids:
            raise KeyError(f"no speaker called {old!r}")
        if any(name == new for s, name in self._names.items() if s not in ids):
            raise ValueError(f"another speaker is already called {new!r}")
        for s in ids:
            self._names[s] = new

    # -- save time --------------------------------------------------------------------------------
    def relabel_all(self, speakers: str | int = "auto") -> list[str | None]:
        """Re-cluster every utterance together, keep names on the voices they were given to, and
        return the new labels (also what ``labels()`` returns from now on)."""
        rows = [i for i, e in enumerate(self._embeddings) if e is not None]
        if not rows:
            return self.labels()
        matrix = np.stack([self._embeddings[i] for i in rows])
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        weights = [self._durations[i] for i in rows]
        if speakers != "auto":
            new = agglomerative(matrix, n_clusters=int(speakers), weights=weights)
        else:
            new = np.zeros(len(rows), dtype=int)
            best = self.options.min_silhouette
            for k in range(2, min(self.options.max_speakers, len(rows) - 1) + 1):
                cut = agglomerative(matrix, n_clusters=k, weights=weights)
                score = silhouette(matrix, cut)
                if score > best:
                    best, new = score, cut
        # Which old speaker does each new cluster continue? The one sharing the most seconds.
        old_ids = sorted(self._names)
        shared = np.zeros((int(new.max()) + 1, len(old_ids)))
        for row, cluster in zip(rows, new):
            old = self._raw[row]
            if old is not None:
                shared[cluster, old_ids.index(old)] += self._durations[row]
        pairs = hungarian((-shared).tolist()) if len(old_ids) else []
        names, taken = {}, set()
        for cluster, column in pairs:
            if shared[cluster, column] > 0:
                names[cluster] = self._names[old_ids[column]]
                taken.add(names[cluster])
        self._names = {}
        for cluster in range(len(shared)):  # clusters continuing no old speaker get fresh numbers
            if cluster not in names:
                k = 0
                while speaker_name(k) in taken:
                    k += 1
                names[cluster] = speaker_name(k)
                taken.add(names[cluster])
            self._names[cluster] = names[cluster]
        self._raw = [None] * len(self._raw)
        self._sums = [np.zeros(matrix.shape[1]) for _ in range(len(shared))]
        for row, cluster, vector in zip(rows, new, matrix):
            self._raw[row] = int(cluster)
            self._sums[cluster] += self._durations[row] * vector
        return self.labels()
