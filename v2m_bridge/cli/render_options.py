"""The render options, defined once for every command that renders (``render``, ``batch
render``): :func:`add_render_options` puts them on a parser, :func:`render_options_from` turns the
parsed arguments into :class:`~v2m_bridge.options.RenderOptions`.

A new render option goes here, in both functions, and both commands have it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from v2m_bridge.config import (
    DEFAULT_HARMONIC_RHYTHM,
    DEFAULT_KEY_CHOICE,
    DEFAULT_TEMPO_BPM,
    DEFAULT_TEMPO_RANGE,
)
from v2m_bridge.emotion import EMOTIONS
from v2m_bridge.music.arrangement import DEFAULT_TEXTURE, TEXTURES
from v2m_bridge.music.grid import HARMONIC_RHYTHMS
from v2m_bridge.music.voicing import DEFAULT_REGISTER, REGISTERS
from v2m_bridge.options import SAMPLERS, RenderOptions
from v2m_bridge.vocab import Key


def add_render_options(parser: argparse.ArgumentParser, *, kept_file: str = "",
                       clip_weights: bool = True) -> None:
    """The options of :class:`RenderOptions` (``--key``, ``--tempo``, ``--tempo-map``,
    ``--harmonic-rhythm``...). ``kept_file``: the option whose file gives the key and tempo
    when these are left out (``render``'s ``--keep``), for the help text; ``clip_weights``:
    whether to add ``--clip-weights`` (``batch`` has it among its analysis options)."""
    kept = f", or the key of the {kept_file} file" if kept_file else ""
    kept_tempo = f", or the tempo map of the {kept_file} file" if kept_file else ""
    group = parser.add_argument_group("music")
    group.add_argument("--key", default=None,
                       help="key of the music, e.g. 'D minor', 'Bb', 'F#m', or 'auto': major or "
                       "minor and a tonic from the video's valence and arousal (default: "
                       f"{DEFAULT_KEY_CHOICE}{kept})")
    group.add_argument("--primer", default="",
                       help="first chords, written in --key, e.g. 'C Am F G' (default: the tonic)")
    group.add_argument("--emotion", default=None, metavar="EMOTION|CURVE",
                       help="override the video's emotion: one of "
                       f"{', '.join(EMOTIONS)}, or a curve such as '0:tense,20:relaxing'")
    group.add_argument("--seed", type=int, default=None,
                       help="random seed; the same seed and inputs give the same file "
                       "(default: random, printed and recorded in the MIDI file)")
    group.add_argument("--tempo", default=None, metavar="BPM|auto",
                       help="tempo in beats per minute, or 'auto' to fit it to the cuts "
                       f"(default: auto, which falls back to {DEFAULT_TEMPO_BPM:g} when the "
                       f"video has fewer than two cuts{kept_tempo}). "
                       f"--tempo {DEFAULT_TEMPO_BPM:g} gives a plain fixed tempo")
    group.add_argument("--tempo-range", default=None, metavar="LOW:HIGH",
                       help="tempos --tempo auto searches (default: "
                       f"{DEFAULT_TEMPO_RANGE[0]:g}:{DEFAULT_TEMPO_RANGE[1]:g})")
    group.add_argument("--tempo-map", action="store_true",
                       help="with --tempo auto: let the tempo change gently (<= 10 %% between "
                       "adjacent tempos) so that cuts land on beats; the MIDI file carries it")
    group.add_argument("--harmonic-rhythm", choices=list(HARMONIC_RHYTHMS),
                       default=DEFAULT_HARMONIC_RHYTHM,
                       help="how often chords may change, besides at cuts: every beat, half "
                       "bar, bar or two bars (default: %(default)s)")
    group.add_argument("--checkpoint", type=Path, default=None,
                       help="AMT checkpoint (official or project); default: the starter model")
    group.add_argument("--regression-checkpoint", type=Path, default=None,
                       help="bi-GRU note density/loudness checkpoint; default: a fixed rule "
                       "over motion, scene and emotion")
    group.add_argument("--no-cut-align", action="store_true",
                       help="official behaviour: one chord per second, ignore cuts and accents")
    group.add_argument("--sampler", choices=list(SAMPLERS), default="musical",
                       help="musical (default): chords change on bar lines and cuts as busy "
                       "as the picture, in key, from the model's likely chords; official: one "
                       "draw per second with at most 2 repeats, as the Video2Music code")
    group.add_argument("--register", choices=list(REGISTERS), default=DEFAULT_REGISTER,
                       help="where the chords sit (default: %(default)s)")
    group.add_argument("--texture", choices=list(TEXTURES), default=DEFAULT_TEXTURE,
                       help="accompaniment style: auto (default) follows the picture with "
                       "patterns learned from real piano parts (calm: sparse, low, sustained; "
                       "action: busy); ballad stays sparse; pulse drives on the eighths; pad "
                       "holds block chords; arpeggio is the pad with an arpeggio above")
    group.add_argument("--no-hits-track", action="store_true",
                       help="leave out the \"V2M Hits\" track (low hits and a swell on every "
                       "cut of strength >= 0.5)")
    if clip_weights:
        group.add_argument("--clip-weights", type=Path, default=None,
                           help="CLIP ViT-L/14@336px weights (default: $V2M_CLIP_WEIGHTS or the "
                       "local caches; without them a labelled fallback runs)")


def render_options_from(args: argparse.Namespace, *, kept_key: Key | None = None,
                        clip_weights: str | Path | None = None) -> RenderOptions:
    """:class:`RenderOptions` from the options of :func:`add_render_options`. ``kept_key``:
    the key when ``--key`` is left out (``--keep``); ``clip_weights``: the weights as found
    (``batch`` resolves them once for every worker), else ``--clip-weights``."""
    key = args.key or (kept_key.name if kept_key is not None else DEFAULT_KEY_CHOICE)
    tempo = args.tempo  # None: fitted to the cuts (the default)
    return RenderOptions(key=key, primer=args.primer, emotion=args.emotion, seed=args.seed,
                         tempo_bpm=tempo, checkpoint=args.checkpoint,
                         regression_checkpoint=args.regression_checkpoint,
                         cut_align=not args.no_cut_align, register=args.register,
                         clip_weights=clip_weights if clip_weights is not None
                         else args.clip_weights,
                         tempo_range=args.tempo_range, tempo_map=args.tempo_map,
                         harmonic_rhythm=args.harmonic_rhythm, sampler=args.sampler,
                         texture=args.texture, hits_track=not args.no_hits_track)


def options_fingerprint(options: RenderOptions) -> dict[str, str]:
    """Every option a render was made with, as text (the batch manifest compares them, so a
    rerun with other options renders again)."""
    return {name: str(getattr(options, name)) for name, spec in
            RenderOptions.__dataclass_fields__.items() if spec.init and name != "clip_weights"}
