"""Import POP909 and McGill Billboard into a MuVi-Sync layout folder for AMT training."""

from __future__ import annotations

import logging
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from v2m_bridge.data.conditioning import (
    DEFAULT_RECIPE,
    ConditioningRecipe,
    derive_conditioning,
)
from v2m_bridge.data.corpora import (
    CorpusError,
    SongChords,
    iter_billboard,
    iter_pop909,
    split_of,
)
from v2m_bridge.data.muvi_sync import write_song, write_splits

log = logging.getLogger(__name__)


@dataclass
class ImportSummary:
    songs: int = 0
    seconds: int = 0
    splits: dict[str, int] = field(default_factory=Counter)
    modes: dict[str, int] = field(default_factory=Counter)


def song_seed(song_id: str, seed: int) -> int:
    """A per-song seed that does not depend on which other songs are imported."""
    return zlib.crc32(f"{seed}:{song_id}".encode())


def import_songs(songs: Iterable[SongChords], out_dir: Path, seed: int = 0,
                 recipe: ConditioningRecipe = DEFAULT_RECIPE) -> ImportSummary:
    """Write each song's chords and derived conditioning, then the split files."""
    summary = ImportSummary()
    split_ids: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for song in songs:
        if len(song.chords) < 2:
            log.warning("%s: shorter than 2 s, skipped", song.song_id)
            continue
        derived = derive_conditioning(song.chords, song.phrase_starts, song.section_starts,
                                      song_seed(song.song_id, seed), recipe)
        write_song(out_dir, song.song_id, [c.symbol for c in song.chords], song.mode,
                   derived.emotion, derived.motion, derived.scene_offset)
        split = split_of(song.group)
        split_ids[split].append(song.song_id)
        summary.songs += 1
        summary.seconds += len(song.chords)
        summary.splits[split] += 1
        summary.modes[song.mode] += 1
    if not summary.songs:
        raise CorpusError("no songs to import")
    write_splits(out_dir, split_ids)
    return summary


def import_corpora(out_dir: Path, pop909: Path | None = None, billboard: Path | None = None,
                   seed: int = 0, limit: int | None = None) -> ImportSummary:
    """Import the given corpora (at least one); ``limit`` caps songs per corpus (for tests)."""
    if pop909 is None and billboard is None:
        raise CorpusError("give at least one corpus folder (POP909 or McGill Billboard)")
    sources: list[Iterable[SongChords]] = []
    if pop909 is not None:
        sources.append(_take(iter_pop909(Path(pop909)), limit))
    if billboard is not None:
        sources.append(_take(iter_billboard(Path(billboard)), limit))
    return import_songs((song for source in sources for song in source), Path(out_dir), seed)


def _take(songs: Iterable[SongChords], limit: int | None) -> Iterable[SongChords]:
    for index, song in enumerate(songs):
        if limit is not None and index >= limit:
            return
        yield song
