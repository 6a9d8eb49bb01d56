"""``/v2m/match`` and ``/v2m/use``: library retrieval for the daemon's opened video.

The retrieval embedding loads on the first request; the index of the library (the shipped corpora
unless the request names a folder) is built or updated through the content cache of
:mod:`v2m_bridge.retrieval.index`, on the model worker, with progress.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from v2m_bridge.features import VideoFeatures
from v2m_bridge.retrieval.embedding import RetrievalEmbedding, label_of, load_embedding
from v2m_bridge.retrieval.index import LibraryIndex, build_index, default_library
from v2m_bridge.retrieval.match import MatchResult, match_features

ProgressCallback = Callable[[float, str], None]
MAX_TOP = 20


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def listing(result: MatchResult) -> str:
    """One line per excerpt: scene, start, end (media s), rank, excerpt id, score, chords."""
    lines = []
    for number, scene in enumerate(result.scenes, start=1):
        for c in scene.candidates:
            lines.append("\t".join([str(number), f"{scene.start:g}", f"{scene.end:g}",
                                    str(c.rank), _clean(c.excerpt_id), f"{c.score:.3f}",
                                    _clean(c.chords)]))
    return "\n".join(lines)


class LibraryMatcher:
    """The embedding and the last library index, kept between requests."""

    def __init__(self, checkpoint: str | Path | None = None) -> None:
        self.checkpoint = checkpoint
        self._model: RetrievalEmbedding | None = None
        self.index: LibraryIndex | None = None

    @property
    def model(self) -> RetrievalEmbedding:
        if self._model is None:
            self._model = load_embedding(self.checkpoint)
        return self._model

    @property
    def label(self) -> str:
        return label_of(self.model)

    def load_index(self, library: str | None, progress: ProgressCallback) -> LibraryIndex:
        root = Path(library) if library else (Path(self.index.root) if self.index is not None
                                              else default_library())

        def report(done: int, total: int, name: str) -> None:
            if done == total or done % 50 == 0:
                progress(0.9 * done / total, "indexing library")

        self.index = build_index(root, self.model, progress=report)
        return self.index

    def match(self, features: VideoFeatures, top: int, library: str | None,
              progress: ProgressCallback) -> MatchResult:
        index = self.load_index(library, progress)
        progress(0.95, "ranking")
        return match_features(features, index, self.model, top=top, per_scene=True)
