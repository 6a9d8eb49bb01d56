"""``/v2m/match`` and ``/v2m/use``: library retrieval for the daemon's opened video.

The retrieval embedding loads on the first request; the index of the library (the packaged
corpora index unless the request or ``$V2M_LIBRARY`` names a folder) is built or updated through
the content cache of :mod:`v2m_bridge.retrieval.index`, on the model worker, with progress.
Scenes run from cut to cut at the opened composition's hit points (its cuts as snapped onto its
grid, where its chords change); chords are spelt in its key and fit its tempo map's beats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from v2m_bridge.features import VideoFeatures
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.retrieval.embedding import RetrievalEmbedding, label_of, load_embedding
from v2m_bridge.retrieval.index import LibraryIndex
from v2m_bridge.retrieval.match import MatchResult, match_features
from v2m_bridge.retrieval.packaged import open_library
from v2m_bridge.vocab import Key

ProgressCallback = Callable[[float, str], None]
MAX_TOP = 20


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def listing(result: MatchResult) -> str:
    """One line per excerpt: scene, start, end (media s, the cut times), rank, excerpt id,
    score, chords, "title — artist"."""
    lines = []
    for number, scene in enumerate(result.scenes, start=1):
        for c in scene.candidates:
            lines.append("\t".join([str(number), f"{scene.start:.3f}", f"{scene.end:.3f}",
                                    str(c.rank), _clean(c.excerpt_id), f"{c.score:.3f}",
                                    _clean(c.chords), _clean(c.name)]))
    return "\n".join(lines)


class LibraryMatcher:
    """The embedding and the last library index, kept between requests."""

    def __init__(self, checkpoint: str | Path | None = None) -> None:
        self.checkpoint = checkpoint
        self._model: RetrievalEmbedding | None = None
        self.index: LibraryIndex | None = None
        self.library: str | None = None  # None: $V2M_LIBRARY, else the packaged index

    @property
    def model(self) -> RetrievalEmbedding:
        if self._model is None:
            self._model = load_embedding(self.checkpoint)
        return self._model

    @property
    def label(self) -> str:
        return label_of(self.model)

    def load_index(self, library: str | None, progress: ProgressCallback) -> LibraryIndex:
        """The index of ``library``, else of the library used last (the packaged index at
        first)."""
        if library:
            self.library = library

        def report(done: int, total: int, name: str) -> None:
            if done == total or done % 50 == 0:
                progress(0.9 * done / total, "indexing library")

        self.index = open_library(Path(self.library) if self.library else None, self.model,
                                  progress=report)
        return self.index

    def match(self, features: VideoFeatures, top: int, library: str | None,
              progress: ProgressCallback, key: Key, tempo: TempoMap,
              hits: Sequence[float] = ()) -> MatchResult:
        index = self.load_index(library, progress)
        progress(0.95, "ranking")
        return match_features(features, index, self.model, top=top, per_scene=True, key=key,
                              tempo=tempo, hits=hits)
