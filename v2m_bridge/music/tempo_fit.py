"""Find a tempo (or a gentle tempo map) that puts the picture's cuts on beats.

Like Digital Performer's "Find Tempo", every cut is scored against a beat grid: a **hit** lies
within ±1 video frame of a beat, a **near miss** within ±2 frames, anything else is a **miss**.
Strong cuts weigh more, and a hit on a downbeat earns a bonus.

* :func:`fit_single_tempo` searches the tempo range and the start offset for one tempo.
  Candidates come from pairs of nearby cuts (the tempos that put both exactly on beats) and are
  scored all at once with numpy; the best few distinct tempos are returned, each realised as a
  :class:`~v2m_bridge.music.tempo_map.TempoMap`: MIDI beats start at 0 s, so an offset becomes a
  lead-in of a few whole beats at a tempo within 10 % of the main one, and a pickup bar (a short
  first bar) puts the bar lines where the fit wants its downbeats.
* :func:`fit_tempo_map` lets the tempo change gently between cuts: a dynamic programme over
  "anchor" cuts (cuts placed exactly on a beat), where each stretch between anchors holds a whole
  number of beats at one tempo inside the range, and adjacent tempos differ by at most 10 %. The
  state is (anchor, tempo bin, beat in bar), so downbeats are known; cuts between anchors are
  scored against the stretch's beats.

Every result is re-scored by :func:`evaluate` on the realised map, so the numbers reported are
the numbers the MIDI file will have.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from v2m_bridge.config import (
    DEFAULT_TEMPO_BPM,
    DEFAULT_TEMPO_RANGE,
    MAX_TEMPO_BPM,
    MIN_TEMPO_BPM,
)
from v2m_bridge.errors import V2MError
from v2m_bridge.music.tempo_map import GENTLE_RATIO, TempoMap, TempoSegment

HIT_FRAMES = 1.0
NEAR_FRAMES = 2.0
NEAR_CREDIT = 0.4  # a near miss counts this much of a hit in the score
DOWNBEAT_BONUS = 0.25  # extra credit (times the cut's weight) for a hit on a downbeat
_EPS = 1e-6
MIN_CUTS_TO_FIT = 2  # one cut says nothing about a tempo (any tempo puts it on a beat)


class TempoFitError(V2MError, ValueError):
    """A tempo range or fit request that makes no sense."""


@dataclass(frozen=True)
class TempoRange:
    """Tempos the fit may use, in bpm (both ends included)."""

    low: float = DEFAULT_TEMPO_RANGE[0]
    high: float = DEFAULT_TEMPO_RANGE[1]

    def __post_init__(self) -> None:
        for value in (self.low, self.high):
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise TempoFitError(f"--tempo-range needs two numbers, got {value!r}")
        if self.low >= self.high:
            raise TempoFitError(f"--tempo-range {self.low:g}:{self.high:g} is "
                                f"{'empty' if self.low == self.high else 'reversed'}: give "
                                "LOW:HIGH with LOW < HIGH, e.g. 70:140")
        if self.low < MIN_TEMPO_BPM or self.high > MAX_TEMPO_BPM:
            raise TempoFitError(f"--tempo-range must lie within {MIN_TEMPO_BPM:g}.."
                                f"{MAX_TEMPO_BPM:g} bpm, got {self.low:g}:{self.high:g}")
        if self.high / self.low < GENTLE_RATIO - 1e-3:
            raise TempoFitError(f"--tempo-range {self.low:g}:{self.high:g} is too narrow to "
                                "search; make HIGH at least 10 % above LOW")

    @classmethod
    def parse(cls, text: str) -> TempoRange:
        """``"70:140"`` (or ``"70-140"``) → ``TempoRange(70, 140)``."""
        for separator in (":", "-", ","):
            if separator in text.strip().lstrip("-"):
                left, _, right = text.strip().partition(separator)
                try:
                    low, high = float(left), float(right)
                except ValueError:
                    break
                return cls(low, high)
        raise TempoFitError(f"--tempo-range must look like LOW:HIGH (e.g. 70:140), got {text!r}")

    def clamp(self, bpm: float) -> float:
        return min(max(bpm, self.low), self.high)

    def inner(self) -> TempoRange:
        """A hair inside, so tempos rounded to whole microseconds per beat stay in range."""
        return TempoRange(self.low * (1 + 1e-5), self.high * (1 - 1e-5))


@dataclass(frozen=True)
class CutScore:
    """One cut against a beat grid."""

    index: int  # 1-based cut number, as in the markers ("cut 12")
    time: float  # media seconds
    strength: float  # 0..1 weight
    beat: float  # beat position of the cut (beats since 0)
    nearest_beat: int  # the beat it is scored against
    frames_off: float  # signed: > 0 when the cut comes after the beat
    kind: str  # "hit", "near" or "miss"
    downbeat: bool  # the nearest beat is a bar line

    @property
    def is_hit(self) -> bool:
        return self.kind == "hit"


@dataclass(frozen=True)
class TempoCandidate:
    """A tempo map with its score against the cuts."""

    tempo_map: TempoMap
    cuts: tuple[CutScore, ...]
    score: float

    @property
    def bpm(self) -> float:
        return self.tempo_map.main_bpm()

    @property
    def hits(self) -> int:
        return sum(cut.kind == "hit" for cut in self.cuts)

    @property
    def near_misses(self) -> int:
        return sum(cut.kind == "near" for cut in self.cuts)

    @property
    def misses(self) -> int:
        return sum(cut.kind == "miss" for cut in self.cuts)

    @property
    def hit_share(self) -> float:
        return self.hits / len(self.cuts) if self.cuts else 1.0

    @property
    def mean_abs_frames_off(self) -> float:
        return float(np.mean([abs(c.frames_off) for c in self.cuts])) if self.cuts else 0.0

    def summary(self) -> str:
        return (f"{self.tempo_map.describe()}: {self.hits} hits, {self.near_misses} near, "
                f"{self.misses} misses, mean {self.mean_abs_frames_off:.1f} frames off, "
                f"score {self.score:.2f}")


@dataclass(frozen=True)
class TempoFit:
    """What the tempo search chose, the runners-up, and why."""

    mode: str  # "fixed", "auto" (one fitted tempo) or "map" (a gentle tempo map)
    chosen: TempoCandidate
    candidates: tuple[TempoCandidate, ...]  # best first; the chosen one included
    fps: float
    tempo_range: TempoRange | None = None
    reason: str | None = None  # why the fit fell back (no cuts...), for the user

    @property
    def tempo_map(self) -> TempoMap:
        return self.chosen.tempo_map


# scoring -------------------------------------------------------------------------------------
def _classify(frames: float) -> str:
    frames = abs(frames)
    if frames <= HIT_FRAMES + _EPS:
        return "hit"
    return "near" if frames <= NEAR_FRAMES + _EPS else "miss"


def evaluate(tempo_map: TempoMap, cut_times: Sequence[float], strengths: Sequence[float],
             fps: float) -> TempoCandidate:
    """Score every cut against the beats of ``tempo_map`` (frames off at ``fps``). The map is
    first rounded to MIDI-exact tempos: the candidate holds the map the MIDI file will have."""
    tempo_map = tempo_map.midi_exact()
    cuts = np.asarray(cut_times, dtype=np.float64)
    weights = _weights(strengths, len(cuts))
    positions = tempo_map.beats_at(cuts) if len(cuts) else np.zeros(0)
    scored: list[CutScore] = []
    total = 0.0
    for number, (time_s, beat, weight) in enumerate(zip(cuts, positions, weights,
                                                        strict=True), start=1):
        nearest = round(float(beat))
        frames = (float(time_s) - tempo_map.time_at(nearest)) * fps
        kind = _classify(frames)
        downbeat = tempo_map.is_downbeat(nearest)
        total += weight * {"hit": 1.0, "near": NEAR_CREDIT, "miss": 0.0}[kind]
        if kind == "hit" and downbeat:
            total += weight * DOWNBEAT_BONUS
        scored.append(CutScore(number, float(time_s), float(weight), float(beat), nearest,
                               round(frames, 3), kind, downbeat))
    return TempoCandidate(tempo_map, tuple(scored), round(total, 6))


def _weights(strengths: Sequence[float], count: int) -> np.ndarray:
    weights = np.asarray(list(strengths) if len(strengths) else [1.0] * count, dtype=np.float64)
    if weights.shape != (count,):
        raise TempoFitError(f"need one strength per cut, got {weights.shape[0]} for {count}")
    return np.clip(np.nan_to_num(weights, nan=1.0), 0.05, 1.0)


def _check_cuts(cut_times: Sequence[float], fps: float) -> np.ndarray:
    cuts = np.asarray(sorted(float(t) for t in cut_times), dtype=np.float64)
    if not np.all(np.isfinite(cuts)) or np.any(cuts <= 0):
        raise TempoFitError("cut times must be positive seconds")
    if not (math.isfinite(fps) and fps > 0):
        raise TempoFitError(f"frame rate must be positive, got {fps!r}")
    return cuts


# one tempo -----------------------------------------------------------------------------------
def _pair_candidates(cuts: np.ndarray, tempo_range: TempoRange, neighbours: int,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(tempos, phases): every tempo that puts a cut and one of its next ``neighbours`` cuts
    exactly on beats, with that cut as the phase reference."""
    tempos: list[np.ndarray] = []
    phases: list[np.ndarray] = []
    for a in range(len(cuts)):
        for b in range(a + 1, min(a + 1 + neighbours, len(cuts))):
            gap = cuts[b] - cuts[a]
            n = np.arange(math.ceil(tempo_range.low * gap / 60 - _EPS),
                          math.floor(tempo_range.high * gap / 60 + _EPS) + 1)
            if n.size == 0:
                continue
            tempos.append(60.0 * n / gap)
            phases.append(np.full(n.size, cuts[a]))
    if not tempos:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(tempos), np.concatenate(phases)


def _grid_scores(cuts: np.ndarray, weights: np.ndarray, tempos: np.ndarray,
                 anchors: np.ndarray, fps: float, beats_per_bar: int,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Score of each (tempo, anchor) infinite grid, and its best downbeat phase (0..bpb-1):
    beat k (counted from the anchor) is a downbeat when ``k % bpb == phase``."""
    scores = np.empty(len(tempos))
    phases = np.zeros(len(tempos), dtype=np.int64)
    chunk = max(1, 400_000 // max(len(cuts), 1))
    for start in range(0, len(tempos), chunk):
        beat = 60.0 / tempos[start:start + chunk, None]
        x = (cuts[None, :] - anchors[start:start + chunk, None]) / beat
        k = np.rint(x)
        frames = np.abs(x - k) * beat * fps
        hit = frames <= HIT_FRAMES + _EPS
        near = ~hit & (frames <= NEAR_FRAMES + _EPS)
        base = (weights * (hit + NEAR_CREDIT * near)).sum(axis=1)
        kmod = np.mod(k, beats_per_bar)
        bonus = np.stack([(weights * (hit & (kmod == p))).sum(axis=1)
                          for p in range(beats_per_bar)], axis=1)
        phases[start:start + chunk] = bonus.argmax(axis=1)
        scores[start:start + chunk] = base + DOWNBEAT_BONUS * bonus.max(axis=1)
    return scores, phases


def realise_single_tempo(bpm: float, anchor: float, downbeat_phase: int, beats_per_bar: int,
                         tempo_range: TempoRange, cuts: Sequence[float] = (),
                         fps: float = 25.0) -> TempoMap:
    """A tempo map with beats at ``anchor + k * beat`` and bar lines where
    ``k % beats_per_bar == downbeat_phase``, starting at 0 s on beat 0.

    When the grid does not start at 0, a lead-in of ``m`` whole beats covers 0 .. the first
    grid beat ``d0`` used, at a tempo within 10 % of ``bpm`` (and inside the range); a pickup bar
    (a short first bar) puts the bar lines right. Among the lead-ins up to four bars long, the
    one that loses the fewest hits among ``cuts`` before ``d0`` wins, then the shortest."""
    beat = 60.0 / bpm
    first = anchor % beat  # the first grid beat at or after 0 s
    if beat - first < 1e-4:
        first = 0.0
    k_first = round((anchor - first) / beat)  # its index counted from the anchor
    early = np.asarray([c for c in cuts if c < first + 4 * beats_per_bar * beat], dtype=float)

    def lost_hits(d0: float, m: int) -> int:
        inside = early[early < d0 - 0.5 / fps]
        if inside.size == 0:
            return 0
        on_grid = np.abs((inside - anchor) / beat - np.rint((inside - anchor) / beat)) \
            * beat * fps <= HIT_FRAMES + _EPS
        lead_beat = d0 / m
        on_lead = np.abs(inside / lead_beat - np.rint(inside / lead_beat)) \
            * lead_beat * fps <= HIT_FRAMES + _EPS
        return int(np.sum(on_grid & ~on_lead))

    best: tuple[int, int, int] | None = None  # (lost hits, j, m)
    for j in range(0, 4 * beats_per_bar):
        d0 = first + j * beat
        if d0 < 1e-4:  # the grid starts at 0: no lead-in
            best = (0, j, 0) if best is None or (0, j, 0) < best else best
            continue
        for m in range(max(1, math.floor(d0 / beat) - 1), math.ceil(d0 / beat) + 2):
            lead_bpm = 60.0 * m / d0
            ratio = max(lead_bpm, bpm) / min(lead_bpm, bpm)
            # a margin, so rounding to MIDI tempos keeps it within 10 %
            if ratio > GENTLE_RATIO - 1e-4 or not (tempo_range.low - 1e-9 <= lead_bpm
                                                    <= tempo_range.high + 1e-9):
                continue
            option = (lost_hits(d0, m), j, m)
            best = option if best is None or option < best else best
    if best is None:  # cannot happen for ranges at least 10 % wide; a plain tempo then
        return TempoMap.constant(bpm, beats_per_bar)
    _lost, j, m = best
    d0 = first + j * beat
    # grid beat k (from the anchor) is music beat m + (k - k_first - j); bar lines fall where
    # k % bpb == downbeat_phase, i.e. on music beats congruent to the pickup below
    pickup = (m - k_first - j + downbeat_phase) % beats_per_bar
    if m == 0 or d0 < 1e-4 or abs(60.0 * m / d0 - bpm) < 1e-9:
        return TempoMap((TempoSegment(0.0, 0.0, bpm),), beats_per_bar, pickup)
    return TempoMap((TempoSegment(0.0, 0.0, 60.0 * m / d0), TempoSegment(d0, float(m), bpm)),
                    beats_per_bar, pickup)


def fit_single_tempo(cut_times: Sequence[float], strengths: Sequence[float], fps: float,
                     tempo_range: TempoRange | None = None, beats_per_bar: int = 4,
                     n_candidates: int = 5, neighbours: int = 3) -> list[TempoCandidate]:
    """The best few single tempos (distinct by more than 1 %), best first, each realised as a
    map (with a pickup when the grid does not start at 0) and scored by :func:`evaluate`."""
    tempo_range = (tempo_range or TempoRange()).inner()
    cuts = _check_cuts(cut_times, fps)
    weights = _weights(strengths, len(cuts))
    preferred = tempo_range.clamp(DEFAULT_TEMPO_BPM)
    if len(cuts) == 0:
        return [evaluate(TempoMap.constant(preferred, beats_per_bar), [], [], fps)]
    tempos, anchors = _pair_candidates(cuts, tempo_range, neighbours)
    if len(cuts) <= 8 or len(tempos) == 0:  # few cuts: also a tempo grid through each cut
        grid = np.arange(tempo_range.low, tempo_range.high + 1e-9, 0.5)
        tempos = np.concatenate([tempos, np.repeat(grid, len(cuts))])
        anchors = np.concatenate([anchors, np.tile(cuts, len(grid))])
    scores, phases = _grid_scores(cuts, weights, tempos, anchors, fps, beats_per_bar)
    # prefer tempos near the default among equals (a tiny tie-break)
    ranked = np.lexsort((np.abs(np.log(tempos / preferred)), -np.round(scores, 6)))
    chosen: list[TempoCandidate] = []
    tried = 0
    for index in ranked:
        bpm = float(tempos[index])
        if any(abs(bpm / c.bpm - 1) < 0.01 for c in chosen):
            continue
        tried += 1
        tempo_map = realise_single_tempo(bpm, float(anchors[index]), int(phases[index]),
                                         beats_per_bar, tempo_range, cuts, fps)
        chosen.append(evaluate(tempo_map, cuts, weights, fps))
        if len(chosen) >= n_candidates or tried >= 4 * n_candidates:
            break
    chosen.sort(key=lambda c: (-c.score, abs(math.log(c.bpm / preferred))))
    return chosen


# a gentle tempo map ---------------------------------------------------------------------------
_BIN_RATIO = 1.005  # tempo bins are 0.5 % apart
_V_STEP = 4  # the second tempo of a stretch is tried on every _V_STEP-th bin
_CHANGE_PENALTY = 0.08  # per 10 % of tempo change, so steady maps win among equals


def fit_tempo_map(cut_times: Sequence[float], strengths: Sequence[float], fps: float,
                  tempo_range: TempoRange | None = None, beats_per_bar: int = 4,
                  ) -> TempoCandidate:
    """A gentle tempo map (adjacent tempos within 10 %, all inside the range) that puts as many
    cuts as it can on beats, strong ones on downbeats. See the module notes for the method.

    A stretch between anchors may pass over up to 3 cuts; one between adjacent anchors may also
    change tempo once inside."""
    tempo_range = tempo_range or TempoRange()
    cuts = _check_cuts(cut_times, fps)
    weights = _weights(strengths, len(cuts))
    if len(cuts) == 0:
        return fit_single_tempo(cuts, weights, fps, tempo_range, beats_per_bar, 1)[0]
    return _fit_map(cuts, weights, fps, tempo_range.inner(), beats_per_bar, 3, 1)


def _fit_map(cuts: np.ndarray, weights: np.ndarray, fps: float, tempo_range: TempoRange,
             beats_per_bar: int, max_skip: int, two_tempo_skip: int) -> TempoCandidate:
    """The dynamic programme of :func:`fit_tempo_map`, step by step:

    1. every cut may be an *anchor* (a cut exactly on a beat); 0 s is the first anchor;
    2. for each anchor ``j`` and each earlier anchor ``i`` (skipping at most ``max_skip``
       cuts), :func:`_stretch_combos` lists the ways to fill ``i -> j`` with whole beats;
    3. :meth:`_MapSearch.arrive` scores each way (the best way into ``i`` within the gentle
       window of its tempo, plus :func:`_stretch_gain`: the cuts passed over and anchor ``j``)
       and keeps, per (bar position, tempo bin) of ``j``, the best;
    4. :meth:`_MapSearch.best_end` picks the last anchor (cuts after it follow its tempo);
    5. :meth:`_MapSearch.trace_back` walks the stretches back to 0 s, and
       :func:`_map_from_stretches` turns them into a :class:`TempoMap` with its pickup.
    """
    points = np.concatenate([[0.0], cuts])  # step 1: the anchors, 0 s first
    point_w = np.concatenate([[0.0], weights])
    search = _MapSearch.start(len(points), tempo_range, beats_per_bar)
    for j in range(1, len(points)):
        for i in range(max(0, j - max_skip - 1), j):
            combos = _stretch_combos(points[j] - points[i], tempo_range, search.log_r,
                                     search.n_bins, two_tempos=j - i <= two_tempo_skip)
            if combos is None:  # step 2
                continue
            entry = search.entry(i, combos)
            if entry is None:
                continue
            base, prev_bin = entry
            gain = _stretch_gain(points, point_w, i, j, combos, fps, beats_per_bar)
            search.arrive(j, i, base + gain, combos, prev_bin)  # step 3
        search.close(j)
    end = search.best_end(points, point_w, fps, max_skip)  # step 4
    if end is None:  # no cut can be an anchor (all too close to 0...): one tempo
        return fit_single_tempo(cuts, weights, fps, tempo_range, beats_per_bar, 1)[0]
    stretches, phase_of_zero = search.trace_back(end)  # step 5
    pickup = (beats_per_bar - phase_of_zero) % beats_per_bar
    return evaluate(_map_from_stretches(stretches, beats_per_bar, pickup), cuts, weights, fps)


@dataclass
class _MapSearch:
    """The tables of the tempo-map search: for each anchor, bar position of the anchor's beat
    (phase) and tempo bin, the best score of a map from 0 s to that anchor, and how it got
    there."""

    n_bins: int
    window: int  # bins either side that stay within the gentle 10 %
    log_r: float
    beats_per_bar: int
    score: np.ndarray  # (anchors, phase, bin)
    tempo_of: np.ndarray  # the tempo the last stretch ends with
    entry_of: np.ndarray  # the tempo the last stretch starts with
    back: np.ndarray  # (anchors, phase, bin, 5): previous anchor, phase, bin; beats; beats at u
    windowed: list[tuple[np.ndarray, np.ndarray] | None]

    @classmethod
    def start(cls, count: int, tempo_range: TempoRange, beats_per_bar: int) -> _MapSearch:
        log_r = math.log(_BIN_RATIO)
        n_bins = math.ceil(math.log(tempo_range.high / tempo_range.low) / log_r) + 1
        shape = (count, beats_per_bar, n_bins)
        return cls(n_bins, math.floor(math.log(GENTLE_RATIO) / log_r) - 1, log_r, beats_per_bar,
                   np.full(shape, -np.inf), np.zeros(shape), np.zeros(shape),
                   np.full((*shape, 5), -1, dtype=np.int64), [None] * count)

    def close(self, j: int) -> None:
        """Anchor ``j`` is complete: for each (phase, bin), the best score of ``j`` over the
        bins within the gentle window (minus a small change penalty), and the bin it came
        from, for the stretches that leave ``j``."""
        if not np.isfinite(self.score[j]).any():
            return
        bpb, window = self.beats_per_bar, self.window
        offsets = np.arange(-window, window + 1)
        penalty = _CHANGE_PENALTY * np.abs(offsets) / window
        padded = np.concatenate([np.full((bpb, window), -np.inf), self.score[j],
                                 np.full((bpb, window), -np.inf)], axis=1)
        view = np.lib.stride_tricks.sliding_window_view(padded, 2 * window + 1, axis=1)
        values = view - penalty[None, None, :]
        arg = values.argmax(axis=2)
        self.windowed[j] = (np.take_along_axis(values, arg[..., None], 2)[..., 0],
                            np.arange(self.n_bins)[None, :] + arg - window)

    def entry(self, i: int, combos) -> tuple[np.ndarray, np.ndarray] | None:
        """(score, previous bin) per (phase at ``i``, way) of entering the stretch at ``i`` at
        the way's first tempo; None when ``i`` cannot be reached. Any beat of the bar may
        start the video (a pickup bar)."""
        n_ways = combos[0].size
        if i == 0:
            return np.zeros((self.beats_per_bar, n_ways)), np.full((self.beats_per_bar,
                                                                    n_ways), -1)
        if self.windowed[i] is None:
            return None
        values, from_bin = self.windowed[i]
        bin_u = combos[4]
        base = values[:, bin_u]
        return (base, from_bin[:, bin_u]) if np.isfinite(base).any() else None

    def arrive(self, j: int, i: int, total: np.ndarray, combos, prev_bin: np.ndarray) -> None:
        """Keep, per (phase at ``j``, tempo bin of the way's last tempo), the best of
        ``total`` (phase at ``i`` x ways) and how it came."""
        n, n1, u, v, _bin_u, bin_v = combos
        phase = np.arange(self.beats_per_bar)[:, None]
        new_phase = (phase + n[None, :]) % self.beats_per_bar
        flat_key = (new_phase * self.n_bins + bin_v[None, :]).ravel()
        flat_val = total.ravel()
        order = np.lexsort((flat_val, flat_key))
        keys, vals = flat_key[order], flat_val[order]
        last = np.r_[keys[1:] != keys[:-1], True]  # the best way per key
        keys, vals, src = keys[last], vals[last], order[last]
        target = self.score[j].reshape(-1)
        better = vals > target[keys]
        if not better.any():
            return
        keys, vals, src = keys[better], vals[better], src[better]
        target[keys] = vals
        src_phase, src_way = np.divmod(src, n.size)
        self.tempo_of[j].reshape(-1)[keys] = v[src_way]
        self.entry_of[j].reshape(-1)[keys] = u[src_way]
        self.back[j].reshape(-1, 5)[keys] = np.stack(
            [np.full(keys.size, i), src_phase, prev_bin.ravel()[src], n[src_way], n1[src_way]],
            axis=1)

    def best_end(self, points: np.ndarray, point_w: np.ndarray, fps: float,
                 max_skip: int) -> tuple[int, int, int] | None:
        """(anchor, phase, bin) of the best map, the cuts after its last anchor scored
        against that anchor's tempo; None if no cut could be an anchor."""
        count = len(points)
        best, where = -np.inf, None
        for j in range(max(1, count - max_skip - 1), count):
            finite = np.argwhere(np.isfinite(self.score[j]))
            if finite.size == 0:
                continue
            values = self.score[j][finite[:, 0], finite[:, 1]]
            if j + 1 < count:
                tail = slice(j + 1, count)
                beat = 60.0 / self.tempo_of[j][finite[:, 0], finite[:, 1]]
                x = (points[None, tail] - points[j]) / beat[:, None]
                frames = np.abs(x - np.rint(x)) * beat[:, None] * fps
                hit = frames <= HIT_FRAMES + _EPS
                near = ~hit & (frames <= NEAR_FRAMES + _EPS)
                values = values + (point_w[None, tail] * (hit + NEAR_CREDIT * near)).sum(axis=1)
            pick = int(np.argmax(values))
            if values[pick] > best:
                best, where = float(values[pick]), (j, int(finite[pick, 0]),
                                                    int(finite[pick, 1]))
        return where

    def trace_back(self, end: tuple[int, int, int]
                   ) -> tuple[list[tuple[int, float, float, int]], int]:
        """The stretches from 0 s to ``end`` as (beats, first tempo, last tempo, beats at the
        first tempo), and the bar position of beat 0."""
        stretches: list[tuple[int, float, float, int]] = []
        j, phase, tempo_bin = end
        while j > 0:
            i, prev_phase, prev_bin, n, n1 = (int(v) for v in self.back[j, phase, tempo_bin])
            stretches.append((n, float(self.entry_of[j, phase, tempo_bin]),
                              float(self.tempo_of[j, phase, tempo_bin]), n1))
            j, phase, tempo_bin = i, prev_phase, prev_bin
        stretches.reverse()
        return stretches, phase


def _stretch_gain(points: np.ndarray, point_w: np.ndarray, i: int, j: int, combos, fps: float,
                  beats_per_bar: int) -> np.ndarray:
    """(phase at ``i``, way): what a stretch ``i -> j`` earns: the cuts it passes over (hit or
    near miss, downbeat bonus for hits), anchor ``j`` itself (a hit, a downbeat bonus when its
    beat starts a bar), minus a small penalty for a tempo change inside it."""
    n, n1, u, v, _bin_u, _bin_v = combos
    bpb = beats_per_bar
    phase = np.arange(bpb)[:, None]
    gain = np.zeros((bpb, n.size))
    gain -= _CHANGE_PENALTY * np.abs(np.log(v / u)) / math.log(GENTLE_RATIO)
    if j - i > 1:
        inner = slice(i + 1, j)
        since = points[inner, None] - points[i]  # (M, 1) seconds after the anchor
        change_at = 60.0 * n1 / u  # (C,) the second tempo starts here
        first_part = since < change_at[None, :]
        x = np.where(first_part, since * u / 60.0,
                     n1 + (since - change_at[None, :]) * v / 60.0)  # (M, C) beats
        k = np.rint(x)
        beat_len = np.where(first_part, 60.0 / u, 60.0 / v)
        frames = np.abs(x - k) * beat_len * fps
        hit = frames <= HIT_FRAMES + _EPS
        near = ~hit & (frames <= NEAR_FRAMES + _EPS)
        w = point_w[inner, None]
        gain += (w * (hit + NEAR_CREDIT * near)).sum(axis=0)[None, :]
        hit_w = w * hit
        k_mod = np.mod(k, bpb)
        for p in range(bpb):
            gain[p] += DOWNBEAT_BONUS * (hit_w * (k_mod == (bpb - p) % bpb)).sum(0)
    gain += point_w[j] * (1.0 + DOWNBEAT_BONUS * ((phase + n[None, :]) % bpb == 0))
    return gain


def _map_from_stretches(stretches: Sequence[tuple[int, float, float, int]], beats_per_bar: int,
                        pickup: int) -> TempoMap:
    """The tempo map of the chosen stretches: each starts at its first tempo and, when it has
    two, changes to its last after its first ``n1`` beats."""
    changes: list[tuple[float, float]] = []
    beat_count = 0.0
    for n, entry, final, n1 in stretches:
        changes.append((beat_count, entry))
        if n1 < n:
            changes.append((beat_count + n1, final))
        beat_count += n
    return TempoMap.from_beats(changes, beats_per_bar, pickup)


def _stretch_combos(gap: float, tempo_range: TempoRange, log_r: float, n_bins: int,
                    two_tempos: bool):
    """Ways to fill ``gap`` seconds with whole beats: ``n`` beats, the first ``n1`` at tempo
    ``u`` and the rest at ``v`` (``n1 == n``: one tempo), ``u`` and ``v`` within 10 %."""
    low, high = tempo_range.low, tempo_range.high
    n = np.arange(max(1, math.ceil(low * gap / 60 - _EPS)),
                  math.floor(high * gap / 60 + _EPS) + 1)
    parts_n, parts_n1, parts_u, parts_v = [n], [n], [60.0 * n / gap], [60.0 * n / gap]
    if two_tempos:
        n_wide = np.arange(max(2, math.ceil(low * gap / 60 / GENTLE_RATIO)),
                           math.floor(high * gap / 60 * GENTLE_RATIO) + 1)
        if n_wide.size:
            beats = np.repeat(n_wide, 3)
            first = np.stack([np.ones_like(n_wide), n_wide - 1, n_wide // 2], axis=1).ravel()
            keep = np.r_[True, (beats[1:] != beats[:-1]) | (first[1:] != first[:-1])]
            keep &= first >= 1
            beats, first = beats[keep], first[keep]
            v_grid = low * np.exp(log_r * np.arange(0, n_bins, _V_STEP))
            rest = gap - 60.0 * (beats - first)[:, None] / v_grid[None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                u = np.where(rest > 1e-3, 60.0 * first[:, None] / rest, np.nan)
                ratio = np.maximum(u, v_grid) / np.minimum(u, v_grid)
                ok = (u >= low - 1e-9) & (u <= high + 1e-9) & (ratio <= GENTLE_RATIO - 1e-4)
            rows, cols = np.nonzero(ok)
            parts_n.append(beats[rows])
            parts_n1.append(first[rows])
            parts_u.append(u[rows, cols])
            parts_v.append(v_grid[cols])
    n_all = np.concatenate(parts_n).astype(np.int64)
    if n_all.size == 0:
        return None
    u_all, v_all = np.concatenate(parts_u), np.concatenate(parts_v)

    def to_bin(tempo: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(np.log(tempo / low) / log_r).astype(np.int64), 0, n_bins - 1)

    return (n_all, np.concatenate(parts_n1).astype(np.int64), u_all, v_all, to_bin(u_all),
            to_bin(v_all))


def fixed_tempo(bpm: float, cut_times: Sequence[float], strengths: Sequence[float], fps: float,
                beats_per_bar: int = 4) -> TempoFit:
    """A fixed tempo, scored against the cuts (for the report)."""
    candidate = evaluate(TempoMap.constant(bpm, beats_per_bar), cut_times, strengths, fps)
    return TempoFit("fixed", candidate, (candidate,), fps)


def fit_tempo(cut_times: Sequence[float], strengths: Sequence[float], fps: float,
              tempo_range: TempoRange | None = None, *, tempo_map: bool = False,
              beats_per_bar: int = 4, n_candidates: int = 5) -> TempoFit:
    """``--tempo auto`` (one tempo; the default of ``render``) or ``--tempo auto --tempo-map``.

    With fewer than :data:`MIN_CUTS_TO_FIT` cuts the default tempo (clamped into the range) is
    used, and ``reason`` says so."""
    tempo_range = tempo_range or TempoRange()
    cuts = _check_cuts(cut_times, fps)
    if len(cuts) < MIN_CUTS_TO_FIT:
        bpm = tempo_range.clamp(DEFAULT_TEMPO_BPM)
        candidate = evaluate(TempoMap.constant(bpm, beats_per_bar), cuts, strengths, fps)
        why = ("no cuts were detected, so there is nothing to fit" if len(cuts) == 0 else
               "only one cut was detected, and a tempo needs at least two to be fitted")
        return TempoFit("auto", candidate, (candidate,), fps, tempo_range,
                        reason=f"{why}: using the default tempo {bpm:g} bpm")
    singles = fit_single_tempo(cuts, strengths, fps, tempo_range, beats_per_bar, n_candidates)
    if not tempo_map:
        return TempoFit("auto", singles[0], tuple(singles), fps, tempo_range)
    mapped = fit_tempo_map(cuts, strengths, fps, tempo_range, beats_per_bar)
    if mapped.score + 1e-9 < singles[0].score:  # the map search is coarser; never do worse
        mapped = singles[0]
    return TempoFit("map", mapped, (mapped, *singles), fps, tempo_range)
