"""Chord generation: one chord per second of video, sampled from the AMT with a decoder cache.

The official ``generate()`` re-runs the whole model (encoder included) for every chord and always
makes 300 chords. Here the encoder runs once per window of video, the decoder keeps its keys and
values (relative positions included), and we make exactly as many chords as asked. Videos longer
than the model's 300-position window are covered by overlapping windows: each new window is
primed with the last ``window_overlap`` chords already chosen, so the progression carries on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import torch

from v2m_bridge.data.emotion_map import emotion_chord_matrix
from v2m_bridge.errors import FeatureError, V2MError
from v2m_bridge.features import (
    SEMANTIC_DIM,
    VideoFeatures,
    check_per_second,
    one_hot_emotion,
)
from v2m_bridge.model.amt import AMT
from v2m_bridge.model.musical import (
    MAJOR_SCALE,
    MUSICAL_KEY_PENALTY,
    MUSICAL_OVERRIDE_BIAS,
    MUSICAL_TEMPERATURE,
    MUSICAL_TOP_P,
    HarmonicRhythm,
    in_scale_mask,
    plan_for_seconds,
    scale_of_chords,
)
from v2m_bridge.model.palette import Palette, palette_logits
from v2m_bridge.music.grid import plan_chord_changes
from v2m_bridge.vocab import (
    C_MAJOR,
    END_CHORD_ID,
    N_CHORD_ID,
    Chord,
    Key,
    chord_from_id,
    parse_chords,
)

ProgressCallback = Callable[[float, str], None]


class GenerationError(V2MError, ValueError):
    """Generation options that make no sense (negative length, temperature 0 ...)."""


@dataclass(frozen=True)
class ConditioningInputs:
    """Per-second video features for one video (no batch dimension), checked on creation.

    Conventions are those of :mod:`v2m_bridge.features` (``scene_offset`` is seconds since the
    scene started + 1). Only shapes and finiteness are checked
    (:func:`~v2m_bridge.features.check_per_second` without ``ranges``): the model accepts any
    finite input, and callers pass blended or synthetic emotion rows.
    """

    semantic: np.ndarray  # (T, SEMANTIC_DIM)
    scene_offset: np.ndarray  # (T,)
    motion: np.ndarray  # (T,)
    emotion: np.ndarray  # (T, EMOTION_DIM), columns in EMOTION_LABELS order

    def __post_init__(self) -> None:
        checked = check_per_second({"semantic": self.semantic, "scene_offset": self.scene_offset,
                                    "motion": self.motion, "emotion": self.emotion})
        for name, array in checked.items():
            object.__setattr__(self, name, array)

    @classmethod
    def from_features(cls, features: VideoFeatures) -> ConditioningInputs:
        """From any record with ``semantic``, ``scene_offset``, ``motion``, ``emotion`` arrays."""
        return cls(features.semantic, features.scene_offset, features.motion, features.emotion)

    @classmethod
    def zeros(cls, n_seconds: int) -> ConditioningInputs:
        """Neutral inputs: no semantic content, one long scene, no motion, neutral emotion."""
        if n_seconds < 0:
            raise FeatureError(f"number of seconds must be >= 0, got {n_seconds}")
        emotion = np.tile(one_hot_emotion("neutral"), (n_seconds, 1))
        return cls(np.zeros((n_seconds, SEMANTIC_DIM), np.float32),
                   np.arange(1, n_seconds + 1, dtype=np.float32),
                   np.zeros(n_seconds, np.float32), emotion)

    @property
    def n_seconds(self) -> int:
        return len(self.motion)

    def window(self, start: int, stop: int) -> ConditioningInputs:
        return ConditioningInputs(self.semantic[start:stop], self.scene_offset[start:stop],
                                  self.motion[start:stop], self.emotion[start:stop])

    def with_emotion(self, override: np.ndarray, weight: float) -> ConditioningInputs:
        """Blend a ``(6,)`` or ``(T, 6)`` emotion override into the video's emotion."""
        override = np.asarray(override, dtype=np.float32)
        if override.ndim == 1:
            override = np.broadcast_to(override, self.emotion.shape)
        if override.shape != self.emotion.shape:
            raise FeatureError(f"emotion override must be (6,) or ({self.n_seconds}, 6), got "
                               f"{override.shape}")
        blended = (1.0 - weight) * self.emotion + weight * override
        return ConditioningInputs(self.semantic, self.scene_offset, self.motion, blended)

    def tensors(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        """Batch-of-one tensors in the order the AMT takes them."""
        return tuple(torch.from_numpy(np.ascontiguousarray(a)).unsqueeze(0).to(device)
                     for a in (self.semantic, self.scene_offset, self.motion, self.emotion))


@dataclass(frozen=True)
class GenerationOptions:
    """How to sample. Defaults follow the official sampler (no N, at most 2 repeats in a row).

    The musical sampler (:func:`v2m_bridge.model.musical.musical_options`, what ``render`` and
    ``chords`` use by default) sets ``rhythm`` (chords change only where the plan says, see
    :mod:`v2m_bridge.model.musical`), a ``palette`` (which chord at a change, see
    :mod:`v2m_bridge.model.palette`; it replaces ``key_penalty``), ``top_p``, ``temperature``
    and no repeat cap.
    """

    n_chords: int | None = None  # None: one per second of video
    key: Key = C_MAJOR  # the model sees only the mode; the tonic places the primer
    primer: Sequence[Chord] | str = ()  # first chords, written in `key`; default: its tonic
    seed: int | None = None
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    allow_no_chord: bool = False
    max_repeats: int | None = 2  # a chord at most this many times in a row; None: no limit
    emotion_override: np.ndarray | None = None  # (6,) or (T, 6)
    emotion_weight: float = 1.0  # 0: video emotion only, 1: override only
    window_overlap: int = 100  # chords carried into each new window of a long video
    rhythm: HarmonicRhythm | None = None  # set: a change plan from the inputs decides when
    change_plan: Sequence[int] | None = None  # per second: 0 hold, 1 change, 2 free choice
    # the grid's planned change times (media seconds) on the render's tempo map; None with a
    # rhythm: planned on a default 120 bpm 4/4 grid (the ``chords`` command)
    change_times: Sequence[float] | None = None
    key_penalty: float | None = None  # nats off chords with a tone outside `scale`
    scale: Sequence[int] | None = None  # kept key, normalised frame; None: from the primer
    override_bias: float = 0.0  # nats added to the qualities of an emotion_override's emotion
    palette: Palette | None = None  # set: key palette, colour and loop penalties (palette.py)
    colour: np.ndarray | None = None  # (T, 6) emotion per position, for the palette's colour

    def __post_init__(self) -> None:
        if isinstance(self.primer, str):
            object.__setattr__(self, "primer", tuple(parse_chords(self.primer)))
        checks = [
            (self.n_chords is None or self.n_chords >= 0, f"n_chords must be >= 0, got "
                                                          f"{self.n_chords}"),
            (self.temperature > 0 and np.isfinite(self.temperature),
             f"temperature must be > 0, got {self.temperature}"),
            (self.top_k is None or self.top_k >= 1, f"top_k must be >= 1, got {self.top_k}"),
            (self.top_p is None or 0 < self.top_p <= 1, f"top_p must be in (0, 1], got "
                                                        f"{self.top_p}"),
            (self.max_repeats is None or self.max_repeats >= 1,
             f"max_repeats must be >= 1, got {self.max_repeats}"),
            (0.0 <= self.emotion_weight <= 1.0, f"emotion_weight must be in [0, 1], got "
                                                f"{self.emotion_weight}"),
            (self.window_overlap >= 0, f"window_overlap must be >= 0, got "
                                       f"{self.window_overlap}"),
            (self.key_penalty is None or self.key_penalty >= 0,
             f"key_penalty must be >= 0, got {self.key_penalty}"),
        ]
        for ok, message in checks:
            if not ok:
                raise GenerationError(message)

    def normalised_primer(self) -> list[Chord]:
        """Primer in the model's C major / A minor frame; the tonic chord when none is given."""
        if self.primer:
            return [self.key.to_normalised(chord) for chord in self.primer]
        return [Chord(9, "min") if self.key.is_minor else Chord(0, "maj")]


def sample_next_chord(logits: torch.Tensor, history: Sequence[Chord], options: GenerationOptions,
                      generator: torch.Generator) -> Chord:
    """Draw the next chord from ``(159,)`` logits under the options' constraints.

    With a ``change_plan``, second ``len(history)`` keeps the previous chord unless the plan
    starts a new one there, and a planned change never repeats the previous chord.
    """
    plan = options.change_plan
    second = len(history)
    if plan is not None and history and second < len(plan) and not plan[second]:
        return history[-1]
    logits = logits[:END_CHORD_ID].float().cpu().clone()  # END and PAD are never generated
    if not options.allow_no_chord:
        logits[N_CHORD_ID] = float("-inf")
    if (plan is not None and history and second < len(plan) and plan[second] == 1
            and history[-1].id < END_CHORD_ID):  # 2: a free choice that may repeat
        logits[history[-1].id] = float("-inf")
    if options.palette is not None:
        logits += torch.from_numpy(palette_logits(
            options.palette, history, _major_tonic(tuple(options.scale or MAJOR_SCALE)),
            options.key.is_minor, _colour_row(options.colour, second))).float()
    elif options.key_penalty:
        outside = ~_scale_mask(tuple(options.scale or MAJOR_SCALE))
        logits[outside] -= options.key_penalty
    if options.override_bias and options.emotion_override is not None:
        override = np.asarray(options.emotion_override, dtype=np.float32)
        row = override if override.ndim == 1 else override[min(second, len(override)) - 1]
        logits += options.override_bias * torch.from_numpy(row @ _EMOTION_CHORDS)
    repeats = options.max_repeats
    if repeats and len(history) >= repeats and len(set(history[-repeats:])) == 1:
        logits[history[-1].id] = float("-inf")
    logits = logits / options.temperature
    if options.top_k is not None and options.top_k < len(logits):
        threshold = torch.topk(logits, options.top_k).values[-1]
        logits[logits < threshold] = float("-inf")
    probs = torch.softmax(logits, dim=-1)
    if options.top_p is not None and options.top_p < 1:
        sorted_probs, order = torch.sort(probs, descending=True)
        # keep the smallest set whose mass reaches top_p (always at least the best chord)
        drop = torch.cumsum(sorted_probs, 0) - sorted_probs >= options.top_p
        probs[order[drop]] = 0.0
    return chord_from_id(int(torch.multinomial(probs, 1, generator=generator)))


_EMOTION_CHORDS = emotion_chord_matrix()[:, :END_CHORD_ID]  # (6, 157) official table


def _colour_row(colour: np.ndarray | None, second: int) -> np.ndarray | None:
    """The emotion row of the position being chosen (the last known one past the end)."""
    if colour is None or len(colour) == 0:
        return None
    return colour[min(second, len(colour) - 1)]


@lru_cache(maxsize=16)
def _major_tonic(scale: tuple[int, ...]) -> int:
    """The major tonic of a transposed :data:`MAJOR_SCALE` (0 for the normalised key)."""
    pitch_set = {p % 12 for p in scale}
    for shift in range(12):
        if {(p + shift) % 12 for p in MAJOR_SCALE} == pitch_set:
            return shift
    return 0


@lru_cache(maxsize=16)
def _scale_mask(scale: tuple[int, ...]) -> torch.Tensor:
    mask = torch.from_numpy(in_scale_mask(scale))
    mask[N_CHORD_ID] = True  # N is handled by allow_no_chord, not by the key
    return mask


def _with_plan(options: GenerationOptions, inputs: ConditioningInputs,
               n_chords: int) -> GenerationOptions:
    """Fill in the change plan and the kept key of the musical sampler."""
    changes = {}
    if options.rhythm is not None and options.change_plan is None:
        times = options.change_times
        if times is None:  # no render grid: plan on the default one, from the inputs' cuts
            offsets = np.ones(n_chords, np.float32)
            motion = np.zeros(n_chords, np.float32)
            known = min(n_chords, inputs.n_seconds)
            offsets[:known] = inputs.scene_offset[:known]
            motion[:known] = inputs.motion[:known]
            if known < n_chords:  # seconds past the video continue its last scene
                last = offsets[known - 1] if known else 0.0
                offsets[known:] = last + np.arange(1, n_chords - known + 1)
            cuts = [float(s) for s in range(1, n_chords) if offsets[s] == 1.0]
            times = plan_chord_changes(float(n_chords), cuts, offsets, motion,
                                       rhythm=options.rhythm, seed=options.seed)
        changes["change_plan"] = plan_for_seconds(times, n_chords)
    if (options.key_penalty or options.palette) and options.scale is None:
        primer = options.normalised_primer() if options.primer else []
        changes["scale"] = scale_of_chords(primer) if primer else MAJOR_SCALE
    if options.palette is not None and options.colour is None:
        changes["colour"] = inputs.emotion[:n_chords]
    return replace(options, **changes) if changes else options


def _tokens(chord: Chord, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    root = torch.tensor([[chord.root_id]], device=device)
    return root, torch.tensor([[chord.quality_id]], device=device)


def _fill_window_cached(amt: AMT, window: ConditioningInputs, chords: list[Chord], start: int,
                        stop: int, key: torch.Tensor, options: GenerationOptions,
                        generator: torch.Generator, on_chord: Callable[[], None]) -> None:
    """Extend ``chords`` to ``stop`` using positions ``start..stop-1`` as one decoder window."""
    memory = amt.encode(*window.tensors(amt.device), finite=True)
    cache = amt.new_cache(memory, max_len=stop - start)
    for position in range(start, stop - 1):
        logits = amt.decode_step(*_tokens(chords[position], amt.device), key, cache,
                                 position - start)
        if position + 1 == len(chords):
            chords.append(sample_next_chord(logits[0], chords, options, generator))
            on_chord()


def _fill_window_uncached(amt: AMT, window: ConditioningInputs, chords: list[Chord], start: int,
                          stop: int, key: torch.Tensor, options: GenerationOptions,
                          generator: torch.Generator, on_chord: Callable[[], None]) -> None:
    """The official way: re-run encoder and decoder over the whole prefix for every chord."""
    video = window.tensors(amt.device)
    while len(chords) < stop:
        logits = _prefix_logits(amt, video, chords[start:], key)
        chords.append(sample_next_chord(logits, chords, options, generator))
        on_chord()


def _prefix_logits(amt: AMT, video: tuple[torch.Tensor, ...], prefix: Sequence[Chord],
                   key: torch.Tensor) -> torch.Tensor:
    """Logits ``(159,)`` for the chord after ``prefix``, one full forward pass (``video`` from
    :meth:`ConditioningInputs.tensors`, checked finite)."""
    root = torch.tensor([[c.root_id for c in prefix]], device=amt.device)
    attr = torch.tensor([[c.quality_id for c in prefix]], device=amt.device)
    return amt(root, attr, key, *video, finite=True)[0, -1]


@torch.inference_mode()
def next_chord(amt: AMT, inputs: ConditioningInputs, prefix: Sequence[Chord],
               history: Sequence[Chord], options: GenerationOptions,
               generator: torch.Generator) -> Chord:
    """One chord after ``prefix`` (chords at positions ``0..len(prefix)-1`` of ``inputs``'
    window), for live use: video seconds not in ``inputs`` are unknown and padded as zeros.
    ``history`` (the whole session's chords, normalised) drives the repeat cap."""
    if not 1 <= len(prefix) <= amt.config.max_sequence_chord:
        raise GenerationError(f"the chord prefix must hold 1..{amt.config.max_sequence_chord} "
                              f"chords, got {len(prefix)}")
    if options.emotion_override is not None:
        inputs = inputs.with_emotion(options.emotion_override, options.emotion_weight)
    if amt.training:  # eval() walks every module: ~0.1 ms of each live step
        amt.eval()
    key = torch.tensor([options.key.mode_value], device=amt.device)
    logits = _prefix_logits(amt, inputs.tensors(amt.device), prefix, key)
    return sample_next_chord(logits, history, options, generator)


@torch.inference_mode()
def generate_chords(amt: AMT, inputs: ConditioningInputs,
                    options: GenerationOptions | None = None, *, use_cache: bool = True,
                    progress: ProgressCallback | None = None) -> list[Chord]:
    """Sample one chord per second of ``inputs`` (or ``options.n_chords``).

    Chords are returned in the model's normalised frame (C major / A minor); move them to the
    user's key with ``options.key.from_normalised``. The primer chords come first. The same
    seed, model and inputs give the same chords.
    """
    options = options or GenerationOptions()
    n_chords = inputs.n_seconds if options.n_chords is None else options.n_chords
    if n_chords == 0:
        return []
    if options.emotion_override is not None:
        inputs = inputs.with_emotion(options.emotion_override, options.emotion_weight)
    pickup = options.rhythm is not None and not options.primer
    if pickup:
        # The musical sampler lets the model choose the first chord too: the tonic becomes a
        # pickup second before the video (fed with the first second's features) that is not
        # returned, and the first real second is a free choice (the tonic may stay).
        n_chords += 1
        inputs = ConditioningInputs(*(np.concatenate([a[:1], a]) for a in (
            inputs.semantic, inputs.scene_offset, inputs.motion, inputs.emotion)))
        plan = _with_plan(options, inputs.window(1, n_chords), n_chords - 1).change_plan
        options = replace(options, change_plan=(1, 2, *plan[1:]))
    options = _with_plan(options, inputs, n_chords)
    generator = torch.Generator()
    if options.seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(options.seed))

    was_training = amt.training
    amt.eval()
    config = amt.config
    window = min(config.max_sequence_chord, config.max_sequence_video)
    overlap = min(options.window_overlap, window // 2)  # each window adds >= half new chords
    key = torch.tensor([options.key.mode_value], device=amt.device)
    chords = options.normalised_primer()[:n_chords]
    fill = _fill_window_cached if use_cache else _fill_window_uncached

    def on_chord() -> None:
        if progress is not None:
            progress(len(chords) / n_chords, "chords")

    start = 0
    try:
        while len(chords) < n_chords:
            stop = min(start + window, n_chords)
            fill(amt, inputs.window(start, start + window), chords, start, stop, key, options,
                 generator, on_chord)
            start = stop - overlap
    finally:
        amt.train(was_training)
    return chords[1:] if pickup else chords


def musical_options(*, key=None, primer=(), seed: int | None = None,
                    emotion_override: np.ndarray | None = None,
                    change_times: Sequence[float] | None = None,
                    top_p: float | str | None = "default",
                    temperature: float | None = None, **overrides):
    """:class:`~v2m_bridge.model.generate.GenerationOptions` of the musical sampler (the default
    of ``render`` and ``chords``); ``overrides`` replace any other field. ``top_p`` and
    ``temperature`` default to :data:`MUSICAL_TOP_P` and :data:`MUSICAL_TEMPERATURE`.
    ``change_times``: the grid's plan (:func:`v2m_bridge.music.grid.plan_chord_changes`)."""
    rhythm = overrides.pop("rhythm", None) or HarmonicRhythm()
    values = {"change_times": change_times, "key": key or C_MAJOR, "primer": primer, "seed": seed,
              "emotion_override": emotion_override,
              "top_p": MUSICAL_TOP_P if top_p == "default" else top_p,
              "temperature": MUSICAL_TEMPERATURE if temperature is None else temperature,
              "max_repeats": None, "rhythm": rhythm,
              "key_penalty": MUSICAL_KEY_PENALTY, "override_bias": MUSICAL_OVERRIDE_BIAS,
              "palette": Palette(), **overrides}
    return GenerationOptions(**values)
