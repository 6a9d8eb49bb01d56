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

The **temp track** strings the best excerpt of each scene along the scenes: each excerpt's
per-second chords are stretched (or squeezed) over its scene, then arranged like a render (pad +
arpeggio) in one key on the grid of the chosen tempo, so chord changes land on beats and scene
starts on the cuts. ``use_excerpt`` does the same for one media range of an opened video's
composition (``/v2m/use``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from v2m_bridge.config import DEFAULT_TEMPO_BPM
from v2m_bridge.features import EMOTION_LABELS, VideoFeatures
from v2m_bridge.music.arrangement import ArrangeOptions, Composition, arrange
from v2m_bridge.output.midi_file import write_midi
from v2m_bridge.retrieval.embedding import RetrievalEmbedding, encode, label_of
from v2m_bridge.retrieval.index import LibraryError, LibraryIndex
from v2m_bridge.retrieval.inputs import video_inputs
from v2m_bridge.retrieval.music_features import chord_change_rate, emotion_histogram, minor_share
from v2m_bridge.vocab import C_MAJOR, Chord, Key, chord_from_id

_CANDIDATE_POOL = 200


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
    chords: str  # the progression in the normalised frame, repeats merged
    explanation: Explanation


@dataclass
class SceneMatch:
    start: int
    end: int
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


def progression_text(chord_ids: np.ndarray, limit: int = 12) -> str:
    names: list[str] = []
    for chord_id in chord_ids:
        name = chord_from_id(int(chord_id)).name()
        if not names or names[-1] != name:
            names.append(name)
    return " ".join(names[:limit]) + (" …" if len(names) > limit else "")


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
               picture: _PictureStats, whole_scene: bool) -> Candidate:
    record = index.items[item]
    chords = index.item_chords(item)[start:end]
    return Candidate(
        rank=rank, score=round(float(score), 4), excerpt_id=excerpt_id(record.item_id, start, end),
        item_id=record.item_id, kind=record.kind, source=record.source, start=start, end=end,
        chords=progression_text(chords),
        explanation=explain(picture, chords, record.tempo_bpm, whole_scene))


def _same_chords(index: LibraryIndex, item: int, chosen: list[Candidate]) -> bool:
    chords = index.item_chords(item)
    for candidate in chosen:
        other = index.item_chords(index.find(candidate.item_id))
        if len(other) == len(chords) and np.array_equal(other, chords):
            return True
    return False


def scene_bounds(features: VideoFeatures) -> list[tuple[int, int]]:
    return [(s.start_second, s.end_second) for s in features.scene_segments()]


def match_features(features: VideoFeatures, index: LibraryIndex, model: RetrievalEmbedding,
                   *, top: int = 5, per_scene: bool = True,
                   scenes: list[tuple[int, int]] | None = None) -> MatchResult:
    """Rank ``index`` for ``features``: whole video (pieces) and, if ``per_scene``, each scene
    (excerpts)."""
    if len(index) == 0:
        raise LibraryError("the library index is empty")
    top = max(1, int(top))
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
                                index.items[i].n_seconds, whole_picture, False))
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
        for column, (start, end) in enumerate(bounds):
            picture = _picture(features, start, end)
            pool = np.argsort(-scores[:, column], kind="stable")[:_CANDIDATE_POOL]
            seen: set[int] = set()
            progressions: set[str] = set()
            chosen: list[Candidate] = []
            for e in pool:
                item = int(index.excerpt_item[e])
                candidate = _candidate(index, len(chosen) + 1, scores[e, column], item,
                                       int(index.excerpt_start[e]), int(index.excerpt_end[e]),
                                       picture, True)
                if item in seen or candidate.chords in progressions:
                    continue  # one excerpt per piece, and five different progressions
                seen.add(item)
                progressions.add(candidate.chords)
                chosen.append(candidate)
                if len(chosen) == top:
                    break
            result.scenes.append(SceneMatch(start, end, chosen))
    return result


# ---------------------------------------------------------------------------------------------
# Temp track


def excerpt_chords(index: LibraryIndex, excerpt: str) -> tuple[np.ndarray, str]:
    """The chord ids (normalised frame) of an excerpt id and its piece's mode."""
    item_id, start, end = parse_excerpt_id(excerpt)
    item = index.find(item_id)
    chords = index.item_chords(item)
    end = len(chords) if end < 0 else end
    if not 0 <= start < end <= len(chords):
        raise LibraryError(f"excerpt {excerpt!r} is outside {item_id} (0-{len(chords)} s)")
    return chords[start:end], index.items[item].mode


def stretch_per_second(chord_ids: np.ndarray, start: int, end: int) -> list[Chord]:
    """An excerpt's per-second chords stretched (or squeezed) over the seconds ``[start, end)``."""
    length = end - start
    if length <= 0 or len(chord_ids) == 0:
        return []
    picks = np.minimum((np.arange(length) * len(chord_ids)) // length, len(chord_ids) - 1)
    return [chord_from_id(int(chord_ids[i])) for i in picks]


def chords_per_second(composition: Composition, n_seconds: int) -> list[Chord]:
    """The chord sounding at each second's middle, moved back to the C major / A minor frame."""
    spans = composition.chord_spans
    out: list[Chord] = []
    at = 0
    for second in range(n_seconds):
        instant = second + 0.5
        while at + 1 < len(spans) and spans[at].end <= instant:
            at += 1
        chord = spans[at].chord if spans and spans[at].start <= instant < spans[at].end \
            else Chord(None)
        out.append(composition.key.to_normalised(chord))
    return out


def _arranged(chords: list[Chord], features: VideoFeatures, options: ArrangeOptions,
              notes: list[str], facts: dict[str, str]) -> Composition:
    composition = arrange(chords, motion=features.motion, scene_offset=features.scene_offset,
                          emotion=features.emotion, cut_times=features.cut_times,
                          duration=features.duration, options=options, notes=notes)
    composition.provenance = dataclasses.replace(composition.provenance, facts=facts,
                                                 source=str(features.source))
    return composition


def build_temp_track(result: MatchResult, index: LibraryIndex, features: VideoFeatures, *,
                     key: Key = C_MAJOR, tempo_bpm: float = DEFAULT_TEMPO_BPM,
                     choices: dict[int, str] | None = None) -> Composition:
    """The best excerpt of each scene (or ``choices[scene] = excerpt id``) strung along the
    scenes: stretched over each scene, arranged (pad + arpeggio) on the ``tempo_bpm`` grid with
    changes on the cuts, in ``key``."""
    if not result.scenes:
        raise LibraryError("a temp track needs per-scene matches (run with per_scene)")
    n = features.n_seconds
    chords: list[Chord] = [Chord(None)] * n
    facts = {"temp track": result.label}
    for number, scene in enumerate(result.scenes):
        chosen = (choices or {}).get(number)
        if chosen is None:
            if not scene.candidates:
                continue
            chosen = scene.candidates[0].excerpt_id
        excerpt, _mode = excerpt_chords(index, chosen)
        end = min(scene.end, n)
        chords[scene.start:end] = stretch_per_second(excerpt, scene.start, end)
        facts[f"scene {number + 1} ({scene.start}-{scene.end} s)"] = chosen
    notes = [result.label, "temp track: library excerpts strung along the scenes, transposed to "
             f"{key.name} and stretched to the {tempo_bpm:g} bpm grid; not generated"]
    return _arranged(chords, features, ArrangeOptions(key=key, tempo_bpm=tempo_bpm), notes,
                     facts)


def write_temp_track(result: MatchResult, index: LibraryIndex, features: VideoFeatures,
                     path: str | os.PathLike, *, key: Key = C_MAJOR,
                     tempo_bpm: float = DEFAULT_TEMPO_BPM) -> Path:
    composition = build_temp_track(result, index, features, key=key, tempo_bpm=tempo_bpm)
    return write_midi(composition, path)


def use_excerpt(composition: Composition, features: VideoFeatures, index: LibraryIndex,
                excerpt: str, start: float, end: float, options: ArrangeOptions,
                label: str) -> Composition:
    """A new composition with the excerpt's chords stretched over media ``[start, end)`` and the
    old chords elsewhere (the caller splices it in, as ``/v2m/regenerate`` does)."""
    n = features.n_seconds
    first, last = max(0, math.floor(start)), min(n, math.ceil(end))
    if not 0 <= start < end or first >= last:
        raise LibraryError(f"range must satisfy 0 <= start < end within the video "
                           f"(0-{features.duration:g} s), got {start:g}..{end:g}")
    excerpt_ids, _mode = excerpt_chords(index, excerpt)
    chords = chords_per_second(composition, n)
    chords[first:last] = stretch_per_second(excerpt_ids, first, last)
    notes = [label, f"{first}-{last} s: chords of library excerpt {excerpt}, not generated"]
    # the excerpt's progression plays as written: a bar-long harmonic rhythm would merge its
    # chords when it is squeezed into a short range
    options = dataclasses.replace(options, harmonic_rhythm="beat")
    return _arranged(chords, features, options, notes,
                     {**composition.provenance.facts, f"excerpt {first}-{last} s": excerpt})


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
