"""Rank a library index for a video, explain the ranking, and build a temp track.

* Whole video: its clip embedding against every piece's clip embedding.
* Per scene (between cuts): the scene's segment embedding against every excerpt's; at most one
  excerpt per piece and no progression twice in a scene's list (pieces with the same chords,
  such as the corpora's duplicate songs, are listed once).

The score is the cosine similarity in the embedding (−1..1). Each candidate says why, in three
plain lines computed from the features (not from the network): **mood** (the picture's leading
emotions vs the music's share of minor-family chords and the emotion its chord qualities vote
for), **pace** (cuts per minute and motion vs chord changes per minute and tempo) and **harmonic
rhythm vs cut rate** (chord changes per cut).

Scenes run from cut to cut at the detected cut times (not rounded seconds). A scene's candidate
lists its progression as heard (:mod:`.progression`: no "no chord", repeats merged), spelt in the
chosen key, and cut to at most one chord per beat of the scene on ``tempo``, so the temp track
(:mod:`.temp_track`) can play every chord listed, on the beat grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from v2m_bridge.config import DEFAULT_TEMPO_BPM
from v2m_bridge.features import EMOTION_LABELS, VideoFeatures
from v2m_bridge.music.arrangement import ArrangeOptions
from v2m_bridge.music.grid import build_grid
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.retrieval.embedding import RetrievalEmbedding, encode, label_of
from v2m_bridge.retrieval.index import LibraryError, LibraryIndex
from v2m_bridge.retrieval.inputs import video_inputs
from v2m_bridge.retrieval.music_features import chord_change_rate, emotion_histogram, minor_share
from v2m_bridge.retrieval.progression import progression, progression_names, trimmed
from v2m_bridge.vocab import C_MAJOR, Chord, Key

_CANDIDATE_POOL = 200
_HIT_DISTANCE_S = 0.5  # a hit point this close to a detected cut is that cut on the grid


@dataclass(frozen=True)
class Explanation:
    mood: str
    pace: str
    harmonic_rhythm: str


@dataclass(frozen=True)
class Candidate:
    rank: int
    score: float
    excerpt_id: str  # "<item id>@<start>-<end>" (seconds), for /v2m/use and the temp track
    item_id: str
    kind: str
    source: str
    start: int
    end: int
    chords: str  # the progression as heard, spelt in the match's key
    explanation: Explanation
    title: str = ""
    artist: str = ""

    @property
    def name(self) -> str:
        """"Title — Artist" where the library knows them, else the piece's id."""
        if not self.title:
            return self.item_id
        return f"{self.title} — {self.artist}" if self.artist else self.title


@dataclass
class SceneMatch:
    start: float  # media seconds: the cut that opens the scene (0 for the first)
    end: float  # the next cut (the video's end for the last)
    candidates: list[Candidate]


@dataclass
class MatchResult:
    label: str
    video: str
    provenance: str
    whole: list[Candidate]
    scenes: list[SceneMatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def excerpt_id(item_id: str, start: int, end: int) -> str:
    return f"{item_id}@{start}-{end}"


def parse_excerpt_id(text: str) -> tuple[str, int, int]:
    """``"pop909-001@16-32"`` → ``("pop909-001", 16, 32)``; a bare item id means the whole."""
    item, sep, span = text.rpartition("@")
    if not sep:
        return text, 0, -1
    try:
        start, end = (int(v) for v in span.split("-", 1))
    except ValueError:
        raise LibraryError(f"bad excerpt id {text!r}; expected '<piece>@<start>-<end>'") from None
    return item, start, end


def progression_text(chord_ids: np.ndarray, key: Key = C_MAJOR, mode: str = "major",
                     limit: int | None = 12) -> str:
    """The chords as heard (no N, repeats merged), spelt in ``key``; ``limit`` chords at most."""
    names = progression_names(progression(chord_ids), key, mode)
    if limit is None or len(names) <= limit:
        return " ".join(names)
    return " ".join(names[:limit]) + " …"


# ---------------------------------------------------------------------------------------------
# Explanations


@dataclass(frozen=True)
class _PictureStats:
    emotion: np.ndarray
    cuts_per_min: float
    motion: float
    seconds: int


def _picture(features: VideoFeatures, start: int, end: int) -> _PictureStats:
    offsets = features.scene_offset[start:end]
    cuts = int(np.count_nonzero(offsets[1:] <= 1.0))
    seconds = max(end - start, 1)
    return _PictureStats(features.emotion[start:end].mean(axis=0), 60.0 * cuts / seconds,
                         float(features.motion[start:end].mean()), seconds)


def _top_emotions(emotion: np.ndarray) -> str:
    order = np.argsort(emotion)[::-1][:2]
    return ", ".join(f"{EMOTION_LABELS[i]} {emotion[i]:.2f}" for i in order)


def explain(picture: _PictureStats, chord_ids: np.ndarray, tempo_bpm: float | None,
            whole_scene: bool) -> Explanation:
    music_emotion = emotion_histogram(chord_ids)
    leaning = EMOTION_LABELS[int(np.argmax(music_emotion))]
    mood = (f"picture {_top_emotions(picture.emotion)} · music {minor_share(chord_ids):.0%} "
            f"minor-family chords, qualities lean {leaning}")
    changes_per_min = 60.0 * chord_change_rate(chord_ids)
    tempo = f", {tempo_bpm:.0f} bpm" if tempo_bpm else ""
    pace = (f"picture {picture.cuts_per_min:.1f} cuts/min, motion {picture.motion:.1f} · music "
            f"{changes_per_min:.1f} chord changes/min{tempo}")
    if whole_scene:
        changes = int(np.count_nonzero(np.diff(chord_ids))) if len(chord_ids) > 1 else 0
        rhythm = (f"one scene of {picture.seconds} s; the excerpt's {changes} chord change(s) "
                  f"stretched over it: one every {picture.seconds / (changes + 1):.1f} s"
                  if changes else f"one scene of {picture.seconds} s; the excerpt holds one "
                  "chord")
    elif picture.cuts_per_min > 0:
        rhythm = (f"{changes_per_min / picture.cuts_per_min:.1f} chord changes per cut "
                  f"({changes_per_min:.1f} vs {picture.cuts_per_min:.1f} per min)")
    else:
        rhythm = f"no cuts; the music changes chord {changes_per_min:.1f} times a minute"
    return Explanation(mood, pace, rhythm)


# ---------------------------------------------------------------------------------------------
# Ranking


def _candidate(index: LibraryIndex, rank: int, score: float, item: int, start: int, end: int,
               picture: _PictureStats, key: Key, most_chords: int | None = None) -> Candidate:
    """A piece (``most_chords`` None: listed, not played) or a scene's excerpt, cut to its
    first ``most_chords`` chords so that all of them fit the scene's beats."""
    record = index.items[item]
    chords = index.item_chords(item)[start:end]
    if most_chords is not None:
        heard = trimmed(progression(chords), most_chords)
        end = start + round(sum(seconds for _, seconds in heard))
        chords = chords[:end - start]
    return Candidate(
        rank=rank, score=round(float(score), 4), excerpt_id=excerpt_id(record.item_id, start, end),
        item_id=record.item_id, kind=record.kind, source=record.source, start=start, end=end,
        chords=progression_text(chords, key, record.mode,
                                limit=12 if most_chords is None else None),
        explanation=explain(picture, chords, record.tempo_bpm, most_chords is not None),
        title=record.title, artist=record.artist)


def _same_chords(index: LibraryIndex, item: int, chosen: list[Candidate]) -> bool:
    chords = index.item_chords(item)
    for candidate in chosen:
        other = index.item_chords(index.find(candidate.item_id))
        if len(other) == len(chords) and np.array_equal(other, chords):
            return True
    return False


def scene_bounds(features: VideoFeatures) -> list[tuple[int, int]]:
    """The scenes in whole seconds (the rows the embedding reads)."""
    return [(s.start_second, s.end_second) for s in features.scene_segments()]


def scene_times(features: VideoFeatures, bounds: list[tuple[int, int]],
                hits: Sequence[float] = ()) -> list[tuple[float, float]]:
    """Each scene of ``bounds`` from cut to cut in media seconds: a scene that starts at second
    ``s`` starts at the detected cut just before ``s`` (the feature rows start a scene at the
    first whole second after its cut), or at that cut's hit point on the music's grid (``hits``,
    the cuts as the grid snapped them: there the music changes); the last ends at the video's
    end."""
    cuts = sorted(c for c in features.cut_times if 0.0 < c < features.duration)
    starts = []
    for first, _ in bounds:
        before = [c for c in cuts if first - 1.0 < c <= first + 1e-9]
        start = before[-1] if before and first > 0 else float(first)
        near = [h for h in hits if abs(h - start) <= _HIT_DISTANCE_S] if first > 0 else []
        starts.append(min(near, key=lambda h: abs(h - start)) if near else start)
    ends = [*starts[1:], float(features.duration)]
    return list(zip(starts, ends, strict=True))


def grid_hits(features: VideoFeatures, options: ArrangeOptions) -> list[float]:
    """The cuts as the grid of ``options`` snaps them (what a render or temp track plays)."""
    chords = [Chord(None)] * max(features.n_seconds, 1)
    grid = build_grid(chords, features.duration, features.cut_times, None,
                      options.grid_options())
    return list(grid.cut_times)


def beats_in(tempo: TempoMap, start: float, end: float) -> int:
    """Whole beats of ``tempo`` in media ``[start, end)``: how many chords a scene can hold."""
    return max(1, math.floor(tempo.beat_at(end) - tempo.beat_at(start) + 1e-6))


def match_features(features: VideoFeatures, index: LibraryIndex, model: RetrievalEmbedding,
                   *, top: int = 5, per_scene: bool = True,
                   scenes: list[tuple[int, int]] | None = None, key: Key = C_MAJOR,
                   tempo: TempoMap | None = None, hits: Sequence[float] = ()) -> MatchResult:
    """Rank ``index`` for ``features``: whole video (pieces) and, if ``per_scene``, each scene
    (excerpts). Chords are spelt in ``key``; a scene's excerpts hold at most one chord per beat
    of ``tempo`` (default: the default fixed tempo); scenes start at the cuts' ``hits`` on the
    music's grid where given (:func:`grid_hits`), else at the detected cuts."""
    if len(index) == 0:
        raise LibraryError("the library index is empty")
    top = max(1, int(top))
    tempo = tempo or TempoMap.constant(DEFAULT_TEMPO_BPM)
    rows = video_inputs(features.emotion, features.scene_offset, features.motion)
    bounds = scenes if scenes is not None else scene_bounds(features)
    clip, segs = encode(model, "video", [rows], [bounds if per_scene else []],
                        [features.semantic])
    item_scores = index.item_embeddings.astype(np.float32) @ clip[0]
    whole_picture = _picture(features, 0, features.n_seconds)
    whole: list[Candidate] = []
    seen_pieces: set[str] = set()
    for i in np.argsort(-item_scores, kind="stable")[:_CANDIDATE_POOL]:
        if index.items[i].digest in seen_pieces or _same_chords(index, int(i), whole):
            continue  # the corpora hold a few duplicates: list each piece once
        seen_pieces.add(index.items[i].digest)
        whole.append(_candidate(index, len(whole) + 1, item_scores[i], int(i), 0,
                                index.items[i].n_seconds, whole_picture, key))
        if len(whole) == top:
            break
    result = MatchResult(label=label_of(model), video=features.source,
                         provenance=features.provenance, whole=whole)
    if features.provenance != "clip":
        result.notes.append("video features are the fallback reading (no CLIP weights): "
                            "emotion estimated from brightness, colour and motion")
    if per_scene and len(segs[0]):
        excerpt_emb = index.excerpt_embeddings.astype(np.float32)
        scores = excerpt_emb @ segs[0].T  # (E, S)
        times = scene_times(features, bounds, hits)
        for column, (start, end) in enumerate(bounds):
            picture = _picture(features, start, end)
            most = beats_in(tempo, *times[column])
            pool = np.argsort(-scores[:, column], kind="stable")[:_CANDIDATE_POOL]
            seen: set[int] = set()
            progressions: set[str] = set()
            chosen: list[Candidate] = []
            for e in pool:
                item = int(index.excerpt_item[e])
                candidate = _candidate(index, len(chosen) + 1, scores[e, column], item,
                                       int(index.excerpt_start[e]), int(index.excerpt_end[e]),
                                       picture, key, most)
                if item in seen or not candidate.chords or candidate.chords in progressions:
                    continue  # one excerpt per piece, and five different progressions
                seen.add(item)
                progressions.add(candidate.chords)
                chosen.append(candidate)
                if len(chosen) == top:
                    break
            result.scenes.append(SceneMatch(*times[column], chosen))
    return result


# ---------------------------------------------------------------------------------------------
# A probe of what the embedding responds to


def probe_video(emotion: str, cut_every: int, motion: float, seconds: int = 60) -> VideoFeatures:
    """A synthetic 60 s "video": one dominant emotion (0.8), a cut every ``cut_every`` s, flat
    motion."""
    index = EMOTION_LABELS.index(emotion)
    rows = np.full((seconds, 6), 0.04)
    rows[:, index] = 0.8
    rows /= rows.sum(axis=1, keepdims=True)
    offsets = np.array([t % cut_every + 1 for t in range(seconds)], dtype=np.float32)
    motion_row = np.full(seconds, motion, dtype=np.float32)
    motion_row[0] = 0.0
    return VideoFeatures(source=f"probe-{emotion}-{cut_every}s", fps=25.0,
                         duration=float(seconds), semantic=np.zeros((seconds, 768)),
                         emotion=rows, scene_offset=offsets, motion=motion_row,
                         cut_times=[float(t) for t in range(cut_every, seconds, cut_every)],
                         provenance="fallback")


def mood_pace_probe(model: RetrievalEmbedding, index: LibraryIndex, top: int = 20
                    ) -> list[dict[str, float | str]]:
    """For synthetic videos (4 moods × fast / slow cutting): the minor-family share and chord
    changes per minute of the top pieces and of the per-scene top excerpts."""
    rows: list[dict[str, float | str]] = []
    for emotion in ("exciting", "sad", "relaxing", "tense"):
        for cut_every, motion in ((2, 20.0), (15, 3.0)):
            result = match_features(probe_video(emotion, cut_every, motion), index, model,
                                    top=top, per_scene=True)
            pieces = [index.items[index.find(c.item_id)] for c in result.whole]
            excerpts = [index.item_chords(index.find(c.item_id))[c.start:c.end]
                        for scene in result.scenes for c in scene.candidates]
            rows.append({
                "video": f"{emotion}, cut every {cut_every} s, motion {motion:g}",
                "pieces_minor": float(np.mean([p.minor_share for p in pieces])),
                "pieces_changes_per_min": 60 * float(np.mean([p.change_rate for p in pieces])),
                "excerpts_minor": float(np.mean([minor_share(e) for e in excerpts])),
                "excerpts_changes_per_min": 60 * float(np.mean([chord_change_rate(e)
                                                                 for e in excerpts])),
            })
    return rows
