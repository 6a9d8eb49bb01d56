"""The packaged library: a compact prebuilt index of the chord corpora, inside the package.

``v2m_bridge/library_data/corpora_index.npz`` holds, for every piece of POP909 and McGill
Billboard (notices in ``library_data/NOTICE.md``), its per-second chords (int16), title, artist,
mode and phrase starts, and the starter embedding's piece and excerpt vectors (float16). It is
what ``match`` and ``/v2m/match`` rank when no library is given (``--library``,
``$V2M_LIBRARY``), so they work on a machine that has only the wheel. With another embedding the
pieces are embedded again from the stored chords (about 10 s on two busy cores), once: the result
is kept in the retrieval cache folder.

Rebuild it from the corpora with
``v2m-bridge index-library ../shared/data/corpora --rebuild --export
v2m_bridge/library_data/corpora_index.npz``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import numpy as np

from v2m_bridge.retrieval.embedding import RetrievalEmbedding
from v2m_bridge.retrieval.index import (
    IndexBuilder,
    LibraryError,
    LibraryIndex,
    ProgressCallback,
    build_index,
    default_library,
    retrieval_cache_dir,
)
from v2m_bridge.retrieval.music_features import MusicFeatures

log = logging.getLogger(__name__)

PACKAGED_INDEX = Path(__file__).resolve().parents[1] / "library_data" / "corpora_index.npz"
PACKAGED_ROOT = "packaged index of the chord corpora (POP909, McGill Billboard)"


def load_packaged_index(model: RetrievalEmbedding, path: Path = PACKAGED_INDEX) -> LibraryIndex:
    """The packaged index, embedded with ``model`` (re-embedded from its chords if it was made
    with another embedding)."""
    index = LibraryIndex.load(path)
    if index is None:
        raise LibraryError(f"the packaged library index {path} is missing or unreadable; give "
                           "a library folder with --library DIR (or $V2M_LIBRARY)")
    index.root = PACKAGED_ROOT
    if index.model_digest == model.digest():
        return index
    stat = path.stat()
    cached = retrieval_cache_dir() / (f"packaged-{model.digest()}-{stat.st_size}-"
                                      f"{stat.st_mtime_ns}.npz")
    again = LibraryIndex.load(cached)
    if again is None:
        log.info("embedding the packaged library again for this embedding")
        again = _embedded_again(index, model)
        try:
            again.save(cached)
        except OSError as err:
            log.warning("could not keep the re-embedded packaged index %s: %s", cached, err)
    again.root = PACKAGED_ROOT
    return again


def _embedded_again(index: LibraryIndex, model: RetrievalEmbedding) -> LibraryIndex:
    builder = IndexBuilder(model)
    for number, record in enumerate(index.items):
        music = MusicFeatures(
            item_id=record.item_id, source=record.source, kind=record.kind,
            chord_ids=index.item_chords(number), mode=record.mode, tempo_bpm=record.tempo_bpm,
            beats_per_bar=record.beats_per_bar, phrase_starts=tuple(record.phrase_starts))
        builder.add(record, music)
    again = builder.finish(Path(index.root))
    again.root = index.root
    return again


def open_library(library: str | os.PathLike | None, model: RetrievalEmbedding, *,
                 progress: ProgressCallback | None = None, use_cache: bool = True
                 ) -> LibraryIndex:
    """The index of ``library``, else of ``$V2M_LIBRARY``, else the packaged index."""
    root = Path(library) if library is not None else default_library()
    if root is None:
        return load_packaged_index(model)
    return build_index(root, model, progress=progress, use_cache=use_cache)


CORPUS_KINDS = ("pop909", "billboard")


def select(index: LibraryIndex, kinds: tuple[str, ...]) -> LibraryIndex:
    """The pieces of ``index`` whose kind is in ``kinds``, with their excerpts."""
    keep = [i for i, item in enumerate(index.items) if item.kind in kinds]
    renumber = {old: new for new, old in enumerate(keep)}
    excerpts = np.isin(index.excerpt_item, keep)
    lengths = [index.chord_offsets[i + 1] - index.chord_offsets[i] for i in keep]
    return dataclasses.replace(
        index, items=[index.items[i] for i in keep],
        chords=np.concatenate([index.item_chords(i) for i in keep]).astype(np.int16),
        chord_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        item_embeddings=index.item_embeddings[keep],
        excerpt_item=np.array([renumber[int(i)] for i in index.excerpt_item[excerpts]],
                              np.int32),
        excerpt_start=index.excerpt_start[excerpts], excerpt_end=index.excerpt_end[excerpts],
        excerpt_embeddings=index.excerpt_embeddings[excerpts])


def export_index(index: LibraryIndex, out: Path, kinds: tuple[str, ...] | None = None) -> Path:
    """A compact, machine-independent copy of ``index`` (only the pieces of ``kinds`` if given;
    sources relative to its root, no file stats), compressed, for packaging."""
    root = Path(index.root)

    def relative(source: str) -> str:
        try:
            return str(Path(source).relative_to(root))
        except ValueError:
            return Path(source).name

    if kinds is not None:
        index = select(index, kinds)
    items = [dataclasses.replace(item, source=relative(item.source), stat_key="",
                                 notes=item.notes[:1]) for item in index.items]
    compact = dataclasses.replace(index, root=PACKAGED_ROOT, items=items, failed={})
    compact.save(out, compressed=True)
    return out
