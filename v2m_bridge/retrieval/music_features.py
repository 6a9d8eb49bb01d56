"""Music on the per-second grid of the video features: chords, note density, loudness, tempo,
phrases.

Sources:

* **MIDI files** (``.mid``/``.midi``), read with mido. Channel 10 (drums) is ignored. Per second
  ``t`` (notes sounding in ``[t, t + 1)``):

  - *chord*: a pitch-class profile weights each note by its overlap with the second times its
    velocity, plus a bass bonus for the lowest sounding pitch class. Every chord of the
    vocabulary is scored against it (chord tones count +1, other pitch classes -0.6, each tone
    beyond a triad costs 0.12, the root in the bass earns 0.1). Then a Viterbi pass that charges
    0.15 for every chord change picks the sequence, so single passing notes do not flip the chord.
    Seconds with no pitched note are ``N``. This is template matching with temporal smoothing in
    the spirit of Fujishima (1999) and Pardo & Birmingham (2002); it is an **estimate**, best on
    block chords and weakest on sparse melodies.
  - *key*: Krumhansl-Kessler profiles correlated with the duration-weighted pitch-class histogram
    of the whole file (24 keys); chords are stored transposed to C major / A minor, like the
    corpora and MuVi-Sync's ``lab_v2_norm``.
  - *note density*: pitched note onsets per second; *loudness*: the overlap-weighted mean velocity
    / 127 of the sounding notes (0 in silence), an estimate from velocities, not audio loudness.
  - *tempo, bars, phrases*: from the file's first tempo and time signature (120 bpm, 4/4 when it
    has none, and ``tempo_from_file`` says so); a phrase starts every 4 bars.

* **MuVi-Sync folders**: ``vevo_chord/lab_v2_norm`` chords, plus ``vevo_loudness`` and
  ``vevo_note_density`` where present (no tempo).
* **Audio files** (WAV, FLAC, MP3, ... with the optional ``audio`` extra, librosa), labelled an
  estimate: chords from CQT chroma through the same templates and Viterbi pass (no bass bonus),
  onset rate as note density, RMS loudness (-60..0 dB → 0..1), tempo and phrases (every 16
  beats) from librosa's beat tracker; seconds under -50 dB are ``N``.
* **The chord corpora** (POP909, McGill Billboard) through :mod:`v2m_bridge.data.corpora`: chords,
  mode, phrase and section starts; they have no notes, so no density or loudness.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v2m_bridge.data.corpora import _MAJOR_PROFILE, _MINOR_PROFILE, SongChords
from v2m_bridge.data.dataset import QUALITY_OF_CHORD, ROOT_OF_CHORD
from v2m_bridge.data.emotion_map import QUALITY_AFFINITY_TABLE
from v2m_bridge.data.muvi_sync import (
    CHORD_DIR,
    LOUDNESS_DIR,
    NOTE_DENSITY_DIR,
    DatasetError,
    read_chord_lab,
    read_value_lab,
)
from v2m_bridge.errors import V2MError
from v2m_bridge.music.tempo_map import TempoMap, bpm_of_midi_tempo, seconds_per_midi_tick
from v2m_bridge.vocab import MINOR_FAMILY, QUALITIES, Chord, Key

DRUM_CHANNEL = 9  # MIDI channel 10 in 1-based numbering
MAX_SECONDS = 3600  # longer files are read up to one hour
MIDI_SUFFIXES = frozenset({".mid", ".midi", ".smf", ".kar"})
PHRASE_BARS = 4

# Chord estimation constants (documented in the module docstring).
_OUTSIDE_WEIGHT = 0.6
_EXTRA_TONE_COST = 0.12
_BASS_ROOT_BONUS = 0.1
_BASS_WEIGHT = 0.5
_CHANGE_COST = 0.15

_MINOR_QUALITY_IDS = np.array([QUALITIES.index(q) + 1 for q in MINOR_FAMILY])


class MusicFileError(V2MError, ValueError):
    """A music file that cannot be indexed (corrupt, no notes, drums only, unsupported)."""


@dataclass
class MusicFeatures:
    """One piece of music, one row per second, chords in the C major / A minor frame."""

    item_id: str
    source: str
    kind: str  # "midi", "muvi-sync", "pop909", "billboard"
    chord_ids: np.ndarray  # (T,) int64 official chord ids in the normalised frame
    mode: str  # "major" or "minor"
    tonic: int = 0  # the piece's own tonic pitch class (0 when only the normalised frame is known)
    note_density: np.ndarray | None = None  # (T,) onsets per second
    loudness: np.ndarray | None = None  # (T,) 0..1
    tempo_bpm: float | None = None
    beats_per_bar: int = 4
    phrase_starts: tuple[int, ...] = ()
    section_starts: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)  # what was estimated, for the user

    def __post_init__(self) -> None:
        self.chord_ids = np.asarray(self.chord_ids, dtype=np.int64)
        if self.chord_ids.ndim != 1 or len(self.chord_ids) == 0:
            raise MusicFileError(f"{self.source}: no seconds of music")
        if self.mode not in ("major", "minor"):
            raise MusicFileError(f"{self.source}: mode must be major or minor, not {self.mode!r}")
        for name in ("note_density", "loudness"):
            value = getattr(self, name)
            if value is not None:
                value = _fit(np.asarray(value, dtype=np.float32), len(self.chord_ids))
                setattr(self, name, value)

    @property
    def n_seconds(self) -> int:
        return len(self.chord_ids)

    @property
    def has_dynamics(self) -> bool:
        return self.note_density is not None and self.loudness is not None

    @property
    def bar_seconds(self) -> float | None:
        if not self.tempo_bpm:
            return None
        return TempoMap.constant(self.tempo_bpm, self.beats_per_bar).seconds_per_bar_at()

    def chords(self) -> list[Chord]:
        from_id = _CHORDS_BY_ID
        return [from_id[int(i)] for i in self.chord_ids]


def _fit(values: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros(length, dtype=np.float32)
    n = min(length, len(values))
    out[:n] = values[:n]
    return out


_CHORDS_BY_ID: list[Chord] = [Chord(None)] + [Chord(root, quality) for root in range(12)
                                              for quality in QUALITIES]


# ---------------------------------------------------------------------------------------------
# Summaries used by the explanations and the hand-written baseline


def emotion_histogram(chord_ids: np.ndarray) -> np.ndarray:
    """``(6,)`` the official quality↔emotion votes of the chords, averaged (N counts neutral)."""
    qualities = QUALITY_OF_CHORD[np.asarray(chord_ids, dtype=np.int64)]
    if len(qualities) == 0:
        return np.full(6, 1 / 6)
    return QUALITY_AFFINITY_TABLE[qualities].mean(axis=0)


def chord_change_rate(chord_ids: np.ndarray) -> float:
    """Chord changes per second (N ↔ chord counts as a change)."""
    chord_ids = np.asarray(chord_ids)
    if len(chord_ids) < 2:
        return 0.0
    return float(np.count_nonzero(chord_ids[1:] != chord_ids[:-1]) / (len(chord_ids) - 1))


def minor_share(chord_ids: np.ndarray) -> float:
    """Share of the sounding seconds with a minor-third chord (N excluded)."""
    qualities = QUALITY_OF_CHORD[np.asarray(chord_ids, dtype=np.int64)]
    sounding = qualities[qualities > 0]
    if len(sounding) == 0:
        return 0.0
    return float(np.isin(sounding, _MINOR_QUALITY_IDS).mean())


def chord_root_degrees(chord_ids: np.ndarray) -> np.ndarray:
    """Root pitch class + 1 (0 for N) of each chord id in the normalised frame."""
    return ROOT_OF_CHORD[np.asarray(chord_ids, dtype=np.int64)]


# ---------------------------------------------------------------------------------------------
# Corpora and MuVi-Sync


def from_song_chords(song: SongChords, source: str = "") -> MusicFeatures:
    """A corpus song (already in the normalised frame)."""
    kind = song.song_id.split("-", 1)[0]
    return MusicFeatures(
        item_id=song.song_id, source=source or song.song_id, kind=kind,
        chord_ids=np.array([c.id for c in song.chords], dtype=np.int64), mode=song.mode,
        phrase_starts=tuple(song.phrase_starts), section_starts=tuple(song.section_starts),
        notes=["chords: human/automatic corpus annotation; no notes, so no density or loudness"],
    )


def from_muvi_sync(root: Path, song_id: str) -> MusicFeatures:
    """One song of a MuVi-Sync folder: its chord lab, and loudness / note density if present."""
    try:
        chord_ids, minor = read_chord_lab(root / CHORD_DIR / f"{song_id}.lab")
        density = loudness = None
        density_path = root / NOTE_DENSITY_DIR / f"{song_id}.lab"
        loudness_path = root / LOUDNESS_DIR / f"{song_id}.lab"
        if density_path.is_file() and loudness_path.is_file():
            density = read_value_lab(density_path)[:, 0]
            loudness = read_value_lab(loudness_path)[:, 0]
    except DatasetError as err:
        raise MusicFileError(str(err)) from None
    chord_ids = np.where(chord_ids >= 157, 0, chord_ids)  # END/PAD never belong in a lab
    return MusicFeatures(
        item_id=f"muvi-{song_id}", source=str(root / CHORD_DIR / f"{song_id}.lab"),
        kind="muvi-sync", chord_ids=chord_ids, mode="minor" if minor else "major",
        note_density=density, loudness=loudness,
    )


# ---------------------------------------------------------------------------------------------
# MIDI


@dataclass(frozen=True)
class _Note:
    start: float
    end: float
    pitch: int
    velocity: int


def file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_midi_notes(path: Path) -> tuple[list[_Note], float | None, int, int]:
    """Pitched notes in seconds, the first tempo (or None), beats per bar, and drum notes seen.

    Raises:
        MusicFileError: the file is not a readable standard MIDI file.
    """
    import mido

    try:
        midi = mido.MidiFile(str(path))
        ticks_per_beat = midi.ticks_per_beat
        timeline: list[tuple[int, int, object]] = []  # (absolute tick, track, message)
        for number, track in enumerate(midi.tracks):
            tick = 0
            for message in track:  # no merge_tracks: it copies every message
                tick += message.time
                timeline.append((tick, number, message))
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as err:
        raise MusicFileError(f"{path}: corrupt or not a standard MIDI file ({err})") from None
    if not ticks_per_beat or ticks_per_beat <= 0:
        raise MusicFileError(f"{path}: corrupt MIDI header (ticks per beat "
                             f"{ticks_per_beat!r}; SMPTE timing is not supported)")
    timeline.sort(key=lambda item: (item[0], item[1]))
    first_tempo: float | None = None
    beats_per_bar = 4
    seconds = 0.0
    last_tick = 0
    tick_seconds = 0.5 / ticks_per_beat  # 120 bpm until a tempo says otherwise
    sounding: dict[tuple[int, int], list[tuple[float, int]]] = {}
    notes: list[_Note] = []
    drums = 0
    for tick, _track, message in timeline:
        seconds += (tick - last_tick) * tick_seconds
        last_tick = tick
        if seconds > MAX_SECONDS:
            break
        kind = message.type
        if kind == "set_tempo":
            tick_seconds = seconds_per_midi_tick(message.tempo, ticks_per_beat)
            if first_tempo is None:
                first_tempo = bpm_of_midi_tempo(message.tempo)
        elif kind == "time_signature" and not notes:
            beats_per_bar = max(1, message.numerator * 4 // max(message.denominator, 1))
        elif kind in ("note_on", "note_off"):
            if message.channel == DRUM_CHANNEL:
                drums += kind == "note_on" and message.velocity > 0
                continue
            key = (message.channel, message.note)
            if kind == "note_on" and message.velocity > 0:
                sounding.setdefault(key, []).append((seconds, message.velocity))
            elif sounding.get(key):
                start, velocity = sounding[key].pop(0)
                if seconds > start:
                    notes.append(_Note(start, seconds, message.note, velocity))
    for (_channel, pitch), started in sounding.items():  # notes never released: to the end
        for start, velocity in started:
            end = max(seconds, start + 0.5)
            notes.append(_Note(start, end, pitch, velocity))
    return notes, first_tempo, beats_per_bar, drums


def _key_profiles() -> tuple[np.ndarray, list[Key]]:
    rows, keys = [], []
    for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
        for tonic in range(12):
            rotated = np.roll(profile, tonic)
            rows.append((rotated - rotated.mean()) / rotated.std())
            keys.append(Key(tonic, mode))
    return np.stack(rows), keys


_KEY_ROWS, _KEYS = _key_profiles()


def estimate_key(histogram: np.ndarray) -> Key:
    """The Krumhansl-Kessler key (of 24) that best correlates with a pitch-class histogram."""
    histogram = np.asarray(histogram, dtype=float)
    if not np.any(histogram) or histogram.std() == 0:
        return Key(0, "major")
    z = (histogram - histogram.mean()) / histogram.std()
    return _KEYS[int(np.argmax(_KEY_ROWS @ z))]


def _templates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Membership (156, 12), extra-tone cost (156,) and root pitch class (156,) of every chord."""
    members = np.zeros((156, 12))
    extra = np.zeros(156)
    roots = np.zeros(156, dtype=np.int64)
    for index, chord in enumerate(_CHORDS_BY_ID[1:]):
        for pitch_class in chord.pitch_classes():
            members[index, pitch_class] = 1.0
        extra[index] = _EXTRA_TONE_COST * (len(chord.pitch_classes()) - 3)
        roots[index] = chord.root
    return members, extra, roots


_MEMBERS, _EXTRA_COST, _ROOTS = _templates()


def estimate_chords(profiles: np.ndarray, bass: np.ndarray) -> np.ndarray:
    """Chord ids (original key) per second from ``(T, 12)`` profiles and ``(T,)`` bass pitch
    classes (-1 where silent), by template scores and a Viterbi pass with a change cost."""
    n = len(profiles)
    totals = profiles.sum(axis=1, keepdims=True)
    silent = totals[:, 0] <= 0
    normalised = np.divide(profiles, totals, out=np.zeros_like(profiles), where=totals > 0)
    inside = normalised @ _MEMBERS.T  # (T, 156)
    scores = inside - _OUTSIDE_WEIGHT * (1.0 - inside) - _EXTRA_COST
    scores += _BASS_ROOT_BONUS * (bass[:, None] == _ROOTS[None, :])
    # state 0 = N (only where silent), 1..156 = chords
    emission = np.full((n, 157), -1e9)
    emission[silent, 0] = 0.0
    emission[~silent, 1:] = scores[~silent]
    best = emission[0].copy()
    back = np.zeros((n, 157), dtype=np.int64)
    for t in range(1, n):
        leader = int(best.argmax())
        switch = best[leader] - _CHANGE_COST
        stay = best >= switch
        back[t] = np.where(stay, np.arange(157), leader)
        best = np.where(stay, best, switch) + emission[t]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(best.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path  # state s is chord id s (ids 1..156 follow the same root-major order)


def from_midi(path: Path, item_id: str | None = None) -> MusicFeatures:
    """Read a MIDI file onto the per-second grid (see the module docstring for the method).

    Raises:
        MusicFileError: corrupt file, no notes, or drum notes only.
    """
    notes, tempo, beats_per_bar, drums = read_midi_notes(path)
    if not notes:
        if drums:
            raise MusicFileError(f"{path}: drum-only file (all {drums} notes on channel 10); "
                                 "there are no pitched notes to read chords from")
        raise MusicFileError(f"{path}: the MIDI file has no notes")
    length = max(note.end for note in notes)
    n = max(1, min(MAX_SECONDS, math.ceil(length - 1e-6)))
    profiles = np.zeros((n, 12))
    density = np.zeros(n, dtype=np.float32)
    loud_sum = np.zeros(n)
    loud_weight = np.zeros(n)
    lowest = np.full(n, 128)
    for note in notes:
        first = int(note.start)
        if first < n:
            density[first] += 1
        for second in range(first, min(n, math.ceil(note.end))):
            overlap = min(note.end, second + 1) - max(note.start, second)
            if overlap <= 0:
                continue
            profiles[second, note.pitch % 12] += overlap * note.velocity / 127
            loud_sum[second] += overlap * note.velocity / 127
            loud_weight[second] += overlap
            lowest[second] = min(lowest[second], note.pitch)
    bass = np.where(lowest < 128, lowest % 12, -1)
    for second in np.flatnonzero(bass >= 0):
        profiles[second, bass[second]] += _BASS_WEIGHT * profiles[second].sum() / 4
    key = estimate_key(profiles.sum(axis=0))
    raw = estimate_chords(profiles, bass)
    normalised = np.array([key.to_normalised(_CHORDS_BY_ID[int(i)]).id for i in raw])
    loudness = np.divide(loud_sum, loud_weight, out=np.zeros(n), where=loud_weight > 0)
    tempo_notes = []
    if tempo is None:
        tempo_notes.append("no tempo in the file: 120 bpm and 4/4 assumed for bars and phrases")
    bpm = tempo or 120.0
    bar = TempoMap.constant(bpm, beats_per_bar).seconds_per_bar_at()
    phrase_starts = tuple(sorted({round(k * PHRASE_BARS * bar)
                                  for k in range(int(n / (PHRASE_BARS * bar)) + 1)
                                  if round(k * PHRASE_BARS * bar) < n}))
    return MusicFeatures(
        item_id=item_id or path.stem, source=str(path), kind="midi", chord_ids=normalised,
        mode=key.mode, tonic=key.tonic, note_density=density, loudness=loudness.astype(np.float32),
        tempo_bpm=bpm, beats_per_bar=beats_per_bar, phrase_starts=phrase_starts,
        notes=["chords and key estimated from the notes (templates + Viterbi)",
               "loudness estimated from note velocities", *tempo_notes],
    )


# ---------------------------------------------------------------------------------------------
# Audio (optional: pip install "v2m-bridge[audio]")

AUDIO_NOTE = ("audio: every feature is an estimate (librosa): chords from CQT chroma by the same "
              "templates + Viterbi as MIDI, key by Krumhansl-Kessler, note density = onset rate, "
              "loudness from RMS, tempo by beat tracking")
_AUDIO_RATE = 22050
_AUDIO_HOP = 512
_SILENCE_DB = -50.0


def audio_available() -> bool:
    return importlib.util.find_spec("librosa") is not None


def from_audio(path: Path, item_id: str | None = None) -> MusicFeatures:
    """Read an audio file (WAV, FLAC, MP3, ...) onto the per-second grid, as an estimate.

    Raises:
        MusicFileError: librosa missing, the file does not decode, or it is silent.
    """
    if not audio_available():
        raise MusicFileError(f"{path}: audio needs librosa: pip install 'v2m-bridge[audio]'")
    import librosa

    try:
        with warnings.catch_warnings():  # librosa warns on every fallback decoder it tries
            warnings.simplefilter("ignore")
            samples, rate = librosa.load(str(path), sr=_AUDIO_RATE, mono=True,
                                         duration=MAX_SECONDS)
    except Exception as err:  # soundfile/audioread raise many types for a bad file
        raise MusicFileError(f"{path}: cannot decode the audio file ({err})") from None
    n = math.ceil(len(samples) / rate - 1e-6)
    if n < 1:
        raise MusicFileError(f"{path}: the audio file is empty")
    rms = librosa.feature.rms(y=samples, hop_length=_AUDIO_HOP)[0]
    if rms.size == 0 or 20 * np.log10(float(rms.max()) + 1e-12) < _SILENCE_DB:
        raise MusicFileError(f"{path}: the audio is silent")
    chroma = librosa.feature.chroma_cqt(y=samples, sr=rate, hop_length=_AUDIO_HOP)
    frame_second = (np.arange(chroma.shape[1]) * _AUDIO_HOP / rate).astype(int)
    profiles = np.zeros((n, 12))
    level = np.full(n, -120.0)
    for second in range(n):
        frames = frame_second == second
        if frames.any():
            profiles[second] = chroma[:, frames].mean(axis=1)
            level[second] = 20 * np.log10(float(rms[frames[:len(rms)]].mean()) + 1e-12)
    profiles[level < _SILENCE_DB] = 0.0  # silence: no chord
    key = estimate_key(profiles.sum(axis=0))
    raw = estimate_chords(profiles, np.full(n, -1))
    normalised = np.array([key.to_normalised(_CHORDS_BY_ID[int(i)]).id for i in raw])
    onsets = librosa.onset.onset_detect(y=samples, sr=rate, hop_length=_AUDIO_HOP, units="time")
    density = np.bincount(np.minimum(onsets.astype(int), n - 1), minlength=n).astype(np.float32)
    loudness = np.clip((level + 60.0) / 60.0, 0.0, 1.0).astype(np.float32)
    tempo, beats = librosa.beat.beat_track(y=samples, sr=rate, hop_length=_AUDIO_HOP,
                                           units="time")
    bpm = float(np.atleast_1d(tempo)[0]) if np.size(tempo) else 0.0
    phrases = tuple(sorted({round(float(t)) for t in beats[::4 * PHRASE_BARS] if t < n}))
    return MusicFeatures(
        item_id=item_id or path.stem, source=str(path), kind="audio", chord_ids=normalised,
        mode=key.mode, tonic=key.tonic, note_density=density, loudness=loudness,
        tempo_bpm=bpm if bpm > 0 else None, phrase_starts=phrases, notes=[AUDIO_NOTE])
