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

from v2m_bridge.cli.render_options import add_render_options, render_options_from
from v2m_bridge.errors import V2MError
from v2m_bridge.output.paths import OutputPathError, check_output_path

if TYPE_CHECKING:
    from v2m_bridge.music.arrangement import Composition
    from v2m_bridge.music.tempo_fit import TempoFit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render", help="compose chords and a piano accompaniment for a video and write a MIDI "
        "file",
        description="Analyse VIDEO, generate chords with the AMT and write a type 1 MIDI file "
        "(a conductor track with tempo, key and chord-name markers, \"V2M Chords\" with each "
        "chord name as a lyric, \"V2M Figuration\", \"V2M Bass\" and \"V2M Hits\"). Chord "
        "changes follow the video's cuts unless --no-cut-align is given.")
    parser.add_argument("video", type=Path, help="input video file")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.mid",
                        help="MIDI file to write")
    add_render_options(parser, kept_file="--keep")
    parser.add_argument("--hits", type=Path, default=None, metavar="OUT.csv",
                        help="also write a cue sheet of the cuts: time, SMPTE, bar.beat, frames "
                        "off the beat")
    parser.add_argument("--keep", type=Path, default=None, metavar="PREVIOUS.mid",
                        help="keep the chords of an earlier render of this video outside "
                        "--reroll (needs --reroll)")
    parser.add_argument("--reroll", default=None, metavar="START:END",
                        help="with --keep: regenerate only START..END seconds (snapped to bars)")
    parser.add_argument("--audio", type=Path, default=None, metavar="OUT.wav",
                        help="also render audio with FluidSynth")
    parser.add_argument("--video", dest="video_out", type=Path, default=None,
                        metavar="OUT.mp4", help="also write the video with the rendered music")
    parser.add_argument("--video-audio", choices=("mix", "replace", "none"), default="mix",
                        help="with --video: mix the music under the video's own sound "
                        "(default: %(default)s; dialogue stays), replace the sound with the "
                        "music, or none (the picture alone, to line up with the MIDI in a DAW)")
    parser.add_argument("--plot", type=Path, default=None, metavar="OUT.png",
                        help="also draw a timeline (frames, cuts, emotion, motion, chords, notes)")
    parser.add_argument("--musicxml", type=Path, default=None, metavar="OUT.musicxml",
                        help="also write the chords as MusicXML with a chord symbol at every "
                        "change, for MuseScore, Dorico, Sibelius (needs music21: pip install "
                        "\"v2m-bridge[notation]\")")
    parser.add_argument("--soundfont", type=Path, default=None,
                        help="General MIDI soundfont for --audio/--video")
    parser.set_defaults(func=run_render)


def _check_outputs(args: argparse.Namespace) -> None:
    outputs = [(args.output, "MIDI output"), (args.audio, "audio output"),
               (args.video_out, "video output"), (args.plot, "plot output"),
               (args.musicxml, "MusicXML output"), (args.hits, "hits output")]
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


def _reroll_request(args: argparse.Namespace):
    """The --keep/--reroll request, read and checked before the slow part (or None)."""
    if args.keep is None and args.reroll is None:
        return None
    if args.keep is None or args.reroll is None:
        raise V2MError("--keep and --reroll go together: --keep PREVIOUS.mid --reroll START:END")
    from v2m_bridge.music.reroll import RerollRequest, parse_range
    from v2m_bridge.output.midi_file import read_kept_midi

    range_s = parse_range(args.reroll)
    kept = read_kept_midi(args.keep)
    return RerollRequest(kept, range_s, keep_tempo=args.tempo is None and not args.tempo_map)


def run_render(args: argparse.Namespace) -> int:
    from v2m_bridge.output.midi_file import write_midi
    from v2m_bridge.pipeline import compose

    reroll = _reroll_request(args)
    options = render_options_from(args, kept_key=reroll.kept.key if reroll is not None
                                  else None)
    _check_outputs(args)  # the video itself is checked where it is opened (analyze_video)
    if args.keep is not None:
        check_output_path(args.output, (args.keep,), what="MIDI output")
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

    musicxml_writer = _musicxml_writer() if args.musicxml else None  # before the slow part
    bar, report = _progress_bar()
    try:
        composition = compose(args.video, options, progress=report, reroll=reroll)
    finally:
        bar.close()
    for note in composition.provenance.notes:
        print(f"note: {note}", file=sys.stderr)
    midi_path = write_midi(composition, args.output, inputs=(args.video,))
    names = [composition.chord_name(span) for span in composition.chord_spans]
    changes = sum(1 for before, after in itertools.pairwise(names) if before != after)
    bars = composition.tempo_map.bar_beat(composition.tempo_map.beat_at(composition.duration))
    print(f"wrote {midi_path}: {composition.duration:.2f} s ({bars[0] - (bars[1] < 1.01)} bars), "
          f"{changes} chord changes, {composition.key.name}, "
          f"{composition.tempo_map.describe()}, seed {composition.provenance.facts.get('seed')}")
    print(f"key: {composition.key.name} "
          f"({composition.provenance.facts.get('key choice', 'given')})")
    if composition.rerolled_bars is not None:
        print(f"re-rolled: {composition.provenance.facts.get('re-rolled')}")
    if composition.tempo_fit is not None:
        _print_tempo_fit(composition.tempo_fit)
    offsets = composition.cut_alignment()
    if offsets:
        print(f"cuts: {len(offsets)} detected; chord change or re-strike within "
              f"{max(offsets):.3f} s of each" if options.cut_align else
              f"cuts: {len(offsets)} detected; cut alignment off, nearest chord change "
              f"{max(offsets):.3f} s away at worst")
    _write_extras(args, composition, midi_path)
    if musicxml_writer is not None:
        musicxml_writer(composition, args.musicxml, inputs=(args.video,))
        print(f"wrote {args.musicxml}")
    return 0


class NotationUnavailableError(V2MError, RuntimeError):
    """``--musicxml`` without music21 installed."""


def _musicxml_writer():
    """:func:`v2m_bridge.output.musicxml.write_musicxml`, or a clear error without music21."""
    try:
        from v2m_bridge.output.musicxml import write_musicxml
    except ModuleNotFoundError as err:
        if err.name != "music21" and not (err.name or "").startswith("music21."):
            raise
        raise NotationUnavailableError(
            "--musicxml needs music21, which is not installed: pip install "
            "\"v2m-bridge[notation]\" (or pip install music21)") from err
    return write_musicxml


def _print_tempo_fit(fit: TempoFit) -> None:
    """The tempo line, and for a fit the candidates like DP's Find Tempo."""
    chosen = fit.chosen
    if fit.reason:
        print(f"tempo: {fit.reason}")
    if not chosen.cuts:
        return
    frames = " ".join(f"{cut.frames_off:+.1f}" for cut in chosen.cuts[:12])
    more = " ..." if len(chosen.cuts) > 12 else ""
    print(f"hits: {chosen.hits}/{len(chosen.cuts)} cuts within 1 frame of a beat, "
          f"{chosen.near_misses} near misses, {chosen.misses} misses at {fit.fps:g} fps "
          f"(frames off: {frames}{more})")
    if fit.mode in ("auto", "map") and len(fit.candidates) > 1:
        print("tempo candidates (best first):")
        for rank, candidate in enumerate(fit.candidates, start=1):
            mark = "*" if candidate is chosen else " "
            print(f" {mark}{rank}. {candidate.summary()}")


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
                mux_video(args.video, audio_path, args.video_out, composition.duration,
                          args.video_audio)
                print(f"wrote {args.video_out}")
    if args.hits:
        from v2m_bridge.output.cue_sheet import write_cue_sheet

        write_cue_sheet(composition, args.hits, inputs=(args.video,))
        print(f"wrote {args.hits}")
    if args.plot:
        from v2m_bridge.output.plot import write_plot

        write_plot(composition, args.plot, video_path=args.video, inputs=(args.video,))
        print(f"wrote {args.plot}")
