"""Speaker labels inside utterances while captioning, reclustered as evidence grows (issue #12).

One embedding per utterance cannot label an utterance that holds two voices, and people answer
each other without the pause the VAD needs to end an utterance (on sample.wav one label per
utterance could not score better than 22.6% DER, against file mode's 6.9%). So live labels are
made the way file mode makes them (``labeling.py``): each finished utterance's words are joined
into speech runs (joined to the previous utterance's last run when no pause parts them), runs of
at least ``min_seconds`` are covered by 1.5 s windows every 0.5 s, each
window is embedded, and after every utterance *all* the windows heard so far are clustered again
with file mode's silhouette choice. Each word takes the majority cluster of the windows over it, so
a speaker change inside an utterance splits it, and earlier words may be relabelled as evidence
grows (a second voice is only believed once it has been heard for a few seconds).

Voices are numbered by first appearance, as in file mode ("Speaker 1" is the first voice heard);
a name the user gave ("Speaker 2" -> "Dana") stays with the cluster that shares most speech with
it (Hungarian). Runs under ``min_seconds`` are never judged by their own voice (``fill_short``).

Clustering is O(n²) in windows (~2 per second of speech): past ``max_windows`` an even sample of
the windows, the newest always among them, is clustered and the rest join their nearest cluster.
No audio work and no lock here: the tracker (live.py) embeds and calls it from one thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from livecaption.speakers.clustering import centroids
from livecaption.speakers.der import hungarian
from livecaption.speakers.labeling import (FileLabelOptions, Speakers, cluster_windows, speaker_name, speech_runs,
                                           windows_over, word_clusters)


@dataclass(frozen=True)
class WindowedOptions:
    # Windows, runs and the silhouette choice as file mode, except that more clusters must win by 0.03:
    # on three voices in 5 s turns 1.5 s windows split one voice in two for a gain of 0.025 (0.463 ->
    # 0.488), and a live display would show the split.
    file: FileLabelOptions = field(default_factory=lambda: FileLabelOptions(prefer_fewer=0.03))
    max_windows: int = 600  # clustered after each utterance (~5 min of speech; ~0.1 s on this CPU)
    max_windows_relabel: int = 2000  # clustered at save, when a longer wait is expected
    recent_windows: int = 200  # always clustered in full past the cap: the voices being labelled now

    @property
    def min_seconds(self) -> float:
        return self.file.min_seconds


class WindowedLabeler:
    def __init__(self, options: WindowedOptions = WindowedOptions()):
        self.options = options
        self.words: list[tuple[float, float]] = []  # every finished utterance's words, in order
        self.utterance_words: list[tuple[int, int]] = []  # [first, last) word index of each utterance
        self.runs: list[tuple[float, float]] = []
        self.run_of_word: list[int | None] = []
        self.spans: list[tuple[float, float]] = []  # windows, sorted by start
        self._embeddings: list[np.ndarray] = []  # per window: unit-norm, or NaN (nothing voiced)
        self._window_run: list[int] = []  # per window: its run
        self._names: list[str | None] = []  # per word: the label it shows
        self._given: set[str] = set()  # names the user gave (rename)

    # -- an utterance ---------------------------------------------------------------------------
    def add(self, words: Sequence[tuple[float, float]],
            embed: Callable[[list[tuple[float, float]]], np.ndarray]) -> None:
        """Record one finished utterance's (start, end) words, embed its new windows with ``embed``
        (spans -> one row each, NaN where nothing was voiced), then recluster everything so far."""
        o = self.options.file
        words = [(float(s), float(e)) for s, e in words]
        runs = speech_runs([w for w in words if w[1] > w[0]], o.join_gap)
        first = len(self.runs)
        kept: dict[tuple[float, float], np.ndarray] = {}
        if self.runs and runs and runs[0][0] - self.runs[-1][1] <= o.join_gap:
            # No pause between this utterance and the last: one speech run, as file mode joins it
            # (the VAD may end an utterance where no listener hears a pause). Its windows are laid
            # out again over the whole run; those already embedded are kept.
            first -= 1
            self.runs[-1] = (self.runs[-1][0], max(self.runs[-1][1], runs[0][1]))
            runs = runs[1:]
            while self._window_run and self._window_run[-1] == first:
                self._window_run.pop()
                kept[self.spans.pop()] = self._embeddings.pop()
        self.runs += runs
        for start, end in words:
            middle = (start + end) / 2
            self.run_of_word.append(next((first + i for i, (a, b) in enumerate(self.runs[first:]) if a <= middle <= b),
                                         None))
        self.utterance_words.append((len(self.words), len(self.words) + len(words)))
        self.words += words
        self._names += [None] * len(words)
        todo = [(span, r) for r in range(first, len(self.runs)) if self.runs[r][1] - self.runs[r][0] >= o.min_seconds
                for span in windows_over(self.runs[r], o.window, o.hop)]
        new = [span for span, _ in todo if span not in kept]
        rows = np.asarray(embed(new), dtype=np.float64).reshape(len(new), -1) if new else np.zeros((0, 256))
        rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        kept.update(zip(new, rows))
        for span, r in todo:
            self.spans.append(span)
            self._embeddings.append(kept[span])
            self._window_run.append(r)
        self.recluster("auto", self.options.max_windows)

    # -- labels ---------------------------------------------------------------------------------
    def labels(self) -> list[str | None]:
        """Every word's label so far (None: not judged, e.g. a short run its neighbours disagree on)."""
        return list(self._names)

    def utterance_label(self, index: int) -> str | None:
        """The label holding most of utterance ``index``'s speech."""
        first, last = self.utterance_words[index]
        time: dict[str, float] = {}
        for (start, end), name in zip(self.words[first:last], self._names[first:last]):
            if name is not None:
                time[name] = time.get(name, 0.0) + max(end - start, 1e-3)
        return max(time, key=time.get) if time else None

    @property
    def speakers(self) -> list[str]:
        return sorted({name for name in self._names if name})

    def rename(self, old: str, new: str) -> None:
        """Give a voice a name; its words follow now, and after every later clustering."""
        new = new.strip()
        if not new:
            raise ValueError("a speaker name cannot be empty")
        if old not in self._names:
            raise KeyError(f"no speaker called {old!r}")
        if new != old and new in self._names:
            raise ValueError(f"another speaker is already called {new!r}")
        self._names = [new if name == old else name for name in self._names]
        self._given = (self._given - {old}) | {new}

    def relabel_all(self, speakers: Speakers = "auto") -> list[str | None]:
        """At save: the whole session clustered at once (a larger cap); returns every word's label."""
        self.recluster(speakers, self.options.max_windows_relabel)
        return self.labels()

    # -- clustering -----------------------------------------------------------------------------
    def recluster(self, speakers: Speakers, cap: int) -> None:
        window_labels = np.full(len(self.spans), -1)
        if self._embeddings:
            matrix = np.stack(self._embeddings)
            usable = np.flatnonzero(np.isfinite(matrix).all(axis=1))
            chosen = usable
            if len(usable) > cap:
                recent = min(self.options.recent_windows, cap // 2)
                spread = usable[np.linspace(0, len(usable) - recent - 1, cap - recent).astype(int)]
                chosen = np.union1d(spread, usable[-recent:])
            if len(chosen):
                window_labels[chosen] = cluster_windows(matrix[chosen], speakers, self.options.file)
                rest = np.setdiff1d(usable, chosen)
                if len(rest):  # past the cap: the nearest cluster centre
                    centres = centroids(matrix[chosen], window_labels[chosen])
                    window_labels[rest] = np.argmax(matrix[rest] @ centres.T, axis=1)
        clusters = word_clusters(self.words, self.run_of_word, self.runs, self.spans, window_labels,
                                 self.options.min_seconds)
        self._names = self._named(clusters)

    def _named(self, clusters: list[int | None]) -> list[str | None]:
        """Names for the new clusters. A name the user gave stays with the cluster sharing most speech
        with it (Hungarian); the others are numbered by first appearance, as in file mode, so a voice
        split in two for a while and merged again leaves no gap in the numbers."""
        ids = list(dict.fromkeys(c for c in clusters if c is not None))  # by first appearance
        given = list(dict.fromkeys(n for n in self._names if n is not None and n in self._given))
        names: dict[int, str] = {}
        if ids and given:
            shared = np.zeros((len(ids), len(given)))
            for (start, end), cluster, name in zip(self.words, clusters, self._names):
                if cluster is not None and name in self._given:
                    shared[ids.index(cluster), given.index(name)] += max(end - start, 1e-3)
            for row, column in hungarian((-shared).tolist()):
                if shared[row, column] > 0:
                    names[ids[row]] = given[column]
        for rank, cluster in enumerate(ids):
            names.setdefault(cluster, speaker_name(rank))
        return [names[c] if c is not None else None for c in clusters]
