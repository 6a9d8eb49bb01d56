"""A library index: every piece's and every excerpt's embedding, built once, cached by content.

A *library* is a folder. Everything under it is indexed:

* MIDI files (``.mid``, ``.midi``, ``.smf``, ``.kar``), each one piece;
* MuVi-Sync folders (``vevo_chord/lab_v2_norm/all/<id>.lab``), each id one piece;
* POP909 song folders (``chord_audio.txt`` + ``key_audio.txt`` + ``beat_audio.txt``) and the
  McGill Billboard folder (``billboard-2.0.1-lab`` + ``billboard-2.0-salami_chords``).

Audio files (WAV, FLAC, MP3, ...) are indexed with the optional ``audio`` extra (librosa), their
features labelled an estimate; without it they are reported as not indexed.

**Excerpts** are 8-bar windows every 4 bars when the piece has a tempo (4 bars when 8 bars would
last over 30 s), else phrase-aligned windows of 8–24 s from each phrase start, else 16 s windows
every 8 s. An excerpt is a progression: excerpts that are more than half "no chord" or whose
chords have fewer than two different roots are dropped (a piece keeps at least one).

**Caching.** The index of a library lives in ``$V2M_CACHE_DIR/retrieval`` (else
``~/.cache/v2m-bridge/retrieval``), one file per (library folder, embedding). Each piece is keyed
by the SHA-256 of its files' bytes, and each file's size and modification time are remembered:
an update re-reads only files whose size or time changed, and reuses a piece whose content is
unchanged (also after a rename). Files that failed are remembered with their error until they
change.

**Streaming.** Files are read one at a time and embedded in chunks of 64; only the compact index
(per piece: chords as int16 and summary numbers; per excerpt: a float16 embedding) stays in
memory, so memory grows with the size of the index, not of the files. ``progress(done, total,
name)`` is called after every entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from v2m_bridge.data.corpora import CorpusError, read_billboard_song, read_pop909_song
from v2m_bridge.errors import V2MError
from v2m_bridge.retrieval.embedding import RetrievalEmbedding, encode
from v2m_bridge.retrieval.inputs import music_inputs
from v2m_bridge.retrieval.music_features import (
    MIDI_SUFFIXES,
    MusicFeatures,
    MusicFileError,
    audio_available,
    chord_change_rate,
    chord_root_degrees,
    emotion_histogram,
    from_audio,
    from_midi,
    from_muvi_sync,
    from_song_chords,
    minor_share,
)
from v2m_bridge.retrieval.titles import billboard_titles, midi_title, pop909_titles

log = logging.getLogger(__name__)

INDEX_FORMAT = 2  # 2: titles, artists and phrase starts in the item records
FEATURE_VERSION = "4"  # bump when music_features or excerpt rules change
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".aif", ".aiff", ".m4a"})
CHUNK = 64
LIBRARY_ENV_VAR = "V2M_LIBRARY"
SHARED_CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "corpora"
"""The chord corpora in a development checkout: ``shared/data/corpora`` beside the repository
(what the packaged index and the starter embedding were made from)."""

MIN_EXCERPT_S = 4
ProgressCallback = Callable[[int, int, str], None]


class LibraryError(V2MError, ValueError):
    """A library that cannot be ranked at all (missing, empty, nothing readable)."""


@dataclass(frozen=True)
class IndexIssue:
    path: str
    message: str


@dataclass(frozen=True)
class LibraryEntry:
    """One piece to index: its name, the files that define it, how to read it."""

    item_id: str
    kind: str
    files: tuple[Path, ...]
    load: Callable[[], MusicFeatures]
    title: str = ""
    artist: str = ""

    def stat_key(self) -> str:
        parts = []
        for path in self.files:
            st = path.stat()
            parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
        return "|".join(parts)

    def digest(self) -> str:
        h = hashlib.sha256(FEATURE_VERSION.encode())
        for path in self.files:
            with path.open("rb") as handle:
                h.update(hashlib.file_digest(handle, "sha256").digest())
        return h.hexdigest()


@dataclass
class ItemRecord:
    item_id: str
    kind: str
    source: str
    digest: str
    stat_key: str
    n_seconds: int
    mode: str
    tempo_bpm: float | None
    beats_per_bar: int
    emotion: list[float]
    change_rate: float
    minor_share: float
    density: float | None
    loudness: float | None
    notes: list[str] = field(default_factory=list)
    title: str = ""
    artist: str = ""
    phrase_starts: list[int] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Scanning


def _midi_entry(path: Path, root: Path) -> LibraryEntry:
    item_id = str(path.relative_to(root))
    title, artist = midi_title(path)
    return LibraryEntry(item_id, "midi", (path,), lambda: from_midi(path, item_id), title,
                        artist)


def _audio_entry(path: Path, root: Path) -> LibraryEntry:
    item_id = str(path.relative_to(root))
    return LibraryEntry(item_id, "audio", (path,), lambda: from_audio(path, item_id))


def _pop909_entry(song_dir: Path) -> LibraryEntry:
    files = tuple(song_dir / name for name in ("chord_audio.txt", "key_audio.txt",
                                                "beat_audio.txt"))
    title, artist = pop909_titles(song_dir.parent).get(song_dir.name, ("", ""))
    return LibraryEntry(f"pop909-{song_dir.name}", "pop909", files,
                        lambda: from_song_chords(read_pop909_song(song_dir), str(song_dir)),
                        title, artist)


def _billboard_entries(root: Path) -> Iterator[LibraryEntry]:
    lab_root = root / "billboard-2.0.1-lab"
    salami_root = root / "billboard-2.0-salami_chords"
    titles = billboard_titles(root)
    for song_dir in sorted(lab_root.iterdir()):
        lab = song_dir / "full.lab"
        salami = salami_root / song_dir.name / "salami_chords.txt"
        if lab.is_file() and salami.is_file():
            yield LibraryEntry(
                f"billboard-{song_dir.name}", "billboard", (lab, salami),
                lambda lab=lab, salami=salami: from_song_chords(read_billboard_song(lab, salami),
                                                                str(lab.parent)),
                *titles.get(song_dir.name.lstrip("0"), ("", "")))


def _muvi_entries(root: Path) -> Iterator[LibraryEntry]:
    chord_dir = root / "vevo_chord" / "lab_v2_norm" / "all"
    for lab in sorted(chord_dir.glob("*.lab")):
        files = [lab] + [p for p in (root / "vevo_loudness/all" / lab.name,
                                     root / "vevo_note_density/all" / lab.name) if p.is_file()]
        yield LibraryEntry(f"muvi-{lab.stem}", "muvi-sync", tuple(files),
                           lambda stem=lab.stem: from_muvi_sync(root, stem))


def scan_library(root: Path, issues: list[IndexIssue]) -> Iterator[LibraryEntry]:
    """Every entry under ``root`` in a stable order; unsupported files go to ``issues``."""
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        subdirs.sort()
        names = set(files)
        if (here / "billboard-2.0.1-lab").is_dir() and (here / "billboard-2.0-salami_chords"
                                                         ).is_dir():
            yield from _billboard_entries(here)
            subdirs[:] = [d for d in subdirs if not d.startswith("billboard-2.0")]
        if (here / "vevo_chord" / "lab_v2_norm" / "all").is_dir():
            yield from _muvi_entries(here)
            subdirs[:] = [d for d in subdirs if not d.startswith("vevo_")]
        if {"chord_audio.txt", "key_audio.txt", "beat_audio.txt"} <= names:
            yield _pop909_entry(here)
        for name in sorted(files):
            suffix = Path(name).suffix.lower()
            if suffix in MIDI_SUFFIXES:
                yield _midi_entry(here / name, root)
            elif suffix in AUDIO_SUFFIXES and audio_available():
                yield _audio_entry(here / name, root)
            elif suffix in AUDIO_SUFFIXES:
                issues.append(IndexIssue(str(here / name), "audio files are not indexed without "
                                         "librosa: pip install 'v2m-bridge[audio]' (or convert "
                                         "it to MIDI)"))


# ---------------------------------------------------------------------------------------------
# Excerpts


def excerpt_bounds(music: MusicFeatures) -> list[tuple[int, int]]:
    """``[start, end)`` seconds of the 4–8-bar excerpts of a piece (see the module docstring)."""
    n = music.n_seconds
    bounds: list[tuple[int, int]] = []
    bar = music.bar_seconds
    if bar:
        bars = 8 if 8 * bar <= 30 else 4
        step = bars // 2 * bar
        start = 0.0
        while start < n:
            s, e = round(start), min(n, round(start + bars * bar))
            if e - s >= MIN_EXCERPT_S or not bounds:
                bounds.append((s, max(e, s + 1)))
            start += step
    elif len(music.phrase_starts) >= 2:
        phrases = sorted(p for p in set(music.phrase_starts) if p < n)
        for i, start in enumerate(phrases):
            end = next((p for p in phrases[i + 1:] if p - start >= 8), start + 16)
            end = min(end, start + 24, n)
            if end - start >= MIN_EXCERPT_S:
                bounds.append((start, end))
    if not bounds:
        bounds = [(s, min(n, s + 16)) for s in range(0, max(n - 8, 1), 8)]
    roots = chord_root_degrees(music.chord_ids)
    kept = [(s, e) for s, e in bounds if np.mean(music.chord_ids[s:e] == 0) <= 0.5
            and len(set(roots[s:e].tolist()) - {0}) >= 2]
    return kept or bounds[:1]


# ---------------------------------------------------------------------------------------------
# The index


def retrieval_cache_dir() -> Path:
    explicit = os.environ.get("V2M_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "retrieval"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "v2m-bridge" / "retrieval"


def default_library() -> Path | None:
    """``$V2M_LIBRARY``, else ``None``: the packaged index of the chord corpora
    (:mod:`.packaged`)."""
    explicit = os.environ.get(LIBRARY_ENV_VAR)
    return Path(explicit).expanduser() if explicit else None


@dataclass
class LibraryIndex:
    root: str
    model_digest: str
    items: list[ItemRecord]
    chords: np.ndarray  # (total seconds,) int16, normalised frame, items back to back
    chord_offsets: np.ndarray  # (N + 1,)
    item_embeddings: np.ndarray  # (N, D) float16
    excerpt_item: np.ndarray  # (E,) int32
    excerpt_start: np.ndarray  # (E,) int32
    excerpt_end: np.ndarray  # (E,) int32
    excerpt_embeddings: np.ndarray  # (E, D) float16
    issues: list[IndexIssue] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # stat key -> error, until it changes
    stats: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)

    def item_chords(self, index: int) -> np.ndarray:
        return self.chords[self.chord_offsets[index]:self.chord_offsets[index + 1]].astype(
            np.int64)

    def find(self, item_id: str) -> int:
        for i, item in enumerate(self.items):
            if item.item_id == item_id:
                return i
        raise LibraryError(f"no piece {item_id!r} in the library index of {self.root}")

    def save(self, path: Path, compressed: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write = np.savez_compressed if compressed else np.savez
        metadata = {"format": INDEX_FORMAT, "root": self.root, "model": self.model_digest,
                    "items": [asdict(i) for i in self.items], "failed": self.failed}
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            temporary = Path(handle.name)
            write(handle, chords=self.chords, chord_offsets=self.chord_offsets,
                     item_embeddings=self.item_embeddings, excerpt_item=self.excerpt_item,
                     excerpt_start=self.excerpt_start, excerpt_end=self.excerpt_end,
                     excerpt_embeddings=self.excerpt_embeddings,
                     metadata=np.array(json.dumps(metadata)))
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> LibraryIndex | None:
        """The index at ``path``, or ``None`` if it is missing or unreadable (then rebuilt)."""
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                metadata = json.loads(str(data["metadata"]))
                if metadata.get("format") != INDEX_FORMAT:
                    return None
                arrays = {k: data[k] for k in data.files if k != "metadata"}
            return cls(root=metadata["root"], model_digest=metadata["model"],
                       items=[ItemRecord(**i) for i in metadata["items"]],
                       failed=metadata.get("failed", {}), **arrays)
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as err:
            log.warning("ignoring unreadable library index %s: %s", path, err)
            return None


def index_path(root: Path, model: RetrievalEmbedding, cache_dir: Path | None = None) -> Path:
    folder = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    version = f"f{INDEX_FORMAT}v{FEATURE_VERSION}"  # new rules: a new index, nothing reused
    return (cache_dir or retrieval_cache_dir()) / f"{folder}-{model.digest()}-{version}.npz"


def _record(entry: LibraryEntry, music: MusicFeatures, digest: str, stat_key: str) -> ItemRecord:
    return ItemRecord(
        item_id=entry.item_id, kind=music.kind, source=music.source, digest=digest,
        stat_key=stat_key, n_seconds=music.n_seconds, mode=music.mode,
        tempo_bpm=music.tempo_bpm, beats_per_bar=music.beats_per_bar,
        emotion=[round(float(v), 4) for v in emotion_histogram(music.chord_ids)],
        change_rate=round(chord_change_rate(music.chord_ids), 4),
        minor_share=round(minor_share(music.chord_ids), 4),
        density=None if music.note_density is None else round(float(music.note_density.mean()),
                                                               3),
        loudness=None if music.loudness is None else round(float(music.loudness.mean()), 3),
        notes=list(music.notes), title=entry.title, artist=entry.artist,
        phrase_starts=[int(p) for p in music.phrase_starts])


class IndexBuilder:
    """Accumulates the compact index, chunk by chunk."""

    def __init__(self, model: RetrievalEmbedding) -> None:
        self.model = model
        self.items: list[ItemRecord] = []
        self.chords: list[np.ndarray] = []
        self.item_emb: list[np.ndarray] = []
        self.ex_item: list[np.ndarray] = []
        self.ex_start: list[np.ndarray] = []
        self.ex_end: list[np.ndarray] = []
        self.ex_emb: list[np.ndarray] = []
        self.pending: list[tuple[ItemRecord, MusicFeatures]] = []

    def reuse(self, previous: LibraryIndex, index: int, record: ItemRecord) -> None:
        self.items.append(record)
        self.chords.append(previous.chords[previous.chord_offsets[index]:
                                           previous.chord_offsets[index + 1]])
        self.item_emb.append(previous.item_embeddings[index:index + 1])
        mask = previous.excerpt_item == index
        self.ex_item.append(np.full(int(mask.sum()), len(self.items) - 1, np.int32))
        self.ex_start.append(previous.excerpt_start[mask])
        self.ex_end.append(previous.excerpt_end[mask])
        self.ex_emb.append(previous.excerpt_embeddings[mask])

    def add(self, record: ItemRecord, music: MusicFeatures) -> None:
        self.pending.append((record, music))
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        rows = [music_inputs(music) for _, music in self.pending]
        segments = [excerpt_bounds(music) for _, music in self.pending]
        clips, excerpts = encode(self.model, "music", rows, segments)
        for (record, music), clip, bounds, emb in zip(self.pending, clips, segments, excerpts,
                                                      strict=True):
            self.items.append(record)
            self.chords.append(music.chord_ids.astype(np.int16))
            self.item_emb.append(clip[None].astype(np.float16))
            self.ex_item.append(np.full(len(bounds), len(self.items) - 1, np.int32))
            self.ex_start.append(np.array([s for s, _ in bounds], np.int32))
            self.ex_end.append(np.array([e for _, e in bounds], np.int32))
            self.ex_emb.append(emb.astype(np.float16))
        self.pending = []

    def finish(self, root: Path) -> LibraryIndex:
        self.flush()
        dim = self.model.config.dim
        lengths = [len(c) for c in self.chords]

        def cat(parts, dtype, shape=(0,)):
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(shape, dtype)

        return LibraryIndex(
            root=str(root), model_digest=self.model.digest(), items=self.items,
            chords=cat(self.chords, np.int16),
            chord_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            item_embeddings=cat(self.item_emb, np.float16, (0, dim)),
            excerpt_item=cat(self.ex_item, np.int32), excerpt_start=cat(self.ex_start, np.int32),
            excerpt_end=cat(self.ex_end, np.int32),
            excerpt_embeddings=cat(self.ex_emb, np.float16, (0, dim)))


_READ_ERRORS = (MusicFileError, CorpusError, V2MError, OSError, ValueError, KeyError,
                IndexError, UnicodeDecodeError)


def build_index(root: str | os.PathLike, model: RetrievalEmbedding, *,
                cache_dir: Path | None = None, progress: ProgressCallback | None = None,
                use_cache: bool = True) -> LibraryIndex:
    """Index (or update the cached index of) the library folder ``root``.

    Raises:
        LibraryError: the folder is missing, holds no music, or nothing in it could be read.
    """
    started = time.monotonic()
    root = Path(root).expanduser()
    if not root.is_dir():
        raise LibraryError(f"library {root} is not a folder; give a folder of MIDI files, "
                           "MuVi-Sync chord folders or POP909 / McGill Billboard corpora (or "
                           f"leave out --library and ${LIBRARY_ENV_VAR} for the packaged corpora "
                           "index)")
    issues: list[IndexIssue] = []
    entries = list(scan_library(root, issues))
    if not entries:
        found = f" ({len(issues)} unsupported file(s): {issues[0].message})" if issues else ""
        raise LibraryError(f"library {root} is empty: no MIDI files (.mid/.midi), MuVi-Sync "
                           f"chord labs or POP909 / McGill Billboard folders{found}")
    path = index_path(root, model, cache_dir)
    previous = LibraryIndex.load(path) if use_cache else None
    by_stat: dict[str, int] = {}
    by_digest: dict[str, int] = {}
    if previous is not None:
        for i, item in enumerate(previous.items):
            by_stat[item.stat_key] = i
            by_digest[item.digest] = i
    failed_before = previous.failed if previous is not None else {}
    builder = IndexBuilder(model)
    failed: dict[str, str] = {}
    counts = {"reused": 0, "read": 0, "failed": 0}
    report = progress or (lambda done, total, name: None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for done, entry in enumerate(entries, start=1):
            try:
                stat_key = entry.stat_key()
                if stat_key in failed_before:
                    raise MusicFileError(failed_before[stat_key])
                reuse = by_stat.get(stat_key)
                digest = previous.items[reuse].digest if reuse is not None else None
                if reuse is None:
                    digest = entry.digest()
                    reuse = by_digest.get(digest)
                if reuse is not None and previous is not None:
                    record = ItemRecord(**{**asdict(previous.items[reuse]),
                                           "item_id": entry.item_id, "stat_key": stat_key,
                                           "title": entry.title, "artist": entry.artist})
                    builder.reuse(previous, reuse, record)
                    counts["reused"] += 1
                else:
                    music = entry.load()
                    builder.add(_record(entry, music, digest or "", stat_key), music)
                    counts["read"] += 1
            except _READ_ERRORS as err:
                message = str(err) if isinstance(err, MusicFileError) else \
                    f"{entry.files[0]}: {err}"
                issues.append(IndexIssue(str(entry.files[0]), message))
                counts["failed"] += 1
                with contextlib.suppress(OSError):
                    failed[entry.stat_key()] = message
            report(done, len(entries), entry.item_id)
        index = builder.finish(root)
    finally:
        torch.set_num_threads(threads)
    index.issues = issues
    index.failed = failed
    index.stats = {**counts, "seconds": time.monotonic() - started,
                   "excerpts": len(index.excerpt_item)}
    if not index.items:
        shown = "; ".join(i.message for i in issues[:10])
        raise LibraryError(f"nothing in library {root} could be read ({len(issues)} "
                           f"problem(s)): {shown}")
    if use_cache and (counts["read"] or failed != failed_before or previous is None
                      or [i.stat_key for i in previous.items] != [i.stat_key for i in index.items]):
        try:
            index.save(path)
        except OSError as err:
            log.warning("could not write the library index %s: %s", path, err)
    return index
