"""``v2m-bridge render``: a video in, a MIDI file (and optionally audio, video, a plot) out."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from v2m_bridge.config import DEFAULT_KEY, DEFAULT_TEMPO_BPM
from v2m_bridge.emotion import EMOTIONS
from v2m_bridge.music.voicing import DEFAULT_REGISTER, REGISTERS
from v2m_bridge.options import RenderOptions
from v2m_bridge.output.paths import OutputPathError, check_output_path

if TYPE_CHECKING:
    from v2m_bridge.music.arrangement import Composition


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render", help="compose chords and an arpeggio for a video and write a MIDI file",
        description="Analyse VIDEO, generate chords with the AMT and write a two-track MIDI file "
        "(\"V2M Chords\", \"V2M Arp\") with tempo, key, and chord-name markers. Chord changes "
        "follow the video's cuts unless --no-cut-align is given.")
    parser.add_argument("video", type=Path, help="input video file")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.mid",
                        help="MIDI file to write")
    parser.add_argument("--key", default=DEFAULT_KEY,
                        help="key of the music, e.g. 'D minor', 'Bb', 'F#m' (default: %(default)s)")
    parser.add_argument("--primer", default="",
                        help="first chords, written in --key, e.g. 'C Am F G' (default: the tonic)")
    parser.add_argument("--emotion", default=None, metavar="EMOTION|CURVE",
                        help="override the video's emotion: one of "
                        f"{', '.join(EMOTIONS)}, or a curve such as '0:tense,20:relaxing'")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed; the same seed and inputs give the same file "
                        "(default: random, printed)")
    parser.add_argument("--tempo", type=float, default=DEFAULT_TEMPO_BPM, metavar="BPM",
                        help="tempo in beats per minute (default: %(default)g)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="AMT checkpoint (official or project); default: the starter model")
    parser.add_argument("--regression-checkpoint", type=Path, default=None,
                        help="bi-GRU note density/loudness checkpoint; default: a fixed rule "
                        "over motion, scene and emotion")
    parser.add_argument("--no-cut-align", action="store_true",
                        help="official behaviour: one chord per second, ignore cuts and accents")
    parser.add_argument("--register", choices=list(REGISTERS), default=DEFAULT_REGISTER,
                        help="where the chords sit (default: %(default)s)")
    parser.add_argument("--clip-weights", type=Path, default=None,
                        help="CLIP ViT-L/14@336px weights (default: $V2M_CLIP_WEIGHTS or the "
                        "local caches; without them a labelled fallback runs)")
    parser.add_argument("--audio", type=Path, default=None, metavar="OUT.wav",
                        help="also render audio with FluidSynth")
    parser.add_argument("--video", dest="video_out", type=Path, default=None,
                        metavar="OUT.mp4", help="also write the video with the rendered music")
    parser.add_argument("--plot", type=Path, default=None, metavar="OUT.png",
                        help="also draw a timeline (frames, cuts, emotion, motion, chords, notes)")
    parser.add_argument("--soundfont", type=Path, default=None,
                        help="General MIDI soundfont for --audio/--video")
    parser.set_defaults(func=run_render)


def _check_outputs(args: argparse.Namespace) -> None:
    outputs = [(args.output, "MIDI output"), (args.audio, "audio output"),
               (args.video_out, "video output"), (args.plot, "plot output")]
    seen: dict[Path, str] = {}
    for path, what in outputs:
        if path is None:
            continue
        check_output_path(path, (args.video,), what=what)
        resolved = path.expanduser().resolve()
        if resolved in seen:
            raise OutputPathError(f"{what} and {seen[resolved]} are the same file: {path}")
        seen[resolved] = what


def _progress_bar() -> tuple[object, Callable[[float, str], None]]:
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", file=sys.stderr, leave=False,
               bar_format="{desc:<12} {percentage:3.0f}%|{bar}| {elapsed}")

    def report(fraction: float, stage: str) -> None:
        bar.set_description_str(stage, refresh=False)
        bar.update(max(0, round(100 * fraction) - bar.n))

    return bar, report


def run_render(args: argparse.Namespace) -> int:
    from v2m_bridge.output.midi_file import write_midi
    from v2m_bridge.pipeline import compose

    options = RenderOptions(key=args.key, primer=args.primer, emotion=args.emotion,
                            seed=args.seed, tempo_bpm=args.tempo, checkpoint=args.checkpoint,
                            regression_checkpoint=args.regression_checkpoint,
                            cut_align=not args.no_cut_align, register=args.register,
                            clip_weights=args.clip_weights)
    _check_outputs(args)  # the video itself is checked where it is opened (analyze_video)
    if args.audio or args.video_out:  # fail before the slow part if the tools are missing
        from v2m_bridge.output.audio import (
            audio_file_type,
            find_ffmpeg,
            find_fluidsynth,
            find_soundfont,
        )

        if args.audio:
            audio_file_type(args.audio)
        find_fluidsynth()
        find_soundfont(args.soundfont)
        if args.video_out:
            find_ffmpeg()

    bar, report = _progress_bar()
    try:
        composition = compose(args.video, options, progress=report)
    finally:
        bar.close()
    for note in composition.provenance.notes:
        print(f"note: {note}", file=sys.stderr)
    midi_path = write_midi(composition, args.output, inputs=(args.video,))
    names = [composition.chord_name(span) for span in composition.chord_spans]
    changes = sum(1 for before, after in itertools.pairwise(names) if before != after)
    print(f"wrote {midi_path}: {composition.duration:.2f} s, {changes} chord changes, "
          f"{composition.key.name}, {composition.tempo_bpm:g} bpm, "
          f"seed {composition.provenance.facts.get('seed')}")
    offsets = composition.cut_alignment()
    if offsets:
        print(f"cuts: {len(offsets)} detected; chord change or re-strike within "
              f"{max(offsets):.3f} s of each" if options.cut_align else
              f"cuts: {len(offsets)} detected; cut alignment off, nearest chord change "
              f"{max(offsets):.3f} s away at worst")
    _write_extras(args, composition, midi_path)
    return 0


def _write_extras(args: argparse.Namespace, composition: Composition, midi_path: Path) -> None:
    if args.audio or args.video_out:
        from v2m_bridge.output.audio import mux_video, render_audio

        with contextlib.ExitStack() as stack:
            audio_path = args.audio
            if audio_path is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="v2m-audio-"))
                audio_path = Path(folder) / "music.wav"
            render_audio(midi_path, audio_path, args.soundfont, composition.duration)
            if args.audio:
                print(f"wrote {audio_path}")
            if args.video_out:
                mux_video(args.video, audio_path, args.video_out, composition.duration)
                print(f"wrote {args.video_out}")
    if args.plot:
        from v2m_bridge.output.plot import write_plot

        write_plot(composition, args.plot, video_path=args.video, inputs=(args.video,))
        print(f"wrote {args.plot}")
